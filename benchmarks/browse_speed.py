"""How long moving to another pair takes on the server (target: < 100 ms).

Times the work of the Browse tab's Next/Random handlers (pick the pair, word-diff the two replies, render the
HTML) on every pair of a split, plus keyword search over the split, plus the `browse_pair` API round trip
through gradio_client against a running app. Prints JSON as its last line.

    python benchmarks/browse_speed.py [--data ../shared/hh-rlhf/harmless-base-sample.jsonl.gz]
    python benchmarks/browse_speed.py --quick      # the bundled set (assets/bundled) and 3 API calls: a smoke test
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from _common import REPO, cpu_info, pct  # noqa: E402  (offline env)

from rlhf_demo.data.browse import filter_pairs  # noqa: E402
from rlhf_demo.data.sources import LocalSource  # noqa: E402
from rlhf_demo.ui.browse import render_pair  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", help="default: ../shared/hh-rlhf/harmless-base-sample.jsonl.gz (--quick: assets/bundled)")
    ap.add_argument("--api-calls", type=int, help="browse_pair round trips through the API (default 50, --quick 3)")
    ap.add_argument("--quick", action="store_true", help="the bundled set and 3 API calls: a smoke test (seconds)")
    args = ap.parse_args()
    if args.data is None:
        args.data = str(REPO / "assets/bundled" if args.quick else REPO.parent / "shared/hh-rlhf/harmless-base-sample.jsonl.gz")
    if args.api_calls is None:
        args.api_calls = 3 if args.quick else 50

    src = LocalSource(args.data)
    t0 = time.perf_counter()
    ps = src.load()
    load_s = time.perf_counter() - t0

    render_ms = []
    for p in ps.pairs:
        t = time.perf_counter()
        render_pair(p)
        render_ms.append(1000 * (time.perf_counter() - t))

    t = time.perf_counter()
    filter_pairs(ps, "how")  # first search builds the lower-cased index
    first_search_ms = 1000 * (time.perf_counter() - t)
    search_ms = []
    for q in ("alcohol", "steal car", "kill", "recipe", "you are"):
        t = time.perf_counter()
        filter_pairs(ps, q)
        search_ms.append(1000 * (time.perf_counter() - t))

    # the whole round trip through the running app's API
    import tempfile

    from gradio_client import Client

    from rlhf_demo.settings import Settings
    from rlhf_demo.ui.app import build_app, launch_kwargs
    from rlhf_demo.workspace import Workspace

    ws = Workspace(Settings(data=args.data, offline=True, policy="tiny", data_dir=Path(tempfile.mkdtemp())))
    demo = build_app(ws)
    _, url, _ = demo.queue().launch(prevent_thread_lock=True, quiet=True, **launch_kwargs())
    client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
    subset, split = src.default()
    api_ms = []
    for i in range(args.api_calls):
        t = time.perf_counter()
        client.predict(subset, split, (i * 37) % len(ps), api_name="/browse_pair")
        api_ms.append(1000 * (time.perf_counter() - t))
    demo.close()

    print(json.dumps({
        "pairs": len(ps), "load_seconds": round(load_s, 3),
        "next_pair_render_ms_p50": round(statistics.median(render_ms), 3),
        "next_pair_render_ms_p95": round(pct(render_ms, 0.95), 3),
        "next_pair_render_ms_max": round(max(render_ms), 3),
        "search_first_ms": round(first_search_ms, 2), "search_ms_p50": round(statistics.median(search_ms), 2),
        "api_browse_pair_roundtrip_ms_p50": round(statistics.median(api_ms), 2),
        "api_browse_pair_roundtrip_ms_p95": round(pct(api_ms, 0.95), 2),
        "target_ms": 100, "quick": args.quick, "cpu": cpu_info(),
    }))


if __name__ == "__main__":
    main()
