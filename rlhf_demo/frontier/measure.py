"""The reward-KL frontier: gold score against KL from the base policy, one point per method (Gao et al. 2022; DPO paper).

Every way of improving a policy moves it away from the base policy; what it buys for that distance is what tells
methods apart. Best-of-N, DPO adapters and PPO checkpoints all go on one chart: x = KL(policy || base) in nats on
held-out prompts, y = the GOLD reward model's score (never optimised against) and the PROXY's (what best-of-N and PPO
optimise) as a second series. Both in standard deviations above the base policy.

1. `frontier(...)` samples the base policy: max(N) replies per prompt at `temperature` (`run_best_of_n`), scored by
   the proxy (best-of-N keeps its argmax) and by the gold. The mean/std of ALL those base samples are the unit of
   both y axes (0 = the base policy, 1 = one std of its scores).
2. best-of-N rows: the kept replies' mean proxy and gold; kl = the closed form log N - (N-1)/N, kl_measured = the
   estimate from the samples' own scores (`measured_bon_kl`).
3. `adapter_point(...)` per adapter (PPO checkpoint or DPO adapter, any LoRA config): load it onto the model under
   a unique peft name, sample ONE reply per prompt (seeded, pure sampling at the same temperature), then
       KL = mean over prompts of  sum over the reply's real tokens of  log pi_adapter(t) - log pi_base(t)
   (k1: an unbiased estimate of the sequence KL; k3 reported too, >= 0 per token), the base being the same model
   with the adapter disabled; score the replies with both reward models; unload the adapter, leaving the model as
   it was. A PPO checkpoint's row also says what it was trained against (its ppo_state.json's reward spec):
   "reward" (its label), "ensemble" (the mode, None for one model) and "series", the curve it belongs to:
   "ppo (ensemble)" for a checkpoint trained on an ensemble of reward models, else its method.
4. `best_at_equal_kl(rows, kl)`: which series has the highest gold at a given KL (linear interpolation along each
   series' points; every one starts at the base policy, KL 0, score 0), `equal_kl_summary` picks the KL
   (`equal_kl.py`, pure: the Compare tab reads it without torch).

Gold and proxy are never silently the same model (`check_not_same`).
Shapes: B = replies in a batch, P = prompt length (left-padded), L = reply length, V = vocab.
"""

from __future__ import annotations

import contextlib
import json
import statistics
from pathlib import Path
from typing import Callable, Sequence

import torch
from transformers import StoppingCriteriaList

from rlhf_demo.dpo.config import META_FILE as DPO_META
from rlhf_demo.frontier.equal_kl import (ENSEMBLE_SERIES, best_at_equal_kl, equal_kl_summary, kl_to_reach,  # noqa: F401
                                         method_label)
from rlhf_demo.frontier.goodhart import norm_stats
from rlhf_demo.frontier.best_of_n import DEFAULT_NS, GEN_BATCH_ROWS, _check_n, _floats, run_best_of_n, select_best
from rlhf_demo.models.decoding import BACKENDS, Backend, SamplingModel, decode, get_backend
from rlhf_demo.models.generation import StopOnStrings, clean_reply, left_pad, stop_string_index, turn_end_ids
from rlhf_demo.models.libraries import building
from rlhf_demo.models.seeding import global_rng_from, seeded_generator
from rlhf_demo.ppo.config import STATE_FILE as PPO_STATE
from rlhf_demo.ppo.core import kl_per_token, selective_logprobs
from rlhf_demo.ppo.policy import forward_reply
from rlhf_demo.ppo.reward_spec import saved_spec

ADAPTER_MARKERS = {"ppo": PPO_STATE, "dpo": DPO_META}  # method -> the file that marks a finished folder
EMPTY_REPLY = "(no reply)"  # as the arena (and so best-of-N's samples) shows an empty reply
LENGTH_UNIT = "words"  # mean_length: whitespace-separated words of the reply text (the same unit for every method)
ROW_KEYS = ("method", "name", "n", "kl", "kl_measured", "kl_k3", "proxy", "gold", "proxy_raw", "gold_raw",
            "mean_length", "n_prompts", "reward", "ensemble", "series")


# ----------------------------------------------------------------------------------------------------------
# small pure helpers


