"""Data layer: parsing hh-rlhf, local files and folders, malformed lines, the bundled set, source choice."""

from __future__ import annotations

import gzip
import json

import pytest

from rlhf_demo.data import sources
from rlhf_demo.data.hh import NoValidPairs, load_jsonl, parse_pair, parse_transcript, to_hh_text
from rlhf_demo.data.sources import BundledSource, LocalSource, open_source
from rlhf_demo.paths import BUNDLED_DIR


def test_real_sample_parses_completely(sample_path):
    ps = load_jsonl(sample_path)
    assert len(ps) == 1812 and ps.skipped == 0
    # every pair ends in an Assistant reply, and the prompt is the text up to the last "Assistant:"
    for p in ps.pairs:
        assert p.chosen_turns[-1].role == "Assistant" and p.rejected_turns[-1].role == "Assistant"
        assert p.prompt.endswith("\n\nAssistant:")
        assert p.chosen_text.startswith(p.prompt)
    # the README of the sample: all but a handful share the whole conversation prefix
    assert 1800 <= sum(p.same_prefix for p in ps.pairs) < 1812


def test_parse_multi_turn_exactly():
    chosen = "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: How do I boil an egg?\n\nAssistant: Put it in boiling water for 9 minutes."
    rejected = "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: How do I boil an egg?\n\nAssistant: No idea."
    p = parse_pair(chosen, rejected, index=7)
    assert p.index == 7 and p.n_turns == 2 and p.same_prefix
    assert [t.role for t in p.prefix] == ["Human", "Assistant", "Human"]
    assert p.prefix[-1].text == "How do I boil an egg?"
    assert p.chosen == "Put it in boiling water for 9 minutes." and p.rejected == "No idea."
    assert p.prompt == "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: How do I boil an egg?\n\nAssistant:"
    assert to_hh_text(parse_transcript(chosen)) == chosen


def test_divergent_prefix_is_computed_not_assumed():
    p = parse_pair("\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: d",
                   "\n\nHuman: a\n\nAssistant: B\n\nHuman: c\n\nAssistant: e")
    assert p.n_shared == 1 and not p.same_prefix


@pytest.mark.parametrize("bad", ["", "just text", "\n\nAssistant: starts wrong\n\nHuman: x", "\n\nHuman: no reply"])
def test_malformed_transcripts_raise(bad):
    with pytest.raises(ValueError):
        parse_transcript(bad)


def test_malformed_lines_are_skipped_and_counted(tmp_path, sample_path):
    good = gzip.open(sample_path, "rt").read().splitlines()[:5]
    lines = good[:2] + ["{not json", json.dumps({"chosen": 1}), json.dumps({"chosen": "x", "rejected": "y"}), ""] + good[2:]
    f = tmp_path / "mixed.jsonl"
    f.write_text("\n".join(lines) + "\n")
    ps = load_jsonl(f)
    assert len(ps) == 5 and ps.skipped == 3  # the blank line is not a record
    assert sum(ps.skip_reasons.values()) == 3 and "not JSON" in ps.skip_reasons
    assert [p.index for p in ps.pairs] == list(range(5))


def test_file_with_no_valid_pair_is_a_clear_error(tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"text": "hello"}\nnot json\n')
    with pytest.raises(NoValidPairs, match="No valid hh-rlhf pair"):
        load_jsonl(f)
    with pytest.raises(NoValidPairs):
        LocalSource(tmp_path).load()


def test_folder_laid_out_like_anthropics_repository(tmp_path, sample_path):
    lines = gzip.open(sample_path, "rt").read().splitlines()
    for subset, n in (("harmless-base", 30), ("helpful-base", 20)):
        (tmp_path / subset).mkdir()
        with gzip.open(tmp_path / subset / "train.jsonl.gz", "wt") as f:
            f.write("\n".join(lines[:n]))
        (tmp_path / subset / "test.jsonl").write_text("\n".join(lines[n:n + 5]))
    src = LocalSource(tmp_path)
    assert src.subsets() == ["harmless-base", "helpful-base"]
    assert src.splits("helpful-base") == ["train", "test"]
    assert len(src.load("harmless-base", "train")) == 30 and len(src.load("helpful-base", "test")) == 5
    assert src.default() == ("harmless-base", "test")
    with pytest.raises(ValueError, match="Unknown split"):
        src.load("harmless-base", "validation")


def test_single_file_source(sample_path):
    src = open_source(str(sample_path), offline=False, hub_ok=True).source  # --data wins over the Hub
    assert src.kind == "local" and src.subsets() == ["harmless-base-sample"]
    assert len(src.load()) == 1812


def test_bundled_set_is_a_real_preference_set():
    src = BundledSource()
    assert src.subsets() == ["bundled"] and set(src.splits("bundled")) == {"train", "test"}
    train, test = src.load("bundled", "train"), src.load("bundled", "test")
    assert len(train) >= 150 and len(test) >= 40 and train.skipped == test.skipped == 0
    assert all(p.same_prefix and p.chosen != p.rejected for p in train.pairs + test.pairs)
    assert sum(p.n_turns > 1 for p in train.pairs) >= len(train) // 3  # many multi-turn conversations
    assert not {p.prompt for p in train.pairs} & {p.prompt for p in test.pairs}  # held-out conversations
    assert (BUNDLED_DIR / "README.md").is_file()


def no_probe(*args, **kwargs):
    raise AssertionError("the Hub was probed: the caller probes once and passes hub_ok")


def test_an_unreachable_hub_is_reported_unreachable(monkeypatch):
    """The one probe start-up makes (see test_workspace for when it is made). How many seconds it costs against a
    closed port is measured by benchmarks/cold_start.py, which points the Hub at the same port."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    assert sources.hub_reachable(2.0) is False


def test_without_the_hub_the_bundled_set_is_used_and_the_note_says_why(monkeypatch):
    monkeypatch.setattr(sources, "hub_reachable", no_probe)
    choice = open_source(None, offline=False, hub_ok=False, hub_timeout=2.0)
    assert choice.source.kind == "bundled" and "not reachable" in choice.note and "≤2 s" in choice.note


def test_offline_flag_never_uses_the_hub(monkeypatch):
    monkeypatch.setattr(sources, "hub_reachable", no_probe)
    choice = open_source(None, offline=True, hub_ok=True)  # --offline wins, whatever a probe found
    assert choice.source.kind == "bundled" and "offline" in choice.note
