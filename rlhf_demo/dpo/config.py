"""What a DPO run is allowed to change, with the reasoning next to each knob.

DPO turns the reward-model + PPO pipeline into one supervised loss on preference pairs:

    loss = -log sigmoid( beta * [ (log pi(chosen) - log ref(chosen)) - (log pi(rejected) - log ref(rejected)) ] )

where pi is the policy being trained and ref the frozen starting policy. ``trainer.py`` translates these fields into
TRL's own ``trl.DPOConfig`` (a ``TrainingArguments``) and a peft ``LoraConfig``; field names follow TRL / peft where
one exists, so a reader can look them up there. ``python -m rlhf_demo dpo`` is generated from the fields (each
field's help is its ``--help`` line). The defaults are sized for SmolLM2-135M on 2 CPU cores: one run in about
5 minutes (see `max_steps`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rlhf_demo.bounds import MAX_KL_COEF, MAX_LEARNING_RATE
from rlhf_demo.config_base import (LoraArgs, check_device, check_int, check_number, check_pair_tokens, device_field,
                                   require)

META_FILE = "dpo_meta.json"  # written last into a saved DPO adapter: a folder without it is not finished


@dataclass
class DPOConfig(LoraArgs):
    """One DPO run. Call `validate()` before use (train_dpo does)."""

    # -- the DPO objective -----------------------------------------------------------------------
    beta: float = field(default=0.1, metadata={
        "help": "strength of the implicit KL leash to the reference policy (larger = closer)"})
    """Strength of the implicit KL leash to the reference policy (TRL's and the paper's default 0.1). The implicit
    reward of a reply is beta * log(pi / ref): a small beta lets the policy move far from the reference before the
    loss saturates, a large one (0.5+) keeps it close. Same role as PPO's KL coefficient."""

    # -- LoRA on the policy (the lora_* fields are LoraArgs') -------------------------------------
    # lora_r 16, alpha 2 r (as the PPO tab). The reference is the same base with the adapter disabled, so no second
    # copy of the model is held in memory, and the saved adapter is a few MB that the Vote tab loads as a contestant.
    # lora_dropout 0: TRL turns the model's dropout off for DPO too (the log-ratios of chosen and rejected must come
    # from the same function). lora_target_modules None = the attention projections of the architecture
    # (Llama/SmolLM ``q_proj,k_proj,v_proj,o_proj``, GPT-2 ``c_attn,c_proj``), as the reward model.

    # -- optimisation ----------------------------------------------------------------------------
    learning_rate: float = field(default=1.5e-4, metadata={"help": "peak AdamW learning rate", "aliases": ["--lr"]})
    """Peak AdamW learning rate. Full-weight DPO uses ~5e-7; LoRA adapters start at zero and need ~1e-5..1e-4+ to
    move within a few steps. Measured on SmolLM2-135M (bundled pairs): 5e-5 for 24 steps took the loss from 0.693 to
    ~0.63 (margins ~0.13, reward accuracy ~1.0). The default's 8 steps get 3x that rate, the same lr x steps (not
    measured yet). Too high and the policy drifts into repeating the chosen replies' words."""

    num_train_epochs: float = field(default=1.0, metadata={
        "help": "passes over the pairs (max_steps wins when set)", "aliases": ["--epochs"]})
    """Passes over the pairs (`max_steps` wins when set). One pass: DPO on a small set overfits fast (the margins
    keep growing while the replies get worse)."""

    max_steps: int | None = field(default=8, metadata={
        "help": "stop after this many optimiser steps; None = num_train_epochs passes", "aliases": ["--steps"]})
    """Stop after this many optimiser steps (None = `num_train_epochs` passes). Measured on SmolLM2-135M (Q4_1,
    dequantised) with the bundled pairs on a BUSY 2-core machine: 36 s per step of 4 pairs (24 steps: 868 s), so 8
    steps (32 pairs) fit the 5-minute budget of one run; an idle machine should be faster."""

    per_device_train_batch_size: int = field(default=4, metadata={
        "help": "pairs per optimiser step", "aliases": ["--batch-size"]})
    """Pairs per optimiser step; each pair is two sequences (chosen and rejected) through the policy AND the
    reference (adapter off): four forward passes per pair."""

    gradient_accumulation_steps: int = field(default=1, metadata={"help": "batches per optimiser step"})
    """Batches per optimiser step: raise it to emulate a larger batch on small memory."""

    warmup_steps: float = field(default=0.1, metadata={
        "help": "linear warm-up: a fraction of all steps if < 1, else a number of steps"})
    """Linear warm-up: a fraction of all steps if < 1, else a number of steps."""

    lr_scheduler_type: str = field(default="linear", metadata={
        "help": "learning-rate schedule after warm-up (linear, cosine, constant, ...)"})
    """Learning-rate schedule after warm-up (transformers names: linear, cosine, constant, ...)."""

    max_grad_norm: float | None = field(default=1.0, metadata={"help": "gradient clipping norm; None = no clipping"})
    """Gradient clipping: keeps one odd batch from undoing the run."""

    # -- data --------------------------------------------------------------------------------------
    max_length: int = field(default=256, metadata={
        "help": "tokens per prompt + reply, cut from the left (the reply is always kept)"})
    """Tokens per (prompt + reply). Longer sequences are cut from the LEFT (TRL ``truncation_mode="keep_end"``):
    the reply, which is what the preference is about, is always kept; the opening turns go first. Compute grows
    with this (and attention with its square)."""

    max_pairs: int | None = field(default=None, metadata={"help": "use at most this many pairs (seeded); None = all"})
    """Use at most this many pairs (seeded sample); None = all. With `max_steps` set only the first
    max_steps x batch pairs are seen anyway."""

    logging_steps: int = field(default=1, metadata={"help": "send a live row every this many optimiser steps"})
    """Send a live row (TRL's loss, rewards/chosen, rewards/rejected, rewards/margins, rewards/accuracies) every
    this many optimiser steps."""

    seed: int = field(default=0, metadata={"help": "seeds the adapter's initialisation and the data order"})
    """Seeds the adapter's initialisation and the data order: same seed, same adapter."""

    device: str | None = device_field()
    """``cpu`` or ``cuda``. None = cuda when a GPU is present, else cpu."""

    # ------------------------------------------------------------------------------------------------
    def check(self) -> None:
        check_number("beta", self.beta, 0, MAX_KL_COEF, lo_open=True,
                     hint="typical 0.1; larger keeps the policy closer to the reference")
        self.check_lora()
        check_number("learning_rate", self.learning_rate, 0, MAX_LEARNING_RATE, lo_open=True,
                     hint="typical 1e-5..1e-4 with LoRA")
        check_number("num_train_epochs", self.num_train_epochs, 0, 100, lo_open=True)
        check_int("max_steps", self.max_steps, 1, none_ok=True, hint="None trains num_train_epochs passes")
        for name in ("per_device_train_batch_size", "gradient_accumulation_steps", "logging_steps"):
            check_int(name, getattr(self, name), 1)
        check_number("warmup_steps", self.warmup_steps, 0, hint="a fraction of the steps if < 1, else a step count")
        require(isinstance(self.lr_scheduler_type, str) and bool(self.lr_scheduler_type), "lr_scheduler_type",
                self.lr_scheduler_type, "a transformers schedule: linear, cosine, constant, ...")
        check_number("max_grad_norm", self.max_grad_norm, 0, lo_open=True, none_ok=True)
        check_int("max_length", self.max_length, 16, 8192, hint="room for a prompt's end and a reply")
        check_pair_tokens("per_device_train_batch_size", self.per_device_train_batch_size, self.max_length)
        check_int("max_pairs", self.max_pairs, 1, none_ok=True, hint="None = all pairs")
        check_int("seed", self.seed)
        check_device("device", self.device)
