"""``python -m rlhf_demo export``: write an export bundle (reward model, preferences, prompts, policy, configs,
commands) for TRL, accelerate, OpenRLHF and verl; JSON of bundle.json's summary on the last line."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rlhf_demo.config_base import command_parser, parse_command
from rlhf_demo.settings import default_data_dir


@dataclass
class ExportArguments:
    out: str = field(metadata={"help": "a NEW folder to write the bundle to"})
    reward: str | None = field(default=None, metadata={
        "help": "the reward model: a saved model's folder, or its name under --data-dir; None = the active one"})
    policy: str | None = field(default=None, metadata={
        "help": "the base policy: preset (smollm2-135m, gpt2, tiny), folder or Hub id; None = the adapter's, else "
                "smollm2-135m"})
    adapter: str | None = field(default=None, metadata={
        "help": "a PPO checkpoint or DPO adapter folder to include as policy/ (peft format)"})
    data: str | None = field(default=None, metadata={
        "help": "hh-rlhf .jsonl(.gz) file or folder for the pairs and prompts; None = what the reward model was "
                "trained on, when that is here, else the app's default data"})
    subset: str | None = field(default=None, metadata={"help": "subset of the data; None = the reward model's"})
    data_dir: str | None = field(default=None, metadata={
        "help": "the app's data folder (votes, reward models); None = $RLHF_DATA_DIR, else ./rlhf_data"})
    no_votes: bool = field(default=False, metadata={"help": "leave the class's votes out of preferences/"})
    reply_tokens: int = field(default=64, metadata={
        "help": "room for a reply (tokens) each exported prompt leaves in the reward model's max_length"})
    offline: bool = field(default=False, metadata={"help": "never contact the Hugging Face Hub"})


def export_parser():
    return command_parser("python -m rlhf_demo export",
                          "Export what the class built (reward model, preferences with the votes, prompts, a policy "
                          "adapter) as a bundle that TRL, accelerate, OpenRLHF and verl train on. The last line "
                          "printed is one JSON object.", ExportArguments)


def export_main(argv: list[str] | None = None) -> int:
    """Bad input: one ``error:`` line on stderr and exit status 2; nothing is written."""
    from rlhf_demo.export.bundle import export_bundle

    (args,) = parse_command(export_parser(), argv)
    try:
        req = request_from_args(args)
        info = export_bundle(req, on_step=lambda s: print(f"[export] {s}", file=sys.stderr, flush=True))
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"out": str(req.out), "policy_path": info["policy_path"],
                      "reward_model": {k: info["reward_model"][k] for k in ("name", "eval_accuracy", "parity")},
                      "preferences": info["preferences"]["rows"], "votes": info["preferences"]["votes"],
                      "prompts": info["prompts"]["rows"], "policy_adapter": info["policy_adapter"]}), flush=True)
    return 0


def request_from_args(args: ExportArguments):
    """Resolve the flags into an `ExportRequest` (ValueError/OSError with a sentence when one is wrong)."""
    from rlhf_demo.export.bundle import ExportRequest
    from rlhf_demo.export.sources import counted_vote_pairs, reward_folder, source_for
    from rlhf_demo.models.presets import probe_hub_for, resolve_policy

    if args.reply_tokens < 1:
        raise ValueError(f"--reply-tokens must be >= 1, got {args.reply_tokens}")
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else default_data_dir()
    reward_dir = reward_folder(args.reward, data_dir)
    adapter = Path(args.adapter).expanduser() if args.adapter else None
    policy_name = args.policy or _adapter_policy(adapter)
    hub_ok = False if args.offline else probe_hub_for(policy_name)
    source = source_for(args.data, reward_dir, offline=args.offline or not hub_ok)
    return ExportRequest(reward_dir=reward_dir, out=Path(args.out).expanduser(), source=source,
                         policy=resolve_policy(policy_name, hub_ok), subset=args.subset, adapter=adapter,
                         votes=[] if args.no_votes else counted_vote_pairs(data_dir), reply_tokens=args.reply_tokens)


def _adapter_policy(adapter: Path | None) -> str | None:
    """The base policy an adapter was trained on: a DPO adapter's recorded preset, else what its adapter_config.json
    names (a preset's Hub id, the tiny policy's or SmolLM2's dequantised folder, another folder that is here)."""
    from rlhf_demo.dpo.config import META_FILE as DPO_META
    from rlhf_demo.models.presets import POLICY_PRESETS

    if adapter is None or not (adapter / "adapter_config.json").is_file():
        return None
    if (adapter / DPO_META).is_file():
        return json.loads((adapter / DPO_META).read_text()).get("policy") or None
    base = json.loads((adapter / "adapter_config.json").read_text()).get("base_model_name_or_path") or ""
    by_id = {v: k for k, v in POLICY_PRESETS.items()}
    if base in by_id:
        return by_id[base]
    if Path(base).name == "tiny-policy":
        return "tiny"
    if "smollm2" in base.lower():
        return "smollm2-135m"
    return base if base and Path(base).exists() else None
