"""What the PPO tab draws from a run's state (pure functions of rlhf_demo/ui/ppo.py, no server)."""

from __future__ import annotations

import math

import pytest

from rlhf_demo.ui.ppo import PLOTS, SMOOTH_FROM, kl_shaded, metrics_figure, smooth


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


def test_long_runs_get_a_trend_line_on_every_metric():
    history = [{"step": i + 1, **{key: float(i % 3) for key, _ in PLOTS}} for i in range(SMOOTH_FROM)]
    fig = metrics_figure(history)
    metric_axes = fig.axes[: len(PLOTS)]
    assert all(len(ax.lines) == 2 for ax in metric_axes)  # raw + smoothed
    short = metrics_figure(history[:3])
    assert all(len(ax.lines) == 1 for ax in short.axes[: len(PLOTS)])
    assert metric_axes[0].get_title().startswith("objective/scores")  # TRL's names as titles


def test_kl_shading_escapes_text_and_scales_by_kl():
    out = kl_shaded(["<b>", "ok\n"], [2.0, -1.0], scale=2.0)
    assert "&lt;b&gt;" in out and "<b>" not in out
    assert "rgba(220,38,38,0.75)" in out and "rgba(220,38,38,0.00)" in out  # max KL darkest, negative KL clear
    assert "↵<br>" in out
