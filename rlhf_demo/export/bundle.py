"""An export bundle: what the class built, in the formats the field's trainers read, in one folder.

    <out>/reward_model/   the reward model, merged, standalone (`reward_model.py`)
          preferences/    hh-rlhf pairs + counted votes, train/test, Parquet (`data_files.py`)
          prompts/        the training conversations, with the held-out ones as `test`
          verl/           the same prompts as verl's RL data (the hh text rides along for the reward server)
          policy/         a PPO or DPO LoRA adapter in peft's format, when one was chosen
          base_policy/    the base policy with an hh-rlhf chat template, only when its own tokenizer has none
          accelerate/     one GPU, 8 GPUs with ZeRO-2, a 2-node template (`launch.py`)
          verl_reward.py  verl's custom reward function, calling `serve-reward`
          README.md       the exact commands; bundle.json (written last) says what is in it

The recipe (`export_bundle`), written under a temporary name and renamed into place when whole (`atomic_folder`):
1. the reward model: merge, template, save, check its scores against the app's
2. the preference pairs: the reward model's own train/held-out split of the data, plus the counted votes
3. the prompts: the same split's conversations that leave room for a reply in the reward model's max_length
4. the policy: where it is (`policy_path`), a chat template when it has none, the adapter when one was chosen
5. accelerate configs, verl's reward function, README.md, and bundle.json last
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from rlhf_demo.data.pairs import Pair, source_split
from rlhf_demo.export.data_files import write_preferences, write_prompts, write_verl
from rlhf_demo.export.launch import (accelerate_configs, BundlePaths, openrlhf_line, serve_reward_line, trl_lines,
                                     verl_line)
from rlhf_demo.export.readme import bundle_readme
from rlhf_demo.export.reward_model import ExportError, messages_for, model_card, parity, save_reward_model
from rlhf_demo.export.templates import hh_chat_template
from rlhf_demo.models.presets import POLICY_PRESETS, ModelChoice, ensure_weights
from rlhf_demo.reward.model import RewardModel, load_reward_model
from rlhf_demo.serving import BUNDLE_FILE, REWARD_SUBFOLDER, VERL_REWARD_FILE
from rlhf_demo.storage import atomic_folder, check_new_folder

FORMAT = "rlhf-playground-bundle"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin")


@dataclass
class ExportRequest:
    """What to export. The caller resolves the names (the app from its workspace, the command line from flags)."""

    reward_dir: Path  # a saved reward model (the app's folder, with reward_meta.json)
    out: Path  # a NEW folder
    source: object  # the data source (`data.sources.DataSource`) the pairs and prompts come from
    policy: ModelChoice  # the base policy
    subset: str | None = None  # None: the one the reward model was trained on, else the source's default
    votes: list[Pair] = field(default_factory=list)  # the class's counted decisive votes
    adapter: Path | None = None  # a PPO checkpoint or DPO adapter folder (peft format)
    reply_tokens: int = 64  # room left for a reply when the prompts are chosen (= --max_completion_length)


def export_bundle(req: ExportRequest, on_step: Callable[[str], None] = lambda s: None) -> dict:
    """Write the bundle (the numbered recipe above); returns bundle.json's content. ExportError / ValueError: a
    sentence for the user, and nothing written."""
    out = check_new_folder(req.out, "--out")
    if req.adapter is not None and not (Path(req.adapter) / "adapter_config.json").is_file():
        raise ExportError(f"--adapter {req.adapter}: not a LoRA adapter folder (no adapter_config.json)")
    on_step("loading the reward model")
    rm = load_reward_model(req.reward_dir, device="cpu")
    rm.autocast = False  # float32, as the exported model scores: the check compares like with like
    cfg = rm.meta["config"]
    subset = _subset(req, rm)
    train, held, where = source_split(req.source, subset, int(cfg["eval_pairs"]), int(cfg["seed"]))
    with atomic_folder(out, BUNDLE_FILE) as tmp:
        on_step("1/5 reward model: merged, saved, checked against the app's scores")
        rm_dir = tmp / REWARD_SUBFOLDER
        rm_dir.mkdir()
        save_reward_model(rm, rm_dir)
        check = parity(rm, rm_dir, held)
        (rm_dir / "README.md").write_text(model_card(rm, Path(req.reward_dir).name, check))
        on_step("2/5 preference pairs")
        train = list(train) + list(req.votes)
        prefs = write_preferences(tmp / "preferences", {"train": train, "test": held})
        on_step("3/5 prompts")
        prompts = write_prompts(tmp / "prompts", {"train": [p for p, _, _ in train], "test": [p for p, _, _ in held]},
                                _fits(rm, req.reply_tokens))
        verl_rows = write_verl(tmp / "verl", prompts.kept)
        on_step("4/5 policy")
        policy = _policy(req, tmp)
        on_step("5/5 configs, README, bundle.json")
        info = {"format": FORMAT, "version": 1, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **policy,
                "reward_model": _reward_info(rm, req.reward_dir, check),
                "preferences": {"path": "preferences", "format": "TRL conversational preference, explicit prompt",
                                "rows": prefs.rows, "votes": len(req.votes), "left_out": prefs.left_out,
                                "source": req.source.description, "split": where},
                "prompts": {"path": "prompts", "format": "TRL conversational prompt-only", "rows": prompts.rows,
                            "left_out": prompts.left_out, "reply_tokens": req.reply_tokens},
                "verl": {"path": "verl", "rows": verl_rows, "reward_function": "verl_reward.py"},
                "accelerate": sorted(f"accelerate/{name}" for name in accelerate_configs())}
        info["commands"] = _commands(info)
        _write_rest(tmp, info)
    return info


def _subset(req: ExportRequest, rm: RewardModel) -> str:
    if req.subset:
        return req.subset
    trained = (rm.meta.get("trained_on") or {}).get("subset")
    return trained if trained in req.source.subsets() else req.source.default()[0]


def _fits(rm: RewardModel, reply_tokens: int) -> Callable[[str], bool]:
    """Does a prompt leave `reply_tokens` for a reply inside the reward model's max_length (as TRL renders it)?"""
    def fits(prompt: str) -> bool:
        body = rm.tokenizer(rm.encoder.text(prompt, ""), add_special_tokens=False, verbose=False)["input_ids"]
        return len(body) + reply_tokens <= rm.encoder.budget
    return fits


