"""PPO tab: watch the policy change step by step to earn more reward, held back by a KL penalty."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import gradio as gr
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from rlhf_demo.data.hh import last_question
from rlhf_demo.jobs import JobBusy  # noqa: E402
from rlhf_demo.ppo.config import GROUP_SIZE, HACK_SETTINGS, PPOConfig  # noqa: E402
from rlhf_demo.ppo.session import PPOSession, SessionView  # noqa: E402
from rlhf_demo.ui.common import error, esc  # noqa: E402
from rlhf_demo.workspace import Workspace  # noqa: E402

INTRO = """**Step 4 · Reinforcement learning with PPO.** The policy writes replies, the reward model (tab 3) scores
them, and PPO nudges the policy towards replies that score higher. A KL penalty (β) keeps it close to a **frozen
copy** of itself, so it cannot drift into text that fools the reward model. Press *Start* and watch the probe replies
change."""

CONCEPTS = {
    "frozen": "**Frozen copy (reference).** The same base model with the LoRA adapter switched off: no second copy in "
              "memory. The KL of each token compares the policy's probability of it with the reference's.",
    "kl": "**KL penalty.** Every generated token costs β × (log π(token) − log π_ref(token)). "
          "Objective = score − β·KL. β = 0 removes the leash (see the reward-hacking demo).",
    "advantage": "**Advantage.** How much better a token turned out than the value head expected (GAE, γ = 1, "
                 "λ = 0.95, whitened per batch). Positive: make that token more likely.",
    "clip": "**Clipping.** PPO limits each update: the probability ratio new/old is clipped to 1 ± 0.2, so one batch "
            "cannot move the policy far (`policy/clipfrac_avg` = share of clipped tokens). The first pass over a batch "
            "has ratio 1; clipping shows from the second PPO epoch on.",
}

HACK_TEXT = """**Reward-hacking demo.** β is now **0**, the learning rate higher and *Steps to run* {steps}. Press *Start*
(or keep it running) and watch `objective/scores` climb while `objective/kl` explodes and the probe replies drift into
text the reward model happens to like: the reward model is only an imperfect proxy of human judgement. Then press
**Reset to base policy**, put β back (*Restore β*) and run again: the KL penalty holds the policy close to the
reference, so KL stays small and the replies stay like the base model's, while the score moves far less."""

PLOTS = [("objective/scores", "score (base policy = 0 ± 1)"), ("objective/kl", "KL(policy ‖ reference)"),
         ("objective/rlhf_reward", "score − β·KL"), ("objective/entropy", "entropy (nats/reply)"),
         ("policy/approxkl_avg", "approx KL per update"), ("policy/clipfrac_avg", "clip fraction"),
         ("loss/policy_avg", "policy loss"), ("loss/value_avg", "value loss"), ("val/ratio", "ratio new/old")]
PROBE_COLUMNS = ["step", "probe", "score", "KL", "reply"]  # the long reply last, so the numbers never scroll away
LR_CHOICES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2]
BASELINES = [(f"group: {GROUP_SIZE} replies per prompt, each against the others' mean (RLOO)", "group"),
             ("value head: PPO's learned critic + GAE", "value")]


def hack_steps(ws: Workspace) -> int:
    """Steps of the reward-hacking demo: about 10 minutes on 2 CPU cores (the tiny policy steps far faster)."""
    return 150 if ws.policy_choice.name == "tiny" else 30


@dataclass
class PPOTab:
    kl_coef: gr.Slider
    lr: gr.Dropdown
    batch_size: gr.Slider
    baseline: gr.Radio
    response_length: gr.Slider
    temperature: gr.Slider
    epochs: gr.Slider
    steps: gr.Number
    start: gr.Button
    pause: gr.Button
    stop: gr.Button
    reset: gr.Button
    hack: gr.Button
    restore: gr.Button
    hack_md: gr.Markdown
    ckpt_name: gr.Textbox
    save: gr.Button
    status: gr.Markdown
    plots: gr.Plot
    probe_compare: gr.HTML
    probe_table: gr.Dataframe
    samples: gr.HTML
    checkpoints: gr.Dataframe
    timer: gr.Timer
    seen: gr.State
    resume: gr.Button  # "Resume the run from step K": shown when a restart interrupted an autosaved run


