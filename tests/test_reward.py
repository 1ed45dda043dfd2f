"""Reward model: what the Train tab, PPO and the headless CLI rely on.

Every model here is tiny and random, built in the test (a 2-layer BERT on MiniLM's tokenizer, a
2-layer Llama on a word-level tokenizer), so the whole file runs in well under a minute on 2 cores.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from rlhf_demo.data.hh import load_jsonl
from rlhf_demo.models.presets import resolve_reward_backbone
from rlhf_demo.reward.model import META_FILE, ReplyEncoder, evaluate, load_reward_model
from rlhf_demo.reward.registry import RewardModelRegistry
from rlhf_demo.reward.trainer import TrainingDiverged, train_reward_model


def train(cfg, *args, **kw):
    """`train_reward_model` with cfg.backbone (a local folder here) resolved as the app does, once, by the caller."""
    return train_reward_model(cfg, *args, backbone=resolve_reward_backbone(cfg.backbone, None, hub_ok=False), **kw)


def reg_train(reg, cfg, *args, **kw):
    return reg.train(cfg, *args, backbone=resolve_reward_backbone(cfg.backbone, None, hub_ok=False), **kw)
from rlhf_demo.data.browse import shorter_reply_wins
from rlhf_demo.data.pairs import build_training_pairs, pairs_from_set, split_pairs
from rlhf_demo.reward.config import RewardConfig

REPO = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- fixtures: tiny backbones

WORDS = ("the a you it is can do not how what why where when this that there here people time way thing "
         "make know think want need tell help try give find use look work feel good bad right wrong maybe").split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def easy_pairs(n: int, seed: int) -> list[tuple[str, str, str]]:
    """Synthetic preference a tiny model can learn: the chosen reply says "sorry", the rejected says "stupid"."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        prompt = f"\n\nHuman: {_sentence(rng, rng.randint(4, 12))}?\n\nAssistant:"
        good = _sentence(rng, rng.randint(3, 10)).split()
        bad = _sentence(rng, rng.randint(3, 10)).split()
        good.insert(rng.randint(0, len(good)), "sorry")
        bad.insert(rng.randint(0, len(bad)), "stupid")
        out.append((prompt, " ".join(good), " ".join(bad)))
    return out


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory) -> str:
    """A 2-layer random Llama with a word-level tokenizer (BOS/EOS/PAD like a real decoder)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForSequenceClassification, PreTrainedTokenizerFast

    d = tmp_path_factory.mktemp("tiny-llama")
    specials = ["<pad>", "<s>", "</s>", "<unk>"]
    vocab = {w: i for i, w in enumerate(specials + WORDS + ["sorry", "stupid", "human", "assistant", ":", "?"])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                  unk_token="<unk>")
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128,
                      pad_token_id=0, bos_token_id=1, eos_token_id=2)
    LlamaForSequenceClassification(cfg).save_pretrained(d)
    tok.save_pretrained(d)
    return str(d)


@pytest.fixture(scope="module")
def broken_bert(tiny_bert, tmp_path_factory) -> str:
    """The tiny BERT with NaN in a LayerNorm: every forward is NaN, as after a diverged update."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    d = tmp_path_factory.mktemp("broken-bert")
    m = AutoModelForSequenceClassification.from_pretrained(tiny_bert, num_labels=1)
    with torch.no_grad():
        m.bert.embeddings.LayerNorm.weight.fill_(float("nan"))
    m.save_pretrained(d)
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(d)
    return str(d)


def tiny_cfg(backbone: str, **kw) -> RewardConfig:
    base = dict(backbone=backbone, max_length=48, lora_r=8, lora_alpha=16, learning_rate=3e-3, num_train_epochs=1,
                per_device_train_batch_size=16, eval_pairs=64, logging_steps=1, seed=0)
    base.update(kw)
    return RewardConfig(**base)


