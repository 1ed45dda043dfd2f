"""Kill -9 at the worst moments, then restart: nothing acknowledged is lost, nothing half-written is used.

The app's backend runs in a real process (tests/kill_driver.py: a Workspace on a data dir, tiny policy, tiny reward
backbone) that votes all the time and is killed with SIGKILL while it trains a reward model, runs PPO, or saves
checkpoints. The headless `reward` and `ppo` commands are killed the same way. After each kill a new Workspace on
the same data dir (a restart) must find: every acknowledged vote; the active reward model loading and scoring as
before; exactly the complete checkpoints, each loadable and each an arena contestant; the PPO run to resume.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rlhf_demo.paths import BUNDLED_DIR
from rlhf_demo.settings import Settings
from rlhf_demo.workspace import Workspace
from tests.kill_driver import PROBE_PAIRS

DRIVER = Path(__file__).with_name("kill_driver.py")
REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1")


@pytest.fixture(scope="module")
def prepared_once(tmp_path_factory, tiny_bert):
    """A data dir with an active reward model and one checkpoint, and the reward model's scores on fixed pairs."""
    data = tmp_path_factory.mktemp("prepared") / "data"
    p = subprocess.run([sys.executable, str(DRIVER), "prepare", str(data), tiny_bert], env=ENV, cwd=REPO,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return data, tiny_bert, json.loads(p.stdout.strip().splitlines()[-1])["scores"]


@pytest.fixture
def prepared(prepared_once, tmp_path):
    """A fresh copy of the prepared data dir for one test."""
    import shutil

    data, backbone, scores = prepared_once
    shutil.copytree(data, tmp_path / "data")
    return tmp_path / "data", backbone, scores


def run_and_kill(args: list[str], wait_for: str, extra_seconds: float, timeout: float = 240,
                 stream: str = "stdout") -> list[str]:
    """Start a process, wait for a line of `stream` that starts with `wait_for` (and `extra_seconds` more), SIGKILL
    it; return its stdout lines (read by a thread until the pipe closes, so every line printed before the kill)."""
    proc = subprocess.Popen(args, env=ENV, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: dict[str, list[str]] = {"stdout": [], "stderr": []}
    seen = threading.Event()

    def pump(name: str, pipe) -> None:
        for line in pipe:
            lines[name].append(line.strip())
            if name == stream and line.strip().startswith(wait_for):
                seen.set()

    readers = [threading.Thread(target=pump, args=(n, getattr(proc, n)), daemon=True) for n in ("stdout", "stderr")]
    for r in readers:
        r.start()
    try:
        deadline = time.monotonic() + timeout
        while not seen.wait(0.1):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {wait_for!r} (exit {proc.poll()}): {lines['stderr'][-20:]}")
        time.sleep(extra_seconds)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    for r in readers:
        r.join(timeout=10)
    assert proc.returncode == -signal.SIGKILL, lines["stderr"][-30:]
    return lines["stdout"]


def check_restart(data: Path, backbone: str, scores: list[float], acked: list[str]) -> Workspace:
    """What a restart must find (see the module docstring)."""
    ws = Workspace(Settings(offline=True, policy="tiny", reward_backbone=backbone, data_dir=data, device="cpu"))
    # every acknowledged vote is there
    stored = {v.round_id for v in ws.votes.votes()}
    assert acked and set(acked) <= stored, f"{len(set(acked) - stored)} acknowledged votes lost"
    # the active reward model loads and scores as before
    assert ws.reward.models.active == "rm-first"
    rc, rr = ws.reward.models.active_model().score_pairs(PROBE_PAIRS)
    assert rc.tolist() + rr.tolist() == pytest.approx(scores, abs=1e-5)
    assert all(m["name"].startswith("rm-") for m in ws.reward.models.list())  # complete ones only
    # exactly the complete checkpoints are listed; each loads; each is a contestant
    on_disk = [d for d in (data / "ppo_checkpoints").iterdir() if not d.name.startswith(".")]
    complete = sorted(d.name for d in on_disk if (d / "ppo_state.json").is_file())
    assert sorted(c["name"] for c in ws.ppo.run.checkpoints()) == complete and "first" in complete
    assert not [d for d in (data / "ppo_checkpoints").iterdir() if d.name.startswith(".tmp-")]  # swept
    ws.ppo.run.use_reward(ws.reward.active)  # what Start does: the run belongs to the active reward model
    engine = ws.ppo.run.engine()
    for c in ws.ppo.run.checkpoints():
        engine.load(c["path"])
        assert engine.step_count == c["step"]
    names = {c.name for c in ws.contestants.list()}
    assert set(complete) <= names
    return ws


def acked_votes(lines: list[str]) -> list[str]:
    return [line.split()[1] for line in lines if line.startswith("ACK ")]


@pytest.mark.parametrize("scenario, seconds", [("reward", 4.0), ("ppo", 3.0), ("save", 1.5)])
def test_kill_the_app_mid_work_then_restart(prepared, scenario, seconds):
    data, backbone, scores = prepared
    lines = run_and_kill([sys.executable, str(DRIVER), scenario, str(data), backbone], "BUSY", seconds)
    ws = check_restart(data, backbone, scores, acked_votes(lines))
    if scenario == "ppo":
        assert ws.ppo.run.resumable is not None and ws.ppo.run.resumable["step"] >= 1  # the PPO tab offers to resume
        ws.ppo.run.resume()
        assert ws.ppo.run.view().history and ws.ppo.run.engine().step_count == ws.ppo.run.view().step
    if scenario == "reward":
        assert not (data / "reward_models" / "rm-second").exists()  # the killed training left nothing listed


def test_kill_the_headless_commands_leaves_no_half_written_folder(prepared, tmp_path):
    data, backbone, _ = prepared
    rm_out, ppo_out = tmp_path / "rm-cli", tmp_path / "ppo-cli"
    run_and_kill([sys.executable, "-m", "rlhf_demo", "reward", "--train", str(BUNDLED_DIR / "train.jsonl"), "--out",
                  str(rm_out), "--backbone", backbone, "--epochs", "100", "--max-length", "48", "--eval-pairs", "32"], "[reward] step=", 1.0,
                 stream="stderr")  # killed while training
    assert not rm_out.exists() and len(list(tmp_path.glob(".tmp-rm-cli-*"))) == 1  # only its temporary folder
    run_and_kill([sys.executable, "-m", "rlhf_demo", "ppo", "--reward", str(data / "reward_models" / "rm-first"),
                  "--steps", "100000", "--out", str(ppo_out), "--policy", "tiny", "--batch-size", "4",
                  "--response-length", "8"], "step 2:", 0.5, stream="stderr")  # killed between steps
    assert not ppo_out.exists()
    # a rerun after the kill works: the folder name is free, the leftovers do not get in the way
    p = subprocess.run([sys.executable, "-m", "rlhf_demo", "ppo", "--reward", str(data / "reward_models" / "rm-first"),
                        "--steps", "1", "--out", str(ppo_out), "--policy", "tiny", "--batch-size", "4",
                        "--response-length", "8", "--quiet"], env=ENV, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert (ppo_out / "ppo_state.json").is_file() and (ppo_out / "metrics.jsonl").is_file()
    p = subprocess.run([sys.executable, "-m", "rlhf_demo", "reward", "--train", str(BUNDLED_DIR / "train.jsonl"), "--out",
                        str(rm_out), "--backbone", backbone, "--epochs", "1", "--max-length", "48", "--eval-pairs", "32", "--quiet"],
                       env=ENV, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert (rm_out / "reward_meta.json").is_file() and not list(tmp_path.glob(".tmp-rm-cli-*"))  # leftover swept
