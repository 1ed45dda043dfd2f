"""What a PPO run leaves on disk, read back: saved checkpoints (each an arena contestant) and autosaves (a run that
a restart, a Reset or a Resume set aside, offered for resuming until it is discarded).

    scan_checkpoints(dir, refused)  the complete checkpoint folders, oldest first (killed saves swept, NaN refused)
    autosaves_by_run(dir)           the complete autosaves, grouped by run id, each run's oldest first
    newest_other_run(dir, run_id)   the newest save of the most recently saved run other than `run_id`

An autosave folder is named run-<run id>-step<K>-<ns>; older apps wrote run-step<K>-<ns> (each such folder is a run
of its own). Every folder is written atomically with a completion marker (`STATE_FILE`): a folder without one is
never read.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from rlhf_demo.ppo.config import STATE_FILE
from rlhf_demo.storage import complete_folders, sweep_temporaries

AUTOSAVE_RE = re.compile(r"run-(?:(?P<run>[0-9a-f]{12})-)?step(?P<step>\d+)-(?P<ns>\d+)")


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def scan_checkpoints(checkpoint_dir: Path, refused: dict[str, str] | None = None) -> tuple[list[dict], list[str]]:
    """(the complete checkpoints under `checkpoint_dir`, oldest first; the names of folders left out). Temporary
    folders of killed saves are swept; a folder without the completion marker (or with an unreadable one) is never
    listed. With a `refused` dict, the adapter weights are read too: a checkpoint whose weights are NaN or infinite
    (or unreadable) is never listed either, and `refused[name]` says why."""
    sweep_temporaries(checkpoint_dir)
    complete, skipped = complete_folders(checkpoint_dir, STATE_FILE)
    rows = []
    for d in complete:
        try:
            state = json.loads((d / STATE_FILE).read_text())
        except (OSError, ValueError):
            skipped.append(d.name)
            continue
        if refused is not None:
            from rlhf_demo.models.weights import saved_weights_problem

            weights = d / "adapter_model.safetensors"
            problem = saved_weights_problem(weights) if weights.is_file() else None
            if problem is not None:
                refused[d.name] = problem
                continue
        rows.append({"name": d.name, "path": str(d), "step": state.get("step"), "score": state.get("score"),
                     "kl": state.get("kl"), "saved": state.get("saved", ""), "uid": state.get("adapter_sha256", ""),
                     "reward_name": state.get("reward_name")})
    return sorted(rows, key=lambda r: (r["saved"], r["name"])), skipped


def autosaves_by_run(autosave_dir: Path | None) -> dict[str, list[dict]]:
    """The complete autosaves under `autosave_dir` by run id, each run's oldest first ({} without a folder)."""
    runs: dict[str, list[dict]] = {}
    if autosave_dir is None:
        return runs
    for row in scan_checkpoints(autosave_dir)[0]:
        m = AUTOSAVE_RE.fullmatch(row["name"])
        if m is not None:
            runs.setdefault(m["run"] or row["name"], []).append({**row, "run": m["run"] or row["name"],
                                                                 "ns": int(m["ns"])})
    for saves in runs.values():
        saves.sort(key=lambda r: r["ns"])
    return runs


def newest_other_run(autosave_dir: Path | None, run_id: str) -> dict | None:
    """The newest save of the most recently saved run other than `run_id` (None: there is none): {path, step, saved,
    reward_name, run}."""
    others = [saves[-1] for run, saves in autosaves_by_run(autosave_dir).items() if run != run_id]
    if not others:
        return None
    latest = max(others, key=lambda r: r["ns"])
    return {k: latest[k] for k in ("path", "step", "saved", "reward_name", "run")}
