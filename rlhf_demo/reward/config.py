"""What a reward-model run is allowed to change, with the reasoning next to each knob.

`RewardConfig` is deliberately small and flat: the Train tab shows these fields, the headless CLI
(``python -m rlhf_demo reward``) exposes the important ones, and ``reward.py`` translates them into
TRL's own ``trl.RewardConfig`` (a ``TrainingArguments``) and a peft ``LoraConfig``. Field names
follow TRL / transformers / peft where one exists, so a reader can look them up there.

The defaults are the best setting we measured for the offline backbone (all-MiniLM-L6-v2) on
2 CPU cores; see ``benchmarks/reward_accuracy.py`` and the table in the README / report.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields

from rlhf_demo.bounds import MAX_LEARNING_RATE

# Which modules LoRA adapts when `lora_target_modules` is None, per model family (``config.model_type``).
# BERT-style encoders name their attention projections query/key/value and their MLP/output
# projections "dense"; Llama-style decoders use q_proj/k_proj/v_proj/o_proj.
DEFAULT_LORA_TARGETS = {
    "bert": ["query", "key", "value", "dense"],
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gpt2": ["c_attn", "c_proj"],
}
DEFAULT_LORA_TARGETS_FALLBACK = ["q_proj", "v_proj"]  # most decoder families (Mistral, Qwen, SmolLM, ...)
_MODULE_NAME = re.compile(r"[A-Za-z0-9_]{1,64}(\.[A-Za-z0-9_]{1,64}){0,7}")  # query, q_proj, attention.self.query


def is_module_name(name) -> bool:
    """A LoRA target names a module (``q_proj``, ``attention.self.query``), never a path (``../x``) or a pattern."""
    return isinstance(name, str) and _MODULE_NAME.fullmatch(name) is not None


@dataclass
class RewardConfig:
    """One reward-model training run. Call `validate()` before use (train_reward_model does)."""

    # -- the model -------------------------------------------------------------------------------
    backbone: str = "minilm"
    """``minilm`` (all-MiniLM-L6-v2, offline, 22 M parameters: trains on a laptop CPU in minutes),
    ``policy`` (the policy's base model with a fresh score head: shares the policy's tokenizer and
    knowledge, but is larger and slower), or a local folder / Hub id of any model that loads with
    ``AutoModelForSequenceClassification``."""

    max_length: int = 256
    """Tokens per (conversation + reply), special tokens included. Longer conversations are cut from
    the LEFT: the reply and the end of the conversation are what the judgement is about, the opening
    turns least. 256 holds the whole text of ~85% of hh-rlhf harmless pairs; 128 (the reply and the
    last turn or so) trains 1.6x faster, was as accurate on average but less steady across seeds
    (61-65% vs 62.5-66%). Attention cost grows with the square of this."""

    # -- LoRA (parameter-efficient fine-tuning) ---------------------------------------------------
    use_lora: bool = True
    """Train small low-rank adapters (plus the score head) instead of every weight. The saved model is
    a few MB instead of the whole backbone, the frozen base stays shared with other runs, and it is
    the standard recipe for bigger backbones. False = full fine-tuning (every weight trains)."""

    lora_r: int = 32
    """Rank of each adapter: the capacity of the update. 8-64 is typical; 16, 32 and 64 scored within
    noise of each other here (adapters on every Linear layer matter far more than the rank)."""

    lora_alpha: int = 64
    """Scale of the adapter update (effective scale alpha / r). alpha = 2 r is the common choice."""

    lora_dropout: float = 0.0
    """Dropout on the adapter input. Only active with ``disable_dropout=False`` (TRL's RewardTrainer
    turns every dropout layer off by default, which is what we want for a small data set)."""

    lora_target_modules: list[str] | None = None
    """Module names LoRA adapts. None = a sensible default for the architecture: BERT/MiniLM
    ``query,key,value,dense`` (attention, MLP and the [CLS] pooler), Llama ``q_proj,k_proj,v_proj,o_proj``.
    Adapting only query/value (the original LoRA recipe) stayed near chance on MiniLM here."""

    modules_to_save: list[str] | None = None
    """Modules trained in full and saved next to the adapters. None = the score head only (BERT's
    ``classifier``, Llama's ``score``): it starts random, so it MUST train and be saved. (Training
    BERT's whole pooler in full instead of giving it an adapter was slightly worse here.)"""

    # -- optimisation ----------------------------------------------------------------------------
    learning_rate: float = 5e-4
    """Peak AdamW learning rate. LoRA wants ~1e-4..1e-3 (1e-4 barely moved in one epoch here);
    full fine-tuning ~5e-5..1e-4."""

    num_train_epochs: float | None = None
    """Passes over the training pairs. None = auto (`epochs_for`): one epoch, or more for a small set
    until `min_steps` optimiser steps are reached, at most `max_auto_epochs`. With ~1,400 pairs a
    second epoch did not help held-out accuracy (the model starts memorising conversations) and
    doubles the time, so large sets get exactly one."""

    min_steps: int = 48
    """Auto epochs: train a small set for at least this many optimiser steps. The bundled 192 pairs
    are 12 steps per epoch; after 12 steps the score head has barely moved (held-out margins ~0.07,
    loss 0.68), so PPO gets almost no signal. After 48 steps (4 epochs, ~1 minute on a CPU): 98 %
    held-out accuracy and margins ~7."""

    max_auto_epochs: int = 5
    """Auto epochs never exceed this: a handful of pairs is not worth 20 passes (it would memorise)."""

    per_device_train_batch_size: int = 16
    """Pairs per optimiser step (each pair is two sequences: chosen and rejected)."""

    per_device_eval_batch_size: int = 32
    """Pairs per evaluation forward pass (no gradients, so it can be larger)."""

    group_by_length: bool = True
    """Put pairs of similar length in the same batch (shuffled in chunks of ~50 batches), so a batch is
    padded to little more than its own length: fewer wasted FLOPs, same data."""

    gradient_accumulation_steps: int = 1
    """Batches per optimiser step: raise it to emulate a larger batch on small memory."""

    weight_decay: float = 0.0
    """AdamW weight decay. Little data, few steps: none needed."""

    warmup_steps: float = 0.1
    """Linear warm-up: a fraction of all steps if < 1, else a number of steps. Protects the fresh
    random score head from a too-large first update."""

    lr_scheduler_type: str = "linear"
    """Learning-rate schedule after warm-up (transformers names: linear, cosine, constant, ...)."""

    max_grad_norm: float = 1.0
    """Gradient clipping: keeps one odd batch from undoing the run."""

    center_rewards_coefficient: float | None = None
    """TRL's reward centring (Eisenstein et al. 2023): adds coef * mean((r_chosen + r_rejected)^2) to
    the loss so rewards stay near zero, which keeps PPO's reward scale stable. 0.01 is TRL's
    recommendation. It does not change which reply wins; None = off."""

    bf16: bool | None = None
    """Train and score under bfloat16 autocast. None = where it measures faster (`decoding.bf16_faster`: a GPU with
    bf16, a CPU with AVX512-BF16 or AMX, where MiniLM trains 2.1x faster); float32 elsewhere."""

    disable_dropout: bool = True
    """Turn dropout off in the whole model (TRL's default for reward models)."""

    # -- data --------------------------------------------------------------------------------------
    max_pairs: int | None = None
    """Use at most this many training pairs (your votes first, then hh-rlhf); None = all. Lower it to
    make a class demo finish in a minute."""

    eval_pairs: int = 400
    """Held-out pairs scored before and after training (the accuracy the tab shows). 400 pairs give a
    standard error of about 2.5 accuracy points."""

    eval_steps: int | None = None
    """Also evaluate every this many optimiser steps (the evaluation curve in the UI). None = auto: about
    `eval_points` points on the curve (`progress.auto_eval_steps`)."""

    eval_points: int = 6
    """Auto `eval_steps`: evaluate often enough that the curve has about this many points besides the one before
    training (0 = evaluate only before and after training)."""

    eval_curve_pairs: int = 100
    """Evaluations DURING training score only this many of the held-out pairs (the first ones, seeded), so that 5 of
    them cost about a fifth of the run, not as much again; before and after training all `eval_pairs` are scored.
    100 pairs: a standard error of ~5 accuracy points on each curve point."""

    logging_steps: int = 5
    """Send a live row (loss, accuracy, progress, ETA) every this many optimiser steps."""

    seed: int = 0
    """Seeds the score head's initialisation, the adapters and the data order: same seed, same model."""

    device: str | None = None
    """``cpu`` or ``cuda``. None = cuda when a GPU is present, else cpu."""

    # ------------------------------------------------------------------------------------------------
    def epochs_for(self, n_train_pairs: int, num_processes: int = 1) -> float:
        """The epochs to train `n_train_pairs` pairs for: `num_train_epochs` if set, else the smallest
        whole number of epochs that makes `min_steps` optimiser steps, between 1 and `max_auto_epochs`."""
        if self.num_train_epochs is not None:
            return float(self.num_train_epochs)
        per_step = self.per_device_train_batch_size * self.gradient_accumulation_steps * max(1, num_processes)
        steps_per_epoch = max(1, math.ceil(max(1, n_train_pairs) / per_step))
        return float(min(self.max_auto_epochs, max(1, math.ceil(self.min_steps / steps_per_epoch))))

    def validate(self) -> "RewardConfig":
        """Raise ValueError with a message a user can act on; return self when all is well."""

        def bad(name: str, why: str) -> None:
            raise ValueError(f"RewardConfig.{name} = {getattr(self, name)!r}: {why}")

        if not isinstance(self.backbone, str) or not self.backbone.strip():
            bad("backbone", "name a backbone: 'minilm', 'policy', a local folder or a Hub id")
        if not isinstance(self.max_length, int) or self.max_length < 16:
            bad("max_length", "must be an integer >= 16 tokens (room for special tokens, a question and a reply)")
        if self.max_length > 8192:
            bad("max_length", "must be <= 8192 tokens")
        if self.use_lora:
            if not isinstance(self.lora_r, int) or self.lora_r < 1:
                bad("lora_r", "LoRA rank must be an integer >= 1")
            if not self.lora_alpha or self.lora_alpha <= 0:
                bad("lora_alpha", "must be > 0")
            if not 0.0 <= self.lora_dropout < 1.0:
                bad("lora_dropout", "must be in [0, 1)")
            if self.lora_target_modules is not None and (
                not self.lora_target_modules or not all(is_module_name(m) for m in self.lora_target_modules)
            ):
                bad("lora_target_modules", "give a non-empty list of module names (such as query,value or q_proj), "
                                           "or None for the default")
        if not (isinstance(self.learning_rate, (int, float)) and math.isfinite(self.learning_rate)
                and 0 < self.learning_rate <= MAX_LEARNING_RATE):
            bad("learning_rate", f"must be a number in (0, {MAX_LEARNING_RATE:g}]; typical: 1e-4..5e-4 with LoRA, "
                                 "1e-5..5e-5 without")
        if self.num_train_epochs is not None:
            if not (isinstance(self.num_train_epochs, (int, float)) and math.isfinite(self.num_train_epochs)
                    and self.num_train_epochs > 0):
                bad("num_train_epochs", "must be > 0 (or None = auto)")
            if self.num_train_epochs > 100:
                bad("num_train_epochs", "must be <= 100")
        if not isinstance(self.min_steps, int) or isinstance(self.min_steps, bool) or self.min_steps < 0:
            bad("min_steps", "must be an integer >= 0")
        if not isinstance(self.max_auto_epochs, int) or isinstance(self.max_auto_epochs, bool) or self.max_auto_epochs < 1:
            bad("max_auto_epochs", "must be an integer >= 1")
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps", "logging_steps"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                bad(name, "must be an integer >= 1")
        # upper bounds, from memory: a batch holds chosen + rejected sequences of max_length tokens each
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size"):
            if getattr(self, name) * self.max_length > 65_536:
                bad(name, f"x max_length ({self.max_length}) must be <= 65,536 tokens (memory); lower one of them")
        if self.use_lora and self.lora_r > 256:
            bad("lora_r", "must be <= 256")
        if self.weight_decay < 0:
            bad("weight_decay", "must be >= 0")
        if self.warmup_steps < 0:
            bad("warmup_steps", "must be >= 0 (a fraction of the steps if < 1, else a step count)")
        if self.max_grad_norm is not None and self.max_grad_norm <= 0:
            bad("max_grad_norm", "must be > 0")
        if self.center_rewards_coefficient is not None and not self.center_rewards_coefficient >= 0:
            bad("center_rewards_coefficient", "must be >= 0, or None to turn centring off")
        if self.max_pairs is not None and (not isinstance(self.max_pairs, int) or self.max_pairs < 1):
            bad("max_pairs", "must be an integer >= 1, or None for all pairs")
        if not isinstance(self.eval_pairs, int) or self.eval_pairs < 0:
            bad("eval_pairs", "must be an integer >= 0")
        if self.eval_steps is not None and (not isinstance(self.eval_steps, int) or self.eval_steps < 1):
            bad("eval_steps", "must be an integer >= 1, or None")
        for name in ("eval_points", "eval_curve_pairs"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                bad(name, "must be an integer >= 0")
        if self.device is not None and self.device.split(":")[0] not in ("cpu", "cuda", "mps", "xpu"):
            bad("device", "must be cpu, cuda (or cuda:N), or None for automatic")
        return self

    # -- (de)serialisation: saved in reward_meta.json ---------------------------------------------
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RewardConfig":
        """Inverse of `to_dict`; unknown keys (from a newer version) are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def default_lora_targets(model_type: str) -> list[str]:
    """LoRA target modules for a ``config.model_type`` (see DEFAULT_LORA_TARGETS)."""
    return list(DEFAULT_LORA_TARGETS.get(model_type, DEFAULT_LORA_TARGETS_FALLBACK))
