"""Vote tab, calibration part: every student judges the same fixed items; the class sees how much it agrees.

Built inside the Vote tab (`vote.py` calls `build_panel`, `build_instructor` and `wire`). The store and the
statistics are `arena/calibration.py` and `arena/agreement.py`; this module only shows them.

Cheap polling: each browser's timer tick asks for (active set id, number of judgements), one indexed query, and
redraws nothing when it has not changed. The statistics and the chart are computed once per change for all
browsers (a small cache in `wire`), and the chart is one PNG file that every browser receives.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rlhf_demo.arena.calibration import K_DEFAULT, K_MAX, K_MIN, calibration_stats, draw_items  # noqa: E402
from rlhf_demo.data.hh import prompt_turns  # noqa: E402
from rlhf_demo.storage import download_path  # noqa: E402
from rlhf_demo.ui.common import as_int, as_text, error, esc, turns_html  # noqa: E402
from rlhf_demo.ui.lock import UnlockPanel, locked, require  # noqa: E402
from rlhf_demo.workspace import Workspace  # noqa: E402

HUMAN_AGREEMENT = 0.65
# Rafailov et al. 2023 (DPO, Table 2) measured ~65 % agreement between two human annotators judging the same pair of
# model outputs (on TL;DR summaries); for the hh-rlhf comparisons themselves Bai et al. 2022 report that the authors
# agreed with the crowdworkers' labels about 63 % of the time. Either way: about two thirds.
HUMAN_SOURCE = "Rafailov et al. 2023 (DPO, Table 2)"
LESSON = ("**The lesson:** a reward model learns from labels like these. When people agree on only about two "
          "thirds of the pairs, no reward model can match \"the\" human preference much more often than that: "
          "the noise in the labels is a ceiling on its accuracy.")
VERDICTS = {"A": "A is better", "B": "B is better", "tie": "Tie"}
CHART_DPI = 100
CHART_PT = 12  # 12 pt x 100 dpi / 72 = 16.7 px in the PNG: readable on a projector and on a phone


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


# ----------------------------------------------------------------------------- rendering


def _pct(x) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f} %"


def _kappa(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return "0.00" if abs(x) < 0.005 else f"{x:.2f}"  # never "-0.00"


def stats_markdown(st: dict) -> str:
    if st["voters"] == 0:
        return f"**Calibration set {st['set_id']}** ({st['k']} items): no judgements yet."
    return (f"**{st['voters']} voter{'s' if st['voters'] != 1 else ''}** ({st['finished_voters']} finished) · "
            f"percent agreement **{_pct(st['percent_agreement'])}** · mean Cohen's κ **{_kappa(st['cohen_kappa_mean'])}**"
            f" · Fleiss' κ **{_kappa(st['fleiss_kappa'])}** (over {st['fleiss_items']} items)  \n"
            f"κ: 1 = perfect agreement, 0 = what random verdicts would reach.")


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


def chart_bars(st: dict, rm: dict) -> list[tuple[str, float | None]]:
    """(label, value in [0, 1] or None) per bar, top to bottom."""
    held_out = rm["shorter"] is not None and rm["longer"] is not None
    where = "held-out pairs" if held_out else "these items"
    rm_label = f"Reward model {rm['name'][:24]} (held-out pairs)" if rm["name"] else "Reward model (none trained yet)"
    return [("Class majority vs hh-rlhf label", st["label_agreement"]),
            ("Student vs student (same verdict)", st["percent_agreement"]),
            (rm_label, rm["accuracy"]),
            (f"Shorter reply wins ({where})", rm["shorter"] if held_out else st["shorter_wins"]),
            (f"Longer reply wins ({where})", rm["longer"] if held_out else st["longer_wins"])]


def chart(bars: list[tuple[str, float | None]], path) -> str:
    """Bars (percent) with their labels ABOVE them, so the bars use the full width of a phone; the published
    human-human agreement is a dashed line. Saved as a PNG at CHART_DPI (every text >= CHART_PT)."""
    colors = ["#4c72b0", "#55a868", "#c44e52", "#8c8c8c", "#b0b0b0"]
    with plt.rc_context({"font.size": CHART_PT}):
        fig, ax = plt.subplots(figsize=(5.0, 4.8), dpi=CHART_DPI)
        for i, ((label, v), c) in enumerate(zip(bars, colors)):
            ax.text(0.5, i - 0.3, label, va="bottom", ha="left", zorder=3,  # over the dashed line
                    bbox=dict(facecolor="white", edgecolor="none", pad=0.5))
            if v is None or (isinstance(v, float) and math.isnan(v)):
                ax.text(1, i + 0.05, "not yet", va="center", color="#666")
                continue
            ax.barh(i + 0.05, 100 * v, color=c, height=0.36)
            ax.text(min(100 * v + 1.5, 84), i + 0.05, f"{100 * v:.0f} %", va="center", fontweight="bold")
        ax.axvline(100 * HUMAN_AGREEMENT, color="black", linestyle="--", linewidth=1.6, ymax=0.86)
        ax.text(100 * HUMAN_AGREEMENT, -0.72, f"humans agree ≈ {100 * HUMAN_AGREEMENT:.0f} %\n{HUMAN_SOURCE}",
                ha="center", va="bottom", bbox=dict(facecolor="white", edgecolor="none", pad=1))
        ax.set_xlim(0, 100)
        ax.set_ylim(len(bars) - 0.5, -1.45)  # top to bottom; room above for the reference's label
        ax.set_yticks([])
        ax.set_xticks([0, 25, 50, 75, 100], ["0", "25", "50", "75", "100 %"])
        ax.spines[["top", "right", "left"]].set_visible(False)
        fig.tight_layout()
        fig.savefig(path, dpi=CHART_DPI, format="png")
        plt.close(fig)
    return str(path)


def item_html(label: str, text: str) -> str:
    return f'<div class="rl-final"><h4>{label}</h4>{esc(text)}</div>'


# ----------------------------------------------------------------------------- wiring


def wire(view: CalibrationView, ws: Workspace, demo: gr.Blocks, panel: UnlockPanel, name: gr.Textbox,
         timer: gr.Timer, voter) -> None:
    """`name`: the Vote tab's name box (a voter is (session, name)); `voter(request)`: the session id."""
    cache: dict = {}  # key -> (markdown, chart path): one computation per change, for every browser
    cache_lock = threading.Lock()

    def stats_view(cal) -> tuple[str, str]:
        rm = reward_reference(ws)
        key = (cal.set_id, ws.calibration.active_key()[1], rm["name"])
        with cache_lock:
            if cache.get("key") != key or not Path(cache["value"][1]).exists():  # (exports prune old files)
                st = calibration_stats(cal, ws.calibration.judgements(cal.set_id))
                path = download_path(ws.settings.data_dir, f"calibration-{cal.set_id}-{key[1]}.png")
                cache.update(key=key, value=(stats_markdown(st), chart(chart_bars(st, rm), path)), stats=st)
            return cache["value"]

    def item_view(cal, st: dict | None, typed: str | None, request):
        """What this browser shows for the active set `cal` (None: no set)."""
        hide = gr.update(visible=False)
        if cal is None:
            return None, hide, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), *[gr.skip()] * 3
        same = st is not None and st.get("set_id") == cal.set_id
        who = st["name"] if same and st.get("name") is not None else (typed or "").strip()[:60]
        done = ws.calibration.judged_items(cal.set_id, voter(request), who)
        todo = [i for i in range(cal.k) if i not in done]
        new_st = {"set_id": cal.set_id, "item": todo[0] if todo else None, "name": who if done else None}
        if not todo:
            return (new_st, gr.update(visible=True),
                    f"### Calibration: done, thanks!\nYou judged all {cal.k} items. The agreement below updates as "
                    "the rest of the class finishes.", hide, "", "", "", *[gr.update(interactive=False)] * 3)
        it = cal.items[todo[0]]
        head = (f"### Calibration · item {todo[0] + 1} of {cal.k}\nEveryone judges these same {cal.k} pairs, in this "
                f"order. Which final reply is better? You have judged {len(done)} of {cal.k}.")
        return (new_st, gr.update(visible=True), head, gr.update(visible=True), turns_html(prompt_turns(it.prompt)),
                item_html("Reply A", it.reply_a), item_html("Reply B", it.reply_b),
                *[gr.update(interactive=True)] * 3)

    def tick(st, seen, typed, request: gr.Request):
        set_id, n = ws.calibration.active_key()
        key = [set_id, n]
        if key == seen:
            return (seen, *[gr.skip()] * 2, *[gr.skip()] * 10)
        cal = ws.calibration.active() if set_id is not None else None
        if cal is None:
            return (key, gr.skip(), gr.skip(), None, gr.update(visible=False), *[gr.skip()] * 8)
        md, png = stats_view(cal)
        if st is not None and st.get("set_id") == cal.set_id:  # same set: only the numbers changed
            return (key, md, png, *[gr.skip()] * 10)
        return (key, md, png, *item_view(cal, st, typed, request))

    def judge(outcome: str):
        def fn(st, typed, request: gr.Request):
            cal = ws.calibration.active()
            if cal is None:
                raise error("No calibration set is active.")
            if not st or st.get("set_id") != cal.set_id or st.get("item") is None:
                return item_view(cal, st, typed, request)
            who = st["name"] if st.get("name") is not None else (typed or "").strip()[:60]
            try:
                ws.calibration.judge(cal.set_id, st["item"], voter(request), who, outcome)
            except ValueError as e:
                if "already judged" not in str(e):  # a double tap: just show the next item
                    raise error(str(e)) from e
            return item_view(cal, {**st, "name": who}, typed, request)
        return fn

    private = dict(api_visibility="private", show_progress="hidden")
    item_out = [view.state, view.panel, view.progress, view.item, view.prompt, view.reply_a, view.reply_b,
                *view.buttons.values()]
    tick_out = [view.seen, view.stats, view.chart, *item_out]
    timer.tick(tick, [view.state, view.seen, name], tick_out, **private)
    demo.load(tick, [view.state, view.seen, name], tick_out, **private)
    for outcome, btn in view.buttons.items():
        btn.click(judge(outcome), [view.state, name], item_out, **private)

    # -- instructor actions (locked), in the UI and as API endpoints --------------------------------------
    def start(k) -> dict:
        k = as_int(k, "k (items)", K_MIN, K_MAX)
        try:
            src = ws.data.source
            seed = ws.calibration.count_sets() + 1  # set n draws with seed n: each new set brings new items
            cal = ws.calibration.start(draw_items(src.load().pairs, k, seed=seed), seed=seed, source=src.description)
        except ValueError as e:
            raise error(str(e)) from e
        return {"set_id": cal.set_id, "k": cal.k, "items": [it.public() for it in cal.items]}

    def end() -> dict:
        return {"ended": ws.calibration.end()}

    def start_ui(k):
        out = start(k)
        return (f"Calibration set {out['set_id']} started with {out['k']} items: it appears above the arena on "
                "every student's page within a few seconds.")

    def end_ui():
        n = end()["ended"]
        return "The calibration set was ended (its judgements are kept)." if n else "No calibration set was active."

    view.start.click(locked(ws, start_ui), [panel.key, view.k], [view.message], **private)
    view.end.click(locked(ws, end_ui), [panel.key], [view.message], **private)

    def calibration_start(key: str, k: int = K_DEFAULT) -> dict:
        """Instructor: start a calibration set of k (3-30) items drawn from the data; ends the active set."""
        require(ws, key)
        return start(k)

    def calibration_end(key: str) -> dict:
        """Instructor: end the active calibration set (its judgements are kept)."""
        require(ws, key)
        return end()

    def calibration_vote(item: int, outcome: str, voter_name: str = "", request: gr.Request = None) -> dict:
        """Judge item `item` (0-based) of the active calibration set: outcome is A, B or tie."""
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

    def calibration_status() -> dict:
        """The active calibration set (items without labels) and the class's agreement (null where undefined)."""
        cal = ws.calibration.active()
        if cal is None:
            return {"active": False}
        st = calibration_stats(cal, ws.calibration.judgements(cal.set_id))
        clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in st.items()}
        return {"active": True, **clean, "items": [it.public() for it in cal.items],
                "reward_model": reward_reference(ws), "human_agreement_reference": HUMAN_AGREEMENT}

    gr.api(calibration_start, api_name="calibration_start")
    gr.api(calibration_end, api_name="calibration_end")
    gr.api(calibration_vote, api_name="calibration_vote", queue=False)
    gr.api(calibration_status, api_name="calibration_status")
