"""Browse tab: read the human preference pairs that reward models learn from.

`build` lays the tab out, `wire` connects its events to the actions below: each one asks the data stage
(`data/browse.py`: search, turn filter, length statistics) or the reward model's verdicts (`reward/verdicts.py`) and
hands the answer to `browse_view.py`, which draws it. A browser's place is its `state`: {"subset", "split",
"matches": list[int] | None (rows that pass the filters; None = all), "pos": position in them, "query"}.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import gradio as gr

from rlhf_demo.data.browse import filter_pairs, set_length_stats
from rlhf_demo.data.hh import PreferenceSet
from rlhf_demo.reward.registry import trained_on_text
from rlhf_demo.reward.verdicts import SplitVerdicts, Where
from rlhf_demo.settings import shorten
from rlhf_demo.ui.browse_view import (
    NOTHING,
    disagreements_markdown,
    length_plot,
    no_match_markdown,
    position_markdown,
    render_pair,
    scoring_markdown,
    stats_markdown,
    verdict_failed_html,
    verdict_html,
)
from rlhf_demo.ui.common import as_int, as_text, error
from rlhf_demo.ui.instructor import UnlockPanel
from rlhf_demo.workspace import Workspace

INTRO = """**Step 1 · Human preferences.** RLHF starts from people comparing two replies to the same
conversation and picking the better one. Each pair below is one such judgement from Anthropic's *hh-rlhf*
data: the conversation is shared, only the final Assistant reply differs. A reward model (tab 3) will learn
to give the **chosen** reply a higher score than the **rejected** one."""

OPERATOR_ONLY = ("data_dir",)  # where the server writes: in its start-up log, never in a visitor's payload

TURN_FILTERS = {"any": (1, None), "1 (single turn)": (1, 1), "2": (2, 2), "3": (3, 3), "4+": (4, None)}


@dataclass
class BrowseTab:
    subset: gr.Dropdown
    split: gr.Dropdown
    query: gr.Textbox
    turns: gr.Dropdown
    disagree: gr.Checkbox
    disagree_status: gr.Markdown  # the background scoring job's progress and ETA
    poll: gr.Timer  # active only while this page waits for that job
    search: gr.Button
    clear: gr.Button
    prev: gr.Button
    next: gr.Button
    random: gr.Button
    index: gr.Number
    position: gr.Markdown
    view: gr.HTML
    stats: gr.Markdown
    plot: gr.Plot
    state: gr.State  # per browser: {"subset", "split", "matches": list[int] | None, "pos": int, "query"}


# ----------------------------------------------------------------------------- building


def build(ws: Workspace) -> BrowseTab:
    """Lay out the tab (call inside a ``gr.Tab``); `wire` connects the events afterwards."""
    src = ws.data.source
    subset, split = src.default()
    gr.Markdown(INTRO, elem_classes="rl-intro")
    with gr.Row(equal_height=True):
        subset_dd = gr.Dropdown(src.subsets(), value=subset, label="Subset", scale=2)
        split_dd = gr.Dropdown(src.splits(subset), value=split, label="Split", scale=1)
        turns = gr.Dropdown(list(TURN_FILTERS), value="any", label="Human turns", scale=1)
        query = gr.Textbox(label="Search (all words must appear)", placeholder="e.g. recipe", scale=3, elem_id="browse-query")
        with gr.Column(scale=1, min_width=120):
            search = gr.Button("Search", variant="primary", elem_id="browse-search", size="sm")
            clear = gr.Button("Clear", size="sm", elem_id="browse-clear")
    with gr.Row(equal_height=True, elem_classes="rl-browse-filter-row"):
        disagree = gr.Checkbox(False, label="Reward model disagrees", scale=1, min_width=300, elem_id="browse-disagree",
                               elem_classes="rl-browse-disagree",
                               info="only pairs where the active reward model scores the rejected reply at least as "
                                    "high as the chosen one")
        disagree_status = gr.Markdown(elem_id="browse-disagree-status", elem_classes="rl-browse-job")
    with gr.Row(equal_height=True):
        prev = gr.Button("◀ Previous", elem_id="browse-prev", scale=1)
        index = gr.Number(label="Pair # (row in the split)", precision=0, minimum=0, value=0, scale=1, elem_id="browse-index")
        nxt = gr.Button("Next ▶", elem_id="browse-next", scale=1)
        rnd = gr.Button("Random", elem_id="browse-random", scale=1)
    position = gr.Markdown(elem_id="browse-position")
    view = gr.HTML(elem_id="browse-view")
    with gr.Accordion("Statistics: reply lengths and the length shortcut", open=True):
        with gr.Row():
            stats = gr.Markdown(elem_id="browse-stats", min_width=320)  # the plot goes under it on a phone
            plot = gr.Plot(label="Final-reply length, chosen vs rejected", show_label=False)
    state = gr.State(None)
    poll = gr.Timer(1.5, active=False)
    return BrowseTab(subset_dd, split_dd, query, turns, disagree, disagree_status, poll, search, clear, prev, nxt, rnd,
                     index, position, view, stats, plot, state)


# ----------------------------------------------------------------------------- the actions


def load(ws: Workspace, subset: str, split: str) -> PreferenceSet:
    try:
        return ws.data.source.load(subset, split)
    except Exception as e:  # noqa: BLE001 - shown to the user
        raise error(f"Could not load {subset}/{split}: {e}") from e


def fresh(subset: str, split: str) -> dict:
    """A browser's state at the first pair of a split, no filter."""
    return {"subset": subset, "split": split, "matches": None, "pos": 0, "query": ""}


