"""What a DPO run is allowed to change, with the reasoning next to each knob.

DPO turns the reward-model + PPO pipeline into one supervised loss on preference pairs:

    loss = -log sigmoid( beta * [ (log pi(chosen) - log ref(chosen)) - (log pi(rejected) - log ref(rejected)) ] )

where pi is the policy being trained and ref the frozen starting policy. ``trainer.py`` translates these fields into
TRL's own ``trl.DPOConfig`` (a ``TrainingArguments``) and a peft ``LoraConfig``; field names follow TRL / peft where
one exists, so a reader can look them up there. The defaults are sized for SmolLM2-135M on 2 CPU cores: one run
in about 5 minutes (see `max_steps`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from rlhf_demo.bounds import MAX_KL_COEF, MAX_LEARNING_RATE
from rlhf_demo.reward.config import is_module_name

META_FILE = "dpo_meta.json"  # written last into a saved DPO adapter: a folder without it is not finished


@dataclass
class DPOConfig:
    """One DPO run. Call `validate()` before use (train_dpo does)."""

    # -- the DPO objective -----------------------------------------------------------------------
    beta: float = 0.1
    """Strength of the implicit KL leash to the reference policy (TRL's and the paper's default 0.1). The implicit
    reward of a reply is beta * log(pi / ref): a small beta lets the policy move far from the reference before the
    loss saturates, a large one (0.5+) keeps it close. Same role as PPO's KL coefficient."""

    # -- LoRA on the policy -----------------------------------------------------------------------
    lora_r: int = 16
    """Adapter rank (as the PPO tab). The reference is the same base with the adapter disabled, so no second copy
    of the model is held in memory, and the saved adapter is a few MB that the Vote tab loads as a contestant."""

    lora_alpha: int = 32
    """Adapter scale alpha / r; alpha = 2 r is the usual choice."""

    lora_dropout: float = 0.0
    """Dropout on the adapter input. 0: TRL turns the model's dropout off for DPO too (the log-ratios of chosen and
    rejected must come from the same function)."""

    lora_target_modules: list[str] | None = None
    """Module names LoRA adapts. None = the attention projections of the architecture (Llama/SmolLM
    ``q_proj,k_proj,v_proj,o_proj``, GPT-2 ``c_attn,c_proj``), as the reward model."""

    # -- optimisation ----------------------------------------------------------------------------
    learning_rate: float = 1.5e-4
    """Peak AdamW learning rate. Full-weight DPO uses ~5e-7; LoRA adapters start at zero and need ~1e-5..1e-4+ to
    move within a few steps. Measured on SmolLM2-135M (bundled pairs): 5e-5 for 24 steps took the loss from 0.693 to
    ~0.63 (margins ~0.13, reward accuracy ~1.0). The default's 8 steps get 3x that rate, the same lr x steps (not
    measured yet). Too high and the policy drifts into repeating the chosen replies' words."""

    num_train_epochs: float = 1.0
    """Passes over the pairs (`max_steps` wins when set). One pass: DPO on a small set overfits fast (the margins
    keep growing while the replies get worse)."""

    max_steps: int | None = 8
    """Stop after this many optimiser steps (None = `num_train_epochs` passes). Measured on SmolLM2-135M (Q4_1,
    dequantised) with the bundled pairs on a BUSY 2-core machine: 36 s per step of 4 pairs (24 steps: 868 s), so 8
    steps (32 pairs) fit the 5-minute budget of one run; an idle machine should be faster."""

    per_device_train_batch_size: int = 4
    """Pairs per optimiser step; each pair is two sequences (chosen and rejected) through the policy AND the
    reference (adapter off): four forward passes per pair."""

    gradient_accumulation_steps: int = 1
    """Batches per optimiser step: raise it to emulate a larger batch on small memory."""

    warmup_steps: float = 0.1
    """Linear warm-up: a fraction of all steps if < 1, else a number of steps."""

    lr_scheduler_type: str = "linear"
    """Learning-rate schedule after warm-up (transformers names: linear, cosine, constant, ...)."""

    max_grad_norm: float = 1.0
    """Gradient clipping: keeps one odd batch from undoing the run."""

    # -- data --------------------------------------------------------------------------------------
    max_length: int = 256
    """Tokens per (prompt + reply). Longer sequences are cut from the LEFT (TRL ``truncation_mode="keep_end"``):
    the reply, which is what the preference is about, is always kept; the opening turns go first. Compute grows
    with this (and attention with its square)."""

    max_pairs: int | None = None
    """Use at most this many pairs (seeded sample); None = all. With `max_steps` set only the first
    max_steps x batch pairs are seen anyway."""

    logging_steps: int = 1
    """Send a live row (TRL's loss, rewards/chosen, rewards/rejected, rewards/margins, rewards/accuracies) every
    this many optimiser steps."""

    seed: int = 0
    """Seeds the adapter's initialisation and the data order: same seed, same adapter."""

    device: str | None = None
    """``cpu`` or ``cuda``. None = cuda when a GPU is present, else cpu."""

    # ------------------------------------------------------------------------------------------------
    def validate(self) -> "DPOConfig":
        """Raise ValueError naming the field, with a message a user can act on; return self when all is well."""

        def bad(name: str, why: str) -> None:
            raise ValueError(f"DPOConfig.{name} = {getattr(self, name)!r}: {why}")

        def is_int(v) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        def is_num(v) -> bool:
            return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

        if not is_num(self.beta) or self.beta <= 0:
            bad("beta", "must be a number > 0 (typical 0.1; larger keeps the policy closer to the reference)")
        if self.beta > MAX_KL_COEF:
            bad("beta", f"must be <= {MAX_KL_COEF:g}")
        if not is_int(self.lora_r) or not 1 <= self.lora_r <= 256:
            bad("lora_r", "LoRA rank must be an integer in [1, 256]")
        if not is_num(self.lora_alpha) or self.lora_alpha <= 0:
            bad("lora_alpha", "must be > 0")
        if not is_num(self.lora_dropout) or not 0.0 <= self.lora_dropout < 1.0:
            bad("lora_dropout", "must be in [0, 1)")
        if self.lora_target_modules is not None and (
            not isinstance(self.lora_target_modules, (list, tuple)) or not self.lora_target_modules
            or not all(is_module_name(m) for m in self.lora_target_modules)
        ):
            bad("lora_target_modules", "give a non-empty list of module names, or None for the default")
        if not is_num(self.learning_rate) or not 0 < self.learning_rate <= MAX_LEARNING_RATE:
            bad("learning_rate", f"must be a number in (0, {MAX_LEARNING_RATE:g}]; typical 1e-5..1e-4 with LoRA")
        if not is_num(self.num_train_epochs) or not 0 < self.num_train_epochs <= 100:
            bad("num_train_epochs", "must be a number in (0, 100]")
        if self.max_steps is not None and (not is_int(self.max_steps) or self.max_steps < 1):
            bad("max_steps", "must be an integer >= 1, or None to train num_train_epochs passes")
        for name in ("per_device_train_batch_size", "gradient_accumulation_steps", "logging_steps"):
            if not is_int(getattr(self, name)) or getattr(self, name) < 1:
                bad(name, "must be an integer >= 1")
        if not is_num(self.warmup_steps) or self.warmup_steps < 0:
            bad("warmup_steps", "must be >= 0 (a fraction of the steps if < 1, else a step count)")
        if not isinstance(self.lr_scheduler_type, str) or not self.lr_scheduler_type:
            bad("lr_scheduler_type", "name a transformers schedule: linear, cosine, constant, ...")
        if self.max_grad_norm is not None and (not is_num(self.max_grad_norm) or self.max_grad_norm <= 0):
            bad("max_grad_norm", "must be > 0")
        if not is_int(self.max_length) or not 16 <= self.max_length <= 8192:
            bad("max_length", "must be an integer in [16, 8192] tokens (room for a prompt's end and a reply)")
        if self.per_device_train_batch_size * self.max_length > 65_536:
            bad("per_device_train_batch_size", f"x max_length ({self.max_length}) must be <= 65,536 tokens (memory)")
        if self.max_pairs is not None and (not is_int(self.max_pairs) or self.max_pairs < 1):
            bad("max_pairs", "must be an integer >= 1, or None for all pairs")
        if not is_int(self.seed):
            bad("seed", "must be an integer")
        if self.device is not None and (not isinstance(self.device, str)
                                        or self.device.split(":")[0] not in ("cpu", "cuda", "mps", "xpu")):
            bad("device", "must be cpu, cuda (or cuda:N), or None for automatic")
        return self

    # -- (de)serialisation: saved in dpo_meta.json -----------------------------------------------------
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DPOConfig":
        """Inverse of `to_dict`; unknown keys (from a newer version) are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
