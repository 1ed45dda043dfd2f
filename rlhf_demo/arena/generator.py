"""Replies for the arena: one causal LM, many contestants, one batched ``generate`` call.

Batched generation with per-row settings, in detail (`PolicyGenerator`):
  * left padding, so every row's last prompt token sits at the same position and generation appends after it;
  * do_sample=True with top_k=0 / top_p=1 (pure sampling), and a custom `LogitsProcessor` that divides each
    row's logits by that row's own temperature (HF's built-in temperature is one number for the whole batch);
  * contestants with LoRA adapters: peft's mixed-adapter batches. Each adapter is loaded once (cached by path)
    into a peft model, and ``generate(..., adapter_names=["__base__", "ckpt0"])`` applies, per row, no
    adapter or the named one;
  * replies are cut at EOS and at the next "\\n\\nHuman:" / "\\n\\nAssistant:" (the model starting the next turn);
    a reply that reached `max_new_tokens` without either was cut by the budget, mid-thought: `Reply.cut` says so,
    and the Vote tab ends it with "…" (the stored text stays the model's own).
  * best-of-N contestants: N rows of the base policy in the same call; the active reward model keeps the best.
  * one bad contestant never fails the others: an adapter whose weights are NaN or infinite is refused before the
    call, and when a batched call fails anyway each round (then each row) is tried on its own, so only the rounds of
    the contestant that cannot answer get a `ContestantFailed` (the reason is logged).
"""

from __future__ import annotations

import copy
import random
import sys
import threading
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Callable, NamedTuple

import torch
from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteriaList

from rlhf_demo.arena.contestants import ArenaError, Contestant, ContestantFailed, adapter_problem
from rlhf_demo.lane import LANE
from rlhf_demo.models.decoding import Backend, SamplingModel, decode, get_backend
from rlhf_demo.models.generation import (
    CHAT_MARKERS,
    STOP_STRINGS,
    StopOnStrings,
    clean_reply,
    left_pad,
    turn_end_ids,
)
from rlhf_demo.models.libraries import building
from rlhf_demo.models.seeding import global_rng_from, seeded_generator

BASE_ADAPTER = "__base__"  # peft's name for "no adapter" in a mixed-adapter batch
MAX_BATCH_ROWS = 32  # replies generated together at most (16 rounds): bounds a batched call's memory and time
EMPTY_REPLY = "(no reply)"  # shown when the model stopped before saying anything


class Reply(NamedTuple):
    """One row's reply: its cleaned text, and whether the token budget cut it (no EOS, no stop string before
    `max_new_tokens`)."""

    text: str
    cut: bool = False


