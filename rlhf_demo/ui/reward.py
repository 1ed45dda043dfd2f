"""Reward model tab: train a LoRA reward model on hh-rlhf pairs and the class's votes, watch it learn."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from rlhf_demo.reward.config import RewardConfig
from rlhf_demo.reward.form import default_use_votes, parse_settings
from rlhf_demo.reward.reference import describe
from rlhf_demo.reward.timing import last_measurement, training_time_text
from rlhf_demo.ui.common import as_text, error, esc, user_errors
from rlhf_demo.ui.instructor import UnlockPanel, locked, require
from rlhf_demo.ui.reward_view import (
    EXPORT_INTRO,
    MODEL_COLUMNS,
    curves_figures,
    evaluation_markdown,
    export_markdown,
    margins_figure,
    models_frame,
    playground_markdown,
)
from rlhf_demo.workspace import Workspace

INTRO = """**Step 3 · The reward model.** A reward model reads a conversation and a reply and outputs one number. It is
trained on preference pairs so that the **chosen** reply scores higher than the **rejected** one (loss
−log σ(r_chosen − r_rejected), as in TRL's `RewardTrainer`). Here only a small LoRA adapter and the score head are
trained on top of a frozen pretrained encoder. PPO (tab 4) then optimises the policy against the active model."""

DEFAULT_PAIRS = 400


@dataclass
class RewardTab:
    subset: gr.Dropdown
    n_pairs: gr.Slider
    pairs_time: gr.Markdown  # how long training the chosen pairs takes, from this machine's last training
    use_votes: gr.Checkbox
    backbone: gr.Dropdown
    max_length: gr.Slider
    use_lora: gr.Checkbox
    lora_r: gr.Slider
    lora_alpha: gr.Slider
    lora_dropout: gr.Slider
    targets: gr.Textbox
    lr: gr.Number
    epochs: gr.Number
    train: gr.Button
    stop: gr.Button
    status: gr.Markdown
    curves: list  # two gr.Plot: the loss, the accuracy
    evaluation: gr.Markdown
    margins: gr.Plot
    models: gr.Dataframe
    pick: gr.Dropdown
    activate: gr.Button
    pg_prompt: gr.Textbox
    pg_reply1: gr.Textbox
    pg_reply2: gr.Textbox
    pg_score: gr.Button
    pg_out: gr.Markdown
    timer: gr.Timer
    seen: gr.State
    instructor_controls: list  # Train, Stop, Make active and every setting: greyed out for students when locked
    make_active: gr.Checkbox  # make the new model the active one when it is trained (else only when none is active)
    export: gr.Button  # the active model, the data, the votes and the policy as a bundle for TRL / OpenRLHF
    export_file: gr.File
    export_out: gr.Markdown


# ----------------------------------------------------------------------------- building


def build(ws: Workspace) -> RewardTab:
    d = RewardConfig()
    src = ws.data.source
    gr.Markdown(INTRO, elem_classes="rl-intro")
    with gr.Row():
        with gr.Column(scale=1, min_width=300, elem_classes="rl-instructor"):  # hidden in the student view
            subset = gr.Dropdown(src.subsets(), value=src.default()[0], label="hh-rlhf subset", elem_id="rm-subset")
            slider = pairs_slider(ws.reward.available_pairs(src.default()[0]))
            n_pairs = gr.Slider(**slider, elem_id="rm-pairs")
            pairs_time = gr.Markdown(pairs_time_text(ws, slider["value"], startup_backbone(ws)),
                                     elem_id="rm-pairs-time", elem_classes="rl-meta")
            use_votes = gr.Checkbox(default_use_votes(), label="Use the class's votes", elem_id="rm-votes",
                                    info="each decisive vote (A or B better) becomes a chosen / rejected pair")
            startup = startup_backbone(ws)  # the operator's choice at start-up is always offered
            backbone = gr.Dropdown(list(dict.fromkeys(["minilm", "policy", startup])), value=startup,
                                   allow_custom_value=ws.settings.allow_any_model, label="Backbone",
                                   info="minilm, policy, or a folder / Hub id" if ws.settings.allow_any_model
                                   else "minilm or policy (the app was started without --allow-any-model)")
            max_length = gr.Slider(64, 512, value=d.max_length, step=32, label="Maximum length (tokens)",
                                   info="longer conversations are cut from the LEFT: the final reply and the end of "
                                        "the prompt are kept")
            with gr.Accordion("LoRA and optimiser", open=False):
                use_lora = gr.Checkbox(d.use_lora, label="LoRA (else full fine-tuning)")
                # the Train click sends the raw values (preprocess=False): a value typed out of range gets our message,
                # which names the field, not Gradio's "Value 0 is less than minimum value 1"
                lora_r = gr.Slider(1, 64, value=d.lora_r, step=1, label="LoRA rank r", elem_id="rm-lora-r")
                lora_alpha = gr.Slider(1, 128, value=d.lora_alpha, step=1, label="LoRA alpha", elem_id="rm-lora-alpha")
                lora_dropout = gr.Slider(0.0, 0.5, value=d.lora_dropout, step=0.05, label="LoRA dropout")
                targets = gr.Textbox(label="target modules (comma-separated; empty = per architecture)")
                lr = gr.Number(d.learning_rate, label="learning rate", elem_id="rm-lr",
                               info="1e-6 to 1e-2; typical with LoRA: 1e-4 to 1e-3")
                # a Textbox, not a Number: a Number shows 0 for "empty" and Gradio then refuses 0 before we can
                # say which field is wrong
                epochs = gr.Textbox("" if d.num_train_epochs is None else str(d.num_train_epochs),
                                    label="epochs (empty = auto)", placeholder="auto",
                                    info=f"auto: 1 epoch, or more for a small set so that training makes at least "
                                         f"{d.min_steps} optimiser steps (at most {d.max_auto_epochs} epochs)",
                                    elem_id="rm-epochs")
            make_active = gr.Checkbox(False, label="Make it the active model when trained", elem_id="rm-make-active",
                                      info="PPO optimises the active model; a first model always becomes active. Off: "
                                           "you compare the new model with the active one, then choose")
            with gr.Row():
                train = gr.Button("Train", variant="primary", elem_id="rm-train")
                stop = gr.Button("Stop", variant="stop", elem_id="rm-stop")
        with gr.Column(scale=3):
            status = gr.Markdown("No training yet.", elem_id="rm-status")
            with gr.Row(elem_id="rm-curves"):  # side by side; stacked, each the full width, on a phone
                curves = [gr.Plot(show_label=False, elem_id=f"rm-curve-{what}", min_width=300) for what in ("loss", "acc")]
            with gr.Row():
                evaluation = gr.Markdown(elem_id="rm-eval", min_width=320)
                with gr.Column(min_width=320):  # beside the table on a wide screen, under it on a phone
                    margins = gr.Plot(label="Reward margins on the held-out set", show_label=False,
                                      elem_id="rm-margins")
    gr.Markdown("### Saved reward models")
    models = gr.Dataframe(pd.DataFrame(columns=MODEL_COLUMNS), interactive=False, elem_id="rm-models")
    with gr.Row(equal_height=True, elem_classes="rl-instructor"):
        pick = gr.Dropdown([], label="Model", scale=3, elem_id="rm-pick")
        activate = gr.Button("Make active (PPO optimises the active model)", scale=2, elem_id="rm-activate")
    with gr.Accordion("Take it further: export for TRL, accelerate, OpenRLHF", open=False, elem_id="rm-export-box",
                      elem_classes="rl-instructor"):
        gr.Markdown(EXPORT_INTRO, elem_classes="rl-meta")
        with gr.Row(equal_height=True):
            export = gr.Button("Export the active model as a bundle", scale=1, elem_id="rm-export")
            export_file = gr.File(label="bundle (.zip)", interactive=False, scale=2, elem_id="rm-export-file")
        export_out = gr.Markdown(elem_id="rm-export-out")
    gr.Markdown("### Playground: score your own replies with the active model")
    with gr.Row():
        pg_prompt = gr.Textbox(label="Prompt", lines=2, value="How do I boil an egg?", elem_id="rm-pg-prompt")
        pg_reply1 = gr.Textbox(label="Reply 1", lines=2, elem_id="rm-pg-r1",
                               value="Put the egg in boiling water for about nine minutes, then cool it in cold water.")
        pg_reply2 = gr.Textbox(label="Reply 2 (optional)", lines=2, elem_id="rm-pg-r2", value="I don't know.")
    with gr.Row(equal_height=True):
        pg_score = gr.Button("Score", elem_id="rm-pg-score", scale=1)
        pg_out = gr.Markdown(elem_id="rm-pg-out")
    timer = gr.Timer(2.0)
    controls = [subset, n_pairs, use_votes, backbone, max_length, use_lora, lora_r, lora_alpha, lora_dropout, targets,
                lr, epochs, make_active, train, stop, activate, export]
    return RewardTab(subset, n_pairs, pairs_time, use_votes, backbone, max_length, use_lora, lora_r, lora_alpha, lora_dropout,
                     targets, lr, epochs, train, stop, status, curves, evaluation, margins, models, pick, activate,
                     pg_prompt, pg_reply1, pg_reply2, pg_score, pg_out, timer, gr.State((-1, -1)), controls,
                     make_active, export, export_file, export_out)


def startup_backbone(ws: Workspace) -> str:
    return ws.settings.reward_backbone or RewardConfig().backbone


def pairs_slider(available: int, value: float | None = None) -> dict:
    """The training-pairs slider for a subset with `available` pairs: it ends where the data does."""
    value = DEFAULT_PAIRS if value is None else value
    return dict(minimum=0, maximum=available, value=min(value, available), step=1 if available < 200 else 20,
                label=f"hh-rlhf training pairs (of {available:,})")


def pairs_time_text(ws: Workspace, n_pairs, backbone) -> str:
    """How long `n_pairs` pairs take to train, from the newest model saved here (`reward/timing.py`)."""
    try:
        n = max(0, int(float(n_pairs)))
    except (TypeError, ValueError):
        n = 0
    return training_time_text(n, last_measurement(ws.reward.models.list(), backbone if isinstance(backbone, str)
                                                   else None))


def subset_changed(ws: Workspace, subset, n_pairs):
    """Another subset: the slider's end moves to its number of pairs."""
    available = user_errors(ws.reward.available_pairs, subset)
    return gr.update(**pairs_slider(available, n_pairs if isinstance(n_pairs, (int, float)) else None))


# ----------------------------------------------------------------------------- the actions (UI and API)
# Each is a line or two into the reward service (`reward/service.py`); the caller checked the instructor lock.


def train(ws: Workspace, subset, n_pairs, use_votes, backbone, max_length, use_lora, r, alpha, dropout, targets, lr,
          epochs, make_active=False):
    """Validate every setting (a bad one is named), pick the pairs, start the job. The new model becomes active when
    `make_active`, or when no model is active."""
    def start():
        cfg, n, votes = parse_settings(n_pairs, use_votes, backbone, max_length, use_lora, r, alpha, dropout, targets,
                                       lr, epochs, device=ws.settings.device)
        return ws.reward.start(cfg, subset, n, votes, activate=True if make_active is True else None)

    return user_errors(start)


def train_ui(ws: Workspace, *values) -> str:
    data = train(ws, *values)
    return f"Starting: {len(data.train)} training pairs ({data.n_votes} from votes), {len(data.eval)} held out."


def models_update(ws: Workspace):
    """The saved models' table and the picker (naming the folders left out)."""
    models = ws.reward.models
    items, skipped = models.list(), models.skipped()
    info = f"Left out (incomplete, e.g. a run that was killed): {', '.join(skipped)}" if skipped else None
    return models_frame(items), gr.update(choices=[m["name"] for m in items], value=models.active, info=info)


def refresh(ws: Workspace, seen, n_pairs=DEFAULT_PAIRS, backbone=None):
    """The poll: redraw when the job or the number of saved models changed since `seen` (a new model is also a new
    measurement of the training time)."""
    snap = ws.jobs.snapshot("reward")
    n_models = len(ws.reward.models.list()) if snap.state != "running" else seen[1]
    key = (snap.version, n_models)
    if tuple(seen) == key:
        return seen, *([gr.skip()] * 8)
    status = snap.status_line() if snap.state != "idle" else "No reward model trained in this session yet."
    changed = n_models != seen[1] or snap.state in ("done", "stopped")
    table, pick = models_update(ws) if changed else (gr.skip(), gr.skip())
    timing = pairs_time_text(ws, n_pairs, backbone) if changed else gr.skip()
    return (key, esc(status), *curves_figures(snap.data.get("log", [])), evaluation_markdown(snap),
            margins_figure(snap.data.get("margins", [])), table, pick, timing)


def activate_ui(ws: Workspace, name):
    user_errors(ws.reward.activate, name)
    gr.Info(f"{name} is now the active reward model.")
    return models_update(ws)


def export_ui(ws: Workspace):
    """The bundle's zip to download and what is in it."""
    folder, zipped, info, note = user_errors(ws.export.export_active)
    return str(zipped), export_markdown(folder, info) + (f"\n\n**Note:** {esc(note)}" if note else "")


def score(ws: Workspace, prompt, r1, r2) -> str:
    prompt = (prompt or "").strip()
    replies = [r for r in ((r1 or "").strip(), (r2 or "").strip()) if r]
    if not prompt or not replies:
        raise error("Type a prompt and at least one reply.")
    return playground_markdown(*user_errors(ws.reward.score, prompt, replies))


# ----------------------------------------------------------------------------- wiring


def wire(tab: RewardTab, ws: Workspace, demo: gr.Blocks, panel: UnlockPanel) -> None:
    private = dict(api_visibility="private")
    key = [panel.key]
    inputs = [tab.subset, tab.n_pairs, tab.use_votes, tab.backbone, tab.max_length, tab.use_lora, tab.lora_r,
              tab.lora_alpha, tab.lora_dropout, tab.targets, tab.lr, tab.epochs, tab.make_active]
    # preprocess=False: raw values reach `parse_settings`, whose messages name the field (State inputs still arrive)
    tab.train.click(locked(ws, lambda *values: train_ui(ws, *values)), [*key, *inputs], [tab.status],
                    preprocess=False, **private)
    tab.stop.click(locked(ws, ws.reward.stop), key, None, **private)
    out = [tab.seen, tab.status, *tab.curves, tab.evaluation, tab.margins, tab.models, tab.pick, tab.pairs_time]
    poll = [tab.seen, tab.n_pairs, tab.backbone]
    tab.timer.tick(lambda *v: refresh(ws, *v), poll, out, show_progress="hidden", **private)
    demo.load(lambda *v: refresh(ws, *v), poll, out, show_progress="hidden", **private)
    quiet = dict(show_progress="hidden", **private)
    for changed in (tab.n_pairs.change, tab.backbone.change):  # the slider's change: also a new subset's end
        changed(lambda n, b: pairs_time_text(ws, n, b), [tab.n_pairs, tab.backbone], [tab.pairs_time], **quiet)
    tab.subset.change(lambda s, n: subset_changed(ws, s, n), [tab.subset, tab.n_pairs], [tab.n_pairs], **quiet)
    tab.activate.click(locked(ws, lambda name: activate_ui(ws, name)), [*key, tab.pick], [tab.models, tab.pick],
                       **private)
    tab.export.click(locked(ws, lambda: export_ui(ws)), key, [tab.export_file, tab.export_out], **private)
    tab.pg_score.click(lambda p, r1, r2: score(ws, p, r1, r2), [tab.pg_prompt, tab.pg_reply1, tab.pg_reply2],
                       [tab.pg_out], **private)
    api(ws)


def api(ws: Workspace) -> None:
    """The API: scoring for everyone, training and activation for the instructor (the key first)."""
    d = RewardConfig()

    def reward_score(prompt: str, reply: str) -> float:
        """Score one reply to a typed prompt with the active reward model."""
        scores, _, _ = user_errors(ws.reward.score, as_text(prompt, "prompt", 4000), [as_text(reply, "reply", 4000)])
        return float(scores[0])

    def reward_score_detail(prompt: str, reply: str) -> dict:
        """Score one reply with the active reward model: the raw score, and the same in standard deviations of the
        model's scores of its held-out replies (`sigma`, None for a model saved without that reference)."""
        scores, zs, name = user_errors(ws.reward.score, as_text(prompt, "prompt", 4000),
                                       [as_text(reply, "reply", 4000)])
        return {"score": scores[0], "sigma": zs[0], "text": describe(zs[0]), "model": name,
                "reference": ws.reward.load(name).meta.get("score_reference")}

    def reward_train(key: str, subset: str = "", n_pairs: int = DEFAULT_PAIRS, use_votes: bool = default_use_votes(),
                     epochs: str = "", backbone: str = "", max_length: int = d.max_length, use_lora: bool = d.use_lora,
                     lora_r: int = d.lora_r, lora_alpha: int = d.lora_alpha, lora_dropout: float = d.lora_dropout,
                     target_modules: str = "", learning_rate: float = d.learning_rate, make_active: bool = False) -> dict:
        """Train a reward model with the Reward tab's settings (same checks, same messages). It becomes the active
        model when done if `make_active`, or if no model is active. Watch it with the tab or `/reward_status`.
        Instructor only."""
        require(ws, key)
        backbone = backbone or (ws.settings.reward_backbone or d.backbone)
        data = train(ws, subset, n_pairs, use_votes, backbone, max_length, use_lora, lora_r, lora_alpha, lora_dropout,
                     target_modules, learning_rate, epochs, make_active)
        return {"started": True, "n_train": len(data.train), "n_votes": data.n_votes, "n_eval": len(data.eval),
                "data": data.description}

    def reward_stop(key: str) -> dict:
        """Stop reward-model training after the current step (the model trained so far is saved). Instructor only."""
        require(ws, key)
        return {"stopping": bool(ws.reward.stop())}

    def model_activate(key: str, name: str) -> dict:
        """Make a saved reward model the active one (what PPO optimises). Instructor only."""
        require(ws, key)
        user_errors(ws.reward.activate, as_text(name, "name", 200))
        return {"active": ws.reward.active}

    def export_bundle(key: str) -> dict:
        """Export the active reward model, the data with the class's votes, the prompts and the policy as a bundle
        for TRL / accelerate / OpenRLHF under the data folder (`python -m rlhf_demo export`). Returns where it is
        and its bundle.json, and a note when the model was trained on other data. Instructor only."""
        require(ws, key)
        folder, zipped, info, note = user_errors(ws.export.export_active)
        return {"folder": str(folder), "zip": str(zipped), "bundle": info, "note": note}

    def reward_status() -> dict:
        """The reward-model job as every page sees it: state, progress, seconds left (None while estimating)."""
        snap = ws.jobs.snapshot("reward")
        return {"state": snap.state, "progress": round(snap.progress, 4), "eta_s": snap.eta,
                "elapsed_s": round(snap.elapsed, 1), "message": snap.message, "error": snap.error,
                "result": snap.result if isinstance(snap.result, dict) else None}

    gr.api(reward_score, api_name="reward_score")
    for fn in (reward_score_detail, reward_train, reward_stop, model_activate, export_bundle, reward_status):
        gr.api(fn, api_name=fn.__name__)
