"""What the Browse tab draws: pure functions of a preference set, a pair, its reward scores and the scoring job
(HTML, Markdown, the length histogram), tested without a server. The tab itself (layout, events, API) is
`browse.py`."""

from __future__ import annotations

import numpy as np

from rlhf_demo.data.browse import LengthStats, word_diff
from rlhf_demo.data.hh import PreferencePair, PreferenceSet
from rlhf_demo.jobs import JobSnapshot, fmt_seconds
from rlhf_demo.ui.common import esc, spans_html, turns_html
from rlhf_demo.ui.plots import PLOT_DPI, SMALL_PT, plt, style

LENGTH_LESSON = """**Length bias.** A reward model can get part of the way by a shortcut: "prefer the longer
(or shorter) reply". The rates above are that shortcut's accuracy on this split. A useful reward model must beat
it; one that learned mostly length will push PPO towards long rambling replies (*reward hacking*)."""

NOTHING = '<div class="rl-empty">Nothing to show.</div>'


def render_pair(p: PreferencePair, extra: str = "") -> str:
    """The conversation once, then the two final replies side by side with their differences marked."""
    shared = turns_html(p.prefix)
    tail_c = turns_html(p.chosen_turns[p.n_shared:-1])
    tail_r = turns_html(p.rejected_turns[p.n_shared:-1])
    note = "" if p.same_prefix else '<div class="rl-meta">The two transcripts also differ before the final reply; each side shows its own earlier turns.</div>'
    sc, sr = word_diff(p.chosen, p.rejected)
    wc, wr = len(p.chosen.split()), len(p.rejected.split())
    return f"""{shared}{note}
<div class="rl-finals">
  <div class="rl-final rl-chosen">{tail_c}<h4><span class="rl-badge rl-badge-chosen">CHOSEN</span> reply <span class="rl-meta">({wc} words)</span></h4>{spans_html(sc)}</div>
  <div class="rl-final rl-rejected">{tail_r}<h4><span class="rl-badge rl-badge-rejected">REJECTED</span> reply <span class="rl-meta">({wr} words)</span></h4>{spans_html(sr)}</div>
</div>
<div class="rl-meta">Highlighted: words that differ between the two replies.</div>{extra}"""


def verdict_html(name: str, chosen: float, rejected: float, trained_on: str = "") -> str:
    """The reward model's verdict on a pair in large text (a projector), its scores and what the model was trained
    on under it."""
    agrees = chosen > rejected
    head = ("✓ The reward model <b>agrees</b> with the human label" if agrees
            else "✗ The reward model <b>disagrees</b> with the human label")
    return (f'<div class="rl-browse-verdict {"rl-browse-yes" if agrees else "rl-browse-no"}" id="browse-reward">'
            f'<div class="rl-browse-verdict-head">{head}</div>'
            f'<div class="rl-browse-verdict-scores">chosen {chosen:+.3f} · rejected {rejected:+.3f} · margin '
            f'{chosen - rejected:+.3f} · model <b>{esc(name)}</b>'
            + (f" (trained on {esc(trained_on)})" if trained_on else "") + '</div></div>')


def verdict_failed_html(name: str, problem: str) -> str:
    return f'<div class="rl-meta">Reward model {esc(name)} could not score this pair: {esc(problem)}</div>'


def position_markdown(p: PreferencePair, total: int, match: tuple[int, int] | None, query: str) -> str:
    """E.g. "Pair **#12** of 1,812 · 2 human turn(s) · match 3 of 40 for “recipe”". match: (position, matches)."""
    filt = ""
    if match is not None:
        what = f" for “{esc(query)}”" if query else ""
        filt = f" · match {match[0] + 1:,} of {match[1]:,}{what}"
    return f"Pair **#{p.index:,}** of {total:,} · {p.n_turns} human turn(s){filt}"


def no_match_markdown(query: str) -> str:
    msg = f"No pair matches **{esc(query)}**" if query else "No pair matches this filter"
    return msg + ". Clear the search to see all pairs."


def length_plot(st: LengthStats):
    """Histograms of the final replies' lengths in words, chosen against rejected (the longest 2 % in the last bin)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.2), dpi=PLOT_DPI)
    hi = max(10, int(max(st.chosen_words.max(initial=0), st.rejected_words.max(initial=0)) if st.n else 10))
    cap = int(np.percentile(np.concatenate([st.chosen_words, st.rejected_words]), 98)) if st.n else hi
    bins = np.linspace(0, max(cap, 10), 30)
    ax.hist(np.minimum(st.chosen_words, bins[-1]), bins=bins, alpha=0.6, label="chosen", color="#2e9d5b")
    ax.hist(np.minimum(st.rejected_words, bins[-1]), bins=bins, alpha=0.6, label="rejected", color="#d0563b")
    ax.set_xlabel("words in the final reply (last bin: longer)", fontsize=SMALL_PT)
    ax.set_ylabel("pairs", fontsize=SMALL_PT)
    ax.legend(frameon=False, fontsize=SMALL_PT)
    style(ax, SMALL_PT)
    fig.tight_layout()
    plt.close(fig)
    return fig


def stats_markdown(ps: PreferenceSet, st: LengthStats, where: str) -> str:
    """`where`: the split and the data source in words (never a path on the server)."""
    skipped = f" · {ps.skipped:,} malformed line(s) skipped" if ps.skipped else ""
    return (
        f"**{st.n:,} pairs** of {esc(where)}{skipped}\n\n"
        f"- longer reply is the chosen one: **{100 * st.longer_wins:.1f} %** · shorter: **{100 * st.shorter_wins:.1f} %**"
        f" (lengths in words; {st.n_equal:,} pairs of equal length count half)\n"
        f"- median words: chosen {int(st.as_dict()['chosen_median_words'])}, rejected {int(st.as_dict()['rejected_median_words'])}\n\n"
        + LENGTH_LESSON
    )


def scoring_markdown(snap: JobSnapshot, mine: bool) -> str:
    """The scoring job's line while a page waits for its split's scores. mine: the job is (or was) that split's."""
    if mine and snap.state == "failed":
        return f"⚠️ Scoring failed: {esc(snap.error)}"
    if not mine or not snap.active:
        return "Waiting for another scoring job to finish…" if snap.active else "Starting the scoring job…"
    eta = snap.eta
    left = f", about {fmt_seconds(eta)} left" if eta is not None else ", estimating time left…"
    return (f"Scoring: **{100 * snap.progress:.0f} %**{left} · {esc(snap.title)} (once; cached after that). "
            "Keep browsing: the filter turns on when it is done.")


def disagreements_markdown(n_bad: int, total: int, name: str) -> str:
    return f"**{n_bad:,}** of {total:,} pairs: the reward model **{esc(name)}** disagrees with the human label"
