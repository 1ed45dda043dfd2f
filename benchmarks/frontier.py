"""The whole reward-KL frontier on the real SmolLM2-135M, offline, on 2 CPU cores: how long, and who wins.

    preparation (timed apart; skipped with --proxy DIR --gold DIR):
      proxy reward model: MiniLM on a SMALL seeded slice of the bundled train split (--proxy-pairs, default 48)
      gold reward model:  MiniLM on the WHOLE bundled train split (nothing is ever optimised against it)
    the frontier (timed, target <= 20 min):
      1. DPO:  train_dpo with the default DPOConfig on the bundled train pairs      (target <= 5 min)
      2. PPO:  PPOEngine with the proxy, default PPOConfig, --ppo-steps steps, a checkpoint at the middle and the end
      3. `frontier()`: best-of-N (N up to 16) on --prompts held-out prompts (the bundled TEST split), the DPO adapter
         and both PPO checkpoints, gold and proxy in std above the base policy

Prints the table (stderr) and, last, one JSON object: every timing, the rows, which method has the highest gold at
equal KL, the load average before and after.

    python benchmarks/frontier.py                      # the real run (~15-20 min on 2 cores, plus preparation)
    python benchmarks/frontier.py --quick              # the tiny policy and tiny reward models: seconds, a smoke test
    python benchmarks/frontier.py --proxy RM1 --gold RM2 --work DIR   # reuse reward models, keep the adapters
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (offline env)

import torch  # noqa: E402

from rlhf_demo.data.prompts import short_prompts  # noqa: E402
from rlhf_demo.data.sources import BundledSource  # noqa: E402
from rlhf_demo.frontier.cli import parse_best_of, table  # noqa: E402
from rlhf_demo.frontier.measure import LENGTH_UNIT, equal_kl_summary, frontier  # noqa: E402
from rlhf_demo.models.presets import (format_prompt, load_policy, resolve_policy, resolve_policy_probing,  # noqa: E402
                                      resolve_reward_backbone)
from rlhf_demo.data.pairs import pairs_from_set  # noqa: E402

TARGET_TOTAL_S, TARGET_DPO_S = 1200, 300


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def tiny_backbone(folder: Path) -> str:
    """--quick: a 2-layer random BERT with MiniLM's tokenizer (as the tests' `tiny_bert`), trains in seconds."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from rlhf_demo.models.presets import minilm_dir

    tok = AutoTokenizer.from_pretrained(minilm_dir())
    torch.manual_seed(0)
    BertForSequenceClassification(BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2,
                                             num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                                             num_labels=1)).save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


