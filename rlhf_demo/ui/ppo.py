"""PPO tab: watch the policy change step by step to earn more reward, held back by a KL penalty."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from rlhf_demo.ppo.config import GROUP_SIZE, PPOConfig
from rlhf_demo.ppo.service import HACK_SETTINGS, SETTABLE, resumable_info
from rlhf_demo.ui.common import as_number, as_text, user_errors
from rlhf_demo.ui.instructor import UnlockPanel, locked, require
from rlhf_demo.ui.ppo_view import (
    ENSEMBLE_MODES,
    LR_CHOICES,
    PROBE_COLUMNS,
    before_after_html,
    checkpoints_frame,
    checkpoints_label,
    ensemble_values,
    main_figures,
    metrics_figure,
    probe_compare_html,
    probe_frame,
    resume_label,
    samples_html,
    settings_values,
    status_markdown,
    verdict_markdown,
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
    "advantage": "**Advantage.** How much better a reply turned out than expected. By default (*group*, RLOO): its "
                 "score minus the average of the other replies to the same prompt. With the *value head*: minus what "
                 "a learned critic predicted, token by token (GAE). Positive: make those tokens more likely.",
    "clip": "**Clipping.** PPO limits each update: the probability ratio new/old is clipped to 1 ± 0.2, so one batch "
            "cannot move the policy far (`policy/clipfrac_avg` = share of clipped tokens). The first pass over a batch "
            "has ratio 1; clipping shows from the second PPO epoch on.",
}

HACK_TEXT = """**Reward-hacking demo.** β is now **0**, the learning rate higher and *Steps to run* {steps}. Press *Start*
(or keep it running) and watch the reward score climb while the distance from the frozen copy (KL) explodes and the probe replies drift into
text the reward model happens to like: the reward model is only an imperfect proxy of human judgement (tab 5 shows
a **gold** reward model's verdict on the same run: when it stops rising and falls while this score climbs, the policy
is exploiting the proxy). Then press
**Reset to base policy**, put β back (*Restore β*) and run again: the KL penalty holds the policy close to the
reference, so KL stays small and the replies stay like the base model's, while the score moves far less."""

# the four plots a class watches (big, readable at 3 m on a projector); the rest of TRL's metrics behind "More metrics"
BASELINES = [(f"group: {GROUP_SIZE} replies per prompt, each against the others' mean (RLOO)", "group"),
             ("value head: PPO's learned critic + GAE", "value")]


@dataclass
class PPOTab:
    live: dict  # each field of `SETTABLE` -> its control: β, learning rate, batch size, baseline, length, ...
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
    plots: list  # the four main plots (gr.Plot): score, KL, score − β·KL, score against √KL
    probe_compare: gr.HTML
    probe_table: gr.Dataframe
    samples: gr.HTML
    checkpoints: gr.Dataframe
    timer: gr.Timer
    seen: gr.State
    resume: gr.Button  # "Resume the run from step K": shown when a restart interrupted an autosaved run
    more_plots: gr.Plot  # the six diagnostics, behind "More metrics"
    verdict: gr.Markdown  # did it help? one sentence from the held-out rows
    before_after: gr.HTML  # base vs now on held-out prompts
    instructor_controls: list  # greyed out for students when the instructor lock is on
    discard: gr.Button  # "Discard the saved run": shown with Resume
    ensemble_with: gr.Dropdown  # other saved reward models trained against with the active one (empty: it alone)
    ensemble_mode: gr.Radio  # how the ensemble scores: mean − λ·std or min


DISCARD_LABEL = "Discard the saved run"


# ----------------------------------------------------------------------------- building


