"""Chat templates that render chat messages as the hh-rlhf transcript the app works with.

TRL's trainers speak chat messages (``[{"role": "user", "content": ...}, ...]``) and turn them into text with the
tokenizer's chat template. The app's policy and reward model speak hh-rlhf transcripts
(``"\\n\\nHuman: ...\\n\\nAssistant: ..."``). These templates are the bridge, so that TRL sees the same text the app
does:

- the **reward** template renders ``prompt messages + reply`` as the app's scorer builds its text
  (``prompt + " " + reply.strip()``, `reward.model.ReplyEncoder.text`) and writes the backbone's special tokens
  into the text (``[CLS] ... [SEP]`` for BERT; an EOS after the reply for decoders). TRL's GRPO/RLOO tokenize the
  rendered text with ``add_special_tokens=False``, so the template has to carry them.
- the **policy** template (no special tokens) is what a policy without a chat template of its own (the tiny test
  policy, GPT-2) is given, so conversational prompts reach it as the hh prompt the app gives it.

System messages are left out: the app has none.
"""

from __future__ import annotations

import json


def _literal(text: str) -> str:
    """A Jinja string literal for `text` (JSON's escaping is valid Jinja)."""
    return json.dumps(text)


def hh_chat_template(prefix: str = "", suffix: str = "") -> str:
    """A Jinja chat template: ``prefix``, then ``\\n\\nHuman: …`` / ``\\n\\nAssistant: …`` per message, the last
    assistant message stripped as the app strips a reply, then ``suffix``. With ``add_generation_prompt`` it ends
    with ``\\n\\nAssistant:`` (where a reply starts) and no suffix."""
    return (
        "{{- " + _literal(prefix) + " -}}"
        "{%- for message in messages -%}"
        "{%- if message['role'] == 'user' -%}"
        "{{- '\\n\\nHuman: ' + message['content'] -}}"
        "{%- elif message['role'] == 'assistant' -%}"
        "{{- '\\n\\nAssistant: ' + ((message['content'] | trim) if loop.last else message['content']) -}}"
        "{%- endif -%}"
        "{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{- '\\n\\nAssistant:' -}}"
        "{%- else -%}{{- " + _literal(suffix) + " -}}{%- endif -%}"
    )


def reward_chat_template(tokenizer, encoder) -> str:
    """The reward template for `tokenizer`, with the special tokens the app's `ReplyEncoder` puts around a text."""
    def text(ids: list[int]) -> str:
        return "".join(tokenizer.convert_ids_to_tokens(ids))

    return hh_chat_template(text(encoder.prefix), text(encoder.suffix))