@pytest.fixture(scope="module")
def trained(tiny_bert, tmp_path_factory):
    """One LoRA run on the easy preference, shared by the tests that inspect its result."""
    out = tmp_path_factory.mktemp("rm") / "model"
    rows: list[dict] = []
    progress: list[dict] = []
    res = train(tiny_cfg(tiny_bert, num_train_epochs=4, eval_curve_pairs=32), easy_pairs(192, seed=1),
                easy_pairs(64, seed=2), out, on_log=rows.append, on_progress=progress.append)
    res.progress_rows = progress  # every optimiser step's {"step", "progress", "eta_s"}
    return res, out, rows


# --------------------------------------------------------------------------- config and data


@pytest.mark.parametrize("field,value", [
    ("max_length", 4), ("lora_r", 0), ("learning_rate", 0.0), ("learning_rate", float("nan")),
    ("num_train_epochs", 0), ("per_device_train_batch_size", 0), ("max_pairs", 0), ("eval_pairs", -1),
    ("lora_dropout", 1.0), ("lora_target_modules", []), ("center_rewards_coefficient", -0.1), ("backbone", " "),
    ("device", "tpu"), ("min_steps", -1), ("max_auto_epochs", 0),
])
def test_invalid_config_raises_value_error_naming_the_field(field, value):
    RewardConfig().validate()  # the defaults are valid
    with pytest.raises(ValueError, match=field):
        RewardConfig(**{field: value}).validate()


def test_auto_epochs_give_small_sets_enough_steps_and_large_sets_one_pass():
    cfg = RewardConfig()  # batch 16, min_steps 48, at most 5 auto epochs
    assert cfg.num_train_epochs is None
    assert cfg.epochs_for(192) == 4  # the bundled set: 12 steps per epoch -> 48 steps
    assert cfg.epochs_for(1400) == 1  # the real sample: 88 steps in one epoch
    assert cfg.epochs_for(300) == 3  # 19 steps per epoch -> 57 steps
    assert cfg.epochs_for(20) == 5  # capped: 2 steps per epoch would need 24 epochs
    assert cfg.epochs_for(192, num_processes=2) == 5  # two processes: half the steps per epoch
    assert RewardConfig(num_train_epochs=2.5).epochs_for(192) == 2.5  # an explicit choice is kept
    assert RewardConfig(min_steps=0).epochs_for(192) == 1


def test_config_round_trips_through_dict():
    cfg = RewardConfig(lora_r=4, lora_target_modules=["query"], center_rewards_coefficient=0.01)
    assert RewardConfig.from_dict(cfg.to_dict() | {"from_a_newer_version": 1}) == cfg


def test_pairs_from_real_sample_and_shorter_wins_baseline(sample_path):
    pairs = pairs_from_set(load_jsonl(sample_path))
    assert 1800 <= len(pairs) <= 1812  # the 4 pairs whose conversations differ before the reply are left out
    prompt, chosen, rejected = pairs[0]
    assert prompt.startswith("\n\nHuman:") and prompt.endswith("\n\nAssistant:")
    assert chosen and rejected and chosen != rejected
    assert 0.5 < shorter_reply_wins((c, r) for _, c, r in pairs) < 0.6


def test_shorter_reply_wins_counts_words_and_ties_half():
    # words, not characters: "a b" (2 words) is shorter than "abc d e" (3 words) though not in characters... and
    # "abcdefgh" (1 word, 8 characters) is shorter than "a b" (2 words, 3 characters)
    assert shorter_reply_wins([("a b", "abc d e")]) == 1.0
    assert shorter_reply_wins([("abcdefgh", "a b")]) == 1.0
    assert shorter_reply_wins([("a b", "c")]) == 0.0
    # ties count half: one win, one loss, one tie -> 0.5
    assert shorter_reply_wins([("a", "b c"), ("b c", "a"), ("x y", "z w")]) == pytest.approx(0.5)
    assert shorter_reply_wins([("x y", "z w")]) == 0.5


