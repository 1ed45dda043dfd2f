"""How fast is one PPO step of our engine (`rlhf_demo/ppo/engine.py`) on this machine, and how much memory does it take?

    python benchmarks/ppo_speed.py --shape smollm2-135m    # the size of model the app fine-tunes (~135M params)
    python benchmarks/ppo_speed.py --shape tiny            # a seconds-long smoke run
    python benchmarks/ppo_speed.py --quick                 # the same: --shape tiny --steps 1

The Hub is unreachable, so the model is a RANDOM-weight LlamaForCausalLM with SmolLM2-135M's exact shape (hidden 576,
30 layers, 9 heads / 3 KV heads, MLP 1536, vocab 49152, tied embeddings): speed and memory depend on the shape, not
on the weights. The tokenizer is a word-level one over the same 49152-token vocabulary, the reward a cheap fixed
function of the reply text (no second model), and generation is forced to run all `response_length` tokens
(`min_new_tokens`), so every step does the same amount of work.

Workload (brief): batch 8, 64-token prompts, 32 new tokens, 1 PPO epoch, 1 minibatch, torch's default thread count,
LoRA on the engine's default number of top blocks (`--lora-layers 0` = every block, the full-backbone passes).
It runs one warm-up step, then `--steps` measured steps, then times separately one generate-free no-grad policy
forward and one policy forward+backward (the PPO loss) of the same batch, so the step can be compared with
generate + reference forward + forward/backward.

Prints a JSON object as its LAST line: seconds_per_step, peak_rss_mb, generate_seconds, fwd_bwd_seconds,
forward_seconds, and the breakdown. Reference (brief): TRL 0.12's PPOTrainer took 11.3 s/step and 8.1 GB here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time

import _common  # noqa: E402,F401  (offline env)
import torch  # noqa: E402

from rlhf_demo.ppo.config import PPOConfig  # noqa: E402
from rlhf_demo.ppo.policy import forward_reply  # noqa: E402

SHAPES = {
    # SmolLM2-135M's config.json, minus the weights
    "smollm2-135m": dict(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                         num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=8192,
                         rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True),
    "tiny": dict(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=True),
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def build_tokenizer(vocab_size: int):
    """Word-level tokenizer: token i is the word "w{i}" (ids 0-2 are pad/bos/eos); one word = one token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "<bos>": 1, "<eos>": 2, **{f"w{i}": i for i in range(3, vocab_size)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<pad>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins the words with spaces
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<bos>", eos_token="<eos>")


class DummyReward:
    """A fixed, cheap function of the reply text: the fraction of words with an even id."""

    def score(self, prompts: list[str], responses: list[str]) -> torch.Tensor:
        fractions = []
        for text in responses:
            words = text.split()
            fractions.append(sum(int(w[1:]) % 2 == 0 for w in words if w[1:].isdigit()) / max(1, len(words)))
        return torch.tensor(fractions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="smollm2-135m")
    parser.add_argument("--steps", type=int, default=3, help="measured steps after one warm-up step")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--prompt-length", type=int, default=64)
    parser.add_argument("--response-length", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=1, help="PPO epochs per step (default 1)")
    parser.add_argument("--lora-layers", type=int, default=PPOConfig().lora_layers or 0,
                        help="LoRA on the top N blocks only, 0 = all (default: the engine's default)")
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    parser.add_argument("--quick", action="store_true", help="a smoke test: --shape tiny --steps 1")
    args = parser.parse_args()
    if args.quick:
        args.shape, args.steps = "tiny", 1

    from transformers import LlamaConfig, LlamaForCausalLM

    from rlhf_demo.ppo.engine import PPOEngine

    torch.manual_seed(0)
    shape = SHAPES[args.shape]
    tokenizer = build_tokenizer(shape["vocab_size"])
    t0 = time.perf_counter()
    policy = LlamaForCausalLM(LlamaConfig(**shape, pad_token_id=0, bos_token_id=1, eos_token_id=2))
    build_seconds = time.perf_counter() - t0
    policy.generation_config.min_new_tokens = args.response_length  # never stop early: fixed work per step
    n_params = sum(p.numel() for p in policy.parameters())

    g = torch.Generator().manual_seed(1)
    prompts = [" ".join(f"w{i}" for i in torch.randint(3, shape["vocab_size"], (args.prompt_length,), generator=g).tolist())
               for _ in range(4 * args.batch_size)]
    config = PPOConfig(batch_size=args.batch_size, response_length=args.response_length,
                       max_prompt_length=args.prompt_length, num_ppo_epochs=args.epochs, num_mini_batches=1,
                       samples_per_prompt=1, baseline="value", temperature=0.7,
                       lora_layers=None if args.lora_layers == 0 else args.lora_layers)
    engine = PPOEngine(policy, tokenizer, DummyReward(), prompts, config, device=args.device)

    # one warm-up step (allocator, oneDNN kernel selection), then the measured steps
    engine.step()
    results = [engine.step() for _ in range(args.steps)]

    def mean(key: str) -> float:
        return statistics.mean(r.metrics[key] for r in results)

    # the pieces of a step, timed on their own with the same batch shape: a no-grad policy forward and one
    # policy forward+backward of the PPO loss (what the update does once per epoch and minibatch)
    with engine._seeded(123):
        rollout = engine.rollout(prompts[: args.batch_size])
    B, L = rollout.responses.shape
    idx = torch.arange(B, device=engine.device)
    zeros = torch.zeros(B, L, device=engine.device)

    def forward_once() -> None:  # as the reference pass runs it (from the frozen trunk when lora_layers is set)
        with torch.no_grad():
            forward_reply(engine.model, engine.trunk_split, rollout.query_responses, rollout.attention_mask,
                          rollout.context_length, rollout.trunk)

    def full_forward_once() -> None:  # every block
        with torch.no_grad():
            forward_reply(engine.model, engine.trunk_split, rollout.query_responses, rollout.attention_mask,
                          rollout.context_length)

    def fwd_bwd_once() -> None:
        engine.model.train()
        loss, _ = engine._ppo_loss(rollout, idx, zeros + 1.0, zeros, config)
        loss.backward()
        engine.model.eval()
        engine.optimizer.zero_grad(set_to_none=True)

    def best_of(fn, repeats: int = 2) -> float:
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    forward_seconds = best_of(forward_once)
    full_forward_seconds = best_of(full_forward_once)
    fwd_bwd_seconds = best_of(fwd_bwd_once)
    step_seconds = mean("time/step_seconds")
    generate_seconds = mean("time/generate_seconds")
    report = {
        "shape": args.shape,
        "params_millions": round(n_params / 1e6, 1),
        "device": str(engine.device),
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "prompt_tokens": rollout.context_length,
        "response_tokens": L,
        "measured_steps": args.steps,
        "seconds_per_step": round(step_seconds, 3),
        "seconds_per_step_all": [round(r.metrics["time/step_seconds"], 3) for r in results],
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "generate_seconds": round(generate_seconds, 3),
        "reference_seconds": round(mean("time/reference_seconds"), 3),
        "update_seconds": round(mean("time/update_seconds"), 3),
        "forward_seconds": round(forward_seconds, 3),
        "fwd_bwd_seconds": round(fwd_bwd_seconds, 3),
        "full_forward_seconds": round(full_forward_seconds, 3),
        "lora_layers": config.lora_layers, "ppo_epochs": config.num_ppo_epochs, "target_seconds_per_step": 6.0,
        # what a step would cost if it were nothing but its three big pieces
        "generate_plus_forward_plus_fwd_bwd": round(generate_seconds + forward_seconds + fwd_bwd_seconds, 3),
        "model_build_seconds": round(build_seconds, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "quick": args.quick,
        "cpu": _common.cpu_info(),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
