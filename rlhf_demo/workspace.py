"""The running app's services, one per stage, built once and passed explicitly to every tab (no module globals).

No logic of its own: it resolves the start-up choices (one Hub probe at most) and wires each service to what it
needs. Services are built on first use (`_once`), so the app serves within seconds and Browse never waits for a model.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypeVar

from rlhf_demo.data.sources import SourceChoice, hub_reachable, open_source
from rlhf_demo.jobs import StorageCheckedJobs
from rlhf_demo.instructor import InstructorLock
from rlhf_demo.models.loaded import LoadedPolicy
from rlhf_demo.models.presets import ModelChoice, RewardBackbones, resolve_policy, resolve_reward_backbone
from rlhf_demo.settings import Settings
from rlhf_demo.storage import storage_status

if TYPE_CHECKING:  # the services import torch and friends: loaded on first use, not at start-up
    from rlhf_demo.arena.arena import Arena
    from rlhf_demo.arena.calibration import CalibrationStore
    from rlhf_demo.arena.contestants import ContestantRegistry
    from rlhf_demo.arena.standings import Standings
    from rlhf_demo.arena.votes import VoteStore
    from rlhf_demo.frontier.service import FrontierService
    from rlhf_demo.frontier.gold_proxy import GoldProxyService
    from rlhf_demo.dpo.service import DPOService
    from rlhf_demo.export.service import ExportService
    from rlhf_demo.ppo.service import PPOService
    from rlhf_demo.reward.gold import GoldChoice
    from rlhf_demo.reward.service import RewardService

T = TypeVar("T")


class Workspace:
    """The app's services. Thread-safe: a service is built once even when many browsers ask at the same moment."""

    def __init__(self, settings: Settings | None = None):
        t0 = time.perf_counter()
        s = self.settings = settings or Settings()
        needs_hub = not s.offline and (s.data is None or s.policy != "tiny" or s.reward_backbone not in (None, "minilm"))
        # the app's one Hub probe (<= hub_timeout s), when a choice could come from the Hub: no stage probes again
        self.hub_ok = hub_reachable(s.hub_timeout) if needs_hub else False
        self.data: SourceChoice = open_source(s.data, offline=s.offline, hub_ok=self.hub_ok, hub_timeout=s.hub_timeout)
        self.policy_choice: ModelChoice = resolve_policy(s.policy, self.hub_ok)
        self.reward_choice: ModelChoice = resolve_reward_backbone(s.reward_backbone, self.policy_choice, self.hub_ok)
        self.policy = LoadedPolicy(self.policy_choice, s.device, s.decoding)
        self.jobs = StorageCheckedJobs(s.data_dir)
        self.storage_problem: str | None = storage_status(s.data_dir)  # for the header; jobs ask again at start
        self.instructor = InstructorLock(s.instructor_key_sha256)
        self.root = Path(s.data_dir)
        self.checkpoint_dir = self.root / "ppo_checkpoints"
        self._built: dict[str, object] = {}
        self._building = threading.RLock()
        self.startup_seconds = time.perf_counter() - t0

    def _once(self, name: str, build: Callable[[], T]) -> T:
        """The service `name`, built by `build()` on first use."""
        with self._building:
            return self._built[name] if name in self._built else self._built.setdefault(name, build())

    # -- the arena: votes, their standings, who answers ------------------------------------------------------
    @property
    def votes(self) -> VoteStore:  # SQLite under the data dir; VoteError when the dir is not writable
        from rlhf_demo.arena.votes import VoteStore

        return self._once("votes", lambda: VoteStore(self.root / "votes.sqlite"))

    @property
    def standings(self) -> Standings:
        from rlhf_demo.arena.standings import Standings

        return self._once("standings", lambda: Standings(self.votes, self.root / "vote_filters.json"))

    @property
    def calibration(self) -> CalibrationStore:
        from rlhf_demo.arena.calibration import CalibrationStore

        return self._once("calibration", lambda: CalibrationStore(self.votes))

    @property
    def contestants(self) -> ContestantRegistry:
        from rlhf_demo.arena.contestants import arena_contestants
        from rlhf_demo.ppo.saved import scan_checkpoints

        return self._once("contestants", lambda: arena_contestants(
            self.policy.id, self.policy_choice.path, scan_checkpoints(self.checkpoint_dir)[0], self.dpo.adapters()))

    @property
    def arena(self) -> Arena:  # loads the policy; best-of-8 keeps the reply the active reward model likes best
        from rlhf_demo.arena.arena import policy_arena
        from rlhf_demo.data.prompts import arena_prompts

        return self._once("arena", lambda: policy_arena(self.votes, self.contestants, self.policy,
                                                        arena_prompts(self.data.source), self.reward.active_scorer))

    # -- the training stages --------------------------------------------------------------------------------
    @property
    def reward(self) -> RewardService:
        from rlhf_demo.arena.export import vote_pairs
        from rlhf_demo.reward.registry import RewardModelRegistry
        from rlhf_demo.reward.service import RewardService

        s = self.settings
        return self._once("reward", lambda: RewardService(
            RewardModelRegistry(self.root / "reward_models"), self.data.source, self.jobs,
            RewardBackbones(self.reward_choice, s.reward_backbone or "minilm", self.policy_choice, self.hub_ok,
                            s.allow_any_model),
            counted_votes=lambda: vote_pairs(self.votes, self.standings.filters), device=s.device))

    @property
    def gold(self) -> GoldChoice:
        from rlhf_demo.reward.gold import GoldChoice

        return self._once("gold", lambda: GoldChoice(self.root / "gold.json", self.reward.models))

    @property
    def ppo(self) -> PPOService:  # the one PPO run; its engine loads its OWN copy of the policy on first Start
        from rlhf_demo.ppo.service import ppo_service

        return self._once("ppo", lambda: ppo_service(self.root, self.jobs, self.reward, self.gold, self.policy,
                                                     self.data.source, lambda: self.contestants))

    @property
    def dpo(self) -> DPOService:
        from rlhf_demo.dpo.service import DPOService

        return self._once("dpo", lambda: DPOService(self.root / "dpo_adapters", self.jobs, self.reward,
                                                    self.policy_choice, lambda: self.contestants, self.settings.device))

    @property
    def frontier(self) -> FrontierService:
        from rlhf_demo.frontier.service import FrontierService
        from rlhf_demo.data.prompts import heldout_prompts

        return self._once("frontier", lambda: FrontierService(
            self.root / "frontier.json", self.jobs, self.reward.models, self.gold, self.policy,
            lambda n: heldout_prompts(self.data.source, n), lambda: self.contestants))

    @property
    def goodhart(self) -> GoldProxyService:  # the Compare tab's preset: a proxy learnt from the gold model's labels
        from rlhf_demo.data.prompts import training_prompts
        from rlhf_demo.frontier.gold_proxy import GoldProxyService

        return self._once("goodhart", lambda: GoldProxyService(
            self.root, self.jobs, self.reward, self.gold, self.policy, lambda: training_prompts(self.data.source),
            self.settings.reward_backbone or "minilm"))

    @property
    def export(self) -> ExportService:  # the Reward tab's "Export bundle": the active model, data, votes, policy
        from rlhf_demo.export.service import ExportService

        return self._once("export", lambda: ExportService(self.root, self.reward.models, self.data.source,
                                                          self.policy_choice, self.reward.counted_votes,
                                                          self.reward.data_warning))

    def describe(self) -> dict:  # what the app says about itself: the header, `info`
        src = self.data.source
        return {"data": src.description, "data_kind": src.kind, "data_note": self.data.note,
                "policy": self.policy_choice.label(), "policy_note": self.policy_choice.note,
                "policy_weights": self.policy_choice.weights, "reward_backbone": self.reward_choice.label(),
                "decoding": self.policy.decoding_status, "hub_reachable": self.hub_ok,
                "data_dir": str(self.settings.data_dir), "instructor_lock": self.instructor.enabled,
                "storage_problem": self.storage_problem}
