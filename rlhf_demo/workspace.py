"""The one shared state object of a running app: data, models, jobs (and, per tab, their stores).

Built once in ``app.py`` and passed explicitly to every UI module and to the CLI; nothing is kept in
module-level globals. Heavy things (the policy) load lazily on first use, so the app serves within
seconds and the Browse tab never waits for a model.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

from rlhf_demo.data.prompts import short_prompts
from rlhf_demo.data.sources import SourceChoice, hub_reachable, open_source
from rlhf_demo.jobs import StorageCheckedJobs
from rlhf_demo.lock import InstructorLock
from rlhf_demo.models.presets import (
    REWARD_BACKBONES,
    ModelChoice,
    format_prompt,
    load_policy,
    resolve_policy,
    resolve_reward_backbone,
)
from rlhf_demo.settings import Settings
from rlhf_demo.storage import storage_status

class Workspace:
    """Shared backend state. Thread-safe where handlers from many browsers meet."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        t0 = time.perf_counter()
        s = self.settings
        needs_hub = not s.offline and (s.data is None or s.policy not in ("tiny",) or s.reward_backbone not in (None, "minilm"))
        # the one Hub probe of the app (<= hub_timeout s), only when a choice could come from the Hub; every stage
        # below gets its result, never probes again
        self.hub_ok = hub_reachable(s.hub_timeout) if needs_hub else False
        self.data: SourceChoice = open_source(s.data, offline=s.offline, hub_ok=self.hub_ok, hub_timeout=s.hub_timeout)
        self.policy_choice: ModelChoice = resolve_policy(s.policy, self.hub_ok)
        self.reward_choice: ModelChoice = resolve_reward_backbone(s.reward_backbone, self.policy_choice, self.hub_ok)
        self.jobs = StorageCheckedJobs(s.data_dir)
        # can the app save anything? Asked once here for the header; training jobs ask again when they start
        self.storage_problem: str | None = storage_status(s.data_dir)
        self.lock = InstructorLock(s.instructor_key_sha256)
        self._policy = None
        self._policy_lock = threading.Lock()
        self._decoding = None  # (Backend, what was measured): resolved once, see `decoding()`
        self._decoding_lock = threading.Lock()
        self.decoding_status = ("measured when the policy loads" if self.settings.decoding == "auto"
                                else f"{self.settings.decoding} (--decoding)")
        self._lazy_lock = threading.RLock()  # guards the lazily built stores below
        self._votes = None
        self._arena = None
        self._contestants = None
        self._standings: tuple[tuple, dict] | None = None  # (standings_key(), standings) cache
        self._vote_filters = None  # (file signature, hygiene.VoteFilters): read again when the file changes
        self._calibration = None
        self._reward_models = None
        self._ppo = None
        self._lab = None
        self.skipped_contestants: list[str] = []  # saved checkpoints of another policy: not in this arena
        self.startup_seconds = time.perf_counter() - t0

    # -- paths ------------------------------------------------------------------------------
    def export_path(self, filename: str, keep: int = 20, max_age_seconds: float = 3600) -> Path:
        """Where a download (a votes export) is written: ONE folder per data dir in the system's temp dir (Gradio
        serves files from there), pruned at every call to the newest `keep` files of the last `max_age_seconds`."""
        import hashlib
        import tempfile

        key = hashlib.sha256(str(Path(self.settings.data_dir).resolve()).encode()).hexdigest()[:10]
        folder = Path(tempfile.gettempdir()) / f"rlhf-playground-exports-{key}"
        folder.mkdir(parents=True, exist_ok=True)
        files = sorted((f for f in folder.iterdir() if f.is_file()), key=lambda f: f.stat().st_mtime, reverse=True)
        now = time.time()
        for i, f in enumerate(files):
            if i >= keep - 1 or now - f.stat().st_mtime > max_age_seconds:
                f.unlink(missing_ok=True)
        return folder / filename

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

    def decoding(self):
        """(Backend, what was measured) that every sampler of the app uses (arena, PPO, evaluation, best-of-N, the
        frontier): --decoding, or with "auto" the fastest backend within MAX_KL of float32 on this machine, measured
        once on the loaded policy (~15 s) and cached on disk for the next start (`models/decoding.py`)."""
        from rlhf_demo.models.decoding import resolve, summary

        with self._decoding_lock:
            if self._decoding is None:
                model, tok = self.policy()

                def progress(text: str) -> None:
                    self.decoding_status = text + " …"

                self._decoding = resolve(self.settings.decoding, model, tok, progress=progress)
                self.decoding_status = summary(self._decoding[1]) + (" (--decoding)" if self._decoding[1].get("forced")
                                                                      else "")
            return self._decoding

    def warm_up(self) -> None:
        """Load the policy and pick the decoding backend now (in a background thread at start-up), so the first arena
        round waits for neither. The first run of the offline SmolLM2 also dequantises its GGUF here (~30 s, once)."""
        t0 = time.perf_counter()
        try:
            self.policy()
            print(f"[rlhf-playground] policy loaded in {time.perf_counter() - t0:.1f} s", flush=True)
            t0 = time.perf_counter()
            self.decoding()
            print(f"[rlhf-playground] decoding: {self.decoding_status} ({time.perf_counter() - t0:.1f} s)", flush=True)
        except Exception as e:  # the tabs that need the policy will show the error when they ask for it
            print(f"[rlhf-playground] could not load the policy: {e}", flush=True)

    @property
    def policy_loaded(self) -> bool:
        return self._policy is not None

    # -- votes and the arena ------------------------------------------------------------------
    @property
    def votes(self):
        """The vote store (SQLite under the data dir). Raises VoteError when the dir is not writable."""
        from rlhf_demo.arena.votes import VoteStore

        with self._lazy_lock:
            if self._votes is None:
                self._votes = VoteStore(Path(self.settings.data_dir) / "votes.sqlite")
            return self._votes

    @property
    def contestants(self):
        """Who answers in the arena: base-policy variants, later every saved PPO checkpoint."""
        from rlhf_demo.arena.contestants import ContestantRegistry, best_of_contestant

        with self._lazy_lock:
            if self._contestants is None:
                from rlhf_demo.ppo.session import scan_checkpoints

                registry = ContestantRegistry(policy_id=self.policy_id)
                # best-of-8: plays while a reward model is active (it keeps the best of 8 base replies)
                bon = best_of_contestant(8)
                registry.add(replace(bon, uid=f"{self.policy_id}-t{bon.temperature:g}-bo{bon.best_of}"))
                # rebuilt from disk: after a restart every complete checkpoint is a contestant again
                for c in scan_checkpoints(self.checkpoint_dir)[0]:
                    self._add_checkpoint_contestant(registry, c)
                for a in self.lab.dpo_adapters():  # and every DPO adapter (Compare tab)
                    self._add_checkpoint_contestant(registry, a, "DPO adapter")
                self._contestants = registry
            return self._contestants

    @property
    def policy_id(self) -> str:
        """A short immutable id of the base policy (which model, which weights): part of every base contestant's id."""
        import hashlib

        c = self.policy_choice
        return f"{c.name}-" + hashlib.sha256(f"{c.path}|{c.weights}".encode()).hexdigest()[:8]

    def _add_checkpoint_contestant(self, registry, info: dict, description: str = "PPO checkpoint") -> None:
        """A saved adapter (PPO checkpoint or DPO adapter) joins the arena if it was trained on the policy in use
        (else its adapter cannot load)."""
        import json

        try:
            base = json.loads((Path(info["path"]) / "adapter_config.json").read_text()).get("base_model_name_or_path")
        except (OSError, ValueError):
            return
        if base != self.policy_choice.path:
            self.skipped_contestants.append(f"{info['name']} (trained on {base})")
            return
        from rlhf_demo.arena.contestants import ArenaError

        try:
            registry.add_checkpoint(info["name"], info["path"], description=description, uid=info.get("uid") or None)
        except ArenaError as e:  # e.g. its weights are NaN or infinite: it could only fail every round
            self.skipped_contestants.append(f"{info['name']} ({getattr(e, 'reason', e)})")

    def arena_prompts(self, max_chars: int = 1500) -> list[str]:
        """Prompts for arena rounds: the conversations of the default split, short enough to answer quickly."""
        return short_prompts(self.data.source.load(), max_chars)

    @property
    def arena(self):
        """The arena (loads the policy on first use)."""
        from rlhf_demo.arena.arena import Arena, prompt_picker
        from rlhf_demo.arena.generator import PolicyGenerator

        with self._lazy_lock:
            if self._arena is None:
                model, tok = self.policy()
                gen = PolicyGenerator(model, tok, max_new_tokens=48, format_prompt=lambda p: format_prompt(tok, p),
                                      decoding=self.decoding()[0])
                gen.best_of_scorer = self._best_of_scorer
                self._arena = Arena(self.votes, self.contestants, gen, prompt_picker(self.arena_prompts()))
            return self._arena

    def _best_of_scorer(self):
        """(name, model) of the active reward model, which picks the best-of-N contestant's reply; None without one."""
        name = self.reward_models.active
        return None if name is None else (name, self.reward_models.load(name, self.settings.device))

    def standings_key(self) -> tuple:
        """What the standings depend on: (active votes, all votes, filters). Cheap: polls compare it."""
        store = self.votes
        return store.count(), store.count(include_archived=True), self.vote_filters

    def standings(self, n_bootstrap: int = 200) -> dict:
        """Leaderboard, win matrix and agreement of the COUNTED votes (the saved `vote_filters` applied), with the
        filter report ("report": `hygiene.FilterReport`); recomputed only when `standings_key()` changed."""
        from rlhf_demo.arena.hygiene import apply_filters
        from rlhf_demo.arena.ranking import agreement, leaderboard, win_matrix
        from rlhf_demo.arena.votes import distinct_models

        key = self.standings_key()
        with self._lazy_lock:
            if self._standings is not None and self._standings[0] == key:
                return self._standings[1]
        stored = self.votes.votes()
        counted, report = apply_filters(stored, key[2])
        records = distinct_models(counted)  # one name never stands for two different models
        out = {"votes": len(stored), "counted": len(records), "archived": key[1] - len(stored), "report": report,
               "board": leaderboard(records, n_bootstrap=n_bootstrap),
               "matrix": win_matrix(records) if records else None,
               "agreement": agreement(records) if records else None}
        with self._lazy_lock:
            self._standings = ((len(stored), key[1], key[2]), out)
        return out

    @property
    def vote_filters(self):
        """Which votes count (`hygiene.VoteFilters`), saved in <data dir>/vote_filters.json; defaults until set. Read
        from the file again whenever it changed (its inode, size or mtime): whoever saved it, this app or a tool."""
        from rlhf_demo.arena.hygiene import load_filters

        path = Path(self.settings.data_dir) / "vote_filters.json"
        with self._lazy_lock:
            sig = _file_signature(path)
            if self._vote_filters is None or self._vote_filters[0] != sig:
                self._vote_filters = (sig, load_filters(path))
            return self._vote_filters[1]

    def set_vote_filters(self, filters) -> None:
        """Save new filters (an instructor action: the caller checks the lock); the standings follow at once."""
        from rlhf_demo.arena.hygiene import save_filters

        path = self.path("vote_filters.json")
        with self._lazy_lock:
            save_filters(path, filters)
            self._vote_filters = (_file_signature(path), filters)

    @property
    def calibration(self):
        """Calibration sets and judgements (`arena.calibration.CalibrationStore`), in the vote file."""
        from rlhf_demo.arena.calibration import CalibrationStore

        with self._lazy_lock:
            if self._calibration is None:
                self._calibration = CalibrationStore(self.votes)
            return self._calibration

    # -- reward models ------------------------------------------------------------------------------
    @property
    def reward_models(self):
        """Saved reward models under <data dir>/reward_models, one of them active (what PPO optimises)."""
        from rlhf_demo.reward.registry import RewardModelRegistry

        with self._lazy_lock:
            if self._reward_models is None:
                self._reward_models = RewardModelRegistry(Path(self.settings.data_dir) / "reward_models")
            return self._reward_models

    def reward_data_warning(self) -> str | None:
        """A warning when the active reward model was trained on other data than what is loaded now (its scores and
        its "disagrees with humans" verdicts would mislead), else None."""
        from rlhf_demo.reward.registry import trained_on_text

        active = self.reward_models.active
        if active is None:
            return None
        trained_on = (self.reward_models.info(active) or {}).get("trained_on") or {}
        if trained_on.get("source") == self.data.source.identity:
            return None
        what = (f"was trained on {trained_on_text(trained_on)}, not on the data loaded now" if trained_on.get("source")
                else "does not record what it was trained on (saved by an older version): maybe not on the data "
                     "loaded now")
        return (f"The active reward model {active} {what} ({self.data.source.description}): its scores here may "
                "mislead. Train one on this data in tab 3, or make another model active.")

    def reward_backbone(self, name: str | None = None) -> ModelChoice:
        """A reward backbone name resolved with what start-up found (the policy in use, the Hub's reachability):
        never a new Hub probe. ``None`` or the start-up choice's own name gives the start-up choice."""
        if name is None or name == (self.settings.reward_backbone or "minilm"):
            return self.reward_choice
        if name not in REWARD_BACKBONES and not self.settings.allow_any_model:
            raise ValueError(f"Reward backbone {name[:200]!r}: this app offers the presets {', '.join(REWARD_BACKBONES)}. "
                             "Whoever starts it can allow any folder or Hub id with --allow-any-model.")
        return resolve_reward_backbone(name, self.policy_choice, self.hub_ok)

    def prompts_for_training(self, max_chars: int = 1500) -> list[str]:
        """PPO's prompt pool: the train split of the default subset (the held-out split stays for evaluation)."""
        src = self.data.source
        subset, split = src.default()
        if "train" in src.splits(subset):
            split = "train"
        return short_prompts(src.load(subset, split), max_chars)

    def heldout_prompts(self, n: int, max_chars: int = 1500, seed: int = 0) -> list[str]:
        """`n` distinct prompts of the held-out split (`test` when the default subset has one), a seeded sample:
        what PPO's gold evaluation and the frontier measure on, never trained on (PPO draws from `train`)."""
        import random

        src = self.data.source
        subset, split = src.default()
        if "test" in src.splits(subset):
            split = "test"
        prompts = list(dict.fromkeys(short_prompts(src.load(subset, split), max_chars)))
        return random.Random(seed).sample(prompts, min(n, len(prompts)))

    @property
    def lab(self):
        """The optimisation lab (`compare.lab.CompareLab`): gold model, DPO adapters, the last frontier."""
        from rlhf_demo.compare.lab import CompareLab

        with self._lazy_lock:
            if self._lab is None:
                self._lab = CompareLab(self.settings.data_dir, self.reward_models)
            return self._lab

    def _make_gold(self):
        """(name, loaded model) of the gold reward model for a PPO run, or None when there is no other model."""
        name = self.lab.gold_name()
        return None if name is None else (name, self.reward_models.load(name, self.settings.device))

    # -- PPO -------------------------------------------------------------------------------------------
    @property
    def checkpoint_dir(self) -> Path:
        return Path(self.settings.data_dir) / "ppo_checkpoints"

    @property
    def ppo(self):
        """The app's PPO session: built lazily; its engine loads its OWN copy of the policy on first Start."""
        from rlhf_demo.ppo.config import PPOConfig
        from rlhf_demo.ppo.overopt import EVAL_PROMPTS
        from rlhf_demo.ppo.session import PPOSession

        with self._lazy_lock:
            if self._ppo is None:
                self._ppo = PPOSession(make_engine=self._make_ppo_engine,
                                       checkpoint_dir=self.checkpoint_dir,
                                       autosave_dir=Path(self.settings.data_dir) / "ppo_autosave",
                                       config=PPOConfig(),
                                       on_checkpoint=lambda info: self._add_checkpoint_contestant(self.contestants, info),
                                       name_taken=lambda name: name in self.contestants,
                                       make_gold=self._make_gold, eval_prompts=tuple(self.heldout_prompts(EVAL_PROMPTS)))
            return self._ppo

    def _make_ppo_engine(self, config):
        from rlhf_demo.ppo.engine import PPOEngine

        name = self.reward_models.active
        if name is None:
            raise ValueError("No active reward model: train one in the Reward model tab first (a few minutes on a CPU).")
        reward = self.reward_models.load(name, self.settings.device)
        # PPO wraps its policy with LoRA in place, so it gets its own copy: the arena keeps the untouched base
        model, tok = load_policy(self.policy_choice, self.settings.device)
        self.ppo.reward_name = name
        return PPOEngine(model, tok, reward, self.prompts_for_training(), config, device=self.settings.device,
                         format_prompt=lambda p: format_prompt(tok, p), decoding=self.decoding()[0])

    # -- what the UI shows about itself ---------------------------------------------------------
    def describe(self) -> dict:
        src = self.data.source
        return {
            "data": src.description,
            "data_kind": src.kind,
            "data_note": self.data.note,
            "policy": self.policy_choice.label(),
            "policy_note": self.policy_choice.note,
            "policy_weights": self.policy_choice.weights,
            "reward_backbone": self.reward_choice.label(),
            "decoding": self.decoding_status,
            "hub_reachable": self.hub_ok,
            "data_dir": str(self.settings.data_dir),
            "instructor_lock": self.lock.enabled,
            "storage_problem": self.storage_problem,
        }


def _file_signature(path: Path) -> tuple | None:
    """What changes when a file is replaced or rewritten (an atomic save makes a new inode), None when missing."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns
