"""Headless evaluation: `python -m rlhf_demo evaluate --reward RM_DIR [--adapter PPO_DIR] --prompts FILE [...]`.

One reply per prompt, sampled with a fixed seed, scored by the reward model, and its KL to the base policy (the same
model with the adapter switched off) measured token by token: the numbers a teacher compares checkpoints with.
The last line printed is one JSON object: mean_score, mean_raw_score, mean_kl, n, samples (prompt, reply, score,
raw_score, kl), plus which policy weights and which normalisation were used.

Scores are normalised as in PPO (0 = the base policy's average, 1 = its standard deviation): with --adapter, by the
normalisation that PPO run fitted (saved in its ppo_state.json), so a checkpoint is measured on its own training
scale; without, by the base policy's replies to these prompts. mean_raw_score is the reward model's own scale.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rlhf_demo.config_base import command_parser, device_field, parse_command
from rlhf_demo.ppo.config import PPOConfig
from rlhf_demo.settings import decoding_field

EVAL_BATCH = 16  # replies generated together: decoding streams all weights once per token, so bigger is cheaper


def evaluate_policy(engine, prompts: list[str], seed: int = 0, batch_size: int = EVAL_BATCH) -> list[dict]:
    """One seeded reply per prompt from the engine's current policy, with score, raw score and KL per reply.

    Batch b is sampled with seed `seed + b`, so the same prompts, seed and policy always give the same replies,
    and two policies are compared on the same random numbers."""
    out: list[dict] = []
    for b, start in enumerate(range(0, len(prompts), batch_size)):
        out += engine.generate_probes(prompts[start:start + batch_size], seed=seed + b)
    return out


def summarise(samples: list[dict]) -> dict:
    n = len(samples)
    return {"mean_score": sum(s["score"] for s in samples) / n, "mean_raw_score": sum(s["raw_score"] for s in samples) / n,
            "mean_kl": sum(s["kl"] for s in samples) / n, "n": n}


@dataclass
class EvaluateArguments:
    """`python -m rlhf_demo evaluate`'s options."""

    reward: str = field(metadata={"help": "a reward model folder saved by `python -m rlhf_demo reward`"})
    prompts: str = field(metadata={"help": "hh-rlhf .jsonl/.jsonl.gz: the prompts of its pairs are used"})
    adapter: str | None = field(default=None, metadata={
        "help": "a PPO checkpoint (`python -m rlhf_demo ppo --out DIR`); None = the base policy"})
    policy: str | None = field(default=None, metadata={
        "help": "policy preset, folder or Hub id; None = smollm2-135m (with --adapter, the policy it was trained on "
                "must be the same)"})
    n: int | None = field(default=None, metadata={"help": "evaluate the first N distinct prompts; None = all"})
    seed: int = field(default=0, metadata={"help": "sampling seed"})
    response_length: int | None = field(default=None, metadata={
        "help": f"max new tokens; None = the checkpoint's, else {PPOConfig.response_length}"})
    temperature: float | None = field(default=None, metadata={
        "help": f"sampling temperature; None = the checkpoint's, else {PPOConfig.temperature}"})
    max_prompt_chars: int = field(default=1500, metadata={"help": "skip prompts longer than this"})
    device: str | None = device_field()
    decoding: str = decoding_field()


def parser() -> argparse.ArgumentParser:
    return command_parser("python -m rlhf_demo evaluate", __doc__.split("\n\n")[0], EvaluateArguments)


def evaluate_main(argv: list[str]) -> int:
    (args,) = parse_command(parser(), argv)
    from rlhf_demo.data.hh import load_jsonl
    from rlhf_demo.data.prompts import short_prompts

    t0 = time.perf_counter()
    try:
        if args.n is not None and args.n < 1:
            raise ValueError("--n must be at least 1")
        prompts = list(dict.fromkeys(short_prompts(load_jsonl(args.prompts), args.max_prompt_chars)))
        prompts = prompts[: args.n] if args.n else prompts
        cfg = PPOConfig()
        if args.adapter:
            state_file = Path(args.adapter) / "ppo_state.json"
            if not state_file.is_file():
                raise FileNotFoundError(f"{args.adapter} is not a PPO checkpoint (no ppo_state.json)")
            cfg = PPOConfig.from_dict(json.loads(state_file.read_text())["config"])  # the adapter's shape when saved
        if args.response_length is not None:
            cfg.response_length = args.response_length
        if args.temperature is not None:
            cfg.temperature = args.temperature
        cfg.validate()
        from rlhf_demo.ppo.cli import build_engine

        engine, choice, measured = build_engine(args, prompts, cfg)
    except (ValueError, FileNotFoundError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from rlhf_demo.models import decoding

    if args.adapter:
        engine.load(args.adapter)
    samples = evaluate_policy(engine, prompts, seed=args.seed)
    print(json.dumps({
        **summarise(samples), "score_norm": engine.score_norm, "policy": choice.name, "policy_weights": choice.weights,
        "adapter": args.adapter, "adapter_step": engine.step_count, "reward": str(args.reward), "seed": args.seed,
        "response_length": cfg.response_length, "temperature": cfg.temperature, **decoding.report(measured),
        "seconds": round(time.perf_counter() - t0, 1),
        "samples": [{k: s[k] for k in ("prompt", "response", "score", "raw_score", "kl")} for s in samples],
    }))
    return 0
