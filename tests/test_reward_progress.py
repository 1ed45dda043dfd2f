"""The reward-training ETA and evaluation schedule as pure functions, checked against plain loops (issue 12, item 5:
the first ETA read "15 m 59 s" for a run that took 3 m 17 s)."""

from __future__ import annotations

import math
import random

import pytest
import torch

from rlhf_demo.jobs import JobSnapshot, eta_seconds
from rlhf_demo.reward.progress import auto_eval_steps, batch_work, planned_batches, planned_work


def test_eta_is_estimating_until_a_step_after_the_warm_up_step():
    assert eta_seconds([], [], work_left=100) is None
    assert eta_seconds([30.0], [10.0], work_left=100) is None  # only the first (warm-up) step: still estimating


def test_eta_leaves_out_the_warm_up_step_and_weighs_by_work():
    # the first step is slow (first-call overheads), then 2 s per unit of work
    secs, work = [40.0, 2.0, 4.0, 6.0], [1.0, 1.0, 2.0, 3.0]
    rate = 0.0
    for s, w in zip(secs[1:], work[1:]):  # the loop: seconds over work, warm-up left out
        rate += s
    rate /= sum(work[1:])
    assert rate == pytest.approx(2.0)
    assert eta_seconds(secs, work, work_left=10) == pytest.approx(20.0)
    # evaluation passes still to come and the final evaluation count too
    assert eta_seconds(secs, work, work_left=10, evals_left=3, eval_seconds=5.0, final_seconds=7.0) == pytest.approx(42.0)
    assert eta_seconds(secs, work, work_left=-5) == 0.0


def test_a_run_whose_long_batches_come_first_is_not_overestimated():
    """Length-grouped batches run longest first. Elapsed / progress after the first steps projects their cost onto
    every step (the old ETA); work-weighted, the estimate matches the real remaining time."""
    rng = random.Random(0)
    lengths = [rng.randint(20, 256) for _ in range(400)]
    batches = planned_batches(lengths, 16, grouped=True)
    work = [batch_work(32, T) for T in batches] * 2  # 2 epochs
    secs = [w * 1e-5 for w in work]  # time proportional to work
    secs[0] += 10.0  # the warm-up step
    k = 5  # 10 % of 50 steps
    real_left = sum(secs[k:])
    est = eta_seconds(secs[:k], work[:k], work_left=sum(work[k:]))
    assert est == pytest.approx(real_left, rel=0.01)
    naive = sum(secs[:k]) * (len(secs) - k) / k  # what "elapsed x (1 - p) / p" said
    assert naive > 1.3 * real_left


def test_planned_batches_match_transformers_length_grouping():
    from transformers.trainer_pt_utils import get_length_grouped_indices

    rng = random.Random(1)
    lengths = [rng.randint(10, 300) for _ in range(400)]
    idx = get_length_grouped_indices(lengths, 16, generator=torch.Generator().manual_seed(0))
    real = [max(lengths[i] for i in idx[s:s + 16]) for s in range(0, len(idx), 16)]
    ours = planned_batches(lengths, 16, grouped=True)
    assert len(ours) == len(real) == math.ceil(400 / 16)
    assert sum(ours) == pytest.approx(sum(real), rel=0.05)  # any permutation: nearly the same padded total
    assert planned_work(lengths, 16, 2.0) == pytest.approx(2 * planned_work(lengths, 16, 1.0))
    assert planned_work(lengths, 16, 0.5) < planned_work(lengths, 16, 1.0)


def test_the_evaluation_curve_gets_five_to_eight_points():
    for total in (12, 25, 48, 50, 100, 400):
        k = auto_eval_steps(total)
        during = len([s for s in range(1, total) if s % k == 0])  # the last step's evaluation is the full one
        assert 5 <= during + 2 <= 8, (total, k, during)  # + the evaluations before and after training
    assert auto_eval_steps(3) is None and auto_eval_steps(50, points=0) is None


def test_a_snapshot_shows_estimating_then_the_reported_eta_counting_down():
    snap = JobSnapshot(kind="reward", title="Reward model training", state="running", started=1.0,
                       data={"eta_s": None, "eta_at": 0.0})
    assert snap.eta is None and "estimating" in snap.status_line()
    import time

    snap.data.update(eta_s=100.0, eta_at=time.time() - 30)
    assert snap.eta == pytest.approx(70.0, abs=1.0)
    assert "about 1m 10s left" in snap.status_line()
    ppo = JobSnapshot(kind="ppo", title="PPO", state="running", started=time.time() - 10, progress=0.5)
    assert ppo.eta == pytest.approx(10.0, abs=1.0)  # jobs that report no ETA: from their progress, as before
