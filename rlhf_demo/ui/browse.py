"""Browse tab: read the human preference pairs that reward models learn from."""

from __future__ import annotations

import random
from dataclasses import dataclass

import gradio as gr
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rlhf_demo.data.browse import filter_pairs, length_stats, reward_disagreements, word_diff  # noqa: E402
from rlhf_demo.data.hh import PreferencePair, PreferenceSet  # noqa: E402
from rlhf_demo.ui.common import as_int, as_text, error, esc, short, spans_html, turns_html  # noqa: E402
from rlhf_demo.workspace import Workspace  # noqa: E402

INTRO = """**Step 1 · Human preferences.** RLHF starts from people comparing two replies to the same
conversation and picking the better one. Each pair below is one such judgement from Anthropic's *hh-rlhf*
data: the conversation is shared, only the final Assistant reply differs. A reward model (tab 3) will learn
to give the **chosen** reply a higher score than the **rejected** one."""

LENGTH_LESSON = """**Length bias.** A reward model can get part of the way by a shortcut: "prefer the longer
(or shorter) reply". The rates above are that shortcut's accuracy on this split. A useful reward model must beat
it; one that learned mostly length will push PPO towards long rambling replies (*reward hacking*)."""

TURN_FILTERS = {"any": (1, None), "1 (single turn)": (1, 1), "2": (2, 2), "3": (3, 3), "4+": (4, None)}


@dataclass
class BrowseTab:
    subset: gr.Dropdown
    split: gr.Dropdown
    query: gr.Textbox
    turns: gr.Dropdown
    disagree: gr.Checkbox
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


# ----------------------------------------------------------------------------- rendering


def render_pair(p: PreferencePair, extra: str = "") -> str:
    """The conversation once, then the two final replies side by side with their differences marked."""
    shared = turns_html(p.prefix)
    tail_c = turns_html(p.chosen_turns[p.n_shared:-1])
    tail_r = turns_html(p.rejected_turns[p.n_shared:-1])
    note = "" if p.same_prefix else '<div class="rl-meta">The two transcripts also differ before the final reply; each side shows its own earlier turns.</div>'
    sc, sr = word_diff(p.chosen, p.rejected)
    wc, wr = len(p.chosen.split()), len(p.rejected.split())
    return f"""{shared}{note}
<div class="rl-finals">
  <div class="rl-final rl-chosen">{tail_c}<h4><span class="rl-badge rl-badge-chosen">CHOSEN</span> reply <span class="rl-meta">({wc} words)</span></h4>{spans_html(sc)}</div>
  <div class="rl-final rl-rejected">{tail_r}<h4><span class="rl-badge rl-badge-rejected">REJECTED</span> reply <span class="rl-meta">({wr} words)</span></h4>{spans_html(sr)}</div>
</div>
<div class="rl-meta">Highlighted: words that differ between the two replies.</div>{extra}"""


def length_plot(ps: PreferenceSet):
    st = _stats(ps)
    fig, ax = plt.subplots(figsize=(6, 2.8), dpi=100)
    hi = max(10, int(max(st.chosen_words.max(initial=0), st.rejected_words.max(initial=0)) if st.n else 10))
    import numpy as np

    cap = int(np.percentile(np.concatenate([st.chosen_words, st.rejected_words]), 98)) if st.n else hi
    bins = np.linspace(0, max(cap, 10), 30)
    ax.hist(np.minimum(st.chosen_words, bins[-1]), bins=bins, alpha=0.6, label="chosen", color="#2e9d5b")
    ax.hist(np.minimum(st.rejected_words, bins[-1]), bins=bins, alpha=0.6, label="rejected", color="#d0563b")
    ax.set_xlabel("words in the final reply (last bin: longer)")
    ax.set_ylabel("pairs")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    plt.close(fig)
    return fig


def _stats(ps: PreferenceSet):
    st = getattr(ps, "_length_stats", None)
    if st is None:
        st = length_stats(ps.pairs)
        ps._length_stats = st  # type: ignore[attr-defined]
    return st


