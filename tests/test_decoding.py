"""The rollout backends (rlhf_demo/models/decoding.py): the sampler against the exact distribution, the decode loop
against a full forward pass, PPO on every backend, the measured choice and its cache, and the compute lane."""

from __future__ import annotations

import json
import threading
import time

import pytest
import torch

from rlhf_demo.lane import ComputeLane
from rlhf_demo.models import decoding
from rlhf_demo.models.decoding import SAMPLER_BLOCK, SamplingModel, decode, distinct_rows, sample_next
from rlhf_demo.ppo.core import selective_logprobs
from rlhf_demo.ppo.policy import forward_reply

from tests.test_ppo import PROMPTS, CountReward, make_policy, make_tokenizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def max_z(counts: torch.Tensor, probs: torch.Tensor) -> float:
    """The largest |count - n p| / sqrt(n p (1 - p)) over the categories expected >= 5 times, and over the rest
    pooled: each ~N(0, 1) for an exact sampler."""
    n = counts.sum()
    big = probs * n >= 5
    c = torch.cat([counts[big], counts[~big].sum().reshape(1)])
    p = torch.cat([probs[big], probs[~big].sum().reshape(1)])
    sd = (n * p * (1 - p)).sqrt().clamp(min=1e-3)
    return float(((c - n * p).abs() / sd).max())


@pytest.mark.parametrize("V", [SAMPLER_BLOCK * 3, 700])  # whole blocks, and a last block padded with zero mass
def test_inverse_cdf_sampler_draws_from_softmax_over_temperature(V):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, V, generator=g) * 3
    logits[1, SAMPLER_BLOCK: 2 * SAMPLER_BLOCK] = -float("inf")  # a whole block of impossible tokens
    temps = torch.tensor([0.7, 1.3])
    n = 40_000
    torch.manual_seed(1)
    draws = sample_next(logits.repeat_interleave(n, 0), temps.repeat_interleave(n)).view(2, n)
    assert draws.min() >= 0 and draws.max() < V
    for row in range(2):
        probs = torch.softmax(logits[row] / temps[row], -1)
        counts = torch.bincount(draws[row], minlength=V).float()
        assert counts[probs == 0].sum() == 0  # an impossible token is never drawn
        assert max_z(counts, probs) < 5.0  # over <= 768 categories: fails for a sampler off by a few percent
        assert 0.5 * (counts / n - probs).abs().sum() < 0.06  # total variation, near its sampling noise


def test_sampler_follows_the_seed():
    logits = torch.randn(4, 300)
    torch.manual_seed(5)
    a = sample_next(logits, 1.0)
    torch.manual_seed(5)
    assert torch.equal(a, sample_next(logits, 1.0))


def test_distinct_rows_groups_same_prompts_and_keeps_adapters_apart():
    ids = torch.tensor([[0, 5, 6], [0, 5, 6], [7, 8, 9], [0, 5, 6]])
    mask = torch.tensor([[0, 1, 1], [0, 1, 1], [1, 1, 1], [0, 1, 1]])
    reps, groups = distinct_rows(ids, mask)
    assert reps == [0, 2] and groups.tolist() == [0, 0, 1, 0]
    reps, groups = distinct_rows(ids, mask, ["a", "b", "a", "a"])  # same prompt, other adapter: its own prefill
    assert reps == [0, 1, 2] and groups.tolist() == [0, 1, 2, 0]


def left_padded_prompts(tok, prompts, k):
    from rlhf_demo.models.generation import left_pad

    return left_pad([tok(p)["input_ids"] for p in prompts for _ in range(k)], 0)


