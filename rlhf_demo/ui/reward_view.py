"""What the Reward model tab draws: pure functions of a training job's log and result, the saved models and the
playground's scores (figures, tables, Markdown), tested without a server. The tab itself is `reward.py`."""

from __future__ import annotations

import math

import pandas as pd

from rlhf_demo.jobs import fmt_seconds
from rlhf_demo.reward.reference import describe
from rlhf_demo.reward.registry import trained_on_text
from rlhf_demo.ui.common import esc
from rlhf_demo.ui.plots import PLOT_DPI, plt, style

MODEL_COLUMNS = ["active", "name", "trained on", "backbone", "eval accuracy", "pairs", "LoRA", "created"]

FONT = {"title": 12.5, "label": 11.5, "tick": 10.5, "legend": 10.5}  # points; at PLOT_DPI 14.6 px and up (plots.py)


def curves_figures(log: list[dict]) -> list:
    """Two figures: the loss, and the accuracy: of every logged training batch, and the held-out evaluation curve
    (every K steps on a subset of the held-out pairs, also before training and at the end, and all of them at the
    end; the title says how many). Two figures, not two panels of one, so that a phone stacks them full width."""
    (fig1, a1), (fig2, a2) = (plt.subplots(figsize=(5.4, 3.8), dpi=PLOT_DPI) for _ in range(2))
    tr = [r for r in log if r.get("kind") == "train"]
    ev = [r for r in log if r.get("kind") == "eval"]
    # the curve: one set of pairs throughout (the "after" row carries that subset's accuracy too)
    curve = [(r["step"], r.get("subset_accuracy", r.get("eval_accuracy")), r.get("n_subset", r.get("n"))) for r in ev]
    full = [r for r in ev if r.get("phase") == "after"]
    during = [r for r in ev if r.get("phase") == "during"]
    if tr:
        a1.plot([r["step"] for r in tr], [r.get("loss", math.nan) for r in tr], label="train batch", color="#4f46e5")
        a2.plot([r["step"] for r in tr], [r.get("accuracy", math.nan) for r in tr], label="train batch",
                color="#4f46e5", alpha=0.45)
    if during:
        a1.plot([r["step"] for r in during], [r.get("eval_loss", math.nan) for r in during], "o-", label="held-out",
                color="#ea580c")
    n_sub = curve[0][2] if curve else None
    if curve:
        a2.plot([c[0] for c in curve], [c[1] for c in curve], "o-", color="#ea580c", label=f"held-out ({n_sub} pairs)")
    if full:
        a2.plot([r["step"] for r in full], [r["eval_accuracy"] for r in full], "s", ms=9, color="#9a3412",
                label=f"held-out (all {full[0].get('n')})")
    a1.set_title("loss  −log σ(r_chosen − r_rejected)", fontsize=FONT["title"])
    every = f"every {during[1]['step'] - during[0]['step']} steps, " if len(during) > 1 else ""
    a2.set_title(f"held-out accuracy: {every}{n_sub} pairs" if curve else "held-out accuracy", fontsize=FONT["title"])
    a2.axhline(0.5, ls=":", color="grey", lw=1)
    for a in (a1, a2):
        a.set_xlabel("optimiser step", fontsize=FONT["label"])
        style(a, FONT["tick"])
        if a.get_legend_handles_labels()[0]:
            a.legend(fontsize=FONT["legend"], frameon=False)
        elif not (tr or curve):
            a.text(0.5, 0.5, "no training yet", ha="center", va="center", transform=a.transAxes, fontsize=FONT["label"])
    for fig in (fig1, fig2):
        fig.tight_layout()
        plt.close(fig)
    return [fig1, fig2]


def margins_figure(margins: list[float]):
    fig, ax = plt.subplots(figsize=(5.5, 3.8), dpi=PLOT_DPI)
    if margins:
        ax.hist(margins, bins=30, color="#2e9d5b")
        ax.axvline(0, color="#d0563b", lw=1.5)
        ax.set_xlabel("margin  r(chosen) − r(rejected)", fontsize=FONT["label"])
        ax.set_ylabel("held-out pairs", fontsize=FONT["label"])
        right = sum(m > 0 for m in margins) / len(margins)
        ax.set_title(f"{100 * right:.0f} % of pairs right of 0 (correct)", fontsize=FONT["title"])
    else:
        ax.text(0.5, 0.5, "margins appear after training", ha="center", va="center", transform=ax.transAxes,
                fontsize=FONT["label"])
        ax.axis("off")
    style(ax, FONT["tick"])
    fig.tight_layout()
    plt.close(fig)
    return fig


def activation_text(r: dict) -> str:
    """Whether the new model became the active one; if not, the active one and how the two compare."""
    if r.get("activated", True):
        return " and made active"
    acc = r.get("active_eval_accuracy")
    held = f", {100 * acc:.1f} % on its own held-out pairs" if acc is not None else ""
    verdict = ("" if acc is None else " (higher than the active model's)" if r["eval_accuracy"] > acc
               else " (not higher than the active model's)")
    return (f"{verdict}. It is **not** active: PPO still optimises **{esc(r.get('active') or '')}**{held}. "
            "Pick it below and press *Make active* to use it")


