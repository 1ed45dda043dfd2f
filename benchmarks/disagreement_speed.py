"""How long Browse's "reward model disagrees with humans" filter takes on a whole split: cold (every pair scored by
the background job: sorted by length, batched) and cached (read back from disk, as after a restart).

    python benchmarks/disagreement_speed.py --model rlhf_data/reward_models/rm-... [--batch-sizes 32,64,128]

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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="a saved reward model folder")
    p.add_argument("--data", default=str(SAMPLE))
    p.add_argument("--batch-sizes", default="", help="also time these batch sizes on the first --probe pairs")
    p.add_argument("--probe", type=int, default=200)
    args = p.parse_args()

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
                      "load_avg_end": [round(x, 2) for x in os.getloadavg()], "cpu_count": os.cpu_count()}))


if __name__ == "__main__":
    main()
