"""How right is the Reward tab's ETA, and how long does the tab's default training take?

Runs the app's own reward-training job (`rlhf_demo.reward.service.RewardService.training_job`, the Reward tab's default settings:
400 hh-rlhf pairs, minilm) on the real harmless-base sample, polls the job as a page does (every second), and
compares the ETA shown at ~10 %, ~25 % and ~50 % of the run's real duration with the time that was really left.
Also reports the held-out accuracy (before / after), both length baselines, the evaluation curve's points and the
load average. The last line printed is one JSON object.

    python benchmarks/reward_eta.py [--max-length 128] [--pairs 400]
    python benchmarks/reward_eta.py --quick      # a tiny BERT backbone, 64 bundled pairs, 1 epoch: a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (offline env)

from rlhf_demo.reward.config import RewardConfig  # noqa: E402
from rlhf_demo.settings import Settings  # noqa: E402
from rlhf_demo.workspace import Workspace  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "shared/hh-rlhf/harmless-base-sample.jsonl.gz"


def eta_errors(samples: list[tuple[float, float | None]], total: float, at=(0.10, 0.25, 0.50)) -> dict:
    """For each fraction f of the real duration: the ETA shown at the first poll at or after f * total, the time that
    was really left then, and the error ``(shown - real) / real`` in %."""
    out = {}
    for f in at:
        t, eta = next(((t, e) for t, e in samples if t >= f * total), (None, None))
        if t is None:
            continue
        real = total - t
        out[f"{round(100 * f)}%"] = {"t_s": round(t, 1), "eta_shown_s": None if eta is None else round(eta, 1),
                                     "real_left_s": round(real, 1),
                                     "error_pct": None if eta is None else round(100 * (eta - real) / real, 1)}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", help="hh-rlhf .jsonl(.gz) (default: the harmless-base sample; --quick: the bundled set)")
    p.add_argument("--pairs", type=int, help="hh-rlhf training pairs (the tab's default: 400; --quick 64)")
    p.add_argument("--max-length", type=int, help="override the default max_length")
    p.add_argument("--min-steps", type=int, help="override the default min_steps")
    p.add_argument("--data-dir", help="keep the trained model under this data dir (default: a temporary one)")
    p.add_argument("--quick", action="store_true", help="a tiny random 2-layer BERT backbone (short sequences, small "
                   "LoRA), 64 pairs of the bundled set, 1 epoch: a smoke test (seconds)")
    args = p.parse_args()
    if args.data is None and not args.quick:
        args.data = str(SAMPLE)  # --quick: None = the app's offline default, the bundled set
    if args.pairs is None:
        args.pairs = 64 if args.quick else 400

    with tempfile.TemporaryDirectory() as tmp:
        quick_backbone = _common.tiny_reward_backbone(Path(tmp) / "tiny-bert") if args.quick else None
        ws = Workspace(Settings(data=args.data, offline=True, policy="tiny",
                                data_dir=Path(args.data_dir) if args.data_dir else Path(tmp) / "data",
                                reward_backbone=quick_backbone, allow_any_model=args.quick))
        cfg = RewardConfig(device="cpu")
        if args.quick:
            cfg = RewardConfig(device="cpu", backbone=quick_backbone, **_common.QUICK_REWARD)
        if args.max_length:
            cfg.max_length = args.max_length
        if args.min_steps is not None:
            cfg.min_steps = args.min_steps
        subset = ws.data.source.default()[0]
        load_start = os.getloadavg()
        t0 = time.time()
        job, data = ws.reward.training_job(cfg, subset, args.pairs, use_votes=False)
        ws.jobs.submit("reward", "Reward model training", job)
        samples: list[tuple[float, float | None]] = []
        while ws.jobs.snapshot().active:
            snap = ws.jobs.snapshot()
            samples.append((time.time() - t0, snap.eta))
            print(f"[eta] t={samples[-1][0]:.0f}s progress={snap.progress:.2f} {snap.status_line()}", file=sys.stderr,
                  flush=True)
            time.sleep(1.0)
        total = time.time() - t0
        snap = ws.jobs.snapshot()
        if snap.state != "done":
            raise SystemExit(f"error: the job ended {snap.state}: {snap.error}")
        r = snap.result
        curve = [(row["step"], round(row["eval_accuracy"], 3), row.get("n")) for row in snap.data["log"]
                 if row.get("kind") == "eval"]
    print(json.dumps({
        "benchmark": "reward_eta", "job_seconds": round(total, 1), "train_seconds": r["train_seconds"],
        "eta": eta_errors(samples, total), "eval_accuracy": round(r["eval_accuracy"], 4),
        "eval_accuracy_before": round(r["eval_accuracy_before"], 4),
        "baseline_shorter_wins": round(r["baseline_shorter_wins"], 4),
        "baseline_longer_wins": round(r["baseline_longer_wins"], 4), "steps": r["steps"], "epochs": r["epochs"],
        "eval_steps": r["eval_steps"], "curve": curve, "score_reference": r["score_reference"],
        "max_length": cfg.max_length, "pairs": args.pairs, "n_eval": r["n_eval"],
        "load_avg_start": [round(x, 2) for x in load_start], "load_avg_end": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count(), "quick": args.quick, "cpu": _common.cpu_info()}), flush=True)


if __name__ == "__main__":
    main()
