"""The vote arena: two anonymous contestants answer the same prompt, a person picks the better reply.

This is Chatbot Arena's "anonymous battle" mode for a class voting on its own model. A *contestant* is the
policy with one way of sampling from it: the base model at temperature 0.7, the same at 1.0, or the policy
plus a LoRA adapter saved by the PPO tab. One round:

    prompt (typed, or drawn from hh-rlhf)
      -> two DIFFERENT contestants drawn at random, in random A/B order
      -> both replies from ONE batched `model.generate` call (row 0 = A, row 1 = B)
      -> round stored (names hidden from the voter)  ...  vote("A" | "B" | "tie" | "both_bad") -> names revealed

Batched generation with per-row settings, in detail (`PolicyGenerator`):
  * left padding, so every row's last prompt token sits at the same position and generation appends after it;
  * do_sample=True with top_k=0 / top_p=1 (pure sampling), and a custom `LogitsProcessor` that divides each
    row's logits by that row's own temperature (HF's built-in temperature is one number for the whole batch);
  * contestants with LoRA adapters: peft's mixed-adapter batches. Each adapter is loaded once (cached by path)
    into a peft model, and ``generate(..., adapter_names=["__base__", "ckpt0"])`` applies, per row, no
    adapter or the named one;
  * replies are cut at EOS and at the next "\\n\\nHuman:" / "\\n\\nAssistant:" (the model starting the next turn).
"""

from __future__ import annotations

import copy
import random
import threading
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import torch
from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteriaList

from rlhf_demo.arena.votes import VoteRecord, VoteStore
from rlhf_demo.data.hh import prompt_from_text, prompt_turns
from rlhf_demo.models.generation import STOP_STRINGS, StopOnStrings, clean_reply, left_pad, turn_end_ids
from rlhf_demo.storage import file_sha256

BASE_ADAPTER = "__base__"  # peft's name for "no adapter" in a mixed-adapter batch
UNVOTED_ROUND_TTL = 6 * 3600  # seconds an unvoted round is kept (a vote after that is refused as an unknown round)
EXPIRE_EVERY = 100  # rounds between two sweeps of expired unvoted rounds
MAX_BATCH_ROWS = 32  # replies generated together at most (16 rounds): bounds a batched call's memory and time
EMPTY_REPLY = "(no reply)"  # shown when the model stopped before saying anything


class ArenaError(ValueError):
    """A user-facing problem with a round (message is meant to be shown as is)."""


# ----------------------------------------------------------------------------------------------------------
# contestants


@dataclass(frozen=True)
class Contestant:
    """One way of answering: the policy (optionally + a LoRA adapter) sampled at a temperature."""

    name: str  # shown after the vote and on the leaderboard; unique in a registry
    temperature: float  # > 0; logits are divided by it (lower = safer and blander, higher = wilder)
    adapter_path: str | None = None  # folder of a peft LoRA adapter (PPO checkpoint); None = base policy
    description: str = ""
    uid: str = ""  # immutable id of what answers (adapter hash, or base policy + temperature): stored with each round

    def __post_init__(self):
        if not self.name or not self.name.strip():
            raise ArenaError("A contestant needs a name.")
        if not self.temperature > 0:
            raise ArenaError(f"Contestant {self.name!r}: temperature must be > 0, got {self.temperature}.")


DEFAULT_CONTESTANTS = (
    Contestant("base-t0.7", 0.7, description="the base policy, sampled at temperature 0.7 (focused)"),
    # 1.0, not higher: with pure sampling (no top-k / top-p) SmolLM2-135M at 1.2 wrote word salad in our rounds
    Contestant("base-t1.0", 1.0, description="the base policy, sampled at temperature 1.0 (adventurous)"),
)


