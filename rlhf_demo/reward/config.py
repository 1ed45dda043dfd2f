"""What a reward-model run is allowed to change, with the reasoning next to each knob.

`RewardConfig` is deliberately small and flat: the Train tab shows these fields, the headless CLI
(``python -m rlhf_demo reward``) is generated from them (each field's help is its ``--help`` line), and
``trainer.py`` translates them into TRL's own ``trl.RewardConfig`` (a ``TrainingArguments``) and a peft
``LoraConfig``. Field names follow TRL / transformers / peft where one exists, so a reader can look them up there.

The defaults are the best setting we measured for the offline backbone (all-MiniLM-L6-v2) on
2 CPU cores; see ``benchmarks/reward_accuracy.py`` and the table in the README / report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rlhf_demo.bounds import MAX_LEARNING_RATE
from rlhf_demo.config_base import (LoraArgs, check_device, check_int, check_module_names, check_number, check_pair_tokens,
                                   comma_list, device_field, override, require)

# Which modules LoRA adapts when `lora_target_modules` is None, per model family (``config.model_type``).
# BERT-style encoders name their attention projections query/key/value and their MLP/output
# projections "dense"; Llama-style decoders use q_proj/k_proj/v_proj/o_proj.
DEFAULT_LORA_TARGETS = {
    "bert": ["query", "key", "value", "dense"],
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gpt2": ["c_attn", "c_proj"],
}
DEFAULT_LORA_TARGETS_FALLBACK = ["q_proj", "v_proj"]  # most decoder families (Mistral, Qwen, SmolLM, ...)


@dataclass
class RewardConfig(LoraArgs):
    """One reward-model training run. Call `validate()` before use (train_reward_model does)."""

    # -- the model -------------------------------------------------------------------------------
    backbone: str = field(default="minilm", metadata={
        "help": "minilm, policy (the policy's base model), a local folder or a Hub id"})
    """``minilm`` (all-MiniLM-L6-v2, offline, 22 M parameters: trains on a laptop CPU in minutes),
    ``policy`` (the policy's base model with a fresh score head: shares the policy's tokenizer and
    knowledge, but is larger and slower), or a local folder / Hub id of any model that loads with
    ``AutoModelForSequenceClassification``."""

    max_length: int = field(default=256, metadata={
        "help": "tokens per conversation + reply, cut from the left (the reply is always kept)"})
    """Tokens per (conversation + reply), special tokens included. Longer conversations are cut from
    the LEFT: the reply and the end of the conversation are what the judgement is about, the opening
    turns least. 256 holds the whole text of ~85% of hh-rlhf harmless pairs; 128 (the reply and the
    last turn or so) trains 1.6x faster, was as accurate on average but less steady across seeds
    (61-65% vs 62.5-66%). Attention cost grows with the square of this."""

    # -- LoRA (parameter-efficient fine-tuning; the lora_* fields are LoraArgs') ---------------------
    use_lora: bool = field(default=True, metadata={
        "help": "train LoRA adapters and the score head; false = full fine-tuning", "negation": "--no-lora"})
    """Train small low-rank adapters (plus the score head) instead of every weight. The saved model is
    a few MB instead of the whole backbone, the frozen base stays shared with other runs, and it is
    the standard recipe for bigger backbones. False = full fine-tuning (every weight trains)."""

    lora_r: int = override(LoraArgs, "lora_r", 32)
    """8-64 is typical; 16, 32 and 64 scored within noise of each other here (adapters on every Linear
    layer matter far more than the rank). lora_alpha: 2 r, the common choice.
    lora_dropout is only active with ``disable_dropout=False`` (TRL's RewardTrainer turns every dropout
    layer off by default, which is what we want for a small data set).
    lora_target_modules None = DEFAULT_LORA_TARGETS: BERT/MiniLM ``query,key,value,dense`` (attention, MLP
    and the [CLS] pooler), Llama ``q_proj,k_proj,v_proj,o_proj``. Adapting only query/value (the original
    LoRA recipe) stayed near chance on MiniLM here."""

    modules_to_save: list[str] | None = field(default=None, metadata={
        "help": "modules trained in full and saved next to the adapters, comma-separated; None = the score head",
        "parse": comma_list})
    """Modules trained in full and saved next to the adapters. None = the score head only (BERT's
    ``classifier``, Llama's ``score``): it starts random, so it MUST train and be saved. (Training
    BERT's whole pooler in full instead of giving it an adapter was slightly worse here.)"""

    # -- optimisation ----------------------------------------------------------------------------
    learning_rate: float = field(default=5e-4, metadata={"help": "peak AdamW learning rate", "aliases": ["--lr"]})
    """Peak AdamW learning rate. LoRA wants ~1e-4..1e-3 (1e-4 barely moved in one epoch here);
    full fine-tuning ~5e-5..1e-4."""

    num_train_epochs: float | None = field(default=None, metadata={
        "help": "passes over the training pairs; None = auto (at least min_steps steps, at most max_auto_epochs, "
                "1 for a large set)", "aliases": ["--epochs"]})
    """Passes over the training pairs. None = auto (`epochs_for`): one epoch, or more for a small set
    until `min_steps` optimiser steps are reached, at most `max_auto_epochs`. With ~1,400 pairs a
    second epoch did not help held-out accuracy (the model starts memorising conversations) and
    doubles the time, so large sets get exactly one."""

    min_steps: int = field(default=48, metadata={"help": "auto epochs: train a small set for at least this many steps"})
    """Auto epochs: train a small set for at least this many optimiser steps. The bundled 192 pairs
    are 12 steps per epoch; after 12 steps the score head has barely moved (held-out margins ~0.07,
    loss 0.68), so PPO gets almost no signal. After 48 steps (4 epochs, ~1 minute on a CPU): 98 %
    held-out accuracy and margins ~7."""

    max_auto_epochs: int = field(default=5, metadata={"help": "auto epochs never exceed this"})
    """Auto epochs never exceed this: a handful of pairs is not worth 20 passes (it would memorise)."""

    per_device_train_batch_size: int = field(default=16, metadata={
        "help": "pairs per optimiser step per device", "aliases": ["--batch-size"]})
    """Pairs per optimiser step (each pair is two sequences: chosen and rejected)."""

    per_device_eval_batch_size: int = field(default=32, metadata={"help": "pairs per evaluation forward pass"})
    """Pairs per evaluation forward pass (no gradients, so it can be larger)."""

    group_by_length: bool = field(default=True, metadata={"help": "batch pairs of similar length together"})
    """Put pairs of similar length in the same batch (shuffled in chunks of ~50 batches), so a batch is
    padded to little more than its own length: fewer wasted FLOPs, same data."""

    gradient_accumulation_steps: int = field(default=1, metadata={"help": "batches per optimiser step"})
    """Batches per optimiser step: raise it to emulate a larger batch on small memory."""

    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    """AdamW weight decay. Little data, few steps: none needed."""

    warmup_steps: float = field(default=0.1, metadata={
        "help": "linear warm-up: a fraction of all steps if < 1, else a number of steps"})
    """Linear warm-up: a fraction of all steps if < 1, else a number of steps. Protects the fresh
    random score head from a too-large first update."""

    lr_scheduler_type: str = field(default="linear", metadata={
        "help": "learning-rate schedule after warm-up (linear, cosine, constant, ...)"})
    """Learning-rate schedule after warm-up (transformers names: linear, cosine, constant, ...)."""

    max_grad_norm: float | None = field(default=1.0, metadata={"help": "gradient clipping norm; None = no clipping"})
    """Gradient clipping: keeps one odd batch from undoing the run."""

    center_rewards_coefficient: float | None = field(default=None, metadata={
        "help": "TRL's reward centring coefficient (0.01 is TRL's advice); None = off", "aliases": ["--center-rewards"]})
    """TRL's reward centring (Eisenstein et al. 2023): adds coef * mean((r_chosen + r_rejected)^2) to
    the loss so rewards stay near zero, which keeps PPO's reward scale stable. 0.01 is TRL's
    recommendation. It does not change which reply wins; None = off."""

    bf16: bool | None = field(default=None, metadata={
        "help": "train under bfloat16 autocast; None = where it measures faster"})
    """Train and score under bfloat16 autocast. None = where it measures faster (`decoding.bf16_faster`: a GPU with
    bf16, a CPU with AVX512-BF16 or AMX, where MiniLM trains 2.1x faster); float32 elsewhere."""

    disable_dropout: bool = field(default=True, metadata={"help": "turn dropout off in the whole model"})
    """Turn dropout off in the whole model (TRL's default for reward models)."""

    # -- data --------------------------------------------------------------------------------------
    max_pairs: int | None = field(default=None, metadata={
        "help": "use at most this many training pairs (your votes first); None = all"})
    """Use at most this many training pairs (your votes first, then hh-rlhf); None = all. Lower it to
    make a class demo finish in a minute."""

    eval_pairs: int = field(default=400, metadata={"help": "held-out pairs scored before and after training"})
    """Held-out pairs scored before and after training (the accuracy the tab shows). 400 pairs give a
    standard error of about 2.5 accuracy points."""

    eval_steps: int | None = field(default=None, metadata={
        "help": "also evaluate every this many optimiser steps; None = auto (about eval_points evaluations)"})
    """Also evaluate every this many optimiser steps (the evaluation curve in the UI). None = auto: about
    `eval_points` points on the curve (`progress.auto_eval_steps`)."""

    eval_points: int = field(default=6, metadata={
        "help": "auto eval_steps: evaluations during training (0 = before and after only)"})
    """Auto `eval_steps`: evaluate often enough that the curve has about this many points besides the one before
    training (0 = evaluate only before and after training)."""

    eval_curve_pairs: int = field(default=100, metadata={
        "help": "held-out pairs scored by each evaluation during training"})
    """Evaluations DURING training score only this many of the held-out pairs (the first ones, seeded), so that 5 of
    them cost about a fifth of the run, not as much again; before and after training all `eval_pairs` are scored.
    100 pairs: a standard error of ~5 accuracy points on each curve point."""

    logging_steps: int = field(default=5, metadata={"help": "send a live row every this many optimiser steps"})
    """Send a live row (loss, accuracy, progress, ETA) every this many optimiser steps."""

    seed: int = field(default=0, metadata={"help": "seeds the score head, the adapters and the data order"})
    """Seeds the score head's initialisation, the adapters and the data order: same seed, same model."""

    device: str | None = device_field()
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

    def total_steps(self, n_train_pairs: int, num_processes: int = 1) -> int:
        """Optimiser steps that training `n_train_pairs` pairs makes: batches per epoch x `epochs_for`."""
        per_step = self.per_device_train_batch_size * self.gradient_accumulation_steps * max(1, num_processes)
        return math.ceil(math.ceil(max(1, n_train_pairs) / per_step) * self.epochs_for(n_train_pairs, num_processes))

    def check(self) -> None:
        require(isinstance(self.backbone, str) and bool(self.backbone.strip()), "backbone", self.backbone,
                "the name of a backbone: 'minilm', 'policy', a local folder or a Hub id")
        check_int("max_length", self.max_length, 16, 8192, hint="room for special tokens, a question and a reply")
        if self.use_lora:
            self.check_lora()
        check_module_names("modules_to_save", self.modules_to_save)
        check_number("learning_rate", self.learning_rate, 0, MAX_LEARNING_RATE, lo_open=True,
                     hint="typical: 1e-4..5e-4 with LoRA, 1e-5..5e-5 without")
        check_number("num_train_epochs", self.num_train_epochs, 0, 100, lo_open=True, none_ok=True, hint="None = auto")
        check_int("min_steps", self.min_steps, 0)
        check_int("max_auto_epochs", self.max_auto_epochs, 1)
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps",
                     "logging_steps"):
            check_int(name, getattr(self, name), 1)
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size"):
            check_pair_tokens(name, getattr(self, name), self.max_length)
        check_number("weight_decay", self.weight_decay, 0)
        check_number("warmup_steps", self.warmup_steps, 0, hint="a fraction of the steps if < 1, else a step count")
        check_number("max_grad_norm", self.max_grad_norm, 0, lo_open=True, none_ok=True)
        check_number("center_rewards_coefficient", self.center_rewards_coefficient, 0, none_ok=True,
                     hint="None turns centring off")
        check_int("max_pairs", self.max_pairs, 1, none_ok=True, hint="None = all pairs")
        check_int("eval_pairs", self.eval_pairs, 0)
        check_int("eval_steps", self.eval_steps, 1, none_ok=True, hint="None = auto")
        check_int("eval_points", self.eval_points, 0)
        check_int("eval_curve_pairs", self.eval_curve_pairs, 0)
        check_int("seed", self.seed)
        check_device("device", self.device)


def default_lora_targets(model_type: str) -> list[str]:
    """LoRA target modules for a ``config.model_type`` (see DEFAULT_LORA_TARGETS)."""
    return list(DEFAULT_LORA_TARGETS.get(model_type, DEFAULT_LORA_TARGETS_FALLBACK))
