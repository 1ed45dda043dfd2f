"""Issue 21, items 5, 6, 7 and the temp sweep: the upload route, storage errors, two apps on one data folder.

A full disk is a real one (a 4 MB tmpfs) and a read-only data folder a real read-only bind mount: both need root
(mount); without it those tests are skipped, never faked.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from gradio_client import Client

from tests.conftest import REPO, free_port, serve

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _mount(*args: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tiny or read-only file system")
    r = subprocess.run(["mount", *args], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount here: {r.stderr.strip()}")


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _client(url: str) -> Client:
    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def _fill(folder: Path) -> None:
    """Fill the file system of `folder` to the last byte."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 16, 1 << 12, 1):  # then what is left of the last page
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------------------------------------
# an app on a 4 MB disk: item 5 (uploads) and item 6 (a full disk)


@pytest.fixture(scope="module")
def small_disk_app(tmp_path_factory, sample_path):
    from rlhf_demo.settings import Settings

    disk = tmp_path_factory.mktemp("small-disk")
    _mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk))
    try:
        url, ws, demo = serve(Settings(data=str(sample_path), offline=True, policy="tiny", decoding="eager",
                                       data_dir=disk / "rlhf_data"))
        try:
            yield url, ws, demo, disk
        finally:
            demo.close()
    finally:
        _umount(disk)


def test_upload_route_is_closed_when_no_component_takes_files(small_disk_app):
    """Item 5: the app takes no files, yet POST /gradio_api/upload stored any number of files and answered with the
    server's paths. Now: 403, nothing written, no path in the answer."""
    import gradio.utils

    url, _, demo, _ = small_disk_app
    upload_dir = Path(gradio.utils.get_upload_folder())
    before = set(upload_dir.rglob("*")) if upload_dir.is_dir() else set()
    files = [("files", (f"f{i}.bin", os.urandom(1 << 20), "application/octet-stream")) for i in range(3)]
    for path in ("gradio_api/upload", "gradio_api/upload/", "gradio_api//upload?upload_id=x1"):
        r = requests.post(url + path, files=files, timeout=30)
        assert r.status_code in (403, 413), (path, r.status_code, r.text[:200])
        assert "/" not in r.text and "takes no files" in r.text, r.text
    after = set(upload_dir.rglob("*")) if upload_dir.is_dir() else set()
    assert not {p for p in after - before if p.suffix == ".bin"}, "an upload reached the disk"
    assert requests.get(url + "gradio_api/info", timeout=30).ok  # the rest of the app still answers
    from rlhf_demo.ui.guards import takes_files

    assert not takes_files(demo)


def test_upload_quota_where_a_component_takes_files():
    """Item 5, an app that does take files: a few uploads per client address, then 429."""
    import asyncio

    import gradio as gr

    from rlhf_demo.ui.guards import UploadGuard, takes_files

    with gr.Blocks() as blocks:
        f = gr.File()
        out = gr.Textbox()
        f.upload(lambda x: "ok", f, out)
    assert takes_files(blocks)
    passed = []

    async def inner(scope, receive, send):
        passed.append(scope["path"])

    class StubApp:
        def get_blocks(self):
            return blocks

    guard = UploadGuard(inner, quota=(2, 3600.0))
    sent = []

    async def send(msg):
        sent.append(msg)

    def upload(client):
        scope = {"type": "http", "method": "POST", "path": "/gradio_api/upload", "client": (client, 1), "app": StubApp()}
        asyncio.run(guard(scope, None, send))

    upload("1.2.3.4"), upload("1.2.3.4"), upload("1.2.3.4"), upload("5.6.7.8")
    assert len(passed) == 3  # two of the first client, one of the second
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [429]


def test_a_full_disk_is_a_clear_error_in_the_arena(small_disk_app):
    """Item 6: /arena_round on a full disk raised sqlite3.OperationalError("database or disk is full"), shown to
    voters as "The upstream Gradio app has raised an exception". Now it says that the disk is full."""
    from gradio_client.exceptions import AppError

    url, ws, _, disk = small_disk_app
    c = _client(url)
    r = c.predict("Name a fruit.", api_name="/arena_round")  # the vote file exists and works
    assert r["round_id"]
    _fill(disk)
    try:
        with pytest.raises(AppError, match="(?i)the disk is full") as info:
            for _ in range(3):  # SQLite may still fit one round in a page it has
                c.predict("Name a vegetable.", api_name="/arena_round")
        assert str(ws.settings.data_dir) not in str(info.value)
    finally:
        (disk / "filler").unlink(missing_ok=True)


