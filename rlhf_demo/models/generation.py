"""What every part that samples replies from the policy shares (the arena and the PPO engine).

    left_pad           token lists -> (B, P) ids + attention mask, padded on the LEFT, so every row's last prompt
                       token sits at the same position and `generate` appends after it
    STOP_STRINGS       text that ends a reply besides the EOS token: the model starting the next dialogue turn
    StopOnStrings      a `StoppingCriteria` that finishes each row once its reply contains a stop string
    stop_string_index  (B,) index of the token that completes the first stop string of each reply
    clean_reply        the reply text a person (or a reward model) sees: cut at the first stop string, control
                       characters and chat-template markers removed, stripped
    turn_end_ids       the token ids that end a reply: EOS and, for chat models, the token that opens a new turn

hh-rlhf transcripts are "\\n\\nHuman: ...\\n\\nAssistant: ..."; a base model that was never taught to emit EOS after
its turn happily writes the user's next line too. Cutting at the next turn marker is what every hh-rlhf demo does.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Sequence

import torch
from transformers import StoppingCriteria

from rlhf_demo.data.hh import STOP_STRINGS

CHAT_MARKERS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>")  # ChatML (SmolLM2): a new turn / the end of one
_CHAT_MARKER_RE = re.compile("|".join(re.escape(m) for m in CHAT_MARKERS))


def turn_end_ids(tokenizer) -> list[int]:
    """EOS, plus the ids of the chat markers the tokenizer has (a chat model that opens a new turn is done)."""
    ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    vocab = tokenizer.get_vocab()
    ids += [vocab[m] for m in CHAT_MARKERS if m in vocab and vocab[m] not in ids]
    return ids


def left_pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token lists -> input ids and attention mask, both (B, longest row), padded on the left (mask 0 there)."""
    if not rows:
        raise ValueError("left_pad needs at least one row")
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if len(row):
            input_ids[i, width - len(row):] = torch.tensor(list(row), dtype=torch.long)
            attention_mask[i, width - len(row):] = 1
    return input_ids, attention_mask


class StopOnStrings(StoppingCriteria):
    """Per row: stop once the generated text contains one of `stops` (the row is then padded until all stop)."""

    def __init__(self, tokenizer, prompt_len: int, stops: Sequence[str] = STOP_STRINGS):
        self.tokenizer, self.prompt_len, self.stops = tokenizer, prompt_len, tuple(stops)

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_len:], skip_special_tokens=True)
        return torch.tensor([any(s in t for s in self.stops) for t in texts], device=input_ids.device)


def stop_string_index(tokenizer, responses: torch.Tensor, stops: Sequence[str] = STOP_STRINGS) -> torch.Tensor:
    """(B, L) reply tokens -> (B,) index of the token whose text completes the first stop string; L where none does.

    Found by a binary search over prefix lengths (a prefix's text contains a stop string -> so do longer ones), so a
    reply costs one decode when it has no stop string and about log2(L) more when it has one.
    """
    stops = tuple(stops)
    L = responses.shape[1]

    def has_stop(row: list[int], n: int) -> bool:
        text = tokenizer.decode(row[:n], skip_special_tokens=True)
        return any(s in text for s in stops)

    found = []
    for row in responses.tolist():
        if not stops or not has_stop(row, L):
            found.append(L)
            continue
        lo, hi = 1, L  # the shortest prefix length n with a stop string in its text
        while lo < hi:
            mid = (lo + hi) // 2
            if has_stop(row, mid):
                hi = mid
            else:
                lo = mid + 1
        found.append(lo - 1)
    return torch.tensor(found, dtype=torch.long, device=responses.device)


def clean_reply(text: str, stops: Sequence[str] = STOP_STRINGS) -> str:
    """Cut `text` at the first stop string or chat marker (and a half-written stop string at the very end), drop
    U+FFFD (the decoder's mark for a character whose bytes were split between tokens, e.g. at the token budget) and
    other invisible or control characters, then strip it."""
    text = _CHAT_MARKER_RE.split(text.replace("\ufffd", ""), 1)[0]
    # control characters (shown as boxes) and zero-width format characters; line breaks and tabs stay
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs"))
    for s in stops:
        text = text.split(s, 1)[0]
    for s in stops:  # max_new_tokens may cut "\n\nHuman:" in the middle: drop a trailing "\n\nHum"
        for k in range(len(s) - 1, 1, -1):
            if text.endswith(s[:k]):
                text = text[:-k]
                break
    return text.strip()
