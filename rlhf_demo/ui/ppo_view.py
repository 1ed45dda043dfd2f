"""What the PPO tab draws from a run's state: pure functions of a RunView / metrics history (figures, HTML,
tables, the settings line), tested without a server. The tab itself (layout, events, API) is `ppo.py`."""

from __future__ import annotations

import html
import math

import pandas as pd

from rlhf_demo.data.hh import last_question
from rlhf_demo.numbers import fixed
from rlhf_demo.ppo.reward_spec import spec_label
from rlhf_demo.ppo.run import RunView
from rlhf_demo.ppo.service import SETTABLE
from rlhf_demo.ppo.verdict import before_after, heldout_verdict
from rlhf_demo.ui.common import esc
from rlhf_demo.ui.plots import PLOT_DPI, PLOT_PT, SMALL_PT, plt, style

# (TRL's metric name, its title in words): the words are the title, the name a small line beneath (to look it up)
MAIN_PLOTS = [("objective/scores", "Reward score (0 = the base policy)"),
              ("objective/kl", "Distance from the frozen copy (KL)"),
              ("objective/rlhf_reward", "Score minus the KL penalty")]
MORE_PLOTS = [("objective/entropy", "Variety of the replies (entropy)"), ("policy/approxkl_avg", "Change per update"),
              ("policy/clipfrac_avg", "Share of clipped tokens"), ("loss/policy_avg", "Policy loss"),
              ("loss/value_avg", "Value loss"), ("val/ratio", "Probability ratio new / old")]
PROBE_COLUMNS = ["step", "probe", "score", "KL", "reply"]  # the long reply last, so the numbers never scroll away
LR_CHOICES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2]
# the ensemble's score (`reward/ensemble.py`): each member's scores in its own σ first, then one of these
ENSEMBLE_MODES = [("mean − λ·std: their disagreement costs a reply", "mean-std"), ("min: the lowest member", "min")]


SMOOTH_FROM = 10  # with at least this many steps, each plot also shows a smoothed line (the raw one is faded)


def smooth(values: list[float], weight: float = 0.85) -> list[float]:
    """TensorBoard's smoothing: a bias-corrected exponential moving average. NaNs are skipped (and stay NaN)."""
    out, avg, norm = [], 0.0, 0.0
    for v in values:
        if v != v:  # NaN: no information at this step
            out.append(math.nan)
            continue
        avg = weight * avg + (1 - weight) * v
        norm = weight * norm + (1 - weight)
        out.append(avg / norm)
    return out


def _series(ax, steps: list[int], history: list[dict], key: str, title: str) -> None:
    ys = [h.get(key, math.nan) for h in history]
    long_run = len(steps) >= SMOOTH_FROM
    ax.plot(steps, ys, marker="o" if len(steps) < 30 else None, ms=4, lw=1.2 if long_run else 2.0,
            color="#4f46e5", alpha=0.3 if long_run else 1.0)
    if long_run:
        ax.plot(steps, smooth(ys), lw=2.4, color="#4f46e5")
    ax.set_title(title, fontsize=PLOT_PT, pad=22)
    ax.text(0.5, 1.02, key, transform=ax.transAxes, ha="center", va="bottom", fontsize=SMALL_PT, color="#6b7280")
    ax.set_xlabel("PPO step", fontsize=PLOT_PT)
    style(ax)


def _no_steps(ax) -> None:
    ax.text(0.5, 0.5, "no steps yet", ha="center", va="center", fontsize=PLOT_PT, transform=ax.transAxes)


def metric_figure(history: list[dict], key: str, title: str):
    """One metric per PPO step: its own figure, so the four main plots sit two by two on a projector and stack, each
    the full width, on a phone."""
    fig, ax = plt.subplots(figsize=(5.4, 3.9), dpi=PLOT_DPI)
    _series(ax, [h.get("step", i + 1) for i, h in enumerate(history)], history, key, title)
    if not history:
        _no_steps(ax)
    fig.tight_layout()
    plt.close(fig)
    return fig