def build(ws: Workspace) -> PPOTab:
    d, view = PPOConfig(), ws.ppo.run.view()
    gr.Markdown(INTRO + f"  \nPolicy: **{ws.policy_choice.label()}**, with a LoRA adapter in its top {d.lora_layers} "
                f"blocks; each step writes {d.batch_size} replies, {d.samples_per_prompt} to each of "
                f"{d.batch_size // d.samples_per_prompt} prompts.", elem_classes="rl-intro")
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            live = {}
            live["kl_coef"] = gr.Slider(0.0, 0.5, value=d.kl_coef, step=0.01, label="β (KL coefficient)", elem_id="ppo-beta")
            live["learning_rate"] = gr.Dropdown(LR_CHOICES, value=d.learning_rate if d.learning_rate in LR_CHOICES else LR_CHOICES[2],
                             label="Learning rate", elem_id="ppo-lr")
            live["batch_size"] = gr.Slider(4, 32, value=d.batch_size, step=4, label="Batch size (replies per step)")
            live["baseline"] = gr.Radio(BASELINES, value=d.baseline, label="Advantage baseline", elem_id="ppo-baseline",
                                info="what a reply's score is compared with to decide whether to reinforce it")
            live["response_length"] = gr.Slider(8, 96, value=d.response_length, step=4, label="Response length (max new tokens)")
            live["temperature"] = gr.Slider(0.3, 1.5, value=d.temperature, step=0.05, label="Temperature", elem_id="ppo-temperature")
            live["num_ppo_epochs"] = gr.Slider(1, 4, value=d.num_ppo_epochs, step=1, label="PPO epochs per batch",
                               info="passes over each batch; with 1 the ratio stays 1, so nothing is clipped",
                               elem_id="ppo-epochs")
            choices, members, mode = ensemble_values(ws.ppo.ensemble_candidates(), ws.ppo.ensemble_info())
            ensemble_with = gr.Dropdown(list(choices), value=list(members), multiselect=True, elem_id="ppo-ensemble",
                                        label="Ensemble with (empty: the active reward model alone)",
                                        info="other saved reward models PPO optimises together with the active "
                                             "one, each in its own σ; a new choice starts a new run at Start",
                                        elem_classes="rl-instructor")
            ensemble_mode = gr.Radio(ENSEMBLE_MODES, value=mode, label="Ensemble score", elem_id="ppo-ensemble-mode",
                                     elem_classes="rl-instructor")
            steps = gr.Number(ws.ppo.steps_to_run, precision=0, minimum=1, maximum=1000, label="Steps to run", elem_id="ppo-steps")
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
            verdict = gr.Markdown(elem_id="ppo-verdict")
            with gr.Row():
                resume = gr.Button(resume_label(view.resumable), visible=view.resumable is not None,
                                   variant="primary", elem_id="ppo-resume", scale=3)
                discard = gr.Button(DISCARD_LABEL, visible=view.resumable is not None, variant="stop",
                                    elem_id="ppo-discard", scale=1)
            plots = []  # two by two; on a phone the rows stack and each plot is the full width
            for row in range(2):
                with gr.Row(elem_classes="rl-plot-row"):
                    plots += [gr.Plot(show_label=False, elem_id=f"ppo-plot-{2 * row + i}", min_width=300)
                              for i in range(2)]
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
    gr.Markdown("### Before and after: the base policy and now, on held-out prompts")
    before_after = gr.HTML(elem_id="ppo-before-after")
    gr.Markdown("### Latest samples, shaded by per-token KL")
    gr.Markdown("*Teacher's note:* PPO follows whatever the reward model scores high, blind spots included, so a sample "
                "can drift into unsafe advice (above all with β = 0). That is reward hacking; preview a run before "
                "class.", elem_classes="rl-status")
    samples = gr.HTML(elem_id="ppo-samples")
    checkpoints = gr.Dataframe(checkpoints_frame(view), interactive=False, label=checkpoints_label(view),
                               elem_id="ppo-checkpoints")
    timer = gr.Timer(1.5)
    controls = [*live.values(), ensemble_with, ensemble_mode, steps, start, pause, stop, reset, hack, restore,
                ckpt_name, save, resume, discard]
    return PPOTab(live, steps, start, pause, stop, reset, hack, restore, hack_md, ckpt_name, save, status, plots,
                  probe_compare, probe_table, samples, checkpoints, timer, gr.State((-1, -1, None, None)), resume,
                  more_plots, verdict, before_after, controls, discard, ensemble_with, ensemble_mode)


