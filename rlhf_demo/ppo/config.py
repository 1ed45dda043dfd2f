"""PPOConfig: every knob of our PPO engine (`rlhf_demo/ppo/engine.py`), with the reasoning next to each field.

Field names follow TRL's PPOConfig where TRL has the same knob (learning_rate, batch_size, response_length,
temperature, kl_coef, kl_estimator, cliprange, ...), so that numbers from TRL examples and from the paper
"The N Implementation Details of RLHF with PPO" (Huang et al., 2024) carry over unchanged.

The defaults are what made RLHF visibly work on SmolLM2-135M-Instruct on a 2-core CPU within a lesson
(`benchmarks/ppo_learning.py`): 16 replies per step, 4 to each of 4 prompts, judged against each other (RLOO's group
baseline), LoRA in the top 8 of 30 blocks only, 2 PPO epochs of 2 minibatches at a high LoRA learning rate.
TRL's defaults (64 rollouts, 4 epochs, 53 tokens, lr 3e-6 on every weight) target a GPU.

Live changes. The engine keeps a reference to the config object and re-reads it at the start of every `step()`,
so these fields may be changed between steps and take effect on the next one:

    batch_size, samples_per_prompt, baseline, response_length, max_prompt_length, temperature, stop_token_id,
    stop_strings, missing_eos_penalty,
    normalize_scores, kl_coef, kl_estimator, kl_target, kl_horizon, whiten_rewards, gamma, lam,
    learning_rate, num_ppo_epochs, num_mini_batches, gradient_accumulation_steps,
    cliprange, cliprange_value, vf_coef, max_grad_norm

These are read once, when the engine is built (changing them later has no effect until a new engine is built):

    lora_r, lora_alpha, lora_layers, lora_dropout, lora_target_modules  (they shape the adapter's tensors)
    seed                                                     (also re-read by `PPOEngine.reset()`)
"""

from __future__ import annotations

from dataclasses import dataclass

from rlhf_demo.bounds import MAX_KL_COEF, MAX_LEARNING_RATE, MAX_TEMPERATURE, MIN_TEMPERATURE
from rlhf_demo.data.hh import STOP_STRINGS

# upper bounds of a step's size (memory, see `validate`): refused with a clear message, never an out-of-memory kill
MAX_BATCH_SIZE = 512
MAX_RESPONSE_LENGTH = 1024
MAX_PROMPT_LENGTH = 4096
MAX_REPLY_TOKENS = 8192  # batch_size x response_length
# optimiser steps per PPO step = num_ppo_epochs x num_mini_batches: TRL uses 4 x 1, we 2 x 2. More epochs over the same
# replies only overfit them (the clipped ratio stops every update), and each costs a pass over the batch: 10**9 epochs
# made one step that Stop could not end.
MAX_PPO_EPOCHS = 16
MAX_MINI_BATCHES = 64

STATE_FILE = "ppo_state.json"  # written last into a saved PPO run (PPOEngine.save): its completion marker

GROUP_SIZE = 4  # replies per prompt with the group baseline (RLOO's k; GRPO uses 8-64 on a GPU)

# The reward-hacking demo (the PPO tab's button, benchmarks/ppo_learning.py): no KL leash, a larger step size.
HACK_SETTINGS = {"kl_coef": 0.0, "learning_rate": 3e-3}


