"""`python -m rlhf_demo reward`: the backbone is resolved once, at argument parsing, and `--backbone policy` means the
base of the policy given with --policy (not the default policy)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rlhf_demo.reward.cli as reward_cli
from rlhf_demo.paths import BUNDLED_DIR, TINY_POLICY_DIR
from rlhf_demo.reward.trainer import TrainResult


@pytest.fixture
def captured(monkeypatch):
    """Replace the training itself: record what it was given, return a result as a finished run would."""
    calls: list[dict] = []

    def fake_train(cfg, train, evals, out, backbone, on_log=None, trained_on=None):
        (Path(out) / "reward_meta.json").write_text("{}")  # the real trainer writes its marker last
        calls.append({"cfg": cfg, "backbone": backbone, "n_train": len(train), "n_eval": len(evals),
                      "trained_on": trained_on})
        return TrainResult(out_dir=str(out), eval_accuracy=0.5, eval_accuracy_before=0.5, eval_mean_margin=0.0,
                           baseline_shorter_wins=0.5, train_seconds=0.0, n_train=len(train), n_eval=len(evals), steps=0,
                           epochs=1.0, stopped=False, backbone=backbone.name, backbone_weights=backbone.weights,
                           trainable_params=0, total_params=0)

    def no_probe(*a, **kw):
        raise AssertionError("the Hub was probed, though every name given is local")

    monkeypatch.setattr(reward_cli, "train_reward_model", fake_train)
    monkeypatch.setattr("rlhf_demo.data.sources.hub_reachable", no_probe)
    return calls


def test_backbone_policy_is_the_base_of_the_policy_given(captured, tmp_path, capsys):
    rc = reward_cli.reward_main(["--train", str(BUNDLED_DIR / "train.jsonl"), "--eval", str(BUNDLED_DIR / "test.jsonl"),
                                 "--out", str(tmp_path / "rm"), "--backbone", "policy", "--policy", "tiny", "--quiet"])
    assert rc == 0
    (call,) = captured
    assert call["backbone"].path == str(TINY_POLICY_DIR) and call["backbone"].name == "policy"
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["backbone"] == "policy"


def test_a_folder_backbone_is_used_as_given_without_a_hub_probe(captured, tmp_path):
    rc = reward_cli.reward_main(["--train", str(BUNDLED_DIR / "train.jsonl"), "--eval", str(BUNDLED_DIR / "test.jsonl"),
                                 "--out", str(tmp_path / "rm"), "--backbone", str(TINY_POLICY_DIR), "--quiet"])
    assert rc == 0 and captured[0]["backbone"].path == str(TINY_POLICY_DIR)


def test_a_backbone_that_is_nowhere_is_one_error_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr("rlhf_demo.data.sources.hub_reachable", lambda *a, **kw: False)
    rc = reward_cli.reward_main(["--train", str(BUNDLED_DIR / "train.jsonl"), "--out", str(tmp_path / "rm"),
                                 "--backbone", "no-such-org/no-such-model", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error:") and "no-such-org/no-such-model" in err[0]
    assert not (tmp_path / "rm").exists()  # nothing written


@pytest.mark.parametrize("out", ["file", "folder", "/proc/x"])
def test_out_must_be_a_new_writable_folder(captured, tmp_path, capsys, out):
    """`--out` is never overwritten, and an unwritable place is one error line, before any training."""
    if out == "file":
        target = tmp_path / "exists.txt"
        target.write_text("keep me")
    elif out == "folder":
        target = tmp_path / "old-model"
        target.mkdir()
        (target / "reward_meta.json").write_text("{}")
    else:
        target = out
    rc = reward_cli.reward_main(["--train", str(BUNDLED_DIR / "train.jsonl"), "--out", str(target), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: --out") and not captured
    if out == "file":
        assert target.read_text() == "keep me"
    if out == "folder":
        assert sorted(p.name for p in target.iterdir()) == ["reward_meta.json"]


def test_a_failed_run_leaves_no_folder(monkeypatch, tmp_path, capsys):
    """The model folder appears whole or not at all: a run that dies midway leaves neither --out nor a temporary."""

    def dies(cfg, train, evals, out, backbone, on_log=None, trained_on=None):
        (Path(out) / "adapter_model.safetensors").write_bytes(b"half")
        raise RuntimeError("killed")

    monkeypatch.setattr(reward_cli, "train_reward_model", dies)
    with pytest.raises(RuntimeError):
        reward_cli.reward_main(["--train", str(BUNDLED_DIR / "train.jsonl"), "--out", str(tmp_path / "rm"), "--quiet",
                                "--backbone", str(TINY_POLICY_DIR)])
    assert list(tmp_path.iterdir()) == []


def test_a_small_file_without_eval_holds_out_a_fifth_and_says_so(captured, tmp_path, capsys):
    """The bundled train file has 192 pairs: the default 400 held-out pairs used to take them all and crash with a
    traceback; now 20 % (at most --eval-pairs) are held out and the rest train."""
    rc = reward_cli.reward_main(["--train", str(BUNDLED_DIR / "train.jsonl"), "--out", str(tmp_path / "rm")])
    err = capsys.readouterr().err
    assert rc == 0, err
    n_file = sum(1 for line in (BUNDLED_DIR / "train.jsonl").open() if line.strip())
    call = captured[-1]
    assert call["n_eval"] == round(0.2 * n_file) and call["n_train"] + call["n_eval"] <= n_file
    assert f"held out {call['n_eval']} of the" in err and "for evaluation" in err
    from rlhf_demo.data.sources import LocalSource

    assert call["trained_on"]["source"] == LocalSource(BUNDLED_DIR / "train.jsonl").identity
    assert call["trained_on"]["n_pairs"] == call["n_train"]


def test_held_out_pairs_never_exceed_eval_pairs(captured, tmp_path):
    rc = reward_cli.reward_main(["--train", str(BUNDLED_DIR / "train.jsonl"), "--out", str(tmp_path / "rm"),
                                 "--eval-pairs", "10", "--quiet"])
    assert rc == 0 and captured[-1]["n_eval"] == 10


def test_too_few_pairs_left_is_one_error_line(captured, tmp_path, capsys):
    small = tmp_path / "small.jsonl"
    small.write_text("".join(line for line in list((BUNDLED_DIR / "train.jsonl").open())[:9]))
    rc = reward_cli.reward_main(["--train", str(small), "--out", str(tmp_path / "rm"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: Only 9 usable pairs") and not captured
    assert not (tmp_path / "rm").exists()


def test_the_command_draws_fewer_curve_points_than_the_tab_unless_asked(captured, tmp_path, capsys):
    """Headless, the curve has HEADLESS_EVAL_POINTS evaluations (each ~3-4 s on 2 cores: the shared sample's run
    came back under 300 s with 3); --eval-points sets it, 0 evaluates only before and after; a negative is refused."""
    from rlhf_demo.reward.config import RewardConfig

    args = ["--train", str(BUNDLED_DIR / "train.jsonl"), "--eval", str(BUNDLED_DIR / "test.jsonl"), "--quiet"]
    assert reward_cli.reward_main([*args, "--out", str(tmp_path / "a")]) == 0
    assert captured[-1]["cfg"].eval_points == reward_cli.HEADLESS_EVAL_POINTS < RewardConfig().eval_points
    assert reward_cli.reward_main([*args, "--out", str(tmp_path / "b"), "--eval-points", "0"]) == 0
    assert captured[-1]["cfg"].eval_points == 0
    assert reward_cli.reward_main([*args, "--out", str(tmp_path / "c"), "--eval-points", "-1"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error:")
