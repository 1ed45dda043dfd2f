"""An ensemble of reward models as PPO's reward (issue 24, item 4): `reward/ensemble.py` against loops and fakes,
the reward spec a run belongs to (`ppo/reward_spec.py`), `python -m rlhf_demo ppo --reward A B --ensemble ...`, the
app's run against the active model plus others (tiny policy, tiny reward models), and the frontier's ensemble rows."""

from __future__ import annotations

import json
import time

import pytest
import torch

from rlhf_demo.ppo.reward_spec import RewardSpec, check_not_gold, load_scorer, saved_spec
from rlhf_demo.reward.ensemble import EnsembleScorer, combine, ensemble_label

from .test_frontier import save_reward_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ------------------------------------------------------------------------------------ the scorer, on its own


def test_combine_is_mean_minus_lambda_std_or_min_of_each_column():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(4, 7, generator=g) * 3  # 4 members, 7 replies
    for lam in (0.0, 0.5, 2.0):
        got = combine(scores, "mean-std", lam)
        for b in range(7):
            col = [float(scores[k, b]) for k in range(4)]
            mean = sum(col) / 4
            std = (sum((x - mean) ** 2 for x in col) / 4) ** 0.5  # the population std over the members
            assert got[b].item() == pytest.approx(mean - lam * std, abs=1e-5)
    lowest = combine(scores, "min")
    assert [lowest[b].item() for b in range(7)] == pytest.approx([min(scores[:, b].tolist()) for b in range(7)])
    one = scores[:1]
    assert torch.allclose(combine(one, "mean-std", 3.0), one[0])  # one member: the ensemble is that member
    with pytest.raises(ValueError, match="ensemble must be one of"):
        combine(scores, "median")


class FakeScorer:
    """A reward model as PPO sees it: fixed scores, and the held-out reference saved with it."""

    def __init__(self, scores, reference=None):
        self.scores = torch.tensor(scores)
        self.meta = {"score_reference": reference} if reference is not None else {}
        self.device = torch.device("cpu")

    def score(self, prompts, replies):
        assert len(prompts) == len(replies) == len(self.scores)
        return self.scores


