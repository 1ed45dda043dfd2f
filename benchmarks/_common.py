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


def cpu_info() -> dict:
    """The CPU a benchmark ran on, for its JSON's "cpu" key: model name, the vector/matrix extensions torch can use
    (`rlhf_demo.machine.cpu_description`), torch's version and thread count, the 1-minute load average."""
    from rlhf_demo.machine import cpu_description

    try:
        import torch

        torch_version, threads = torch.__version__, torch.get_num_threads()
    except ImportError:
        torch_version = threads = None
    try:
        load = round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        load = None
    return {**cpu_description(), "torch": torch_version, "threads": threads, "load_average_1min": load}


def tiny_reward_backbone(folder) -> str:
    """--quick: a 2-layer random BERT with MiniLM's tokenizer, saved in `folder` like any backbone folder (as the
    tests' `tiny_bert` fixture and frontier.py --quick): a reward backbone that trains in seconds. -> the folder."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from rlhf_demo.models.presets import minilm_dir

    folder = Path(folder)
    tok = AutoTokenizer.from_pretrained(minilm_dir())
    torch.manual_seed(0)
    BertForSequenceClassification(BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2,
                                             num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                                             num_labels=1)).save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


# --quick reward-model settings for the tiny backbone (frontier.py --quick's): one short epoch, small eval sets
QUICK_REWARD = dict(max_length=64, lora_r=4, lora_alpha=8, learning_rate=3e-3, num_train_epochs=1,
                    per_device_train_batch_size=16, eval_pairs=16, eval_curve_pairs=16, logging_steps=1)
