"""A real app backend in its own process, for the kill tests (tests/test_kill.py): it does one kind of work until it
is killed with SIGKILL, printing a line for everything it has acknowledged.

    python tests/kill_driver.py SCENARIO DATA_DIR REWARD_BACKBONE

SCENARIO: prepare (train a reward model, save one checkpoint, print its scores as JSON, exit) | reward (train
another reward model, forever) | ppo (run PPO with autosave after every step) | save (save checkpoints in a loop).
Every scenario but prepare also votes in a second thread and prints "ACK <round id>" once a vote is stored, and
prints "BUSY" once the work it will be killed in has begun. The tiny policy and a tiny reward backbone keep it fast.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from rlhf_demo.data.pairs import pairs_from_set  # noqa: E402
from rlhf_demo.data.sources import BundledSource  # noqa: E402
from rlhf_demo.reward.config import RewardConfig  # noqa: E402
from rlhf_demo.settings import Settings  # noqa: E402
from rlhf_demo.workspace import Workspace  # noqa: E402

PROBE_PAIRS = [("\n\nHuman: How do I boil an egg?\n\nAssistant:", "Boil it for nine minutes.", "No idea."),
               ("\n\nHuman: Can you help me?\n\nAssistant:", "Of course, what do you need?", "Go away.")]


class Ctx:
    """A job context that never stops: only the kill ends the work."""

    def check(self):
        pass

    def update(self, **kw):
        pass

    def append(self, *a, **kw):
        pass

    def should_stop(self):
        return False


def say(line: str) -> None:
    print(line, flush=True)


def vote_forever(ws: Workspace, first: threading.Event) -> None:
    i = 0
    while True:
        rnd = ws.arena.new_round(None, voter_id="killtest", seed=i)
        ws.arena.vote(rnd.round_id, "AB"[i % 2], voter_id="killtest")
        say(f"ACK {rnd.round_id}")  # printed only after the vote call returned: the vote was acknowledged
        first.set()
        i += 1


def reward_config(backbone: str, epochs: float) -> RewardConfig:
    return RewardConfig(backbone=backbone, max_length=48, lora_r=4, lora_alpha=8, learning_rate=3e-3,
                        num_train_epochs=epochs, per_device_train_batch_size=16, eval_pairs=16, logging_steps=1)


def main() -> None:
    scenario, data_dir, backbone = sys.argv[1:4]
    ws = Workspace(Settings(offline=True, policy="tiny", reward_backbone=backbone, data_dir=data_dir, device="cpu"))
    ws.ppo.run.autosave_seconds = 0.0  # autosave after every step: a kill always finds a recent one
    pairs = pairs_from_set(BundledSource().load("bundled", "train"))
    if scenario == "prepare":
        ws.reward.models.train(reward_config(backbone, 1), pairs[:96], pairs[96:112], ws.reward.backbones.resolve(), name="rm-first")
        ws.ppo.run.set_live(batch_size=4, response_length=8)
        ws.ppo.run.use_reward(ws.reward.active)
        ws.ppo.run.train(Ctx(), 1)
        ws.ppo.run.save_checkpoint("first")
        rc, rr = ws.reward.models.active_model().score_pairs(PROBE_PAIRS)
        say(json.dumps({"scores": rc.tolist() + rr.tolist()}))
        return
    voting = threading.Event()
    threading.Thread(target=vote_forever, args=(ws, voting), daemon=True).start()
    voting.wait(120)  # the votes are flowing before the work that will be killed begins
    if scenario == "reward":
        say("BUSY")
        ws.reward.models.train(reward_config(backbone, 100), pairs, pairs[:16], ws.reward.backbones.resolve(), name="rm-second",
                               on_log=lambda row: None)
    elif scenario == "ppo":
        ws.ppo.run.set_live(batch_size=4, response_length=8)
        ws.ppo.run.use_reward(ws.reward.active)
        ws.ppo.run.engine()
        say("BUSY")
        ws.ppo.run.train(Ctx(), 100_000)
    elif scenario == "save":
        ws.ppo.run.set_live(batch_size=4, response_length=8)
        ws.ppo.run.use_reward(ws.reward.active)
        ws.ppo.run.train(Ctx(), 1)
        say("BUSY")
        while True:
            ws.ppo.run.save_checkpoint()
    time.sleep(3600)


if __name__ == "__main__":
    main()