def test_split_is_seeded_and_disjoint_and_votes_are_always_kept():
    pairs = easy_pairs(50, seed=3)
    tr, ev = split_pairs(pairs, 10, seed=7)
    assert len(ev) == 10 and len(tr) == 40 and not set(tr) & set(ev)
    assert split_pairs(pairs, 10, seed=7) == (tr, ev) and split_pairs(pairs, 10, seed=8)[1] != ev
    votes = [("\n\nHuman: mine\n\nAssistant:", f"yes {i}", f"no {i}") for i in range(5)]
    train = build_training_pairs(tr, votes, max_pairs=12, seed=0)
    assert len(train) == 12 and all(v in train for v in votes)


def test_left_truncation_keeps_the_reply_and_the_end_of_the_prompt(tiny_bert, tiny_llama):
    from transformers import AutoTokenizer

    prompt = "\n\nHuman: why " + "the " * 300 + "tell people what?\n\nAssistant:"
    reply = "sorry you can not do that"  # words both tokenizers know
    for path in (tiny_bert, tiny_llama):
        tok = AutoTokenizer.from_pretrained(path)
        enc = ReplyEncoder(tok, max_length=32)
        (ids,) = enc([prompt], [reply])
        assert len(ids) == 32
        text = tok.decode(ids, skip_special_tokens=True).replace(" ", "")
        assert "why" not in text  # the start of the conversation is what goes
        assert text.endswith(reply.replace(" ", ""))  # the whole reply is kept...
        assert "tellpeoplewhat?" in text  # ...with the end of the conversation before it
        short = enc(["\n\nHuman: hi?\n\nAssistant:"], ["sorry"])[0]
        assert len(short) < 32  # short texts are not padded or cut


# --------------------------------------------------------------------------- training


