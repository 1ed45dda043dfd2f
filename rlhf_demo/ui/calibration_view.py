"""What the calibration panel draws: pure functions of a calibration set's statistics and items (Markdown, HTML, the
agreement chart), tested without a server. The panel itself (layout, events, API) is `calibration.py`."""

from __future__ import annotations

import math

from rlhf_demo.ui.common import esc
from rlhf_demo.ui.plots import PLOT_DPI, PLOT_PT, plt

HUMAN_AGREEMENT = 0.65
# Rafailov et al. 2023 (DPO, Table 2) measured ~65 % agreement between two human annotators judging the same pair of
# model outputs (on TL;DR summaries); for the hh-rlhf comparisons themselves Bai et al. 2022 report that the authors
# agreed with the crowdworkers' labels about 63 % of the time. Either way: about two thirds.
HUMAN_SOURCE = "Rafailov et al. 2023 (DPO, Table 2)"


def _pct(x) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f} %"


def _kappa(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return "0.00" if abs(x) < 0.005 else f"{x:.2f}"  # never "-0.00"


def stats_markdown(st: dict) -> str:
    if st["voters"] == 0:
        return f"**Calibration set {st['set_id']}** ({st['k']} items): no judgements yet."
    return (f"**{st['voters']} voter{'s' if st['voters'] != 1 else ''}** ({st['finished_voters']} finished) · "
            f"percent agreement **{_pct(st['percent_agreement'])}** · mean Cohen's κ **{_kappa(st['cohen_kappa_mean'])}**"
            f" · Fleiss' κ **{_kappa(st['fleiss_kappa'])}** (over {st['fleiss_items']} items)  \n"
            f"κ: 1 = perfect agreement, 0 = what random verdicts would reach.")


def chart_bars(st: dict, rm: dict) -> list[tuple[str, float | None]]:
    """(label, value in [0, 1] or None) per bar, top to bottom."""
    held_out = rm["shorter"] is not None and rm["longer"] is not None
    where = "held-out pairs" if held_out else "these items"
    rm_label = f"Reward model {rm['name'][:24]} (held-out pairs)" if rm["name"] else "Reward model (none trained yet)"
    return [("Class majority vs hh-rlhf label", st["label_agreement"]),
            ("Student vs student (same verdict)", st["percent_agreement"]),
            (rm_label, rm["accuracy"]),
            (f"Shorter reply wins ({where})", rm["shorter"] if held_out else st["shorter_wins"]),
            (f"Longer reply wins ({where})", rm["longer"] if held_out else st["longer_wins"])]


def chart_figure(bars: list[tuple[str, float | None]]):
    """Bars (percent) with their labels ABOVE them, so the bars use the full width of a phone; the published
    human-human agreement is a dashed line. Every text at PLOT_PT."""
    colors = ["#4c72b0", "#55a868", "#c44e52", "#8c8c8c", "#b0b0b0"]
    with plt.rc_context({"font.size": PLOT_PT}):
        fig, ax = plt.subplots(figsize=(5.0, 4.8), dpi=PLOT_DPI)
        for i, ((label, v), c) in enumerate(zip(bars, colors)):
            ax.text(0.5, i - 0.3, label, va="bottom", ha="left", zorder=3,  # over the dashed line
                    bbox=dict(facecolor="white", edgecolor="none", pad=0.5))
            if v is None or (isinstance(v, float) and math.isnan(v)):
                ax.text(1, i + 0.05, "not yet", va="center", color="#666")
                continue
            ax.barh(i + 0.05, 100 * v, color=c, height=0.36)
            ax.text(min(100 * v + 1.5, 84), i + 0.05, f"{100 * v:.0f} %", va="center", fontweight="bold")
        ax.axvline(100 * HUMAN_AGREEMENT, color="black", linestyle="--", linewidth=1.6, ymax=0.86)
        ax.text(100 * HUMAN_AGREEMENT, -0.72, f"humans agree ≈ {100 * HUMAN_AGREEMENT:.0f} %\n{HUMAN_SOURCE}",
                ha="center", va="bottom", bbox=dict(facecolor="white", edgecolor="none", pad=1))
        ax.set_xlim(0, 100)
        ax.set_ylim(len(bars) - 0.5, -1.45)  # top to bottom; room above for the reference's label
        ax.set_yticks([])
        ax.set_xticks([0, 25, 50, 75, 100], ["0", "25", "50", "75", "100 %"])
        ax.spines[["top", "right", "left"]].set_visible(False)
        fig.tight_layout()
        plt.close(fig)
    return fig


def chart(bars: list[tuple[str, float | None]], path) -> str:
    """`chart_figure` saved as a PNG file at `path` (one file that every browser receives)."""
    with plt.rc_context({"font.size": PLOT_PT}):
        chart_figure(bars).savefig(path, dpi=PLOT_DPI, format="png")
    return str(path)


def item_html(label: str, text: str) -> str:
    return f'<div class="rl-final"><h4>{label}</h4>{esc(text)}</div>'


def progress_markdown(item: int, k: int, n_done: int) -> str:
    return (f"### Calibration · item {item + 1} of {k}\nEveryone judges these same {k} pairs, in this "
            f"order. Which final reply is better? You have judged {n_done} of {k}.")


def done_markdown(k: int) -> str:
    return (f"### Calibration: done, thanks!\nYou judged all {k} items. The agreement below updates as "
            "the rest of the class finishes.")


def started_markdown(set_id: int, k: int) -> str:
    return (f"Calibration set {set_id} started with {k} items: it appears above the arena on "
            "every student's page within a few seconds.")


def ended_markdown(n_ended: int) -> str:
    return "The calibration set was ended (its judgements are kept)." if n_ended else "No calibration set was active."
