"""The PPO tab's run (rlhf_demo/ppo/run.py) around a fake engine: live settings are validated and queued until
the next step, checkpoints are refused when they cannot be right, and Reset starts the history over. No model runs."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from rlhf_demo.ppo.config import PPOConfig
from rlhf_demo.ppo.run import PPORun

PROBES = ("\n\nHuman: How do I make tea?\n\nAssistant:", "\n\nHuman: Plan my week.\n\nAssistant:")


class FakeStep:
    def __init__(self, metrics, samples, config):
        self.metrics, self.samples, self.config = metrics, samples, config


class FakeEngine:
    """What the session needs of a `PPOEngine`: config, step_count, score_norm, step(), generate_probes(), save(),
    reset(). Each step records the config it started with and the one it ended with."""

    def __init__(self, config: PPOConfig):
        self.config = config
        self.step_count = 0
        self.score_norm = None
        self.during_step = None  # called in the middle of a step (e.g. a slider moved from another browser)
        self.step_configs: list[tuple[PPOConfig, PPOConfig]] = []  # (config at the start, config at the end)
        self.resets = 0

    def step(self, should_stop=None):
        start = self.config
        if self.during_step is not None:
            self.during_step()
        self.step_count += 1
        self.step_configs.append((start, self.config))
        metrics = {"objective/scores": 0.5 * self.step_count, "objective/kl": 0.1 * self.step_count,
                   "kl_coef": start.kl_coef}
        return FakeStep(metrics, [{"prompt": PROBES[0], "response": f"reply at step {self.step_count}"}], asdict(start))

    def generate_probes(self, prompts, seed=0):
        return [{"prompt": p, "response": f"probe {i} at step {self.step_count}", "score": 0.0, "kl": 0.0, "kl_k3": 0.0}
                for i, p in enumerate(prompts)]

    def save(self, directory, info=None, files=None):
        directory = Path(directory)
        directory.mkdir(parents=True)
        (directory / "adapter_config.json").write_text("{}")
        (directory / "ppo_state.json").write_text(json.dumps({"step": self.step_count, "adapter_sha256": "f00d",
                                                              **(info or {})}))
        return directory

    def reset(self):
        self.step_count = 0
        self.resets += 1


class Ctx:
    """A job context that never pauses or stops."""

    def check(self):
        pass

    def update(self, **kw):
        pass


@pytest.fixture
def made(tmp_path):
    """(session, engines built by it, checkpoints announced by it)."""
    engines, announced = [], []

    def make_engine(config, reward_name=None):
        engines.append(FakeEngine(config))
        return engines[-1]

    session = PPORun(make_engine=make_engine, checkpoint_dir=tmp_path / "ckpts", probe_prompts=PROBES,
                         probe_every=1000, config=PPOConfig(),
                         on_checkpoint=lambda info: announced.append((info["name"], Path(info["path"]))))
    return session, engines, announced


def test_set_live_validates_before_changing_anything(made):
    session, _, _ = made
    before = session.view()
    for bad in ({"kl_coef": -0.1}, {"temperature": 0.0}, {"batch_size": 6}, {"baseline": "median"},
                {"learning_rate": "fast"}):
        with pytest.raises(ValueError, match="PPOConfig"):
            session.set_live(**bad)
    with pytest.raises(ValueError, match="not live-editable"):
        session.set_live(lora_r=4)  # shapes the adapter: read once, when the engine is built
    with pytest.raises(ValueError, match="not live-editable"):
        session.set_live(kl_coef=0.1, no_such_field=1)  # a bad field refuses the good one with it
    assert session.config == PPOConfig() and session.view().config == before.config
    assert session.version == before.version  # nothing changed, so viewers need not redraw


def test_a_change_before_the_engine_exists_is_built_in(made):
    session, engines, _ = made
    assert session.set_live(kl_coef=0.2).kl_coef == 0.2
    engine = session.engine()
    assert engines == [engine] and engine.config.kl_coef == 0.2
    assert engine.config is not session.config  # the engine has its own copy


def test_live_changes_are_queued_and_reach_the_engine_only_between_steps(made):
    session, _, _ = made
    engine = session.engine()
    session.set_live(kl_coef=0.2, temperature=0.9)
    assert (engine.config.kl_coef, engine.config.temperature) == (0.05, 0.7)  # queued, not applied
    shown = session.view().config
    assert (shown["kl_coef"], shown["temperature"]) == (0.2, 0.9)  # but shown: the tab reflects the sliders

    # a second browser moves β in the middle of the next step
    engine.during_step = lambda: session.set_live(kl_coef=0.4)
    session.train(Ctx(), 1)
    start, end = engine.step_configs[0]
    assert start == end and (start.kl_coef, start.temperature) == (0.2, 0.9)  # one config for the whole step
    assert session.view().history[0]["config"]["kl_coef"] == 0.2  # and that is the config recorded with it
    assert engine.config.kl_coef == 0.2 and session.view().config["kl_coef"] == 0.4  # the new one waits

    engine.during_step = None
    session.train(Ctx(), 1)
    assert engine.step_configs[1][0].kl_coef == 0.4 and engine.config.temperature == 0.9  # the next step takes it
    assert [row["config"]["kl_coef"] for row in session.view().history] == [0.2, 0.4]


def test_checkpoints_need_a_step_a_valid_name_and_a_new_name(made, tmp_path):
    session, _, announced = made
    with pytest.raises(ValueError, match="run at least one PPO step"):
        session.save_checkpoint()  # no engine yet
    session.engine()
    with pytest.raises(ValueError, match="run at least one PPO step"):
        session.save_checkpoint("early")  # an engine, but still the base policy
    session.train(Ctx(), 2)
    for bad in ("../escape", "has space", "-starts-with-dash", "x" * 65):
        with pytest.raises(ValueError, match="Checkpoint name .*: use letters, digits"):
            session.save_checkpoint(bad)
    assert announced == [] and not (tmp_path / "ckpts").exists()

    info = session.save_checkpoint()  # default name: the step
    assert info["name"] == "ppo-step2" and info["step"] == 2 and info["score"] == 1.0
    assert announced == [("ppo-step2", tmp_path / "ckpts" / "ppo-step2")]
    assert (tmp_path / "ckpts" / "ppo-step2" / "adapter_config.json").is_file()
    with pytest.raises(ValueError, match="is taken"):
        session.save_checkpoint("  ppo-step2 ")  # the same name, padded
    assert len(announced) == 1
    session.save_checkpoint("after-two")
    assert session.save_checkpoint()["name"] == "ppo-step2-2"  # the default name is made unique, never reused
    assert [c["name"] for c in session.view().checkpoints] == ["ppo-step2", "after-two", "ppo-step2-2"]
    assert [a[0] for a in announced] == ["ppo-step2", "after-two", "ppo-step2-2"]


def test_checkpoints_come_back_from_disk_and_names_of_contestants_are_refused(tmp_path):
    """A restart (a new session on the same folder) lists the complete checkpoints again, leaves out a folder a
    killed save left behind, sweeps its temporary folder, and never reuses a name, a contestant's included."""
    engines = []

    def make(config, reward_name=None):
        engines.append(FakeEngine(config))
        return engines[-1]

    first = PPORun(make_engine=make, checkpoint_dir=tmp_path / "ckpts", probe_prompts=PROBES, probe_every=1000)
    first.train(Ctx(), 1)
    first.save_checkpoint("kept")
    (tmp_path / "ckpts" / "half-written").mkdir()  # no completion marker: an old-style or interrupted save
    (tmp_path / "ckpts" / ".tmp-lost-999999999-abcdef12").mkdir()  # a killed writer's temporary folder

    again = PPORun(make_engine=make, checkpoint_dir=tmp_path / "ckpts", probe_prompts=PROBES, probe_every=1000,
                       name_taken=lambda name: name == "base-t0.7")
    assert [c["name"] for c in again.checkpoints()] == ["kept"] and again.checkpoints()[0]["uid"] == "f00d"
    assert again.skipped_checkpoints == ["half-written"]
    assert not (tmp_path / "ckpts" / ".tmp-lost-999999999-abcdef12").exists()
    again.train(Ctx(), 1)
    for taken in ("kept", "half-written", "base-t0.7"):
        with pytest.raises(ValueError, match="is taken"):
            again.save_checkpoint(taken)
    assert [c["name"] for c in again.checkpoints()] == ["kept"]


