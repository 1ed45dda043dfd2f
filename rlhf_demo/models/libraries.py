"""The heavy libraries, imported once and by one thread at a time.

transformers exposes its classes through a lazy module: `from transformers import X` imports X's submodule on first
use. Two threads doing that at once (the app's warm-up loading the policy while a reward model starts training) can
each meet the other's half-imported module and fail with "cannot import name 'PrinterCallback' from 'transformers'".
So every thread that is about to use them calls `import_libraries()` first: the first caller imports them, the
others wait for it, and from then on every name is already there.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_imported = False


def import_libraries() -> None:
    """Import transformers' model and training classes, peft and TRL's trainers (a few seconds, once)."""
    global _imported
    with _lock:
        if _imported:
            return
        import peft  # noqa: F401
        import transformers
        import trl

        for name in ("AutoConfig", "AutoModel", "AutoModelForCausalLM", "AutoModelForSequenceClassification",
                     "AutoTokenizer", "PrinterCallback", "TrainerCallback", "set_seed", "LlamaForCausalLM",
                     "BertModel"):
            getattr(transformers, name)
        for name in ("RewardTrainer", "RewardConfig", "DPOTrainer", "DPOConfig"):
            getattr(trl, name)
        _imported = True
