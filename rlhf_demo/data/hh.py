"""hh-rlhf preference pairs: parsing a transcript into turns, a file into a `PreferenceSet`.

An hh-rlhf line is ``{"chosen": transcript, "rejected": transcript}`` where a transcript is
``"\\n\\nHuman: ...\\n\\nAssistant: ...\\n\\nHuman: ...\\n\\nAssistant: ..."``. The two transcripts
share the conversation and differ in the final Assistant reply (in a handful of real pairs the
earlier turns differ too, so the shared prefix is computed, not assumed).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import time
import zlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

HUMAN_TAG = "\n\nHuman:"
ASSISTANT_TAG = "\n\nAssistant:"
# a model that writes a turn marker has started the next turn: its reply ends there (arena and PPO alike)
STOP_STRINGS = (HUMAN_TAG, ASSISTANT_TAG)
_TURN_RE = re.compile(r"\n\n(Human|Assistant):[ ]?")

# Bounds on one data file, so a hostile or broken file costs a message, never the machine's memory. The longest line
# of the harmless-base sample is 7,766 characters (a whole multi-turn dialogue twice); a line 25x longer is no
# hh-rlhf record. All four hh-rlhf subsets' train splits together hold 160,800 pairs.
MAX_LINE_CHARS = 200_000
MAX_PAIRS = 200_000  # lines read from one file (one pair per line)

# ----------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Turn:
    role: str  # "Human" | "Assistant"
    text: str


@dataclass(frozen=True)
class PreferencePair:
    """One human judgement: the same conversation, two final replies, one preferred."""

    index: int  # position in its file/split (stable id for the UI and the API)
    chosen_text: str  # the raw transcripts, as in the file
    rejected_text: str
    chosen_turns: tuple[Turn, ...]
    rejected_turns: tuple[Turn, ...]
    n_shared: int  # number of leading turns identical in both transcripts

    @property
    def prefix(self) -> tuple[Turn, ...]:
        """The conversation both sides share (shown once in the UI)."""
        return self.chosen_turns[: self.n_shared]

    @property
    def chosen(self) -> str:
        """The chosen final Assistant reply."""
        return self.chosen_turns[-1].text

    @property
    def rejected(self) -> str:
        return self.rejected_turns[-1].text

    @property
    def same_prefix(self) -> bool:
        """True when the two sides differ only in the final reply (all but 4 of 1,812 real pairs)."""
        return self.n_shared == len(self.chosen_turns) - 1 == len(self.rejected_turns) - 1

    @property
    def prompt(self) -> str:
        """The conversation up to and including the last ``Assistant:`` tag: what a policy continues."""
        cut = self.chosen_text.rfind(ASSISTANT_TAG)
        return self.chosen_text[: cut + len(ASSISTANT_TAG)]

    @property
    def n_turns(self) -> int:
        """Number of Human turns (1 = single-turn)."""
        return sum(t.role == "Human" for t in self.chosen_turns)

    def searchable(self) -> str:
        return (self.chosen_text + "\n" + self.rejected).lower()


def parse_transcript(text: str) -> list[Turn]:
    """Split an hh-rlhf transcript into turns. Raises ValueError when it is not one."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty transcript")
    parts = _TURN_RE.split(text)
    # parts = [before-first-tag, role, text, role, text, ...]
    if parts[0].strip():
        raise ValueError("transcript does not start with a 'Human:' or 'Assistant:' turn")
    turns = [Turn(role, body.strip()) for role, body in zip(parts[1::2], parts[2::2])]
    if not turns:
        raise ValueError("no 'Human:'/'Assistant:' turns found")
    if turns[0].role != "Human":
        raise ValueError("transcript does not start with a Human turn")
    if turns[-1].role != "Assistant":
        raise ValueError("transcript does not end with an Assistant turn")
    return turns


def parse_pair(chosen: str, rejected: str, index: int = 0) -> PreferencePair:
    """Parse one hh-rlhf record. Raises ValueError (with the reason) for a malformed one."""
    c, r = parse_transcript(chosen), parse_transcript(rejected)
    n_shared = 0
    for a, b in zip(c[:-1], r[:-1]):
        if a != b:
            break
        n_shared += 1
    return PreferencePair(index, chosen, rejected, tuple(c), tuple(r), n_shared)


def to_hh_text(turns: list[Turn] | tuple[Turn, ...]) -> str:
    """Inverse of `parse_transcript` (normalised spacing)."""
    return "".join(f"\n\n{t.role}: {t.text}" for t in turns)


def prompt_from_text(text: str) -> str:
    """A user's typed question as an hh-rlhf prompt (``"\\n\\nHuman: ...\\n\\nAssistant:"``)."""
    return f"\n\nHuman: {text.strip()}{ASSISTANT_TAG}"


def prompt_turns(prompt: str) -> list[Turn]:
    """The turns of an hh-rlhf prompt ("\\n\\nHuman: ...\\n\\nAssistant:"). Raises ValueError when it is not one.

    A prompt ends with an empty Assistant turn (the slot a reply fills), which `parse_transcript` would refuse: it
    is parsed with a placeholder reply, and that last turn is dropped.
    """
    if not isinstance(prompt, str) or not prompt.endswith(ASSISTANT_TAG):
        raise ValueError("it does not end with an empty Assistant turn")
    return parse_transcript(prompt + " .")[:-1]


