"""Preference data: Anthropic hh-rlhf pairs, parsed into conversations.

An hh-rlhf line is ``{"chosen": transcript, "rejected": transcript}`` where a transcript is
``"\\n\\nHuman: ...\\n\\nAssistant: ...\\n\\nHuman: ...\\n\\nAssistant: ..."``. The two transcripts
share the conversation and differ in the final Assistant reply (in a handful of real pairs the
earlier turns differ too, so the shared prefix is computed, not assumed).

Where the pairs come from (first match wins, see `open_source`):
  1. ``--data PATH``: one ``.jsonl``/``.jsonl.gz`` file, or a folder laid out like Anthropic's
     repository (``<subset>/<split>.jsonl.gz``);
  2. the Hugging Face Hub (``load_dataset("Anthropic/hh-rlhf", data_dir=subset, split=split)``);
  3. the bundled set in ``assets/bundled/`` written by this project (the offline default).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
BUNDLED_DIR = ASSETS_DIR / "bundled"

HUB_DATASET = "Anthropic/hh-rlhf"
HUB_SUBSETS = ("harmless-base", "helpful-base", "helpful-online", "helpful-rejection-sampled")
HUB_SPLITS = ("train", "test")

ASSISTANT_TAG = "\n\nAssistant:"
_TURN_RE = re.compile(r"\n\n(Human|Assistant):[ ]?")


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


class NoValidPairs(ValueError):
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


def load_jsonl(path: str | os.PathLike) -> PreferenceSet:
    """Read one ``.jsonl`` or ``.jsonl.gz`` file in the hh-rlhf format."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such data file: {path}")
    try:
        with _open_text(path) as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError, EOFError) as e:
        raise NoValidPairs(f"Cannot read {path}: {e}") from e
    return parse_records(lines, origin=str(path))


# ----------------------------------------------------------------------------- sources


def _is_jsonl(p: Path) -> bool:
    return p.is_file() and (p.name.endswith(".jsonl") or p.name.endswith(".jsonl.gz"))


def _stem(p: Path) -> str:
    return p.name.removesuffix(".gz").removesuffix(".jsonl")


class DataSource:
    """A set of (subset, split) preference sets. Loaded lazily and cached (thread-safe)."""

    kind = "base"  # "local" | "hub" | "bundled"

    def __init__(self, description: str):
        self.description = description
        self._cache: dict[tuple[str, str], PreferenceSet] = {}
        self._lock = threading.Lock()

    def subsets(self) -> list[str]:
        raise NotImplementedError

    def splits(self, subset: str) -> list[str]:
        raise NotImplementedError

    def _load(self, subset: str, split: str) -> PreferenceSet:
        raise NotImplementedError

    def default(self) -> tuple[str, str]:
        subset = self.subsets()[0]
        splits = self.splits(subset)
        return subset, ("test" if "test" in splits else splits[0])

    def load(self, subset: str | None = None, split: str | None = None) -> PreferenceSet:
        if subset is None or split is None:
            subset, split = self.default()
        if subset not in self.subsets():
            raise ValueError(f"Unknown subset {subset!r}; choose one of {self.subsets()}.")
        if split not in self.splits(subset):
            raise ValueError(f"Unknown split {split!r} for {subset}; choose one of {self.splits(subset)}.")
        with self._lock:
            key = (subset, split)
            if key not in self._cache:
                t0 = time.perf_counter()
                ps = self._load(subset, split)
                ps.load_seconds = time.perf_counter() - t0
                self._cache[key] = ps
            return self._cache[key]


class LocalSource(DataSource):
    """One jsonl(.gz) file, or a folder of ``<subset>/<split>.jsonl[.gz]`` (or ``<split>.jsonl[.gz]``)."""

    kind = "local"

    def __init__(self, path: str | os.PathLike, description: str | None = None):
        self.path = Path(path).expanduser()
        self.files: dict[str, dict[str, Path]] = {}
        if _is_jsonl(self.path):
            stem = _stem(self.path)
            self.files[stem] = {stem if stem in HUB_SPLITS else "all": self.path}
        elif self.path.is_dir():
            for f in sorted(self.path.glob("*/*.jsonl*")) + sorted(self.path.glob("*.jsonl*")):
                if not _is_jsonl(f):
                    continue
                subset = f.parent.name if f.parent != self.path else self.path.name
                self.files.setdefault(subset, {})[_stem(f)] = f
        else:
            raise FileNotFoundError(f"--data {self.path}: no such file or folder.")
        if not self.files:
            raise NoValidPairs(
                f"--data {self.path}: no .jsonl or .jsonl.gz files found "
                "(expected one file, or a folder laid out as <subset>/<split>.jsonl.gz)."
            )
        super().__init__(description or f"local files: {self.path}")

    def subsets(self) -> list[str]:
        return list(self.files)

    def splits(self, subset: str) -> list[str]:
        return sorted(self.files.get(subset, {}), key=lambda s: (s != "train", s != "test", s))

    def _load(self, subset: str, split: str) -> PreferenceSet:
        return load_jsonl(self.files[subset][split])


class BundledSource(LocalSource):
    """The project's own small, benign preference set (works with no network)."""

    kind = "bundled"

    def __init__(self, path: Path = BUNDLED_DIR):
        super().__init__(path, description="bundled offline set (assets/bundled, written by this project)")


class HubSource(DataSource):
    """Anthropic/hh-rlhf from the Hugging Face Hub, through `datasets`."""

    kind = "hub"

    def __init__(self, dataset: str = HUB_DATASET):
        self.dataset = dataset
        super().__init__(description=f"Hugging Face Hub: {dataset}")

    def subsets(self) -> list[str]:
        return list(HUB_SUBSETS)

    def splits(self, subset: str) -> list[str]:
        return list(HUB_SPLITS)

    def default(self) -> tuple[str, str]:
        return "harmless-base", "test"

    def _load(self, subset: str, split: str) -> PreferenceSet:
        from datasets import load_dataset  # heavy import, only when the Hub is used

        ds = load_dataset(self.dataset, data_dir=subset, split=split)
        records = ({"chosen": c, "rejected": r} for c, r in zip(ds["chosen"], ds["rejected"]))
        return parse_records(records, origin=f"{self.dataset} {subset}/{split}")


# ----------------------------------------------------------------------------- choosing


def hub_reachable(timeout: float = 3.0) -> bool:
    """Can we reach the Hub within `timeout` seconds? Honours HF_HUB_OFFLINE.

    The probe runs in a daemon thread so a hanging DNS lookup cannot block start-up.
    """
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on"):
        return False
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    result: list[bool] = []

    def probe() -> None:
        try:
            import httpx

            r = httpx.head(f"{endpoint}/api/datasets/{HUB_DATASET}", timeout=timeout, follow_redirects=True)
            result.append(r.status_code < 500)
        except Exception:
            result.append(False)

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout + 0.5)
    return bool(result and result[0])


@dataclass
class SourceChoice:
    source: DataSource
    note: str  # why this source: shown in the UI


def open_source(data: str | None = None, offline: bool = False, hub_timeout: float = 3.0) -> SourceChoice:
    """Pick the data source: ``--data`` if given, else the Hub, else the bundled set."""
    if data:
        src = LocalSource(data)
        return SourceChoice(src, f"from --data {data}")
    if offline:
        return SourceChoice(BundledSource(), "offline mode (--offline): using the bundled set")
    if hub_reachable(hub_timeout):
        return SourceChoice(HubSource(), "Hugging Face Hub reachable")
    return SourceChoice(BundledSource(), f"Hugging Face Hub not reachable (checked in ≤{hub_timeout:g} s): using the bundled set")
