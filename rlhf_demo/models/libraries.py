"""The heavy libraries and the models built from weights: one thread at a time.

Two things in transformers are not thread-safe, and the app runs several threads (the warm-up loading the policy as
the page is served, a training job, an arena round, the Browse tab's background scoring):

- its classes come from a lazy module: `from transformers import X` imports X's submodule on first use, and two
  threads doing that at once can each meet the other's half-imported module ("cannot import name
  'PrinterCallback' from 'transformers'");
- `from_pretrained` patches process-wide state while it builds a model (the default dtype, torch's creation ops,
  the meta device), so two models built at once can leave one of them on the meta device ("Cannot copy out of
  meta tensor").

So every loader and trainer builds inside `building()`, which imports the libraries first (once) and lets one
thread build at a time; `import_libraries()` alone is for code that only needs the names.
"""

from __future__ import annotations

import contextlib
import importlib
import threading

_lock = threading.RLock()  # re-entrant: a loader may call another (the policy's GGUF dequantisation)
_imported = False


def import_libraries() -> None:
    """Import transformers' model and training classes, peft and TRL's trainers (a few seconds, once)."""
    global _imported
    with _lock:
        if _imported:
            return
        import transformers
        import trl

        importlib.import_module("peft")  # LoRA: imported here for the same reason

        for name in ("AutoConfig", "AutoModel", "AutoModelForCausalLM", "AutoModelForSequenceClassification",
                     "AutoTokenizer", "PrinterCallback", "TrainerCallback", "set_seed", "LlamaForCausalLM",
                     "BertModel"):
            getattr(transformers, name)
        for name in ("RewardTrainer", "RewardConfig", "DPOTrainer", "DPOConfig"):
            getattr(trl, name)
        _imported = True


@contextlib.contextmanager
def building():
    """Hold while a model is built from its weights (`from_pretrained`, a peft adapter loaded): one at a time."""
    with _lock:
        import_libraries()
        yield