def test_the_loop_samples_from_the_model_with_one_prefill_per_prompt():
    """The logits the loop samples from (prefill shared by k rows, then the KV cache) equal those of one full forward
    pass over prompt + reply; finished rows are padded after their stop token."""
    model, tok = make_policy(3).eval(), make_tokenizer()
    ids, mask = left_padded_prompts(tok, PROMPTS, 3)  # (12, P): each prompt 3 times
    calls = []
    handle = model.register_forward_pre_hook(lambda m, a, kw: calls.append(kw["input_ids"].shape[0]), with_kwargs=True)
    torch.manual_seed(0)
    d = decode(model, ids, mask, 10, torch.full((12,), 1.0), [1], 0, record_logits=True)
    handle.remove()
    assert calls[0] == len(PROMPTS) and all(c == 12 for c in calls[1:])  # one prefill row per distinct prompt
    B, L = d.tokens.shape
    seqs = torch.cat([ids, d.tokens], 1)
    full_mask = torch.cat([mask, torch.ones_like(d.tokens)], 1)
    with torch.no_grad():
        logits, _ = forward_reply(model, None, seqs, full_mask, ids.shape[1])  # (B, L, V)
    for i in range(B):
        row = d.tokens[i].tolist()
        end = row.index(1) + 1 if 1 in row else L
        assert all(t == 0 for t in row[end:])  # padding after the stop token
        assert torch.allclose(d.logits[i, :end], logits[i, :end], atol=1e-4)


def test_stop_check_ends_rows_and_the_loop_stops_when_all_ended():
    model, tok = make_policy(0).eval(), make_tokenizer()
    ids, mask = left_padded_prompts(tok, PROMPTS[:2], 2)
    torch.manual_seed(0)
    d = decode(model, ids, mask, 20, 1.0, [], 0, stop_check=lambda gen: torch.ones(gen.shape[0], dtype=torch.bool))
    assert d.tokens.shape == (4, 1)  # every row "ended" after its first token


@pytest.mark.parametrize("backend", ["eager", "fp32", "fast32", "bf16"])
@pytest.mark.parametrize("lora_layers", [None, 1])
def test_ppo_on_every_backend_starts_on_policy_and_keeps_the_trunk_exact(backend, lora_layers):
    """The old log-probs are the training forward's on every backend (the PPO ratio starts at exactly 1), and the
    trunk states recorded for the reference pass give the same logits as a full forward."""
    from rlhf_demo.ppo.config import PPOConfig
    from rlhf_demo.ppo.engine import PPOEngine

    cfg = PPOConfig(batch_size=8, response_length=6, learning_rate=1e-2, kl_coef=0.01, temperature=1.0,
                    samples_per_prompt=4, baseline="group", lora_layers=lora_layers, num_ppo_epochs=1, num_mini_batches=1)
    engine = PPOEngine(make_policy(0), make_tokenizer(), CountReward(), PROMPTS, cfg, device="cpu", decoding=backend)
    m = engine.step().metrics
    assert m["val/ratio"] == pytest.approx(1.0, abs=1e-5) and abs(m["objective/kl"]) < 1e-5
    for _ in range(2):
        engine.step()
    r = engine.rollout(PROMPTS * 2)
    with torch.no_grad(), decoding.precision(engine.backend):  # the training forward's precision (autocast for bf16)
        logits, _ = forward_reply(engine.model, engine.trunk_split, r.query_responses, r.attention_mask,
                                  r.context_length, r.trunk)
        full, _ = forward_reply(engine.model, None, r.query_responses, r.attention_mask, r.context_length)
    new = selective_logprobs(logits, r.responses, 1.0).masked_fill(r.padding_mask, 0.0)
    assert torch.allclose(new, r.logprobs, atol=1e-4)  # what the PPO update computes: the ratio starts at 1
    # a full forward from the embeddings: the same for the float32 backends; for bf16, whose trunk states come from
    # the sampler's bfloat16 blocks, close (bf16 rounding)
    full_logprobs = selective_logprobs(full, r.responses, 1.0).masked_fill(r.padding_mask, 0.0)
    assert torch.allclose(full_logprobs, r.logprobs, atol=1e-4 if backend != "bf16" else 0.1)