def distance_figure(history: list[dict]):
    """Score against √KL, one point per step coloured by the step: the over-optimisation picture of a run."""
    fig, ax = plt.subplots(figsize=(5.4, 3.9), dpi=PLOT_DPI)
    steps = [h.get("step", i + 1) for i, h in enumerate(history)]
    kl = [max(h.get("objective/kl", 0.0), 0.0) ** 0.5 for h in history]
    sc = [h.get("objective/scores", math.nan) for h in history]
    points = ax.scatter(kl, sc, c=steps, cmap="viridis", s=30)
    if history:
        fig.colorbar(points, ax=ax).ax.tick_params(labelsize=PLOT_PT)
    else:
        _no_steps(ax)
    ax.set_title("Score against distance (colour = step)", fontsize=PLOT_PT, pad=22)
    ax.text(0.5, 1.02, "objective/scores vs √objective/kl", transform=ax.transAxes, ha="center", va="bottom",
            fontsize=SMALL_PT, color="#6b7280")
    ax.set_xlabel("√KL", fontsize=PLOT_PT)
    style(ax)
    fig.tight_layout()
    plt.close(fig)
    return fig


def main_figures(history: list[dict]) -> list:
    """The main view: score, KL, score − β·KL (each per step) and score against √KL, four figures."""
    return [metric_figure(history, key, title) for key, title in MAIN_PLOTS] + [distance_figure(history)]


def metrics_figure(history: list[dict]):
    """The six diagnostics per step in one figure (behind "More metrics"): entropy, approx KL, clipping, the two
    losses, the ratio. Long runs get a smoothed trend line over the faded raw one."""
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.6), dpi=PLOT_DPI)
    steps = [h.get("step", i + 1) for i, h in enumerate(history)]
    for ax, (key, title) in zip(axes.flat, MORE_PLOTS):
        _series(ax, steps, history, key, title)
        if not history:
            _no_steps(ax)
    fig.tight_layout()
    plt.close(fig)
    return fig


def kl_shaded(tokens: list[str], token_kl: list[float], scale: float) -> str:
    """Each token on a red background whose strength is its KL (where the policy moved away from the reference)."""
    out = []
    for t, k in zip(tokens, token_kl):
        a = 0.0 if scale <= 0 else min(max(k, 0.0) / scale, 1.0) * 0.75
        out.append(f'<span title="KL {k:+.3f}" style="background: rgba(220,38,38,{a:.2f}); border-radius: 2px">'
                   f"{html.escape(t).replace(chr(10), '↵<br>')}</span>")
    return "".join(out)


def samples_html(samples: list[dict], limit: int = 4, cut_at: int | None = None) -> str:
    """The latest replies, each token shaded by its KL. Shown with the k3 estimate ((q/p − 1) − log(q/p), never
    negative) so no token or reply reads "−0.2 KL"; PPO's objective uses the estimator of the config (k1 by default,
    whose sum over one reply can be below zero although the true KL never is)."""
    if not samples:
        return '<div class="rl-empty">The latest replies appear here once PPO runs.</div>'
    token_kl = [s.get("token_kl_k3", s["token_kl"]) for s in samples[:limit]]
    scale = max((max(t, default=0.0) for t in token_kl), default=0.0) or 1.0
    rows = []
    for s, tk in zip(samples[:limit], token_kl):
        q = last_question(s["prompt"])
        rows.append(f'<div class="rl-final" style="margin-bottom:8px"><div class="rl-meta">Human: {esc(q[-200:])}</div>'
                    f'{kl_shaded(s["tokens"], tk, scale)}{cut_mark(cut_at) if s.get("cut") else ""}'
                    f'<div class="rl-meta">score {s["score"]:+.3f} · KL {s.get("kl_k3", s["kl"]):.3f}</div></div>')
    return ('<div class="rl-meta">Darker red = larger per-token KL: where the policy now differs most from the frozen '
            f'reference (scale: max {scale:.3f}). KL here is the k3 estimate, never negative.</div>' + "".join(rows))


UNCHANGED = 0.1  # |score now - score at step 0| below this (σ of the base policy's scores): "about the same"


def change_words(delta: float, same_text: bool) -> tuple[str, str]:
    """(css class, words) for how a reply changed: its border is green when its score rose, red when it fell, plain
    when it is about the same; a reply whose text did not change says so (only its probability moved)."""
    cls, words = (("rl-better", f"better ({delta:+.2f})") if delta >= UNCHANGED
                  else ("rl-worse", f"worse ({delta:+.2f})") if delta <= -UNCHANGED else ("rl-same", "about the same"))
    if same_text:
        words += "; same text, only its probability moved (the KL)"
    return cls, words