class ContestantRegistry:
    """The contestants currently in the arena. Thread-safe; `list()` returns a snapshot in insertion order."""

    def __init__(self, contestants: Sequence[Contestant] = DEFAULT_CONTESTANTS, policy_id: str = "base"):
        """policy_id: names the base policy in the ids of the base contestants (votes for "base-t0.7" over two
        different policies are then told apart)."""
        self._lock = threading.Lock()
        self._by_name: dict[str, Contestant] = {}
        self.policy_id = policy_id
        for c in contestants:
            self.add(c if c.uid else replace(c, uid=f"{policy_id}-t{c.temperature:g}"))

    def add(self, contestant: Contestant) -> Contestant:
        with self._lock:
            if contestant.name in self._by_name:
                raise ArenaError(f"There is already a contestant named {contestant.name!r}.")
            self._by_name[contestant.name] = contestant
        return contestant

    def add_checkpoint(self, name: str, adapter_path: str, temperature: float = 0.7, description: str = "",
                       uid: str | None = None) -> Contestant:
        """Add a PPO checkpoint (a folder written by peft's ``save_pretrained``) as a contestant. Its id is the hash
        of its adapter weights (`uid`, when the caller already has it from the checkpoint's state)."""
        weights = Path(adapter_path) / "adapter_model.safetensors"
        if not (Path(adapter_path) / "adapter_config.json").is_file() or not weights.is_file():
            raise ArenaError(f"{adapter_path} is not a LoRA adapter folder (no adapter_config.json / weights in it).")
        return self.add(Contestant(name, temperature, str(Path(adapter_path).resolve()),
                                   description or f"PPO checkpoint {Path(adapter_path).name}",
                                   uid=uid or file_sha256(weights)))

    def remove(self, name: str) -> Contestant:
        with self._lock:
            if name not in self._by_name:
                raise KeyError(f"No contestant named {name!r}.")
            return self._by_name.pop(name)

    def get(self, name: str) -> Contestant:
        with self._lock:
            if name not in self._by_name:
                raise KeyError(f"No contestant named {name!r}.")
            return self._by_name[name]

    def list(self) -> list[Contestant]:
        with self._lock:
            return list(self._by_name.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_name)

    def __contains__(self, name: str) -> bool:
        with self._lock:
            return name in self._by_name


# ----------------------------------------------------------------------------------------------------------
# batched generation


class PerRowTemperature(LogitsProcessor):
    """Divide each row's next-token logits by that row's temperature: scores (batch, vocab) / t (batch, 1)."""

    def __init__(self, temperatures: Sequence[float]):
        self.temperatures = torch.tensor(temperatures, dtype=torch.float32)  # (batch,)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        t = self.temperatures.to(device=scores.device, dtype=scores.dtype)
        return scores / t[:, None]


