"""Shared test fixtures: the real hh-rlhf sample, an isolated data dir, a running app."""

from __future__ import annotations

import os
import socket
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# the measured decoding choice (rlhf_demo/models/decoding.py) is cached per machine: tests measure into their own
# folder, so a choice measured while the suite loads the cores never reaches the app's cache
if "RLHF_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["RLHF_CACHE_DIR"] = tempfile.mkdtemp(prefix="rlhf-test-cache-")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO.parent / "shared" / "hh-rlhf" / "harmless-base-sample.jsonl.gz"
ARTIFACTS = REPO / "test-artifacts"  # screenshots from the browser tests (git-ignored)


@pytest.fixture(scope="session")
def sample_path() -> Path:
    if not SAMPLE.is_file():
        pytest.fail(f"the real hh-rlhf sample is missing: {SAMPLE} (it lives in ../shared beside the repository)")
    return SAMPLE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(settings):
    """Build and serve the real app in this process on a free port: (url, workspace, demo)."""
    from rlhf_demo.ui.app import build_app, launch_kwargs
    from rlhf_demo.workspace import Workspace

    ws = Workspace(settings)
    demo = build_app(ws)
    port = free_port()
    demo.queue(default_concurrency_limit=8).launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                                                   quiet=True, **launch_kwargs())
    return f"http://127.0.0.1:{port}/", ws, demo


def class_settings(data_dir, key: str, **extra):
    """A class on demo day: the bundled set, the tiny policy, an instructor key (`extra`: more `Settings` fields)."""
    from rlhf_demo.instructor import key_digest
    from rlhf_demo.settings import Settings

    return Settings(offline=True, policy="tiny", instructor_key_sha256=key_digest(key), data_dir=data_dir, **extra)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, sample_path):
    """The real app on the real sample (tiny policy): yields (url, workspace)."""
    from rlhf_demo.settings import Settings

    url, ws, demo = serve(Settings(data=str(sample_path), offline=True, policy="tiny",
                                   data_dir=tmp_path_factory.mktemp("rlhf_data")))
    yield url, ws
    demo.close()


@pytest.fixture(scope="session")
def bundled_app(tmp_path_factory):
    """The offline default data (bundled set) and minilm reward backbone, with the tiny policy (the default policy,
    SmolLM2-135M, is too slow for a browser test of PPO on 2 cores): yields (url, workspace)."""
    from rlhf_demo.settings import Settings

    url, ws, demo = serve(Settings(offline=True, policy="tiny", data_dir=tmp_path_factory.mktemp("rlhf_data_bundled")))
    yield url, ws
    demo.close()


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> str:
    """A 2-layer random BERT with MiniLM's real tokenizer, saved like any backbone folder: a reward backbone that
    trains in seconds."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from rlhf_demo.models.presets import minilm_dir

    d = tmp_path_factory.mktemp("tiny-bert")
    tok = AutoTokenizer.from_pretrained(minilm_dir())
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128, num_labels=1)
    BertForSequenceClassification(cfg).save_pretrained(d)
    tok.save_pretrained(d)
    return str(d)


@pytest.fixture(scope="session")
def tiny_reward_model(tiny_bert, tmp_path_factory) -> Path:
    """A LoRA reward model on the tiny BERT, trained on the bundled set (train split; 32 held-out test pairs) and
    saved as the app saves one (``<data_dir>/reward_models/rm-bundled/``, active). Its max_length (128) is the tiny
    BERT's positions, so no text it scores is cut. Exports and the reward server start from it."""
    from rlhf_demo.data.pairs import pairs_from_set, split_pairs
    from rlhf_demo.data.sources import BundledSource
    from rlhf_demo.models.presets import resolve_reward_backbone
    from rlhf_demo.reward.config import RewardConfig
    from rlhf_demo.reward.registry import RewardModelRegistry

    src = BundledSource()
    train = pairs_from_set(src.load("bundled", "train"))
    evals = split_pairs(pairs_from_set(src.load("bundled", "test")), 32, 0)[1]
    cfg = RewardConfig(backbone=tiny_bert, max_length=128, lora_r=8, lora_alpha=16, learning_rate=3e-3,
                       num_train_epochs=1, per_device_train_batch_size=16, eval_pairs=32, logging_steps=1, seed=0)
    reg = RewardModelRegistry(tmp_path_factory.mktemp("rm_data") / "reward_models")
    trained_on = {"source": src.identity, "description": src.description, "subset": "bundled",
                  "split": "bundled/train, evaluated on bundled/test", "n_pairs": len(train), "n_votes": 0}
    res = reg.train(cfg, train, evals, resolve_reward_backbone(tiny_bert, None, hub_ok=False), name="rm-bundled",
                    trained_on=trained_on)
    return Path(res.out_dir)


@pytest.fixture(scope="module")
def one_torch_thread():
    """For modules of tiny (32-wide) models: a second OpenMP thread only adds synchronisation, and on a busy shared
    CPU a great deal of waiting. Use with `pytestmark = pytest.mark.usefixtures("one_torch_thread")`."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class QuietCtx:
    """A job context for calling a job function directly (no runner): it never stops, and shows nothing."""

    def update(self, **kwargs):
        pass

    def append(self, key, item):
        pass

    def should_stop(self):
        return False

    def check(self):
        pass
