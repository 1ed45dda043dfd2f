"""Scoring every pair of a split with a reward model (Browse's "the reward model disagrees with humans" filter):
batched, cached on disk, with progress and an ETA.

1. encode:  every (prompt, reply) of the split once, chosen and rejected (`RewardModel.encoder`)
2. batch:   longest first, `batch_size` sequences a forward pass, each padded only to its own longest (sorted
            neighbours have nearly the same length: dynamic padding wastes little); the model's lock is taken per
            batch, so PPO and the playground are never held up for the whole split
3. cache:   ``<data dir>/reward_scores/<model>-<fingerprint>.json``, keyed by the reward model's identity (its name and
            its saved metadata, which records when and how it was trained) and the split's identity (the data source,
            subset, split and a hash of every pair's text): a restart reads it back; a new model or changed data gets a
            new key (`cache_key`), and old files are pruned
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from rlhf_demo.jobs import eta_seconds
from rlhf_demo.reward.progress import batch_work
from rlhf_demo.storage import write_json_atomic

BATCH_SIZE = 64  # sequences per forward pass (compare others with benchmarks/disagreement_speed.py --batch-sizes)


@dataclass
class SplitScores:
    """The reward model's score of each pair's chosen and rejected reply, in the split's order."""

    chosen: list[float]
    rejected: list[float]

    def disagreements(self) -> list[int]:
        """Positions where the rejected reply scores at least as high as the chosen one."""
        return [i for i, (c, r) in enumerate(zip(self.chosen, self.rejected)) if c <= r]


def model_fingerprint(model_dir: str | os.PathLike, meta_file: str = "reward_meta.json") -> str:
    """A hash of a saved reward model's metadata (written once, last, when its training finished: it records when,
    on what and how), plus its folder's name."""
    d = Path(model_dir)
    return hashlib.sha256(d.name.encode() + b"\0" + (d / meta_file).read_bytes()).hexdigest()[:16]


def cache_key(model_name: str, model_fp: str, source: str, subset: str, split: str, split_fp: str) -> str:
    """One file name per (reward model, data source and split): ``<model>-<16 hex>``. split_fp: the data's own
    fingerprint (`PreferenceSet.fingerprint`)."""
    ident = json.dumps([model_name, model_fp, source, subset, split, split_fp])
    return f"{model_name}-{hashlib.sha256(ident.encode()).hexdigest()[:16]}"


def score_split(model, pairs: Sequence[tuple[str, str, str]], batch_size: int = BATCH_SIZE,
                on_progress: Callable[[float, float | None], None] | None = None,
                should_stop: Callable[[], bool] | None = None) -> SplitScores | None:
    """Every pair's two scores, in the order of `pairs`. ``on_progress(fraction, eta_s)`` after each batch (the
    fraction of the work, padded tokens weighted as in training; `eta_s` None until a batch after the first one was
    timed). Returns None when `should_stop()` said so between batches."""
    n = len(pairs)
    seqs = model.encoder([p for p, _, _ in pairs] * 2, [c for _, c, _ in pairs] + [r for _, _, r in pairs])
    order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))  # longest first: the slowest batches are timed early
    batches = [order[s:s + batch_size] for s in range(0, len(order), batch_size)]
    hidden = int(getattr(getattr(model.model, "config", None), "hidden_size", 384) or 384)
    work = [batch_work(len(b), len(seqs[b[0]]), hidden) for b in batches]
    total = sum(work)
    out = [0.0] * len(seqs)
    seconds: list[float] = []
    for k, b in enumerate(batches):
        if should_stop is not None and should_stop():
            return None
        t = time.perf_counter()
        for i, s in zip(b, model.score_ids([seqs[i] for i in b]).tolist()):
            out[i] = float(s)
        seconds.append(time.perf_counter() - t)
        if on_progress is not None:
            done = sum(work[: k + 1])
            on_progress(done / total if total else 1.0, eta_seconds(seconds, work[: k + 1], total - done))
    return SplitScores(out[:n], out[n:])


class ScoreCache:
    """Split scores on disk under `root`, one JSON file per `cache_key`; at most `keep` files (newest kept)."""

    def __init__(self, root: str | os.PathLike, keep: int = 24):
        self.root = Path(root)
        self.keep = keep

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def load(self, key: str) -> SplitScores | None:
        try:
            d = json.loads(self.path(key).read_text())
            scores = SplitScores([float(x) for x in d["chosen"]], [float(x) for x in d["rejected"]])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return scores if len(scores.chosen) == len(scores.rejected) else None

    def save(self, key: str, scores: SplitScores, info: dict | None = None) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.path(key), {"chosen": scores.chosen, "rejected": scores.rejected,
                                           "saved": time.time(), **(info or {})})
        files = sorted(self.root.glob("*.json"), key=lambda f: f.stat().st_mtime, reverse=True)
        for f in files[self.keep:]:
            f.unlink(missing_ok=True)


class BackgroundScorer:
    """Whole-split scores for the Browse tab: from memory, else from the disk cache, else computed by a background
    job on its own `JobRunner` (one split at a time), so it never waits for, nor blocks, reward training or PPO on
    the app's runner, and every page can keep browsing while it runs. Everyone asking for the same split shares one
    job and its progress (``runner.snapshot()``: progress, ETA, ``data["key"]``)."""

    def __init__(self, cache: ScoreCache):
        from rlhf_demo.jobs import JobRunner

        self.cache = cache
        self.runner = JobRunner()
        self._memo: dict[str, SplitScores] = {}

    def get(self, key: str) -> SplitScores | None:
        if key not in self._memo:
            found = self.cache.load(key)
            if found is None:
                return None
            self._memo[key] = found
        return self._memo[key]

    def start(self, key: str, title: str, load_model: Callable[[], object], pairs: Sequence[tuple[str, str, str]],
              info: dict | None = None, batch_size: int = BATCH_SIZE) -> bool:
        """Start scoring `pairs` under `key` unless a scoring job is running (then False: ask again when it is done)."""
        from rlhf_demo.jobs import JobBusy

        if self.runner.snapshot().active:
            return False

        def job(ctx):
            ctx.update(eta_s=None, eta_at=time.time(), message="loading the reward model")
            model = load_model()
            t0 = time.perf_counter()
            res = score_split(model, pairs, batch_size,
                              on_progress=lambda f, eta: ctx.update(progress=f, eta_s=eta, eta_at=time.time(),
                                                                    message="scoring"),
                              should_stop=ctx.should_stop)
            if res is None:
                return None
            seconds = round(time.perf_counter() - t0, 2)
            self.cache.save(key, res, {**(info or {}), "seconds": seconds})
            self._memo[key] = res
            return {"key": key, "pairs": len(pairs), "seconds": seconds}

        try:
            self.runner.submit("scores", title, job, data={"key": key})
        except JobBusy:
            return False  # another page started one a moment ago
        return True
