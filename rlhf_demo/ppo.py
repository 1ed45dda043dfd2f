"""PPO for RLHF, from scratch, on one LoRA-adapted causal LM.

TRL >= 1.13 no longer ships a PPO trainer, so this file is the whole algorithm, written to be read top to bottom.
It follows "The N Implementation Details of RLHF with PPO" (Huang et al., 2024), TRL 0.12's PPOTrainer and cleanrl:

    policy     = the base causal LM + a LoRA adapter (the only trained weights besides the value head)
    reference  = the SAME model with the adapter disabled (`with model.disable_adapter():`), so no second copy
    value head = nn.Linear(hidden, 1), zero-initialised, reading the hidden state the LM head reads (shared
                 backbone: values cost no extra forward pass)
    reward     = any `RewardScorer`: strings in, one score per reply out (it may use its own tokenizer),
                 normalised so that the base policy's replies score 0 +- 1 (fitted once, before the first step)

One `PPOEngine.step()` is one PPO iteration:

    1. sample a batch of prompts                     5. score prompt + reply with the reward model
    2. generate replies (sampling, temperature)      6. per-token reward = -beta * KL, + score on the last token
    3. log-probs of the reply under policy & ref     7. values + GAE advantages (whitened)
    4. cut replies at the first stop token/string    8. PPO epochs: clipped policy loss + clipped value loss
                                                     9. metrics (TRL's names)

Shapes in comments: B = rollouts, P = prompt length (left-padded), L = response length, V = vocab, H = hidden size.

Speed: the rollout needs no separate policy forward pass. `generate` already computes the policy's logits for every
sampled token (we keep them with `output_logits=True`) and the LM-head input hidden state (we record it with a hook),
which gives the rollout log-probs and values for free. A step therefore costs: generate + one no-grad reference
forward + `num_ppo_epochs` forward/backward passes.

Pure helpers (`masked_mean`, `masked_var`, `whiten`, `masked_whiten`, `gae`, `first_true_indices`,
`truncate_after`, `kl_per_token`, `adaptive_kl_coef`, `selective_logprobs`) are module functions so that they can
be tested against plain-Python loops. Padding and stop strings are shared with the arena (`generation.py`).
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

import torch
import torch.nn as nn

from rlhf_demo.generation import StopOnStrings, clean_reply, left_pad, stop_string_index
from rlhf_demo.ppo_config import PPOConfig


@runtime_checkable
class RewardScorer(Protocol):
    """What the engine needs from a reward model: one float score per (prompt, reply) pair.

    `prompts` are the raw hh-rlhf prompts ("\\n\\nHuman: ...\\n\\nAssistant:", before any `format_prompt`), `responses`
    the decoded reply text (stop token and padding removed). The reward model tokenizes them itself, so it may use a
    different tokenizer than the policy. Returns a tensor of shape (B,), any device, higher = better.
    """

    def score(self, prompts: list[str], responses: list[str]) -> torch.Tensor: ...


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

    The error is clipped to +-20% so one noisy batch cannot swing beta; `n_steps / horizon` sets the speed.
    """
    proportional_error = min(max(current_kl / target - 1.0, -0.2), 0.2)
    return kl_coef * (1.0 + proportional_error * n_steps / horizon)


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


@contextlib.contextmanager
def capture_lm_head_input(model: nn.Module):
    """Record the hidden states fed to the LM head during forward/generate calls inside the block.

    Yields a list that receives one (B, T, H) tensor per LM-head call (T = positions whose logits are computed: 1 per
    generation step). The value head reads exactly these states, so values never need a forward pass of their own.
    """
    captured: list[torch.Tensor] = []
    handle = model.get_output_embeddings().register_forward_pre_hook(lambda module, args: captured.append(args[0]))
    try:
        yield captured
    finally:
        handle.remove()


# ----------------------------------------------------------------------------------------------------------
# data passed around during a step


