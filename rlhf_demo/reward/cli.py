"""``python -m rlhf_demo reward``: train a reward model headless, evaluate it, save it; JSON on the last line."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from rlhf_demo.config_base import command_parser, parse_command
from rlhf_demo.data.pairs import build_training_pairs, hold_out, pairs_from_set
from rlhf_demo.data.sources import LocalSource
from rlhf_demo.models.presets import probe_hub_for, resolve_policy, resolve_reward_backbone
from rlhf_demo.reward.config import RewardConfig
from rlhf_demo.reward.model import META_FILE
from rlhf_demo.reward.trainer import NoLoraTargets, train_reward_model
from rlhf_demo.storage import atomic_folder, check_new_folder


HEADLESS_EVAL_POINTS = 3  # a command line needs fewer curve points than the tab's live chart: each costs ~3-4 s
# (100 held-out pairs on 2 cores); the shared sample took 311 s with 6 on an AVX2-only EPYC


@dataclass
class RewardScriptArguments:
    """The command's own options; the others are RewardConfig's fields."""

    train: str = field(metadata={"help": "hh-rlhf .jsonl/.jsonl.gz with the training pairs"})
    out: str = field(metadata={"help": "a NEW folder to save the reward model to"})
    eval: str | None = field(default=None, metadata={
        "help": "hh-rlhf .jsonl/.jsonl.gz with held-out pairs; None = hold out 20% of --train (at most --eval-pairs, "
                "seeded)"})
    policy: str | None = field(default=None, metadata={
        "help": "with --backbone policy: the policy whose base model to use (preset, folder or Hub id); "
                "None = smollm2-135m"})
    quiet: bool = field(default=False, metadata={"help": "no live rows on stderr"})


def reward_parser():
    p = command_parser("python -m rlhf_demo reward",
                       "Train a reward model on hh-rlhf pairs, evaluate it on held-out pairs, save it. "
                       "The last line printed is one JSON object with the results.", RewardScriptArguments, RewardConfig)
    p.set_defaults(eval_points=HEADLESS_EVAL_POINTS)  # fewer curve points than the tab's live chart
    return p


def reward_main(argv: list[str] | None = None) -> int:
    """``python -m rlhf_demo reward ...``: train, evaluate, save; the LAST stdout line is JSON."""
    import sys

    from rlhf_demo.data.hh import load_jsonl

    args, cfg = parse_command(reward_parser(), argv)
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
