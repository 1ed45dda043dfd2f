"""Small UI helpers shared by the tabs: chat rendering, CSS, errors."""

from __future__ import annotations

import html
from typing import Iterable

import gradio as gr

from rlhf_demo.data.browse import Span
from rlhf_demo.data.hh import Turn
from rlhf_demo.settings import shorten

CSS = """
.rl-intro {font-size: 0.95rem; opacity: 0.9}
.rl-status {font-size: 0.85rem; opacity: 0.85}
.rl-conv {display: flex; flex-direction: column; gap: 6px; margin-bottom: 10px}
.rl-turn {padding: 8px 12px; border-radius: 10px; max-width: 92%; line-height: 1.45; white-space: normal}
.rl-turn .rl-role {font-weight: 600; font-size: 0.75rem; text-transform: uppercase; letter-spacing: .04em; opacity: .7; display: block}
.rl-human {align-self: flex-end; background: var(--color-accent-soft); border: 1px solid var(--border-color-accent-subdued)}
.rl-assistant {align-self: flex-start; background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary)}
.rl-finals {display: grid; grid-template-columns: 1fr 1fr; gap: 12px}
@media (max-width: 720px) {.rl-finals {grid-template-columns: 1fr}}
.rl-final {padding: 10px 12px; border-radius: 10px; border: 2px solid var(--border-color-primary); line-height: 1.45}
.rl-final h4 {margin: 0 0 6px 0; font-size: 0.9rem}
.rl-chosen {border-color: #2e9d5b}
.rl-better {border-color: #2e9d5b}
.rl-worse {border-color: #d0563b}
.rl-rejected {border-color: #d0563b}
.rl-final mark {background: rgba(255, 200, 0, 0.35); color: inherit; border-radius: 3px; padding: 0 1px}
.rl-badge {color: white; border-radius: 4px; padding: 1px 6px; font-size: 0.75rem; letter-spacing: .05em}
.rl-badge-chosen {background: #2e9d5b}
.rl-badge-rejected {background: #d0563b}
.rl-meta {font-size: 0.8rem; opacity: 0.75; margin-top: 6px}
.rl-warning {border: 2px solid #d0563b; border-radius: 12px; padding: 14px 18px}
.rl-empty {padding: 24px; text-align: center; opacity: 0.7}
.rl-browse-verdict {margin-top: 12px; padding: 12px 16px; border-radius: 10px; border: 2px solid; font-size: 1.3rem; line-height: 1.4}
.rl-browse-yes {border-color: #2e9d5b; background: rgba(46, 157, 91, 0.08)}
.rl-browse-no {border-color: #d0563b; background: rgba(208, 86, 59, 0.10)}
.rl-browse-verdict-scores {font-size: 1.05rem; margin-top: 4px}
.rl-browse-disagree {min-width: 300px}
.rl-browse-job {font-size: 1rem; align-self: center}
/* Vote tab: the calibration panel (every student judges the same items) and the vote filters */
.rl-cal {border: 2px solid var(--color-accent); border-radius: 12px; padding: 10px 12px}
.rl-cal-btn {min-height: 56px; font-size: 1.15rem}
.rl-cal-lesson {font-size: 0.95rem}
#cal-chart img {object-fit: contain}
/* classroom: the next step in large type, the join QR code, the student view (?view=student) */
.rl-lesson-next {font-size: 1.15rem}
.rl-join {display: flex; flex-wrap: wrap; gap: 18px; align-items: center}
.rl-data-warning {border-left: 5px solid #d0563b; padding-left: 12px}
.rl-join-title {font-size: 1.6rem; font-weight: 700}
.rl-join-url {font-size: 1.3rem; word-break: break-all}
body.rl-student #vote-a, body.rl-student #vote-b, body.rl-student #vote-tie, body.rl-student #vote-both-bad
  {min-height: 72px; font-size: 1.3rem}
body.rl-student #vote-new {min-height: 60px; font-size: 1.2rem}
/* a student's phone: straight to the vote (no lesson plan, join panel, instructor field or header details) */
body.rl-student #rl-header p, body.rl-student #lesson-next, body.rl-student #lesson-go, body.rl-student .rl-classroom,
body.rl-student #instructor-panel, body.rl-student #decoding-status {display: none}
/* the student view (?view=student) hides what only the instructor runs: vote filters, the calibration set editor,
   the training controls of tabs 3-5 (rows and columns marked rl-instructor; PPO's settings column by what it holds) */
body.rl-student .rl-instructor, body.rl-student #vote-filters, body.rl-student #cal-instructor,
body.rl-student #ppo-resume, body.rl-student #ppo-discard,
body.rl-student #rl-tabs .column:has(#ppo-start):not(:has(#ppo-status)) {display: none !important}
/* what the instructor sees and a student does not: the start-up flags under the data line */
body.rl-student .rl-for-instructor, body:not(.rl-student) .rl-for-student {display: none}
/* plots take the width they are given (never more than their own); tables scroll sideways instead of squeezing their columns */
#rl-tabs [data-testid=matplotlib] {width: 100%}
#rl-tabs [data-testid=matplotlib] img {max-width: 100%}
#rl-tabs .table-wrap, #rl-tabs .table-container {overflow-x: auto; max-width: 100%}
/* phones (under 640 px): every row stacks, each child takes the full width (a table beside its plot was a column of
   one letter per line); rows that hold only buttons keep them side by side (they wrap at Gradio's 160 px) */
@media (max-width: 640px) {
  .row:has(> :not(button)) > *, .row:has(> :not(button)) > .form > * {min-width: 100% !important; flex: 1 1 100% !important}
  #rl-main .prose table {display: block; overflow-x: auto; max-width: 100%}
  /* figures of two panels and more: at 366 px their labels were 5 px tall; at 720 px they read, and the plot
     scrolls sideways inside its full-width box */
  #ppo-more-plots [data-testid=matplotlib], #cmp-dpo-plot [data-testid=matplotlib],
  #cmp-frontier-plot [data-testid=matplotlib] {overflow-x: auto; align-items: flex-start}
  #ppo-more-plots [data-testid=matplotlib] img,
  #cmp-dpo-plot [data-testid=matplotlib] img, #cmp-frontier-plot [data-testid=matplotlib] img {min-width: 720px}
  #ppo-more-plots::after, #cmp-dpo-plot::after,
  #cmp-frontier-plot::after {content: "swipe the plot sideways to see all of it"; display: block; text-align: center;
    font-size: 0.8rem; opacity: 0.7}
}
/* phones: all five tabs fit in 390 px (Gradio moves tabs that do not fit under "...", where nobody finds them);
   the rule applies to the hidden copy Gradio measures too */
@media (max-width: 720px) {
  #rl-tabs .tab-container button {padding-left: 3px; padding-right: 3px; font-size: 0.8rem; letter-spacing: -0.01em}
  .rl-turn, .rl-final {font-size: 1rem}
}
"""


