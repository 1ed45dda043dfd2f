"""The vote store: every arena round and every human judgement, in one SQLite file.

RLHF starts with people saying which of two answers is better. The arena (`arena.py`) shows a prompt and two
anonymous replies; this module keeps what happened so that it survives a restart and can be turned into
training data:

    rounds  one row per battle, written when it is CREATED (before anyone votes):
            id (uuid4 hex), time, who asked, prompt, contestant A/B names, reply A/B, generation settings (JSON)
    votes   at most one row per round (round_id UNIQUE): time, voter id (the Gradio session hash), an
            optional display name, and the outcome: "A", "B", "tie" or "both_bad"; `archived_at` is set when the
            instructor resets the votes: an archived vote no longer counts anywhere, but it is never deleted
    calibration_sets, calibration_judgements
            fixed items every student judges (see `calibration.py`, which keeps its queries); here only so that
            the file has ONE schema version and one list of migrations

A round's `created_at` is stamped AFTER its two replies were generated, just before the round is handed to the page
or the API client, i.e. when it is delivered: the time a voter had to read it runs from then, or from the same
session's previous vote when that came later (`hygiene.reading_seconds`; `hygiene.py` filters votes cast faster
than anyone reads).

Design notes
  * stdlib `sqlite3` only; WAL journal so readers (another process, a notebook) never block the app.
  * ONE connection shared by all threads, guarded by a lock: Gradio calls us from a thread pool, and a vote is
    a few-millisecond write, so serialising is simpler than a connection per thread and loses nothing.
  * one transaction per vote: the vote is either fully stored or not at all.
  * ``PRAGMA user_version`` holds the schema version; a file written by a newer version of this code is
    refused with a clear message instead of being misread.

Export (the votes as a preference data set, for the reward model and for download) is in `export.py`.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

SCHEMA_VERSION = 3  # bump (and add a step to `_MIGRATIONS`) whenever the tables change
OUTCOMES = ("A", "B", "tie", "both_bad")  # A better, B better, equally good, both unacceptable

_CALIBRATION_SCHEMA = [  # (schema 3) the tables of calibration.py
    """CREATE TABLE calibration_sets (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  TEXT NOT NULL,
    ended_at    TEXT,                      -- NULL = the active set (at most one)
    seed        INTEGER NOT NULL,
    source      TEXT NOT NULL,             -- where the items came from (data description)
    items       TEXT NOT NULL              -- JSON list of {pair_index, prompt, reply_a, reply_b, chosen}
)""",
    """CREATE TABLE calibration_judgements (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    set_id      INTEGER NOT NULL REFERENCES calibration_sets(id),
    item        INTEGER NOT NULL,          -- 0-based index into the set's items
    voter_id    TEXT NOT NULL,
    voter_name  TEXT NOT NULL,             -- '' when none (NOT NULL: NULLs would slip past the UNIQUE below)
    outcome     TEXT NOT NULL CHECK (outcome IN ('A', 'B', 'tie')),
    judged_at   TEXT NOT NULL,
    UNIQUE (set_id, item, voter_id, voter_name)
)""",
]

_SCHEMA = """
CREATE TABLE rounds (
    id          TEXT PRIMARY KEY,          -- uuid4 hex
    created_at  TEXT NOT NULL,             -- ISO-8601 UTC
    voter_id    TEXT NOT NULL,             -- who asked for the round (Gradio session hash)
    prompt      TEXT NOT NULL,             -- hh-rlhf text ending with "\\n\\nAssistant:"
    model_a     TEXT NOT NULL,             -- contestant names, hidden from the voter until the vote
    model_b     TEXT NOT NULL,
    reply_a     TEXT NOT NULL,
    reply_b     TEXT NOT NULL,
    settings    TEXT NOT NULL,             -- generation settings, JSON
    model_a_id  TEXT,                      -- immutable ids of the two contestants: what the names pointed to, e.g.
    model_b_id  TEXT                       -- a hash of a checkpoint's adapter (NULL in rounds from schema 1)
);
CREATE TABLE votes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    round_id    TEXT NOT NULL UNIQUE REFERENCES rounds(id),   -- one judgement per round
    voted_at    TEXT NOT NULL,
    voter_id    TEXT NOT NULL,
    voter_name  TEXT,
    outcome     TEXT NOT NULL CHECK (outcome IN ('A', 'B', 'tie', 'both_bad')),
    archived_at TEXT                       -- set by "Reset votes": the vote stops counting (NULL = active)
);
CREATE INDEX votes_voted_at ON votes(voted_at);
""" + "".join(f"{stmt};\n" for stmt in _CALIBRATION_SCHEMA)


# version -> the statements that bring a file from that version to the next one
_MIGRATIONS = {
    1: ["ALTER TABLE rounds ADD COLUMN model_a_id TEXT", "ALTER TABLE rounds ADD COLUMN model_b_id TEXT"],
    2: ["ALTER TABLE votes ADD COLUMN archived_at TEXT", *_CALIBRATION_SCHEMA],
}


class VoteError(ValueError):
    """A user-facing problem with the vote store (message is meant to be shown as is)."""


_ROUND_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex


def _check_round_id(round_id) -> str:
    """A round id as stored (32 hex characters); anything else is refused without echoing more than its start."""
    if isinstance(round_id, str) and _ROUND_ID.fullmatch(round_id):
        return round_id
    text = round_id if isinstance(round_id, str) else repr(round_id)
    shown = repr(text) if len(text) <= 40 else f"{text[:40]!r}… ({len(text):,} characters)"
    raise VoteError(f"Unknown round {shown}: a round id is 32 hexadecimal characters, as /arena_round returns it.")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


# ----------------------------------------------------------------------------------------------------------
# records


@dataclass(frozen=True)
class RoundRecord:
    """One battle as stored: a prompt, two replies, and (secretly) which contestant wrote which."""

    round_id: str
    created_at: str
    voter_id: str
    prompt: str
    model_a: str
    model_b: str
    reply_a: str
    reply_b: str
    settings: dict = field(default_factory=dict)
    model_a_id: str | None = None  # immutable contestant ids (None for rounds stored before schema 2)
    model_b_id: str | None = None


@dataclass(frozen=True)
class VoteRecord:
    """A judged round: the round's content joined with its vote. Field names match what `ranking` reads."""

    round_id: str
    created_at: str
    voted_at: str
    voter_id: str  # who voted
    voter_name: str | None
    prompt: str
    model_a: str
    model_b: str
    reply_a: str
    reply_b: str
    outcome: str  # "A" | "B" | "tie" | "both_bad"
    settings: dict = field(default_factory=dict)
    model_a_id: str | None = None
    model_b_id: str | None = None
    archived_at: str | None = None  # set when the instructor reset the votes: stored, but no longer counted

    @property
    def winner(self) -> str | None:
        """Name of the preferred contestant, None for a tie or both bad."""
        return {"A": self.model_a, "B": self.model_b}.get(self.outcome)


