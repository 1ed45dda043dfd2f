"""Goodhart you can see: a gold reward model labels the policy's replies, a proxy learns from N of those labels, and
optimising the proxy hard makes gold turn down (Gao et al. 2022); an ensemble of proxies holds it up (Coste et al.
2024). On the offline default: SmolLM2-135M-Instruct (Q4_1, dequantised), MiniLM reward models, the real hh-rlhf
sample when it is there.

    1. GOLD: a reward model trained on the real hh-rlhf pairs (the sample minus its held-out pairs), or --gold DIR;
       its held-out accuracy on those pairs is reported
    2. LABELS: two replies of the base policy (PPO's temperature and reply length) to each training prompt, labelled
       by gold, a share --noise of the labels flipped (Coste et al.: 25 %) (`frontier/goodhart.py`)
    3. PROXIES, per seed: --members reward models, each on its own slice of --labels labels (the project's reward
       trainer); member 0 is "the" single proxy; all of them are the ensemble (`reward/ensemble.py`)
    4. BEST-OF-N on held-out prompts: --samples replies per prompt ONCE, scored by gold and every proxy; best-of-n
       for n = 1, 2, 4, ..., --samples, exactly over every n-subset (`goodhart.bon_expected`), against √KL with
       KL = log n − (n−1)/n, and the fit gold = d(α − βd)
    5. PPO, per seed: β = 0 (the reward-hacking demo's settings) against the single proxy, the default β against it,
       and β = 0 against the ensemble; every --every steps the app's evaluation (`ppo/overopt.py`) on held-out prompts
    6. the targets: gold falls ≥ 0.3 σ from its peak while the proxy rises (best-of-N and PPO β = 0, every seed);
       the ensemble at least halves the drop at equal KL. Scores in σ of the base policy's replies.

    python benchmarks/overoptimisation.py                       # the whole benchmark, ~50 min on 2 idle cores
    python benchmarks/overoptimisation.py --write-asset        # ... and write assets/overoptimisation/recorded.json
    python benchmarks/overoptimisation.py --quick              # the tiny policy, tiny BERT reward models: minutes

Every stage's result is kept in --work (default: a new temporary folder): a rerun with the same --work skips what
is done. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

import _common  # noqa: F401  (offline env)

REAL_SAMPLE = _common.REPO.parent / "shared" / "hh-rlhf" / "harmless-base-sample.jsonl.gz"
ASSET = _common.REPO / "assets" / "overoptimisation" / "recorded.json"
GOLD_HELD_OUT = 361  # the sample's 20 %: gold's held-out accuracy is measured on these (as `reward` does)
TARGET_DROP = 0.3


def log(msg: str) -> None:
    print(f"[overopt {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cached(work: Path, name: str, fn):
    """fn() once per --work folder: its JSON result is kept as <name>.json."""
    path = work / f"{name}.json"
    if path.is_file():
        return json.loads(path.read_text())
    t0 = time.perf_counter()
    out = fn()
    out["seconds"] = round(time.perf_counter() - t0, 1)
    path.write_text(json.dumps(out))
    log(f"{name}: {out['seconds']} s")
    return out


# -- models --------------------------------------------------------------------------------------------------------
def reward_cfg(args, seed: int = 0):
    from rlhf_demo.reward.config import RewardConfig

    if args.quick:
        return RewardConfig(backbone=args.backbone, seed=seed, **_common.QUICK_REWARD)
    return RewardConfig(seed=seed, eval_pairs=400, eval_points=0)


def train_rm(args, folder: Path, train, evals, seed: int = 0) -> dict:
    from rlhf_demo.reward.trainer import train_reward_model

    if not (folder / "reward_meta.json").is_file():
        res = train_reward_model(reward_cfg(args, seed), train, evals, folder, args.backbone_choice)
        return {"accuracy": res.eval_accuracy, "pairs": res.n_train, "eval_pairs": res.n_eval,
                "train_seconds": round(res.train_seconds, 1)}
    meta = json.loads((folder / "reward_meta.json").read_text())
    return {"accuracy": meta.get("eval_accuracy"), "pairs": meta.get("n_train"), "reused": True}


def load_rm(folder):
    from rlhf_demo.reward.model import load_reward_model

    return load_reward_model(folder)


def floats(t) -> list[float]:
    return [float(x) for x in (t.tolist() if hasattr(t, "tolist") else t)]


# -- stages --------------------------------------------------------------------------------------------------------
def stage_gold(args, work: Path, train_pairs, held_out) -> dict:
    if args.gold:
        return {"folder": args.gold, **train_rm(args, Path(args.gold), [], [])}
    folder = work / "gold"
    return {"folder": str(folder), **train_rm(args, folder, train_pairs, held_out)}


def stage_labels(args, work: Path, policy, gold, prompts) -> dict:
    from rlhf_demo.frontier.goodhart import label_pairs, preference_records, sample_pairs

    rows = sample_pairs(policy.generate, prompts, seed=args.seeds[0] * 1000 + 7,
                        on_batch=lambda d, t: log(f"label replies {d}/{t}") if d % 128 == 0 else None)
    golds = floats(gold.score([r["prompt"] for r in rows] * 2, [r["a"] for r in rows] + [r["b"] for r in rows]))
    n = len(rows)
    labelled = label_pairs(rows, golds[:n], golds[n:], 0.0)
    (work / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in preference_records(labelled)))
    return {"rows": rows, "gold_a": golds[:n], "gold_b": golds[n:], "usable": len(labelled)}


def stage_proxies(args, work: Path, labels: dict, seed: int) -> dict:
    """--members proxies for one seed, each on its own slice of --labels labels (noise drawn per seed)."""
    from rlhf_demo.frontier.goodhart import as_pairs, label_pairs

    labelled = label_pairs(labels["rows"], labels["gold_a"], labels["gold_b"], args.noise, seed)
    clean = label_pairs(labels["rows"], labels["gold_a"], labels["gold_b"], 0.0, seed)
    n_eval = args.proxy_eval
    evals = as_pairs(clean[-n_eval:])  # agreement with gold, on labels no proxy trained on
    pool = labelled[:-n_eval]
    order = list(range(len(pool)))
    random.Random(seed).shuffle(order)
    need = args.members * args.labels
    if len(order) < need:
        raise SystemExit(f"error: {need} labels needed for {args.members} proxies, only {len(order)} usable")
    out = []
    for k in range(args.members):
        rows = [pool[i] for i in order[k * args.labels:(k + 1) * args.labels]]
        folder = work / f"proxy-s{seed}-m{k}"
        res = train_rm(args, folder, as_pairs(rows), evals, seed=seed * 10 + k)
        out.append({"folder": str(folder), "flipped": sum(r["flipped"] for r in rows), **res})
        log(f"proxy seed {seed} member {k}: agreement with gold {res['accuracy']:.3f}")
    return {"members": out}


def bon_curves(args, samples: dict, proxies: list[dict]) -> dict:
    """Best-of-n curves of one seed: the single proxy (member 0) and the ensemble, gold in σ of the base replies."""
    import torch

    from rlhf_demo.frontier.best_of_n import bon_kl
    from rlhf_demo.frontier.goodhart import bon_expected, drop_from_peak, fit_bon, in_sigma
    from rlhf_demo.reward.ensemble import combine

    m, P = args.samples, len(samples["prompts"])
    gold = samples["gold"]  # (P * m) prompt-major
    members = [samples["proxy"][p["folder"]] for p in proxies]  # each (P * m), standardised by its reference
    ens = floats(combine(torch.tensor(members), args.ensemble, args.lam))
    curves = {}
    for method, picker in (("best-of-n", members[0]), ("best-of-n-ensemble", ens)):
        g_sig, p_sig = in_sigma(gold, gold), in_sigma(picker, picker)
        points = []
        n = 1
        while n <= m:
            g = sum(bon_expected(picker[i * m:(i + 1) * m], g_sig[i * m:(i + 1) * m], n) for i in range(P)) / P
            pr = sum(bon_expected(picker[i * m:(i + 1) * m], p_sig[i * m:(i + 1) * m], n) for i in range(P)) / P
            kl = bon_kl(n)
            points.append({"n": n, "kl": kl, "proxy": pr, "gold": g})
            n *= 2
        fit = fit_bon([math.sqrt(p["kl"]) for p in points], [p["gold"] for p in points])
        curves[method] = {"points": points, "fit": fit, "peak": drop_from_peak(points)}
    return curves


def stage_bon_samples(args, policy, gold, prompts) -> dict:
    rows = [p for p in prompts for _ in range(args.samples)]
    replies: list[str] = []
    t0 = time.perf_counter()
    for i, start in enumerate(range(0, len(rows), 32)):
        replies += policy.generate(rows[start:start + 32], 5000 + i)
        if (i + 1) % 8 == 0:
            log(f"best-of-n samples {len(replies)}/{len(rows)} ({time.perf_counter() - t0:.0f} s)")
    return {"prompts": list(prompts), "replies": replies, "gold": floats(gold.score(rows, replies)),
            "generate_seconds": round(time.perf_counter() - t0, 1)}


def score_samples(samples: dict, folder: str, m: int) -> list[float]:
    from rlhf_demo.reward.ensemble import reference

    rm = load_rm(folder)
    mean, std = reference(rm)
    rows = [p for p in samples["prompts"] for _ in range(m)]
    return [(s - mean) / std for s in floats(rm.score(rows, samples["replies"]))]


def ppo_run(args, policy_choice, reward, gold, train_prompts, eval_prompts, kl_coef: float, seed: int) -> dict:
    """One PPO run: steps at the demo's learning rate, evaluated every --every steps -> points in σ of step 0."""
    from rlhf_demo.models import decoding
    from rlhf_demo.models.presets import format_prompt, load_policy
    from rlhf_demo.ppo.config import PPOConfig
    from rlhf_demo.ppo.engine import PPOEngine
    from rlhf_demo.ppo.overopt import evaluate_gold, overopt_curve
    from rlhf_demo.ppo.service import HACK_SETTINGS

    model, tok = load_policy(policy_choice)
    backend, _ = decoding.resolve(args.decoding, model, tok)
    cfg = PPOConfig(seed=seed, learning_rate=HACK_SETTINGS["learning_rate"], kl_coef=kl_coef)
    if args.quick:
        cfg = replace(cfg, batch_size=4, response_length=8, score_norm_samples=8)
    engine = PPOEngine(model, tok, reward, train_prompts, cfg, format_prompt=lambda p: format_prompt(tok, p),
                       decoding=backend)
    engine.fit_score_norm()
    rows, t0 = [evaluate_gold(engine, gold, eval_prompts, gold_name="gold")], time.perf_counter()
    for step in range(1, args.steps + 1):
        m = engine.step().metrics
        if step % args.every == 0 or step == args.steps:
            rows.append(evaluate_gold(engine, gold, eval_prompts, gold_name="gold"))
            log(f"  step {step}: kl {rows[-1]['kl']:.2f} proxy {rows[-1]['proxy_raw']:+.3f} gold {rows[-1]['gold_raw']:+.3f}"
                f" ({m['time/step_seconds']:.1f} s/step)")
    curve = overopt_curve(rows)
    return {"points": [{"step": c["step"], "kl": c["kl"], "proxy": c["proxy"], "gold": c["gold"]} for c in curve],
            "last_replies": rows[-1]["replies"][:3], "seconds": round(time.perf_counter() - t0, 1)}


