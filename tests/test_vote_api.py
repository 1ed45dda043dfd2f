"""The arena over the Gradio API, as a classroom bot or a load test drives it."""

from __future__ import annotations

import json
import threading
import time

import pytest
from gradio_client import Client

from rlhf_demo.arena.generator import EMPTY_REPLY
from rlhf_demo.data.prompts import arena_prompts
from rlhf_demo.data.hh import STOP_STRINGS
from rlhf_demo.models.generation import CHAT_MARKERS


@pytest.fixture(scope="module")
def client(app_server):
    url, _ = app_server
    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def test_round_vote_and_leaderboard(client, app_server):
    _, ws = app_server
    before = ws.votes.count()
    r = client.predict("How do I keep basil fresh?", api_name="/arena_round")
    assert set(r) >= {"round_id", "reply_a", "reply_b", "prompt", "cut_a", "cut_b"}
    assert r["prompt"] == "\n\nHuman: How do I keep basil fresh?\n\nAssistant:"
    for reply in (r["reply_a"], r["reply_b"]):  # a real, cleaned reply: not the placeholder, no next turn in it
        assert reply != EMPTY_REPLY and reply == reply.strip(), reply
        assert not any(m in reply for m in STOP_STRINGS + CHAT_MARKERS), reply
    stored = ws.votes.get_round(r["round_id"])  # what the voter reads is what is stored for the round
    assert (stored.prompt, stored.reply_a, stored.reply_b) == (r["prompt"], r["reply_a"], r["reply_b"])
    assert "model_a" not in r and "base-t" not in str(r)  # names stay hidden until the vote
    time.sleep(2.1)  # a voter reads both replies first: faster votes do not count (the default vote filters)
    v = client.predict(r["round_id"], "A", "Ada", api_name="/arena_vote")
    assert v["winner"] == v["model_a"] and v["model_a"] != v["model_b"]
    assert ws.votes.count() == before + 1
    rec = ws.votes.votes()[-1]
    assert (rec.voter_name, rec.outcome, rec.reply_a) == ("Ada", "A", r["reply_a"])
    board = client.predict(api_name="/leaderboard")
    assert board["votes"] == before + 1
    assert board["counted"] == before + 1 - board["filtered"]["filtered"]
    names = {row["contestant"] for row in board["rows"]}
    assert {v["model_a"], v["model_b"]} <= names


def test_round_with_a_prompt_drawn_from_the_data(client, app_server):
    _, ws = app_server
    r = client.predict("", api_name="/arena_round")
    assert r["prompt"] in set(arena_prompts(ws.data.source))


def test_bad_votes_are_refused_clearly(client):
    r = client.predict("Name a fruit.", api_name="/arena_round")
    with pytest.raises(Exception, match="must be one of A, B, tie, both_bad"):
        client.predict(r["round_id"], "C", "", api_name="/arena_vote")
    client.predict(r["round_id"], "tie", "", api_name="/arena_vote")
    with pytest.raises(Exception, match="(?i)already"):
        client.predict(r["round_id"], "B", "", api_name="/arena_vote")
    with pytest.raises(Exception, match="(?i)unknown"):
        client.predict("not-a-round", "A", "", api_name="/arena_vote")
    with pytest.raises(Exception, match="(?i)empty"):
        client.predict("   ", api_name="/arena_round")
    with pytest.raises(Exception, match="(?i)too long"):
        client.predict("x" * 5000, api_name="/arena_round")


def test_concurrent_voters_lose_nothing(app_server):
    url, ws = app_server
    before = ws.votes.count()
    errors = []

    def bot(i):
        try:
            c = Client(url, verbose=False, analytics_enabled=False, download_files=False)
            for _ in range(3):
                r = c.predict("", api_name="/arena_round")
                c.predict(r["round_id"], "B", f"bot{i}", api_name="/arena_vote")
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=bot, args=(i,)) for i in range(6)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    assert ws.votes.count() == before + 18


