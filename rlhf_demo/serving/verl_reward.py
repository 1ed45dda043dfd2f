"""verl's custom reward function, answered by a reward model server (``python -m rlhf_demo serve-reward``).

A standalone file: the standard library only, so a verl worker loads it by path with nothing of rlhf_demo installed
(an export copies it into its bundle). It POSTs verl's arguments to the server's ``/compute_score`` at
``$RLHF_REWARD_URL`` (default ``http://127.0.0.1:8000``) and returns the reward model's score.

verl's configuration, one sample per call (verl's default "naive" reward manager)::

    custom_reward_function.path=verl_reward.py custom_reward_function.name=compute_score

or one request per batch (verl's "batch" reward manager: far fewer round trips, and the server batches them)::

    reward_model.reward_manager=batch \\
    custom_reward_function.path=verl_reward.py custom_reward_function.name=compute_score_batch

with the server's address in the workers' environment: ``RLHF_REWARD_URL=http://HOST:PORT``.

The prompt: verl passes the decoded reply only. Put each row's prompt in its ``extra_info["prompt"]`` (an hh-rlhf
transcript, other text, or chat messages ``[{"role": "user", "content": ...}]``) so the reward model reads the
conversation it was trained on; without one, the reply is scored alone.

What verl calls (github.com/volcengine/verl at b178a3cd56f58b2d502255daba591e92833930a7):
``docs/preparation/reward_function.rst`` ("Implement Reward Function for Dataset": the parameters are
``data_source, solution_str, ground_truth, extra_info``, selected by ``custom_reward_function.path`` and ``.name``);
``verl/utils/reward_score/__init__.py`` ``default_compute_score(data_source, solution_str, ground_truth,
extra_info=None, ..., **kwargs)``; ``verl/workers/reward_manager/naive.py`` calls ``compute_score(data_source=,
solution_str=, ground_truth=, extra_info=)``; ``verl/workers/reward_manager/batch.py`` calls
``compute_score(data_sources=, solution_strs=, ground_truths=, extra_infos=, **reward_kwargs)`` and takes a list.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000"
TIMEOUT_S = float(os.environ.get("RLHF_REWARD_TIMEOUT", "180"))  # as OpenRLHF waits for its remote reward model
TRIES = 3  # a server that is restarting or busy: try again after a second (a refusal, 4xx, is never retried)


def _endpoint() -> str:
    base = os.environ.get("RLHF_REWARD_URL", DEFAULT_URL).rstrip("/")
    return base if base.endswith("/compute_score") else base + "/compute_score"


def _plain(value):
    """What json cannot write as it is: numpy arrays and scalars (verl's non-tensor batch), anything else as text."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _listed(items):
    """verl's per-sample arrays (numpy object arrays in its batch) as JSON lists; None stays None."""
    return None if items is None else list(items)


def _post(payload: dict) -> dict:
    """POST `payload` as JSON to the server; its JSON answer. Raises RuntimeError with the server's reason."""
    body = json.dumps(payload, default=_plain).encode("utf-8")
    request = urllib.request.Request(_endpoint(), data=body, headers={"Content-Type": "application/json"})
    for attempt in range(TRIES):
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")[:500]
            if e.code < 500 or attempt == TRIES - 1:
                raise RuntimeError(f"reward server {_endpoint()} answered {e.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as e:
            if attempt == TRIES - 1:
                raise RuntimeError(f"reward server {_endpoint()} unreachable: {e}") from None
        time.sleep(1.0)
    raise RuntimeError("unreachable")  # the loop returns or raises


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> float:
    """verl's reward function for one sample: the reward model's score of `solution_str` (the prompt from
    ``extra_info["prompt"]``). `data_source` and `ground_truth` are passed on; a reward model does not use them."""
    payload = {"data_source": data_source, "solution_str": solution_str, "ground_truth": ground_truth,
               "extra_info": extra_info}
    return float(_post(payload)["score"])


def compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos=None, **kwargs) -> list[float]:
    """verl's batch reward function (``reward_model.reward_manager=batch``): one score per solution, in order."""
    payload = {"data_sources": _listed(data_sources), "solution_strs": _listed(solution_strs),
               "ground_truths": _listed(ground_truths), "extra_infos": _listed(extra_infos)}
    return [float(s) for s in _post(payload)["scores"]]
