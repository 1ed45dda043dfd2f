"""``python -m rlhf_demo reward``: train a reward model headless, evaluate it, save it; JSON on the last line."""

from __future__ import annotations

import json
import os

from rlhf_demo.data.sources import LocalSource
from rlhf_demo.models.presets import probe_hub_for, resolve_policy, resolve_reward_backbone
from rlhf_demo.reward.config import RewardConfig
from rlhf_demo.reward.model import META_FILE
from rlhf_demo.data.pairs import build_training_pairs, hold_out, pairs_from_set
from rlhf_demo.reward.trainer import NoLoraTargets, train_reward_model
from rlhf_demo.storage import atomic_folder, check_new_folder


HEADLESS_EVAL_POINTS = 3  # a command line needs fewer curve points than the tab's live chart: each costs ~3-4 s
# (100 held-out pairs on 2 cores); the shared sample took 311 s with 6 on an AVX2-only EPYC


def reward_parser():
    import argparse

    d = RewardConfig()
    p = argparse.ArgumentParser(
        prog="python -m rlhf_demo reward",
        description="Train a reward model on hh-rlhf pairs, evaluate it on held-out pairs, save it. "
                    "The last line printed is one JSON object with the results.")
    p.add_argument("--train", required=True, help="hh-rlhf .jsonl/.jsonl.gz with the training pairs")
    p.add_argument("--eval", help="hh-rlhf .jsonl/.jsonl.gz with held-out pairs "
                                  "(default: hold out 20 %% of --train, at most --eval-pairs, seeded)")
    p.add_argument("--out", required=True, help="folder to save the reward model to")
    p.add_argument("--backbone", default=d.backbone, help="minilm (default), policy (the base of --policy), a local folder "
                                                          "or a Hub id")
    p.add_argument("--policy", help="with --backbone policy: the policy whose base model to use (preset, folder or Hub "
                                    "id; default smollm2-135m)")
    p.add_argument("--max-pairs", type=int, default=d.max_pairs, help="use at most N training pairs (default: all)")
    p.add_argument("--eval-pairs", type=int, default=d.eval_pairs, help=f"held-out pairs to score (default {d.eval_pairs})")
    p.add_argument("--epochs", type=float, default=d.num_train_epochs,
                   help=f"passes over the pairs (default: auto, >= {d.min_steps} optimiser steps, <= {d.max_auto_epochs} "
                        "epochs, 1 for a large set)")
    p.add_argument("--lr", type=float, default=d.learning_rate, help=f"peak learning rate (default {d.learning_rate:g})")
    p.add_argument("--batch-size", type=int, default=d.per_device_train_batch_size,
                   help=f"pairs per step per device (default {d.per_device_train_batch_size})")
    p.add_argument("--max-length", type=int, default=d.max_length, help=f"tokens, cut from the left (default {d.max_length})")
    p.add_argument("--lora-r", type=int, default=d.lora_r, help=f"LoRA rank (default {d.lora_r})")
    p.add_argument("--lora-alpha", type=int, default=None, help="LoRA alpha (default: 2 x rank)")
    p.add_argument("--lora-targets", help="comma-separated module names, such as query,value (default: per architecture)")
    p.add_argument("--no-lora", action="store_true", help="full fine-tuning instead of LoRA")
    p.add_argument("--center-rewards", type=float, default=d.center_rewards_coefficient,
                   help="reward centring coefficient (TRL center_rewards_coefficient; e.g. 0.01)")
    p.add_argument("--eval-steps", type=int, default=None, help="also evaluate every N steps (default: auto, about "
                   "--eval-points evaluations)")
    p.add_argument("--eval-points", type=int, default=HEADLESS_EVAL_POINTS,
                   help=f"auto --eval-steps: evaluations during training (default {HEADLESS_EVAL_POINTS}; the Reward tab "
                        f"draws {d.eval_points}; 0 = before and after only)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--quiet", action="store_true", help="no live rows on stderr")
    return p


def reward_main(argv: list[str] | None = None) -> int:
    """``python -m rlhf_demo reward ...``: train, evaluate, save; the LAST stdout line is JSON."""
    import sys

    from rlhf_demo.data.hh import load_jsonl

    args = reward_parser().parse_args(argv)
    cfg = RewardConfig(
        backbone=args.backbone, max_length=args.max_length, use_lora=not args.no_lora, lora_r=args.lora_r,
        lora_alpha=args.lora_alpha if args.lora_alpha is not None else 2 * args.lora_r,
        lora_target_modules=args.lora_targets.split(",") if args.lora_targets else None,
        learning_rate=args.lr, num_train_epochs=args.epochs, per_device_train_batch_size=args.batch_size,
        max_pairs=args.max_pairs, eval_pairs=args.eval_pairs, eval_steps=args.eval_steps, eval_points=args.eval_points,
        center_rewards_coefficient=args.center_rewards, seed=args.seed, device=args.device)
    try:  # bad input -> one clear line on stderr and exit status 2, not a traceback
        cfg.validate()
        out = check_new_folder(args.out, "--out")  # a new folder: nothing is ever overwritten or half-written
        # the backbone is resolved here, once (at most one Hub probe), and passed down
        hub_ok = probe_hub_for(*((cfg.backbone, args.policy) if cfg.backbone == "policy" else (cfg.backbone,)))
        policy = resolve_policy(args.policy, hub_ok) if cfg.backbone == "policy" else None
        backbone = resolve_reward_backbone(cfg.backbone, policy, hub_ok)
        train = pairs_from_set(load_jsonl(args.train))
        if args.eval:
            evals = pairs_from_set(load_jsonl(args.eval))
        else:
            n_file = len(train)
            train, evals = hold_out(train, cfg.eval_pairs, seed=cfg.seed)
            print(f"[reward] held out {len(evals)} of the {n_file} pairs of --train for evaluation (20 %, at most "
                  f"--eval-pairs {cfg.eval_pairs}); {len(train)} left to train on", file=sys.stderr, flush=True)
        train = build_training_pairs(train, max_pairs=cfg.max_pairs, seed=cfg.seed)
        source = LocalSource(args.train)  # the identity the app compares with the data it has loaded
        trained_on = {"source": source.identity, "description": source.description, "subset": source.subsets()[0],
                      "split": args.train, "n_pairs": len(train), "n_votes": 0}
    except (ValueError, OSError) as e:  # FileNotFoundError: a backbone that is neither a folder nor on the Hub
        print(f"error: {e}", file=sys.stderr)
        return 2

    def show(row: dict) -> None:
        if not args.quiet:
            print("[reward] " + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                         for k, v in row.items() if v is not None), file=sys.stderr, flush=True)

    try:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # accelerate launch: every process writes to the same folder
            res = train_reward_model(cfg, train, evals, out, backbone, on_log=show, trained_on=trained_on)
        else:  # written under a temporary name, renamed into place when complete: a killed run leaves nothing
            with atomic_folder(out, META_FILE) as tmp:
                res = train_reward_model(cfg, train, evals, tmp, backbone, on_log=show, trained_on=trained_on)
            res.out_dir = str(out)
    except NoLoraTargets as e:  # --lora-targets, checked against the backbone once it is built: nothing was written
        print(f"error: --lora-targets: {e}", file=sys.stderr)
        return 2
    if res.is_main_process:
        out = res.to_dict()
        out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}
        print(json.dumps(out), flush=True)
    return 0
