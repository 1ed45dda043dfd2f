"""Every bad input found by trying the app as an attacker and a tester would: one clear message naming what is
wrong (`error:` + exit 2 on the command line, a gr.Error naming the field over the API), no traceback, nothing
written."""

from __future__ import annotations

import pytest
from gradio_client import Client

from rlhf_demo.arena.votes import VoteError, VoteStore
from tests.test_cli_end_to_end import REPO, refused

BUNDLED = REPO / "assets" / "bundled"


# ------------------------------------------------------------------------------------------ command line


def test_ppo_with_a_policy_folder_that_is_not_a_model(tmp_path):
    err = refused("ppo", "--reward", str(tmp_path / "rm"), "--steps", "1", "--out", str(tmp_path / "o"), "--policy", "/etc")
    assert "/etc is not a model folder" in err and "sentencepiece" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["info", "serve"])
def test_the_app_with_missing_or_empty_data_says_so_at_start(tmp_path, command):
    (tmp_path / "empty").mkdir()
    assert "no such file or folder" in refused(command, "--offline", "--data", str(tmp_path / "nope.jsonl"))
    assert "no .jsonl or .jsonl.gz files" in refused(command, "--offline", "--data", str(tmp_path / "empty"))


@pytest.mark.parametrize("where", ["existing file", "/proc"])
def test_reward_out_that_cannot_be_a_new_folder(tmp_path, where):
    target = tmp_path / "taken" if where == "existing file" else "/proc/x"
    if where == "existing file":
        target.write_text("keep")
    err = refused("reward", "--train", str(BUNDLED / "train.jsonl"), "--out", str(target))
    assert "error: --out" in err
    if where == "existing file":
        assert target.read_text() == "keep"


def test_a_huge_round_id_is_never_echoed_whole(tmp_path):
    with VoteStore(tmp_path / "v.db") as store:
        with pytest.raises(VoteError) as e:
            store.add_vote("x" * 100_000, "A", "v")
        assert len(str(e.value)) < 300 and "100,000 characters" in str(e.value)
        assert store.count() == 0


# ------------------------------------------------------------------------------------------ over the API


@pytest.fixture(scope="module")
def client(bundled_app):
    url, _ = bundled_app
    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def refused_by_api(client, *args, api_name: str) -> str:
    with pytest.raises(Exception) as e:
        client.predict(*args, api_name=api_name)
    message = str(e.value)
    assert "Traceback" not in message and message.strip() not in ("", "Error"), message
    return message


def raw_call(url: str, api_name: str, body: str) -> str:
    """POST a raw JSON body (it may hold NaN / Infinity literals, which a JSON client cannot send) to a Gradio API
    endpoint and return the event stream of its answer."""
    import httpx

    r = httpx.post(f"{url}gradio_api/call/{api_name}", content=body, headers={"Content-Type": "application/json"},
                   timeout=30)
    r.raise_for_status()
    return httpx.get(f"{url}gradio_api/call/{api_name}/{r.json()['event_id']}", timeout=30).text


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_browse_index_nan_or_inf_in_raw_json_gets_a_message_naming_the_field(bundled_app, literal):
    url, _ = bundled_app
    stream = raw_call(url, "browse_pair", f'{{"data": ["bundled", "test", {literal}]}}')
    assert "event: error" in stream and "index must be a whole number" in stream, stream


@pytest.mark.parametrize("index", ["nan", "inf", "three", 2.5, -1, 10**9, {"i": 1}])
def test_browse_index_must_be_a_whole_number_in_range(client, index):
    assert "index" in refused_by_api(client, "bundled", "test", index, api_name="/browse_pair")


@pytest.mark.parametrize("limit", ["nan", "all", {"n": 1}, -5])
def test_browse_search_limit_must_be_a_whole_number(client, limit):
    assert "limit" in refused_by_api(client, "bundled", "test", "", "any", limit, api_name="/browse_search")


def test_good_browse_calls_still_work(client):
    assert client.predict("bundled", "test", 3.0, api_name="/browse_pair")["index"] == 3
    assert len(client.predict("bundled", "test", "", "any", 5, api_name="/browse_search")["indices"]) == 5


def test_a_dict_as_a_prompt_is_refused_and_names_the_field(client, bundled_app):
    _, ws = bundled_app
    rounds = ws.votes.stats()["rounds"]
    assert "prompt must be text" in refused_by_api(client, {"text": "hi"}, api_name="/arena_round")
    assert ws.votes.stats()["rounds"] == rounds  # nothing stored


def test_a_huge_round_id_over_the_api_is_refused_short(client):
    message = refused_by_api(client, "f" * 100_000, "A", "", api_name="/arena_vote")
    assert "round_id is too long" in message and len(message) < 300


