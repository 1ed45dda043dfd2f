"""What every run config shares: (de)serialisation, one set of field checks, the LoRA knobs, and the command line
that is generated from a config's fields.

A config is a dataclass whose fields carry their command-line help (`field(..., metadata={"help": ...})`), so the
headless commands generate their parsers from it (`command_parser`, with transformers' HfArgumentParser). The
reasoning behind each default stays next to the field, as comments; the help is the one short sentence a user reads
in `--help`.

Metadata keys besides "help" (all read by `add_field`):
    aliases    more spellings of the option, e.g. ["--lr"] (HfArgumentParser's own key)
    choices    the allowed values (passed on to argparse)
    parse      turns the one string given into the value (a comma-separated list of module names, say)
    negation   a flag that sets a bool field to False (--no-lora for use_lora)

`validate()` raises ValueError naming the field. The checks below raise `FieldError`, which each config words in its
style: "RewardConfig.lr = 0.5: must be ..." (the default) or "PPOConfig: lr must be ..., got 0.5" (PPOConfig).
"""

from __future__ import annotations

import argparse
import copy
import math
import re
import types
from dataclasses import MISSING, asdict, dataclass, field, fields

from rlhf_demo.settings import shorten

DEVICES = ("cpu", "cuda", "mps", "xpu")  # torch device types; "cuda:1" names one GPU
# a batch of preference pairs holds chosen + rejected sequences of max_length tokens each: pairs x max_length is
# bounded by memory (reward model and DPO)
MAX_PAIR_TOKENS = 65_536


def shown(value) -> str:
    """A value as a message repeats it: its repr (0.5, 'tpu', None), cut by settings.shorten when long."""
    if isinstance(value, str):
        return shorten(value)
    text = repr(value)
    return text if len(text) <= 60 else shorten(text)


class FieldError(ValueError):
    """`name` (the field as the message calls it) must be `rule`; `kind` ("a number ") is said where it helps."""

    def __init__(self, name: str, value, rule: str, hint: str = "", kind: str = ""):
        self.name, self.value, self.rule, self.hint, self.kind = name, value, rule, hint, kind
        super().__init__(f"{name} must be {rule}, got {shown(value)}{self.tail}")

    @property
    def tail(self) -> str:
        return f"; {self.hint}" if self.hint else ""