def test_zero_pairs_is_a_clear_error_before_any_work(tiny_bert, tmp_path):
    with pytest.raises(ValueError, match="No training pairs"):
        train(tiny_cfg(tiny_bert), [], easy_pairs(4, 0), tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_learns_an_easy_preference_well_above_chance(trained):
    res, out, rows = trained
    assert res.eval_accuracy_before < 0.75  # a random head is near chance...
    assert res.eval_accuracy >= 0.9  # ...the trained one finds the word that decides
    assert res.eval_accuracy > res.eval_accuracy_before + 0.2
    assert res.n_train == 192 and res.n_eval == 64 and not res.stopped
    # live rows: the evaluation before, training rows with loss/accuracy/progress/eta, the evaluation after
    assert rows[0]["phase"] == "before" and rows[-1]["phase"] == "after"
    train_rows = [r for r in rows if r["kind"] == "train"]
    assert len(train_rows) >= 3 and all({"step", "epoch", "loss", "accuracy", "progress", "eta_s"} <= r.keys()
                                        for r in train_rows if "loss" in r)
    progress = [r["progress"] for r in train_rows]
    assert progress == sorted(progress) and progress[-1] == pytest.approx(1.0)
    assert train_rows[-1]["step"] == res.steps == 4 * 192 // 16


def test_a_real_evaluation_curve_every_k_steps_on_a_subset(trained):
    """Issue 12: the "curve" was two points joined by a line. Now TRL evaluates every K steps (on
    `eval_curve_pairs` held-out pairs), with the full evaluations before and after at its two ends."""
    res, _, rows = trained
    evals = [r for r in rows if r["kind"] == "eval"]
    during = [r for r in evals if r["phase"] == "during"]
    assert 5 <= len(evals) <= 8 and [r["phase"] for r in (evals[0], evals[-1])] == ["before", "after"]
    assert res.eval_steps == 8 and [r["step"] for r in during] == [8, 16, 24, 32, 40]  # 48 steps, none at the last
    assert all(r["n"] == 32 and 0 <= r["eval_accuracy"] <= 1 and "eval_loss" in r for r in during)
    # before training: the curve's pairs; after: all of them, and the curve's pairs among them (its last point)
    assert evals[0]["n"] == res.n_eval_before == res.n_eval_curve == evals[-1]["n_subset"] == 32
    assert evals[-1]["n"] == 64
    margins = res.margins[:32]  # an independent count of the last point: ties half
    assert evals[-1]["subset_accuracy"] == pytest.approx(sum((m > 0) + 0.5 * (m == 0) for m in margins) / 32)
    assert during[-1]["eval_accuracy"] > evals[0]["eval_accuracy"]  # the curve shows the learning


def test_progress_after_every_step_and_no_eta_before_a_measured_step(trained):
    res, _, _ = trained
    prog = res.progress_rows
    assert [p["step"] for p in prog] == list(range(1, res.steps + 1))
    assert prog[0]["eta_s"] is None  # the first (warm-up) step alone is no estimate: "estimating…"
    assert all(p["eta_s"] is not None and p["eta_s"] >= 0 for p in prog[1:])
    assert prog[-1]["progress"] == pytest.approx(1.0)


def test_metadata_has_both_length_baselines_and_the_score_reference(trained):
    res, out, _ = trained
    meta = json.loads((out / META_FILE).read_text())
    pairs = easy_pairs(64, seed=2)
    shorter = shorter_reply_wins((c, r) for _, c, r in pairs)
    assert meta["baseline_shorter_wins"] == pytest.approx(shorter) == res.baseline_shorter_wins
    assert meta["baseline_longer_wins"] == pytest.approx(1 - shorter) == res.baseline_longer_wins
    # mean / std of the model's scores over every held-out reply, chosen and rejected: an independent loop
    rm = load_reward_model(out, device="cpu")
    scores = rm.score([p for p, _, _ in pairs] * 2, [c for _, c, _ in pairs] + [r for _, _, r in pairs]).tolist()
    mean = sum(scores) / len(scores)
    std = (sum((x - mean) ** 2 for x in scores) / len(scores)) ** 0.5
    ref = meta["score_reference"]
    # float32 scores are the same in any batch; under bfloat16 autocast (where it measures faster) they move with the
    # batch's padding, by a few 1e-4 here
    tol = 0.02 * ref["std"] if rm.autocast else 1e-4
    assert ref["n"] == 128 and ref["mean"] == pytest.approx(mean, abs=tol) and ref["std"] == pytest.approx(std, abs=tol)
    assert rm.meta["score_reference"] == ref


def test_lora_trains_adapters_and_head_and_saves_only_those(trained, tiny_bert):
    from transformers import AutoModelForSequenceClassification

    res, out, _ = trained
    assert res.trainable_params < res.total_params / 3
    with safe_open(out / "adapter_model.safetensors", "pt") as f:
        saved = {k: f.get_tensor(k) for k in f.keys()}
    assert saved and all("lora_" in k or ".classifier." in k for k in saved)  # deltas + head, no base weight
    assert any(".classifier." in k for k in saved), "the score head must be saved, it starts random"
    lora_b = [v for k, v in saved.items() if "lora_B" in k]
    assert lora_b and all(v.abs().sum() > 0 for v in lora_b)  # B starts at zero: non-zero means it trained
    # The base weights stay the backbone's: the loaded model = backbone + the saved deltas.
    base = AutoModelForSequenceClassification.from_pretrained(tiny_bert, num_labels=1)
    from peft import PeftModel

    peft = PeftModel.from_pretrained(base, out)
    orig = AutoModelForSequenceClassification.from_pretrained(tiny_bert, num_labels=1)
    q = "bert.encoder.layer.0.attention.self.query"
    assert torch.equal(peft.get_submodule(f"base_model.model.{q}").base_layer.weight, orig.get_submodule(q).weight)
    assert not torch.equal(peft.get_submodule("base_model.model.classifier").modules_to_save["default"].weight,
                           orig.classifier.weight)


def test_save_then_load_gives_the_same_scores(trained):
    res, out, _ = trained
    meta = json.loads((out / META_FILE).read_text())
    assert {"backbone", "backbone_path", "config", "eval", "n_train", "created"} <= meta.keys()
    rm = load_reward_model(out, device="cpu")
    ev = evaluate(rm, easy_pairs(64, seed=2))
    assert ev["accuracy"] == pytest.approx(res.eval_accuracy)
    # exact in float32; under bfloat16 autocast (where it measures faster) within its rounding
    assert ev["mean_margin"] == pytest.approx(res.eval_mean_margin, abs=1e-3 * abs(res.eval_mean_margin) if rm.autocast else 1e-4)
    rewards = rm.score(["\n\nHuman: hi?\n\nAssistant:"] * 3, ["sorry you", "stupid you", "sorry you"])
    assert rewards.shape == (3,) and rewards.dtype == torch.float32
    assert rewards[0] == pytest.approx(rewards[2].item()) and rewards[0] > rewards[1]
    assert torch.allclose(load_reward_model(out, device="cpu").score(["p"], ["sorry"]), rm.score(["p"], ["sorry"]))


def test_stop_flag_ends_early_and_still_saves_a_usable_model(tiny_bert, tmp_path):
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) >= 2

    res = train(tiny_cfg(tiny_bert, num_train_epochs=3), easy_pairs(96, 1), easy_pairs(16, 2),
                             tmp_path / "m", should_stop=should_stop)
    assert res.stopped and res.steps == 2 < 3 * 96 // 16
    rm = load_reward_model(tmp_path / "m", device="cpu")
    assert torch.isfinite(rm.score(["p", "q"], ["sorry", "stupid"])).all()


