"""``python -m rlhf_demo frontier``: the reward-KL frontier headless (best-of-N, DPO adapters, PPO checkpoints on one
chart: KL from the base policy against gold and proxy scores). A table on stderr; the LAST stdout line is JSON."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from rlhf_demo.config_base import command_parser, device_field, parse_command
from rlhf_demo.dpo.config import META_FILE as DPO_META
from rlhf_demo.settings import decoding_field


def parse_best_of(text: str) -> list[int]:
    """"1,2,4" -> [1, 2, 4]; "" -> [] (no best-of-N rows). ValueError naming the bad item otherwise."""
    out = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        if not item.isdigit() or int(item) < 1:
            raise ValueError(f"--best-of: {item!r} is not a positive whole number (give e.g. 1,2,4,8,16)")
        out.append(int(item))
    return sorted(set(out))


def adapter_policy_path(path) -> str | None:
    """The policy folder / Hub id an adapter was trained on: dpo_meta.json's policy_path, else peft's
    base_model_name_or_path (a PPO checkpoint records only that). None when neither says."""
    p = Path(path)
    if (p / DPO_META).is_file():
        recorded = json.loads((p / DPO_META).read_text()).get("policy_path")
        if recorded:
            return recorded
    return json.loads((p / "adapter_config.json").read_text()).get("base_model_name_or_path") or None


def same_policy(a: str, b: str) -> bool:
    """Two folder paths / Hub ids name the same policy (folders compared after resolving)."""
    pa, pb = Path(a).expanduser(), Path(b).expanduser()
    if pa.exists() and pb.exists():
        return pa.resolve() == pb.resolve()
    return a == b


def table(rows: Sequence[dict]) -> str:
    """The rows as a fixed-width text table (for a terminal)."""
    head = f"{'method':<10} {'name':<18} {'KL':>7} {'KL meas':>8} {'proxy σ':>8} {'gold σ':>8} {'proxy raw':>10} " \
           f"{'gold raw':>9} {'words':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        f = lambda v, w, d=3: f"{v:>{w}.{d}f}" if isinstance(v, (int, float)) and math.isfinite(v) else f"{'-':>{w}}"  # noqa: E731
        lines.append(f"{r['method']:<10} {r['name'][:18]:<18} {f(r['kl'], 7)} {f(r['kl_measured'], 8)} "
                     f"{f(r['proxy'], 8)} {f(r['gold'], 8)} {f(r['proxy_raw'], 10)} {f(r['gold_raw'], 9)} "
                     f"{f(r['mean_length'], 7, 1)}")
    return "\n".join(lines)


@dataclass
class FrontierArguments:
    """`python -m rlhf_demo frontier`'s options."""

    proxy: str = field(metadata={"help": "the reward model best-of-N and PPO optimise (a saved folder)"})
    gold: str = field(metadata={"help": "a reward model nothing was optimised against (a saved folder)"})
    prompts: str = field(metadata={"help": "hh-rlhf .jsonl/.jsonl.gz: the prompts of its pairs are used"})
    adapters: list[str] = field(default_factory=list, metadata={
        "help": "PPO checkpoints (ppo_state.json) and DPO adapters (dpo_meta.json) trained on --policy",
        "metavar": "DIR"})
    best_of: str = field(default="1,2,4,8,16", metadata={"help": "the N values of best-of-N ('' = none)"})
    n: int = field(default=32, metadata={"help": "the first N distinct prompts"})
    seed: int = field(default=0, metadata={"help": "sampling seed"})
    response_length: int = field(default=48, metadata={"help": "max new tokens per reply"})
    temperature: float = field(default=0.7, metadata={"help": "sampling temperature of every policy"})
    max_prompt_chars: int = field(default=1500, metadata={"help": "skip prompts longer than this"})
    policy: str | None = field(default=None, metadata={
        "help": "policy preset, folder or Hub id; None = smollm2-135m (the adapters must have been trained on it)"})
    device: str | None = device_field()
    decoding: str = decoding_field()
    allow_same: bool = field(default=False, metadata={
        "help": "allow --gold to be the --proxy folder (the gold curve then only repeats the proxy)"})


def frontier_parser() -> argparse.ArgumentParser:
    return command_parser(
        "python -m rlhf_demo frontier",
        "The reward-KL frontier: best-of-N for each N, DPO adapters and PPO checkpoints, each as one point (KL from the "
        "base policy on held-out prompts; gold and proxy scores in std above the base policy). A table goes to stderr; "
        "the last line printed is one JSON object.", FrontierArguments)


