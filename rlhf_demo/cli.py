"""Command line: `python app.py` (serve) and `python -m rlhf_demo <command>` (headless work).

The headless commands never import gradio; they are what `accelerate launch` runs to scale out. This is where the
process starts: the choices that hold for the whole process are made here, not as a side effect of an import.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings

# python -m rlhf_demo <command>: "module:function", imported only when the command runs (the headless commands
# never import gradio)
COMMANDS = {"serve": "rlhf_demo.serve:serve_main", "info": "rlhf_demo.serve:info_main",
            "reward": "rlhf_demo.reward.cli:reward_main", "dpo": "rlhf_demo.dpo.cli:dpo_main",
            "ppo": "rlhf_demo.ppo.cli:ppo_main", "evaluate": "rlhf_demo.ppo.evaluate:evaluate_main",
            "frontier": "rlhf_demo.frontier.cli:frontier_main",
            "export": "rlhf_demo.export.cli:export_main", "serve-reward": "rlhf_demo.serving.cli:serve_reward_main"}


def command(name: str):
    """The function that runs command `name` (its module is imported now)."""
    module, function = COMMANDS[name].split(":")
    return getattr(importlib.import_module(module), function)


def main(argv: list[str] | None = None) -> int:
    """`python -m rlhf_demo <command> [options]` and `python app.py [options]` (= serve): where the process starts."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print("usage: python -m rlhf_demo {" + ",".join(COMMANDS) + "} [options]   (each command has --help)")
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    # choices for the whole process, made here rather than as a side effect of importing a module:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before any gradio import: no usage reports
    # transformers 5 deprecates the name `gradient_checkpointing`; TRL/peft still read it. Not our bug, not news.
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.* is deprecated", category=FutureWarning)
    if argv[0] == "serve":
        # Training and generation run in Python threads next to the server's event loop. With CPython's default 5 ms
        # GIL switch interval a vote waits behind them for seconds under load; 0.5 ms keeps a click's answer quick.
        sys.setswitchinterval(0.0005)
    return command(argv[0])(argv[1:]) or 0
