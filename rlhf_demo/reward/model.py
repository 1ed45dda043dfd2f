"""The reward model as a scorer: ``(prompt, reply) -> one number``, and how a saved one is loaded.

1. text:   ``(prompt, reply)`` -> token ids, cut from the LEFT to ``max_length`` so the reply and the end of the
           conversation survive (`ReplyEncoder`)
2. model:  a backbone with a 1-output score head, ``AutoModelForSequenceClassification(num_labels=1)``
           (`load_backbone`); a saved LoRA adapter is merged into it on load (`load_reward_model`)
3. score:  `RewardModel.score(prompts, replies)` -> ``(B,)`` float32: what PPO calls (`RewardScorer`)
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import torch

from rlhf_demo.data.pairs import Pair
from rlhf_demo.lane import LANE
from rlhf_demo.models.libraries import building

META_FILE = "reward_meta.json"


@runtime_checkable
class RewardScorer(Protocol):
    """What PPO needs from a reward model: one float score per (prompt, reply) pair.

    `prompts` are the raw hh-rlhf prompts ("\\n\\nHuman: ...\\n\\nAssistant:", before any chat template), `responses`
    the decoded reply text (stop token and padding removed). The reward model tokenizes them itself, so it may use a
    different tokenizer than the policy. Returns a tensor of shape (B,), any device, higher = better.
    """

    def score(self, prompts: list[str], responses: list[str]) -> torch.Tensor: ...


class ReplyEncoder:
    """Turns (prompt, reply) into model input ids, cut from the left.

    The text is the hh-rlhf transcript ``prompt + " " + reply`` (prompt ends with "Assistant:").
    It is tokenised without special tokens, the LAST ``max_length - n_special`` tokens are kept,
    and the tokenizer's own special tokens are put around them (BERT: ``[CLS] ... [SEP]``; Llama:
    ``<s> ... </s>``; an EOS is appended for decoders so the score is read after the reply ends).
    """

    def __init__(self, tokenizer, max_length: int):
        self.tok = tokenizer
        self.max_length = max_length
        probe = "hello"
        with_sp = tokenizer(probe, add_special_tokens=True)["input_ids"]
        without = tokenizer(probe, add_special_tokens=False)["input_ids"]
        at = next((i for i in range(len(with_sp) - len(without) + 1) if with_sp[i:i + len(without)] == without), 0)
        self.prefix: list[int] = list(with_sp[:at])  # e.g. [CLS] or <s>
        self.suffix: list[int] = list(with_sp[at + len(without):])  # e.g. [SEP]
        eos = tokenizer.eos_token_id
        if eos is not None and not self.suffix:
            self.suffix = [eos]  # decoders: as TRL does for plain-text data
        self.budget = max_length - len(self.prefix) - len(self.suffix)
        if self.budget < 8:
            raise ValueError(f"max_length={max_length} leaves no room for text after the special tokens")

    @staticmethod
    def text(prompt: str, reply: str) -> str:
        return f"{prompt} {reply.strip()}" if prompt else reply.strip()

    def __call__(self, prompts: Sequence[str], replies: Sequence[str]) -> list[list[int]]:
        """Token ids per (prompt, reply); each list is at most ``max_length`` long."""
        texts = [self.text(p, r) for p, r in zip(prompts, replies, strict=True)]
        if not texts:
            return []
        bodies = self.tok(texts, add_special_tokens=False, verbose=False)["input_ids"]
        return [self.prefix + list(b[-self.budget:]) + self.suffix for b in bodies]


def _pad_right(seqs: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) input ids and attention mask, padded on the right as TRL's collator does."""
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask


def head_module_name(model) -> str:
    """The score head's attribute name: ``classifier`` (BERT & co.) or ``score`` (Llama & co.)."""
    for name in ("classifier", "score"):
        if isinstance(getattr(model, name, None), torch.nn.Module):
            return name
    raise ValueError(f"{type(model).__name__} has no 'classifier' or 'score' head: not a sequence-classification model")


def load_backbone(path: str, device: str | None = None):
    """``(model, tokenizer)``: a fresh 1-output score head on the backbone, pad token set on both."""
    with building():  # one model built at a time, the libraries imported first (models/libraries.py)
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        tok = AutoTokenizer.from_pretrained(path)
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # "newly initialized: classifier/score" is expected: that head is trained
        try:
            # ignore_mismatched_sizes: a backbone that already is a classifier (2 sentiment labels) gets a fresh head
            model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, dtype=torch.float32,
                                                                       ignore_mismatched_sizes=True)
        finally:
            hf_logging.set_verbosity(verbosity)
    model.config.pad_token_id = tok.pad_token_id  # sequence classifiers find the last real token with it
    if device:
        model.to(device)
    return model, tok


