"""PPO's pure helpers: masked statistics, GAE, the group (RLOO) baseline, KL estimators, log-probs.

Small functions of tensors, no model and no state, each tested against a plain-Python loop (tests/test_ppo.py).
"""

from __future__ import annotations

import torch

from rlhf_demo.bounds import MAX_KL_COEF

# ----------------------------------------------------------------------------------------------------------
# pure helpers


def masked_mean(values: torch.Tensor, mask: torch.Tensor, axis: int | None = None) -> torch.Tensor:
    """Mean of `values` over the positions where `mask` is True (over everything, or along `axis`)."""
    mask = mask.to(values.dtype)
    if axis is None:
        return (values * mask).sum() / mask.sum()
    return (values * mask).sum(axis) / mask.sum(axis)


def masked_var(values: torch.Tensor, mask: torch.Tensor, unbiased: bool = True) -> torch.Tensor:
    """Variance of `values` over the masked positions; `unbiased` applies Bessel's correction n / (n - 1).

    With a single valid element the variance is 0 (there is nothing to correct); with none it is an error.
    """
    n = mask.sum()
    if n == 0:
        raise ValueError("masked_var: the mask selects no element")
    mean = masked_mean(values, mask)
    variance = masked_mean((values - mean) ** 2, mask)
    if unbiased and n > 1:
        variance = variance * n / (n - 1)
    return variance


def whiten(values: torch.Tensor, shift_mean: bool = True) -> torch.Tensor:
    """Normalise to zero mean and unit variance; `shift_mean=False` keeps the original mean (only rescales)."""
    mean = values.mean()
    var = values.var() if values.numel() > 1 else torch.zeros_like(mean)  # unbiased, like masked_var
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    return whitened if shift_mean else whitened + mean


def masked_whiten(values: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True) -> torch.Tensor:
    """`whiten` with the statistics taken over the masked positions only (padding does not count)."""
    mean, var = masked_mean(values, mask), masked_var(values, mask)
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    return whitened if shift_mean else whitened + mean


def gae(rewards: torch.Tensor, values: torch.Tensor, gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised Advantage Estimation (Schulman et al., 2016) over response tokens.

    rewards, values: (B, L); values[:, t] = V(prompt + response[:t]). Values after the last real token must be 0:
    the state after the final token is terminal, and the reply has nothing more to earn.
    Returns (advantages, returns), both (B, L), with returns = advantages + values (the value-function target).
    """
    L = rewards.shape[1]
    last_gae = torch.zeros_like(rewards[:, 0])  # (B,)
    advantages_reversed = []
    for t in reversed(range(L)):
        next_values = values[:, t + 1] if t < L - 1 else torch.zeros_like(values[:, t])
        delta = rewards[:, t] + gamma * next_values - values[:, t]  # one-step TD error
        last_gae = delta + gamma * lam * last_gae
        advantages_reversed.append(last_gae)
    advantages = torch.stack(advantages_reversed[::-1], dim=1)  # (B, L)
    return advantages, advantages + values


def group_advantages(rewards: torch.Tensor, k: int) -> torch.Tensor:
    """Leave-one-out baseline (RLOO): rewards (B,) in groups of k consecutive replies to one prompt -> (B,) advantages
    r_i - mean of the OTHER k - 1 rewards of its group. k = 1 has no group: the batch mean is the baseline."""
    if k == 1:
        return rewards - rewards.mean()
    grouped = rewards.reshape(-1, k)  # (B / k, k)
    others_mean = (grouped.sum(1, keepdim=True) - grouped) / (k - 1)
    return (grouped - others_mean).reshape(-1)


def first_true_indices(bools: torch.Tensor, dtype: torch.dtype = torch.long) -> torch.Tensor:
    """Index of the first True in each row of `bools` (..., L); L when a row has none."""
    row_len = bools.size(-1)
    zero_or_index = row_len * (~bools).type(dtype) + torch.arange(row_len, dtype=dtype, device=bools.device)
    return torch.min(zero_or_index, dim=-1).values


def truncate_after(responses: torch.Tensor, last_index: torch.Tensor,
                   pad_token_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep each reply up to and including token last_index[i]; pad the rest.

    (B, L), (B,) -> responses (B, L) and padding_mask (B, L), True where a token was replaced by padding."""
    positions = torch.arange(responses.shape[-1], device=responses.device)  # (L,)
    padding_mask = positions[None, :] > last_index[:, None]  # (B, L)
    return responses.masked_fill(padding_mask, pad_token_id), padding_mask


def kl_per_token(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, estimator: str = "k1") -> torch.Tensor:
    """Per-token estimate of KL(policy || reference) from the log-probs of the SAMPLED tokens. (B, L) -> (B, L).

    k1 = log p - log q: unbiased, negative for some tokens. k3 = (q/p - 1) - log(q/p): unbiased, always >= 0.
    """
    log_ratio = ref_logprobs - logprobs  # log(q / p)
    if estimator == "k1":
        return -log_ratio
    if estimator == "k3":
        return torch.expm1(log_ratio) - log_ratio
    raise ValueError(f"unknown kl_estimator {estimator!r} (expected 'k1' or 'k3')")


def adaptive_kl_coef(kl_coef: float, current_kl: float, target: float, horizon: int, n_steps: int) -> float:
    """Ziegler et al. (2019)'s proportional controller: raise beta when the KL is above target, lower it below.

    The error is clipped to +-20% so one noisy batch cannot swing beta; `n_steps / horizon` sets the speed. Beta
    stays within its bound (rlhf_demo/bounds.py), so PPOConfig.validate() never refuses what the controller chose.
    """
    proportional_error = min(max(current_kl / target - 1.0, -0.2), 0.2)
    return min(MAX_KL_COEF, kl_coef * (1.0 + proportional_error * n_steps / horizon))


def selective_logprobs(logits: torch.Tensor, tokens: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """log softmax(logits / T)[token] without materialising the (B, L, V) log-softmax. (B, L, V), (B, L) -> (B, L)."""
    logits = logits.float() / temperature
    picked = torch.gather(logits, -1, tokens.unsqueeze(-1)).squeeze(-1)  # (B, L)
    return picked - torch.logsumexp(logits, dim=-1)


@torch.no_grad()
def entropy_from_logits(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Entropy (nats) of softmax(logits / T) at every position, one row at a time to bound memory. (B, L, V) -> (B, L)."""
    rows = []
    for row in logits:  # (L, V)
        row = row.float() / temperature
        p = torch.softmax(row, dim=-1)
        rows.append(torch.logsumexp(row, dim=-1) - (p * row).sum(-1))
    return torch.stack(rows)


def logprobs_and_entropy(logits: torch.Tensor, tokens: torch.Tensor,
                         temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """`selective_logprobs` (with its gradient) and `entropy_from_logits` (without) from ONE pass over the vocabulary:
    logits / T and their logsumexp are computed once. (B, L, V), (B, L) -> (B, L), (B, L)."""
    scaled = logits.float() / temperature
    lse = torch.logsumexp(scaled, dim=-1)  # (B, L)
    logprobs = torch.gather(scaled, -1, tokens.unsqueeze(-1)).squeeze(-1) - lse
    with torch.no_grad():
        entropy = lse - ((scaled - lse.unsqueeze(-1)).exp_() * scaled).sum(-1)  # softmax from the same logsumexp
    return logprobs, entropy

