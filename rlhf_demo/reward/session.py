"""Reward-model training as an app job: which pairs, which held-out set, live rows for the curves.

The held-out evaluation set is fixed per data source: the `test` split when the subset has one, else a
seeded slice of the same split that never enters training. Votes from the arena are added to the training
pairs on request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rlhf_demo.data.browse import longer_reply_wins, shorter_reply_wins
from rlhf_demo.reward.config import RewardConfig
from rlhf_demo.data.pairs import build_training_pairs, hold_out, pairs_from_set, split_pairs
from rlhf_demo.settings import shorten


@dataclass
class RewardData:
    train: list  # (prompt, chosen, rejected)
    eval: list
    n_votes: int
    description: str


def select_pairs(ws, subset: str, n_pairs: int, use_votes: bool, n_eval: int, seed: int = 0) -> RewardData:
    """Training and held-out pairs for `subset`; raises ValueError with a clear message when there are none."""
    src = ws.data.source
    if subset not in src.subsets():
        raise ValueError(f"Unknown subset {shorten(subset)}.")
    splits = src.splits(subset)
    if "train" in splits and "test" in splits:
        train_all = pairs_from_set(src.load(subset, "train"))
        eval_pairs = split_pairs(pairs_from_set(src.load(subset, "test")), n_eval, seed)[1]
        where = f"{subset}/train, evaluated on {subset}/test"
    else:
        split = splits[0]
        train_all, eval_pairs = hold_out(pairs_from_set(src.load(subset, split)), n_eval, seed)
        where = f"{subset}/{split} minus {len(eval_pairs)} held-out pairs"
    votes = []
    if use_votes:
        from rlhf_demo.arena.export import vote_pairs

        votes = vote_pairs(ws.votes, ws.vote_filters)  # the counted votes (filters of the Vote tab)
    if n_pairs < 0:
        raise ValueError("The number of pairs cannot be negative.")
    train = build_training_pairs(train_all, votes, max_pairs=n_pairs + len(votes), seed=seed)
    if not train:
        raise ValueError("No training pairs after filtering: raise the number of pairs or add votes.")
    if not eval_pairs:
        raise ValueError("No held-out pairs to evaluate on.")
    return RewardData(train, eval_pairs, len(votes), where)


def training_job(ws, cfg: RewardConfig, subset: str, n_pairs: int, use_votes: bool, name: str | None = None):
    """A job function for `ws.jobs.submit`: train, save, activate, evaluate for the histogram. The backbone is the
    Workspace's resolution of ``cfg.backbone`` (`ws.reward_backbone`): no new Hub probe."""
    cfg.validate()  # before any work: a bad value is the user's to fix
    backbone = ws.reward_backbone(cfg.backbone)
    data = select_pairs(ws, subset, n_pairs, use_votes, cfg.eval_pairs, cfg.seed)

    def job(ctx):
        # eta_s None = "estimating…" until an optimiser step after the first one was timed (`jobs.eta_seconds`)
        ctx.update(progress=0.0, message=f"{len(data.train)} pairs ({data.n_votes} from votes), {data.description}",
                   n_train=len(data.train), n_eval=len(data.eval), eta_s=None, eta_at=time.time(),
                   baseline_shorter_wins=shorter_reply_wins((c, r) for _, c, r in data.eval),
                   baseline_longer_wins=longer_reply_wins((c, r) for _, c, r in data.eval))

        def on_log(row: dict) -> None:
            ctx.append("log", row)
            if "loss" in row:
                ctx.update(message=f"step {row.get('step')}: loss {row['loss']:.3f}")

        def on_progress(p: dict) -> None:
            ctx.update(progress=p["progress"], eta_s=p["eta_s"], eta_at=time.time())

        trained_on = {"source": ws.data.source.identity, "description": ws.data.source.description,
                      "subset": subset, "split": data.description, "n_pairs": len(data.train) - data.n_votes,
                      "n_votes": data.n_votes}
        result = ws.reward_models.train(cfg, data.train, data.eval, backbone, name=name, on_log=on_log,
                                        should_stop=ctx.should_stop, on_progress=on_progress, trained_on=trained_on)
        model_name = Path(result.out_dir).name
        ctx.update(margins=[float(m) for m in result.margins], model=model_name, eta_s=0.0, eta_at=time.time())
        return {**result.to_dict(), "name": model_name}

    return job, data