def stats_markdown(ps: PreferenceSet) -> str:
    st = _stats(ps)
    skipped = f" · {ps.skipped:,} malformed line(s) skipped" if ps.skipped else ""
    return (
        f"**{st.n:,} pairs** from {esc(ps.origin)}{skipped}\n\n"
        f"- longer reply is the chosen one: **{100 * st.longer_wins:.1f} %** · shorter: **{100 * st.shorter_wins:.1f} %**"
        f" (lengths in words; {st.n_equal:,} pairs of equal length count half)\n"
        f"- median words: chosen {int(st.as_dict()['chosen_median_words'])}, rejected {int(st.as_dict()['rejected_median_words'])}\n\n"
        + LENGTH_LESSON
    )


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
        disagree = gr.Checkbox(False, label="Only pairs where the active reward model disagrees with the human label",
                               scale=2, min_width=260, elem_id="browse-disagree")
        with gr.Column(scale=1, min_width=120):
            search = gr.Button("Search", variant="primary", elem_id="browse-search", size="sm")
            clear = gr.Button("Clear", size="sm", elem_id="browse-clear")
    with gr.Row(equal_height=True):
        prev = gr.Button("◀ Previous", elem_id="browse-prev", scale=1)
        index = gr.Number(label="Pair # (row in the split)", precision=0, minimum=0, value=0, scale=1, elem_id="browse-index")
        nxt = gr.Button("Next ▶", elem_id="browse-next", scale=1)
        rnd = gr.Button("Random", elem_id="browse-random", scale=1)
    position = gr.Markdown(elem_id="browse-position")
    view = gr.HTML(elem_id="browse-view")
    with gr.Accordion("Statistics: reply lengths and the length shortcut", open=True):
        with gr.Row():
            stats = gr.Markdown(elem_id="browse-stats")
            plot = gr.Plot(label="Final-reply length, chosen vs rejected", show_label=False)
    state = gr.State(None)
    return BrowseTab(subset_dd, split_dd, query, turns, disagree, search, clear, prev, nxt, rnd, index, position, view, stats, plot, state)


