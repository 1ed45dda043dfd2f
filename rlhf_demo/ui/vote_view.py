"""What the Vote tab draws: pure functions of a round, a vote, the standings and an export (HTML, Markdown, the
leaderboard table, the win-rate matrix), tested without a server. The tab itself (layout, events, API) is `vote.py`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from rlhf_demo.arena.export import ExportStats
from rlhf_demo.arena.ranking import ELO_K, HeadToHead
from rlhf_demo.data.hh import prompt_turns
from rlhf_demo.ui.common import esc, turns_html
from rlhf_demo.ui.plots import PLOT_DPI, SMALL_PT, plt

if TYPE_CHECKING:  # (the arena imports torch: not needed to draw)
    from rlhf_demo.arena.arena import VoteResult

ELO_TEXT = f"""**How the ranking works.** *Elo* treats every vote as a game: the winner takes points from the loser,
more when the win was unexpected; each vote moves a rating by at most k = {ELO_K:g} points (k sized for a class's
tens of votes). *Bradley-Terry* fits all votes at once, and its 95 % intervals come from re-fitting on resampled
votes: overlapping intervals mean "we cannot tell them apart yet"."""

# instructor-level detail, in the tab's collapsed "More"
MORE_TEXT = f"""**The ranking, in formulas.** Bradley-Terry is the model a reward model is trained with:
P(A beats B) = σ(r_A − r_B), fitted to all counted votes at once (a tie is half a win each way). Elo replays the votes
in order with k = {ELO_K:g}, chess's value for new players: Chatbot Arena's k = 4 suits 10⁵ votes: 3 wins out of
3 move a rating by 6 points with it, by 44 with k = 32. *Before vs after* counts only
the votes between the base at the checkpoints' temperature (0.7) and the newest PPO checkpoint; its interval is
Wilson's score interval."""

BOARD_COLUMNS = ["Rank", "Contestant", "Elo", "Bradley-Terry", "95 % CI", "Votes", "Win rate"]
ASK = "Which reply is better? Names are revealed after your vote."


def prompt_html(hh_prompt: str) -> str:
    return turns_html(prompt_turns(hh_prompt))


def reply_html(label: str, text: str, name: str | None = None, cut_at: int | None = None) -> str:
    """A reply box. cut_at: the reply limit in tokens when it cut this reply mid-thought; the text then ends with
    "…" and the limit is named (on the page only: the stored reply stays the model's own text)."""
    who = f" · <b>{esc(name)}</b>" if name else ""
    if not cut_at:
        return f'<div class="rl-final"><h4>{label}{who}</h4>{esc(text)}</div>'
    note = f'<div class="rl-cut-note"><small>(cut at {cut_at} tokens, the reply limit)</small></div>'
    return f'<div class="rl-final"><h4>{label}{who}</h4>{esc(text)}…{note}</div>'


def cut_at(settings: dict, side: str) -> int | None:
    """The reply limit when it cut reply `side` ("a" / "b") of a stored round (`settings`), else None."""
    return settings.get("max_new_tokens") if settings.get(f"cut_{side}") else None


# ------------------------------------------------------------------------------------------- before vs after


def before_after_pair(checkpoints: Sequence[dict], contestants: Sequence) -> tuple[str, str] | None:
    """(base, newest checkpoint) for the before/after contest; None before the first checkpoint.

    1. the newest checkpoint is the last of `checkpoints` (PPO's list, oldest first);
    2. its temperature is its contestant's (`contestants`: the arena's registry list), 0.7 if it is not playing
       (checkpoints play at 0.7);
    3. the base is the plain base contestant (no adapter, no best-of-N) at that temperature: the same sampling,
       so only the training differs.
    """
    if not checkpoints:
        return None
    newest = checkpoints[-1]["name"]
    t = next((c.temperature for c in contestants if c.name == newest), 0.7)
    base = next((c.name for c in contestants if not c.adapter_path and c.best_of == 1 and c.temperature == t),
                f"base-t{t:.1f}")
    return base, newest


def before_after_verdict(h: HeadToHead) -> str:
    """From the interval: does it exclude 50 %?"""
    if h.low > 0.5:
        return "PPO helped"
    if h.high < 0.5:
        return "PPO made it worse"
    return "not clear yet"


def before_after_markdown(pair: tuple[str, str] | None, h: HeadToHead | None) -> str:
    """One sentence: did the votes change the model? The newest checkpoint against the base, head to head."""
    if pair is None:
        return "**Before vs after:** no PPO checkpoint yet. Save one in tab 4 and it joins the arena."
    base, ckpt = pair
    if h is None or h.n == 0:
        return (f"**Before vs after:** no votes yet between {base} and {ckpt}. Keep pressing *New round*: each round "
                "draws two contestants at random.")
    ties = f"; {h.ties} tie{'' if h.ties == 1 else 's'} counted half" if h.ties else ""
    pct = lambda x: f"{100 * x:.0f}"  # noqa: E731
    return (f"**Before vs after:** {ckpt} beat {base} in **{pct(h.rate_b)} %** of {h.n} vote{'' if h.n == 1 else 's'} "
            f"({pct(h.confidence)} % interval {pct(h.low)}–{pct(h.high)} %{ties}): **{before_after_verdict(h)}**.")


def before_after_data(pair: tuple[str, str] | None, h: HeadToHead | None) -> dict | None:
    """The same for the API: plain numbers (NaN as None) and the verdict; None before the first checkpoint."""
    if pair is None or h is None:
        return None
    nums = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in h._asdict().items()}
    return {**nums, "verdict": before_after_verdict(h) if h.n else None}


