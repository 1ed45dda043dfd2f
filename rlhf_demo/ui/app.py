"""The Gradio app: header, content warning, one tab per RLHF stage.

Every tab module exposes ``build(ws)`` (layout) and ``wire(...)`` (events). All tabs are built
first, then wired, so one tab's events can update another's components.
"""

from __future__ import annotations

import gradio as gr

from rlhf_demo.storage import storage_message
from rlhf_demo.ui import browse, classroom, compare, instructor, ppo, reward, vote
from rlhf_demo.ui.common import CSS, HEAD
from rlhf_demo.ui.guards import UploadGuard, explain_storage_errors
from rlhf_demo.workspace import Workspace

TITLE = "RLHF Playground"

WARNING = """### ⚠️ Content warning
The Anthropic **hh-rlhf** data used here contains offensive and upsetting text **by design**: it was collected
to teach models what *not* to say (harmful requests, insults, dangerous advice). Read it as teaching material.
Continue only if you are fine seeing such text."""

# the instructor reads where the data comes from and how to change it; a student's phone (?view=student) shows one
# short sentence instead (CSS: .rl-for-instructor / .rl-for-student in ui/common.py)
BUNDLED_NOTE = ("<span class='rl-for-instructor'>Using the **bundled offline set**: benign conversations written by this "
                "project in the hh-rlhf format. A few prompts ask for something harmful (never in graphic detail), and "
                "the assistant politely refuses. Start with <code>--data PATH</code> or with Hub access to use the "
                "real hh-rlhf data.</span><span class='rl-for-student'>The conversations here are harmless practice "
                "examples written for this app.</span>")


def header_markdown(ws: Workspace) -> str:
    d = ws.describe()
    notes = [n for n in (d["data_note"], d["policy_note"]) if n]
    tail = f"  \n*{' · '.join(notes)}*" if notes else ""
    weights = f" (weights: {d['policy_weights']})" if d["policy_weights"] else ""
    storage = (f"\n\n<span class='rl-data-warning' id='rl-storage-problem'>⚠️ **Nothing can be saved:** "
               f"{storage_message(d['storage_problem'])} Browsing works; voting and training do not.</span>"
               if d.get("storage_problem") else "")
    return (f"# {TITLE}\nLearn Reinforcement Learning from Human Feedback by doing it: browse human preferences, vote, "
            f"train a reward model, and watch PPO change a policy.\n\n"
            f"<span class='rl-status'>**Data:** {d['data']} · **Policy:** {d['policy']}{weights} · "
            f"**Reward backbone:** {d['reward_backbone']}{tail}</span>{storage}")


MAX_UPLOAD = "2mb"  # the app takes no files from visitors: nothing should need more


def build_app(ws: Workspace) -> gr.Blocks:
    """The whole app for one Workspace."""
    needs_warning = ws.data.source.kind != "bundled"
    # delete_cache: every 10 minutes, files Gradio cached for a visitor (uploads, exports) older than an hour go
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(600, 3600)) as demo:
        gr.Markdown(header_markdown(ws), elem_id="rl-header")
        panel = instructor.build(ws)  # the instructor's unlock field (only when a key is set)
        lesson = classroom.build(ws)  # what happens next, and the join QR code
        with gr.Column(visible=needs_warning, elem_classes="rl-warning", elem_id="content-warning") as gate:
            gr.Markdown(WARNING)
            ack = gr.Button("I understand, show the data", variant="primary", elem_id="ack-warning")
        with gr.Column(visible=not needs_warning, elem_id="rl-main") as main:
            if not needs_warning:
                gr.Markdown(BUNDLED_NOTE, elem_classes="rl-status")
            with gr.Tabs(elem_id="rl-tabs") as tabs:
                with gr.Tab(classroom.TAB_NAMES["browse"], id="browse"):
                    browse_tab = browse.build(ws)
                with gr.Tab(classroom.TAB_NAMES["vote"], id="vote"):
                    vote_tab = vote.build(ws)
                with gr.Tab(classroom.TAB_NAMES["reward"], id="reward"):
                    reward_tab = reward.build(ws)
                with gr.Tab(classroom.TAB_NAMES["ppo"], id="ppo"):
                    ppo_tab = ppo.build(ws)
                with gr.Tab(classroom.TAB_NAMES["compare"], id="compare"):
                    compare_tab = compare.build(ws)
        # -- wiring (after everything is built) --
        ack.click(lambda: (gr.update(visible=False), gr.update(visible=True)), None, [gate, main],
                  api_visibility="private", show_progress="hidden")
        for tab in (browse_tab, vote_tab, reward_tab, ppo_tab, compare_tab):
            panel.controls.extend(getattr(tab, "instructor_controls", []))
        browse.wire(browse_tab, ws, demo, panel)
        vote.wire(vote_tab, ws, demo, panel)
        reward.wire(reward_tab, ws, demo, panel)
        ppo.wire(ppo_tab, ws, demo, panel)
        compare.wire(compare_tab, ws, demo, panel)
        instructor.wire(panel, ws)
        classroom.wire(lesson, ws, demo, tabs)
    for block_fn in demo.fns.values():  # every handler, UI and API alike: storage errors say what happened
        if block_fn.fn is not None and block_fn.renderable is None:
            block_fn.fn = explain_storage_errors(ws, block_fn.fn)
    return demo


def launch_kwargs() -> dict:
    """Arguments for ``demo.launch`` that belong to the look of the app (Gradio 6 takes them there), and the guard of
    its upload route (`UploadGuard`)."""
    from starlette.middleware import Middleware

    return {"css": CSS, "head": HEAD, "theme": gr.themes.Soft(), "footer_links": ["api", "gradio"],
            "max_file_size": MAX_UPLOAD,  # /gradio_api/upload refuses anything larger
            "app_kwargs": {"middleware": [Middleware(UploadGuard)]}}
