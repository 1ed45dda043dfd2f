"""The instructor lock: on a shared app (a classroom, a public Space) only whoever knows the key may change jobs,
settings and models. Everyone may browse, vote, watch and use the scoring playground.

The key comes from ``--instructor-key`` or ``$RLHF_INSTRUCTOR_KEY`` (a Space secret). Without one the app is a
local single-user app and everything is allowed. We keep only a SHA-256 digest of the key (so no object repr, log
line or page ever holds it) and compare digests in constant time.
"""

from __future__ import annotations

import hashlib
import hmac

LOCKED_MESSAGE = ("Instructor only: this changes the shared lesson for everyone. Unlock with the instructor key "
                  "(top of the page), or pass `key` when calling the API.")


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


class InstructorLock:
    """``allows(key)``: may the holder of `key` take an instructor action? Always yes when no key was set."""

    def __init__(self, key: str | None = None):
        key = (key or "").strip()
        self._digest = _digest(key) if key else None

    @property
    def enabled(self) -> bool:
        return self._digest is not None

    def allows(self, key) -> bool:
        if self._digest is None:
            return True
        if not isinstance(key, str) or not key or len(key) > 1024:
            return False
        return hmac.compare_digest(_digest(key.strip()), self._digest)

    def __repr__(self) -> str:  # never the key, never its digest
        return f"InstructorLock(enabled={self.enabled})"
