"""Vote tab: an anonymous arena. Two models answer, you pick the better reply, the class builds a ranking."""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass

import gradio as gr
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from rlhf_demo.arena.export import EXPORT_FORMATS, FILE_FORMATS, write_export  # noqa: E402
from rlhf_demo.arena.votes import OUTCOMES  # noqa: E402
from rlhf_demo.data.hh import prompt_turns  # noqa: E402
from rlhf_demo.storage import download_path  # noqa: E402
from rlhf_demo.ui import calibration, vote_filters  # noqa: E402
from rlhf_demo.ui.common import as_text, error, esc, turns_html  # noqa: E402
from rlhf_demo.ui.lock import UnlockPanel  # noqa: E402
from rlhf_demo.workspace import Workspace  # noqa: E402

INTRO = """**Step 2 · Collect preferences.** This is how preference data is made: two anonymous models answer the
same prompt and you say which reply is better. Your votes are stored, ranked below, and can train the reward model
in tab 3, exactly like the human labels in hh-rlhf."""

ELO_TEXT = """**How the ranking works.** *Elo* treats every vote as a game: the winner takes points from the loser,
more when the win was unexpected, so ratings settle where each model's expected score matches its results.
*Bradley-Terry* fits all votes at once (the same model a reward model uses: P(A beats B) = σ(r_A − r_B)), and the
95 % intervals come from re-fitting on resampled votes: overlapping intervals mean "we cannot tell them apart yet"."""

VOTE_LABELS = {"A": "A is better", "B": "B is better", "tie": "Tie", "both_bad": "Both are bad"}
BOARD_COLUMNS = ["Rank", "Contestant", "Elo", "Bradley-Terry", "95 % CI", "Votes", "Win rate"]


ROUND_CONCURRENCY = 12  # rounds in flight at most (they share generate calls); with 16 or 32 the queue slowed every vote
#                         (30 voters + PPO, tiny policy: vote p95 1.6 s; 12: 0.7-1.0 s, round p50 8.6-9.2 s)


@dataclass
class VoteTab:
    name: gr.Textbox
    prompt: gr.Textbox
    new_round: gr.Button
    regenerate: gr.Button
    prompt_view: gr.HTML
    reply_a: gr.HTML
    reply_b: gr.HTML
    buttons: dict[str, gr.Button]
    reveal: gr.Markdown
    board: gr.Dataframe
    summary: gr.Markdown
    matrix: gr.Plot
    timer: gr.Timer
    export_fmt: gr.Radio
    export_file_fmt: gr.Radio
    export: gr.Button
    export_file: gr.File
    export_msg: gr.Markdown
    state: gr.State  # per browser: {"round_id", "prompt", "voted"}
    seen: gr.State  # per browser: the standings key last drawn (skip unchanged redraws)
    cal: calibration.CalibrationView
    filters: vote_filters.FilterControls
    instructor_controls: list  # greyed out for students (ui/app.py hands them to the lock)


# ----------------------------------------------------------------------------- rendering


def prompt_html(hh_prompt: str) -> str:
    return turns_html(prompt_turns(hh_prompt))


def reply_html(label: str, text: str, name: str | None = None) -> str:
    who = f" · <b>{esc(name)}</b>" if name else ""
    return f'<div class="rl-final"><h4>{label}{who}</h4>{esc(text)}</div>'


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


MATRIX_PT = 11  # 11 pt at 100 dpi = 15.3 px in the PNG: readable on a projector (>= 14 px)