def where(ws: Workspace, st: dict) -> Where:
    return ws.data.source.description, st["subset"], st["split"]


def show(ws: Workspace, verdicts: SplitVerdicts, st: dict) -> tuple:
    """Outputs for the current position: (state, index, position text, html)."""
    ps = load(ws, st["subset"], st["split"])
    matches = st["matches"]
    n = len(ps) if matches is None else len(matches)
    if n == 0:
        return st, gr.update(), no_match_markdown(st["query"]), NOTHING
    st["pos"] %= n
    p = ps.pairs[st["pos"] if matches is None else matches[st["pos"]]]
    match = None if matches is None else (st["pos"], n)
    return st, p.index, position_markdown(p, len(ps), match, st["query"]), render_pair(p, reward_note(ws, verdicts, st, p.index))


def reward_note(ws: Workspace, verdicts: SplitVerdicts, st: dict, i: int) -> str:
    """The active reward model's verdict on pair `i`, in large text: from the split's cached scores when they exist,
    else one quick forward pass (nothing when no model is trained yet)."""
    name = verdicts.registry.active
    if name is None:
        return ""
    try:
        chosen, rejected = verdicts.pair(name, where(ws, st), load(ws, st["subset"], st["split"]), i)
    except Exception as e:  # noqa: BLE001 - a broken model must not break browsing
        return verdict_failed_html(name, str(e))
    return verdict_html(name, chosen, rejected, trained_on_text((verdicts.registry.info(name) or {}).get("trained_on")))


SOURCE_WORDS = {"bundled": "the bundled offline set", "local": "a file on the server", "hub": "Anthropic/hh-rlhf (Hub)"}


def split_description(ws: Workspace, subset: str, split: str) -> str:
    """"bundled/test, the bundled offline set": what a split is, in words (never a path of the server's files)."""
    return f"{subset}/{split}, {SOURCE_WORDS.get(ws.data.source.kind, 'the loaded data')}"


def open_split(ws: Workspace, verdicts: SplitVerdicts, subset: str, split: str | None) -> tuple:
    """A subset or split was picked: its first pair, its statistics, the filters cleared."""
    src = ws.data.source
    splits = src.splits(subset) if subset in src.subsets() else []
    if split not in splits:
        split = "test" if "test" in splits else (splits[0] if splits else None)
    if split is None:
        raise error(f"Unknown subset {shorten(subset)}.")
    ps = load(ws, subset, split)
    st = set_length_stats(ps)
    where = split_description(ws, subset, split)
    return (gr.update(choices=splits, value=split), *show(ws, verdicts, fresh(subset, split)), stats_markdown(ps, st, where),
            length_plot(st), "", False, "", gr.update(active=False))


