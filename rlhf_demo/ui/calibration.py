"""Vote tab, calibration part: every student judges the same fixed items; the class sees how much it agrees.

Built inside the Vote tab (`vote.py` calls `build_panel`, `build_instructor` and `wire`). The store and the
statistics are `arena/calibration.py` and `arena/agreement.py`; what the panel draws is `calibration_view.py`; the
actions below connect them.

Cheap polling: each browser's timer tick asks for (active set id, number of judgements), one indexed query, and
redraws nothing when it has not changed. The statistics and the chart are computed once per change for all
browsers (`SharedStats`), and the chart is one PNG file that every browser receives.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from rlhf_demo.arena.calibration import K_DEFAULT, K_MAX, K_MIN, CalibrationSet, calibration_stats, draw_items
from rlhf_demo.data.hh import prompt_turns
from rlhf_demo.storage import download_path
from rlhf_demo.ui.calibration_view import (
    HUMAN_AGREEMENT,
    chart,
    chart_bars,
    done_markdown,
    ended_markdown,
    item_html,
    progress_markdown,
    started_markdown,
    stats_markdown,
)
from rlhf_demo.ui.common import as_int, as_text, error, turns_html, voter
from rlhf_demo.ui.instructor import UnlockPanel, locked, require
from rlhf_demo.workspace import Workspace

LESSON = ("**The lesson:** a reward model learns from labels like these. When people agree on only about two "
          "thirds of the pairs, no reward model can match \"the\" human preference much more often than that: "
          "the noise in the labels is a ceiling on its accuracy.")
VERDICTS = {"A": "A is better", "B": "B is better", "tie": "Tie"}


@dataclass
class CalibrationView:
    panel: gr.Column  # the whole panel: visible while a set is active
    progress: gr.Markdown
    item: gr.Column  # the item being judged (hidden once this browser is done)
    prompt: gr.HTML
    reply_a: gr.HTML
    reply_b: gr.HTML
    buttons: dict[str, gr.Button]
    stats: gr.Markdown
    chart: gr.Image
    state: gr.State  # per browser: {"set_id", "item", "name"}
    seen: gr.State  # per browser: the (set id, judgements) last drawn
    k: gr.Number | None = None  # instructor controls
    start: gr.Button | None = None
    end: gr.Button | None = None
    message: gr.Markdown | None = None

    @property
    def instructor_controls(self) -> list:
        return [self.k, self.start, self.end]


def build_panel() -> CalibrationView:
    with gr.Column(visible=False, elem_id="cal-panel", elem_classes="rl-cal") as panel:
        progress = gr.Markdown(elem_id="cal-progress")
        with gr.Column(elem_id="cal-item") as item:
            prompt = gr.HTML(elem_id="cal-prompt")
            with gr.Row(equal_height=True):
                with gr.Column(min_width=300):
                    reply_a = gr.HTML(elem_id="cal-reply-a")
                with gr.Column(min_width=300):
                    reply_b = gr.HTML(elem_id="cal-reply-b")
            with gr.Row():
                buttons = {o: gr.Button(label, variant="primary" if o != "tie" else "secondary", min_width=90,
                                        elem_id=f"cal-{o.lower()}", elem_classes="rl-cal-btn")
                           for o, label in VERDICTS.items()}
        with gr.Row():
            with gr.Column(scale=2, min_width=300):
                stats = gr.Markdown(elem_id="cal-stats")
                gr.Markdown(LESSON, elem_classes="rl-cal-lesson")
            chart = gr.Image(type="filepath", format="png", show_label=False, buttons=[], interactive=False,
                             elem_id="cal-chart", scale=3, min_width=300)
    return CalibrationView(panel, progress, item, prompt, reply_a, reply_b, buttons, stats, chart, gr.State(None),
                           gr.State(None))


def build_instructor(view: CalibrationView) -> None:
    """The instructor's accordion: start a set of K items (ends the active one), or end it."""
    with gr.Accordion("Calibration set (instructor)", open=False, elem_id="cal-instructor"):
        gr.Markdown("Every student judges the **same** K pairs from the data, in the same order, so the class can see "
                    "how much people agree, and how often they agree with the hh-rlhf label. Starting a new set ends "
                    "the active one (its judgements are kept).")
        with gr.Row(equal_height=True):
            view.k = gr.Number(K_DEFAULT, label=f"Items (K, {K_MIN}-{K_MAX})", precision=0, minimum=K_MIN,
                               maximum=K_MAX, elem_id="cal-k", min_width=140)
            view.start = gr.Button("Start a calibration set", variant="primary", elem_id="cal-start")
            view.end = gr.Button("End the calibration set", elem_id="cal-end")
        view.message = gr.Markdown(elem_id="cal-message")


