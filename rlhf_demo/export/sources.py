"""Where a headless export finds what the app made: the reward model, the class's counted votes, the data."""

from __future__ import annotations

import json
from pathlib import Path

from rlhf_demo.data.pairs import Pair
from rlhf_demo.reward.model import META_FILE
from rlhf_demo.settings import shorten, valid_name


def reward_folder(reward: str | None, data_dir: Path) -> Path:
    """The saved reward model to export: a folder, a saved model's name under ``data_dir/reward_models``, or (None)
    the active one there. ValueError with a sentence when there is none."""
    from rlhf_demo.reward.registry import RewardModelRegistry

    if reward and (Path(reward).expanduser() / META_FILE).is_file():
        return Path(reward).expanduser()
    if reward and Path(reward).expanduser().exists():
        raise ValueError(f"--reward {shorten(reward)}: not a saved reward model (no {META_FILE} in it)")
    registry = RewardModelRegistry(data_dir / "reward_models")
    if reward and not valid_name(reward):  # a path, and nothing is there
        raise ValueError(f"--reward {shorten(reward)}: no such folder")
    name = reward or registry.active
    if name is None:
        raise ValueError(f"no --reward given and no active reward model in {data_dir}: train one first "
                         "(`python -m rlhf_demo reward` or tab 3), or name its folder")
    if not registry.exists(name):
        raise ValueError(f"--reward {shorten(name)}: no such folder, and no saved reward model of that name in "
                         f"{data_dir / 'reward_models'}")
    return registry.path(name)


def counted_vote_pairs(data_dir: Path) -> list[Pair]:
    """The class's counted decisive votes in ``data_dir`` (its saved vote filters applied, as the leaderboard and
    the reward model count them); none when it has no votes yet. Nothing is created."""
    votes_file = data_dir / "votes.sqlite"
    if not votes_file.is_file():
        return []
    from rlhf_demo.arena.export import vote_pairs
    from rlhf_demo.arena.standings import Standings
    from rlhf_demo.arena.votes import VoteStore

    store = VoteStore(votes_file)
    return vote_pairs(store, Standings(store, data_dir / "vote_filters.json").filters)


def source_for(data: str | None, reward_dir: Path, offline: bool):
    """The data source: ``--data``; else what the reward model was trained on when it is here (the bundled set, a
    local file); else the app's default (the Hub when reachable, else the bundled set)."""
    from rlhf_demo.data.sources import BundledSource, LocalSource, open_source

    if data:
        return LocalSource(data)
    trained = (json.loads((reward_dir / META_FILE).read_text()).get("trained_on") or {}).get("source") or ""
    if trained == "bundled":
        return BundledSource()
    if trained.startswith("local:") and Path(trained[len("local:"):]).exists():
        return LocalSource(trained[len("local:"):])
    return open_source(None, offline=offline, hub_ok=not offline).source
