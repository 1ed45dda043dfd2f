"""The export bundle, proven with the real engines: bare transformers loads the reward model and scores as the app
does; TRL's own trainers (RLOO, GRPO, DPO, reward) train on the bundle for 2 steps through `accelerate launch`,
with the exact commands the bundle's README prints."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from rlhf_demo.data.pairs import pairs_from_set, split_pairs
from rlhf_demo.data.sources import BundledSource
from rlhf_demo.export.bundle import read_bundle
from rlhf_demo.export.launch import TRL_STAGES

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "TOKENIZERS_PARALLELISM": "false"}
VOTES = [  # (prompt, reply A, reply B, outcome): two decisive votes, one tie (carries no preference)
    ("\n\nHuman: How do I keep basil fresh?\n\nAssistant:", "Put the stems in a glass of water.", "Basil.", "A"),
    ("\n\nHuman: Is it fine to study late?\n\nAssistant:", "No.", "Sleep matters more than one more hour.", "B"),
    ("\n\nHuman: Name a colour.\n\nAssistant:", "Blue.", "Green.", "tie"),
]
REPLY_TOKENS = 32  # the tiny BERT reads 128 positions: prompts leave 32 tokens for a reply


def run_export(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rlhf_demo", "export", *args], capture_output=True, text=True,
                          env=ENV, timeout=timeout)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """An app data folder with the class's votes in it (every vote counts: no minimum reading time)."""
    from rlhf_demo.arena.hygiene import VoteFilters
    from rlhf_demo.arena.standings import Standings
    from rlhf_demo.arena.votes import VoteStore

    d = tmp_path_factory.mktemp("class_data")
    store = VoteStore(d / "votes.sqlite")
    for prompt, a, b, outcome in VOTES:
        rnd = store.add_round(prompt, "base-t0.7", "ppo-step10", a, b, "student-1")
        store.add_vote(rnd.round_id, outcome, "student-1")
    Standings(store, d / "vote_filters.json").set_filters(VoteFilters(min_seconds=0.0))
    store.close()
    return d


@pytest.fixture(scope="module")
def bundle(tiny_reward_model, data_dir, tmp_path_factory) -> Path:
    """`python -m rlhf_demo export` of the tiny reward model (trained on the bundled set) with the tiny policy."""
    out = tmp_path_factory.mktemp("export") / "bundle"
    r = run_export("--reward", str(tiny_reward_model), "--out", str(out), "--policy", "tiny", "--offline",
                   "--data-dir", str(data_dir), "--reply-tokens", str(REPLY_TOKENS))
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["out"] == str(out) and summary["votes"] == 2
    return out


def test_the_bundle_holds_every_part_and_says_so(bundle):
    info = read_bundle(bundle)
    for part in ("reward_model/config.json", "reward_model/README.md", "preferences/train.parquet",
                 "preferences/test.parquet", "prompts/train.parquet", "prompts/test.parquet", "README.md",
                 "verl_reward.py", *info["accelerate"]):
        assert (bundle / part).is_file(), part
    assert not (bundle / "reward_model" / "adapter_config.json").exists()  # merged: no adapter left
    # the tiny policy has no chat template: the bundle carries a copy with the hh-rlhf one, and points at it
    assert info["policy_path"] == "base_policy" and (bundle / "base_policy" / "config.json").is_file()
    card = (bundle / "reward_model" / "README.md").read_text()
    meta = json.loads((bundle / "reward_model" / "reward_meta.json").read_text())
    acc = meta["eval"]["accuracy"]
    assert f"{100 * acc:.1f} %" in card and "shorter reply wins" in card and "longer reply wins" in card
    assert "bundled offline set" in card  # what it was trained on
    assert info["reward_model"]["parity"]["max_abs_diff"] <= 1e-4


