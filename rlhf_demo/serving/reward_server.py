"""A reward model behind HTTP, as OpenRLHF's and verl's trainers call one: the FastAPI app and its micro-batcher.

The contract (also served as text at ``GET /``):

- ``POST /get_reward`` (OpenRLHF's remote reward model, ``--remote_rm_url http://host:port/get_reward``):
  ``{"query": [full texts], "prompts": [prompt texts], "labels": [...]}`` -> ``{"rewards": [float, ...]}``, in
  order. "prompts" and "labels" are optional and "labels" is ignored. Older OpenRLHF sends only "query":
  github.com/OpenRLHF/OpenRLHF ``openrlhf/utils/remote_rm_utils.py`` at 07c34b303e86fcdffa755e9e25c28cca5b44c675
  (``requests.post(url, json={"query": queries}, headers={"Content-Type": "application/json"}, timeout=180)``, then
  ``response.json()["rewards"]``); at 9b8641c181296428ec764a8626ddccd750a780b0 the same file sends
  ``{"query": queries, "prompts": prompts, "labels": labels}``; in the newest (``openrlhf/utils/agent.py``,
  ``SingleTurnAgentExecutor._fetch_rewards_via_http`` at 3c3be6234e0cb353e76bb8019947db9dfe99fca7) every sample is
  its own request of one text, posted with aiohttp, and the answer's "scores" is read, falling back to "rewards".
- ``POST /compute_score`` (verl, through `verl_reward.py`): verl's reward-function arguments as JSON, one
  (``data_source, solution_str, ground_truth, extra_info``) -> ``{"score": float}`` or a batch (``data_sources,
  solution_strs, ground_truths, extra_infos``) -> ``{"scores": [...]}``; the prompt is ``extra_info["prompt"]``.
- ``GET /health``: ok, the model, its max_length and how many requests, batches and texts were scored.

How a request is served:

1. read:     the body, at most ``max_body_bytes``: a Content-Length over it is refused before reading, and the bytes
             are counted while reading (a chunked body has no length, and a client may lie) -> 413
2. parse:    JSON (400), at most ``max_texts`` texts (413), the right shape (pydantic; 422 with the reason)
3. convert:  each text to an (hh prompt, reply) pair (`texts.py`)
4. batch:    the request's pairs join the queue; `MicroBatcher`'s one task takes queued requests until it holds
             ``max_batch`` texts or ``batch_wait_s`` has passed, scores them in ONE ``score`` call (in a thread, so
             the server keeps answering), and hands each request its own scores. N clients at once cost a few
             forward passes, not N; a request bigger than ``max_batch`` is scored on its own.
5. answer:   the scores in the request's order. Bad input is always a 4xx with ``{"detail": reason}``; a fault of
             the server (the model failed) is a 500, logged with its traceback (503 when it ran out of memory).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError, model_validator

from rlhf_demo.serving.texts import prompt_of, split_queries, strip_end_tokens
from rlhf_demo.settings import shorten

log = logging.getLogger("rlhf_demo.serving")

ScoreFn = Callable[[list[str], list[str]], Sequence[float]]  # (hh prompts, replies) -> one float each; blocking

MB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """The server's bounds and batching knobs (the command line's --max-body-mb, --max-texts, --max-batch,
    --batch-wait-ms)."""

    max_body_bytes: int = 16 * MB
    max_texts: int = 4096
    max_batch: int = 256
    batch_wait_s: float = 0.01


class ScoringFailed(Exception):
    """The model failed on a batch (a fault of the server, not of the request): 500, or 503 when out of memory."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


# -- the micro-batcher -------------------------------------------------------------------------------------------------
@dataclass
class _Job:
    prompts: list[str]
    replies: list[str]
    future: asyncio.Future


