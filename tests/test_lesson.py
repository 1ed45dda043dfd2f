"""The lesson plan names the step a class should take next, from what the app holds."""

from rlhf_demo.lesson import (
    BEFORE_AFTER_VOTES,
    VOTES_FOR_A_RANKING,
    LessonState,
    lesson_steps,
    next_lesson_step,
    next_step,
)


def test_a_fresh_app_starts_with_voting():
    assert next_step(LessonState()).startswith("Next: vote")
    assert not any(s.done for s in lesson_steps(LessonState()))


def test_each_stage_done_moves_the_plan_on_and_calibration_is_optional():
    votes = LessonState(votes=VOTES_FOR_A_RANKING)
    assert next_step(votes).startswith("Next: train a reward model")  # calibration is skipped
    trained = LessonState(votes=VOTES_FOR_A_RANKING, reward_models=1, active_reward_model="rm-1")
    assert next_step(trained).startswith("Next: run ppo")
    ran = LessonState(votes=VOTES_FOR_A_RANKING, reward_models=1, active_reward_model="rm-1", ppo_steps=12)
    assert next_step(ran).startswith("Next: save a checkpoint")
    saved = LessonState(votes=VOTES_FOR_A_RANKING, reward_models=1, active_reward_model="rm-1", ppo_steps=12,
                        checkpoints=1)
    assert next_step(saved).startswith("Next: vote before vs after") and next_lesson_step(saved).tab == "vote"
    voted = LessonState(**{**saved.__dict__, "before_after_votes": BEFORE_AFTER_VOTES})
    # tab 5 needs a gold model beside the proxy: with one reward model the line sends the class to tab 3 first
    assert next_step(voted).startswith("Next: compare: first train a second reward model in tab 3")
    assert next_lesson_step(voted).tab == "reward"
    voted = LessonState(**{**voted.__dict__, "reward_models": 2})
    assert next_step(voted).startswith("Next: compare: tab 5") and next_lesson_step(voted).tab == "compare"
    compared = LessonState(**{**voted.__dict__, "compared": True})
    assert next_lesson_step(compared) is None and next_step(compared).startswith("Every step is done")


def test_the_line_never_goes_back_to_an_earlier_step():
    """A class with 9 votes, a reward model, a PPO run and a checkpoint is told to vote before vs after, not to go
    back to "vote (9 votes; a ranking needs about 20)" (it once stayed there for the whole lesson)."""
    ahead = LessonState(votes=9, reward_models=2, active_reward_model="rm", ppo_steps=5, checkpoints=1)
    assert next_step(ahead).startswith("Next: vote before vs after")
    assert [s.done for s in lesson_steps(ahead)] == [False, False, True, True, True, False, False]
    ran = LessonState(votes=9, reward_models=1, active_reward_model="rm", ppo_steps=5)
    assert next_step(ran).startswith("Next: save a checkpoint") and next_lesson_step(ran).tab == "ppo"
    assert next_lesson_step(LessonState(votes=3)).tab == "vote"


def test_a_running_job_is_what_happens_now():
    s = LessonState(job="Reward model training", job_line="Reward model training: 40 % · ETA 1m 10s")
    assert next_step(s) == "Now: Reward model training: 40 % · ETA 1m 10s"
