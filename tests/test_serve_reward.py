"""`python -m rlhf_demo serve-reward`: the real server in a subprocess, the real tiny reward model, real HTTP.

The requests are the trainers' own, reproduced with httpx (OpenRLHF and verl are not installable here):

- OpenRLHF, github.com/OpenRLHF/OpenRLHF ``openrlhf/utils/remote_rm_utils.py``: at
  07c34b303e86fcdffa755e9e25c28cca5b44c675 ``requests.post(url=url, json={"query": queries},
  headers={"Content-Type": "application/json"}, timeout=180)`` and ``response.json()["rewards"]``; at
  9b8641c181296428ec764a8626ddccd750a780b0 ``json={"query": queries, "prompts": prompts, "labels": labels}``; at
  3c3be6234e0cb353e76bb8019947db9dfe99fca7 (``openrlhf/utils/agent.py``) one request per sample, concurrently.
- verl, github.com/volcengine/verl at b178a3cd56f58b2d502255daba591e92833930a7: the custom reward function
  ``compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs)``
  (``docs/preparation/reward_function.rst``, ``verl/utils/reward_score/__init__.py``) and the batch reward manager's
  ``compute_score(data_sources=, solution_strs=, ground_truths=, extra_infos=)`` (``verl/workers/reward_manager/batch.py``):
  our ``verl_reward.py`` is imported by path, as verl does, and called against the live server.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from rlhf_demo.serving import VERL_REWARD_FILE
from rlhf_demo.serving.texts import hh_prompt, messages_prompt, prompt_of, split_query, strip_end_tokens

from .conftest import REPO, free_port

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MAX_BODY_MB = 2  # the server under test: a 1 MB text fits, a 2.5 MB body does not
MAX_TEXTS = 64
CHATML_PROMPT = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHow do I boil an egg?"
                 "<|im_end|>\n<|im_start|>assistant\n")
CHATML_TWO_TURNS = ("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
                    "Hello!<|im_end|>\n<|im_start|>user\nName a fruit.<|im_end|>\n<|im_start|>assistant\n")


# -- texts.py: what a trainer sends -> (hh prompt, reply) ------------------------------------------------------------
def test_hh_query_is_split_at_its_last_assistant_turn():
    query = "\n\nHuman: Hi\n\nAssistant: Hello.\n\nHuman: Name a fruit.\n\nAssistant: An apple.</s>"
    assert split_query(query) == ("\n\nHuman: Hi\n\nAssistant: Hello.\n\nHuman: Name a fruit.\n\nAssistant:", "An apple.")


def test_chatml_prompt_becomes_hh_turns_without_the_system_turn():
    expected = ("\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Name a fruit.\n\nAssistant:", "A pear.")
    query = CHATML_TWO_TURNS + "A pear.<|im_end|>\n<|endoftext|>"
    assert split_query(query, CHATML_TWO_TURNS) == expected  # the prompt given (newer OpenRLHF)
    assert split_query(query) == expected  # the query alone: cut at its last "<|im_start|>assistant\n"


def test_other_prompts_and_no_marker():
    assert split_query("What is 2+2? 4", "What is 2+2?") == ("\n\nHuman: What is 2+2?\n\nAssistant:", "4")
    assert split_query("just a reply<pad><pad>") == ("", "just a reply")  # no marker: a reply to an empty prompt
    assert split_query("Q? A", "not its prefix") == ("", "Q? A")  # a prompt the query does not start with: ignored
    assert hh_prompt("Human: hi\n\nAssistant:") == "\n\nHuman: hi\n\nAssistant:"  # hh without the leading newlines
    assert hh_prompt("  ") == ""


def test_end_tokens_are_stripped_repeatedly():
    assert strip_end_tokens("Yes.<|im_end|>\n<|endoftext|></s>[SEP][PAD][PAD] ") == "Yes."
    assert strip_end_tokens("a </s> b") == "a </s> b"  # only at the end


def test_chat_messages_and_extra_info():
    messages = [{"role": "system", "content": "x"}, {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye?"}]
    assert messages_prompt(messages) == "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Bye?\n\nAssistant:"
    assert prompt_of({"prompt": messages}) == messages_prompt(messages)
    assert prompt_of({"prompt": "\n\nHuman: Hi\n\nAssistant:"}) == "\n\nHuman: Hi\n\nAssistant:"
    assert prompt_of(None) == prompt_of({}) == ""
    for bad in ({"prompt": 3}, {"prompt": [{"role": "user"}]}, "text"):
        with pytest.raises(ValueError):
            prompt_of(bad)


# -- the live server ---------------------------------------------------------------------------------------------------
def start_server(model, *options: str, log_path) -> tuple[subprocess.Popen, str]:
    """`python -m rlhf_demo serve-reward` on a free port, polled on GET /health until it answers."""
    port = free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    log = open(log_path, "w")  # a file, not a pipe: a chatty server never blocks on a full pipe
    proc = subprocess.Popen([sys.executable, "-m", "rlhf_demo", "serve-reward", "--model", str(model),
                             "--port", str(port), *options], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}:\n{open(log_path).read()[-3000:]}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop(proc)
    pytest.fail(f"the server did not answer within 180 s:\n{open(log_path).read()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


@pytest.fixture(scope="module")
def server(tiny_reward_model, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("serve_reward") / "server.log"
    proc, url = start_server(tiny_reward_model, "--max-body-mb", str(MAX_BODY_MB), "--max-texts", str(MAX_TEXTS),
                             "--batch-wait-ms", "50", log_path=log_path)
    try:
        yield url
    finally:
        stop(proc)
    log = log_path.read_text()
    assert "Traceback" not in log, log[-3000:]  # no request of these tests was a fault of the server


@pytest.fixture(scope="module")
def reward_model(tiny_reward_model):
    """The same model in this process: what the server's answers must equal."""
    from rlhf_demo.reward.model import load_reward_model

    return load_reward_model(tiny_reward_model, "cpu")


