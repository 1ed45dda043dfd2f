"""The classroom strip at the top of the page: the lesson plan (what happens next), a join panel with the app's
address as a QR code for phones, and the student view (``?view=student``: straight to Vote, big buttons)."""

from __future__ import annotations

import html
import os
from dataclasses import dataclass

import gradio as gr

from rlhf_demo.lesson import LessonState, lesson_steps, next_lesson_step, next_step
from rlhf_demo.workspace import Workspace

STUDENT_JS = """() => {
  if (new URLSearchParams(window.location.search).get('view') === 'student') document.body.classList.add('rl-student');
}"""


@dataclass
class ClassroomPanel:
    data_warning: gr.Markdown  # the active reward model was trained on other data than what is loaded
    next_md: gr.Markdown
    plan_md: gr.Markdown
    join_html: gr.HTML
    timer: gr.Timer
    decoding_md: gr.Markdown  # the measured decoding backend, or the measurement's progress at the first start
    go: gr.Button  # "Go to tab N": opens the tab of the lesson's next step


def lesson_state(ws: Workspace) -> LessonState:
    """What the app holds now, read cheaply (a SQLite count, the registry's list, the PPO view)."""
    snap = ws.jobs.snapshot()
    try:
        votes = ws.votes.count()
    except ValueError:  # an unreadable vote store shows its own error in the Vote tab
        votes = 0
    models = ws.reward.models.list()
    view = ws.ppo.run.view()
    active = ws.calibration.active()
    voters = {(j.voter_id, j.voter_name) for j in ws.calibration.judgements(active.set_id)} if active else set()
    return LessonState(votes=votes, reward_models=len(models), active_reward_model=ws.reward.models.active,
                       ppo_steps=view.step, checkpoints=len(view.checkpoints),
                       job=snap.title if snap.active else "", job_line=snap.status_line() if snap.active else "",
                       calibration_voters=len(voters), before_after_votes=checkpoint_votes(ws, view.checkpoints) if votes else 0,
                       compared=ws.frontier.last() is not None)


def checkpoint_votes(ws: Workspace, checkpoints: list[dict]) -> int:
    """Counted votes in which a saved checkpoint answered (from the cached standings: no extra read per poll)."""
    names = {c["name"] for c in checkpoints}
    if not names:
        return 0
    board = ws.standings.current()["board"]
    return int(board.loc[board["contestant"].isin(names), "votes"].sum()) if len(board) else 0


# the tabs' labels by id, used by ui/app.py to build them and by the lesson line to name them
TAB_NAMES = {"browse": "1 · Browse", "vote": "2 · Vote", "reward": "3 · Reward", "ppo": "4 · PPO", "compare": "5 · Compare"}


def go_button(state: LessonState):
    """The button beside the lesson line: to the tab of the next step (hidden when every step is done)."""
    step = next_lesson_step(state)
    return gr.update(visible=step is not None, value=f"Go to tab {TAB_NAMES[step.tab]}" if step else "")


def plan_markdown(state: LessonState) -> str:
    # plain marks, not emoji: a projector's browser may lack an emoji font (they showed as empty boxes)
    rows = [f"{'✓' if s.done else '○'} **{html.escape(s.title)}**: {html.escape(s.detail)}" for s in lesson_steps(state)]
    return "  \n".join(rows)


def app_url(request: gr.Request | None) -> str:
    """The address students type: the Space's public host, else the host this page was opened on."""
    space = os.environ.get("SPACE_HOST")
    if space:
        return f"https://{space}/"
    headers = getattr(request, "headers", None) or {}
    host = headers.get("x-forwarded-host") or headers.get("host") or "localhost:7860"
    proto = headers.get("x-forwarded-proto") or ("https" if getattr(getattr(request, "request", None), "url", None)
                                                 and str(request.request.url).startswith("https") else "http")
    return f"{proto}://{host}/"


def join_html(url: str) -> str:
    """The student link as a QR code (inline SVG, no image file, no network) and as text."""
    import segno

    student = url + "?view=student"
    svg = segno.make(student, error="m").svg_inline(scale=7, border=2, dark="#111111", light="#ffffff")
    local = "localhost" in url or "127.0.0.1" in url
    hint = ("<br><b>This page was opened on localhost:</b> phones cannot reach that address. Start the app with "
            "<code>--host 0.0.0.0</code> and open it by the machine's network address, or use a Space.") if local else ""
    return (f'<div class="rl-join"><div class="rl-join-qr">{svg}</div><div class="rl-join-text">'
            f'<div class="rl-join-title">Join on your phone</div>'
            f'<a href="{html.escape(student)}" class="rl-join-url">{html.escape(student)}</a>'
            f'<div class="rl-meta">Scan the code: it opens the Vote tab with big buttons. Full app: '
            f'<a href="{html.escape(url)}">{html.escape(url)}</a>{hint}</div></div></div>')


def build(ws: Workspace) -> ClassroomPanel:
    warning = gr.Markdown(visible=False, elem_id="data-warning", elem_classes="rl-data-warning")
    with gr.Row():  # on a phone the button wraps under the line (min widths), never squeezing it
        with gr.Column(scale=4, min_width=320):
            next_md = gr.Markdown(elem_id="lesson-next", elem_classes="rl-lesson-next")
        go = gr.Button("Go", elem_id="lesson-go", size="sm", scale=0, min_width=200, visible=False)
    with gr.Row(elem_classes="rl-classroom"):
        with gr.Accordion("Lesson plan", open=False, elem_id="lesson-plan"):
            plan_md = gr.Markdown()
        with gr.Accordion("Join: QR code for phones", open=False, elem_id="join-panel"):
            join = gr.HTML(elem_id="join-qr")
    decoding_md = gr.Markdown(elem_id="decoding-status", elem_classes="rl-status")
    return ClassroomPanel(warning, next_md, plan_md, join, gr.Timer(5.0), decoding_md, go)


def wire(panel: ClassroomPanel, ws: Workspace, demo: gr.Blocks, tabs: gr.Tabs) -> None:
    private = dict(api_visibility="private", show_progress="hidden")

    def refresh():
        state = lesson_state(ws)
        warning = ws.reward.data_warning()
        return (gr.update(visible=warning is not None, value=f"**Reward model and data differ.** {warning or ''}"),
                f"**{html.escape(next_step(state))}**", plan_markdown(state),
                f"**Decoding:** {html.escape(ws.policy.decoding_status)}", go_button(state))

    def go_next():
        step = next_lesson_step(lesson_state(ws))
        return gr.Tabs(selected=step.tab) if step else gr.skip()

    def on_load(request: gr.Request):
        student = (getattr(request, "query_params", None) or {}).get("view") == "student"
        return (*refresh(), join_html(app_url(request)), gr.Tabs(selected="vote") if student else gr.skip())

    out = [panel.data_warning, panel.next_md, panel.plan_md, panel.decoding_md, panel.go]
    demo.load(on_load, None, [*out, panel.join_html, tabs], js=STUDENT_JS, **private)
    panel.timer.tick(refresh, None, out, **private)
    panel.go.click(go_next, None, [tabs], **private)
