"""The reward-KL frontier (rlhf_demo/frontier/measure.py and `python -m rlhf_demo frontier`): best-of-N, a PPO checkpoint
and a DPO adapter on the tiny policy with two tiny reward models; the equal-KL comparison on hand numbers."""

import json
import math
import shutil

import pytest
import torch

from rlhf_demo.frontier.best_of_n import bon_kl
from rlhf_demo.frontier.cli import frontier_main, parse_best_of
from rlhf_demo.frontier.measure import (ROW_KEYS, adapter_method, adapter_point, best_at_equal_kl, equal_kl_summary,
                                        frontier, kl_to_reach)
from rlhf_demo.data.hh import load_jsonl
from rlhf_demo.data.prompts import short_prompts
from rlhf_demo.models.presets import load_policy, resolve_policy
from rlhf_demo.paths import BUNDLED_DIR
from rlhf_demo.reward.model import META_FILE, load_reward_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")
HELD = BUNDLED_DIR / "test.jsonl"
PROMPTS = list(dict.fromkeys(short_prompts(load_jsonl(str(HELD)), 1500)))[:4]
FAST = dict(max_new_tokens=12, temperature=0.7, seed=0)


def save_reward_model(folder, backbone: str, seed: int) -> str:
    """A saved reward-model folder (random tiny BERT, its own seed) that `load_reward_model` reads like a real one."""
    from transformers import AutoTokenizer, BertForSequenceClassification

    torch.manual_seed(seed)
    model = BertForSequenceClassification.from_pretrained(backbone, num_labels=1)
    for p in model.parameters():
        p.data.normal_(0, 0.2)  # a different random function of the text per seed
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(backbone).save_pretrained(folder)
    (folder / META_FILE).write_text(json.dumps({"config": {"max_length": 64}, "created": seed, "backbone": "tiny"}))
    return str(folder)


@pytest.fixture(scope="module")
def rms(tmp_path_factory, tiny_bert):
    d = tmp_path_factory.mktemp("rms")
    return save_reward_model(d / "proxy", tiny_bert, 1), save_reward_model(d / "gold", tiny_bert, 2)


@pytest.fixture(scope="module")
def scorers(rms):
    return load_reward_model(rms[0], "cpu"), load_reward_model(rms[1], "cpu")


@pytest.fixture(scope="module")
def policy():
    return load_policy(resolve_policy("tiny", False), "cpu")


@pytest.fixture(scope="module")
def adapters(tmp_path_factory, scorers):
    """A PPO checkpoint after 1 step, the same engine's untrained adapter (LoRA B = 0), a 2-step DPO adapter."""
    from rlhf_demo.dpo.config import DPOConfig
    from rlhf_demo.dpo.trainer import train_dpo
    from rlhf_demo.models.presets import format_prompt
    from rlhf_demo.ppo.config import PPOConfig
    from rlhf_demo.ppo.engine import PPOEngine
    from rlhf_demo.data.pairs import pairs_from_set

    d = tmp_path_factory.mktemp("adapters")
    model, tok = load_policy(resolve_policy("tiny", False), "cpu")  # PPO wraps its model in place: its own copy
    engine = PPOEngine(model, tok, scorers[0], PROMPTS, PPOConfig(batch_size=4, response_length=8, learning_rate=5e-2,
                                                                  score_norm_samples=8), device="cpu",
                       format_prompt=lambda p: format_prompt(tok, p))
    engine.save(d / "ppo-untrained")
    engine.step()
    engine.save(d / "ppo-1")
    pairs = pairs_from_set(load_jsonl(str(BUNDLED_DIR / "train.jsonl")))
    train_dpo(DPOConfig(max_pairs=8, max_steps=2, max_length=64, learning_rate=2e-3, per_device_train_batch_size=4),
              pairs, d / "dpo", resolve_policy("tiny", False))
    return {"ppo": d / "ppo-1", "untrained": d / "ppo-untrained", "dpo": d / "dpo"}


def fingerprint(model) -> dict:
    """Everything `adapter_point` must leave as it was: module classes, parameter objects, values and flags."""
    return {"modules": [(n, type(m).__name__, id(m)) for n, m in model.named_modules()],
            "params": {n: (id(p), p.requires_grad, p.detach().clone()) for n, p in model.named_parameters()},
            "training": model.training, "peft": hasattr(model, "peft_config")}


def same_fingerprint(a: dict, b: dict) -> bool:
    return (a["modules"] == b["modules"] and a["training"] == b["training"] and a["peft"] == b["peft"]
            and a["params"].keys() == b["params"].keys()
            and all(a["params"][n][:2] == b["params"][n][:2] and torch.equal(a["params"][n][2], b["params"][n][2])
                    for n in a["params"]))


# ---------------------------------------------------------------------------------------------------- pure helpers


