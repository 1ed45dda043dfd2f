"""The PPO stage as the app drives it: one shared run, started, paused, stopped, reset and resumed by its instructor.

Every action here is written once and called by the PPO tab, its API endpoints and the tests alike. The tab only
turns a click into a call; this file decides what the call means for the shared run:

- a run belongs to one reward spec (what it was trained against, `reward_spec.py`): the active reward model alone,
  or an ensemble of it and other saved models the instructor picked ("Ensemble with", mean − λ·std or min). Start on
  a run built for another spec starts over against the one picked now; Resume makes the saved run's models active and
  picked again; Reset rebuilds when the spec changed. The gold model is never a member of the ensemble.
- live settings are queued and applied between steps (`PPORun.set_live`), only the fields of `LIVE_FIELDS`.

Errors the user can fix are `ValueError`s with a sentence to show; the UI shows them as they are.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Callable

from rlhf_demo.config_base import is_number
from rlhf_demo.jobs import JobRunner
from rlhf_demo.models.loaded import LoadedPolicy
from rlhf_demo.ppo.config import GROUP_SIZE, LIVE_FIELDS, PPOConfig
from rlhf_demo.ppo.reward_spec import RewardSpec, as_spec, check_not_gold, load_scorer, saved_spec, spec_label
from rlhf_demo.ppo.run import PPORun
from rlhf_demo.reward.ensemble import DEFAULT_LAMBDA, MODES
from rlhf_demo.ppo.verdict import Verdict, heldout_verdict
from rlhf_demo.reward.registry import RewardModelRegistry
from rlhf_demo.settings import shorten

JOB = "ppo"  # the job kind of a PPO run on the app's job runner
DEFAULT_STEPS = 20  # "Steps to run" before anyone pressed Start

# What a user sets live (the controls of the PPO tab, /ppo_settings): every live field but the replies per prompt,
# which follow the baseline (the group baseline compares GROUP_SIZE replies to each prompt, the value head needs 1)
SETTABLE = tuple(f for f in LIVE_FIELDS if f != "samples_per_prompt")

# The reward-hacking demo (the PPO tab's button, benchmarks/ppo_learning.py): no KL leash, a larger step size.
HACK_SETTINGS = {"kl_coef": 0.0, "learning_rate": 3e-3}


def resumable_info(saved: dict | None) -> dict | None:
    """The saved run that can be resumed, as /ppo_status tells it (None: there is none)."""
    if not saved:
        return None
    return {"step": saved["step"], "saved": saved["saved"], "reward_model": saved["reward_name"],
            "reward": spec_label(saved)}


def engine_factory(models: RewardModelRegistry, policy: LoadedPolicy, prompts: Callable[[], list[str]]):
    """`make_engine(config, reward)` for the app's run: the reward spec `reward` (one saved model, or an ensemble of
    several), and a copy of the policy of its OWN (PPO wraps it with LoRA in place; the arena keeps the untouched
    base), trained on `prompts()`."""

    def make_engine(config: PPOConfig, reward: RewardSpec | str | None):
        from rlhf_demo.models.presets import format_prompt
        from rlhf_demo.ppo.engine import PPOEngine

        spec = as_spec(reward)
        if spec is None:
            raise ValueError("No active reward model: train one in the Reward model tab first.")
        reward = load_scorer(spec, lambda name: models.load(name, policy.device))
        model, tok = policy.fresh_copy()
        return PPOEngine(model, tok, reward, prompts(), config, device=policy.device,
                         format_prompt=lambda p: format_prompt(tok, p), decoding=policy.backend())

    return make_engine


class PPOService:
    """Start, pause, stop, reset, resume, discard and live settings of the app's one PPO run."""

    def __init__(self, run: PPORun, jobs: JobRunner, reward_models: RewardModelRegistry, hack_steps: int = 30,
                 gold: Callable[[], str | None] | None = None):
        self.run = run
        self.jobs = jobs
        self.reward_models = reward_models
        self.hack_steps = hack_steps  # steps of the reward-hacking demo (about 10 minutes on 2 CPU cores)
        self.steps_to_run = DEFAULT_STEPS  # what the last Start asked for (or the demo offers): every page shows it
        self.gold = gold or (lambda: None)  # the gold model's name now: never a member of the ensemble
        # the next Start's ensemble: other saved models trained against with the active one ([] = the active alone)
        self.ensemble_with: list[str] = []
        self.ensemble_mode, self.ensemble_lambda = "mean-std", DEFAULT_LAMBDA

    @property
    def running(self) -> bool:
        return self.jobs.snapshot(JOB).active

    def next_spec(self) -> RewardSpec | None:
        """What the next Start trains against: the active model, with the ensemble members picked (None: no active
        model)."""
        active = self.reward_models.active
        if active is None:
            return None
        members = [m for m in self.ensemble_with if m != active]
        return RewardSpec((active, *members), self.ensemble_mode, self.ensemble_lambda)

    def set_ensemble(self, members: list[str] | None = None, mode: str | None = None,
                     lam: float | None = None) -> dict:
        """Pick what the next Start trains against with the active model (only what is given, not None): `members`,
        other saved models ([] = the active model alone), scored as one by `mode` (mean-std: mean − λ·std; min).
        Refused: an unknown model, a bad mode or λ, the gold model as a member. A run trained against another
        spec starts over at the next Start (as when another model becomes active). Returns `ensemble_info()`."""
        active = self.reward_models.active
        members = self.ensemble_with if members is None else [members] if isinstance(members, str) else members
        members = [m for m in dict.fromkeys(m for m in members if m) if m != active]
        mode = self.ensemble_mode if mode is None else mode
        lam = self.ensemble_lambda if lam is None else lam
        if mode not in MODES:
            raise ValueError(f"The ensemble's score must be one of {', '.join(MODES)}, got {shorten(str(mode))}.")
        if not is_number(lam) or lam < 0:
            raise ValueError(f"The ensemble's λ must be a number >= 0, got {shorten(str(lam))}.")
        for name in members:
            if not isinstance(name, str) or not self.reward_models.exists(name):
                raise ValueError(f"No saved reward model named {shorten(str(name))}.")
        check_not_gold(members, self.gold())
        self.ensemble_with, self.ensemble_mode, self.ensemble_lambda = members, mode, float(lam)
        return self.ensemble_info()

    def ensemble_info(self) -> dict:
        """The ensemble picked for the next Start, and the spec it makes with the active model."""
        spec = self.next_spec()
        return {"with": list(self.ensemble_with), "mode": self.ensemble_mode, "lambda": self.ensemble_lambda,
                "next": None if spec is None else spec.to_dict()}

    def ensemble_candidates(self) -> list[dict]:
        """The saved models the ensemble may take besides the active one: {name, gold} (the gold one is refused)."""
        models = self.reward_models.list()
        active, gold = self.reward_models.active, self.gold()
        return [{"name": m["name"], "gold": m["name"] == gold} for m in models if m["name"] != active]

    def start(self, n_steps: int) -> str:
        """Start (or continue) the run for `n_steps` steps against the active reward model, or its ensemble with
        the members picked (`set_ensemble`)."""
        spec = self.next_spec()
        if spec is None:
            raise ValueError("No active reward model yet: train one in the Reward model tab first.")
        if self.running:
            raise ValueError("PPO is already running.")
        gone = [m for m in spec.models[1:] if not self.reward_models.exists(m)]
        if gone:
            raise ValueError(f"The ensemble's member {shorten(gone[0])} is gone: pick the members again.")
        check_not_gold(spec.models[1:], self.gold())
        self.run.use_reward(spec)  # another active model or another ensemble: start over with it
        self.jobs.submit(JOB, "PPO", lambda ctx: self.run.train(ctx, n_steps))
        self.steps_to_run = n_steps
        return "Starting…"

    def pause(self) -> str:
        """Pause the running job, or resume it when paused: returns "paused" or "running"."""
        if not self.running:
            raise ValueError("PPO is not running.")
        if self.jobs.pause():
            return "paused"
        self.jobs.resume()
        return "running"

    def stop(self) -> str:
        """Stop within one optimiser step (the run is autosaved)."""
        return "stopping" if self.jobs.stop(JOB) else "not running"

    def reset(self) -> str:
        """Back to the base policy; rebuilt when the run belongs to another reward spec than the one picked now."""
        if self.running:
            raise ValueError("Stop the run before resetting.")
        self.run.reset(rebuild=self.run.reward is not None and self.run.reward != self.next_spec())
        return "reset to the base policy"

    def hack(self) -> int:
        """The reward-hacking demo's settings; returns the steps to run."""
        self.run.set_live(**HACK_SETTINGS)
        self.steps_to_run = self.hack_steps
        return self.hack_steps

    def restore(self) -> dict:
        """β and the learning rate back to their defaults."""
        d = PPOConfig()
        return self.set_live(kl_coef=d.kl_coef, learning_rate=d.learning_rate)

    def resume(self) -> dict:
        """Continue the saved run against the reward spec it was trained on (its first model made active again, its
        ensemble picked again)."""
        if self.running:
            raise ValueError("A run is in progress: stop it first.")
        saved = self.run.resumable
        if saved is None:
            raise ValueError("There is no saved run to resume.")
        spec = saved_spec(saved)
        gone = [m for m in (spec.models if spec else [None]) if m is None or not self.reward_models.exists(m)]
        if gone:
            raise ValueError(f"The saved run was trained against reward model {gone[0]!r}, which is gone.")
        if spec.name != self.reward_models.active:
            self.reward_models.set_active(spec.name)
        self.ensemble_with, self.ensemble_mode, self.ensemble_lambda = list(spec.models[1:]), spec.mode, spec.lam
        return self.run.resume()

    def discard(self) -> dict:
        return self.run.discard()

    def save_checkpoint(self, name: str | None = None) -> dict:
        return self.run.save_checkpoint((name or "").strip() or None)

    def set_live(self, **values) -> dict:
        """Queue live settings (only those given, not None), validated; returns the live settings in use. The
        baseline also sets the replies per prompt (the group baseline compares GROUP_SIZE replies)."""
        clean = {k: v for k, v in values.items() if v is not None}
        if "baseline" in clean:
            if clean["baseline"] not in ("group", "value"):
                raise ValueError(f"baseline must be 'group' or 'value', got {shorten(clean['baseline'])}")
            clean["samples_per_prompt"] = GROUP_SIZE if clean["baseline"] == "group" else 1
        self.run.set_live(**clean)
        return self.settings()

    def settings(self, config: dict | None = None) -> dict:
        """The live settings in use (queued changes included), from `config` when the caller has a view already."""
        config = self.run.view().config if config is None else config
        return {k: config[k] for k in LIVE_FIELDS}

    def status(self) -> dict:
        """The shared run as every page sees it: job state (with why, when it failed), step, live settings, the reward
        spec it trains against ("reward": models, ensemble mode, λ, label; before the first Start, what Start would
        use) and the ensemble picked for the next Start ("ensemble")."""
        view = self.run.view()
        snap = self.jobs.snapshot(JOB)
        ensemble = self.ensemble_info()
        return {"state": snap.state, "message": snap.message, "error": snap.error, "step": view.step,
                "reward_model": view.reward_name, "reward": view.reward or ensemble["next"], "ensemble": ensemble,
                "settings": self.settings(view.config), "steps_to_run": self.steps_to_run,
                "verdict": verdict_info(heldout_verdict(view.evals)),
                "resumable": resumable_info(view.resumable)}