def apply_filters(ws: Workspace, verdicts: SplitVerdicts, st: dict, query: str, turns: str, disagree: bool) -> tuple:
    """(outputs of `show`, status text, timer update): filter now, or start scoring and poll until it is done."""
    ps = load(ws, st["subset"], st["split"])
    lo, hi = TURN_FILTERS.get(turns, (1, None))
    query = (query or "").strip()
    if len(query) > 200:
        raise error("The search text is too long (200 characters at most).")
    status, poll = "", gr.update(active=False)
    if not query and turns == "any" and not disagree:
        st.update(matches=None, pos=0, query="")
        return (*show(ws, verdicts, st), status, poll)
    matches = filter_pairs(ps, query, lo, hi)
    if disagree:
        name = verdicts.registry.active
        if name is None:
            raise error("No active reward model yet: train one in the Reward model tab first.")
        found = verdicts.scores(name, where(ws, st), ps)
        if found is None:
            verdicts.start(name, where(ws, st), ps)
            status, poll = scoring_markdown(*verdicts.job(name, where(ws, st), ps)), gr.update(active=True)
        else:
            bad = set(found.disagreements())
            matches = [i for i in matches if i in bad]
            status = disagreements_markdown(len(bad), len(ps), name)
    st.update(matches=matches, pos=0, query=query)
    return (*show(ws, verdicts, st), status, poll)


def search(ws: Workspace, verdicts: SplitVerdicts, query: str, turns: str, disagree: bool, st, subset, split) -> tuple:
    return apply_filters(ws, verdicts, st or fresh(subset, split), query, turns, disagree)


def poll(ws: Workspace, verdicts: SplitVerdicts, query: str, turns: str, disagree: bool, st, subset, split) -> tuple:
    """While this page waits for the scores: the job's progress, then the filter once they are there."""
    st = st or fresh(subset, split)
    name = verdicts.registry.active
    if not disagree or name is None:
        return (*[gr.skip()] * 4, "", gr.update(active=False))
    ps = load(ws, st["subset"], st["split"])
    if verdicts.scores(name, where(ws, st), ps) is not None:
        return apply_filters(ws, verdicts, st, query, turns, disagree)
    verdicts.start(name, where(ws, st), ps)  # (unless a job runs) the job before was another split's, or failed
    line = scoring_markdown(*verdicts.job(name, where(ws, st), ps))
    return (*[gr.skip()] * 4, line, gr.update(active="failed" not in line))


def clear(ws: Workspace, verdicts: SplitVerdicts, st, subset, split) -> tuple:
    st = st or fresh(subset, split)
    st.update(matches=None, pos=0, query="")
    return (*show(ws, verdicts, st), "", "any", False, "", gr.update(active=False))


def step(ws: Workspace, verdicts: SplitVerdicts, delta: int, st, subset, split) -> tuple:
    st = st or fresh(subset, split)
    st["pos"] += delta
    return show(ws, verdicts, st)


def jump(ws: Workspace, verdicts: SplitVerdicts, st, subset, split) -> tuple:
    """Another pair, drawn at random among those that pass the filters (with one match, a message says so)."""
    st = st or fresh(subset, split)
    n = len(load(ws, st["subset"], st["split"])) if st["matches"] is None else len(st["matches"])
    if n <= 1 and st["matches"] is not None:
        gr.Info(f"{'Only one pair matches' if n else 'No pair matches'} the filters: clear them to draw from every pair.")
    elif n > 1:
        draw = random.randrange(n - 1)  # never the pair shown now
        st["pos"] = draw if draw < st["pos"] % n else draw + 1
    return show(ws, verdicts, st)


def goto(ws: Workspace, verdicts: SplitVerdicts, index, st, subset, split) -> tuple:
    st = st or fresh(subset, split)
    ps = load(ws, st["subset"], st["split"])
    if index is None or not (0 <= int(index) < len(ps)):
        raise error(f"Pair # must be between 0 and {len(ps) - 1:,}.")
    index = int(index)
    if st["matches"] is not None and index in st["matches"]:
        st["pos"] = st["matches"].index(index)
    else:
        st.update(matches=None, pos=index, query="")
    return show(ws, verdicts, st)


# ----------------------------------------------------------------------------- wiring