def probe_change(p0, pn) -> tuple[str, str]:
    """`change_words` for a probe at step 0 (p0) and now (pn)."""
    return change_words(pn.score - p0.score, pn.reply == p0.reply and pn.step != p0.step)


def cut_mark(limit: int | None) -> str:
    """What ends a reply the token limit cut: "…" and the limit, named."""
    what = f"cut at the {limit}-token limit" if limit else "cut at the token limit"
    return f'… <span class="rl-meta">({what})</span>'


def reply_text(reply: str, cut: bool, limit: int | None) -> str:
    """A reply as HTML; one the token limit cut ends with "…" and says so (the stored text has no "…")."""
    if not reply:
        return "<i>(empty)</i>"
    return esc(reply.rstrip()) + cut_mark(limit) if cut else esc(reply)


def probe_compare_html(view: RunView) -> str:
    if not view.probes:
        return '<div class="rl-empty">Probe replies appear at step 0, when PPO starts.</div>'
    first = min(p.step for p in view.probes)
    last = max(p.step for p in view.probes)
    limit = view.config.get("response_length")
    by = {(p.step, p.probe): p for p in view.probes}
    rows = []
    for i, prompt in enumerate(sorted({p.probe for p in view.probes})):
        p0, pn = by.get((first, prompt)), by.get((last, prompt))
        if p0 is None or pn is None:
            continue
        q = last_question(p0.prompt)
        cls, words = probe_change(p0, pn) if pn.step != p0.step else ("rl-same", "")
        rows.append(f'<div class="rl-meta" style="margin-top:8px"><b>Human:</b> {esc(q)}</div><div class="rl-finals">'
                    f'<div class="rl-final"><h4>step {p0.step} <span class="rl-meta">score {p0.score:+.3f}</span></h4>'
                    f'{reply_text(p0.reply, p0.cut, limit)}</div>'
                    f'<div class="rl-final {cls}"><h4>step {pn.step} (now) <span class="rl-meta">score {pn.score:+.3f} · KL {fixed(pn.kl)}'
                    f'{" · " + words if words else ""}</span></h4>'
                    f'{reply_text(pn.reply, pn.cut, limit)}</div></div>')
    return "".join(rows)


def verdict_markdown(view: RunView) -> str:
    """The run's result in one sentence (`ppo/verdict.py`): how far the held-out score moved, against its noise."""
    v = heldout_verdict(view.evals)
    if v is None:
        if view.evals:
            return (f"The held-out replies of step {view.evals[0]['step']} are scored; the verdict appears at the next "
                    "evaluation (every few steps and at the end of a run).")
        return "The verdict appears after the first steps: the base policy and the trained one, on the same held-out prompts."
    return v.sentence()


def before_after_html(view: RunView, limit: int = 3) -> str:
    """Held-out prompts, the base policy's reply beside the newest one (same prompt, same random numbers), with both
    scores in σ of the base policy's scores; the newest box is coloured by what happened, like the probes."""
    pairs = before_after(view.evals, limit)
    if not pairs:
        return '<div class="rl-empty">Base vs now on held-out prompts appears after the first evaluation of a run.</div>'
    cut_at = view.config.get("response_length")
    rows = []
    for p in pairs:
        cls, words = change_words(p.after_score - p.before_score, p.after == p.before)
        rows.append(f'<div class="rl-meta" style="margin-top:8px"><b>Human:</b> {esc(last_question(p.prompt)[-300:])}</div>'
                    f'<div class="rl-finals"><div class="rl-final"><h4>base (step {p.before_step}) '
                    f'<span class="rl-meta">score {p.before_score:+.2f} σ</span></h4>{reply_text(p.before, p.before_cut, cut_at)}</div>'
                    f'<div class="rl-final {cls}"><h4>now (step {p.after_step}) <span class="rl-meta">score '
                    f'{p.after_score:+.2f} σ · {words}</span></h4>{reply_text(p.after, p.after_cut, cut_at)}</div></div>')
    return "".join(rows)


def probe_frame(view: RunView) -> pd.DataFrame:
    rows = [{"step": p.step, "probe": p.probe + 1, "reply": p.reply, "score": round(p.score, 3), "KL": round(p.kl, 3)}
            for p in sorted(view.probes, key=lambda p: (-p.step, p.probe))]
    return pd.DataFrame(rows, columns=PROBE_COLUMNS)


