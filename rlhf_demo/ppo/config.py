"""PPOConfig: every knob of our PPO engine (`rlhf_demo/ppo/engine.py`), with the reasoning next to each field.

Field names follow TRL's PPOConfig where TRL has the same knob (learning_rate, batch_size, response_length,
temperature, kl_coef, kl_estimator, cliprange, ...), so that numbers from TRL examples and from the paper
"The N Implementation Details of RLHF with PPO" (Huang et al., 2024) carry over unchanged. Each field's help is its
line in `python -m rlhf_demo ppo --help` (the command's parser is generated from these fields).

The defaults are what made RLHF visibly work on SmolLM2-135M-Instruct on a 2-core CPU within a lesson
(`benchmarks/ppo_learning.py`): 16 replies per step, 4 to each of 4 prompts, judged against each other (RLOO's group
baseline), LoRA in the top 8 of 30 blocks only, 2 PPO epochs of 2 minibatches at a high LoRA learning rate.
TRL's defaults (64 rollouts, 4 epochs, 53 tokens, lr 3e-6 on every weight) target a GPU.

Live changes. The PPO tab may change exactly the fields of `LIVE_FIELDS` while a run goes on:

    kl_coef, learning_rate, batch_size, samples_per_prompt, baseline, response_length, temperature, num_ppo_epochs

`PPORun.set_live` refuses every other field. A change is queued and takes effect at the next step.

The engine takes a frozen copy of its config at the start of every `step()`, so a script that drives `PPOEngine`
itself may also change these between steps (the app does not offer them live):

    max_prompt_length, stop_token_id, stop_strings, missing_eos_penalty, normalize_scores, kl_estimator, kl_target,
    kl_horizon, whiten_rewards, gamma, lam, num_mini_batches, gradient_accumulation_steps, cliprange,
    cliprange_value, vf_coef, max_grad_norm

These are read when the engine is built (changing them later has no effect until a new engine is built):

    lora_r, lora_alpha, lora_layers, lora_dropout, lora_target_modules  (they shape the adapter's tensors)

`score_norm_samples` is read once, when the reward normalisation is fitted (before the first step). `seed` draws the
adapter's initialisation when the engine is built and the prompt order at every `PPOEngine.reset()`; each step's
sampling is seeded from it and the step number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rlhf_demo.bounds import MAX_KL_COEF, MAX_LEARNING_RATE, MAX_TEMPERATURE, MIN_TEMPERATURE
from rlhf_demo.config_base import FieldError, LoraArgs, check_choice, check_int, check_number, require
from rlhf_demo.data.hh import STOP_STRINGS

# upper bounds of a step's size (memory, see `check`): refused with a clear message, never an out-of-memory kill
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

# What a user may change from the UI (`PPORun.set_live`; see "Live changes" above). A change is queued and applied
# between steps: every step runs on one frozen copy of the config (recorded with its metrics row under "config"), so
# a slider moved mid-step cannot make the rollout and the PPO loss of that step use different settings.
LIVE_FIELDS = ("kl_coef", "learning_rate", "batch_size", "samples_per_prompt", "baseline", "response_length",
               "temperature", "num_ppo_epochs")


def stop_string_tuple(text: str) -> tuple[str, ...]:
    """`--stop-strings` on the command line: comma-separated, kept as typed ("" = the stop token only)."""
    return tuple(s for s in text.split(",") if s)


@dataclass
class PPOConfig(LoraArgs):
    # --- rollout: what one PPO step generates -------------------------------------------------------------
    batch_size: int = field(default=16, metadata={"help": "replies (rollouts) per PPO step"})
    # TRL: 64 on a GPU. On a CPU, decoding streams every weight once per token whatever the batch, so 16 replies cost
    # far less than twice 8; with 8, the scores of one batch were too noisy to move SmolLM2 in a lesson.
    response_length: int = field(default=32, metadata={"help": "max new tokens per reply"})
    # `max_new_tokens`. Generation stops earlier when every reply has emitted the stop token. Generation time grows
    # linearly with this.
    max_prompt_length: int = field(default=128, metadata={"help": "prompt tokens kept (the last ones)"})
    # prompts longer than this keep their LAST tokens (left truncation), so the final "\n\nAssistant:" the reply
    # continues from is never cut off. Every forward pass runs over prompt + reply, so on a CPU this bounds the step
    # time: most hh-rlhf first turns fit in 128 tokens, long multi-turn dialogues lose their oldest turns.
    temperature: float = field(default=0.7, metadata={"help": "sampling temperature"})
    # PPO's log-probs are computed with the same temperature (logits / T), so the ratio and the KL compare the
    # distribution we sampled from.
    stop_token_id: int | None = field(default=None, metadata={
        "help": "token that ends a reply; None = the tokenizer's eos token"})
    # tokens after it are replaced by padding and ignored by every loss.
    stop_strings: tuple[str, ...] = field(default=STOP_STRINGS, metadata={
        "help": "text that also ends a reply, comma-separated ('' = the stop token only)", "parse": stop_string_tuple})
    # the model starting the next dialogue turn (as in the arena). The token that completes the string is the reply's
    # last real token; () = stop token only (TRL).
    missing_eos_penalty: float | None = field(default=None, metadata={
        "help": "subtracted from the score of replies that never emit the stop token; None = off"})
    # TRL's trick to teach the policy to finish. Off: with short responses most replies are cut, and the penalty
    # would drown the reward model's signal.

    samples_per_prompt: int = field(default=GROUP_SIZE, metadata={
        "help": "replies to each prompt in a batch (batch_size / samples_per_prompt prompts)"})
    # with k >= 2 the replies to one prompt can be compared with each other.
    baseline: str = field(default="group", metadata={
        "help": "advantage baseline: value (PPO's value head + GAE) or group (RLOO: the other replies to the same "
                "prompt; needs samples_per_prompt >= 2)", "choices": ("value", "group")})
    # "group": RLOO's leave-one-out mean of the other replies to the same prompt. The reward model's score depends
    # far more on the PROMPT than on the reply (a knife question scores low whatever is said), and a zero-initialised
    # value head needs many steps to learn that; the group baseline cancels it from step 1. With "value" and 8
    # replies per step the held-out score did not move in 16 steps.

    # --- reward shaping: score from the reward model + per-token KL penalty ----------------------------------
    normalize_scores: bool = field(default=True, metadata={
        "help": "normalise the scores so the base policy's replies score 0 +- 1 (--raw-scores: the reward model's "
                "own scale)", "negation": "--raw-scores"})
    # reward normalisation (Ziegler et al. 2019 / lm-human-preferences): before the first step, score
    # `score_norm_samples` replies of the base policy and from then on report (score - their mean) / their std.
    # Scores are then "standard deviations better than the base policy", and beta means the same for every reward
    # model (reward models trained for 12 or for 48 steps differed 100x in scale here).
    score_norm_samples: int = field(default=32, metadata={"help": "base-policy replies scored to fit the normalisation"})
    # 4 batches of 8: ~15 s for SmolLM2-135M on a 2-core CPU, well under a second for the tiny policy.
    kl_coef: float = field(default=0.05, metadata={
        "help": "beta: each reply token's reward is -beta x KL(policy || reference)"})
    # large beta keeps the policy close to the base model; beta -> 0 lets it chase (and hack) the reward.
    kl_estimator: str = field(default="k1", metadata={
        "help": "per-token KL estimate: k1 = logp - ref_logp, k3 = (r - 1) - log r (always >= 0)",
        "choices": ("k1", "k3")})
    # k1 is unbiased but can be negative; k3, with r = ref_p / p, is unbiased, always >= 0 and of lower variance.
    # See http://joschu.net/blog/kl-approx.html.
    kl_target: float | None = field(default=None, metadata={
        "help": "adaptive KL controller: nudge beta every step so the mean KL per reply tracks this; None = fixed"})
    # Ziegler et al., 2019. The engine writes the adapted value back into `kl_coef`, so the UI always shows it.
    kl_horizon: int = field(default=512, metadata={"help": "the KL controller's time constant, in rollouts"})
    # beta moves by at most 20% * batch/horizon per step. Ziegler used 10,000 (with batches of 512); 512 lets a demo
    # see beta move.
    whiten_rewards: bool = field(default=False, metadata={
        "help": "normalise the per-token rewards to unit variance (mean kept) before GAE"})
    # TRL's default is off; it helps when reward-model scores have a large scale.

    # --- advantage estimation (GAE) --------------------------------------------------------------------------
    gamma: float = field(default=1.0, metadata={"help": "discount"})
    # 1.0: a reply is one short episode, the final score should reach every token.
    lam: float = field(default=0.95, metadata={"help": "GAE lambda"})
    # bias/variance trade-off between one-step TD (0) and Monte-Carlo returns (1).

    # --- PPO optimisation --------------------------------------------------------------------------------------
    learning_rate: float = field(default=2e-3, metadata={
        "help": "AdamW learning rate of the LoRA adapter and the value head", "aliases": ["--lr"]})
    # LoRA needs a far higher lr than full fine-tuning (TRL's 3e-6); 3e-4 is a common LoRA setting, but moved
    # SmolLM2 by ~0 nats of KL in 10 steps here, and a lesson has ~20 steps.
    num_ppo_epochs: int = field(default=2, metadata={"help": "PPO epochs over each batch (TRL uses 4)",
                                                     "aliases": ["--epochs"]})
    # from the second pass on the policy has moved, so the ratio, approx KL and clipping show; each pass costs one
    # forward+backward of the top lora_layers blocks only.
    num_mini_batches: int = field(default=2, metadata={"help": "optimiser steps per PPO epoch (minibatches)",
                                                       "aliases": ["--mini-batches"]})
    # the batch is split into this many minibatches; one optimizer step per minibatch.
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "micro-batches per minibatch"})
    # one backward each before the optimizer step: same update, less activation memory.
    cliprange: float = field(default=0.2, metadata={"help": "PPO ratio clip epsilon"})
    # the policy loss ignores ratios outside [1-eps, 1+eps].
    cliprange_value: float = field(default=0.2, metadata={"help": "value clip: how far a value prediction may move"})
    # the value prediction may move at most this far from the rollout value before its loss stops pulling (clipped
    # value loss, as in TRL / OpenAI).
    vf_coef: float = field(default=0.1, metadata={"help": "weight of the value loss"})
    # the value head shares the backbone (and the LoRA adapter) with the policy, so a large value loss would distort
    # the policy's features.
    max_grad_norm: float = field(default=1.0, metadata={"help": "clip the global gradient norm before each step"})

    # --- LoRA adapter (read once, when the engine is built; the lora_* fields are LoraArgs') -------------------
    # lora_r 16, alpha 2 r. lora_dropout 0 keeps the PPO ratio exactly 1 on the first minibatch (dropout noise would
    # look like a policy change). lora_target_modules None -> peft's default for the model's architecture
    # (q_proj/v_proj for Llama), else q_proj/v_proj.
    lora_layers: int | None = field(default=8, metadata={"help": "adapt only the top N transformer blocks; None = all"})
    # The blocks below are frozen and shared by policy and reference: a rollout records the states entering block
    # n_layers - N, and the reference pass and every PPO epoch run only the N blocks above (SmolLM2-135M: 8 of 30).
    # Style and tone, what RLHF changes first, live there.

    # --- reproducibility ----------------------------------------------------------------------------------
    seed: int = field(default=0, metadata={"help": "seeds prompt order, sampling and minibatch shuffling"})
    # same seed + same steps = same run.

    def message(self, e: FieldError) -> str:
        return f"PPOConfig: {e}"  # "PPOConfig: kl_coef (β) must be in [0, 10], got 1000000.0"

    def check(self) -> None:
        for name in ("batch_size", "response_length", "max_prompt_length", "samples_per_prompt"):
            check_int(name, getattr(self, name), 1)
        check_number("temperature", self.temperature, MIN_TEMPERATURE, MAX_TEMPERATURE,
                     hint="sampling divides the logits by it")
        check_int("stop_token_id", self.stop_token_id, 0, none_ok=True)
        require(isinstance(self.stop_strings, (tuple, list)) and all(isinstance(x, str) and x for x in self.stop_strings),
                "stop_strings", self.stop_strings, "a tuple of non-empty strings (or empty)")
        check_number("missing_eos_penalty", self.missing_eos_penalty, 0, none_ok=True, hint="it is subtracted")
        # upper bounds, from memory: a rollout keeps the logits of every generated token (batch x length x vocab
        # floats; SmolLM2's vocab is 49,152: 8,192 tokens ~ 1.6 GB per copy) and the states of prompt + reply
        for name, most in (("batch_size", MAX_BATCH_SIZE), ("response_length", MAX_RESPONSE_LENGTH),
                           ("max_prompt_length", MAX_PROMPT_LENGTH)):
            require(getattr(self, name) <= most, name, getattr(self, name), f"<= {most}")
        tokens = self.batch_size * self.response_length
        require(tokens <= MAX_REPLY_TOKENS, "batch_size x response_length", tokens, f"<= {MAX_REPLY_TOKENS:,} tokens (memory)")
        check_int("score_norm_samples", self.score_norm_samples, 2, 4096, hint="a standard deviation needs two")
        self.check_batches()
        check_number("kl_coef (β)", self.kl_coef, 0, MAX_KL_COEF)
        check_choice("kl_estimator", self.kl_estimator, ("k1", "k3"))
        check_number("kl_target", self.kl_target, 0, lo_open=True, none_ok=True)
        check_int("kl_horizon", self.kl_horizon, 1)
        for name in ("gamma", "lam"):
            check_number(name, getattr(self, name), 0.0, 1.0)
        check_number("learning_rate", self.learning_rate, 0, MAX_LEARNING_RATE, lo_open=True)
        for name in ("cliprange", "cliprange_value", "max_grad_norm"):
            check_number(name, getattr(self, name), 0, lo_open=True)
        check_number("vf_coef", self.vf_coef, 0)
        self.check_lora()
        check_int("lora_layers", self.lora_layers, 1, none_ok=True)
        check_int("seed", self.seed)

    def check_batches(self) -> None:
        """How a batch splits: into prompts (samples_per_prompt), minibatches and micro-batches."""
        require(self.batch_size % self.samples_per_prompt == 0, "batch_size", self.batch_size,
                f"divisible by samples_per_prompt ({self.samples_per_prompt})")
        check_choice("baseline", self.baseline, ("value", "group"))
        require(self.baseline != "group" or self.samples_per_prompt >= 2, "baseline", self.baseline,
                "'value' unless samples_per_prompt >= 2", hint="'group' compares the replies to one prompt")
        check_int("num_ppo_epochs", self.num_ppo_epochs, 1, MAX_PPO_EPOCHS)
        check_int("num_mini_batches", self.num_mini_batches, 1, MAX_MINI_BATCHES)
        check_int("gradient_accumulation_steps", self.gradient_accumulation_steps, 1)
        require(self.batch_size % self.num_mini_batches == 0, "batch_size", self.batch_size,
                f"divisible by num_mini_batches ({self.num_mini_batches})")
        require(self.mini_batch_size % self.gradient_accumulation_steps == 0, "batch_size / num_mini_batches",
                self.mini_batch_size, f"divisible by gradient_accumulation_steps ({self.gradient_accumulation_steps})",
                hint="the minibatch size")

    @property
    def mini_batch_size(self) -> int:
        """Rollouts per optimizer step."""
        return self.batch_size // self.num_mini_batches

    @property
    def micro_batch_size(self) -> int:
        """Rollouts per forward/backward pass."""
        return self.mini_batch_size // self.gradient_accumulation_steps
