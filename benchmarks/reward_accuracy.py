"""Benchmark: how well does the default reward model learn real hh-rlhf preferences, and how fast?

Trains the DEFAULT `RewardConfig` (offline MiniLM backbone) on the real harmless-base sample,
holding out a fixed, seeded set of 400 pairs, and reports the pairwise accuracy on them, next to
the "shorter reply wins" baseline and the accuracy of the untrained model.

    python benchmarks/reward_accuracy.py            # the target: >= 0.62 accuracy, <= 300 s training
    python benchmarks/reward_accuracy.py --max-pairs 200 --epochs 1    # a quick smoke run
    python benchmarks/reward_accuracy.py --quick    # a tiny 2-layer BERT on 64 pairs, 1 epoch: seconds, a smoke test

The CPU is often shared: the load average at the start and end is printed with the timing, so a slow
number can be told apart from a slow machine. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: E402,F401  (offline env)

from rlhf_demo.data.hh import load_jsonl  # noqa: E402
from rlhf_demo.data.pairs import pairs_from_set, split_pairs  # noqa: E402
from rlhf_demo.models.presets import describe_env, resolve_reward_backbone  # noqa: E402
from rlhf_demo.reward.config import RewardConfig  # noqa: E402
from rlhf_demo.reward.trainer import train_reward_model

SAMPLE = Path(__file__).resolve().parents[2] / "shared/hh-rlhf/harmless-base-sample.jsonl.gz"
TARGET_ACCURACY = 0.62
TARGET_SECONDS = 300.0
N_EVAL, SPLIT_SEED = 400, 0  # fixed held-out set: every configuration is judged on the same pairs
QUICK_DATA, QUICK_EVAL = _common.REPO / "assets" / "bundled" / "train.jsonl", 48  # --quick: needs no ../shared


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", help="hh-rlhf .jsonl(.gz) (default: the harmless-base sample; --quick: the bundled "
                   "train split, 48 held out)")
    p.add_argument("--max-pairs", type=int, help="train on at most N pairs (default: all but the held-out ones)")
    p.add_argument("--epochs", type=float, help="override num_train_epochs")
    p.add_argument("--out", help="where to save the model (default: a temporary folder)")
    p.add_argument("--quick", action="store_true", help="a tiny random 2-layer BERT backbone (short sequences, small "
                   "LoRA), --max-pairs 64, 1 epoch: a smoke test (seconds)")
    args = p.parse_args()
    if args.data is None:
        args.data = str(QUICK_DATA if args.quick else SAMPLE)
    n_eval = QUICK_EVAL if args.quick else N_EVAL

    pairs = pairs_from_set(load_jsonl(args.data))
    train, held_out = split_pairs(pairs, n_eval, seed=SPLIT_SEED)
    cfg = RewardConfig(eval_pairs=n_eval)
    quick_tmp = tempfile.TemporaryDirectory() if args.quick else None
    if args.quick:
        quick = {**_common.QUICK_REWARD, "eval_pairs": n_eval}
        cfg = RewardConfig(backbone=_common.tiny_reward_backbone(Path(quick_tmp.name) / "tiny-bert"), **quick)
        args.max_pairs = args.max_pairs or 64
    if args.max_pairs:
        cfg.max_pairs = args.max_pairs
    if args.epochs:
        cfg.num_train_epochs = args.epochs

    def show(row: dict) -> None:
        print("[reward] " + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                     for k, v in row.items() if v is not None), file=sys.stderr, flush=True)

    load_start = os.getloadavg()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        res = train_reward_model(cfg, train, held_out, args.out or Path(tmp) / "rm",
                                 resolve_reward_backbone(cfg.backbone, None, False), on_log=show)
    total = time.perf_counter() - t0
    load_end = os.getloadavg()
    if quick_tmp is not None:
        quick_tmp.cleanup()
    full = args.max_pairs is None and args.epochs is None and args.data == str(SAMPLE) and not args.quick
    out = {
        "benchmark": "reward_accuracy",
        "eval_accuracy": round(res.eval_accuracy, 4),
        "eval_accuracy_before": round(res.eval_accuracy_before, 4),
        "baseline_shorter_wins": round(res.baseline_shorter_wins, 4),
        "eval_mean_margin": round(res.eval_mean_margin, 4),
        "train_seconds": res.train_seconds,
        "total_seconds": round(total, 1),  # + loading, tokenising, evaluating before and after
        "n_train": res.n_train, "n_eval": res.n_eval, "steps": res.steps,
        "target_accuracy": TARGET_ACCURACY, "target_train_seconds": TARGET_SECONDS,
        "meets_accuracy": res.eval_accuracy >= TARGET_ACCURACY if full else None,
        "meets_time": res.train_seconds <= TARGET_SECONDS if full else None,
        "load_avg_start": [round(x, 2) for x in load_start], "load_avg_end": [round(x, 2) for x in load_end],
        "cpu_count": os.cpu_count(), "env": describe_env(),
        "config": cfg.to_dict(), "quick": args.quick, "cpu": _common.cpu_info(),
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
