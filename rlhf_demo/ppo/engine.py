"""PPO for RLHF, from scratch, on one LoRA-adapted causal LM.

TRL >= 1.13 no longer ships a PPO trainer, so this package is the whole algorithm; this file is the recipe, top to bottom.
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

Two guards in step 8: a loss, gradient or weight that turns NaN or infinite (a learning rate far too high) rolls
the whole step back (adapter, value head, Adam's moments; `guard.py`) and raises `NonFiniteStep`; and `should_stop()`, asked
after every optimiser step, ends the update there (a Stop or a deadline never waits for `num_ppo_epochs` passes).

Shapes in comments: B = rollouts, P = prompt length (left-padded), L = response length, V = vocab, H = hidden size.

Where the pieces are: the rollout (steps 2-5) in `rollout.py`, the forward passes over prompt + reply in
`policy.py`, the pure helpers (`masked_whiten`, `gae`, `group_advantages`, `kl_per_token`, ...) in `core.py`, tested
against plain-Python loops. A step costs: generate + one no-grad reference forward + `num_ppo_epochs` forward/backward
passes.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn

from rlhf_demo.lane import LANE
from rlhf_demo.models.decoding import Backend, SamplingModel, get_backend, precision
from rlhf_demo.models.generation import left_pad
from rlhf_demo.models.seeding import global_rng_from, seeded_generator
from rlhf_demo.models.weights import weights_problem
from rlhf_demo.ppo.config import STATE_FILE, PPOConfig
from rlhf_demo.ppo.core import (
    adaptive_kl_coef,
    gae,
    group_advantages,
    kl_per_token,
    logprobs_and_entropy,
    masked_mean,
    masked_whiten,
    selective_logprobs,
)
from rlhf_demo.ppo.guard import NonFiniteStep, NonFiniteWeights, StepGuard
from rlhf_demo.ppo.policy import default_target_modules, forward_reply, top_layers, trunk_split
from rlhf_demo.ppo.rollout import Rollout, rollout
from rlhf_demo.reward.model import RewardScorer
from rlhf_demo.storage import atomic_folder, file_sha256

# ----------------------------------------------------------------------------------------------------------
# data passed around during a step


@dataclass
class StepResult:
    metrics: dict[str, float]  # TRL's metric names, plus time/*, step, lr, kl_coef
    samples: list[dict]  # one per rollout: prompt, response, score, kl, tokens, token_kl
    config: dict  # the frozen PPOConfig snapshot this step ran with (asdict)


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
    decoding: the rollout backend (`models/decoding.py`: "eager", "fp32", "fast32", "bf16", or a `Backend`), normally the
        one `decoding.choose_backend` measured fastest on this machine; rollouts, probes and evaluations use it.

    Each step runs on a frozen copy of `self.config` taken when it starts (`StepResult.config`), so a change made
    meanwhile takes effect at the next step; see `rlhf_demo/ppo/config.py` for the fields that may change between
    steps (kl_coef, learning_rate, temperature, batch_size, response_length, ...) and those fixed at construction.
    """

    def __init__(self, policy, tokenizer, reward: RewardScorer, prompts: list[str], config: PPOConfig | None = None,
                 device: str | torch.device | None = None, format_prompt: Callable[[str], str] | None = None,
                 decoding: str | Backend = "eager"):
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
                                 target_modules=cfg.lora_target_modules or default_target_modules(policy),
                                 layers_to_transform=top_layers(policy, cfg.lora_layers),
                                 task_type="CAUSAL_LM", bias="none")
        with global_rng_from(seeded_generator(cfg.seed), "building the PPO policy", "training"):  # peft's init: global RNG
            self.model = get_peft_model(policy.to(self.device), lora_config)
        self.model.eval()  # train() only around the PPO update (enables lora_dropout, if any)
        # what rollouts sample with: the policy itself, or a lower-precision copy synced with the adapter each rollout
        self.backend = decoding if isinstance(decoding, Backend) else get_backend(decoding)
        if self.backend.train_attention:
            self.model.get_base_model().set_attn_implementation(self.backend.train_attention)
        self.sampling = SamplingModel(self.model, self.backend)

        # with lora_layers, the blocks below the adapter are frozen and shared by policy and reference: rollouts record
        # the states entering the lowest adapted block, and every later pass (reference, PPO epochs) starts there
        self.trunk_split = trunk_split(self.model, cfg.lora_layers)

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

    def save(self, directory: str | Path, info: dict | None = None, files: dict[str, str] | None = None,
             optimizer: bool = False) -> Path:
        """Write the LoRA adapter (peft format: adapter_model.safetensors + adapter_config.json), the value head
        (value_head.safetensors) and, last, ppo_state.json (config, step, `info`): the completion marker. The folder
        is written under a temporary name and renamed into place (`storage.atomic_folder`): a crash mid-save leaves
        no folder that looks whole. `directory` must not exist yet. `files`: more text files to write into it
        (name -> content, e.g. the run's metrics). `optimizer`: also Adam's moments (optimizer.pt), so that a
        resumed run continues exactly where it stopped. Returns the directory. Raises `NonFiniteWeights` (nothing
        written) when the adapter or the value head holds a NaN or an infinity."""
        from safetensors.torch import save_file

        with self._lock:
            problem = self.weights_problem()
            if problem is not None:
                raise NonFiniteWeights(f"The policy was not saved: {problem}. Reset to the base policy and run again "
                                       "with a lower learning rate.")
        with self._lock, atomic_folder(directory, STATE_FILE) as tmp:
            self.model.save_pretrained(str(tmp))
            save_file({k: v.detach().cpu().contiguous() for k, v in self.value_head.state_dict().items()},
                      str(tmp / "value_head.safetensors"))
            for name, text in (files or {}).items():
                (tmp / name).write_text(text)
            if optimizer:
                torch.save(self.optimizer.state_dict(), tmp / "optimizer.pt")
            state = {"step": self.step_count, "config": asdict(self.config), "score_norm": self.score_norm,
                     "adapter_sha256": file_sha256(tmp / "adapter_model.safetensors"), **(info or {})}
            (tmp / STATE_FILE).write_text(json.dumps(state, indent=2))  # last: the completion marker
        return Path(directory)

    def load(self, directory: str | Path, optimizer: bool = False) -> None:
        """Load what `save` wrote (adapter, value head, step count) into this engine. The optimizer starts fresh
        unless `optimizer` (and the folder has optimizer.pt); `self.config` is left as it is (the saved config is
        in ppo_state.json for reference). Raises `NonFiniteWeights` (nothing loaded) when the saved adapter or value
        head holds a NaN or an infinity."""
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        directory = Path(directory)
        adapter = load_file(str(directory / "adapter_model.safetensors"), device=str(self.device))
        value_head = load_file(str(directory / "value_head.safetensors"), device=str(self.device))
        problem = weights_problem({**adapter, **{f"value_head.{k}": v for k, v in value_head.items()}})
        if problem is not None:
            raise NonFiniteWeights(f"{directory.name} cannot be loaded: {problem}.")
        state = json.loads((directory / STATE_FILE).read_text())
        step = int(state["step"])
        with self._lock:
            if state.get("score_norm"):
                self.score_norm = tuple(state["score_norm"])
            set_peft_model_state_dict(self.model, adapter)
            self.value_head.load_state_dict(value_head)
            self.step_count = step
            self.optimizer = self._new_optimizer()
            if optimizer and (directory / "optimizer.pt").is_file():
                self.optimizer.load_state_dict(torch.load(directory / "optimizer.pt", map_location=self.device))

    def weights_problem(self) -> str | None:
        """None when the adapter and the value head are finite, else a sentence saying how many tensors are not."""
        tensors = {name: p for name, p in self.model.named_parameters() if p.requires_grad}
        tensors.update({f"value_head.{k}": v for k, v in self.value_head.state_dict().items()})
        return weights_problem(tensors)

    # ------------------------------------------------------------------------------------------------------
    # rollout: steps 2-5 of the recipe (also used for the fixed probe prompts)

    def rollout(self, prompts: list[str], cfg: PPOConfig | None = None, rng: torch.Generator | None = None) -> Rollout:
        """Steps 2-5 for `prompts` under `cfg` (default: a snapshot of `self.config`), sampling from `rng` (None: the
        global RNG): see `rollout.rollout`. In one turn of the compute lane (`rlhf_demo/lane.py`): an arena round
        waits for a rollout, not for a whole step."""
        with LANE("PPO rollout", "training"):
            return rollout(self, prompts, cfg if cfg is not None else replace(self.config).validate(), rng)

    def generate_probes(self, prompts: list[str], seed: int = 0) -> list[dict]:
        """Replies of the current policy to fixed prompts, sampled with a fixed seed (so successive calls differ only
        because the policy changed). Same dicts as `StepResult.samples`; nothing is trained."""
        with self._lock:
            self.fit_score_norm()
            return self._samples(self.rollout(prompts, rng=self._rng(seed)))  # a snapshot of the config, as a step takes

    def fit_score_norm(self) -> tuple[float, float] | None:
        """Reward normalisation, once: score `score_norm_samples` replies of the policy as it is now (the base policy,
        unless an adapter was loaded) to prompts from the pool; remember their mean and std. No-op when already
        fitted or when `normalize_scores` is off. A reward model that scores everything alike keeps std 1."""
        with self._lock:
            cfg = replace(self.config).validate()
            if self.score_norm is not None or not cfg.normalize_scores:
                return self.score_norm
            pool_rng = random.Random(cfg.seed + 1)
            prompts = [pool_rng.choice(self.prompts) for _ in range(cfg.score_norm_samples)]
            # in chunks of >= 16: decoding streams every weight once per token whatever the batch, so on a CPU one
            # batch of 32 replies costs little more than one of 8
            chunk = max(cfg.batch_size, 16)
            rng = self._rng(cfg.seed + 1)
            raw = torch.cat([self.rollout(prompts[i:i + chunk], cfg, rng).raw_scores.float().cpu()
                             for i in range(0, len(prompts), chunk)])
            std = raw.std().item()
            self.score_norm = (raw.mean().item(), std if std > 1e-6 else 1.0)
            return self.score_norm

    # ------------------------------------------------------------------------------------------------------
    # one PPO iteration

    def step(self, should_stop: Callable[[], bool] | None = None) -> StepResult:
        """Run one PPO iteration (rollout, advantages, PPO epochs) and return its metrics and samples.

        should_stop: asked after every optimiser step of the update; True ends the update there (the step counts,
        with fewer passes). Raises `NonFiniteStep` after rolling back a step whose numbers turned NaN or infinite."""
        with self._lock:
            return self._step(should_stop)

    def _step(self, should_stop: Callable[[], bool] | None = None) -> StepResult:
        # one frozen copy of the config for the whole step: a UI that changes `self.config` meanwhile (β, temperature,
        # ...) cannot make the rollout and the PPO loss disagree; the change takes effect at the next step
        cfg = replace(self.config).validate()
        self.fit_score_norm()  # once, before the first step (not timed as part of a step)
        t_start = time.perf_counter()
        rng = self._rng(cfg.seed * 1_000_003 + self.step_count)  # the step's random stream: sampling, shuffling
        # 1. a batch of prompts, without replacement until the pool is used up; with samples_per_prompt = k,
        # batch_size / k prompts, each k times in a row (a group: rows g*k ... g*k + k - 1)
        k = cfg.samples_per_prompt
        prompts = [p for p in self._next_prompts(cfg.batch_size // k) for _ in range(k)]

        # 2-5. generate, log-probs, truncate, masks, score
        r = self.rollout(prompts, cfg, rng)
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

        # 8. PPO epochs over shuffled minibatches (rolled back whole if a number turns NaN or infinite)
        t_update = time.perf_counter()
        stats = self._ppo_update(r, advantages, returns, cfg, should_stop, rng)
        update_seconds = time.perf_counter() - t_update

        # the adaptive KL controller updates beta for the NEXT step, from this batch's mean per-reply KL
        mean_kl = r.kl.sum(1).mean().item()
        if cfg.kl_target is not None:  # written to the live config: the next step's snapshot reads it
            self.config.kl_coef = adaptive_kl_coef(cfg.kl_coef, mean_kl, cfg.kl_target, cfg.kl_horizon, B)
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
            "time/policy_seconds": r.policy_seconds,  # float32 log-probs of a bfloat16 rollout (see rollout.py)
            "time/reference_seconds": r.reference_seconds,
            "time/reward_seconds": r.reward_seconds,
            "time/update_seconds": update_seconds,
            "time/step_seconds": time.perf_counter() - t_start,
            "step": float(self.step_count),
            "lr": float(cfg.learning_rate),
            "kl_coef": float(kl_coef),  # beta used for THIS step's rewards
        }
        return StepResult(metrics=metrics, samples=self._samples(r), config=asdict(cfg))

    def _ppo_update(self, r: Rollout, advantages: torch.Tensor, returns: torch.Tensor, cfg: PPOConfig,
                    should_stop: Callable[[], bool] | None = None, rng: torch.Generator | None = None) -> dict[str, float]:
        """Step 8: `num_ppo_epochs` passes of clipped PPO over shuffled minibatches. Returns averaged statistics.

        Every loss, gradient and updated weight must be finite, else the step is rolled back (`guard.py`) and
        `NonFiniteStep` raised; `should_stop()` is asked after every optimiser step (a Stop ends the update there)."""
        B = r.responses.shape[0]
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.learning_rate
        guard = StepGuard(self.model, self.value_head, self.optimizer, self.step_count + 1, cfg.learning_rate)
        totals: dict[str, float] = {}
        n_micro = 0
        self.model.train()
        stopped = False
        try:
            for _epoch in range(cfg.num_ppo_epochs):
                if stopped:
                    break
                order = torch.randperm(B, device=self.device, generator=rng)
                for mb_start in range(0, B, cfg.mini_batch_size):
                    mb_indices = order[mb_start: mb_start + cfg.mini_batch_size]
                    self.optimizer.zero_grad(set_to_none=True)
                    # one optimiser step per turn of the compute lane; LoRA dropout, if any, draws from `rng`
                    with global_rng_from(rng, "PPO update", "training"):
                        for micro_start in range(0, cfg.mini_batch_size, cfg.micro_batch_size):
                            idx = mb_indices[micro_start: micro_start + cfg.micro_batch_size]
                            loss, stats = self._ppo_loss(r, idx, advantages[idx], returns[idx], cfg)
                            guard.require_finite("loss", {"loss": loss.detach()})
                            (loss / cfg.gradient_accumulation_steps).backward()
                            for k, v in stats.items():
                                totals[k] = totals.get(k, 0.0) + v
                            n_micro += 1
                        guard.require_finite("gradients", guard.trained(grad=True))
                        torch.nn.utils.clip_grad_norm_(self.trainable_parameters, cfg.max_grad_norm)
                        self.optimizer.step()
                        guard.require_finite("updated weights", guard.trained())
                    if should_stop is not None and should_stop():  # Stop / a deadline: within one optimiser step
                        stopped = True
                        break
            # weights can be finite yet so large that a forward pass overflows: the updated policy must still give
            # a finite loss on one rollout (no gradient)
            with torch.no_grad():
                first = order[:1]
                loss, _ = self._ppo_loss(r, first, advantages[first], returns[first], cfg)
            guard.require_finite("loss of the updated policy", {"loss": loss})
        except NonFiniteStep:
            guard.roll_back()  # adapter, value head and Adam's moments as the step found them
            raise
        finally:
            self.model.eval()
            self.optimizer.zero_grad(set_to_none=True)  # free the gradients between steps
        return {k: v / n_micro for k, v in totals.items()}

    def _ppo_loss(self, r: Rollout, idx: torch.Tensor, mb_advantages: torch.Tensor, mb_returns: torch.Tensor,
                  cfg: PPOConfig) -> tuple[torch.Tensor, dict[str, float]]:
        """Clipped policy loss + vf_coef * clipped value loss on the rollouts `idx`, and their statistics."""
        valid = ~r.padding_mask[idx]  # (b, L)
        with precision(self.backend, self.device):  # bfloat16 autocast for "bf16", as the rollout's forward ran
            logits, hidden = forward_reply(self.model, self.trunk_split, r.query_responses[idx], r.attention_mask[idx],
                                           r.context_length, None if r.trunk is None else r.trunk[idx],
                                           None if r.groups is None else r.groups[idx])  # (b, L, V), (b, L, H)
        new_logprobs, entropy = logprobs_and_entropy(logits, r.responses[idx], cfg.temperature)  # (b, L) each
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
                "policy/entropy_avg": masked_mean(entropy, valid).item(),
            }
        return loss, stats

    # ------------------------------------------------------------------------------------------------------
    # small pieces

    def encode_prompts(self, prompts: list[str], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokenize (after format_prompt), keep the last `max_len` tokens, left-pad. -> ids, mask (B, P)."""
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
        """Per-reply dicts for the UI: text, score, total KL, whether the token limit cut it, and the per-token KL of
        every real reply token."""
        samples = []
        # for display: k3 per token (>= 0, unbiased like k1). A single reply's k1 sum can be negative, which reads as a
        # bug on a projector; the objective keeps config.kl_estimator
        k3 = kl_per_token(r.logprobs, r.ref_logprobs, "k3").masked_fill(r.padding_mask, 0.0)  # (B, L)
        for i in range(len(r.prompts)):
            n = int(r.last_index[i]) + 1  # real tokens, the stop token included
            ids = r.responses[i, :n].tolist()
            samples.append({
                "prompt": r.prompts[i],
                "response": r.response_texts[i],
                "score": float(r.scores[i]),
                "raw_score": float(r.raw_scores[i]),
                "kl": float(r.kl[i].sum()),
                "kl_k3": float(k3[i].sum()),
                "cut": not bool(r.contains_stop[i]),  # no stop token: the reply hit the token limit mid-way
                "tokens": [self.tokenizer.decode([t]) for t in ids],
                "token_kl": [float(x) for x in r.kl[i, :n].tolist()],
                "token_kl_k3": [float(x) for x in k3[i, :n].tolist()],
            })
        return samples

    def _rng(self, seed: int) -> torch.Generator:
        """A random stream of its own, seeded (`models/seeding.py`): torch's global RNG is never reseeded, so an arena
        round or a frontier job in another thread neither changes nor is changed by this one."""
        return seeded_generator(seed, self.device)
