"""One compute lane: the torch work of the whole process runs one job at a time, in the order it asked.

In a class, arena rounds, a PPO run, reward scoring, best-of-N and a reward model's training all live in one process.
Each Python thread that calls torch gets its own OpenMP team (2 threads here), so two jobs at once put 4 spinning
threads on 2 cores: measured, 16 x 32 tokens of SmolLM2 took 95 s instead of 5 s, and a bfloat16 decode 15-24 s
instead of 0.9 s. Taking turns costs each job only the others' time.

    with LANE("arena round"):        # blocks until every earlier request has had its turn
        model.generate(...)

Long jobs take it in pieces (a rollout, one optimiser step), so a round waits for a piece, not for a job. The lane is
re-entrant (a PPO step that scores with the reward model inside its turn does not wait for itself) and shows who
holds it (`LANE.holder`). Votes, page polls and browsing never take it.

Who goes next: every turn is of a kind, "interactive" (arena rounds, scoring: the default) or "training" (PPO, reward
and DPO training), and when both kinds wait, the lane shares its TIME between them by weight (WEIGHTS: training 2,
interactive 1), first come first served within a kind. This is start-time fair queuing: each kind has a virtual
clock that advances by the seconds of its turns / its weight; the waiting kind with the earlier clock goes next, and a
kind that was idle starts from the clock of the turn now running (idle time earns no credit). So a busy arena gets a
third of the machine and a PPO run keeps two thirds (its step at most ~1.5x its idle time), and neither starves.
Plain first come, first served gave a class of 30 voters every other turn: each of a PPO step's five turns waited for
an arena batch.
"""

from __future__ import annotations

import contextlib
import threading
import time


WEIGHTS = {"interactive": 1.0, "training": 2.0}  # shares of the lane's time when both kinds wait
IDLE_SECONDS = 2.0  # a kind that asks again within this long of its last turn keeps its clock (a PPO step's work
# between two turns, advantages and bookkeeping, is not idleness: resetting there would hand the arena every other turn)
HOLD_SECONDS = 0.25  # and the lane waits this long for a kind that is behind and just gave it back (a PPO run comes
# back within milliseconds for its next turn; without the wait, a waiting round would take every gap)


class ComputeLane:
    def __init__(self, weights: dict[str, float] | None = None):
        self._cond = threading.Condition()
        self._queue: list[tuple[str, int]] = []  # (kind, arrival number) of the threads waiting
        self._arrivals = 0
        self._weights = dict(weights or WEIGHTS)
        self._clock = {k: 0.0 for k in self._weights}  # virtual time of each kind (seconds used / weight)
        self._now = 0.0  # the virtual time of the turn running or last run
        self._owner: int | None = None
        self._owner_kind = ""
        self._started = 0.0
        self._last_turn = {k: float("-inf") for k in self._weights}  # when each kind last gave the lane back
        self._depth = 0
        self.holder = ""  # what the current turn is for ("arena round", "PPO rollout", ...)
        self.waited_seconds = 0.0  # total time spent waiting for a turn, all threads (a debug metric)
        self.used_seconds = {k: 0.0 for k in self._weights}  # lane time per kind (a debug metric)

    def _next(self) -> tuple[str, int]:
        """The waiting ticket that goes next: the kind with the earliest virtual clock, then the earliest arrival."""
        return min(self._queue, key=lambda t: (self._clock[t[0]], t[1]))

    def _hold(self, kind: str) -> float:
        """Seconds to keep the lane free for another kind that is behind `kind` and gave it back just now (0: none)."""
        now, hold = time.perf_counter(), 0.0
        for k, clock in self._clock.items():
            if k != kind and clock < self._clock[kind]:
                hold = max(hold, self._last_turn[k] + HOLD_SECONDS - now)
        return hold

    def acquire(self, what: str = "", kind: str = "interactive") -> None:
        if kind not in self._weights:
            raise ValueError(f"lane kind {kind!r}: one of {', '.join(self._weights)}")
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return
            idle = time.perf_counter() - self._last_turn[kind] > IDLE_SECONDS
            if idle and self._owner_kind != kind and not any(k == kind for k, _ in self._queue):
                self._clock[kind] = max(self._clock[kind], self._now)  # back from idle: no credit for the idle time
            ticket = (kind, self._arrivals)
            self._arrivals += 1
            self._queue.append(ticket)
            t0 = time.perf_counter()
            while True:
                if self._owner is None and self._next() == ticket:
                    hold = self._hold(kind)
                    if hold <= 0:
                        break
                    self._cond.wait(hold)
                else:
                    self._cond.wait()
            self._queue.remove(ticket)
            self._owner, self._owner_kind, self._depth, self.holder = me, kind, 1, what
            self._now = self._clock[kind]
            self._started = time.perf_counter()
            self.waited_seconds += self._started - t0

    def release(self) -> None:
        with self._cond:
            if self._owner != threading.get_ident():
                raise RuntimeError("the compute lane is released by a thread that does not hold it")
            self._depth -= 1
            if self._depth == 0:
                used = time.perf_counter() - self._started
                self._clock[self._owner_kind] += used / self._weights[self._owner_kind]
                self.used_seconds[self._owner_kind] += used
                self._last_turn[self._owner_kind] = time.perf_counter()
                self._owner, self._owner_kind, self.holder = None, "", ""
                self._cond.notify_all()

    @contextlib.contextmanager
    def __call__(self, what: str = "", kind: str = "interactive"):
        self.acquire(what, kind)
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
                    LANE.acquire(turns.what, "training")
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
