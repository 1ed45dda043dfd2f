"""DPO with TRL's `DPOTrainer` and a peft LoRA adapter on the policy.

The reference policy is the same model with the adapter disabled (TRL does this when it is given a `peft_config`),
so only one copy of the weights is in memory. The pairs go to TRL in its conversational format (the same conversion
as the arena's export, `data.pairs.preference_examples`) when the policy has a chat template, else as hh-rlhf
text (the way `models.presets.format_prompt` prompts such a model). The saved folder is a plain peft adapter
(``adapter_config.json`` + ``adapter_model.safetensors``) plus ``dpo_meta.json``, written last, the whole folder
renamed into place when complete (`storage.atomic_folder`): the Vote tab loads it like a PPO checkpoint,
``Contestant(name, temperature, adapter_path=folder)``.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from rlhf_demo.data.pairs import preference_examples
from rlhf_demo.data.pairs import Pair, build_training_pairs, check_pairs
from rlhf_demo.dpo.config import META_FILE, DPOConfig
from rlhf_demo.lane import TrainerTurns
from rlhf_demo.models.libraries import building, import_libraries
from rlhf_demo.models.presets import ModelChoice, ensure_weights, load_tokenizer, pick_device
from rlhf_demo.reward.config import default_lora_targets
from rlhf_demo.storage import atomic_folder

# TRL's names for what the UI and the CLI show (DPOTrainer logs them as the mean over `logging_steps` steps)
METRICS = ("loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies")


class TrainingDiverged(RuntimeError):
    """The loss became NaN/inf: nothing is saved."""


@dataclass
class DPOResult:
    """What a run produced (JSON-able via `to_dict`)."""

    out_dir: str
    loss_first: float | None  # TRL's loss at the first logged step (log 2 = 0.693 at step 1: the adapter starts at 0)
    loss_last: float | None
    reward_accuracy_last: float | None  # rewards/accuracies at the last logged step
    margins_last: float | None  # rewards/margins at the last logged step
    train_seconds: float
    n_pairs: int
    steps: int
    stopped: bool
    beta: float
    policy: str
    policy_weights: str
    trainable_params: int = 0
    total_params: int = 0
    log: list[dict] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("log")
        return d


def to_trl_examples(pairs: Sequence[Pair], chat: bool) -> list[dict]:
    """The pairs as TRL preference examples. chat=True: the conversational format of the arena's export
    (prompt = the shared leading messages, TRL extracts it); chat=False: hh-rlhf text, with an explicit prompt."""
    if chat:
        return preference_examples(list(pairs), "conversational")
    rows = []
    for (prompt, _, _), row in zip(pairs, preference_examples(list(pairs), "hh")):
        rows.append({"prompt": prompt, "chosen": row["chosen"][len(prompt):], "rejected": row["rejected"][len(prompt):]})
    return rows


def lora_config(cfg: DPOConfig, model):
    from peft import LoraConfig

    wanted = set(cfg.lora_target_modules or default_lora_targets(model.config.model_type))
    names = {n.split(".")[-1] for n, _ in model.named_modules()}
    if not wanted & names:
        raise ValueError(f"DPOConfig.lora_target_modules {sorted(wanted)} match no module of {type(model).__name__}")
    return LoraConfig(task_type="CAUSAL_LM", r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=sorted(wanted & names))


def _callback(on_log, should_stop, rows: list):
    from transformers import TrainerCallback

    class LiveRows(TrainerCallback):
        stopped = False

        def on_log(self, args, state, control, logs=None, **kw):
            if not logs or "loss" not in logs:  # the end-of-training summary (train_loss, train_runtime, ...)
                return
            loss = logs["loss"]
            if not isinstance(loss, (int, float)) or not math.isfinite(loss):
                raise TrainingDiverged(f"the DPO loss became {loss} at step {state.global_step}: lower the learning "
                                       "rate; nothing was saved")
            row = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 3)}
            row.update({k: v for k, v in logs.items() if isinstance(v, (int, float)) and k != "epoch"})
            rows.append(row)
            if on_log is not None:
                on_log(row)

        def on_step_end(self, args, state, control, **kw):
            if should_stop is not None and should_stop():
                self.stopped = True
                control.should_training_stop = True

    return LiveRows()


def train_dpo(cfg: DPOConfig, pairs: Sequence[Pair], out_dir: str | os.PathLike, policy: ModelChoice,
              on_log: Callable[[dict], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> DPOResult:
    """Train a LoRA adapter on `policy` with DPO on ``(prompt, chosen, rejected)`` pairs; save it to `out_dir` (a new
    folder, written atomically with ``dpo_meta.json`` last).

    ``policy`` is resolved by the caller (`resolve_policy`); this function never probes the Hub.
    ``on_log(row)`` gets a dict every `cfg.logging_steps` steps: step, epoch and TRL's metrics (`METRICS`, plus
    logps/*, logits/*, learning_rate, grad_norm, ...). ``should_stop()`` returning True ends training after the
    current step; the adapter trained so far is saved and the result has ``stopped=True``.
    """
    import_libraries()  # first, and by one thread at a time (transformers' lazy imports are not thread-safe)
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, PrinterCallback, set_seed
    from trl import DPOConfig as TRLDPOConfig
    from trl import DPOTrainer

    cfg.validate()
    pairs = [p for p in check_pairs(pairs, "training") if p[1] != p[2]]  # equal replies carry no preference
    if not pairs:
        raise ValueError("No preference pairs to train on (a pair needs two different replies).")
    pairs = build_training_pairs(pairs, max_pairs=cfg.max_pairs, seed=cfg.seed)
    out_dir = Path(out_dir)

    device = pick_device(cfg.device)
    bf16 = device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    set_seed(cfg.seed)  # before the adapter is created: same seed, same initial adapter
    path = ensure_weights(policy)  # a GGUF-backed policy is dequantised on first use
    tok = load_tokenizer(path, padding_side="right")
    with building():  # one model built at a time (models/libraries.py)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    chat = bool(getattr(tok, "chat_template", None))
    train_ds = Dataset.from_list(to_trl_examples(pairs, chat))

    rows: list[dict] = []
    callback = _callback(on_log, should_stop, rows)
    turns = TrainerTurns("DPO training")
    with atomic_folder(out_dir, META_FILE) as tmp:
        args = TRLDPOConfig(
            output_dir=str(tmp),
            beta=cfg.beta, loss_type=["sigmoid"],  # the DPO paper's loss
            learning_rate=cfg.learning_rate, num_train_epochs=cfg.num_train_epochs,
            max_steps=cfg.max_steps if cfg.max_steps is not None else -1,
            per_device_train_batch_size=cfg.per_device_train_batch_size,
            gradient_accumulation_steps=cfg.gradient_accumulation_steps, warmup_steps=cfg.warmup_steps,
            lr_scheduler_type=cfg.lr_scheduler_type, max_grad_norm=cfg.max_grad_norm,
            # cut from the LEFT: the replies are what the preference is about
            max_length=cfg.max_length, truncation_mode="keep_end",
            seed=cfg.seed, data_seed=cfg.seed,
            bf16=bf16, fp16=False, use_cpu=not device.startswith("cuda"),
            gradient_checkpointing=False,  # small models: memory is not the limit, time is
            logging_steps=cfg.logging_steps, logging_first_step=True, disable_tqdm=True,
            report_to="none", push_to_hub=False, save_strategy="no", dataloader_num_workers=0,
        )
        trainer = DPOTrainer(model=model, args=args, train_dataset=train_ds, processing_class=tok,
                             peft_config=lora_config(cfg, model), callbacks=[callback, turns.callback()])
        trainer.remove_callback(PrinterCallback)  # it prints every log dict to stdout; our rows go to on_log
        net = trainer.model
        trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
        total = sum(p.numel() for p in net.parameters())
        t0 = time.perf_counter()
        with turns:  # the compute lane, one optimiser step at a time (rlhf_demo/lane.py)
            trainer.train()
        train_seconds = time.perf_counter() - t0

        first, last = (rows[0], rows[-1]) if rows else ({}, {})
        result = DPOResult(
            out_dir=str(out_dir), loss_first=first.get("loss"), loss_last=last.get("loss"),
            reward_accuracy_last=last.get("rewards/accuracies"), margins_last=last.get("rewards/margins"),
            train_seconds=round(train_seconds, 2), n_pairs=len(pairs), steps=trainer.state.global_step,
            stopped=callback.stopped, beta=cfg.beta, policy=policy.name, policy_weights=policy.weights,
            trainable_params=trainable, total_params=total, log=rows)
        trainer.model.save_pretrained(str(tmp))  # adapter_config.json + adapter_model.safetensors: a peft adapter
        meta = {"kind": "dpo", "policy": policy.name, "policy_path": policy.path, "policy_gguf": policy.gguf,
                "policy_label": policy.label(), "policy_weights": policy.weights, "chat_format": chat,
                "config": cfg.to_dict(), "result": result.to_dict(), "created": time.time(),
                "created_iso": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "device": device}
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2))  # last: the folder is complete
    return result