# ----------------------------------------------------------------------------------------------------------
# the store


class VoteStore:
    """Rounds and votes in a SQLite file at `path` (created with its folder if missing). Thread-safe."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()
        self._conn = self._open(self.path)

    # --- opening -------------------------------------------------------------------------------------------

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        """Check the location is writable BEFORE creating anything, then open and check/create the schema."""
        if path.is_dir():
            raise VoteError(f"Cannot use {path} as the vote database: it is a folder.")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:  # e.g. a parent is a file, or a read-only file system
            raise VoteError(f"Cannot create the folder for the vote database {path}: {e.strerror or e}.") from e
        if not os.access(path.parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise VoteError(f"Cannot write the vote database {path}: permission denied.")
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is exactly what we say.
            conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as e:
            raise VoteError(f"Cannot open the vote database {path}: {e}.") from e
        try:
            VoteStore._check_schema(conn, path)  # first: never switch someone else's database to WAL
            VoteStore._use_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable at checkpoints, never corrupt
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as e:  # "file is not a database", read-only media, ...
            conn.close()
            raise VoteError(f"Cannot use {path} as the vote database: {e}.") from e
        except VoteError:
            conn.close()
            raise
        return conn

    @staticmethod
    def _use_wal(conn: sqlite3.Connection, timeout: float = 30.0) -> None:
        """Switch the file to WAL (it stays WAL: later opens find it so and write nothing). Changing the journal mode
        does not wait for other connections, so when several open a new file at once it is retried until it holds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    @staticmethod
    def _check_schema(conn: sqlite3.Connection, path: Path) -> None:
        """Create the tables in a new file; accept our schema version; refuse anything else with a clear message."""
        # BEGIN IMMEDIATE takes the write lock before we look, so two processes opening the same new file at
        # once cannot both create the tables. Nothing is written unless the file is new.
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if version == 0 and not tables:  # a brand-new (empty) file
                for stmt in _SCHEMA.split(";"):  # (not executescript: it would COMMIT early)
                    if stmt.strip():
                        conn.execute(stmt)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                version = SCHEMA_VERSION
            while version in _MIGRATIONS and tables:  # an older vote file: bring it forward, votes kept
                for stmt in _MIGRATIONS[version]:
                    conn.execute(stmt)
                version += 1
                conn.execute(f"PRAGMA user_version={version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if version > SCHEMA_VERSION:
            raise VoteError(
                f"The vote database {path} has schema version {version}, but this version of the app only "
                f"understands version {SCHEMA_VERSION}. Update the app, or point it at another file."
            )
        if version != SCHEMA_VERSION:
            raise VoteError(
                f"{path} is a SQLite file but not a vote database this app knows (schema version {version}, "
                f"tables {sorted(tables)}). Point the app at another file."
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def connection(self):
        """The store's one connection, held under its one lock: for the other tables of this file
        (`calibration.py`). Autocommit; issue BEGIN IMMEDIATE / COMMIT for several statements that belong together."""
        with self._lock:
            yield self._conn

    def __enter__(self) -> "VoteStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- writing -------------------------------------------------------------------------------------------

    def add_round(
        self,
        prompt: str,
        model_a: str,
        model_b: str,
        reply_a: str,
        reply_b: str,
        voter_id: str,
        settings: dict | None = None,
        model_a_id: str | None = None,
        model_b_id: str | None = None,
    ) -> RoundRecord:
        """Store a new (not yet judged) round and return it with its fresh uuid4-hex id."""
        rec = RoundRecord(uuid.uuid4().hex, _now(), str(voter_id), prompt, model_a, model_b, reply_a, reply_b,
                          dict(settings or {}), model_a_id, model_b_id)
        row = (rec.round_id, rec.created_at, rec.voter_id, rec.prompt, rec.model_a, rec.model_b, rec.reply_a,
               rec.reply_b, json.dumps(rec.settings, sort_keys=True), model_a_id, model_b_id)
        with self._lock:
            self._conn.execute("INSERT INTO rounds (id, created_at, voter_id, prompt, model_a, model_b, reply_a, reply_b, "
                               "settings, model_a_id, model_b_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        return rec

    def add_vote(self, round_id: str, outcome: str, voter_id: str, voter_name: str | None = None) -> VoteRecord:
        """Record the judgement of a round, in one transaction. Raises VoteError with the reason when refused."""
        round_id = _check_round_id(round_id)
        if outcome not in OUTCOMES:
            raise VoteError(f"Unknown vote {str(outcome)[:20]!r}: it must be one of {', '.join(OUTCOMES)}.")
        voter_name = (voter_name or "").strip() or None
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")  # take the write lock now: check + insert are atomic
            try:
                if self._conn.execute("SELECT 1 FROM rounds WHERE id = ?", (round_id,)).fetchone() is None:
                    raise VoteError(f"Unknown round {round_id!r}: it was never created (or belongs to another database).")
                if self._conn.execute("SELECT 1 FROM votes WHERE round_id = ?", (round_id,)).fetchone():
                    raise VoteError(f"Round {round_id!r} has already been voted on: each round takes one vote.")
                self._conn.execute(
                    "INSERT INTO votes (round_id, voted_at, voter_id, voter_name, outcome) VALUES (?, ?, ?, ?, ?)",
                    (round_id, _now(), str(voter_id), voter_name, outcome),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            return self._votes_where("v.round_id = ?", (round_id,))[0]

    def expire_unvoted(self, max_age_seconds: float = 6 * 3600) -> int:
        """Delete the rounds nobody voted on that are older than `max_age_seconds` (a page closed mid-round, a bot
        that only asks): they would otherwise pile up forever. Votes and voted rounds are never touched."""
        cutoff = datetime.fromtimestamp(time.time() - max_age_seconds, timezone.utc).isoformat(timespec="milliseconds")
        with self._lock:
            cur = self._conn.execute("DELETE FROM rounds WHERE created_at < ? AND id NOT IN (SELECT round_id FROM votes)",
                                     (cutoff,))
            return cur.rowcount

    # --- reading -------------------------------------------------------------------------------------------

    def get_round(self, round_id: str) -> RoundRecord:
        round_id = _check_round_id(round_id)
        with self._lock:
            row = self._conn.execute(
                "SELECT id, created_at, voter_id, prompt, model_a, model_b, reply_a, reply_b, settings, model_a_id, "
                "model_b_id FROM rounds WHERE id = ?", (round_id,)).fetchone()
        if row is None:
            raise VoteError(f"Unknown round {round_id!r}.")
        return RoundRecord(*row[:8], settings=json.loads(row[8]), model_a_id=row[9], model_b_id=row[10])

    def _votes_where(self, where: str = "1", params: tuple = ()) -> list[VoteRecord]:
        # caller holds the lock
        rows = self._conn.execute(
            "SELECT r.id, r.created_at, v.voted_at, v.voter_id, v.voter_name, r.prompt, r.model_a, r.model_b, "
            "r.reply_a, r.reply_b, v.outcome, r.settings, r.model_a_id, r.model_b_id, v.archived_at "
            f"FROM votes v JOIN rounds r ON r.id = v.round_id WHERE {where} ORDER BY v.id", params).fetchall()
        return [VoteRecord(*row[:11], settings=json.loads(row[11]), model_a_id=row[12], model_b_id=row[13],
                           archived_at=row[14]) for row in rows]

    def votes(self, include_archived: bool = False) -> list[VoteRecord]:
        """The judged rounds, oldest vote first: the active ones, or (include_archived) every vote ever cast."""
        with self._lock:
            return self._votes_where("1" if include_archived else "v.archived_at IS NULL")

    def count(self, include_archived: bool = False) -> int:
        """Number of active votes (or of all votes, archived included)."""
        where = "" if include_archived else " WHERE archived_at IS NULL"
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM votes" + where).fetchone()[0]

    def archive_votes(self) -> int:
        """"Reset votes": stamp every active vote as archived (now). They stop counting (leaderboard, export, reward
        data) but stay in the file, so a reset can never lose the class's work. Returns how many were archived."""
        with self._lock:
            return self._conn.execute("UPDATE votes SET archived_at = ? WHERE archived_at IS NULL", (_now(),)).rowcount

    def stats(self) -> dict:
        """Totals for the UI: rounds, active and archived votes, unjudged rounds, distinct voters, votes per outcome."""
        with self._lock:
            n_rounds = self._conn.execute("SELECT COUNT(*) FROM rounds").fetchone()[0]
            n_all = self._conn.execute("SELECT COUNT(*) FROM votes").fetchone()[0]
            n_votes, n_voters = self._conn.execute("SELECT COUNT(*), COUNT(DISTINCT voter_id) FROM votes "
                                                   "WHERE archived_at IS NULL").fetchone()
            by_outcome = dict(self._conn.execute("SELECT outcome, COUNT(*) FROM votes WHERE archived_at IS NULL "
                                                 "GROUP BY outcome").fetchall())
        return {
            "rounds": n_rounds,
            "votes": n_votes,  # active votes (archived ones left out, as everywhere)
            "archived": n_all - n_votes,
            "unvoted_rounds": n_rounds - n_all,
            "voters": n_voters,
            "outcomes": {o: by_outcome.get(o, 0) for o in OUTCOMES},
        }


def distinct_models(records: list[VoteRecord]) -> list[VoteRecord]:
    """The records with each contestant named so that two different models never share a name on the leaderboard:
    a name that stood for more than one model id (e.g. a checkpoint folder overwritten by an older version of the
    app, or the same base name over two policies) becomes "name [id]" for each. Rounds without ids (schema 1) keep
    the bare name."""
    ids: dict[str, set] = {}
    for r in records:
        for name, uid in ((r.model_a, r.model_a_id), (r.model_b, r.model_b_id)):
            ids.setdefault(name, set()).add(uid)
    ambiguous = {name for name, seen in ids.items() if len(seen - {None}) > 1}
    if not ambiguous:
        return list(records)

    def label(name: str, uid: str | None) -> str:
        return f"{name} [{uid}]" if name in ambiguous and uid else name

    return [replace(r, model_a=label(r.model_a, r.model_a_id), model_b=label(r.model_b, r.model_b_id)) for r in records]
