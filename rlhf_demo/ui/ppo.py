"""PPO tab: watch the policy change step by step to earn more reward, held back by a KL penalty."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from rlhf_demo.jobs import JobBusy
from rlhf_demo.ppo.config import GROUP_SIZE, HACK_SETTINGS, PPOConfig
from rlhf_demo.ppo.session import PPOSession
from rlhf_demo.settings import shorten
from rlhf_demo.ui.common import as_number, as_text, error, esc
from rlhf_demo.ui.lock import UnlockPanel, locked, require
from rlhf_demo.ui.ppo_view import (
    LIVE_CONTROLS,
    LR_CHOICES,
    PROBE_COLUMNS,
    checkpoints_frame,
    metrics_figure,
    probe_compare_html,
    probe_frame,
    samples_html,
    settings_line,
    settings_values,
)
from rlhf_demo.workspace import Workspace

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
text the reward model happens to like: the reward model is only an imperfect proxy of human judgement (tab 5 shows
a **gold** reward model's verdict on the same run: when it stops rising and falls while this score climbs, the policy
is exploiting the proxy). Then press
**Reset to base policy**, put β back (*Restore β*) and run again: the KL penalty holds the policy close to the
reference, so KL stays small and the replies stay like the base model's, while the score moves far less."""

# the four plots a class watches (big, readable at 3 m on a projector); the rest of TRL's metrics behind "More metrics"
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
    more_plots: gr.Plot  # the six diagnostics, behind "More metrics"
    instructor_controls: list  # greyed out for students when the instructor lock is on
    discard: gr.Button | None = None  # "Discard the saved run": shown with Resume

    @property
    def live(self) -> list:
        """The controls of the shared run's live settings, in LIVE_CONTROLS order."""
        return [getattr(self, name) for name in LIVE_CONTROLS]


# ----------------------------------------------------------------------------- building


DISCARD_LABEL = "Discard the saved run"


def resumable_info(saved: dict | None) -> dict | None:
    """The saved run that can be resumed, as /ppo_status tells it (None: there is none)."""
    if not saved:
        return None
    return {"step": saved["step"], "saved": saved["saved"], "reward_model": saved["reward_name"]}


def resume_label(saved: dict | None) -> str:
    if not saved:
        return "Resume"
    return f"Resume the run from step {saved['step']} (saved {saved['saved']}, reward model {saved['reward_name']})"


def checkpoints_label(session: PPOSession) -> str:
    """The checkpoint table's title, naming the folders left out: incomplete ones (a killed save) and those whose
    weights are NaN or infinite (never listed, never an arena contestant)."""
    skipped = session.skipped_checkpoints
    label = "Checkpoints" + (f" (left out, incomplete: {', '.join(skipped)})" if skipped else "")
    return label + "".join(f" · left out: {name}, {why}" for name, why in session.refused_checkpoints.items())


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
            temperature = gr.Slider(0.3, 1.5, value=d.temperature, step=0.05, label="Temperature", elem_id="ppo-temperature")
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
            with gr.Row():
                resume = gr.Button(resume_label(ws.ppo.resumable), visible=ws.ppo.resumable is not None,
                                   variant="primary", elem_id="ppo-resume", scale=3)
                discard = gr.Button(DISCARD_LABEL, visible=ws.ppo.resumable is not None, variant="stop",
                                    elem_id="ppo-discard", scale=1)
            plots = gr.Plot(label="Metrics per PPO step (TRL's names)", show_label=False, elem_id="ppo-plots")
            with gr.Accordion("More metrics: entropy, approx KL, clipping, losses, ratio", open=False):
                more_plots = gr.Plot(show_label=False, elem_id="ppo-more-plots")
            with gr.Row():
                for key in ("frozen", "kl", "advantage", "clip"):
                    with gr.Column(min_width=240):  # on a phone: stacked, not four narrow slivers
                        gr.Markdown(CONCEPTS[key], elem_classes="rl-status")
    gr.Markdown("### Probe prompts: step 0 vs now")
    probe_compare = gr.HTML(elem_id="ppo-probes")
    with gr.Accordion("Evolution table (every probe, every K steps)", open=False):
        probe_table = gr.Dataframe(pd.DataFrame(columns=PROBE_COLUMNS), interactive=False,
                                   wrap=True, column_widths=["7%", "7%", "9%", "9%", "68%"],
                                   elem_id="ppo-probe-table")
    gr.Markdown("### Latest samples, shaded by per-token KL")
    samples = gr.HTML(elem_id="ppo-samples")
    checkpoints = gr.Dataframe(checkpoints_frame(ws.ppo.view()), interactive=False, label=checkpoints_label(ws.ppo),
                               elem_id="ppo-checkpoints")
    timer = gr.Timer(1.5)
    controls = [kl_coef, lr, batch_size, baseline, response_length, temperature, epochs, steps, start, pause, stop,
                reset, hack, restore, ckpt_name, save, resume, discard]
    return PPOTab(kl_coef, lr, batch_size, baseline, response_length, temperature, epochs, steps, start, pause, stop,
                  reset, hack, restore, hack_md, ckpt_name, save, status, plots, probe_compare, probe_table, samples,
                  checkpoints, timer, gr.State((-1, -1, None)), resume, more_plots, controls, discard=discard)