def test_best_at_equal_kl_interpolates_each_method_by_hand():
    rows = [{"method": "best-of-n", "name": "b1", "kl": 0.0, "gold": 0.1},
            {"method": "best-of-n", "name": "b2", "kl": 1.0, "gold": 0.5},
            {"method": "best-of-n", "name": "b4", "kl": 2.0, "gold": 0.7},
            {"method": "ppo", "name": "p8", "kl": 4.0, "gold": 2.0},
            {"method": "ppo", "name": "p4", "kl": 2.0, "gold": 0.4},  # unsorted
            {"method": "dpo", "name": "d", "kl": 1.0, "gold": 0.8}]
    at = best_at_equal_kl(rows, 0.5)
    # best-of-n: halfway 0.1 -> 0.5; ppo: from the base (0, 0) to (2, 0.4); dpo: from (0, 0) to (1, 0.8)
    assert at["values"] == pytest.approx({"best-of-n": 0.3, "ppo": 0.1, "dpo": 0.4})
    assert at["best"] == "dpo"
    at = best_at_equal_kl(rows, 1.5)
    assert at["values"]["best-of-n"] == pytest.approx(0.6) and at["values"]["ppo"] == pytest.approx(0.3)
    assert at["values"]["dpo"] is None and at["best"] == "best-of-n"  # DPO never got that far: no extrapolation
    at = best_at_equal_kl(rows, 3.0)
    assert at["values"] == {"best-of-n": None, "ppo": pytest.approx(1.2), "dpo": None} and at["best"] == "ppo"
    assert best_at_equal_kl(rows, 9.0)["best"] is None
    assert best_at_equal_kl(rows, 1.0, key="proxy")["best"] is None  # no proxy values given
    summary = equal_kl_summary(rows)  # the largest KL every method reaches: DPO's 1.0
    assert summary["kl"] == 1.0 and summary["best"] == "dpo" and summary["values"]["ppo"] == pytest.approx(0.2)
    assert [(a["name"], a["best"]) for a in summary["at_adapters"]] == [("p8", "ppo"), ("p4", "best-of-n"), ("d", "dpo")]
    assert summary["at_adapters"][1]["values"] == pytest.approx({"best-of-n": 0.7, "ppo": 0.4, "dpo": None})
    # the KL best-of-N needs for each adapter's gold: 0.4 at 0.75 (between (0, 0.1) and (1, 0.5)), 2.0 never
    assert [a["best_of_n_kl_for_same"] for a in summary["at_adapters"]] == [None, pytest.approx(0.75), None]
    assert kl_to_reach(rows, "best-of-n", 0.6) == pytest.approx(1.5) and kl_to_reach(rows, "best-of-n", -1) == 0.0
    assert kl_to_reach(rows, "ppo", 0.2) == pytest.approx(1.0)  # from the base (0, 0) to (2, 0.4)


def test_parse_best_of():
    assert parse_best_of("16,1, 2,2") == [1, 2, 16] and parse_best_of("") == []
    for bad in ("0,x", "0", "-1", "1.5"):
        with pytest.raises(ValueError, match="--best-of"):
            parse_best_of(bad)


def test_adapter_method(adapters, tmp_path):
    assert adapter_method(adapters["ppo"]) == "ppo" and adapter_method(adapters["dpo"]) == "dpo"
    with pytest.raises(ValueError, match="not a finished PPO checkpoint"):
        adapter_method(tmp_path)
    with pytest.raises(ValueError, match="not a folder"):
        adapter_method(tmp_path / "missing")


# ---------------------------------------------------------------------------------------------------- on the tiny policy


