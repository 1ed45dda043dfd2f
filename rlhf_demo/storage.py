"""Writing to disk so that a crash (kill -9, a Space restart, a full disk) never leaves something that looks whole
but is not. Imports none of the stages; every saved folder and state file of the app goes through here.

    atomic_folder(final, marker)   write a folder under a hidden temporary name (the caller writes the completion
                                   marker last), fsync every file, then rename it into place (rename is atomic on
                                   one file system): readers see the whole folder or nothing
    write_json_atomic(path, obj)   the same for one JSON file (temporary file, fsync, rename)
    sweep_temporaries(root)        delete the temporary folders/files that killed writers left behind (a writer is
                                   its pid AND its process start time: a new process with a dead writer's pid, after
                                   a container restart, is not that writer)
    complete_folders(root, marker) the folders that have their marker, and the names of those that do not
    write_problem(folder)          why nothing can be written in a folder (asked of the file system), or None
    storage_problem(exc)           what a storage failure means for a user ("the disk is full", "the data folder is
                                   read-only"), or None when `exc` is no storage failure
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path

TMP_PREFIX = ".tmp-"


def fsync_tree(folder: Path) -> None:
    """fsync every file below `folder`, then the folders themselves (so the names are durable too)."""
    entries = list(folder.rglob("*"))
    for p in entries:
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
    for d in [*(p for p in entries if p.is_dir()), folder]:
        fsync_dir(d)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def process_start_time(pid: int) -> str | None:
    """When process `pid` started, as an opaque token (clock ticks since boot, from /proc; psutil's create time where
    there is no /proc), or None when there is no such process (or the platform cannot tell).

    A pid alone does not name a process: after a container restart the app often gets the same small pid again."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2:].split()[19]  # field 22, counted after the "(comm)" that may hold spaces
    except (OSError, ValueError, IndexError):
        if Path("/proc/self/stat").exists():
            return None  # Linux: the process is gone
    try:
        import psutil

        return f"{psutil.Process(pid).create_time():.2f}"
    except Exception:  # noqa: BLE001 - no psutil, no such process, no permission: cannot tell
        return None


def process_alive(pid: int, start: str | None) -> bool:
    """Is the process `pid` that started at `start` (a `process_start_time` token) still running? Without a start
    time only the pid is checked."""
    if start is not None:
        return process_start_time(pid) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_SELF: tuple[int, str] | None = None


def process_token() -> str:
    """This process as written into a temporary name or a lock file: ``<pid>@<start time>`` (``<pid>`` where the start
    time cannot be read). Computed again after a fork."""
    global _SELF
    if _SELF is None or _SELF[0] != os.getpid():
        pid = os.getpid()
        start = process_start_time(pid)
        _SELF = (pid, f"{pid}@{start}" if start else str(pid))
    return _SELF[1]


