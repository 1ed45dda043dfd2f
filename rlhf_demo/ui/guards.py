"""Guards around every handler and around Gradio's server: storage failures that say what happened, and the upload
route closed for an app that takes no files (issue 21)."""

from __future__ import annotations

import functools
import inspect
import json
import threading
import time

import gradio as gr

from rlhf_demo.storage import storage_message, storage_problem, storage_status
from rlhf_demo.ui.common import error
from rlhf_demo.workspace import Workspace


def explain_storage_errors(ws: Workspace, fn):
    """`fn` (a handler) with a storage failure turned into a gr.Error that says what happened ("the disk is full",
    "the data folder is read-only") instead of Gradio's "The upstream Gradio app has raised an exception". The failure
    is read from the exception (errno, SQLite's message), else from the data folder itself: when a handler fails
    and nothing can be written there, that is what the user needs to hear. Other errors pass unchanged."""

    def explain(e: Exception) -> gr.Error | None:
        if isinstance(e, gr.Error):
            return None
        problem = storage_problem(e) or storage_status(ws.settings.data_dir)
        if problem is None:
            return None
        print(f"[rlhf-playground] {getattr(fn, '__name__', 'handler')}: {problem} ({type(e).__name__}: "
              f"{str(e)[:200]})", flush=True)
        text = storage_message(problem)
        return error(text[0].upper() + text[1:])

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as e:
                mapped = explain(e)
                if mapped is None:
                    raise
                raise mapped from e
        return generator
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        return fn  # the app has none; Gradio's own async helpers touch no storage

    @functools.wraps(fn)  # Gradio reads the signature through __wrapped__: inputs, gr.Request, progress
    def handler(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            mapped = explain(e)
            if mapped is None:
                raise
            raise mapped from e
    return handler


def takes_files(blocks: gr.Blocks) -> bool:
    """Does any component of `blocks` accept files from a visitor: one whose value is a file (Gradio's FileData) and
    that is an input of an event or interactive?"""
    inputs = {id(c) for f in blocks.fns.values() for c in f.inputs}
    for block in blocks.blocks.values():
        if not (id(block) in inputs or getattr(block, "interactive", None)) or not hasattr(block, "api_info"):
            continue
        try:
            if "FileData" in json.dumps(block.api_info()):
                return True
        except NotImplementedError:  # a button, a layout: no value at all
            continue
        except Exception:  # noqa: BLE001 - a component that cannot describe its value: assume it may take files
            return True
    return False


UPLOAD_QUOTA = (20, 3600.0)  # where some component takes files: uploads per client address per hour


class UploadGuard:
    """ASGI middleware around Gradio's app for its upload route (``POST /gradio_api/upload``), which is open to anyone
    whether or not the app takes files, keeps what it gets for up to an hour and answers with the server's paths:

    - no component takes files (this app): every upload is refused with 403, nothing is written;
    - else: `UPLOAD_QUOTA` uploads per client address per hour (then 429), each at most ``max_file_size``."""

    def __init__(self, app, quota: tuple[int, float] = UPLOAD_QUOTA):
        self.app = app
        self.quota = quota
        self._takes_files: dict[int, bool] = {}  # per Blocks (by id), decided at its first upload
        self._recent: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def is_upload(scope) -> bool:
        path = "/" + "/".join(p for p in scope.get("path", "").split("/") if p)
        return scope.get("type") == "http" and scope.get("method") == "POST" and path.endswith("/gradio_api/upload")

    def _verdict(self, scope) -> tuple[int, str] | None:
        blocks = scope["app"].get_blocks() if hasattr(scope.get("app"), "get_blocks") else None
        if blocks is None or not self._takes_files.setdefault(id(blocks), takes_files(blocks)):
            return 403, "This app takes no files: uploads are closed."
        n, seconds = self.quota
        client = (scope.get("client") or ("?", 0))[0]
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._recent.get(client, []) if now - t < seconds]
            if len(recent) >= n:
                self._recent[client] = recent
                return 429, f"Too many uploads: at most {n} per {seconds / 60:g} minutes."
            self._recent[client] = [*recent, now]
        return None

    async def __call__(self, scope, receive, send):
        refused = self._verdict(scope) if self.is_upload(scope) else None
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, text = refused
        body = text.encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