# ----------------------------------------------------------------------------- the actions


def reward_reference(ws: Workspace) -> dict:
    """The active reward model's held-out accuracy and its length baselines (None where unknown)."""
    try:
        active = ws.reward.models.info(ws.reward.models.active)
    except (OSError, ValueError):
        active = None
    if active is None:
        return {"name": None, "accuracy": None, "shorter": None, "longer": None}
    return {"name": active["name"], "accuracy": active.get("eval_accuracy"),
            "shorter": active.get("baseline_shorter_wins"), "longer": active.get("baseline_longer_wins")}


class SharedStats:
    """The active set's statistics and chart, computed once per change for every browser: keyed by the set, its
    number of judgements and the active reward model."""

    def __init__(self):
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._value: tuple[str, str] = ("", "")

    def get(self, ws: Workspace, cal: CalibrationSet) -> tuple[str, str]:
        """(Markdown, chart path) of set `cal`."""
        rm = reward_reference(ws)
        key = (cal.set_id, ws.calibration.active_key()[1], rm["name"])
        with self._lock:
            if self._key != key or not Path(self._value[1]).exists():  # (exports prune old files)
                st = calibration_stats(cal, ws.calibration.judgements(cal.set_id))
                path = download_path(ws.settings.data_dir, f"calibration-{cal.set_id}-{key[1]}.png")
                self._key, self._value = key, (stats_markdown(st), chart(chart_bars(st, rm), path))
            return self._value


def item_view(ws: Workspace, cal: CalibrationSet | None, st: dict | None, typed: str | None, request) -> tuple:
    """What this browser shows for the active set `cal` (None: no set): (state, panel, progress, item, prompt,
    reply A, reply B, the three buttons)."""
    hide = gr.update(visible=False)
    if cal is None:
        return None, hide, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), *[gr.skip()] * 3
    same = st is not None and st.get("set_id") == cal.set_id
    who = st["name"] if same and st.get("name") is not None else (typed or "").strip()[:60]
    done = ws.calibration.judged_items(cal.set_id, voter(request), who)
    todo = [i for i in range(cal.k) if i not in done]
    new_st = {"set_id": cal.set_id, "item": todo[0] if todo else None, "name": who if done else None}
    if not todo:
        return new_st, gr.update(visible=True), done_markdown(cal.k), hide, "", "", "", *[gr.update(interactive=False)] * 3
    it = cal.items[todo[0]]
    return (new_st, gr.update(visible=True), progress_markdown(todo[0], cal.k, len(done)), gr.update(visible=True),
            turns_html(prompt_turns(it.prompt)), item_html("Reply A", it.reply_a), item_html("Reply B", it.reply_b),
            *[gr.update(interactive=True)] * 3)


def tick(ws: Workspace, shared: SharedStats, st, seen, typed, request) -> tuple:
    """A browser's poll: (seen, statistics, chart, `item_view`), all skipped while nothing changed."""
    set_id, n = ws.calibration.active_key()
    key = [set_id, n]
    if key == seen:
        return (seen, *[gr.skip()] * 2, *[gr.skip()] * 10)
    cal = ws.calibration.active() if set_id is not None else None
    if cal is None:
        return (key, gr.skip(), gr.skip(), None, gr.update(visible=False), *[gr.skip()] * 8)
    md, png = shared.get(ws, cal)
    if st is not None and st.get("set_id") == cal.set_id:  # same set: only the numbers changed
        return (key, md, png, *[gr.skip()] * 10)
    return (key, md, png, *item_view(ws, cal, st, typed, request))


def judge(ws: Workspace, outcome: str, st, typed, request) -> tuple:
    """A verdict on this browser's item, then its next item (`item_view`)."""
    cal = ws.calibration.active()
    if cal is None:
        raise error("No calibration set is active.")
    if not st or st.get("set_id") != cal.set_id or st.get("item") is None:
        return item_view(ws, cal, st, typed, request)
    who = st["name"] if st.get("name") is not None else (typed or "").strip()[:60]
    try:
        ws.calibration.judge(cal.set_id, st["item"], voter(request), who, outcome)
    except ValueError as e:
        if "already judged" not in str(e):  # a double tap: just show the next item
            raise error(str(e)) from e
    return item_view(ws, cal, {**st, "name": who}, typed, request)