def test_nan_loss_stops_with_a_clear_error_and_saves_nothing(broken_bert, tmp_path):
    with pytest.raises(TrainingDiverged, match="(?i)nan.*learning rate"):
        train(tiny_cfg(broken_bert), easy_pairs(32, 1), easy_pairs(8, 2), tmp_path / "out")
    assert not (tmp_path / "out" / META_FILE).exists() and not (tmp_path / "out" / "adapter_model.safetensors").exists()


def test_llama_backbone_trains_its_score_head(tiny_llama, tmp_path):
    res = train(tiny_cfg(tiny_llama, num_train_epochs=3, max_length=40), easy_pairs(128, 1),
                             easy_pairs(48, 2), tmp_path / "m")
    with safe_open(tmp_path / "m" / "adapter_model.safetensors", "pt") as f:
        keys = list(f.keys())
    assert any(".score." in k for k in keys) and any("q_proj.lora_A" in k for k in keys)
    assert res.eval_accuracy > res.eval_accuracy_before and res.eval_accuracy >= 0.75
    rm = load_reward_model(tmp_path / "m", device="cpu")
    assert rm.score(["\n\nHuman: why?\n\nAssistant:"] * 2, ["sorry", "stupid"]).shape == (2,)


def test_full_fine_tuning_saves_a_whole_model(tiny_bert, tmp_path):
    res = train(tiny_cfg(tiny_bert, use_lora=False, learning_rate=1e-3, num_train_epochs=2),
                             easy_pairs(96, 1), easy_pairs(32, 2), tmp_path / "m")
    assert res.trainable_params == res.total_params
    assert (tmp_path / "m" / "model.safetensors").is_file() and not (tmp_path / "m" / "adapter_config.json").exists()
    assert evaluate(load_reward_model(tmp_path / "m", device="cpu"), easy_pairs(32, 2))["accuracy"] == pytest.approx(
        res.eval_accuracy)


# --------------------------------------------------------------------------- registry


def test_registry_active_model_persists_and_a_failed_run_leaves_it(tiny_bert, broken_bert, tmp_path):
    reg = RewardModelRegistry(tmp_path / "reward_models")
    assert reg.active is None and reg.list() == []
    res = reg_train(reg, tiny_cfg(tiny_bert), easy_pairs(32, 1), easy_pairs(16, 2), name="first")
    assert reg.active == "first" and res.out_dir == str(tmp_path / "reward_models" / "first")
    assert RewardModelRegistry(tmp_path / "reward_models").active == "first"  # persisted in active.json
    listed = reg.list()
    assert [m["name"] for m in listed] == ["first"] and listed[0]["active"]
    assert listed[0]["eval_accuracy"] == pytest.approx(res.eval_accuracy) and listed[0]["backbone"] == tiny_bert
    assert reg.load("first") is reg.load("first")  # cached

    with pytest.raises(ValueError):  # fails before any work
        reg_train(reg, tiny_cfg(tiny_bert), [], easy_pairs(4, 2), name="second")
    with pytest.raises(TrainingDiverged):  # fails while training
        reg_train(reg, tiny_cfg(broken_bert), easy_pairs(32, 1), easy_pairs(8, 2), name="third")
    assert reg.active == "first" and [m["name"] for m in reg.list()] == ["first"]
    assert sorted(p.name for p in (tmp_path / "reward_models").iterdir()) == ["active.json", "first"]
    with pytest.raises(FileNotFoundError):
        reg.set_active("nope")
    with pytest.raises(ValueError):
        reg.path("../escape")