def adapter_method(path) -> str:
    """"ppo" (a folder with ppo_state.json) or "dpo" (dpo_meta.json); ValueError for anything else."""
    p = Path(path)
    if not p.is_dir():
        raise ValueError(f"{path} is not a folder (an adapter is a folder saved by the PPO or DPO stage)")
    found = [m for m, marker in ADAPTER_MARKERS.items() if (p / marker).is_file()]
    if len(found) != 1 or not (p / "adapter_config.json").is_file():
        raise ValueError(f"{path} is not a finished PPO checkpoint (ppo_state.json) or DPO adapter (dpo_meta.json) "
                         "with its adapter_config.json")
    return found[0]


def check_not_same(proxy, gold, allow_same: bool = False) -> None:
    """Gold and proxy must differ: the gold curve is the check on what the proxy rewards. Same object, or two loads
    of one folder (equal saved metadata: it holds the training's timestamp), -> ValueError unless allow_same."""
    if allow_same:
        return
    meta_p, meta_g = getattr(proxy, "meta", None), getattr(gold, "meta", None)
    if gold is proxy or (meta_p and meta_p == meta_g):
        raise ValueError("gold and proxy are the same reward model: the gold curve would only repeat the proxy; "
                         "give a gold model that nothing is optimised against (or allow the same model on purpose)")


def trained_against(adapter_dir, method: str) -> dict | None:
    """The reward spec a PPO checkpoint was trained against (`RewardSpec.to_dict()`; a checkpoint saved before
    ensembles names its one model), None for a DPO adapter or when nothing readable is recorded."""
    if method != "ppo":
        return None
    try:
        spec = saved_spec(json.loads((Path(adapter_dir) / PPO_STATE).read_text()))
    except (OSError, ValueError):
        return None
    return None if spec is None else spec.to_dict()


def make_row(method: str, name: str, n, kl: float, kl_measured: float, kl_k3, proxy_raw: Sequence[float],
             gold_raw: Sequence[float], replies: Sequence[str], norm: dict, reward: dict | None = None) -> dict:
    """A frontier row (`ROW_KEYS`) from the kept replies' raw scores; proxy / gold in std above the base policy.
    `reward`: the spec an adapter was trained against (`trained_against`), None for best-of-N."""
    p, g = statistics.fmean(proxy_raw), statistics.fmean(gold_raw)
    ensemble = (reward or {}).get("ensemble")
    return {"method": method, "name": name, "n": n, "kl": kl, "kl_measured": kl_measured, "kl_k3": kl_k3,
            "proxy": (p - norm["proxy"][0]) / norm["proxy"][1], "gold": (g - norm["gold"][0]) / norm["gold"][1],
            "proxy_raw": p, "gold_raw": g, "mean_length": statistics.fmean(reply_words(r) for r in replies),
            "n_prompts": len(replies), "reward": (reward or {}).get("label"), "ensemble": ensemble,
            "series": method + ENSEMBLE_SERIES if ensemble else method}


def reply_words(text: str) -> int:
    return 0 if text == EMPTY_REPLY else len(text.split())


# ----------------------------------------------------------------------------------------------------------
# one adapter: load, sample, KL, score, unload


def check_adapter_fits(model, adapter_dir) -> None:
    """Refuse, before anything is injected, an adapter whose LoRA matrices do not fit this model's modules (one
    trained on another policy): peft would fail half-way with the model already modified."""
    from safetensors import safe_open

    weights = Path(adapter_dir) / "adapter_model.safetensors"
    if not weights.is_file():
        raise ValueError(f"{adapter_dir}: no adapter_model.safetensors in it")
    modules = dict(model.named_modules())
    with safe_open(str(weights), framework="pt") as f:
        for key in f.keys():
            if ".lora_A." not in key:
                continue
            where = key.split(".lora_A.")[0].removeprefix("base_model.model.")
            shape = f.get_slice(key).get_shape()  # (r, in_features)
            module = modules.get(where)
            in_features = getattr(module, "in_features", None)
            if module is None or (in_features is not None and in_features != shape[1]):
                raise ValueError(f"{adapter_dir} does not fit this policy ({where}: "
                                 f"{'no such module' if module is None else f'{in_features} inputs, adapter {shape[1]}'}): "
                                 "was it trained on another policy?")


