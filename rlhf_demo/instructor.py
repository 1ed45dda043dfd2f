"""The instructor lock: on a shared app (a classroom, a public Space) only whoever knows the key may change jobs,
settings and models. Everyone may browse, vote, watch and use the scoring playground.

The key comes from ``--instructor-key`` or ``$RLHF_INSTRUCTOR_KEY`` (a Space secret). Without one the app is a
local single-user app and everything is allowed. Only a SHA-256 digest of the key is kept, from the command line on
(`key_digest`: `Settings` holds the digest, never the key, so no object repr, log line or page ever holds it), and
digests are compared in constant time.

Key guesses are throttled (`KeyThrottle`): per browser session and per client address, a few wrong keys are free,
then every further attempt must wait, longer after each failure; each wrong key is one log line.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time

log = logging.getLogger("rlhf_demo.instructor")

LOCKED_MESSAGE = ("Instructor only: this changes the shared lesson for everyone. Unlock with the instructor key "
                  "(top of the page), or pass `key` when calling the API.")


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def key_digest(key: str | None) -> str | None:
    """What is kept of an instructor key: its SHA-256 (hex), or None for no key ("" or blanks)."""
    key = (key or "").strip()
    return _digest(key).hex() if key else None


class KeyThrottled(ValueError):
    """Too many wrong keys from this session or address: `wait` seconds before the next attempt is looked at."""

    def __init__(self, wait: float):
        self.wait = wait
        super().__init__("Instructor only: too many wrong instructor keys from this browser session or address. "
                         f"Try again in {max(1, round(wait))} s.")


class KeyThrottle:
    """Wrong keys per "who" (a session id, a client address): the first `free` of them cost nothing; after that each
    attempt must wait `base_wait` * 2^(failures - free) seconds (at most `max_wait`) after the last failure. A who
    with no failure for `forget_after` seconds starts over."""

    def __init__(self, free: int = 5, base_wait: float = 2.0, max_wait: float = 300.0, forget_after: float = 900.0,
                 clock=time.monotonic):
        self.free, self.base_wait, self.max_wait, self.forget_after = free, base_wait, max_wait, forget_after
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[object, tuple[int, float]] = {}  # who -> (failures, time of the last one)

    def wait(self, who) -> float:
        """Seconds `who` must still wait before its next attempt is looked at (0: now)."""
        with self._lock:
            n, last = self._failures.get(who, (0, 0.0))
            now = self._clock()
            if n and now - last > self.forget_after:
                del self._failures[who]
                return 0.0
            if n < self.free:
                return 0.0
            return max(0.0, last + min(self.base_wait * 2 ** (n - self.free), self.max_wait) - now)

    def failed(self, who) -> int:
        """Count a wrong key of `who`; returns its failures so far."""
        with self._lock:
            if len(self._failures) > 100_000:  # a flood of new sessions: forget the oldest half
                for k, _ in sorted(self._failures.items(), key=lambda kv: kv[1][1])[:50_000]:
                    del self._failures[k]
            n = self._failures.get(who, (0, 0.0))[0] + 1
            self._failures[who] = (n, self._clock())
            return n

    def forget(self, who) -> None:
        with self._lock:
            self._failures.pop(who, None)

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()


class InstructorLock:
    """``allows(key)``: may the holder of `key` take an instructor action? Always yes when no key was set.
    ``attempt(key, session, address)``: the same, throttled per session and per address (what every handler uses)."""

    def __init__(self, digest: str | None = None, session_free: int = 5, address_free: int = 20):
        """`digest`: `key_digest(key)` (None: no key, everything is allowed). A session may get `session_free` keys
        wrong, an address (every session behind it together) `address_free`, before their attempts wait."""
        self._digest = bytes.fromhex(digest) if digest else None
        self.sessions = KeyThrottle(free=session_free)
        self.addresses = KeyThrottle(free=address_free)
        self._proven: set[str] = set()  # sessions that gave the right key: a crowd's guesses behind their address
        self._proven_lock = threading.Lock()  # never lock them out (their own wrong keys still count)

    @property
    def enabled(self) -> bool:
        return self._digest is not None

    def allows(self, key) -> bool:
        if self._digest is None:
            return True
        if not isinstance(key, str) or not key or len(key) > 1024:
            return False
        return hmac.compare_digest(_digest(key.strip()), self._digest)

    def attempt(self, key, session: str | None = None, address: str | None = None) -> bool:
        """`allows(key)`, throttled: raises KeyThrottled while this session (or its address, unless the session gave
        the right key before) must wait, without looking at the key. No key at all ("", None) is no guess: refused,
        not counted. A wrong key counts against both and is logged in one line."""
        if self._digest is None:
            return True
        if not isinstance(key, str) or not key.strip():
            return False
        with self._proven_lock:
            proven = session is not None and session in self._proven
        wait = max(self.sessions.wait(session) if session is not None else 0.0,
                   self.addresses.wait(address) if address is not None and not proven else 0.0)
        if wait > 0:
            log.warning("instructor key attempt refused unread (session %s, address %s): wait %.0f s",
                        _tag(session), address, wait)
            raise KeyThrottled(wait)
        if self.allows(key):
            if session is not None:
                self.sessions.forget(session)
                with self._proven_lock:
                    if len(self._proven) < 10_000:
                        self._proven.add(session)
            return True
        n = self.sessions.failed(session) if session is not None else 0
        m = self.addresses.failed(address) if address is not None else 0
        log.warning("wrong instructor key (session %s: %d wrong, address %s: %d wrong)", _tag(session), n, address, m)
        return False

    def __repr__(self) -> str:  # never the key, never its digest
        return f"InstructorLock(enabled={self.enabled})"


def _tag(session: str | None) -> str:
    """A session id as logged: its start only (enough to tell sessions apart in a log, not to take one over)."""
    return "-" if session is None else str(session)[:6] + "…"
