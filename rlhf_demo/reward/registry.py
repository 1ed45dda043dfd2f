"""Saved reward models under ``<RLHF_DATA_DIR>/reward_models/<name>/``, and which one is active (what PPO
optimises)."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Sequence

from rlhf_demo.data.pairs import Pair
from rlhf_demo.models.presets import ModelChoice
from rlhf_demo.reward.config import RewardConfig
from rlhf_demo.reward.model import META_FILE, RewardModel, load_reward_model
from rlhf_demo.reward.trainer import TrainResult, train_reward_model
from rlhf_demo.settings import NAME_RULE, shorten, valid_name
from rlhf_demo.storage import atomic_folder, complete_folders, sweep_temporaries, write_json_atomic


def trained_on_text(trained_on: dict | None) -> str:
    """What a reward model learned from, in a few words: "local files: …/harmless-base-sample.jsonl.gz
    (harmless-base), 400 pairs + 3 votes"; models saved before this was recorded say so."""
    if not trained_on or not trained_on.get("source"):
        return "not recorded"
    where = trained_on.get("description") or trained_on["source"]
    subset = f" ({trained_on['subset']})" if trained_on.get("subset") else ""
    votes = trained_on.get("n_votes") or 0
    return (f"{where}{subset}, {trained_on.get('n_pairs', 0):,} pairs"
            + (f" + {votes} vote{'s' if votes != 1 else ''}" if votes else ""))


class RewardModelRegistry:
    """Saved reward models under ``root/<name>/`` and which one is active (``root/active.json``).

    Thread-safe. A run trains into a hidden temporary folder and is renamed into place only when it
    finished (or was stopped) cleanly (`storage.atomic_folder`, META_FILE written last), so a failed or killed run
    leaves neither a half-written model nor a changed active model behind. At start, the temporary folders of
    killed runs are swept; a visible folder without META_FILE is never listed, and `skipped()` names it.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._lock = threading.RLock()
        self._cache: dict[str, RewardModel] = {}
        self.swept = sweep_temporaries(self.root)

    def skipped(self) -> list[str]:
        """Folders under root that are not complete reward models (no META_FILE): left out of `list()`."""
        return complete_folders(self.root, META_FILE)[1]

    def path(self, name: str) -> Path:
        if not valid_name(name):
            raise ValueError(f"Invalid reward model name {shorten(name)}: use {NAME_RULE}.")
        return self.root / name

    def exists(self, name: str) -> bool:
        return (self.path(name) / META_FILE).is_file()

    def _entry(self, folder: Path, active: str | None) -> dict | None:
        """One saved model as listed (None when it has no readable metadata). The length baselines and the score
        reference ride along for the views that compare with them."""
        meta_file = folder / META_FILE
        if folder.name.startswith(".") or not meta_file.is_file():
            return None
        try:
            meta = json.loads(meta_file.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return {"name": folder.name, "created": meta.get("created", 0.0), "created_iso": meta.get("created_iso", ""),
                "eval_accuracy": meta.get("eval", {}).get("accuracy"), "backbone": meta.get("backbone"),
                "n_train": meta.get("n_train"), "lora": meta.get("lora"), "stopped": meta.get("stopped", False),
                "train_seconds": meta.get("train_seconds"), "steps": meta.get("steps"),  # timing.py's measurement
                "trained_on": meta.get("trained_on"), "baseline_shorter_wins": meta.get("baseline_shorter_wins"),
                "baseline_longer_wins": meta.get("baseline_longer_wins"), "active": folder.name == active}

    def list(self) -> list[dict]:
        """Saved models, newest first: name, created, eval accuracy, backbone, n_train, trained_on, active."""
        active = self.active
        if not self.root.is_dir():
            return []
        out = [e for d in self.root.iterdir() if (e := self._entry(d, active)) is not None]
        return sorted(out, key=lambda m: m["created"], reverse=True)

    def info(self, name: str | None) -> dict | None:
        """One model's entry, as `list()` gives it, reading only its own metadata (None: no such model)."""
        if not name or not valid_name(name):
            return None
        return self._entry(self.root / name, self.active)

    def load(self, name: str, device: str | None = None) -> RewardModel:
        """The loaded model (cached: loading twice returns the same object)."""
        with self._lock:
            if name not in self._cache:
                if not self.exists(name):
                    raise FileNotFoundError(f"No saved reward model named {shorten(name)}.")
                self._cache[name] = load_reward_model(self.path(name), device)
            return self._cache[name]

    @property
    def active(self) -> str | None:
        """Name of the active model (None if none, or if its folder is gone)."""
        with self._lock:
            try:
                name = json.loads((self.root / "active.json").read_text()).get("name")
            except (OSError, json.JSONDecodeError, AttributeError):
                return None
            return name if valid_name(name) and self.exists(name) else None

    def set_active(self, name: str) -> None:
        with self._lock:
            if not self.exists(name):
                raise FileNotFoundError(f"No saved reward model named {shorten(name)}.")
            write_json_atomic(self.root / "active.json", {"name": name, "set": time.time()})  # never half a file

    def active_model(self, device: str | None = None) -> RewardModel | None:
        name = self.active
        return self.load(name, device) if name else None

    def new_name(self, prefix: str = "rm") -> str:
        with self._lock:
            base = f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"
            name, i = base, 2
            while (self.root / name).exists():
                name, i = f"{base}-{i}", i + 1
            return name

    def train(self, cfg: RewardConfig, train_pairs: Sequence[Pair], eval_pairs: Sequence[Pair], backbone: ModelChoice,
              name: str | None = None, on_log=None, should_stop=None, activate: bool = True,
              on_progress=None, trained_on: dict | None = None) -> TrainResult:
        """Train, save as ``name`` (default: a timestamp) and, on success, make it the active model."""
        name = name or self.new_name()
        final = self.path(name)
        if final.exists():
            raise ValueError(f"A reward model named {shorten(name)} already exists.")
        with atomic_folder(final, META_FILE) as tmp:
            result = train_reward_model(cfg, train_pairs, eval_pairs, tmp, backbone, on_log=on_log,
                                        should_stop=should_stop, on_progress=on_progress, trained_on=trained_on)
        with self._lock:
            if activate:
                self.set_active(name)
        result.out_dir = str(final)
        return result