def matrix_plot(matrix):
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    if matrix is None or matrix.win_rate.empty:
        ax.text(0.5, 0.5, "No decisive votes yet", ha="center", va="center", fontsize=MATRIX_PT + 2)
        ax.axis("off")
    else:
        wr = matrix.win_rate
        vals = wr.to_numpy(dtype=float)
        ax.imshow(np.nan_to_num(vals, nan=0.5), cmap="RdYlGn", vmin=0, vmax=1)
        ax.set_xticks(range(len(wr.columns)), wr.columns, rotation=30, ha="right", fontsize=MATRIX_PT)
        ax.set_yticks(range(len(wr.index)), wr.index, fontsize=MATRIX_PT)
        for i in range(vals.shape[0]):
            for j in range(vals.shape[1]):
                n = int(matrix.games.iloc[i, j])
                ax.text(j, i, "" if n == 0 else f"{100 * vals[i, j]:.0f}%\n({n})", ha="center", va="center",
                        fontsize=MATRIX_PT)
        ax.set_xlabel("opponent", fontsize=MATRIX_PT)
        ax.set_title("row's win rate against column\n(decisive votes)", fontsize=MATRIX_PT)
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
                  f"({ag.n_items} items judged by 2+ voters)")
    return f"{counted_text(st)}.  \nThe ranking uses the counted votes; {agree}.\n\n{ELO_TEXT}"


# ----------------------------------------------------------------------------- building


def build(ws: Workspace) -> VoteTab:
    gr.Markdown(INTRO + f"  \nThe contestants are **{ws.policy_choice.label()}** sampled at two temperatures, "
                "**base + best-of-8** (8 replies, the active reward model keeps the best: 8× the inference) once a "
                "reward model is active, plus every PPO checkpoint saved in tab 4 and every DPO adapter trained in "
                "tab 5.", elem_classes="rl-intro")
    cal = calibration.build_panel()  # shown above the arena while the instructor runs a calibration set
    with gr.Row(equal_height=True):
        prompt = gr.Textbox(label="Prompt", lines=2, max_lines=6, scale=5, elem_id="vote-prompt",
                            placeholder="Type a question for both models, or leave empty for one from the data")
        with gr.Column(scale=1, min_width=160):
            new_round = gr.Button("New round", variant="primary", elem_id="vote-new")
            regenerate = gr.Button("Regenerate", elem_id="vote-regenerate", interactive=False)
    prompt_view = gr.HTML(elem_id="vote-prompt-view")
    with gr.Row(equal_height=True):
        # columns with a min_width: on a phone the two replies stack (A above B) instead of becoming two narrow strips
        with gr.Column(min_width=300):
            reply_a = gr.HTML(reply_html("Model A", "Press New round."), elem_id="vote-reply-a")
        with gr.Column(min_width=300):
            reply_b = gr.HTML(reply_html("Model B", "Press New round."), elem_id="vote-reply-b")
    with gr.Row():
        buttons = {o: gr.Button(VOTE_LABELS[o], interactive=False, elem_id=f"vote-{o.lower().replace('_', '-')}")
                   for o in OUTCOMES}
    with gr.Row(equal_height=True):
        with gr.Column(scale=3, min_width=300):
            reveal = gr.Markdown("Names are revealed after your vote.", elem_id="vote-reveal")
        name = gr.Textbox(label="Your name (optional, stored with your votes)", max_lines=1, elem_id="vote-name", scale=0,
                          min_width=280)
    gr.Markdown("### Leaderboard")
    with gr.Row():
        with gr.Column(scale=3):
            board = gr.Dataframe(value=pd.DataFrame(columns=BOARD_COLUMNS), interactive=False, elem_id="vote-board",
                                 label="Contestants, best first")
            summary = gr.Markdown(elem_id="vote-summary")
        matrix = gr.Plot(label="Win-rate matrix", show_label=False, scale=2)
    with gr.Accordion("Export the votes as a preference data set", open=False):
        with gr.Row():
            export_fmt = gr.Radio(list(EXPORT_FORMATS), value="hh", label="Format",
                                  info="hh: chosen/rejected transcripts like hh-rlhf · conversational: TRL's messages")
            export_file_fmt = gr.Radio(list(FILE_FORMATS), value="jsonl", label="File")
            export = gr.Button("Export", elem_id="vote-export")
        export_file = gr.File(label="Download", interactive=False)
        export_msg = gr.Markdown()
    filters = vote_filters.build()
    calibration.build_instructor(cal)
    timer = gr.Timer(3.0)
    controls = [*filters.instructor_controls, *cal.instructor_controls]
    return VoteTab(name, prompt, new_round, regenerate, prompt_view, reply_a, reply_b, buttons, reveal, board,
                   summary, matrix, timer, export_fmt, export_file_fmt, export, export_file, export_msg,
                   gr.State(None), gr.State(None), cal, filters, controls)