def wire(tab: PPOTab, ws: Workspace, demo: gr.Blocks, panel: UnlockPanel) -> None:
    """Every action that changes the shared run is an instructor action (locked when a key is set): in the UI it takes
    the session's key state first, over the API the key itself. Nothing changes a setting as a side effect: each
    control sends only its own field, on the user's own input, and every page polls the settings in use."""
    private = dict(api_visibility="private")
    defaults = PPOConfig()

    def session() -> PPOSession:
        return ws.ppo

    # -- the actions (shared by the UI and the API) ---------------------------------------------------
    def change_settings(**values) -> dict:
        """Validate and queue live settings (applied between steps); returns the settings in use."""
        kinds = {"kl_coef": float, "learning_rate": float, "batch_size": int, "response_length": int,
                 "temperature": float, "num_ppo_epochs": int}
        clean = {}
        for name, value in values.items():
            if value is None:
                continue
            if name == "baseline":
                if value not in ("group", "value"):
                    raise error(f"baseline must be 'group' or 'value', got {shorten(value)}")
                clean["baseline"], clean["samples_per_prompt"] = value, GROUP_SIZE if value == "group" else 1
            else:
                clean[name] = kinds[name](as_number(value, name, whole=kinds[name] is int))
        try:
            session().set_live(**clean)
        except ValueError as e:
            raise error(str(e)) from e
        return session().view().config

    def start_run(n) -> str:
        n = int(as_number(n, "Steps to run", 1, 1000, whole=True))
        if ws.reward_models.active is None:
            raise error("No active reward model yet: train one in the Reward model tab first.")
        s = session()
        if ws.jobs.snapshot("ppo").active:
            raise error("PPO is already running.")
        if s.built and s.reward_name != ws.reward_models.active:
            s.reset(rebuild=True)  # another reward model became active: start over with it
        try:
            ws.jobs.submit("ppo", "PPO", lambda ctx: s.run(ctx, n))
        except JobBusy as e:
            raise error(str(e)) from e
        return "Starting…"

    def pause_run() -> str:
        snap = ws.jobs.snapshot()
        if snap.kind != "ppo" or not snap.active:
            raise error("PPO is not running.")
        if ws.jobs.pause():
            return "paused"
        ws.jobs.resume()
        return "running"

    def stop_run() -> str:
        snap = ws.jobs.snapshot()
        if snap.kind != "ppo" or not snap.active:
            return "not running"
        ws.jobs.stop()
        return "stopping"

    def reset_run() -> str:
        if ws.jobs.snapshot("ppo").active:
            raise error("Stop the run before resetting.")
        session().reset(rebuild=session().reward_name not in (None, ws.reward_models.active))
        return "reset to the base policy"

    def hack_demo() -> int:
        session().set_live(**HACK_SETTINGS)
        return hack_steps(ws)

    def restore_beta() -> None:
        session().set_live(kl_coef=defaults.kl_coef, learning_rate=defaults.learning_rate)

    def resume_run() -> dict:
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
        return saved

    def discard_run() -> dict:
        try:
            return session().discard()
        except (ValueError, OSError) as e:
            raise error(str(e)) from e

    def save_checkpoint(name) -> dict:
        try:
            return session().save_checkpoint(as_text(name, "checkpoint name", 200, allow_empty=True).strip() or None)
        except (ValueError, OSError) as e:
            raise error(str(e)) from e

    # -- the UI -------------------------------------------------------------------------------------------
    def on_hack():
        n = hack_demo()
        return HACK_SETTINGS["kl_coef"], HACK_SETTINGS["learning_rate"], n, HACK_TEXT.format(steps=n)

    def on_restore():
        restore_beta()
        return defaults.kl_coef, defaults.learning_rate, ("β is back to its default. Reset to the base policy and run "
                                                          "again to compare.")

    def on_resume():
        saved = resume_run()
        gr.Info(f"Resumed the run at step {saved['step']}: press Start to continue it.")
        return gr.update(visible=False)

    def on_discard():
        saved = discard_run()
        gr.Info(f"Discarded the saved run of step {saved['step']} (saved {saved['saved']}).")

    def on_save(name):
        info = save_checkpoint(name)
        gr.Info(f"Saved {info['name']} (step {info['step']}): it is now a contestant in the Vote tab.")
        return ""

    def refresh(seen):
        s = session()
        snap = ws.jobs.snapshot("ppo")
        view = s.view()
        settings = tuple(settings_values(view.config))
        key = (s.version, snap.version, list(settings))
        if list(seen) == key:
            return seen, *([gr.skip()] * (10 + len(settings)))
        reward = view.reward_name or ws.reward_models.active or "none (train one in tab 3)"
        run = snap.status_line() if snap.state != "idle" else "Idle: press Start."
        if view.resumable is not None and snap.state == "idle":
            run = (f"A saved run can be resumed from step {view.resumable['step']} (saved {view.resumable['saved']}): "
                   "press Resume to continue it, with its curves, or Discard to delete it. Start trains the policy "
                   "shown here and keeps the saved run.")
        status = f"{esc(run)}  \n**Step {view.step}** · reward model: **{esc(reward)}**"
        if view.score_norm is not None and view.config.get("normalize_scores"):
            mu, sd = view.score_norm
            status += (f" · scores normalised: 0 = the base policy's average ({mu:+.3g} raw), "
                       f"1 = one standard deviation ({sd:.3g} raw)")
        status += "  \n" + settings_line(view.config)
        same_plot = seen[0] == s.version and seen[0] != -1
        same_settings = seen[2] is not None and tuple(seen[2]) == settings
        plot = (lambda fn, *a: gr.skip() if same_plot else fn(*a))  # noqa: E731
        return (key, status, plot(metrics_figure, view.history), plot(metrics_figure, view.history, True),
                plot(probe_compare_html, view), plot(probe_frame, view), plot(samples_html, view.samples),
                plot(checkpoints_frame, view), gr.skip(),
                gr.update(visible=view.resumable is not None, value=resume_label(view.resumable)),
                gr.update(visible=view.resumable is not None),
                *([gr.skip()] * len(settings) if same_settings else settings))

    def one_setting(field: str):
        return lambda value: change_settings(**{field: value}) and None

    key = [panel.key]
    for name, field in LIVE_CONTROLS.items():
        # .input fires on the user's own edit only (never when a poll or another handler sets the value), and it
        # sends just this control's field: no page can reset another setting by accident
        getattr(tab, name).input(locked(ws, one_setting(field)), [*key, getattr(tab, name)], None,
                                 trigger_mode="always_last", show_progress="hidden", **private)
    tab.start.click(locked(ws, start_run), [*key, tab.steps], [tab.status], **private)
    tab.pause.click(locked(ws, pause_run), key, None, **private)
    tab.stop.click(locked(ws, stop_run), key, None, **private)
    tab.reset.click(locked(ws, reset_run), key, None, **private)
    tab.hack.click(locked(ws, on_hack), key, [tab.kl_coef, tab.lr, tab.steps, tab.hack_md], **private)
    tab.restore.click(locked(ws, on_restore), key, [tab.kl_coef, tab.lr, tab.hack_md], **private)
    tab.save.click(locked(ws, on_save), [*key, tab.ckpt_name], [tab.ckpt_name], **private)
    tab.resume.click(locked(ws, on_resume), key, [tab.resume], **private)
    tab.discard.click(locked(ws, on_discard), key, None, **private)
    out = [tab.seen, tab.status, tab.plots, tab.more_plots, tab.probe_compare, tab.probe_table, tab.samples,
           tab.checkpoints, tab.hack_md, tab.resume, tab.discard, *tab.live]
    tab.timer.tick(refresh, [tab.seen], out, show_progress="hidden", **private)
    demo.load(refresh, [tab.seen], out, show_progress="hidden", **private)

    # -- the API: each instructor action by name, with the key first (a lesson can be scripted) -----------------
    def ppo_start(key: str, steps: int = 20) -> dict:
        """Start (or continue) PPO for `steps` steps against the active reward model. Instructor only."""
        require(ws, key)
        return {"status": start_run(steps)}

    def ppo_pause(key: str) -> dict:
        """Pause the running PPO job, or resume it when paused. Instructor only."""
        require(ws, key)
        return {"state": pause_run()}

    def ppo_stop(key: str) -> dict:
        """Stop PPO within one optimiser step (the run is autosaved). Instructor only."""
        require(ws, key)
        return {"state": stop_run()}

    def ppo_reset(key: str) -> dict:
        """Back to the base policy (history cleared, checkpoints kept). Instructor only."""
        require(ws, key)
        return {"state": reset_run()}

    def ppo_settings(key: str, kl_coef: float | None = None, learning_rate: float | None = None,
                     batch_size: int | None = None, baseline: str | None = None, response_length: int | None = None,
                     temperature: float | None = None, num_ppo_epochs: int | None = None) -> dict:
        """Change live PPO settings (only those given); returns the settings in use. Instructor only."""
        require(ws, key)
        return {k: v for k, v in change_settings(
            kl_coef=kl_coef, learning_rate=learning_rate, batch_size=batch_size, baseline=baseline,
            response_length=response_length, temperature=temperature, num_ppo_epochs=num_ppo_epochs).items()
            if k in (*LIVE_CONTROLS.values(), "samples_per_prompt")}

    def ppo_hack(key: str) -> dict:
        """The reward-hacking demo's settings (β = 0, a high learning rate). Instructor only."""
        require(ws, key)
        return {"steps": hack_demo(), **HACK_SETTINGS}

    def checkpoint_save(key: str, name: str = "") -> dict:
        """Save the current policy as a checkpoint (it joins the arena). Instructor only."""
        require(ws, key)
        info = save_checkpoint(name)
        return {"name": info["name"], "step": info["step"]}

    def ppo_resume(key: str) -> dict:
        """Continue the saved run that /ppo_status offers (`resumable`): its policy, optimiser and curves come back;
        then /ppo_start trains on from its step. Instructor only."""
        require(ws, key)
        saved = resume_run()
        return {"step": saved["step"], "saved": saved["saved"], "reward_model": saved["reward_name"]}

    def ppo_discard(key: str) -> dict:
        """Delete the saved run that /ppo_status offers (`resumable`). Instructor only."""
        require(ws, key)
        saved = discard_run()
        return {"discarded_step": saved["step"], "saved": saved["saved"],
                "resumable": resumable_info(session().resumable)}

    def ppo_status() -> dict:
        """The shared run as every page sees it: job state (with why, when it failed), step and the live settings in
        use."""
        view = session().view()
        snap = ws.jobs.snapshot("ppo")
        return {"state": snap.state, "message": snap.message, "error": snap.error, "step": view.step,
                "reward_model": view.reward_name,
                "settings": {k: view.config[k] for k in LIVE_CONTROLS.values()},
                "resumable": resumable_info(view.resumable)}

    for fn in (ppo_start, ppo_pause, ppo_stop, ppo_reset, ppo_settings, ppo_hack, checkpoint_save, ppo_status,
               ppo_resume, ppo_discard):
        gr.api(fn, api_name=fn.__name__)
