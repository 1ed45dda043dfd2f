"""The class's reward model as a standalone transformers folder that any trainer can load.

1. merge:    load the saved model as the app does (its LoRA adapter merged into the backbone, float32:
             `reward.model.load_reward_model`)
2. template: give its tokenizer the chat template that renders the text the app scores, special tokens included
             (`templates.reward_chat_template`): TRL's GRPO/RLOO render ``prompt + completion`` messages with it and
             tokenize with ``add_special_tokens=False``, right padding, no truncation, and read ``logits[:, 0]``
3. save:     ``save_pretrained`` model and tokenizer, the app's ``reward_meta.json`` (so the app's own loader and
             ``serve-reward`` read the folder too) and a model card (``README.md``)
4. check:    load the folder with bare transformers, score held-out pairs the way TRL does, and compare with the
             app's scorer on the same texts (`parity`): the export fails rather than ship a model that scores
             something else

What differs, by design: the app cuts a text longer than ``max_length`` tokens from the left; TRL does not cut. The
bundle's prompts are chosen to fit (`datasets.fitting_prompts`), and the card says so.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

import torch

from rlhf_demo.data.hh import prompt_messages
from rlhf_demo.data.pairs import Pair
from rlhf_demo.export.templates import reward_chat_template
from rlhf_demo.reward.model import META_FILE, RewardModel
from rlhf_demo.reward.registry import trained_on_text

PARITY_TOLERANCE = 1e-4  # |bare transformers - app| on the same text, the issue's bound
PARITY_PAIRS = 16  # held-out pairs scored both ways at export (32 texts: a second or two on a CPU)


class ExportError(ValueError):
    """An export that cannot be made as asked (a user-facing sentence)."""


def messages_for(prompt: str, reply: str) -> list[dict]:
    """``prompt`` (an hh-rlhf prompt) and ``reply`` as the chat messages TRL passes the reward model."""
    return prompt_messages(prompt) + [{"role": "assistant", "content": reply}]


def save_reward_model(rm: RewardModel, out: Path) -> str:
    """Steps 2-3 (without the card): the merged model, its tokenizer with the reward template, ``reward_meta.json``.
    Returns the chat template."""
    template = reward_chat_template(rm.tokenizer, rm.encoder)
    rm.tokenizer.chat_template = template  # the export's own copy of the model (`export_bundle` loads it)
    rm.tokenizer.save_pretrained(out)
    rm.model.config.pad_token_id = rm.tokenizer.pad_token_id
    rm.model.save_pretrained(out)
    meta = {**rm.meta, "exported": True, "lora": False, "backbone_path": ""}  # merged: the folder is the model
    (out / META_FILE).write_text(json.dumps(meta, indent=1))
    return template


def fitting(rm: RewardModel, pairs: Sequence[Pair]) -> list[tuple[str, str]]:
    """(prompt, reply) texts of `pairs` (chosen, then rejected replies) that the app's encoder does not cut, and
    whose prompt is a whole hh transcript: where TRL and the app must agree exactly."""
    out = []
    for prompt, chosen, rejected in pairs:
        for reply in (chosen, rejected):
            body = rm.tokenizer(rm.encoder.text(prompt, reply), add_special_tokens=False, verbose=False)["input_ids"]
            if len(body) <= rm.encoder.budget:
                try:
                    messages_for(prompt, reply)
                except ValueError:  # a prompt cut from the left has no first Human turn
                    continue
                out.append((prompt, reply))
    return out


@torch.inference_mode()
def score_as_trl(folder: Path, texts: Sequence[tuple[str, str]]) -> list[float]:
    """Scores of (prompt, reply) by the exported folder, loaded with bare transformers and called as TRL's RLOO/GRPO
    call a reward model (trl/trainer/rloo_trainer.py, `_calculate_rewards`): chat template, then the tokenizer with
    ``add_special_tokens=False``, right padding, ``logits[:, 0]``."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=1, dtype=torch.float32).eval()
    rendered = [tok.apply_chat_template(messages_for(p, r), tokenize=False) for p, r in texts]
    out: list[float] = []
    for start in range(0, len(rendered), 16):
        batch = tok(rendered[start:start + 16], return_tensors="pt", padding=True, padding_side="right",
                    add_special_tokens=False)
        out += model(**batch).logits[:, 0].float().tolist()
    return out


