"""Vote tab: an anonymous arena. Two models answer, you pick the better reply, the class builds a ranking.

`build` lays the tab out, `wire` connects its events to the actions below, each a call into the arena
(`arena/arena.py`: rounds and votes), the standings (`arena/standings.py`) or the export (`arena/export.py`), whose
answer `vote_view.py` draws. The instructor's vote filters are `vote_filters.py`, the calibration panel
`calibration.py`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from functools import partial

import gradio as gr
import pandas as pd

from rlhf_demo.arena.export import EXPORT_FORMATS, FILE_FORMATS, write_export
from rlhf_demo.arena.votes import OUTCOMES
from rlhf_demo.storage import download_path
from rlhf_demo.ui import calibration, vote_filters
from rlhf_demo.ui.common import as_text, error, voter
from rlhf_demo.ui.instructor import UnlockPanel
from rlhf_demo.ui.vote_view import (
    ASK,
    BOARD_COLUMNS,
    MORE_TEXT,
    before_after_data,
    before_after_markdown,
    before_after_pair,
    board_frame,
    cut_at,
    export_markdown,
    matrix_plot,
    prompt_html,
    reply_html,
    reveal_markdown,
    summary_markdown,
)
from rlhf_demo.workspace import Workspace

INTRO = """**Step 2 · Collect preferences.** This is how preference data is made: two anonymous models answer the
same prompt and you say which reply is better. Your votes are stored, ranked below, and can train the reward model
in tab 3, exactly like the human labels in hh-rlhf. The models are the base model and the versions trained in the
next tabs."""

VOTE_LABELS = {"A": "A is better", "B": "B is better", "tie": "Tie", "both_bad": "Both are bad"}


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
    before_after: gr.Markdown  # the newest PPO checkpoint against the base, head to head
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


# ----------------------------------------------------------------------------- building


def build(ws: Workspace) -> VoteTab:
    gr.Markdown(INTRO, elem_classes="rl-intro", elem_id="vote-intro")
    with gr.Accordion("More", open=False, elem_id="vote-more"):  # instructor-level detail
        gr.Markdown(f"**The contestants** are **{ws.policy_choice.label()}** sampled at two temperatures, "
                    "**base + best-of-8** (8 replies, the active reward model keeps the best: 8× the inference) once a "
                    "reward model is active, plus every PPO checkpoint saved in tab 4 and every DPO adapter trained in "
                    f"tab 5.\n\n{MORE_TEXT}")
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
    before_after = gr.Markdown(before_after_markdown(None, None), elem_id="vote-before-after")
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
                   summary, before_after, matrix, timer, export_fmt, export_file_fmt, export, export_file, export_msg,
                   gr.State(None), gr.State(None), cal, filters, controls)


# ----------------------------------------------------------------------------- the actions


def start_round(ws: Workspace, typed: str | None, hh_prompt: str | None, request: gr.Request | None):
    """A new round: two anonymous replies to `typed` (a question) or `hh_prompt` (a prompt again), None: drawn."""
    try:
        return ws.arena.new_round(typed if hh_prompt is None else None, voter_id=voter(request), hh_prompt=hh_prompt)
    except ValueError as e:  # ArenaError / VoteError: the user's to fix
        raise error(str(e)) from e


def round_outputs(rnd, regenerate_ok: bool = True) -> tuple:
    """(state, prompt, reply A, reply B, the vote buttons on, Regenerate, the question)."""
    st = {"round_id": rnd.round_id, "prompt": rnd.prompt, "voted": False}
    on = [gr.update(interactive=True) for _ in OUTCOMES]
    limit = rnd.max_new_tokens
    return (st, prompt_html(rnd.prompt), reply_html("Model A", rnd.reply_a, cut_at=limit if rnd.cut_a else None),
            reply_html("Model B", rnd.reply_b, cut_at=limit if rnd.cut_b else None),
            *on, gr.update(interactive=regenerate_ok), ASK)


def new_round(ws: Workspace, typed, request: gr.Request | None) -> tuple:
    return round_outputs(start_round(ws, typed or None, None, request))


def regenerate(ws: Workspace, st, request: gr.Request | None) -> tuple:
    if not st:
        raise error("Start a round first.")
    return round_outputs(start_round(ws, None, st["prompt"], request))


def cast(ws: Workspace, round_id: str, outcome: str, name: str, request: gr.Request | None):
    """A vote on a round (a name is a label, at most 60 characters): the arena's `VoteResult` reveals A and B."""
    try:
        return ws.arena.vote(round_id, outcome, voter(request), name.strip()[:60] or None)
    except ValueError as e:
        raise error(str(e)) from e


def vote(ws: Workspace, outcome: str, st, name, request: gr.Request | None) -> tuple:
    """(state, reply A and B with their names, the vote buttons off, who was who)."""
    if not st:
        raise error("Start a round first.")
    res = cast(ws, st["round_id"], outcome, name or "", request)
    off = [gr.update(interactive=False) for _ in OUTCOMES]
    rec = ws.votes.get_round(st["round_id"])
    return ({**st, "voted": True}, reply_html("Model A", rec.reply_a, rec.model_a, cut_at(rec.settings, "a")),
            reply_html("Model B", rec.reply_b, rec.model_b, cut_at(rec.settings, "b")), *off, reveal_markdown(res, outcome))


def before_after(ws: Workspace) -> tuple:
    """(base, newest PPO checkpoint) or None, and their head-to-head in the counted votes (None without a pair)."""
    pair = before_after_pair(ws.ppo.run.checkpoints(), ws.contestants.list())
    return pair, (ws.standings.head_to_head(*pair) if pair else None)


