"""Does RLHF visibly work on the real SmolLM2-135M-Instruct, offline, in a class-sized budget?

For each reward-model data set (the bundled set, and the real hh-rlhf harmless-base sample):

    1. train a reward model with the project's own command:   python -m rlhf_demo reward --train ... --eval ...
    2. score the base policy on held-out prompts:             python -m rlhf_demo evaluate --reward RM --prompts HELD
    3. PPO with the DEFAULT settings for a wall-time budget:  python -m rlhf_demo ppo --reward RM --max-seconds ...
    4. score the trained policy on the same prompts, same seed: python -m rlhf_demo evaluate ... --adapter PPO

The held-out prompts that decide the targets are REAL hh-rlhf conversations: a seeded split of 64 pairs of the shared
harmless-base sample, removed from what every reward model and PPO run sees. PPO trains on the rest of the sample's
prompts (the prompt mix a class would use); the bundled reward model is also scored on the bundled set's own test
prompts, for comparison. The gain is measured in the units PPO optimises: (mean raw score after - before) / the std of
the base policy's scores (fitted by the PPO run before its first step). Three held-out replies are printed before and
after, side by side.

Then the reward-hacking run: the bundled reward model, the PPO tab's demo settings (beta = 0, a larger learning rate),
--hack-minutes of wall time.

    python benchmarks/ppo_learning.py                    # everything (~40 min on 2 cores)
    python benchmarks/ppo_learning.py --only bundled --no-hack --minutes 2    # a quicker look
    python benchmarks/ppo_learning.py --quick    # the bundled set and the hack run on the tiny policy and a tiny
                                                 # BERT reward model, 2 PPO steps each: a smoke test (a minute)

Targets, on the real held-out prompts at the default beta with mean KL <= 10 nats: gain >= 1.0 std within 5 minutes
with the bundled reward model, >= 0.5 std within 10 minutes with the real-sample one; at beta = 0 the score climbs
while the KL explodes (> 10 nats) within 10 minutes. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import _common  # noqa: F401  (offline env)

from rlhf_demo.ppo.service import HACK_SETTINGS  # noqa: E402

REPO = _common.REPO
BUNDLED = REPO / "assets" / "bundled"
SAMPLE = REPO.parent / "shared" / "hh-rlhf" / "harmless-base-sample.jsonl.gz"
N_HELD_OUT_SAMPLE = 64
TARGET_KL, HACK_KL = 10.0, 10.0
# per reward model: (minimum held-out gain in std, PPO wall-time budget in minutes)
TARGETS = {"bundled": (1.0, 5.0), "sample": (0.5, 10.0)}
QUICK_ARGS: dict[str, list[str]] = {}  # --quick: arguments added to every `reward` / `evaluate` / `ppo` command


def quick_args(backbone: str) -> dict[str, list[str]]:
    """--quick: a tiny BERT reward model trained briefly, the tiny policy, short replies, 2 PPO steps of 4 replies."""
    return {"reward": ["--backbone", backbone, "--max-pairs", "32", "--epochs", "1", "--max-length", "64",
                       "--eval-pairs", "16", "--lora-r", "4", "--lr", "3e-3"],
            "evaluate": ["--policy", "tiny", "--n", "4", "--response-length", "8"],
            "ppo": ["--policy", "tiny", "--batch-size", "4", "--response-length", "8", "--steps", "2"]}


def command(*args: str, timeout: float = 3600) -> dict:
    """Run `python -m rlhf_demo ARGS`; stderr streams through; the last stdout line is its JSON."""
    args = (*args, *QUICK_ARGS.get(args[0], []))  # (argparse: a repeated option's last value wins, e.g. --steps)
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "rlhf_demo", *args], cwd=REPO, stdout=subprocess.PIPE, text=True,
                       timeout=timeout, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    if p.returncode != 0:
        raise SystemExit(f"error: `python -m rlhf_demo {' '.join(args)}` exited with {p.returncode}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    print(f"[bench] {args[0]} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return out


def split_sample(work: Path) -> tuple[Path, Path]:
    """The sample's pairs, split (seeded) into a training file and N_HELD_OUT_SAMPLE held-out pairs."""
    lines = gzip.open(SAMPLE, "rt").read().splitlines()
    random.Random(0).shuffle(lines)
    train, held = work / "sample-train.jsonl", work / "sample-held-out.jsonl"
    held.write_text("\n".join(lines[:N_HELD_OUT_SAMPLE]) + "\n")
    train.write_text("\n".join(lines[N_HELD_OUT_SAMPLE:]) + "\n")
    return train, held


