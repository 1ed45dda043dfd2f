"""Padding and stop strings shared by the arena and the PPO engine (rlhf_demo/models/generation.py), on the tokenizer of
the bundled tiny policy (characters and common words as tokens, so "\\n\\nHuman:" spans four tokens)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from rlhf_demo.models.generation import STOP_STRINGS, StopOnStrings, clean_reply, left_pad, stop_string_index

TINY = Path(__file__).resolve().parents[1] / "assets" / "tiny-policy"


@pytest.fixture(scope="module")
def tok():
    return AutoTokenizer.from_pretrained(TINY)


def test_left_pad_puts_padding_and_zero_mask_on_the_left():
    ids, mask = left_pad([[5, 6, 7], [8], [9, 10]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8], [0, 9, 10]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1], [0, 1, 1]]
    with pytest.raises(ValueError):
        left_pad([], pad_id=0)


def encode_rows(tok, texts):
    rows = [tok(t)["input_ids"] for t in texts]
    width = max(len(r) for r in rows)
    return torch.tensor([r + [tok.pad_token_id] * (width - len(r)) for r in rows]), rows


def test_stop_string_index_finds_the_token_that_completes_the_next_turn(tok):
    texts = [" Sure, I can help.\n\nHuman: thanks", " No stop here at all", " Hi\n\nAssistant: again", " Ends\n\nHum"]
    responses, rows = encode_rows(tok, texts)
    index = stop_string_index(tok, responses, STOP_STRINGS).tolist()
    L = responses.shape[1]
    assert index[1] == L and index[3] == L  # no stop string (a half-written one does not count)
    for i in (0, 2):
        k = index[i]
        assert any(s in tok.decode(rows[i][: k + 1]) for s in STOP_STRINGS)  # the prefix through token k has it ...
        assert not any(s in tok.decode(rows[i][:k]) for s in STOP_STRINGS)  # ... one token less does not
    assert tok.decode(rows[0][index[0]]) == ":"
    assert stop_string_index(tok, responses, ()).tolist() == [L] * 4  # no stop strings: never stops


def test_stop_on_strings_finishes_each_row_on_its_own(tok):
    prompt_len = 2
    texts = ["ab Ok.\n\nHuman: more", "ab still going"]
    ids, _ = encode_rows(tok, texts)
    assert StopOnStrings(tok, prompt_len)(ids, None).tolist() == [True, False]


def test_clean_reply_cuts_the_next_turn_and_a_half_written_marker():
    assert clean_reply(" Paris.\n\nHuman: and Spain?") == "Paris."
    assert clean_reply(" cut by the budget\n\nHum") == "cut by the budget"
    assert clean_reply(" keep\n\nHuman: x", ()) == "keep\n\nHuman: x"
    assert clean_reply(" caf\ufffd au lait\ufffd") == "caf au lait"  # half a character (split bytes) is dropped


def test_clean_reply_drops_control_characters_and_chat_markers():
    # a chat model that opens the next turn, a bell character (a box glyph on screen) and a zero-width space
    assert clean_reply("Tea\x07 needs\u200b hot water.<|im_end|>\n<|im_start|>user\nthanks") == "Tea needs hot water."
    assert clean_reply("Line one\n\tindented") == "Line one\n\tindented"  # line breaks and tabs stay


def test_turn_end_ids_include_the_chat_models_new_turn_marker():
    from rlhf_demo.models.generation import turn_end_ids

    class ChatTok:
        eos_token_id = 2

        def get_vocab(self):
            return {"<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2, "hi": 3}

    assert turn_end_ids(ChatTok()) == [2, 1, 0]
