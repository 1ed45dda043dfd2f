"""Does the gold reward turn down while the proxy still climbs? The reward-hacking demo (β = 0) with a gold model.

The app's own code path, on the offline default (SmolLM2-135M-Instruct Q4_1, the bundled data, MiniLM reward models):

    1. a PROXY reward model trained on a small slice (--proxy-pairs of the bundled train split, like a class's votes)
       and a GOLD one trained on the whole train split (the Reward tab's job, `reward.session.training_job`);
       or reuse two saved ones with --data-dir DIR --proxy NAME --gold NAME
    2. the PPO tab's session with the reward-hacking demo's settings (HACK_SETTINGS: β = 0, a high learning rate),
       the proxy active; the gold model is picked by the app's default (the other model, trained on more pairs)
    3. every --every steps the app's evaluation: 32 held-out prompts, scored by both, KL from the base policy
    4. the curve (both scores in σ of the base policy's replies, against √KL), where gold peaked, whether it turned
       down while the proxy kept rising (`overopt.gold_peak`), and the length-drift / collapse flags

    python benchmarks/overoptimisation.py                      # ~15 min on 2 idle cores
    python benchmarks/overoptimisation.py --steps 4 --every 2 --policy tiny     # a smoke test (seconds)

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (offline env)

from rlhf_demo.ppo.config import HACK_SETTINGS  # noqa: E402


class Ctx:
    """What a job function needs of the job runner's context: nothing pauses or stops here; progress to stderr."""

    def __init__(self):
        self.data = {}

    def update(self, progress=None, message=None, **data):
        if message:
            print(f"[bench] {message}", file=sys.stderr, flush=True)

    def append(self, key, item):
        self.data.setdefault(key, []).append(item)

    def should_stop(self):
        return False

    def check(self):
        pass


def train_reward(ws, name: str, n_pairs: int) -> dict:
    from rlhf_demo.reward.config import RewardConfig
    from rlhf_demo.reward.session import training_job

    subset = ws.data.source.default()[0]
    job, data = training_job(ws, RewardConfig(eval_pairs=48), subset, n_pairs, False, name=name)
    t0 = time.perf_counter()
    result = job(Ctx())
    return {"name": name, "pairs": len(data.train), "accuracy": result.get("eval_accuracy", result.get("accuracy")),
            "seconds": round(time.perf_counter() - t0, 1)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--policy", default="smollm2-135m")
    p.add_argument("--steps", type=int, default=30, help="PPO steps at β = 0 (default 30, the demo's length)")
    p.add_argument("--every", type=int, default=3, help="evaluate every K steps (default 3)")
    p.add_argument("--proxy-pairs", type=int, default=32, help="pairs the proxy is trained on (default 32)")
    p.add_argument("--data-dir", help="the app's data dir (default: a new temporary one)")
    p.add_argument("--proxy", help="a saved reward model in --data-dir to use as the proxy")
    p.add_argument("--gold", help="a saved reward model in --data-dir to use as the gold model")
    args = p.parse_args()

    from rlhf_demo.ppo.overopt import drift_flags, gold_peak, overopt_curve
    from rlhf_demo.settings import Settings
    from rlhf_demo.workspace import Workspace

    data_dir = args.data_dir or tempfile.mkdtemp(prefix="overopt-")
    ws = Workspace(Settings(data_dir=Path(data_dir), policy=args.policy, offline=True))
    prep = []
    if not (args.proxy and args.gold):
        n_all = len(ws.data.source.load(ws.data.source.default()[0], "train"))
        prep.append(train_reward(ws, "gold", n_all))
        prep.append(train_reward(ws, "proxy", args.proxy_pairs))
        args.proxy, args.gold = "proxy", "gold"
    ws.reward_models.set_active(args.proxy)
    ws.lab.set_gold(args.gold)
    session = ws.ppo
    session.eval_every = args.every
    session.set_live(**HACK_SETTINGS)
    t0 = time.perf_counter()
    session.run(Ctx(), args.steps)
    seconds = time.perf_counter() - t0
    view = session.view()
    curve = overopt_curve(view.evals)
    peak = gold_peak(curve)
    flags = drift_flags(view.history, view.config["response_length"])
    print(f"{'step':>5} {'√KL':>6} {'proxy σ':>8} {'gold σ':>8}", file=sys.stderr)
    for c in curve:
        print(f"{c['step']:>5} {c['sqrt_kl']:>6.2f} {c['proxy']:>+8.2f} {c['gold']:>+8.2f}", file=sys.stderr)
    last = view.samples[:3]
    for s in last:
        print(f"  last reply: {s['response'][:160]!r}", file=sys.stderr)
    print(json.dumps({"policy": ws.policy_choice.label(), "proxy": args.proxy, "gold": view.gold_name,
                      "preparation": prep, "steps": args.steps, "every": args.every, "settings": HACK_SETTINGS,
                      "ppo_seconds": round(seconds, 1), "curve": [{k: round(v, 4) for k, v in c.items()} for c in curve],
                      "gold_peak": peak, "turned_down": bool(peak and peak["turned_down"]), "flags": flags,
                      "data_dir": str(data_dir)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
