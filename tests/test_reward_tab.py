"""The Reward tab's epochs field: empty means auto, and a bad value names the field (it used to show 0 and fail with
Gradio's "Value 0 is less than minimum value 0.1", which named no field)."""

from __future__ import annotations

import pytest

from rlhf_demo.reward.form import parse_epochs


@pytest.mark.parametrize("text", [None, "", "  ", "auto", "AUTO"])
def test_empty_epochs_means_auto(text):
    assert parse_epochs(text) is None


@pytest.mark.parametrize("text, value", [("3", 3.0), ("0.5", 0.5), (" 20 ", 20.0), (2, 2.0)])
def test_epochs_take_a_number(text, value):
    assert parse_epochs(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "21", "nan", "inf", "three", "1e9"])
def test_bad_epochs_name_the_field(text):
    with pytest.raises(ValueError, match="epochs .*LoRA and optimiser"):
        parse_epochs(text)


# ---------------------------------------------------------------------------------------------- every field named
from rlhf_demo.reward.form import default_use_votes, parse_settings  # noqa: E402

GOOD = dict(n_pairs=400, use_votes=True, backbone="minilm", max_length=256, use_lora=True, lora_r=32, lora_alpha=64,
            lora_dropout=0.0, targets="", learning_rate=5e-4, epochs="")


def test_good_settings_make_the_config():
    cfg, n, votes = parse_settings(**GOOD)
    assert (n, votes, cfg.max_length, cfg.lora_r, cfg.learning_rate, cfg.num_train_epochs) == (400, True, 256, 32, 5e-4, None)
    cfg, _, _ = parse_settings(**{**GOOD, "targets": "query, value", "epochs": "2", "n_pairs": 0.0})
    assert cfg.lora_target_modules == ["query", "value"] and cfg.num_train_epochs == 2.0


@pytest.mark.parametrize("field, value, message", [
    ("learning_rate", 0, "learning rate must be"), ("learning_rate", None, "learning rate must be a number"),
    ("learning_rate", float("nan"), "learning rate must be a finite"), ("learning_rate", 0.5, "learning rate must be"),
    ("learning_rate", "fast", "learning rate must be a number"),
    ("lora_r", 0, "LoRA rank r must be a whole number from 1 to 64"), ("lora_r", 2.5, "LoRA rank r"),
    ("lora_alpha", 500, "LoRA alpha must be"), ("lora_dropout", 0.9, "LoRA dropout must be"),
    ("max_length", 8, "maximum length .tokens. must be"), ("max_length", 100000, "maximum length"),
    ("n_pairs", -20, "hh-rlhf training pairs must be"), ("n_pairs", 10**9, "hh-rlhf training pairs"),
    ("use_votes", "yes", "use the class's votes must be true or false"), ("use_lora", None, "LoRA must be"),
    ("targets", "query;drop table", "target modules"), ("epochs", "0", "epochs .under 'LoRA and optimiser'"),
    ("backbone", {"a": 1}, "backbone must be"),
])
def test_every_bad_value_names_its_field(field, value, message):
    """Before: learning rate 0 failed in RewardConfig ("RewardConfig.learning_rate = 0.0") and a slider typed out of
    range with Gradio's "Value 0 is less than minimum value 1", naming no field."""
    with pytest.raises(ValueError, match=message):
        parse_settings(**{**GOOD, field: value})


def test_class_votes_default_off_on_a_space(monkeypatch):
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert default_use_votes() is True
    monkeypatch.setenv("SPACE_ID", "someone/rlhf-playground")
    assert default_use_votes() is False


# ---------------------------------------------------------------------------------------------- what the tab shows
from types import SimpleNamespace  # noqa: E402

from rlhf_demo.ui.reward_view import curves_figures, evaluation_markdown, margins_figure, playground_markdown  # noqa: E402

from .fonts import assert_readable  # noqa: E402

LOG = ([{"step": 0, "kind": "eval", "phase": "before", "n": 100, "eval_accuracy": 0.44}]
       + [{"step": s, "kind": "train", "loss": 0.69 - s / 200, "accuracy": 0.5 + s / 200} for s in range(1, 50, 5)]
       + [{"step": s, "kind": "eval", "phase": "during", "n": 100, "eval_accuracy": 0.5 + s / 300, "eval_loss": 0.6}
          for s in (9, 18, 27, 36, 45)]
       + [{"step": 50, "kind": "eval", "phase": "after", "n": 400, "eval_accuracy": 0.63, "n_subset": 100,
           "subset_accuracy": 0.66}])


@pytest.mark.parametrize("make", [lambda: curves_figures(LOG)[0], lambda: curves_figures(LOG)[1],
                                  lambda: curves_figures([])[0], lambda: margins_figure([0.3, -0.1, 0.5]),
                                  lambda: margins_figure([])])
def test_plot_text_is_at_least_14_px_for_a_projector(make):
    assert_readable(make())


def test_the_curve_has_every_evaluation_and_says_on_how_many_pairs():
    loss, acc_fig = curves_figures(LOG)  # two figures: a phone stacks them, each the full width
    acc = acc_fig.axes[0]
    assert loss.axes[0].get_title().startswith("loss")
    curve = next(line for line in acc.get_lines() if line.get_label().startswith("held-out (100"))
    assert list(curve.get_xdata()) == [0, 9, 18, 27, 36, 45, 50]  # 7 points, not two joined by a line
    assert list(curve.get_ydata())[-1] == 0.66  # its last point: the same 100 pairs
    assert "every 9 steps, 100 pairs" in acc.get_title()
    assert any(line.get_label() == "held-out (all 400)" for line in acc.get_lines())