def test_the_ensemble_scores_each_member_in_its_own_sigma():
    big = FakeScorer([10.0, 20.0, 30.0], {"mean": 20.0, "std": 10.0})  # -> -1, 0, 1
    small = FakeScorer([0.5, 0.0, -0.5], {"mean": 0.0, "std": 0.5})  # -> 1, 0, -1
    bare = FakeScorer([2.0, 0.0, 1.0])  # no reference: (0, 1)
    flat = FakeScorer([3.0, 3.0, 3.0], {"mean": 3.0, "std": 0.0})  # std 0: divided by 1, not by 0
    ens = EnsembleScorer([big, small, bare, flat], "mean-std", 1.0, names=["big", "small", "bare", "flat"])
    prompts, replies = ["p"] * 3, ["a", "b", "c"]
    member = ens.member_scores(prompts, replies)
    assert member.tolist() == [[-1.0, 0.0, 1.0], [1.0, 0.0, -1.0], [2.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    assert torch.allclose(ens.score(prompts, replies), combine(member, "mean-std", 1.0))
    low = EnsembleScorer([big, small], "min", names=["big", "small"])
    assert low.score(prompts, replies).tolist() == [-1.0, 0.0, -1.0]
    assert "ensemble of 2 (big, small)" in low.describe()
    with pytest.raises(ValueError, match="at least 2"):
        EnsembleScorer([big])
    with pytest.raises(ValueError, match="λ"):
        EnsembleScorer([big, small], lam=-1)


def test_a_reward_spec_is_what_a_run_belongs_to():
    one = RewardSpec(("rm-a",), "min", 3.0)
    assert one == RewardSpec("rm-a") and not one.is_ensemble and one.label == "rm-a"  # mode and λ mean nothing
    three = RewardSpec(["rm-a", "rm-b", "rm-c"])
    assert three.label == "ensemble of 3 (rm-a, rm-b, rm-c), mean − 1·std" == ensemble_label(three.models, "mean-std")
    assert RewardSpec(("a", "b"), "min", 5.0) == RewardSpec(("a", "b"), "min")  # λ means nothing with min
    assert RewardSpec(("a", "b"), "min").label == "ensemble of 2 (a, b), min"
    assert RewardSpec(("a", "b"), "mean-std", 0.5) != RewardSpec(("a", "b"))
    assert RewardSpec(("runs/rm-x", "/tmp/rm-y")).label == "ensemble of 2 (rm-x, rm-y), mean − 1·std"
    assert RewardSpec.from_dict(three.to_dict()) == three and three.to_dict()["ensemble"] == "mean-std"
    assert saved_spec({"reward": three.to_dict(), "reward_name": "rm-a"}) == three
    assert saved_spec({"reward_name": "rm-old"}) == RewardSpec("rm-old")  # a run saved before ensembles
    assert saved_spec({}) is None and saved_spec({"reward": {"models": []}}) is None
    for bad, message in ((("a", "a"), "named twice"), ((), "at least one"), (("a", "b", "", ), "at least one")):
        with pytest.raises(ValueError, match=message):
            RewardSpec(bad)
    with pytest.raises(ValueError, match="λ must be a number >= 0"):
        RewardSpec(("a", "b"), "mean-std", -0.1)
    with pytest.raises(ValueError, match="ensemble must be one of"):
        RewardSpec(("a", "b"), "mean")
    loaded = load_scorer(RewardSpec(("a", "b"), "min"), lambda name: FakeScorer([1.0 if name == "a" else 2.0]))
    assert isinstance(loaded, EnsembleScorer) and loaded.names == ["a", "b"] and loaded.mode == "min"
    assert load_scorer(RewardSpec("a"), lambda name: name) == "a"  # one model: that model, as before
    check_not_gold(["rm-b"], "rm-c")
    with pytest.raises(ValueError, match="'rm-c' is the gold reward model"):
        check_not_gold(["rm-b", "rm-c"], "rm-c")


# ------------------------------------------------------------------------------------------------ the command


@pytest.fixture(scope="module")
def reward_dirs(tmp_path_factory, tiny_bert):
    d = tmp_path_factory.mktemp("ensemble-rms")
    return [save_reward_model(d / name, tiny_bert, seed) for seed, name in enumerate(("rm-a", "rm-b", "rm-c"), 1)]


TINY_RUN = ["--policy", "tiny", "--decoding", "eager", "--batch-size", "4", "--samples-per-prompt", "2",
            "--response-length", "4", "--score-norm-samples", "4", "--quiet"]


def test_ppo_command_trains_against_an_ensemble_and_records_it(reward_dirs, tmp_path, capsys):
    from rlhf_demo.ppo.cli import ppo_main

    out = tmp_path / "out"
    rc = ppo_main(["--reward", *reward_dirs[:2], "--ensemble", "min", "--steps", "1", "--out", str(out), *TINY_RUN])
    assert rc == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["reward"] == reward_dirs[:2] and summary["steps"] == 1
    assert summary["reward_spec"] == {"models": reward_dirs[:2], "ensemble": "min", "lambda": None,
                                      "label": "ensemble of 2 (rm-a, rm-b), min"}
    state = json.loads((out / "ppo_state.json").read_text())
    assert state["reward"] == summary["reward_spec"] and saved_spec(state) == RewardSpec(tuple(reward_dirs[:2]), "min")


@pytest.mark.parametrize("flags, message", [
    (["--reward", "{a}", "{missing}"], "is not a saved reward model"),
    (["--reward", "{a}", "{a}"], "twice"),
    (["--reward", "{a}", "{b}", "--ensemble-lambda", "-1"], "λ must be a number >= 0"),
])
def test_ppo_command_refuses_a_bad_ensemble_in_one_line(reward_dirs, tmp_path, capsys, flags, message):
    from rlhf_demo.ppo.cli import ppo_main

    given = [f.format(a=reward_dirs[0], b=reward_dirs[1], missing=tmp_path / "nope") for f in flags]
    rc = ppo_main([*given, "--steps", "1", "--out", str(tmp_path / "out"), *TINY_RUN])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert rc == 2 and len(errors) == 1 and message in errors[0] and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()


def test_ppo_command_refuses_an_unknown_ensemble_mode(reward_dirs, tmp_path, capsys):
    from rlhf_demo.ppo.cli import ppo_main

    with pytest.raises(SystemExit) as exit_:
        ppo_main(["--reward", *reward_dirs[:2], "--ensemble", "avg", "--steps", "1", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and [line for line in err.splitlines() if "error:" in line] == [
        "python -m rlhf_demo ppo: error: argument --ensemble: invalid choice: 'avg' (choose from 'mean-std', 'min')"]


# ------------------------------------------------------------------------------------------------ the app's run


@pytest.fixture(scope="module")
def app(tmp_path_factory, tiny_bert):
    """A workspace (tiny policy) with three saved reward models: rm-a active, rm-c the default gold (the newest)."""
    from rlhf_demo.settings import Settings
    from rlhf_demo.workspace import Workspace

    root = tmp_path_factory.mktemp("ensemble-app")
    for seed, name in enumerate(("rm-a", "rm-b", "rm-c"), 1):
        save_reward_model(root / "reward_models" / name, tiny_bert, seed)
    ws = Workspace(Settings(offline=True, policy="tiny", data_dir=root, device="cpu"))
    ws.reward.models.set_active("rm-a")
    assert ws.gold.name() == "rm-c"
    ws.ppo.run.eval_prompts = ws.ppo.run.eval_prompts[:4]  # the held-out rows: a few prompts are enough here
    ws.ppo.set_live(batch_size=4, response_length=4)
    return ws


def wait_idle(ws, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while ws.jobs.snapshot("ppo").active:
        assert time.time() < deadline, "PPO still running"
        time.sleep(0.2)


def test_the_gold_model_is_never_a_member(app):
    with pytest.raises(ValueError, match="'rm-c' is the gold reward model: it cannot be a member"):
        app.ppo.set_ensemble(members=["rm-b", "rm-c"])
    with pytest.raises(ValueError, match="No saved reward model named 'rm-zz'"):
        app.ppo.set_ensemble(members=["rm-zz"])
    with pytest.raises(ValueError, match="must be one of"):
        app.ppo.set_ensemble(mode="median")
    assert app.ppo.ensemble_info()["with"] == []  # nothing changed by a refusal
    assert [c for c in app.ppo.ensemble_candidates()] == [{"name": "rm-c", "gold": True}, {"name": "rm-b", "gold": False}]


def test_the_ppo_poll_sends_nothing_when_nothing_changed_and_the_setting_when_one_did(app):
    """The PPO tab's 2-second poll, as every open page runs it: an unchanged run costs the page no redraw."""
    import gradio as gr

    from rlhf_demo.ui.ppo import refresh

    def skipped(out) -> bool:
        return isinstance(out, dict) and out == gr.skip()

    first = refresh(app, (-1, -1, None, None))  # a page's first poll draws everything
    seen = first[0]
    assert sum(not skipped(out) for out in first[1:]) > 10
    again = refresh(app, seen)
    assert again[0] == seen and all(skipped(out) for out in again[1:])
    app.ppo.set_live(temperature=0.85)  # another page changed a setting: this one shows it
    third = refresh(app, seen)
    sent = [out for out in third[1:] if not skipped(out)]
    assert third[0] != seen and any(isinstance(out, float) and out == 0.85 for out in sent)
    app.ppo.set_live(temperature=1.0)


def test_the_app_run_trains_against_the_ensemble_and_names_it(app):
    from rlhf_demo.frontier.measure import trained_against
    from rlhf_demo.ui.ppo_view import resume_label, status_markdown

    label = "ensemble of 2 (rm-a, rm-b), min"
    info = app.ppo.set_ensemble(members=["rm-b", "rm-a"], mode="min")  # the active model counts once
    assert info["with"] == ["rm-b"] and info["next"]["label"] == label
    assert app.ppo.status()["reward"]["label"] == label  # before Start: what Start trains against
    app.ppo.start(1)
    wait_idle(app)
    status = app.ppo.status()
    assert status["state"] == "done" and status["step"] == 1, status["error"]
    assert status["reward"] == {"models": ["rm-a", "rm-b"], "ensemble": "min", "lambda": None, "label": label}
    assert status["reward_model"] == "rm-a"
    view = app.ppo.run.view()
    assert isinstance(app.ppo.run.engine().reward, EnsembleScorer)
    assert f"reward: **{label}**" in status_markdown(view, None, app.ppo.ensemble_info()["next"])

    ckpt = app.ppo.save_checkpoint("ens-1")  # the frontier tells it apart
    assert trained_against(ckpt["path"], "ppo")["ensemble"] == "min"

    # another spec picked: the status says the next Start begins a new run; Reset rebuilds for it
    app.ppo.set_ensemble(members=[])
    assert "next Start begins a new run against **rm-a**" in status_markdown(
        app.ppo.run.view(), None, app.ppo.ensemble_info()["next"])
    app.ppo.reset()
    assert not app.ppo.run.built and app.ppo.run.view().history == []
    # the ensemble run was autosaved with its spec: Resume brings it back, and picks its ensemble again
    saved = app.ppo.run.resumable
    assert saved["reward"]["label"] == label and label in resume_label(saved)
    app.ppo.resume()
    assert app.ppo.run.reward == RewardSpec(("rm-a", "rm-b"), "min") and app.ppo.run.view().step == 1
    assert app.ppo.ensemble_info()["with"] == ["rm-b"] and app.ppo.ensemble_info()["mode"] == "min"


# ------------------------------------------------------------------------------------------------ the frontier


def test_a_frontier_row_of_an_ensemble_trained_checkpoint_says_so(tmp_path):
    from rlhf_demo.frontier.measure import ROW_KEYS, best_at_equal_kl, make_row, trained_against
    from rlhf_demo.ui.compare_view import frontier_figure, frontier_frame, frontier_markdown

    spec = RewardSpec(("rm-a", "rm-b"), "mean-std", 0.5).to_dict()
    (tmp_path / "ppo_state.json").write_text(json.dumps({"step": 3, "reward": spec, "reward_name": "rm-a"}))
    assert trained_against(tmp_path, "ppo") == spec and trained_against(tmp_path, "dpo") is None
    norm = {"proxy": (0.0, 1.0), "gold": (0.0, 1.0)}
    ens = make_row("ppo", "ens", None, 2.0, 2.0, 2.0, [1.0], [0.5], ["a reply"], norm, reward=spec)
    single = make_row("ppo", "single", None, 2.0, 2.0, 2.0, [1.5], [0.2], ["a reply"], norm,
                      reward=RewardSpec("rm-a").to_dict())
    bon = make_row("best-of-n", "best-of-4", 4, 0.6, 0.6, None, [0.8], [0.3], ["x"], norm)
    assert set(ens) == set(ROW_KEYS) == set(bon)
    assert (ens["series"], ens["ensemble"], ens["reward"]) == ("ppo (ensemble)", "mean-std", spec["label"])
    assert (single["series"], single["ensemble"], single["reward"]) == ("ppo", None, "rm-a")
    assert (bon["series"], bon["reward"]) == ("best-of-n", None)
    compared = best_at_equal_kl([ens, single, bon], 2.0)  # two PPO curves, compared at equal KL
    assert compared["values"] == {"ppo (ensemble)": 0.5, "ppo": 0.2, "best-of-n": None}
    assert compared["best"] == "ppo (ensemble)"

    result = {"rows": [bon, single, ens], "proxy": "rm-a", "gold": "rm-c", "n_prompts": 4, "seconds": 1.0}
    table = frontier_frame(result)
    assert list(table["method"]) == ["best-of-n", "ppo", "ppo (ensemble)"]
    assert table["name"].iloc[2] == f"ens · {spec['label']}"
    legend = [t.get_text() for t in frontier_figure(result).axes[0].get_legend().get_texts()]
    assert "ppo (ensemble): gold" in legend and "ppo: gold" in legend
    md = frontier_markdown(result)
    assert "ppo (ensemble)" in md and "ensemble of 2 (rm-a, rm-b), mean − 0.5·std" in md
    assert "ppo (ensemble)" not in frontier_markdown({**result, "rows": [bon, single]})
