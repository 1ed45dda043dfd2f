"""Every bad input found by trying the app as an attacker and a tester would: one clear message naming what is
wrong (`error:` + exit 2 on the command line, a gr.Error naming the field over the API), no traceback, nothing
written."""

from __future__ import annotations

import pytest
from gradio_client import Client

from rlhf_demo.arena.votes import VoteError, VoteStore
from rlhf_demo.storage import download_path
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


def test_uploads_of_any_size_are_refused_because_no_component_takes_files(bundled_app):
    import httpx

    url, _ = bundled_app
    small = httpx.post(f"{url}gradio_api/upload", files={"files": ("a.txt", b"x" * 1000)}, timeout=30)
    big = httpx.post(f"{url}gradio_api/upload", files={"files": ("b.txt", b"x" * (3 * 1024 * 1024))}, timeout=30)
    assert (small.status_code, big.status_code) == (403, 403), (small.status_code, big.status_code)
    assert "/tmp" not in small.text + big.text  # never the server's path


def test_exports_share_one_folder_that_is_pruned(tmp_path):
    from rlhf_demo.settings import Settings
    from rlhf_demo.workspace import Workspace

    ws = Workspace(Settings(offline=True, policy="tiny", data_dir=tmp_path / "data"))
    paths = []
    for i in range(30):
        p = download_path(ws.settings.data_dir, f"votes-{i}.jsonl")
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
        ws.reward.backbones.resolve("some-org/some-model")
    with pytest.raises(ValueError, match="--allow-any-model"):
        ws.reward.backbones.resolve(str(TINY_POLICY_DIR))
    assert ws.reward.backbones.resolve("policy").path == str(TINY_POLICY_DIR)
    open_ws = Workspace(Settings(offline=True, policy="tiny", data_dir=tmp_path / "data", allow_any_model=True))
    assert open_ws.reward.backbones.resolve(str(TINY_POLICY_DIR)).path == str(TINY_POLICY_DIR)


def test_files_gradio_keeps_for_visitors_are_swept(tmp_path):
    """Uploads (and the exports Gradio copies into its cache) do not pile up: the app sweeps its cache every
    10 minutes, deleting files older than an hour."""
    from rlhf_demo.settings import Settings
    from rlhf_demo.ui.app import MAX_UPLOAD, build_app
    from rlhf_demo.workspace import Workspace

    demo = build_app(Workspace(Settings(offline=True, policy="tiny", data_dir=tmp_path / "data")))
    assert demo.delete_cache == (600, 3600) and MAX_UPLOAD == "2mb"


# ------------------------------------------------------------------------------------------ bad data files (issue 21)


