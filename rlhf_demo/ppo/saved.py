"""What a PPO run leaves on disk, read back: saved checkpoints (each an arena contestant) and autosaves (a run that
a restart, a Reset or a Resume set aside, offered for resuming until it is discarded).

    scan_checkpoints(dir, refused)  the complete checkpoint folders, oldest first (killed saves swept, NaN refused)
    autosaves_by_run(dir)           the complete autosaves, grouped by run id, each run's oldest first
    newest_other_run(dir, run_id)   the newest save of the most recently saved run other than `run_id`
    open_autosave(saved)            that save's config and session, read back to resume it
    checkpoint_name(name, step, taken)   the name a new checkpoint is saved under (never one already taken)

Each row carries the reward spec the run was trained against ("reward": `RewardSpec.to_dict()`, None in saves from
before ensembles, which name their one model in "reward_name").

An autosave folder is named run-<run id>-step<K>-<ns>; older apps wrote run-step<K>-<ns> (each such folder is a run
of its own). Every folder is written atomically with a completion marker (`STATE_FILE`): a folder without one is
never read.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from typing import Callable

from rlhf_demo.ppo.config import STATE_FILE, PPOConfig
from rlhf_demo.settings import NAME_RULE, shorten, valid_name
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
                     "reward_name": state.get("reward_name"), "reward": state.get("reward")})
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
    reward_name, reward, run}."""
    others = [saves[-1] for run, saves in autosaves_by_run(autosave_dir).items() if run != run_id]
    if not others:
        return None
    latest = max(others, key=lambda r: r["ns"])
    return {k: latest[k] for k in ("path", "step", "saved", "reward_name", "reward", "run")}


def open_autosave(saved: dict) -> tuple[dict, PPOConfig, dict]:
    """(saved, its config, its session: history, samples, probes, evals) of the save `newest_other_run` offered. An
    older app's save (run-step<K>-<ns>) first gets a run id, by an atomic rename, before anything is read: `saved`
    then names the new folder and run id."""
    folder = Path(saved["path"])
    if not re.fullmatch(r"[0-9a-f]{12}", saved["run"]):
        m = AUTOSAVE_RE.fullmatch(folder.name)
        run_id = new_run_id()
        folder = folder.rename(folder.with_name(f"run-{run_id}-step{m['step']}-{m['ns']}"))
        saved = {**saved, "path": str(folder), "run": run_id}
    state = json.loads((folder / STATE_FILE).read_text())
    config = PPOConfig(**{k: (tuple(v) if isinstance(v, list) and k == "stop_strings" else v)
                          for k, v in state["config"].items() if k in PPOConfig.__dataclass_fields__})
    return saved, config, json.loads((folder / "session.json").read_text())


def checkpoint_name(name: str | None, step: int, taken: Callable[[str], bool]) -> str:
    """A given name, checked (valid, and not `taken`: ValueError with the reason), or the default ppo-step<K>, with
    a suffix (-2, -3, ...) when that is taken."""
    name = (name or "").strip()
    if name:
        if not valid_name(name):
            raise ValueError(f"Checkpoint name {shorten(name)}: use {NAME_RULE}.")
        if taken(name):
            raise ValueError(f"Checkpoint name {shorten(name)} is taken (a saved checkpoint or an arena contestant): "
                             "pick another name.")
        return name
    base, i = f"ppo-step{step}", 2
    name = base
    while taken(name):
        name, i = f"{base}-{i}", i + 1
    return name