def test_adapter_point_measures_kl_and_leaves_the_model_as_it_was(policy, scorers, adapters):
    model, tok = policy
    before = fingerprint(model)
    ids = tok("\n\nHuman: hello\n\nAssistant:", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits_before = model(ids).logits
    zero = adapter_point(model, tok, adapters["untrained"], PROMPTS, *scorers, method="ppo", name="step 0",
                         with_samples=True, **FAST)
    assert zero["kl"] == pytest.approx(0.0, abs=1e-5) and zero["kl_k3"] == pytest.approx(0.0, abs=1e-5)
    ppo = adapter_point(model, tok, adapters["ppo"], PROMPTS, *scorers, method="ppo", name="step 1", **FAST)
    dpo = adapter_point(model, tok, adapters["dpo"], PROMPTS, *scorers, method="dpo", name="dpo", **FAST)
    for row in (ppo, dpo):
        assert row["kl"] > 1e-4 and row["kl_k3"] >= 0 and row["kl_measured"] == row["kl"]
    assert same_fingerprint(before, fingerprint(model))
    with torch.no_grad():
        assert torch.equal(model(ids).logits, logits_before)
    # seeded: the same call gives the same row; the samples add up to the row
    assert adapter_point(model, tok, adapters["untrained"], PROMPTS, *scorers, method="ppo", name="step 0",
                         with_samples=True, **FAST) == zero
    assert len(zero["samples"]) == len(PROMPTS)
    assert zero["proxy_raw"] == pytest.approx(sum(s["proxy_raw"] for s in zero["samples"]) / len(PROMPTS))


def test_frontier_rows(policy, scorers, adapters):
    model, tok = policy
    seen = []
    rows = frontier(model, tok, *scorers, PROMPTS, best_of=(2, 1),
                    adapters=[("ppo", "ppo-1", adapters["ppo"]), ("dpo", "dpo", adapters["dpo"])],
                    on_progress=lambda f, m: seen.append(f), **FAST)
    assert [(r["method"], r["n"]) for r in rows] == [("best-of-n", 1), ("best-of-n", 2), ("ppo", None), ("dpo", None)]
    json.dumps(rows)
    for r in rows:
        assert set(r) == set(ROW_KEYS)
        for k in ("kl", "kl_measured", "proxy", "gold", "proxy_raw", "gold_raw", "mean_length"):
            assert isinstance(r[k], float) and math.isfinite(r[k]), (r["name"], k)
        assert r["n_prompts"] == len(PROMPTS) and 0 <= r["mean_length"] <= FAST["max_new_tokens"]  # words
    b1, b2 = rows[0], rows[1]
    assert b1["kl"] == 0.0 and b1["kl_measured"] == 0.0 and b2["kl"] == pytest.approx(bon_kl(2))
    assert b2["proxy_raw"] >= b1["proxy_raw"]  # best of 2 never scores below its first sample
    assert all(r["kl"] > 0 for r in rows[2:])
    assert seen == sorted(seen) and seen[-1] == 1.0
    # should_stop between pieces: best-of-N only
    assert len(frontier(model, tok, *scorers, PROMPTS, best_of=(1,), adapters=[("ppo", "p", adapters["ppo"])],
                        should_stop=lambda: True, **FAST)) == 1


def test_an_adapter_for_another_policy_is_refused_before_touching_the_model(scorers, adapters):
    from transformers import LlamaConfig, LlamaForCausalLM

    other = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=4,
                                         num_attention_heads=4, num_key_value_heads=2))
    _, tok = load_policy(resolve_policy("tiny", False), "cpu")
    before = fingerprint(other)
    with pytest.raises(ValueError, match="another policy"):
        adapter_point(other, tok, adapters["ppo"], PROMPTS, *scorers, method="ppo", name="x", **FAST)
    assert same_fingerprint(before, fingerprint(other))


def test_gold_and_proxy_must_differ(policy, scorers, rms):
    model, tok = policy
    proxy, _ = scorers
    with pytest.raises(ValueError, match="gold and proxy are the same reward model"):
        frontier(model, tok, proxy, proxy, PROMPTS, best_of=(1,), **FAST)
    again = load_reward_model(rms[0], "cpu")  # the same folder, loaded twice
    with pytest.raises(ValueError, match="gold and proxy are the same reward model"):
        frontier(model, tok, proxy, again, PROMPTS, best_of=(1,), **FAST)
    rows = frontier(model, tok, proxy, again, PROMPTS, best_of=(1,), allow_same=True, **FAST)
    assert rows[0]["proxy"] == pytest.approx(rows[0]["gold"])


# ---------------------------------------------------------------------------------------------------- command line


def run_cli(capsys, *argv):
    rc = frontier_main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_end_to_end(capsys, rms, adapters):
    rc, out, err = run_cli(capsys, "--proxy", rms[0], "--gold", rms[1], "--prompts", str(HELD), "--n", "3",
                           "--best-of", "1,2", "--adapters", str(adapters["ppo"]), str(adapters["dpo"]),
                           "--policy", "tiny", "--response-length", "10", "--device", "cpu")
    assert rc == 0, err
    res = json.loads(out.strip().splitlines()[-1])
    assert [r["method"] for r in res["rows"]] == ["best-of-n", "best-of-n", "ppo", "dpo"]
    assert res["n_prompts"] == 3 and res["policy"] == "tiny" and res["proxy"] == rms[0] and res["gold"] == rms[1]
    assert res["equal_kl"]["best"] in ("best-of-n", "ppo", "dpo") and res["seconds"] >= 0
    assert "gold σ" in err and "ppo-1" in err  # the table


@pytest.mark.parametrize("case", ["missing prompts", "not a reward model", "bad best-of", "same", "other policy"])
def test_cli_bad_input_is_one_error_line(capsys, rms, adapters, tmp_path, case):
    argv = ["--proxy", rms[0], "--gold", rms[1], "--prompts", str(HELD), "--n", "2", "--policy", "tiny"]
    if case == "missing prompts":
        argv[5] = str(tmp_path / "nope.jsonl")
    elif case == "not a reward model":
        argv[3] = str(tmp_path)
    elif case == "bad best-of":
        argv += ["--best-of", "0,x"]
    elif case == "same":
        argv[3] = rms[0]
    else:  # an adapter whose metadata names another policy
        other = tmp_path / "dpo-other"
        shutil.copytree(adapters["dpo"], other)
        meta = json.loads((other / "dpo_meta.json").read_text())
        (other / "dpo_meta.json").write_text(json.dumps({**meta, "policy_path": "openai-community/gpt2"}))
        argv += ["--adapters", str(other)]
    rc, out, err = run_cli(capsys, *argv)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("error:"), err
    assert "Traceback" not in err and out == ""
    if case == "same":
        assert "--allow-same" in lines[0]
