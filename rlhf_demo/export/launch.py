"""How a bundle is trained elsewhere: the accelerate configs it carries and the exact command lines of its README.

Every command is built here, once, from what the bundle holds (`BundlePaths`): the README prints them and the tests
run them. Each TRL command has three layers:

    core      what to train on: the policy, the reward model, the data, the output folder      (`trl_core`)
    smoke     2 steps at toy sizes, on a CPU: what the tests run                               (`SMOKE`)
    gpu       what only a GPU can take: bf16, vLLM (colocate, or server with `trl vllm-serve`) (`GPU_FLAGS`)

The accelerate configs follow TRL's examples/accelerate_configs (single_gpu.yaml, deepspeed_zero2.yaml): one GPU;
8 GPUs with DeepSpeed ZeRO-2; the same over 2 nodes, as a template whose address and rank each node fills in.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

_BASE = {"compute_environment": "LOCAL_MACHINE", "distributed_type": "NO", "mixed_precision": "bf16", "num_machines": 1,
         "num_processes": 1, "machine_rank": 0, "gpu_ids": "all", "use_cpu": False, "main_training_function": "main"}
_ZERO2 = {"distributed_type": "DEEPSPEED", "deepspeed_config": {
    "deepspeed_multinode_launcher": "standard", "offload_optimizer_device": "none", "offload_param_device": "none",
    "zero3_init_flag": False, "zero_stage": 2}, "rdzv_backend": "static", "same_network": True}
_CONFIGS = {  # file: (the comment on top, what differs from one GPU)
    "one_gpu.yaml": ("One GPU, no sharding. `accelerate launch --config_file accelerate/one_gpu.yaml -m trl.scripts.rloo ...`",
                     {}),
    "8gpu_zero2.yaml": ("8 GPUs on one machine, DeepSpeed ZeRO-2 (optimizer state and gradients sharded): "
                        "`pip install deepspeed`.", {**_ZERO2, "num_processes": 8}),
    "2node_zero2_template.yaml": ("TEMPLATE: 2 nodes x 8 GPUs, DeepSpeed ZeRO-2. Copy it to each node, then set "
                                  "main_process_ip to node 0's address and machine_rank to 0 on the first node, 1 on "
                                  "the second. num_processes counts the GPUs of all nodes.",
                                  {**_ZERO2, "num_machines": 2, "num_processes": 16, "main_process_ip": "10.0.0.1",
                                   "main_process_port": 29500}),
}


def accelerate_configs() -> dict[str, str]:
    """The YAML text of each accelerate config, by file name."""
    import yaml

    return {name: f"# {comment}\n" + yaml.safe_dump({**_BASE, **changes}, sort_keys=False)
            for name, (comment, changes) in _CONFIGS.items()}


TRL_STAGES = ("rloo", "grpo", "dpo", "reward")
# 2 optimizer steps at toy sizes: a CPU finishes each stage in well under a minute on the tiny models
SMOKE = {
    "rloo": ["--max_steps", "2", "--per_device_train_batch_size", "2", "--num_generations", "2",
             "--report_to", "none", "--save_strategy", "no", "--bf16", "false"],
    "dpo": ["--max_steps", "2", "--per_device_train_batch_size", "2", "--max_length", "128", "--report_to", "none",
            "--save_strategy", "no", "--bf16", "false"],
}
SMOKE["grpo"], SMOKE["reward"] = SMOKE["rloo"], SMOKE["dpo"]
GPU_FLAGS = ["--bf16", "true"]  # every stage, on a GPU
VLLM_COLOCATE = ["--use_vllm", "--vllm_mode", "colocate"]
VLLM_SERVER = ["--use_vllm", "--vllm_mode", "server"]


@dataclass(frozen=True)
class BundlePaths:
    """What the commands point at, as seen from the bundle's folder (the commands run there)."""

    policy: str  # the base policy: a folder or a Hub id (bundle.json's policy_path)
    reward_model: str = "reward_model"
    preferences: str = "preferences"
    prompts: str = "prompts"
    reply_tokens: int = 64  # --max_completion_length: the room the prompts were chosen to leave for a reply


def trl_core(stage: str, b: BundlePaths) -> list[str]:
    """The arguments of `trl <stage>` that say what to train: model, reward model, data, output."""
    if stage in ("rloo", "grpo"):
        return ["--model_name_or_path", b.policy, "--reward_model_name_or_path", b.reward_model,
                "--dataset_name", b.prompts, "--dataset_train_split", "train",
                "--max_completion_length", str(b.reply_tokens), "--output_dir", f"runs/{stage}", "--logging_steps", "1"]
    if stage == "dpo":
        return ["--model_name_or_path", b.policy, "--dataset_name", b.preferences, "--dataset_train_split", "train",
                "--dataset_test_split", "test", "--output_dir", "runs/dpo", "--logging_steps", "1"]
    if stage == "reward":  # a new reward model on the same pairs, the policy's base as backbone (TRL's usual way)
        return ["--model_name_or_path", b.policy, "--dataset_name", b.preferences, "--dataset_train_split", "train",
                "--dataset_test_split", "test", "--output_dir", "runs/reward", "--logging_steps", "1"]
    raise ValueError(f"unknown stage {stage!r}: one of {TRL_STAGES}")