def wire(tab: VoteTab, ws: Workspace, demo: gr.Blocks, panel: UnlockPanel) -> None:
    def voter(request: gr.Request | None) -> str:
        return (getattr(request, "session_hash", None) or "api") if request is not None else "api"

    def start_round(typed: str | None, hh_prompt: str | None, request: gr.Request | None):
        try:
            arena = ws.arena
            rnd = arena.new_round(typed if hh_prompt is None else None, voter_id=voter(request), hh_prompt=hh_prompt)
        except ValueError as e:  # ArenaError / VoteError: the user's to fix
            raise error(str(e)) from e
        return rnd

    def round_outputs(rnd, regenerate_ok=True):
        st = {"round_id": rnd.round_id, "prompt": rnd.prompt, "voted": False}
        on = [gr.update(interactive=True) for _ in tab.buttons]
        return (st, prompt_html(rnd.prompt), reply_html("Model A", rnd.reply_a), reply_html("Model B", rnd.reply_b),
                *on, gr.update(interactive=regenerate_ok), "Which reply is better? Names are revealed after your vote.")

    def new_round(typed, request: gr.Request):
        return round_outputs(start_round(typed or None, None, request))

    def regenerate(st, request: gr.Request):
        if not st:
            raise error("Start a round first.")
        return round_outputs(start_round(None, st["prompt"], request))

    def vote(outcome: str):
        def fn(st, name, request: gr.Request):
            if not st:
                raise error("Start a round first.")
            try:
                res = ws.arena.vote(st["round_id"], outcome, voter(request), (name or "").strip()[:60] or None)
            except ValueError as e:
                raise error(str(e)) from e
            st = {**st, "voted": True}
            picked = {"A": f"You preferred **{res.model_a}** (A) over **{res.model_b}** (B).",
                      "B": f"You preferred **{res.model_b}** (B) over **{res.model_a}** (A).",
                      "tie": f"A tie between **{res.model_a}** and **{res.model_b}**.",
                      "both_bad": f"Both **{res.model_a}** and **{res.model_b}** were judged bad."}[outcome]
            off = [gr.update(interactive=False) for _ in tab.buttons]
            rec = ws.votes.get_round(st["round_id"])
            return (st, reply_html("Model A", rec.reply_a, rec.model_a), reply_html("Model B", rec.reply_b, rec.model_b), *off,
                    f"Model A was **{res.model_a}**, model B was **{res.model_b}**. {picked} Thanks! Press *New round* for another.")
        return fn

    def refresh(seen):
        try:
            key = repr(ws.standings.key())  # votes stored, archived, filters: a change of any redraws
        except ValueError as e:
            return seen, gr.update(), f"⚠ {e}", gr.update()
        if key == seen:
            return seen, gr.skip(), gr.skip(), gr.skip()
        st = ws.standings.current()
        return key, board_frame(st["board"]), summary_markdown(st), matrix_plot(st["matrix"])

    def export(fmt, file_fmt):
        try:
            out = download_path(ws.settings.data_dir, f"votes-{fmt}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}.{file_fmt}")
            stats = write_export(ws.votes, out, fmt=fmt, file_format=file_fmt, filters=ws.standings.filters)
        except ValueError as e:
            raise error(str(e)) from e
        filtered = f", and {stats.n_filtered} votes that do not count (vote filters)" if stats.n_filtered else ""
        if stats.n_pairs == 0:
            return None, (f"No preference pairs yet ({stats.n_ties} ties and {stats.n_both_bad} 'both bad' votes are "
                          f"left out: they say nothing about which reply is better{filtered}).")
        return str(out), (f"**{stats.n_pairs} pairs** exported; left out: {stats.n_ties} ties, {stats.n_both_bad} both-bad"
                          f"{filtered}. Load with `datasets.load_dataset(\"json\" or \"parquet\", data_files=...)`.")

    private = dict(api_visibility="private")
    round_out = [tab.state, tab.prompt_view, tab.reply_a, tab.reply_b, *tab.buttons.values(), tab.regenerate, tab.reveal]
    # rounds asked for at the same time are generated together (PolicyGenerator batches them): let a whole class in
    rounds = dict(concurrency_limit=ROUND_CONCURRENCY, concurrency_id="arena-round")
    tab.new_round.click(new_round, [tab.prompt], round_out, **rounds, **private)
    tab.prompt.submit(new_round, [tab.prompt], round_out, **rounds, **private)
    tab.regenerate.click(regenerate, [tab.state], round_out, **rounds, **private)
    for outcome, btn in tab.buttons.items():
        btn.click(vote(outcome), [tab.state, tab.name], [tab.state, tab.reply_a, tab.reply_b, *tab.buttons.values(), tab.reveal],
                  show_progress="hidden", **private)
    refresh_out = [tab.seen, tab.board, tab.summary, tab.matrix]
    tab.timer.tick(refresh, [tab.seen], refresh_out, show_progress="hidden", **private)
    demo.load(refresh, [tab.seen], refresh_out, show_progress="hidden", **private)
    tab.export.click(export, [tab.export_fmt, tab.export_file_fmt], [tab.export_file, tab.export_msg], **private)

    # -- the stable API (documented in the README) ---------------------------------------------
    def arena_round(prompt: str = "", request: gr.Request = None) -> dict:
        """A new battle: two anonymous replies to `prompt` (empty = a prompt drawn from the data)."""
        rnd = start_round(as_text(prompt, "prompt", 20_000, allow_empty=True) or None, None, request)
        return {"round_id": rnd.round_id, "prompt": rnd.prompt, "reply_a": rnd.reply_a, "reply_b": rnd.reply_b}

    def arena_vote(round_id: str, outcome: str, voter_name: str = "", request: gr.Request = None) -> dict:
        """Judge a round: outcome is one of A, B, tie, both_bad. Reveals the two contestants."""
        round_id = as_text(round_id, "round_id", 64)
        outcome = as_text(outcome, "outcome", 20)
        voter_name = as_text(voter_name, "voter_name", 200, allow_empty=True)
        try:
            res = ws.arena.vote(round_id, outcome, voter(request), voter_name.strip()[:60] or None)
        except ValueError as e:
            raise error(str(e)) from e
        return {"round_id": res.round_id, "outcome": res.outcome, "model_a": res.model_a, "model_b": res.model_b,
                "winner": res.winner}

    def leaderboard() -> dict:
        """The current ranking: one row per contestant (rank, elo, bt, ci_low, ci_high, votes, win_rate)."""
        try:
            st = ws.standings.current()
        except ValueError as e:
            raise error(str(e)) from e
        board = st["board"].astype(object).where(st["board"].notna(), None)
        return {"votes": st["votes"], "counted": st["counted"], "filtered": st["report"].as_dict(),
                "rows": board.to_dict(orient="records")}

    gr.api(arena_round, api_name="arena_round", **rounds)
    gr.api(arena_vote, api_name="arena_vote", queue=False)  # a vote is a quick write: no queue round trips
    gr.api(leaderboard, api_name="leaderboard")
    vote_filters.wire(tab.filters, ws, demo, panel)
    calibration.wire(tab.cal, ws, demo, panel, tab.name, tab.timer, voter)