# -- the checks: each raises FieldError naming the field ---------------------------------------------------------------
def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    """A real, finite number: not a bool, not a string, not NaN or inf."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def interval(lo=None, hi=None, lo_open: bool = False, hi_open: bool = False) -> str:
    """"in [1, 16]", "in (0, 0.1]", ">= 1", "< 1" or "" (no bound)."""
    def show(x) -> str:
        return f"{x:g}" if isinstance(x, float) else str(x)

    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{show(lo)}, {show(hi)}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {show(lo)}"
    return f"{'<' if hi_open else '<='} {show(hi)}" if hi is not None else ""


def inside(value, lo, hi, lo_open: bool, hi_open: bool) -> bool:
    return ((lo is None or (value > lo if lo_open else value >= lo))
            and (hi is None or (value < hi if hi_open else value <= hi)))


def require(ok: bool, name: str, value, rule: str, hint: str = "") -> None:
    """The general check: `ok`, else "`name` must be `rule`"."""
    if not ok:
        raise FieldError(name, value, rule, hint)


def check_int(name: str, value, lo=None, hi=None, *, none_ok: bool = False, hint: str = "") -> None:
    """An integer (not a bool) within [lo, hi]; None too when `none_ok`."""
    if none_ok and value is None:
        return
    rule = " ".join(filter(None, ["an integer", interval(lo, hi)])) + (", or None" if none_ok else "")
    require(is_int(value) and inside(value, lo, hi, False, False), name, value, rule, hint)


def check_number(name: str, value, lo=None, hi=None, *, lo_open: bool = False, hi_open: bool = False,
                 none_ok: bool = False, hint: str = "") -> None:
    """A finite number within the interval (open ends where said); None too when `none_ok`."""
    if none_ok and value is None:
        return
    rule = (interval(lo, hi, lo_open, hi_open) or "finite") + (", or None" if none_ok else "")
    if not (is_number(value) and inside(value, lo, hi, lo_open, hi_open)):
        raise FieldError(name, value, rule, hint, kind="a number ")


def check_choice(name: str, value, choices, hint: str = "") -> None:
    """One of `choices`."""
    names = [repr(c) for c in choices]
    rule = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    require(value in choices, name, value, rule, hint)


def check_device(name: str, value) -> None:
    """cpu, cuda, cuda:N, mps, xpu, or None (= cuda when a GPU is present, else cpu)."""
    require(value is None or (isinstance(value, str) and value.split(":")[0] in DEVICES), name, value,
            "cpu, cuda (or cuda:N), or None for automatic")


def check_pair_tokens(name: str, pairs, max_length) -> None:
    """A batch of `pairs` preference pairs of `max_length` tokens fits in memory (MAX_PAIR_TOKENS)."""
    require(pairs * max_length <= MAX_PAIR_TOKENS, f"{name} x max_length", pairs * max_length,
            f"<= {MAX_PAIR_TOKENS:,} tokens (memory)", hint="lower one of them")


_MODULE_NAME = re.compile(r"[A-Za-z0-9_]{1,64}(\.[A-Za-z0-9_]{1,64}){0,7}")  # query, q_proj, attention.self.query


def is_module_name(name) -> bool:
    """A LoRA target names a module (``q_proj``, ``attention.self.query``), never a path (``../x``) or a pattern."""
    return isinstance(name, str) and _MODULE_NAME.fullmatch(name) is not None


def check_module_names(name: str, value) -> None:
    """None (the default), or a non-empty list of module names."""
    require(value is None or (isinstance(value, (list, tuple)) and len(value) > 0 and all(map(is_module_name, value))),
            name, value, "a non-empty list of module names (such as query,value or q_proj), or None for the default")


def comma_list(text: str) -> list[str]:
    """`--lora-targets query,value` -> ["query", "value"] (the command line's spelling of a list of names)."""
    return [item.strip() for item in text.split(",") if item.strip()]


def device_field():
    """The `device` field of a config or of a command's arguments."""
    return field(default=None, metadata={"help": "cpu or cuda (or cuda:N); None = cuda when a GPU is present, else cpu"})


# -- the base ---------------------------------------------------------------------------------------------------------
class ConfigBase:
    """to_dict / from_dict / validate for a dataclass config. A subclass writes its checks in `check()` and may
    change how its messages read (`message`)."""

    def check(self) -> None:
        """Raise FieldError for the first bad field."""

    def message(self, e: FieldError) -> str:
        return f"{type(self).__name__}.{e.name} = {shown(e.value)}: must be {e.kind}{e.rule}{e.tail}"

    def validate(self):
        """Raise ValueError naming the bad field, with a message a user can act on; return self when all is well."""
        try:
            self.check()
        except FieldError as e:
            raise ValueError(self.message(e)) from None
        return self

    # -- (de)serialisation: saved in a run's meta file -----------------------------------------------------------
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        """Inverse of `to_dict`; unknown keys (from a newer version) are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def override(base, name: str, default):
    """Field `name` of dataclass `base` with a stage's own default: the same help, the same checks."""
    return field(default=default, metadata=base.__dataclass_fields__[name].metadata)


# -- LoRA: the same knobs, help and bounds in every stage that trains an adapter ------------------------------------
# rank 256 on SmolLM2's 576-wide layers already holds almost as many weights as the layer (2 x 256 x 576 vs 576 x 576)
MAX_LORA_RANK = 256


@dataclass
class LoraArgs(ConfigBase):
    """The LoRA adapter (peft's names). Each stage says why its defaults are what they are."""

    lora_r: int = field(default=16, metadata={"help": "LoRA rank: the capacity of the adapter (8-64 is typical)"})
    # the adapter holds 2 * r * d parameters per targeted d x d matrix
    lora_alpha: int | None = field(default=None, metadata={
        "help": "LoRA scale: the update is multiplied by alpha / r; None = 2 x lora_r (the usual choice)"})
    # alpha = 2 r keeps the effective scale the same when the rank changes
    lora_dropout: float = field(default=0.0, metadata={"help": "dropout on the adapter's input, in [0, 1)"})
    lora_target_modules: list[str] | None = field(default=None, metadata={
        "help": "module names LoRA adapts, comma-separated (query,value); None = the default for the architecture",
        "aliases": ["--lora-targets"], "parse": comma_list})

    def __post_init__(self):
        if self.lora_alpha is None:
            self.lora_alpha = 2 * self.lora_r if is_int(self.lora_r) else None  # a bad rank is said by check_lora

    def check_lora(self) -> None:
        check_int("lora_r", self.lora_r, 1, MAX_LORA_RANK)
        check_number("lora_alpha", self.lora_alpha, 0, lo_open=True)
        check_number("lora_dropout", self.lora_dropout, 0.0, 1.0, hi_open=True)
        check_module_names("lora_target_modules", self.lora_target_modules)

    def check(self) -> None:
        self.check_lora()


# -- the command lines: generated from a command's dataclasses (a config and the command's own arguments) -------------
class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """--help shows every option's default, except a required option's (it has none)."""

    def _get_help_string(self, action):
        return (action.help or "") if action.required else super()._get_help_string(action)


def add_field(parser, dc_field) -> None:
    """A dataclass field as options: HfArgumentParser's (`--kl_coef` and `--kl-coef`, the field's "aliases", its help
    and default), plus the two metadata keys it does not know (see the module's docstring): "parse" and "negation"."""
    from transformers import HfArgumentParser

    meta = dict(dc_field.metadata)
    parse, negation = meta.pop("parse", None), meta.pop("negation", None)
    if "help" in meta:  # a help is plain text: only its "%(default)s" is argparse's
        meta["help"] = re.sub(r"%(?!\(default\)s)", "%%", meta["help"])
    if parse is None:
        plain = copy.copy(dc_field)
        plain.metadata = types.MappingProxyType(meta)
        HfArgumentParser._parse_dataclass_field(parser, plain)
    else:
        name = dc_field.name
        names = dict.fromkeys([f"--{name}", f"--{name.replace('_', '-')}", *meta.pop("aliases", [])])
        parser.add_argument(*names, type=parse, default=dc_field.default, **meta)
    if negation:
        parser.add_argument(negation, dest=dc_field.name, action="store_false", default=argparse.SUPPRESS,
                            help=f"the same as --no-{dc_field.name.replace('_', '-')}")


def command_parser(prog: str, description: str, *dataclass_types) -> argparse.ArgumentParser:
    """The parser of `python -m rlhf_demo <command>`, generated by transformers' HfArgumentParser from the command's
    dataclasses: one option per field, with the field's help and its default. (transformers is imported here, not
    at the top: it takes a second, and the app's start-up does not need it.)"""
    from transformers import HfArgumentParser

    required = [f.name for t in dataclass_types for f in fields(t) if f.default is MISSING and f.default_factory is MISSING]
    usage = " ".join([prog, *(f"--{name.replace('_', '-')} {name.upper()}" for name in required), "[options]"])
    parser_class = type("CommandParser", (HfArgumentParser,), {"_parse_dataclass_field": staticmethod(add_field)})
    return parser_class(list(dataclass_types), prog=prog, usage=usage, description=description,
                        formatter_class=HelpFormatter)


def parse_command(parser, argv: list[str] | None) -> tuple:
    """argv -> one instance of each of the parser's dataclasses. A value argparse cannot read, or an unknown option,
    is argparse's one `error:` line and exit status 2; a config's own checks are its `validate()`."""
    *parsed, rest = parser.parse_args_into_dataclasses(argv, return_remaining_strings=True, look_for_args_file=False)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return tuple(parsed)
