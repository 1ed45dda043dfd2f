"""The DPO stage as the app drives it: the saved adapters, and a DPO run as a background job.

    dpo_adapters/<name>/   DPO LoRA adapters (`dpo.trainer.train_dpo`), complete once dpo_meta.json is written

An adapter trained here joins the arena at once (a contestant of the Vote tab) and the frontier's points. The
caller (the UI) checks the instructor lock first. Errors the user can fix are `ValueError`s with a sentence to show.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from rlhf_demo.arena.contestants import ContestantRegistry
from rlhf_demo.dpo.config import META_FILE, DPOConfig
from rlhf_demo.jobs import JobRunner
from rlhf_demo.models.presets import ModelChoice
from rlhf_demo.reward.service import RewardService
from rlhf_demo.storage import complete_folders, sweep_temporaries

JOB = "dpo"  # the job kind of a DPO run on the app's job runner
TRAIN_PAIRS = 400  # data pairs a DPO run of the app trains on (plus the class's votes)


def dpo_job(cfg: DPOConfig, pairs: list, policy: ModelChoice, out_dir: Path,
            on_saved: Callable[[], None] | None = None):
    """A job function: DPO on `pairs` (data + the class's votes), live rows under "log" (TRL's metric names), the
    adapter saved as `out_dir`; `on_saved()` then makes it an arena contestant."""

    def job(ctx):
        from rlhf_demo.dpo.trainer import train_dpo

        ctx.update(progress=0.0, message=f"loading the policy; DPO on {len(pairs)} pairs, β = {cfg.beta:g}",
                   name=out_dir.name, n_pairs=len(pairs))
        steps = cfg.max_steps or 1

        def on_log(row: dict) -> None:
            ctx.append("log", row)
            ctx.update(progress=min(row.get("step", 0) / steps, 1.0),
                       message=f"step {row.get('step')}: loss {row.get('loss', float('nan')):.3f}, "
                               f"reward accuracy {row.get('rewards/accuracies', float('nan')):.2f}")

        out_dir.parent.mkdir(parents=True, exist_ok=True)
        result = train_dpo(cfg, pairs, out_dir, policy, on_log=on_log, should_stop=ctx.should_stop)
        if on_saved is not None and (out_dir / META_FILE).is_file():
            on_saved()
        return {**result.to_dict(), "name": out_dir.name}

    return job


class DPOService:
    """DPO adapters under `root`; a new one trained on the reward stage's pairs joins `contestants`."""

    def __init__(self, root: str | Path, jobs: JobRunner, reward: RewardService, policy: ModelChoice,
                 contestants: Callable[[], ContestantRegistry], device: str | None = None):
        self.root = Path(root)
        self.jobs = jobs
        self.reward = reward  # picks the pairs, as for a reward model
        self.policy = policy
        self.contestants = contestants  # the arena's registry (built lazily by the app)
        self.device = device

    def adapters(self) -> list[dict]:
        """Complete DPO adapters, oldest first: name, path, beta, steps, loss, accuracy, margin, seconds, policy_path."""
        if not self.root.is_dir():
            return []
        sweep_temporaries(self.root)
        rows = []
        for d in complete_folders(self.root, META_FILE)[0]:
            try:
                meta = json.loads((d / META_FILE).read_text())
            except (OSError, ValueError):
                continue
            res = meta.get("result", {})
            rows.append({"name": d.name, "path": str(d), "beta": res.get("beta"), "steps": res.get("steps"),
                         "pairs": res.get("n_pairs"), "loss": res.get("loss_last"),
                         "accuracy": res.get("reward_accuracy_last"), "margin": res.get("margins_last"),
                         "seconds": res.get("train_seconds"), "created": meta.get("created", 0.0),
                         "policy_path": meta.get("policy_path")})
        return sorted(rows, key=lambda r: (r["created"], r["name"]))

    def new_name(self) -> str:
        """dpo-<i>: never an existing adapter's name nor an arena contestant's."""
        i = len(self.adapters()) + 1
        while (self.root / f"dpo-{i}").exists() or f"dpo-{i}" in self.contestants():
            i += 1
        return f"dpo-{i}"

    def start(self, beta: float, steps: int, use_votes: bool) -> str:
        """Train a DPO adapter in the background on the data's pairs (and the class's votes)."""
        cfg = DPOConfig(beta=beta, max_steps=steps, device=self.device).validate()
        data = self.reward.select_pairs(self.reward.source.default()[0], TRAIN_PAIRS, bool(use_votes), 16)
        name = self.new_name()

        def on_saved() -> None:
            saved = next(a for a in self.adapters() if a["name"] == name)
            self.contestants().add_saved_adapter(saved, self.policy.path, "DPO adapter")

        self.jobs.submit(JOB, f"DPO ({name})", dpo_job(cfg, data.train, self.policy, self.root / name, on_saved))
        return f"Starting DPO {name}: β = {beta:g}, {steps} steps, {len(data.train)} pairs ({data.n_votes} from votes)."

    def stop(self) -> str:
        return "stopping" if self.jobs.stop(JOB) else "not running"