def train_rm(out: Path, train, evals, backbone: str, quick: bool) -> dict:
    from rlhf_demo.reward.config import RewardConfig
    from rlhf_demo.reward.trainer import train_reward_model

    cfg = RewardConfig(backbone=backbone)
    if quick:
        cfg = RewardConfig(backbone=backbone, max_length=64, lora_r=4, lora_alpha=8, learning_rate=3e-3,
                           num_train_epochs=1, per_device_train_batch_size=16, eval_pairs=16, logging_steps=1)
    t0 = time.perf_counter()
    res = train_reward_model(cfg, train, evals, out, resolve_reward_backbone(backbone, None, False))
    return {"seconds": round(time.perf_counter() - t0, 1), "n_train": len(train),
            "eval_accuracy": res.eval_accuracy, "eval_accuracy_before": res.eval_accuracy_before, "out": str(out)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny policy, tiny reward models, a few prompts: a smoke test")
    p.add_argument("--proxy", help="reuse this proxy reward model folder (with --gold): no preparation")
    p.add_argument("--gold", help="reuse this gold reward model folder (with --proxy)")
    p.add_argument("--work", help="keep reward models and adapters here (default: a temporary folder)")
    p.add_argument("--prompts", type=int, default=32, help="held-out prompts (default 32)")
    p.add_argument("--best-of", default="1,2,4,8,16", help="N values of best-of-N (default 1,2,4,8,16)")
    p.add_argument("--proxy-pairs", type=int, default=48, help="training pairs of the proxy (default 48)")
    p.add_argument("--ppo-steps", type=int, default=10, help="PPO steps; checkpoints at the middle and the end (default 10)")
    p.add_argument("--response-length", type=int, default=48, help="max new tokens in the frontier (default 48)")
    p.add_argument("--temperature", type=float, default=0.7, help="sampling temperature (default 0.7)")
    args = p.parse_args()
    if bool(args.proxy) != bool(args.gold):
        raise SystemExit("error: give both --proxy and --gold, or neither")
    if args.quick:
        torch.set_num_threads(1)  # 32- and 128-wide models: a second thread only adds waiting on a busy CPU
    from rlhf_demo.dpo.config import DPOConfig
    from rlhf_demo.dpo.trainer import train_dpo
    from rlhf_demo.ppo.config import PPOConfig
    from rlhf_demo.ppo.engine import PPOEngine
    from rlhf_demo.reward.model import load_reward_model

    load_before = os.getloadavg()
    t_start = time.perf_counter()
    src = BundledSource()
    train_set, test_set = src.load("bundled", "train"), src.load("bundled", "test")
    train_pairs, test_pairs = pairs_from_set(train_set), pairs_from_set(test_set)
    held = list(dict.fromkeys(short_prompts(test_set, 1500)))[: (4 if args.quick else args.prompts)]
    train_prompts = short_prompts(train_set, 1500)
    best_of = [1, 2] if args.quick else parse_best_of(args.best_of)
    ppo_steps = 2 if args.quick else args.ppo_steps

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        run = work / f"run-{time.strftime('%Y%m%d-%H%M%S')}"  # the stages never overwrite: a fresh folder each time
        run.mkdir()
        result: dict = {"benchmark": "frontier", "quick": args.quick}

        # --- preparation: policy weights (dequantised once) and the two reward models -----------------------
        t0 = time.perf_counter()
        choice = resolve_policy("tiny", False) if args.quick else resolve_policy_probing("smollm2-135m")
        from rlhf_demo.models.presets import ensure_weights

        ensure_weights(choice)
        prep = {"policy_weights_seconds": round(time.perf_counter() - t0, 1)}
        if args.proxy:
            proxy_dir, gold_dir = Path(args.proxy), Path(args.gold)
            prep["reused"] = True
        else:
            backbone = tiny_backbone(run / "tiny-bert") if args.quick else "minilm"
            slice_ = random.Random(0).sample(train_pairs, min(args.proxy_pairs, len(train_pairs)))
            log(f"training the proxy on {len(slice_)} pairs and the gold on {len(train_pairs)}")
            proxy_dir, gold_dir = run / "rm-proxy", run / "rm-gold"
            prep["proxy"] = train_rm(proxy_dir, slice_, test_pairs, backbone, args.quick)
            prep["gold"] = train_rm(gold_dir, train_pairs[:96] if args.quick else train_pairs, test_pairs, backbone,
                                    args.quick)
            prep["reused"] = False
        prep["seconds"] = round(time.perf_counter() - t0, 1)
        result["preparation"] = prep
        log(f"preparation {prep['seconds']} s")
        proxy = load_reward_model(proxy_dir, "cpu")
        gold = load_reward_model(gold_dir, "cpu")

        # --- the frontier, timed -------------------------------------------------------------------------
        t_frontier = time.perf_counter()
        timings: dict = {}
        dcfg = DPOConfig(max_pairs=8, max_steps=2, max_length=64, learning_rate=2e-3,
                         per_device_train_batch_size=4) if args.quick else DPOConfig()
        t0 = time.perf_counter()
        dpo = train_dpo(dcfg, train_pairs, run / "dpo", choice)
        timings["dpo_seconds"] = round(time.perf_counter() - t0, 1)
        result["dpo"] = {k: dpo.to_dict()[k] for k in ("steps", "n_pairs", "loss_first", "loss_last",
                                                        "reward_accuracy_last", "margins_last", "train_seconds")}
        log(f"DPO {dpo.steps} steps in {timings['dpo_seconds']} s")

        t0 = time.perf_counter()
        model, tok = load_policy(choice, "cpu")
        pcfg = PPOConfig(batch_size=4, response_length=8, score_norm_samples=8) if args.quick else PPOConfig()
        engine = PPOEngine(model, tok, proxy, train_prompts, pcfg, device="cpu",
                           format_prompt=lambda q: format_prompt(tok, q))
        engine.fit_score_norm()
        checkpoints, history = [], []
        for step in range(1, ppo_steps + 1):
            m = engine.step().metrics
            history.append({k: round(m[k], 4) for k in ("objective/scores", "objective/kl", "time/step_seconds")})
            log(f"PPO step {step}: score {m['objective/scores']:+.3f} kl {m['objective/kl']:.3f} "
                f"({m['time/step_seconds']:.1f} s)")
            if step in (ppo_steps // 2, ppo_steps) and step > 0:
                engine.save(run / f"ppo-step{step}")
                checkpoints.append(("ppo", f"ppo-step{step}", str(run / f"ppo-step{step}")))
        timings["ppo_seconds"] = round(time.perf_counter() - t0, 1)
        result["ppo"] = {"steps": ppo_steps, "history": history, "score_norm": engine.score_norm}
        del engine, model
        gc.collect()

        t0 = time.perf_counter()
        model, tok = load_policy(choice, "cpu")  # a fresh base policy: PPO wrapped its copy in place
        rows = frontier(model, tok, proxy, gold, held, best_of=best_of,
                        adapters=[("dpo", "dpo", str(run / "dpo"))] + checkpoints, seed=0,
                        max_new_tokens=12 if args.quick else args.response_length, temperature=args.temperature,
                        format_prompt=lambda q: format_prompt(tok, q),
                        on_progress=lambda f, msg: log(f"frontier {f:4.0%} {msg}"))
        timings["frontier_eval_seconds"] = round(time.perf_counter() - t0, 1)
        timings["frontier_total_seconds"] = round(time.perf_counter() - t_frontier, 1)
        timings["whole_seconds"] = round(time.perf_counter() - t_start, 1)

    summary = equal_kl_summary(rows)
    print(table(rows), file=sys.stderr)
    log(f"highest gold at equal KL ({summary['kl']:.3f} nats): {summary['best']}; timings {timings}")
    result.update({
        "policy": choice.name, "policy_weights": choice.weights, "n_prompts": len(held), "best_of": best_of,
        "temperature": args.temperature, "length_unit": LENGTH_UNIT, "timings": timings,
        "targets": {"frontier_total_seconds": TARGET_TOTAL_S, "dpo_seconds": TARGET_DPO_S},
        "meets": {"frontier_total": timings["frontier_total_seconds"] <= TARGET_TOTAL_S,
                  "dpo": timings["dpo_seconds"] <= TARGET_DPO_S},
        "rows": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
        "equal_kl": summary, "winner_at_equal_kl": summary["best"],
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
        "threads": torch.get_num_threads(), "cpu": _common.cpu_info(),
    })
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
