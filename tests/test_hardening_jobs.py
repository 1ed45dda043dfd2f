"""Hardening of the jobs and the arena against NaN models and unstoppable runs (issue 21, items 2 and 3).

Item 2: with lr = 1e30 one PPO step ran, its adapter (all NaN) was saved as a checkpoint and autosaved, and from then
on most arena rounds failed, for everyone batched with it; a failed job said only "failed". Here the NaN is injected
(the learning rate itself is now refused at parsing): a step whose loss, gradients or weights turn non-finite is rolled
back and stops the run with its reason; NaN weights are never saved, never loaded, never a contestant, and named in
the PPO tab; a contestant that cannot answer is dropped from its batch and the other rounds still answer.

Item 3: Stop (and `ppo --max-seconds`) waited for every PPO epoch of a step. `should_stop` is now asked after every
optimiser step.
"""

from __future__ import annotations

import copy
import threading
import time

import pytest
import torch

from rlhf_demo.data.prompts import training_prompts
from rlhf_demo.jobs import FAILED, STOPPED, JobRunner
from rlhf_demo.models.weights import non_finite, saved_weights_problem, weights_problem
from rlhf_demo.ppo.guard import NonFiniteStep, NonFiniteWeights
from rlhf_demo.ppo.run import PPORun
from tests.test_ppo import PROMPTS, make_engine

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: see conftest

NAN = float("nan")


def trained(engine) -> dict[str, torch.Tensor]:
    named = {n: p for n, p in engine.model.named_parameters() if p.requires_grad}
    named.update({f"value_head.{n}": p for n, p in engine.value_head.named_parameters()})
    return {n: p.detach().clone() for n, p in named.items()}


def moments(engine) -> dict:
    return copy.deepcopy(engine.optimizer.state_dict()["state"])


def same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (torch.equal(a[k], b[k]) if torch.is_tensor(a[k]) else same_state(a[k], b[k]) if isinstance(a[k], dict)
         else a[k] == b[k]) for k in a)


def poison_nan_file(path) -> None:
    """Overwrite a safetensors file with the same tensors, all NaN (what lr = 1e30 saved)."""
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(path))
    save_file({k: torch.full_like(v, NAN) for k, v in tensors.items()}, str(path))


def job_session(tmp_path, engine, **kw) -> PPORun:
    return PPORun(make_engine=lambda cfg, reward_name=None: engine, checkpoint_dir=tmp_path / "ckpt", autosave_dir=tmp_path / "auto",
                      autosave_seconds=0.0, probe_prompts=(PROMPTS[0],), probe_every=1000, **kw)


# ------------------------------------------------------------------------------------------ the pure helper


def test_non_finite_names_the_tensors_holding_nan_or_inf():
    tensors = {"ok": torch.ones(3), "nan": torch.tensor([1.0, NAN]), "no grad": None,
               "inf": torch.tensor([-float("inf")]), "empty": torch.zeros(0), "ints": torch.arange(3)}
    assert non_finite(tensors) == ["nan", "inf"]
    assert non_finite({}) == [] and non_finite({"ok": torch.zeros(2, 2)}) == []
    assert weights_problem({"ok": torch.ones(2)}) is None
    assert weights_problem(tensors) == "its weights are NaN or infinite (2 of 5 tensors, e.g. nan)"


def test_saved_weights_problem_reads_a_file_and_says_why(tmp_path):
    from safetensors.torch import save_file

    save_file({"a": torch.ones(2)}, str(tmp_path / "good.safetensors"))
    save_file({"a": torch.ones(2), "b": torch.tensor([NAN])}, str(tmp_path / "bad.safetensors"))
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    assert saved_weights_problem(tmp_path / "good.safetensors") is None
    assert saved_weights_problem(tmp_path / "bad.safetensors") == "its weights are NaN or infinite (1 of 2 tensors, e.g. b)"
    assert saved_weights_problem(tmp_path / "junk.safetensors").startswith("its weights cannot be read")


# ------------------------------------------------------------------------------------------ item 2: the PPO step


