"""Classroom load: N concurrent gradio_client voters x M votes each against a running app.

Starts the app (bundled data, the default policy SmolLM2-135M-Instruct) in this process unless --url is given, then runs `--voters` threads,
each with its own gradio_client Client (its own session), each doing `--votes` rounds of arena_round + arena_vote.
Checks that every vote is stored, and prints JSON as its last line with p50/p95 latencies.

    python benchmarks/arena_load.py [--voters 30] [--votes 3] [--url http://127.0.0.1:7860/] [--policy tiny]
    python benchmarks/arena_load.py --voters 1 --votes 10     # one voter: the time of a round itself (target < 10 s)
    python benchmarks/arena_load.py --voters 30 --votes 10 --policy tiny --train   # a class voting while PPO trains
    python benchmarks/arena_load.py --quick      # = --voters 2 --votes 2 --policy tiny: a smoke test (seconds)

With --train, the app first trains a small reward model (the policy as backbone, 96 bundled pairs), starts a PPO job
(the app's defaults) and times it alone for --alone-steps steps; then the voters come, and the PPO steps that ran
during the load are timed too (ppo_seconds_per_step_alone / _under_load). Rounds asked for at once are generated
together (rlhf_demo/arena/arena.py, PolicyGenerator.generate), which is what keeps a round short under load.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

from _common import cpu_info, pct  # noqa: E402  (offline env)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--voters", type=int, help="concurrent voters (default 30, --quick 2)")
    ap.add_argument("--votes", type=int, help="rounds + votes per voter (default 3, --quick 2)")
    ap.add_argument("--url")
    ap.add_argument("--policy", default=None, help="default: smollm2-135m (tiny: the fast word-salad policy)")
    ap.add_argument("--train", action="store_true", help="run a PPO job in the same app during the load")
    ap.add_argument("--alone-steps", type=int, default=4, help="with --train: PPO steps timed before the voters come")
    ap.add_argument("--quick", action="store_true", help="2 voters x 2 votes on the tiny policy: a smoke test")
    args = ap.parse_args()
    if args.voters is None:
        args.voters = 2 if args.quick else 30
    if args.votes is None:
        args.votes = 2 if args.quick else 3
    if args.quick and args.policy is None:
        args.policy = "tiny"

    from gradio_client import Client

    ws = demo = None
    url = args.url
    if url is None:
        from rlhf_demo.settings import Settings
        from rlhf_demo.ui.app import build_app, launch_kwargs
        from rlhf_demo.workspace import Workspace

        ws = Workspace(Settings(offline=True, policy=args.policy, data_dir=Path(tempfile.mkdtemp(prefix="arena-load-"))))
        demo = build_app(ws)
        _, url, _ = demo.queue(default_concurrency_limit=8).launch(prevent_thread_lock=True, quiet=True, **launch_kwargs())
        ws.arena  # load the policy before the clock starts (a class starts after the app is up)

    ppo_alone = ppo_from = None
    if args.train:
        if ws is None:
            raise SystemExit("error: --train needs the app in this process (no --url)")
        from rlhf_demo.reward.config import RewardConfig
        from rlhf_demo.data.pairs import pairs_from_set

        pairs = pairs_from_set(ws.data.source.load())
        ws.reward.models.train(RewardConfig(backbone="policy", max_length=64, num_train_epochs=1, eval_pairs=16),
                               pairs[:96], pairs[96:112], ws.reward.backbones.resolve("policy"))
        ws.ppo.run.use_reward(ws.reward.active)
        ws.jobs.submit("ppo", "PPO", lambda ctx: ws.ppo.run.train(ctx, 100_000))
        while len(ws.ppo.run.view().history) < args.alone_steps + 1:  # (the first step also fits the score norm)
            time.sleep(0.5)
        alone = [h["time/step_seconds"] for h in ws.ppo.run.view().history[1:]]
        ppo_alone = statistics.mean(alone)
        ppo_from = len(ws.ppo.run.view().history)

    if ws is not None:
        # the voters run in another process, as a class's phones do: in this one their 30 client threads would fight
        # the server (and the training) for the GIL and measure that instead of the app
        import subprocess
        import sys

        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, __file__, "--url", url, "--voters", str(args.voters), "--votes", str(args.votes)],
                           capture_output=True, text=True)
        wall = time.perf_counter() - t0
        client = json.loads(p.stdout.strip().splitlines()[-1])
        report(args, ws, demo, url, wall, client, ppo_alone, ppo_from)
        return
    round_ms, vote_ms, errors = [], [], []
    lock = threading.Lock()

    def voter(i: int) -> None:
        rng = random.Random(i)
        try:
            c = Client(url, verbose=False, analytics_enabled=False, download_files=False)
        except Exception as e:  # noqa: BLE001
            with lock:
                errors.append(f"client {i}: {e}")
            return
        for _ in range(args.votes):
            try:
                t = time.perf_counter()
                r = c.predict("", api_name="/arena_round")
                t1 = time.perf_counter()
                c.predict(r["round_id"], rng.choice(["A", "B", "tie", "both_bad"]), f"bot{i}", api_name="/arena_vote")
                t2 = time.perf_counter()
                with lock:
                    round_ms.append(1000 * (t1 - t))
                    vote_ms.append(1000 * (t2 - t1))
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(f"voter {i}: {e}")

    t0 = time.perf_counter()
    threads = [threading.Thread(target=voter, args=(i,)) for i in range(args.voters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    print(json.dumps({
        "voters": args.voters, "votes_each": args.votes, "errors": len(errors), "first_errors": errors[:3],
        "wall_seconds": round(wall, 1),
        "vote_latency_ms_p50": round(statistics.median(vote_ms), 1) if vote_ms else None,
        "vote_latency_ms_p95": round(pct(vote_ms, 0.95), 1) if vote_ms else None,
        "round_latency_ms_p50": round(statistics.median(round_ms), 1) if round_ms else None,
        "round_latency_ms_p95": round(pct(round_ms, 0.95), 1) if round_ms else None,
        "quick": args.quick, "cpu": cpu_info(),
    }))


def report(args, ws, demo, url: str, wall: float, client: dict, ppo_alone, ppo_from) -> None:
    """The app's side (votes stored, PPO speed) joined with the voters' side; JSON as the last line."""
    from gradio_client import Client

    ppo_loaded = ppo_steps_loaded = None
    if args.train:
        loaded = [h["time/step_seconds"] for h in ws.ppo.run.view().history[ppo_from:]]
        ppo_steps_loaded = len(loaded)
        ppo_loaded = statistics.mean(loaded) if loaded else None
        ws.jobs.stop()
        ws.jobs.join(120)
    lb = Client(url, verbose=False, analytics_enabled=False, download_files=False).predict(api_name="/leaderboard")
    stored = ws.votes.count()
    demo.close()
    print(json.dumps({
        **client, "expected_votes": args.voters * args.votes, "stored_votes": stored, "leaderboard_votes": lb["votes"],
        "wall_seconds": round(wall, 1), "policy": ws.describe()["policy"], "ppo_running": bool(args.train),
        "ppo_seconds_per_step_alone": round(ppo_alone, 2) if ppo_alone is not None else None,
        "ppo_seconds_per_step_under_load": round(ppo_loaded, 2) if ppo_loaded is not None else None,
        "ppo_steps_under_load": ppo_steps_loaded, "quick": args.quick, "cpu": cpu_info(),
    }))


if __name__ == "__main__":
    main()
