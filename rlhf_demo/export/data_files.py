"""The bundle's data: preference pairs and prompts as Parquet files in TRL's conversational formats.

    preferences/train.parquet   the hh-rlhf training pairs + the class's counted votes   {"prompt", "chosen", "rejected"}
    preferences/test.parquet    the held-out pairs the reward model was evaluated on      (explicit-prompt preference)
    prompts/train.parquet       the training conversations, ending with a user turn      {"prompt"}
    prompts/test.parquet        the held-out ones (never in train)                        (prompt-only)
    verl/train.parquet          the same prompts as verl's RL datasets want them: data_source, prompt, ability,
    verl/test.parquet           reward_model {style, ground_truth}, extra_info {prompt: the hh text, index}

A split's file name is its name, so ``load_dataset("<bundle>/preferences")`` (what ``trl dpo --dataset_name`` calls)
finds both splits. Messages are ``{"role": "user" | "assistant", "content": ...}`` (`data.hh.prompt_messages`). A
prompt that is no whole hh-rlhf transcript (cut from the left) cannot become messages and is left out, counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from rlhf_demo.data.hh import prompt_messages
from rlhf_demo.data.pairs import Pair, messages_arrow_type


@dataclass
class Written:
    """What one folder got: rows per split, and rows left out (and why)."""

    rows: dict[str, int]
    left_out: dict[str, int]
    kept: dict[str, list[str]] | None = None  # the hh prompts written, per split (prompts only)


def preference_row(pair: Pair) -> dict:
    """TRL's conversational preference example with an explicit prompt."""
    prompt, chosen, rejected = pair
    return {"prompt": prompt_messages(prompt), "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}]}


def _write(rows: list[dict], path: Path, columns: Sequence[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c, messages_arrow_type()) for c in columns])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def write_preferences(folder: Path, splits: dict[str, Sequence[Pair]]) -> Written:
    """``folder/<split>.parquet`` per split of preference pairs."""
    folder.mkdir(parents=True, exist_ok=True)
    rows, left_out = {}, {"not a whole transcript": 0}
    for split, pairs in splits.items():
        out = []
        for pair in pairs:
            try:
                out.append(preference_row(pair))
            except ValueError:
                left_out["not a whole transcript"] += 1
        _write(out, folder / f"{split}.parquet", ("prompt", "chosen", "rejected"))
        rows[split] = len(out)
    return Written(rows, left_out)


def write_prompts(folder: Path, splits: dict[str, Sequence[str]], fits: Callable[[str], bool]) -> Written:
    """``folder/<split>.parquet`` per split of hh prompts: each distinct prompt once, a test prompt never in train,
    and only prompts that `fits` (room for a reply inside the reward model's max_length)."""
    folder.mkdir(parents=True, exist_ok=True)
    held = set(splits.get("test", ()))
    rows, left_out = {}, {"not a whole transcript": 0, "too long for the reward model": 0, "also held out": 0}
    kept: dict[str, list[str]] = {}
    for split, prompts in splits.items():
        out, kept[split] = [], []
        for prompt in dict.fromkeys(prompts):
            if split != "test" and prompt in held:
                left_out["also held out"] += 1
                continue
            try:
                messages = prompt_messages(prompt)
            except ValueError:
                left_out["not a whole transcript"] += 1
                continue
            if not fits(prompt):
                left_out["too long for the reward model"] += 1
                continue
            out.append({"prompt": messages})
            kept[split].append(prompt)
        _write(out, folder / f"{split}.parquet", ("prompt",))
        rows[split] = len(out)
    return Written(rows, left_out, kept)


VERL_SOURCE = "rlhf-playground"  # verl's data_source column: which reward function a row belongs to


def write_verl(folder: Path, splits: dict[str, Sequence[str]]) -> dict[str, int]:
    """verl's RL data (docs/preparation/prepare_data.rst) from the prompts written to prompts/ (`Written.kept`): the
    chat messages verl renders with the policy's template, and the hh-rlhf prompt in ``extra_info["prompt"]``, which
    `verl_reward.py` sends to the reward model server with each reply. No ground truth: the reward model judges."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("data_source", pa.string()), ("prompt", messages_arrow_type()), ("ability", pa.string()),
                        ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
                        ("extra_info", pa.struct([("prompt", pa.string()), ("split", pa.string()),
                                                  ("index", pa.int64())]))])
    folder.mkdir(parents=True, exist_ok=True)
    for split, prompts in splits.items():
        out = [{"data_source": VERL_SOURCE, "prompt": prompt_messages(p), "ability": "chat",
                "reward_model": {"style": "model", "ground_truth": ""},
                "extra_info": {"prompt": p, "split": split, "index": i}} for i, p in enumerate(prompts)]
        pq.write_table(pa.Table.from_pylist(out, schema=schema), folder / f"{split}.parquet")
    return {split: len(prompts) for split, prompts in splits.items()}
