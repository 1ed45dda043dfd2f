"""The Vote tab's win-rate matrix is readable on a projector: every text in its PNG is at least 14 px tall (the PPO,
Reward, Browse and calibration figures have the same test next to their other tests)."""

from __future__ import annotations

from rlhf_demo.arena.ranking import win_matrix
from rlhf_demo.arena.votes import VoteRecord
from rlhf_demo.ui.vote import matrix_plot

from .fonts import assert_readable


def test_win_matrix_text_is_at_least_14_px():
    import inspect

    fields = inspect.signature(VoteRecord).parameters
    base = {name: (p.default if p.default is not inspect.Parameter.empty else "") for name, p in fields.items()}
    records = [VoteRecord(**{**base, "round_id": f"{i:032x}", "model_a": "base-t0.7", "model_b": "ppo-step20",
                             "outcome": "A" if i % 3 else "B"}) for i in range(6)]
    assert_readable(matrix_plot(win_matrix(records)))
    assert_readable(matrix_plot(None))
