"""The frontier's closing comparison, on its rows alone (pure: no torch, the Compare tab reads it too): which method
scores highest at EQUAL KL from the base policy, and how much KL best-of-N needs for an adapter's score.

A method here is a row's series (`method_label`): "best-of-n", "dpo", "ppo", and "ppo (ensemble)" for a PPO
checkpoint trained on an ensemble of reward models (`measure.make_row` sets it), a curve of its own.

    best_at_equal_kl(rows, kl)        each series' value at `kl` (linear interpolation from the base policy) and the best
    kl_to_reach(rows, method, value)  the smallest KL at which a series reaches `value`
    equal_kl_summary(rows)            the above at the largest KL every series reaches, and at each adapter's own KL
"""

from __future__ import annotations

from typing import Sequence

ENSEMBLE_SERIES = " (ensemble)"  # "ppo (ensemble)": a PPO checkpoint trained on an ensemble of reward models


def method_label(row: dict) -> str:
    """The series a row belongs to on the chart and in the equal-KL comparison ("ppo (ensemble)", "best-of-n", ...);
    rows saved before series existed fall back to their method."""
    return row.get("series") or row["method"]


def _curve(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A method's (kl, value) points sorted by KL, starting at the base policy (0, 0) unless it has a point there."""
    pts = sorted(points)
    if not any(abs(k) < 1e-12 for k, _ in pts):
        pts = sorted(pts + [(0.0, 0.0)])
    return pts


def _interpolate(points: list[tuple[float, float]], kl: float) -> float | None:
    """Linear interpolation at `kl` along points sorted by KL; None outside their range (no extrapolation)."""
    if not points or kl < points[0][0] - 1e-12 or kl > points[-1][0] + 1e-12:
        return None
    for (k0, v0), (k1, v1) in zip(points, points[1:]):
        if k0 <= kl <= k1:
            return v0 if k1 - k0 < 1e-12 else v0 + (v1 - v0) * (kl - k0) / (k1 - k0)
    return points[-1][1]  # a single point, or kl equal to the last one


def best_at_equal_kl(rows: Sequence[dict], kl: float, key: str = "gold") -> dict:
    """Which method scores highest on `key` (gold by default) at KL `kl` (nats, the rows' "kl").

    Each method's points are sorted by KL and linearly interpolated; every method starts at the base policy (KL 0,
    score 0 in sigma units), so an adapter with one point is a segment from the base to it. A method whose points
    do not reach `kl` is left out (None): no extrapolation. Returns {kl, values: {method: value | None},
    best: the method with the highest value (None when no method reaches kl)}. A method here is a row's series
    (`method_label`): PPO on an ensemble ("ppo (ensemble)") is a curve of its own.
    """
    by_method: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        if r.get(key) is not None and r.get("kl") is not None:
            by_method.setdefault(method_label(r), []).append((float(r["kl"]), float(r[key])))
    values = {m: _interpolate(_curve(pts), kl) for m, pts in by_method.items()}
    reached = {m: v for m, v in values.items() if v is not None}
    return {"kl": kl, "values": values, "best": max(reached, key=reached.get) if reached else None}


def kl_to_reach(rows: Sequence[dict], method: str, value: float, key: str = "gold") -> float | None:
    """The smallest KL at which `method`'s curve (as in `best_at_equal_kl`, from the base policy) first reaches
    `value` on `key`; None when it never does. "Best-of-N gets PPO's gold for 0.9 nats instead of 6.4"."""
    pts = _curve([(float(r["kl"]), float(r[key])) for r in rows if method_label(r) == method and r.get(key) is not None])
    if pts[0][1] >= value:
        return pts[0][0]
    for (k0, v0), (k1, v1) in zip(pts, pts[1:]):
        if v0 < value <= v1:
            return k0 + (k1 - k0) * (value - v0) / (v1 - v0)
    return None


def equal_kl_summary(rows: Sequence[dict], key: str = "gold") -> dict:
    """The closing comparison: `best_at_equal_kl` at the largest KL EVERY method reaches (the smallest of the
    methods' largest KLs), plus, per adapter row, the same at its own KL and the KL best-of-N needs for its score."""
    methods = {method_label(r) for r in rows}
    if not methods:
        return {"kl": None, "values": {}, "best": None, "at_adapters": []}
    kl = min(max(float(r["kl"]) for r in rows if method_label(r) == m) for m in methods)
    out = best_at_equal_kl(rows, max(kl, 0.0), key)
    bon = any(r["method"] == "best-of-n" for r in rows)
    out["at_adapters"] = [{"name": r["name"], **best_at_equal_kl(rows, float(r["kl"]), key),
                           "best_of_n_kl_for_same": kl_to_reach(rows, "best-of-n", r[key], key) if bon else None}
                          for r in rows if r["method"] != "best-of-n" and r["kl"] >= 0]
    return out