def verdict_info(v: Verdict | None) -> dict | None:
    """The held-out verdict for the API: its numbers and its sentence (None before two evaluations)."""
    return None if v is None else {**asdict(v), "sentence": v.sentence()}


def ppo_service(root: Path, jobs: JobRunner, reward, gold, policy: LoadedPolicy, source,
                contestants: Callable[[], object]) -> PPOService:
    """The app's PPO stage under the data dir `root`: checkpoints in ppo_checkpoints/ (each an arena contestant of
    `contestants()` at once), autosaves in ppo_autosave/, trained on the source's train split against `reward`'s
    models, with `gold`'s model scoring held-out replies every few steps (the over-optimisation curves)."""
    from rlhf_demo.data.prompts import heldout_prompts, training_prompts
    from rlhf_demo.ppo.overopt import EVAL_PROMPTS

    def make_gold():
        name = gold.name()
        return None if name is None else (name, reward.load(name))

    run = PPORun(make_engine=engine_factory(reward.models, policy, lambda: training_prompts(source)),
                     checkpoint_dir=root / "ppo_checkpoints", autosave_dir=root / "ppo_autosave", config=PPOConfig(),
                     on_checkpoint=lambda info: contestants().add_saved_adapter(info, policy.choice.path),
                     name_taken=lambda name: name in contestants(), make_gold=make_gold,
                     eval_prompts=tuple(heldout_prompts(source, EVAL_PROMPTS)))
    return PPOService(run, jobs, reward.models, hack_steps=150 if policy.choice.name == "tiny" else 30,
                      gold=gold.name)
