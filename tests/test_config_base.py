"""rlhf_demo/config_base.py: the field checks and LoraArgs (one set of LoRA bounds for every stage)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from rlhf_demo.config_base import (FieldError, LoraArgs, check_choice, check_int, check_module_names, check_number,
                                   comma_list, require)
from rlhf_demo.dpo.config import DPOConfig
from rlhf_demo.ppo.config import LIVE_FIELDS, PPOConfig
from rlhf_demo.reward.config import RewardConfig

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