# ------------------------------------------------------------------------------------------ instructor actions, calibration

KEY = "sesame-42"


@pytest.fixture(scope="module")
def keyed_app(tmp_path_factory, sample_path):
    """The real app with an instructor key (tiny policy, the real sample): yields (url, workspace)."""
    from rlhf_demo.instructor import key_digest
    from rlhf_demo.settings import Settings

    from .conftest import serve

    url, ws, demo = serve(Settings(data=str(sample_path), offline=True, policy="tiny", instructor_key_sha256=key_digest(KEY),
                                   data_dir=tmp_path_factory.mktemp("rlhf_data_keyed")))
    yield url, ws
    demo.close()


def keyed_client(url):
    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def test_instructor_actions_need_the_key_and_change_nothing_without_it(keyed_app):
    url, ws = keyed_app
    c = keyed_client(url)
    sets, filters = ws.calibration.count_sets(), ws.standings.filters
    r = ws.votes.add_round("\n\nHuman: hi\n\nAssistant:", "m1", "m2", "x", "y", "v")
    ws.votes.add_vote(r.round_id, "A", "v")
    for args, api in [(("", 4), "/calibration_start"), (("wrong", 4), "/calibration_start"),
                      (("nope",), "/calibration_end"), (("nope",), "/votes_reset"),
                      (("nope", 5, 0.0, False), "/vote_filters")]:
        with pytest.raises(Exception, match="Instructor only"):
            c.predict(*args, api_name=api)
    assert ws.calibration.count_sets() == sets and ws.calibration.active() is None
    assert ws.standings.filters == filters and ws.votes.count() == 1
    assert not ((ws.root / "vote_filters.json")).exists()


def test_vote_filters_and_reset_with_the_key(keyed_app):
    url, ws = keyed_app
    c = keyed_client(url)
    before = ws.votes.count()
    for i in range(3):  # cast at once after the round is stored: faster than anyone reads
        r = ws.votes.add_round("\n\nHuman: hi\n\nAssistant:", "m1", "m2", "x", "y", "v")
        ws.votes.add_vote(r.round_id, "B", f"fast{i}")
    board = c.predict(api_name="/leaderboard")
    assert board["votes"] == before + 3 and board["filtered"]["too_fast"] >= 3
    assert board["counted"] == board["votes"] - board["filtered"]["filtered"]
    out = c.predict(KEY, 60, 0, False, api_name="/vote_filters")
    assert out["filters"]["min_seconds"] == 0 and out["report"]["counted"] == before + 3
    assert json.loads((ws.root / "vote_filters.json").read_text())["min_seconds"] == 0  # saved for the next start
    assert c.predict(api_name="/leaderboard")["counted"] == before + 3
    for bad, match in [((KEY, -1, 0, False), "cap_per_hour"), ((KEY, 5, "soon", False), "min_seconds"),
                       ((KEY, 5, "nan", False), "min_seconds"),
                       ((KEY, 5, 1e9, False), "min_seconds"), ((KEY, 5, 0, "yes"), "outliers")]:
        with pytest.raises(Exception, match=match):
            c.predict(*bad, api_name="/vote_filters")
    res = c.predict(KEY, api_name="/votes_reset")
    assert res["archived"] == before + 3 and "nothing is deleted" in res["message"]
    assert ws.votes.count() == 0 and ws.votes.count(include_archived=True) == before + 3
    assert c.predict(api_name="/leaderboard") == {"votes": 0, "counted": 0, "rows": [], "before_after": None,
                                                   "filtered": c.predict(api_name="/leaderboard")["filtered"]}


