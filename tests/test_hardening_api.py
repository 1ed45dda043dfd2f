"""Issue 21, items 4, 8 and 9, each reproduced over the API against a real app (tiny policy, tiny BERT reward model):
resuming and discarding a saved PPO run, vote hygiene that names and bursts cannot get round, throttled key guesses,
echoed values cut short, the key kept only as a digest, and no server path in /data_sources."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import shutil
import time
import urllib.request

import pytest
from gradio_client import Client

from .conftest import serve

KEY = "quartz-meadow-31"


def client(url: str) -> Client:
    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def wait_idle(ws, kind: str, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while ws.jobs.snapshot(kind).active:
        assert time.time() < deadline, f"{kind} job still running"
        time.sleep(0.3)


def settings(data_dir, tiny_bert):
    from rlhf_demo.instructor import key_digest
    from rlhf_demo.settings import Settings

    return Settings(offline=True, policy="tiny", reward_backbone=tiny_bert, allow_any_model=True,
                    instructor_key_sha256=key_digest(KEY), data_dir=data_dir)


@pytest.fixture(scope="module")
def restarted(tmp_path_factory, tiny_bert):
    """An app that trained a reward model and ran 2 PPO steps, then "restarted": a new app on a copy of what it wrote
    (its reward models and its autosaved run). Yields (url, workspace, a client)."""
    first_dir, second_dir = tmp_path_factory.mktemp("rlhf_first"), tmp_path_factory.mktemp("rlhf_restarted")
    url, ws, demo = serve(settings(first_dir, tiny_bert))
    try:
        c = client(url)
        c.predict(KEY, api_name="/reward_train", n_pairs=20, epochs="1", max_length=96)
        wait_idle(ws, "reward")
        assert ws.jobs.snapshot("reward").state == "done", ws.jobs.snapshot("reward").error
        c.predict(KEY, ws.reward.models.list()[-1]["name"], api_name="/model_activate")
        c.predict(KEY, api_name="/ppo_settings", response_length=8)
        c.predict(KEY, api_name="/ppo_start", steps=2)
        wait_idle(ws, "ppo")
        assert ws.ppo.run.view().step == 2, ws.jobs.snapshot("ppo").error
    finally:
        demo.close()
    for sub in ("reward_models", "ppo_autosave"):  # what a restart finds on disk
        shutil.copytree(first_dir / sub, second_dir / sub)
    url, ws, demo = serve(settings(second_dir, tiny_bert))
    yield url, ws, client(url)
    demo.close()


def autosaved_steps(ws) -> list[int]:
    folder = ws.settings.data_dir / "ppo_autosave"
    return sorted(int(d.name.split("step")[1].split("-")[0]) for d in folder.iterdir() if not d.name.startswith("."))


# ------------------------------------------------------------------------------------------ 4. resume over the API


def test_a_restart_keeps_the_interrupted_run_until_it_is_resumed_or_discarded(restarted):
    """Before: no /ppo_resume, /ppo_status silent about the saved run, and /ppo_start's first autosave deleted it."""
    _, ws, c = restarted
    status = c.predict(api_name="/ppo_status")
    assert status["step"] == 0 and status["resumable"]["step"] == 2
    for endpoint in ("/ppo_resume", "/ppo_discard"):  # both locked
        with pytest.raises(Exception, match="Instructor only"):
            c.predict("", api_name=endpoint)

    c.predict(KEY, api_name="/ppo_start", steps=1)  # a new run from the base policy...
    wait_idle(ws, "ppo")
    status = c.predict(api_name="/ppo_status")
    assert status["step"] == 1 and status["resumable"]["step"] == 2  # ...keeps the interrupted one
    # every page reads what the run did: the steps it was asked for, and the held-out verdict (step 0 vs step 1)
    assert status["steps_to_run"] == 1
    verdict = status["verdict"]
    assert verdict["steps"] == 1 and verdict["verdict"] in ("gain", "no clear gain", "worse")
    assert verdict["sentence"].startswith(f"After 1 step the held-out score moved by {verdict['moved']:+.2f} σ")
    assert autosaved_steps(ws) == [1, 2]

    assert c.predict(KEY, api_name="/ppo_resume")["step"] == 2
    status = c.predict(api_name="/ppo_status")
    assert status["step"] == 2 and len(ws.ppo.run.view().history) == 2
    assert status["resumable"]["step"] == 1  # the run set aside by the resume is kept in its turn
    c.predict(KEY, api_name="/ppo_start", steps=1)  # the resumed run trains on from its step
    wait_idle(ws, "ppo")
    assert c.predict(api_name="/ppo_status")["step"] == 3
    assert autosaved_steps(ws) == [1, 3]  # its own older save replaced, the other run's kept

    out = c.predict(KEY, api_name="/ppo_discard")
    assert out["discarded_step"] == 1 and out["resumable"] is None
    assert c.predict(api_name="/ppo_status")["resumable"] is None and autosaved_steps(ws) == [3]
    with pytest.raises(Exception, match="no saved run"):
        c.predict(KEY, api_name="/ppo_discard")


# ------------------------------------------------------------------------------------------ 8. vote hygiene


def leaderboard_report(c) -> dict:
    return c.predict(api_name="/leaderboard")["filtered"]


def test_one_session_voting_under_many_names_is_one_voter(restarted):
    """Before: with a cap of 3 an hour, one session voting as bot-0 ... bot-5 got 6 votes counted."""
    _, ws, admin = restarted
    admin.predict(KEY, 3, 0, False, api_name="/vote_filters")
    bot = client(restarted[0])
    before = leaderboard_report(bot)
    for i in range(6):
        r = bot.predict("Name a fruit.", api_name="/arena_round")
        bot.predict(r["round_id"], "A", f"bot-{i}", api_name="/arena_vote")
    after = leaderboard_report(bot)
    assert after["counted"] - before["counted"] == 3 and after["over_cap"] - before["over_cap"] == 3


