"""Numbers as people read them: an estimate that rounds to zero never shows a minus sign ("KL -0.000")."""

from __future__ import annotations

import math

from rlhf_demo.numbers import fixed


def test_a_value_that_rounds_to_zero_has_no_minus_sign():
    assert fixed(-0.0004) == "0.000" and fixed(-0.0) == "0.000" and fixed(0.0) == "0.000"
    assert fixed(-0.0004, sign=True) == "+0.000" and fixed(-0.04, 1) == "0.0"


def test_other_values_keep_their_sign_and_digits():
    assert fixed(-0.2) == "-0.200" and fixed(0.407) == "0.407" and fixed(1.25, 1, sign=True) == "+1.2"
    assert fixed(-0.0006) == "-0.001" and fixed(math.nan) == "nan"


def test_the_ppo_status_and_probes_never_print_minus_zero_kl():
    from types import SimpleNamespace

    from rlhf_demo.ppo.run import ProbeRow
    from rlhf_demo.ui.ppo_view import probe_compare_html

    view = SimpleNamespace(probes=[ProbeRow(0, 0, "\n\nHuman: Hi?\n\nAssistant:", "Hello.", 0.5, 0.0),
                                   ProbeRow(5, 0, "\n\nHuman: Hi?\n\nAssistant:", "Hello.", 0.5, -0.0002)],
                           config={})
    html = probe_compare_html(view)
    assert "KL 0.000" in html and "-0.000" not in html