def test_calibration_over_the_api(keyed_app):
    from rlhf_demo.arena.calibration import calibration_stats

    url, ws = keyed_app
    assert keyed_client(url).predict(api_name="/calibration_status") == {"active": False}
    started = keyed_client(url).predict(KEY, 4, api_name="/calibration_start")
    assert started["k"] == 4 and all(set(it) == {"prompt", "reply_a", "reply_b"} for it in started["items"])
    verdicts = {"ann": "ABAB", "ben": "ABBB", "cid": "AAAB"}
    for name, vs in verdicts.items():
        c = keyed_client(url)  # one browser session each
        for i, v in enumerate(vs):
            out = c.predict(i, v, name, api_name="/calibration_vote")
            assert (out["item"], out["judged"], out["k"]) == (i, i + 1, 4)
    with pytest.raises(Exception, match="already judged item 1"):
        c.predict(0, "B", "cid", api_name="/calibration_vote")
    with pytest.raises(Exception, match="must be one of A, B, tie"):
        c.predict(1, "both_bad", "dan", api_name="/calibration_vote")
    with pytest.raises(Exception, match="item"):
        c.predict(4, "A", "dan", api_name="/calibration_vote")
    st = keyed_client(url).predict(api_name="/calibration_status")
    cal = ws.calibration.active()
    want = calibration_stats(cal, ws.calibration.judgements(cal.set_id))
    assert (st["voters"], st["finished_voters"], st["judgements"]) == (3, 3, 12)
    for k in ("percent_agreement", "cohen_kappa_mean", "fleiss_kappa", "label_agreement"):
        assert st[k] == pytest.approx(want[k])
    assert "chosen" not in str(st["items"])  # the hh-rlhf label stays hidden
    # a new set ends the old one; its judgements stay
    second = keyed_client(url).predict(KEY, 3, api_name="/calibration_start")
    assert second["set_id"] == started["set_id"] + 1
    assert len(ws.calibration.judgements(started["set_id"])) == 12
    assert keyed_client(url).predict(KEY, api_name="/calibration_end") == {"ended": 1}
    with pytest.raises(Exception, match="No calibration set is active"):
        keyed_client(url).predict(0, "A", "", api_name="/calibration_vote")
    with pytest.raises(Exception, match="between 3 and 30"):
        keyed_client(url).predict(KEY, 31, api_name="/calibration_start")


def test_the_leaderboard_endpoint_says_before_vs_after_from_the_counted_votes(keyed_app, monkeypatch):
    """Issue 23: the newest PPO checkpoint against the base at its temperature, as one head-to-head number."""
    url, ws = keyed_app
    monkeypatch.setattr(ws.ppo.run, "checkpoints", lambda: [{"name": "ppo-step3", "saved": "2025-01-01 10:00:00"},
                                                            {"name": "ppo-step5", "saved": "2025-01-01 10:05:00"}])
    c = keyed_client(url)
    assert c.predict(api_name="/leaderboard")["before_after"]["n"] == 0
    # by hand: ppo-step5 wins 3 (either seat), base wins 1, 1 tie; the vote against ppo-step3 does not count
    battles = [("base-t0.7", "ppo-step5", "B"), ("ppo-step5", "base-t0.7", "A"), ("base-t0.7", "ppo-step5", "B"),
               ("ppo-step5", "base-t0.7", "B"), ("base-t0.7", "ppo-step5", "tie"), ("base-t0.7", "ppo-step3", "A")]
    rounds = [ws.votes.add_round("\n\nHuman: hi\n\nAssistant:", a, b, "x", "y", f"v{i}") for i, (a, b, _) in enumerate(battles)]
    time.sleep(2.1)  # read first: faster votes do not count (the default vote filters)
    for i, (r, (_, _, outcome)) in enumerate(zip(rounds, battles)):
        ws.votes.add_vote(r.round_id, outcome, f"v{i}")
    got = c.predict(api_name="/leaderboard")["before_after"]
    assert {k: got[k] for k in ("a", "b", "wins_a", "wins_b", "ties", "n")} == {
        "a": "base-t0.7", "b": "ppo-step5", "wins_a": 1, "wins_b": 3, "ties": 1, "n": 5}
    assert got["rate_b"] == pytest.approx(3.5 / 5) and got["low"] < 0.5 < got["high"] and got["verdict"] == "not clear yet"