def evaluation_markdown(snap) -> str:
    r = snap.result if isinstance(snap.result, dict) else None
    shorter, longer = snap.data.get("baseline_shorter_wins"), snap.data.get("baseline_longer_wins")
    if r is None:
        extra = (f" · length baselines on the held-out set: shorter reply wins **{100 * shorter:.1f} %**, longer reply "
                 f"wins **{100 * longer:.1f} %**" if shorter is not None and longer is not None else "")
        return f"Held-out accuracy appears when training ends{extra}."
    stop = " (stopped early: the adapter trained so far was saved)" if r.get("stopped") else ""
    planned = f"{r['epochs']:g} epoch{'s' if r['epochs'] != 1 else ''}" if r.get("epochs") else ""
    # a stopped run did fewer steps than its epochs make: say what was planned, never "N epochs = <fewer> steps"
    steps = (f"{r['steps']} optimiser steps" + (f" (of {planned} planned)" if planned else "") if r.get("stopped")
             else (f"{planned} = " if planned else "") + f"{r['steps']} optimiser steps")
    longer = r.get("baseline_longer_wins", 1 - r["baseline_shorter_wins"])
    n_before = r.get("n_eval_before") or r["n_eval"]
    before_n = f" ({n_before} of the pairs)" if n_before != r["n_eval"] else ""
    return (f"| held-out pairs ({r['n_eval']}) | accuracy |\n|---|---|\n"
            f"| before training¹ | {100 * r['eval_accuracy_before']:.1f} % |\n"
            f"| **after training** | **{100 * r['eval_accuracy']:.1f} %** |\n"
            f"| baseline: shorter reply wins | {100 * r['baseline_shorter_wins']:.1f} % |\n"
            f"| baseline: longer reply wins | {100 * longer:.1f} % |\n\n"
            f"¹ the untrained (random) score head on the frozen backbone{before_n}: not exactly 50 %.  \n"
            f"Saved as **{esc(r['name'])}**{activation_text(r)}{stop}; {r['n_train']} training pairs, {steps}, "
            f"{fmt_seconds(r['train_seconds'])}, {r['trainable_params']:,} of "
            f"{r['total_params']:,} parameters trained.")


def models_frame(items: list[dict]) -> pd.DataFrame:
    rows = [{"active": "●" if m["active"] else "", "name": m["name"], "trained on": trained_on_text(m.get("trained_on")),
             "backbone": str(m.get("backbone") or ""),
             "eval accuracy": "" if m.get("eval_accuracy") is None else f"{100 * m['eval_accuracy']:.1f} %",
             "pairs": m.get("n_train"), "LoRA": "yes" if m.get("lora") else "no", "created": m.get("created_iso", "")}
            for m in items]
    return pd.DataFrame(rows, columns=MODEL_COLUMNS)


def playground_markdown(scores: list[float], zs: list[float | None], name: str) -> str:
    """Each reply's score, also in σ relative to an average held-out reply, and which one the model prefers."""
    lines = [f"Reply {i + 1}: **{s:+.3f}** · {describe(z)}" for i, (s, z) in enumerate(zip(scores, zs))]
    if len(scores) == 2:
        better = 1 if scores[0] > scores[1] else 2
        lines.append(f"The reward model prefers **reply {better}** (margin {abs(scores[0] - scores[1]):.3f}).")
    return "  \n".join(lines) + (f"  \n<span class='rl-meta'>model: {esc(name)} · raw scores are on the model's own "
                                  f"scale; σ = the spread of its scores of the held-out replies</span>")


EXPORT_INTRO = ("One folder with the **active reward model** (merged: plain transformers loads it), the preference "
                "pairs **with the class's votes** and the prompts (TRL's conversational Parquet), the policy, "
                "accelerate configs (1 GPU, 8 GPUs with ZeRO-2, 2 nodes) and a README with the exact `trl rloo` / "
                "`grpo` / `dpo` / `reward` and OpenRLHF commands. Takes a few seconds; the same as "
                "`python -m rlhf_demo export`.")


def export_markdown(folder, info: dict) -> str:
    """What an export wrote, in a few lines."""
    rm, prefs, prompts = info["reward_model"], info["preferences"], info["prompts"]
    acc = rm.get("eval_accuracy")
    return (f"Exported **{rm['name']}** ({'n/a' if acc is None else f'{100 * acc:.1f} %'} held-out accuracy) to "
            f"`{folder}`\n\n"
            f"- reward model: scores match the app's within {rm['parity']['max_abs_diff']:.0e} on "
            f"{rm['parity']['texts']} held-out texts\n"
            f"- preferences: {prefs['rows'].get('train', 0):,} train (incl. {prefs['votes']} class votes), "
            f"{prefs['rows'].get('test', 0):,} test\n"
            f"- prompts: {prompts['rows'].get('train', 0):,} train, {prompts['rows'].get('test', 0):,} held out\n"
            f"- policy: `{info['policy_path']}`\n\n"
            f"Try it: `{info['commands']['rloo-cpu']}` (from the bundle's folder; its README has the GPU commands)")
