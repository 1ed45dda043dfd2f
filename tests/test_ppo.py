"""The PPO engine (rlhf_demo/ppo/: core.py, engine.py, rollout.py, policy.py): its math helpers against plain-Python loops, and its behaviour on a tiny model.

The policy is a tiny random LlamaForCausalLM (2 layers, width 32) over a 20-word vocabulary with a word-level
tokenizer, built in the test; the reward counts one word ("good") in the reply. Everything runs in seconds.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import statistics
import threading
from pathlib import Path

import pytest
import torch

from rlhf_demo.ppo.config import PPOConfig
from rlhf_demo.ppo.core import (
    adaptive_kl_coef,
    first_true_indices,
    gae,
    group_advantages,
    kl_per_token,
    logprobs_and_entropy,
    masked_mean,
    masked_var,
    masked_whiten,
    selective_logprobs,
    truncate_after,
    whiten,
)
from rlhf_demo.ppo.engine import PPOEngine
from rlhf_demo.ppo.policy import forward_reply
from rlhf_demo.reward.model import RewardScorer

WORDS = ["<pad>", "<eos>", "<bos>", "Human:", "Assistant:", "good", "bad", "the", "a", "cat", "dog", "is", "yes", "no",
         "hello", "why", "what", "ok", "run", "sit"]
PAD, EOS = 0, 1
PROMPTS = ["Human: hello Assistant:", "Human: what is the cat Assistant:", "Human: why Assistant:",
           "Human: run dog run Assistant:"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: see conftest


def make_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<pad>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", bos_token="<bos>")


def make_policy(seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    # initializer_range 0.2 (not 0.02): with tiny random weights every logit is ~0 and no small adapter could move it
    config = LlamaConfig(vocab_size=len(WORDS), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, initializer_range=0.2,
                         pad_token_id=PAD, eos_token_id=EOS, bos_token_id=2)
    return LlamaForCausalLM(config)


class CountReward:
    """Toy reward model: the fraction of the reply's words that are "good". Records what it was asked."""

    def __init__(self, word: str = "good"):
        self.word = word
        self.calls: list[tuple[list[str], list[str]]] = []

    def score(self, prompts: list[str], responses: list[str]) -> torch.Tensor:
        self.calls.append((list(prompts), list(responses)))
        return torch.tensor([r.split().count(self.word) / max(1, len(r.split())) for r in responses])


def make_engine(seed: int = 0, reward=None, **overrides) -> PPOEngine:
    # classic PPO (value head + GAE, every block adapted, one epoch) unless a test asks for the app's defaults
    fields = dict(batch_size=16, response_length=8, learning_rate=1e-2, kl_coef=0.01, temperature=1.0, seed=seed,
                  samples_per_prompt=1, baseline="value", lora_layers=None, num_ppo_epochs=1, num_mini_batches=1)
    fields.update(overrides)
    return PPOEngine(make_policy(seed), make_tokenizer(), reward or CountReward(), PROMPTS, PPOConfig(**fields), device="cpu")


def mean_of(samples: list[dict], key: str) -> float:
    return statistics.mean(s[key] for s in samples)


# ----------------------------------------------------------------------------------------------------------
# helpers against plain-Python loops


