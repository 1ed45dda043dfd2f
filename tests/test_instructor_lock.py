"""The instructor lock over the API: with a key set, an anonymous client cannot change any job, setting or model,
and the instructor (passing the key) can script the whole lesson. Without a key the app is a local single-user app."""

from __future__ import annotations

import time
import urllib.request

import pytest
from gradio_client import Client

from .conftest import serve

KEY = "heron-kettle-77"

# every locked endpoint with arguments that would change something if the lock let them through
LOCKED = {
    "/reward_train": dict(n_pairs=20, epochs="1"),
    "/reward_stop": {},
    "/model_activate": dict(name="rm-anything"),
    "/ppo_start": dict(steps=1),
    "/ppo_pause": {},
    "/ppo_stop": {},
    "/ppo_reset": {},
    "/ppo_resume": {},
    "/ppo_discard": {},
    "/ppo_settings": dict(kl_coef=0.3),
    "/ppo_hack": {},
    "/checkpoint_save": dict(name="sneaky"),
    "/calibration_start": dict(k=3),
    "/votes_reset": {},
    "/gold_set": dict(name=""),
    "/dpo_train": dict(steps=1),
    "/frontier_start": dict(best_of="1", prompts=4),
    "/gold_proxy_start": dict(n_labels=50),
    "/export_bundle": {},
}


@pytest.fixture(scope="module")
def locked(tmp_path_factory, tiny_bert):
    from rlhf_demo.instructor import key_digest
    from rlhf_demo.settings import Settings

    url, ws, demo = serve(Settings(offline=True, policy="tiny", reward_backbone=tiny_bert, allow_any_model=True,
                                   instructor_key_sha256=key_digest(KEY), data_dir=tmp_path_factory.mktemp("rlhf_data_lock_api")))
    yield url, ws, Client(url, verbose=False, analytics_enabled=False, download_files=False)
    demo.close()


def shared_state(ws) -> tuple:
    """Everything a locked action could change."""
    return (ws.jobs.snapshot().id, ws.ppo.run.view().config, ws.ppo.run.version, ws.reward.models.active,
            [m["name"] for m in ws.reward.models.list()], [c["name"] for c in ws.ppo.run.view().checkpoints],
            ws.votes.count(), getattr(ws, "calibration", None) and ws.calibration.active(),
            (ws.root / "gold.json").exists() and (ws.root / "gold.json").read_text(), [a["name"] for a in ws.dpo.adapters()], ws.frontier.last())


def wait_idle(ws, kind: str, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while ws.jobs.snapshot(kind).active:
        assert time.time() < deadline, f"{kind} job still running"
        time.sleep(0.5)


def test_every_locked_action_is_a_named_endpoint(locked):
    _, _, client = locked
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert set(LOCKED) <= names, set(LOCKED) - names


@pytest.mark.parametrize("key", ["", "wrong-key", KEY + " x", None])
def test_anonymous_or_wrong_key_changes_nothing(locked, key):
    _, ws, client = locked
    before = shared_state(ws)
    try:
        for endpoint, kwargs in LOCKED.items():  # after 5 wrong keys the refusal says to wait (still "Instructor only")
            with pytest.raises(Exception, match="Instructor only"):
                client.predict(key, api_name=endpoint, **kwargs)
        assert shared_state(ws) == before
    finally:  # the guesses throttle this client's session and address (tests/test_hardening_api.py): start afresh
        ws.instructor.sessions.clear()
        ws.instructor.addresses.clear()


def test_open_endpoints_stay_open(locked):
    _, _, client = locked
    status = client.predict(api_name="/ppo_status")
    assert status["state"] == "idle" and "kl_coef" in status["settings"]
    assert client.predict(api_name="/leaderboard")["votes"] >= 0
    r = client.predict("How do I keep basil fresh?", api_name="/arena_round")
    assert client.predict(r["round_id"], "A", "", api_name="/arena_vote")["outcome"] == "A"


def test_the_instructor_scripts_a_lesson(locked):
    """Train a reward model, make it active, set beta, run a PPO step, save a checkpoint: all over the API."""
    _, ws, client = locked
    out = client.predict(KEY, api_name="/reward_train", n_pairs=20, epochs="1", max_length=96)  # tiny BERT: 128 positions
    assert out
    wait_idle(ws, "reward")
    assert ws.jobs.snapshot("reward").state == "done", ws.jobs.snapshot("reward").error
    saved = ws.reward.models.list()[-1]
    name = saved["name"]
    # it records what it learned from (the Reward tab and Browse show it; the header compares it with the data)
    assert saved["trained_on"]["source"] == ws.data.source.identity and saved["trained_on"]["n_pairs"] == 20
    assert client.predict(KEY, name, api_name="/model_activate")
    assert ws.reward.models.active == name
    settings = client.predict(KEY, api_name="/ppo_settings", kl_coef=0.3, response_length=16)
    assert settings["kl_coef"] == 0.3 and ws.ppo.run.config.response_length == 16
    assert client.predict(api_name="/ppo_status")["settings"]["kl_coef"] == 0.3  # what every page polls
    with pytest.raises(Exception, match="kl_coef"):  # a bad value is named, and nothing changes
        client.predict(KEY, api_name="/ppo_settings", kl_coef=-1)
    with pytest.raises(Exception, match="kl_coef must be a number"):
        client.predict(KEY, api_name="/ppo_settings", kl_coef="lots")
    with pytest.raises(Exception, match="Steps to run must be between 1 and 1,000"):
        client.predict(KEY, api_name="/ppo_start", steps=0)
    assert ws.ppo.run.config.kl_coef == 0.3
    client.predict(KEY, api_name="/ppo_start", steps=1)
    wait_idle(ws, "ppo")
    assert ws.ppo.run.view().step == 1
    saved = client.predict(KEY, api_name="/checkpoint_save", name="lesson-1")
    assert saved["name"] == "lesson-1" and "lesson-1" in ws.contestants
    client.predict(KEY, api_name="/ppo_reset")
    assert ws.ppo.run.view().step == 0


def test_the_key_never_leaks(locked):
    url, ws, _ = locked
    for path in ("", "config", "gradio_api/info"):
        with urllib.request.urlopen(url + path, timeout=30) as r:
            assert KEY not in r.read().decode("utf-8", "replace"), path
    assert KEY not in repr(ws.settings) and KEY not in repr(ws.instructor) and KEY not in str(ws.describe())


def test_without_a_key_the_app_is_single_user(bundled_app):
    url, ws = bundled_app
    client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
    before = ws.ppo.run.config.temperature
    try:
        assert client.predict("", api_name="/ppo_settings", temperature=0.8)["temperature"] == 0.8
    finally:
        ws.ppo.run.set_live(temperature=before)
