"""What a PPO run is trained against: one reward model, or an ensemble of several (`reward/ensemble.py`).

A run belongs to ONE reward spec: its curves and its score normalisation are on that spec's scale, so another spec
starts a new run (the app's Start and Reset, as another active model always did), and the spec is saved with the
run (ppo_state.json's "reward"), so that a resumed run continues against it and the frontier can tell a checkpoint
trained on an ensemble from one trained on a single model.

    RewardSpec(models, mode, lam)   models[0] first: the app's active model, the command's first --reward
    spec.label                      "rm-a", or "ensemble of 3 (rm-a, rm-b, rm-c), mean − 1·std"
    spec.to_dict() / saved_spec(d)  what a saved run records; saves from before ensembles have "reward_name" only
    load_scorer(spec, load)         one model: load(name); several: an EnsembleScorer of load(name) for each
    check_not_gold(members, gold)   the gold reward model is never a member: it would be optimised against
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from rlhf_demo.config_base import is_number
from rlhf_demo.reward.ensemble import DEFAULT_LAMBDA, EnsembleScorer, check_mode, ensemble_label
from rlhf_demo.settings import shorten


@dataclass(frozen=True)
class RewardSpec:
    """The reward model(s) a run optimises (names in the app, folders on the command line) and, for several, how
    their scores combine. Two specs are equal when a run of one is a run of the other: with one model the mode and
    λ mean nothing, and with "min" λ means nothing (both are set to the defaults)."""

    models: tuple[str, ...]
    mode: str = "mean-std"
    lam: float = DEFAULT_LAMBDA

    def __post_init__(self):
        models = (self.models,) if isinstance(self.models, str) else tuple(self.models)
        if not models or not all(isinstance(m, str) and m.strip() for m in models):
            raise ValueError("Name at least one reward model to train against.")
        twice = next((m for i, m in enumerate(models) if m in models[:i]), None)
        if twice is not None:
            raise ValueError(f"{shorten(twice)} is named twice: each reward model counts once in an ensemble.")
        check_mode(self.mode)
        if not is_number(self.lam) or self.lam < 0:
            raise ValueError(f"The ensemble's λ must be a number >= 0, got {shorten(str(self.lam))}.")
        object.__setattr__(self, "models", models)
        if len(models) == 1 or self.mode == "min":
            object.__setattr__(self, "lam", DEFAULT_LAMBDA)
        if len(models) == 1:
            object.__setattr__(self, "mode", "mean-std")
        object.__setattr__(self, "lam", float(self.lam))

    @property
    def name(self) -> str:
        """The first model: the app's active model (what the run's reward_name has always been)."""
        return self.models[0]

    @property
    def is_ensemble(self) -> bool:
        return len(self.models) > 1

    @property
    def names(self) -> list[str]:
        """The models as a label names them: a folder by its last part."""
        return [Path(m).name or m for m in self.models]

    @property
    def label(self) -> str:
        return ensemble_label(self.names, self.mode, self.lam)

    def to_dict(self) -> dict:
        """What a saved run records under "reward" (and /ppo_status shows)."""
        return {"models": list(self.models), "ensemble": self.mode if self.is_ensemble else None,
                "lambda": self.lam if self.is_ensemble and self.mode == "mean-std" else None, "label": self.label}

    @classmethod
    def from_dict(cls, d: dict) -> RewardSpec:
        lam = d.get("lambda")
        return cls(tuple(d["models"]), d.get("ensemble") or "mean-std", DEFAULT_LAMBDA if lam is None else lam)


def as_spec(reward) -> RewardSpec | None:
    """A RewardSpec from what callers hand a run: a spec, one name or folder, a list of them, or None."""
    if reward is None or isinstance(reward, RewardSpec):
        return reward
    return RewardSpec((reward,) if isinstance(reward, str) else tuple(reward))


def saved_spec(state: dict | None) -> RewardSpec | None:
    """The spec a saved run (ppo_state.json, or its row in `saved.py`) was trained against: its "reward", else its
    "reward_name" (runs saved before ensembles), else None (nothing recorded, or unreadable)."""
    state = state or {}
    try:
        if isinstance(state.get("reward"), dict):
            return RewardSpec.from_dict(state["reward"])
        return as_spec(state.get("reward_name"))
    except (KeyError, TypeError, ValueError):
        return None


def spec_label(state: dict | None) -> str | None:
    """The label of what a saved run was trained against (None: not recorded)."""
    spec = saved_spec(state)
    return None if spec is None else spec.label


def load_scorer(spec: RewardSpec, load: Callable[[str], object]):
    """The `RewardScorer` PPO optimises: load(name) for one model, an `EnsembleScorer` of each member for several."""
    if not spec.is_ensemble:
        return load(spec.name)
    return EnsembleScorer([load(m) for m in spec.models], spec.mode, spec.lam, names=spec.names)


def check_not_gold(members: Sequence[str], gold: str | None) -> None:
    """The gold reward model is only watched, never optimised against: it may not be one of the ensemble's `members`
    besides the active model (the active model itself as gold is `reward.gold.check_gold`'s rule)."""
    if gold is not None and gold in members:
        raise ValueError(f"{shorten(gold)} is the gold reward model: it cannot be a member of the ensemble PPO "
                         "optimises (gold is only watched, never optimised against). Leave it out of the ensemble, "
                         "or pick another gold model in tab 5.")