def _poison_loss(engine):
    real = engine._ppo_loss
    engine._ppo_loss = lambda *a, **k: (lambda loss, stats: (loss * NAN, stats))(*real(*a, **k))


def _poison_gradients(engine):
    engine.value_head.weight.register_hook(lambda g: g * NAN)


def _poison_weights(engine):
    real = engine.optimizer.step

    def step(*a, **k):
        out = real(*a, **k)
        with torch.no_grad():
            next(p for p in engine.model.parameters() if p.requires_grad).fill_(NAN)
        return out

    engine.optimizer.step = step


def _poison_outputs(engine):
    """Finite weights so large that a forward pass overflows (what one Adam step at lr = 1e30 leaves behind)."""
    real = engine.optimizer.step

    def step(*a, **k):
        out = real(*a, **k)
        with torch.no_grad():
            for name, p in engine.model.named_parameters():
                if p.requires_grad:
                    p.fill_(1e30)
        return out

    engine.optimizer.step = step


@pytest.mark.parametrize("poison,what", [(_poison_loss, "loss"), (_poison_gradients, "gradients"),
                                         (_poison_weights, "updated weights"),
                                         (_poison_outputs, "loss of the updated policy")])
def test_a_step_that_turns_non_finite_is_rolled_back_and_raises_why(poison, what):
    engine = make_engine()  # one optimiser step per PPO step: the loss of the next minibatch cannot catch it first
    engine.step()  # a good step first: Adam has moments to roll back to
    before, adam = trained(engine), moments(engine)
    poison(engine)
    with pytest.raises(NonFiniteStep, match=f"PPO step 2 was rolled back and the run stopped: the {what} became NaN or "
                                            "infinite.*as it was after step 1.*Lower the learning rate"):
        engine.step()
    assert engine.step_count == 1 and engine.weights_problem() is None
    after = trained(engine)
    assert all(torch.equal(after[n], before[n]) for n in before)  # adapter and value head as before the step
    assert same_state(moments(engine), adam)  # and Adam's moments


def test_a_failed_ppo_job_says_why_and_leaves_a_finite_autosave(tmp_path):
    """The job fails with the reason in its status; what was trained before the bad step is autosaved, finite, and
    loads; a checkpoint can still be saved."""
    engine = make_engine()
    session = job_session(tmp_path, engine)
    runner = JobRunner()
    runner.submit("ppo", "PPO", lambda ctx: session.train(ctx, 1))
    assert runner.join(120)
    good = trained(engine)
    _poison_loss(engine)
    runner.submit("ppo", "PPO", lambda ctx: session.train(ctx, 3))
    assert runner.join(120)
    snap = runner.snapshot("ppo")
    assert snap.state == FAILED and "PPO step 2 was rolled back" in snap.error and "\n" not in snap.error
    assert "rolled back" in snap.status_line() and "Lower the learning rate" in snap.status_line()
    assert engine.step_count == 1 and len(session.view().history) == 1
    (saved,) = list((tmp_path / "auto").iterdir())
    assert saved_weights_problem(saved / "adapter_model.safetensors") is None
    fresh = make_engine()
    fresh.load(saved, optimizer=True)
    assert all(torch.equal(trained(fresh)[n], good[n]) for n in good)
    assert session.save_checkpoint("after-failure")["step"] == 1


def test_ppo_status_says_why_the_job_failed(app_server):
    """/ppo_status gave `failed` and no reason."""
    from gradio_client import Client

    url, ws = app_server
    assert not ws.jobs.snapshot().active

    def bad_run(ctx):
        raise NonFiniteStep("PPO step 3 was rolled back and the run stopped: the loss became NaN or infinite.")

    ws.jobs.submit("ppo", "PPO", bad_run)
    assert ws.jobs.join(30)
    status = Client(url, verbose=False, analytics_enabled=False, download_files=False).predict(api_name="/ppo_status")
    assert status["state"] == "failed"
    assert status["error"] == "PPO step 3 was rolled back and the run stopped: the loss became NaN or infinite."


