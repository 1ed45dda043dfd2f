"""Numbers as people read them: a value that rounds to zero is written without a minus sign.

A KL estimate of -0.0004 nats printed with three decimals reads "KL -0.000", which looks like an error to a class
(KL is never negative; the estimate only wobbles around zero). `fixed` writes it "0.000". Values that do not
round to zero keep their sign (a clearly negative estimate is information: too few samples).
"""

from __future__ import annotations


def fixed(x: float, digits: int = 3, sign: bool = False) -> str:
    """`x` with `digits` decimals (and a + for positive values when `sign`); "-0.000" is written "0.000"."""
    text = f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"
    if text.lstrip("+-").strip("0.") == "" and text.startswith("-"):
        text = ("+" if sign else "") + text[1:]
    return text
