"""Classroom load: N concurrent gradio_client voters x M votes each against a running app.

Starts the app (bundled data, the default policy SmolLM2-135M-Instruct) in this process unless --url is given, then runs `--voters` threads,
each with its own gradio_client Client (its own session), each doing `--votes` rounds of arena_round + arena_vote.
Checks that every vote is stored, and prints JSON as its last line with p50/p95 latencies.

    python benchmarks/arena_load.py [--voters 30] [--votes 3] [--url http://127.0.0.1:7860/] [--policy tiny]
    python benchmarks/arena_load.py --voters 1 --votes 10     # one voter: the time of a round itself (target < 10 s)
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

from _common import pct  # noqa: E402  (offline env)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--voters", type=int, default=30)
    ap.add_argument("--votes", type=int, default=3)
    ap.add_argument("--url")
    ap.add_argument("--policy", default=None, help="default: smollm2-135m (tiny: the fast word-salad policy)")
    args = ap.parse_args()

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
    stored = ws.votes.count() if ws is not None else None
    lb = Client(url, verbose=False, analytics_enabled=False, download_files=False).predict(api_name="/leaderboard")
    if demo is not None:
        demo.close()
    print(json.dumps({
        "voters": args.voters, "votes_each": args.votes, "expected_votes": args.voters * args.votes,
        "stored_votes": stored, "leaderboard_votes": lb["votes"], "errors": len(errors), "first_errors": errors[:3],
        "wall_seconds": round(wall, 1),
        "vote_latency_ms_p50": round(statistics.median(vote_ms), 1) if vote_ms else None,
        "vote_latency_ms_p95": round(pct(vote_ms, 0.95), 1) if vote_ms else None,
        "round_latency_ms_p50": round(statistics.median(round_ms), 1) if round_ms else None,
        "round_latency_ms_p95": round(pct(round_ms, 0.95), 1) if round_ms else None,
        "policy": ws.describe()["policy"] if ws is not None else None,
    }))


if __name__ == "__main__":
    main()
