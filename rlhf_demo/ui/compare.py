"""Compare tab: over-optimisation (proxy vs gold during PPO), DPO, best-of-N, and one reward–KL frontier for all."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from rlhf_demo.frontier import recorded
from rlhf_demo.frontier.gold_proxy import DEFAULT_LABELS, MAX_NOISE, N_LABELS
from rlhf_demo.frontier.goodhart import PROXY_EVAL_PAIRS
from rlhf_demo.frontier.service import FRONTIER_NS, FRONTIER_PROMPTS
from rlhf_demo.reward.gold import pairing_text
from rlhf_demo.ui.common import as_number, esc, user_errors
from rlhf_demo.ui.compare_view import (
    dpo_figure,
    dpo_frame,
    frontier_figure,
    frontier_frame,
    frontier_markdown,
    overopt_figures,
    overopt_markdown,
    recorded_caption,
)
from rlhf_demo.ui.instructor import UnlockPanel, locked, require
from rlhf_demo.workspace import Workspace

INTRO = """**Step 5 · Compare ways to optimise a preference.** PPO is one way to turn preferences into a better policy.
Here it meets two others that most practitioners use today, all measured the same way: how far the policy moved from
the base model (**KL**) against how good its replies are, judged by a reward model nobody optimised (**gold**)."""

WHY_GOLD = """**Why gold ≠ proxy.** The reward model PPO climbs (the *proxy*) is only an estimate of what people prefer,
learnt from a few pairs. Push hard enough and the policy finds replies the proxy over-rates: the proxy keeps rising
while true quality peaks and falls (Gao et al. 2022, *Scaling Laws for Reward Model Overoptimization*). We cannot ask
the class after every step, so a second reward model that nothing is optimised against (best trained on **more
data** than the proxy) stands in for the truth: the **gold** model. Run PPO in tab 4 (the reward-hacking demo, β = 0, shows it best): every
few steps both models score the same held-out replies."""

PRESET = """**Make a gold-labelled proxy** (the set-up of Gao et al.). The gold model plays the class: it judges pairs
of the policy's own replies, and a new reward model, the *proxy*, learns from only N of its judgements, so it is an
imperfect copy of gold. The proxy becomes the active model (what PPO and best-of-N optimise); gold stays gold, only
watched. **Then** run PPO's reward-hacking demo (β = 0) in tab 4, or best-of-N in the frontier below, and watch
whether gold levels off or turns down while the proxy keeps rising (the faint recorded runs: gold levelled off)."""

WHY_DPO = """**DPO (Rafailov et al. 2023) removes two things:** the reward model and the sampling. It turns each
preference pair straight into a loss on the policy's own log-probabilities (chosen up, rejected down, relative to the
frozen reference), so training is one supervised pass over the pairs: no replies are generated, nothing is scored.
β plays the role of PPO's KL coefficient. TRL's `DPOTrainer` with a LoRA adapter, on the same pairs the reward model
sees (the data plus the class's votes). A trained adapter joins the Vote tab and the frontier."""

WHY_BON = """**Best-of-N: no training at all.** Sample N replies from the base policy, keep the one the proxy likes
best. It **costs N× inference** on every request, forever, but its distance from the base policy is known in closed
form: KL = log N − (N−1)/N (0.19 nats for N = 2, 1.8 for N = 16). The frontier puts every method on one chart: at
equal KL, the higher gold score wins."""


@dataclass
class CompareTab:
    pairing: gr.Markdown
    gold: gr.Dropdown
    allow_same: gr.Checkbox
    set_gold: gr.Button
    preset_labels: gr.Slider
    preset_noise: gr.Slider
    preset_start: gr.Button
    preset_stop: gr.Button
    preset_status: gr.Markdown
    overopt_md: gr.Markdown
    overopt_plots: list  # gr.Plot: proxy vs gold against √KL, reply length, entropy
    overopt_caption: gr.Markdown  # where the faint recorded curves come from
    beta: gr.Number
    dpo_steps: gr.Slider
    use_votes: gr.Checkbox
    dpo_train: gr.Button
    dpo_stop: gr.Button
    dpo_status: gr.Markdown
    dpo_plot: gr.Plot
    dpo_table: gr.Dataframe
    ns: gr.CheckboxGroup
    n_prompts: gr.Slider
    frontier_start: gr.Button
    frontier_stop: gr.Button
    frontier_status: gr.Markdown
    frontier_plot: gr.Plot
    frontier_table: gr.Dataframe
    timer: gr.Timer
    seen: gr.State
    instructor_controls: list


def build(ws: Workspace) -> CompareTab:
    from rlhf_demo.dpo.config import DPOConfig

    d = DPOConfig()
    gr.Markdown(INTRO, elem_classes="rl-intro")
    gr.Markdown("### 1 · Over-optimisation: the proxy climbs, the gold score turns")
    gr.Markdown(WHY_GOLD)
    pairing = gr.Markdown(elem_id="cmp-pairing")
    with gr.Row(equal_height=True, elem_classes="rl-instructor"):
        gold = gr.Dropdown([], label="Gold reward model", scale=3, elem_id="cmp-gold",
                           info="default: the saved model other than the active one, trained on the most pairs")
        allow_same = gr.Checkbox(False, label="allow gold = proxy (the curves then coincide)", scale=2)
        set_gold = gr.Button("Use as gold", scale=1, elem_id="cmp-set-gold")
    preset = preset_box(ws)
    overopt_plots = [gr.Plot(label="Proxy vs gold", show_label=False, elem_id="cmp-overopt-plot")]
    overopt_caption = gr.Markdown(elem_id="cmp-overopt-recorded", elem_classes="rl-meta")
    overopt_md = gr.Markdown(elem_id="cmp-overopt-md")
    with gr.Row():  # side by side; stacked, each the full width, on a phone
        overopt_plots += [gr.Plot(show_label=False, elem_id=f"cmp-{what}-plot", min_width=300)
                          for what in ("length", "entropy")]

    gr.Markdown("### 2 · DPO: preferences straight into the policy")
    gr.Markdown(WHY_DPO)
    with gr.Row(equal_height=True, elem_classes="rl-instructor"):
        beta = gr.Number(d.beta, label="β (DPO's leash to the reference)", minimum=0.01, maximum=5, step=0.05,
                         elem_id="cmp-beta")
        dpo_steps = gr.Slider(1, 64, value=d.max_steps, step=1, label=f"steps ({d.per_device_train_batch_size} pairs each)",
                              elem_id="cmp-dpo-steps")
        use_votes = gr.Checkbox(True, label="add the class's votes")
    with gr.Row(elem_classes="rl-instructor"):
        dpo_train = gr.Button("Train DPO", variant="primary", elem_id="cmp-dpo-train")
        dpo_stop = gr.Button("Stop (keeps what is trained)", elem_id="cmp-dpo-stop")
    dpo_status = gr.Markdown(elem_id="cmp-dpo-status")
    dpo_plot = gr.Plot(label="DPO curves", show_label=False, elem_id="cmp-dpo-plot")
    dpo_table = gr.Dataframe(interactive=False, label="DPO adapters (each is a contestant in the Vote tab)",
                             elem_id="cmp-dpo-table")

    gr.Markdown("### 3 · Best-of-N and the reward–KL frontier")
    gr.Markdown(WHY_BON)
    with gr.Row(equal_height=True, elem_classes="rl-instructor"):
        ns = gr.CheckboxGroup([str(n) for n in FRONTIER_NS], value=[str(n) for n in FRONTIER_NS],
                              label="best-of-N: N", elem_id="cmp-ns")
        n_prompts = gr.Slider(4, 64, value=FRONTIER_PROMPTS, step=4, label="held-out prompts", elem_id="cmp-prompts")
    with gr.Row(elem_classes="rl-instructor"):
        frontier_start = gr.Button("Compute the frontier", variant="primary", elem_id="cmp-frontier")
        frontier_stop = gr.Button("Stop", elem_id="cmp-frontier-stop")
    gr.Markdown("Points: best-of-N for each N, every DPO adapter and every saved PPO checkpoint (save one in tab 4 to "
                "add the run). Sampled at temperature 0.7, 48 tokens, the same seeds for every method.",
                elem_classes="rl-status")
    frontier_status = gr.Markdown(elem_id="cmp-frontier-status")
    frontier_plot = gr.Plot(label="Reward–KL frontier", show_label=False, elem_id="cmp-frontier-plot")
    frontier_table = gr.Dataframe(interactive=False, label="Frontier points", elem_id="cmp-frontier-table")
    timer = gr.Timer(3.0)
    controls = [gold, allow_same, set_gold, *preset[:4], beta, dpo_steps, use_votes, dpo_train, dpo_stop, ns,
                n_prompts, frontier_start, frontier_stop]
    return CompareTab(pairing, gold, allow_same, set_gold, *preset, overopt_md, overopt_plots, overopt_caption, beta,
                      dpo_steps, use_votes, dpo_train, dpo_stop, dpo_status, dpo_plot, dpo_table, ns, n_prompts,
                      frontier_start, frontier_stop, frontier_status, frontier_plot, frontier_table, timer,
                      gr.State(None), controls)


def preset_box(ws: Workspace) -> tuple:
    """The "Make a gold-labelled proxy" box: what it does, its two settings and buttons (instructor only), and its
    progress line (everyone). The labels slider ends where the data's training prompts do."""
    lo, hi = N_LABELS
    most = len(ws.goodhart.prompts()) - PROXY_EVAL_PAIRS
    hi = min(hi, most) if most >= lo else hi  # too few prompts for any: Start says so
    with gr.Column(variant="panel", elem_id="cmp-preset"):
        gr.Markdown(PRESET)
        with gr.Row(equal_height=True, elem_classes="rl-instructor"):
            labels = gr.Slider(lo, hi, value=min(DEFAULT_LABELS, hi), step=10, label="gold labels (the proxy's pairs)",
                               info="how many of gold's judgements the proxy learns from", elem_id="cmp-preset-labels")
            noise = gr.Slider(0.0, MAX_NOISE, value=0.0, step=0.05, label="label noise",
                              info="share of labels flipped, like a class that disagrees", elem_id="cmp-preset-noise")
        with gr.Row(elem_classes="rl-instructor"):
            start = gr.Button("Start", variant="primary", elem_id="cmp-preset-start")
            stop = gr.Button("Stop", elem_id="cmp-preset-stop")
        status = gr.Markdown(elem_id="cmp-preset-status", elem_classes="rl-status")
    return labels, noise, start, stop, status


# ----------------------------------------------------------------------------- the actions (UI and API)


def set_gold(ws: Workspace, name, allow_same) -> str | None:
    return user_errors(ws.gold.set, name, bool(allow_same))


def start_dpo(ws: Workspace, beta, steps, use_votes) -> str:
    beta = as_number(beta, "β", 0.001, 10.0)
    steps = int(as_number(steps, "steps", 1, 500, whole=True))
    return user_errors(ws.dpo.start, beta, steps, bool(use_votes))


def start_gold_proxy(ws: Workspace, n_labels, noise) -> str:
    return user_errors(ws.goodhart.start, as_number(n_labels, "gold labels"), as_number(noise, "label noise"))


def preset_line(ws: Workspace) -> str:
    """The preset's progress and ETA while it runs, how it ended after; before: who would label."""
    snap = ws.goodhart.snapshot()
    if snap.state != "idle":
        return esc(snap.status_line())
    gold = ws.goodhart.gold_name()
    return (f"Labels by **{esc(gold)}** (the gold model). First the policy's replies are sampled and labelled, then the "
            "proxy trains like a reward model in tab 3; progress and time left show here." if gold else
            "No reward model yet: train one in tab 3 first (it becomes the gold model that labels).")


def start_frontier(ws: Workspace, ns, n_prompts) -> str:
    n_prompts = int(as_number(n_prompts, "held-out prompts", 1, 256, whole=True))
    return user_errors(ws.frontier.start, ns, n_prompts)


def status(ws: Workspace) -> dict:
    """The tab's state as every page sees it (also /compare_status)."""
    view = ws.ppo.run.view()
    preset = ws.goodhart.snapshot()
    return {"proxy": ws.reward.active, "gold": ws.gold.name(), "evals": view.evals, "eval_gold": view.gold_name,
            "dpo_adapters": ws.dpo.adapters(), "frontier": ws.frontier.last(),
            "gold_proxy": {"state": preset.state, "progress": preset.progress, "message": preset.message,
                           "eta_s": preset.eta, "error": preset.error, "result": preset.result}}


# ----------------------------------------------------------------------------- wiring


def wire(tab: CompareTab, ws: Workspace, demo: gr.Blocks, panel: UnlockPanel) -> None:
    private = dict(api_visibility="private")
    key = [panel.key]

    def job_line(kind: str, idle: str) -> str:
        snap = ws.jobs.snapshot(kind)
        return esc(snap.status_line()) if snap.state != "idle" else idle

    def refresh(seen):
        s = ws.ppo.run
        dpo, front = ws.jobs.snapshot("dpo"), ws.jobs.snapshot("frontier")
        models = ws.reward.models.list()
        proxy = ws.reward.active
        gold = ws.gold.name(proxy, models)
        stamp = (s.version, dpo.version, front.version, recorded.stamp(), proxy, gold, tuple(m["name"] for m in models))
        if seen is not None and tuple(seen) == stamp:
            return seen, *([gr.skip()] * (len(out) - 1))
        # the dropdown is set only when the models or the gold changed: a PPO step must not undo a pick in progress
        models_changed = seen is None or tuple(seen[4:]) != stamp[4:]
        view = s.view()
        by_name = {m["name"]: m for m in models}
        pairing = pairing_text(by_name.get(gold), by_name.get(proxy))
        if view.gold_name and view.gold_name != gold:
            pairing += f"  \n*The curves below were measured with {esc(view.gold_name)}; the next PPO run uses {esc(gold)}.*"
        result = ws.frontier.last()
        dpo_log = dpo.data.get("log", [])
        dropdown = gr.update(choices=[m["name"] for m in models], value=gold) if models_changed else gr.skip()
        reference = recorded.load()  # the recorded runs, drawn faintly behind the live curves (None: no file)
        return (list(stamp), pairing, dropdown,
                overopt_markdown(view.evals, view.history, view.config.get("response_length"), s.eval_every,
                                 reference),
                *overopt_figures(view.evals, view.history, reference), recorded_caption(reference),
                job_line("dpo", "No DPO run yet in this session: press *Train DPO*."), dpo_figure(dpo_log),
                dpo_frame(ws.dpo.adapters()),
                job_line("frontier", "") + ("  \n" if front.state != "idle" else "") + frontier_markdown(result),
                frontier_figure(result), frontier_frame(result))

    def on_gold(name, allow_same):
        now = set_gold(ws, name, allow_same)
        gr.Info(f"Gold reward model: {now}.")
        return None  # the poll redraws with the new pairing

    tab.set_gold.click(locked(ws, on_gold), [*key, tab.gold, tab.allow_same], [tab.seen], **private)
    tab.dpo_train.click(locked(ws, lambda b, s, v: start_dpo(ws, b, s, v)), [*key, tab.beta, tab.dpo_steps, tab.use_votes],
                        [tab.dpo_status], **private)
    tab.dpo_stop.click(locked(ws, ws.dpo.stop), key, [tab.dpo_status], **private)
    tab.frontier_start.click(locked(ws, lambda ns, n: start_frontier(ws, ns, n)), [*key, tab.ns, tab.n_prompts],
                             [tab.frontier_status], **private)
    tab.frontier_stop.click(locked(ws, ws.frontier.stop), key, [tab.frontier_status], **private)
    tab.preset_start.click(locked(ws, lambda n, noise: start_gold_proxy(ws, n, noise)),
                           [*key, tab.preset_labels, tab.preset_noise], [tab.preset_status], **private)
    tab.preset_stop.click(locked(ws, ws.goodhart.stop), key, [tab.preset_status], **private)
    out = [tab.seen, tab.pairing, tab.gold, tab.overopt_md, *tab.overopt_plots, tab.overopt_caption, tab.dpo_status,
           tab.dpo_plot, tab.dpo_table, tab.frontier_status, tab.frontier_plot, tab.frontier_table]
    for event in (tab.timer.tick, demo.load):  # the preset's line on its own: its progress redraws no figure
        event(refresh, [tab.seen], out, show_progress="hidden", **private)
        event(lambda: preset_line(ws), None, [tab.preset_status], show_progress="hidden", **private)

    # -- the API: instructor actions take the key first ------------------------------------------------
    def gold_set(key: str, name: str = "", allow_same: bool = False) -> dict:
        """Pick the gold reward model ("" = the default). Instructor only."""
        require(ws, key)
        return {"gold": set_gold(ws, name, allow_same), "proxy": ws.reward.active}

    def dpo_train(key: str, beta: float = 0.1, steps: int = 8, use_votes: bool = True) -> dict:
        """Train a DPO adapter as a background job. Instructor only."""
        require(ws, key)
        return {"status": start_dpo(ws, beta, steps, use_votes)}

    def gold_proxy_start(key: str, n_labels: int = DEFAULT_LABELS, noise: float = 0.0) -> dict:
        """Make a gold-labelled proxy as a background job: the gold model labels pairs of the policy's replies, a
        proxy learns from `n_labels` of them and becomes the active model. Instructor only."""
        require(ws, key)
        return {"status": start_gold_proxy(ws, n_labels, noise)}

    def frontier_start(key: str, best_of: str = "1,2,4,8,16", prompts: int = FRONTIER_PROMPTS) -> dict:
        """Compute the reward–KL frontier as a background job. Instructor only."""
        require(ws, key)
        return {"status": start_frontier(ws, [n.strip() for n in str(best_of).split(",") if n.strip()], prompts)}

    def compare_status() -> dict:
        """Gold and proxy, PPO's gold evaluations, DPO adapters and the last frontier."""
        return status(ws)

    for fn in (gold_set, dpo_train, gold_proxy_start, frontier_start, compare_status):
        gr.api(fn, api_name=fn.__name__)