class MicroBatcher:
    """Merges concurrent requests into few ``score`` calls (step 4 of the module's docstring).

    One asyncio task (`start`) takes the first queued request, then more until it holds ``max_batch`` texts or
    ``wait_s`` has passed since the first, scores them all in one call in a worker thread, and resolves each
    request's future with its own slice. A request that would overflow the batch waits for the next one."""

    def __init__(self, score: ScoreFn, max_batch: int, wait_s: float):
        self.score, self.max_batch, self.wait_s = score, max_batch, wait_s
        self.requests = self.batches = self.texts = 0  # served so far (GET /health)
        self._queue: asyncio.Queue[_Job] | None = None
        self._held: _Job | None = None  # taken from the queue, but it did not fit the last batch
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name="reward micro-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def submit(self, prompts: list[str], replies: list[str]) -> list[float]:
        """The scores of these pairs, in order, once a batch holding them has been scored."""
        if not prompts:
            return []
        job = _Job(prompts, replies, asyncio.get_running_loop().create_future())
        self._queue.put_nowait(job)
        return await job.future

    async def _next_job(self, deadline: float) -> _Job | None:
        """The next queued request, waiting until `deadline` (loop time) at most; None when none came."""
        with contextlib.suppress(asyncio.QueueEmpty):
            return self._queue.get_nowait()
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return None
        with contextlib.suppress(asyncio.TimeoutError):
            return await asyncio.wait_for(self._queue.get(), remaining)
        return None

    async def _collect(self) -> list[_Job]:
        """One batch: the held or first queued request, then more until max_batch texts or the wait is over."""
        first, self._held = self._held or await self._queue.get(), None
        jobs, n = [first], len(first.prompts)
        deadline = asyncio.get_running_loop().time() + self.wait_s
        while n < self.max_batch:
            job = await self._next_job(deadline)
            if job is None:
                break
            if n + len(job.prompts) > self.max_batch:
                self._held = job
                break
            jobs.append(job)
            n += len(job.prompts)
        return jobs

    async def _run(self) -> None:
        while True:
            jobs = await self._collect()
            prompts = [p for j in jobs for p in j.prompts]
            replies = [r for j in jobs for r in j.replies]
            try:
                scores = [float(s) for s in await asyncio.to_thread(self.score, prompts, replies)]
            except Exception as e:  # noqa: BLE001 - any fault of the model: every waiting request is told, logged once
                log.exception("scoring a batch of %d texts failed", len(prompts))
                out_of_memory = isinstance(e, MemoryError) or type(e).__name__ == "OutOfMemoryError"
                failure = ScoringFailed(503 if out_of_memory else 500,
                                        f"scoring failed: {type(e).__name__}: {str(e)[:200]}")
                for j in jobs:
                    if not j.future.done():
                        j.future.set_exception(failure)
                continue
            self.batches, self.requests, self.texts = self.batches + 1, self.requests + len(jobs), self.texts + len(prompts)
            start = 0
            for j in jobs:
                if not j.future.done():  # a request whose client went away was cancelled
                    j.future.set_result(scores[start:start + len(j.prompts)])
                start += len(j.prompts)


# -- the requests' shapes --------------------------------------------------------------------------------------------
class RewardRequest(BaseModel):
    """OpenRLHF's body: the full texts, and (newer versions) the prompts and labels."""

    model_config = ConfigDict(extra="ignore")
    query: list[StrictStr]
    prompts: list[StrictStr] | None = None
    labels: Any = None  # the data set's labels: a reward model has no use for them

    @model_validator(mode="after")
    def one_prompt_per_query(self):
        if self.prompts is not None and len(self.prompts) != len(self.query):
            raise ValueError(f"'prompts' has {len(self.prompts)} items and 'query' {len(self.query)}: "
                             "one prompt per query")
        return self


class ScoreRequest(BaseModel):
    """verl's reward-function arguments: one sample, or the lists of verl's batch reward manager."""

    model_config = ConfigDict(extra="ignore")
    data_source: Any = None
    solution_str: StrictStr | None = None
    ground_truth: Any = None
    extra_info: dict | None = None
    data_sources: list | None = None
    solution_strs: list[StrictStr] | None = None
    ground_truths: list | None = None
    extra_infos: list[dict | None] | None = None

    @model_validator(mode="after")
    def one_form(self):
        if (self.solution_str is None) == (self.solution_strs is None):
            raise ValueError("send 'solution_str' (one sample) or 'solution_strs' (a batch): exactly one of them")
        n = len(self.solution_strs or [])
        for name in ("data_sources", "ground_truths", "extra_infos"):
            items = getattr(self, name)
            if self.solution_strs is not None and items is not None and len(items) != n:
                raise ValueError(f"'{name}' has {len(items)} items and 'solution_strs' {n}: one per solution")
        return self


def _validation_reason(e: ValidationError) -> str:
    """pydantic's errors in one line: where and what, the first three (never the values sent: they may be huge)."""
    parts = []
    for err in e.errors()[:3]:
        where = ".".join(str(x) for x in err["loc"])
        what = err["msg"].removeprefix("Value error, ")  # our own checks' messages (model_validator) read as they are
        parts.append(f"{where}: {what}" if where else what)
    more = f" (and {e.error_count() - 3} more)" if e.error_count() > 3 else ""
    return "; ".join(parts) + more


def _check_unicode(texts: Sequence[str], field: str) -> None:
    """JSON may carry lone surrogates ("\\ud800"), which no tokenizer takes: 422, before they reach a batch."""
    for i, text in enumerate(texts):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise HTTPException(422, f"{field}[{i}] is not valid Unicode text (a lone surrogate)") from None