@dataclass
class PPOConfig:
    # --- rollout: what one PPO step generates -------------------------------------------------------------
    batch_size: int = 16  # replies (= rollouts) per PPO step. TRL: 64 on a GPU. On a CPU, decoding streams every
    #                       weight once per token whatever the batch, so 16 replies cost far less than twice 8;
    #                       with 8, the scores of one batch were too noisy to move SmolLM2 in a lesson.
    response_length: int = 32  # max new tokens per reply (`max_new_tokens`). Generation stops earlier when every
    #                            reply has emitted the stop token. Generation time grows linearly with this.
    max_prompt_length: int = 128  # prompts longer than this keep their LAST tokens (left truncation), so the final
    #                               "\n\nAssistant:" the reply continues from is never cut off. Every forward pass
    #                               runs over prompt + reply, so on a CPU this bounds the step time: most hh-rlhf
    #                               first turns fit in 128 tokens, long multi-turn dialogues lose their oldest turns.
    temperature: float = 0.7  # sampling temperature. PPO's log-probs are computed with the same temperature
    #                           (logits / T), so the ratio and the KL compare the distribution we sampled from.
    stop_token_id: int | None = None  # token that ends a reply; None -> tokenizer.eos_token_id. Tokens after it are
    #                                   replaced by padding and ignored by every loss.
    stop_strings: tuple[str, ...] = STOP_STRINGS  # text that also ends a reply: the model
    #                                   starting the next dialogue turn (as in the arena). The token that completes
    #                                   the string is the reply's last real token; () = stop token only (TRL).
    missing_eos_penalty: float | None = None  # subtracted from the score of replies that never emit the stop token
    #                                           (TRL's trick to teach the policy to finish). None = off: with
    #                                           short responses most replies are cut, and the penalty would drown
    #                                           the reward model's signal.

    samples_per_prompt: int = GROUP_SIZE  # k replies to each prompt in a batch (batch_size / k prompts). With
    #                                       k >= 2 the replies to one prompt can be compared with each other.
    baseline: str = "group"  # what an advantage is measured against. "value": PPO's learned value head + GAE.
    #                          "group": RLOO's leave-one-out mean of the other replies to the same prompt (needs
    #                          samples_per_prompt >= 2). The reward model's score depends far more on the PROMPT than
    #                          on the reply (a knife question scores low whatever is said), and a zero-initialised value
    #                          head needs many steps to learn that; the group baseline cancels it from step 1. With
    #                          "value" and 8 replies per step the held-out score did not move in 16 steps.

    # --- reward shaping: score from the reward model + per-token KL penalty ----------------------------------
    normalize_scores: bool = True  # reward normalisation (Ziegler et al. 2019 / lm-human-preferences): before the
    #                                first step, score `score_norm_samples` replies of the base policy and from then
    #                                on report (score - their mean) / their std. Scores are then "standard deviations
    #                                better than the base policy", and beta means the same for every reward model
    #                                (reward models trained for 12 or for 48 steps differed 100x in scale here).
    score_norm_samples: int = 32  # replies scored once to fit the normalisation (4 batches of 8: ~15 s for
    #                               SmolLM2-135M on a 2-core CPU, well under a second for the tiny policy).
    kl_coef: float = 0.05  # beta: each response token gets reward -beta * KL(policy || reference). Large beta keeps
    #                        the policy close to the base model; beta -> 0 lets it chase (and hack) the reward.
    kl_estimator: str = "k1"  # per-token KL estimate from the sampled token: "k1" = logp - ref_logp (unbiased,
    #                           can be negative), "k3" = (r - 1) - log r with r = ref_p / p (unbiased, always >= 0,
    #                           lower variance). See http://joschu.net/blog/kl-approx.html.
    kl_target: float | None = None  # adaptive KL controller (Ziegler et al., 2019): if set, beta is nudged every step
    #                                 so the mean per-reply KL tracks this target. None = fixed beta. The engine
    #                                 writes the adapted value back into `kl_coef`, so the UI always shows it.
    kl_horizon: int = 512  # controller time constant, in rollouts: beta moves by at most 20% * batch/horizon per
    #                        step. Ziegler used 10,000 (with batches of 512); 512 lets a demo see beta move.
    whiten_rewards: bool = False  # normalise the per-token rewards to unit variance (mean kept) before GAE.
    #                               TRL's default is off; it helps when reward-model scores have a large scale.

    # --- advantage estimation (GAE) --------------------------------------------------------------------------
    gamma: float = 1.0  # discount. 1.0: a reply is one short episode, the final score should reach every token.
    lam: float = 0.95  # GAE lambda: bias/variance trade-off between one-step TD (0) and Monte-Carlo returns (1).

    # --- PPO optimisation --------------------------------------------------------------------------------------
    learning_rate: float = 2e-3  # AdamW lr for the LoRA adapter and the value head. LoRA needs a far higher lr
    #                              than full fine-tuning (TRL's 3e-6); 3e-4 is a common LoRA setting, but moved
    #                              SmolLM2 by ~0 nats of KL in 10 steps here, and a lesson has ~20 steps.
    num_ppo_epochs: int = 2  # passes over each batch of rollouts. TRL uses 4. From the second pass on the policy
    #                          has moved, so the ratio, approx KL and clipping show; each pass costs one
    #                          forward+backward of the top lora_layers blocks only.
    num_mini_batches: int = 2  # the batch is split into this many minibatches; one optimizer step per minibatch.
    gradient_accumulation_steps: int = 1  # split each minibatch into this many micro-batches (one backward each)
    #                                       before the optimizer step: same update, less activation memory.
    cliprange: float = 0.2  # PPO ratio clip epsilon: the policy loss ignores ratios outside [1-eps, 1+eps].
    cliprange_value: float = 0.2  # the value prediction may move at most this far from the rollout value
    #                               before its loss stops pulling (clipped value loss, as in TRL / OpenAI).
    vf_coef: float = 0.1  # weight of the value loss. The value head shares the backbone (and the LoRA adapter)
    #                       with the policy, so a large value loss would distort the policy's features.
    max_grad_norm: float = 1.0  # clip the global gradient norm before each optimizer step.

    # --- LoRA adapter (read once, when the engine is built) ---------------------------------------------------
    lora_r: int = 16  # adapter rank; the adapter holds 2 * r * d parameters per targeted d x d matrix.
    lora_alpha: int = 32  # LoRA scale = alpha / r; alpha = 2r is the usual choice.
    lora_layers: int | None = 8  # adapt only the top N transformer blocks (None = all). The blocks below are frozen
    #                              and shared by policy and reference: a rollout records the states entering block
    #                              n_layers - N, and the reference pass and every PPO epoch run only the N blocks
    #                              above (SmolLM2-135M: 8 of 30). Style and tone, what RLHF changes first, live there.
    lora_dropout: float = 0.0  # dropout on the adapter input during the PPO update. 0 keeps the PPO ratio exactly 1
    #                            on the first minibatch (dropout noise would look like a policy change).
    lora_target_modules: list[str] | None = None  # module names to adapt; None -> peft's default for the model's
    #                                               architecture (q_proj/v_proj for Llama), else q_proj/v_proj.

    # --- reproducibility ----------------------------------------------------------------------------------
    seed: int = 0  # seeds prompt order, sampling and minibatch shuffling: same seed + same steps = same run.

    def validate(self) -> "PPOConfig":
        """Raise ValueError with a readable message for the first bad field; return self when all are fine."""

        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ValueError(f"PPOConfig: {message}")

        def is_int(x) -> bool:
            return isinstance(x, int) and not isinstance(x, bool)

        def is_num(x) -> bool:  # a real, finite number (not a bool, not a string, not NaN)
            return (isinstance(x, (int, float)) and not isinstance(x, bool)) and x == x and abs(x) != float("inf")

        need(is_int(self.batch_size) and self.batch_size >= 1, f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        need(is_int(self.response_length) and self.response_length >= 1,
             f"response_length must be an integer >= 1, got {self.response_length!r}")
        need(is_int(self.max_prompt_length) and self.max_prompt_length >= 1,
             f"max_prompt_length must be an integer >= 1, got {self.max_prompt_length!r}")
        need(is_num(self.temperature) and MIN_TEMPERATURE <= self.temperature <= MAX_TEMPERATURE,
             f"temperature must be in [{MIN_TEMPERATURE:g}, {MAX_TEMPERATURE:g}] (sampling divides the logits by it), "
             f"got {self.temperature!r}")
        need(self.stop_token_id is None or (is_int(self.stop_token_id) and self.stop_token_id >= 0),
             f"stop_token_id must be None or a token id >= 0, got {self.stop_token_id!r}")
        need(isinstance(self.stop_strings, (tuple, list)) and all(isinstance(x, str) and x for x in self.stop_strings),
             f"stop_strings must be a tuple of non-empty strings (or empty), got {self.stop_strings!r}")
        need(self.missing_eos_penalty is None or (is_num(self.missing_eos_penalty) and self.missing_eos_penalty >= 0),
             f"missing_eos_penalty must be None or >= 0 (it is subtracted), got {self.missing_eos_penalty!r}")
        need(is_int(self.samples_per_prompt) and self.samples_per_prompt >= 1,
             f"samples_per_prompt must be an integer >= 1, got {self.samples_per_prompt!r}")
        # upper bounds, from memory: a rollout keeps the logits of every generated token (batch x length x vocab
        # floats; SmolLM2's vocab is 49,152: 8,192 tokens ~ 1.6 GB per copy) and the states of prompt + reply
        need(self.batch_size <= MAX_BATCH_SIZE, f"batch_size must be <= {MAX_BATCH_SIZE}, got {self.batch_size}")
        need(self.response_length <= MAX_RESPONSE_LENGTH,
             f"response_length must be <= {MAX_RESPONSE_LENGTH}, got {self.response_length}")
        need(self.max_prompt_length <= MAX_PROMPT_LENGTH,
             f"max_prompt_length must be <= {MAX_PROMPT_LENGTH}, got {self.max_prompt_length}")
        need(self.batch_size * self.response_length <= MAX_REPLY_TOKENS,
             f"batch_size x response_length must be <= {MAX_REPLY_TOKENS:,} tokens (memory), got "
             f"{self.batch_size} x {self.response_length} = {self.batch_size * self.response_length:,}")
        need(is_int(self.score_norm_samples) and self.score_norm_samples <= 4096,
             f"score_norm_samples must be <= 4096, got {self.score_norm_samples!r}")
        need(is_int(self.batch_size) and self.batch_size % self.samples_per_prompt == 0,
             f"batch_size ({self.batch_size}) must be divisible by samples_per_prompt ({self.samples_per_prompt})")
        need(self.baseline in ("value", "group"), f"baseline must be 'value' or 'group', got {self.baseline!r}")
        need(self.baseline != "group" or self.samples_per_prompt >= 2,
             "baseline 'group' compares replies to the same prompt: it needs samples_per_prompt >= 2")
        need(is_int(self.score_norm_samples) and self.score_norm_samples >= 2,
             f"score_norm_samples must be an integer >= 2 (a standard deviation needs two), got {self.score_norm_samples!r}")
        need(is_num(self.kl_coef) and 0 <= self.kl_coef <= MAX_KL_COEF,
             f"kl_coef (β) must be in [0, {MAX_KL_COEF:g}], got {self.kl_coef!r}")
        need(self.kl_estimator in ("k1", "k3"), f"kl_estimator must be 'k1' or 'k3', got {self.kl_estimator!r}")
        need(self.kl_target is None or (is_num(self.kl_target) and self.kl_target > 0),
             f"kl_target must be None or > 0, got {self.kl_target!r}")
        need(is_int(self.kl_horizon) and self.kl_horizon >= 1, f"kl_horizon must be an integer >= 1, got {self.kl_horizon!r}")
        need(is_num(self.gamma) and 0.0 <= self.gamma <= 1.0, f"gamma must be in [0, 1], got {self.gamma!r}")
        need(is_num(self.lam) and 0.0 <= self.lam <= 1.0, f"lam must be in [0, 1], got {self.lam!r}")
        need(is_num(self.learning_rate) and 0 < self.learning_rate <= MAX_LEARNING_RATE,
             f"learning_rate must be in (0, {MAX_LEARNING_RATE:g}], got {self.learning_rate!r}")
        need(is_int(self.num_ppo_epochs) and 1 <= self.num_ppo_epochs <= MAX_PPO_EPOCHS,
             f"num_ppo_epochs must be an integer in [1, {MAX_PPO_EPOCHS}], got {self.num_ppo_epochs!r}")
        need(is_int(self.num_mini_batches) and 1 <= self.num_mini_batches <= MAX_MINI_BATCHES,
             f"num_mini_batches must be an integer in [1, {MAX_MINI_BATCHES}], got {self.num_mini_batches!r}")
        need(is_int(self.gradient_accumulation_steps) and self.gradient_accumulation_steps >= 1,
             f"gradient_accumulation_steps must be an integer >= 1, got {self.gradient_accumulation_steps!r}")
        need(self.batch_size % self.num_mini_batches == 0,
             f"batch_size ({self.batch_size}) must be divisible by num_mini_batches ({self.num_mini_batches})")
        need(self.mini_batch_size % self.gradient_accumulation_steps == 0,
             f"the minibatch size batch_size / num_mini_batches ({self.mini_batch_size}) must be divisible by "
             f"gradient_accumulation_steps ({self.gradient_accumulation_steps})")
        need(is_num(self.cliprange) and self.cliprange > 0, f"cliprange must be > 0, got {self.cliprange!r}")
        need(is_num(self.cliprange_value) and self.cliprange_value > 0,
             f"cliprange_value must be > 0, got {self.cliprange_value!r}")
        need(is_num(self.vf_coef) and self.vf_coef >= 0, f"vf_coef must be >= 0, got {self.vf_coef!r}")
        need(is_num(self.max_grad_norm) and self.max_grad_norm > 0, f"max_grad_norm must be > 0, got {self.max_grad_norm!r}")
        need(is_int(self.lora_r) and self.lora_r >= 1, f"lora_r must be an integer >= 1, got {self.lora_r!r}")
        need(is_num(self.lora_alpha) and self.lora_alpha > 0, f"lora_alpha must be > 0, got {self.lora_alpha!r}")
        need(self.lora_layers is None or (is_int(self.lora_layers) and self.lora_layers >= 1),
             f"lora_layers must be None or an integer >= 1, got {self.lora_layers!r}")
        need(is_num(self.lora_dropout) and 0.0 <= self.lora_dropout < 1.0,
             f"lora_dropout must be in [0, 1), got {self.lora_dropout!r}")
        need(self.lora_target_modules is None or (isinstance(self.lora_target_modules, (list, tuple))
                                                  and len(self.lora_target_modules) > 0),
             f"lora_target_modules must be None or a non-empty list of module names, got {self.lora_target_modules!r}")
        need(is_int(self.seed), f"seed must be an integer, got {self.seed!r}")
        return self

    @property
    def mini_batch_size(self) -> int:
        """Rollouts per optimizer step."""
        return self.batch_size // self.num_mini_batches

    @property
    def micro_batch_size(self) -> int:
        """Rollouts per forward/backward pass."""
        return self.mini_batch_size // self.gradient_accumulation_steps