def wire(tab: BrowseTab, ws: Workspace, demo: gr.Blocks) -> None:
    src = ws.data.source

    def load(subset: str, split: str) -> PreferenceSet:
        try:
            return src.load(subset, split)
        except Exception as e:  # noqa: BLE001 - shown to the user
            raise error(f"Could not load {subset}/{split}: {e}") from e

    def show(st: dict):
        """Outputs for the current position: (state, index, position text, html)."""
        ps = load(st["subset"], st["split"])
        matches = st["matches"]
        n = len(ps) if matches is None else len(matches)
        if n == 0:
            msg = f"No pair matches **{esc(st['query'])}**" if st["query"] else "No pair matches this filter"
            return st, gr.update(), msg + ". Clear the search to see all pairs.", '<div class="rl-empty">Nothing to show.</div>'
        st["pos"] %= n
        i = st["pos"] if matches is None else matches[st["pos"]]
        p = ps.pairs[i]
        filt = ""
        if matches is not None:
            what = f" for “{esc(st['query'])}”" if st["query"] else ""
            filt = f" · match {st['pos'] + 1:,} of {n:,}{what}"
        pos = f"Pair **#{i:,}** of {len(ps):,} · {p.n_turns} human turn(s){filt}"
        return st, i, pos, render_pair(p, reward_note(p))

    def reward_note(p) -> str:
        """The active reward model's scores for this pair (a few ms; nothing when no model is trained yet)."""
        name = ws.reward_models.active
        if name is None:
            return ""
        try:
            rc, rr = ws.reward_models.load(name, ws.settings.device).score_pairs([(p.prompt, p.chosen, p.rejected)])
        except Exception as e:  # noqa: BLE001 - a broken model must not break browsing
            return f'<div class="rl-meta">Reward model {esc(name)} could not score this pair: {esc(str(e))}</div>'
        c, r = float(rc[0]), float(rr[0])
        verdict = "agrees with" if c > r else "<b>disagrees</b> with"
        return (f'<div class="rl-meta" id="browse-reward">Reward model <b>{esc(name)}</b>: chosen {c:+.3f} · rejected {r:+.3f} '
                f'· margin {c - r:+.3f}: it {verdict} the human label.</div>')

    def set_changed(subset: str, split: str | None):
        splits = src.splits(subset) if subset in src.subsets() else []
        if split not in splits:
            split = "test" if "test" in splits else (splits[0] if splits else None)
        if split is None:
            raise error(f"Unknown subset {subset!r}.")
        ps = load(subset, split)
        st = {"subset": subset, "split": split, "matches": None, "pos": 0, "query": ""}
        return (gr.update(choices=splits, value=split), *show(st), stats_markdown(ps), length_plot(ps), "")

    def ensure(st, subset, split):
        return st or {"subset": subset, "split": split, "matches": None, "pos": 0, "query": ""}

    disagreement_cache: dict[tuple, list[int]] = {}

    def disagreeing(ps, key, progress) -> set[int]:
        name = ws.reward_models.active
        if name is None:
            raise error("No active reward model yet: train one in the Reward model tab first.")
        if (name, *key) not in disagreement_cache:
            model = ws.reward_models.load(name, ws.settings.device)
            disagreement_cache[(name, *key)] = reward_disagreements(
                model, ps, progress=lambda f: progress(f, desc="scoring every pair with the reward model"))
        return set(disagreement_cache[(name, *key)])

    def search(query: str, turns: str, disagree: bool, st, subset, split, progress=gr.Progress()):
        st = ensure(st, subset, split)
        ps = load(st["subset"], st["split"])
        lo, hi = TURN_FILTERS.get(turns, (1, None))
        query = (query or "").strip()
        if len(query) > 200:
            raise error("The search text is too long (200 characters at most).")
        if not query and turns == "any" and not disagree:
            st.update(matches=None, pos=0, query="")
        else:
            matches = filter_pairs(ps, query, lo, hi)
            if disagree:
                bad = disagreeing(ps, (st["subset"], st["split"]), progress)
                matches = [i for i in matches if i in bad]
            st.update(matches=matches, pos=0, query=query)
        return show(st)

    def clear(st, subset, split):
        st = ensure(st, subset, split)
        st.update(matches=None, pos=0, query="")
        return (*show(st), "", "any", False)

    def step(delta: int):
        def fn(st, subset, split):
            st = ensure(st, subset, split)
            st["pos"] += delta
            return show(st)

        return fn

    def rand(st, subset, split):
        st = ensure(st, subset, split)
        n = len(load(st["subset"], st["split"])) if st["matches"] is None else len(st["matches"])
        st["pos"] = random.randrange(n) if n else 0
        return show(st)

    def goto(index, st, subset, split):
        st = ensure(st, subset, split)
        ps = load(st["subset"], st["split"])
        if index is None or not (0 <= int(index) < len(ps)):
            raise error(f"Pair # must be between 0 and {len(ps) - 1:,}.")
        index = int(index)
        if st["matches"] is not None and index in st["matches"]:
            st["pos"] = st["matches"].index(index)
        else:
            st.update(matches=None, pos=index, query="")
        return show(st)

    nav_out = [tab.state, tab.index, tab.position, tab.view]
    ctx = [tab.state, tab.subset, tab.split]
    common = dict(show_progress="hidden", api_visibility="private")
    for trigger in (tab.subset.change, tab.split.change):
        trigger(set_changed, [tab.subset, tab.split], [tab.split, *nav_out, tab.stats, tab.plot, tab.query], **common)
    filters = [tab.query, tab.turns, tab.disagree, *ctx]
    tab.search.click(search, filters, nav_out, **common)
    tab.query.submit(search, filters, nav_out, **common)
    tab.turns.change(search, filters, nav_out, **common)
    tab.disagree.change(search, filters, nav_out, api_visibility="private")
    tab.clear.click(clear, ctx, [*nav_out, tab.query, tab.turns, tab.disagree], **common)
    tab.prev.click(step(-1), ctx, nav_out, **common)
    tab.next.click(step(+1), ctx, nav_out, **common)
    tab.random.click(rand, ctx, nav_out, **common)
    tab.index.submit(goto, [tab.index, *ctx], nav_out, **common)
    demo.load(set_changed, [tab.subset, tab.split], [tab.split, *nav_out, tab.stats, tab.plot, tab.query], **common)

    # -- the stable API (documented in the README) ---------------------------------------------
    def browse_pair(subset: str, split: str, index: int) -> dict:
        """One preference pair: its conversation turns, the chosen and the rejected final reply."""
        ps = load(as_text(subset, "subset", 200), as_text(split, "split", 200))
        p = ps.pairs[as_int(index, "index", 0, len(ps) - 1)]
        return {
            "index": p.index, "total": len(ps), "subset": subset, "split": split, "n_turns": p.n_turns,
            "prefix": [{"role": t.role, "text": t.text} for t in p.prefix], "prompt": p.prompt,
            "chosen": p.chosen, "rejected": p.rejected, "same_prefix": p.same_prefix,
        }

    def browse_search(subset: str, split: str, query: str, turns: str = "any", limit: int = 100) -> dict:
        """Rows matching every word of `query` and the turn filter ("any", "1 (single turn)", "2", "3", "4+")."""
        ps = load(as_text(subset, "subset", 200), as_text(split, "split", 200))
        if not isinstance(turns, str) or turns not in TURN_FILTERS:
            raise error(f"turns must be one of {list(TURN_FILTERS)}, got {short(turns)}")
        lo, hi = TURN_FILTERS[turns]
        query = as_text(query, "query", 500, allow_empty=True)
        limit = as_int(limit, "limit", 0, 100_000)
        m = filter_pairs(ps, query, lo, hi)
        return {"matches": len(m), "indices": m[:limit], "total": len(ps)}

    def browse_stats(subset: str, split: str) -> dict:
        """Length statistics of a split: how often the longer final reply is the chosen one."""
        ps = load(as_text(subset, "subset", 200), as_text(split, "split", 200))
        return {**_stats(ps).as_dict(), "skipped_lines": ps.skipped, "origin": ps.origin}

    def data_sources() -> dict:
        """Which data and models the app uses, and the subsets/splits it offers."""
        return {**ws.describe(), "subsets": {s: src.splits(s) for s in src.subsets()}}

    gr.api(browse_pair, api_name="browse_pair")
    gr.api(browse_search, api_name="browse_search")
    gr.api(browse_stats, api_name="browse_stats")
    gr.api(data_sources, api_name="data_sources")