def test_the_table_labels_the_untrained_head_and_shows_both_length_baselines():
    result = {"n_eval": 400, "n_eval_before": 100, "eval_accuracy_before": 0.438, "eval_accuracy": 0.63,
              "baseline_shorter_wins": 0.44, "baseline_longer_wins": 0.56, "name": "rm-1", "n_train": 400, "epochs": 2.0,
              "steps": 50, "train_seconds": 100.0, "trainable_params": 1, "total_params": 2, "stopped": False}
    md = evaluation_markdown(SimpleNamespace(result=result, data={}))
    assert "≈ chance" not in md and "untrained (random) score head on the frozen backbone (100 of the pairs)" in md
    assert "| before training¹ | 43.8 % |" in md
    assert "shorter reply wins | 44.0 %" in md and "longer reply wins | 56.0 %" in md
    waiting = evaluation_markdown(SimpleNamespace(result=None, data={"baseline_shorter_wins": 0.44,
                                                                        "baseline_longer_wins": 0.56}))
    assert "shorter reply wins **44.0 %**" in waiting and "longer reply wins **56.0 %**" in waiting
    assert "2 epochs = 50 optimiser steps" in md
    stopped = evaluation_markdown(SimpleNamespace(result={**result, "steps": 7, "stopped": True}, data={}))
    # a run stopped early did fewer steps than its epochs: never "2 epochs = 7 optimiser steps"
    assert "7 optimiser steps (of 2 epochs planned)" in stopped and "epochs = 7" not in stopped
    assert "stopped early" in stopped


def test_playground_scores_come_with_sigma_units():
    md = playground_markdown([-1.6, -2.5], [0.8, -1.0], "rm-1")
    assert "**-1.600** · 0.8 σ above an average held-out reply" in md
    assert "· 1.0 σ below an average held-out reply" in md and "prefers **reply 1**" in md
    assert "no reference" in playground_markdown([-1.0], [None], "old-model")


def test_each_model_says_what_it_was_trained_on():
    """The Reward tab's list and Browse's verdict name the data a reward model learned from."""
    from rlhf_demo.ui.browse_view import verdict_html
    from rlhf_demo.ui.reward_view import models_frame

    real = {"source": "local:/x/harmless-base-sample.jsonl.gz", "description": "local files: harmless-base-sample",
            "subset": "harmless-base", "n_pairs": 400, "n_votes": 3}
    frame = models_frame([{"active": True, "name": "rm-1", "trained_on": real}, {"active": False, "name": "rm-0"}])
    assert frame["trained on"].tolist() == ["local files: harmless-base-sample (harmless-base), 400 pairs + 3 votes",
                                            "not recorded"]
    html = verdict_html("rm-1", 0.4, -0.2, "local files: harmless-base-sample (harmless-base), 400 pairs + 3 votes")
    assert "trained on local files: harmless-base-sample (harmless-base), 400 pairs + 3 votes" in html


# ---------------------------------------------------------------------------------------------- the training time
from rlhf_demo.reward.timing import NOT_MEASURED, last_measurement, planned_steps, training_time_text  # noqa: E402


def test_the_training_time_comes_from_the_last_training_measured_here():
    """Issue 23: "400 pairs: about 6 minutes on 2 idle CPU cores" was a constant, on a slider that ended at 192."""
    newest = {"name": "rm-2", "backbone": "minilm", "n_train": 192, "steps": 48, "train_seconds": 120.0}
    older = {"name": "rm-1", "backbone": "policy", "n_train": 400, "steps": 25, "train_seconds": 600.0}
    untimed = {"name": "rm-0", "backbone": "minilm", "n_train": 100, "steps": None, "train_seconds": None}
    assert last_measurement([untimed, newest, older]) is newest
    assert last_measurement([newest, older], backbone="policy") is older  # the same backbone first
    assert last_measurement([untimed]) is None and last_measurement([]) is None
    # 192 pairs in batches of 16 = 12 steps an epoch, 4 auto epochs = 48 steps; 400 pairs: 25 steps, 2 epochs = 50
    assert planned_steps(192) == 48 and planned_steps(400) == 50
    text = training_time_text(400, newest)  # 50 steps at 2.5 s
    assert text.startswith("Time for 400 pairs: about 2 minutes") and "took 2m 00s for 192 pairs, 48 steps" in text
    assert "under a minute" in training_time_text(16, newest)


def test_nothing_measured_means_no_number_but_the_eta():
    text = training_time_text(192, None)
    assert text == NOT_MEASURED and "ETA" in text and not any(ch.isdigit() for ch in text)


def test_a_saved_models_entry_carries_its_training_time(tmp_path):
    import json

    from rlhf_demo.reward.model import META_FILE
    from rlhf_demo.reward.registry import RewardModelRegistry

    (tmp_path / "rm-a").mkdir()
    (tmp_path / "rm-a" / META_FILE).write_text(json.dumps({"n_train": 64, "steps": 48, "train_seconds": 30.5,
                                                           "backbone": "minilm", "created": 1.0}))
    entry = RewardModelRegistry(tmp_path).list()[0]
    assert (entry["train_seconds"], entry["steps"], entry["n_train"]) == (30.5, 48, 64)
    assert last_measurement([entry]) is entry


# ---------------------------------------------------------------------------------------------- the pairs slider
def test_the_pairs_slider_ends_where_the_data_does():
    from rlhf_demo.ui.reward import pairs_slider

    assert pairs_slider(192) == dict(minimum=0, maximum=192, value=192, step=1, label="hh-rlhf training pairs (of 192)")
    assert pairs_slider(5000, 300)["value"] == 300 and pairs_slider(5000)["step"] == 20
    assert pairs_slider(100, 300)["value"] == 100  # a value from a bigger subset is cut to this one's end