def test_reset_clears_the_run_and_keeps_the_checkpoints(made):
    session, engines, _ = made
    session.train(Ctx(), 2)
    session.save_checkpoint("kept")
    v = session.view()
    assert v.step == 2 and len(v.history) == 2 and v.samples and {p.step for p in v.probes} == {0, 2}

    session.reset()
    v = session.view()
    assert engines[0].resets == 1 and v.step == 0 and v.built
    assert (v.history, v.samples, v.probes) == ([], [], [])
    assert [c["name"] for c in v.checkpoints] == ["kept"]
    with pytest.raises(ValueError, match="run at least one PPO step"):
        session.save_checkpoint("from-the-base-policy")

    session.reset(rebuild=True)  # e.g. another reward model became active: the next run builds a new engine
    assert not session.view().built
    session.train(Ctx(), 1)
    assert len(engines) == 2 and session.view().step == 1 and len(session.view().history) == 1



def test_the_live_fields_are_one_tuple_read_by_the_run_the_tab_the_api_and_the_docs(tmp_path):
    """One definition, `ppo.config.LIVE_FIELDS`: the run refuses every other field, the tab has one control per field a
    user sets (`SETTABLE`: the replies per prompt follow the baseline), /ppo_settings takes exactly those, and the
    config's documentation names each of them."""
    import inspect

    import gradio as gr

    import rlhf_demo.ppo.config as config_module
    from rlhf_demo.ppo.config import LIVE_FIELDS
    from rlhf_demo.ppo.service import SETTABLE
    from rlhf_demo.settings import Settings
    from rlhf_demo.ui import ppo as ppo_tab
    from rlhf_demo.workspace import Workspace

    assert set(SETTABLE) == set(LIVE_FIELDS) - {"samples_per_prompt"}
    run = PPORun(make_engine=lambda config, reward_name=None: None, checkpoint_dir=tmp_path / "ckpt")
    for name in ("max_prompt_length", "cliprange", "seed", "lora_r"):
        with pytest.raises(ValueError, match="not live-editable"):
            run.set_live(**{name: getattr(PPOConfig(), name)})
    ws = Workspace(Settings(offline=True, policy="tiny", data_dir=tmp_path / "data"))
    with gr.Blocks() as demo:
        tab = ppo_tab.build(ws)
        ppo_tab.api(ws)
    assert tuple(tab.live) == SETTABLE
    settings_fn = next(f.fn for f in demo.fns.values() if f.api_name == "ppo_settings")
    assert tuple(inspect.signature(settings_fn).parameters)[1:] == SETTABLE  # after the key
    live_paragraph = config_module.__doc__.split("Live changes", 1)[1]
    assert all(name in live_paragraph for name in LIVE_FIELDS)


