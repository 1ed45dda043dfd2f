"""The lesson plan: from what the app holds now (votes, reward models, PPO steps, checkpoints, running jobs) to the
step a class should take next. Pure: the caller gathers the numbers (ui/classroom.py), so the rule is testable.

A 50-minute class goes: students vote (the data) -> a reward model learns from the data and the votes -> PPO optimises
the policy against it -> a checkpoint is saved -> the class votes "before vs after" on it -> tab 5 compares PPO with
DPO and best-of-N. Everything can be prepared before class (reward models, PPO runs and checkpoints survive
restarts): the plan then starts further along. The next step is the first one not done AFTER the furthest step done,
so a class that trained and ran PPO is never sent back to "vote" because it cast 9 votes instead of 20.
"""

from __future__ import annotations

from dataclasses import dataclass

VOTES_FOR_A_RANKING = 20  # below this, Elo/BT intervals overlap for every pair: keep voting
BEFORE_AFTER_VOTES = 10  # votes on a saved checkpoint before "did PPO help?" has a first answer


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
    before_after_votes: int = 0  # counted votes in which a saved checkpoint answered
    compared: bool = False  # a reward-KL frontier was computed (tab 5)


@dataclass(frozen=True)
class Step:
    title: str
    detail: str
    done: bool
    tab: str  # the tab where it happens (its id in ui/app.py)


def lesson_steps(s: LessonState) -> list[Step]:
    """The lesson's steps with what is already done."""
    return [
        Step("Vote", f"students judge two anonymous replies in tab 2 ({s.votes} vote{'s' if s.votes != 1 else ''}; "
                     f"a ranking needs about {VOTES_FOR_A_RANKING})", s.votes >= VOTES_FOR_A_RANKING, "vote"),
        Step("Calibrate (optional)", "everyone judges the same items: how much do people agree? "
                                     f"({s.calibration_voters} voters so far)", s.calibration_voters >= 2, "vote"),
        Step("Train a reward model", "tab 3, on hh-rlhf pairs (and the votes)" +
             (f": {s.reward_models} saved, active: {s.active_reward_model}" if s.reward_models else ""),
             s.active_reward_model is not None, "reward"),
        Step("Run PPO", f"tab 4: the policy learns to please the reward model ({s.ppo_steps} steps so far)",
             s.ppo_steps > 0, "ppo"),
        Step("Save a checkpoint", f"tab 4: it joins the Vote tab as a contestant ({s.checkpoints} saved)",
             s.checkpoints > 0, "ppo"),
        Step("Vote before vs after", f"tab 2: did PPO help? ({s.before_after_votes} votes on a checkpoint; the first "
                                     f"answer needs about {BEFORE_AFTER_VOTES})",
             s.before_after_votes >= BEFORE_AFTER_VOTES, "vote"),
        compare_step(s),
    ]


def compare_step(s: LessonState) -> Step:
    """Tab 5 scores every method with the proxy AND a gold model nothing is optimised against: a class with one
    reward model is sent to tab 3 for the second (trained on more pairs) before the frontier can run."""
    if s.reward_models < 2 and not s.compared:
        return Step("Compare", "first train a second reward model in tab 3 on more pairs, not made active: it is the "
                               "gold model tab 5 checks the proxy against", False, "reward")
    return Step("Compare", "tab 5: PPO against DPO and best-of-N on one reward–KL frontier", s.compared, "compare")


def next_lesson_step(s: LessonState) -> Step | None:
    """The first step not done after the furthest step done (optional steps are never "next"); None: all done."""
    steps = [step for step in lesson_steps(s) if not step.title.endswith("(optional)")]
    furthest = max((i for i, step in enumerate(steps) if step.done), default=-1)
    return next((step for step in steps[furthest + 1:] if not step.done), None)


def next_step(s: LessonState) -> str:
    """One line for the projector: what happens now."""
    if s.job:
        return f"Now: {s.job_line or s.job}"
    step = next_lesson_step(s)
    if step is None:
        return "Every step is done: try the reward-hacking demo (β = 0) in tab 4 and watch the gold curve in tab 5."
    return f"Next: {step.title.lower()}: {step.detail}."