def smoke_argv(stage: str, b: BundlePaths) -> list[str]:
    """The CPU smoke run the tests make: ``accelerate launch --num_processes 1 --cpu -m trl.scripts.<stage> ...``."""
    return (["accelerate", "launch", "--num_processes", "1", "--cpu", "-m", f"trl.scripts.{stage}"]
            + trl_core(stage, b) + SMOKE[stage])


def line(argv: list[str]) -> str:
    return shlex.join(argv)


def trl_lines(b: BundlePaths) -> dict[str, str]:
    """Each command of the README, by name."""
    out = {}
    for stage in TRL_STAGES:
        core = trl_core(stage, b)
        out[f"{stage}-cpu"] = line(smoke_argv(stage, b))
        out[f"{stage}"] = line(["trl", stage] + core + GPU_FLAGS)
        if stage in ("rloo", "grpo"):
            out[f"{stage}-vllm"] = line(["trl", stage] + core + GPU_FLAGS + VLLM_COLOCATE)
            out[f"{stage}-8gpu"] = line(["accelerate", "launch", "--config_file", "accelerate/8gpu_zero2.yaml", "-m",
                                         f"trl.scripts.{stage}"] + core + GPU_FLAGS + VLLM_COLOCATE)
    out["rloo-1gpu"] = line(["accelerate", "launch", "--config_file", "accelerate/one_gpu.yaml", "-m",
                             "trl.scripts.rloo"] + trl_core("rloo", b) + GPU_FLAGS)
    out["vllm-serve"] = line(["trl", "vllm-serve", "--model", b.policy])
    out["rloo-vllm-server"] = line(["trl", "rloo"] + trl_core("rloo", b) + GPU_FLAGS + VLLM_SERVER)
    out["rloo-2node"] = line(["accelerate", "launch", "--config_file", "accelerate/2node_zero2_template.yaml", "-m",
                              "trl.scripts.rloo"] + trl_core("rloo", b) + GPU_FLAGS + VLLM_COLOCATE)
    return out


def serve_reward_line(port: int = 5000) -> str:
    return line(["python", "-m", "rlhf_demo", "serve-reward", "--model", "reward_model", "--host", "0.0.0.0",
                 "--port", str(port)])


def verl_line(b: BundlePaths, port: int = 5000) -> str:
    """verl's PPO trainer (GRPO advantages: no critic) on verl/, its reward from `serve-reward` through the
    bundle's verl_reward.py, one request per batch (verl's "batch" reward manager)."""
    return f"RLHF_REWARD_URL=http://HOST:{port} " + line([
        "python3", "-m", "verl.trainer.main_ppo", "algorithm.adv_estimator=grpo", "data.train_files=verl/train.parquet",
        "data.val_files=verl/test.parquet", "data.max_prompt_length=512",
        f"data.max_response_length={b.reply_tokens}", "data.train_batch_size=64",
        f"actor_rollout_ref.model.path={b.policy}", "actor_rollout_ref.actor.optim.lr=1e-6",
        "actor_rollout_ref.actor.ppo_mini_batch_size=32", "actor_rollout_ref.rollout.name=vllm",
        "actor_rollout_ref.rollout.n=4", "reward_model.reward_manager=batch",
        "custom_reward_function.path=verl_reward.py", "custom_reward_function.name=compute_score_batch",
        "trainer.n_gpus_per_node=1", "trainer.nnodes=1", "trainer.logger=console"])


def openrlhf_line(b: BundlePaths, port: int = 5000) -> str:
    """OpenRLHF's PPO on Ray, its reward from `serve-reward` (flags as in OpenRLHF's examples/scripts/
    train_ppo_llama_ray.sh, with --remote_rm_url in place of --reward_pretrain)."""
    return line(["ray", "job", "submit", "--address=http://127.0.0.1:8265",
                 '--runtime-env-json={"working_dir": "."}', "--", "python3", "-m", "openrlhf.cli.train_ppo_ray",
                 "--ref_num_nodes", "1", "--ref_num_gpus_per_node", "1", "--critic_num_nodes", "1",
                 "--critic_num_gpus_per_node", "1", "--actor_num_nodes", "1", "--actor_num_gpus_per_node", "1",
                 "--vllm_num_engines", "1", "--vllm_tensor_parallel_size", "1", "--colocate_actor_ref",
                 "--pretrain", b.policy, "--remote_rm_url", f"http://HOST:{port}/get_reward",
                 "--save_path", "runs/openrlhf", "--micro_train_batch_size", "8", "--train_batch_size", "64",
                 "--micro_rollout_batch_size", "16", "--rollout_batch_size", "256", "--max_epochs", "1",
                 "--prompt_max_len", "512", "--generate_max_len", str(b.reply_tokens), "--zero_stage", "2", "--bf16",
                 "--actor_learning_rate", "5e-7", "--critic_learning_rate", "9e-6", "--init_kl_coef", "0.01",
                 "--prompt_data", b.prompts, "--input_key", "prompt", "--apply_chat_template", "--normalize_reward"])