def start_set(ws: Workspace, k) -> dict:
    """Instructor: a new set of k items drawn from the data (the active one ends)."""
    k = as_int(k, "k (items)", K_MIN, K_MAX)
    try:
        src = ws.data.source
        seed = ws.calibration.count_sets() + 1  # set n draws with seed n: each new set brings new items
        cal = ws.calibration.start(draw_items(src.load().pairs, k, seed=seed), seed=seed, source=src.description)
    except ValueError as e:
        raise error(str(e)) from e
    return {"set_id": cal.set_id, "k": cal.k, "items": [it.public() for it in cal.items]}


def judge_item(ws: Workspace, item, outcome, voter_name, request) -> dict:
    """An API verdict on item `item` of the active set."""
    item = as_int(item, "item", 0, K_MAX - 1)
    outcome = as_text(outcome, "outcome", 20)
    who = as_text(voter_name, "voter_name", 200, allow_empty=True).strip()[:60]
    cal = ws.calibration.active()
    if cal is None:
        raise error("No calibration set is active: the instructor starts one.")
    try:
        j = ws.calibration.judge(cal.set_id, item, voter(request), who, outcome)
    except ValueError as e:
        raise error(str(e)) from e
    done = ws.calibration.judged_items(cal.set_id, j.voter_id, who)
    return {"set_id": cal.set_id, "item": item, "outcome": j.outcome, "judged": len(done), "k": cal.k}


def status(ws: Workspace) -> dict:
    """The active set (items without labels) and the class's agreement (None where undefined)."""
    cal = ws.calibration.active()
    if cal is None:
        return {"active": False}
    st = calibration_stats(cal, ws.calibration.judgements(cal.set_id))
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in st.items()}
    return {"active": True, **clean, "items": [it.public() for it in cal.items],
            "reward_model": reward_reference(ws), "human_agreement_reference": HUMAN_AGREEMENT}


# ----------------------------------------------------------------------------- wiring


def wire(view: CalibrationView, ws: Workspace, demo: gr.Blocks, panel: UnlockPanel, name: gr.Textbox,
         timer: gr.Timer) -> None:
    """`name`: the Vote tab's name box (a voter is (session, name)); `timer`: the Vote tab's poll."""
    shared = SharedStats()

    def on_tick(st, seen, typed, request: gr.Request):
        return tick(ws, shared, st, seen, typed, request)

    def on_judge(outcome: str):
        def fn(st, typed, request: gr.Request):
            return judge(ws, outcome, st, typed, request)
        return fn

    private = dict(api_visibility="private", show_progress="hidden")
    item_out = [view.state, view.panel, view.progress, view.item, view.prompt, view.reply_a, view.reply_b,
                *view.buttons.values()]
    tick_out = [view.seen, view.stats, view.chart, *item_out]
    timer.tick(on_tick, [view.state, view.seen, name], tick_out, **private)
    demo.load(on_tick, [view.state, view.seen, name], tick_out, **private)
    for outcome, btn in view.buttons.items():
        btn.click(on_judge(outcome), [view.state, name], item_out, **private)
    def on_start(k):
        out = start_set(ws, k)
        return started_markdown(out["set_id"], out["k"])

    view.start.click(locked(ws, on_start), [panel.key, view.k], [view.message], **private)
    view.end.click(locked(ws, lambda: ended_markdown(ws.calibration.end())), [panel.key], [view.message], **private)
    api(ws)


def api(ws: Workspace) -> None:
    """The stable API (documented in the README); instructor actions take the key first."""

    def calibration_start(key: str, k: int = K_DEFAULT) -> dict:
        """Instructor: start a calibration set of k (3-30) items drawn from the data; ends the active set."""
        require(ws, key)
        return start_set(ws, k)

    def calibration_end(key: str) -> dict:
        """Instructor: end the active calibration set (its judgements are kept)."""
        require(ws, key)
        return {"ended": ws.calibration.end()}

    def calibration_vote(item: int, outcome: str, voter_name: str = "", request: gr.Request = None) -> dict:
        """Judge item `item` (0-based) of the active calibration set: outcome is A, B or tie."""
        return judge_item(ws, item, outcome, voter_name, request)

    def calibration_status() -> dict:
        """The active calibration set (items without labels) and the class's agreement (null where undefined)."""
        return status(ws)

    gr.api(calibration_start, api_name="calibration_start")
    gr.api(calibration_end, api_name="calibration_end")
    gr.api(calibration_vote, api_name="calibration_vote", queue=False)
    gr.api(calibration_status, api_name="calibration_status")