def frontier_main(argv: list[str] | None = None) -> int:
    (args,) = parse_command(frontier_parser(), argv)
    from rlhf_demo.frontier.measure import LENGTH_UNIT, adapter_method, equal_kl_summary, frontier
    from rlhf_demo.bounds import MAX_TEMPERATURE, MIN_TEMPERATURE
    from rlhf_demo.data.hh import load_jsonl
    from rlhf_demo.data.prompts import short_prompts
    from rlhf_demo.models import decoding
    from rlhf_demo.models.presets import format_prompt, load_policy, resolve_policy_probing
    from rlhf_demo.reward.model import META_FILE, load_reward_model

    t0 = time.perf_counter()
    try:  # bad input -> one `error:` line on stderr and exit status 2, never a traceback
        best_of = parse_best_of(args.best_of)
        if args.n < 1:
            raise ValueError("--n must be at least 1")
        if args.response_length < 1:
            raise ValueError("--response-length must be at least 1")
        if not MIN_TEMPERATURE <= args.temperature <= MAX_TEMPERATURE:
            raise ValueError(f"--temperature must be in [{MIN_TEMPERATURE:g}, {MAX_TEMPERATURE:g}]")
        for flag, folder in (("--proxy", args.proxy), ("--gold", args.gold)):
            if not (Path(folder) / META_FILE).is_file():
                raise ValueError(f"{flag} {folder} is not a saved reward model folder (no {META_FILE} in it)")
        if Path(args.proxy).resolve() == Path(args.gold).resolve() and not args.allow_same:
            raise ValueError("gold and proxy are the same reward model folder: give a gold model nothing is optimised "
                             "against (or --allow-same)")
        if not Path(args.prompts).is_file():
            raise ValueError(f"--prompts {args.prompts}: no such file")
        prompts = list(dict.fromkeys(short_prompts(load_jsonl(args.prompts), args.max_prompt_chars)))[: args.n]
        if not prompts:
            raise ValueError(f"--prompts {args.prompts}: no prompts in it")
        choice = resolve_policy_probing(args.policy)
        adapters = []
        for d in args.adapters:
            method = adapter_method(d)
            trained_on = adapter_policy_path(d)
            if trained_on and not same_policy(trained_on, choice.path):
                raise ValueError(f"{d} was trained on the policy {trained_on}, not on {choice.path} ({choice.name}): "
                                 "give that policy with --policy")
            adapters.append((method, Path(d).name, d))
        proxy = load_reward_model(args.proxy, args.device)
        gold = load_reward_model(args.gold, args.device) if Path(args.gold).resolve() != Path(args.proxy).resolve() \
            else proxy
        model, tok = load_policy(choice, args.device)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if choice.note:
        print(f"[frontier] {choice.note}", file=sys.stderr, flush=True)

    def show(fraction: float, message: str) -> None:
        print(f"[frontier] {fraction:4.0%} {message}", file=sys.stderr, flush=True)

    backend, measured = decoding.resolve(args.decoding, model, tok)
    try:
        rows = frontier(model, tok, proxy, gold, prompts, adapters=adapters, best_of=best_of, seed=args.seed,
                        max_new_tokens=args.response_length, temperature=args.temperature, device=args.device,
                        format_prompt=lambda p: format_prompt(tok, p), on_progress=show, allow_same=args.allow_same,
                        decoding=backend)
    except ValueError as e:  # an adapter that does not fit the policy's modules
        print(f"error: {e}", file=sys.stderr)
        return 2
    summary = equal_kl_summary(rows)
    print(table(rows), file=sys.stderr)
    if summary["best"]:
        print(f"[frontier] at KL {summary['kl']:.3f} nats, the highest gold score: {summary['best']}", file=sys.stderr)
    print(json.dumps({"rows": rows, "equal_kl": summary, "policy": choice.name, "policy_weights": choice.weights,
                      "proxy": str(args.proxy), "gold": str(args.gold), "n_prompts": len(prompts),
                      "best_of": best_of, "seed": args.seed, "response_length": args.response_length,
                      "temperature": args.temperature, "length_unit": LENGTH_UNIT, **decoding.report(measured),
                      "seconds": round(time.perf_counter() - t0, 1)}), flush=True)
    return 0