def side_by_side(before: dict, after: dict, norm: list[float], n: int = 3) -> list[dict]:
    """The first n held-out prompts, before | after. Both scores on the PPO run's scale: (raw - mean) / std of the base
    policy's scores fitted before its first step (each `evaluate` call reports its own normalisation otherwise)."""
    rows = []
    mean, std = norm
    for b, a in list(zip(before["samples"], after["samples"]))[:n]:
        assert b["prompt"] == a["prompt"]
        b = {**b, "score": (b["raw_score"] - mean) / std}
        a = {**a, "score": (a["raw_score"] - mean) / std}
        last_turn = b["prompt"].rstrip().removesuffix("Assistant:").strip().split("Human:")[-1].strip()
        rows.append({"prompt": last_turn, "before": b["response"], "before_score": round(b["score"], 2),
                     "after": a["response"], "after_score": round(a["score"], 2), "after_kl": round(a["kl"], 2)})
        w = 60
        print(f"\nPROMPT: {last_turn[:300]}", file=sys.stderr)
        left = textwrap.wrap(f"BEFORE ({b['score']:+.2f}): {b['response']}", w) or [""]
        right = textwrap.wrap(f"AFTER ({a['score']:+.2f}, KL {a['kl']:.1f}): {a['response']}", w) or [""]
        for i in range(max(len(left), len(right))):
            print(f"  {(left[i] if i < len(left) else ''):<{w}} | {right[i] if i < len(right) else ''}", file=sys.stderr)
    return rows


def gain(before: dict, after: dict, ppo: dict) -> float:
    """Held-out gain in the units PPO optimises: raw-score difference / std of the base policy's scores."""
    return (after["mean_raw_score"] - before["mean_raw_score"]) / ppo["score_norm"][1]


def learning_run(name: str, rm_train: Path, rm_eval: Path, prompts: Path, held_out: dict[str, Path], work: Path,
                 minutes: float, target_gain: float, extra_ppo: list[str]) -> dict:
    """Reward model on rm_train; PPO (default settings) on the prompts of `prompts` for `minutes`; the base policy and
    the trained one scored on each held-out prompt set (the first, "real", decides the target)."""
    rm, ppo_dir = work / f"rm-{name}", work / f"ppo-{name}"
    for old in (rm, ppo_dir):  # the commands never overwrite: a rerun starts from fresh folders
        shutil.rmtree(old, ignore_errors=True)
    r = command("reward", "--train", str(rm_train), "--eval", str(rm_eval), "--out", str(rm), "--quiet")
    before = {k: command("evaluate", "--reward", str(rm), "--prompts", str(f)) for k, f in held_out.items()}
    ppo = command("ppo", "--reward", str(rm), "--data", str(prompts), "--steps", "100000",
                  "--max-seconds", str(minutes * 60), "--out", str(ppo_dir), "--quiet", *extra_ppo)
    after = {k: command("evaluate", "--reward", str(rm), "--prompts", str(f), "--adapter", str(ppo_dir))
             for k, f in held_out.items()}
    print(f"\n=== {name}: reward model {r['eval_accuracy']:.1%} held-out accuracy; PPO {ppo['steps']} steps in "
          f"{ppo['run_seconds']:.0f} s ===", file=sys.stderr)
    scored = {}
    for k in held_out:
        g = gain(before[k], after[k], ppo)
        print(f"--- {k} held-out prompts: gain {g:+.2f} std, KL {after[k]['mean_kl']:.1f} nats", file=sys.stderr)
        scored[k] = {"prompts": before[k]["n"], "score_before": round(before[k]["mean_raw_score"], 4),
                     "score_after": round(after[k]["mean_raw_score"], 4), "gain_std": round(g, 3),
                     "kl_after": round(after[k]["mean_kl"], 3),
                     "examples": side_by_side(before[k], after[k], ppo["score_norm"])}
    main_set = scored[next(iter(held_out))]
    return {
        "reward_model": {k: r.get(k) for k in ("eval_accuracy", "eval_accuracy_before", "baseline_shorter_wins",
                                               "train_seconds", "n_train", "n_eval", "epochs")},
        "ppo_prompts": prompts.name, "ppo_steps": ppo["steps"], "ppo_run_seconds": ppo["run_seconds"],
        "ppo_norm_seconds": ppo["norm_seconds"], "seconds_per_step": round(ppo["seconds_per_step"], 2),
        "decoding": ppo.get("decoding"), "score_norm": ppo["score_norm"],
        "train_score_first": round(ppo["score_first"], 3), "train_score_last": round(ppo["score_last"], 3),
        "train_kl_last": round(ppo["kl_last"], 3), "held_out": scored, "held_out_decides": next(iter(held_out)),
        "held_out_gain_std": main_set["gain_std"], "held_out_kl_after": main_set["kl_after"],
        "target_gain_std": target_gain, "target_minutes": minutes,
        "meets_gain": main_set["gain_std"] >= target_gain, "meets_kl": main_set["kl_after"] <= TARGET_KL,
        "meets_time": ppo["run_seconds"] <= minutes * 60 + ppo["seconds_per_step"],
        "policy_weights": ppo.get("policy_weights"), "config": {k: ppo["config"][k] for k in (
            "batch_size", "samples_per_prompt", "baseline", "learning_rate", "num_ppo_epochs", "num_mini_batches",
            "response_length", "kl_coef", "lora_layers", "temperature")},
    }


