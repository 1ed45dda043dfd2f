"""The class's votes as a preference data set, just like Anthropic's hh-rlhf.

`export_pairs` / `write_export` write them as hh-rlhf transcripts or in TRL's conversational format (JSONL or
Parquet), and `vote_pairs` hands (prompt, chosen, rejected) triples to the reward-model trainer. Ties and "both bad"
carry no preference and are left out (and counted).

Only COUNTED votes become data: archived votes (a reset) never, and with `filters` (`hygiene.VoteFilters`, e.g. the
saved filters of the Vote tab, `ws.standings.filters`) only the votes that pass them, exactly what the leaderboard ranks.
`filters=None` keeps every active vote.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rlhf_demo.arena.hygiene import VoteFilters, apply_filters
from rlhf_demo.arena.votes import VoteError, VoteRecord, VoteStore
from rlhf_demo.data.pairs import EXPORT_FORMATS, messages_arrow_type, preference_examples
from rlhf_demo.settings import shorten

FILE_FORMATS = ("jsonl", "parquet")


@dataclass(frozen=True)
class ExportStats:
    n_pairs: int  # preference pairs written (votes "A" or "B")
    n_ties: int  # "tie" votes left out
    n_both_bad: int  # "both_bad" votes left out
    n_filtered: int = 0  # votes that did not pass the filters (not counted at all)


def _examples(pairs: list[tuple[str, str, str]], fmt: str) -> list[dict]:
    if fmt not in EXPORT_FORMATS:  # the export's own error type, so the Vote tab shows it as it shows the others
        raise VoteError(f"Unknown export format {shorten(fmt)}: choose one of {', '.join(EXPORT_FORMATS)}.")
    return preference_examples(pairs, fmt)


def _decisive(votes: list[VoteRecord]) -> list[tuple[str, str, str]]:
    out = []
    for v in votes:
        if v.outcome == "A":
            out.append((v.prompt, v.reply_a, v.reply_b))
        elif v.outcome == "B":
            out.append((v.prompt, v.reply_b, v.reply_a))
    return out


def counted_votes(store: VoteStore, filters: VoteFilters | None = None) -> list[VoteRecord]:
    """The active votes that pass `filters` (all active votes when None), oldest first."""
    return apply_filters(store.votes(), filters)[0]


def vote_pairs(store: VoteStore, filters: VoteFilters | None = None) -> list[tuple[str, str, str]]:
    """(prompt, chosen_reply, rejected_reply) for every counted decisive vote, oldest first: reward-model training
    data. The reward service gets the workspace's saved filters: ``vote_pairs(ws.votes, ws.standings.filters)``."""
    return _decisive(counted_votes(store, filters))


def export_pairs(store: VoteStore, fmt: str = "hh", filters: VoteFilters | None = None) -> list[dict]:
    """The counted decisive votes as preference examples, oldest first.

    fmt="hh":              {"chosen": prompt + " " + chosen, "rejected": prompt + " " + rejected}, i.e. full
                           hh-rlhf transcripts, exactly the format of Anthropic/hh-rlhf.
    fmt="conversational":  TRL's implicit-prompt conversational format: {"chosen": [messages...,
                           {"role": "assistant", "content": chosen}], "rejected": [...]} where the shared
                           prompt is the leading user/assistant messages of both lists.
    """
    return _examples(vote_pairs(store, filters), fmt)


def _arrow_schema(fmt: str):
    """Explicit column types, so an export with zero rows is still a valid, loadable file."""
    import pyarrow as pa

    text = pa.string() if fmt == "hh" else messages_arrow_type()
    return pa.schema([("chosen", text), ("rejected", text)])


def write_export(store: VoteStore, path: str | os.PathLike, fmt: str = "hh", file_format: str | None = None,
                 filters: VoteFilters | None = None) -> ExportStats:
    """Write `export_pairs(store, fmt, filters)` to `path` as JSONL or Parquet (default: from the file suffix).

    The file is written to a temporary name and renamed, so a reader never sees half an export.
    Load it back with ``datasets.load_dataset("json" | "parquet", data_files=path, split="train")``.
    """
    path = Path(path)
    if file_format is None:
        file_format = "parquet" if path.suffix == ".parquet" else "jsonl"
    if file_format not in FILE_FORMATS:
        raise VoteError(f"Unknown file format {shorten(file_format)}: choose one of {', '.join(FILE_FORMATS)}.")
    # one snapshot: the rows and the counts agree even while people keep voting
    votes, report = apply_filters(store.votes(), filters)
    rows = _examples(_decisive(votes), fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        if file_format == "jsonl":
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                for row in rows:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            os.close(fd)
            pq.write_table(pa.Table.from_pylist(rows, schema=_arrow_schema(fmt)), tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return ExportStats(n_pairs=len(rows), n_ties=sum(v.outcome == "tie" for v in votes),
                       n_both_bad=sum(v.outcome == "both_bad" for v in votes), n_filtered=report.filtered)