def _reason(e: Exception) -> str:
    """One line for a log and a voter: an ArenaError's message as is, other errors with their type."""
    text = str(e) if isinstance(e, ArenaError) else f"{type(e).__name__}: {e}"
    return " ".join(text.split())[:300]


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
    decoding:       the rollout backend (`models/decoding.py`), normally the one measured fastest on this machine:
                    "eager" (transformers' generate) or our loop ("fp32"; "fast32" or "bf16" in a lean decoder).
    """

    def __init__(self, model, tokenizer, max_new_tokens: int = 48, device=None,
                 format_prompt: Callable[[str], str] | None = None, lock: threading.Lock | None = None,
                 decoding: str | Backend = "eager"):
        self.backend = decoding if isinstance(decoding, Backend) else get_backend(decoding)
        # the loop backends sample with a copy in their dtype (the adapters are loaded into a copy of THAT); a
        # batch without adapters goes through `FastLlama` for a "fast" backend (`self._sampling.get()`)
        self._sampling = SamplingModel(model.eval(), self.backend) if self.backend.loop else None
        self.model = (self._sampling.model_in_dtype() if self._sampling else model).eval()
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
        # best-of-N contestants: () -> (name, scorer) of the reward model that picks the best reply, None when there
        # is none (then no best-of-N contestant is drawn). scorer.score(prompts, replies) -> one score per reply.
        self.best_of_scorer: Callable[[], tuple[str, object] | None] = lambda: None

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
        problem = adapter_problem(path)  # NaN weights would make every row batched with them NaN
        if problem is not None:
            raise ArenaError(problem)
        name = f"adapter{uuid.uuid4().hex[:8]}"
        with building():  # one model built at a time (models/libraries.py)
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
        """The reply texts of `replies` (row i answers prompts[i] as contestants[i])."""
        return [r.text for r in self.replies(prompts, contestants, seed)]

    def replies(self, prompts: list[str], contestants: list[Contestant], seed: int | None = None) -> list[Reply]:
        """One `Reply` per row: row i answers prompts[i] as contestants[i]. Thread-safe.

        With a `seed` the rows run alone and the replies are reproducible. Without one, the rows join the calls of
        other threads that wait meanwhile (a class asking for rounds at once): whoever holds the generation lock
        next runs every waiting row, up to `MAX_BATCH_ROWS`, in ONE generate call. On a CPU that costs little more
        than one round (decoding streams every weight once per token, whatever the batch), so 30 voters do not
        wait 30 rounds long."""
        if len(prompts) != len(contestants) or not prompts:
            raise ValueError("generate needs one contestant per prompt (and at least one prompt)")
        if any(c.best_of > 1 for c in contestants):
            return self._generate_best_of(prompts, contestants, seed)
        request = {"prompts": list(prompts), "contestants": list(contestants), "done": threading.Event()}
        if seed is not None:
            with self.lock:
                self._serve([request], seed)
            if "error" in request:
                raise request["error"]
            return request["replies"]
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
                    self._serve(batch, None)
                finally:
                    for r in batch:
                        r["done"].set()
        if "error" in request:
            raise request["error"]
        return request["replies"]

    def _serve(self, batch: list[dict], seed: int | None) -> None:
        """Replies for the waiting rounds (`r["replies"]`, or `r["error"]`), in one generate call when all goes well.
        The caller holds `lock`. A round whose contestant cannot answer is dropped from the call with a logged reason;
        the other rounds still get their replies."""
        ready = []
        for r in batch:  # adapters first: one with NaN weights would turn every row batched with it into NaN
            try:
                for c in r["contestants"]:
                    if c.adapter_path:
                        try:
                            self._adapter_name(c.adapter_path)
                        except Exception as e:  # noqa: BLE001 - named and logged, never fails another round
                            raise ContestantFailed(c.name, _reason(e), lasting=True) from e
                ready.append(r)
            except ContestantFailed as e:
                self._drop(r, e)
        if not ready:
            return
        try:
            replies = self._generate_locked([p for r in ready for p in r["prompts"]],
                                            [c for r in ready for c in r["contestants"]], seed)
        except Exception:  # noqa: BLE001 - one round's row can fail a whole call: each round again on its own
            for r in ready:
                self._serve_alone(r, seed)
            return
        at = 0
        for r in ready:
            r["replies"], at = replies[at: at + len(r["prompts"])], at + len(r["prompts"])

    def _serve_alone(self, r: dict, seed: int | None) -> None:
        """One round in a call of its own; if it fails, each of its adapter rows alone, to name the contestant that
        cannot answer (the round is dropped either way)."""
        try:
            r["replies"] = self._generate_locked(r["prompts"], r["contestants"], seed)
            return
        except Exception as e:  # noqa: BLE001 - dropped and logged below
            error = e
        for p, c in zip(r["prompts"], r["contestants"]):
            if not c.adapter_path:
                continue
            try:
                self._generate_locked([p], [c], seed)
            except Exception as e:  # noqa: BLE001 - this contestant is the one that cannot answer
                self._drop(r, ContestantFailed(c.name, _reason(e), lasting=True))
                return
        names = " and ".join(repr(c.name) for c in dict.fromkeys(r["contestants"]))
        self._drop(r, ArenaError(f"The replies of {names} could not be generated ({_reason(error)}): try a new round."))

    @staticmethod
    def _drop(r: dict, e: Exception) -> None:
        r["error"] = e
        print(f"[rlhf-playground] arena: a round was dropped from its batch: {e}", file=sys.stderr, flush=True)

    def _generate_best_of(self, prompts: list[str], contestants: list[Contestant], seed: int | None) -> list[Reply]:
        """Rows of best-of-N contestants become N rows of the base policy (in the same batched call as the others);
        the reward model scores those N replies and the best one is the contestant's reply."""
        picker = self.best_of_scorer()
        if picker is None:
            raise ArenaError("A best-of-N contestant needs an active reward model (train one in tab 3).")
        rows_p, rows_c, spans = [], [], []
        for p, c in zip(prompts, contestants):
            n = c.best_of
            spans.append((len(rows_p), n))
            rows_p += [p] * n
            rows_c += [replace(c, best_of=1, name=f"{c.name}#{j}") for j in range(n)] if n > 1 else [c]
        replies = self.replies(rows_p, rows_c, seed)
        out = []
        for (start, n), p in zip(spans, prompts):
            group = replies[start:start + n]
            if n == 1:
                out.append(group[0])
                continue
            scores = picker[1].score([p] * n, [r.text for r in group])
            scores = scores.tolist() if hasattr(scores, "tolist") else list(scores)
            out.append(group[max(range(n), key=lambda j: (scores[j], -j))])  # the first of equal bests
        return out

    def _generate_locked(self, prompts: list[str], contestants: list[Contestant], seed: int | None) -> list[Reply]:
        """One generate call for these rows; the caller holds `lock`."""
        texts = [self.format_prompt(p) if self.format_prompt else p for p in prompts]
        input_ids, attention_mask = self._left_pad(texts)  # (batch, prompt_len) each
        model, extra = self.model, {}
        if any(c.adapter_path for c in contestants):
            names = [self._adapter_name(c.adapter_path) if c.adapter_path else BASE_ADAPTER for c in contestants]
            model, extra = self._peft, {"adapter_names": names}
        prompt_len = input_ids.shape[1]
        temperatures = [c.temperature for c in contestants]
        # a random stream of its own (never the global RNG another thread may be seeding: `models/seeding.py`); a
        # batched call has no seed of its own: a fresh one, or every batch would replay the same random stream
        rng = seeded_generator(seed if seed is not None else random.SystemRandom().randrange(2**31), self.device)
        with LANE("arena round"), torch.no_grad():
            if self.backend.loop:  # rows with the same prompt and adapter (best-of-N) share one prefill
                stop = StopOnStrings(self.tokenizer, 0)
                out = decode(model if extra else self._sampling.get(), input_ids, attention_mask, self.max_new_tokens,
                             torch.tensor(temperatures, device=self.device), self.end_ids, self.pad_id,
                             lambda ids: stop(ids, None), row_kwargs={"adapter_names": extra["adapter_names"]}
                             if extra else None, generator=rng).tokens
                out = torch.cat([input_ids, out], dim=1)
            else:
                with global_rng_from(rng, "arena round"):  # transformers' generate draws from the global RNG
                    out = self._hf_generate(model, input_ids, attention_mask, temperatures, extra)
        replies = []
        for row in out[:, prompt_len:].tolist():
            ends = [row.index(t) for t in self.end_ids if t in row]
            full = len(row) >= self.max_new_tokens  # the call ran to the budget (a row that ended sooner holds its end)
            if ends:
                row = row[: min(ends)]
            raw = self.tokenizer.decode(row, skip_special_tokens=True)
            cut = full and not ends and not any(s in raw for s in STOP_STRINGS + CHAT_MARKERS)
            replies.append(Reply(clean_reply(raw) or EMPTY_REPLY, cut))
        return replies

    def _hf_generate(self, model, input_ids, attention_mask, temperatures: list[float], extra: dict) -> torch.Tensor:
        """The "eager" backend: transformers' generate with per-row temperatures. -> (batch, prompt_len + new)."""
        prompt_len = input_ids.shape[1]
        return model.generate(
            input_ids=input_ids,
            attention_mask=attention_mask,
            do_sample=True,
            top_k=0,  # no top-k / top-p truncation: the temperature alone shapes the distribution
            top_p=1.0,
            temperature=1.0,  # HF's own (batch-wide) temperature off; PerRowTemperature does it per row
            max_new_tokens=self.max_new_tokens,
            pad_token_id=self.pad_id,
            eos_token_id=self.end_ids or None,
            logits_processor=LogitsProcessorList([PerRowTemperature(temperatures)]),
            stopping_criteria=StoppingCriteriaList([StopOnStrings(self.tokenizer, prompt_len)]),
            **extra,
        )  # (batch, prompt_len + new tokens)