class Policy:
    """The base policy, loaded once, as `generate(rows, seed)` at PPO's temperature and reply length."""

    def __init__(self, args):
        from rlhf_demo.frontier.best_of_n import policy_sampler
        from rlhf_demo.models import decoding
        from rlhf_demo.models.presets import load_policy, resolve_policy
        from rlhf_demo.ppo.config import PPOConfig

        self.choice = resolve_policy(args.policy, False)
        model, tok = load_policy(self.choice)
        backend, _ = decoding.resolve(args.decoding, model, tok)
        d = PPOConfig()
        length = 8 if args.quick else d.response_length
        self.generate = policy_sampler(model, tok, max_new_tokens=length, temperature=d.temperature, decoding=backend)


# -- the verdicts --------------------------------------------------------------------------------------------------
def verdicts(bon: dict, ppo: dict, seeds) -> dict:
    from rlhf_demo.frontier.goodhart import drop_at_kl, drop_from_peak

    out = {}
    for s in seeds:
        single, ens = bon[str(s)]["best-of-n"], bon[str(s)]["best-of-n-ensemble"]
        k = min(single["points"][-1]["kl"], ens["points"][-1]["kl"])
        out[f"bon_seed{s}"] = {**single["peak"], "ensemble_drop_at_equal_kl": drop_at_kl(ens["points"], k),
                               "single_drop_at_equal_kl": drop_at_kl(single["points"], k), "equal_kl": k}
        runs = ppo.get(str(s), {})
        if "beta0" in runs:
            b0 = runs["beta0"]["points"]
            entry = {**drop_from_peak(b0)}
            if "ensemble" in runs:
                e = runs["ensemble"]["points"]
                k = min(b0[-1]["kl"], max(p["kl"] for p in e))
                entry.update(equal_kl=k, single_drop_at_equal_kl=drop_at_kl(b0, k),
                             ensemble_drop_at_equal_kl=drop_at_kl(e, k), ensemble=drop_from_peak(e))
            if "default" in runs:
                entry["default_beta"] = drop_from_peak(runs["default"]["points"])
            out[f"ppo_seed{s}"] = entry

    def met(key):
        return all(v["drop"] >= TARGET_DROP and v["proxy_rise"] > 0 for k, v in out.items() if k.startswith(key))

    def halves(key):
        vs = [v for k, v in out.items() if k.startswith(key) and "ensemble_drop_at_equal_kl" in v]
        # only a drop worth the name can be halved: with the single proxy's gold not falling there is nothing to halve
        return bool(vs) and all(v["single_drop_at_equal_kl"] >= TARGET_DROP and
                                v["ensemble_drop_at_equal_kl"] <= 0.5 * v["single_drop_at_equal_kl"] for v in vs)

    out["targets"] = {"bon_drop_0.3": met("bon"), "ppo_beta0_drop_0.3": met("ppo"),
                      "ensemble_halves_bon": halves("bon"), "ensemble_halves_ppo": halves("ppo")}
    return out