def test_the_storage_mapping_reads_errno_and_sqlite():
    """Item 6: the one mapping from a storage failure to what a user is told."""
    import errno
    import sqlite3

    from rlhf_demo.storage import DISK_FULL, READ_ONLY, storage_problem

    assert storage_problem(sqlite3.OperationalError("database or disk is full")) == DISK_FULL
    assert storage_problem(sqlite3.OperationalError("attempt to write a readonly database")) == READ_ONLY
    assert storage_problem(OSError(errno.ENOSPC, "No space left on device")) == DISK_FULL
    assert storage_problem(OSError(errno.EROFS, "Read-only file system")) == READ_ONLY
    try:
        try:
            raise OSError(errno.EROFS, "Read-only file system")
        except OSError as e:
            raise ValueError("could not save") from e
    except ValueError as e:
        assert storage_problem(e) == READ_ONLY  # through the chain
    assert storage_problem(ValueError("bad name")) is None
    assert storage_problem(sqlite3.OperationalError("no such table: votes")) is None


# ------------------------------------------------------------------------------------------------------------
# an app on a read-only data folder: item 6


@pytest.fixture(scope="module")
def read_only_app(tmp_path_factory, sample_path):
    from rlhf_demo.reward.registry import META_FILE
    from rlhf_demo.settings import Settings

    src = tmp_path_factory.mktemp("ro-src")
    model = src / "reward_models" / "rm-saved"  # a saved reward model (its marker), to be made active
    model.mkdir(parents=True)
    (model / META_FILE).write_text(json.dumps({"name": "rm-saved"}))
    (src / "reward_models" / "active.json").write_text(json.dumps({"name": "rm-saved"}))
    ro = tmp_path_factory.mktemp("ro")
    _mount("--bind", str(src), str(ro))
    try:
        _mount("-o", "remount,bind,ro", str(ro))
        url, ws, demo = serve(Settings(data=str(sample_path), offline=True, policy="tiny", decoding="eager", data_dir=ro))
        try:
            yield url, ws
        finally:
            demo.close()
    finally:
        _umount(ro)


def test_a_read_only_data_folder_is_named_at_start_and_in_every_error(read_only_app):
    """Item 6: with a read-only data folder, /votes_reset and /model_activate failed with the generic error. Now
    the header says so at start, and both name the read-only folder."""
    from gradio_client.exceptions import AppError

    from rlhf_demo.ui.app import header_markdown

    url, ws = read_only_app
    c = _client(url)
    for args, api in ((("",), "/votes_reset"), (("", "rm-saved"), "/model_activate")):
        with pytest.raises(AppError, match="(?i)the data folder is read-only"):
            c.predict(*args, api_name=api)
    assert "read-only" in header_markdown(ws)
    assert "read-only" in requests.get(url, timeout=30).text  # the page's header says it


def test_a_read_only_data_folder_refuses_training_up_front(read_only_app):
    """Item 6: the app accepted reward training, PPO and DPO on a read-only folder and let them fail later (PPO
    after 2 steps, at its autosave). Now each is refused when asked, and no job starts."""
    from gradio_client.exceptions import AppError

    url, ws = read_only_app
    c = _client(url)
    calls = ((("",), {"use_votes": False, "n_pairs": 64}, "/reward_train"), (("",), {"steps": 2}, "/ppo_start"),
             (("",), {"steps": 2, "use_votes": False}, "/dpo_train"))
    for args, kwargs, api in calls:
        with pytest.raises(AppError, match="(?i)read-only"):
            c.predict(*args, **kwargs, api_name=api)
        assert not ws.jobs.snapshot().active, api
    for kind in ("reward", "ppo", "dpo"):
        assert ws.jobs.snapshot(kind).state == "idle", kind


# ------------------------------------------------------------------------------------------------------------
# two apps on one data folder: item 7


