"""The policy as PPO sees it: a causal LM with a LoRA adapter in its top blocks, and the forward passes PPO needs
over prompt + reply (log-prob logits and the states the value head reads), starting above the frozen trunk when
only the top blocks are adapted.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn as nn

from rlhf_demo.models.fast_llama import llama_decoder


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


def trunk_split(model, n: int | None):
    """(decoder, index of its lowest adapted block) for a Llama-style decoder (layers, norm, rotary_emb) adapted in
    its top n blocks only; None otherwise (every pass then runs the whole model)."""
    inner = llama_decoder(model)
    if n is None or inner is None:
        return None
    start = len(inner.layers) - n
    return (inner, start) if start > 0 else None


def lm_head(model, hidden: torch.Tensor) -> torch.Tensor:
    """The LM head: (B, L, H) -> (B, L, V). Under autocast, its frozen weight (49,152 x 576, tied to the embedding)
    is cast to the autocast dtype once and kept, not at every call as autocast does for a tensor without gradient
    (~25 ms a call on 2 CPU cores, six calls a PPO step)."""
    head = model.get_output_embeddings()
    device = hidden.device.type
    if not torch.is_autocast_enabled(device) or head.weight.requires_grad:
        return head(hidden)
    dtype = torch.get_autocast_dtype(device)
    key = (dtype, head.weight.data_ptr(), head.weight._version)
    cached = getattr(head, "_rlhf_autocast_weight", None)
    if cached is None or cached[0] != key:
        cached = (key, head.weight.detach().to(dtype))
        head._rlhf_autocast_weight = cached
    bias = None if head.bias is None else head.bias.to(dtype)
    return torch.nn.functional.linear(hidden.to(dtype), cached[1], bias)


def default_target_modules(model) -> list[str]:
    """peft's default LoRA targets for the model's architecture, else the attention query/value projections."""
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING

    model_type = getattr(getattr(model, "config", None), "model_type", None)
    return list(TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING.get(model_type, ["q_proj", "v_proj"]))



def forward_reply(model, trunk_split: tuple | None, query_responses: torch.Tensor, attention_mask: torch.Tensor,
                  context_length: int, trunk: torch.Tensor | None = None,
                  groups: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (B, L, V) and LM-head input states (B, L, H) at the positions that predict the L reply tokens.

    Position P - 1 + t predicts reply token t. `logits_to_keep` makes the model apply its (large) LM head only to
    the last L + 1 positions, never to the prompt; the extra last position (predicting past the reply) is dropped.
    Explicit position ids make left-padded prompts start at position 0, as in generate().
    With `trunk` (the states recorded at the input of the lowest LoRA block during generation) only the blocks
    from there up run: the frozen blocks below would compute exactly those states again. A Llama-style model runs
    its blocks one by one here (`forward_top` from block 0).
    With `groups` (B,) (rows with the same group have the same prompt, as PPO's k replies to one prompt), each
    prompt runs once (`forward_shared`): the same numbers, about half the work for PPO's prompts of ~100 tokens.
    """
    L = query_responses.shape[1] - context_length
    inner = llama_decoder(model)
    if groups is not None and inner is not None and L > 1:
        return forward_shared(model, trunk_split if trunk is not None else (inner, 0), query_responses,
                              attention_mask, context_length, groups, trunk)
    if trunk is not None:
        return forward_top(model, trunk_split, trunk, attention_mask[:, :-1], L)
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
    return lm_head(model, hidden), hidden


def forward_shared(model, split: tuple, query_responses: torch.Tensor, attention_mask: torch.Tensor, P: int,
                   groups: torch.Tensor, trunk: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """`forward_reply` with each distinct prompt computed once: per block, the U distinct prompts (U, P) run first,
    their keys and values are copied to the B rows that continue them, then the B replies (B, L - 1) run against
    them (a KV cache, as in decoding, but with gradients). -> logits (B, L, V), LM-head inputs (B, L, H).

    split = (decoder, first block to run); with `trunk` (B, P + L - 1, H) the inputs of that block, else the
    embeddings of the tokens. The last prompt position predicts reply token 0; reply position t, token t + 1.
    """
    from transformers import DynamicCache

    inner, start = split
    B, L = query_responses.shape[0], query_responses.shape[1] - P
    uniq, rows = torch.unique(groups, return_inverse=True)  # rows: (B,) -> its prompt among the U distinct ones
    first = torch.full((len(uniq),), B, dtype=torch.long, device=groups.device).scatter_reduce(
        0, rows, torch.arange(B, device=groups.device), reduce="amin")  # (U,) a row of each distinct prompt
    if trunk is not None:
        h_p, h_r = trunk[first, :P], trunk[:, P:]  # (U, P, H), (B, L - 1, H)
    else:
        h_p, h_r = inner.embed_tokens(query_responses[first, :P]), inner.embed_tokens(query_responses[:, P:-1])
    mask_p = attention_mask[first, :P].bool()  # (U, P)
    pos_p = (mask_p.long().cumsum(1) - 1).clamp(min=0)  # (U, P)
    pos_r = pos_p[rows, -1:] + 1 + torch.arange(L - 1, device=pos_p.device)  # (B, L - 1)
    # additive masks: a prompt position sees the real prompt tokens up to itself (and, if padding, itself: no empty
    # softmax row); a reply position sees its row's real prompt tokens and the reply up to itself
    neg = torch.finfo(torch.float32).min
    idx_p = torch.arange(P, device=mask_p.device)
    see_p = (mask_p[:, None, :] & (idx_p[None, :, None] >= idx_p[None, None, :])) | torch.eye(P, dtype=torch.bool,
                                                                                           device=mask_p.device)
    idx_r = torch.arange(L - 1, device=mask_p.device)
    see_r = torch.cat([mask_p[rows][:, None, :].expand(B, L - 1, P),
                       (idx_r[:, None] >= idx_r[None, :]).expand(B, L - 1, L - 1)], dim=2)  # (B, L - 1, P + L - 1)
    add_p = torch.zeros(see_p.shape, device=mask_p.device).masked_fill_(~see_p, neg)[:, None]  # (U, 1, P, P)
    add_r = torch.zeros(see_r.shape, device=mask_p.device).masked_fill_(~see_r, neg)[:, None]  # (B, 1, L-1, P+L-1)
    emb_p, emb_r = inner.rotary_emb(h_p, position_ids=pos_p), inner.rotary_emb(h_r, position_ids=pos_r)
    cache = DynamicCache(config=inner.config)
    for layer in inner.layers[start:]:
        kv = cache.layers[layer.self_attn.layer_idx]
        h_p = layer(h_p, attention_mask=add_p, position_ids=pos_p, position_embeddings=emb_p, cache=cache,
                    use_cache=True)
        kv.keys, kv.values = kv.keys[rows], kv.values[rows]  # (U, ...) -> (B, ...): each row's prompt
        h_r = layer(h_r, attention_mask=add_r, position_ids=pos_r, position_embeddings=emb_r, cache=cache,
                    use_cache=True)
    hidden = inner.norm(torch.cat([h_p[rows, -1:], h_r], dim=1))  # (B, L, H)
    return lm_head(model, hidden), hidden


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