@pytest.mark.parametrize("backend,dtype,tolerance", [("bf16", torch.bfloat16, 0.02), ("fast32", torch.float32, 1e-4)])
def test_the_lean_sampler_follows_the_trained_adapter(backend, dtype, tolerance):
    """The lean decoder (the LoRA folded into its weights; a bfloat16 copy, or float32 weights packed by oneDNN)
    samples from the adapter as trained NOW: after a step, its next-token logits match the float32 policy's within
    bf16 rounding, or within float32 rounding."""
    from rlhf_demo.models.fast_llama import FastLlama
    from rlhf_demo.ppo.config import PPOConfig
    from rlhf_demo.ppo.engine import PPOEngine

    cfg = PPOConfig(batch_size=4, response_length=4, learning_rate=5e-2, samples_per_prompt=1, baseline="value",
                    lora_layers=None, num_ppo_epochs=1, num_mini_batches=1)
    engine = PPOEngine(make_policy(0), make_tokenizer(), CountReward(), PROMPTS, cfg, device="cpu", decoding=backend)
    fast = engine.sampling.get()
    assert isinstance(fast, FastLlama) and fast.dtype == dtype
    ids, mask = left_padded_prompts(make_tokenizer(), PROMPTS, 1)
    positions = (mask.cumsum(1) - 1).clamp(min=0)

    def gap() -> float:  # sampler vs policy, next-token logits after each prompt
        got = engine.sampling.get().forward(ids, positions, fast.new_cache(len(ids), ids.shape[1]), 0, mask.bool())
        with torch.no_grad():
            want = engine.model(input_ids=ids, attention_mask=mask, position_ids=positions).logits[:, -1]
        return float((got - want).abs().max()), float(want.abs().max())

    for _ in range(3):
        engine.step()
    trained = {n: p for n, p in engine.model.named_parameters() if p.requires_grad and "lora_B" in n}
    assert any(p.abs().max() > 1e-3 for p in trained.values())  # the adapter moved
    err, scale = gap()
    assert err < tolerance * (scale + 1)
    with torch.no_grad():  # the adapter moves again: the sampler follows at its next get()
        for p in trained.values():
            p.add_(0.5)
    err, scale = gap()
    assert err < tolerance * (scale + 1)


def test_auto_choice_measures_checks_kl_and_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("RLHF_CACHE_DIR", str(tmp_path))
    model, tok = make_policy(0).eval(), make_tokenizer()
    progress = []
    choice = decoding.choose_backend(model, tok, prompts=PROMPTS[:2], new_tokens=4, progress=progress.append)
    assert choice["backend"] in decoding.BACKENDS and not choice["cached"]
    rows = {m["backend"]: m for m in choice["measured"]}
    assert set(rows) == {"eager", "fp32", "fast32", "bf16"} and len(progress) == 4
    assert rows["eager"]["kl_to_fp32"] == 0 and rows["fp32"]["kl_to_fp32"] == 0
    assert 0 <= rows["fast32"]["kl_to_fp32"] < 1e-4  # float32 sums in another order: rounding only
    assert 0 < rows["bf16"]["kl_to_fp32"] < 0.05
    chosen = rows[choice["backend"]]
    assert chosen["kl_to_fp32"] <= decoding.MAX_KL
    assert chosen["seconds"] == min(m["seconds"] for m in rows.values() if m["kl_to_fp32"] <= decoding.MAX_KL)
    assert choice["cpu_model"] and isinstance(choice["cpu_flags"], list)
    again = decoding.choose_backend(model, tok, prompts=PROMPTS[:2], new_tokens=4)
    assert again["cached"] and again["backend"] == choice["backend"]
    assert decoding.cached_choice(model.config)["backend"] == choice["backend"]
    assert json.loads((tmp_path / "decoding.json").read_text())  # one file, readable


