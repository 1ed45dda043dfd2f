"""Recorded over-optimisation curves: what a real run of `benchmarks/overoptimisation.py` measured, drawn faintly
behind the live proxy-vs-gold chart of the Compare tab, so a class sees the shape to look for before its own run.

    assets/overoptimisation/recorded.json
    {"command": "python benchmarks/overoptimisation.py ...", "date": "2026-12-05",
     "curves": [{"method": "best-of-n" | "ppo-beta0" | "ppo-default" | "ppo-ensemble", "seed": 0, "proxy_pairs": 100,
                 "points": [{"kl": 0.0, "proxy": 0.0, "gold": 0.0}, ...]}, ...]}

Scores are in σ of the base policy's replies (as the live chart), KL in nats. `load()` validates the whole file: a
missing or broken file means no reference curves (one line on stderr says why), never an error in the app.
"""

from __future__ import annotations

import json
import math
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from rlhf_demo.paths import ASSETS_DIR

RECORDED_PATH = ASSETS_DIR / "overoptimisation" / "recorded.json"  # tests point this elsewhere
METHODS = {"best-of-n": "best-of-N", "ppo-beta0": "PPO at β = 0", "ppo-default": "PPO at the default β",
           "ppo-ensemble": "PPO on an ensemble proxy"}  # method -> how a class reads it
MAX_BYTES = 4 << 20  # a recorded file is a few kB: anything this big is not one


@dataclass(frozen=True)
class Recorded:
    command: str  # how to record it again
    date: str
    curves: tuple  # ({method, seed, proxy_pairs, points: [{kl, proxy, gold}] in KL order}, ...)

    def methods(self) -> list[str]:
        """The methods recorded, in METHODS order."""
        have = {c["method"] for c in self.curves}
        return [m for m in METHODS if m in have]

    def proxy_pairs(self) -> list[int]:
        return sorted({c["proxy_pairs"] for c in self.curves})


def _number(value, where: str, low: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where} must be a finite number, got {value!r:.40}")
    if low is not None and value < low:
        raise ValueError(f"{where} must be at least {low}, got {value!r:.40}")
    return float(value)


def _curve(c, i: int) -> dict:
    where = f"curves[{i}]"
    if not isinstance(c, dict):
        raise ValueError(f"{where} is not an object")
    if c.get("method") not in METHODS:
        raise ValueError(f"{where}.method must be one of {', '.join(METHODS)}, got {c.get('method')!r:.40}")
    for key in ("seed", "proxy_pairs"):
        if isinstance(c.get(key), bool) or not isinstance(c.get(key), int):
            raise ValueError(f"{where}.{key} must be a whole number")
    points = c.get("points")
    if not isinstance(points, list) or not points:
        raise ValueError(f"{where}.points must be a non-empty list")
    out = []
    for j, p in enumerate(points):
        if not isinstance(p, dict):
            raise ValueError(f"{where}.points[{j}] is not an object")
        out.append({"kl": _number(p.get("kl"), f"{where}.points[{j}].kl", 0.0),
                    "proxy": _number(p.get("proxy"), f"{where}.points[{j}].proxy"),
                    "gold": _number(p.get("gold"), f"{where}.points[{j}].gold")})
    return {"method": c["method"], "seed": c["seed"], "proxy_pairs": c["proxy_pairs"],
            "points": sorted(out, key=lambda p: p["kl"])}


def validate(obj) -> Recorded:
    """The file's JSON as a `Recorded`, or a ValueError naming the first thing wrong."""
    if not isinstance(obj, dict):
        raise ValueError("the file is not a JSON object")
    for key in ("command", "date"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            raise ValueError(f"{key} must be a non-empty string")
    curves = obj.get("curves")
    if not isinstance(curves, list) or not curves:
        raise ValueError("curves must be a non-empty list")
    return Recorded(obj["command"].strip(), obj["date"].strip(), tuple(_curve(c, i) for i, c in enumerate(curves)))


_cache: dict = {}  # (path, mtime_ns, size) -> Recorded | None: the poll asks every few seconds
_lock = threading.Lock()


def stamp(path: str | Path | None = None) -> tuple | None:
    """What changes when the file does ((path, mtime, size); None: no file): a poll redraws only then."""
    path = Path(path or RECORDED_PATH)
    try:
        st = path.stat()
    except OSError:
        return None
    return str(path), st.st_mtime_ns, st.st_size


def load(path: str | Path | None = None) -> Recorded | None:
    """The recorded curves (`RECORDED_PATH` by default), or None when there is no valid file. Read again only when
    the file changed; a broken file is reported once on stderr."""
    key = stamp(path)
    if key is None:
        return None
    with _lock:
        if key in _cache:
            return _cache[key]
    try:
        if key[2] > MAX_BYTES:
            raise ValueError(f"{key[2]} bytes: not a recorded-curves file")
        recorded = validate(json.loads(Path(key[0]).read_text(encoding="utf-8")))
    except (OSError, ValueError) as e:  # json's errors are ValueErrors too
        print(f"[rlhf-playground] no reference curves: {key[0]} is not usable ({str(e)[:200]})", file=sys.stderr,
              flush=True)
        recorded = None
    with _lock:
        _cache.clear()  # one file at a time
        _cache[key] = recorded
    return recorded
