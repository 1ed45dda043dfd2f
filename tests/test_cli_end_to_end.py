"""The headless RLHF pipeline as a script runs it: reward command, then ppo command on the tiny policy."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import REPO


def run(*args: str, timeout: int = 300) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
    p = subprocess.run([sys.executable, "-m", "rlhf_demo", *args], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])  # the last line is one JSON object


def test_reward_then_ppo_headless(tmp_path):
    bundled = REPO / "assets" / "bundled"
    rm = run("reward", "--train", str(bundled / "train.jsonl"), "--eval", str(bundled / "test.jsonl"), "--out",
             str(tmp_path / "rm"), "--max-pairs", "24", "--epochs", "1", "--max-length", "96", "--quiet")
    assert {"eval_accuracy", "baseline_shorter_wins", "train_seconds", "n_train", "n_eval"} <= set(rm)
    assert rm["n_train"] == 24 and rm["n_eval"] == 48

    out = run("ppo", "--reward", str(tmp_path / "rm"), "--steps", "2", "--out", str(tmp_path / "ppo"), "--policy", "tiny",
              "--batch-size", "4", "--kl-coef", "0.1", "--quiet")
    assert {"score_first", "score_last", "kl_last", "seconds_per_step", "peak_rss_mb"} <= set(out)
    mean, std = out["score_norm"]  # the scores are the raw ones, normalised on the base policy's replies
    assert out["score_first"] == pytest.approx((out["raw_score_first"] - mean) / std, rel=1e-4, abs=1e-5)
    assert out["steps"] == 2 and out["peak_rss_mb"] > 0
    assert (tmp_path / "ppo" / "adapter_model.safetensors").is_file()
    assert len((tmp_path / "ppo" / "metrics.jsonl").read_text().splitlines()) == 2
    assert out["policy"] == "tiny" and "word salad" in out["policy_weights"]

    # evaluate: the base policy and the checkpoint on held-out prompts, one seeded reply each
    held_out = str(bundled / "test.jsonl")
    base = run("evaluate", "--reward", str(tmp_path / "rm"), "--prompts", held_out, "--policy", "tiny", "--n", "6")
    again = run("evaluate", "--reward", str(tmp_path / "rm"), "--prompts", held_out, "--policy", "tiny", "--n", "6")
    ckpt = run("evaluate", "--reward", str(tmp_path / "rm"), "--prompts", held_out, "--policy", "tiny", "--n", "6",
               "--adapter", str(tmp_path / "ppo"))
    assert base["n"] == 6 and len(base["samples"]) == 6 and base["samples"] == again["samples"]  # fixed seed
    assert {"prompt", "response", "score", "raw_score", "kl"} <= set(base["samples"][0])
    assert abs(base["mean_kl"]) < 1e-3  # no adapter: the policy is the reference
    assert base["mean_raw_score"] == pytest.approx(sum(x["raw_score"] for x in base["samples"]) / 6, rel=1e-6)
    assert ckpt["adapter_step"] == 2 and ckpt["score_norm"] == pytest.approx(out["score_norm"])  # the run's own scale
    assert [x["prompt"] for x in ckpt["samples"]] == [x["prompt"] for x in base["samples"]]


def refused(*args: str) -> str:
    """Run a command that must fail cleanly: exit status 2 and one 'error:' line, no traceback. -> stderr."""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    p = subprocess.run([sys.executable, "-m", "rlhf_demo", *args], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 2 and "error:" in p.stderr and "Traceback" not in p.stderr, p.stderr[-2000:]
    return p.stderr


def test_ppo_command_refuses_bad_input(tmp_path):
    refused("ppo", "--reward", str(tmp_path / "missing"), "--steps", "1", "--out", str(tmp_path / "o"))


def test_evaluate_command_refuses_bad_input(tmp_path):
    prompts = str(REPO / "assets" / "bundled" / "test.jsonl")
    assert "not a PPO checkpoint" in refused("evaluate", "--reward", str(tmp_path), "--prompts", prompts,
                                              "--adapter", str(tmp_path))
    assert "--n must be at least 1" in refused("evaluate", "--reward", str(tmp_path), "--prompts", prompts, "--n", "0")
    assert "No such data file" in refused("evaluate", "--reward", str(tmp_path), "--prompts", str(tmp_path / "x.jsonl"))


def test_reward_command_refuses_bad_input(tmp_path):
    assert "No such data file" in refused("reward", "--train", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o"))
    assert "No valid hh-rlhf pair" in refused("reward", "--train", str(REPO / "README.md"), "--out", str(tmp_path / "o"))
    assert "learning_rate" in refused("reward", "--train", str(REPO / "assets" / "bundled" / "train.jsonl"),
                                      "--out", str(tmp_path / "o"), "--lr", "-1")
    assert not (tmp_path / "o").exists()  # nothing written