def test_a_burst_of_votes_on_rounds_asked_for_together_counts_once(restarted):
    """Before: 12 rounds made, one wait of 2.1 s, then 12 votes in 3.4 s: 0 too_fast, all 12 counted."""
    url, ws, admin = restarted
    admin.predict(KEY, 0, 2.0, False, api_name="/vote_filters")
    bot = client(url)
    rounds = [bot.predict("", api_name="/arena_round")["round_id"] for _ in range(12)]
    before = leaderboard_report(bot)
    time.sleep(2.1)
    t0 = time.perf_counter()
    for rid in rounds:
        bot.predict(rid, "B", "", api_name="/arena_vote")
    assert time.perf_counter() - t0 < 2.0 * 11  # a burst: faster than 2 s per vote
    after = leaderboard_report(bot)
    assert after["too_fast"] - before["too_fast"] == 11 and after["counted"] - before["counted"] == 1
    admin.predict(KEY, 60, 2.0, False, api_name="/vote_filters")


def test_the_vote_tab_says_what_the_filters_can_and_cannot_stop(restarted):
    from rlhf_demo.arena.hygiene import LIMITS_TEXT

    url, _, _ = restarted
    with urllib.request.urlopen(url + "config", timeout=30) as r:
        page = r.read().decode("utf-8")
    assert "What the filters can stop" in LIMITS_TEXT and "What they cannot stop" in LIMITS_TEXT
    assert "What they cannot stop" in page and "new session for every vote" in page


# ------------------------------------------------------------------------------------------ 9. smaller ones


def test_key_guesses_are_throttled_per_session_and_address_and_logged_in_one_line(restarted, caplog, capfd):
    """Before: 200 wrong keys in 20.6 s, each writing a full traceback to the log."""
    url, ws, _ = restarted
    instructor = client(url)
    assert instructor.predict(KEY, api_name="/ppo_settings")  # this session gave the right key
    capfd.readouterr()
    caplog.set_level(logging.WARNING, logger="rlhf_demo.instructor")
    guesser = client(url)
    try:
        for i in range(5):  # the first few wrong keys are only refused
            with pytest.raises(Exception, match="Instructor only: this changes"):
                guesser.predict(f"guess-{i}", api_name="/ppo_settings")
        t0 = time.perf_counter()
        for i in range(5):  # then every attempt waits, unread: even the right key
            with pytest.raises(Exception, match="too many wrong instructor keys.*Try again in"):
                guesser.predict(KEY if i == 4 else f"guess-{i + 5}", api_name="/ppo_settings")
        assert time.perf_counter() - t0 < 10  # refused at once, not slowed down by sleeping handlers

        # the same address, new sessions each time (a script opening a client per guess): 20 wrong keys in all
        for i in range(15):
            with pytest.raises(Exception, match="Instructor only"):
                client(url).predict(f"other-{i}", api_name="/ppo_settings")
        with pytest.raises(Exception, match="too many wrong instructor keys"):
            client(url).predict(KEY, api_name="/ppo_settings")  # a new session behind that address must wait
        assert instructor.predict(KEY, api_name="/ppo_settings")  # the session that proved the key is never locked out

        lines = [r for r in caplog.records if r.name == "rlhf_demo.instructor"]
        assert len(lines) >= 26 and all("\n" not in r.getMessage() for r in lines)
        assert all(KEY not in r.getMessage() and "guess-" not in r.getMessage() for r in lines)
        err = capfd.readouterr().err
        assert "Traceback" not in err, err[-2000:]
    finally:
        ws.instructor.sessions.clear()
        ws.instructor.addresses.clear()


def test_echoed_values_are_cut_short(restarted):
    """Before: /gold_set echoed a 1 MB name into a 1,000,123-character error."""
    _, _, c = restarted
    with pytest.raises(Exception) as e:
        c.predict(KEY, "x" * 1_000_000, api_name="/gold_set")
    assert "1,000,000 characters" in str(e.value) and len(str(e.value)) < 1000
    from rlhf_demo.settings import shorten

    assert shorten("y" * 500) == repr("y" * 60) + "… (500 characters)" and shorten("ok") == "'ok'"


def test_the_key_is_kept_only_as_a_digest(restarted):
    """Before: Settings.instructor_key held the key in plain text (the README says only a digest is kept)."""
    from rlhf_demo.serve import serve_parser, settings_from
    from rlhf_demo.settings import Settings

    _, ws, _ = restarted
    assert "instructor_key" not in {f.name for f in dataclasses.fields(Settings)}
    assert ws.settings.instructor_key_sha256 == hashlib.sha256(KEY.encode()).hexdigest()
    s = settings_from(serve_parser().parse_args(["--offline", "--instructor-key", f" {KEY} "]))
    assert s.instructor_key_sha256 == ws.settings.instructor_key_sha256
    held = [str(v) for obj in (s, ws.settings, ws.instructor) for v in vars(obj).values()]
    assert not any(KEY in v for v in held)


def test_data_sources_does_not_show_the_data_dir(restarted):
    """Before: /data_sources returned data_dir, the server's path."""
    _, ws, c = restarted
    out = c.predict(api_name="/data_sources")
    assert "data_dir" not in out and str(ws.settings.data_dir) not in str(out)
    assert out["policy"] and out["subsets"]
