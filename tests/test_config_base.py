"""rlhf_demo/config_base.py: the field checks, LoraArgs (one set of LoRA bounds for every stage), and the command lines
generated from the configs (every field in --help with its default; today's flags still parse; a bad value is one
`error:` line naming the field, exit status 2)."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import subprocess
import sys

import pytest

from rlhf_demo.config_base import (FieldError, LoraArgs, check_choice, check_int, check_module_names, check_number,
                                   comma_list, require)
from rlhf_demo.dpo.config import DPOConfig
from rlhf_demo.ppo.config import LIVE_FIELDS, PPOConfig
from rlhf_demo.reward.config import RewardConfig
from tests.conftest import REPO

CONFIGS = (RewardConfig, DPOConfig, PPOConfig)


# ------------------------------------------------------------------------------------------ the checks


@pytest.mark.parametrize("value", [0, 17, 2.0, True, "3", None])
def test_check_int_refuses_what_is_not_an_integer_in_range(value):
    with pytest.raises(FieldError, match=r"^epochs must be an integer in \[1, 16\], got "):
        check_int("epochs", value, 1, 16)


def test_check_int_accepts_its_bounds_and_none_when_allowed():
    check_int("epochs", 1, 1, 16)
    check_int("epochs", 16, 1, 16)
    check_int("max_pairs", None, 1, none_ok=True)
    with pytest.raises(FieldError, match="an integer >= 1, or None"):
        check_int("max_pairs", 0, 1, none_ok=True)


@pytest.mark.parametrize("value", [0, 0.2, math.nan, math.inf, -math.inf, True, "0.01", None])
def test_check_number_refuses_what_is_not_a_finite_number_in_range(value):
    with pytest.raises(FieldError, match=r"lr must be in \(0, 0\.1\], got ") as e:
        check_number("lr", value, 0, 0.1, lo_open=True)
    assert e.value.kind == "a number " and e.value.name == "lr"


def test_check_number_open_and_closed_ends():
    check_number("dropout", 0.0, 0.0, 1.0, hi_open=True)
    with pytest.raises(FieldError, match=r"in \[0, 1\)"):
        check_number("dropout", 1.0, 0.0, 1.0, hi_open=True)
    with pytest.raises(FieldError, match="must be >= 0"):
        check_number("vf_coef", -1, 0)
    check_number("kl_target", None, 0, lo_open=True, none_ok=True)


def test_check_choice_and_require_name_the_field():
    check_choice("baseline", "group", ("value", "group"))
    with pytest.raises(FieldError, match="baseline must be 'value' or 'group', got 'critic'"):
        check_choice("baseline", "critic", ("value", "group"))
    with pytest.raises(FieldError, match="x must be even, got 3; a hint"):
        require(False, "x", 3, "even", hint="a hint")


def test_module_names_and_the_command_lines_list_of_them():
    check_module_names("lora_target_modules", None)
    check_module_names("lora_target_modules", ["q_proj", "attention.self.query"])
    for bad in ([], ["../x"], ["q_proj", "a b"], "q_proj"):
        with pytest.raises(FieldError, match="lora_target_modules"):
            check_module_names("lora_target_modules", bad)
    assert comma_list("query, value,,") == ["query", "value"]


def test_a_huge_value_is_never_echoed_whole():
    with pytest.raises(FieldError) as e:
        check_int("seed", "x" * 100_000)
    assert len(str(e.value)) < 300 and "100,000 characters" in str(e.value)


# ------------------------------------------------------------------------------------------ LoraArgs and the configs


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("field, value", [("lora_r", 0), ("lora_r", 257), ("lora_r", 2.5), ("lora_alpha", 0),
                                          ("lora_dropout", 1.0), ("lora_dropout", -0.1), ("lora_target_modules", []),
                                          ("lora_target_modules", ["../x"])])
def test_every_stage_has_the_same_lora_bounds(config, field, value):
    assert issubclass(config, LoraArgs)
    with pytest.raises(ValueError, match=field):
        config(**{field: value}).validate()


@pytest.mark.parametrize("config", CONFIGS)
def test_the_lora_edges_are_fine(config):
    config(lora_r=1, lora_dropout=0.0).validate()
    config(lora_r=256, lora_alpha=0.5, lora_dropout=0.99, lora_target_modules=["q_proj"]).validate()


def test_each_stage_keeps_its_lora_defaults_and_alpha_is_twice_the_rank():
    assert [(c().lora_r, c().lora_alpha) for c in CONFIGS] == [(32, 64), (16, 32), (16, 32)]
    assert RewardConfig(lora_r=4).lora_alpha == 8 and RewardConfig(lora_r=4, lora_alpha=32).lora_alpha == 32
    help_of = {c: {f.name: f.metadata["help"] for f in dataclasses.fields(c) if f.name.startswith("lora_")}
               for c in CONFIGS}
    assert help_of[RewardConfig] == help_of[DPOConfig] == {k: v for k, v in help_of[PPOConfig].items() if k != "lora_layers"}


@pytest.mark.parametrize("config", CONFIGS)
def test_to_dict_and_from_dict_round_trip_and_ignore_unknown_keys(config):
    cfg = config(lora_r=4, lora_target_modules=["q_proj"], seed=3)
    assert config.from_dict(cfg.to_dict() | {"from_a_newer_version": 1}) == cfg


def test_the_two_message_styles():
    with pytest.raises(ValueError, match=r"^RewardConfig\.lora_r = 0: must be an integer in \[1, 256\]$"):
        RewardConfig(lora_r=0).validate()
    with pytest.raises(ValueError, match=r"^DPOConfig\.learning_rate = 1: must be a number in \(0, 0\.1\]"):
        DPOConfig(learning_rate=1).validate()
    with pytest.raises(ValueError, match=r"^PPOConfig: learning_rate must be in \(0, 0\.1\], got 1$"):
        PPOConfig(learning_rate=1).validate()


@pytest.mark.parametrize("config", CONFIGS)
def test_every_field_has_a_help(config):
    assert all(f.metadata.get("help") for f in dataclasses.fields(config))


def test_the_live_fields_are_ppo_fields_and_the_docstring_names_exactly_them():
    import rlhf_demo.ppo.config as ppo_config

    assert set(LIVE_FIELDS) <= {f.name for f in dataclasses.fields(PPOConfig)}
    block = ppo_config.__doc__.split("Live changes.")[1].split("\n\n")[1]
    assert [name.strip() for name in block.split(",")] == list(LIVE_FIELDS)


# ------------------------------------------------------------------------------------------ the command lines


def parsers():
    from rlhf_demo.frontier.cli import frontier_parser
    from rlhf_demo.dpo.cli import dpo_parser
    from rlhf_demo.ppo.cli import parser as ppo_parser
    from rlhf_demo.ppo.evaluate import parser as evaluate_parser
    from rlhf_demo.reward.cli import reward_parser

    return {"reward": reward_parser(), "dpo": dpo_parser(), "ppo": ppo_parser(), "evaluate": evaluate_parser(),
            "frontier": frontier_parser()}


@pytest.fixture(scope="module")
def built():
    return parsers()


@pytest.mark.parametrize("command", ["reward", "dpo", "ppo", "evaluate", "frontier"])
def test_every_field_is_in_help_with_its_default(built, command):
    parser = built[command]
    options = parser.format_help().split("\noptions:\n")[1]
    blocks = {b.split()[0].rstrip(","): " ".join(b.split()) for b in re.split(r"\n(?=  -)", options)}
    for dtype in parser.dataclass_types:
        for f in dataclasses.fields(dtype):
            block = blocks[f"--{f.name}"]
            assert f.metadata["help"].split()[0] in block, (command, f.name)
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            assert required or "(default: " in block, (command, f.name, block)


def parse(built, command, *argv):
    from rlhf_demo.config_base import parse_command

    return parse_command(built[command], list(argv))


def test_todays_reward_flags_still_parse(built):
    args, cfg = parse(built, "reward", "--train", "t", "--out", "o", "--eval", "e", "--backbone", "policy", "--policy",
                      "tiny", "--max-pairs", "8", "--eval-pairs", "4", "--epochs", "2", "--lr", "1e-4", "--batch-size",
                      "8", "--max-length", "64", "--lora-r", "8", "--lora-targets", "query,value", "--no-lora",
                      "--center-rewards", "0.01", "--eval-steps", "3", "--seed", "1", "--device", "cpu", "--quiet")
    assert (args.train, args.out, args.eval, args.policy, args.quiet) == ("t", "o", "e", "tiny", True)
    assert (cfg.backbone, cfg.max_pairs, cfg.eval_pairs, cfg.num_train_epochs, cfg.learning_rate) == ("policy", 8, 4, 2.0, 1e-4)
    assert (cfg.per_device_train_batch_size, cfg.max_length, cfg.lora_r, cfg.lora_alpha) == (8, 64, 8, 16)
    assert (cfg.lora_target_modules, cfg.use_lora, cfg.center_rewards_coefficient) == (["query", "value"], False, 0.01)
    assert (cfg.eval_steps, cfg.eval_points, cfg.seed, cfg.device) == (3, 3, 1, "cpu")  # eval_points: the command's 3
    assert parse(built, "reward", "--train", "t", "--out", "o", "--lora-alpha", "5")[1].lora_alpha == 5


def test_todays_ppo_dpo_evaluate_and_frontier_flags_still_parse(built):
    args, cfg = parse(built, "ppo", "--reward", "r", "--steps", "2", "--out", "o", "--max-seconds", "9", "--policy", "tiny",
                      "--data", "d", "--kl-coef", "0.1", "--batch-size", "8", "--lr", "1e-3", "--raw-scores", "--epochs",
                      "3", "--samples-per-prompt", "1", "--baseline", "value", "--mini-batches", "4", "--lora-layers",
                      "2", "--response-length", "16", "--temperature", "0.9", "--seed", "5", "--device", "cpu",
                      "--decoding", "eager", "--quiet")
    assert (args.reward, args.steps, args.max_seconds, args.data, args.decoding, args.quiet) == (["r"], 2, 9.0, "d", "eager", True)
    assert (cfg.kl_coef, cfg.batch_size, cfg.learning_rate, cfg.normalize_scores, cfg.num_ppo_epochs) == (0.1, 8, 1e-3, False, 3)
    assert (cfg.samples_per_prompt, cfg.baseline, cfg.num_mini_batches, cfg.lora_layers) == (1, "value", 4, 2)
    assert (cfg.response_length, cfg.temperature, cfg.seed) == (16, 0.9, 5) and cfg.validate()
    args, cfg = parse(built, "dpo", "--train", "t", "--out", "o", "--beta", "0.2", "--policy", "tiny", "--max-pairs", "8",
                      "--steps", "3", "--lr", "1e-3", "--max-length", "64", "--batch-size", "2", "--seed", "1",
                      "--device", "cpu", "--offline", "--quiet")
    assert (args.offline, args.quiet, cfg.beta, cfg.max_steps, cfg.per_device_train_batch_size) == (True, True, 0.2, 3, 2)
    (args,) = parse(built, "evaluate", "--reward", "r", "--prompts", "p", "--adapter", "a", "--n", "6", "--seed", "1",
                    "--response-length", "5", "--temperature", "0.5", "--max-prompt-chars", "99", "--decoding", "fp32")
    assert (args.adapter, args.n, args.response_length, args.temperature, args.max_prompt_chars) == ("a", 6, 5, 0.5, 99)
    assert parse(built, "evaluate", "--reward", "r", "--prompts", "p")[0].response_length is None  # the checkpoint's
    (args,) = parse(built, "frontier", "--proxy", "p", "--gold", "g", "--prompts", "x", "--adapters", "a", "b",
                    "--best-of", "1,2", "--n", "3", "--response-length", "10", "--allow-same")
    assert (args.adapters, args.best_of, args.n, args.response_length, args.allow_same) == (["a", "b"], "1,2", 3, 10, True)


def run_command(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "rlhf_demo", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("command, flags, field", [
    ("ppo", ("--reward", "r", "--steps", "1", "--lora-r", "0"), "lora_r"),
    ("dpo", ("--train", "t", "--lora-dropout", "1"), "lora_dropout"),
    ("reward", ("--train", "t", "--lora-alpha", "0"), "lora_alpha"),
])
def test_a_bad_value_is_one_error_line_naming_the_field(tmp_path, command, flags, field):
    p = run_command(command, *flags, "--out", str(tmp_path / "o"))
    errors = [line for line in p.stderr.splitlines() if "error:" in line]
    assert p.returncode == 2 and len(errors) == 1 and field in errors[0] and "Traceback" not in p.stderr, p.stderr
    assert not (tmp_path / "o").exists()


def test_an_unknown_option_is_argparses_error_not_a_traceback(tmp_path):
    p = run_command("dpo", "--train", "t", "--out", str(tmp_path / "o"), "--no-such-option", "1")
    assert p.returncode == 2 and "unrecognized arguments: --no-such-option 1" in p.stderr and "Traceback" not in p.stderr


def test_commands_are_imported_by_name_without_gradio_or_process_wide_side_effects():
    """`COMMANDS` names "module:function"; importing every headless command (and the trainer they use) adds none of
    our warning filters and leaves the GIL switch interval alone: those are set where the process starts."""
    code = """
import sys, warnings
interval = sys.getswitchinterval()
from rlhf_demo.cli import COMMANDS, command
for name in COMMANDS:
    assert callable(command(name)), name
import rlhf_demo.reward.trainer
assert "gradio" not in sys.modules, "a headless command imported gradio"
assert not [f for f in warnings.filters if f[1] is not None and "gradient_checkpointing" in f[1].pattern]
assert sys.getswitchinterval() == interval
"""
    p = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