class RecordingCtx(Ctx):
    def __init__(self):
        self.updates = []

    def update(self, **kw):
        self.updates.append(kw)


def test_the_first_step_says_what_step_zero_did_and_the_eta_comes_from_measured_steps(made):
    """Issue 23: the first plot came 2.5 minutes after Start with nothing saying why, and "about 15 m left" at step
    1 came from the progress fraction (step 0's set-up included). Now step 0 names its parts with their measured
    seconds, the first step says what it does, and the time left is measured steps x steps left."""
    session, engines, _ = made
    ctx = RecordingCtx()
    session.train(ctx, 3)
    messages = [u.get("message", "") for u in ctx.updates]
    assert any("step 0: sampling replies of the base policy" in m for m in messages)
    first = next(u for u in ctx.updates if "the first rollout" in u.get("message", ""))
    assert first["message"].startswith("step 0 took score scale and probes ")
    assert f"sample {PPOConfig().batch_size} replies" in first["message"]
    assert first["eta_s"] is None  # nothing measured yet: "estimating time left…", never a guess
    etas = [u["eta_s"] for u in ctx.updates if "step" in u]  # one per finished step
    assert len(etas) == 3 and all(e is not None and e >= 0 for e in etas) and etas[-1] == 0.0
    ctx = RecordingCtx()
    session.train(ctx, 1)  # a run that goes on: step 0 is done, nothing to say about it
    assert not any("step 0" in u.get("message", "") for u in ctx.updates)
