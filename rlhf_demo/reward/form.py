"""The Reward tab's training settings as a person types them (or an API client sends them) -> a `RewardConfig`.

Every bad value raises ValueError naming the field by its label in the tab ("learning rate must be ..."), never
Gradio's "Value 0 is less than minimum value 0.1" or a RewardConfig attribute name. The UI and the `/reward_train`
endpoint share this one function, so both take the same values and give the same messages.
"""

from __future__ import annotations

import math
import os

from rlhf_demo.reward.config import RewardConfig
from rlhf_demo.settings import shorten

# the tab's ranges (its sliders); the API is held to the same ones
RANGES = {"hh-rlhf training pairs": (0, 5000), "maximum length (tokens)": (64, 512), "LoRA rank r": (1, 64),
          "LoRA alpha": (1, 128)}
LR_RANGE = (1e-6, 1e-2)
DROPOUT_RANGE = (0.0, 0.5)


def default_use_votes() -> bool:
    """"Add the class's votes": off on a Hugging Face Space (SPACE_ID is set: anyone on the internet may vote there),
    on locally (a class voting in the room)."""
    return not os.environ.get("SPACE_ID")


def _number(value, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)) or value == "":
        raise ValueError(f"{field} must be a number, got {shorten(value)}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{field} must be a number, got {shorten(value)}") from None
    if not math.isfinite(number):
        raise ValueError(f"{field} must be a finite number, got {shorten(value)}")
    return number


def _whole(value, field: str) -> int:
    lo, hi = RANGES[field]
    number = _number(value, field)
    if number != int(number) or not lo <= number <= hi:
        raise ValueError(f"{field} must be a whole number from {lo:,} to {hi:,}, got {shorten(value)}")
    return int(number)


def _flag(value, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{field} must be true or false, got {shorten(value)}")
    return value


def parse_epochs(text) -> float | None:
    """The epochs field: empty (or "auto") = None (auto), else a number of passes in (0, 20]; anything else is an
    error that names the field."""
    text = "" if text is None else str(text).strip()
    if text.lower() in ("", "auto"):
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 20:
        raise ValueError(f"epochs (under 'LoRA and optimiser') must be a number above 0 and at most 20, or empty for "
                         f"auto; got {text[:40]!r}")
    return value


def parse_settings(n_pairs, use_votes, backbone, max_length, use_lora, lora_r, lora_alpha, lora_dropout, targets,
                   learning_rate, epochs, device: str | None = None) -> tuple[RewardConfig, int, bool]:
    """``(config, n_pairs, use_votes)`` from the tab's fields; ValueError naming the field otherwise."""
    n = _whole(n_pairs, "hh-rlhf training pairs")
    votes = _flag(use_votes, "use the class's votes")
    if backbone is None or backbone == "":
        backbone = "minilm"
    if not isinstance(backbone, str) or len(backbone) > 300:
        raise ValueError(f"backbone must be a name such as 'minilm', got {shorten(backbone)}")
    length = _whole(max_length, "maximum length (tokens)")
    lora = _flag(use_lora, "LoRA")
    r = _whole(lora_r, "LoRA rank r")
    alpha = _whole(lora_alpha, "LoRA alpha")
    dropout = _number(lora_dropout, "LoRA dropout")
    if not DROPOUT_RANGE[0] <= dropout <= DROPOUT_RANGE[1]:
        raise ValueError(f"LoRA dropout must be from {DROPOUT_RANGE[0]:g} to {DROPOUT_RANGE[1]:g}, got {shorten(lora_dropout)}")
    if targets is not None and not isinstance(targets, str):
        raise ValueError(f"target modules must be text (comma-separated names), got {shorten(targets)}")
    tm = [t.strip() for t in (targets or "").split(",") if t.strip()] or None
    if tm and not all(t.replace("_", "").replace(".", "").isalnum() and len(t) <= 100 for t in tm):
        raise ValueError(f"target modules must be module names such as query,value; got {shorten(targets)}")
    lr = _number(learning_rate, "learning rate")
    if not LR_RANGE[0] <= lr <= LR_RANGE[1]:
        raise ValueError(f"learning rate must be from {LR_RANGE[0]:g} to {LR_RANGE[1]:g} (typical with LoRA: "
                         f"1e-4 to 1e-3), got {shorten(learning_rate)}")
    cfg = RewardConfig(backbone=backbone.strip() or "minilm", max_length=length, use_lora=lora, lora_r=r,
                       lora_alpha=alpha, lora_dropout=dropout, lora_target_modules=tm, learning_rate=lr,
                       num_train_epochs=parse_epochs(epochs), device=device)
    return cfg.validate(), n, votes
