"""Cold start: seconds from `python app.py` to a served page, with no Hub access (target: < 60 s).

Runs the README's start command in a fresh data dir with the Hub pointed at a closed local port (so the
fallback path is what is measured) and polls until the page answers. Prints JSON as its last line.

    python benchmarks/cold_start.py [--offline-flag] [--data PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--offline-flag", action="store_true", help="pass --offline (skip the Hub probe)")
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    port = free_port()
    env = dict(os.environ, RLHF_DATA_DIR=tempfile.mkdtemp(), GRADIO_ANALYTICS_ENABLED="False",
               HF_ENDPOINT="http://127.0.0.1:9")  # an unreachable Hub: the fallback is part of what we time
    env.pop("HF_HUB_OFFLINE", None)
    cmd = [sys.executable, "app.py", "--port", str(port)] + (["--data", args.data] if args.data else []) + \
          (["--offline"] if args.offline_flag else [])
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    served = None
    try:
        while time.perf_counter() - t0 < args.timeout and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r:
                    if r.status == 200:
                        served = time.perf_counter() - t0
                        break
            except OSError:
                time.sleep(0.1)
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    if served is None:
        print(out[-3000:], file=sys.stderr)
    print(json.dumps({"command": " ".join(cmd[1:]), "served_seconds": None if served is None else round(served, 2),
                      "target_seconds": 60, "log": [l for l in out.splitlines() if l.startswith("[rlhf")]}))


if __name__ == "__main__":
    main()
