"""What a trainer sends, turned into what our reward model scores: an hh-rlhf prompt and a reply.

Our reward models were trained on hh-rlhf transcripts, ``prompt + " " + reply`` where the prompt is
``"\\n\\nHuman: ...\\n\\nAssistant:"`` (`rlhf_demo/reward/model.py`, `ReplyEncoder`). A trainer sends something else:
OpenRLHF sends the full text the policy saw and wrote, usually in the policy's chat template, and (in newer versions)
the prompt it started from; verl sends the decoded reply and whatever the data set put in ``extra_info``. So that the
reward model reads what it was trained on, each text is turned into an ``(hh prompt, reply)`` pair:

1. split:  with the prompt given and the query starting with it, the reply is the rest of the query; otherwise the
           query is cut after its LAST assistant marker (hh ``"\\n\\nAssistant:"`` or ChatML
           ``"<|im_start|>assistant\\n"``); with no marker, the whole query is the reply to an empty prompt
2. prompt: an hh transcript is used as it is; a ChatML prompt (SmolLM2, Qwen: ``<|im_start|>role\\n...<|im_end|>``)
           becomes its user and assistant turns (the system turn is dropped), written as hh; any other text is one
           Human turn (`prompt_from_text`); chat messages (verl's ``extra_info["prompt"]``) likewise
3. reply:  end-of-turn and padding tokens at its end are removed (`END_TOKENS`, repeated), then whitespace

Pure text work (no torch): the server validates and converts each request with it before anything is queued.
"""

from __future__ import annotations

import re
from typing import Sequence

from rlhf_demo.data.hh import ASSISTANT_TAG, HUMAN_TAG, Turn, prompt_from_text, prompt_turns, to_hh_text

# what a tokenizer's decode leaves after a reply: ChatML's end of turn, GPT-2/SmolLM2's EOS, Llama's EOS, padding
END_TOKENS = ("<|im_end|>", "<|endoftext|>", "</s>", "<pad>", "[PAD]", "[SEP]")
CHATML_START, CHATML_END = "<|im_start|>", "<|im_end|>"
CHATML_ASSISTANT = CHATML_START + "assistant\n"  # where a ChatML model's reply begins
ASSISTANT_MARKERS = (ASSISTANT_TAG, CHATML_ASSISTANT)
# one ChatML turn: "<|im_start|>role\ncontent", the content running to <|im_end|>, the next turn or the end
_CHATML_TURN = re.compile(r"<\|im_start\|>([^\n]*)\n(.*?)(?=<\|im_end\|>|<\|im_start\|>|\Z)", re.S)
ROLES = {"user": "Human", "human": "Human", "assistant": "Assistant"}  # any other role (system, tool) is dropped


def strip_end_tokens(reply: str) -> str:
    """The reply without the end-of-turn and padding tokens at its end (``"Hi<|im_end|>\\n<|endoftext|>"`` ->
    ``"Hi"``), stripped of whitespace."""
    text = reply.rstrip()
    while True:
        for token in END_TOKENS:
            if text.endswith(token):
                text = text[: -len(token)].rstrip()
                break
        else:
            return text.strip()


def _hh_prompt(text: str) -> str | None:
    """`text` as an hh-rlhf prompt when it is one (leading and trailing whitespace normalised), else None."""
    body = text.strip()
    if not body.startswith(HUMAN_TAG.strip()):
        return None
    candidate = "\n\n" + body
    try:
        prompt_turns(candidate)
    except ValueError:
        return None
    return candidate


def chatml_turns(text: str) -> list[Turn]:
    """The user and assistant turns of a ChatML text, as hh turns; system (and other) turns and the empty assistant
    turn a generation prompt opens are dropped."""
    turns = []
    for role, content in _CHATML_TURN.findall(text):
        role = ROLES.get(role.strip().lower())
        if role is not None:
            turns.append(Turn(role, content.strip()))
    if turns and turns[-1].role == "Assistant" and not turns[-1].text:
        turns.pop()  # "<|im_start|>assistant\n" at the end: the slot the reply fills
    return turns


def _render(turns: Sequence[Turn]) -> str:
    """hh turns as an hh-rlhf prompt: the transcript and the empty Assistant turn the reply fills."""
    return to_hh_text(turns) + ASSISTANT_TAG


def hh_prompt(text: str) -> str:
    """A prompt in any of the forms a trainer sends, as an hh-rlhf prompt (step 2); "" for an empty one."""
    if not text.strip():
        return ""
    hh = _hh_prompt(text)
    if hh is not None:
        return hh
    if CHATML_START in text:
        turns = chatml_turns(text)
        if turns:
            return _render(turns)
    return prompt_from_text(text)


def messages_prompt(messages) -> str:
    """Chat messages (``[{"role": "user", "content": "..."}, ...]``) as an hh-rlhf prompt; "" when no user or
    assistant turn is left. Raises ValueError (with the reason) for anything else."""
    if not isinstance(messages, (list, tuple)):
        raise ValueError("chat messages must be a list")
    turns = []
    for i, m in enumerate(messages):
        if not (isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)):
            raise ValueError(f"message {i} must be an object with a string 'role' and a string 'content'")
        role = ROLES.get(m["role"].strip().lower())
        if role is not None:
            turns.append(Turn(role, m["content"].strip()))
    return _render(turns) if turns else ""


def split_query(query: str, prompt: str | None = None) -> tuple[str, str]:
    """One trainer text -> ``(hh prompt, reply)`` (steps 1-3 of the module's docstring)."""
    if prompt and query.startswith(prompt):
        head, reply = prompt, query[len(prompt):]
    else:
        cut = max((query.rfind(m) + len(m) for m in ASSISTANT_MARKERS if m in query), default=0)
        head, reply = query[:cut], query[cut:]
    return hh_prompt(head), strip_end_tokens(reply)


def split_queries(queries: Sequence[str], prompts: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
    """OpenRLHF's ``query`` (and optional ``prompts``) -> ``(hh prompts, replies)``, in order."""
    pairs = [split_query(q, prompts[i] if prompts is not None else None) for i, q in enumerate(queries)]
    return [p for p, _ in pairs], [r for _, r in pairs]


def prompt_of(extra_info) -> str:
    """The hh prompt in verl's ``extra_info["prompt"]`` (hh or other text, or chat messages); "" when there is none.
    Raises ValueError for a prompt of another type."""
    if extra_info is None:
        return ""
    if not isinstance(extra_info, dict):
        raise ValueError("extra_info must be an object or null")
    prompt = extra_info.get("prompt")
    if prompt is None:
        return ""
    if isinstance(prompt, str):
        return hh_prompt(prompt)
    return messages_prompt(prompt)
