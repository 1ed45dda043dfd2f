"""Start-up choices of an app or a command, and where the app writes. Imports none of the stages."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

# what a saved thing (reward model, PPO checkpoint) may be called: it becomes a folder name under the data dir
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NAME_RULE = "letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters"


# --decoding: how replies are sampled (rlhf_demo/models/decoding.py has the backends and the measurement)
DECODING_CHOICES = ("auto", "eager", "fp32", "fast32", "bf16")
MAX_DECODING_KL = 0.02  # nats per sampled token: "auto" refuses a backend whose sampling is further from float32's


def decoding_field():
    """`--decoding` as a field of a command's arguments dataclass: the same choices and help on every command that
    samples from the policy (and on the app, `add_decoding_argument`)."""
    return field(default="auto", metadata={
        "choices": DECODING_CHOICES,
        "help": f"how replies are sampled: auto (the fastest backend that stays within {MAX_DECODING_KL} nats per token "
                "of float32, measured once on this machine and cached), eager (transformers generate, float32), fp32, "
                "fast32 or bf16 (our loop: each prompt prefilled once, an inverse-CDF sampler; fast32 and bf16 in a "
                "lean Llama decoder) (default: %(default)s)"})


def add_decoding_argument(parser) -> None:
    """`--decoding` on a hand-written parser (the app's): `decoding_field` as an option."""
    parser.add_argument("--decoding", default="auto", **decoding_field().metadata)


def shorten(value, n: int = 60) -> str:
    """A value as it may be echoed in a message: its repr, cut to `n` characters with its real length said. Every
    message that repeats what a user typed or sent goes through this (a 1 MB name must not become a 1 MB error)."""
    text = value if isinstance(value, str) else repr(value)
    return repr(text) if len(text) <= n else f"{text[:n]!r}… ({len(text):,} characters)"


def valid_name(name) -> bool:
    """Is `name` usable as the folder name of a saved model (see NAME_RE)?"""
    return isinstance(name, str) and NAME_RE.fullmatch(name) is not None


def default_data_dir() -> Path:
    """Where the app writes (votes, reward models, checkpoints): $RLHF_DATA_DIR, else ./rlhf_data."""
    return Path(os.environ.get("RLHF_DATA_DIR") or "rlhf_data").expanduser()


@dataclass
class Settings:
    """Start-up choices (from the command line / environment). `Workspace` resolves them, once."""

    data: str | None = None  # --data: a .jsonl(.gz) file or an Anthropic-style folder; None = Hub, else bundled
    policy: str | None = None  # --policy: preset name, folder or Hub id; None = smollm2-135m (Hub, else GGUF, else tiny)
    reward_backbone: str | None = None  # --reward-backbone: minilm | policy | folder | Hub id
    offline: bool = False  # --offline: never try the Hub (also implied by HF_HUB_OFFLINE=1)
    data_dir: Path = field(default_factory=default_data_dir)
    hub_timeout: float = 3.0  # seconds we give the Hub before falling back (start-up cost when offline)
    device: str | None = None  # None = cuda if available, else cpu
    # --decoding: how replies are sampled (models/decoding.py); "auto" = the fastest backend measured on this machine
    decoding: str = "auto"
    # --allow-any-model: let the UI train on any reward backbone (a folder or a Hub id typed into the Reward tab).
    # Off: only the presets (minilm, policy) and what was given at start-up, so that no visitor can make the app
    # download an arbitrary model from the Hub.
    allow_any_model: bool = False
    # --instructor-key / $RLHF_INSTRUCTOR_KEY: when set, only a session that entered it may change jobs, settings
    # and models (see instructor.py). Only its SHA-256 is kept (`instructor.key_digest(key)`, done by the command line as it
    # reads the key): the key itself is in no object of the app. repr=False: not even the digest shows in a log line.
    instructor_key_sha256: str | None = field(default=None, repr=False)