def _scores_with_bare_transformers(folder: Path, texts: list[tuple[str, str]]) -> list[float]:
    """Score in a fresh interpreter where peft cannot be imported, the way TRL's RLOO/GRPO do (TRL's own
    apply_chat_template, add_special_tokens=False, right padding, logits[:, 0])."""
    code = f"""
import json, sys
sys.modules["peft"] = None  # plain transformers: importing peft would fail
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from trl.data_utils import apply_chat_template
from rlhf_demo.data.hh import prompt_messages
texts = json.loads(sys.stdin.read())
tok = AutoTokenizer.from_pretrained({str(folder)!r})
model = AutoModelForSequenceClassification.from_pretrained({str(folder)!r}, num_labels=1).eval()
rendered = [apply_chat_template({{"messages": prompt_messages(p) + [{{"role": "assistant", "content": r}}]}}, tok)["text"]
            for p, r in texts]
with torch.no_grad():
    batch = tok(text=rendered, return_tensors="pt", padding=True, padding_side="right", add_special_tokens=False)
    print(json.dumps(model(**batch).logits[:, 0].tolist()))
"""
    r = subprocess.run([sys.executable, "-c", code], input=json.dumps(texts), capture_output=True, text=True, env=ENV,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_bare_transformers_scores_the_exported_model_as_the_app_scores_the_saved_one(bundle, tiny_reward_model):
    from rlhf_demo.reward.model import load_reward_model

    held = split_pairs(pairs_from_set(BundledSource().load("bundled", "test")), 32, 0)[1]
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(bundle / "reward_model")
    # texts within the tiny BERT's 128 positions (the app would cut a longer one from the left; TRL would not)
    texts = [(p, reply) for p, c, r in held for reply in (c, r) if len(tok(p + " " + reply)["input_ids"]) <= 120][:12]
    assert len(texts) >= 8
    texts.append(("\n\nHuman: A question?\n\nAssistant:", "   a reply with spaces around it  "))  # stripped alike
    app = load_reward_model(tiny_reward_model, device="cpu").score([p for p, _ in texts], [r for _, r in texts])
    bare = _scores_with_bare_transformers(bundle / "reward_model", texts)
    assert len(bare) == len(texts)
    assert max(abs(a - b) for a, b in zip(app.tolist(), bare)) <= 1e-4
    assert max(bare) - min(bare) > 1e-3  # different texts, different scores: the check can fail


def test_preferences_and_prompts_load_with_datasets_as_trl_reads_them(bundle):
    from datasets import load_dataset

    prefs = load_dataset(str(bundle / "preferences"))
    prompts = load_dataset(str(bundle / "prompts"))
    assert set(prefs) == {"train", "test"} and set(prompts) == {"train", "test"}
    assert prefs["train"].column_names == ["prompt", "chosen", "rejected"]
    n_train = len(pairs_from_set(BundledSource().load("bundled", "train")))
    assert len(prefs["train"]) == n_train + 2 and len(prefs["test"]) == 32  # every hh pair + the 2 decisive votes
    row = next(r for r in prefs["train"] if r["prompt"][-1]["content"] == "Is it fine to study late?")
    assert row["chosen"] == [{"role": "assistant", "content": "Sleep matters more than one more hour."}]  # B won
    assert not any(r["prompt"][-1]["content"] == "Name a colour." for r in prefs["train"])  # a tie is no preference
    held = {json.dumps(r["prompt"]) for r in prompts["test"]}
    assert held and not held & {json.dumps(r["prompt"]) for r in prompts["train"]}  # held out means held out
    assert all(r["prompt"][-1]["role"] == "user" for r in prompts["train"])
    verl = load_dataset(str(bundle / "verl"))  # verl's RL data: the same prompts, the hh text for the reward server
    assert len(verl["train"]) == len(prompts["train"]) and verl["train"][0]["prompt"] == prompts["train"][0]["prompt"]
    hh = verl["train"][0]["extra_info"]["prompt"]
    assert hh.startswith("\n\nHuman: ") and hh.endswith("\n\nAssistant:")
    assert hh in {p for p, _, _ in pairs_from_set(BundledSource().load("bundled", "train"))}  # the app's own prompt


@pytest.mark.parametrize("stage", TRL_STAGES)
def test_trl_trains_two_steps_on_the_bundle_with_the_readme_command(bundle, stage):
    """RLOO/GRPO against reward_model/ on prompts/, DPO and a reward model on preferences/: TRL's own scripts under
    `accelerate launch --num_processes 1 --cpu`, the command line exactly as bundle.json and README.md give it."""
    info = read_bundle(bundle)
    command = info["commands"][f"{stage}-cpu"]
    assert command in (bundle / "README.md").read_text()
    argv = shlex.split(command)
    assert argv[:6] == ["accelerate", "launch", "--num_processes", "1", "--cpu", "-m"]
    r = subprocess.run(argv, cwd=bundle, capture_output=True, text=True,
                       env=ENV, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    logs = [json.loads(line[line.index("{"):].replace("'", '"')) for line in (r.stdout + r.stderr).splitlines()
            if "{'loss'" in line]
    assert len(logs) == 2, (r.stdout + r.stderr)[-3000:]  # two optimizer steps, each logged
    if stage in ("rloo", "grpo"):
        assert "rewards/reward_model/mean" in logs[0]  # the bundle's reward model scored the completions
    assert (bundle / "runs" / stage / "config.json").is_file()  # the trained model, where the command said


def test_accelerate_reads_each_config(bundle):
    from accelerate.commands.config.config_args import load_config_from_file

    one = load_config_from_file(str(bundle / "accelerate" / "one_gpu.yaml"))
    eight = load_config_from_file(str(bundle / "accelerate" / "8gpu_zero2.yaml"))
    two = load_config_from_file(str(bundle / "accelerate" / "2node_zero2_template.yaml"))
    assert (one.num_processes, one.distributed_type.value) == (1, "NO")
    assert eight.num_processes == 8 and eight.deepspeed_config["zero_stage"] == 2
    assert (two.num_machines, two.num_processes, two.deepspeed_config["zero_stage"]) == (2, 16, 2)


def test_bad_input_is_one_error_line_and_nothing_is_written(tiny_reward_model, data_dir, tmp_path):
    out = tmp_path / "b"
    cases = [(["--reward", str(tmp_path / "nope")], "no such folder"),
             (["--reward", str(tmp_path)], "not a saved reward model"),
             (["--reward", str(tiny_reward_model), "--adapter", str(tmp_path)], "not a LoRA adapter folder"),
             (["--reward", str(tiny_reward_model), "--reply-tokens", "0"], "--reply-tokens")]
    for args, words in cases:
        r = run_export(*args, "--out", str(out), "--policy", "tiny", "--offline", "--data-dir", str(data_dir))
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
        assert r.stderr.strip().splitlines()[-1].startswith("error:") and words in r.stderr
        assert not out.exists()
    r = run_export("--reward", str(tiny_reward_model), "--out", str(tmp_path), "--policy", "tiny", "--offline")
    assert r.returncode == 2 and "exists already" in r.stderr  # nothing is overwritten


def test_a_policy_adapter_travels_in_peft_format_and_loads_on_the_base_policy(tiny_reward_model, data_dir, tmp_path):
    """--adapter (a PPO checkpoint or DPO adapter): policy/ loads with peft onto the bundle's base policy and gives
    the same logits as the adapter did in the app."""
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    from rlhf_demo.paths import TINY_POLICY_DIR

    torch.manual_seed(0)
    lora = get_peft_model(AutoModelForCausalLM.from_pretrained(TINY_POLICY_DIR),
                          LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    lora.save_pretrained(tmp_path / "ppo-step10")
    out = tmp_path / "bundle"
    r = run_export("--reward", str(tiny_reward_model), "--out", str(out), "--adapter", str(tmp_path / "ppo-step10"),
                   "--offline", "--data-dir", str(data_dir), "--reply-tokens", str(REPLY_TOKENS))
    assert r.returncode == 0, r.stderr[-3000:]
    info = read_bundle(out)
    assert info["policy_adapter"] == "policy" and info["policy_path"] == "base_policy"  # the adapter named its base
    assert json.loads((out / "policy" / "adapter_config.json").read_text())["base_model_name_or_path"] == "base_policy"
    ids = torch.tensor([[5, 17, 42, 7, 99]])
    with torch.no_grad():
        before = lora(input_ids=ids).logits
        moved = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(out / "base_policy"), out / "policy")
        after = moved(input_ids=ids).logits
        base = AutoModelForCausalLM.from_pretrained(out / "base_policy")(input_ids=ids).logits
    assert torch.allclose(before, after, atol=1e-5) and not torch.allclose(after, base, atol=1e-3)