def test_auto_refuses_a_backend_too_far_from_fp32(tmp_path, monkeypatch):
    monkeypatch.setenv("RLHF_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(decoding, "MAX_KL", 0.0)  # now even bf16's tiny rounding is too far
    model, tok = make_policy(0).eval(), make_tokenizer()
    choice = decoding.choose_backend(model, tok, prompts=PROMPTS[:1], new_tokens=3, use_cache=False)
    assert choice["backend"] != "bf16" and all(m["kl_to_fp32"] <= 0 for m in choice["measured"]
                                                if m["backend"] == choice["backend"])


def test_a_named_backend_is_taken_as_given_and_a_bad_name_is_refused():
    backend, choice = decoding.resolve("fp32", None, None)
    assert backend.name == "fp32" and choice["forced"]
    with pytest.raises(ValueError, match="decoding 'fast'"):
        decoding.get_backend("fast")


def test_the_sampling_model_is_the_model_itself_for_its_own_dtype():
    model = make_policy(0)
    assert SamplingModel(model, decoding.BACKENDS["fp32"]).get() is model


# ----------------------------------------------------------------------------------------------------------
# the compute lane


def test_the_lane_runs_one_job_at_a_time_first_come_first_served_and_is_reentrant():
    lane = ComputeLane()
    order, inside, peak = [], [0], [0]
    started = threading.Event()

    def job(name: str, hold: float):
        with lane(name):
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
            order.append(name)
            with lane("nested"):  # the holder may take it again
                time.sleep(hold)
            inside[0] -= 1

    with lane("first"):
        threads = []
        for i in range(4):
            t = threading.Thread(target=job, args=(f"job{i}", 0.01))
            t.start()
            threads.append(t)
            while lane.waiting < i + 1:  # each one queued before the next one starts
                time.sleep(0.001)
        started.set()
    for t in threads:
        t.join(5)
    assert order == ["job0", "job1", "job2", "job3"] and peak[0] == 1
    assert lane.holder == "" and lane.waiting == 0
    with pytest.raises(RuntimeError):
        lane.release()


def test_the_lane_shares_its_time_two_to_one_when_training_and_rounds_both_wait():
    """A PPO run ("training") and a busy arena ("interactive") both asking all the time: the training gets about two
    thirds of the lane's time, so its step takes ~1.5x its idle time, and the arena is never starved. The arena,
    arriving after the training ran alone for a while, gets no credit for that time (it does not take over)."""
    lane = ComputeLane()
    stop = time.perf_counter() + 1.6
    turns = {"training": 0, "interactive": 0}

    def worker(kind: str, hold: float, start: float):
        time.sleep(start)
        while time.perf_counter() < stop:
            with lane(kind, kind):
                turns[kind] += 1
                time.sleep(hold)
            time.sleep(0.0005)  # between turns (a PPO step computes its advantages): not idleness

    threads = [threading.Thread(target=worker, args=("training", 0.01, 0.0)),
               *[threading.Thread(target=worker, args=("interactive", 0.03, 0.4)) for _ in range(3)]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    share = lane.used_seconds["training"] / (lane.used_seconds["training"] + lane.used_seconds["interactive"])
    # 0.4 s alone, then ~1.2 s at 2:1: ~0.78 overall; plain first come, first served gives ~0.45
    assert 0.68 < share < 0.88, lane.used_seconds
    assert turns["interactive"] >= 5
    with pytest.raises(ValueError, match="lane kind"):
        lane.acquire("x", "urgent")


@pytest.mark.parametrize("lora_layers", [None, 1])
def test_prompts_computed_once_give_the_same_logits_and_gradients(lora_layers):
    """`forward_reply(..., groups=)` runs each distinct prompt once and copies its keys and values to its replies: the
    logits, the LM-head inputs and the adapter's gradients equal those of every row on its own; wrong groups differ."""
    from tests.test_ppo import make_engine

    engine = make_engine(lora_layers=lora_layers, samples_per_prompt=4, baseline="group")
    for _ in range(2):
        engine.step()  # a trained adapter
    r = engine.rollout([p for p in PROMPTS for _ in range(4)], rng=torch.Generator().manual_seed(0))
    P, valid = r.context_length, ~r.padding_mask
    groups = torch.arange(16) // 4
    for trunk in ([None, r.trunk] if r.trunk is not None else [None]):
        alone = forward_reply(engine.model, engine.trunk_split, r.query_responses, r.attention_mask, P, trunk)
        shared = forward_reply(engine.model, engine.trunk_split, r.query_responses, r.attention_mask, P, trunk, groups)
        for a, b in zip(alone, shared):
            assert torch.allclose(a[valid], b[valid], atol=1e-5)
    wrong = forward_reply(engine.model, engine.trunk_split, r.query_responses, r.attention_mask, P, r.trunk,
                          torch.zeros(16, dtype=torch.long))[0]
    assert not torch.allclose(wrong[valid], alone[0][valid], atol=1e-2)
    idx = torch.tensor([0, 1, 5, 9, 13, 14])  # a minibatch: some prompts twice, some once
    grads = []
    for g in (None, groups[idx]):
        engine.model.zero_grad()
        logits, _ = forward_reply(engine.model, engine.trunk_split, r.query_responses[idx], r.attention_mask[idx], P,
                                  None if r.trunk is None else r.trunk[idx], g)
        logits.logsumexp(-1)[valid[idx]].sum().backward()
        grads.append([p.grad.clone() for p in engine.model.parameters() if p.requires_grad])
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(*grads))