def expected(reward_model, pairs: list[tuple[str, str]]) -> list[float]:
    return reward_model.score([p for p, _ in pairs], [r for _, r in pairs]).tolist()


def openrlhf_post(url: str, payload: dict) -> httpx.Response:
    """As OpenRLHF's request_api_wrapper posts (remote_rm_utils.py, cited in the module's docstring)."""
    return httpx.post(url + "/get_reward", json=payload, headers={"Content-Type": "application/json"}, timeout=180)


def assert_close(got: list[float], want: list[float]) -> None:
    assert len(got) == len(want) and all(abs(g - w) < 1e-4 for g, w in zip(got, want)), (got, want)


def test_openrlhf_query_only_hh_texts(server, reward_model):
    pairs = [("\n\nHuman: How do I boil an egg?\n\nAssistant:", "Put it in boiling water for nine minutes."),
             ("\n\nHuman: How do I boil an egg?\n\nAssistant:", "I don't know."),
             ("\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Name a fruit.\n\nAssistant:", "An apple.")]
    queries = [f"{p} {r}" for p, r in pairs]
    r = openrlhf_post(server, {"query": queries})  # 07c34b3: json={"query": queries}
    assert r.status_code == 200, r.text
    assert_close(r.json()["rewards"], expected(reward_model, pairs))


def test_openrlhf_with_prompts_chatml_texts(server, reward_model):
    replies = ["Put it in boiling water for nine minutes.", "I don't know.", "A pear."]
    prompts = [CHATML_PROMPT, CHATML_PROMPT, CHATML_TWO_TURNS]
    queries = [p + r + "<|im_end|>\n<|endoftext|>" for p, r in zip(prompts, replies)]  # decoded with special tokens
    hh = ["\n\nHuman: How do I boil an egg?\n\nAssistant:"] * 2 + [
        "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Name a fruit.\n\nAssistant:"]
    want = expected(reward_model, list(zip(hh, replies)))
    r = openrlhf_post(server, {"query": queries, "prompts": prompts, "labels": ["", "", ""]})  # 9b8641c's body
    assert r.status_code == 200, r.text
    assert_close(r.json()["rewards"], want)
    r = openrlhf_post(server, {"query": queries})  # the same texts without their prompts: cut at the last marker
    assert_close(r.json()["rewards"], want)


def test_empty_batch(server):
    r = openrlhf_post(server, {"query": []})
    assert r.status_code == 200 and r.json() == {"rewards": []}


def test_one_megabyte_text_is_scored(server, reward_model):
    prompt, reply = "\n\nHuman: Tell me a long story.\n\nAssistant:", "once upon a time " * 60_000  # 1.02 MB
    r = openrlhf_post(server, {"query": [f"{prompt} {reply}"]})
    assert r.status_code == 200, r.text
    (reward,) = r.json()["rewards"]
    assert math.isfinite(reward)
    assert_close([reward], expected(reward_model, [(prompt, reply)]))  # the encoder kept the last 128 tokens


