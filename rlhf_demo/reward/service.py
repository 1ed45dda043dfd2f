"""The reward stage as the app drives it: pick the pairs, train as a background job, activate, score, warn.

The held-out evaluation set is fixed per data source: the `test` split when the subset has one, else a seeded slice
of the same split that never enters training. The class's counted votes are added to the training pairs on request.
Every action is written once here and called by the Reward tab, its API endpoints, DPO and the benchmarks alike.
Errors the user can fix are `ValueError`s with a sentence to show.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rlhf_demo.data.browse import longer_reply_wins, shorter_reply_wins
from rlhf_demo.data.pairs import Pair, build_training_pairs, hold_out, pairs_from_set, source_split
from rlhf_demo.jobs import JobRunner
from rlhf_demo.models.presets import RewardBackbones
from rlhf_demo.reward.config import RewardConfig
from rlhf_demo.reward.reference import relative
from rlhf_demo.reward.registry import RewardModelRegistry, trained_on_text

JOB = "reward"  # the job kind of reward-model training on the app's job runner


@dataclass
class RewardData:
    train: list  # (prompt, chosen, rejected)
    eval: list
    n_votes: int
    description: str


class RewardService:
    """Training, activation and scoring of the app's reward models (`models`, the registry on disk)."""

    def __init__(self, models: RewardModelRegistry, source, jobs: JobRunner, backbones: RewardBackbones,
                 counted_votes: Callable[[], list[Pair]] = list, device: str | None = None):
        self.models = models
        self.source = source  # the app's data source (`data.sources`)
        self.jobs = jobs
        self.backbones = backbones
        self.counted_votes = counted_votes  # the class's counted decisive votes as pairs (the Vote tab's filters)
        self.device = device

    # -- the pairs --------------------------------------------------------------------------------------------
    def select_pairs(self, subset: str, n_pairs: int, use_votes: bool, n_eval: int, seed: int = 0) -> RewardData:
        """Training and held-out pairs for `subset`; raises ValueError with a clear message when there are none."""
        train_all, eval_pairs, where = source_split(self.source, subset, n_eval, seed)
        votes = self.counted_votes() if use_votes else []
        if n_pairs < 0:
            raise ValueError("The number of pairs cannot be negative.")
        train = build_training_pairs(train_all, votes, max_pairs=n_pairs + len(votes), seed=seed)
        if not train:
            raise ValueError("No training pairs after filtering: raise the number of pairs or add votes.")
        if not eval_pairs:
            raise ValueError("No held-out pairs to evaluate on.")
        return RewardData(train, eval_pairs, len(votes), where)

    def available_pairs(self, subset: str, n_eval: int = RewardConfig().eval_pairs) -> int:
        """How many hh-rlhf pairs `subset` can give training: its train split, else its one split minus the pairs
        held out (as `select_pairs` draws them). What the tab's "training pairs" slider is bounded by."""
        splits = self.source.splits(subset)
        if "train" in splits:
            return len(pairs_from_set(self.source.load(subset, "train")))
        try:
            return len(hold_out(pairs_from_set(self.source.load(subset, splits[0])), n_eval)[0])
        except ValueError:  # too few pairs to hold any out: training will say so
            return 0

    # -- training -------------------------------------------------------------------------------------------
    def training_job(self, cfg: RewardConfig, subset: str, n_pairs: int, use_votes: bool, name: str | None = None,
                     activate: bool | None = None):
        """(job, data): a job function for `jobs.submit` (train, save, evaluate for the histogram) and the pairs it
        trains on. The backbone is ``cfg.backbone`` resolved as start-up found it: no new Hub probe.

        activate: make the new model the active one (what PPO optimises). None: only when no model is active when
        training ends; a better-looking new model never silently replaces the one a class is working with."""
        cfg.validate()  # before any work: a bad value is the user's to fix
        backbone = self.backbones.resolve(cfg.backbone)
        data = self.select_pairs(subset, n_pairs, use_votes, cfg.eval_pairs, cfg.seed)
        trained_on = {"source": self.source.identity, "description": self.source.description, "subset": subset,
                      "split": data.description, "n_pairs": len(data.train) - data.n_votes, "n_votes": data.n_votes}

        def job(ctx):
            # eta_s None = "estimating…" until an optimiser step after the first one was timed (`jobs.eta_seconds`)
            ctx.update(progress=0.0, message=f"{len(data.train)} pairs ({data.n_votes} from votes), {data.description}",
                       n_train=len(data.train), n_eval=len(data.eval), eta_s=None, eta_at=time.time(),
                       baseline_shorter_wins=shorter_reply_wins((c, r) for _, c, r in data.eval),
                       baseline_longer_wins=longer_reply_wins((c, r) for _, c, r in data.eval))

            def on_log(row: dict) -> None:
                ctx.append("log", row)
                if "loss" in row:
                    ctx.update(message=f"step {row.get('step')}: loss {row['loss']:.3f}")

            def on_progress(p: dict) -> None:
                ctx.update(progress=p["progress"], eta_s=p["eta_s"], eta_at=time.time())

            result = self.models.train(cfg, data.train, data.eval, backbone, name=name, on_log=on_log,
                                       should_stop=ctx.should_stop, on_progress=on_progress, trained_on=trained_on,
                                       activate=False)
            model_name = Path(result.out_dir).name
            before = self.models.active
            if activate or (activate is None and before is None):
                self.models.set_active(model_name)
            active = self.models.info(self.models.active) or {}
            ctx.update(margins=[float(m) for m in result.margins], model=model_name, eta_s=0.0, eta_at=time.time())
            return {**result.to_dict(), "name": model_name, "activated": self.models.active == model_name,
                    "active": active.get("name"), "active_eval_accuracy": active.get("eval_accuracy")}

        return job, data

    def start(self, cfg: RewardConfig, subset: str | None, n_pairs: int, use_votes: bool,
              activate: bool | None = None) -> RewardData:
        """Validate, pick the pairs and start training in the background ("" or None: the default subset)."""
        subset = subset or self.source.default()[0]
        if not isinstance(subset, str):
            raise ValueError(f"subset must be one of {self.source.subsets()}")
        job, data = self.training_job(cfg, subset, n_pairs, use_votes, activate=activate)
        self.jobs.submit(JOB, "Reward model training", job)
        return data

    def stop(self) -> bool:
        """Stop training after the current step (the model trained so far is saved)."""
        return self.jobs.stop(JOB)

    # -- the active model -------------------------------------------------------------------------------------
    @property
    def active(self) -> str | None:
        return self.models.active

    def activate(self, name) -> str:
        if not name or not isinstance(name, str):
            raise ValueError("Pick a saved model first.")
        try:
            self.models.set_active(name)
        except FileNotFoundError as e:
            raise ValueError(str(e)[:300]) from e
        return name

    def load(self, name: str):
        """A saved reward model, loaded (cached by the registry)."""
        return self.models.load(name, self.device)

    def active_scorer(self):
        """(name, loaded model) of the active reward model (what picks the best-of-N reply); None without one."""
        name = self.models.active
        return None if name is None else (name, self.load(name))

    def score(self, prompt: str, replies: list[str]) -> tuple[list[float], list[float | None], str]:
        """The active model's scores of `replies` to a typed prompt, and the same in σ of its held-out replies'
        scores (None for a model saved without that reference); with the model's name."""
        from rlhf_demo.data.hh import prompt_from_text

        name = self.models.active
        model = self.models.active_model(self.device)
        if model is None:
            raise ValueError("No active reward model yet: train one in the Reward model tab first.")
        scores = model.score([prompt_from_text(prompt)] * len(replies), replies).tolist()
        ref = model.meta.get("score_reference")
        return scores, [relative(x, ref) for x in scores], name or ""

    def data_warning(self) -> str | None:
        """A warning when the active model was trained on other data than what is loaded now (its scores and its
        "disagrees with humans" verdicts would mislead), else None."""
        active = self.models.active
        if active is None:
            return None
        trained_on = (self.models.info(active) or {}).get("trained_on") or {}
        if trained_on.get("source") == self.source.identity:
            return None
        what = (f"was trained on {trained_on_text(trained_on)}, not on the data loaded now" if trained_on.get("source")
                else "does not record what it was trained on (saved by an older version): maybe not on the data "
                     "loaded now")
        return (f"The active reward model {active} {what} ({self.source.description}): its scores here may "
                "mislead. Train one on this data in tab 3, or make another model active.")
