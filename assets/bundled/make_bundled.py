"""Build the bundled offline preference set: assets/bundled/train.jsonl and assets/bundled/test.jsonl.

The app needs preference pairs even when the Hugging Face Hub is unreachable, so this project ships its own
small set, written by hand in the exact Anthropic hh-rlhf format. The dialogues live as plain Python data in
`dialogues/<topic>.py` (one file per topic, easy to read and edit); this script turns them into jsonl lines:

    {"chosen": "\\n\\nHuman: ...\\n\\nAssistant: <good reply>",
     "rejected": "\\n\\nHuman: ...\\n\\nAssistant: <worse reply>",
     "topic": "cooking", "flaw": "unsafe"}

Both transcripts share the whole conversation and differ ONLY in the final Assistant reply. `topic` and
`flaw` (what is wrong with the rejected reply) are extra keys that the loader ignores.

Each dialogue file defines `TOPIC = "..."` and `PAIRS = [dict(flaw=..., turns=[...], chosen=..., rejected=...)]`
where `turns` alternates Human, Assistant, Human, ... and ends with the Human message being answered.

Run it from anywhere (deterministic: same input, byte-identical output):

    python assets/bundled/make_bundled.py           # validate, write train/test.jsonl, print statistics
    python assets/bundled/make_bundled.py --check   # validate and verify the files on disk are up to date
"""

from __future__ import annotations

import argparse
import json
import random
import runpy
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DIALOGUE_DIR = HERE / "dialogues"

FLAWS = ("unhelpful", "rude", "wrong", "evasive", "unsafe", "verbose-off-topic")
TEST_EVERY = 5  # hold out every 5th dialogue of each stratum for test (~20 %). A stratum is (flaw, is the
#                 rejected reply longer?), so the test set has the same flaw mix AND the same "longer reply
#                 wins" rate as the whole set; a length-only baseline cannot look better on test than on train.
TEST_OFFSET = 2  # take positions 2, 7, 12, ... of each stratum (in file order), not the first dialogue of each.
SHUFFLE_SEED = 0  # the lines are shuffled (topics interleaved) with this seed, so the output is reproducible.
HUMAN, ASSISTANT = "\n\nHuman: ", "\n\nAssistant: "
# Characters we keep out of the text: typographic quotes/dashes look odd next to the plain ASCII used
# everywhere else, and a newline pair would break the turn structure of the transcript.
FORBIDDEN = ("\u2018", "\u2019", "\u201c", "\u201d", "\u2013", "\u2014", "\u2026", "\n\n", "  ")


@dataclass(frozen=True)
class Dialogue:
    topic: str
    flaw: str
    turns: tuple[str, ...]  # Human, Assistant, ..., Human: the conversation before the final reply
    chosen: str  # the good final Assistant reply
    rejected: str  # the worse final Assistant reply
    source: str  # "<file>.py #<index>", for error messages

    @property
    def human_turns(self) -> int:
        return (len(self.turns) + 1) // 2


def transcript(turns: tuple[str, ...], reply: str) -> str:
    """hh-rlhf transcript: "\\n\\nHuman: t0\\n\\nAssistant: t1 ... \\n\\nAssistant: reply"."""
    parts = [(HUMAN if i % 2 == 0 else ASSISTANT) + text for i, text in enumerate((*turns, reply))]
    return "".join(parts)


def to_record(d: Dialogue) -> dict:
    return {
        "chosen": transcript(d.turns, d.chosen),
        "rejected": transcript(d.turns, d.rejected),
        "topic": d.topic,
        "flaw": d.flaw,
    }


# ----------------------------------------------------------------------------------------------------------
# loading + validation


def load_dialogues(folder: Path = DIALOGUE_DIR) -> list[Dialogue]:
    """Read every `dialogues/*.py` file (sorted by name) into Dialogue objects, validating each one."""
    dialogues = []
    for path in sorted(folder.glob("*.py")):
        data = runpy.run_path(str(path))  # plain data files: TOPIC and PAIRS, nothing else
        for i, p in enumerate(data["PAIRS"]):
            d = Dialogue(data["TOPIC"], p["flaw"], tuple(p["turns"]), p["chosen"], p["rejected"], f"{path.name} #{i}")
            check_dialogue(d)
            dialogues.append(d)
    check_unique(dialogues)
    return dialogues


