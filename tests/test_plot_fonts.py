"""The Vote tab's figures are readable on a projector: every text in their PNGs is at least 14 px tall (the PPO,
Reward and Browse figures have the same test next to their other tests; all use tests/fonts.py)."""

from __future__ import annotations

import pytest

from rlhf_demo.arena.ranking import win_matrix
from rlhf_demo.arena.votes import VoteRecord
from rlhf_demo.ui.calibration_view import chart_bars, chart_figure
from rlhf_demo.ui.vote_view import matrix_plot

from .fonts import assert_readable


def test_win_matrix_text_is_at_least_14_px():
    import inspect

    fields = inspect.signature(VoteRecord).parameters
    base = {name: (p.default if p.default is not inspect.Parameter.empty else "") for name, p in fields.items()}
    records = [VoteRecord(**{**base, "round_id": f"{i:032x}", "model_a": "base-t0.7", "model_b": "ppo-step20",
                             "outcome": "A" if i % 3 else "B"}) for i in range(6)]
    assert_readable(matrix_plot(win_matrix(records)))
    assert_readable(matrix_plot(None))


@pytest.mark.parametrize("rm", [{"name": None, "accuracy": None, "shorter": None, "longer": None},
                                {"name": "rm-1", "accuracy": 0.7, "shorter": 0.4, "longer": 0.6}])
def test_the_calibration_chart_text_is_at_least_14_px(rm):
    st = {"label_agreement": 0.6, "percent_agreement": float("nan"), "shorter_wins": 0.4, "longer_wins": 0.6}
    assert_readable(chart_figure(chart_bars(st, rm)), min_texts=8)


def test_an_empty_cell_of_the_win_matrix_looks_empty():
    """A pair with no decisive vote (the diagonal, or two models that never met) is grey with a dash; it once had
    the same yellow as a 50 % win rate."""
    import inspect

    fields = inspect.signature(VoteRecord).parameters
    base = {name: (p.default if p.default is not inspect.Parameter.empty else "") for name, p in fields.items()}
    pairs = [("base-t0.7", "ppo-step20"), ("base-t0.7", "base-t1.0")]  # ppo-step20 never met base-t1.0
    records = [VoteRecord(**{**base, "round_id": f"{i:032x}", "model_a": a, "model_b": b, "outcome": "A"})
               for i, (a, b) in enumerate(pairs * 3)]
    matrix = win_matrix(records)
    ax = matrix_plot(matrix).axes[0]
    mask = ax.images[0].get_array().mask
    assert (mask == (matrix.games.to_numpy() == 0)).all() and mask.any() and not mask.all()
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("–") == int(mask.sum()) and "50%" not in " ".join(texts)