class PolicyGenerator:
    """Replies from one causal LM for a batch of (prompt, contestant) rows, in one ``generate`` call.

    model:          any Hugging Face causal LM (eval mode is set here).
    tokenizer:      its tokenizer; it is not modified (we pad by hand, on the left).
    max_new_tokens: reply budget; 48 tokens is a few sentences, enough to judge, quick on a CPU.
    device:         where inputs go; None = the model's device.
    format_prompt:  optional hh prompt -> model text (e.g. a chat template, see `models.format_prompt`).
    lock:           serialises generation on this model (pass the trainer's lock to share the model with it).
    """

    def __init__(self, model, tokenizer, max_new_tokens: int = 48, device=None,
                 format_prompt: Callable[[str], str] | None = None, lock: threading.Lock | None = None):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.format_prompt = format_prompt
        self.lock = lock or threading.Lock()
        self.eos_id = tokenizer.eos_token_id
        self.end_ids = turn_end_ids(tokenizer)  # EOS, and a chat model's "new turn" marker
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_id
        # the prompt keeps its LAST tokens that fit, leaving room for the reply
        max_pos = getattr(model.config, "max_position_embeddings", None) or 10**9
        self.max_prompt_tokens = max(1, max_pos - max_new_tokens)
        self._queue: list[dict] = []  # rounds waiting for the next batched generate call (see `generate`)
        self._queue_lock = threading.Lock()
        self._peft = None  # a peft model around a COPY of `model`, created on the first adapter
        self._adapters: dict[str, tuple[int, str]] = {}  # adapter path -> (weights mtime, adapter name)

    def settings(self) -> dict:
        """The sampling settings shared by every row (stored with each round)."""
        return {"max_new_tokens": self.max_new_tokens, "do_sample": True, "top_k": 0, "top_p": 1.0,
                "stop": list(STOP_STRINGS)}

    # --- adapters --------------------------------------------------------------------------------------------

    def _adapter_name(self, path: str) -> str:
        """Load the adapter at `path` once (again if its files changed) and return its peft adapter name.

        The first adapter wraps a deep copy of the base model: peft injects LoRA layers into the model it is
        given, and the base model may be shared with other tabs, so we leave it untouched.
        """
        from peft import PeftModel

        path = str(Path(path).resolve())
        weights = [p for p in Path(path).glob("adapter_model.*")]
        if not (Path(path) / "adapter_config.json").is_file() or not weights:
            raise ArenaError(f"Cannot load the LoRA adapter at {path}: adapter_config.json or weights missing.")
        mtime = max(p.stat().st_mtime_ns for p in weights)
        cached = self._adapters.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
        name = f"adapter{uuid.uuid4().hex[:8]}"
        if self._peft is None:
            self._peft = PeftModel.from_pretrained(copy.deepcopy(self.model), path, adapter_name=name)
        else:
            self._peft.load_adapter(path, adapter_name=name)
        self._peft.eval()
        if cached:  # the checkpoint was overwritten: forget the stale weights
            if self._peft.active_adapter == cached[1]:
                self._peft.set_adapter(name, inference_mode=True)  # (peft warns when the active one goes)
            self._peft.delete_adapter(cached[1])
        self._adapters[path] = (mtime, name)
        return name

    # --- generation ------------------------------------------------------------------------------------------

    def _left_pad(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids and attention mask, both (batch, longest prompt), padded on the LEFT."""
        input_ids, mask = left_pad([self.tokenizer(t)["input_ids"][-self.max_prompt_tokens:] for t in texts], self.pad_id)
        return input_ids.to(self.device), mask.to(self.device)

    def generate(self, prompts: list[str], contestants: list[Contestant], seed: int | None = None) -> list[str]:
        """One reply per row: row i answers prompts[i] as contestants[i]. Thread-safe.

        With a `seed` the rows run alone and the replies are reproducible. Without one, the rows join the calls of
        other threads that wait meanwhile (a class asking for rounds at once): whoever holds the generation lock
        next runs every waiting row, up to `MAX_BATCH_ROWS`, in ONE generate call. On a CPU that costs little more
        than one round (decoding streams every weight once per token, whatever the batch), so 30 voters do not
        wait 30 rounds long."""
        if len(prompts) != len(contestants) or not prompts:
            raise ValueError("generate needs one contestant per prompt (and at least one prompt)")
        if seed is not None:
            with self.lock:
                return self._generate_locked(prompts, contestants, seed)
        request = {"prompts": list(prompts), "contestants": list(contestants), "done": threading.Event()}
        with self._queue_lock:
            self._queue.append(request)
        while not request["done"].is_set():
            with self.lock:  # the thread that gets the lock serves everyone waiting (its own rows included)
                if request["done"].is_set():
                    break
                with self._queue_lock:
                    batch, rows = [], 0
                    while self._queue and (not batch or rows + len(self._queue[0]["prompts"]) <= MAX_BATCH_ROWS):
                        batch.append(self._queue.pop(0))
                        rows += len(batch[-1]["prompts"])
                try:
                    replies = self._generate_locked([p for r in batch for p in r["prompts"]],
                                                    [c for r in batch for c in r["contestants"]], None)
                except Exception as e:  # every round of the batch gets the error
                    for r in batch:
                        r["error"] = e
                else:
                    at = 0
                    for r in batch:
                        r["replies"], at = replies[at: at + len(r["prompts"])], at + len(r["prompts"])
                finally:
                    for r in batch:
                        r["done"].set()
        if "error" in request:
            raise request["error"]
        return request["replies"]

    def _generate_locked(self, prompts: list[str], contestants: list[Contestant], seed: int | None) -> list[str]:
        """One generate call for these rows; the caller holds `lock`."""
        texts = [self.format_prompt(p) if self.format_prompt else p for p in prompts]
        input_ids, attention_mask = self._left_pad(texts)  # (batch, prompt_len) each
        model, extra = self.model, {}
        if any(c.adapter_path for c in contestants):
            names = [self._adapter_name(c.adapter_path) if c.adapter_path else BASE_ADAPTER for c in contestants]
            model, extra = self._peft, {"adapter_names": names}
        prompt_len = input_ids.shape[1]
        # fork_rng: seeding for this round must not reset the random stream other code relies on
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices, device_type=self.device.type), torch.no_grad():
            # a batched call has no seed of its own: a fresh one, or every batch would replay the same random stream
            torch.manual_seed(seed if seed is not None else random.SystemRandom().randrange(2**31))
            out = model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                do_sample=True,
                top_k=0,  # no top-k / top-p truncation: the temperature alone shapes the distribution
                top_p=1.0,
                temperature=1.0,  # HF's own (batch-wide) temperature off; PerRowTemperature does it per row
                max_new_tokens=self.max_new_tokens,
                pad_token_id=self.pad_id,
                eos_token_id=self.end_ids or None,
                logits_processor=LogitsProcessorList([PerRowTemperature([c.temperature for c in contestants])]),
                stopping_criteria=StoppingCriteriaList([StopOnStrings(self.tokenizer, prompt_len)]),
                **extra,
            )  # (batch, prompt_len + new tokens)
        replies = []
        for row in out[:, prompt_len:].tolist():
            ends = [row.index(t) for t in self.end_ids if t in row]
            if ends:
                row = row[: min(ends)]
            reply = clean_reply(self.tokenizer.decode(row, skip_special_tokens=True))
            replies.append(reply or EMPTY_REPLY)
        return replies


# ----------------------------------------------------------------------------------------------------------
# the arena


@dataclass(frozen=True)
class Round:
    """What the voter sees: no contestant names until they vote."""

    round_id: str
    prompt: str  # hh-rlhf text ending with "\n\nAssistant:"
    reply_a: str
    reply_b: str


@dataclass(frozen=True)
class VoteResult:
    """The verdict, with the contestants revealed."""

    round_id: str
    outcome: str  # "A" | "B" | "tie" | "both_bad"
    model_a: str
    model_b: str
    winner: str | None  # the preferred contestant's name; None for a tie / both bad
    voter_id: str
    voter_name: str | None

    @classmethod
    def from_record(cls, v: VoteRecord) -> "VoteResult":
        return cls(v.round_id, v.outcome, v.model_a, v.model_b, v.winner, v.voter_id, v.voter_name)


def prompt_picker(prompts: Sequence[str]) -> Callable[[random.Random], str]:
    """A `prompt_source` that draws uniformly from a fixed list of hh-rlhf prompts."""
    if not prompts:
        raise ArenaError("The prompt list is empty.")
    prompts = list(prompts)
    return lambda rng: rng.choice(prompts)


class Arena:
    """Creates rounds (generate + store) and records votes. Safe to call from many Gradio threads at once."""

    def __init__(self, store: VoteStore, registry: ContestantRegistry, generator: PolicyGenerator,
                 prompt_source: Callable[[random.Random], str], max_prompt_chars: int = 2000):
        self.store = store
        self.registry = registry
        self.generator = generator
        self.prompt_source = prompt_source
        self.max_prompt_chars = max_prompt_chars  # typed prompts only: keeps a round fast and the page readable
        self._rounds_made = 0

    def make_prompt(self, prompt: str | None, rng: random.Random) -> str:
        """None or "" -> a prompt drawn from `prompt_source`; typed text -> "\\n\\nHuman: {text}\\n\\nAssistant:"."""
        if prompt is None or prompt == "":
            return self.prompt_source(rng)
        text = prompt.strip()
        if not text:
            raise ArenaError("The prompt is empty: type a question, or leave the box empty for a random one.")
        if len(text) > self.max_prompt_chars:
            raise ArenaError(f"The prompt is too long ({len(text):,} characters; the limit is {self.max_prompt_chars:,}).")
        return prompt_from_text(text)

    def new_round(self, prompt: str | None, voter_id: str, voter_name: str | None = None,
                  seed: int | None = None, hh_prompt: str | None = None) -> Round:
        """Draw two different contestants, generate both replies in one call, store the round, hide the names.

        prompt:     typed text (None / "" = draw one from `prompt_source`).
        hh_prompt:  instead of `prompt`, a ready hh-rlhf prompt used as is (e.g. "regenerate" on a round's prompt).
        seed:       makes the prompt draw, the pairing, the A/B order and the sampling reproducible (None = random).
        voter_name: accepted for symmetry with `vote`; names are recorded with votes.
        """
        rng = random.Random(seed)
        if hh_prompt is not None:
            if prompt:
                raise ArenaError("Give either a typed prompt or an hh-rlhf prompt, not both.")
            try:
                prompt_turns(hh_prompt)
            except ValueError as e:
                raise ArenaError(f"Not an hh-rlhf prompt: {e}.") from e
        else:
            hh_prompt = self.make_prompt(prompt, rng)
        contestants = self.registry.list()
        if len(contestants) < 2:
            raise ArenaError("The arena needs at least two contestants.")
        a, b = rng.sample(contestants, 2)  # two different ones, in random order: sample() shuffles
        gen_seed = rng.randrange(2**31) if seed is not None else None  # None: batched with other rounds
        reply_a, reply_b = self.generator.generate([hh_prompt, hh_prompt], [a, b], seed=gen_seed)
        settings = {**self.generator.settings(), "seed": gen_seed,
                    "temperature_a": a.temperature, "temperature_b": b.temperature,
                    "adapter_a": a.adapter_path, "adapter_b": b.adapter_path}
        rec = self.store.add_round(hh_prompt, a.name, b.name, reply_a, reply_b, voter_id, settings,
                                   model_a_id=a.uid or None, model_b_id=b.uid or None)
        self._rounds_made += 1
        if self._rounds_made % EXPIRE_EVERY == 1:  # now and then (the first round after a start included)
            self.store.expire_unvoted(UNVOTED_ROUND_TTL)
        return Round(rec.round_id, hh_prompt, reply_a, reply_b)

    def vote(self, round_id: str, outcome: str, voter_id: str, voter_name: str | None = None) -> VoteResult:
        """Record the verdict and reveal who was who. Raises `votes.VoteError` (a ValueError) when refused."""
        return VoteResult.from_record(self.store.add_vote(round_id, outcome, voter_id, voter_name))