# ------------------------------------------------------------------------------------------ item 2: saves and loads


def test_non_finite_weights_are_never_saved_nor_loaded(tmp_path):
    engine = make_engine()
    session = job_session(tmp_path, engine)

    class Ctx:
        def check(self):
            pass

        def update(self, **kw):
            pass

    session.train(Ctx(), 1)
    engine.save(tmp_path / "good")
    good = trained(engine)

    # a folder whose adapter holds NaN is refused by load, and nothing of it is loaded
    import shutil

    shutil.copytree(tmp_path / "good", tmp_path / "nan")
    poison_nan_file(tmp_path / "nan" / "adapter_model.safetensors")
    with pytest.raises(NonFiniteWeights, match="nan cannot be loaded: its weights are NaN or infinite"):
        engine.load(tmp_path / "nan")
    assert all(torch.equal(trained(engine)[n], good[n]) for n in good)

    # NaN weights in memory: neither a checkpoint nor an autosave is written
    with torch.no_grad():
        next(p for p in engine.model.parameters() if p.requires_grad).fill_(NAN)
    with pytest.raises(ValueError, match="The policy was not saved: its weights are NaN or infinite"):
        session.save_checkpoint("poisoned")
    with pytest.raises(NonFiniteWeights):
        engine.save(tmp_path / "direct")
    assert not (tmp_path / "ckpt" / "poisoned").exists() and not (tmp_path / "direct").exists()
    assert session.checkpoints() == []


class LengthReward:
    def score(self, prompts, responses):
        return torch.tensor([float(len(r)) for r in responses])


def test_a_nan_checkpoint_is_never_a_contestant_and_is_named_in_the_tab(tmp_path):
    """The NaN checkpoint survived restarts and failed most rounds. Now a restart leaves it out of the PPO tab's list
    and of the arena, names it with the reason, and the rounds answer."""
    from rlhf_demo.models.presets import load_policy
    from rlhf_demo.ppo.config import PPOConfig
    from rlhf_demo.ppo.engine import PPOEngine
    from rlhf_demo.settings import Settings
    from rlhf_demo.ui.ppo_view import checkpoints_label
    from rlhf_demo.workspace import Workspace

    ws = Workspace(Settings(offline=True, policy="tiny", data_dir=tmp_path / "data"))
    model, tok = load_policy(ws.policy_choice, "cpu")
    engine = PPOEngine(model, tok, LengthReward(), training_prompts(ws.data.source)[:8],
                       PPOConfig(batch_size=4, samples_per_prompt=2, response_length=4, lora_layers=None), device="cpu")
    engine.step()
    for name in ("good", "bad"):
        engine.save(ws.checkpoint_dir / name, info={"saved": f"2026-12-01 10:00:0{len(name)}"})
    poison_nan_file(ws.checkpoint_dir / "bad" / "adapter_model.safetensors")

    again = Workspace(Settings(offline=True, policy="tiny", data_dir=tmp_path / "data"))
    names = [c.name for c in again.contestants.list()]
    assert "good" in names and "bad" not in names
    assert any(s.startswith("bad (its weights are NaN or infinite") for s in again.contestants.skipped)
    assert [c["name"] for c in again.ppo.run.checkpoints()] == ["good"]
    assert again.ppo.run.refused_checkpoints["bad"].startswith("its weights are NaN or infinite")
    label = checkpoints_label(again.ppo.run.view())
    assert "left out: bad, its weights are NaN or infinite" in label
    for seed in range(4):
        rnd = again.arena.new_round("How do I keep basil fresh?", voter_id="v", seed=seed)
        assert rnd.reply_a and rnd.reply_b


# ------------------------------------------------------------------------------------------ item 2: the arena


def _tokenizer():
    from tests.test_arena import bpe_tokenizer

    return bpe_tokenizer()


