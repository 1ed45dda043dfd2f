"""What every benchmark script does first (imported for its effect): no Hub, no gradio analytics. Plus the percentile
they all report. The scripts import `rlhf_demo` as an installed package: README's install line runs `pip install -e .`."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]


def pct(xs, q: float):
    """The q-quantile (nearest rank, 0 <= q <= 1) of xs; None for no values."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None
