"""README.md of an export bundle: what is in it and the exact commands (all built by `launch.py`)."""

from __future__ import annotations


def _block(*lines: str) -> str:
    return "```bash\n" + "\n".join(lines) + "\n```\n"


def _counts(left_out: dict) -> str:
    shown = [f"{n:,} {why}" for why, n in left_out.items() if n]
    return ", ".join(shown) or "none"


def bundle_readme(info: dict) -> str:
    c = info["commands"]
    rm, prefs, prompts = info["reward_model"], info["preferences"], info["prompts"]
    acc = rm.get("eval_accuracy")
    adapter = ("`policy/`: the LoRA adapter chosen at export, in peft's format; its `base_model_name_or_path` is "
               f"`{info.get('policy_hub_id') or info['policy_path']}`." if info.get("policy_adapter") else
               "no policy adapter was chosen (`--adapter` adds one).")
    return f"""# RLHF Playground export bundle

Made {info["created"]}. Everything the class built, in the formats TRL, accelerate, DeepSpeed, vLLM, OpenRLHF
and verl read. Run the commands below **from this folder**.

| path | what |
|---|---|
| `reward_model/` | reward model `{rm["name"]}`, merged, a plain `AutoModelForSequenceClassification` (`num_labels=1`); held-out accuracy {"n/a" if acc is None else f"{100 * acc:.1f} %"}; its chat template renders the hh-rlhf text the app scored; see its README |
| `preferences/` | TRL conversational preferences (`prompt`/`chosen`/`rejected`), Parquet: train {prefs["rows"].get("train", 0):,} pairs (incl. {prefs["votes"]} class votes), test {prefs["rows"].get("test", 0):,} |
| `prompts/` | TRL conversational prompts (`prompt`), Parquet: train {prompts["rows"].get("train", 0):,}, test (held out) {prompts["rows"].get("test", 0):,}; each leaves {prompts["reply_tokens"]} tokens for a reply within the reward model's {rm["max_length"]} |
| `policy_path` | `{info["policy_path"]}` ({info["policy_weights"]}); on another machine use the Hub id `{info.get("policy_hub_id") or "-"}` |
| policy adapter | {adapter} |
| `accelerate/` | `one_gpu.yaml`, `8gpu_zero2.yaml` (DeepSpeed ZeRO-2), `2node_zero2_template.yaml` (fill in the address and rank) |
| `verl/`, `verl_reward.py` | the prompts as verl's RL data, and verl's custom reward function (it calls `serve-reward`) |
| `bundle.json` | all of the above, machine-readable |

## Check it on a CPU first (2 steps each: what the app's tests run)

{_block(c["rloo-cpu"], c["grpo-cpu"], c["dpo-cpu"], c["reward-cpu"])}
## TRL on a GPU

RLOO or GRPO against the class's reward model, with and without vLLM (colocate: generation shares the training GPU):

{_block(c["rloo"], c["rloo-vllm"], c["grpo"], c["grpo-vllm"])}
vLLM as a server on its own GPU: start `{c["vllm-serve"]}` first, then

{_block(c["rloo-vllm-server"])}
DPO on the class's preferences, and a new reward model on them (the policy's base as backbone):

{_block(c["dpo"], c["reward"])}
## accelerate: one GPU, 8 GPUs with DeepSpeed ZeRO-2, two nodes

{_block(c["rloo-1gpu"], c["rloo-8gpu"], c["rloo-2node"])}
For two nodes, copy `accelerate/2node_zero2_template.yaml` to each node, set `main_process_ip` to node 0's address
and `machine_rank` to 0 and 1, and run the last command on both.

## OpenRLHF (Ray) with this reward model as a remote reward model

Serve the reward model (OpenRLHF's contract: POST `/get_reward` with `{{"query": [...], "prompts": [...]}}` returns
`{{"rewards": [...]}}`), then submit PPO with `--remote_rm_url` (replace HOST):

{_block(c["serve-reward"], c["openrlhf"])}
## verl

`verl/` holds the prompts as verl's RL data (each row's hh-rlhf text in `extra_info.prompt`, which the reward
server reads with the reply). Start the same server, then (replace HOST):

{_block(c["verl"])}
## Notes

- The reward model scores `"\\n\\nHuman: …\\n\\nAssistant: <reply>"` with its special tokens, as the app did. The app
  keeps the last {rm["max_length"]} tokens of a longer text; TRL does not cut, so keep prompt + reply under
  {rm["max_length"]} tokens (the prompts here do, with `--max_completion_length {prompts["reply_tokens"]}`).
- Pairs and prompts come from {prefs["source"]} ({prefs["split"]}). Left out: pairs: {_counts(prefs["left_out"])};
  prompts: {_counts(prompts["left_out"])}.
- `serve-reward` is this project's command: `pip install` RLHF Playground where the reward server runs (any
  machine the trainer can reach; a CPU is enough for a small reward model).
"""