# ----------------------------------------------------------------------------- the actions (UI and API)
# Each is a line or two into the PPO service (`ppo/service.py`); the caller checked the instructor lock.

NUMBER_KINDS = {"kl_coef": float, "learning_rate": float, "batch_size": int, "response_length": int,
                "temperature": float, "num_ppo_epochs": int}


def change_settings(ws: Workspace, **values) -> dict:
    """Validate and queue live settings (applied between steps); returns the live settings in use."""
    clean = {name: value if name == "baseline" or value is None
             else NUMBER_KINDS[name](as_number(value, name, whole=NUMBER_KINDS[name] is int))
             for name, value in values.items()}
    return user_errors(ws.ppo.set_live, **clean)


def start(ws: Workspace, n) -> str:
    return user_errors(ws.ppo.start, int(as_number(n, "Steps to run", 1, 1000, whole=True)))


def set_ensemble(ws: Workspace, **given) -> dict:
    """Pick the ensemble the next Start trains against (only what is given); returns what is picked now."""
    return user_errors(ws.ppo.set_ensemble, **given)


def ensemble_controls(ws: Workspace):
    """The ensemble controls as the service holds them (after an edit, refused or not; and on every poll)."""
    choices, members, mode = ensemble_values(ws.ppo.ensemble_candidates(), ws.ppo.ensemble_info())
    return gr.update(choices=list(choices), value=list(members)), mode


def save_checkpoint(ws: Workspace, name) -> dict:
    return user_errors(ws.ppo.save_checkpoint, as_text(name, "checkpoint name", 200, allow_empty=True))


def on_hack(ws: Workspace):
    n = user_errors(ws.ppo.hack)
    return HACK_SETTINGS["kl_coef"], HACK_SETTINGS["learning_rate"], n, HACK_TEXT.format(steps=n)


def on_restore(ws: Workspace):
    settings = user_errors(ws.ppo.restore)
    return settings["kl_coef"], settings["learning_rate"], ("β is back to its default. Reset to the base policy and "
                                                            "run again to compare.")


def on_resume(ws: Workspace):
    saved = user_errors(ws.ppo.resume)
    gr.Info(f"Resumed the run at step {saved['step']}: press Start to continue it.")
    return gr.update(visible=False)


def on_discard(ws: Workspace) -> None:
    saved = user_errors(ws.ppo.discard)
    gr.Info(f"Discarded the saved run of step {saved['step']} (saved {saved['saved']}).")


def on_save(ws: Workspace, name) -> str:
    info = save_checkpoint(ws, name)
    gr.Info(f"Saved {info['name']} (step {info['step']}): it is now a contestant in the Vote tab.")
    return ""