def check_dialogue(d: Dialogue) -> None:
    def fail(msg: str):
        raise ValueError(f"{d.source}: {msg}")

    if d.flaw not in FLAWS:
        fail(f"unknown flaw {d.flaw!r}")
    if len(d.turns) % 2 != 1 or not 1 <= d.human_turns <= 4:
        fail("turns must be Human, Assistant, ..., Human with 1-4 Human turns")
    if d.chosen == d.rejected:
        fail("chosen and rejected replies are identical")
    for text in (*d.turns, d.chosen, d.rejected):
        if not text or text != text.strip():
            fail(f"empty text or stray whitespace: {text!r}")
        if "Human:" in text or "Assistant:" in text:
            fail(f"speaker tag inside a turn: {text!r}")
        for bad in FORBIDDEN:
            if bad in text:
                fail(f"forbidden character sequence {bad!r} in {text!r}")


def check_unique(dialogues: list[Dialogue]) -> None:
    """Every conversation must be different, and so must every reply (no copy-paste across pairs)."""
    for what, key in (("opening question", lambda d: d.turns[0]),
                      ("chosen reply", lambda d: d.chosen), ("rejected reply", lambda d: d.rejected)):
        seen = Counter(key(d).lower() for d in dialogues)
        dupes = [k for k, n in seen.items() if n > 1]
        if dupes:
            raise ValueError(f"duplicate {what}: {dupes[:3]}")


def check_record(rec: dict) -> None:
    """The properties the app's loader relies on, checked on the final jsonl record."""
    c, r = rec["chosen"], rec["rejected"]
    assert c.startswith(HUMAN) and r.startswith(HUMAN)
    cut_c, cut_r = c.rfind(ASSISTANT), r.rfind(ASSISTANT)
    assert c[:cut_c] == r[:cut_r], "chosen and rejected must share the conversation"
    assert c[cut_c:] != r[cut_r:], "final replies must differ"
    assert c[:cut_c].rfind(HUMAN) > c[:cut_c].rfind(ASSISTANT), "the final reply must answer a Human turn"


# ----------------------------------------------------------------------------------------------------------
# split, write, report


def stratum(d: Dialogue) -> tuple[str, bool]:
    return d.flaw, len(d.rejected) > len(d.chosen)


def split(dialogues: list[Dialogue]) -> tuple[list[Dialogue], list[Dialogue]]:
    """Stratified split: the k-th dialogue of its stratum goes to test when k % TEST_EVERY == TEST_OFFSET.

    Note: editing a reply's length can move it to another stratum, and so shift which dialogues are held out.
    """
    train, test = [], []
    position = Counter()
    for d in dialogues:
        k = position[stratum(d)]
        position[stratum(d)] += 1
        (test if k % TEST_EVERY == TEST_OFFSET else train).append(d)
    rng = random.Random(SHUFFLE_SEED)
    rng.shuffle(train)
    rng.shuffle(test)
    return train, test


def render(dialogues: list[Dialogue]) -> str:
    lines = []
    for d in dialogues:
        rec = to_record(d)
        check_record(rec)
        lines.append(json.dumps(rec, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def stats(dialogues: list[Dialogue]) -> dict:
    n = len(dialogues)
    longer = sum(len(d.rejected) > len(d.chosen) for d in dialogues)
    return {
        "pairs": n,
        "multi_turn": sum(d.human_turns > 1 for d in dialogues),
        "rejected_longer_rate": round(longer / n, 3),  # how often "the longer reply wins" would be WRONG
        "longer_wins_rate": round((n - longer) / n, 3),  # accuracy of the "pick the longer reply" baseline
        "mean_chars_chosen": round(sum(len(d.chosen) for d in dialogues) / n, 1),
        "mean_chars_rejected": round(sum(len(d.rejected) for d in dialogues) / n, 1),
        "topics": dict(sorted(Counter(d.topic for d in dialogues).items())),
        "flaws": {f: sum(d.flaw == f for d in dialogues) for f in FLAWS},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only verify that train/test.jsonl are up to date")
    args = parser.parse_args(argv)

    dialogues = load_dialogues()
    train, test = split(dialogues)
    outputs = {HERE / "train.jsonl": render(train), HERE / "test.jsonl": render(test)}
    if args.check:
        stale = [p.name for p, text in outputs.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
        if stale:
            print(f"out of date: {stale}; run python assets/bundled/make_bundled.py", file=sys.stderr)
            return 1
    else:
        for path, text in outputs.items():
            path.write_text(text, encoding="utf-8")
    print(json.dumps({"all": stats(dialogues), "train": stats(train), "test": stats(test)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
