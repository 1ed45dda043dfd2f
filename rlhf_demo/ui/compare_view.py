"""What the Compare tab draws: pure functions of the PPO session's gold evaluations, a DPO job's log rows and a
frontier result (figures, tables, short texts), tested without a server. The tab itself is `compare.py`."""

from __future__ import annotations

import math

import pandas as pd

from rlhf_demo.frontier.goodhart import drop_from_peak
from rlhf_demo.frontier.recorded import METHODS as RECORDED_METHODS, Recorded
from rlhf_demo.ppo.overopt import EVAL_PROMPTS, drift_flags, gold_peak, overopt_curve
from rlhf_demo.ui.common import esc
from rlhf_demo.ui.plots import PLOT_DPI, PLOT_PT, SMALL_PT, plt, style

PROXY, GOLD = "#4f46e5", "#d97706"  # one colour per reward model, the same in every chart of the tab
METHOD_STYLE = {"best-of-n": ("#0f766e", "o"), "dpo": ("#be185d", "s"), "ppo": ("#4f46e5", "^")}
DPO_PLOTS = [("loss", "DPO loss (log 2 = 0.693 at the start)"), ("rewards/margins", "chosen − rejected implicit reward"),
             ("rewards/accuracies", "share of pairs ranked right")]
FRONTIER_COLUMNS = ["method", "name", "N", "KL (nats)", "KL measured", "proxy (σ)", "gold (σ)", "reply words"]


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=PLOT_PT, transform=ax.transAxes, wrap=True)


# recorded runs behind the live curves: one colour per method, none of them the live proxy's or gold's
RECORDED_COLOURS = {"best-of-n": "#0f766e", "ppo-beta0": "#dc2626", "ppo-default": "#7c3aed", "ppo-ensemble": "#65a30d"}
RECORDED_ALPHA = 0.35


def _draw_reference(ax, reference: Recorded) -> None:
    """The recorded curves, faint and thin behind the live ones: gold solid, proxy dashed, against √KL; one legend
    entry per method."""
    for method in reference.methods():
        curves = [c for c in reference.curves if c["method"] == method]
        for i, c in enumerate(curves):
            x = [math.sqrt(p["kl"]) for p in c["points"]]
            look = dict(color=RECORDED_COLOURS[method], lw=1.3, alpha=RECORDED_ALPHA, zorder=1)
            ax.plot(x, [p["gold"] for p in c["points"]], label=f"{RECORDED_METHODS[method]} (recorded)" if i == 0
                    else "_nolegend_", **look)
            ax.plot(x, [p["proxy"] for p in c["points"]], ls="--", label="_nolegend_", **look)


def recorded_caption(reference: Recorded | None) -> str:
    """The caption under the chart: where the faint curves come from ("" without any)."""
    if reference is None:
        return ""
    pairs = " or ".join(str(n) for n in reference.proxy_pairs())
    command = reference.command.replace("`", "'")
    return (f"Faint lines: recorded on {esc(reference.date)} with `{command}` "
            f"({', '.join(RECORDED_METHODS[m] for m in reference.methods())}; proxies trained on {pairs} gold labels; "
            "gold solid, proxy dashed).")


def _reference_story(reference: Recorded) -> str:
    """One sentence on what the recorded runs showed: the largest fall of gold from its peak."""
    # Goodhart's shape: gold fell from its peak while the proxy kept rising (a fall of both is not over-optimisation)
    drops = [(d, c) for c in reference.curves
             if (d := drop_from_peak(c["points"])) is not None and d["proxy_rise"] > 0]
    if not reference.curves:
        return "The faint lines are a recorded run (see the caption): the shape to compare with."
    d, c = max(drops, key=lambda dc: dc[0]["drop"]) if drops else ({"drop": 0.0}, None)
    if d["drop"] < 0.2:
        return ("The faint lines are recorded runs (see the caption). There gold did **not** clearly turn down "
                "within the KL they reached: the gold model liked what the proxy pushed for (apologetic replies), "
                "so both rose. Whether your run does is the experiment.")
    return (f"The faint lines are recorded runs (see the caption): with a proxy trained on "
            f"{c['proxy_pairs']} gold labels, {RECORDED_METHODS[c['method']]} drove gold {d['drop']:.1f} σ below its "
            f"peak (at √KL {math.sqrt(d['peak_kl']):.1f}) while the proxy rose {d['proxy_rise']:+.1f} σ: the shape "
            "to look for.")


