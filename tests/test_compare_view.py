"""What the Compare tab draws (rlhf_demo/ui/compare_view.py), without a server: the over-optimisation verdict and
flags, the DPO curves and adapters, the frontier chart and table."""

from __future__ import annotations

from rlhf_demo.ui.compare_view import (
    FRONTIER_COLUMNS,
    dpo_figure,
    dpo_frame,
    frontier_figure,
    frontier_frame,
    frontier_markdown,
    overopt_figures,
    overopt_markdown,
)

from .fonts import assert_readable


def ev(step, kl, proxy, gold):
    return {"step": step, "kl": kl, "proxy_raw": proxy, "gold_raw": gold, "proxy_raw_std": 1.0, "gold_raw_std": 1.0,
            "gold_name": "rm-gold"}


EVALS = [ev(0, 0.0, 0.0, 0.0), ev(5, 1.0, 1.0, 0.8), ev(10, 4.0, 2.0, 1.0), ev(15, 9.0, 3.0, 0.4)]
HISTORY = [{"step": i + 1, "val/mean_response_length": l, "objective/entropy": 20.0}
           for i, l in enumerate([10, 10, 10, 13, 16, 17, 17, 17])]


def test_the_verdict_says_gold_turned_down_and_names_the_drift():
    md = overopt_markdown(EVALS, HISTORY, response_length=32, every=5)
    assert "Gold turned down" in md and "peaked at step 10" in md
    assert "length drift" in md and "10 to 17" in md
    calm = overopt_markdown(EVALS[:3], HISTORY[:3], response_length=32, every=5)
    assert "Gold turned down" not in calm and "length drift" not in calm
    assert "No evaluation yet" in overopt_markdown([], [], 32, every=5)


def test_the_over_optimisation_figure_draws_both_curves_and_the_drift_panels():
    figs = overopt_figures(EVALS, HISTORY)  # three figures: a phone stacks them, each the full width
    main, length, entropy = (fig.axes[0] for fig in figs)
    assert entropy.get_title().startswith("entropy")
    labels = [line.get_label() for line in main.get_lines()]
    assert "proxy (optimised)" in labels and "gold (only watched)" in labels
    gold = next(line for line in main.get_lines() if line.get_label() == "gold (only watched)")
    assert list(gold.get_xdata()) == [0.0, 1.0, 2.0, 3.0]  # √KL
    assert list(gold.get_ydata()) == [0.0, 0.8, 1.0, 0.4]
    assert list(length.get_lines()[0].get_ydata()) == [10, 10, 10, 13, 16, 17, 17, 17]
    empty = overopt_figures([], [])
    assert "appear when PPO runs" in " ".join(t.get_text() for t in empty[0].axes[0].texts)
    assert all("no PPO steps yet" in [t.get_text() for t in fig.axes[0].texts] for fig in empty[1:])


ROWS = [{"method": "best-of-n", "name": "best-of-1", "n": 1, "kl": 0.0, "kl_measured": 0.0, "proxy": 0.0, "gold": 0.0,
         "mean_length": 20.0},
        {"method": "best-of-n", "name": "best-of-4", "n": 4, "kl": 0.636, "kl_measured": 0.6, "proxy": 1.0, "gold": 0.5,
         "mean_length": 21.0},
        {"method": "dpo", "name": "dpo-1", "n": None, "kl": 0.3, "kl_measured": 0.3, "proxy": 0.2, "gold": 0.3,
         "mean_length": 19.0},
        {"method": "ppo", "name": "ppo-step10", "n": None, "kl": 2.0, "kl_measured": 2.0, "proxy": 1.5, "gold": -0.2,
         "mean_length": 30.0}]
RESULT = {"rows": ROWS, "proxy": "proxy", "gold": "gold", "n_prompts": 16, "seconds": 61.0, "computed": "today"}


def test_the_frontier_chart_has_a_gold_and_a_proxy_series_per_method_and_the_table_every_point():
    fig = frontier_figure(RESULT)
    labels = {line.get_label() for line in fig.axes[0].get_lines()}
    for m in ("best-of-n", "dpo", "ppo"):
        assert {f"{m}: gold", f"{m}: proxy"} <= labels
    bon = next(line for line in fig.axes[0].get_lines() if line.get_label() == "best-of-n: gold")
    assert list(bon.get_xdata()) == [0.0, 0.636]  # in order of KL
    table = frontier_frame(RESULT)
    assert list(table.columns) == FRONTIER_COLUMNS and len(table) == 4
    assert table.loc[table["name"] == "ppo-step10", "gold (σ)"].item() == -0.2
    md = frontier_markdown(RESULT)
    assert "highest gold: **best-of-4**" in md and "16 held-out prompts" in md
    assert "No frontier yet" in frontier_markdown(None) and len(frontier_frame(None)) == 0


def test_dpo_curves_and_adapter_table():
    log = [{"step": 1, "loss": 0.693, "rewards/margins": 0.0, "rewards/accuracies": 0.0},
           {"step": 2, "loss": 0.65, "rewards/margins": 0.1, "rewards/accuracies": 0.75}]
    fig = dpo_figure(log)
    assert [list(ax.get_lines()[0].get_ydata()) for ax in fig.axes[:3]] == [[0.693, 0.65], [0.0, 0.1], [0.0, 0.75]]
    frame = dpo_frame([{"name": "dpo-1", "beta": 0.1, "steps": 2, "pairs": 8, "loss": 0.65, "accuracy": 0.75,
                        "margin": 0.1, "seconds": 12.3}])
    assert frame.iloc[0]["name"] == "dpo-1" and frame.iloc[0]["reward accuracy"] == 0.75


def test_the_over_optimisation_figures_read_on_a_projector():
    """Every text of the three figures, the step labels on the gold curve included (9 pt, 12.5 px before), is at
    least 14 px tall."""
    for fig in overopt_figures(EVALS, HISTORY):
        assert_readable(fig)
