"""The instructor lock in the UI: an unlock field remembered for the browser session, and the guard every locked
handler calls first. The backend rule (which key opens it) is `rlhf_demo.instructor`.

A session's key lives in a ``gr.State``: on the server, never sent to the page. API clients pass ``key`` to each
locked endpoint instead (`/ppo_start`, `/reward_train`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gradio as gr

from rlhf_demo.instructor import LOCKED_MESSAGE, KeyThrottled
from rlhf_demo.workspace import Workspace


def _refused(message: str) -> gr.Error:
    """A refusal: shown to the user, and one log line (rlhf_demo/instructor.py writes it), never a traceback."""
    return gr.Error(message, duration=8, print_exception=False)


def who() -> tuple[str | None, str | None]:
    """(session id, client address) of the request being handled: what key attempts are throttled by. Gradio keeps
    the request of the event in hand in a context variable, so a handler need not declare it."""
    from gradio.context import LocalContext

    request = LocalContext.request.get(None)
    if request is None:
        return None, None
    client = getattr(request, "client", None)
    return getattr(request, "session_hash", None), getattr(client, "host", None)


def check_key(ws: Workspace, key) -> bool:
    """Does `key` open the lock, for the session and address in hand? Raises the throttle's refusal while they must
    wait."""
    try:
        return ws.instructor.attempt(key, *who())
    except KeyThrottled as e:
        raise _refused(str(e)) from None


def require(ws: Workspace, key) -> None:
    """Raise the "instructor only" message unless `key` opens the lock (always open without a key)."""
    if not check_key(ws, key):
        raise _refused(LOCKED_MESSAGE)


def locked(ws: Workspace, fn):
    """`fn` as a UI handler whose FIRST input is the session's key state: refused unless it opens the lock."""
    def handler(key, *args):
        require(ws, key)
        return fn(*args)

    handler.__name__ = getattr(fn, "__name__", "locked")  # no functools.wraps: Gradio must see (key, *args)
    return handler


@dataclass
class UnlockPanel:
    key: gr.State  # the session's key once it was accepted ("" = locked); server-side only
    key_box: gr.Textbox | None = None
    unlock: gr.Button | None = None
    relock: gr.Button | None = None
    status: gr.Markdown | None = None
    controls: list = field(default_factory=list)  # every instructor-only control, greyed out while locked


def status_text(ws: Workspace, unlocked: bool) -> str:
    if not ws.instructor.enabled:
        return "No instructor key is set: everyone can control everything (a local, single-user app)."
    if unlocked:
        return "**Instructor mode** (unlocked) for this browser session: you can start jobs, change settings and models."
    return ("**Locked:** browsing, voting, the live views and the scoring playground are open to everyone; jobs, "
            "settings and models are for the instructor.")


def build(ws: Workspace) -> UnlockPanel:
    """The unlock field (only when a key is set)."""
    state = gr.State("")
    if not ws.instructor.enabled:
        return UnlockPanel(state)
    with gr.Accordion("Instructor", open=False, elem_id="instructor-panel"):
        status = gr.Markdown(status_text(ws, False), elem_id="instructor-status")
        with gr.Row(equal_height=True):
            box = gr.Textbox(label="Instructor key", type="password", max_lines=1, scale=3, elem_id="instructor-key")
            unlock = gr.Button("Unlock", variant="primary", scale=1, elem_id="instructor-unlock")
            relock = gr.Button("Lock", scale=1, elem_id="instructor-lock")
    return UnlockPanel(state, box, unlock, relock, status)


def wire(panel: UnlockPanel, ws: Workspace) -> None:
    """Unlock / lock buttons, and the controls' locked look as the page opens. Call after every tab added its
    controls."""
    if not ws.instructor.enabled:
        return
    private = dict(api_visibility="private", show_progress="hidden")

    opened, shut = looks(panel.controls, unlocked=True), looks(panel.controls, unlocked=False)  # from the built looks

    def unlock(typed):
        if not check_key(ws, typed):
            raise _refused("That is not the instructor key.")
        return typed, "", status_text(ws, True), *[dict(u) for u in opened]

    def relock():
        return "", "", status_text(ws, False), *[dict(u) for u in shut]

    out = [panel.key, panel.key_box, panel.status, *panel.controls]
    panel.unlock.click(unlock, [panel.key_box], out, **private)
    panel.key_box.submit(unlock, [panel.key_box], out, **private)
    panel.relock.click(relock, None, out, **private)
    # A page opens locked (a new session's key is ""): the locked look is the page's own, not a load event's, which
    # could land after a quick unlock and grey the controls out again (CI saw it: "Unlocked", every control disabled).
    for control, look in zip(panel.controls, shut):
        for name, value in look.items():
            if name != "__type__":
                setattr(control, name, value)


LOCKED_LABEL = " · instructor only"
LOCKED_INFO = "the instructor runs this"


def takes_info(control) -> bool:
    """Does the component show an info line under its label (a slider, a number, a box, a dropdown)?"""
    import inspect

    return not isinstance(control, gr.Button) and "info" in inspect.signature(type(control).__init__).parameters


def locked_info(info) -> str:
    """A locked control's info line: its own, then why it is grey."""
    return f"{info} · {LOCKED_INFO}" if info else LOCKED_INFO


def looks(controls: list, unlocked: bool) -> list:
    """Each control greyed out or not; a locked one also says why, so a student knows it is not broken: a button in
    its label ("Start · instructor only"), any other control in its info line ("the instructor runs this")."""
    def look(c):
        if isinstance(c, gr.Button):
            return gr.update(interactive=unlocked, value=f"{c.value}{'' if unlocked else LOCKED_LABEL}")
        if takes_info(c):
            return gr.update(interactive=unlocked, info=(c.info or "") if unlocked else locked_info(c.info))
        return gr.update(interactive=unlocked)

    return [look(c) for c in controls]
