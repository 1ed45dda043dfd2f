"""Browse tab: read the human preference pairs that reward models learn from."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rlhf_demo.data.browse import filter_pairs, length_stats, word_diff  # noqa: E402
from rlhf_demo.data.hh import PreferencePair, PreferenceSet  # noqa: E402
from rlhf_demo.jobs import fmt_seconds  # noqa: E402
from rlhf_demo.reward.registry import trained_on_text  # noqa: E402
from rlhf_demo.reward.scoring import BackgroundScorer, ScoreCache, cache_key, model_fingerprint, split_fingerprint  # noqa: E402
from rlhf_demo.settings import shorten  # noqa: E402
from rlhf_demo.ui.common import as_int, as_text, error, esc, spans_html, turns_html  # noqa: E402
from rlhf_demo.ui.lock import UnlockPanel, locked, require  # noqa: F401
from rlhf_demo.workspace import Workspace  # noqa: E402

INTRO = """**Step 1 · Human preferences.** RLHF starts from people comparing two replies to the same
conversation and picking the better one. Each pair below is one such judgement from Anthropic's *hh-rlhf*
data: the conversation is shared, only the final Assistant reply differs. A reward model (tab 3) will learn
to give the **chosen** reply a higher score than the **rejected** one."""

OPERATOR_ONLY = ("data_dir",)  # where the server writes: in its start-up log, never in a visitor's payload

LENGTH_LESSON = """**Length bias.** A reward model can get part of the way by a shortcut: "prefer the longer
(or shorter) reply". The rates above are that shortcut's accuracy on this split. A useful reward model must beat
it; one that learned mostly length will push PPO towards long rambling replies (*reward hacking*)."""

PLOT_DPI, PLOT_PT = 100, 11  # every plot text >= 14 px in the PNG (11 pt x 100 / 72 = 15.3 px): a projector

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


def verdict_html(name: str, chosen: float, rejected: float, trained_on: str = "") -> str:
    """The reward model's verdict on a pair in large text (a projector), its scores and what the model was trained
    on under it."""
    agrees = chosen > rejected
    head = ("✓ The reward model <b>agrees</b> with the human label" if agrees
            else "✗ The reward model <b>disagrees</b> with the human label")
    return (f'<div class="rl-browse-verdict {"rl-browse-yes" if agrees else "rl-browse-no"}" id="browse-reward">'
            f'<div class="rl-browse-verdict-head">{head}</div>'
            f'<div class="rl-browse-verdict-scores">chosen {chosen:+.3f} · rejected {rejected:+.3f} · margin '
            f'{chosen - rejected:+.3f} · model <b>{esc(name)}</b>'
            + (f" (trained on {esc(trained_on)})" if trained_on else "") + '</div></div>')


def length_plot(ps: PreferenceSet):
    st = _stats(ps)
    fig, ax = plt.subplots(figsize=(6.5, 3.2), dpi=PLOT_DPI)
    hi = max(10, int(max(st.chosen_words.max(initial=0), st.rejected_words.max(initial=0)) if st.n else 10))
    import numpy as np

    cap = int(np.percentile(np.concatenate([st.chosen_words, st.rejected_words]), 98)) if st.n else hi
    bins = np.linspace(0, max(cap, 10), 30)
    ax.hist(np.minimum(st.chosen_words, bins[-1]), bins=bins, alpha=0.6, label="chosen", color="#2e9d5b")
    ax.hist(np.minimum(st.rejected_words, bins[-1]), bins=bins, alpha=0.6, label="rejected", color="#d0563b")
    ax.set_xlabel("words in the final reply (last bin: longer)", fontsize=PLOT_PT)
    ax.set_ylabel("pairs", fontsize=PLOT_PT)
    ax.tick_params(labelsize=PLOT_PT)
    ax.legend(frameon=False, fontsize=PLOT_PT)
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


def wire(tab: BrowseTab, ws: Workspace, demo: gr.Blocks, panel: UnlockPanel) -> None:
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
        return st, i, pos, render_pair(p, reward_note(p, st))

    def reward_note(p, st) -> str:
        """The active reward model's verdict on this pair, in large text: from the split's cached scores when they
        exist, else one quick forward pass (nothing when no model is trained yet)."""
        name = ws.reward_models.active
        if name is None:
            return ""
        try:
            found = cached(split_key(st["subset"], st["split"], name))
            if found is not None:
                c, r = found.chosen[p.index], found.rejected[p.index]
            else:
                rc, rr = ws.reward_models.load(name, ws.settings.device).score_pairs([(p.prompt, p.chosen, p.rejected)])
                c, r = float(rc[0]), float(rr[0])
        except Exception as e:  # noqa: BLE001 - a broken model must not break browsing
            return f'<div class="rl-meta">Reward model {esc(name)} could not score this pair: {esc(str(e))}</div>'
        return verdict_html(name, c, r, trained_on_text((ws.reward_models.info(name) or {}).get("trained_on")))

    def set_changed(subset: str, split: str | None):
        splits = src.splits(subset) if subset in src.subsets() else []
        if split not in splits:
            split = "test" if "test" in splits else (splits[0] if splits else None)
        if split is None:
            raise error(f"Unknown subset {shorten(subset)}.")
        ps = load(subset, split)
        st = {"subset": subset, "split": split, "matches": None, "pos": 0, "query": ""}
        return (gr.update(choices=splits, value=split), *show(st), stats_markdown(ps), length_plot(ps), "", False, "",
                gr.update(active=False))

    def ensure(st, subset, split):
        return st or {"subset": subset, "split": split, "matches": None, "pos": 0, "query": ""}

    # -- the disagreement filter: every pair scored once per (model, split), in the background, cached on disk ----
    scorer = BackgroundScorer(ScoreCache(Path(ws.settings.data_dir) / "reward_scores"))
    scoring = scorer.runner

    def split_key(subset: str, split: str, name: str) -> str:
        ps = load(subset, split)
        fp = getattr(ps, "_pairs_fingerprint", None)
        if fp is None:
            fp = ps._pairs_fingerprint = split_fingerprint([(p.prompt, p.chosen, p.rejected) for p in ps.pairs])
        return cache_key(name, model_fingerprint(ws.reward_models.path(name)), src.description, subset, split, fp)

    cached = scorer.get

    def start_scoring(key: str, name: str, subset: str, split: str) -> None:
        ps = load(subset, split)
        scorer.start(key, f"Scoring {len(ps):,} pairs of {subset}/{split} with {name}",
                     lambda: ws.reward_models.load(name, ws.settings.device),
                     [(p.prompt, p.chosen, p.rejected) for p in ps.pairs],
                     {"model": name, "subset": subset, "split": split})

    def scoring_line(key: str) -> str:
        snap = scoring.snapshot()
        if snap.data.get("key") == key and snap.state == "failed":
            return f"⚠️ Scoring failed: {esc(snap.error)}"
        if snap.data.get("key") != key or not snap.active:
            return "Waiting for another scoring job to finish…" if snap.active else "Starting the scoring job…"
        eta = snap.eta
        left = f", about {fmt_seconds(eta)} left" if eta is not None else ", estimating time left…"
        return (f"Scoring: **{100 * snap.progress:.0f} %**{left} · {esc(snap.title)} (once; cached after that). "
                "Keep browsing: the filter turns on when it is done.")

    def apply_filters(st, query: str, turns: str, disagree: bool):
        """(outputs of `show`, status text, timer update): filter now, or start scoring and poll until it is done."""
        ps = load(st["subset"], st["split"])
        lo, hi = TURN_FILTERS.get(turns, (1, None))
        query = (query or "").strip()
        if len(query) > 200:
            raise error("The search text is too long (200 characters at most).")
        status, poll = "", gr.update(active=False)
        if not query and turns == "any" and not disagree:
            st.update(matches=None, pos=0, query="")
            return (*show(st), status, poll)
        matches = filter_pairs(ps, query, lo, hi)
        if disagree:
            name = ws.reward_models.active
            if name is None:
                raise error("No active reward model yet: train one in the Reward model tab first.")
            key = split_key(st["subset"], st["split"], name)
            found = cached(key)
            if found is None:
                start_scoring(key, name, st["subset"], st["split"])
                status, poll = scoring_line(key), gr.update(active=True)
            else:
                bad = set(found.disagreements())
                matches = [i for i in matches if i in bad]
                status = (f"**{len(bad):,}** of {len(ps):,} pairs: the reward model **{esc(name)}** disagrees with the "
                          f"human label")
        st.update(matches=matches, pos=0, query=query)
        return (*show(st), status, poll)

    def search(query: str, turns: str, disagree: bool, st, subset, split):
        return apply_filters(ensure(st, subset, split), query, turns, disagree)

    def poll(query: str, turns: str, disagree: bool, st, subset, split):
        """While this page waits for the scores: the job's progress, then the filter once they are there."""
        st = ensure(st, subset, split)
        name = ws.reward_models.active
        if not disagree or name is None:
            return (*[gr.skip()] * 4, "", gr.update(active=False))
        key = split_key(st["subset"], st["split"], name)
        if cached(key) is not None:
            return apply_filters(st, query, turns, disagree)
        if not scoring.snapshot().active:
            start_scoring(key, name, st["subset"], st["split"])  # the job before was another split's, or failed
        line = scoring_line(key)
        return (*[gr.skip()] * 4, line, gr.update(active="failed" not in line))

    def clear(st, subset, split):
        st = ensure(st, subset, split)
        st.update(matches=None, pos=0, query="")
        return (*show(st), "", "any", False, "", gr.update(active=False))

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
    changed = [tab.split, *nav_out, tab.stats, tab.plot, tab.query, tab.disagree, tab.disagree_status, tab.poll]
    for trigger in (tab.subset.change, tab.split.change):
        trigger(set_changed, [tab.subset, tab.split], changed, **common)
    filters = [tab.query, tab.turns, tab.disagree, *ctx]
    filtered = [*nav_out, tab.disagree_status, tab.poll]
    tab.search.click(search, filters, filtered, **common)
    tab.query.submit(search, filters, filtered, **common)
    tab.turns.change(search, filters, filtered, **common)
    tab.disagree.input(search, filters, filtered, **common)
    tab.poll.tick(poll, filters, filtered, **common)
    tab.clear.click(clear, ctx, [*nav_out, tab.query, tab.turns, tab.disagree, tab.disagree_status, tab.poll], **common)
    tab.prev.click(step(-1), ctx, nav_out, **common)
    tab.next.click(step(+1), ctx, nav_out, **common)
    tab.random.click(rand, ctx, nav_out, **common)
    tab.index.submit(goto, [tab.index, *ctx], nav_out, **common)
    demo.load(set_changed, [tab.subset, tab.split], changed, **common)

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
            raise error(f"turns must be one of {list(TURN_FILTERS)}, got {shorten(turns)}")
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
        public = {k: v for k, v in ws.describe().items() if k not in OPERATOR_ONLY}
        return {**public, "subsets": {s: src.splits(s) for s in src.subsets()}}

    gr.api(browse_pair, api_name="browse_pair")
    gr.api(browse_search, api_name="browse_search")
    gr.api(browse_stats, api_name="browse_stats")
    gr.api(data_sources, api_name="data_sources")
