"""The Browse tab's API, called as a script would: through gradio_client against the running app."""

from __future__ import annotations

import pytest
from gradio_client import Client


@pytest.fixture(scope="module")
def client(app_server):
    url, _ = app_server
    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def test_api_lists_the_stable_endpoints(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/browse_pair", "/browse_search", "/browse_stats", "/data_sources"} <= names


def test_data_sources_say_what_is_in_use(client, sample_path):
    d = client.predict(api_name="/data_sources")
    assert d["data_kind"] == "local" and sample_path.name in d["data"]
    assert d["subsets"] == {"harmless-base-sample": ["all"]}
    assert "tiny" in d["policy"]


def test_browse_pair_returns_the_parsed_pair(client):
    p = client.predict("harmless-base-sample", "all", 3, api_name="/browse_pair")
    assert p["index"] == 3 and p["total"] == 1812
    assert p["prompt"].endswith("\n\nAssistant:") and p["prefix"][0]["role"] == "Human"
    assert p["chosen"] and p["rejected"] and p["chosen"] != p["rejected"]


def test_browse_search_and_stats(client):
    r = client.predict("harmless-base-sample", "all", "alcohol", "any", 5, api_name="/browse_search")
    assert r["matches"] > 0 and len(r["indices"]) == min(5, r["matches"])
    first = client.predict("harmless-base-sample", "all", r["indices"][0], api_name="/browse_pair")
    assert "alcohol" in (first["prompt"] + first["chosen"] + first["rejected"]).lower()
    s = client.predict("harmless-base-sample", "all", api_name="/browse_stats")
    assert s["pairs"] == 1812 and abs(s["longer_reply_wins"] + s["shorter_reply_wins"] - 1) < 1e-3
    # where the pairs come from, in words: the split and the source, never a path of the server's files
    assert s["origin"].startswith("harmless-base-sample/all, ") and "/work" not in s["origin"] and ".jsonl" not in s["origin"]


def test_bad_input_is_a_clear_error_not_a_crash(client):
    with pytest.raises(Exception, match="index must be between 0 and 1,811, got 99,999"):
        client.predict("harmless-base-sample", "all", 99999, api_name="/browse_pair")
    with pytest.raises(Exception, match="Unknown subset"):
        client.predict("nope", "all", 0, api_name="/browse_pair")
    # the server is still fine afterwards
    assert client.predict("harmless-base-sample", "all", 0, api_name="/browse_pair")["index"] == 0
