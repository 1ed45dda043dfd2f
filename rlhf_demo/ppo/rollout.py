"""Steps 2-5 of a PPO iteration, the rollout: generate replies, cut them at the stop token or string, log-probs of
the policy and the reference, per-token KL, values and reward-model scores.

Speed: the rollout needs no separate policy forward pass. `generate` already computes the policy's logits for every
sampled token (kept with `output_logits=True`) and the LM-head input hidden state (recorded with a hook), which
gives the rollout log-probs and values for free. With `lora_layers`, the states entering the lowest adapted block
are recorded too, so the reference pass (and every PPO epoch) runs only the blocks above.

Shapes: B = rollouts, P = prompt length (left-padded), L = response length, V = vocab, H = hidden size.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import torch

from rlhf_demo.models.decoding import decode, distinct_rows, precision
from rlhf_demo.models.generation import StopOnStrings, clean_reply, stop_string_index
from rlhf_demo.models.seeding import global_rng_from
from rlhf_demo.ppo.config import PPOConfig
from rlhf_demo.ppo.core import first_true_indices, kl_per_token, selective_logprobs, truncate_after
from rlhf_demo.ppo.policy import capture_lm_head_input, capture_trunk, forward_reply


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
    groups: torch.Tensor | None  # (B,) rows with one group share their prompt: the loop backends' forward passes run
    #                              each distinct prompt once (`policy.forward_shared`); None: every row on its own
    contains_stop: torch.Tensor  # (B,) bool, reply ended with the stop token
    logprobs: torch.Tensor  # (B, L) log pi(token) under the rollout policy, 0 on padding
    ref_logprobs: torch.Tensor  # (B, L) log pi_ref(token), 0 on padding
    kl: torch.Tensor  # (B, L) per-token KL estimate (config.kl_estimator), 0 on padding
    values: torch.Tensor  # (B, L) value-head predictions, 0 on padding
    raw_scores: torch.Tensor  # (B,) the reward model's output as it is
    scores: torch.Tensor  # (B,) normalised score (config.normalize_scores), minus missing_eos_penalty where the stop
    #                       token is missing: what PPO maximises
    generate_seconds: float
    policy_seconds: float  # the float32 forward for log-probs and values (0-ish for a float32 backend)
    reference_seconds: float
    reward_seconds: float


@torch.no_grad()
def rollout(engine, prompts: list[str], cfg: PPOConfig, rng: torch.Generator | None = None) -> Rollout:
    """Generate one reply per prompt with the engine's current policy and compute log-probs, reference log-probs,
    KL, values and scores, all under the one config `cfg` (the step's frozen snapshot). Sampling draws from `rng`
    (`models/seeding.py`; `PPOEngine.step` and `generate_probes` pass a seeded one), else from torch's global RNG."""
    stop_id = cfg.stop_token_id if cfg.stop_token_id is not None else engine.tokenizer.eos_token_id
    queries, query_mask = engine.encode_prompts(prompts, cfg.max_prompt_length)  # (B, P), (B, P)
    B, P = queries.shape
    engine.model.eval()

    # 2. generate: sampling from the plain softmax(logits / T) (no top-k / top-p filtering, which would make the
    # sampling distribution differ from the one whose log-probs we optimise), stopping at the stop token or
    # string (a finished row gets padding until every row has finished). How is the engine's measured rollout
    # backend (`models/decoding.py`): transformers' generate, or our loop that prefills each prompt once for its k
    # replies, in float32 or in a lean decoder (float32 or a bfloat16 copy).
    # 3. log-probs of the sampled tokens with logits / T, and the values (from the states the LM head reads):
    #  - a float32 backend (eager, fp32) samples from the policy itself: its logits ARE the policy's, and hooks
    #    record the LM head's input (values) and the trunk states, so no extra forward pass is needed;
    #  - a lean-decoder backend (fast32, bf16) samples from weights that are close to, not equal to, the policy's
    #    (bf16: KL ~0.002 nats a token, measured by `decoding.choose_backend`; fast32: float32 rounding only).
    #    PPO's ratio pi_new / pi_old must start at exactly 1, so the old log-probs, values and trunk states come
    #    from ONE forward pass of the policy over prompt + reply, the same forward the PPO update runs
    #    (`forward_reply`, under the backend's autocast). With lora_layers it runs the adapted top blocks only, on
    #    the trunk states the sampler recorded; a full forward of 16 x ~90 tokens of SmolLM2 would cost 1.8 s on 2
    #    CPU cores in float32, ~0.5 s under bfloat16 autocast.
    t0 = time.perf_counter()
    backend = engine.backend
    groups = distinct_rows(queries, query_mask)[1] if backend.loop else None  # (B,)
    stopping = [StopOnStrings(engine.tokenizer, P, cfg.stop_strings)] if cfg.stop_strings else []
    trunk_steps: list[torch.Tensor] = []
    hidden_steps: list[torch.Tensor] = []
    if not backend.loop:
        with (capture_lm_head_input(engine.model) as hidden_steps, capture_trunk(engine.trunk_split, trunk_steps),
              global_rng_from(rng, "PPO rollout", "training")):  # transformers' generate draws from the global RNG
            out = engine.model.generate(input_ids=queries, attention_mask=query_mask, max_new_tokens=cfg.response_length,
                                        do_sample=True, temperature=cfg.temperature, top_k=0, top_p=1.0,
                                        eos_token_id=stop_id, pad_token_id=engine.pad_token_id,
                                        stopping_criteria=stopping, output_logits=True, return_dict_in_generate=True)
        responses, step_logits = out.sequences[:, P:], list(out.logits)  # (B, L), L x (B, V)
        sampled_trunk = None
        del out
    else:
        stop_check = StopOnStrings(engine.tokenizer, 0, cfg.stop_strings) if cfg.stop_strings else None
        with contextlib.ExitStack() as stack:
            if backend.exact:  # the float32 loop: record what generate's path records (see above)
                hidden_steps = stack.enter_context(capture_lm_head_input(engine.model))
                stack.enter_context(capture_trunk(engine.trunk_split, trunk_steps))
            decoded = decode(engine.sampling.get(), queries, query_mask, cfg.response_length, cfg.temperature,
                             [stop_id], engine.pad_token_id, (lambda ids: stop_check(ids, None)) if stop_check else None,
                             record_logits=backend.exact,
                             record_trunk=None if engine.trunk_split is None else engine.trunk_split[1], generator=rng)
        responses, step_logits = decoded.tokens, decoded.logits
        sampled_trunk = decoded.trunk  # (B, P + L - 1, H) from a FastLlama, else None
        # the prefill ran once per distinct prompt: its recorded states (U, ...) -> one per row (B, ...)
        for steps in (hidden_steps, trunk_steps):
            if steps:
                steps[0] = steps[0][decoded.groups]
    query_responses = torch.cat([queries, responses], dim=1)  # (B, P + L)
    L = responses.shape[1]  # <= response_length (decoding stops once all replies ended)
    attention_mask = torch.cat([query_mask, torch.ones_like(responses)], dim=1)  # (B, P + L)
    generate_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    if backend.exact:
        logits = step_logits if torch.is_tensor(step_logits) else torch.stack(step_logits, dim=1)  # (B, L, V) raw
        hidden = torch.cat([h[:, -1:] for h in hidden_steps], dim=1)  # (B, L, H): the state each token was sampled from
    elif sampled_trunk is not None:  # the frozen blocks below the adapter ran in the sampler: only the top ones here
        trunk_steps = [sampled_trunk.float()]  # float32, as the top blocks' residual stream is under autocast
        with precision(backend, engine.device):
            logits, hidden = forward_reply(engine.model, engine.trunk_split, query_responses, attention_mask, P,
                                           trunk_steps[0], groups)  # (B, L, V), (B, L, H)
    else:  # one forward of the policy (adapter on) as the update runs it, recording the trunk states on the way
        with capture_trunk(engine.trunk_split, trunk_steps), precision(backend, engine.device):
            logits, hidden = forward_reply(engine.model, None, query_responses, attention_mask, P,
                                           groups=groups)  # (B, L, V), (B, L, H)
        if len(trunk_steps) == 2:  # shared prompts: (U, P, H) then (B, L - 1, H)
            trunk_steps[0] = trunk_steps[0][torch.unique(groups, return_inverse=True)[1]]
        elif trunk_steps and trunk_steps[0].shape[1] == P + L:  # a model that is not Llama-style: (B, P + L, H)
            trunk_steps[0] = trunk_steps[0][:, :-1]
    logprobs = selective_logprobs(logits, responses, cfg.temperature)  # (B, L)
    del logits, step_logits
    if hidden.shape[1] != L:
        raise RuntimeError(f"expected one LM-head call per generated token ({L}), saw {hidden.shape[1]}")
    values = engine.value_head(hidden.float()).squeeze(-1)  # (B, L)
    # with lora_layers: the input of the lowest adapted block at every position but the last, (B, P + L - 1, H);
    # the blocks below it are the same for policy and reference, so no later pass needs to run them again
    trunk = torch.cat(trunk_steps, dim=1) if trunk_steps else None
    if trunk is not None and trunk.shape[1] != P + L - 1:
        raise RuntimeError(f"expected the trunk states of {P + L - 1} positions, saw {trunk.shape[1]}")
    del trunk_steps
    policy_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    with engine.model.disable_adapter(), precision(backend, engine.device):
        ref_logits, _ = forward_reply(engine.model, engine.trunk_split, query_responses, attention_mask, P, trunk,
                                      groups=groups)  # (B, L, V)
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
        stop_index = torch.minimum(token_stop, stop_string_index(engine.tokenizer, responses, cfg.stop_strings))
    contains_stop = stop_index < L
    last_index = stop_index.clamp(max=L - 1)  # (B,) index of the last real token
    responses, padding_mask = truncate_after(responses, last_index, engine.pad_token_id)  # (B, L), (B, L)
    logprobs = logprobs.masked_fill(padding_mask, 0.0)
    ref_logprobs = ref_logprobs.masked_fill(padding_mask, 0.0)
    values = values.masked_fill(padding_mask, 0.0)  # V(terminal) = 0 for GAE
    kl = kl_per_token(logprobs, ref_logprobs, cfg.kl_estimator).masked_fill(padding_mask, 0.0)  # (B, L)

    # 5. score prompt + reply with the reward model, as strings (it has its own tokenizer). The text ends before
    # the stop token, or before the stop string.
    t0 = time.perf_counter()
    text_end = torch.where(token_stop <= stop_index, token_stop, last_index + 1)  # (B,)
    response_texts = [clean_reply(engine.tokenizer.decode(responses[i, : text_end[i]].tolist(), skip_special_tokens=True),
                                  cfg.stop_strings) for i in range(B)]
    raw_scores = torch.as_tensor(engine.reward.score(list(prompts), response_texts)).to(engine.device, torch.float32).reshape(-1)
    if raw_scores.shape[0] != B:
        raise ValueError(f"reward.score returned {raw_scores.shape[0]} scores for {B} replies")
    scores = raw_scores
    if cfg.normalize_scores and engine.score_norm is not None:
        scores = (raw_scores - engine.score_norm[0]) / engine.score_norm[1]  # std units of the base policy's scores
    if cfg.missing_eos_penalty is not None:
        scores = scores - cfg.missing_eos_penalty * (~contains_stop).float()
    reward_seconds = time.perf_counter() - t0

    return Rollout(prompts=list(prompts), response_texts=response_texts, query_responses=query_responses, trunk=trunk,
                   attention_mask=attention_mask, context_length=P, responses=responses, padding_mask=padding_mask,
                   last_index=last_index, groups=groups, contains_stop=contains_stop, logprobs=logprobs, ref_logprobs=ref_logprobs,
                   kl=kl, values=values, raw_scores=raw_scores, scores=scores, generate_seconds=generate_seconds,
                   policy_seconds=policy_seconds,
                   reference_seconds=reference_seconds, reward_seconds=reward_seconds)
