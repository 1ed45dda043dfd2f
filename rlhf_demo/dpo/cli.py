"""``python -m rlhf_demo dpo``: train a DPO LoRA adapter on the policy headless, save it; JSON on the last line."""

from __future__ import annotations

import json
import sys

from rlhf_demo.dpo.config import DPOConfig


def dpo_parser():
    import argparse

    d = DPOConfig()
    p = argparse.ArgumentParser(
        prog="python -m rlhf_demo dpo",
        description="Train a LoRA adapter on the policy with DPO on hh-rlhf preference pairs and save it (the Vote "
                    "tab can add it as a contestant). The last line printed is one JSON object with the results.")
    p.add_argument("--train", required=True, help="hh-rlhf .jsonl/.jsonl.gz with the preference pairs")
    p.add_argument("--out", required=True, help="a NEW folder to save the adapter to")
    p.add_argument("--beta", type=float, default=d.beta, help=f"DPO beta: strength of the leash to the reference "
                                                              f"(default {d.beta:g})")
    p.add_argument("--policy", help="policy preset (smollm2-135m, gpt2, tiny), a local folder or a Hub id "
                                    "(default smollm2-135m)")
    p.add_argument("--max-pairs", type=int, default=d.max_pairs, help="use at most N pairs (default: all)")
    p.add_argument("--steps", type=int, default=d.max_steps,
                   help=f"optimiser steps of {d.per_device_train_batch_size} pairs (default {d.max_steps})")
    p.add_argument("--lr", type=float, default=d.learning_rate, help=f"peak learning rate (default {d.learning_rate:g})")
    p.add_argument("--max-length", type=int, default=d.max_length,
                   help=f"tokens per prompt + reply, cut from the left (default {d.max_length})")
    p.add_argument("--batch-size", type=int, default=d.per_device_train_batch_size,
                   help=f"pairs per step (default {d.per_device_train_batch_size})")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--offline", action="store_true", help="never contact the Hugging Face Hub")
    p.add_argument("--quiet", action="store_true", help="no live rows on stderr")
    return p


def dpo_main(argv: list[str] | None = None) -> int:
    """``python -m rlhf_demo dpo ...``: train, save; the LAST stdout line is JSON. Bad input: one ``error:`` line on
    stderr and exit status 2."""
    from rlhf_demo.data.hh import load_jsonl
    from rlhf_demo.models.presets import probe_hub_for, resolve_policy
    from rlhf_demo.data.pairs import pairs_from_set
    from rlhf_demo.storage import check_new_folder

    args = dpo_parser().parse_args(argv)
    cfg = DPOConfig(beta=args.beta, max_pairs=args.max_pairs, max_steps=args.steps, learning_rate=args.lr,
                    max_length=args.max_length, per_device_train_batch_size=args.batch_size, seed=args.seed,
                    device=args.device)
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
