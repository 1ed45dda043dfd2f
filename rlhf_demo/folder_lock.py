"""One app per data folder: a lock file that a second app on the same RLHF_DATA_DIR is refused by, at start.

Two apps on one folder undo each other: each PPO autosave deletes the other's run, each keeps its own copy of the
vote filters, both write the same models. So `app.py` takes ``<data dir>/.app.lock`` before it builds anything:

    hold_data_folder(folder)   the held lock (keep it for the life of the process), or DataFolderInUse naming the app
                               that holds it (its pid, when it started)

The lock is an OS lock (``flock``) on the file, which the kernel drops when its process dies however it dies: a lock
left by a killed app is recovered at the next start, whatever pid the new app gets. The file also holds the holder's
pid and process start time (`storage.process_token`): the message says who holds it, and where the file system
has no ``flock`` the pid and start time alone decide whether the holder still runs. A data folder that cannot be
written at all is not locked (nothing can be written there to undo); the app says that it is read-only.
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

from rlhf_demo.storage import process_alive, process_token

LOCK_NAME = ".app.lock"


class DataFolderInUse(ValueError):
    """Another running app holds the data folder: the message says which and what to do."""


class HeldLock:
    """The lock of one data folder, held while this object lives (or until `release`)."""

    def __init__(self, path: Path, fd: int | None):
        self.path, self._fd = path, fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops the flock
            self._fd = None

    def __del__(self):
        self.release()


def _holder(path: Path) -> dict:
    try:
        holder = json.loads(path.read_text())
        return holder if isinstance(holder, dict) else {}
    except (OSError, ValueError):
        return {}


def _in_use(folder: Path, holder: dict) -> DataFolderInUse:
    pid = holder.get("pid", "?")
    since = holder.get("started_at")
    when = f", started {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(since))}" if isinstance(since, (int, float)) else ""
    return DataFolderInUse(f"another RLHF Playground app (pid {pid}{when}) is using the data folder {folder}: two apps "
                           "on one folder undo each other's work (runs, vote filters). Stop that app, or give this one "
                           "its own folder with RLHF_DATA_DIR.")


def hold_data_folder(folder: str | os.PathLike) -> HeldLock:
    """Take the data folder's lock for this process, or raise DataFolderInUse (another live app holds it)."""
    import fcntl

    folder = Path(folder).expanduser()
    path = folder / LOCK_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        try:  # a read-only folder: still refuse to run beside a live writer that locked it before
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return HeldLock(path, None)  # nothing can be written there, so there is nothing to undo
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            os.close(fd)
            raise _in_use(folder, _holder(path)) from None
        # no flock on this file system (some network mounts): the pid and start time in the file decide
        holder = _holder(path)
        pid, start = holder.get("pid"), holder.get("start")
        if isinstance(pid, int) and f"{pid}@{start}" != process_token() and process_alive(pid, start):
            os.close(fd)
            raise _in_use(folder, holder) from None
    token = process_token()
    pid, _, start = token.partition("@")
    record = json.dumps({"pid": int(pid), "start": start or None, "started_at": time.time()}).encode()
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, record, 0)
    except OSError:
        pass  # a read-only folder: held, unrecorded
    return HeldLock(path, fd)