def temporary_name(final: Path) -> Path:
    """A hidden sibling of `final` that names the writing process, pid and start time (so a sweep can tell a live
    writer from a dead one, even one whose pid a later process got)."""
    return final.parent / f"{TMP_PREFIX}{final.name}-{process_token()}-{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def atomic_folder(final: str | os.PathLike, marker: str):
    """Yield a temporary folder to write `final`'s files into, `marker` last; then fsync, and rename the folder to
    `final`. On any error (or without the marker) the temporary folder is deleted and `final` is untouched.

    `final` must not exist: names are never reused (a FileExistsError says so)."""
    final = Path(final)
    if final.exists():
        raise FileExistsError(f"{final} exists already: pick another name.")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(final)
    tmp.mkdir()
    try:
        yield tmp
        if not (tmp / marker).is_file():
            raise RuntimeError(f"{final.name}: the writer did not write its completion marker {marker}")
        fsync_tree(tmp)
        if final.exists():  # someone else finished the same name meanwhile
            raise FileExistsError(f"{final} exists already: pick another name.")
        os.rename(tmp, final)
        fsync_dir(final.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # only left when something failed


def file_sha256(path: str | os.PathLike, n: int = 12) -> str:
    """The first `n` hex digits of a file's sha256: an immutable id of what a saved model is."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:n]


def check_new_folder(path: str | os.PathLike, what: str) -> Path:
    """`path` as a folder to be written later: it must not exist, and its parent must be (or become) a writable
    folder. Raises ValueError with a clear message naming `what` (a flag, a field); creates nothing."""
    path = Path(path).expanduser()
    sweep_temporaries(path.parent, path.name)  # what an earlier, killed writer of this very folder left behind
    if path.exists():
        kind = "a folder" if path.is_dir() else "a file"
        raise ValueError(f"{what} {path}: {kind} with this name exists already; give a new name (nothing is overwritten)")
    parent = nearest_existing(path.parent)
    if not parent.is_dir():
        raise ValueError(f"{what} {path}: {parent} is a file, not a folder")
    problem = write_problem(parent)
    if problem:
        raise ValueError(f"{what} {path}: cannot write in {parent} ({problem})")
    return path


def nearest_existing(path: str | os.PathLike) -> Path:
    """`path` if it exists, else its nearest existing parent (where it would be made)."""
    path = Path(path).expanduser()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def write_problem(folder: str | os.PathLike) -> str | None:
    """Why nothing can be written in `folder` (or, when it does not exist yet, in its nearest existing parent, where
    it would be made), or None when a file can be created there. Creates nothing that stays."""
    folder = nearest_existing(folder)
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    probe = temporary_name(folder / "write-probe")
    try:  # ask the file system itself: permissions say nothing about /proc, a read-only mount or root
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as e:
        return storage_problem(e) or (e.strerror or str(e))
    return None


DISK_FULL = "the disk is full"
READ_ONLY = "the data folder is read-only"
_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}
_SQLITE_FULL = ("database or disk is full",)
_SQLITE_READ_ONLY = ("readonly database", "read-only database", "unable to open database file")


def storage_problem(exc: BaseException) -> str | None:
    """DISK_FULL or READ_ONLY when `exc` (or an exception it was raised from) is that storage failure: an OSError's
    errno, or SQLite's message (sqlite3 keeps no errno). None for anything else."""
    import sqlite3

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno is not None:
            if exc.errno in _FULL_ERRNOS:
                return DISK_FULL
            if exc.errno in _READ_ONLY_ERRNOS:
                return READ_ONLY
        if isinstance(exc, sqlite3.Error):
            text = str(exc).lower()
            if any(m in text for m in _SQLITE_FULL):
                return DISK_FULL
            if any(m in text for m in _SQLITE_READ_ONLY):
                return READ_ONLY
        exc = exc.__cause__ or exc.__context__
    return None


def _write_atomic(path: str | os.PathLike, write) -> None:
    """Replace `path` with what `write(file)` writes: readers see the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        with open(tmp, "w") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: str | os.PathLike, obj) -> None:
    """Replace `path` with `obj` as JSON, atomically."""
    _write_atomic(path, lambda f: json.dump(obj, f, indent=2))


def write_jsonl_atomic(path: str | os.PathLike, records) -> None:
    """Replace `path` with one JSON record per line, atomically."""
    _write_atomic(path, lambda f: f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def _writer_alive(name: str) -> bool:
    """Is the process that named this temporary entry still running? (`.tmp-<final>-<pid>@<start>-<8 hex>`; an older
    version wrote `<pid>` alone)"""
    parts = name.rsplit("-", 2)
    if len(parts) != 3:
        return False
    pid, _, start = parts[1].partition("@")
    if not pid.isdigit():
        return False
    if parts[1] == process_token():
        return True  # one of ours
    if not start:  # the older name: never this process (it writes start times), else ask by pid alone
        return int(pid) != os.getpid() and process_alive(int(pid), None)
    return process_alive(int(pid), start)


def sweep_temporaries(root: str | os.PathLike, final_name: str | None = None) -> list[str]:
    """Delete the temporary entries under `root` (one level) whose writer is gone (only those of `final_name` when
    given); return their names."""
    root = Path(root)
    swept = []
    if not root.is_dir():
        return swept
    prefix = TMP_PREFIX + (f"{final_name}-" if final_name else "")
    for p in root.iterdir():
        if p.name.startswith(prefix) and not _writer_alive(p.name):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            swept.append(p.name)
    return swept


def complete_folders(root: str | os.PathLike, marker: str) -> tuple[list[Path], list[str]]:
    """(folders under `root` that hold `marker`, names of visible folders that do not): hidden entries are skipped."""
    root = Path(root)
    complete, incomplete = [], []
    if not root.is_dir():
        return complete, incomplete
    for d in sorted(root.iterdir()):
        if d.name.startswith(".") or not d.is_dir():
            continue
        (complete if (d / marker).is_file() else incomplete).append(d if (d / marker).is_file() else d.name)
    return complete, incomplete


def storage_status(data_dir: Path, min_free_bytes: int = 0) -> str | None:
    """READ_ONLY or DISK_FULL (fewer than `min_free_bytes` free) for the data folder, another reason why nothing can
    be written there, or None. Asked of the file system now (a probe file), never remembered."""
    problem = write_problem(data_dir)
    if problem or not min_free_bytes:
        return problem
    try:
        return DISK_FULL if shutil.disk_usage(nearest_existing(data_dir)).free < min_free_bytes else None
    except OSError:
        return None


def storage_message(problem: str) -> str:
    """What a storage problem means for the people using the app (never the server's paths)."""
    if problem == READ_ONLY:
        return ("the data folder is read-only: nothing can be saved (votes, models, checkpoints). Whoever runs the app "
                "must make its data folder (RLHF_DATA_DIR) writable and restart it.")
    if problem == DISK_FULL:
        return ("the disk is full: nothing more can be saved (votes, models, checkpoints). Whoever runs the app must "
                "free some space on it.")
    return f"the data folder cannot be written ({problem}). Whoever runs the app must fix it and restart it."


def download_path(data_dir: str | Path, filename: str, keep: int = 20, max_age_seconds: float = 3600) -> Path:
    """Where a download (a votes export, a chart) is written: ONE folder per data dir in the system's temp dir (Gradio
    serves files from there), pruned at every call to the newest `keep` files of the last `max_age_seconds`."""
    import hashlib
    import tempfile

    key = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:10]
    folder = Path(tempfile.gettempdir()) / f"rlhf-playground-exports-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    files = sorted((f for f in folder.iterdir() if f.is_file()), key=lambda f: f.stat().st_mtime, reverse=True)
    now = time.time()
    for i, f in enumerate(files):
        if i >= keep - 1 or now - f.stat().st_mtime > max_age_seconds:
            f.unlink(missing_ok=True)
    return folder / filename
