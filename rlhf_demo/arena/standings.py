"""The standings of the arena: which votes count (the saved filters) and what they rank, cached between polls.

Every page of a class polls the leaderboard every few seconds; recomputing it (a bootstrap of Bradley-Terry fits)
for each poll would load the CPU that the arena's replies need. So the standings are recomputed only when what
they depend on changed: the number of active votes, of all votes (an archive), or the filters.

The filters live in `<data dir>/vote_filters.json`; they are read again whenever that file changed (whoever saved
it: this app, or a tool), so two processes never disagree for long about which votes count.
"""

from __future__ import annotations

import threading
from pathlib import Path

from rlhf_demo.arena.hygiene import VoteFilters, apply_filters, load_filters, save_filters
from rlhf_demo.arena.ranking import HeadToHead, agreement, head_to_head, leaderboard, win_matrix
from rlhf_demo.arena.votes import VoteStore, distinct_models


def file_signature(path: Path) -> tuple | None:
    """What changes when a file is replaced or rewritten (an atomic save makes a new inode), None when missing."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class Standings:
    """Counted votes and their rankings for one vote store, with the filters saved at `filters_path`."""

    def __init__(self, votes: VoteStore, filters_path: str | Path):
        self.votes = votes
        self.filters_path = Path(filters_path)
        self._lock = threading.Lock()
        self._filters: tuple[tuple | None, VoteFilters] | None = None  # (file signature, filters)
        self._cache: tuple[tuple, dict] | None = None  # (key(), standings)

    @property
    def filters(self) -> VoteFilters:
        """Which votes count; defaults until saved. Read again whenever the file changed (inode, size or mtime)."""
        with self._lock:
            sig = file_signature(self.filters_path)
            if self._filters is None or self._filters[0] != sig:
                self._filters = (sig, load_filters(self.filters_path))
            return self._filters[1]

    def set_filters(self, filters: VoteFilters) -> None:
        """Save new filters (an instructor action: the caller checks the lock); the standings follow at once."""
        self.filters_path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            save_filters(self.filters_path, filters)
            self._filters = (file_signature(self.filters_path), filters)

    def key(self) -> tuple:
        """What the standings depend on: (active votes, all votes, filters). Cheap: polls compare it."""
        return self.votes.count(), self.votes.count(include_archived=True), self.filters

    def current(self, n_bootstrap: int = 200) -> dict:
        """Leaderboard, win matrix and agreement of the COUNTED votes ("records", the saved filters applied), with
        the filter report ("report": `hygiene.FilterReport`); recomputed only when `key()` changed."""
        key = self.key()
        with self._lock:
            if self._cache is not None and self._cache[0] == key:
                return self._cache[1]
        stored = self.votes.votes()
        counted, report = apply_filters(stored, key[2])
        records = distinct_models(counted)  # one name never stands for two different models
        out = {"votes": len(stored), "counted": len(records), "archived": key[1] - len(stored), "report": report,
               "board": leaderboard(records, n_bootstrap=n_bootstrap),
               "matrix": win_matrix(records) if records else None,
               "agreement": agreement(records) if records else None, "records": records}
        with self._lock:
            self._cache = ((len(stored), key[1], key[2]), out)
        return out

    def head_to_head(self, a: str, b: str, confidence: float = 0.95) -> HeadToHead:
        """`b` against `a` in the counted votes (`ranking.head_to_head`: one pass over the cached records), e.g. the
        newest checkpoint against the base: the leaderboard's votes, so the two never disagree."""
        return head_to_head(self.current()["records"], a, b, confidence)
