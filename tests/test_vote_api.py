"""The arena over the Gradio API, as a classroom bot or a load test drives it."""

from __future__ import annotations

import threading

import pytest
from gradio_client import Client

from rlhf_demo.arena.arena import EMPTY_REPLY
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
    assert set(r) >= {"round_id", "reply_a", "reply_b", "prompt"}
    assert r["prompt"] == "\n\nHuman: How do I keep basil fresh?\n\nAssistant:"
    for reply in (r["reply_a"], r["reply_b"]):  # a real, cleaned reply: not the placeholder, no next turn in it
        assert reply != EMPTY_REPLY and reply == reply.strip(), reply
        assert not any(m in reply for m in STOP_STRINGS + CHAT_MARKERS), reply
    stored = ws.votes.get_round(r["round_id"])  # what the voter reads is what is stored for the round
    assert (stored.prompt, stored.reply_a, stored.reply_b) == (r["prompt"], r["reply_a"], r["reply_b"])
    assert "model_a" not in r and "base-t" not in str(r)  # names stay hidden until the vote
    v = client.predict(r["round_id"], "A", "Ada", api_name="/arena_vote")
    assert v["winner"] == v["model_a"] and v["model_a"] != v["model_b"]
    assert ws.votes.count() == before + 1
    rec = ws.votes.votes()[-1]
    assert (rec.voter_name, rec.outcome, rec.reply_a) == ("Ada", "A", r["reply_a"])
    board = client.predict(api_name="/leaderboard")
    assert board["votes"] == before + 1
    names = {row["contestant"] for row in board["rows"]}
    assert {v["model_a"], v["model_b"]} <= names


def test_round_with_a_prompt_drawn_from_the_data(client, app_server):
    _, ws = app_server
    r = client.predict("", api_name="/arena_round")
    assert r["prompt"] in set(ws.arena_prompts())


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
