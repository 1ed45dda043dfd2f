"""The Reward tab's epochs field: empty means auto, and a bad value names the field (it used to show 0 and fail with
Gradio's "Value 0 is less than minimum value 0.1", which named no field)."""

from __future__ import annotations

import pytest

from rlhf_demo.ui.reward import parse_epochs


@pytest.mark.parametrize("text", [None, "", "  ", "auto", "AUTO"])
def test_empty_epochs_means_auto(text):
    assert parse_epochs(text) is None


@pytest.mark.parametrize("text, value", [("3", 3.0), ("0.5", 0.5), (" 20 ", 20.0), (2, 2.0)])
def test_epochs_take_a_number(text, value):
    assert parse_epochs(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "21", "nan", "inf", "three", "1e9"])
def test_bad_epochs_name_the_field(text):
    with pytest.raises(ValueError, match="epochs .*LoRA and optimiser"):
        parse_epochs(text)