def refresh(ws: Workspace, seen) -> tuple:
    """(seen, board, summary, before vs after, matrix): redrawn only when the votes stored, archived, the filters or
    the newest checkpoint changed."""
    try:
        key = repr((ws.standings.key(), before_after_pair(ws.ppo.run.checkpoints(), ws.contestants.list())))
    except ValueError as e:
        return seen, gr.update(), f"⚠ {e}", gr.update(), gr.update()
    if key == seen:
        return seen, gr.skip(), gr.skip(), gr.skip(), gr.skip()
    st = ws.standings.current()
    return (key, board_frame(st["board"]), summary_markdown(st), before_after_markdown(*before_after(ws)),
            matrix_plot(st["matrix"]))


def export(ws: Workspace, fmt, file_fmt) -> tuple:
    """(the file to download or None, what was exported)."""
    try:
        name = f"votes-{fmt}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}.{file_fmt}"
        out = download_path(ws.settings.data_dir, name)
        stats = write_export(ws.votes, out, fmt=fmt, file_format=file_fmt, filters=ws.standings.filters)
    except ValueError as e:
        raise error(str(e)) from e
    return (str(out) if stats.n_pairs else None), export_markdown(stats)


def standings_table(ws: Workspace) -> dict:
    """The ranking as plain data (NaN as None): votes stored and counted, what the filters took out, the rows."""
    try:
        st = ws.standings.current()
    except ValueError as e:
        raise error(str(e)) from e
    board = st["board"].astype(object).where(st["board"].notna(), None)
    return {"votes": st["votes"], "counted": st["counted"], "filtered": st["report"].as_dict(),
            "rows": board.to_dict(orient="records"), "before_after": before_after_data(*before_after(ws))}


# ----------------------------------------------------------------------------- wiring


def wire(tab: VoteTab, ws: Workspace, demo: gr.Blocks, panel: UnlockPanel) -> None:
    def on_new_round(typed, request: gr.Request):
        return new_round(ws, typed, request)

    def on_regenerate(st, request: gr.Request):
        return regenerate(ws, st, request)

    def on_vote(outcome: str):
        def fn(st, name, request: gr.Request):
            return vote(ws, outcome, st, name, request)
        return fn

    private = dict(api_visibility="private")
    round_out = [tab.state, tab.prompt_view, tab.reply_a, tab.reply_b, *tab.buttons.values(), tab.regenerate, tab.reveal]
    # rounds asked for at the same time are generated together (PolicyGenerator batches them): let a whole class in
    rounds = dict(concurrency_limit=ROUND_CONCURRENCY, concurrency_id="arena-round")
    tab.new_round.click(on_new_round, [tab.prompt], round_out, **rounds, **private)
    tab.prompt.submit(on_new_round, [tab.prompt], round_out, **rounds, **private)
    tab.regenerate.click(on_regenerate, [tab.state], round_out, **rounds, **private)
    voted = [tab.state, tab.reply_a, tab.reply_b, *tab.buttons.values(), tab.reveal]
    for outcome, btn in tab.buttons.items():
        btn.click(on_vote(outcome), [tab.state, tab.name], voted, show_progress="hidden", **private)
    refresh_out = [tab.seen, tab.board, tab.summary, tab.before_after, tab.matrix]
    tab.timer.tick(partial(refresh, ws), [tab.seen], refresh_out, show_progress="hidden", **private)
    demo.load(partial(refresh, ws), [tab.seen], refresh_out, show_progress="hidden", **private)
    tab.export.click(partial(export, ws), [tab.export_fmt, tab.export_file_fmt], [tab.export_file, tab.export_msg], **private)
    api(ws, rounds)
    vote_filters.wire(tab.filters, ws, demo, panel)
    calibration.wire(tab.cal, ws, demo, panel, tab.name, tab.timer)


def api(ws: Workspace, rounds: dict) -> None:
    """The stable API (documented in the README). rounds: the queue settings of a round."""

    def arena_round(prompt: str = "", request: gr.Request = None) -> dict:
        """A new battle: two anonymous replies to `prompt` (empty = a prompt drawn from the data)."""
        rnd = start_round(ws, as_text(prompt, "prompt", 20_000, allow_empty=True) or None, None, request)
        return {"round_id": rnd.round_id, "prompt": rnd.prompt, "reply_a": rnd.reply_a, "reply_b": rnd.reply_b,
                "cut_a": rnd.cut_a, "cut_b": rnd.cut_b}

    def arena_vote(round_id: str, outcome: str, voter_name: str = "", request: gr.Request = None) -> dict:
        """Judge a round: outcome is one of A, B, tie, both_bad. Reveals the two contestants."""
        res = cast(ws, as_text(round_id, "round_id", 64), as_text(outcome, "outcome", 20),
                   as_text(voter_name, "voter_name", 200, allow_empty=True), request)
        return {"round_id": res.round_id, "outcome": res.outcome, "model_a": res.model_a, "model_b": res.model_b,
                "winner": res.winner}

    def leaderboard() -> dict:
        """The current ranking: one row per contestant (rank, elo, bt, ci_low, ci_high, votes, win_rate), and the
        newest PPO checkpoint against the base ("before_after": a, b, wins_a, wins_b, ties, n, rate_b, low, high,
        confidence, verdict; None before the first checkpoint)."""
        return standings_table(ws)

    gr.api(arena_round, api_name="arena_round", **rounds)
    gr.api(arena_vote, api_name="arena_vote", queue=False)  # a vote is a quick write: no queue round trips
    gr.api(leaderboard, api_name="leaderboard")
