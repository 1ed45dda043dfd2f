"""Writing to disk so that a crash (kill -9, a Space restart, a full disk) never leaves something that looks whole
but is not. Imports none of the stages; every saved folder and state file of the app goes through here.

    atomic_folder(final, marker)   write a folder under a hidden temporary name (the caller writes the completion
                                   marker last), fsync every file, then rename it into place (rename is atomic on
                                   one file system): readers see the whole folder or nothing
    write_json_atomic(path, obj)   the same for one JSON file (temporary file, fsync, rename)
    sweep_temporaries(root)        delete the temporary folders/files that killed writers left behind
    complete_folders(root, marker) the folders that have their marker, and the names of those that do not
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
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


def temporary_name(final: Path) -> Path:
    """A hidden sibling of `final` that names the writing process (so a sweep can tell a live writer from a dead one)."""
    return final.parent / f"{TMP_PREFIX}{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


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
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{what} {path}: {parent} is a file, not a folder")
    probe = temporary_name(parent / "write-probe")
    try:  # ask the file system itself: permissions say nothing about /proc, a read-only mount or root
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as e:
        raise ValueError(f"{what} {path}: cannot write in {parent} ({e.strerror or e})") from None
    return path


def write_json_atomic(path: str | os.PathLike, obj) -> None:
    """Replace `path` with `obj` as JSON: readers see the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _writer_alive(name: str) -> bool:
    """Is the process that named this temporary entry still running? (`.tmp-<final>-<pid>-<8 hex>`)"""
    parts = name.rsplit("-", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