@pytest.mark.parametrize("prompt, reply, field", [("", "a reply", "prompt"), ("a prompt", "   ", "reply"),
                                                  (None, "a reply", "prompt")])
def test_reward_score_refuses_an_empty_prompt_or_reply(client, prompt, reply, field):
    assert f"{field} is empty" in refused_by_api(client, prompt, reply, api_name="/reward_score")


# ------------------------------------------------------------------------------------------ bounds


def test_uploads_over_the_limit_are_refused(bundled_app):
    import httpx

    url, _ = bundled_app
    small = httpx.post(f"{url}gradio_api/upload", files={"files": ("a.txt", b"x" * 1000)}, timeout=30)
    big = httpx.post(f"{url}gradio_api/upload", files={"files": ("b.txt", b"x" * (3 * 1024 * 1024))}, timeout=30)
    assert small.status_code == 200 and big.status_code == 413, (small.status_code, big.status_code)


def test_exports_share_one_folder_that_is_pruned(tmp_path):
    from rlhf_demo.settings import Settings
    from rlhf_demo.workspace import Workspace

    ws = Workspace(Settings(offline=True, policy="tiny", data_dir=tmp_path / "data"))
    paths = []
    for i in range(30):
        p = ws.export_path(f"votes-{i}.jsonl")
        p.write_text("{}\n")
        paths.append(p)
    folder = paths[0].parent
    assert {p.parent for p in paths} == {folder} and len(list(folder.iterdir())) <= 20
    assert paths[-1].exists() and not paths[0].exists()  # the newest kept, the oldest gone


def test_unvoted_rounds_expire_and_voted_ones_stay(tmp_path):
    with VoteStore(tmp_path / "v.db") as store:
        voted = store.add_round("\n\nHuman: hi\n\nAssistant:", "a", "b", "x", "y", "v")
        store.add_vote(voted.round_id, "A", "v")
        store.add_round("\n\nHuman: hi\n\nAssistant:", "a", "b", "x", "y", "v")  # never voted
        assert store.expire_unvoted(max_age_seconds=3600) == 0  # too young
        assert store.expire_unvoted(max_age_seconds=-1) == 1
        assert store.stats()["rounds"] == 1 and store.count() == 1 and store.get_round(voted.round_id)


@pytest.mark.parametrize("flags, message", [(("--batch-size", "100000", "--samples-per-prompt", "1", "--baseline", "value"),
                                             "batch_size must be <= 512"),
                                            (("--batch-size", "256", "--response-length", "256"), "batch_size x response_length"),
                                            (("--response-length", "100000"), "response_length must be <= 1024")])
def test_ppo_sizes_that_would_exhaust_memory_are_refused_before_loading(tmp_path, flags, message):
    assert message in refused("ppo", "--reward", str(tmp_path / "rm"), "--steps", "1", "--out", str(tmp_path / "o"), *flags)


def test_reward_batch_that_would_exhaust_memory_is_refused(tmp_path):
    assert "65,536 tokens" in refused("reward", "--train", str(BUNDLED / "train.jsonl"), "--out", str(tmp_path / "o"),
                                      "--batch-size", "100000")


def test_only_preset_backbones_unless_the_operator_allows_any(tmp_path):
    from rlhf_demo.paths import TINY_POLICY_DIR
    from rlhf_demo.settings import Settings
    from rlhf_demo.workspace import Workspace

    ws = Workspace(Settings(offline=True, policy="tiny", data_dir=tmp_path / "data"))
    with pytest.raises(ValueError, match="--allow-any-model"):
        ws.reward_backbone("some-org/some-model")
    with pytest.raises(ValueError, match="--allow-any-model"):
        ws.reward_backbone(str(TINY_POLICY_DIR))
    assert ws.reward_backbone("policy").path == str(TINY_POLICY_DIR)
    open_ws = Workspace(Settings(offline=True, policy="tiny", data_dir=tmp_path / "data", allow_any_model=True))
    assert open_ws.reward_backbone(str(TINY_POLICY_DIR)).path == str(TINY_POLICY_DIR)


def test_files_gradio_keeps_for_visitors_are_swept(tmp_path):
    """Uploads (and the exports Gradio copies into its cache) do not pile up: the app sweeps its cache every
    10 minutes, deleting files older than an hour."""
    from rlhf_demo.settings import Settings
    from rlhf_demo.ui.app import MAX_UPLOAD, build_app
    from rlhf_demo.workspace import Workspace

    demo = build_app(Workspace(Settings(offline=True, policy="tiny", data_dir=tmp_path / "data")))
    assert demo.delete_cache == (600, 3600) and MAX_UPLOAD == "2mb"