def _reward_info(rm: RewardModel, reward_dir: Path, check: dict) -> dict:
    meta = rm.meta
    return {"path": REWARD_SUBFOLDER, "name": Path(reward_dir).name, "backbone": meta.get("backbone_label"),
            "max_length": int(meta["config"]["max_length"]), "eval_accuracy": (meta.get("eval") or {}).get("accuracy"),
            "baseline_shorter_wins": meta.get("baseline_shorter_wins"),
            "baseline_longer_wins": meta.get("baseline_longer_wins"), "trained_on": meta.get("trained_on"),
            "parity": check, "example_messages": messages_for("\n\nHuman: Hello?\n\nAssistant:", "Hi!")}


def _policy(req: ExportRequest, tmp: Path) -> dict:
    """Step 4: ``policy_path`` (a folder or a Hub id a trainer loads the base policy from), a copy with an hh-rlhf
    chat template when the policy has none, and the adapter under policy/."""
    from transformers import AutoTokenizer

    path = ensure_weights(req.policy)  # the dequantised GGUF cache is written here the first time
    hub_id = POLICY_PRESETS.get(req.policy.name) if req.policy.name != "tiny" else None
    tok = AutoTokenizer.from_pretrained(path)
    info = {"policy_path": str(Path(path).resolve()) if Path(path).exists() else path, "policy_hub_id": hub_id,
            "policy_weights": req.policy.weights or req.policy.label(), "policy_chat_template": "its own"}
    if not getattr(tok, "chat_template", None):
        if not Path(path).is_dir():
            raise ExportError(f"The policy {req.policy.name} has no chat template and no local folder to give it one.")
        shutil.copytree(path, tmp / "base_policy", ignore=shutil.ignore_patterns(".*", "__pycache__", "*.py"))
        tok.chat_template = hh_chat_template()
        tok.save_pretrained(tmp / "base_policy")
        info.update(policy_path="base_policy", policy_chat_template="hh-rlhf, added by the export (base_policy/)")
    info["policy_adapter"] = None
    if req.adapter is not None:
        _copy_adapter(Path(req.adapter), tmp / "policy", hub_id or info["policy_path"])
        info["policy_adapter"] = "policy"
    return info


def _copy_adapter(src: Path, dst: Path, base: str) -> None:
    """The adapter's files, its ``base_model_name_or_path`` set to the base policy's name."""
    from rlhf_demo.arena.contestants import adapter_problem

    problem = adapter_problem(src)
    if problem:
        raise ExportError(f"--adapter {src}: {problem}")
    dst.mkdir()
    for name in ADAPTER_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, dst / name)
    config = json.loads((dst / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = base
    (dst / "adapter_config.json").write_text(json.dumps(config, indent=2))


def _commands(info: dict) -> dict[str, str]:
    paths = BundlePaths(policy=info["policy_path"], reply_tokens=info["prompts"]["reply_tokens"])
    return {**trl_lines(paths), "serve-reward": serve_reward_line(), "openrlhf": openrlhf_line(paths),
            "verl": verl_line(paths)}


def _write_rest(tmp: Path, info: dict) -> None:
    """Step 5: accelerate configs, verl's reward function, README.md, then bundle.json (the completion marker)."""
    (tmp / "accelerate").mkdir()
    for name, text in accelerate_configs().items():
        (tmp / "accelerate" / name).write_text(text)
    shutil.copy2(VERL_REWARD_FILE, tmp / "verl_reward.py")
    (tmp / "README.md").write_text(bundle_readme(info))
    (tmp / BUNDLE_FILE).write_text(json.dumps(info, indent=1))


def read_bundle(folder: str | Path) -> dict:
    """bundle.json of an export (ValueError when `folder` is not one)."""
    f = Path(folder) / BUNDLE_FILE
    try:
        info = json.loads(f.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{folder} is not an export bundle (no readable {BUNDLE_FILE})") from e
    if info.get("format") != FORMAT:
        raise ValueError(f"{folder} is not an export bundle ({BUNDLE_FILE} has format {info.get('format')!r})")
    return info
