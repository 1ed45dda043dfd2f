"""What the PPO tab draws from a run's state (pure functions of rlhf_demo/ui/ppo.py, no server)."""

from __future__ import annotations

import math

import pytest

from rlhf_demo.ui.ppo_view import (
    MAIN_PLOTS,
    MORE_PLOTS,
    SMOOTH_FROM,
    kl_shaded,
    main_figures,
    metrics_figure,
    samples_html,
    smooth,
)

from .fonts import assert_readable


def test_smooth_is_a_bias_corrected_moving_average():
    values = [1.0, 3.0, math.nan, 2.0, 10.0]
    w = 0.5
    expected, num, den = [], 0.0, 0.0
    for v in values:  # independent form: weighted mean of the values seen so far, weights w^(age)
        if math.isnan(v):
            expected.append(math.nan)
            continue
        num, den = w * num + v, w * den + 1.0
        expected.append(num / den)
    got = smooth(values, w)
    assert math.isnan(got[2])
    assert [g for g in got if not math.isnan(g)] == pytest.approx([e for e in expected if not math.isnan(e)])
    assert smooth([4.0], 0.9) == [4.0]  # the first point is not pulled towards 0


def figures(history, more):
    """The plots a view draws: the main four (one figure each) or the six diagnostics (one figure)."""
    return [metrics_figure(history)] if more else main_figures(history)


@pytest.mark.parametrize("more", [False, True])
def test_long_runs_get_a_trend_line_on_every_metric(more):
    plots = MORE_PLOTS if more else MAIN_PLOTS
    history = [{"step": i + 1, **{key: float(i % 3) for key, _ in MAIN_PLOTS + MORE_PLOTS}} for i in range(SMOOTH_FROM)]
    metric_axes = [ax for fig in figures(history, more) for ax in fig.axes if ax.lines][: len(plots)]
    assert len(metric_axes) == len(plots) and all(len(ax.lines) == 2 for ax in metric_axes)  # raw + smoothed
    short = [ax for fig in figures(history[:3], more) for ax in fig.axes if ax.lines]
    assert len(short) == len(plots) and all(len(ax.lines) == 1 for ax in short)
    assert metric_axes[0].get_title() == plots[0][1]  # the title in words ...
    assert plots[0][0] in [t.get_text() for t in metric_axes[0].texts]  # ... with TRL's name beneath, to look it up


def test_main_view_is_four_plots_and_every_metric_is_somewhere():
    """Four figures of one panel each: two by two on a projector, stacked at full width on a phone."""
    figs = main_figures([{"step": 1, "objective/kl": 0.04, "objective/scores": 0.3}])
    titles = [ax.get_title() for fig in figs for ax in fig.axes if ax.get_title()]
    assert len(figs) == 4 and len(titles) == 4 and titles[-1].startswith("Score against distance")
    shown = {k for k, _ in MAIN_PLOTS + MORE_PLOTS}
    assert {"objective/scores", "objective/kl", "objective/entropy", "policy/clipfrac_avg", "loss/value_avg"} <= shown
    empty = main_figures([])
    assert all("no steps yet" in [t.get_text() for t in fig.axes[0].texts] for fig in empty)


@pytest.mark.parametrize("more", [False, True])
def test_plot_text_is_readable_on_a_projector(more):
    """Every title, label and tick of the PNG is at least 14 px tall (points × dpi / 72): readable at 3 m."""
    history = [{"step": i, "objective/scores": i / 3, "objective/kl": i / 10} for i in range(1, 5)]
    for fig in figures(history, more):
        assert_readable(fig, min_texts=5 if not more else 21)


def test_samples_show_a_kl_that_is_never_negative():
    sample = {"prompt": "\n\nHuman: hi\n\nAssistant:", "tokens": ["a", "b"], "token_kl": [-0.3, 0.1],
              "token_kl_k3": [0.04, 0.005], "score": 0.5, "kl": -0.2, "kl_k3": 0.045}
    out = samples_html([sample])
    assert "KL 0.045" in out and "KL -0.2" not in out and "never negative" in out


def test_kl_shading_escapes_text_and_scales_by_kl():
    out = kl_shaded(["<b>", "ok\n"], [2.0, -1.0], scale=2.0)
    assert "&lt;b&gt;" in out and "<b>" not in out
    assert "rgba(220,38,38,0.75)" in out and "rgba(220,38,38,0.00)" in out  # max KL darkest, negative KL clear
    assert "↵<br>" in out


def test_probe_boxes_are_coloured_by_what_happened_and_same_text_is_named():
    """The "now" box was always green, even where the score fell (-0.494 -> -0.771); identical replies showed two
    different KLs with no word why."""
    from types import SimpleNamespace

    from rlhf_demo.ppo.run import ProbeRow
    from rlhf_demo.ui.ppo_view import probe_compare_html

    q = "\n\nHuman: Hi?\n\nAssistant:"
    rows = [ProbeRow(0, 0, q, "Hello.", -0.494, 0.0), ProbeRow(5, 0, q, "Hi there.", -0.771, 0.3),
            ProbeRow(0, 1, q, "Sure.", 0.1, 0.0), ProbeRow(5, 1, q, "Sure.", 0.12, 1.318),
            ProbeRow(0, 2, q, "No.", 0.0, 0.0), ProbeRow(5, 2, q, "Yes, gladly.", 0.6, 0.5)]
    html = probe_compare_html(SimpleNamespace(probes=rows, config={"response_length": 48}))
    boxes = html.split('class="rl-final ')[1:]
    assert [b.split('"')[0] for b in boxes] == ["rl-worse", "rl-same", "rl-better"]
    assert "worse (-0.28)" in html and "better (+0.60)" in html
    assert "same text, only its probability moved" in boxes[1] and "same text" not in boxes[0] + boxes[2]


def test_a_cut_probe_and_a_cut_sample_end_with_an_ellipsis_and_the_limit():
    from types import SimpleNamespace

    from rlhf_demo.ppo.run import ProbeRow
    from rlhf_demo.ui.ppo_view import probe_compare_html

    q = "\n\nHuman: Hi?\n\nAssistant:"
    rows = [ProbeRow(0, 0, q, "and take", 0.1, 0.0, cut=True), ProbeRow(5, 0, q, "Hello there.", 0.2, 0.3)]
    html = probe_compare_html(SimpleNamespace(probes=rows, config={"response_length": 48}))
    assert "and take… <span" in html and html.count("cut at the 48-token limit") == 1  # the ended reply has none
    sample = {"prompt": q, "tokens": ["and", " take"], "token_kl": [0.1, 0.1], "score": 0.5, "kl": 0.2, "cut": True}
    assert "cut at the 32-token limit" in samples_html([sample], cut_at=32)
    assert "cut at" not in samples_html([{**sample, "cut": False}], cut_at=32)
