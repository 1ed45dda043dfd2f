"""Recorded over-optimisation curves behind the live chart (`rlhf_demo/frontier/recorded.py`, `overopt_figures`):
read from a recorded.json, drawn faintly (gold solid, proxy dashed, one colour per method) against √KL, captioned with
the date and the command; a missing or broken file draws none and never fails. And the sentence under the chart once
gold turned down: Goodhart's law in the class's words."""

from __future__ import annotations

import json

import pytest

from rlhf_demo.frontier import recorded
from rlhf_demo.ui.compare_view import overopt_figures, overopt_markdown, recorded_caption

from .conftest import REPO
from .fonts import assert_readable

COMMAND = "python benchmarks/overoptimisation.py --seeds 0,1"


def curve(method, seed, points):
    return {"method": method, "seed": seed, "proxy_pairs": 100,
            "points": [{"kl": kl, "proxy": p, "gold": g} for kl, p, g in points]}


RECORDED = {"command": COMMAND, "date": "2026-12-05", "curves": [
    curve("best-of-n", 0, [(0.0, 0.0, 0.0), (0.19, 0.5, 0.3), (1.0, 1.2, 0.5), (4.55, 2.4, -0.1)]),
    curve("ppo-beta0", 0, [(4.0, 2.0, 0.6), (0.0, 0.0, 0.0), (9.0, 3.0, -0.5)]),  # out of KL order: sorted
    curve("ppo-beta0", 1, [(0.0, 0.0, 0.0), (4.0, 1.8, 0.7), (9.0, 2.9, -0.3)])]}


def ev(step, kl, proxy, gold):
    return {"step": step, "kl": kl, "proxy_raw": proxy, "gold_raw": gold, "proxy_raw_std": 1.0, "gold_raw_std": 1.0,
            "gold_name": "rm-gold"}


TURNED = [ev(0, 0.0, 0.0, 0.0), ev(5, 1.0, 1.0, 0.8), ev(10, 4.0, 2.0, 1.0), ev(15, 9.0, 3.0, 0.4)]


@pytest.fixture
def recorded_file(tmp_path, monkeypatch):
    path = tmp_path / "recorded.json"
    path.write_text(json.dumps(RECORDED))
    monkeypatch.setattr(recorded, "RECORDED_PATH", path)
    return path


def test_recorded_curves_are_drawn_faintly_behind_the_live_ones(recorded_file):
    ref = recorded.load()
    assert ref.date == "2026-12-05" and ref.methods() == ["best-of-n", "ppo-beta0"] and ref.proxy_pairs() == [100]
    ax = overopt_figures(TURNED, [], ref)[0].axes[0]
    faint = [line for line in ax.get_lines() if (line.get_alpha() or 1.0) < 0.5]
    assert len(faint) == 6  # 3 curves x (gold, proxy)
    beta0 = [line for line in faint if line.get_color() == faint[2].get_color()]
    assert [line.get_linestyle() for line in beta0] == ["-", "--", "-", "--"]  # gold solid, proxy dashed
    assert faint[0].get_color() != faint[2].get_color()  # one colour per method
    assert list(beta0[0].get_xdata()) == [0.0, 2.0, 3.0]  # √KL, in KL order
    assert list(beta0[0].get_ydata()) == [0.0, 0.6, -0.5]
    assert all(line.get_zorder() < 2 for line in faint)  # behind the live curves
    live = {line.get_label(): line for line in ax.get_lines()}
    assert live["gold (only watched)"].get_zorder() > 2 and "PPO at β = 0 (recorded)" in live
    assert "gold's peak" in [t.get_text() for t in ax.texts]  # the live curve marks where gold peaked
    assert_readable(ax.figure)
    caption = recorded_caption(ref)
    assert caption.startswith(f"Faint lines: recorded on 2026-12-05 with `{COMMAND}`")
    assert "proxies trained on 100 gold labels" in caption


def test_the_reference_shows_before_any_live_run(recorded_file):
    ref = recorded.load()
    ax = overopt_figures([], [], ref)[0].axes[0]
    assert len(ax.get_lines()) >= 6 and "appear when PPO runs" in ax.get_title()
    md = overopt_markdown([], [], 32, 5, ref)
    assert "No evaluation yet" in md and "Watch for" in md
    assert "PPO at β = 0 drove gold 1.1 σ below its peak" in md  # the recorded run's story


@pytest.mark.parametrize("text", [None, "", "not json", json.dumps([1]), json.dumps({**RECORDED, "command": ""}),
                                  json.dumps({**RECORDED, "curves": []}),
                                  json.dumps({**RECORDED, "curves": [curve("sft", 0, [(0.0, 0.0, 0.0)])]}),
                                  json.dumps({**RECORDED, "curves": [curve("best-of-n", 0, [(-1.0, 0.0, 0.0)])]}),
                                  json.dumps(RECORDED).replace("0.19", "NaN")])
def test_a_missing_or_broken_file_means_no_reference_never_a_crash(tmp_path, monkeypatch, capsys, text):
    path = tmp_path / "recorded.json"
    if text is not None:
        path.write_text(text)
    monkeypatch.setattr(recorded, "RECORDED_PATH", path)
    assert recorded.load() is None
    if text is not None:
        assert "no reference curves" in capsys.readouterr().err
    ref = recorded.load()
    ax = overopt_figures(TURNED, [], ref)[0].axes[0]
    assert len(ax.get_lines()) == 3  # proxy, gold, the zero line
    assert recorded_caption(ref) == "" and "faint lines" not in overopt_markdown(TURNED, [], 32, 5, ref)


def test_a_rewritten_file_is_read_again(recorded_file):
    assert recorded.load().date == "2026-12-05"
    recorded_file.write_text(json.dumps({**RECORDED, "date": "2026-12-24 (again)"}))
    assert recorded.load().date == "2026-12-24 (again)"


def test_the_sentence_tells_goodharts_law_once_gold_turned_down():
    md = overopt_markdown(TURNED, [], 32, 5)
    assert "Gold turned down: Goodhart's law" in md
    assert "The proxy kept rising (+1.00 σ since) but gold peaked at step 10 (√KL 2.00, +1.00 σ)" in md
    assert "has fallen 0.60 σ since: the policy is now exploiting the proxy's mistakes" in md
    rising = overopt_markdown(TURNED[:3], [], 32, 5)
    assert "Gold is still rising with the proxy" in rising and "Watch for" in rising and "Goodhart" not in rising
    wobble = overopt_markdown(TURNED[:3] + [ev(15, 9.0, 3.0, 0.9)], [], 32, 5)
    assert "Not a clear turn yet" in wobble


def test_the_shipped_recording_is_valid_and_has_every_method_for_two_seeds():
    """assets/overoptimisation/recorded.json, as benchmarks/overoptimisation.py --write-asset wrote it."""
    shipped = recorded.load(REPO / "assets" / "overoptimisation" / "recorded.json")
    assert shipped is not None and "overoptimisation.py" in shipped.command
    seeds = {}
    for c in shipped.curves:
        seeds.setdefault(c["method"], set()).add(c["seed"])
        assert c["points"][0]["kl"] == 0 and c["points"][0]["gold"] == 0  # every curve starts at the base policy
    assert seeds == {m: {0, 1} for m in ("best-of-n", "ppo-beta0", "ppo-default", "ppo-ensemble")}