def _holder(folder: Path) -> subprocess.Popen:
    """Another process that holds `folder`'s lock until killed; returns once it holds it."""
    code = ("import sys, time; from rlhf_demo.folder_lock import hold_data_folder; "
            "h = hold_data_folder(sys.argv[1]); print('held', flush=True); time.sleep(600)")
    p = subprocess.Popen([sys.executable, "-c", code, str(folder)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def _app(folder: Path, **kw) -> subprocess.Popen:
    env = {**os.environ, "RLHF_DATA_DIR": str(folder), "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "app.py", "--offline", "--policy", "tiny", "--decoding", "eager", "--port",
                             str(free_port())], cwd=REPO, env=env, text=True, **kw)


def test_a_second_app_on_one_data_folder_is_refused_at_start(tmp_path):
    """Item 7: two apps on one RLHF_DATA_DIR undid each other (autosaves deleted each other's runs). Now the second
    one is refused at start: one `error:` line naming the first, exit status 2."""
    first = _app(tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for line in first.stdout:  # serving (it holds the data folder)
            if "ready in" in line:
                break
        assert first.poll() is None, "the first app did not start"
        second = _app(tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = second.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            second.kill()
            second.communicate()
            pytest.fail("the second app on the same data folder started")
        assert second.returncode == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert f"pid {first.pid}" in lines[0] and "RLHF_DATA_DIR" in lines[0], lines[0]
    finally:
        first.kill()
        first.wait()


def test_a_stale_data_folder_lock_is_recovered(tmp_path):
    """Item 7: a lock left by a killed app (kill -9), or a lock file naming a process that is gone or that reused
    the pid, does not keep the next app out."""
    from rlhf_demo.folder_lock import LOCK_NAME, DataFolderInUse, hold_data_folder

    first = _holder(tmp_path)
    with pytest.raises(DataFolderInUse, match=f"pid {first.pid}"):
        hold_data_folder(tmp_path)
    first.send_signal(signal.SIGKILL)
    first.wait()
    held = hold_data_folder(tmp_path)  # the killed holder's lock is gone
    assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    held.release()
    # a file naming this very pid with another start time (a container restart) is no holder either
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": os.getpid(), "start": "1", "started_at": 0}))
    hold_data_folder(tmp_path).release()


def test_vote_filters_follow_the_file(tmp_path, sample_path):
    """Item 7: vote filters were cached per process: after app A set a 2 s minimum, B kept counting with its old
    filters until a restart. Now each reads the file again when it changed."""
    from dataclasses import replace

    from rlhf_demo.settings import Settings
    from rlhf_demo.workspace import Workspace

    settings = Settings(data=str(sample_path), offline=True, policy="tiny", data_dir=tmp_path)
    a, b = Workspace(settings), Workspace(settings)
    assert a.standings.filters == b.standings.filters  # both read (and remember) the defaults
    new = replace(a.standings.filters, min_seconds=2.0 if a.standings.filters.min_seconds != 2.0 else 3.0, cap_per_hour=7)
    a.standings.set_filters(new)
    assert b.standings.filters == new
    assert b.standings.key()[2] == new
    newer = replace(new, cap_per_hour=9)
    b.standings.set_filters(newer)
    assert a.standings.filters == newer


# ------------------------------------------------------------------------------------------------------------
# the temp sweep: item 9


def test_the_temp_sweep_tells_a_restarted_pid_from_its_writer(tmp_path):
    """Item 9: temporaries were named by pid alone, and one named with the app's own pid was kept as a live
    writer's. After a container restart the app often gets the killed writer's pid: its temporary was never swept.
    Now a writer is its pid and its process start time."""
    from rlhf_demo.storage import sweep_temporaries, temporary_name

    pid = os.getpid()
    killed_old = tmp_path / f".tmp-rm-a-{pid}-{uuid.uuid4().hex[:8]}"  # a writer before the restart (pid only)
    killed_new = tmp_path / f".tmp-rm-b-{pid}@1-{uuid.uuid4().hex[:8]}"  # same pid, another start time
    live = temporary_name(tmp_path / "rm-c")  # this process, writing now
    for p in (killed_old, killed_new, live):
        p.mkdir()
    swept = sweep_temporaries(tmp_path)
    assert killed_old.name in swept and not killed_old.exists()
    assert sorted(swept) == sorted([killed_old.name, killed_new.name])
    assert live.is_dir() and not killed_new.exists()
    # a live process of another pid (with its real start time) is kept
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        from rlhf_demo.storage import process_start_time

        for _ in range(50):
            start = process_start_time(child.pid)
            if start:
                break
            time.sleep(0.05)
        other = tmp_path / f".tmp-rm-d-{child.pid}@{start}-{uuid.uuid4().hex[:8]}"
        other.mkdir()
        assert sweep_temporaries(tmp_path) == []
    finally:
        child.kill()
        child.wait()
    assert sweep_temporaries(tmp_path) == [other.name]
