"""The background job runner every heavy tab uses: one job at a time, live snapshot, stop, pause, errors."""

from __future__ import annotations

import threading
import time

import pytest

from rlhf_demo.jobs import DONE, FAILED, PAUSED, RUNNING, STOPPED, JobBusy, JobRunner


def wait_for(pred, timeout=5.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(0.01)
    return False


def test_job_runs_reports_progress_and_result():
    r = JobRunner()
    gate = threading.Event()

    def job(ctx):
        for i in range(4):
            ctx.update(progress=(i + 1) / 4, message=f"step {i}")
            ctx.append("rows", {"step": i, "loss": 1.0 / (i + 1)})
            if i == 1:
                gate.wait(5)
        return {"final_loss": 0.25}

    r.submit("reward", "Train", job)
    assert wait_for(lambda: len(r.snapshot().data.get("rows", [])) == 2)
    mid = r.snapshot()
    assert mid.state == RUNNING and mid.progress == 0.5 and mid.active and mid.eta is not None
    gate.set()
    assert r.join(5)
    snap = r.snapshot()
    assert snap.state == DONE and snap.progress == 1.0 and snap.result == {"final_loss": 0.25}
    assert [row["step"] for row in snap.data["rows"]] == [0, 1, 2, 3]
    # snapshots are copies: a viewer cannot corrupt the job's state
    snap.data["rows"].clear()
    assert len(r.snapshot().data["rows"]) == 4


def test_one_heavy_job_at_a_time():
    r = JobRunner()
    started = threading.Event()
    r.submit("ppo", "PPO run", lambda ctx: (started.set(), [ctx.check() or time.sleep(0.01) for _ in range(500)]))
    started.wait(2)
    with pytest.raises(JobBusy, match="PPO run"):
        r.submit("reward", "Train", lambda ctx: None)
    assert r.stop()
    assert r.join(5) and r.snapshot().state == STOPPED
    r.submit("reward", "Train", lambda ctx: 1)  # free again once stopped
    assert r.join(5) and r.snapshot().state == DONE


def test_pause_blocks_the_job_until_resume():
    r = JobRunner()
    ticks = []

    def job(ctx):
        for i in range(200):
            ctx.check()
            ticks.append(i)
            time.sleep(0.005)

    r.submit("ppo", "PPO", job)
    assert wait_for(lambda: len(ticks) > 3)
    assert r.pause() and r.snapshot().state == PAUSED
    time.sleep(0.1)
    n = len(ticks)
    time.sleep(0.2)
    assert len(ticks) == n, "a paused job must not advance"
    assert r.resume()
    assert r.join(10) and r.snapshot().state == DONE and len(ticks) == 200


def test_errors_are_captured_and_shown_not_raised():
    r = JobRunner()
    r.submit("reward", "Train", lambda ctx: 1 / 0)
    r.join(5)
    snap = r.snapshot()
    assert snap.state == FAILED and "ZeroDivisionError" in snap.error and "Traceback" in snap.traceback
    assert "failed" in snap.status_line()
    r.submit("reward", "Train", lambda ctx: (_ for _ in ()).throw(ValueError("no valid pair after filtering")))
    r.join(5)
    assert r.snapshot().error == "no valid pair after filtering"  # user errors are shown as they are


def test_last_snapshot_per_kind_survives_other_jobs():
    r = JobRunner()
    r.submit("reward", "Train", lambda ctx: ctx.update(message="acc 0.7", acc=0.7))
    r.join(5)
    r.submit("ppo", "PPO", lambda ctx: None)
    r.join(5)
    assert r.snapshot("reward").data["acc"] == 0.7 and r.snapshot("ppo").state == DONE
    assert r.snapshot("never").state == "idle"