def _strip_lora(model) -> None:
    """Replace every LoRA layer left in `model` by the layer it wraps (after a failed load)."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    for name, module in list(model.named_modules()):
        if isinstance(module, BaseTunerLayer) and name:
            parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
            setattr(parent, name.rsplit(".", 1)[-1], module.get_base_layer())


@torch.no_grad()
def sample_replies(model, tokenizer, prompts: list[str], seed: int, max_new_tokens: int, temperature: float,
                   format_prompt: Callable[[str], str], backend: Backend = BACKENDS["eager"], sampler=None) -> dict:
    """One reply per prompt, pure sampling at `temperature` (no top-k / top-p), seeded without touching the caller's
    RNG, with the decoding `backend` (on `sampler`, the backend's copy of `model`, when given). Returns query_responses (B, P + L), attention_mask (B, P + L), P, responses (B, L), real (B, L) bool
    (the reply's tokens up to its first end token or the token completing a stop string, included) and texts."""
    device = next(model.parameters()).device
    end_ids = turn_end_ids(tokenizer)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    max_pos = getattr(model.config, "max_position_embeddings", None) or 10**9
    keep = max(1, max_pos - max_new_tokens)  # the prompt keeps its last tokens, as the arena's generator does
    queries, query_mask = left_pad([tokenizer(format_prompt(p))["input_ids"][-keep:] for p in prompts], pad_id)
    queries, query_mask = queries.to(device), query_mask.to(device)  # (B, P) each
    P = queries.shape[1]
    rng = seeded_generator(seed, device)  # a random stream of its own (`models/seeding.py`)
    if backend.loop:
        stop = StopOnStrings(tokenizer, 0)
        out = torch.cat([queries, decode(sampler if sampler is not None else model, queries, query_mask,
                                         max_new_tokens, temperature, end_ids, pad_id,
                                         lambda ids: stop(ids, None), generator=rng).tokens], 1)  # (B, P + L)
    else:
        with global_rng_from(rng, "frontier sampling", "training"):  # transformers' generate draws from the global RNG
            out = model.generate(input_ids=queries, attention_mask=query_mask, do_sample=True, top_k=0, top_p=1.0,
                                 temperature=temperature, max_new_tokens=max_new_tokens, pad_token_id=pad_id,
                                 eos_token_id=end_ids or None,
                                 stopping_criteria=StoppingCriteriaList([StopOnStrings(tokenizer, P)]))  # (B, P + L)
    responses = out[:, P:]  # (B, L)
    L = responses.shape[1]
    is_end = torch.zeros_like(responses, dtype=torch.bool)
    for t in end_ids:
        is_end |= responses == t
    token_stop = torch.where(is_end.any(1), is_end.float().argmax(1), torch.full_like(is_end[:, 0], L, dtype=torch.long))
    last = torch.minimum(token_stop, stop_string_index(tokenizer, responses)).clamp(max=L - 1)  # (B,)
    real = torch.arange(L, device=device)[None, :] <= last[:, None]  # (B, L)
    texts = []
    for i in range(len(prompts)):
        end = int(token_stop[i]) if token_stop[i] <= last[i] else int(last[i]) + 1  # the end token is not text
        texts.append(clean_reply(tokenizer.decode(responses[i, :end].tolist(), skip_special_tokens=True)) or EMPTY_REPLY)
    return {"query_responses": out, "attention_mask": torch.cat([query_mask, torch.ones_like(responses)], 1),
            "P": P, "responses": responses, "real": real, "texts": texts}


@torch.no_grad()
def reply_logprobs(model, s: dict, temperature: float) -> torch.Tensor:
    """log softmax(logits / T)[token] of each reply token under `model`, 0 after the reply's end. -> (B, L)"""
    logits, _ = forward_reply(model, None, s["query_responses"], s["attention_mask"], s["P"])  # (B, L, V)
    return selective_logprobs(logits, s["responses"], temperature).masked_fill(~s["real"], 0.0)


def _chat_format(tokenizer, format_prompt):
    from rlhf_demo.models.presets import format_prompt as chat_format

    return format_prompt or (lambda p: chat_format(tokenizer, p))


def adapter_point(model, tokenizer, adapter_dir, prompts, proxy, gold, *, method: str, name: str, seed: int = 0,
                  max_new_tokens: int = 48, temperature: float = 0.7, device=None, format_prompt=None,
                  norm: dict | None = None, with_samples: bool = False, batch_rows: int = GEN_BATCH_ROWS,
                  decoding: str | Backend = "eager") -> dict:
    """One row of the frontier for a LoRA adapter (PPO checkpoint or DPO adapter) on `model` (the base policy).

    The adapter is loaded onto `model` under a unique name and removed afterwards, so `model` is left as it was
    (its modules, weights, requires_grad flags and train/eval mode); nobody else may use `model` meanwhile (hold
    its lock). One reply per prompt, batch b seeded with seed + b. norm: {"proxy": (mean, std), "gold": (mean,
    std)} of the base policy's scores (`frontier` passes those of its best-of-N samples); None = fitted here on one
    base reply per prompt, same seeds. with_samples: add "samples" (prompt, reply, proxy_raw, gold_raw, kl, kl_k3).
    """
    import uuid

    from peft import PeftModel
    from peft.tuners.tuners_utils import BaseTunerLayer

    if method not in ADAPTER_MARKERS:
        raise ValueError(f"method must be one of {sorted(ADAPTER_MARKERS)}, got {method!r}")
    prompts = list(prompts)
    if not prompts:
        raise ValueError("no prompts")
    if isinstance(model, PeftModel) or any(isinstance(m, BaseTunerLayer) for m in model.modules()):
        raise ValueError("the model already carries LoRA layers (a PPO engine wraps its model in place): pass the "
                         "plain base policy")
    if device is not None:
        model.to(device)
    check_adapter_fits(model, adapter_dir)
    fmt = _chat_format(tokenizer, format_prompt)
    # what peft changes on the model object, to put back afterwards
    was_training = model.training
    grads = {n: p.requires_grad for n, p in model.named_parameters()}
    had_config = "peft_config" in model.__dict__
    adapter_name = f"frontier{uuid.uuid4().hex[:8]}"
    pm = None
    try:
        try:
            with building():  # one model built at a time (models/libraries.py)
                pm = PeftModel.from_pretrained(model, str(adapter_dir), adapter_name=adapter_name)
        except (RuntimeError, KeyError, ValueError) as e:  # peft's load errors (size mismatch, unknown keys)
            raise ValueError(f"{adapter_dir}: cannot apply this adapter to the policy ({str(e).splitlines()[0]})") from e
        pm.eval()
        backend = decoding if isinstance(decoding, Backend) else get_backend(decoding)
        sampler = SamplingModel(pm, backend).get() if backend.loop else pm  # a bfloat16 copy for "bf16"
        sample = lambda chunk, b: sample_replies(pm, tokenizer, chunk, seed + b, max_new_tokens, temperature, fmt,  # noqa: E731
                                                 backend, sampler)
        samples, base_texts = [], []
        for b, start in enumerate(range(0, len(prompts), batch_rows)):
            chunk = prompts[start:start + batch_rows]
            s = sample(chunk, b)
            logp = reply_logprobs(pm, s, temperature)  # (B, L) adapter on (float32: the KL is the policy's)
            with pm.disable_adapter(), (sampler.disable_adapter() if sampler is not pm else contextlib.nullcontext()):
                ref = reply_logprobs(pm, s, temperature)  # (B, L) the base policy
                if norm is None:
                    base_texts += sample(chunk, b)["texts"]
            k1 = (logp - ref).sum(1)  # (B,) log-ratio of the whole reply
            k3 = kl_per_token(logp, ref, "k3").masked_fill(~s["real"], 0.0).sum(1)  # (B,)
            samples += [{"prompt": p, "reply": t, "kl": float(a), "kl_k3": float(c)}
                        for p, t, a, c in zip(chunk, s["texts"], k1.tolist(), k3.tolist())]
    finally:
        if pm is not None:
            pm.unload()  # LoRA layers replaced by the layers they wrapped: the same module objects as before
        _strip_lora(model)  # (after a failed load: whatever peft had injected)
        if not had_config:
            model.__dict__.pop("peft_config", None)
        for n, p in model.named_parameters():
            p.requires_grad_(grads.get(n, p.requires_grad))
        model.train(was_training)

    replies = [s["reply"] for s in samples]
    proxy_raw = _floats(proxy.score(prompts, replies))
    gold_raw = _floats(gold.score(prompts, replies))
    if norm is None:
        norm = {"proxy": norm_stats(_floats(proxy.score(prompts, base_texts))),
                "gold": norm_stats(_floats(gold.score(prompts, base_texts)))}
    for s, pr, gr in zip(samples, proxy_raw, gold_raw):
        s["proxy_raw"], s["gold_raw"] = pr, gr
    kl = statistics.fmean(s["kl"] for s in samples)
    row = make_row(method, name, None, kl, kl, statistics.fmean(s["kl_k3"] for s in samples), proxy_raw, gold_raw,
                   replies, norm, reward=trained_against(adapter_dir, method))
    if with_samples:
        row["samples"] = samples
    return row


# ----------------------------------------------------------------------------------------------------------
# the whole frontier


def frontier(model, tokenizer, proxy, gold, prompts, *, adapters=(), best_of=DEFAULT_NS, seed: int = 0,
             max_new_tokens: int = 48, temperature: float = 0.7, device=None, format_prompt=None,
             on_progress: Callable[[float, str], None] | None = None,
             should_stop: Callable[[], bool] | None = None, allow_same: bool = False,
             with_samples: bool = False, decoding: str | Backend = "eager") -> list[dict]:
    """Rows of the reward-KL chart (see the module docstring): best-of-N for each N in `best_of`, then one per
    adapter in `adapters` ((method, name, path), method "ppo" | "dpo"), all on the same prompts, seed and
    temperature. on_progress(fraction, message) after each piece; should_stop() -> True returns the rows done so
    far (between pieces). Raises ValueError when gold and proxy are the same model (unless allow_same)."""
    check_not_same(proxy, gold, allow_same)
    prompts, adapters = list(prompts), [tuple(a) for a in adapters]
    if not prompts:
        raise ValueError("no prompts")
    for a in adapters:
        if len(a) != 3 or a[0] not in ADAPTER_MARKERS:
            raise ValueError(f"an adapter is (method, name, path) with method 'ppo' or 'dpo', got {a!r}")
    ns = sorted({_check_n(n) for n in best_of})
    progress = on_progress or (lambda f, m: None)
    stop = should_stop or (lambda: False)
    fmt = _chat_format(tokenizer, format_prompt)
    pieces = 1 + len(adapters)

    # 1. the base policy's samples: best-of-N's candidates, and the unit of both y axes
    progress(0.0, f"sampling the base policy: {max(ns, default=1)} replies for each of {len(prompts)} prompts")
    bon_rows, samples = run_best_of_n(model, tokenizer, proxy, prompts, ns or [1], seed=seed,
                                      max_new_tokens=max_new_tokens, temperature=temperature, format_prompt=fmt,
                                      device=device, return_samples=True, decoding=decoding)
    group = max(ns or [1])
    replies = [r for s in samples for r in s["replies"]]  # (prompts x group), prompt-major
    proxy_all = [x for s in samples for x in s["scores"]]
    gold_all = _floats(gold.score([p for p in prompts for _ in range(group)], replies))
    norm = {"proxy": norm_stats(proxy_all), "gold": norm_stats(gold_all)}

    # 2. best-of-N rows: the kept replies' proxy and gold
    rows: list[dict] = []
    for r in (bon_rows if ns else []):
        kept = select_best(prompts, replies, proxy_all, r["n"], group=group)
        idx = [i * group + k["index"] for i, k in enumerate(kept)]  # the kept replies among all samples
        row = make_row("best-of-n", r["name"], r["n"], r["kl"], r["kl_measured"], None, [proxy_all[i] for i in idx],
                       [gold_all[i] for i in idx], [replies[i] for i in idx], norm)
        if with_samples:
            row["samples"] = [{"prompt": prompts[j], "reply": replies[i], "proxy_raw": proxy_all[i],
                               "gold_raw": gold_all[i]} for j, i in enumerate(idx)]
        rows.append(row)
    progress(1 / pieces, f"best-of-N done ({len(rows)} points)")

    # 3. one row per adapter
    for k, (method, name, path) in enumerate(adapters):
        if stop():
            break
        progress((1 + k) / pieces, f"{method} adapter {name}: sampling and measuring its KL")
        rows.append(adapter_point(model, tokenizer, path, prompts, proxy, gold, method=method, name=name, seed=seed,
                                  max_new_tokens=max_new_tokens, temperature=temperature, device=device,
                                  format_prompt=fmt, norm=norm, with_samples=with_samples, decoding=decoding))
        progress((2 + k) / pieces, f"{method} adapter {name} done")
    return rows