class RewardModel:
    """A loaded reward model: ``score(prompts, replies) -> (B,)`` float32 rewards on the CPU."""

    def __init__(self, model, tokenizer, max_length: int, meta: dict | None = None, batch_size: int = 32,
                 autocast: bool = False):
        self.model = model
        self.autocast = autocast  # score under bfloat16 autocast (as it was trained, where that is faster)
        self.tokenizer = tokenizer
        self.encoder = ReplyEncoder(tokenizer, max_length)
        self.meta = meta or {}
        self.batch_size = batch_size
        self._lock = threading.Lock()  # one forward at a time: the UI and PPO may share a model

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def score(self, prompts: list[str], responses: list[str]) -> torch.Tensor:
        """Reward per (prompt, response): ``(B,)`` float32. Batched, sorted by length to pad little."""
        seqs = self.encoder(prompts, responses)
        out = torch.empty(len(seqs), dtype=torch.float32)
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            out[idx] = self.score_ids([seqs[i] for i in idx])
        return out

    @torch.inference_mode()
    def score_ids(self, seqs: list[list[int]]) -> torch.Tensor:
        """One forward pass over already encoded sequences (`encoder`), padded on the right: ``(b,)`` float32.

        The model's lock and the compute lane (`rlhf_demo/lane.py`) are held for this one batch only: a long scoring
        job (a whole split) lets PPO, the arena, the playground and other pages take their turn between its batches."""
        ids, mask = _pad_right(seqs, self.tokenizer.pad_token_id)
        with LANE("reward scoring"), self._lock:
            was_training = self.model.training
            self.model.eval()
            try:
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
                    logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
            finally:
                self.model.train(was_training)
        return logits[:, 0].float().cpu()  # (b, 1) -> (b,)

    def score_pairs(self, pairs: Sequence[Pair]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(chosen_rewards, rejected_rewards)``, each ``(N,)``: one batched pass over both sides."""
        n = len(pairs)
        r = self.score([p for p, _, _ in pairs] * 2, [c for _, c, _ in pairs] + [x for _, _, x in pairs])
        return r[:n], r[n:]


def evaluate(model: RewardModel, pairs: Sequence[Pair]) -> dict:
    """Pairwise accuracy (chosen scores higher; an exact tie counts half), the reward margins, and every score
    (``scores``: the N chosen replies' then the N rejected replies')."""
    if not pairs:
        return {"accuracy": float("nan"), "margins": [], "mean_margin": float("nan"), "n": 0, "scores": []}
    rc, rr = model.score_pairs(pairs)
    margins = rc - rr  # (N,)
    acc = ((margins > 0).float() + 0.5 * (margins == 0).float()).mean().item()
    return {"accuracy": acc, "margins": [round(m, 5) for m in margins.tolist()],
            "mean_margin": margins.mean().item(), "n": len(pairs), "scores": rc.tolist() + rr.tolist()}


def load_reward_model(path: str | os.PathLike, device: str | None = None) -> RewardModel:
    """Load a saved reward model (a LoRA adapter on its backbone, or a fully fine-tuned model)."""
    from rlhf_demo.models.presets import pick_device

    path = Path(path)
    meta_file = path / META_FILE
    if not meta_file.is_file():
        raise FileNotFoundError(f"{path} is not a saved reward model (no {META_FILE})")
    meta = json.loads(meta_file.read_text())
    device = pick_device(device)
    with building():  # one model built at a time, the libraries imported first (models/libraries.py)
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(path)
        if (path / "adapter_config.json").is_file():
            from peft import PeftModel

            base, _ = load_backbone(_base_path(meta))
            model = PeftModel.from_pretrained(base, path).merge_and_unload()  # plain model: faster scoring
        else:
            model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, dtype=torch.float32)
    model.config.pad_token_id = tok.pad_token_id
    model.to(device).eval()
    from rlhf_demo.models.decoding import bf16_faster

    autocast = bool(meta.get("bf16")) and bf16_faster(device)  # as it was trained, where bf16 is faster here
    return RewardModel(model, tok, int(meta["config"]["max_length"]), meta, autocast=autocast)


def _base_path(meta: dict) -> str:
    """Where the backbone of a saved reward model is now, found with no Hub probe: the recorded folder when it is
    still there, else the same preset found again (a package's folder moves between installs; a dequantised GGUF
    cache may have been cleared), else the recorded Hub id (loaded from the local Hub cache)."""
    from rlhf_demo.models.presets import MINILM_HUB_ID, ModelChoice, ensure_weights, minilm_dir

    recorded = meta.get("backbone_path", "")
    if recorded and Path(recorded).exists():
        return recorded
    if meta.get("backbone") == "minilm":
        found = minilm_dir()
        return str(found) if found is not None else MINILM_HUB_ID
    if meta.get("backbone_gguf") and Path(meta["backbone_gguf"]).is_file():
        return ensure_weights(ModelChoice("policy", recorded, "package", gguf=meta["backbone_gguf"]))
    return recorded