def wire(tab: BrowseTab, ws: Workspace, demo: gr.Blocks, panel: UnlockPanel) -> None:
    # the disagreement filter: every pair scored once per (model, split), in the background, cached on disk
    verdicts = SplitVerdicts(ws.reward.models, Path(ws.settings.data_dir) / "reward_scores", ws.settings.device)
    nav_out = [tab.state, tab.index, tab.position, tab.view]
    ctx = [tab.state, tab.subset, tab.split]
    common = dict(show_progress="hidden", api_visibility="private")
    opened = [tab.split, *nav_out, tab.stats, tab.plot, tab.query, tab.disagree, tab.disagree_status, tab.poll]
    for trigger in (tab.subset.change, tab.split.change, demo.load):
        trigger(partial(open_split, ws, verdicts), [tab.subset, tab.split], opened, **common)
    filters = [tab.query, tab.turns, tab.disagree, *ctx]
    filtered = [*nav_out, tab.disagree_status, tab.poll]
    for trigger in (tab.search.click, tab.query.submit, tab.turns.change, tab.disagree.input):
        trigger(partial(search, ws, verdicts), filters, filtered, **common)
    tab.poll.tick(partial(poll, ws, verdicts), filters, filtered, **common)
    tab.clear.click(partial(clear, ws, verdicts), ctx,
                    [*nav_out, tab.query, tab.turns, tab.disagree, tab.disagree_status, tab.poll], **common)
    tab.prev.click(partial(step, ws, verdicts, -1), ctx, nav_out, **common)
    tab.next.click(partial(step, ws, verdicts, +1), ctx, nav_out, **common)
    tab.random.click(partial(jump, ws, verdicts), ctx, nav_out, **common)
    tab.index.submit(partial(goto, ws, verdicts), [tab.index, *ctx], nav_out, **common)
    api(ws)


def api(ws: Workspace) -> None:
    """The stable API (documented in the README)."""
    src = ws.data.source

    def browse_pair(subset: str, split: str, index: int) -> dict:
        """One preference pair: its conversation turns, the chosen and the rejected final reply."""
        ps = load(ws, as_text(subset, "subset", 200), as_text(split, "split", 200))
        p = ps.pairs[as_int(index, "index", 0, len(ps) - 1)]
        return {
            "index": p.index, "total": len(ps), "subset": subset, "split": split, "n_turns": p.n_turns,
            "prefix": [{"role": t.role, "text": t.text} for t in p.prefix], "prompt": p.prompt,
            "chosen": p.chosen, "rejected": p.rejected, "same_prefix": p.same_prefix,
        }

    def browse_search(subset: str, split: str, query: str, turns: str = "any", limit: int = 100) -> dict:
        """Rows matching every word of `query` and the turn filter ("any", "1 (single turn)", "2", "3", "4+")."""
        ps = load(ws, as_text(subset, "subset", 200), as_text(split, "split", 200))
        if not isinstance(turns, str) or turns not in TURN_FILTERS:
            raise error(f"turns must be one of {list(TURN_FILTERS)}, got {shorten(turns)}")
        lo, hi = TURN_FILTERS[turns]
        query = as_text(query, "query", 500, allow_empty=True)
        limit = as_int(limit, "limit", 0, 100_000)
        m = filter_pairs(ps, query, lo, hi)
        return {"matches": len(m), "indices": m[:limit], "total": len(ps)}

    def browse_stats(subset: str, split: str) -> dict:
        """Length statistics of a split: how often the longer final reply is the chosen one."""
        ps = load(ws, as_text(subset, "subset", 200), as_text(split, "split", 200))
        return {**set_length_stats(ps).as_dict(), "skipped_lines": ps.skipped,
                "origin": split_description(ws, subset, split)}

    def data_sources() -> dict:
        """Which data and models the app uses, and the subsets/splits it offers."""
        public = {k: v for k, v in ws.describe().items() if k not in OPERATOR_ONLY}
        return {**public, "subsets": {s: src.splits(s) for s in src.subsets()}}

    gr.api(browse_pair, api_name="browse_pair")
    gr.api(browse_search, api_name="browse_search")
    gr.api(browse_stats, api_name="browse_stats")
    gr.api(data_sources, api_name="data_sources")