def last_question(prompt: str) -> str:
    """The text of an hh-rlhf prompt's last Human turn; works on a prompt cut from the left, too (as PPO's pool may
    hold), where `prompt_turns` would refuse the cut first turn."""
    return prompt.rsplit(HUMAN_TAG, 1)[-1].removesuffix(ASSISTANT_TAG).strip()


def prompt_messages(prompt: str) -> list[dict]:
    """An hh-rlhf prompt as chat messages (``{"role": "user"|"assistant", "content": ...}``), one per turn."""
    return [{"role": "user" if t.role == "Human" else "assistant", "content": t.text} for t in prompt_turns(prompt)]


@dataclass
class PreferenceSet:
    """The parsed pairs of one subset/split, plus how many lines were skipped and why."""

    pairs: list[PreferencePair]
    origin: str  # human-readable: where these came from
    skipped: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)
    load_seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.pairs)

    @cached_property
    def fingerprint(self) -> str:
        """16 hex digits of a hash of every pair's prompt, chosen and rejected reply: it changes whenever the data
        does (the key of the reward scores cached for this split, `reward/scoring.py`). Computed once per set."""
        h = hashlib.sha256()
        for p in self.pairs:
            for text in (p.prompt, p.chosen, p.rejected):
                b = text.encode("utf-8")
                h.update(len(b).to_bytes(8, "little"))  # length first: no two ways of cutting the same bytes collide
                h.update(b)
        return h.hexdigest()[:16]


class DataFileError(ValueError):
    """A data file that cannot be used (unreadable, not gzip, truncated, not UTF-8, over a bound): a user error,
    shown as one message naming the file."""


class NoValidPairs(DataFileError):
    """A file or split with lines but no valid pair: a user error, shown as such."""


def parse_records(records, origin: str) -> PreferenceSet:
    """Parse an iterable of raw lines (str) or dicts into a PreferenceSet, skipping bad ones."""
    t0 = time.perf_counter()
    pairs: list[PreferencePair] = []
    reasons: dict[str, int] = {}
    seen = 0
    for rec in records:
        if isinstance(rec, str):
            if not rec.strip():
                continue  # blank lines are not records
            try:
                rec = json.loads(rec)
            except json.JSONDecodeError:
                reasons["not JSON"] = reasons.get("not JSON", 0) + 1
                seen += 1
                continue
        seen += 1
        if not isinstance(rec, dict) or not isinstance(rec.get("chosen"), str) or not isinstance(rec.get("rejected"), str):
            reasons["missing 'chosen'/'rejected' text"] = reasons.get("missing 'chosen'/'rejected' text", 0) + 1
            continue
        try:
            pairs.append(parse_pair(rec["chosen"], rec["rejected"], index=len(pairs)))
        except ValueError as e:
            reasons[str(e)] = reasons.get(str(e), 0) + 1
    skipped = sum(reasons.values())
    if not pairs:
        detail = "; ".join(f"{n}× {why}" for why, n in reasons.items()) or "the file is empty"
        raise NoValidPairs(f"No valid hh-rlhf pair in {origin} ({seen} records; {detail}).")
    return PreferenceSet(pairs, origin, skipped, reasons, time.perf_counter() - t0)


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def iter_lines(path: str | os.PathLike, max_chars: int = MAX_LINE_CHARS, max_lines: int = MAX_PAIRS):
    """The lines of a ``.jsonl`` or ``.jsonl.gz`` file, streamed (never the whole file in memory).

    Raises DataFileError, with the reader's own message, for a file that is not gzip, truncated, corrupted or not
    UTF-8, and for a line longer than `max_chars` (found after reading `max_chars` of it) or more than `max_lines`
    lines."""
    path = Path(path)
    try:
        with _open_text(path) as f:
            n = 0
            while line := f.readline(max_chars + 1):  # at most max_chars + 1 characters, however long the line
                n += 1
                if len(line) > max_chars and not line.endswith("\n"):
                    raise DataFileError(f"{path}: line {n:,} is longer than {max_chars:,} characters, the bound on "
                                        "one hh-rlhf record.")
                if n > max_lines:
                    raise DataFileError(f"{path} has more than {max_lines:,} lines, the bound on the pairs read from "
                                        "one file: split it.")
                yield line
    except UnicodeDecodeError as e:
        raise DataFileError(f"Cannot read {path}: it is not UTF-8 text ({e})") from e
    except (OSError, EOFError, zlib.error) as e:  # not gzip (BadGzipFile), truncated (EOFError), corrupted (zlib)
        raise DataFileError(f"Cannot read {path}: {str(e).rstrip('.')}") from e


def load_jsonl(path: str | os.PathLike) -> PreferenceSet:
    """Read one ``.jsonl`` or ``.jsonl.gz`` file in the hh-rlhf format."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such data file: {path}")
    return parse_records(iter_lines(path), origin=str(path))
