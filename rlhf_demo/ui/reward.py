"""Reward model tab: train a LoRA reward model on hh-rlhf pairs and the class's votes, watch it learn."""

from __future__ import annotations

import math
from dataclasses import dataclass

import gradio as gr
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from rlhf_demo.jobs import JobBusy, fmt_seconds  # noqa: E402
from rlhf_demo.reward.config import RewardConfig  # noqa: E402
from rlhf_demo.reward.session import training_job  # noqa: E402
from rlhf_demo.ui.common import as_text, error, esc  # noqa: E402
from rlhf_demo.workspace import Workspace  # noqa: E402

INTRO = """**Step 3 · The reward model.** A reward model reads a conversation and a reply and outputs one number. It is
trained on preference pairs so that the **chosen** reply scores higher than the **rejected** one (loss
−log σ(r_chosen − r_rejected), as in TRL's `RewardTrainer`). Here only a small LoRA adapter and the score head are
trained on top of a frozen pretrained encoder. PPO (tab 4) then optimises the policy against the active model."""

MODEL_COLUMNS = ["active", "name", "backbone", "eval accuracy", "pairs", "LoRA", "created"]


@dataclass
class RewardTab:
    subset: gr.Dropdown
    n_pairs: gr.Slider
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
    curves: gr.Plot
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


# ----------------------------------------------------------------------------- rendering