def random_batch(seed: int, rows: int = 5, cols: int = 7):
    g = torch.Generator().manual_seed(seed)
    values = torch.randn(rows, cols, generator=g, dtype=torch.float64) * 3 + 1
    mask = torch.rand(rows, cols, generator=g) < 0.6
    mask[0, :2] = True  # at least two valid entries
    return values, mask


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_masked_statistics_match_python_loops(seed):
    values, mask = random_batch(seed)
    picked = [v for v, m in zip(values.flatten().tolist(), mask.flatten().tolist()) if m]
    n = len(picked)
    mean = sum(picked) / n
    var_biased = sum((v - mean) ** 2 for v in picked) / n
    var_unbiased = sum((v - mean) ** 2 for v in picked) / (n - 1)

    assert masked_mean(values, mask).item() == pytest.approx(mean, rel=1e-12)
    assert masked_var(values, mask).item() == pytest.approx(var_unbiased, rel=1e-12)
    assert masked_var(values, mask, unbiased=False).item() == pytest.approx(var_biased, rel=1e-12)
    for row in range(values.shape[0]):  # per-row means along axis 1
        row_vals = [v for v, m in zip(values[row].tolist(), mask[row].tolist()) if m]
        if row_vals:
            assert masked_mean(values, mask, axis=1)[row].item() == pytest.approx(sum(row_vals) / len(row_vals), rel=1e-12)

    whitened = masked_whiten(values, mask)
    kept_mean = masked_whiten(values, mask, shift_mean=False)
    for v, w, k, m in zip(values.flatten().tolist(), whitened.flatten().tolist(), kept_mean.flatten().tolist(),
                          mask.flatten().tolist()):
        assert w == pytest.approx((v - mean) / math.sqrt(var_unbiased + 1e-8), rel=1e-9)
        assert k == pytest.approx((v - mean) / math.sqrt(var_unbiased + 1e-8) + mean, rel=1e-9)
    assert masked_mean(whitened, mask).item() == pytest.approx(0.0, abs=1e-9)
    assert masked_var(whitened, mask).item() == pytest.approx(1.0, rel=1e-6)

    flat = values.flatten().tolist()
    all_mean = sum(flat) / len(flat)
    all_std = math.sqrt(sum((v - all_mean) ** 2 for v in flat) / (len(flat) - 1))
    for v, w in zip(flat, whiten(values).flatten().tolist()):
        assert w == pytest.approx((v - all_mean) / math.sqrt(all_std ** 2 + 1e-8), rel=1e-9)


def test_masked_var_edge_cases():
    x = torch.tensor([[1.0, 5.0, 9.0]])
    assert masked_var(x, torch.tensor([[False, True, False]])).item() == 0.0  # one element: no spread
    with pytest.raises(ValueError):
        masked_var(x, torch.zeros_like(x, dtype=torch.bool))


@pytest.mark.parametrize("seed", [0, 1])
def test_gae_matches_discounted_sum_of_td_errors(seed):
    """A_t = sum_l (gamma*lam)^l delta_{t+l}, delta_t = r_t + gamma V_{t+1} - V_t (V after the end = 0)."""
    rng = random.Random(seed)
    B, L = 4, 6
    gamma, lam = rng.uniform(0.8, 1.0), rng.uniform(0.5, 1.0)
    rewards = [[rng.gauss(0, 1) for _ in range(L)] for _ in range(B)]
    values = [[rng.gauss(0, 1) for _ in range(L)] for _ in range(B)]
    for b in range(B):  # values after each reply's last token are 0, as the engine guarantees
        last = rng.randrange(L)
        values[b][last + 1:] = [0.0] * (L - last - 1)

    advantages, returns = gae(torch.tensor(rewards, dtype=torch.float64), torch.tensor(values, dtype=torch.float64),
                              gamma, lam)
    for b in range(B):
        v = values[b] + [0.0]
        deltas = [rewards[b][t] + gamma * v[t + 1] - v[t] for t in range(L)]
        for t in range(L):
            expected = sum((gamma * lam) ** k * deltas[t + k] for k in range(L - t))
            assert advantages[b, t].item() == pytest.approx(expected, rel=1e-9, abs=1e-12)
            assert returns[b, t].item() == pytest.approx(expected + values[b][t], rel=1e-9, abs=1e-12)


def test_gae_with_gamma_and_lambda_one_is_reward_to_go_minus_value():
    rewards = torch.tensor([[0.0, 0.0, 2.0, 0.0]])
    values = torch.tensor([[0.5, 1.0, 1.5, 0.0]])
    advantages, returns = gae(rewards, values, gamma=1.0, lam=1.0)
    assert returns.tolist() == [[2.0, 2.0, 2.0, 0.0]]
    assert advantages.tolist() == [[1.5, 1.0, 0.5, 0.0]]


