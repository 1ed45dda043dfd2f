"""The one shared state object of a running app: data, models, jobs (and, per tab, their stores).

Built once in ``app.py`` and passed explicitly to every UI module and to the CLI; nothing is kept in
module-level globals. Heavy things (the policy) load lazily on first use, so the app serves within
seconds and the Browse tab never waits for a model.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .data import SourceChoice, hub_reachable, open_source
from .jobs import JobRunner
from .models import ModelChoice, load_policy, resolve_policy, resolve_reward_backbone


def default_data_dir() -> Path:
    """Where the app writes (votes, reward models, checkpoints): $RLHF_DATA_DIR, else ./rlhf_data."""
    return Path(os.environ.get("RLHF_DATA_DIR") or "rlhf_data").expanduser()


@dataclass
class Settings:
    """Start-up choices (from the command line / environment)."""

    data: str | None = None  # --data: a .jsonl(.gz) file or an Anthropic-style folder; None = Hub, else bundled
    policy: str | None = None  # --policy: preset name, folder or Hub id; None = smollm2-135m with the Hub, else tiny
    reward_backbone: str | None = None  # --reward-backbone: minilm | policy | folder | Hub id
    offline: bool = False  # --offline: never try the Hub (also implied by HF_HUB_OFFLINE=1)
    data_dir: Path = field(default_factory=default_data_dir)
    hub_timeout: float = 3.0  # seconds we give the Hub before falling back (start-up cost when offline)
    device: str | None = None  # None = cuda if available, else cpu


class Workspace:
    """Shared backend state. Thread-safe where handlers from many browsers meet."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        t0 = time.perf_counter()
        s = self.settings
        needs_hub = not s.offline and (s.data is None or s.policy not in ("tiny",) or s.reward_backbone not in (None, "minilm"))
        self.hub_ok = hub_reachable(s.hub_timeout) if needs_hub else False
        self.data: SourceChoice = open_source(s.data, offline=s.offline or not self.hub_ok, hub_timeout=0)
        if s.data is None and not s.offline and not self.hub_ok:
            self.data.note = f"Hugging Face Hub not reachable (checked in ≤{s.hub_timeout:g} s): using the bundled set"
        self.policy_choice: ModelChoice = resolve_policy(s.policy, self.hub_ok)
        self.reward_choice: ModelChoice = resolve_reward_backbone(s.reward_backbone, self.policy_choice, self.hub_ok)
        self.jobs = JobRunner()
        self._policy = None
        self._policy_lock = threading.Lock()
        self.startup_seconds = time.perf_counter() - t0

    # -- paths ------------------------------------------------------------------------------
    def path(self, *parts: str) -> Path:
        """A path under the data dir (created on demand)."""
        p = Path(self.settings.data_dir, *parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    # -- the policy (lazy) --------------------------------------------------------------------
    def policy(self):
        """(model, tokenizer) of the base policy, loaded once on first use."""
        with self._policy_lock:
            if self._policy is None:
                self._policy = load_policy(self.policy_choice, self.settings.device)
            return self._policy

    @property
    def policy_loaded(self) -> bool:
        return self._policy is not None

    # -- what the UI shows about itself ---------------------------------------------------------
    def describe(self) -> dict:
        src = self.data.source
        return {
            "data": src.description,
            "data_kind": src.kind,
            "data_note": self.data.note,
            "policy": self.policy_choice.label(),
            "policy_note": self.policy_choice.note,
            "reward_backbone": self.reward_choice.label(),
            "hub_reachable": self.hub_ok,
            "data_dir": str(self.settings.data_dir),
        }