def curves_figure(log: list[dict]):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3), dpi=90)
    tr = [r for r in log if r.get("kind") == "train"]
    ev = [r for r in log if r.get("kind") == "eval"]
    if tr:
        a1.plot([r["step"] for r in tr], [r.get("loss", math.nan) for r in tr], label="train", color="#4f46e5")
        a2.plot([r["step"] for r in tr], [r.get("accuracy", math.nan) for r in tr], label="train", color="#4f46e5")
    if ev:
        a1.plot([r["step"] for r in ev], [r.get("eval_loss", math.nan) for r in ev], "o-", label="eval", color="#ea580c")
        a2.plot([r["step"] for r in ev], [r.get("eval_accuracy", math.nan) for r in ev], "o-", label="eval", color="#ea580c")
    a1.set_title("loss  −log σ(r_chosen − r_rejected)", fontsize=9)
    a2.set_title("pairwise accuracy", fontsize=9)
    a2.axhline(0.5, ls=":", color="grey", lw=1)
    for a in (a1, a2):
        a.set_xlabel("step", fontsize=8)
        a.tick_params(labelsize=7)
        a.spines[["top", "right"]].set_visible(False)
        if tr or ev:
            a.legend(fontsize=7, frameon=False)
        else:
            a.text(0.5, 0.5, "no training yet", ha="center", va="center", transform=a.transAxes, fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def margins_figure(margins: list[float]):
    fig, ax = plt.subplots(figsize=(4.5, 3), dpi=90)
    if margins:
        ax.hist(margins, bins=30, color="#2e9d5b")
        ax.axvline(0, color="#d0563b", lw=1.5)
        ax.set_xlabel("reward margin  r(chosen) − r(rejected)", fontsize=8)
        ax.set_ylabel("held-out pairs", fontsize=8)
        right = sum(m > 0 for m in margins) / len(margins)
        ax.set_title(f"{100 * right:.0f} % of pairs right of 0 (correct)", fontsize=9)
    else:
        ax.text(0.5, 0.5, "margins appear after training", ha="center", va="center", transform=ax.transAxes, fontsize=8)
        ax.axis("off")
    ax.tick_params(labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    plt.close(fig)
    return fig


def evaluation_markdown(snap) -> str:
    r = snap.result if isinstance(snap.result, dict) else None
    base = snap.data.get("baseline_shorter_wins")
    if r is None:
        extra = f" · 'shorter reply wins' on the held-out set: **{100 * base:.1f} %**" if base is not None else ""
        return f"Held-out accuracy appears when training ends{extra}."
    stop = " (stopped early: the adapter trained so far was saved)" if r.get("stopped") else ""
    epochs = f"{r['epochs']:g} epoch{'s' if r['epochs'] != 1 else ''} = " if r.get("epochs") else ""
    return (f"| held-out pairs ({r['n_eval']}) | accuracy |\n|---|---|\n"
            f"| before training (≈ chance) | {100 * r['eval_accuracy_before']:.1f} % |\n"
            f"| **after training** | **{100 * r['eval_accuracy']:.1f} %** |\n"
            f"| baseline: shorter reply wins | {100 * r['baseline_shorter_wins']:.1f} % |\n\n"
            f"Saved as **{esc(r['name'])}** and made active{stop}; {r['n_train']} training pairs, {epochs}"
            f"{r['steps']} optimiser steps, {fmt_seconds(r['train_seconds'])}, {r['trainable_params']:,} of "
            f"{r['total_params']:,} parameters trained.")


def parse_epochs(text) -> float | None:
    """The epochs field: empty (or "auto") = None (auto), else a number of passes in (0, 20]; anything else is an
    error that names the field."""
    text = "" if text is None else str(text).strip()
    if text.lower() in ("", "auto"):
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 20:
        raise ValueError(f"epochs (under 'LoRA and optimiser') must be a number above 0 and at most 20, or empty for "
                         f"auto; got {text[:40]!r}")
    return value


def models_frame(items: list[dict]) -> pd.DataFrame:
    rows = [{"active": "●" if m["active"] else "", "name": m["name"], "backbone": str(m.get("backbone") or ""),
             "eval accuracy": "" if m.get("eval_accuracy") is None else f"{100 * m['eval_accuracy']:.1f} %",
             "pairs": m.get("n_train"), "LoRA": "yes" if m.get("lora") else "no", "created": m.get("created_iso", "")}
            for m in items]
    return pd.DataFrame(rows, columns=MODEL_COLUMNS)


# ----------------------------------------------------------------------------- building


def build(ws: Workspace) -> RewardTab:
    d = RewardConfig()
    src = ws.data.source
    gr.Markdown(INTRO, elem_classes="rl-intro")
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            subset = gr.Dropdown(src.subsets(), value=src.default()[0], label="hh-rlhf subset")
            n_pairs = gr.Slider(20, 5000, value=400, step=20, label="hh-rlhf training pairs", elem_id="rm-pairs",
                                info="400 pairs train in a few minutes on a CPU")
            use_votes = gr.Checkbox(True, label="Add the class's votes (A/B outcomes become chosen/rejected)")
            startup = ws.settings.reward_backbone or d.backbone  # the operator's choice at start-up is always offered
            backbone = gr.Dropdown(list(dict.fromkeys(["minilm", "policy", startup])), value=startup,
                                   allow_custom_value=ws.settings.allow_any_model, label="Backbone",
                                   info="minilm, policy, or a folder / Hub id" if ws.settings.allow_any_model
                                   else "minilm or policy (the app was started without --allow-any-model)")
            max_length = gr.Slider(64, 512, value=d.max_length, step=32, label="Maximum length (tokens)",
                                   info="longer conversations are cut from the LEFT: the final reply and the end of "
                                        "the prompt are kept")
            with gr.Accordion("LoRA and optimiser", open=False):
                use_lora = gr.Checkbox(d.use_lora, label="LoRA (else full fine-tuning)")
                lora_r = gr.Slider(1, 64, value=d.lora_r, step=1, label="rank r")
                lora_alpha = gr.Slider(1, 128, value=d.lora_alpha, step=1, label="alpha")
                lora_dropout = gr.Slider(0.0, 0.5, value=d.lora_dropout, step=0.05, label="dropout")
                targets = gr.Textbox(label="target modules (comma-separated; empty = per architecture)")
                lr = gr.Number(d.learning_rate, label="learning rate")
                # a Textbox, not a Number: a Number shows 0 for "empty" and Gradio then refuses 0 before we can
                # say which field is wrong
                epochs = gr.Textbox("" if d.num_train_epochs is None else str(d.num_train_epochs),
                                    label="epochs (empty = auto)", placeholder="auto",
                                    info=f"auto: 1 epoch, or more for a small set so that training makes at least "
                                         f"{d.min_steps} optimiser steps (at most {d.max_auto_epochs} epochs)",
                                    elem_id="rm-epochs")
            with gr.Row():
                train = gr.Button("Train", variant="primary", elem_id="rm-train")
                stop = gr.Button("Stop", variant="stop", elem_id="rm-stop")
        with gr.Column(scale=3):
            status = gr.Markdown("No training yet.", elem_id="rm-status")
            curves = gr.Plot(label="Live training curves", show_label=False, elem_id="rm-curves")
            with gr.Row():
                evaluation = gr.Markdown(elem_id="rm-eval")
                margins = gr.Plot(label="Reward margins on the held-out set", show_label=False, elem_id="rm-margins")
    gr.Markdown("### Saved reward models")
    models = gr.Dataframe(pd.DataFrame(columns=MODEL_COLUMNS), interactive=False, elem_id="rm-models")
    with gr.Row(equal_height=True):
        pick = gr.Dropdown([], label="Model", scale=3, elem_id="rm-pick")
        activate = gr.Button("Make active (PPO optimises the active model)", scale=2, elem_id="rm-activate")
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
    return RewardTab(subset, n_pairs, use_votes, backbone, max_length, use_lora, lora_r, lora_alpha, lora_dropout,
                     targets, lr, epochs, train, stop, status, curves, evaluation, margins, models, pick, activate,
                     pg_prompt, pg_reply1, pg_reply2, pg_score, pg_out, timer, gr.State((-1, -1)))


def wire(tab: RewardTab, ws: Workspace, demo: gr.Blocks) -> None:
    private = dict(api_visibility="private")

    def train(subset, n_pairs, use_votes, backbone, max_length, use_lora, r, alpha, dropout, targets, lr, epochs):
        try:
            tm = [t.strip() for t in (targets or "").split(",") if t.strip()] or None
            cfg = RewardConfig(backbone=(backbone or "minilm").strip(), max_length=int(max_length), use_lora=bool(use_lora),
                               lora_r=int(r), lora_alpha=int(alpha), lora_dropout=float(dropout), lora_target_modules=tm,
                               learning_rate=float(lr or 0), device=ws.settings.device,
                               num_train_epochs=parse_epochs(epochs))
            job, data = training_job(ws, cfg, subset, int(n_pairs), bool(use_votes))
            ws.jobs.submit("reward", "Reward model training", job)
        except (ValueError, FileNotFoundError, JobBusy) as e:
            raise error(str(e)) from e
        return f"Starting: {len(data.train)} training pairs ({data.n_votes} from votes), {len(data.eval)} held out."

    def stop():
        if ws.jobs.snapshot().kind == "reward":
            ws.jobs.stop()

    def models_update():
        items = ws.reward_models.list()
        names = [m["name"] for m in items]
        skipped = ws.reward_models.skipped()
        info = (f"Left out (incomplete, e.g. a run that was killed): {', '.join(skipped)}" if skipped else None)
        return models_frame(items), gr.update(choices=names, value=ws.reward_models.active, info=info)

    def refresh(seen):
        snap = ws.jobs.snapshot("reward")
        n_models = len(ws.reward_models.list()) if snap.state != "running" else seen[1]
        key = (snap.version, n_models)
        if tuple(seen) == key:
            return seen, *([gr.skip()] * 6)
        status = snap.status_line() if snap.state != "idle" else "No training yet: press Train."
        table, pick = models_update() if n_models != seen[1] or snap.state in ("done", "stopped") else (gr.skip(), gr.skip())
        return (key, esc(status), curves_figure(snap.data.get("log", [])), evaluation_markdown(snap),
                margins_figure(snap.data.get("margins", [])), table, pick)

    def activate(name):
        if not name:
            raise error("Pick a saved model first.")
        try:
            ws.reward_models.set_active(name)
        except (ValueError, FileNotFoundError) as e:
            raise error(str(e)) from e
        gr.Info(f"{name} is now the active reward model.")
        return models_update()

    def score(prompt, r1, r2):
        model = ws.reward_models.active_model(ws.settings.device)
        if model is None:
            raise error("No active reward model yet: train one first.")
        prompt = (prompt or "").strip()
        replies = [r for r in ((r1 or "").strip(), (r2 or "").strip()) if r]
        if not prompt or not replies:
            raise error("Type a prompt and at least one reply.")
        from rlhf_demo.data.hh import prompt_from_text

        scores = model.score([prompt_from_text(prompt)] * len(replies), replies).tolist()
        lines = [f"Reply {i + 1}: **{s:+.3f}**" for i, s in enumerate(scores)]
        if len(scores) == 2:
            better = 1 if scores[0] > scores[1] else 2
            lines.append(f"The reward model prefers **reply {better}** (margin {abs(scores[0] - scores[1]):.3f}).")
        return "  \n".join(lines) + f"  \n<span class='rl-meta'>model: {esc(ws.reward_models.active or '')}</span>"

    inputs = [tab.subset, tab.n_pairs, tab.use_votes, tab.backbone, tab.max_length, tab.use_lora, tab.lora_r,
              tab.lora_alpha, tab.lora_dropout, tab.targets, tab.lr, tab.epochs]
    tab.train.click(train, inputs, [tab.status], **private)
    tab.stop.click(stop, None, None, **private)
    out = [tab.seen, tab.status, tab.curves, tab.evaluation, tab.margins, tab.models, tab.pick]
    tab.timer.tick(refresh, [tab.seen], out, show_progress="hidden", **private)
    demo.load(refresh, [tab.seen], out, show_progress="hidden", **private)
    tab.activate.click(activate, [tab.pick], [tab.models, tab.pick], **private)
    tab.pg_score.click(score, [tab.pg_prompt, tab.pg_reply1, tab.pg_reply2], [tab.pg_out], **private)

    def reward_score(prompt: str, reply: str) -> float:
        """Score one reply to a typed prompt with the active reward model."""
        prompt = as_text(prompt, "prompt", 4000)
        reply = as_text(reply, "reply", 4000)
        model = ws.reward_models.active_model(ws.settings.device)
        if model is None:
            raise error("No active reward model yet.")
        from rlhf_demo.data.hh import prompt_from_text

        return float(model.score([prompt_from_text(prompt)], [reply])[0])

    gr.api(reward_score, api_name="reward_score")