def checkpoints_frame(view: RunView) -> pd.DataFrame:
    rows = [{"name": c["name"], "step": c["step"], "score": None if c["score"] is None else round(c["score"], 3),
             "KL": None if c["kl"] is None else round(c["kl"], 3), "saved": c["saved"]} for c in view.checkpoints]
    return pd.DataFrame(rows, columns=["name", "step", "score", "KL", "saved"])


def settings_values(config: dict) -> list:
    """The live controls' values (`SETTABLE` order) for a config: what the shared run actually uses."""
    lr = min(LR_CHOICES, key=lambda x: abs(x - config["learning_rate"]))  # the dropdown's nearest choice
    return [lr if field == "learning_rate" else config[field] for field in SETTABLE]


def resume_label(saved: dict | None) -> str:
    if not saved:
        return "Resume"
    reward = spec_label(saved)
    what = f"reward model {reward}" if reward is None or not (saved.get("reward") or {}).get("ensemble") else reward
    return f"Resume the run from step {saved['step']} (saved {saved['saved']}, {what})"


def ensemble_choices(candidates: list[dict]) -> list[tuple[str, str]]:
    """The "Ensemble with" choices, (label, name): every saved model but the active one; the gold one says why it
    is refused."""
    return [(f"{c['name']} (gold: cannot be a member)" if c["gold"] else c["name"], c["name"]) for c in candidates]


def ensemble_values(candidates: list[dict], info: dict) -> tuple[tuple, tuple, str]:
    """(choices, members picked among them, mode) for the ensemble controls: what the next Start trains against."""
    choices = tuple(ensemble_choices(candidates))
    names = {name for _, name in choices}
    return choices, tuple(m for m in info["with"] if m in names), info["mode"]


def reward_text(label: str | None, ensemble: bool) -> str:
    """"reward model: **rm-a**" or "reward: **ensemble of 2 (rm-a, rm-b), mean − 1·std**"."""
    if label is None:
        return "reward model: **none (train one in tab 3)**"
    return f"{'reward' if ensemble else 'reward model'}: **{esc(label)}**"


def checkpoints_label(view: RunView) -> str:
    """The checkpoint table's title, naming the folders left out: incomplete ones (a killed save) and those whose
    weights are NaN or infinite (never listed, never an arena contestant)."""
    skipped = view.skipped_checkpoints
    label = "Checkpoints" + (f" (left out, incomplete: {', '.join(skipped)})" if skipped else "")
    return label + "".join(f" · left out: {name}, {why}" for name, why in view.refused_checkpoints.items())


def status_markdown(view: RunView, job_line: str, next_reward: dict | str | None) -> str:
    """The status above the plots: the job, the step, the reward the run belongs to (the active model, or an
    ensemble), the settings in use. `next_reward`: what the next Start trains against (a `RewardSpec.to_dict()`, or
    a model's name), said when it is not the run's."""
    upcoming = next_reward if isinstance(next_reward, dict) or next_reward is None else {"label": next_reward}
    shown = view.reward or upcoming
    reward = reward_text(shown and shown.get("label"), bool(shown and shown.get("ensemble")))
    if view.reward and upcoming and upcoming.get("label") != view.reward.get("label"):
        reward += f" (the next Start begins a new run against **{esc(upcoming['label'])}**)"
    if view.resumable is not None and job_line is None:
        job_line = (f"A saved run can be resumed from step {view.resumable['step']} (saved {view.resumable['saved']}): "
                    "press Resume to continue it, with its curves, or Discard to delete it. Start trains the policy "
                    "shown here and keeps the saved run.")
    status = f"{esc(job_line or 'Idle: press Start.')}  \n**Step {view.step}** · {reward}"
    if view.score_norm is not None and view.config.get("normalize_scores"):
        mu, sd = view.score_norm
        status += (f" · scores normalised: 0 = the base policy's average ({mu:+.3g} raw), "
                   f"1 = one standard deviation ({sd:.3g} raw)")
    return status + "  \n" + settings_line(view.config)


def settings_line(config: dict) -> str:
    return (f"**Settings in use** (every page shows these; changes apply from the next step): β = {config['kl_coef']:g} · "
            f"learning rate {config['learning_rate']:g} · {config['batch_size']} replies per step · baseline "
            f"{config['baseline']} · up to {config['response_length']} tokens · temperature {config['temperature']:g} · "
            f"{config['num_ppo_epochs']} PPO epoch{'s' if config['num_ppo_epochs'] != 1 else ''} per batch")
