"""How replies are sampled from a causal LM: the rollout backends, and the measured choice between them.

Sampling is most of the time of an arena round, a PPO step, an evaluation and best-of-N. What is fastest depends on
the CPU (bfloat16 matrix kernels are 1.7x faster than float32 on a CPU with AVX512-BF16 or AMX, and 1.5x SLOWER on
one without), so the backend is measured on the machine at hand, never fixed in code:

    eager  transformers' `generate` on the float32 model: the baseline, always available, exact
    fp32   our own decode loop on the float32 model: each distinct prompt is prefilled ONCE and its KV cache copied
           to the k rows that answer it (PPO asks for k = 4 replies per prompt, best-of-N for N), and an exact
           inverse-CDF sampler (`sample_next`) instead of `torch.multinomial`, whose exponential draw over the whole
           vocabulary costs ~13 ms a token at 16 x 49,152; exact
    fast32 the same loop in a lean Llama decoder (`models/fast_llama.py`: fused weights, a preallocated KV cache, the
           float32 weights packed once by oneDNN, the LoRA folded in): 2.1x eager on an AVX2-only EPYC, where fp32
           gives 1.24x. Its logits differ from the model's by float32 rounding only (KL ~1e-7), but PPO's ratio must
           start at exactly 1, so PPO takes the old log-probs from the policy's own pass, as for bf16
    bf16   the same loop on a bfloat16 COPY of the weights (kept in sync with the trained adapter before each use),
           and the policy's training passes (log-probs, reference, PPO update) under bfloat16 autocast with float32
           master weights (`precision`; log-softmax in float32). Not exact, so PPO recomputes the old log-probs with
           the training forward (see `ppo/rollout.py`), and the auto choice refuses it when its sampling
           distribution is further than `MAX_KL` from float32's

`choose_backend` times every candidate on a short fixed workload, checks how far each one's sampling distribution is
from the float32 model's (mean KL per sampled token, over the whole vocabulary), and keeps the fastest one within
`MAX_KL`. The choice is cached per CPU model, torch version and model shape (`cache_path()`), so a restart pays it
once. `--decoding auto|eager|fp32|fast32|bf16` on the app and every command overrides it.

Shapes: B = rows, U = distinct prompts, P = prompt length (left-padded), L = new tokens, V = vocab.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch

from rlhf_demo.lane import LANE
from rlhf_demo.machine import cpu_description
from rlhf_demo.models.fast_llama import FastLlama, llama_decoder
from rlhf_demo.models.seeding import global_rng_from, seeded_generator
from rlhf_demo.numbers import fixed
from rlhf_demo.settings import DECODING_CHOICES as CHOICES
from rlhf_demo.settings import MAX_DECODING_KL as MAX_KL  # nats per sampled token: further from float32 is refused

SAMPLER_BLOCK = 256  # the inverse-CDF sampler's first level: the vocabulary in blocks of this many tokens


@dataclass(frozen=True)
class Backend:
    name: str
    dtype: torch.dtype  # the weights it samples with
    loop: bool  # our decode loop (shared prefill, inverse-CDF sampler); False = transformers' generate
    exact: bool  # samples from the float32 model itself (its logits ARE the policy's)
    description: str
    autocast: torch.dtype | None = None  # the policy's training forward/backward passes run under this autocast
    fast: bool = False  # decode a Llama-style model with `FastLlama` (fused weights, preallocated KV cache)
    # the attention of the policy's training passes: "eager" (matrix products) has a 1.5x faster backward than SDPA's
    # flash kernel on a CPU at PPO's lengths (~130 tokens, measured on SmolLM2 in bf16); None = the model's own
    train_attention: str | None = None


BACKENDS = {
    "eager": Backend("eager", torch.float32, False, True, "transformers generate, float32"),
    "fp32": Backend("fp32", torch.float32, True, True, "shared prefill + inverse-CDF sampler, float32"),
    # the lean decoder in float32: no transformers overhead per step (cache objects, masks, rotary tables). Its sums
    # run in another order than the model's, so its logits are not bit-for-bit the policy's (KL ~1e-7): PPO takes
    # the old log-probs from the policy's own pass over the top blocks (see ppo/rollout.py)
    "fast32": Backend("fast32", torch.float32, True, False, "shared prefill + inverse-CDF sampler, float32 weights in "
                      "a lean Llama decoder", fast=True),
    "bf16": Backend("bf16", torch.bfloat16, True, False, "shared prefill + inverse-CDF sampler, bfloat16 weights in a "
                    "lean Llama decoder; training passes under bfloat16 autocast", autocast=torch.bfloat16, fast=True,
                    train_attention="eager"),
}
assert CHOICES == ("auto", *BACKENDS)


def get_backend(name: str) -> Backend:
    if name not in BACKENDS:
        raise ValueError(f"decoding {name!r}: choose one of {', '.join(CHOICES)}")
    return BACKENDS[name]


def precision(backend: Backend, device: torch.device | str = "cpu"):
    """The context the policy's forward (and backward) passes run in: bfloat16 autocast for "bf16" (matrix products
    in bfloat16 from float32 master weights; norms and the log-softmax stay float32), else nothing. An LM head in
    float32 was tried: a third of the update's time, and no gain in precision, since the hidden states it reads
    already come out of 30 bfloat16 blocks."""
    if backend.autocast is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=backend.autocast)


# ----------------------------------------------------------------------------------------------------------
# the sampler


def sample_next(logits: torch.Tensor, temperature: float | torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """One token per row from softmax(logits / T), exactly, by inverse CDF in two levels. (B, V) -> (B,).

    torch.multinomial draws an exponential number for every vocabulary entry (~13 ms for 16 x 49,152 on a CPU); an
    inverse CDF needs one uniform number per row. A plain cumulative sum over 49,152 floats is sequential and
    loses precision at the end, so: sum the probabilities in blocks of SAMPLER_BLOCK, pick a block by the uniform
    number against the blocks' cumulative sums, then a token inside that block (~0.6 ms for 16 x 49,152).
    `temperature`: a number, or one per row (B,). Draws from `generator` (`models/seeding.py`), else from torch's
    global RNG.
    """
    B, V = logits.shape
    t = torch.as_tensor(temperature, dtype=torch.float32, device=logits.device).reshape(-1, 1)  # (1|B, 1)
    x = logits.float() / t
    p = (x - x.max(dim=-1, keepdim=True).values).exp_()  # (B, V) unnormalised probabilities, max 1
    n_blocks = -(-V // SAMPLER_BLOCK)
    if n_blocks * SAMPLER_BLOCK != V:
        p = torch.nn.functional.pad(p, (0, n_blocks * SAMPLER_BLOCK - V))  # zero mass: never drawn
    blocks = p.view(B, n_blocks, SAMPLER_BLOCK)
    block_cdf = blocks.sum(-1).cumsum(-1)  # (B, n_blocks)
    u = torch.rand(B, 1, device=logits.device, generator=generator) * block_cdf[:, -1:]  # (B, 1) in [0, total mass)
    # side="right": the first block whose cumulative sum EXCEEDS u (an empty block, whose sum equals its
    # predecessor's, is never picked)
    b = torch.searchsorted(block_cdf, u, right=True).clamp_(max=n_blocks - 1)  # (B, 1)
    before = torch.where(b > 0, block_cdf.gather(1, (b - 1).clamp(min=0)), torch.zeros_like(u))
    inner_cdf = blocks.gather(1, b[:, :, None].expand(B, 1, SAMPLER_BLOCK)).squeeze(1).cumsum(-1)  # (B, BLOCK)
    j = torch.searchsorted(inner_cdf, u - before, right=True).clamp_(max=SAMPLER_BLOCK - 1)  # (B, 1)
    return (b * SAMPLER_BLOCK + j).squeeze(1).clamp_(max=V - 1)


# ----------------------------------------------------------------------------------------------------------
# the decode loop


@dataclass
class Decoded:
    tokens: torch.Tensor  # (B, L) new tokens; `pad_id` after a row ended (its stop token / stop string kept)
    logits: torch.Tensor | None  # (B, L, V) float32 raw logits each token was sampled from (record_logits)
    groups: torch.Tensor  # (B,) row -> its distinct prompt (the prefill row whose KV cache it continues)
    trunk: torch.Tensor | None = None  # (B, P + L - 1, H) input of block `record_trunk` (FastLlama only)


def distinct_rows(input_ids: torch.Tensor, attention_mask: torch.Tensor,
                  keys: list | None = None) -> tuple[list[int], torch.Tensor]:
    """Rows with the same prompt (and the same `keys[i]`, e.g. adapter) share one prefill.
    -> (index of the first row of each distinct prompt, (B,) row -> position in that list)."""
    first: dict[tuple, int] = {}
    group = []
    for i, (ids, m) in enumerate(zip(input_ids.tolist(), attention_mask.tolist())):
        key = (tuple(ids), tuple(m), keys[i] if keys is not None else None)
        group.append(first.setdefault(key, len(first)))
    reps = [0] * len(first)
    for i, g in reversed(list(enumerate(group))):
        reps[g] = i
    return reps, torch.tensor(group, dtype=torch.long, device=input_ids.device)


@torch.no_grad()
def decode(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, max_new_tokens: int,
           temperature: float | torch.Tensor, stop_ids: list[int], pad_id: int,
           stop_check: Callable[[torch.Tensor], torch.Tensor] | None = None, row_kwargs: dict | None = None,
           record_logits: bool = False, record_trunk: int | None = None,
           generator: torch.Generator | None = None) -> Decoded:
    """Sample up to `max_new_tokens` per row from `model` (any HF causal LM, peft-wrapped or not).

    input_ids, attention_mask: (B, P), left-padded. temperature: a number or (B,). stop_ids: tokens that end a row
    (kept); stop_check(new tokens so far (B, t)) -> (B,) bool: rows whose text now ends (e.g. a stop string).
    row_kwargs: per-row forward arguments, e.g. {"adapter_names": [...]} for peft's mixed-adapter batches (rows
    with different adapters never share a prefill). Ends early once every row has ended. record_trunk: a block
    index; a `FastLlama` then also returns the input of that block at every position but the last (`Decoded.trunk`).
    generator: the random stream to sample from (`models/seeding.py`); None = torch's global RNG.

    1. prefill each distinct prompt once: (U, P) -> KV cache and the logits of its last position
    2. copy the cache and logits to the rows: (U, ...) -> (B, ...)
    3. per token: sample (`sample_next`), pad rows that had ended, check the stops, one forward of (B, 1)
    """
    B, P = input_ids.shape
    from transformers import DynamicCache

    row_kwargs = row_kwargs or {}
    keys = list(zip(*row_kwargs.values())) if row_kwargs else None
    reps, groups = distinct_rows(input_ids, attention_mask, keys)
    position_ids = (attention_mask.cumsum(1) - 1).clamp(min=0)  # (B, P): left padding starts at position 0
    if isinstance(model, FastLlama):
        if row_kwargs:
            raise ValueError("FastLlama runs one set of weights: rows with their own adapters go through the model")
        return _decode_fast(model, input_ids, attention_mask, position_ids, reps, groups, max_new_tokens, temperature,
                            stop_ids, pad_id, stop_check, record_logits, record_trunk, generator)
    cache = DynamicCache()
    rep_index = torch.tensor(reps, dtype=torch.long, device=input_ids.device)
    out = model(input_ids=input_ids[rep_index], attention_mask=attention_mask[rep_index],
                position_ids=position_ids[rep_index], cache=cache, use_cache=True, logits_to_keep=1,
                **{k: [v[i] for i in reps] for k, v in row_kwargs.items()})
    logits = out.logits[:, -1].float()[groups]  # (B, V)
    if len(reps) != B:
        cache.reorder_cache(groups)  # (U, ...) -> (B, ...)
    mask = torch.cat([attention_mask, attention_mask.new_ones(B, max_new_tokens)], 1)  # (B, P + max_new)

    def next_logits(token: torch.Tensor, t: int) -> torch.Tensor:  # (B,) -> (B, V)
        out = model(input_ids=token[:, None], attention_mask=mask[:, :P + t + 1],
                    position_ids=position_ids[:, -1:] + t + 1, cache=cache, use_cache=True, **row_kwargs)
        return out.logits[:, -1].float()

    tokens, recorded = _sample_steps(logits, next_logits, max_new_tokens, temperature, stop_ids, pad_id, stop_check,
                                     record_logits, generator)
    return Decoded(tokens=tokens, logits=recorded, groups=groups)


def _sample_steps(logits, next_logits, max_new_tokens, temperature, stop_ids, pad_id, stop_check, record_logits,
                  generator):
    """Step 3 of `decode`: per token, sample from `logits` (B, V), pad the rows that had ended, check the stops, and
    get the next logits from `next_logits(token (B,), t)`. -> (tokens (B, L), the logits sampled from (B, L, V) or
    None)."""
    B = logits.shape[0]
    done = torch.zeros(B, dtype=torch.bool, device=logits.device)
    stop = torch.tensor(stop_ids or [], dtype=torch.long, device=logits.device)
    tokens, recorded = [], []
    for t in range(max_new_tokens):
        if record_logits:
            recorded.append(logits)
        token = sample_next(logits, temperature, generator).masked_fill_(done, pad_id)  # (B,)
        tokens.append(token)
        done = done | torch.isin(token, stop)
        if stop_check is not None:
            done = done | stop_check(torch.stack(tokens, 1))
        if bool(done.all()) or t == max_new_tokens - 1:
            break
        logits = next_logits(token, t)
    return torch.stack(tokens, 1), torch.stack(recorded, 1) if record_logits else None


def _decode_fast(fast: FastLlama, input_ids, attention_mask, position_ids, reps, groups, max_new_tokens, temperature,
                 stop_ids, pad_id, stop_check, record_logits, record_trunk, generator) -> Decoded:
    """`decode` on a `FastLlama`: the same three steps, with its preallocated KV cache."""
    B, P = input_ids.shape
    trunk: list[torch.Tensor] = []
    record = (record_trunk, trunk) if record_trunk is not None else None
    rep_index = torch.tensor(reps, dtype=torch.long, device=input_ids.device)
    cache = fast.new_cache(len(reps), P + max_new_tokens)  # (U, nkv, P + max_new, d) per layer
    key_ok = torch.cat([attention_mask.bool(), torch.ones(B, max_new_tokens, dtype=torch.bool,
                                                          device=input_ids.device)], 1)  # (B, P + max_new)
    logits = fast.forward(input_ids[rep_index], position_ids[rep_index], cache, 0, key_ok[rep_index, :P], record)[groups]
    if trunk:
        trunk[0] = trunk[0][groups]  # (U, P, H) -> (B, P, H)
    if len(reps) != B:
        cache = [(k[groups], v[groups]) for k, v in cache]  # (U, ...) -> (B, ...)
    position = position_ids[:, -1:]  # (B, 1)

    def next_logits(token: torch.Tensor, t: int) -> torch.Tensor:  # (B,) -> (B, V)
        return fast.forward(token[:, None], position + t + 1, cache, P + t, key_ok[:, :P + t + 1], record)

    tokens, recorded = _sample_steps(logits, next_logits, max_new_tokens, temperature, stop_ids, pad_id, stop_check,
                                     record_logits, generator)
    return Decoded(tokens=tokens, logits=recorded, groups=groups, trunk=torch.cat(trunk, 1) if trunk else None)


# ----------------------------------------------------------------------------------------------------------
# the model a backend samples with


class SamplingModel:
    """What a backend samples with: `model` itself when the backend's dtype is its own, else a copy in that dtype
    whose trainable weights (a LoRA adapter being trained) are copied over from `model` at every `get()`; for a
    `fast` backend and a Llama-style model, a `FastLlama` over that, refreshed at every `get()` too."""

    def __init__(self, model, backend: Backend):
        self.model, self.backend = model, backend
        self._copy = None
        self._fast = None
        self._pairs: list[tuple[torch.Tensor, torch.Tensor]] = []

    def get(self):
        """The object to pass to `decode`: a model, or a `FastLlama`."""
        m = self.model_in_dtype()
        if not self.backend.fast or llama_decoder(m) is None:
            return m
        if self._fast is None:
            self._fast = FastLlama(m)
        elif any(p.requires_grad for p in self.model.parameters()):
            self._fast.refresh()  # an adapter in training may have moved since the last rollout
        return self._fast

    def model_in_dtype(self):
        """The model in the backend's dtype (a synced copy, or `model`)."""
        dtype = next(self.model.parameters()).dtype
        if self.backend.dtype == dtype:
            return self.model
        if self._copy is None:
            self._copy = copy.deepcopy(self.model).to(self.backend.dtype).eval()
            src = dict(self.model.named_parameters())
            self._pairs = [(p, src[n]) for n, p in self._copy.named_parameters() if src[n].requires_grad]
            for p, _ in self._pairs:
                p.requires_grad_(False)
        else:
            with torch.no_grad():
                for dst, src in self._pairs:  # the adapter moved since the last rollout: ~1 M values, negligible
                    dst.copy_(src)
        return self._copy