def refresh(ws: Workspace, seen):
    """The poll: redraw what changed since `seen` = (run version, job version, controls shown: the live settings and
    the steps the last Start asked for, so every page shows what the shared run uses; the ensemble controls: choices,
    members, mode)."""
    run, snap = ws.ppo.run, ws.jobs.snapshot("ppo")
    view = run.view()
    settings = (*settings_values(view.config), ws.ppo.steps_to_run)
    info = ws.ppo.ensemble_info()
    ensemble = ensemble_values(ws.ppo.ensemble_candidates(), info)
    status = status_markdown(view, snap.status_line() if snap.state != "idle" else None, info["next"])
    key = (view.version, snap.version, list(settings), ensemble, status)  # the status: a running job's clock ticks
    if tuple(seen) == key:
        return seen, *([gr.skip()] * (17 + len(settings)))
    same_plot = seen[0] == view.version and seen[0] != -1
    same_settings = seen[2] is not None and tuple(seen[2]) == settings
    same_ensemble = len(seen) > 3 and seen[3] == ensemble

    def plot(draw, *args):
        return gr.skip() if same_plot else draw(*args)

    figures = main_figures(view.history) if not same_plot else [gr.skip()] * 4
    return (key, status, plot(verdict_markdown, view), *figures,
            plot(metrics_figure, view.history), plot(probe_compare_html, view), plot(probe_frame, view),
            plot(before_after_html, view), plot(samples_html, view.samples, 4, view.config.get("response_length")), plot(checkpoints_frame, view), gr.skip(),
            gr.update(visible=view.resumable is not None, value=resume_label(view.resumable)),
            gr.update(visible=view.resumable is not None),
            *([gr.skip()] * len(settings) if same_settings else settings),
            *([gr.skip()] * 2 if same_ensemble else
              (gr.update(choices=list(ensemble[0]), value=list(ensemble[1])), ensemble[2])))


# ----------------------------------------------------------------------------- wiring


def wire(tab: PPOTab, ws: Workspace, demo: gr.Blocks, panel: UnlockPanel) -> None:
    """Every action that changes the shared run is an instructor action (locked when a key is set): in the UI it takes
    the session's key state first, over the API the key itself. Nothing changes a setting as a side effect: each
    control sends only its own field, on the user's own input, and every page polls the settings in use."""
    private = dict(api_visibility="private")
    key = [panel.key]
    for field, control in tab.live.items():
        # .input fires on the user's own edit only (never when a poll or another handler sets the value), and it
        # sends just this control's field: no page can reset another setting by accident
        control.input(locked(ws, lambda value, field=field: change_settings(ws, **{field: value}) and None),
                      [*key, control], None, trigger_mode="always_last", show_progress="hidden", **private)
    ensemble = [tab.ensemble_with, tab.ensemble_mode]
    for name, control in (("members", tab.ensemble_with), ("mode", tab.ensemble_mode)):  # each sends only its own
        control.input(locked(ws, lambda value, name=name: set_ensemble(ws, **{name: value}) and None),
                      [*key, control], None, trigger_mode="always_last", show_progress="hidden", **private
                      ).then(lambda: ensemble_controls(ws), None, ensemble, show_progress="hidden", **private)
    tab.start.click(locked(ws, lambda n: start(ws, n)), [*key, tab.steps], [tab.status], **private)
    tab.pause.click(locked(ws, lambda: user_errors(ws.ppo.pause)), key, None, **private)
    tab.stop.click(locked(ws, ws.ppo.stop), key, None, **private)
    tab.reset.click(locked(ws, lambda: user_errors(ws.ppo.reset)), key, None, **private)
    live = [tab.live["kl_coef"], tab.live["learning_rate"]]
    tab.hack.click(locked(ws, lambda: on_hack(ws)), key, [*live, tab.steps, tab.hack_md], **private)
    tab.restore.click(locked(ws, lambda: on_restore(ws)), key, [*live, tab.hack_md], **private)
    tab.save.click(locked(ws, lambda name: on_save(ws, name)), [*key, tab.ckpt_name], [tab.ckpt_name], **private)
    tab.resume.click(locked(ws, lambda: on_resume(ws)), key, [tab.resume], **private)
    tab.discard.click(locked(ws, lambda: on_discard(ws)), key, None, **private)
    out = [tab.seen, tab.status, tab.verdict, *tab.plots, tab.more_plots, tab.probe_compare, tab.probe_table,
           tab.before_after, tab.samples, tab.checkpoints, tab.hack_md, tab.resume, tab.discard,
           *(tab.live[f] for f in SETTABLE), tab.steps, *ensemble]
    tab.timer.tick(lambda seen: refresh(ws, seen), [tab.seen], out, show_progress="hidden", **private)
    demo.load(lambda seen: refresh(ws, seen), [tab.seen], out, show_progress="hidden", **private)
    api(ws)