# -- reading a request (steps 1-2) -----------------------------------------------------------------------------------
async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 past `limit` bytes: by its Content-Length first, then by counting what arrives."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(400, f"Content-Length {shorten(declared)} is not a number of bytes")
        if int(declared) > limit:
            raise HTTPException(413, f"the body is {int(declared):,} bytes, over the limit of {limit:,} (--max-body-mb)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the body is over the limit of {limit:,} bytes (--max-body-mb)")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_request(request: Request, limits: Limits, model: type[BaseModel], list_field: str):
    """The body as a `model` (steps 1-2): 413 over the size or with more than max_texts items in `list_field`, 400
    for what is not JSON, 422 for the wrong shape."""
    body = await read_body(request, limits.max_body_bytes)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = str(e) if isinstance(e, ValueError) else "nested too deeply"
        raise HTTPException(400, f"the body is not JSON: {reason[:200]}") from None
    if not isinstance(data, dict):
        raise HTTPException(422, f"the body must be a JSON object, got a JSON {type(data).__name__}")
    items = data.get(list_field)
    if isinstance(items, list) and len(items) > limits.max_texts:
        raise HTTPException(413, f"'{list_field}' has {len(items):,} texts, over the limit of {limits.max_texts:,} "
                                 "per request (--max-texts): send fewer at a time")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise HTTPException(422, _validation_reason(e)) from None


def score_pairs(req: ScoreRequest) -> tuple[list[str], list[str]]:
    """verl's arguments -> (hh prompts, replies); 422 for an extra_info whose prompt cannot be read."""
    if req.solution_strs is None:
        solutions, infos, field = [req.solution_str], [req.extra_info], "extra_info"
    else:
        solutions, infos, field = req.solution_strs, req.extra_infos or [None] * len(req.solution_strs), "extra_infos"
    prompts = []
    for i, info in enumerate(infos):
        try:
            prompts.append(prompt_of(info))
        except ValueError as e:
            where = field if req.solution_strs is None else f"{field}[{i}]"
            raise HTTPException(422, f"{where}.prompt: {e}") from None
    return prompts, [strip_end_tokens(s) for s in solutions]


CONTRACT = """\
Reward model server (python -m rlhf_demo serve-reward): {model}

POST /get_reward      OpenRLHF: {{"query": [texts], "prompts": [prompts]?, "labels": [...]?}} -> {{"rewards": [float]}}
POST /compute_score   verl: {{"data_source", "solution_str", "ground_truth", "extra_info"}} -> {{"score": float}}
                      or {{"data_sources", "solution_strs", "ground_truths", "extra_infos"}} -> {{"scores": [float]}}
                      (the prompt: extra_info["prompt"], hh text or chat messages)
GET  /health          {{"ok", "model", "max_length", "requests", "batches", "texts"}}

A text is split into an hh prompt and a reply: at its prompt when given, else at its last assistant marker
("\\n\\nAssistant:" or "<|im_start|>assistant\\n"); ChatML prompts become hh turns; end tokens are removed.
Bounds: a body of at most {max_body:,} bytes (413), at most {max_texts:,} texts per request (413); bad JSON 400;
a wrong shape 422; every error is {{"detail": reason}}.
"""


# -- the app ----------------------------------------------------------------------------------------------------------
def create_app(score: ScoreFn, info: dict, limits: Limits = Limits()) -> FastAPI:
    """The server's FastAPI app. `score` is the model's blocking ``(hh prompts, replies) -> floats`` (called in a
    worker thread, one batch at a time); `info` is what GET /health says of the model (name, max_length, ...)."""
    batcher = MicroBatcher(score, limits.max_batch, limits.batch_wait_s)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="rlhf_demo reward model", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.batcher = batcher

    @app.exception_handler(ScoringFailed)
    async def scoring_failed(_request, e: ScoringFailed):
        return JSONResponse({"detail": e.detail}, status_code=e.status)

    @app.exception_handler(Exception)
    async def server_fault(_request, e: Exception):
        # a bug of ours: said as JSON like every other error; Starlette raises it again after this answer, and uvicorn
        # logs its traceback
        return JSONResponse({"detail": f"internal error: {type(e).__name__}"}, status_code=500)

    @app.post("/get_reward")
    async def get_reward(request: Request):
        req = await read_request(request, limits, RewardRequest, "query")
        _check_unicode(req.query, "query")
        _check_unicode(req.prompts or [], "prompts")
        prompts, replies = split_queries(req.query, req.prompts)
        return {"rewards": await batcher.submit(prompts, replies)}

    @app.post("/compute_score")
    async def compute_score(request: Request):
        req = await read_request(request, limits, ScoreRequest, "solution_strs")
        prompts, replies = score_pairs(req)
        _check_unicode(prompts, "prompt")
        _check_unicode(replies, "solution_str")
        scores = await batcher.submit(prompts, replies)
        return {"score": scores[0]} if req.solution_strs is None else {"scores": scores}

    @app.get("/health")
    async def health():
        return {"ok": True, **info, "requests": batcher.requests, "batches": batcher.batches, "texts": batcher.texts,
                "max_batch": limits.max_batch, "max_texts": limits.max_texts, "max_body_bytes": limits.max_body_bytes}

    contract = CONTRACT.format(model=info.get("model", "?"), max_body=limits.max_body_bytes, max_texts=limits.max_texts)

    @app.get("/", response_class=PlainTextResponse)
    async def index():
        return contract

    return app
