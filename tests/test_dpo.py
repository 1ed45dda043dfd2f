"""The headless DPO stage (rlhf_demo/dpo): TRL's DPOTrainer + a LoRA adapter on the tiny policy, the saved adapter as
an arena contestant, config validation and the command line's bad input."""

import json
from functools import partial

import pytest

from rlhf_demo.arena.contestants import Contestant, ContestantRegistry
from rlhf_demo.arena.generator import PolicyGenerator
from rlhf_demo.data.hh import load_jsonl
from rlhf_demo.data.pairs import pairs_from_set
from rlhf_demo.dpo.cli import dpo_main
from rlhf_demo.dpo.config import DPOConfig
from rlhf_demo.dpo.trainer import META_FILE, METRICS, to_trl_examples, train_dpo
from rlhf_demo.models.presets import format_prompt, load_policy, resolve_policy
from rlhf_demo.paths import BUNDLED_DIR

pytestmark = pytest.mark.usefixtures("one_torch_thread")
TRAIN = BUNDLED_DIR / "train.jsonl"
# a tiny run: 6 steps of 4 pairs, short sequences, a LoRA-sized learning rate for a 32-wide model
FAST = dict(max_pairs=24, max_steps=6, max_length=64, learning_rate=2e-3, per_device_train_batch_size=4)


@pytest.fixture(scope="module")
def pairs():
    return pairs_from_set(load_jsonl(str(TRAIN)))


@pytest.fixture(scope="module")
def dpo_run(tmp_path_factory, pairs):
    rows = []
    out = tmp_path_factory.mktemp("dpo") / "adapter"
    res = train_dpo(DPOConfig(**FAST), pairs, out, resolve_policy("tiny", False), on_log=rows.append)
    return res, rows, out


def test_dpo_lowers_the_loss_and_logs_trl_metrics(dpo_run):
    res, rows, out = dpo_run
    assert res.steps == 6 and not res.stopped and res.n_pairs == 24
    assert [r["step"] for r in rows] == list(range(1, 7))  # logging_steps=1
    for name in METRICS:
        assert all(name in r for r in rows), name
    # the adapter starts at zero: policy == reference, so the first loss is log 2
    assert res.loss_first == pytest.approx(0.6931, abs=1e-3)
    assert res.loss_last < res.loss_first - 0.05
    assert res.margins_last > 0 and res.reward_accuracy_last >= 0.5
    assert res.policy == "tiny" and res.beta == 0.1


def test_saved_folder_is_an_adapter_with_its_meta(dpo_run):
    res, _, out = dpo_run
    assert (out / "adapter_config.json").is_file() and (out / "adapter_model.safetensors").is_file()
    meta = json.loads((out / META_FILE).read_text())
    assert meta["kind"] == "dpo" and meta["policy"] == "tiny" and meta["config"]["beta"] == 0.1
    assert meta["result"]["steps"] == 6
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".tmp-")]  # renamed into place, nothing left


def test_adapter_is_an_arena_contestant_that_answers_differently(dpo_run):
    _, _, out = dpo_run
    model, tok = load_policy(resolve_policy("tiny", False), "cpu")
    gen = PolicyGenerator(model, tok, max_new_tokens=24, format_prompt=partial(format_prompt, tok))
    dpo = ContestantRegistry().add_checkpoint("dpo", str(out), temperature=1.0)
    base = Contestant("base", 1.0)
    prompt = "\n\nHuman: How do I keep my houseplants alive?\n\nAssistant:"
    replies = {c.name: [gen.generate([prompt], [c], seed=s)[0] for s in (1, 2, 3)] for c in (base, dpo)}
    assert replies["base"] == [gen.generate([prompt], [base], seed=s)[0] for s in (1, 2, 3)]  # the seed fixes a reply
    assert replies["dpo"] != replies["base"]


def test_should_stop_saves_what_was_trained(tmp_path, pairs):
    cfg = DPOConfig(**{**FAST, "max_pairs": 8, "max_steps": 5})
    res = train_dpo(cfg, pairs, tmp_path / "a", resolve_policy("tiny", False), should_stop=lambda: True)
    assert res.stopped and res.steps == 1
    assert (tmp_path / "a" / META_FILE).is_file() and (tmp_path / "a" / "adapter_model.safetensors").is_file()


def test_trl_examples_conversational_and_text(pairs):
    p, c, r = pairs[0]
    chat = to_trl_examples([pairs[0]], chat=True)[0]
    assert chat["chosen"][-1] == {"role": "assistant", "content": c}
    assert chat["rejected"][-1] == {"role": "assistant", "content": r}
    assert chat["chosen"][:-1] == chat["rejected"][:-1] and chat["chosen"][0]["role"] == "user"
    text = to_trl_examples([pairs[0]], chat=False)[0]
    assert text["prompt"] == p and text["chosen"].strip() == c.strip() and text["rejected"].strip() == r.strip()


@pytest.mark.parametrize("field,value", [
    ("beta", 0), ("beta", float("nan")), ("learning_rate", 0.0), ("max_length", 8), ("lora_r", 0),
    ("max_steps", 0), ("per_device_train_batch_size", 0), ("max_pairs", 0), ("device", "tpu"),
    ("lora_target_modules", []), ("num_train_epochs", -1),
])
def test_config_validation_names_the_field(field, value):
    with pytest.raises(ValueError, match=rf"DPOConfig\.{field} ="):
        DPOConfig(**{field: value}).validate()
    assert DPOConfig().validate().beta == 0.1


def _bad(capsys, argv):
    assert dpo_main(argv) == 2
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), cap.err
    assert cap.out == ""
    return lines[0]


def test_cli_bad_input_is_one_error_line(capsys, tmp_path):
    base = ["--policy", "tiny", "--offline"]
    assert "nope.jsonl" in _bad(capsys, ["--train", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o"), *base])
    (tmp_path / "taken").mkdir()
    assert "--out" in _bad(capsys, ["--train", str(TRAIN), "--out", str(tmp_path / "taken"), *base])
    assert "beta" in _bad(capsys, ["--train", str(TRAIN), "--out", str(tmp_path / "o"), "--beta", "-1", *base])
    assert "max_steps" in _bad(capsys, ["--train", str(TRAIN), "--out", str(tmp_path / "o"), "--steps", "0", *base])
    assert "not a model folder" in _bad(capsys, ["--train", str(TRAIN), "--out", str(tmp_path / "o"), "--policy",
                                                 str(tmp_path), "--offline"])
    assert not (tmp_path / "o").exists()


def test_cli_trains_and_prints_json_last(capsys, tmp_path):
    from rlhf_demo.cli import main

    out = tmp_path / "dpo"
    assert main(["dpo", "--train", str(TRAIN), "--out", str(out), "--policy", "tiny", "--offline", "--steps", "2",
                 "--max-pairs", "8", "--max-length", "64", "--lr", "1e-3"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("loss_first", "loss_last", "reward_accuracy_last", "margins_last", "train_seconds", "n_pairs", "beta",
                "policy", "policy_weights"):
        assert key in res, key
    assert res["n_pairs"] == 8 and res["policy"] == "tiny" and res["steps"] == 2
    assert (out / META_FILE).is_file()