# Gradio scopes `CSS` to the inside of its container; the page margin around it can only be set from <head>.
# Phones: 12 px instead of 32 px on each side, so the five tabs fit in 390 px.
HEAD = ("<style>@media (max-width: 720px) {.gradio-container .main.fillable.app "
        "{padding-left: 12px !important; padding-right: 12px !important}}</style>")


def esc(text: str) -> str:
    """Escape user/data text for HTML and keep its line breaks."""
    return html.escape(text).replace("\n", "<br>")


def turns_html(turns: Iterable[Turn]) -> str:
    parts = []
    for t in turns:
        cls = "rl-human" if t.role == "Human" else "rl-assistant"
        parts.append(f'<div class="rl-turn {cls}"><span class="rl-role">{t.role}</span>{esc(t.text) or "<i>(empty)</i>"}</div>')
    return f'<div class="rl-conv">{"".join(parts)}</div>' if parts else ""


def spans_html(spans: list[Span]) -> str:
    out = []
    for s in spans:
        out.append(f"<mark>{esc(s.text)}</mark>" if s.changed and s.text.strip() else esc(s.text))
    return "".join(out) or "<i>(empty reply)</i>"


def voter(request: gr.Request | None) -> str:
    """Who votes or judges: the browser session (a name typed in it is only a label); "api" for a call without one."""
    return (getattr(request, "session_hash", None) or "api") if request is not None else "api"


def error(message: str) -> gr.Error:
    """A clear message for the user (never a stack trace)."""
    return gr.Error(message, duration=8)


def as_number(value, field: str, lo: float | None = None, hi: float | None = None, whole: bool = False) -> float:
    """A finite number from the UI or the API, in [lo, hi] when given, else a gr.Error naming the field (NaN, inf,
    text, a dict or a bool are refused). `whole`: it must be a whole number (3.0 is fine)."""
    import math

    kind = "a whole number" if whole else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise error(f"{field} must be {kind}, got {shorten(value)}")
    try:
        number = float(value)
    except ValueError:
        raise error(f"{field} must be {kind}, got {shorten(value)}") from None
    if not math.isfinite(number) or (whole and number != int(number)):
        raise error(f"{field} must be {kind}, got {shorten(value)}")
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise error(f"{field} must be between {lo:,g} and {hi:,g}, got {number:,g}")
    return number


def as_int(value, field: str, lo: int, hi: int) -> int:
    """An integer from the UI or the API in [lo, hi], else a gr.Error naming the field (3.0 is 3)."""
    return int(as_number(value, field, lo, hi, whole=True))


def as_text(value, field: str, max_chars: int, allow_empty: bool = False) -> str:
    """Text from the UI or the API (None = empty), at most `max_chars`, else a gr.Error naming the field."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise error(f"{field} must be text, got {type(value).__name__} {shorten(value)}")
    if not allow_empty and not value.strip():
        raise error(f"{field} is empty")
    if len(value) > max_chars:
        raise error(f"{field} is too long ({len(value):,} characters; at most {max_chars:,})")
    return value


def user_errors(action, *args, **kwargs):
    """`action(*args, **kwargs)` of a service, with what the user can fix (a ValueError, a job already running, a
    missing file) shown as a clear message, never a stack trace. A storage failure (a full disk, a read-only folder)
    passes on to `guards.explain_storage_errors`, which says what happened to the data folder."""
    from rlhf_demo.jobs import JobBusy
    from rlhf_demo.storage import storage_problem

    try:
        return action(*args, **kwargs)
    except (ValueError, OSError, JobBusy) as e:
        if isinstance(e, OSError) and storage_problem(e) is not None:
            raise
        raise error(str(e)[:600]) from e