def hack_run(work: Path, minutes: float) -> dict:
    rm, held = work / "rm-bundled", BUNDLED / "test.jsonl"
    if not rm.exists():
        command("reward", "--train", str(BUNDLED / "train.jsonl"), "--eval", str(held), "--out", str(rm), "--quiet")
    before = command("evaluate", "--reward", str(rm), "--prompts", str(held))
    out = work / "ppo-hack"
    shutil.rmtree(out, ignore_errors=True)
    ppo = command("ppo", "--reward", str(rm), "--data", str(BUNDLED / "train.jsonl"), "--steps", "100000",
                  "--max-seconds", str(minutes * 60), "--kl-coef", str(HACK_SETTINGS["kl_coef"]),
                  "--lr", str(HACK_SETTINGS["learning_rate"]), "--out", str(out), "--quiet")
    after = command("evaluate", "--reward", str(rm), "--prompts", str(held), "--adapter", str(out))
    print(f"\n=== reward hacking: beta = 0, {ppo['steps']} steps in {ppo['run_seconds']:.0f} s ===", file=sys.stderr)
    return {"ppo_steps": ppo["steps"], "ppo_run_seconds": ppo["run_seconds"],
            "held_out_gain_std": round(gain(before, after, ppo), 3), "held_out_kl_after": round(after["mean_kl"], 3),
            "train_score_first": round(ppo["score_first"], 3), "train_score_last": round(ppo["score_last"], 3),
            "train_kl_last": round(ppo["kl_last"], 3), "kl_explodes": after["mean_kl"] > HACK_KL,
            "examples": side_by_side(before, after, ppo["score_norm"])}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", choices=tuple(TARGETS), help="one reward-model data set (default: both)")
    p.add_argument("--minutes", type=float, help="PPO wall time per learning run (default: its target's, "
                   + ", ".join(f"{k} {m:g}" for k, (_, m) in TARGETS.items()) + ")")
    p.add_argument("--hack-minutes", type=float, default=10.0, help="PPO wall time of the beta = 0 run")
    p.add_argument("--no-hack", action="store_true", help="skip the reward-hacking run")
    p.add_argument("--work", help="keep the models here (default: a temporary folder)")
    p.add_argument("--ppo-args", default="", help="extra arguments for every learning run's `ppo` command, e.g. "
                   "'--kl-coef 0.1' (to try settings; the targets are for the defaults)")
    p.add_argument("--quick", action="store_true", help="--only bundled (unless given), the tiny policy, a tiny BERT "
                   "reward model, 2 PPO steps per run, 4 held-out prompts: a smoke test (without the shared sample, "
                   "the bundled set's test prompts stand in for the real ones)")
    args = p.parse_args()
    if args.quick and args.only is None:
        args.only = "bundled"
    has_sample = SAMPLE.is_file()
    if not has_sample and not args.quick:
        raise SystemExit(f"error: the hh-rlhf sample is missing: {SAMPLE}")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        result: dict = {"benchmark": "ppo_learning", "quick": args.quick}
        if args.quick:
            QUICK_ARGS.update(quick_args(_common.tiny_reward_backbone(work / "tiny-bert")))
        bundled_train, bundled_test = BUNDLED / "train.jsonl", BUNDLED / "test.jsonl"
        train, held = split_sample(work) if has_sample else (bundled_train, bundled_test)
        extra = args.ppo_args.split()
        if args.only in (None, "bundled"):
            gain_target, minutes = TARGETS["bundled"]
            result["bundled"] = learning_run("bundled", bundled_train, bundled_test, train,
                                             {"real": held, "bundled_test": bundled_test}, work,
                                             args.minutes or minutes, gain_target, extra)
        if args.only in (None, "sample"):
            gain_target, minutes = TARGETS["sample"]
            result["sample"] = learning_run("sample", train, held, train, {"real": held}, work,
                                            args.minutes or minutes, gain_target, extra)
        if not args.no_hack:
            result["hack"] = hack_run(work, args.hack_minutes)
    result["total_seconds"] = round(time.perf_counter() - t0)
    result["targets"] = {"gain_std_minutes": TARGETS, "kl": TARGET_KL, "hack_kl": HACK_KL}
    result["ppo_args"] = args.ppo_args
    result["cpu"] = _common.cpu_info()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
