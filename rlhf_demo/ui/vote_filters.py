"""Vote tab, hygiene part: the instructor's vote filters and "Reset votes" (locked), and their API endpoints.

The rules themselves are `arena/hygiene.py` (pure); the settings persist as JSON under the data dir
(`arena/standings.py`, `Workspace.standings`). A reset archives the votes (`VoteStore.archive_votes`): they stop
counting, nothing is deleted. What the messages say is `vote_view.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import gradio as gr

from rlhf_demo.arena.hygiene import LIMITS_TEXT, VoteFilters
from rlhf_demo.settings import shorten
from rlhf_demo.ui.common import as_int, as_number, error
from rlhf_demo.ui.instructor import UnlockPanel, locked, require
from rlhf_demo.ui.vote_view import applied_markdown, archived_markdown, confirm_reset_markdown
from rlhf_demo.workspace import Workspace

FILTERS_TEXT = """Every vote is stored; these rules decide which ones **count** (leaderboard, export, reward-model data), as
Chatbot Arena does. A voter is a browser session: the name typed in it is a label and does not make a new voter.
Changes apply at once and can be undone."""


@dataclass
class FilterControls:
    cap: gr.Number
    min_seconds: gr.Number
    outliers: gr.Checkbox
    save: gr.Button
    reset: gr.Button
    confirm_row: gr.Row
    confirm: gr.Button
    cancel: gr.Button
    message: gr.Markdown

    @property
    def instructor_controls(self) -> list:
        return [self.cap, self.min_seconds, self.outliers, self.save, self.reset, self.confirm]


def build() -> FilterControls:
    with gr.Accordion("Vote filters (instructor)", open=False, elem_id="vote-filters"):
        gr.Markdown(FILTERS_TEXT)
        gr.Markdown(LIMITS_TEXT, elem_id="vote-filter-limits")
        d = VoteFilters()
        with gr.Row(equal_height=True):
            cap = gr.Number(d.cap_per_hour, label="Votes per voter per hour (0 = no cap)", precision=0, minimum=0,
                            elem_id="vote-filter-cap", min_width=160)
            min_seconds = gr.Number(d.min_seconds, label="Min. seconds to read a round before its vote", minimum=0,
                                    elem_id="vote-filter-seconds", min_width=160)
            outliers = gr.Checkbox(d.outliers, label=f"Drop voters who pick the same side ≥ {100 * d.outlier_side_share:.0f} "
                                   f"% of ≥ {d.outlier_min_votes} votes", elem_id="vote-filter-outliers")
        with gr.Row():
            save = gr.Button("Apply filters", variant="primary", elem_id="vote-filter-save")
            reset = gr.Button("Reset votes…", variant="stop", elem_id="vote-reset")
        with gr.Row(visible=False) as confirm_row:
            confirm = gr.Button("Yes, archive all votes", variant="stop", elem_id="vote-reset-confirm")
            cancel = gr.Button("Cancel", elem_id="vote-reset-cancel")
        message = gr.Markdown(elem_id="vote-filter-message")
    return FilterControls(cap, min_seconds, outliers, save, reset, confirm_row, confirm, cancel, message)


# ----------------------------------------------------------------------------- the actions


def set_filters(ws: Workspace, cap, min_seconds, outliers) -> dict:
    """Save new filters (the outlier rule's thresholds stay); -> the filters and what they filter now."""
    cap = as_int(cap, "cap_per_hour", 0, 100_000)
    min_seconds = as_number(min_seconds, "min_seconds", 0, 3600)
    if not isinstance(outliers, bool):
        raise error(f"outliers must be true or false, got {shorten(outliers)}")
    old = ws.standings.filters
    try:
        new = VoteFilters(cap, min_seconds, outliers, old.outlier_min_votes, old.outlier_side_share)
        ws.standings.set_filters(new)
    except (ValueError, OSError) as e:
        raise error(f"Could not save the vote filters: {e}") from e
    st = ws.standings.current()
    return {"filters": new.as_dict(), "report": st["report"].as_dict()}


def reset(ws: Workspace) -> dict:
    n = ws.votes.archive_votes()
    return {"archived": n, "message": archived_markdown(n)}


def shown_filters(ws: Workspace) -> tuple:
    f = ws.standings.filters
    return f.cap_per_hour, f.min_seconds, f.outliers


# ----------------------------------------------------------------------------- wiring


def wire(fc: FilterControls, ws: Workspace, demo: gr.Blocks, panel: UnlockPanel) -> None:
    def on_save(cap, min_seconds, outliers):
        return applied_markdown(set_filters(ws, cap, min_seconds, outliers)["report"])

    private = dict(api_visibility="private", show_progress="hidden")
    fc.save.click(locked(ws, on_save), [panel.key, fc.cap, fc.min_seconds, fc.outliers], [fc.message], **private)
    fc.reset.click(locked(ws, lambda: (gr.update(visible=True), confirm_reset_markdown(ws.votes.count()))),
                   [panel.key], [fc.confirm_row, fc.message], **private)
    fc.confirm.click(locked(ws, lambda: (gr.update(visible=False), reset(ws)["message"])), [panel.key],
                     [fc.confirm_row, fc.message], **private)
    fc.cancel.click(lambda: (gr.update(visible=False), "Nothing was changed."), None, [fc.confirm_row, fc.message],
                    **private)
    demo.load(partial(shown_filters, ws), None, [fc.cap, fc.min_seconds, fc.outliers], **private)
    api(ws)


def api(ws: Workspace) -> None:
    """The stable API (documented in the README): instructor actions, the key first."""

    def vote_filters(key: str, cap_per_hour: int, min_seconds: float, outliers: bool) -> dict:
        """Instructor: which votes count. cap_per_hour (0 = none), min_seconds from a round shown to its vote (0 =
        off), outliers: drop voters who always pick the same side. Returns the filters and what they filter."""
        require(ws, key)
        return set_filters(ws, cap_per_hour, min_seconds, outliers)

    def votes_reset(key: str) -> dict:
        """Instructor: archive every current vote (they stop counting; nothing is deleted)."""
        require(ws, key)
        return reset(ws)

    gr.api(vote_filters, api_name="vote_filters")
    gr.api(votes_reset, api_name="votes_reset")