# ----------------------------------------------------------------------------------------------------------
# the measured choice


def bf16_faster(device: str | torch.device = "cpu") -> bool:
    """Is a bfloat16 matrix product faster than a float32 one here? Measured once per CPU, torch version and thread
    count (a MiniLM-sized layer, 512 x 384 -> 1536, ~0.3 s) and cached with the decoding choices: reward models train
    and score under bfloat16 autocast where it is (2.1x / 2.8x faster on a CPU with AMX), float32 where it is not."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    key = "bf16_matmul:" + _cache_key(None)
    try:
        cached = json.loads(cache_path().read_text()).get(key)
        if isinstance(cached, dict) and "faster" in cached:
            return bool(cached["faster"])
    except (OSError, ValueError, AttributeError):
        pass
    x, w = torch.randn(512, 384), torch.randn(1536, 384)
    seconds = {}
    for dtype in (torch.float32, torch.bfloat16):
        xd, wd = x.to(dtype), w.to(dtype)
        torch.nn.functional.linear(xd, wd)
        t0 = time.perf_counter()
        for _ in range(20):
            torch.nn.functional.linear(xd, wd)
        seconds[str(dtype)] = time.perf_counter() - t0
    faster = seconds["torch.bfloat16"] < 0.8 * seconds["torch.float32"]
    _write_cache(key, {"faster": faster, "seconds": seconds})
    return faster


def _write_cache(key: str, value: dict) -> None:
    """Add one entry to the cache file (atomically; a cache that cannot be written is ignored)."""
    path = cache_path()
    try:
        data = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        data = {}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({**data, key: value}, indent=1))
        os.replace(tmp, path)
    except OSError:
        pass


def cache_path() -> Path:
    base = Path(os.environ.get("RLHF_CACHE_DIR") or Path.home() / ".cache" / "rlhf-playground")
    return base / "decoding.json"


def _cache_key(cfg) -> str:
    """Which measurement a cached choice stands for: the CPU and its flags, torch, its threads, the model's shape."""
    shape = {k: getattr(cfg, k, None) for k in ("model_type", "hidden_size", "num_hidden_layers", "vocab_size",
                                               "intermediate_size")}
    cpu = cpu_description()
    raw = json.dumps([cpu, torch.__version__, torch.get_num_threads(), shape], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def measure_backend(model, backend: Backend, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    new_tokens: int, temperature: float, pad_id: int, repeats: int = 2) -> dict:
    """Seconds to sample `new_tokens` for every row (best of `repeats` after one warm-up run), and the mean KL per
    sampled token of the backend's sampling distribution from the float32 model's, over the whole vocabulary."""
    sampler = SamplingModel(model, backend)
    m = sampler.get()

    def run(record: bool):
        rng = seeded_generator(0, input_ids.device)
        if not backend.loop:
            with global_rng_from(rng, "measuring decoding"):
                out = m.generate(input_ids=input_ids, attention_mask=attention_mask, do_sample=True, top_k=0, top_p=1.0,
                                 temperature=temperature, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                 pad_token_id=pad_id, eos_token_id=None, output_logits=record,
                                 return_dict_in_generate=True)
            return out.sequences[:, input_ids.shape[1]:], torch.stack(out.logits, 1).float() if record else None
        d = decode(m, input_ids, attention_mask, new_tokens, temperature, [], pad_id, record_logits=record,
                   generator=rng)
        return d.tokens, d.logits

    run(False)
    seconds = []
    for _ in range(repeats):
        with LANE("measuring decoding"):  # timed alone, and every backend alike (eager's turn above is re-entrant)
            t0 = time.perf_counter()
            run(False)
            seconds.append(time.perf_counter() - t0)
    kl = 0.0
    if not backend.exact:
        tokens, q_logits = run(True)  # (B, L), (B, L, V)
        seqs = torch.cat([input_ids, tokens], 1)
        mask = torch.cat([attention_mask, torch.ones_like(tokens)], 1)
        with torch.no_grad():
            p_logits = model(input_ids=seqs, attention_mask=mask, position_ids=(mask.cumsum(1) - 1).clamp(min=0),
                             logits_to_keep=tokens.shape[1] + 1, use_cache=False).logits[:, :-1].float()
        logq = torch.log_softmax(q_logits / temperature, -1)
        logp = torch.log_softmax(p_logits / temperature, -1)
        kl = float((logq.exp() * (logq - logp)).sum(-1).mean())
        kl = max(kl, 0.0)  # a KL is >= 0; float32 rounding can print -1e-9
    return {"backend": backend.name, "seconds": round(min(seconds), 3),
            "tokens_per_second": round(input_ids.shape[0] * new_tokens / min(seconds), 1), "kl_to_fp32": round(kl, 5)}


def choose_backend(model, tokenizer, prompts: list[str] | None = None, samples_per_prompt: int = 4,
                   new_tokens: int = 16, use_cache: bool = True,
                   progress: Callable[[str], None] | None = None) -> dict:
    """The fastest backend whose sampling distribution is within MAX_KL of float32's, measured on `model` here.

    -> {"backend": name, "measured": [per-candidate rows], "cpu_model", "cpu_flags", "cached": bool}. The result is
    cached (`cache_path()`) per CPU, torch version, thread count and model shape; a cache that cannot be read or
    written is ignored. `progress(text)` is called before each candidate (the app shows it)."""
    from rlhf_demo.models.generation import left_pad

    key = _cache_key(getattr(model, "config", None))
    path = cache_path()
    if use_cache:
        try:
            cached = json.loads(path.read_text()).get(key)
            if cached and cached.get("backend") in BACKENDS:
                return {**cached, "cached": True}
        except (OSError, ValueError, AttributeError):
            pass
    device = next(model.parameters()).device
    texts = prompts or ["Hello, how are you today?", "What is a good way to keep basil fresh in the kitchen?"]
    rows = [tokenizer(t)["input_ids"][-64:] for t in texts for _ in range(samples_per_prompt)]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
    ids, mask = left_pad(rows, pad_id)
    ids, mask = ids.to(device), mask.to(device)
    candidates = [b for b in BACKENDS.values() if device.type == "cpu" or b.dtype != torch.bfloat16 or
                  torch.cuda.is_bf16_supported()]
    measured = []
    for i, b in enumerate(candidates):
        if progress:
            progress(f"measuring decoding backend {i + 1}/{len(candidates)}: {b.name}")
        try:
            measured.append(measure_backend(model, b, ids, mask, new_tokens, 0.7, pad_id))
        except Exception as e:  # a backend this torch cannot run here is simply not a candidate
            measured.append({"backend": b.name, "error": f"{type(e).__name__}: {e}"[:300]})
    ok = [m for m in measured if "error" not in m and m["kl_to_fp32"] <= MAX_KL]
    best = min(ok, key=lambda m: m["seconds"]) if ok else {"backend": "eager"}
    result = {"backend": best["backend"], "measured": measured, **cpu_description(), "torch": torch.__version__,
              "threads": torch.get_num_threads(), "max_kl": MAX_KL}
    if use_cache:
        _write_cache(key, result)
    return {**result, "cached": False}


def summary(choice: dict) -> str:
    """One line for a header or a log: the backend and what it measured against eager."""
    rows = {m["backend"]: m for m in choice.get("measured", []) if "seconds" in m}
    name = choice["backend"]
    if name in rows and "eager" in rows and name != "eager":
        return f"{name} ({rows['eager']['seconds'] / rows[name]['seconds']:.1f}x eager, KL {fixed(rows[name]['kl_to_fp32'])})"
    return name


def as_dict(backend: Backend) -> dict:
    return {k: str(v) if isinstance(v, torch.dtype) else v for k, v in asdict(backend).items()}


def cached_choice(config) -> dict | None:
    """The cached measurement for a model with this config on this machine, or None (nothing measured yet)."""
    try:
        return json.loads(cache_path().read_text()).get(_cache_key(config))
    except (OSError, ValueError, AttributeError):
        return None


def resolve(name: str, model, tokenizer, progress: Callable[[str], None] | None = None) -> tuple[Backend, dict]:
    """--decoding NAME -> (the backend, what was measured): "auto" measures (or reads the cache), a name is taken as it is."""
    choice = choose_backend(model, tokenizer, progress=progress) if name == "auto" else {"backend": get_backend(name).name,
                                                                                           "forced": True}
    return BACKENDS[choice["backend"]], choice


def report(choice: dict) -> dict:
    """What every command's JSON says about decoding: {"decoding": name, "decoding_measured": [...], cpu...}."""
    out = {"decoding": choice["backend"], "decoding_forced": bool(choice.get("forced"))}
    if choice.get("measured"):
        out["decoding_measured"] = choice["measured"]
    return out