def asset(bon: dict, ppo: dict, args, command: str) -> dict:
    curves = []
    for s in args.seeds:
        curves.append({"method": "best-of-n", "seed": s, "proxy_pairs": args.labels,
                       "points": [{k: round(p[k], 4) for k in ("kl", "proxy", "gold")}
                                  for p in bon[str(s)]["best-of-n"]["points"]]})
        for key, method in (("beta0", "ppo-beta0"), ("default", "ppo-default"), ("ensemble", "ppo-ensemble")):
            if key in ppo.get(str(s), {}):
                curves.append({"method": method, "seed": s, "proxy_pairs": args.labels,
                               "points": [{k: round(p[k], 4) for k in ("kl", "proxy", "gold")}
                                          for p in ppo[str(s)][key]["points"]]})
    return {"command": command, "date": time.strftime("%Y-%m-%d"), "curves": curves}


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny policy, tiny BERT reward models, few of everything")
    p.add_argument("--work", help="keep every stage's result here (a rerun skips what is done); default: a new temp dir")
    p.add_argument("--data", help=f"hh-rlhf file gold trains on and the prompts come from (default: {REAL_SAMPLE.name} "
                   "when it is there, else the bundled set)")
    p.add_argument("--gold", help="a saved reward model folder to use as gold instead of training one")
    p.add_argument("--policy", help="default smollm2-135m (--quick: tiny)")
    p.add_argument("--decoding", default="auto")
    p.add_argument("--labels", type=int, help="gold labels per proxy (default 100; --quick 24)")
    p.add_argument("--noise", type=float, default=0.25, help="share of labels flipped (default 0.25, Coste et al.)")
    p.add_argument("--members", type=int, default=3, help="proxies in the ensemble (each on its own slice of labels)")
    p.add_argument("--ensemble", default="mean-std", choices=("mean-std", "min"))
    p.add_argument("--lam", type=float, default=1.0, help="λ of mean − λ·std")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--samples", type=int, help="replies per held-out prompt for best-of-n (default 256; --quick 8)")
    p.add_argument("--bon-prompts", type=int, help="held-out prompts for best-of-n (default 16; --quick 3)")
    p.add_argument("--eval-prompts", type=int, help="held-out prompts of PPO's evaluations (default 16; --quick 4)")
    p.add_argument("--steps", type=int, help="PPO steps per run (default 15; --quick 2)")
    p.add_argument("--every", type=int, help="evaluate every K steps (default 3; --quick 1)")
    p.add_argument("--ppo", default="beta0,default,ensemble", help="which PPO runs (comma list of beta0, default, "
                   "ensemble; '' = none)")
    p.add_argument("--max-prompt-chars", type=int, default=300, help="only conversations this short (labels, "
                   "best-of-n, PPO's prompts and evaluation; 604 training and 173 held-out ones of the sample)")
    p.add_argument("--write-asset", action="store_true", help=f"write {ASSET.relative_to(_common.REPO)}")
    args = p.parse_args(argv)
    full = dict(policy="smollm2-135m", labels=100, samples=256, bon_prompts=16, eval_prompts=16, steps=15, every=3)
    quick = dict(policy="tiny", labels=24, samples=8, bon_prompts=3, eval_prompts=4, steps=2, every=1)
    for k, v in (quick if args.quick else full).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    args.proxy_eval = 16 if args.quick else 48
    return args


