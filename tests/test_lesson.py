"""The lesson plan names the step a class should take next, from what the app holds."""

from rlhf_demo.lesson import VOTES_FOR_A_RANKING, LessonState, lesson_steps, next_step


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
    ready = LessonState(votes=VOTES_FOR_A_RANKING, reward_models=1, active_reward_model="rm-1", ppo_steps=12,
                        checkpoints=1)
    assert next_step(ready).startswith("Everything is ready")


def test_prepared_before_class_skips_to_voting_only():
    """An instructor who trained and ran PPO before class: only the class's votes are missing."""
    prepared = LessonState(votes=3, reward_models=2, active_reward_model="rm", ppo_steps=30, checkpoints=1)
    assert next_step(prepared).startswith("Next: vote") and "3 votes" in next_step(prepared)
    assert [s.done for s in lesson_steps(prepared)] == [False, False, True, True, True]


def test_a_running_job_is_what_happens_now():
    s = LessonState(job="Reward model training", job_line="Reward model training: 40 % · ETA 1m 10s")
    assert next_step(s) == "Now: Reward model training: 40 % · ETA 1m 10s"
