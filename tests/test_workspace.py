"""The Workspace, the app's composition root: what start-up resolved (data, policy, reward backbone) and what it hands
the tabs, without loading a model or asking the Hub again."""

from __future__ import annotations

import os

import pytest

import rlhf_demo.data.sources as sources_module
import rlhf_demo.models.loaded as loaded_module
import rlhf_demo.models.presets as presets_module
import rlhf_demo.workspace as workspace_module
from rlhf_demo.data.prompts import arena_prompts, training_prompts
from rlhf_demo.data.sources import BundledSource
from rlhf_demo.paths import TINY_POLICY_DIR
from rlhf_demo.settings import Settings
from rlhf_demo.workspace import Workspace


def patch_hub_probe(monkeypatch, probe) -> None:
    """Replace `hub_reachable` wherever it can be called from: its module, and each module that imported the name."""
    monkeypatch.setattr(sources_module, "hub_reachable", probe)
    for module in (workspace_module, loaded_module, presets_module):
        if hasattr(module, "hub_reachable"):
            monkeypatch.setattr(module, "hub_reachable", probe)


def no_probe(*args, **kwargs):
    raise AssertionError("the Hub was probed")


@pytest.fixture
def ws(tmp_path, monkeypatch):
    """The offline app's workspace on the bundled set with the tiny policy; any Hub probe fails the test."""
    patch_hub_probe(monkeypatch, no_probe)
    return Workspace(Settings(offline=True, policy="tiny", data_dir=tmp_path / "data"))


def test_describe_names_the_bundled_data_and_the_tiny_policy(ws, tmp_path):
    d = ws.describe()
    assert d["data_kind"] == "bundled" and "bundled" in d["data"] and "offline" in d["data_note"]
    assert d["policy"] == ws.policy_choice.label() and d["policy"].startswith("tiny")
    assert ws.policy_choice.name == "tiny" and ws.policy_choice.path == str(TINY_POLICY_DIR)
    assert "word salad" in d["policy_weights"]
    assert d["reward_backbone"] == ws.reward_choice.label() and ws.reward_choice.name == "minilm"
    assert d["hub_reachable"] is False and d["data_dir"] == str(tmp_path / "data")
    assert not ws.policy.loaded  # describing the choices loads nothing


def test_reward_backbone_policy_is_the_policy_in_use_and_never_probes(ws):
    backbone = ws.reward.backbones.resolve("policy")
    assert backbone.name == "policy" and backbone.path == ws.policy_choice.path == str(TINY_POLICY_DIR)
    assert backbone.where == ws.policy_choice.where
    assert ws.reward.backbones.resolve(None) is ws.reward_choice  # the start-up choice, as resolved at start-up
    assert ws.reward.backbones.resolve("minilm") is ws.reward_choice  # its own name: the same object, not a new resolution
    assert not ws.policy.loaded


def test_an_unreachable_hub_is_probed_once_at_start_up_and_never_again(tmp_path, monkeypatch):
    probes = []
    patch_hub_probe(monkeypatch, lambda timeout=3.0: probes.append(timeout) or False)
    ws = Workspace(Settings(policy="tiny", data_dir=tmp_path / "data", hub_timeout=0.5))  # not --offline, no --data
    assert probes == [0.5]
    assert ws.hub_ok is False and ws.data.source.kind == "bundled" and "not reachable" in ws.describe()["data_note"]
    for name in ("policy", None, "minilm"):
        ws.reward.backbones.resolve(name)
    arena_prompts(ws.data.source)
    training_prompts(ws.data.source)
    ws.describe()
    assert probes == [0.5]  # everything after start-up uses what start-up found


def test_prompt_pools_are_hh_prompts_and_training_leaves_the_held_out_split_alone(ws):
    arena, training = arena_prompts(ws.data.source), training_prompts(ws.data.source)
    for pool in (arena, training):
        assert pool and all(p.startswith("\n\nHuman: ") and p.endswith("\n\nAssistant:") for p in pool)
        assert all(len(p) <= 1500 for p in pool)
    bundled = BundledSource()
    assert set(training) == {p.prompt for p in bundled.load("bundled", "train").pairs if len(p.prompt) <= 1500}
    assert set(arena) == {p.prompt for p in bundled.load("bundled", "test").pairs if len(p.prompt) <= 1500}
    assert not set(training) & set(arena)  # PPO never trains on the held-out conversations
    assert all(len(p) <= 200 for p in arena_prompts(ws.data.source, max_chars=200))


def test_ppo_without_an_active_reward_model_is_a_clear_error(ws, monkeypatch):
    def no_load(*args, **kwargs):
        raise AssertionError("a policy was loaded for a PPO run that cannot start")

    for module in (workspace_module, loaded_module, presets_module):
        if hasattr(module, "load_policy"):
            monkeypatch.setattr(module, "load_policy", no_load)
    assert ws.reward.models.active is None
    with pytest.raises(ValueError, match="No active reward model yet: train one in the Reward model tab"):
        ws.ppo.start(1)
    with pytest.raises(ValueError, match="No active reward model"):  # what the PPO tab's Start runs into
        ws.ppo.run.engine()
    assert not ws.ppo.run.built  # the next Start tries again (after a reward model is trained)


class LengthReward:
    def score(self, prompts, responses):
        import torch

        return torch.tensor([float(len(r)) for r in responses])