def main(argv=None) -> int:
    args = parse(argv)
    t_start = time.perf_counter()
    from rlhf_demo.data.hh import PreferenceSet  # noqa: F401
    from rlhf_demo.data.pairs import hold_out, pairs_from_set
    from rlhf_demo.data.sources import BundledSource, LocalSource
    from rlhf_demo.models.presets import resolve_reward_backbone
    from rlhf_demo.ppo.config import PPOConfig
    from rlhf_demo.reward.ensemble import EnsembleScorer

    import tempfile

    work = Path(args.work or tempfile.mkdtemp(prefix="overopt-"))
    work.mkdir(parents=True, exist_ok=True)
    data = args.data or (str(REAL_SAMPLE) if REAL_SAMPLE.is_file() and not args.quick else None)
    src = LocalSource(data) if data else BundledSource()
    subset, split = src.default()
    pairs = pairs_from_set(src.load(subset, split))
    train_pairs, held_out = hold_out(pairs, 24 if args.quick else GOLD_HELD_OUT)
    short = args.max_prompt_chars  # short conversations: a reply's cost is mostly reading its prompt on a CPU
    train_prompts = list(dict.fromkeys(p for p, _, _ in train_pairs if len(p) <= short))
    heldout_prompts = list(dict.fromkeys(p for p, _, _ in held_out if len(p) <= short))
    random.Random(0).shuffle(heldout_prompts)
    args.backbone = None
    if args.quick:
        args.backbone = _common.tiny_reward_backbone(work / "tiny-bert")
    args.backbone_choice = resolve_reward_backbone(args.backbone, None, False)

    log(f"data: {data or 'bundled'}: {len(train_pairs)} train pairs, {len(held_out)} held out")
    gold_info = cached(work, "gold", lambda: stage_gold(args, work, train_pairs, held_out))
    gold = load_rm(gold_info["folder"])
    policy = Policy(args)
    n_label_prompts = args.members * args.labels + args.proxy_eval
    label_prompts = train_prompts[:int(n_label_prompts * 1.2) + 8]
    if len(label_prompts) < n_label_prompts:
        label_prompts = (label_prompts * 3)[:int(n_label_prompts * 1.2) + 8]  # --quick on the bundled set: repeats
    labels = cached(work, "labels", lambda: stage_labels(args, work, policy, gold, label_prompts))
    proxies = {str(s): cached(work, f"proxies-s{s}", lambda s=s: stage_proxies(args, work, labels, s))
               for s in args.seeds}

    samples = cached(work, "bon-samples", lambda: stage_bon_samples(args, policy, gold, heldout_prompts[:args.bon_prompts]))

    def score_all():
        return {"proxy": {p["folder"]: score_samples(samples, p["folder"], args.samples)
                          for s in args.seeds for p in proxies[str(s)]["members"]}}

    samples.update(cached(work, "bon-scores", score_all))
    bon = {str(s): bon_curves(args, samples, proxies[str(s)]["members"]) for s in args.seeds}
    for s in args.seeds:
        for method, c in bon[str(s)].items():
            log(f"seed {s} {method}: " + " ".join(f"n{p['n']}: p{p['proxy']:+.2f} g{p['gold']:+.2f}" for p in c["points"]))

    ppo: dict = {}
    wanted = [w for w in args.ppo.split(",") if w]
    eval_prompts = heldout_prompts[:args.eval_prompts]
    for s in args.seeds:
        members = proxies[str(s)]["members"]
        for kind in wanted:
            def run(kind=kind, s=s, members=members):
                log(f"PPO seed {s}: {kind}")
                if kind == "ensemble":
                    reward = EnsembleScorer([load_rm(m["folder"]) for m in members], args.ensemble, args.lam,
                                            names=[Path(m["folder"]).name for m in members])
                else:
                    reward = load_rm(members[0]["folder"])
                beta = PPOConfig().kl_coef if kind == "default" else 0.0
                return ppo_run(args, policy.choice, reward, gold, train_prompts, eval_prompts, beta, s)

            ppo.setdefault(str(s), {})[kind] = cached(work, f"ppo-s{s}-{kind}", run)

    result = verdicts(bon, ppo, args.seeds)
    command = "python benchmarks/overoptimisation.py" + (" --quick" if args.quick else "") + " --write-asset"
    rec = asset(bon, ppo, args, command)
    if args.write_asset:
        from rlhf_demo.storage import write_json_atomic

        ASSET.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(ASSET, rec)
    stage_seconds = {p.stem: json.loads(p.read_text()).get("seconds") for p in sorted(work.glob("*.json"))}
    print(json.dumps({"quick": args.quick, "policy": policy.choice.label(), "data": data or "bundled",
                      "gold": {k: v for k, v in gold_info.items()}, "labels_usable": labels["usable"],
                      "proxies": {s: v["members"] for s, v in proxies.items()}, "noise": args.noise,
                      "labels_per_proxy": args.labels, "ensemble": {"mode": args.ensemble, "lambda": args.lam,
                                                                     "members": args.members},
                      "best_of_n": bon, "ppo": ppo, "verdicts": result, "targets": result["targets"],
                      "stage_seconds": stage_seconds, "stages_total_seconds": round(sum(v or 0 for v in
                                                                                        stage_seconds.values()), 1),
                      "total_seconds": round(time.perf_counter() - t_start, 1),
                      "work": str(work), "asset": rec if args.quick else str(ASSET), "cpu": _common.cpu_info()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
