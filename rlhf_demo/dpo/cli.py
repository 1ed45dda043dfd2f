"""``python -m rlhf_demo dpo``: train a DPO LoRA adapter on the policy headless, save it; JSON on the last line."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field

from rlhf_demo.config_base import command_parser, parse_command
from rlhf_demo.dpo.config import DPOConfig


@dataclass
class DPOScriptArguments:
    """The command's own options; the others are DPOConfig's fields."""

    train: str = field(metadata={"help": "hh-rlhf .jsonl/.jsonl.gz with the preference pairs"})
    out: str = field(metadata={"help": "a NEW folder to save the adapter to"})
    policy: str | None = field(default=None, metadata={
        "help": "policy preset (smollm2-135m, gpt2, tiny), a local folder or a Hub id; None = smollm2-135m"})
    offline: bool = field(default=False, metadata={"help": "never contact the Hugging Face Hub"})
    quiet: bool = field(default=False, metadata={"help": "no live rows on stderr"})


def dpo_parser():
    return command_parser(
        "python -m rlhf_demo dpo",
        "Train a LoRA adapter on the policy with DPO on hh-rlhf preference pairs and save it (the Vote tab can add it "
        "as a contestant). The last line printed is one JSON object with the results.", DPOScriptArguments, DPOConfig)


def dpo_main(argv: list[str] | None = None) -> int:
    """``python -m rlhf_demo dpo ...``: train, save; the LAST stdout line is JSON. Bad input: one ``error:`` line on
    stderr and exit status 2."""
    from rlhf_demo.data.hh import load_jsonl
    from rlhf_demo.models.presets import probe_hub_for, resolve_policy
    from rlhf_demo.data.pairs import pairs_from_set
    from rlhf_demo.storage import check_new_folder

    args, cfg = parse_command(dpo_parser(), argv)
    try:  # bad input -> one clear line on stderr and exit status 2, not a traceback
        cfg.validate()
        out = check_new_folder(args.out, "--out")  # a new folder: nothing is ever overwritten or half-written
        pairs = pairs_from_set(load_jsonl(args.train))
        if not pairs:
            raise ValueError(f"--train {args.train}: no usable preference pairs in it")
        hub_ok = False if args.offline else probe_hub_for(args.policy)
        policy = resolve_policy(args.policy, hub_ok)
    except (ValueError, OSError) as e:  # NoValidPairs is a ValueError; a missing file an OSError
        print(f"error: {e}", file=sys.stderr)
        return 2
    if policy.note:
        print(f"[dpo] {policy.note}", file=sys.stderr, flush=True)

    def show(row: dict) -> None:
        if not args.quiet:
            keep = ("step", "loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies")
            print("[dpo] " + " ".join(f"{k}={row[k]:.4g}" if isinstance(row[k], float) else f"{k}={row[k]}"
                                      for k in keep if k in row), file=sys.stderr, flush=True)

    from rlhf_demo.dpo.trainer import train_dpo

    res = train_dpo(cfg, pairs, out, policy, on_log=show)
    d = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.to_dict().items()}
    print(json.dumps(d), flush=True)
    return 0
