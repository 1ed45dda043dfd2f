"""Who answers in the arena: contestants (the policy, optionally + a LoRA adapter, at a temperature, or best-of-N)
and the registry of those currently playing."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from rlhf_demo.storage import file_sha256


class ArenaError(ValueError):
    """A user-facing problem with a round (message is meant to be shown as is)."""


class ContestantFailed(ArenaError):
    """A contestant could not answer (e.g. its adapter's weights are NaN): `name` says which, `reason` why.
    `lasting`: it never will (its weights are bad), so it is taken out of the arena."""

    def __init__(self, name: str, reason: str, lasting: bool = False):
        super().__init__(f"Contestant {name!r} could not answer: {reason}.")
        self.name, self.reason, self.lasting = name, reason, lasting


def adapter_problem(adapter_path: str | Path) -> str | None:
    """None when the adapter's safetensors weights are all finite, else why not ("its weights are NaN or ...").
    Folders with other weight files (adapter_model.bin) are not checked."""
    weights = Path(adapter_path) / "adapter_model.safetensors"
    if not weights.is_file():
        return None
    from rlhf_demo.models.weights import saved_weights_problem  # torch: imported only when an adapter is checked

    return saved_weights_problem(weights)


# ----------------------------------------------------------------------------------------------------------
# contestants


@dataclass(frozen=True)
class Contestant:
    """One way of answering: the policy (optionally + a LoRA adapter) sampled at a temperature."""

    name: str  # shown after the vote and on the leaderboard; unique in a registry
    temperature: float  # > 0; logits are divided by it (lower = safer and blander, higher = wilder)
    adapter_path: str | None = None  # folder of a peft LoRA adapter (PPO checkpoint); None = base policy
    description: str = ""
    uid: str = ""  # immutable id of what answers (adapter hash, or base policy + temperature): stored with each round
    best_of: int = 1  # N > 1: sample N replies, the active reward model keeps the best (N x the inference)

    def __post_init__(self):
        if not self.name or not self.name.strip():
            raise ArenaError("A contestant needs a name.")
        if not self.temperature > 0:
            raise ArenaError(f"Contestant {self.name!r}: temperature must be > 0, got {self.temperature}.")
        if isinstance(self.best_of, bool) or not isinstance(self.best_of, int) or self.best_of < 1:
            raise ArenaError(f"Contestant {self.name!r}: best_of must be a whole number >= 1, got {self.best_of!r}.")


DEFAULT_CONTESTANTS = (
    Contestant("base-t0.7", 0.7, description="the base policy, sampled at temperature 0.7 (focused)"),
    # 1.0, not higher: with pure sampling (no top-k / top-p) SmolLM2-135M at 1.2 wrote word salad in our rounds
    Contestant("base-t1.0", 1.0, description="the base policy, sampled at temperature 1.0 (adventurous)"),
)


def best_of_contestant(n: int = 8, temperature: float = 0.7) -> Contestant:
    """Best-of-N as a contestant: the base policy sampled N times, the ACTIVE reward model keeps the reply it likes
    best (`frontier/best_of_n.py`). No training, but N times the inference of every other contestant."""
    return Contestant(f"base + best-of-{n}", temperature, best_of=n,
                      description=f"the base policy at temperature {temperature:g}, {n} replies, the active reward "
                                  f"model keeps the best one ({n}x the inference)")


class ContestantRegistry:
    """The contestants currently in the arena. Thread-safe; `list()` returns a snapshot in insertion order."""

    def __init__(self, contestants: Sequence[Contestant] = DEFAULT_CONTESTANTS, policy_id: str = "base"):
        """policy_id: names the base policy in the ids of the base contestants (votes for "base-t0.7" over two
        different policies are then told apart)."""
        self._lock = threading.Lock()
        self._by_name: dict[str, Contestant] = {}
        self._left_out: dict[str, str] = {}  # contestants taken out because they cannot answer: name -> why
        self.skipped: list[str] = []  # saved adapters that never joined: "name (why)" (another policy's, NaN weights)
        self.policy_id = policy_id
        for c in contestants:
            self.add(c if c.uid else replace(c, uid=f"{policy_id}-t{c.temperature:g}"))

    def add(self, contestant: Contestant) -> Contestant:
        with self._lock:
            if contestant.name in self._by_name:
                raise ArenaError(f"There is already a contestant named {contestant.name!r}.")
            self._by_name[contestant.name] = contestant
        return contestant

    def add_checkpoint(self, name: str, adapter_path: str, temperature: float = 0.7, description: str = "",
                       uid: str | None = None) -> Contestant:
        """Add a PPO checkpoint (a folder written by peft's ``save_pretrained``) as a contestant. Its id is the hash
        of its adapter weights (`uid`, when the caller already has it from the checkpoint's state). An adapter whose
        weights are NaN or infinite is refused (`ContestantFailed`, lasting): it could only fail every round."""
        weights = Path(adapter_path) / "adapter_model.safetensors"
        if not (Path(adapter_path) / "adapter_config.json").is_file() or not weights.is_file():
            raise ArenaError(f"{adapter_path} is not a LoRA adapter folder (no adapter_config.json / weights in it).")
        problem = adapter_problem(adapter_path)
        if problem is not None:
            raise ContestantFailed(name, problem, lasting=True)
        return self.add(Contestant(name, temperature, str(Path(adapter_path).resolve()),
                                   description or f"PPO checkpoint {Path(adapter_path).name}",
                                   uid=uid or file_sha256(weights)))

    def add_saved_adapter(self, info: dict, base_path: str, description: str = "PPO checkpoint") -> None:
        """A saved adapter (`info`: name, path, uid of a PPO checkpoint or DPO adapter) joins the arena if it was
        trained on the policy at `base_path` (else it cannot load); else it is named in `skipped`, with why."""
        import json

        try:
            base = json.loads((Path(info["path"]) / "adapter_config.json").read_text()).get("base_model_name_or_path")
        except (OSError, ValueError):
            return
        if base != base_path:
            self.skipped.append(f"{info['name']} (trained on {base})")
            return
        try:
            self.add_checkpoint(info["name"], info["path"], description=description, uid=info.get("uid") or None)
        except ArenaError as e:  # e.g. its weights are NaN or infinite: it could only fail every round
            self.skipped.append(f"{info['name']} ({getattr(e, 'reason', e)})")

    def disable(self, name: str, reason: str) -> None:
        """Take a contestant that cannot answer out of the arena, remembering why (`left_out`). No-op if absent."""
        with self._lock:
            if self._by_name.pop(name, None) is not None:
                self._left_out[name] = reason

    def left_out(self) -> dict[str, str]:
        """The contestants taken out by `disable`: name -> why."""
        with self._lock:
            return dict(self._left_out)

    def remove(self, name: str) -> Contestant:
        with self._lock:
            if name not in self._by_name:
                raise KeyError(f"No contestant named {name!r}.")
            return self._by_name.pop(name)

    def get(self, name: str) -> Contestant:
        with self._lock:
            if name not in self._by_name:
                raise KeyError(f"No contestant named {name!r}.")
            return self._by_name[name]

    def list(self) -> list[Contestant]:
        with self._lock:
            return list(self._by_name.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_name)

    def __contains__(self, name: str) -> bool:
        with self._lock:
            return name in self._by_name


def arena_contestants(policy_id: str, base_path: str, checkpoints: Sequence[dict] = (),
                      dpo_adapters: Sequence[dict] = ()) -> ContestantRegistry:
    """The app's arena: the base policy's variants, best-of-8 (plays while a reward model is active: it keeps the
    best of 8 base replies), and every saved PPO checkpoint and DPO adapter of this policy (after a restart too)."""
    registry = ContestantRegistry(policy_id=policy_id)
    bon = best_of_contestant(8)
    registry.add(replace(bon, uid=f"{policy_id}-t{bon.temperature:g}-bo{bon.best_of}"))
    for c in checkpoints:
        registry.add_saved_adapter(c, base_path)
    for a in dpo_adapters:
        registry.add_saved_adapter(a, base_path, "DPO adapter")
    return registry