def parity(rm: RewardModel, folder: Path, pairs: Sequence[Pair], n: int = PARITY_PAIRS) -> dict:
    """Step 4: the largest |exported - app| score over up to 2·`n` held-out texts; raises ExportError above the
    tolerance (or when no held-out text fits to check with)."""
    texts = fitting(rm, pairs[:n])
    if not texts:
        raise ExportError("No held-out pair fits the reward model's max_length whole: nothing to check the exported "
                          "model against.")
    app = rm.score([p for p, _ in texts], [r for _, r in texts]).tolist()
    bare = score_as_trl(folder, texts)
    worst = max(abs(a - b) for a, b in zip(app, bare))
    if not math.isfinite(worst) or worst > PARITY_TOLERANCE:
        raise ExportError(f"The exported reward model scores differently from the app's (largest difference "
                          f"{worst:.2e} > {PARITY_TOLERANCE:g} on {len(texts)} held-out texts): not exported.")
    return {"texts": len(texts), "max_abs_diff": worst, "tolerance": PARITY_TOLERANCE}


def model_card(rm: RewardModel, name: str, check: dict) -> str:
    """README.md of ``reward_model/``: what it learned from, how well it does on held-out pairs, how to use it."""
    meta = rm.meta
    acc = (meta.get("eval") or {}).get("accuracy")
    ev = meta.get("eval") or {}
    shorter, longer = meta.get("baseline_shorter_wins"), meta.get("baseline_longer_wins")
    base = meta.get("backbone_label") or meta.get("backbone") or "?"
    pct = (lambda x: "n/a" if x is None else f"{100 * x:.1f} %")
    max_length = int(meta["config"]["max_length"])
    return f"""---
library_name: transformers
pipeline_tag: text-classification
tags: [reward-model, rlhf, trl, rlhf-playground]
---

# Reward model `{name}` (exported from RLHF Playground)

A reward model trained in the RLHF Playground classroom app: `AutoModelForSequenceClassification` with one output
(`num_labels=1`), its LoRA adapter merged into the backbone ({base}). Higher = the reply is preferred.

| | |
|---|---|
| trained on | {trained_on_text(meta.get("trained_on"))} |
| held-out accuracy | {pct(acc)} on {ev.get("n", "?")} held-out pairs (chosen scored above rejected) |
| baseline "shorter reply wins" | {pct(shorter)} |
| baseline "longer reply wins" | {pct(longer)} |
| training pairs | {meta.get("n_train", "?")}, {meta.get("steps", "?")} steps, {meta.get("train_seconds", 0) or 0:.0f} s |
| max_length | {max_length} tokens (the app keeps the last {max_length} tokens of a longer text; TRL does not cut) |
| exported scores vs the app's | largest difference {check["max_abs_diff"]:.1e} on {check["texts"]} held-out texts |

## The text it scores

The hh-rlhf transcript `"\\n\\nHuman: …\\n\\nAssistant: <reply>"`, with the backbone's special tokens around it.
The tokenizer's chat template renders exactly that from chat messages, so TRL's GRPO/RLOO (`reward_funcs` set to
this folder) score what the app scored. By hand:

```python
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

tok = AutoTokenizer.from_pretrained("reward_model")
model = AutoModelForSequenceClassification.from_pretrained("reward_model", num_labels=1).eval()
messages = [{{"role": "user", "content": "How do I boil an egg?"}},
            {{"role": "assistant", "content": "Simmer it for nine minutes, then cool it in cold water."}}]
text = tok.apply_chat_template(messages, tokenize=False)
with torch.no_grad():
    score = model(**tok(text, return_tensors="pt", add_special_tokens=False)).logits[0, 0].item()
```

A conversation longer than {max_length} tokens is scored whole here but cut from the left in the app: keep prompts
plus replies under {max_length} tokens for the same scores.
"""
