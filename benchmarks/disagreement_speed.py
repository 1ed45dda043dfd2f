"""How long Browse's "reward model disagrees with humans" filter takes on a whole split: cold (every pair scored by
the background job: sorted by length, batched) and cached (read back from disk, as after a restart).

    python benchmarks/disagreement_speed.py --model rlhf_data/reward_models/rm-... [--batch-sizes 32,64,128]
    python benchmarks/disagreement_speed.py --quick    # a tiny reward model trained first, the bundled set: seconds

Before this change the filter scored 64 pairs at a time behind a spinner (139 s for 1,812 pairs on 2 cores).
The last line printed is one JSON object (with the load average: the CPU is often shared).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (offline env)

from rlhf_demo.data.hh import load_jsonl  # noqa: E402
from rlhf_demo.reward.model import load_reward_model  # noqa: E402
from rlhf_demo.reward.scoring import BackgroundScorer, ScoreCache, score_split  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "shared/hh-rlhf/harmless-base-sample.jsonl.gz"
BUNDLED = _common.REPO / "assets" / "bundled"


def quick_model(folder: Path) -> str:
    """--quick without --model: a tiny reward model (2-layer BERT, one short epoch on 64 bundled pairs) -> its folder."""
    from rlhf_demo.models.presets import resolve_reward_backbone
    from rlhf_demo.reward.config import RewardConfig
    from rlhf_demo.data.pairs import pairs_from_set
    from rlhf_demo.reward.trainer import train_reward_model

    backbone = _common.tiny_reward_backbone(folder / "tiny-bert")
    train = pairs_from_set(load_jsonl(BUNDLED / "train.jsonl"))[:64]
    evals = pairs_from_set(load_jsonl(BUNDLED / "test.jsonl"))
    train_reward_model(RewardConfig(backbone=backbone, **_common.QUICK_REWARD), train, evals, folder / "rm",
                       resolve_reward_backbone(backbone, None, False))
    return str(folder / "rm")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="a saved reward model folder (required unless --quick)")
    p.add_argument("--data", help="hh-rlhf .jsonl(.gz) (default: the harmless-base sample; --quick: the bundled train split)")
    p.add_argument("--batch-sizes", help="also time these batch sizes on the first --probe pairs (--quick: 16)")
    p.add_argument("--probe", type=int, help="pairs of the batch-size probe (default 200, --quick 32)")
    p.add_argument("--quick", action="store_true", help="a tiny reward model (trained first unless --model) on the "
                                                         "bundled set: a smoke test (seconds)")
    args = p.parse_args()
    if not args.model and not args.quick:
        p.error("--model is required (or --quick)")
    if args.data is None:
        args.data = str(BUNDLED / "train.jsonl" if args.quick else SAMPLE)
    if args.batch_sizes is None:
        args.batch_sizes = "16" if args.quick else ""
    if args.probe is None:
        args.probe = 32 if args.quick else 200
    with tempfile.TemporaryDirectory() as quick_tmp:
        if not args.model:
            args.model = quick_model(Path(quick_tmp))
        measure(args)


def measure(args) -> None:
    pairs = [(x.prompt, x.chosen, x.rejected) for x in load_jsonl(args.data).pairs]
    model = load_reward_model(args.model, "cpu")
    load_start = os.getloadavg()
    probe = {}
    for b in [int(x) for x in args.batch_sizes.split(",") if x]:
        t = time.perf_counter()
        score_split(model, pairs[: args.probe], batch_size=b)
        probe[b] = round(time.perf_counter() - t, 2)
    with tempfile.TemporaryDirectory() as tmp:
        scorer = BackgroundScorer(ScoreCache(tmp))
        t = time.perf_counter()
        scorer.start("k", "bench", lambda: model, pairs)
        etas = []
        while scorer.runner.snapshot().active:
            snap = scorer.runner.snapshot()
            etas.append((round(time.perf_counter() - t, 1), snap.progress, snap.eta))
            time.sleep(1.0)
        cold = time.perf_counter() - t
        assert scorer.runner.snapshot().state == "done", scorer.runner.snapshot().error
        n_bad = len(scorer.get("k").disagreements())
        t = time.perf_counter()
        again = BackgroundScorer(ScoreCache(tmp)).get("k")  # a restart: a new process reads the file
        cached = time.perf_counter() - t
        assert again is not None
    at = {f"{round(100 * f)}%": next(((tt, round(e, 1) if e is not None else None) for tt, pr, e in etas
                                      if tt >= f * cold), None) for f in (0.1, 0.25, 0.5)}
    print(json.dumps({"benchmark": "disagreement_speed", "pairs": len(pairs), "cold_seconds": round(cold, 1),
                      "cached_seconds": round(cached, 3), "disagreements": n_bad,
                      "eta_shown_at (t_s, eta_s)": at, "batch_size_probe_seconds": probe,
                      "max_length": model.encoder.max_length,
                      "load_avg_start": [round(x, 2) for x in load_start],
                      "load_avg_end": [round(x, 2) for x in os.getloadavg()], "cpu_count": os.cpu_count(),
                      "quick": args.quick, "cpu": _common.cpu_info()}))


if __name__ == "__main__":
    main()
