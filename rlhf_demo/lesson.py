"""The lesson plan: from what the app holds now (votes, reward models, PPO steps, checkpoints, running jobs) to the
step a class should take next. Pure: the caller gathers the numbers (ui/classroom.py), so the rule is testable.

A 50-minute class goes: students vote (the data) -> a reward model learns from the data and the votes -> PPO optimises
the policy against it -> the class votes "before vs after" on the saved checkpoint. Everything can be prepared before
class (reward models, PPO runs and checkpoints survive restarts): the plan then starts further along.
"""

from __future__ import annotations

from dataclasses import dataclass

VOTES_FOR_A_RANKING = 20  # below this, Elo/BT intervals overlap for every pair: keep voting


@dataclass(frozen=True)
class LessonState:
    votes: int = 0
    reward_models: int = 0
    active_reward_model: str | None = None
    ppo_steps: int = 0
    checkpoints: int = 0
    job: str = ""  # the running job's title ("" = none)
    job_line: str = ""  # its status line (progress, ETA)
    calibration_voters: int = 0


@dataclass(frozen=True)
class Step:
    title: str
    detail: str
    done: bool


def lesson_steps(s: LessonState) -> list[Step]:
    """The lesson's steps with what is already done."""
    return [
        Step("Vote", f"students judge two anonymous replies in tab 2 ({s.votes} vote{'s' if s.votes != 1 else ''}; "
                     f"a ranking needs about {VOTES_FOR_A_RANKING})", s.votes >= VOTES_FOR_A_RANKING),
        Step("Calibrate (optional)", "everyone judges the same items: how much do people agree? "
                                     f"({s.calibration_voters} voters so far)", s.calibration_voters >= 2),
        Step("Train a reward model", "tab 3, on hh-rlhf pairs (and the votes)" +
             (f": {s.reward_models} saved, active: {s.active_reward_model}" if s.reward_models else ""),
             s.active_reward_model is not None),
        Step("Run PPO", f"tab 4: the policy learns to please the reward model ({s.ppo_steps} steps so far)",
             s.ppo_steps > 0),
        Step("Save a checkpoint and vote before vs after", f"tab 4 → tab 2 ({s.checkpoints} saved)", s.checkpoints > 0),
    ]


def next_step(s: LessonState) -> str:
    """One line for the projector: what happens now."""
    if s.job:
        return f"Now: {s.job_line or s.job}"
    steps = lesson_steps(s)
    for step in steps:
        if not step.done and not step.title.endswith("(optional)"):
            return f"Next: {step.title.lower()}: {step.detail}."
    return "Everything is ready: compare before vs after in the Vote tab, then try the reward-hacking demo (β = 0) in tab 4."
