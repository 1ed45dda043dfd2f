"""Which CPU this is: its model name and the flags that decide torch's matrix kernels. Speed figures and the measured
decoding choice (`models/decoding.py`) name it, since the machines here differ (AVX2 only, or AVX512-BF16 and AMX)."""

from __future__ import annotations

import platform
from pathlib import Path

CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16", "amx_int8")


def cpu_description() -> dict:
    """{"cpu_model": name, "cpu_flags": the CPU_FLAGS it has} from /proc/cpuinfo ("model name" / "flags" on x86,
    "Processor" / "Features" on ARM); off Linux, the platform's processor name and no flags."""
    model, flags = None, set()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "Processor", "cpu model") and model is None:
                model = value.strip() or None
            elif key in ("flags", "Features") and not flags:
                flags = set(value.split())
            if model is not None and flags:
                break
    except OSError:
        pass
    return {"cpu_model": model or platform.processor() or platform.machine() or None,
            "cpu_flags": [f for f in CPU_FLAGS if f in flags]}
