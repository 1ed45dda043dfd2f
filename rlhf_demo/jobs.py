"""Background jobs: one heavy job (reward training, PPO) at a time, app-wide.

A job is a function ``fn(ctx)`` run in a thread. It reports through ``ctx.update(...)`` and checks
``ctx.should_stop()`` / ``ctx.wait_if_paused()`` between steps. Every viewer (all browsers, the API)
reads the same `JobSnapshot` by polling ``runner.snapshot()`` - a gr.Timer in the UI - so the live
view survives page reloads and reaches everyone, unlike a generator handler bound to one page.
"""

from __future__ import annotations

import copy
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from rlhf_demo.storage import storage_message, storage_status

IDLE, RUNNING, PAUSED, STOPPING, DONE, STOPPED, FAILED = "idle", "running", "paused", "stopping", "done", "stopped", "failed"
ACTIVE_STATES = (RUNNING, PAUSED, STOPPING)


class JobBusy(RuntimeError):
    """Another heavy job is running: the message says which, for the UI."""


class JobStopped(Exception):
    """Raised inside a job by `ctx.check()` when a stop was asked for."""


@dataclass
class JobSnapshot:
    """A consistent copy of a job's state, safe to read from any thread."""

    id: str = ""
    kind: str = ""  # "reward" | "ppo" | ... (each tab shows its own kind)
    title: str = ""
    state: str = IDLE
    progress: float = 0.0  # 0..1
    message: str = ""
    started: float = 0.0
    finished: float = 0.0
    error: str = ""  # one line for the user
    traceback: str = ""  # for the logs
    data: dict[str, Any] = field(default_factory=dict)  # job-specific live data (curves, samples, ...)
    result: Any = None  # what fn returned: keep it small (a dict), snapshots are deep copies
    version: int = 0  # bumps on every update: lets a poller skip unchanged redraws

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def elapsed(self) -> float:
        if not self.started:
            return 0.0
        return (self.finished or time.time()) - self.started

    @property
    def eta(self) -> float | None:
        """Seconds left. A job that measures its own work reports ``eta_s`` (None while it is still estimating) and
        ``eta_at`` (when) in `data`; the time since that report is taken off. Other jobs: from the progress so far
        (None until there is some)."""
        if self.state != RUNNING:
            return None
        if "eta_s" in self.data:
            eta, at = self.data.get("eta_s"), self.data.get("eta_at") or time.time()
            return None if eta is None else max(0.0, float(eta) - max(0.0, time.time() - at))
        if self.progress <= 0.0 or self.progress >= 1.0:
            return None
        return self.elapsed * (1.0 - self.progress) / self.progress

    def status_line(self) -> str:
        if self.state == IDLE:
            return "No job has run yet."
        pct = f"{100 * self.progress:.0f}%"
        if self.eta is not None:
            eta = f", about {fmt_seconds(self.eta)} left"
        else:
            eta = ", estimating time left…" if self.state == RUNNING and "eta_s" in self.data else ""
        tail = f": {self.error}" if self.error else (f": {self.message}" if self.message else "")
        return f"{self.title}: {self.state} ({pct}, {fmt_seconds(self.elapsed)}{eta}){tail}"


def eta_seconds(step_seconds: Sequence[float], step_work: Sequence[float], work_left: float, warmup: int = 1,
                evals_left: int = 0, eval_seconds: float = 0.0, final_seconds: float = 0.0) -> float | None:
    """Seconds left in a run of optimiser steps, from the steps measured so far; None while estimating.

    ``step_seconds[i]`` is how long step i took (evaluation passes not included) and ``step_work[i]`` how much work
    it was (e.g. padded tokens: batches of long conversations take longer); the first ``warmup`` steps are left out
    (first-call overheads). Time left = ``work_left`` x (seconds per unit of work, over the measured steps)
    + ``evals_left`` x ``eval_seconds`` (the evaluation passes still to come) + ``final_seconds`` (what follows the
    last step: a final evaluation, saving). Pure: the reward trainer feeds it, tests check it against a loop.
    """
    seconds, work = list(step_seconds)[warmup:], list(step_work)[warmup:]
    if not seconds or sum(work) <= 0:
        return None
    rate = sum(seconds) / sum(work)
    return max(0.0, work_left) * rate + max(0, evals_left) * eval_seconds + final_seconds


def failure_reason(e: BaseException, limit: int = 600) -> str:
    """Why a job failed, as one line for the status: a ValueError's message as is (it is written for the user),
    other errors with their type; whitespace folded, cut to `limit` characters."""
    text = str(e) if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"
    text = " ".join(text.split()) or type(e).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "?"
    s = int(round(s))
    return f"{s // 60}m {s % 60:02d}s" if s >= 60 else f"{s}s"


class JobContext:
    """What a running job sees: report progress, merge live data, honour stop and pause."""

    def __init__(self, runner: "JobRunner", job_id: str):
        self._runner = runner
        self.job_id = job_id

    def update(self, progress: float | None = None, message: str | None = None, **data: Any) -> None:
        self._runner._update(self.job_id, progress, message, data)

    def append(self, key: str, item: Any) -> None:
        """Append one item to a list in the live data (e.g. a metrics row)."""
        self._runner._append(self.job_id, key, item)

    def should_stop(self) -> bool:
        return self._runner._stop.is_set()

    def wait_if_paused(self) -> None:
        """Block while paused (returns at once on stop)."""
        while self._runner._paused.is_set() and not self._runner._stop.is_set():
            time.sleep(0.05)

    def check(self) -> None:
        """Pause point + stop point: raise JobStopped when a stop was asked for."""
        self.wait_if_paused()
        if self.should_stop():
            raise JobStopped()