def api(ws: Workspace) -> None:
    """The API: each instructor action by name, with the key first (a lesson can be scripted)."""

    def ppo_start(key: str, steps: int = 20) -> dict:
        """Start (or continue) PPO for `steps` steps against the active reward model (or its ensemble, picked with
        /ppo_ensemble). Instructor only."""
        require(ws, key)
        return {"status": start(ws, steps)}

    def ppo_pause(key: str) -> dict:
        """Pause the running PPO job, or resume it when paused. Instructor only."""
        require(ws, key)
        return {"state": user_errors(ws.ppo.pause)}

    def ppo_stop(key: str) -> dict:
        """Stop PPO within one optimiser step (the run is autosaved). Instructor only."""
        require(ws, key)
        return {"state": ws.ppo.stop()}

    def ppo_reset(key: str) -> dict:
        """Back to the base policy (history cleared, checkpoints kept). Instructor only."""
        require(ws, key)
        return {"state": user_errors(ws.ppo.reset)}

    def ppo_settings(key: str, kl_coef: float | None = None, learning_rate: float | None = None,
                     batch_size: int | None = None, baseline: str | None = None, response_length: int | None = None,
                     temperature: float | None = None, num_ppo_epochs: int | None = None) -> dict:
        """Change live PPO settings (only those given); returns the settings in use. Instructor only."""
        require(ws, key)
        given = dict(kl_coef=kl_coef, learning_rate=learning_rate, batch_size=batch_size, baseline=baseline,
                     response_length=response_length, temperature=temperature, num_ppo_epochs=num_ppo_epochs)
        return change_settings(ws, **given)

    def ppo_ensemble(key: str, members: list[str] | None = None, mode: str | None = None,
                     ensemble_lambda: float | None = None) -> dict:
        """Pick what the next /ppo_start trains against besides the active reward model (only what is given):
        `members`, other saved reward models ([] = the active model alone), `mode` mean-std (mean − λ·std of the
        members' scores, each in its own σ) or min; the gold model cannot be a member. Instructor only."""
        require(ws, key)
        return set_ensemble(ws, members=members, mode=mode, lam=ensemble_lambda)

    def ppo_hack(key: str) -> dict:
        """The reward-hacking demo's settings (β = 0, a high learning rate). Instructor only."""
        require(ws, key)
        return {"steps": user_errors(ws.ppo.hack), **HACK_SETTINGS}

    def checkpoint_save(key: str, name: str = "") -> dict:
        """Save the current policy as a checkpoint (it joins the arena). Instructor only."""
        require(ws, key)
        info = save_checkpoint(ws, name)
        return {"name": info["name"], "step": info["step"]}

    def ppo_resume(key: str) -> dict:
        """Continue the saved run that /ppo_status offers (`resumable`): its policy, optimiser and curves come back;
        then /ppo_start trains on from its step. Instructor only."""
        require(ws, key)
        return resumable_info(user_errors(ws.ppo.resume))

    def ppo_discard(key: str) -> dict:
        """Delete the saved run that /ppo_status offers (`resumable`). Instructor only."""
        require(ws, key)
        saved = user_errors(ws.ppo.discard)
        return {"discarded_step": saved["step"], "saved": saved["saved"],
                "resumable": resumable_info(ws.ppo.run.resumable)}

    def ppo_status() -> dict:
        """The shared run as every page sees it: job state (with why, when it failed), step, the live settings in
        use and the reward it trains against ("reward": the active model, or an ensemble; "ensemble": the next
        Start's pick)."""
        return ws.ppo.status()

    for fn in (ppo_start, ppo_pause, ppo_stop, ppo_reset, ppo_settings, ppo_ensemble, ppo_hack, checkpoint_save,
               ppo_status, ppo_resume, ppo_discard):
        gr.api(fn, api_name=fn.__name__)
