"""Where the preference pairs come from (first match wins, see `open_source`):

  1. ``--data PATH``: one ``.jsonl``/``.jsonl.gz`` file, or a folder laid out like Anthropic's
     repository (``<subset>/<split>.jsonl.gz``);
  2. the Hugging Face Hub (``load_dataset("Anthropic/hh-rlhf", data_dir=subset, split=split)``);
  3. the bundled set in ``assets/bundled/`` written by this project (the offline default).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rlhf_demo.data.hh import NoValidPairs, PreferenceSet, load_jsonl, parse_records
from rlhf_demo.paths import BUNDLED_DIR

HUB_DATASET = "Anthropic/hh-rlhf"
HUB_SUBSETS = ("harmless-base", "helpful-base", "helpful-online", "helpful-rejection-sampled")
HUB_SPLITS = ("train", "test")


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

    @property
    def identity(self) -> str:
        """Which data this is, as a reward model records it ("local:/path/file.jsonl.gz", "bundled", "hub:...")."""
        return f"{self.kind}:{self.description}"

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

    def check(self) -> None:
        """Read the user's data now, at start, so a bad file is one message before the app is built, never a
        traceback in a tab later. Local files only (`LocalSource.check`): the Hub's are loaded when first used."""

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

    @property
    def identity(self) -> str:
        return f"local:{Path(self.path).resolve()}"  # the same file, however it was named on the command line

    def subsets(self) -> list[str]:
        return list(self.files)

    def splits(self, subset: str) -> list[str]:
        return sorted(self.files.get(subset, {}), key=lambda s: (s != "train", s != "test", s))

    def _load(self, subset: str, split: str) -> PreferenceSet:
        return load_jsonl(self.files[subset][split])

    def check(self) -> None:
        """Every file of --data is read at start: the default split is kept (the tabs open with it), the others are
        read through and dropped (kept, a folder of the whole hh-rlhf would hold ~170,000 pairs in memory before
        anyone opens them)."""
        self.load()
        for subset, splits in self.files.items():
            for split, path in splits.items():
                if (subset, split) not in self._cache:
                    load_jsonl(path)


class BundledSource(LocalSource):
    """The project's own small, benign preference set (works with no network)."""

    kind = "bundled"

    def __init__(self, path: Path = BUNDLED_DIR):
        super().__init__(path, description="bundled offline set (assets/bundled, written by this project)")

    @property
    def identity(self) -> str:
        return "bundled"


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


def open_source(data: str | None, offline: bool, hub_ok: bool, hub_timeout: float = 3.0) -> SourceChoice:
    """Pick the data source: ``--data`` if given, else the Hub when `hub_ok` (probed once, by the caller), else the
    bundled set. `hub_timeout` is only named in the note."""
    if data:
        src = LocalSource(data)
        return SourceChoice(src, f"from --data {data}")
    if offline:
        return SourceChoice(BundledSource(), "offline mode (--offline): using the bundled set")
    if hub_ok:
        return SourceChoice(HubSource(), "Hugging Face Hub reachable")
    return SourceChoice(BundledSource(), f"Hugging Face Hub not reachable (checked in ≤{hub_timeout:g} s): using the bundled set")