# --------------------------------------------------------------------------- headless CLI


def test_headless_cli_end_to_end(tiny_bert, tmp_path, sample_path):
    with gzip.open(sample_path, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:48]) + "\n")
    (tmp_path / "eval.jsonl").write_text("\n".join(lines[100:124]) + "\n")
    cmd = [sys.executable, "-m", "rlhf_demo", "reward", "--train", str(tmp_path / "train.jsonl"),
           "--eval", str(tmp_path / "eval.jsonl"), "--out", str(tmp_path / "out"), "--backbone", tiny_bert,
           "--epochs", "1", "--max-length", "64", "--lora-r", "4", "--batch-size", "16"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"eval_accuracy", "eval_accuracy_before", "baseline_shorter_wins", "train_seconds", "n_train",
            "n_eval"} <= result.keys()
    assert result["n_train"] == len(pairs_from_set(load_jsonl(tmp_path / "train.jsonl"))) > 40
    assert result["n_eval"] == len(pairs_from_set(load_jsonl(tmp_path / "eval.jsonl"))) > 20
    assert 0 <= result["eval_accuracy"] <= 1 and 0 <= result["baseline_shorter_wins"] <= 1
    assert load_reward_model(tmp_path / "out", device="cpu").score(["p"], ["r"]).shape == (1,)


def test_registry_sweeps_killed_runs_and_never_lists_incomplete_folders(tmp_path):
    """After a restart: what a killed training left (its temporary folder) is deleted, and a visible folder without
    reward_meta.json is left out of the list and named, so the UI can say why it is missing."""
    root = tmp_path / "reward_models"
    root.mkdir()
    (root / ".tmp-rm-20261201-999999999-deadbeef").mkdir()  # its writer (pid 999999999) is gone
    (root / "half").mkdir()
    (root / "half" / "adapter_model.safetensors").write_bytes(b"...")
    (root / "good").mkdir()
    (root / "good" / "reward_meta.json").write_text(json.dumps({"created": 1.0, "eval": {"accuracy": 0.9}}))
    reg = RewardModelRegistry(root)
    assert reg.swept == [".tmp-rm-20261201-999999999-deadbeef"] and not (root / reg.swept[0]).exists()
    assert [m["name"] for m in reg.list()] == ["good"] and reg.skipped() == ["half"]
    with pytest.raises(FileNotFoundError):
        reg.set_active("half")


def test_a_backbone_with_fewer_positions_than_max_length_trains_and_scores_long_text(tiny_bert, tmp_path):
    """The default max_length (256) on a backbone with 128 positions crashed at the first evaluation ("expanded size
    170 must match 128"): the lesson's reward model failed. Inputs are now cut to the backbone's positions, and the
    saved model cuts them the same way."""
    long_pairs = [(p + " " + " ".join(["and then"] * 100), c, r) for p, c, r in easy_pairs(24, seed=5)]
    out = tmp_path / "model"
    res = train(tiny_cfg(tiny_bert, max_length=256), long_pairs, long_pairs[:8], out)
    assert res.n_train == 24
    meta = json.loads((out / META_FILE).read_text())
    assert meta["config"]["max_length"] == 128
    scores = load_reward_model(out).score([p for p, _, _ in long_pairs[:3]], [c for _, c, _ in long_pairs[:3]])
    assert scores.shape == (3,) and torch.isfinite(scores).all()