def bad_data_file(tmp_path, case: str):
    """One broken data file (a copy of the bundled train set, broken as `case` says) -> (its path, a piece of the
    message that must reach the user)."""
    import gzip
    import json
    import zlib

    good = (BUNDLED / "train.jsonl").read_bytes()
    packed = gzip.compress(good, mtime=0)
    if case == "empty":
        path, data, said = tmp_path / "empty.jsonl", b"", "the file is empty"
    elif case == "not gzip":
        path, data, said = tmp_path / "plain.jsonl.gz", good, "Not a gzipped file"
    elif case == "truncated gzip":
        path, data, said = tmp_path / "cut.jsonl.gz", packed[: len(packed) // 2], "Compressed file ended"
    elif case == "corrupted gzip":  # zeros over the middle of the deflate stream: zlib.error, not an OSError
        path, said = tmp_path / "corrupt.jsonl.gz", "while decompressing data"
        for at in range(len(packed) // 2, len(packed) - 64, 16):
            data = packed[:at] + bytes(32) + packed[at + 32:]
            try:
                gzip.decompress(data)
            except zlib.error:
                break
            except Exception:  # a CRC error, say: try the next spot
                pass
    elif case == "bad lines":
        path, data, said = tmp_path / "bad.jsonl", b'not json\n{"chosen": 1}\n[]\n', "No valid hh-rlhf pair"
    elif case == "latin-1":
        line = json.dumps({"chosen": "\n\nHuman: Un café ?\n\nAssistant: Oui.",
                           "rejected": "\n\nHuman: Un café ?\n\nAssistant: Non."}, ensure_ascii=False)
        path, data, said = tmp_path / "latin1.jsonl", (line + "\n").encode("latin-1"), "not UTF-8 text"
    path.write_bytes(data)
    return path, said


def refused_app(tmp_path, *args: str, env: dict | None = None) -> str:
    """`python app.py ARGS` must fail cleanly before serving: exit status 2, an `error:` line, no traceback."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", RLHF_DATA_DIR=str(tmp_path / "data"),
               **(env or {}))
    p = subprocess.run([sys.executable, "app.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "error:" in p.stderr and "Traceback" not in p.stderr, p.stderr[-2000:]
    return p.stderr


BAD_FILES = ["empty", "not gzip", "truncated gzip", "corrupted gzip", "bad lines", "latin-1"]


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_data_file_is_one_error_line_when_the_app_starts(tmp_path, case):
    path, said = bad_data_file(tmp_path, case)
    err = refused_app(tmp_path, "--offline", "--policy", "tiny", "--data", str(path))
    assert said in err and str(path) in err and len(err.strip().splitlines()) == 1, err
    assert said in refused("info", "--offline", "--policy", "tiny", "--data", str(path))


def test_a_bad_file_in_a_data_folder_is_refused_at_start(tmp_path):
    (tmp_path / "d" / "helpful").mkdir(parents=True)
    (tmp_path / "d" / "helpful" / "train.jsonl").write_bytes((BUNDLED / "train.jsonl").read_bytes())
    broken, said = bad_data_file(tmp_path, "truncated gzip")
    broken.rename(tmp_path / "d" / "helpful" / "test.jsonl.gz")
    assert said in refused("info", "--offline", "--policy", "tiny", "--data", str(tmp_path / "d"))


@pytest.mark.parametrize("command", ["reward", "ppo", "dpo", "evaluate"])
def test_every_command_refuses_a_corrupted_gzip_with_the_real_message(tmp_path, command):
    path, said = bad_data_file(tmp_path, "corrupted gzip")
    out = str(tmp_path / "out")
    args = {"reward": ("--train", str(path), "--out", out),
            "ppo": ("--reward", str(tmp_path / "rm"), "--steps", "1", "--policy", "tiny", "--data", str(path), "--out", out),
            "dpo": ("--train", str(path), "--out", out, "--policy", "tiny", "--offline"),
            "evaluate": ("--reward", str(tmp_path / "rm"), "--policy", "tiny", "--prompts", str(path))}[command]
    assert said in refused(command, *args)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", ["truncated gzip", "latin-1"])
def test_reward_and_dpo_refuse_the_other_unreadable_files(tmp_path, case):
    path, said = bad_data_file(tmp_path, case)
    assert said in refused("reward", "--train", str(path), "--out", str(tmp_path / "o"))
    assert said in refused("dpo", "--train", str(path), "--out", str(tmp_path / "o"), "--offline")


def test_a_huge_line_is_refused_early_with_the_bound_named(tmp_path):
    """A small gzip of one enormous line: refused after reading the bound's worth of it, not the whole line."""
    import gzip
    import time
    import tracemalloc

    from rlhf_demo.data.hh import MAX_LINE_CHARS, DataFileError, load_jsonl

    path = tmp_path / "huge.jsonl.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        for _ in range(64):
            f.write(b"x" * 1_000_000)  # one 64 MB line in a ~100 KB file
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(DataFileError) as e:
        load_jsonl(path)
    seconds, (_, peak) = time.perf_counter() - t0, tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert f"line 1 is longer than {MAX_LINE_CHARS:,} characters" in str(e.value)
    assert peak < 16 * 2**20 and seconds < 5, (peak, seconds)
    assert f"{MAX_LINE_CHARS:,} characters" in refused_app(tmp_path, "--offline", "--policy", "tiny", "--data", str(path))


def test_too_many_lines_are_refused_with_the_bound_named(tmp_path):
    from rlhf_demo.data.hh import MAX_PAIRS, DataFileError, load_jsonl

    path = tmp_path / "many.jsonl"
    path.write_text("{}\n" * (MAX_PAIRS + 1))
    with pytest.raises(DataFileError, match=f"more than {MAX_PAIRS:,} lines"):
        load_jsonl(path)


def test_good_data_files_still_load(tmp_path):
    import gzip

    from rlhf_demo.data.hh import load_jsonl

    packed = tmp_path / "train.jsonl.gz"
    packed.write_bytes(gzip.compress((BUNDLED / "train.jsonl").read_bytes()))
    assert len(load_jsonl(packed)) == len(load_jsonl(BUNDLED / "train.jsonl")) > 100


# ------------------------------------------------------------------------------------------ port, LoRA targets


@pytest.mark.parametrize("port, env", [("99999", None), ("0", None), ("http", None), (None, {"GRADIO_SERVER_PORT": "x"})])
def test_the_port_is_a_port_number(tmp_path, port, env):
    err = refused_app(tmp_path, "--offline", "--policy", "tiny", *(("--port", port) if port else ()), env=env)
    assert "--port" in err and "port number" in err


def test_lora_targets_are_module_names(tmp_path):
    train = str(BUNDLED / "train.jsonl")
    assert "lora_target_modules" in refused("reward", "--train", train, "--out", str(tmp_path / "o"),
                                            "--lora-targets", "../x")
    # a well-formed name that the backbone does not have: said once the backbone is built, nothing written
    err = refused("reward", "--train", train, "--out", str(tmp_path / "o"), "--lora-targets", "nope",
                  "--max-pairs", "8", "--quiet")
    assert "--lora-targets" in err and "match no Linear layer" in err
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------------------ physical bounds


@pytest.mark.parametrize("command, flags, message", [
    ("ppo", ("--temperature", "1e-300"), "temperature must be in [0.05, 5]"),
    ("ppo", ("--temperature", "50"), "temperature must be in [0.05, 5]"),
    ("ppo", ("--lr", "1e30"), "learning_rate must be in (0, 0.1]"),
    ("ppo", ("--kl-coef", "1e6"), "kl_coef (β) must be in [0, 10]"),
    ("ppo", ("--epochs", "100000000", "--max-seconds", "15"), "num_ppo_epochs must be an integer in [1, 16]"),
    ("ppo", ("--mini-batches", "128", "--batch-size", "256", "--response-length", "8"),
     "num_mini_batches must be an integer in [1, 64]"),
    ("evaluate", ("--temperature", "1e-300"), "temperature must be in [0.05, 5]"),
    ("reward", ("--lr", "0.5"), "learning_rate = 0.5: must be a number in (0, 0.1]"),
    ("dpo", ("--lr", "1e30"), "learning_rate = 1e+30: must be a number in (0, 0.1]"),
])
def test_temperatures_learning_rates_beta_and_epochs_are_bounded_at_parsing(tmp_path, command, flags, message):
    out = str(tmp_path / "o")
    base = {"ppo": ("--reward", str(tmp_path / "rm"), "--steps", "1", "--policy", "tiny", "--out", out),
            "evaluate": ("--reward", str(tmp_path / "rm"), "--policy", "tiny", "--prompts", str(BUNDLED / "test.jsonl")),
            "reward": ("--train", str(BUNDLED / "train.jsonl"), "--out", out),
            "dpo": ("--train", str(BUNDLED / "train.jsonl"), "--out", out, "--offline")}[command]
    assert message in refused(command, *base, *flags)
    assert not (tmp_path / "o").exists()


def test_the_bounds_are_the_configs_own():
    from rlhf_demo.dpo.config import DPOConfig
    from rlhf_demo.ppo.config import PPOConfig
    from rlhf_demo.reward.config import RewardConfig

    for bad in (dict(temperature=0.01), dict(learning_rate=0.2), dict(kl_coef=10.5), dict(num_ppo_epochs=17),
                dict(num_mini_batches=128, batch_size=256, response_length=8)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            PPOConfig(**bad).validate()
    PPOConfig(temperature=0.05, learning_rate=0.1, kl_coef=10.0, num_ppo_epochs=16).validate()  # the edges are fine
    with pytest.raises(ValueError, match="learning_rate"):
        RewardConfig(learning_rate=0.2).validate()
    with pytest.raises(ValueError, match="beta"):
        DPOConfig(beta=11).validate()
    with pytest.raises(ValueError, match="lora_target_modules"):
        DPOConfig(lora_target_modules=["q_proj", "../x"]).validate()


@pytest.mark.parametrize("field, value", [("learning_rate", 1e30), ("temperature", 1e-300), ("kl_coef", 1e6),
                                          ("num_ppo_epochs", 10**9)])
def test_ppo_settings_refuses_values_out_of_bounds_naming_the_field(client, bundled_app, field, value):
    _, ws = bundled_app
    before = ws.ppo.run.view().config
    with pytest.raises(Exception) as e:
        client.predict("", api_name="/ppo_settings", **{field: value})
    message = str(e.value)
    assert f"PPOConfig: {field}" in message and "must be" in message and "Traceback" not in message, message
    assert ws.ppo.run.view().config == before  # nothing changed


def test_the_adaptive_kl_controller_keeps_beta_within_its_bound():
    from rlhf_demo.bounds import MAX_KL_COEF
    from rlhf_demo.ppo.core import adaptive_kl_coef

    beta = 9.9
    for _ in range(10):  # the KL stays far above target: beta would grow past the bound
        beta = adaptive_kl_coef(beta, current_kl=100.0, target=1.0, horizon=16, n_steps=16)
    assert beta == MAX_KL_COEF
