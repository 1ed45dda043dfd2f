"""The active reward model's verdict on the pairs of a data split: Browse's "the reward model disagrees with the
human label" filter, and the verdict under each pair it shows.

    scores(name, where, ps)    every pair's (chosen, rejected) scores by model `name`: from memory or the disk cache;
                               None until they were computed
    start(name, where, ps)     compute them in the background (`BackgroundScorer`: one split at a time, one job shared
                               by every page, never blocking training); False while a scoring job runs
    job(name, where, ps)       the scoring job's snapshot, and whether it is (or was) this split's
    pair(name, where, ps, i)   pair i's two scores: from the split's scores when cached, else one forward pass

`where` = (data source description, subset, split) names the split, `ps` is its `PreferenceSet`. The cache key joins
the model's name and fingerprint (its saved metadata: a model retrained under the same name is scored anew) and the
data's (`PreferenceSet.fingerprint`).
"""

from __future__ import annotations

import os

from rlhf_demo.data.hh import PreferenceSet
from rlhf_demo.jobs import JobSnapshot
from rlhf_demo.reward.registry import RewardModelRegistry
from rlhf_demo.reward.scoring import BackgroundScorer, ScoreCache, SplitScores, cache_key, model_fingerprint

Where = tuple[str, str, str]  # (data source description, subset, split)


class SplitVerdicts:
    def __init__(self, registry: RewardModelRegistry, cache_dir: str | os.PathLike, device: str | None = None):
        self.registry = registry
        self.device = device
        self.scorer = BackgroundScorer(ScoreCache(cache_dir))

    def key(self, name: str, where: Where, ps: PreferenceSet) -> str:
        return cache_key(name, model_fingerprint(self.registry.path(name)), *where, ps.fingerprint)

    def scores(self, name: str, where: Where, ps: PreferenceSet) -> SplitScores | None:
        return self.scorer.get(self.key(name, where, ps))

    def start(self, name: str, where: Where, ps: PreferenceSet) -> bool:
        _, subset, split = where
        return self.scorer.start(self.key(name, where, ps), f"Scoring {len(ps):,} pairs of {subset}/{split} with {name}",
                                 lambda: self.registry.load(name, self.device),
                                 [(p.prompt, p.chosen, p.rejected) for p in ps.pairs],
                                 {"model": name, "subset": subset, "split": split})

    def job(self, name: str, where: Where, ps: PreferenceSet) -> tuple[JobSnapshot, bool]:
        snap = self.scorer.runner.snapshot()
        return snap, snap.data.get("key") == self.key(name, where, ps)

    def pair(self, name: str, where: Where, ps: PreferenceSet, i: int) -> tuple[float, float]:
        found = self.scores(name, where, ps)
        if found is not None:
            return found.chosen[i], found.rejected[i]
        p = ps.pairs[i]
        chosen, rejected = self.registry.load(name, self.device).score_pairs([(p.prompt, p.chosen, p.rejected)])
        return float(chosen[0]), float(rejected[0])