class JobRunner:
    """Runs one heavy job at a time in a background thread; keeps the last snapshot of each kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current = JobSnapshot()
        self._last_by_kind: dict[str, JobSnapshot] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._paused = threading.Event()

    # -- starting -------------------------------------------------------------------------
    def submit(self, kind: str, title: str, fn: Callable[[JobContext], Any], data: dict | None = None) -> str:
        """Start `fn(ctx)` in the background. Raises JobBusy while another job is active."""
        with self._lock:
            if self._current.active:
                raise JobBusy(f"'{self._current.title}' is running. Wait for it to finish or stop it first.")
            job_id = uuid.uuid4().hex[:12]
            self._stop.clear()
            self._paused.clear()
            self._current = JobSnapshot(id=job_id, kind=kind, title=title, state=RUNNING, started=time.time(),
                                        message="starting", data=dict(data or {}))
            self._last_by_kind[kind] = self._current
            self._thread = threading.Thread(target=self._run, args=(job_id, fn), name=f"job-{kind}", daemon=True)
            self._thread.start()
            return job_id

    def _run(self, job_id: str, fn: Callable[[JobContext], Any]) -> None:
        ctx = JobContext(self, job_id)
        state, err, tb, result = DONE, "", "", None
        try:
            result = fn(ctx)
            if self._stop.is_set():
                state = STOPPED
        except JobStopped:
            state = STOPPED
        except Exception as e:  # noqa: BLE001 - a job's error is shown to the user, never raised into the server
            state, err, tb = FAILED, failure_reason(e), traceback.format_exc()
            print(f"[rlhf-playground] job {self._current.title!r} failed: {err}\n{tb}", file=sys.stderr, flush=True)
        with self._lock:
            if self._current.id != job_id:
                return
            cur = self._current
            cur.state, cur.error, cur.traceback, cur.result = state, err, tb, result
            cur.finished = time.time()
            if state == DONE:
                cur.progress = 1.0
            if state != DONE or cur.message in ("", "starting"):
                cur.message = {DONE: "finished", STOPPED: "stopped", FAILED: "failed"}[state]
            cur.version += 1

    # -- reporting (called from the job thread) ----------------------------------------
    def _update(self, job_id: str, progress, message, data) -> None:
        with self._lock:
            cur = self._current
            if cur.id != job_id:
                return
            if progress is not None:
                cur.progress = float(min(max(progress, 0.0), 1.0))
            if message is not None:
                cur.message = message
            cur.data.update(data)
            cur.version += 1

    def _append(self, job_id: str, key: str, item: Any) -> None:
        with self._lock:
            cur = self._current
            if cur.id != job_id:
                return
            cur.data.setdefault(key, []).append(item)
            cur.version += 1

    # -- controls ---------------------------------------------------------------------------
    def stop(self, kind: str | None = None) -> bool:
        """Ask the running job to stop at its next check (only when it is of `kind`, when given). Returns False when
        nothing (of that kind) runs."""
        with self._lock:
            if not self._current.active or kind not in (None, self._current.kind):
                return False
            self._stop.set()
            self._paused.clear()
            self._current.state = STOPPING
            self._current.version += 1
            return True

    def pause(self) -> bool:
        with self._lock:
            if self._current.state != RUNNING:
                return False
            self._paused.set()
            self._current.state = PAUSED
            self._current.version += 1
            return True

    def resume(self) -> bool:
        with self._lock:
            if self._current.state != PAUSED:
                return False
            self._paused.clear()
            self._current.state = RUNNING
            self._current.version += 1
            return True

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the current job's thread (tests, CLI). True when it has finished."""
        t = self._thread
        if t is not None:
            t.join(timeout)
            return not t.is_alive()
        return True

    # -- reading ----------------------------------------------------------------------------
    def snapshot(self, kind: str | None = None) -> JobSnapshot:
        """A deep copy of the current job, or of the last job of `kind` (idle snapshot if none)."""
        with self._lock:
            snap = self._current if kind is None else self._last_by_kind.get(kind, JobSnapshot(kind=kind))
            return copy.deepcopy(snap)


# ----------------------------------------------------------------------------------------------------------
# the app's runner: training jobs refused up front when nothing can be saved

TRAINING_JOBS = ("reward", "ppo", "dpo", "frontier", "gold-proxy")  # jobs that save what they make under the data folder
MIN_FREE_BYTES = 64 << 20  # a training job needs room for what it saves (a LoRA adapter, a small reward model)


class StorageRefused(JobBusy):
    """A training job refused up front: the data folder cannot take what it would save (the message says why)."""


class StorageCheckedJobs(JobRunner):
    """The app's job runner: a training job is refused at once when the data folder is read-only or its disk is
    full, instead of failing at its first save minutes later (PPO's autosave, a reward model's folder)."""

    def __init__(self, data_dir: Path):
        super().__init__()
        self.data_dir = Path(data_dir)

    def submit(self, kind, title, fn, data=None):
        if kind in TRAINING_JOBS:
            problem = storage_status(self.data_dir, MIN_FREE_BYTES)
            if problem:
                raise StorageRefused(f"{title} cannot start: {storage_message(problem)}")
        return super().submit(kind, title, fn, data)
