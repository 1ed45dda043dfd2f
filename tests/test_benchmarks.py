"""Every script in benchmarks/ runs in its --quick mode (the tiny policy, tiny reward models, a handful of steps) and
prints its JSON object as the last line of stdout: a refactor that breaks a benchmark fails here, not on the day
someone wants the number. What the numbers are is the benchmarks' business; here only that they are there."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys


from .conftest import REPO


def run_quick(script: str, tmp_path, *args: str, timeout: int = 300) -> dict:
    """`python benchmarks/SCRIPT --quick ARGS` in a subprocess; every temporary folder it makes under tmp_path.
    -> the JSON object of its last stdout line, after the keys every benchmark reports."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", TOKENIZERS_PARALLELISM="false",
               TMPDIR=str(tmp_path))
    p = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), "--quick", *args], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{script} --quick exited with {p.returncode}:\n{p.stderr[-4000:]}"
    lines = p.stdout.strip().splitlines()
    assert lines, f"{script} --quick printed nothing on stdout:\n{p.stderr[-4000:]}"
    out = json.loads(lines[-1])
    assert out["quick"] is True
    cpu = out["cpu"]
    assert {"cpu_model", "cpu_flags", "torch", "threads", "load_average_1min"} <= set(cpu)
    assert isinstance(cpu["cpu_model"], str) and cpu["cpu_model"]
    assert isinstance(cpu["cpu_flags"], list) and cpu["threads"] >= 1
    return out


def test_ppo_speed(tmp_path):
    out = run_quick("ppo_speed.py", tmp_path)
    assert out["policy"] == "tiny" and out["measured_steps"] == 1 and out["peak_rss_mb"] > 0
    eager, auto = out["backends"]
    assert eager["backend"] == "eager" and auto["asked"] == "auto" and auto["decoding_measured"]
    for row in (eager, auto):
        assert len(row["seconds_per_step_all"]) == 1 and row["step_seconds"] > 0 and row["speedup_vs_eager"] > 0
        assert row["generate_seconds"] > 0 and row["update_seconds"] > 0 and row["mean_response_length"] >= 1


def test_decoding_speed(tmp_path):
    out = run_quick("decoding_speed.py", tmp_path)
    rows = {r["backend"]: r for r in out["backends"]}
    assert {"eager", "fp32", "fast32", "bf16", "eager-bf16"} <= set(rows) and out["auto_choice"] in rows
    assert rows["eager"]["speedup_vs_eager"] == 1.0 and rows["fp32"]["kl_to_fp32"] == 0.0
    assert all(r["tokens_per_second"] > 0 for r in rows.values())
    assert out["samplers"]["inverse_cdf_ms"] > 0 and out["samplers"]["multinomial_ms"] > 0


def test_frontier(tmp_path):
    out = run_quick("frontier.py", tmp_path)
    assert out["policy"] == "tiny" and out["n_prompts"] == 4 and out["best_of"] == [1, 2]
    assert out["rows"] and out["winner_at_equal_kl"]
    assert out["timings"]["frontier_total_seconds"] > 0 and out["ppo"]["steps"] == 2


def test_arena_load(tmp_path):
    out = run_quick("arena_load.py", tmp_path)
    assert out["errors"] == 0, out["first_errors"]
    assert out["expected_votes"] == out["stored_votes"] == out["leaderboard_votes"] == 4
    assert out["round_latency_ms_p50"] > 0 and out["vote_latency_ms_p50"] > 0
    assert out["policy"].startswith("tiny")


def test_browse_speed(tmp_path):
    out = run_quick("browse_speed.py", tmp_path)
    assert out["pairs"] > 0 and out["next_pair_render_ms_max"] > 0
    assert out["api_browse_pair_roundtrip_ms_p50"] > 0 and out["search_ms_p50"] is not None


def test_cold_start(tmp_path):
    out = run_quick("cold_start.py", tmp_path)
    assert "--policy tiny" in out["command"]
    assert out["served_seconds"] is not None and out["policy_loaded_seconds"] is not None
    assert any(line.startswith("[rlhf-playground] policy loaded") for line in out["log"])
    port = int(re.search(r"--port (\d+)", out["command"])[1])
    with socket.socket() as s:  # the app was stopped: nothing answers on its port any more
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_disagreement_speed(tmp_path):
    out = run_quick("disagreement_speed.py", tmp_path)
    assert out["pairs"] > 0 and out["cold_seconds"] >= 0 and out["cached_seconds"] >= 0
    assert 0 <= out["disagreements"] <= out["pairs"] and set(out["batch_size_probe_seconds"]) == {"16"}


def test_overoptimisation(tmp_path):
    out = run_quick("overoptimisation.py", tmp_path)
    assert 0 <= out["gold"]["accuracy"] <= 1 and out["labels_per_proxy"] == 24
    assert {s: len(m) for s, m in out["proxies"].items()} == {"0": 3, "1": 3}  # 3 members per seed, 2 seeds
    for seed in ("0", "1"):
        for method in ("best-of-n", "best-of-n-ensemble"):
            assert [p["n"] for p in out["best_of_n"][seed][method]["points"]] == [1, 2, 4, 8]
        assert set(out["ppo"][seed]) == {"beta0", "default", "ensemble"}
        assert all([p["step"] for p in run["points"]] == [0, 1, 2] for run in out["ppo"][seed].values())
    assert set(out["targets"]) == {"bon_drop_0.3", "ppo_beta0_drop_0.3", "ensemble_halves_bon", "ensemble_halves_ppo"}
    asset = out["asset"]  # the shape the Compare tab reads (assets/overoptimisation/recorded.json)
    assert {c["method"] for c in asset["curves"]} == {"best-of-n", "ppo-beta0", "ppo-default", "ppo-ensemble"}
    assert all(set(p) == {"kl", "proxy", "gold"} for c in asset["curves"] for p in c["points"])


def test_ppo_learning(tmp_path):
    out = run_quick("ppo_learning.py", tmp_path, timeout=600)
    run = out["bundled"]
    assert run["ppo_steps"] == 2 and run["seconds_per_step"] > 0 and run["held_out_decides"] == "real"
    assert set(run["held_out"]) == {"real", "bundled_test"}  # real hh-rlhf prompts decide; the bundled test is shown
    for scored in run["held_out"].values():
        assert scored["prompts"] == 4 and len(scored["examples"]) == 3 and isinstance(scored["gain_std"], float)
    assert run["held_out_gain_std"] == run["held_out"]["real"]["gain_std"] and run["decoding"]
    assert out["hack"]["ppo_steps"] == 2 and "kl_explodes" in out["hack"]
    assert "sample" not in out


def test_reward_accuracy(tmp_path):
    out = run_quick("reward_accuracy.py", tmp_path)
    assert out["n_train"] == 64 and out["n_eval"] == 48 and out["steps"] > 0  # the bundled set: no ../shared needed
    assert 0 <= out["eval_accuracy"] <= 1 and out["meets_accuracy"] is None  # a smoke run meets no target


def test_reward_eta(tmp_path):
    out = run_quick("reward_eta.py", tmp_path)
    assert out["pairs"] == 64 and out["steps"] > 0 and out["job_seconds"] > 0
    assert 0 <= out["eval_accuracy"] <= 1 and out["curve"] and isinstance(out["eta"], dict)


def test_every_benchmark_has_a_test():
    scripts = {p.stem for p in (REPO / "benchmarks").glob("*.py") if not p.name.startswith("_")}
    tested = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    assert scripts <= tested, f"benchmarks without a --quick test here: {sorted(scripts - tested)}"
