"""The app's base policy, loaded once on first use, and the decoding backend every sampler of the app uses.

The app serves within seconds: nothing here loads at construction. `warm_up()` (a background thread at start-up)
loads the policy and measures the decoding backend, so the first arena round waits for neither. The first run of the
offline SmolLM2 also dequantises its GGUF then (~30 s, once).
"""

from __future__ import annotations

import hashlib
import threading
import time

from rlhf_demo.models.presets import ModelChoice, load_policy


class LoadedPolicy:
    """(model, tokenizer) of `choice`, loaded on first use; the decoding backend, measured once on it."""

    def __init__(self, choice: ModelChoice, device: str | None, decoding: str = "auto"):
        self.choice = choice
        self.device = device
        self.decoding_setting = decoding  # --decoding: "auto" = measured, else a backend's name
        self._model = None
        self._model_lock = threading.Lock()
        self._decoding = None  # (Backend, what was measured)
        self._decoding_lock = threading.Lock()
        self.decoding_status = ("measured when the policy loads" if decoding == "auto" else f"{decoding} (--decoding)")

    @property
    def id(self) -> str:
        """A short immutable id of the base policy (which model, which weights): part of every base contestant's id."""
        c = self.choice
        return f"{c.name}-" + hashlib.sha256(f"{c.path}|{c.weights}".encode()).hexdigest()[:8]

    def get(self):
        """(model, tokenizer), loaded once. PPO and the frontier load a copy of their own (`fresh_copy`)."""
        with self._model_lock:
            if self._model is None:
                self._model = load_policy(self.choice, self.device)
            return self._model

    def fresh_copy(self):
        """A new (model, tokenizer): for a job that wraps the policy with LoRA in place (the arena keeps the base)."""
        return load_policy(self.choice, self.device)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def decoding(self):
        """(Backend, what was measured): --decoding, or with "auto" the fastest backend within MAX_KL of float32 on
        this machine, measured once on the loaded policy (~15 s) and cached on disk for the next start
        (`models/decoding.py`)."""
        from rlhf_demo.models.decoding import resolve, summary

        with self._decoding_lock:
            if self._decoding is None:
                model, tok = self.get()

                def progress(text: str) -> None:
                    self.decoding_status = text + " …"

                self._decoding = resolve(self.decoding_setting, model, tok, progress=progress)
                forced = " (--decoding)" if self._decoding[1].get("forced") else ""
                self.decoding_status = summary(self._decoding[1]) + forced
            return self._decoding

    def backend(self):
        """The decoding backend alone (what samplers take)."""
        return self.decoding()[0]

    def warm_up(self) -> None:
        """Load the policy and pick the decoding backend now; an error is printed (the tabs show it when asked)."""
        t0 = time.perf_counter()
        try:
            self.get()
            print(f"[rlhf-playground] policy loaded in {time.perf_counter() - t0:.1f} s", flush=True)
            t0 = time.perf_counter()
            self.decoding()
            print(f"[rlhf-playground] decoding: {self.decoding_status} ({time.perf_counter() - t0:.1f} s)", flush=True)
        except Exception as e:  # the tabs that need the policy will show the error when they ask for it
            print(f"[rlhf-playground] could not load the policy: {e}", flush=True)
