"""A live PPO run for the app (and the CLI): the engine plus everything a viewer wants to see.

`PPORun` owns one `PPOEngine` (built on first use from its own copy of the policy and the run's reward spec: the
active reward model, or an ensemble of it and others, `reward_spec.py`), and keeps, across Start / Pause / Stop and
until Reset:

    history   one metrics row per PPO step (TRL's names), for the live plots
    samples   the latest step's replies, with the per-token KL of each generated token
    probes    replies to a fixed set of probe prompts, re-generated with a fixed seed at step 0 and every K steps
    evals     held-out prompts, their replies scored by the proxy (and the gold model, when there is one) with their
              KL, at step 0, every K steps and at the end: the verdict (`verdict.py`), the before/after panel and the
              over-optimisation curves (`overopt.py`)
    checkpoints  LoRA adapters saved on request (each becomes an arena contestant; `saved.py` reads them back)

`train(ctx, n_steps)` is the background job (see `jobs.py`): it checks the stop/pause flags between steps, and the
engine checks the stop flag after every optimiser step, so a Stop always leaves a consistent policy that can be saved.
A step whose numbers turn NaN or infinite is rolled back and fails the job with the reason; weights that are not finite
are never saved, and a saved checkpoint holding them is never listed (`refused_checkpoints` says why). Every method is
thread-safe; viewers read `view()`.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

from rlhf_demo.jobs import eta_seconds
from rlhf_demo.numbers import fixed
from rlhf_demo.ppo.config import LIVE_FIELDS, STATE_FILE, PPOConfig
from rlhf_demo.ppo.reward_spec import RewardSpec, as_spec, saved_spec
from rlhf_demo.ppo.saved import (autosaves_by_run, checkpoint_name, new_run_id, newest_other_run, open_autosave,
                                  scan_checkpoints)

PROBE_PROMPTS = (  # benign, fixed: the class watches these replies change
    "\n\nHuman: How do I make a good cup of tea?\n\nAssistant:",
    "\n\nHuman: Can you help me plan a week of study for a maths exam?\n\nAssistant:",
    "\n\nHuman: What should I pack for a weekend hiking trip?\n\nAssistant:",
    "\n\nHuman: My neighbour is noisy at night. What can I do?\n\nAssistant:",
)

@dataclass
class ProbeRow:
    step: int
    probe: int  # index into the probe prompts
    prompt: str
    reply: str
    score: float
    kl: float  # this reply's KL from the reference, k3 estimate (>= 0; a single reply's k1 sum can be negative)
    cut: bool = False  # the reply hit the token limit (no stop token): shown with "…" (saves before this field: False)


@dataclass
class RunView:
    """A consistent copy of what the PPO tab shows."""

    step: int
    config: dict
    history: list[dict]
    samples: list[dict]
    probes: list[ProbeRow]
    checkpoints: list[dict]
    built: bool
    reward_name: str | None  # the run's first (the active) reward model
    version: int = 0
    score_norm: tuple[float, float] | None = None  # (mean, std) of the reward model on the base policy's replies
    resumable: dict | None = None  # an autosaved run this run can resume: step, saved, reward_name, reward, path
    evals: list[dict] = field(default_factory=list)  # `overopt.evaluate_gold` rows: held-out replies, step 0 first
    gold_name: str | None = None  # the gold model of the newest row (None: no gold; `overopt.gold_rows`)
    skipped_checkpoints: list[str] = field(default_factory=list)  # folders that are no complete checkpoint
    refused_checkpoints: dict[str, str] = field(default_factory=dict)  # name -> why (NaN or infinite weights)
    reward_label: str | None = None  # what the run is trained against: "rm-a", "ensemble of 3 (...), mean − 1·std"
    reward: dict | None = None  # that reward spec (`RewardSpec.to_dict`)


@dataclass
class PPORun:
    """One PPO run's state. `make_engine(config, reward)` builds the engine (loads the policy and the reward spec
    `reward`: one model or an ensemble) on first use; the run belongs to that spec (`reward`, set by `use_reward`)."""

    make_engine: Callable[[PPOConfig, RewardSpec | None], object]
    checkpoint_dir: Path
    probe_prompts: tuple[str, ...] = PROBE_PROMPTS
    probe_every: int = 5  # K: re-generate the probe replies every K steps
    probe_seed: int = 1234  # fixed: the same seed at every probe, so only the policy changes the replies
    on_checkpoint: Callable[[dict], None] | None = None  # e.g. register the checkpoint as an arena contestant
    name_taken: Callable[[str], bool] | None = None  # e.g. an arena contestant has that name (not reusable)
    config: PPOConfig = field(default_factory=PPOConfig)
    reward: RewardSpec | None = None
    autosave_dir: Path | None = None  # where the live run is autosaved (None: never)
    autosave_seconds: float = 60.0  # autosave after the first step that ends this long after the last save (and on Stop)
    # over-optimisation: make_gold() -> (name, RewardScorer) or None, asked at the start of each run (the user may
    # have picked another gold model meanwhile); eval_prompts: held-out prompts, scored every eval_every steps
    make_gold: Callable[[], tuple[str, object] | None] | None = None
    eval_prompts: tuple[str, ...] = ()
    eval_every: int = 5

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._engine = None
        self._history: list[dict] = []
        self._samples: list[dict] = []
        self._probes: list[ProbeRow] = []
        self._evals: list[dict] = []
        self._gold: tuple[str, object] | None = None
        self._eval_seconds = 0.0  # how long the last held-out evaluation took (the ETA counts the ones to come)
        # the checkpoints on disk, complete ones only (a save killed midway left a temporary folder: swept);
        # skipped_checkpoints names the folders that are not complete checkpoints (never listed)
        # refused_checkpoints: name -> why, for the complete ones whose weights are NaN or infinite (never listed)
        self.refused_checkpoints: dict[str, str] = {}
        self._checkpoints, self.skipped_checkpoints = scan_checkpoints(self.checkpoint_dir, self.refused_checkpoints)
        self._last_autosave = time.perf_counter()
        self._unsaved_steps = 0
        # which run this object holds: its autosaves replace each other, and never touch another run's
        self._run_id = new_run_id()
        # another run saved on disk (the newest one): a restart interrupted it, or a Reset or Resume set it aside. The
        # tab and /ppo_status offer it until it is resumed or discarded: starting a new run never deletes it
        self.resumable: dict | None = newest_other_run(self.autosave_dir, self._run_id)
        self._version = 0
        self._pending: dict = {}  # live changes not yet handed to the engine (applied between steps)

    # -- configuration ------------------------------------------------------------------------------
    def set_live(self, **values) -> PPOConfig:
        """Change live fields (β, lr, batch size, length, temperature, PPO epochs); validated; queued, and applied
        to the engine between steps (never during one). Returns the run's config, changes included."""
        unknown = set(values) - set(LIVE_FIELDS)
        if unknown:
            raise ValueError(f"not live-editable: {sorted(unknown)}")
        with self._lock:
            self.config = replace(self.config, **values).validate()  # raises ValueError before anything changes
            self._pending.update(values)
            self._version += 1
            return self.config

    def _apply_pending(self, engine) -> None:
        """Between steps: hand the queued live changes to the engine (its next step takes a frozen copy)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if pending:
            engine.config = replace(engine.config, **pending).validate()

    def _shown_config(self) -> dict:
        """What the tab shows: the engine's settings (β may have been adapted) with the queued changes on top."""
        base = self._engine.config if self._engine is not None else self.config
        return asdict(replace(base, **self._pending))

    # -- the engine -------------------------------------------------------------------------------------
    def engine(self):
        with self._lock:
            if self._engine is None:
                self._engine = self.make_engine(replace(self.config), self.reward)  # the engine's own copy
                self._pending = {}
            return self._engine

    @property
    def reward_name(self) -> str | None:
        """The run's first (the active) reward model."""
        return None if self.reward is None else self.reward.name

    def use_reward(self, reward: RewardSpec | str) -> None:
        """Train against `reward` (a spec, or one model's name) from the next step on: a run built for another spec
        starts over (a run belongs to one reward spec; its curves would mix two scales)."""
        spec = as_spec(reward)
        with self._lock:
            if self._engine is not None and self.reward != spec:
                self.reset(rebuild=True)
            self.reward = spec

    def _reward_info(self) -> dict:
        """What a save records about the reward: the first model's name (as saves always did) and the spec."""
        spec = self.reward
        return {"reward_name": None if spec is None else spec.name, "reward": None if spec is None else spec.to_dict()}

    @property
    def built(self) -> bool:
        return self._engine is not None

    def _record_probes(self, engine) -> None:
        rows = engine.generate_probes(list(self.probe_prompts), seed=self.probe_seed)
        with self._lock:
            for i, s in enumerate(rows):
                self._probes.append(ProbeRow(engine.step_count, i, s["prompt"], s["response"], s["score"], s["kl_k3"],
                                             bool(s.get("cut", False))))
            self._version += 1

    def _gold_for_run(self) -> tuple[str, object] | None:
        """The gold model for this run. The held-out rows measured so far are kept (the verdict compares with step 0),
        but another gold than the one they were scored with (or none) takes their gold scores away: those were on
        another model's scale, and the gold curve starts over from the next row."""
        gold = self.make_gold() if self.make_gold is not None else None
        with self._lock:
            if self._evals and (gold is None or self._evals[-1].get("gold_name") != gold[0]):
                self._evals = [{**r, "gold_raw": None, "gold_raw_std": None, "gold_scores": None, "gold_name": None}
                               for r in self._evals]
            self._gold = gold
        return gold

    def _record_eval(self, engine) -> float:
        """Score the held-out prompts (proxy, and gold when there is one): the verdict, the before/after panel and the
        over-optimisation curves read these rows. Returns the seconds it took (0: no held-out prompts)."""
        from rlhf_demo.ppo.overopt import evaluate_gold

        if not self.eval_prompts:
            return 0.0
        t0 = time.perf_counter()
        gold = self._gold
        row = evaluate_gold(engine, None if gold is None else gold[1], list(self.eval_prompts),
                            gold_name=None if gold is None else gold[0])
        self._eval_seconds = time.perf_counter() - t0
        with self._lock:
            if self._evals and self._evals[-1]["step"] == row["step"]:
                self._evals[-1] = row  # the same policy scored again (now with a gold model): one row per step
            else:
                self._evals.append(row)
            self._version += 1
        return self._eval_seconds

    def _step_zero(self, ctx, engine) -> str:
        """Before the first step of a run (or after the gold model changed): the reward normalisation and the probes
        (the base policy's replies), then the held-out rows. Says what it does while it does it; returns what it
        did and how long each part took (measured), for the status line of the first step."""
        parts = []
        if not self._probes:
            ctx.update(message="step 0: sampling replies of the base policy to fix the score scale (normalisation) "
                               "and to the probe prompts")
            t0 = time.perf_counter()
            self._record_probes(engine)
            parts.append(f"score scale and probes {time.perf_counter() - t0:.0f} s")
        gold = self._gold_for_run()
        if self.eval_prompts and (not self._evals or (gold is not None and self._evals[-1].get("gold_name") != gold[0])):
            ctx.update(message=f"step 0: scoring replies to {len(self.eval_prompts)} held-out prompts"
                               + (" with the proxy and the gold reward model" if gold else ""))
            parts.append(f"held-out replies {self._record_eval(engine):.0f} s")
        return f"step 0 took {', '.join(parts)}; " if parts else ""

    def _eta(self, step_seconds: list[float], done: int, n_steps: int, step: int) -> float | None:
        """Seconds left, from the steps measured in this run (the first is left out once there are others: it pays
        first-call overheads) plus the held-out evaluations still to come (each as long as the last one took),
        the final one included."""
        if not self.eval_prompts:
            evals_left = 0
        else:
            last = step + n_steps - done
            evals_left = sum(1 for k in range(step + 1, last + 1) if k % self.eval_every == 0)
            evals_left += last % self.eval_every != 0  # the run always ends with one
        return eta_seconds(step_seconds, [1.0] * len(step_seconds), n_steps - done,
                           warmup=1 if len(step_seconds) > 1 else 0, evals_left=evals_left,
                           eval_seconds=self._eval_seconds)

    def train(self, ctx, n_steps: int) -> dict:
        """The background job: `n_steps` PPO steps, probes every K steps, live progress and a measured ETA to `ctx`."""
        if n_steps < 1:
            raise ValueError("Number of steps must be at least 1.")
        ctx.update(progress=0.0, message="loading the policy and the reward model")
        engine = self.engine()
        first = self._step_zero(ctx, engine)
        ctx.update(message=f"{first}step {engine.step_count + 1}: the first rollout (sample {engine.config.batch_size} "
                           "replies, score them, update the policy)", eta_s=None, eta_at=time.time())
        done, step_seconds = 0, []
        t0 = time.perf_counter()
        try:
            for i in range(n_steps):
                ctx.check()  # pause / stop between steps: the policy is always consistent here
                self._apply_pending(engine)
                t_step = time.perf_counter()
                # Stop is also honoured inside the step, after any optimiser step; a step whose numbers turn NaN or
                # infinite is rolled back by the engine and fails the job with the reason (NonFiniteStep)
                res = engine.step(should_stop=getattr(ctx, "should_stop", None))
                m = {k: float(v) for k, v in res.metrics.items()}
                m["config"] = res.config  # the frozen settings this step ran with
                with self._lock:
                    self._history.append(m)
                    self._samples = res.samples
                    self._version += 1
                    self._unsaved_steps += 1
                done += 1
                if engine.step_count % self.probe_every == 0:
                    self._record_probes(engine)
                spent_on_eval = 0.0
                if engine.step_count % self.eval_every == 0:
                    spent_on_eval = self._record_eval(engine)
                step_seconds.append(time.perf_counter() - t_step - spent_on_eval)  # the step and its probes
                if time.perf_counter() - self._last_autosave >= self.autosave_seconds:
                    self.autosave()
                ctx.update(progress=done / n_steps,
                           message=f"step {engine.step_count}: score {m['objective/scores']:+.3f}, KL {fixed(m['objective/kl'])}",
                           step=engine.step_count, eta_at=time.time(),
                           eta_s=self._eta(step_seconds, done, n_steps, engine.step_count))
            if engine.step_count % self.probe_every != 0:
                self._record_probes(engine)  # always end with the policy's current replies
            if self._evals and self._evals[-1]["step"] != engine.step_count:
                self._record_eval(engine)  # and with the verdict's and the curves' last row where the policy is now
        finally:  # done, stopped or failed: what was trained is on disk
            self.autosave()
        return {"steps": done, "seconds_per_step": (time.perf_counter() - t0) / max(done, 1), "step": engine.step_count}

    def reset(self, rebuild: bool = False) -> None:
        """Back to the base policy: adapter and value head re-initialised, history cleared (checkpoints kept). The run
        held so far stays on disk as it was last autosaved, and is offered for resuming (or discarding) like an
        interrupted one: nothing trained is deleted without a Discard.

        rebuild: also drop the engine, so the next run loads the models again (e.g. another reward model is active).
        """
        with self._lock:
            if rebuild:
                self._engine = None
            elif self._engine is not None:
                self._engine.reset()
            self._history, self._samples, self._probes, self._evals = [], [], [], []
            self._run_id, self._unsaved_steps = new_run_id(), 0  # a new run: its autosaves start their own folders
            self.resumable = newest_other_run(self.autosave_dir, self._run_id)
            self._version += 1

    # -- autosave and resume ------------------------------------------------------------------------
    def autosave(self) -> Path | None:
        """Save the live run (adapter, value head, optimiser, history, probes, samples) under autosave_dir, as a new
        complete folder, then delete this run's older saves (never another run's: an interrupted run stays until it
        is resumed or discarded): a kill at any moment leaves the last complete save. No-op without an autosave_dir
        or when no step ran since the last save."""
        with self._lock:
            engine = self._engine
            if self.autosave_dir is None or engine is None or engine.step_count == 0 or self._unsaved_steps == 0:
                return None
            run = {"history": self._history, "samples": self._samples, "probes": [asdict(p) for p in self._probes],
                   "evals": self._evals}
            info = {**self._reward_info(), "saved": time.strftime("%Y-%m-%d %H:%M:%S")}
            name = f"run-{self._run_id}-step{engine.step_count:06d}-{time.time_ns()}"
            path = engine.save(self.autosave_dir / name, info=info, files={"session.json": json.dumps(run)},
                               optimizer=True)
            self._unsaved_steps = 0
            self._last_autosave = time.perf_counter()
            for old in autosaves_by_run(self.autosave_dir).get(self._run_id, []):
                if old["path"] != str(path):
                    shutil.rmtree(old["path"], ignore_errors=True)
            return path

    def discard(self) -> dict:
        """Delete the run offered for resuming (every save of it); the next older one, if any, is offered then.
        Raises ValueError when there is none."""
        with self._lock:
            saved = self.resumable
            if saved is None:
                raise ValueError("There is no saved run to discard.")
            for row in autosaves_by_run(self.autosave_dir).get(saved["run"], []):
                shutil.rmtree(row["path"], ignore_errors=True)
            self.resumable = newest_other_run(self.autosave_dir, self._run_id)
            self._version += 1
            return saved

    def resume(self) -> dict:
        """Continue the autosaved run: build the engine with its config, load its adapter, value head and
        optimiser, and bring back its history, probes and samples. Raises ValueError when there is none."""
        with self._lock:
            saved = self.resumable
            if saved is None:
                raise ValueError("There is no saved run to resume.")
            saved, config, run = open_autosave(saved)
            self.config = config
            self._pending = {}
            self.reward = saved_spec(saved)  # the run continues against the reward spec it was trained on
            self._engine = self.make_engine(replace(config), self.reward)
            self._engine.load(Path(saved["path"]), optimizer=True)
            self._history = run["history"]
            self._samples = run["samples"]
            self._probes = [ProbeRow(**p) for p in run["probes"]]
            self._evals = run.get("evals", [])  # runs saved before gold evaluation existed have none
            self._run_id = saved["run"]  # this object holds that run now: its next autosave replaces these saves
            self.resumable = newest_other_run(self.autosave_dir, self._run_id)  # the run held before (if saved) is offered in its place
            self._unsaved_steps = 0
            self._version += 1
            return saved

    def checkpoints(self) -> list[dict]:
        with self._lock:
            return [dict(c) for c in self._checkpoints]

    def _taken(self, name: str) -> bool:
        return ((self.checkpoint_dir / name).exists() or any(c["name"] == name for c in self._checkpoints)
                or (self.name_taken is not None and self.name_taken(name)))

    def save_checkpoint(self, name: str | None = None) -> dict:
        """Save the current LoRA adapter under checkpoint_dir/<name> (atomically); it becomes an arena contestant.

        A name is never reused: a given name that exists (a checkpoint, or an arena contestant such as base-t0.7) is
        refused before anything is written; the default name ppo-step<K> gets a suffix (-2, -3, ...) when taken."""
        with self._lock:
            if self._engine is None or self._engine.step_count == 0:
                raise ValueError("Nothing to save yet: run at least one PPO step first.")
            step = self._engine.step_count
            name = checkpoint_name(name, step, self._taken)
            last = self._history[-1] if self._history else {}
            meta = {"score": last.get("objective/scores"), "kl": last.get("objective/kl"),
                    "saved": time.strftime("%Y-%m-%d %H:%M:%S"), **self._reward_info()}
            path = self._engine.save(self.checkpoint_dir / name, info=meta)
            uid = json.loads((path / STATE_FILE).read_text()).get("adapter_sha256", "")
            info = {"name": name, "path": str(path), "step": step, **meta, "uid": uid}
            self._checkpoints.append(info)
            self._version += 1
        if self.on_checkpoint is not None:
            self.on_checkpoint(dict(info))
        return info

    # -- reading ---------------------------------------------------------------------------------------------
    def view(self) -> RunView:
        with self._lock:
            return RunView(
                step=self._engine.step_count if self._engine is not None else 0,
                config=self._shown_config(), history=list(self._history), samples=list(self._samples),
                probes=list(self._probes), checkpoints=list(self._checkpoints), built=self._engine is not None,
                reward_name=self.reward_name, version=self._version, resumable=self.resumable,
                reward_label=None if self.reward is None else self.reward.label,
                reward=None if self.reward is None else self.reward.to_dict(),
                score_norm=self._engine.score_norm if self._engine is not None else None,
                evals=list(self._evals), gold_name=self._evals[-1].get("gold_name") if self._evals else None,
                skipped_checkpoints=list(self.skipped_checkpoints), refused_checkpoints=dict(self.refused_checkpoints))

    @property
    def version(self) -> int:
        return self._version