def board_frame(board: pd.DataFrame) -> pd.DataFrame:
    if board.empty:
        return pd.DataFrame(columns=BOARD_COLUMNS)
    fmt = lambda x: "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.0f}"  # noqa: E731
    return pd.DataFrame({
        "Rank": board["rank"].astype(int), "Contestant": board["contestant"],
        "Elo": [fmt(x) for x in board["elo"]], "Bradley-Terry": [fmt(x) for x in board["bt"]],
        "95 % CI": [f"{fmt(lo)} – {fmt(hi)}" for lo, hi in zip(board["ci_low"], board["ci_high"])],
        "Votes": board["votes"].astype(int),
        "Win rate": ["–" if math.isnan(w) else f"{100 * w:.0f} %" for w in board["win_rate"]],
    })


def matrix_plot(matrix):
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=PLOT_DPI)
    if matrix is None or matrix.win_rate.empty:
        ax.text(0.5, 0.5, "No decisive votes yet", ha="center", va="center", fontsize=SMALL_PT + 2)
        ax.axis("off")
    else:
        wr = matrix.win_rate
        vals = wr.to_numpy(dtype=float)
        empty = matrix.games.to_numpy() == 0  # no decisive vote between the two: grey with a dash, never "50 %" yellow
        cmap = plt.get_cmap("RdYlGn").with_extremes(bad="#e5e7eb")
        ax.imshow(np.ma.masked_array(np.nan_to_num(vals, nan=0.5), mask=empty), cmap=cmap, vmin=0, vmax=1)
        ax.set_xticks(range(len(wr.columns)), wr.columns, rotation=30, ha="right", fontsize=SMALL_PT)
        ax.set_yticks(range(len(wr.index)), wr.index, fontsize=SMALL_PT)
        for i in range(vals.shape[0]):
            for j in range(vals.shape[1]):
                n = int(matrix.games.iloc[i, j])
                ax.text(j, i, "–" if n == 0 else f"{100 * vals[i, j]:.0f}%\n({n})", ha="center", va="center",
                        fontsize=SMALL_PT, color="#6b7280" if n == 0 else "black")
        ax.set_xlabel("opponent", fontsize=SMALL_PT)
        ax.set_title("row's win rate against column\n(decisive votes)", fontsize=SMALL_PT)
    fig.tight_layout()
    plt.close(fig)
    return fig


def counted_text(st: dict) -> str:
    """E.g. "312 votes stored · 287 counted · filtered: 15 over the 60/hour cap, 10 cast < 2 s after ..."."""
    rep = st["report"]
    text = f"**{st['votes']:,} vote{'' if st['votes'] == 1 else 's'} stored** · **{st['counted']:,} counted**"
    if rep.filtered:
        text += " · filtered: " + ", ".join(rep.reasons())
    if st.get("archived"):
        text += f" · {st['archived']:,} archived by a reset (kept, not counted)"
    return text


def summary_markdown(st: dict) -> str:
    ag = st["agreement"]
    agree = ("no arena prompt has been judged by two voters yet (calibration sets show everyone the same items)"
             if ag is None or ag.n_items == 0
             else f"voters agree on **{100 * ag.rate:.0f} %** of {ag.n_pairs} voter pairs "
                  f"({ag.n_items} item{'' if ag.n_items == 1 else 's'} judged by 2+ voters)")
    return f"{counted_text(st)}.  \nThe ranking uses the counted votes; {agree}.\n\n{ELO_TEXT}"


def reveal_markdown(res: VoteResult, outcome: str) -> str:
    """After a vote: who A and B were, and what the vote said."""
    picked = {"A": f"You preferred **{res.model_a}** (A) over **{res.model_b}** (B).",
              "B": f"You preferred **{res.model_b}** (B) over **{res.model_a}** (A).",
              "tie": f"A tie between **{res.model_a}** and **{res.model_b}**.",
              "both_bad": f"Both **{res.model_a}** and **{res.model_b}** were judged bad."}[outcome]
    return f"Model A was **{res.model_a}**, model B was **{res.model_b}**. {picked} Thanks! Press *New round* for another."


def export_markdown(stats: ExportStats) -> str:
    """What an export wrote, and what it left out."""
    filtered = f", and {stats.n_filtered} votes that do not count (vote filters)" if stats.n_filtered else ""
    if stats.n_pairs == 0:
        return (f"No preference pairs yet ({stats.n_ties} ties and {stats.n_both_bad} 'both bad' votes are "
                f"left out: they say nothing about which reply is better{filtered}).")
    return (f"**{stats.n_pairs} pairs** exported; left out: {stats.n_ties} ties, {stats.n_both_bad} both-bad"
            f"{filtered}. Load with `datasets.load_dataset(\"json\" or \"parquet\", data_files=...)`.")


def applied_markdown(report: dict) -> str:
    """After the instructor changed the vote filters: how many votes count now (`FilterReport.as_dict()`)."""
    return (f"Filters applied: {report['counted']:,} of {report['stored']:,} stored votes count. "
            "The leaderboard updates within a few seconds.")


def confirm_reset_markdown(n_votes: int) -> str:
    return (f"**Archive all {n_votes:,} current votes?** They stop counting (the leaderboard starts from zero) but "
            "nothing is deleted: every vote stays in the vote file, marked archived.")


def archived_markdown(n_archived: int) -> str:
    return (f"{n_archived:,} votes archived: they no longer count (leaderboard, export, reward data) but nothing is "
            "deleted: they stay in the vote file, stamped archived_at.")