def overopt_figures(evals: list[dict], history: list[dict], reference: Recorded | None = None) -> list:
    """Three figures (a phone stacks them, each the full width): proxy and gold score (σ above the base policy)
    against √KL, the Gao et al. picture, each point labelled with its PPO step and gold's peak circled once gold turned
    down, with `reference` (recorded runs, `frontier/recorded.py`) faint behind it; then mean reply length and entropy
    per PPO step (length drift, collapse)."""
    # with recorded runs the legend goes under the axes (the faint curves fill the plot) and the figure grows by it
    fig, ax = plt.subplots(figsize=(7.5, 4.6 if reference is None else 5.8), dpi=PLOT_DPI)
    curve = overopt_curve(evals)
    if reference is not None:
        _draw_reference(ax, reference)
    if len(curve) >= 1:
        x = [c["sqrt_kl"] for c in curve]
        ax.plot(x, [c["proxy"] for c in curve], marker="o", lw=2.4, color=PROXY, label="proxy (optimised)", zorder=3)
        ax.plot(x, [c["gold"] for c in curve], marker="s", lw=2.4, color=GOLD, label="gold (only watched)", zorder=3)
        for c in curve[1:]:
            ax.annotate(str(c["step"]), (c["sqrt_kl"], c["gold"]), textcoords="offset points", xytext=(4, -16),
                        fontsize=SMALL_PT, color=GOLD)
        peak = gold_peak(curve)
        if peak and peak["turned_down"]:
            at = next(c for c in curve if c["step"] == peak["step"])
            ax.scatter([at["sqrt_kl"]], [at["gold"]], s=220, facecolors="none", edgecolors=GOLD, lw=2, zorder=4)
            ax.annotate("gold's peak", (at["sqrt_kl"], at["gold"]), textcoords="offset points", xytext=(-10, 12),
                        ha="right", fontsize=SMALL_PT, color=GOLD, fontweight="bold")
    elif reference is None:
        _empty(ax, "Gold and proxy appear when PPO runs\n(tab 4) with a gold model")
    if curve or reference is not None:
        ax.axhline(0, color="#888", lw=0.8)
        below = dict(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
        handles, labels = ax.get_legend_handles_labels()
        live_first = sorted(range(len(labels)), key=lambda i: labels[i].endswith("(recorded)"))
        ax.legend([handles[i] for i in live_first], [labels[i] for i in live_first], fontsize=SMALL_PT,
                  **(below if reference is not None else {"loc": "best"}))
    waiting = "\n(faint: recorded runs; yours appear when PPO runs in tab 4)" if not curve and reference else ""
    ax.set_title("score vs √KL from the base policy" + waiting, fontsize=PLOT_PT)
    ax.set_xlabel("√KL (held-out prompts)", fontsize=PLOT_PT)
    ax.set_ylabel("σ above the base policy", fontsize=PLOT_PT)
    style(ax)
    fig.tight_layout()
    plt.close(fig)
    figures = [fig]
    steps = [h.get("step", i + 1) for i, h in enumerate(history)]
    for key, title in (("val/mean_response_length", "mean reply length (tokens)"),
                       ("objective/entropy", "entropy (nats per reply)")):
        fig, ax = plt.subplots(figsize=(5.4, 3.8), dpi=PLOT_DPI)
        if history:
            ax.plot(steps, [h.get(key, math.nan) for h in history], marker="o" if len(steps) < 30 else None, ms=4,
                    lw=2.0, color="#0f766e")
        else:
            _empty(ax, "no PPO steps yet")
        ax.set_title(title, fontsize=PLOT_PT)
        ax.set_xlabel("PPO step", fontsize=PLOT_PT)
        style(ax)
        fig.tight_layout()
        plt.close(fig)
        figures.append(fig)
    return figures


def overopt_markdown(evals: list[dict], history: list[dict], response_length: int | None, every: int,
                     reference: Recorded | None = None) -> str:
    """The story under the chart, in a class's words: where gold peaked and whether it turned down (Goodhart's law),
    what to watch for before it does, what the recorded runs showed; plus the drift flags."""
    curve = overopt_curve(evals)
    lines = []
    if not curve:
        lines.append(f"No evaluation yet. With a gold model, PPO scores {EVAL_PROMPTS} held-out prompts with both reward "
                     f"models at step 0 and every {every} steps. **Watch for** the moment the two curves part: the "
                     "proxy keeps rising while gold flattens and turns down. A proxy made with *Make a gold-labelled "
                     "proxy* (above) is Gao et al.'s set-up: a copy of gold learnt from a few of its labels.")
    else:
        last = curve[-1]
        lines.append(f"**{len(curve)} evaluations** (step {curve[0]['step']} to {last['step']}): proxy "
                     f"{last['proxy']:+.2f} σ, gold {last['gold']:+.2f} σ at √KL {last['sqrt_kl']:.2f}.")
        lines.append(_overopt_verdict(curve))
    if reference is not None:
        lines.append(_reference_story(reference))
    for flag in drift_flags(history, response_length):
        lines.append(f"⚠️ **{esc(flag)}**")
    return "  \n".join(lines)


def _overopt_verdict(curve: list[dict]) -> str:
    """Has gold turned down? Goodhart's law when it has; what to watch for while it has not."""
    peak = gold_peak(curve)
    if peak is None:
        return ("Too few evaluations to tell yet. **Watch for** gold flattening and turning down while the proxy keeps "
                "rising.")
    if peak["turned_down"]:
        at = next(c for c in curve if c["step"] == peak["step"])
        return (f"📉 **Gold turned down: Goodhart's law.** The proxy kept rising ({peak['proxy_rise']:+.2f} σ since) "
                f"but gold peaked at step {peak['step']} (√KL {at['sqrt_kl']:.2f}, {peak['gold']:+.2f} σ) and has "
                f"fallen {peak['drop']:.2f} σ since: the policy is now exploiting the proxy's mistakes. When a measure "
                "becomes a target, it stops being a good measure.")
    if curve[-1]["gold"] >= peak["gold"]:
        return ("Gold is still rising with the proxy: so far, pleasing the proxy also pleases gold. **Watch for** gold "
                "to flatten and turn down while the proxy keeps climbing (β = 0 in tab 4 gets there fastest).")
    return (f"Gold is {peak['drop']:.2f} σ below its best (step {peak['step']}): less than the 0.2 σ a "
            f"{EVAL_PROMPTS}-prompt mean wobbles, or the proxy fell with it. Not a clear turn yet: keep watching.")


def dpo_figure(log: list[dict]):
    """The DPO job's curves under TRL's metric names."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), dpi=PLOT_DPI)
    steps = [r.get("step", i) for i, r in enumerate(log)]
    for ax, (key, title) in zip(axes, DPO_PLOTS):
        ys = [r.get(key, math.nan) for r in log]
        if log:
            ax.plot(steps, ys, marker="o", ms=4, lw=2.0, color="#be185d")
        else:
            _empty(ax, "no DPO run yet")
        ax.set_title(f"{key}\n{title}", fontsize=PLOT_PT)
        ax.set_xlabel("optimiser step", fontsize=PLOT_PT)
        style(ax)
    fig.tight_layout()
    plt.close(fig)
    return fig


def dpo_frame(adapters: list[dict]) -> pd.DataFrame:
    cols = ["name", "β", "steps", "pairs", "loss", "reward accuracy", "margin", "seconds"]
    rows = [[a["name"], a["beta"], a["steps"], a["pairs"], _r(a["loss"]), _r(a["accuracy"]), _r(a["margin"]),
             _r(a["seconds"], 0)] for a in adapters]
    return pd.DataFrame(rows, columns=cols)


def _r(x, nd: int = 3):
    return None if x is None else round(float(x), nd)


def frontier_figure(result: dict | None):
    """x = KL from the base policy, y = gold score (filled markers, solid lines) and proxy score (hollow markers,
    dashed), one colour and marker per method; best-of-N points are joined in order of N and labelled. PPO
    checkpoints trained on an ensemble of reward models are a series of their own ("ppo (ensemble)", diamonds)."""
    from rlhf_demo.frontier.equal_kl import ENSEMBLE_SERIES, method_label

    fig, ax = plt.subplots(figsize=(10, 5.6), dpi=PLOT_DPI)
    rows = (result or {}).get("rows") or []
    if not rows:
        _empty(ax, "No frontier yet: press Compute the frontier")
    for method, (colour, marker) in {**METHOD_STYLE, "ppo" + ENSEMBLE_SERIES: ("#7c3aed", "D")}.items():
        pts = sorted((r for r in rows if method_label(r) == method), key=lambda r: (r["kl"], r.get("n") or 0))
        if not pts:
            continue
        x = [r["kl"] for r in pts]
        ax.plot(x, [r["gold"] for r in pts], marker=marker, ms=9, lw=2.2 if method == "best-of-n" else 0,
                color=colour, label=f"{method}: gold")
        ax.plot(x, [r["proxy"] for r in pts], marker=marker, ms=9, lw=1.2 if method == "best-of-n" else 0, ls="--",
                color=colour, mfc="none", alpha=0.8, label=f"{method}: proxy")
        for r in pts:
            label = f"N={r['n']}" if method == "best-of-n" else r["name"]
            ax.annotate(label, (r["kl"], r["gold"]), textcoords="offset points", xytext=(5, 6), fontsize=PLOT_PT - 3,
                        color=colour)
    ax.axhline(0, color="#888", lw=0.8)
    ax.set_xlabel("KL from the base policy (nats per reply, held-out prompts)", fontsize=PLOT_PT)
    ax.set_ylabel("score, σ above the base policy", fontsize=PLOT_PT)
    ax.set_title("reward–KL frontier: filled = gold, hollow = proxy", fontsize=PLOT_PT)
    if rows:
        ax.legend(fontsize=PLOT_PT - 3, ncol=3, loc="best")
    style(ax)
    fig.tight_layout()
    plt.close(fig)
    return fig


def frontier_frame(result: dict | None) -> pd.DataFrame:
    """One line per point; a PPO checkpoint trained on an ensemble says so (its series, and what it was trained
    against after its name)."""
    from rlhf_demo.frontier.equal_kl import method_label

    rows = (result or {}).get("rows") or []
    out = [[method_label(r), f"{r['name']} · {r['reward']}" if r.get("ensemble") and r.get("reward") else r["name"],
            r.get("n"), _r(r["kl"]), _r(r.get("kl_measured")), _r(r["proxy"]), _r(r["gold"]),
            _r(r.get("mean_length"), 1)] for r in rows]
    return pd.DataFrame(out, columns=FRONTIER_COLUMNS)


def frontier_markdown(result: dict | None) -> str:
    if not result or not result.get("rows"):
        return ("No frontier yet. It samples the held-out prompts with every method and scores the replies with "
                "the proxy and the gold model.")
    rows = result["rows"]
    best = max(rows, key=lambda r: r["gold"])
    ensembles = sorted({r.get("reward") or "an ensemble" for r in rows if r.get("ensemble")})
    note = ("  \n◆ **ppo (ensemble)**: PPO checkpoints trained against " + "; ".join(map(esc, ensembles))
            + f". Their proxy score is {esc(result['proxy'])}'s alone, not the ensemble they optimised: the gold "
            "score is the fair comparison." if ensembles else "")
    return (f"Computed {esc(result.get('computed', ''))} on {result['n_prompts']} held-out prompts in "
            f"{result['seconds']:.0f} s · proxy **{esc(result['proxy'])}**, gold **{esc(result['gold'])}** · highest "
            f"gold: **{esc(best['name'])}** ({best['gold']:+.2f} σ at KL {best['kl']:.2f}). Compare methods at equal "
            "KL (the same distance from the base policy), not only their best point." + note)