@pytest.mark.parametrize("k", [1, 2, 4])
def test_group_advantages_are_leave_one_out_as_a_loop_computes_them(k):
    rewards = torch.randn(8, generator=torch.Generator().manual_seed(k), dtype=torch.float64)
    got = group_advantages(rewards, k).tolist()
    r = rewards.tolist()
    for i in range(8):
        if k == 1:
            baseline = sum(r) / len(r)
        else:
            group = range(i // k * k, i // k * k + k)
            baseline = sum(r[j] for j in group if j != i) / (k - 1)
        assert got[i] == pytest.approx(r[i] - baseline, rel=1e-12)


def test_first_true_indices_and_truncation():
    eos, pad = 1, 0
    responses = torch.tensor([
        [5, 6, 1, 7, 8],  # stops at 2: the tokens after become pad, the eos stays
        [1, 5, 5, 5, 5],  # stops immediately
        [5, 6, 7, 8, 9],  # never stops
        [5, 6, 7, 8, 1],  # stops on the last token
        [5, 1, 6, 1, 7],  # only the FIRST eos counts
    ])
    stop_index = first_true_indices(responses == eos)
    assert stop_index.tolist() == [2, 0, 5, 4, 1]
    truncated, padding_mask = truncate_after(responses, stop_index.clamp(max=4), pad)
    assert padding_mask.tolist() == [[j > i for j in range(5)] for i in [2, 0, 4, 4, 1]]
    assert truncated.tolist() == [
        [5, 6, 1, 0, 0],
        [1, 0, 0, 0, 0],
        [5, 6, 7, 8, 9],
        [5, 6, 7, 8, 1],
        [5, 1, 0, 0, 0],
    ]
    assert first_true_indices(torch.zeros(2, 3, dtype=torch.bool)).tolist() == [3, 3]


def test_kl_estimators_and_logprobs():
    logp = torch.tensor([-1.0, -2.0, -0.5])
    ref = torch.tensor([-1.5, -1.0, -0.5])
    assert kl_per_token(logp, ref, "k1").tolist() == pytest.approx([0.5, -1.0, 0.0])
    r = [math.exp(q - p) for p, q in zip(logp.tolist(), ref.tolist())]
    assert kl_per_token(logp, ref, "k3").tolist() == pytest.approx([(x - 1) - math.log(x) for x in r])
    assert (kl_per_token(logp, ref, "k3") >= 0).all()
    with pytest.raises(ValueError):
        kl_per_token(logp, ref, "k2")

    logits = torch.randn(2, 3, 11, generator=torch.Generator().manual_seed(0))
    tokens = torch.tensor([[0, 5, 10], [3, 3, 7]])
    expected = torch.log_softmax(logits / 0.7, dim=-1).gather(-1, tokens[..., None]).squeeze(-1)
    assert torch.allclose(selective_logprobs(logits, tokens, 0.7), expected, atol=1e-6)
    # the one-pass version used by the PPO loss: the same log-probs (and gradient), the entropy as a loop computes it
    leaf = logits.clone().requires_grad_(True)
    logp, entropy = logprobs_and_entropy(leaf, tokens, 0.7)
    assert torch.allclose(logp, expected, atol=1e-6)
    logp.sum().backward()
    leaf2 = logits.clone().requires_grad_(True)
    selective_logprobs(leaf2, tokens, 0.7).sum().backward()
    assert torch.allclose(leaf.grad, leaf2.grad, atol=1e-6)
    for b in range(2):
        for t in range(3):
            ps = torch.softmax(logits[b, t] / 0.7, -1).tolist()
            assert entropy[b, t].item() == pytest.approx(-sum(p * math.log(p) for p in ps), abs=1e-5)


def test_adaptive_kl_controller_moves_beta_towards_target():
    assert adaptive_kl_coef(0.1, current_kl=10.0, target=5.0, horizon=100, n_steps=10) == pytest.approx(0.1 * 1.02)
    assert adaptive_kl_coef(0.1, current_kl=4.5, target=5.0, horizon=100, n_steps=10) == pytest.approx(0.1 * 0.99)
    assert adaptive_kl_coef(0.1, current_kl=0.0, target=5.0, horizon=100, n_steps=10) == pytest.approx(0.1 * 0.98)


# ----------------------------------------------------------------------------------------------------------
# the engine on a tiny model


def test_step_zero_policy_is_the_reference_and_values_are_zero():
    engine = make_engine()
    assert isinstance(engine.reward, RewardScorer)
    rollout = engine.rollout(PROMPTS * 4, rng=torch.Generator().manual_seed(0))
    assert rollout.kl.abs().max().item() < 1e-4  # LoRA's B = 0: the adapter changes nothing yet
    assert torch.equal(rollout.values, torch.zeros_like(rollout.values))  # zero-initialised value head

    # masks: everything after the last real token is padding; a reply that stopped ends with the eos token
    B, L = rollout.responses.shape
    for i in range(B):
        last = int(rollout.last_index[i])
        assert rollout.responses[i, last + 1:].eq(PAD).all()
        assert rollout.padding_mask[i].tolist() == [t > last for t in range(L)]
        assert bool(rollout.contains_stop[i]) == (rollout.responses[i, last].item() == EOS)
        assert (EOS in rollout.responses[i, :last].tolist()) is False
        assert rollout.logprobs[i, last + 1:].eq(0).all() and (rollout.logprobs[i, : last + 1] < 0).all()

    result = engine.step()
    m = result.metrics
    assert abs(m["objective/kl"]) < 1e-4
    assert m["val/ratio"] == pytest.approx(1.0, abs=1e-4)  # first minibatch: nothing updated yet
    assert m["policy/approxkl_avg"] < 1e-8 and m["policy/clipfrac_avg"] == 0.0
    assert len(result.samples) == 16
    for sample in result.samples:
        assert set(sample) == {"prompt", "response", "score", "raw_score", "kl", "kl_k3", "cut", "tokens", "token_kl",
                               "token_kl_k3"}
        # cut: no stop token, so the reply ran into the token limit (the UI ends it with "…")
        assert sample["cut"] == ("<eos>" not in sample["tokens"]) and (not sample["cut"] or len(sample["tokens"]) == L)
        assert sample["prompt"] in PROMPTS
        assert len(sample["tokens"]) == len(sample["token_kl"]) >= 1
        assert max(abs(k) for k in sample["token_kl"]) < 1e-4
        assert sample["response"] == " ".join(t for t in sample["tokens"] if t not in ("<eos>", "<pad>", "<bos>"))
    expected_keys = {"objective/scores", "objective/kl", "objective/non_score_reward", "objective/rlhf_reward",
                     "objective/entropy", "policy/approxkl_avg", "policy/clipfrac_avg", "loss/policy_avg",
                     "loss/value_avg", "val/clipfrac_avg", "val/ratio", "val/num_eos_tokens", "policy/entropy_avg",
                     "time/step_seconds", "time/generate_seconds", "step", "lr", "kl_coef"}
    assert expected_keys <= set(m)
    assert all(isinstance(v, float) and math.isfinite(v) for v in m.values())
    assert m["step"] == 1.0 and engine.step_count == 1


def test_training_changes_lora_and_value_head_only_and_reset_restores():
    engine = make_engine()
    params = dict(engine.model.named_parameters())
    base = {n: p.detach().clone() for n, p in params.items() if not p.requires_grad}
    lora = {n: p.detach().clone() for n, p in params.items() if p.requires_grad}
    assert lora and all("lora_" in n for n in lora)
    assert all(torch.equal(p, torch.zeros_like(p)) for n, p in lora.items() if "lora_B" in n)

    for _ in range(3):
        engine.step()
    params = dict(engine.model.named_parameters())
    for n, p in base.items():
        assert torch.equal(params[n], p), f"base weight {n} changed"
    assert any(not torch.equal(params[n], p) for n, p in lora.items() if "lora_B" in n)
    assert engine.value_head.weight.abs().sum() > 0

    engine.reset()
    assert engine.step_count == 0
    for n, p in lora.items():
        assert torch.equal(params[n], p)
    assert engine.value_head.weight.abs().sum() == 0 and engine.value_head.bias.abs().sum() == 0
    probes = engine.generate_probes(PROMPTS, seed=3)
    assert max(abs(s["kl"]) for s in probes) < 1e-4


def test_toy_reward_rises_with_small_beta_and_large_beta_keeps_kl_small():
    probes = PROMPTS * 4
    free = make_engine(kl_coef=0.01)
    before = free.generate_probes(probes, seed=1)
    for _ in range(30):
        free.step()
    after = free.generate_probes(probes, seed=1)
    assert mean_of(after, "score") > mean_of(before, "score") + 0.2
    assert mean_of(after, "kl") > 2.0  # getting there took the policy far from the reference
    # what the tab shows: k3 per token, never negative, summing to the reply's kl_k3; k3 = expm1(-k1) + k1 per token
    for s in after:
        assert min(s["token_kl_k3"]) >= 0 and s["kl_k3"] == pytest.approx(sum(s["token_kl_k3"]), abs=1e-4)
        assert s["token_kl_k3"] == pytest.approx([math.expm1(-k) + k for k in s["token_kl"]], abs=1e-4)

    tied = make_engine(kl_coef=3.0)  # scores are normalised (std 1 on the base policy): beta 3 is a tight leash
    for _ in range(30):
        result = tied.step()
    tied_after = tied.generate_probes(probes, seed=1)
    assert mean_of(tied_after, "kl") < 1.0
    assert mean_of(tied_after, "kl") < mean_of(after, "kl") / 5
    assert result.metrics["objective/kl"] < 1.0


def test_group_baseline_samples_each_prompt_k_times_and_learns_without_the_value_head():
    reward = CountReward()
    engine = make_engine(reward=reward, samples_per_prompt=4, baseline="group")
    probes = PROMPTS * 4
    before = engine.generate_probes(probes, seed=1)
    engine.step()
    prompts = reward.calls[-1][0]
    assert len(prompts) == 16 and all(prompts[g * 4:g * 4 + 4] == [prompts[g * 4]] * 4 for g in range(4))
    for _ in range(29):
        engine.step()
    assert engine.value_head.weight.abs().sum() == 0  # "group" trains no value head
    after = engine.generate_probes(probes, seed=1)
    assert mean_of(after, "score") > mean_of(before, "score") + 0.2


def test_lora_on_the_top_blocks_reuses_the_frozen_trunk_and_matches_a_full_forward():
    engine = make_engine(lora_layers=1)  # the tiny policy has 2 blocks: the adapter sits in the top one only
    assert engine.trunk_split is not None and engine.trunk_split[1] == 1
    assert all(".layers.1." in n for n, p in engine.model.named_parameters() if p.requires_grad)
    for _ in range(3):
        engine.step()  # a trained adapter, so policy and reference differ
    r = engine.rollout(PROMPTS)
    B, L = r.responses.shape
    assert r.trunk.shape == (B, r.context_length + L - 1, 32)
    for adapter_on in (True, False):
        ctx = contextlib.nullcontext() if adapter_on else engine.model.disable_adapter()
        with ctx, torch.no_grad():
            top_logits, top_hidden = forward_reply(engine.model, engine.trunk_split, r.query_responses, r.attention_mask, r.context_length, r.trunk)
            full_logits, full_hidden = forward_reply(engine.model, engine.trunk_split, r.query_responses, r.attention_mask, r.context_length)
        valid = ~r.padding_mask
        assert torch.allclose(top_logits[valid], full_logits[valid], atol=1e-4)
        assert torch.allclose(top_hidden[valid], full_hidden[valid], atol=1e-4)
    # the rollout's own log-probs (from generate) agree with the top-only pass: the PPO ratio starts at 1
    with torch.no_grad():
        logits, _ = forward_reply(engine.model, engine.trunk_split, r.query_responses, r.attention_mask, r.context_length, r.trunk)
    new = selective_logprobs(logits, r.responses, engine.config.temperature).masked_fill(r.padding_mask, 0.0)
    assert torch.allclose(new, r.logprobs, atol=1e-4)


def test_probes_are_reproducible_and_do_not_touch_the_global_rng():
    engine = make_engine()
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = engine.generate_probes(PROMPTS, seed=7)
    assert torch.equal(torch.rand(1), expected_next)
    assert engine.generate_probes(PROMPTS, seed=7) == first
    many = PROMPTS * 4
    assert engine.generate_probes(many, seed=7) != engine.generate_probes(many, seed=8)


def test_live_config_changes_take_effect_on_the_next_step():
    engine = make_engine(batch_size=4)
    assert len(engine.step().samples) == 4
    engine.config.batch_size = 6
    engine.config.response_length = 3
    engine.config.learning_rate = 2e-3
    engine.config.kl_coef = 0.5
    engine.config.num_mini_batches = 3
    engine.config.num_ppo_epochs = 2
    engine.config.whiten_rewards = True
    result = engine.step()
    assert len(result.samples) == 6
    assert all(len(s["tokens"]) <= 3 for s in result.samples)
    assert result.metrics["lr"] == 2e-3 and result.metrics["kl_coef"] == 0.5
    assert engine.optimizer.param_groups[0]["lr"] == 2e-3
    assert result.metrics["policy/approxkl_avg"] > 0  # later minibatches see an already-updated policy

    engine.config.num_mini_batches = 4  # 6 rollouts cannot be split in 4
    with pytest.raises(ValueError, match="divisible"):
        engine.step()


def test_adaptive_kl_controller_raises_beta_when_kl_exceeds_target():
    engine = make_engine(kl_coef=0.01, kl_target=0.01, kl_horizon=16)
    betas = [engine.step().metrics["kl_coef"] for _ in range(12)]
    assert betas[0] == 0.01
    assert betas[1] == pytest.approx(0.008)  # step 0 has KL 0 < target: beta drops by the clipped 20% * 16/16
    assert engine.config.kl_coef > 0.01  # then the policy drifted above the tiny target, and beta went up


def test_missing_eos_penalty_and_raw_prompts_reach_the_reward():
    class Zero(CountReward):
        def score(self, prompts, responses):
            super().score(prompts, responses)
            return torch.zeros(len(responses))

    reward = Zero()
    engine = make_engine(reward=reward, missing_eos_penalty=1.0, response_length=4, batch_size=16)
    engine.format_prompt = lambda p: "the " + p  # the policy sees a formatted prompt, the reward the raw one
    result = engine.step()
    assert reward.calls and all(p in PROMPTS for p in reward.calls[-1][0])
    stopped = [s["tokens"][-1] == "<eos>" for s in result.samples]
    assert any(stopped) and not all(stopped)  # both cases occur with this seed
    for sample, ended in zip(result.samples, stopped):
        assert sample["score"] == (0.0 if ended else -1.0)
    assert result.metrics["val/num_eos_tokens"] == float(sum(stopped))


def test_save_writes_adapter_value_head_and_state_and_load_restores(tmp_path):
    engine = make_engine()
    for _ in range(2):
        engine.step()
    out = engine.save(tmp_path / "ppo")
    for name in ("adapter_model.safetensors", "adapter_config.json", "value_head.safetensors", "ppo_state.json"):
        assert (out / name).is_file(), name
    state = json.loads((out / "ppo_state.json").read_text())
    assert state["step"] == 2 and state["config"]["kl_coef"] == engine.config.kl_coef

    fresh = make_engine()
    assert fresh.generate_probes(PROMPTS, seed=5) != engine.generate_probes(PROMPTS, seed=5)
    fresh.load(out)
    assert fresh.step_count == 2
    assert fresh.generate_probes(PROMPTS, seed=5) == engine.generate_probes(PROMPTS, seed=5)
    assert torch.equal(fresh.value_head.weight, engine.value_head.weight)


@pytest.mark.parametrize("field, value, message", [
    ("batch_size", 0, "batch_size"),
    ("temperature", 0.0, "temperature"),
    ("temperature", "hot", "temperature"),
    ("kl_coef", float("nan"), "kl_coef"),
    ("kl_estimator", "k2", "kl_estimator"),
    ("kl_coef", -0.1, "kl_coef"),
    ("lam", 1.5, "lam"),
    ("cliprange", 0.0, "cliprange"),
    ("lora_dropout", 1.0, "lora_dropout"),
    ("num_mini_batches", 3, "divisible"),
    ("learning_rate", 0.0, "learning_rate"),
    ("response_length", 2.5, "response_length"),
    ("lora_target_modules", [], "lora_target_modules"),
    ("samples_per_prompt", 3, "divisible by samples_per_prompt"),
    ("samples_per_prompt", 1, "samples_per_prompt >= 2"),  # the default baseline "group" needs a group
    ("baseline", "critic", "baseline"),
    ("lora_layers", 0, "lora_layers"),
])
def test_config_validation_names_the_bad_field(field, value, message):
    config = PPOConfig(batch_size=8)
    assert config.validate() is config
    setattr(config, field, value)
    with pytest.raises(ValueError, match=message):
        config.validate()


def test_engine_rejects_bad_inputs():
    with pytest.raises(ValueError, match="batch_size"):
        PPOEngine(make_policy(), make_tokenizer(), CountReward(), PROMPTS, PPOConfig(batch_size=0))
    with pytest.raises(ValueError, match="prompt"):
        PPOEngine(make_policy(), make_tokenizer(), CountReward(), [], PPOConfig())
    with pytest.raises(TypeError, match="score"):
        PPOEngine(make_policy(), make_tokenizer(), object(), PROMPTS, PPOConfig())


def test_replies_end_at_a_stop_string_and_the_reward_never_sees_it():
    human = WORDS.index("Human:")
    reward = CountReward()
    engine = make_engine(reward=reward, stop_strings=("Human:",), response_length=8, batch_size=16)
    r = engine.rollout(PROMPTS * 4, rng=torch.Generator().manual_seed(0))
    ended_by_string = [i for i in range(16) if r.responses[i, r.last_index[i]].item() == human]
    assert ended_by_string  # happens with this seed
    for i in range(16):
        last = int(r.last_index[i])
        assert human not in r.responses[i, :last].tolist()  # nothing before the last real token is a stop word
        assert (r.responses[i, last + 1:] == PAD).all() and r.padding_mask[i, last + 1:].all()
        assert not r.padding_mask[i, : last + 1].any()
        assert "Human:" not in r.response_texts[i]
    assert all(bool(r.contains_stop[i]) for i in ended_by_string)  # a stop string counts as a proper ending
    assert reward.calls[-1][1] == r.response_texts

    engine.config.stop_strings = ()  # off: the same policy writes "Human:" inside its replies
    r = engine.rollout(PROMPTS * 4, rng=torch.Generator().manual_seed(0))
    assert any("Human:" in text for text in r.response_texts)


def test_score_normalisation_makes_beta_independent_of_the_reward_models_scale(tmp_path):
    class Scaled(CountReward):
        def score(self, prompts, responses):
            return 100.0 * super().score(prompts, responses) - 5.0

    plain, scaled = make_engine(kl_coef=0.1), make_engine(kl_coef=0.1, reward=Scaled())
    runs = [[e.step().metrics for _ in range(3)] for e in (plain, scaled)]
    for a, b in zip(*runs):  # the same run in every respect: only the raw scale differs
        for key in ("objective/scores", "objective/kl", "objective/rlhf_reward", "loss/policy_avg"):
            assert a[key] == pytest.approx(b[key], rel=1e-3, abs=1e-4), key
        assert b["objective/raw_scores"] == pytest.approx(100 * a["objective/raw_scores"] - 5, rel=1e-4, abs=1e-3)
    mean, std = plain.score_norm
    assert scaled.score_norm == pytest.approx((100 * mean - 5, 100 * std), rel=1e-4)

    # the normalisation is fitted on the raw scores of the base policy's replies: their mean and std
    reward = CountReward()
    fresh = make_engine(reward=reward, score_norm_samples=24, batch_size=8)
    fresh.fit_score_norm()
    raw = torch.cat([torch.tensor([r.split().count("good") / max(1, len(r.split())) for r in call[1]])
                     for call in reward.calls])
    assert len(raw) == 24 and fresh.score_norm == pytest.approx((raw.mean().item(), raw.std().item()), rel=1e-5)

    # kept by reset (same base policy, same reward model) and carried by save/load
    fresh.step()
    fitted = fresh.score_norm
    fresh.reset()
    assert fresh.score_norm == fitted
    fresh.save(tmp_path / "ckpt")
    other = make_engine()
    other.load(tmp_path / "ckpt")
    assert other.score_norm == pytest.approx(fitted)

    off = make_engine(normalize_scores=False)
    result = off.step()
    assert off.score_norm is None
    assert result.metrics["objective/scores"] == result.metrics["objective/raw_scores"]


def test_a_step_runs_on_one_frozen_config_while_another_thread_changes_it(monkeypatch):
    """The UI changes settings from its own threads. A change made DURING a step must not reach that step (the rollout
    and the PPO loss would then use different temperatures, and the PPO ratio would be wrong): it waits for the next."""
    import rlhf_demo.ppo.engine as engine_module
    import rlhf_demo.ppo.rollout as rollout_module
    from rlhf_demo.ppo.run import PPORun

    class MeddlingReward(CountReward):
        """Scores like CountReward, but while scoring (mid-step, between the rollout and the PPO epochs) another
        thread moves the temperature and beta sliders, as a second browser would."""

        def __init__(self):
            super().__init__()
            self.session = None
            self.meddle = False

        def score(self, prompts, responses):
            if self.meddle and len(prompts) == 16:  # a training batch (a probe is one prompt)
                t = threading.Thread(target=self.session.set_live, kwargs={"temperature": 0.3, "kl_coef": 0.9})
                t.start()
                t.join()
                self.meddle = False
            return super().score(prompts, responses)

    temperatures: list[float] = []

    def recording(logits, tokens, temperature=1.0):
        temperatures.append(temperature)
        return selective_logprobs(logits, tokens, temperature)

    monkeypatch.setattr(engine_module, "selective_logprobs", recording)  # the PPO loss's log-probs
    monkeypatch.setattr(rollout_module, "selective_logprobs", recording)  # the rollout's and the reference's

    reward = MeddlingReward()
    engine = make_engine(reward=reward, temperature=1.0, kl_coef=0.01, num_ppo_epochs=2, num_mini_batches=2)
    session = PPORun(make_engine=lambda cfg, reward_name=None: engine, checkpoint_dir=Path("unused"),
                         probe_prompts=(PROMPTS[0],), probe_every=1000, config=engine.config)
    reward.session = session
    engine.fit_score_norm()  # before meddling: the norm fit's own rollouts are not part of the step

    class Ctx:
        def check(self):
            pass

        def update(self, **kw):
            pass

    session.engine()
    temperatures.clear()
    reward.meddle = True
    session.train(Ctx(), 1)
    assert temperatures and set(temperatures) == {1.0}, temperatures  # rollout, reference and PPO loss: one value
    first = session.view().history[0]
    assert first["kl_coef"] == 0.01 and first["config"]["temperature"] == 1.0 and first["config"]["kl_coef"] == 0.01
    assert session.config.temperature == 0.3  # the change was accepted, and is shown, but queued

    temperatures.clear()
    session.train(Ctx(), 1)  # the next step takes it
    assert set(temperatures) == {0.3}
    second = session.view().history[1]
    assert second["kl_coef"] == 0.9 and second["config"]["temperature"] == 0.3


def test_a_run_is_autosaved_and_resumed_after_a_restart_with_its_history_and_optimiser(tmp_path):
    """The app autosaves the live run; a new session on the same folders (a restart) offers it, and resuming brings
    back the adapter, the value head, Adam's moments, the step count and the curves, then trains on from there."""
    from rlhf_demo.ppo.run import PPORun

    class Ctx:
        def check(self):
            pass

        def update(self, **kw):
            pass

    def session(engine_seed):
        return PPORun(make_engine=lambda cfg, reward_name=None: make_engine(seed=engine_seed), checkpoint_dir=tmp_path / "ckpt",
                          autosave_dir=tmp_path / "autosave", autosave_seconds=0.0, probe_prompts=(PROMPTS[0],),
                          probe_every=1000)

    first = session(0)
    assert first.resumable is None
    first.train(Ctx(), 2)
    saved = sorted((tmp_path / "autosave").iterdir())
    assert len(saved) == 1 and (saved[0] / "optimizer.pt").is_file()  # the older autosave was replaced
    trained = {n: p.detach().clone() for n, p in first.engine().model.named_parameters() if p.requires_grad}
    moments = first.engine().optimizer.state_dict()["state"]

    again = session(0)  # a restart: nothing in memory, the same folders on disk
    assert again.resumable["step"] == 2 and again.view().resumable["step"] == 2
    again.resume()
    engine = again.engine()
    assert engine.step_count == 2 and len(again.view().history) == 2 and again.view().probes
    for n, p in engine.model.named_parameters():
        if p.requires_grad:
            assert torch.equal(p, trained[n]), n
    restored = engine.optimizer.state_dict()["state"]
    assert restored.keys() == moments.keys()
    assert all(torch.equal(restored[k]["exp_avg"], moments[k]["exp_avg"]) for k in moments)
    again.train(Ctx(), 1)
    assert engine.step_count == 3 and [h["step"] for h in again.view().history] == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="no saved run"):
        again.resume()
