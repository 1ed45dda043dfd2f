"""What every benchmark script does first (imported for its effect): no Hub, no gradio analytics, the repository on
sys.path so `rlhf_demo` imports from a plain `python benchmarks/<name>.py`. Plus the percentile they all report."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def pct(xs, q: float):
    """The q-quantile (nearest rank, 0 <= q <= 1) of xs; None for no values."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None