@pytest.fixture(scope="module")
def arena_parts(tmp_path_factory):
    """(model, tokenizer, {"good": adapter, "nan": the same adapter, all NaN})."""
    import shutil

    import peft

    from tests.test_arena import tiny_llama

    tok = _tokenizer()
    model = tiny_llama(len(tok))
    root = tmp_path_factory.mktemp("adapters")
    torch.manual_seed(1)
    lora = peft.LoraConfig(r=4, lora_alpha=32, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    peft.get_peft_model(copy.deepcopy(model), lora).save_pretrained(root / "good")
    paths = {"good": root / "good"}
    shutil.copytree(root / "good", root / "nan")
    poison_nan_file(root / "nan" / "adapter_model.safetensors")
    paths["nan"] = root / "nan"
    return model, tok, paths


PROMPT = "\n\nHuman: How do I bake bread at home?\n\nAssistant:"


def test_an_adapter_with_nan_weights_is_refused_as_a_contestant(arena_parts):
    from rlhf_demo.arena.contestants import ContestantFailed, ContestantRegistry

    _, _, paths = arena_parts
    registry = ContestantRegistry()
    registry.add_checkpoint("good", str(paths["good"]))
    with pytest.raises(ContestantFailed, match="'nan' could not answer: its weights are NaN or infinite") as e:
        registry.add_checkpoint("nan", str(paths["nan"]))
    assert e.value.lasting and "nan" not in registry


@pytest.mark.parametrize("bad", ["nan", "raises"])
def test_a_contestant_that_cannot_answer_is_dropped_and_the_rounds_batched_with_it_still_answer(arena_parts, bad):
    """Rounds asked for at once share one generate call: one bad contestant used to fail every round of it. "nan":
    its adapter file turned NaN after it joined (refused before the call); "raises": generating its row fails (the
    call is retried round by round, then row by row, to find it)."""
    from rlhf_demo.arena.contestants import Contestant, ContestantFailed
    from rlhf_demo.arena.generator import PolicyGenerator

    model, tok, paths = arena_parts
    gen = PolicyGenerator(model, tok, max_new_tokens=6)
    base = Contestant("base", 0.7)
    good = Contestant("good", 0.7, str(paths["good"]))
    broken = Contestant(bad, 0.7, str(paths["nan" if bad == "nan" else "good"]))
    if bad == "raises":
        real_locked = gen._generate_locked

        def generate_locked(prompts, contestants, seed):
            if broken in contestants:
                raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
            return real_locked(prompts, contestants, seed)

        gen._generate_locked = generate_locked
    pairs = [[base, good], [good, broken], [base, good], [broken, base], [good, base]]
    real = model.generate
    gate = threading.Event()

    def slow_generate(*args, **kwargs):
        gate.wait(5)  # the first call waits until every round has queued: they are then served together
        return real(*args, **kwargs)

    results: dict[int, object] = {}

    def ask(i):
        try:
            results[i] = gen.generate([PROMPT, PROMPT], pairs[i])
        except Exception as e:  # noqa: BLE001 - checked below
            results[i] = e

    model.generate = slow_generate
    try:
        threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(pairs))]
        for t in threads:
            t.start()
        time.sleep(0.5)
        gate.set()
        for t in threads:
            t.join(120)
    finally:
        model.generate = real
    for i, pair in enumerate(pairs):
        if broken in pair:
            assert isinstance(results[i], ContestantFailed), results[i]
            assert results[i].name == bad and results[i].lasting and f"{bad!r} could not answer" in str(results[i])
        else:
            assert isinstance(results[i], list) and len(results[i]) == 2 and all(results[i]), results[i]


