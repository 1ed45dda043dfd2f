"""Does the gold reward turn down while the proxy still climbs? The reward-hacking demo (β = 0) with a gold model.

The app's own code path, on the offline default (SmolLM2-135M-Instruct Q4_1, the bundled data, MiniLM reward models):

    1. a PROXY reward model trained on a small slice (--proxy-pairs of the bundled train split, like a class's votes)
       and a GOLD one trained on the whole train split (the Reward tab's job, `RewardService.training_job`);
       or reuse two saved ones with --data-dir DIR --proxy NAME --gold NAME
    2. the PPO tab's session with the reward-hacking demo's settings (HACK_SETTINGS: β = 0, a high learning rate),
       the proxy active; the gold model is picked by the app's default (the other model, trained on more pairs)
    3. every --every steps the app's evaluation: 32 held-out prompts, scored by both, KL from the base policy
    4. the curve (both scores in σ of the base policy's replies, against √KL), where gold peaked, whether it turned
       down while the proxy kept rising (`overopt.gold_peak`), and the length-drift / collapse flags

    python benchmarks/overoptimisation.py                      # ~15 min on 2 idle cores
    python benchmarks/overoptimisation.py --steps 4 --every 2 --policy tiny     # a smoke test (seconds)
    python benchmarks/overoptimisation.py --quick    # the tiny policy, tiny BERT reward models, 2 steps: seconds

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

from rlhf_demo.ppo.service import HACK_SETTINGS  # noqa: E402


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


def train_reward(ws, name: str, n_pairs: int, quick: bool = False) -> dict:
    from rlhf_demo.reward.config import RewardConfig

    subset = ws.data.source.default()[0]
    cfg = RewardConfig(eval_pairs=48)
    if quick:  # the workspace's reward backbone is the tiny BERT (main)
        cfg = RewardConfig(backbone=ws.settings.reward_backbone, **_common.QUICK_REWARD)
    job, data = ws.reward.training_job(cfg, subset, n_pairs, False, name=name)
    t0 = time.perf_counter()
    result = job(Ctx())
    return {"name": name, "pairs": len(data.train), "accuracy": result.get("eval_accuracy", result.get("accuracy")),
            "seconds": round(time.perf_counter() - t0, 1)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--policy", help="default smollm2-135m (--quick: tiny)")
    p.add_argument("--steps", type=int, help="PPO steps at β = 0 (default 30, the demo's length; --quick 2)")
    p.add_argument("--every", type=int, help="evaluate every K steps (default 3, --quick 1)")
    p.add_argument("--proxy-pairs", type=int, help="pairs the proxy is trained on (default 32, --quick 16)")
    p.add_argument("--data-dir", help="the app's data dir (default: a new temporary one)")
    p.add_argument("--proxy", help="a saved reward model in --data-dir to use as the proxy")
    p.add_argument("--gold", help="a saved reward model in --data-dir to use as the gold model")
    p.add_argument("--quick", action="store_true", help="the tiny policy, reward models on a tiny random BERT (gold on "
                   "64 pairs), 2 steps evaluated on 8 prompts, 4 replies of 8 tokens a step: a smoke test (seconds)")
    args = p.parse_args()
    for name, full, quick in (("policy", "smollm2-135m", "tiny"), ("steps", 30, 2), ("every", 3, 1),
                              ("proxy_pairs", 32, 16)):
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)

    from rlhf_demo.ppo.overopt import drift_flags, gold_peak, overopt_curve
    from rlhf_demo.settings import Settings
    from rlhf_demo.workspace import Workspace

    data_dir = args.data_dir or tempfile.mkdtemp(prefix="overopt-")
    quick_backbone = None
    if args.quick and not (args.proxy and args.gold):
        from _common import tiny_reward_backbone

        quick_backbone = tiny_reward_backbone(Path(data_dir) / "tiny-bert")  # beside the models that need it
    ws = Workspace(Settings(data_dir=Path(data_dir), policy=args.policy, offline=True, reward_backbone=quick_backbone,
                            allow_any_model=quick_backbone is not None))
    prep = []
    if not (args.proxy and args.gold):
        n_all = len(ws.data.source.load(ws.data.source.default()[0], "train"))
        prep.append(train_reward(ws, "gold", min(n_all, 64) if args.quick else n_all, args.quick))
        prep.append(train_reward(ws, "proxy", args.proxy_pairs, args.quick))
        args.proxy, args.gold = "proxy", "gold"
    ws.reward.models.set_active(args.proxy)
    ws.gold.set(args.gold)
    session = ws.ppo.run
    session.use_reward(args.proxy)
    session.eval_every = args.every
    if args.quick:  # before the engine is built: it takes the session's config
        from dataclasses import replace

        session.config = replace(session.config, score_norm_samples=8)
        session.eval_prompts = session.eval_prompts[:8]
        session.set_live(batch_size=4, response_length=8)
    session.set_live(**HACK_SETTINGS)
    t0 = time.perf_counter()
    session.train(Ctx(), args.steps)
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
                      "data_dir": str(data_dir), "quick": args.quick, "cpu": _common.cpu_info()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