@dataclass
class Rollout:
    """One batch of generated replies with everything PPO needs. Tensors live on the engine's device."""

    prompts: list[str]  # raw prompts, as the reward model sees them
    response_texts: list[str]  # decoded replies (stop token / stop string and padding removed, stripped)
    query_responses: torch.Tensor  # (B, P + L) prompt (left-padded) + reply, as generated
    attention_mask: torch.Tensor  # (B, P + L) 0 on the prompt's left padding
    trunk: torch.Tensor | None  # (B, P + L - 1, H) input of the lowest LoRA block (lora_layers), else None
    context_length: int  # P
    responses: torch.Tensor  # (B, L) reply tokens, padding after the first stop token
    padding_mask: torch.Tensor  # (B, L) bool, True AFTER the last real token (the stop token is a real token)
    last_index: torch.Tensor  # (B,) index of the last real reply token (the stop token, or L - 1 if none)
    contains_stop: torch.Tensor  # (B,) bool, reply ended with the stop token
    logprobs: torch.Tensor  # (B, L) log pi(token) under the rollout policy, 0 on padding
    ref_logprobs: torch.Tensor  # (B, L) log pi_ref(token), 0 on padding
    kl: torch.Tensor  # (B, L) per-token KL estimate (config.kl_estimator), 0 on padding
    values: torch.Tensor  # (B, L) value-head predictions, 0 on padding
    raw_scores: torch.Tensor  # (B,) the reward model's output as it is
    scores: torch.Tensor  # (B,) normalised score (config.normalize_scores), minus missing_eos_penalty where the stop
    #                       token is missing: what PPO maximises
    generate_seconds: float
    reference_seconds: float
    reward_seconds: float


@dataclass
class StepResult:
    metrics: dict[str, float]  # TRL's metric names, plus time/*, step, lr, kl_coef
    samples: list[dict]  # one per rollout: prompt, response, score, kl, tokens, token_kl


# ----------------------------------------------------------------------------------------------------------
# the engine