def test_the_arena_takes_out_a_contestant_that_cannot_answer_and_draws_again(arena_parts, tmp_path):
    from rlhf_demo.arena.arena import Arena
    from rlhf_demo.arena.contestants import Contestant, ContestantRegistry
    from rlhf_demo.arena.generator import PolicyGenerator
    from rlhf_demo.arena.votes import VoteStore

    model, tok, paths = arena_parts
    registry = ContestantRegistry()
    registry.add_checkpoint("good", str(paths["good"]))
    # an adapter that turned NaN after it joined (overwritten): the generator checks every adapter file it loads
    registry.add(Contestant("turned-nan", 0.7, str(paths["nan"]), uid="x"))
    arena = Arena(VoteStore(tmp_path / "votes.db"), registry, PolicyGenerator(model, tok, max_new_tokens=6),
                  lambda rng: PROMPT)
    rounds = [arena.new_round(None, voter_id="v", seed=seed) for seed in range(8)]
    assert all(r.reply_a and r.reply_b for r in rounds)
    assert "turned-nan" not in registry
    assert registry.left_out()["turned-nan"].startswith("its weights are NaN or infinite")
    stored = {arena.store.get_round(r.round_id).model_a for r in rounds} | {
        arena.store.get_round(r.round_id).model_b for r in rounds}
    assert stored <= {"base-t0.7", "base-t1.0", "good"}


# ------------------------------------------------------------------------------------------ item 3: Stop


def test_should_stop_ends_the_update_within_one_optimiser_step():
    """8 epochs x 2 minibatches = 16 optimiser steps; asked to stop, the step ends after the first (a huge
    num_ppo_epochs could keep Stop waiting for minutes)."""
    engine = make_engine(num_ppo_epochs=8, num_mini_batches=2)
    real, calls = engine.optimizer.step, []
    engine.optimizer.step = lambda *a, **k: (calls.append(1), real(*a, **k))[1]
    result = engine.step(should_stop=lambda: True)
    assert len(calls) == 1 and engine.step_count == 1
    assert all(v == v for v in result.metrics.values())  # averaged over what ran: no NaN from an empty average
    calls.clear()
    engine.step()
    assert len(calls) == 16  # without a stop, every pass


def test_stop_ends_a_ppo_job_within_one_optimiser_step_and_the_autosave_is_valid(tmp_path):
    engine = make_engine(num_ppo_epochs=8, num_mini_batches=2)
    session = job_session(tmp_path, engine)
    runner = JobRunner()
    real, calls = engine.optimizer.step, []

    def step(*a, **k):
        calls.append(1)
        out = real(*a, **k)
        runner.stop()  # Stop pressed during the update
        return out

    engine.optimizer.step = step
    runner.submit("ppo", "PPO", lambda ctx: session.train(ctx, 50))
    assert runner.join(120)
    assert runner.snapshot("ppo").state == STOPPED and len(calls) == 1 and engine.step_count == 1
    now = trained(engine)
    (saved,) = list((tmp_path / "auto").iterdir())
    fresh = make_engine(num_ppo_epochs=8, num_mini_batches=2)
    fresh.load(saved, optimizer=True)
    assert fresh.step_count == 1 and all(torch.equal(trained(fresh)[n], now[n]) for n in now)


def test_ppo_max_seconds_holds_within_one_optimiser_step(tmp_path, monkeypatch, capsys):
    """`ppo --epochs 100000000 --max-seconds 15` still ran at 120 s: the deadline was checked between steps only.
    Here 8 epochs x 2 minibatches (16 optimiser steps per PPO step) and a deadline already past: one optimiser step."""
    import json

    import rlhf_demo.reward.model
    from rlhf_demo.ppo.cli import ppo_main

    monkeypatch.setattr(rlhf_demo.reward.model, "load_reward_model", lambda path, device=None: LengthReward())
    real, calls = torch.optim.AdamW.step, []

    def counted(self, *a, **k):
        calls.append(1)
        return real(self, *a, **k)

    monkeypatch.setattr(torch.optim.AdamW, "step", counted)
    rc = ppo_main(["--reward", str(tmp_path / "rm"), "--steps", "50", "--out", str(tmp_path / "out"), "--policy", "tiny",
                   "--decoding", "eager", "--epochs", "8", "--mini-batches", "2", "--batch-size", "4",
                   "--samples-per-prompt", "2", "--response-length", "4", "--max-seconds", "0.001", "--quiet"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["steps"] == 1 and len(calls) == 1
    assert (tmp_path / "out" / "adapter_model.safetensors").is_file()