# ----------------------------------------------------------------------------- rendering (pure)


SMOOTH_FROM = 10  # with at least this many steps, each plot also shows a smoothed line (the raw one is faded)


def smooth(values: list[float], weight: float = 0.85) -> list[float]:
    """TensorBoard's smoothing: a bias-corrected exponential moving average. NaNs are skipped (and stay NaN)."""
    out, avg, norm = [], 0.0, 0.0
    for v in values:
        if v != v:  # NaN: no information at this step
            out.append(math.nan)
            continue
        avg = weight * avg + (1 - weight) * v
        norm = weight * norm + (1 - weight)
        out.append(avg / norm)
    return out


def metrics_figure(history: list[dict]):
    """3×3 small multiples of TRL's metrics, plus reward against √KL. Long runs get a smoothed trend line."""
    fig, axes = plt.subplots(2, 5, figsize=(13, 4.6), dpi=90)
    steps = [h.get("step", i + 1) for i, h in enumerate(history)]
    long_run = len(steps) >= SMOOTH_FROM
    for ax, (key, title) in zip(axes.flat, PLOTS):
        ys = [h.get(key, math.nan) for h in history]
        ax.plot(steps, ys, marker="o" if len(steps) < 30 else None, ms=3, lw=1.0 if long_run else 1.4,
                color="#4f46e5", alpha=0.3 if long_run else 1.0)
        if long_run:
            ax.plot(steps, smooth(ys), lw=1.8, color="#4f46e5")
        ax.set_title(f"{key}\n{title}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
    ax = axes.flat[-1]
    kl = [max(h.get("objective/kl", 0.0), 0.0) ** 0.5 for h in history]
    sc = [h.get("objective/scores", math.nan) for h in history]
    ax.scatter(kl, sc, c=steps, cmap="viridis", s=12)
    ax.set_title("score vs √KL\n(colour = step)", fontsize=8)
    ax.set_xlabel("√KL", fontsize=7)
    ax.tick_params(labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    if not history:
        for ax in axes.flat:
            ax.text(0.5, 0.5, "no steps yet", ha="center", va="center", fontsize=8, transform=ax.transAxes)
    fig.tight_layout()
    plt.close(fig)
    return fig


def kl_shaded(tokens: list[str], token_kl: list[float], scale: float) -> str:
    """Each token on a red background whose strength is its KL (where the policy moved away from the reference)."""
    out = []
    for t, k in zip(tokens, token_kl):
        a = 0.0 if scale <= 0 else min(max(k, 0.0) / scale, 1.0) * 0.75
        out.append(f'<span title="KL {k:+.3f}" style="background: rgba(220,38,38,{a:.2f}); border-radius: 2px">'
                   f"{html.escape(t).replace(chr(10), '↵<br>')}</span>")
    return "".join(out)


def samples_html(samples: list[dict], limit: int = 4) -> str:
    if not samples:
        return '<div class="rl-empty">The latest replies appear here once PPO runs.</div>'
    scale = max((max(s["token_kl"], default=0.0) for s in samples[:limit]), default=0.0) or 1.0
    rows = []
    for s in samples[:limit]:
        q = last_question(s["prompt"])
        rows.append(f'<div class="rl-final" style="margin-bottom:8px"><div class="rl-meta">Human: {esc(q[-200:])}</div>'
                    f'{kl_shaded(s["tokens"], s["token_kl"], scale)}'
                    f'<div class="rl-meta">score {s["score"]:+.3f} · KL {s["kl"]:.3f}</div></div>')
    return ('<div class="rl-meta">Darker red = larger per-token KL: where the policy now differs most from the frozen '
            f'reference (scale: max {scale:.3f}).</div>' + "".join(rows))


def probe_compare_html(view: SessionView) -> str:
    if not view.probes:
        return '<div class="rl-empty">Probe replies appear at step 0, when PPO starts.</div>'
    first = min(p.step for p in view.probes)
    last = max(p.step for p in view.probes)
    by = {(p.step, p.probe): p for p in view.probes}
    rows = []
    for i, prompt in enumerate(sorted({p.probe for p in view.probes})):
        p0, pn = by.get((first, prompt)), by.get((last, prompt))
        if p0 is None or pn is None:
            continue
        q = last_question(p0.prompt)
        rows.append(f'<div class="rl-meta" style="margin-top:8px"><b>Human:</b> {esc(q)}</div><div class="rl-finals">'
                    f'<div class="rl-final"><h4>step {p0.step} <span class="rl-meta">score {p0.score:+.3f}</span></h4>{esc(p0.reply) or "<i>(empty)</i>"}</div>'
                    f'<div class="rl-final rl-chosen"><h4>step {pn.step} (now) <span class="rl-meta">score {pn.score:+.3f} · KL {pn.kl:.3f}</span></h4>'
                    f'{esc(pn.reply) or "<i>(empty)</i>"}</div></div>')
    return "".join(rows)


def probe_frame(view: SessionView) -> pd.DataFrame:
    rows = [{"step": p.step, "probe": p.probe + 1, "reply": p.reply, "score": round(p.score, 3), "KL": round(p.kl, 3)}
            for p in sorted(view.probes, key=lambda p: (-p.step, p.probe))]
    return pd.DataFrame(rows, columns=PROBE_COLUMNS)


def checkpoints_frame(view: SessionView) -> pd.DataFrame:
    rows = [{"name": c["name"], "step": c["step"], "score": None if c["score"] is None else round(c["score"], 3),
             "KL": None if c["kl"] is None else round(c["kl"], 3), "saved": c["saved"]} for c in view.checkpoints]
    return pd.DataFrame(rows, columns=["name", "step", "score", "KL", "saved"])


# ----------------------------------------------------------------------------- building


def resume_label(saved: dict | None) -> str:
    if not saved:
        return "Resume"
    return f"Resume the run from step {saved['step']} (saved {saved['saved']}, reward model {saved['reward_name']})"


def build(ws: Workspace) -> PPOTab:
    d = PPOConfig()
    gr.Markdown(INTRO + f"  \nPolicy: **{ws.policy_choice.label()}**, with a LoRA adapter in its top {d.lora_layers} "
                f"blocks; each step writes {d.batch_size} replies, {d.samples_per_prompt} to each of "
                f"{d.batch_size // d.samples_per_prompt} prompts.", elem_classes="rl-intro")
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            kl_coef = gr.Slider(0.0, 0.5, value=d.kl_coef, step=0.01, label="β (KL coefficient)", elem_id="ppo-beta")
            lr = gr.Dropdown(LR_CHOICES, value=d.learning_rate if d.learning_rate in LR_CHOICES else LR_CHOICES[2],
                             label="Learning rate", elem_id="ppo-lr")
            batch_size = gr.Slider(4, 32, value=d.batch_size, step=4, label="Batch size (replies per step)")
            baseline = gr.Radio(BASELINES, value=d.baseline, label="Advantage baseline", elem_id="ppo-baseline",
                                info="what a reply's score is compared with to decide whether to reinforce it")
            response_length = gr.Slider(8, 96, value=d.response_length, step=4, label="Response length (max new tokens)")
            temperature = gr.Slider(0.3, 1.5, value=d.temperature, step=0.05, label="Temperature")
            epochs = gr.Slider(1, 4, value=ws.ppo.config.num_ppo_epochs, step=1, label="PPO epochs per batch",
                               info="passes over each batch; with 1 the ratio stays 1, so nothing is clipped",
                               elem_id="ppo-epochs")
            steps = gr.Number(20, precision=0, minimum=1, maximum=1000, label="Steps to run", elem_id="ppo-steps")
            with gr.Row():
                start = gr.Button("Start", variant="primary", elem_id="ppo-start")
                pause = gr.Button("Pause / Resume", elem_id="ppo-pause")
            with gr.Row():
                stop = gr.Button("Stop", variant="stop", elem_id="ppo-stop")
                reset = gr.Button("Reset to base policy", elem_id="ppo-reset")
            with gr.Row():
                hack = gr.Button("Reward-hacking demo (β = 0)", elem_id="ppo-hack")
                restore = gr.Button("Restore β", elem_id="ppo-restore")
            hack_md = gr.Markdown()
            with gr.Row(equal_height=True):
                ckpt_name = gr.Textbox(label="Checkpoint name", placeholder="default: ppo-step<N>", scale=2)
                save = gr.Button("Save checkpoint", scale=1, elem_id="ppo-save")
            gr.Markdown("Saved checkpoints join the **Vote** tab as contestants: vote *before vs after PPO*.",
                        elem_classes="rl-status")
        with gr.Column(scale=3):
            status = gr.Markdown("Idle.", elem_id="ppo-status")
            resume = gr.Button(resume_label(ws.ppo.resumable), visible=ws.ppo.resumable is not None,
                               variant="primary", elem_id="ppo-resume")
            plots = gr.Plot(label="Metrics per PPO step (TRL's names)", show_label=False, elem_id="ppo-plots")
            with gr.Row():
                for key in ("frozen", "kl", "advantage", "clip"):
                    gr.Markdown(CONCEPTS[key], elem_classes="rl-status")
    gr.Markdown("### Probe prompts: step 0 vs now")
    probe_compare = gr.HTML(elem_id="ppo-probes")
    with gr.Accordion("Evolution table (every probe, every K steps)", open=False):
        probe_table = gr.Dataframe(pd.DataFrame(columns=PROBE_COLUMNS), interactive=False,
                                   wrap=True, column_widths=["7%", "7%", "9%", "9%", "68%"],
                                   elem_id="ppo-probe-table")
    gr.Markdown("### Latest samples, shaded by per-token KL")
    samples = gr.HTML(elem_id="ppo-samples")
    skipped = ws.ppo.skipped_checkpoints
    label = "Checkpoints" + (f" (left out, incomplete: {', '.join(skipped)})" if skipped else "")
    checkpoints = gr.Dataframe(checkpoints_frame(ws.ppo.view()), interactive=False, label=label,
                               elem_id="ppo-checkpoints")
    timer = gr.Timer(1.5)
    return PPOTab(kl_coef, lr, batch_size, baseline, response_length, temperature, epochs, steps, start, pause, stop, reset, hack, restore,
                  hack_md, ckpt_name, save, status, plots, probe_compare, probe_table, samples, checkpoints, timer,
                  gr.State((-1, -1)), resume)


def wire(tab: PPOTab, ws: Workspace, demo: gr.Blocks) -> None:
    private = dict(api_visibility="private")
    defaults = PPOConfig()

    def session() -> PPOSession:
        return ws.ppo

    def apply(beta, lr, bs, baseline, length, temp, epochs):
        k = GROUP_SIZE if baseline == "group" else 1
        try:
            session().set_live(kl_coef=float(beta), learning_rate=float(lr), batch_size=int(bs), baseline=baseline,
                               samples_per_prompt=k, response_length=int(length), temperature=float(temp),
                               num_ppo_epochs=int(epochs))
        except ValueError as e:
            raise error(str(e)) from e

    def start(beta, lr, bs, baseline, length, temp, epochs, n):
        apply(beta, lr, bs, baseline, length, temp, epochs)
        if n is None or int(n) < 1 or int(n) > 1000:
            raise error("Steps to run must be between 1 and 1000.")
        if ws.reward_models.active is None:
            raise error("No active reward model yet: train one in the Reward model tab first.")
        s = session()
        if s.built and s.reward_name != ws.reward_models.active:
            s.reset(rebuild=True)  # another reward model became active: start over with it
        try:
            ws.jobs.submit("ppo", "PPO", lambda ctx: s.run(ctx, int(n)))
        except JobBusy as e:
            raise error(str(e)) from e
        return "Starting…"

    def pause():
        snap = ws.jobs.snapshot()
        if snap.kind != "ppo" or not snap.active:
            raise error("PPO is not running.")
        if not ws.jobs.pause():
            ws.jobs.resume()

    def stop():
        snap = ws.jobs.snapshot()
        if snap.kind == "ppo":
            ws.jobs.stop()

    def reset():
        if ws.jobs.snapshot("ppo").active:
            raise error("Stop the run before resetting.")
        session().reset(rebuild=session().reward_name not in (None, ws.reward_models.active))
        return gr.update(value=defaults.kl_coef)

    def hack():
        session().set_live(**HACK_SETTINGS)
        n = hack_steps(ws)
        return HACK_SETTINGS["kl_coef"], HACK_SETTINGS["learning_rate"], n, HACK_TEXT.format(steps=n)

    def restore():
        session().set_live(kl_coef=defaults.kl_coef, learning_rate=defaults.learning_rate)
        return defaults.kl_coef, defaults.learning_rate, ("β is back to its default. Reset to the base policy and run "
                                                          "again to compare.")

    def resume():
        if ws.jobs.snapshot("ppo").active:
            raise error("A run is in progress: stop it first.")
        s = session()
        saved = s.resumable
        if saved is None:
            raise error("There is no saved run to resume.")
        if saved["reward_name"] != ws.reward_models.active:
            if saved["reward_name"] is None or not ws.reward_models.exists(saved["reward_name"]):
                raise error(f"The saved run was trained against reward model {saved['reward_name']!r}, which is gone.")
            ws.reward_models.set_active(saved["reward_name"])  # the run continues against the model it was trained on
        try:
            s.resume()
        except (ValueError, OSError) as e:
            raise error(str(e)) from e
        gr.Info(f"Resumed the run at step {saved['step']}: press Start to continue it.")
        return gr.update(visible=False)

    def save(name):
        try:
            info = session().save_checkpoint(name)
        except (ValueError, OSError) as e:
            raise error(str(e)) from e
        gr.Info(f"Saved {info['name']} (step {info['step']}): it is now a contestant in the Vote tab.")
        return ""

    def refresh(seen):
        s = session()
        snap = ws.jobs.snapshot("ppo")
        key = (s.version, snap.version)
        if tuple(seen) == key:
            return seen, *([gr.skip()] * 8)
        view = s.view()
        reward = view.reward_name or ws.reward_models.active or "none (train one in tab 3)"
        run = snap.status_line() if snap.state != "idle" else "Idle: press Start."
        if view.resumable is not None and snap.state == "idle":
            run = (f"A run was interrupted at step {view.resumable['step']} (saved {view.resumable['saved']}): "
                   "press Resume to continue it, with its curves, or Start for a new run from the base policy.")
        status = f"{esc(run)}  \n**Step {view.step}** · reward model: **{esc(reward)}** · β = {view.config['kl_coef']:g}"
        if view.score_norm is not None and view.config.get("normalize_scores"):
            mu, sd = view.score_norm
            status += (f" · scores normalised: 0 = the base policy's average ({mu:+.3g} raw), "
                       f"1 = one standard deviation ({sd:.3g} raw)")
        same_plot = seen[0] == s.version and seen[0] != -1
        return (key, status, gr.skip() if same_plot else metrics_figure(view.history),
                gr.skip() if same_plot else probe_compare_html(view), gr.skip() if same_plot else probe_frame(view),
                gr.skip() if same_plot else samples_html(view.samples), gr.skip() if same_plot else checkpoints_frame(view),
                gr.skip(), gr.update(visible=view.resumable is not None, value=resume_label(view.resumable)))

    live = [tab.kl_coef, tab.lr, tab.batch_size, tab.baseline, tab.response_length, tab.temperature, tab.epochs]
    for comp in live:
        comp.change(apply, live, None, show_progress="hidden", **private)
    tab.start.click(start, [*live, tab.steps], [tab.status], **private)
    tab.pause.click(pause, None, None, **private)
    tab.stop.click(stop, None, None, **private)
    tab.reset.click(reset, None, [tab.kl_coef], **private)
    tab.hack.click(hack, None, [tab.kl_coef, tab.lr, tab.steps, tab.hack_md], **private)
    tab.restore.click(restore, None, [tab.kl_coef, tab.lr, tab.hack_md], **private)
    tab.save.click(save, [tab.ckpt_name], [tab.ckpt_name], **private)
    tab.resume.click(resume, None, [tab.resume], **private)
    out = [tab.seen, tab.status, tab.plots, tab.probe_compare, tab.probe_table, tab.samples, tab.checkpoints, tab.hack_md,
           tab.resume]
    tab.timer.tick(refresh, [tab.seen], out, show_progress="hidden", **private)
    demo.load(refresh, [tab.seen], out, show_progress="hidden", **private)

    def current_settings():
        """A page opened mid-run shows the run's settings, not the defaults."""
        c = session().config
        lr = c.learning_rate if c.learning_rate in LR_CHOICES else min(LR_CHOICES, key=lambda x: abs(x - c.learning_rate))
        return c.kl_coef, lr, c.batch_size, c.baseline, c.response_length, c.temperature, c.num_ppo_epochs

    demo.load(current_settings, None, live, show_progress="hidden", **private)
