"""How fast does each rollout backend (`rlhf_demo/models/decoding.py`) sample replies on THIS machine, and how far is
its sampling distribution from the float32 policy's?

    python benchmarks/decoding_speed.py              # SmolLM2-135M-Instruct, 16 replies (4 prompts x 4) x 32 tokens
    python benchmarks/decoding_speed.py --quick      # the tiny policy, 8 x 8: seconds

For every candidate, in one run: seconds for the whole batch (best of --repeats after a warm-up), tokens per second,
the speed-up over eager float32 `generate` (the baseline), and the mean KL per sampled token between the candidate's
sampling distribution and the float32 policy's (over the whole vocabulary; the auto choice refuses > 0.02). Besides
the app's backends, "eager-bf16" (transformers' generate on a bfloat16 copy) shows what the dtype alone gives, and
the two samplers are timed alone on (16, vocab) logits. Prints the CPU and its flags with the figures, JSON last.
"""

from __future__ import annotations

import argparse
import json
import time

from _common import cpu_info  # noqa: E402  (offline env)

PROMPTS = ["How do I keep basil fresh?", "What is a good way to learn to play the piano as an adult?",
           "Can you tell me a joke about cats?", "Why is the sky blue?"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policy", default=None, help="default smollm2-135m (--quick: tiny)")
    ap.add_argument("--samples-per-prompt", type=int, default=4)
    ap.add_argument("--new-tokens", type=int, default=None, help="default 32 (--quick: 8)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="the tiny policy, 2 prompts x 4 x 8 tokens")
    args = ap.parse_args()
    policy = args.policy or ("tiny" if args.quick else "smollm2-135m")
    new_tokens = args.new_tokens or (8 if args.quick else 32)
    prompts = PROMPTS[:2] if args.quick else PROMPTS

    import torch

    from rlhf_demo.models import decoding
    from rlhf_demo.models.generation import left_pad
    from rlhf_demo.models.presets import format_prompt, load_policy, resolve_policy

    choice = resolve_policy(policy, hub_ok=False)
    model, tok = load_policy(choice)
    texts = [format_prompt(tok, f"\n\nHuman: {p}\n\nAssistant:") for p in prompts]
    rows = [tok(t)["input_ids"] for t in texts for _ in range(args.samples_per_prompt)]
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    ids, mask = left_pad(rows, pad_id)

    candidates = [*decoding.BACKENDS.values(),
                  decoding.Backend("eager-bf16", torch.bfloat16, False, False, "transformers generate, bfloat16 copy")]
    measured = []
    for b in candidates:
        try:
            m = decoding.measure_backend(model, b, ids, mask, new_tokens, 0.7, pad_id, repeats=args.repeats)
        except Exception as e:  # noqa: BLE001  (a backend this torch cannot run is a row, not a crash)
            m = {"backend": b.name, "error": f"{type(e).__name__}: {e}"[:300]}
        m["description"] = b.description
        measured.append(m)
        print(f"[decoding_speed] {m}", flush=True)
    eager = next(m for m in measured if m["backend"] == "eager")
    for m in measured:
        if "seconds" in m:
            m["speedup_vs_eager"] = round(eager["seconds"] / m["seconds"], 2)
    ok = [m for m in measured if "seconds" in m and m["kl_to_fp32"] <= decoding.MAX_KL and m["backend"] in decoding.BACKENDS]
    auto = min(ok, key=lambda m: m["seconds"])["backend"]

    # the two samplers alone, on logits of the batch's shape
    logits = torch.randn(ids.shape[0], model.config.vocab_size) * 3

    def per_call_ms(fn, n: int = 30) -> float:
        fn()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return round((time.perf_counter() - t0) / n * 1000, 3)

    samplers = {"multinomial_ms": per_call_ms(lambda: torch.multinomial(torch.softmax(logits / 0.7, -1), 1)),
                "inverse_cdf_ms": per_call_ms(lambda: decoding.sample_next(logits, 0.7))}

    print(json.dumps({"policy": choice.name, "policy_weights": choice.weights, "rows": ids.shape[0],
                      "prompt_tokens": ids.shape[1], "new_tokens": new_tokens, "backends": measured,
                      "auto_choice": auto, "auto_speedup_vs_eager": next(m["speedup_vs_eager"] for m in measured
                                                                          if m["backend"] == auto),
                      "max_kl": decoding.MAX_KL, "samplers": samplers, "compile": "not a candidate (see README)",
                      "quick": args.quick, "cpu": cpu_info()}))


if __name__ == "__main__":
    main()
