"""One compute lane: the torch work of the whole process runs one job at a time, in the order it asked.

In a class, arena rounds, a PPO run, reward scoring, best-of-N and a reward model's training all live in one process.
Each Python thread that calls torch gets its own OpenMP team (2 threads here), so two jobs at once put 4 spinning
threads on 2 cores: measured, 16 x 32 tokens of SmolLM2 took 95 s instead of 5 s, and a bfloat16 decode 15-24 s
instead of 0.9 s. Taking turns costs each job only the others' time.

    with LANE("arena round"):        # blocks until every earlier request has had its turn
        model.generate(...)

The lane is first come, first served (a job that gives it back and asks again queues behind the waiting ones, so a
long PPO run cannot starve the arena), re-entrant (a PPO step that scores with the reward model inside its turn
does not wait for itself), and shows who holds it (`LANE.holder`). Votes, page polls and browsing never take it.
Long jobs take it in pieces (a rollout, one optimiser step), so a round waits for a piece, not for a job.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque


class ComputeLane:
    def __init__(self):
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()  # tickets of the threads waiting, in arrival order
        self._owner: int | None = None
        self._depth = 0
        self.holder = ""  # what the current turn is for ("arena round", "PPO rollout", ...)
        self.waited_seconds = 0.0  # total time spent waiting for a turn, all threads (a debug metric)

    def acquire(self, what: str = "") -> None:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return
            ticket = object()
            self._queue.append(ticket)
            t0 = time.perf_counter()
            while self._owner is not None or self._queue[0] is not ticket:
                self._cond.wait()
            self._queue.popleft()
            self._owner, self._depth, self.holder = me, 1, what
            self.waited_seconds += time.perf_counter() - t0

    def release(self) -> None:
        with self._cond:
            if self._owner != threading.get_ident():
                raise RuntimeError("the compute lane is released by a thread that does not hold it")
            self._depth -= 1
            if self._depth == 0:
                self._owner, self.holder = None, ""
                self._cond.notify_all()

    @contextlib.contextmanager
    def __call__(self, what: str = ""):
        self.acquire(what)
        try:
            yield
        finally:
            self.release()

    @property
    def waiting(self) -> int:
        return len(self._queue)


LANE = ComputeLane()  # the process's one lane


class TrainerTurns:
    """A transformers `TrainerCallback` that takes the lane for each optimiser step of a Trainer (TRL's
    RewardTrainer, DPOTrainer): a class's rounds wait for one step, not for the whole training.

        turns = TrainerTurns("reward training")
        trainer = RewardTrainer(..., callbacks=[turns.callback()])
        with turns:                 # gives the lane back if training stops mid-step (an exception, Stop)
            trainer.train()
    """

    def __init__(self, what: str):
        self.what = what
        self.held = False

    def callback(self):
        from transformers import TrainerCallback

        turns = self

        class TakeTurns(TrainerCallback):
            def on_step_begin(self, args, state, control, **kw):
                if not turns.held:
                    LANE.acquire(turns.what)
                    turns.held = True

            def on_step_end(self, args, state, control, **kw):
                turns.give_back()

        return TakeTurns()

    def give_back(self) -> None:
        if self.held:
            self.held = False
            LANE.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.give_back()
        return False