def test_malformed_json_is_400(server):
    r = httpx.post(server + "/get_reward", content=b'{"query": ["a", ', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "not JSON" in r.json()["detail"], r.text
    r = httpx.post(server + "/get_reward", content=b"[" * 100_000)  # nested too deeply for the parser
    assert r.status_code == 400, r.text


@pytest.mark.parametrize("payload, reason", [
    ({"prompts": ["a"]}, "query"),
    ({"query": "one text"}, "query"),
    ({"query": ["a", 3]}, "query.1"),
    ({"query": ["a", "b"], "prompts": ["a"]}, "one prompt per query"),
    (["a", "b"], "JSON object"),
    ({"query": ["\ud800"]}, "lone surrogate"),
])
def test_wrong_shapes_are_422(server, payload, reason):
    # json.dumps escapes a lone surrogate ("\\ud800"), which httpx's own encoder refuses to write
    r = httpx.post(server + "/get_reward", content=json.dumps(payload), headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and reason in r.json()["detail"], r.text


def test_too_many_texts_is_413(server):
    r = openrlhf_post(server, {"query": ["a"] * (MAX_TEXTS + 1)})
    assert r.status_code == 413 and "--max-texts" in r.json()["detail"], r.text


def test_body_over_the_limit_is_413(server):
    body = b'{"query": ["' + b"a" * int(2.5 * 2**20) + b'"]}'
    r = httpx.post(server + "/get_reward", content=body, timeout=60)  # refused by its Content-Length
    assert r.status_code == 413 and "--max-body-mb" in r.json()["detail"], r.text

    def chunks():  # no Content-Length (chunked): refused by counting the bytes as they come
        for i in range(0, len(body), 256 * 1024):
            yield body[i:i + 256 * 1024]

    r = httpx.post(server + "/get_reward", content=chunks(), timeout=60)
    assert r.status_code == 413 and "--max-body-mb" in r.json()["detail"], r.text


def test_concurrent_requests_are_answered_and_batched(server, reward_model):
    """8 clients at once, one text each (as the newest OpenRLHF sends): each gets its own score, in fewer batches."""
    pairs = [(f"\n\nHuman: Is {n} a lucky number?\n\nAssistant:", f"Yes, {n} is lucky." * (1 + n % 3)) for n in range(8)]
    want = expected(reward_model, pairs)
    before = httpx.get(server + "/health").json()
    start, got = threading.Barrier(len(pairs)), [None] * len(pairs)

    def client(i: int) -> None:
        start.wait()
        got[i] = openrlhf_post(server, {"query": [f"{pairs[i][0]} {pairs[i][1]}"]}).json()["rewards"]

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(pairs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert_close([g[0] for g in got], want)
    after = httpx.get(server + "/health").json()
    requests, batches = after["requests"] - before["requests"], after["batches"] - before["batches"]
    assert requests == 8 and batches < requests, (requests, batches)


def load_verl_reward():
    """Our verl reward function, imported by path as verl's load_extern_object does."""
    spec = importlib.util.spec_from_file_location("custom_module", VERL_REWARD_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_verl_reward_function(server, reward_model, monkeypatch):
    import numpy as np

    monkeypatch.setenv("RLHF_REWARD_URL", server)
    verl = load_verl_reward()
    hh = "\n\nHuman: How do I boil an egg?\n\nAssistant:"
    messages = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "How do I boil an egg?"}]
    replies = ["Put it in boiling water for nine minutes.", "I don't know."]
    want = expected(reward_model, [(hh, r) for r in replies])
    one = verl.compute_score("hh_rlhf", replies[0], None, extra_info={"prompt": hh, "index": 0})
    assert isinstance(one, float) and abs(one - want[0]) < 1e-4
    # the batch reward manager passes numpy object arrays (data.non_tensor_batch)
    many = verl.compute_score_batch(data_sources=np.array(["hh_rlhf"] * 2, dtype=object), solution_strs=replies,
                                    ground_truths=[None, None], extra_infos=[{"prompt": messages}, {"prompt": hh}])
    assert_close(many, want)
    with pytest.raises(RuntimeError, match="422"):
        verl.compute_score("hh_rlhf", "x", None, extra_info={"prompt": 5})


def test_health_and_contract(server):
    health = httpx.get(server + "/health").json()
    assert health["ok"] is True and health["model"] == "rm-bundled" and health["max_length"] == 128
    text = httpx.get(server + "/").text
    assert "/get_reward" in text and "/compute_score" in text


# -- the command line ----------------------------------------------------------------------------------------------
def test_model_folder_of_a_bundle(tiny_reward_model, tmp_path):
    from rlhf_demo.serving.cli import reward_model_folder

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_reward_model, bundle / "reward_model")
    (bundle / "bundle.json").write_text("{}")
    assert reward_model_folder(str(bundle)) == bundle / "reward_model"  # a bundle's root: its reward_model/
    assert reward_model_folder(str(bundle / "reward_model")) == bundle / "reward_model"
    assert reward_model_folder(str(tiny_reward_model)) == tiny_reward_model


def test_cli_bad_input_is_one_error_line(tiny_reward_model, tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    cases = {"no such folder": ["--model", "/nonexistent"],
             "not a reward model folder": ["--model", str(tmp_path)],
             "--port 70000": ["--model", str(tiny_reward_model), "--port", "70000"],
             "cannot listen": ["--model", str(tiny_reward_model), "--port", str(taken.getsockname()[1])]}
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    procs = {why: subprocess.Popen([sys.executable, "-m", "rlhf_demo", "serve-reward", *args], cwd=REPO, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for why, args in cases.items()}
    try:
        for why, proc in procs.items():
            _, err = proc.communicate(timeout=120)
            errors = [line for line in err.splitlines() if line.startswith("error:")]
            assert proc.returncode == 2 and len(errors) == 1 and why in errors[0] and "Traceback" not in err, (why, err)
    finally:
        taken.close()
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
