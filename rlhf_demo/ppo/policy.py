"""The policy as PPO sees it: a causal LM with a LoRA adapter in its top blocks, and the forward passes PPO needs
over prompt + reply (log-prob logits and the states the value head reads), starting above the frozen trunk when
only the top blocks are adapted.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn as nn


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


def top_layers(model, n: int | None) -> list[int] | None:
    """Indices of the top `n` transformer blocks (None = all). Gradients then stop at the lowest adapted block:
    the blocks below it run forward only, so the backward pass costs n / n_layers of a full one."""
    n_layers = getattr(getattr(model, "config", None), "num_hidden_layers", None)
    if n is None or n_layers is None or n >= n_layers:
        return None
    return list(range(n_layers - n, n_layers))


def llama_decoder(model):
    """The Llama-style decoder (embed_tokens, layers, norm, rotary_emb) inside `model` (peft-wrapped or not), else None."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    inner = getattr(base, "model", None)
    ok = all(hasattr(inner, a) for a in ("embed_tokens", "layers", "norm", "rotary_emb", "config"))
    return inner if ok else None


def trunk_split(model, n: int | None):
    """(decoder, index of its lowest adapted block) for a Llama-style decoder (layers, norm, rotary_emb) adapted in
    its top n blocks only; None otherwise (every pass then runs the whole model)."""
    inner = llama_decoder(model)
    if n is None or inner is None:
        return None
    start = len(inner.layers) - n
    return (inner, start) if start > 0 else None


def lm_head_float32(model, hidden: torch.Tensor) -> torch.Tensor:
    """The LM head in float32, also inside a bfloat16 autocast region: (B, L, H) -> (B, L, V) logits. Log-probs and
    the PPO ratio are differences of large logits; bfloat16 logits are off by ~0.1 (measured 0.4 on random ones)."""
    head = model.get_output_embeddings()
    with torch.autocast(device_type=hidden.device.type, enabled=False):
        return head(hidden.float())


def default_target_modules(model) -> list[str]:
    """peft's default LoRA targets for the model's architecture, else the attention query/value projections."""
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING

    model_type = getattr(getattr(model, "config", None), "model_type", None)
    return list(TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING.get(model_type, ["q_proj", "v_proj"]))



def forward_reply(model, trunk_split: tuple | None, query_responses: torch.Tensor, attention_mask: torch.Tensor,
                  context_length: int, trunk: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (B, L, V) and LM-head input states (B, L, H) at the positions that predict the L reply tokens.

    Position P - 1 + t predicts reply token t. `logits_to_keep` makes the model apply its (large) LM head only to
    the last L + 1 positions, never to the prompt; the extra last position (predicting past the reply) is dropped.
    Explicit position ids make left-padded prompts start at position 0, as in generate().
    With `trunk` (the states recorded at the input of the lowest LoRA block during generation) only the blocks
    from there up run: the frozen blocks below would compute exactly those states again. A Llama-style model runs
    its blocks one by one here (`forward_top` from block 0), so that the LM head stays float32 under autocast.
    """
    L = query_responses.shape[1] - context_length
    if trunk is not None:
        return forward_top(model, trunk_split, trunk, attention_mask[:, :-1], L)
    inner = llama_decoder(model)
    if inner is not None:  # the last position predicts past the reply: never computed
        return forward_top(model, (inner, 0), inner.embed_tokens(query_responses[:, :-1]), attention_mask[:, :-1], L)
    position_ids = (attention_mask.cumsum(1) - 1).clamp(min=0)  # (B, P + L)
    with capture_lm_head_input(model) as captured:
        out = model(input_ids=query_responses, attention_mask=attention_mask, position_ids=position_ids,
                    logits_to_keep=L + 1, use_cache=False)
    return out.logits[:, -(L + 1):-1], captured[-1][:, -(L + 1):-1]


def forward_top(model, trunk_split: tuple, hidden: torch.Tensor, attention_mask: torch.Tensor,
                L: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The top blocks, final norm and LM head over trunk states (B, T, H), T = P + L - 1 -> logits of the last L
    positions (B, L, V) and their LM-head inputs (B, L, H). The same steps as the model's own forward."""
    from transformers.masking_utils import create_causal_mask

    inner, start = trunk_split
    position_ids = (attention_mask.cumsum(1) - 1).clamp(min=0)  # (B, T)
    mask = create_causal_mask(config=inner.config, inputs_embeds=hidden, attention_mask=attention_mask, cache=None,
                              position_ids=position_ids)
    position_embeddings = inner.rotary_emb(hidden, position_ids=position_ids)
    for layer in inner.layers[start:]:
        hidden = layer(hidden, attention_mask=mask, position_ids=position_ids, position_embeddings=position_embeddings)
    hidden = inner.norm(hidden)[:, -L:]  # (B, L, H)
    return lm_head_float32(model, hidden), hidden


@contextlib.contextmanager
def capture_trunk(trunk_split: tuple | None, steps: list[torch.Tensor]):
    """While generating, record the hidden states entering the lowest LoRA block (nothing without a trunk split)."""
    if trunk_split is None:
        yield steps
        return
    inner, start = trunk_split
    handle = inner.layers[start].register_forward_pre_hook(lambda module, args: steps.append(args[0].detach()))
    try:
        yield steps
    finally:
        handle.remove()