def test_a_restart_brings_back_every_complete_checkpoint_as_a_contestant_with_its_id(ws, tmp_path):
    """What PPO saved survives a restart: a new Workspace on the same data dir lists the complete checkpoints as arena
    contestants again (each with the hash of its adapter as its id), leaves out a half-written folder, and the
    arena stores those ids with every round."""
    from rlhf_demo.models.presets import load_policy
    from rlhf_demo.ppo.config import PPOConfig
    from rlhf_demo.ppo.engine import PPOEngine
    from rlhf_demo.storage import file_sha256

    model, tok = load_policy(ws.policy_choice, "cpu")
    engine = PPOEngine(model, tok, LengthReward(), training_prompts(ws.data.source)[:8],
                       PPOConfig(batch_size=4, samples_per_prompt=2, response_length=4, lora_layers=None), device="cpu")
    engine.step()
    engine.save(ws.checkpoint_dir / "kept", info={"score": 0.5, "kl": 0.1, "saved": "2026-12-01 10:00:00"})
    (ws.checkpoint_dir / "half").mkdir()  # a folder without the completion marker

    again = Workspace(Settings(offline=True, policy="tiny", data_dir=tmp_path / "data"))
    names = [c.name for c in again.contestants.list()]
    assert names == ["base-t0.7", "base-t1.0", "base + best-of-8", "kept"]  # best-of-8 plays once a reward model is active
    kept = again.contestants.get("kept")
    assert kept.uid == file_sha256(ws.checkpoint_dir / "kept" / "adapter_model.safetensors")
    assert again.ppo.run.skipped_checkpoints == ["half"] and [c["name"] for c in again.ppo.run.checkpoints()] == ["kept"]
    base = again.contestants.get("base-t0.7")
    assert base.uid.startswith("tiny-") and base.uid != again.contestants.get("base-t1.0").uid

    # a checkpoint may not take a contestant's name: the arena would refuse it after it was written
    assert again.ppo.run.name_taken("base-t0.7") and not again.ppo.run.name_taken("fresh-name")

    rnd = again.arena.new_round("How do I keep basil fresh?", voter_id="v", seed=3)
    stored = again.votes.get_round(rnd.round_id)
    ids = {stored.model_a: stored.model_a_id, stored.model_b: stored.model_b_id}
    assert all(ids[c.name] == c.uid for c in again.contestants.list() if c.name in ids)


def _saved_model(data_dir, name: str, trained_on: dict | None) -> None:
    """A reward model folder as the registry lists it (only its metadata matters here)."""
    import json

    folder = data_dir / "reward_models" / name
    folder.mkdir(parents=True)
    meta = {"created": 1.0, "n_train": 10, **({"trained_on": trained_on} if trained_on is not None else {})}
    (folder / "reward_meta.json").write_text(json.dumps(meta))


def test_a_reward_model_from_other_data_is_flagged_after_a_restart(tmp_path, sample_path):
    """A model trained on the bundled set stays active after a restart on the real sample: the app says so (it once
    'disagreed with humans' on 1,066 of 1,812 pairs without a word)."""
    data_dir = tmp_path / "data"
    bundled = Workspace(Settings(offline=True, policy="tiny", data_dir=data_dir))
    _saved_model(data_dir, "rm-bundled", {"source": bundled.data.source.identity, "description": "bundled set",
                                          "subset": "bundled", "n_pairs": 150, "n_votes": 2})
    bundled.reward.models.set_active("rm-bundled")
    assert bundled.reward.data_warning() is None  # trained on what is loaded: nothing to say

    real = Workspace(Settings(data=str(sample_path), offline=True, policy="tiny", data_dir=data_dir))
    warning = real.reward.data_warning()
    assert warning and "rm-bundled" in warning and "bundled set (bundled), 150 pairs + 2 votes" in warning
    assert real.data.source.description in warning

    # the same file named another way is the same data
    import os

    relative = os.path.relpath(sample_path)
    _saved_model(data_dir, "rm-real", {"source": real.data.source.identity, "n_pairs": 400, "n_votes": 0})
    real.reward.models.set_active("rm-real")
    assert Workspace(Settings(data=relative, offline=True, policy="tiny", data_dir=data_dir)).reward.data_warning() is None


def test_a_model_saved_before_data_was_recorded_says_so(tmp_path):
    data_dir = tmp_path / "data"
    ws = Workspace(Settings(offline=True, policy="tiny", data_dir=data_dir))
    _saved_model(data_dir, "rm-old", None)
    ws.reward.models.set_active("rm-old")
    assert "does not record what it was trained on" in ws.reward.data_warning()


RACE = """
import tempfile, threading
from rlhf_demo.reward.config import RewardConfig
from rlhf_demo.settings import Settings
from rlhf_demo.workspace import Workspace

ws = Workspace(Settings(offline=True, policy="tiny", data_dir=tempfile.mkdtemp()))
threading.Thread(target=ws.policy.warm_up, daemon=True).start()  # what `serve` starts as the page is served
ws.reward.start(RewardConfig(num_train_epochs=1, max_length=64, eval_pairs=8), None, 16, False)  # Train, at once
ws.jobs.join(600)
snap = ws.jobs.snapshot("reward")
print(snap.state, snap.error)
"""


def test_training_right_after_start_up_does_not_race_the_warm_up_on_imports():
    """A teacher who presses Train while the app is still loading the policy: both threads import transformers' lazy
    classes at once, which failed with "cannot import name 'PrinterCallback' from 'transformers'" (a fresh process,
    so nothing is imported yet)."""
    import subprocess
    import sys

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    out = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=900, env=env)
    assert out.stdout.strip().splitlines()[-1] == "done", out.stdout[-2000:] + out.stderr[-2000:]