class PPOEngine:
    """PPO on `policy` (wrapped in place with a LoRA adapter) against `reward`, over a pool of `prompts`.

    policy: a Hugging Face causal LM (PreTrainedModel). It is moved to `device`, its dropout layers are switched
        off (as TRL does: dropout noise would look like a policy change to the PPO ratio) and peft injects the LoRA
        layers into it in place, so do not build two engines on the same model object.
    tokenizer: the policy's tokenizer (needs an eos token, or set `config.stop_token_id`).
    prompts: the training pool of raw prompts; batches are drawn without replacement, reshuffled every pass.
    format_prompt: optional str -> str applied before the POLICY sees a prompt (e.g. a chat template); the reward
        model always gets the raw prompt.
    device: None -> CUDA when available, else CPU.

    The engine re-reads `self.config` at every step; see `rlhf_demo/ppo_config.py` for the fields that take effect
    live (kl_coef, learning_rate, temperature, batch_size, response_length, ...) and those fixed at construction.
    """

    def __init__(self, policy, tokenizer, reward: RewardScorer, prompts: list[str], config: PPOConfig | None = None,
                 device: str | torch.device | None = None, format_prompt: Callable[[str], str] | None = None):
        from peft import LoraConfig, get_peft_model  # local import: `import rlhf_demo.ppo` stays light

        self.config = (config if config is not None else PPOConfig()).validate()
        if not prompts:
            raise ValueError("PPOEngine needs at least one prompt")
        if not callable(getattr(reward, "score", None)):
            raise TypeError("reward must have a score(prompts, responses) -> Tensor method")
        self.device = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = tokenizer
        self.reward = reward
        self.prompts = list(prompts)
        self.format_prompt = format_prompt or (lambda prompt: prompt)
        if self.config.stop_token_id is None and tokenizer.eos_token_id is None:
            raise ValueError("the tokenizer has no eos token: set PPOConfig.stop_token_id")
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

        # the policy: base model + LoRA adapter. peft initialises LoRA's B matrices to zero, so at step 0 the policy
        # IS the reference model (KL = 0). Seeded so that LoRA's random A matrices are the same on every build.
        for module in policy.modules():
            if isinstance(module, nn.Dropout):
                module.p = 0.0
        cfg = self.config
        lora_config = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                                 target_modules=cfg.lora_target_modules or _default_target_modules(policy),
                                 layers_to_transform=_top_layers(policy, cfg.lora_layers),
                                 task_type="CAUSAL_LM", bias="none")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.model = get_peft_model(policy.to(self.device), lora_config)
        self.model.eval()  # train() only around the PPO update (enables lora_dropout, if any)

        # with lora_layers, the blocks below the adapter are frozen and shared by policy and reference: rollouts record
        # the states entering the lowest adapted block, and every later pass (reference, PPO epochs) starts there
        self._trunk = _trunk_split(self.model, cfg.lora_layers)

        # the value head: one linear layer on the LM head's input, zero-initialised so V = 0 until it learns.
        hidden_size = self.model.get_output_embeddings().in_features
        self.value_head = nn.Linear(hidden_size, 1).to(self.device)  # float32 even if the policy is not

        # step / probes / save / load / reset may be called from different threads (a UI): one at a time.
        self._lock = threading.RLock()
        # reset() restores these: the adapter as first built (random A, zero B).
        self._initial_adapter = {name: p.detach().clone() for name, p in self.model.named_parameters() if p.requires_grad}
        # (mean, std) of the reward model's scores on the base policy's replies: fitted lazily, before the first step
        # or probe (see `fit_score_norm`); kept by reset() (same base policy, same reward model), saved by save().
        self.score_norm: tuple[float, float] | None = None
        self.reset()

    # ------------------------------------------------------------------------------------------------------
    # state

    def reset(self) -> None:
        """Back to the base policy: fresh adapter (B = 0) and value head (0), new optimizer, step 0, prompt order."""
        with self._lock, torch.no_grad():
            for name, p in self.model.named_parameters():
                if name in self._initial_adapter:
                    p.copy_(self._initial_adapter[name])
            nn.init.zeros_(self.value_head.weight)
            nn.init.zeros_(self.value_head.bias)
            self.trainable_parameters = [p for p in self.model.parameters() if p.requires_grad]
            self.trainable_parameters += list(self.value_head.parameters())
            self.optimizer = self._new_optimizer()
            self.step_count = 0
            self._prompt_rng = random.Random(self.config.seed)
            self._prompt_queue: list[int] = []

    def _new_optimizer(self) -> torch.optim.Optimizer:
        # eps=1e-5 as in cleanrl / OpenAI's PPO: avoids huge first updates while Adam's second moment is tiny
        return torch.optim.AdamW(self.trainable_parameters, lr=self.config.learning_rate, eps=1e-5, weight_decay=0.0)

    def save(self, directory: str | Path) -> Path:
        """Write the LoRA adapter (peft format: adapter_model.safetensors + adapter_config.json), the value head
        (value_head.safetensors) and ppo_state.json (config + step). Returns the directory."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self.model.save_pretrained(str(directory))
            save_file({k: v.detach().cpu().contiguous() for k, v in self.value_head.state_dict().items()},
                      str(directory / "value_head.safetensors"))
            state = {"step": self.step_count, "config": asdict(self.config), "score_norm": self.score_norm}
        (directory / "ppo_state.json").write_text(json.dumps(state, indent=2))
        return directory

    def load(self, directory: str | Path) -> None:
        """Load what `save` wrote (adapter, value head, step count) into this engine. The optimizer starts fresh and
        `self.config` is left as it is (the saved config is in ppo_state.json for reference)."""
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        directory = Path(directory)
        adapter = load_file(str(directory / "adapter_model.safetensors"), device=str(self.device))
        value_head = load_file(str(directory / "value_head.safetensors"), device=str(self.device))
        state = json.loads((directory / "ppo_state.json").read_text())
        step = int(state["step"])
        with self._lock:
            if state.get("score_norm"):
                self.score_norm = tuple(state["score_norm"])
            set_peft_model_state_dict(self.model, adapter)
            self.value_head.load_state_dict(value_head)
            self.step_count = step
            self.optimizer = self._new_optimizer()

    # ------------------------------------------------------------------------------------------------------
    # rollout: steps 2-5 of the recipe (also used for the fixed probe prompts)

    @torch.no_grad()
    def rollout(self, prompts: list[str]) -> Rollout:
        """Generate one reply per prompt with the current policy and compute log-probs, reference log-probs, KL,
        values and scores. Sampling uses torch's global RNG: seed it (as `step` and `generate_probes` do)."""
        cfg = self.config
        stop_id = cfg.stop_token_id if cfg.stop_token_id is not None else self.tokenizer.eos_token_id
        queries, query_mask = self._encode_prompts(prompts)  # (B, P), (B, P)
        B, P = queries.shape
        self.model.eval()

        # 2. generate: sampling from the plain softmax(logits / T) (no top-k / top-p filtering, which would make the
        # sampling distribution differ from the one whose log-probs we optimise), stopping at the stop token or
        # string (a finished row gets padding until every row has finished).
        # generate() hands us the raw logits of every step, and the hook records the LM head's input hidden state.
        t0 = time.perf_counter()
        stopping = [StopOnStrings(self.tokenizer, P, cfg.stop_strings)] if cfg.stop_strings else []
        trunk_steps: list[torch.Tensor] = []
        with capture_lm_head_input(self.model) as hidden_steps, self._capture_trunk(trunk_steps):
            out = self.model.generate(input_ids=queries, attention_mask=query_mask, max_new_tokens=cfg.response_length,
                                      do_sample=True, temperature=cfg.temperature, top_k=0, top_p=1.0,
                                      eos_token_id=stop_id, pad_token_id=self.pad_token_id, stopping_criteria=stopping,
                                      output_logits=True, return_dict_in_generate=True)
        query_responses = out.sequences  # (B, P + L)
        responses = query_responses[:, P:]  # (B, L), L <= response_length (generate stops once all replies ended)
        L = responses.shape[1]
        attention_mask = torch.cat([query_mask, torch.ones_like(responses)], dim=1)  # (B, P + L)
        generate_seconds = time.perf_counter() - t0

        # 3. log-probs of the sampled tokens with logits / T: the policy's from generate's logits, the reference's
        # from one forward pass with the adapter disabled (same weights, LoRA off). Values from the recorded states.
        logits = torch.stack(out.logits, dim=1)  # (B, L, V) raw logits (before temperature)
        logprobs = selective_logprobs(logits, responses, cfg.temperature)  # (B, L)
        del logits, out
        hidden = torch.cat([h[:, -1:] for h in hidden_steps], dim=1)  # (B, L, H): the state each token was sampled from
        if hidden.shape[1] != L:
            raise RuntimeError(f"expected one LM-head call per generated token ({L}), saw {hidden.shape[1]}")
        values = self.value_head(hidden.float()).squeeze(-1)  # (B, L)
        # with lora_layers: the input of the lowest adapted block at every position but the last, (B, P + L - 1, H);
        # the blocks below it are the same for policy and reference, so no later pass needs to run them again
        trunk = torch.cat(trunk_steps, dim=1) if trunk_steps else None
        if trunk is not None and trunk.shape[1] != P + L - 1:
            raise RuntimeError(f"expected the trunk states of {P + L - 1} positions, saw {trunk.shape[1]}")
        del trunk_steps
        t0 = time.perf_counter()
        with self.model.disable_adapter():
            ref_logits, _ = self._forward(query_responses, attention_mask, P, trunk)  # (B, L, V)
        ref_logprobs = selective_logprobs(ref_logits, responses, cfg.temperature)  # (B, L)
        del ref_logits
        reference_seconds = time.perf_counter() - t0

        # 4. cut every reply after its first stop token, or after the token that completes a stop string ("\n\nHuman:",
        # the model starting the next turn), whichever comes first. That token stays: the policy must learn to emit it.
        # padding_mask marks what follows the last real token: no log-prob, no KL, no value, no loss there.
        # (TRL also builds a `padding_mask_p1`, one token longer, for the values, because it puts the score one token
        # AFTER the last real token. Here the score sits ON the last real token, so the state after it is terminal,
        # its value must be 0, and one mask serves the policy, the KL and the values alike.)
        token_stop = first_true_indices(responses == stop_id)  # (B,) L when the reply has no stop token
        stop_index = token_stop
        if cfg.stop_strings:
            stop_index = torch.minimum(token_stop, stop_string_index(self.tokenizer, responses, cfg.stop_strings))
        contains_stop = stop_index < L
        last_index = stop_index.clamp(max=L - 1)  # (B,) index of the last real token
        responses, padding_mask = truncate_after(responses, last_index, self.pad_token_id)  # (B, L), (B, L)
        logprobs = logprobs.masked_fill(padding_mask, 0.0)
        ref_logprobs = ref_logprobs.masked_fill(padding_mask, 0.0)
        values = values.masked_fill(padding_mask, 0.0)  # V(terminal) = 0 for GAE
        kl = kl_per_token(logprobs, ref_logprobs, cfg.kl_estimator).masked_fill(padding_mask, 0.0)  # (B, L)

        # 5. score prompt + reply with the reward model, as strings (it has its own tokenizer). The text ends before
        # the stop token, or before the stop string.
        t0 = time.perf_counter()
        text_end = torch.where(token_stop <= stop_index, token_stop, last_index + 1)  # (B,)
        response_texts = [clean_reply(self.tokenizer.decode(responses[i, : text_end[i]].tolist(), skip_special_tokens=True),
                                      cfg.stop_strings) for i in range(B)]
        raw_scores = torch.as_tensor(self.reward.score(list(prompts), response_texts)).to(self.device, torch.float32).reshape(-1)
        if raw_scores.shape[0] != B:
            raise ValueError(f"reward.score returned {raw_scores.shape[0]} scores for {B} replies")
        scores = raw_scores
        if cfg.normalize_scores and self.score_norm is not None:
            scores = (raw_scores - self.score_norm[0]) / self.score_norm[1]  # std units of the base policy's scores
        if cfg.missing_eos_penalty is not None:
            scores = scores - cfg.missing_eos_penalty * (~contains_stop).float()
        reward_seconds = time.perf_counter() - t0

        return Rollout(prompts=list(prompts), response_texts=response_texts, query_responses=query_responses, trunk=trunk,
                       attention_mask=attention_mask, context_length=P, responses=responses, padding_mask=padding_mask,
                       last_index=last_index, contains_stop=contains_stop, logprobs=logprobs, ref_logprobs=ref_logprobs,
                       kl=kl, values=values, raw_scores=raw_scores, scores=scores, generate_seconds=generate_seconds,
                       reference_seconds=reference_seconds, reward_seconds=reward_seconds)

    def generate_probes(self, prompts: list[str], seed: int = 0) -> list[dict]:
        """Replies of the current policy to fixed prompts, sampled with a fixed seed (so successive calls differ only
        because the policy changed). Same dicts as `StepResult.samples`; nothing is trained."""
        with self._lock:
            self.fit_score_norm()
            with self._seeded(seed):
                return self._samples(self.rollout(prompts))

    def fit_score_norm(self) -> tuple[float, float] | None:
        """Reward normalisation, once: score `score_norm_samples` replies of the policy as it is now (the base policy,
        unless an adapter was loaded) to prompts from the pool; remember their mean and std. No-op when already
        fitted or when `normalize_scores` is off. A reward model that scores everything alike keeps std 1."""
        cfg = self.config
        with self._lock:
            if self.score_norm is not None or not cfg.normalize_scores:
                return self.score_norm
            pool_rng = random.Random(cfg.seed + 1)
            prompts = [pool_rng.choice(self.prompts) for _ in range(cfg.score_norm_samples)]
            # in chunks of >= 16: decoding streams every weight once per token whatever the batch, so on a CPU one
            # batch of 32 replies costs little more than one of 8
            chunk = max(cfg.batch_size, 16)
            with self._seeded(cfg.seed + 1):
                raw = torch.cat([self.rollout(prompts[i:i + chunk]).raw_scores.float().cpu()
                                 for i in range(0, len(prompts), chunk)])
            std = raw.std().item()
            self.score_norm = (raw.mean().item(), std if std > 1e-6 else 1.0)
            return self.score_norm

    # ------------------------------------------------------------------------------------------------------
    # one PPO iteration

    def step(self) -> StepResult:
        """Run one PPO iteration (rollout, advantages, PPO epochs) and return its metrics and samples."""
        with self._lock:
            return self._step()

    def _step(self) -> StepResult:
        cfg = self.config.validate()  # the UI may have changed it since the last step
        self.fit_score_norm()  # once, before the first step (not timed as part of a step)
        t_start = time.perf_counter()
        with self._seeded(cfg.seed * 1_000_003 + self.step_count):
            # 1. a batch of prompts, without replacement until the pool is used up; with samples_per_prompt = k,
            # batch_size / k prompts, each k times in a row (a group: rows g*k ... g*k + k - 1)
            k = cfg.samples_per_prompt
            prompts = [p for p in self._next_prompts(cfg.batch_size // k) for _ in range(k)]

            # 2-5. generate, log-probs, truncate, masks, score
            r = self.rollout(prompts)
            B, L = r.responses.shape
            valid = ~r.padding_mask  # (B, L)

            # 6. per-token rewards: -beta * KL on every token, plus the score on the last real token
            kl_coef = cfg.kl_coef
            non_score_reward = -kl_coef * r.kl  # (B, L)
            rewards = non_score_reward.clone()
            rewards[torch.arange(B, device=self.device), r.last_index] += r.scores
            if cfg.whiten_rewards:
                rewards = masked_whiten(rewards, valid, shift_mean=False).masked_fill(r.padding_mask, 0.0)

            # 7. advantages, whitened over the real tokens of the batch. baseline "value": GAE with the value head.
            # baseline "group" (RLOO, Ahmadian et al. 2024): each reply's whole reward (score - beta * its KL) minus
            # the mean reward of the other replies to the same prompt, on every one of its tokens; no value head.
            advantages, returns = gae(rewards, r.values, cfg.gamma, cfg.lam)  # (B, L), (B, L)
            if cfg.baseline == "group":
                advantages = group_advantages(rewards.sum(1), k)[:, None].expand(B, L)  # (B,) -> (B, L)
            advantages = masked_whiten(advantages, valid).masked_fill(r.padding_mask, 0.0)

            # 8. PPO epochs over shuffled minibatches
            t_update = time.perf_counter()
            stats = self._ppo_update(r, advantages, returns)
            update_seconds = time.perf_counter() - t_update

        # the adaptive KL controller updates beta for the NEXT step, from this batch's mean per-reply KL
        mean_kl = r.kl.sum(1).mean().item()
        if cfg.kl_target is not None:
            cfg.kl_coef = adaptive_kl_coef(cfg.kl_coef, mean_kl, cfg.kl_target, cfg.kl_horizon, B)
        self.step_count += 1

        # 9. metrics, under TRL's names
        metrics = {
            "objective/scores": r.scores.mean().item(),  # normalised (config.normalize_scores), what PPO maximises
            "objective/raw_scores": r.raw_scores.mean().item(),  # the reward model's own scale, as in its tab
            "objective/kl": mean_kl,
            "objective/non_score_reward": non_score_reward.sum(1).mean().item(),
            "objective/rlhf_reward": (r.scores + non_score_reward.sum(1)).mean().item(),
            "objective/entropy": (-r.logprobs).sum(1).mean().item(),  # sampled-token estimate, per reply
            **stats,
            "val/num_eos_tokens": float(r.contains_stop.sum().item()),
            "val/mean_response_length": float((r.last_index + 1).float().mean().item()),
            "time/generate_seconds": r.generate_seconds,
            "time/reference_seconds": r.reference_seconds,
            "time/reward_seconds": r.reward_seconds,
            "time/update_seconds": update_seconds,
            "time/step_seconds": time.perf_counter() - t_start,
            "step": float(self.step_count),
            "lr": float(cfg.learning_rate),
            "kl_coef": float(kl_coef),  # beta used for THIS step's rewards
        }
        return StepResult(metrics=metrics, samples=self._samples(r))

    def _ppo_update(self, r: Rollout, advantages: torch.Tensor, returns: torch.Tensor) -> dict[str, float]:
        """Step 8: `num_ppo_epochs` passes of clipped PPO over shuffled minibatches. Returns averaged statistics."""
        cfg = self.config
        B = r.responses.shape[0]
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.learning_rate
        totals: dict[str, float] = {}
        n_micro = 0
        self.model.train()
        try:
            for _epoch in range(cfg.num_ppo_epochs):
                order = torch.randperm(B, device=self.device)
                for mb_start in range(0, B, cfg.mini_batch_size):
                    mb_indices = order[mb_start: mb_start + cfg.mini_batch_size]
                    self.optimizer.zero_grad(set_to_none=True)
                    for micro_start in range(0, cfg.mini_batch_size, cfg.micro_batch_size):
                        idx = mb_indices[micro_start: micro_start + cfg.micro_batch_size]
                        loss, stats = self._ppo_loss(r, idx, advantages[idx], returns[idx])
                        (loss / cfg.gradient_accumulation_steps).backward()
                        for k, v in stats.items():
                            totals[k] = totals.get(k, 0.0) + v
                        n_micro += 1
                    torch.nn.utils.clip_grad_norm_(self.trainable_parameters, cfg.max_grad_norm)
                    self.optimizer.step()
        finally:
            self.model.eval()
            self.optimizer.zero_grad(set_to_none=True)  # free the gradients between steps
        return {k: v / n_micro for k, v in totals.items()}

    def _ppo_loss(self, r: Rollout, idx: torch.Tensor, mb_advantages: torch.Tensor,
                  mb_returns: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Clipped policy loss + vf_coef * clipped value loss on the rollouts `idx`, and their statistics."""
        cfg = self.config
        valid = ~r.padding_mask[idx]  # (b, L)
        logits, hidden = self._forward(r.query_responses[idx], r.attention_mask[idx], r.context_length,
                                       None if r.trunk is None else r.trunk[idx])  # (b, L, V), (b, L, H)
        new_logprobs = selective_logprobs(logits, r.responses[idx], cfg.temperature)  # (b, L)
        vpred = self.value_head(hidden.float()).squeeze(-1)  # (b, L)

        # value loss, clipped around the rollout values (as TRL / OpenAI's lm-human-preferences)
        mb_values = r.values[idx]
        vpred_clipped = torch.clamp(vpred, mb_values - cfg.cliprange_value, mb_values + cfg.cliprange_value)
        vf_losses1 = (vpred - mb_returns) ** 2
        vf_losses2 = (vpred_clipped - mb_returns) ** 2
        vf_loss = 0.5 * masked_mean(torch.max(vf_losses1, vf_losses2), valid)

        # policy loss: PPO's clipped surrogate with ratio = pi_new / pi_rollout per token
        log_ratio = (new_logprobs - r.logprobs[idx]).masked_fill(~valid, 0.0)
        ratio = torch.exp(log_ratio)
        pg_losses1 = -mb_advantages * ratio
        pg_losses2 = -mb_advantages * torch.clamp(ratio, 1.0 - cfg.cliprange, 1.0 + cfg.cliprange)
        pg_loss = masked_mean(torch.max(pg_losses1, pg_losses2), valid)
        loss = pg_loss + (cfg.vf_coef * vf_loss if cfg.baseline == "value" else 0.0)  # "group": no value head

        with torch.no_grad():
            stats = {
                "policy/approxkl_avg": (0.5 * masked_mean(log_ratio ** 2, valid)).item(),
                "policy/clipfrac_avg": masked_mean((pg_losses2 > pg_losses1).float(), valid).item(),
                "loss/policy_avg": pg_loss.item(),
                "loss/value_avg": vf_loss.item(),
                "val/clipfrac_avg": masked_mean((vf_losses2 > vf_losses1).float(), valid).item(),
                "val/ratio": masked_mean(ratio, valid).item(),
                "policy/entropy_avg": masked_mean(entropy_from_logits(logits.detach(), cfg.temperature), valid).item(),
            }
        return loss, stats

    # ------------------------------------------------------------------------------------------------------
    # small pieces

    def _forward(self, query_responses: torch.Tensor, attention_mask: torch.Tensor, context_length: int,
                 trunk: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, L, V) and LM-head input states (B, L, H) at the positions that predict the L reply tokens.

        Position P - 1 + t predicts reply token t. `logits_to_keep` makes the model apply its (large) LM head only to
        the last L + 1 positions, never to the prompt; the extra last position (predicting past the reply) is dropped.
        Explicit position ids make left-padded prompts start at position 0, as in generate().
        With `trunk` (the states recorded at the input of the lowest LoRA block during generation) only the blocks
        from there up run: the frozen blocks below would compute exactly those states again.
        """
        L = query_responses.shape[1] - context_length
        if trunk is not None:
            return self._forward_top(trunk, attention_mask[:, :-1], L)
        position_ids = (attention_mask.cumsum(1) - 1).clamp(min=0)  # (B, P + L)
        with capture_lm_head_input(self.model) as captured:
            out = self.model(input_ids=query_responses, attention_mask=attention_mask, position_ids=position_ids,
                             logits_to_keep=L + 1, use_cache=False)
        return out.logits[:, -(L + 1):-1], captured[-1][:, -(L + 1):-1]

    def _forward_top(self, hidden: torch.Tensor, attention_mask: torch.Tensor, L: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The top blocks, final norm and LM head over trunk states (B, T, H), T = P + L - 1 -> logits of the last L
        positions (B, L, V) and their LM-head inputs (B, L, H). The same steps as the model's own forward."""
        from transformers.masking_utils import create_causal_mask

        inner, start = self._trunk
        position_ids = (attention_mask.cumsum(1) - 1).clamp(min=0)  # (B, T)
        mask = create_causal_mask(config=inner.config, inputs_embeds=hidden, attention_mask=attention_mask, cache=None,
                                  position_ids=position_ids)
        position_embeddings = inner.rotary_emb(hidden, position_ids=position_ids)
        for layer in inner.layers[start:]:
            hidden = layer(hidden, attention_mask=mask, position_ids=position_ids, position_embeddings=position_embeddings)
        hidden = inner.norm(hidden)[:, -L:]  # (B, L, H)
        return self.model.get_output_embeddings()(hidden), hidden

    @contextlib.contextmanager
    def _capture_trunk(self, steps: list[torch.Tensor]):
        """While generating, record the hidden states entering the lowest LoRA block (nothing without lora_layers)."""
        if self._trunk is None:
            yield steps
            return
        inner, start = self._trunk
        handle = inner.layers[start].register_forward_pre_hook(lambda module, args: steps.append(args[0].detach()))
        try:
            yield steps
        finally:
            handle.remove()

    def _encode_prompts(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokenize (after format_prompt), keep the last max_prompt_length tokens, left-pad. -> ids, mask (B, P)."""
        max_len = self.config.max_prompt_length
        rows = []
        for prompt in prompts:
            ids = self.tokenizer(self.format_prompt(prompt))["input_ids"][-max_len:]
            if not ids:
                raise ValueError(f"prompt {prompt!r} encodes to no tokens")
            rows.append(ids)
        input_ids, attention_mask = left_pad(rows, self.pad_token_id)
        return input_ids.to(self.device), attention_mask.to(self.device)

    def _next_prompts(self, n: int) -> list[str]:
        """n prompts from the pool: a fresh shuffled pass whenever the current one runs out."""
        while len(self._prompt_queue) < n:
            order = list(range(len(self.prompts)))
            self._prompt_rng.shuffle(order)
            self._prompt_queue.extend(order)
        chosen, self._prompt_queue = self._prompt_queue[:n], self._prompt_queue[n:]
        return [self.prompts[i] for i in chosen]

    def _samples(self, r: Rollout) -> list[dict]:
        """Per-reply dicts for the UI: text, score, total KL and the per-token KL of every real reply token."""
        samples = []
        for i in range(len(r.prompts)):
            n = int(r.last_index[i]) + 1  # real tokens, the stop token included
            ids = r.responses[i, :n].tolist()
            samples.append({
                "prompt": r.prompts[i],
                "response": r.response_texts[i],
                "score": float(r.scores[i]),
                "raw_score": float(r.raw_scores[i]),
                "kl": float(r.kl[i].sum()),
                "tokens": [self.tokenizer.decode([t]) for t in ids],
                "token_kl": [float(x) for x in r.kl[i, :n].tolist()],
            })
        return samples

    @contextlib.contextmanager
    def _seeded(self, seed: int):
        """Run the block with torch's RNG seeded, then restore the caller's RNG state (no global side effect)."""
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield


def _top_layers(model, n: int | None) -> list[int] | None:
    """Indices of the top `n` transformer blocks (None = all). Gradients then stop at the lowest adapted block:
    the blocks below it run forward only, so the backward pass costs n / n_layers of a full one."""
    n_layers = getattr(getattr(model, "config", None), "num_hidden_layers", None)
    if n is None or n_layers is None or n >= n_layers:
        return None
    return list(range(n_layers - n, n_layers))


def _trunk_split(model, n: int | None):
    """(decoder, index of its lowest adapted block) for a Llama-style decoder (layers, norm, rotary_emb) adapted in
    its top n blocks only; None otherwise (every pass then runs the whole model)."""
    inner = getattr(model.get_base_model(), "model", None)
    layers = getattr(inner, "layers", None)
    if n is None or layers is None or not all(hasattr(inner, a) for a in ("norm", "rotary_emb", "config")):
        return None
    start = len(layers) - n
    return (inner, start) if start > 0 else None


def _default_target_modules(model) -> list[str]:
    """peft's default LoRA targets for the model's architecture, else the attention query/value projections."""
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING

    model_type = getattr(getattr(model, "config", None), "model_type", None)
    return list(TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING.get(model_type, ["q_proj", "v_proj"]))


__all__ = [
    "PPOConfig", "PPOEngine", "RewardScorer", "Rollout", "StepResult", "adaptive_kl_coef", "capture_lm_head_input",
    "entropy_from_logits", "first_true_indices", "gae", "group_advantages", "kl_per_token", "masked_mean", "masked_var", "masked_whiten",
    "selective_logprobs", "truncate_after", "whiten",
]
