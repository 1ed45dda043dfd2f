"""The optimisation lab's state for the app: which reward model is gold, the DPO adapters, the last frontier.

Everything lives under the data dir, so it survives a restart like the rest of the app:

    gold.json          the gold reward model someone picked (and whether gold = proxy was asked for on purpose)
    dpo_adapters/<name>/   DPO LoRA adapters (`dpo.trainer.train_dpo`, complete once dpo_meta.json is written)
    frontier.json      the last frontier: one row per point (best-of-N, DPO, PPO), with what it was measured with

The job functions (`dpo_job`, `frontier_job`) run on the app's one job runner (`jobs.py`), so they show progress
and can be stopped like reward training and PPO; the caller (the UI) checks the instructor lock first.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Callable

from rlhf_demo.dpo.config import META_FILE as DPO_META
from rlhf_demo.reward.gold import check_gold, default_gold
from rlhf_demo.settings import NAME_RULE, shorten, valid_name
from rlhf_demo.storage import complete_folders, sweep_temporaries, write_json_atomic

FRONTIER_PROMPTS = 16  # held-out prompts in the app's frontier (the benchmark uses 32): best-of-16 = 256 replies
FRONTIER_NS = (1, 2, 4, 8, 16)


class CompareLab:
    """Gold choice, DPO adapters and the last frontier, under `root` (the app's data dir)."""

    def __init__(self, root: str | Path, registry):
        self.root = Path(root)
        self.registry = registry  # the app's `RewardModelRegistry`: proxy = its active model
        self._lock = threading.RLock()

    # -- gold ------------------------------------------------------------------------------------
    @property
    def _gold_file(self) -> Path:
        return self.root / "gold.json"

    def _chosen(self) -> dict:
        try:
            return json.loads(self._gold_file.read_text())
        except (OSError, ValueError):
            return {}

    def gold_name(self, proxy: str | None = None, models: list[dict] | None = None) -> str | None:
        """The gold model now: the one picked, while it exists and is not the proxy (unless that was asked for),
        else the default (`reward.gold.default_gold`: the other model trained on the most pairs). `models`: the
        registry's list when the caller already has it (a poll), so it is not read twice."""
        proxy = self.registry.active if proxy is None else proxy
        chosen = self._chosen()
        name = chosen.get("name")
        if name and self.registry.exists(name) and (name != proxy or chosen.get("allow_same")):
            return name
        return default_gold(self.registry.list() if models is None else models, proxy)

    def gold_file_text(self) -> str | None:
        """What gold.json holds now (None: nobody picked a gold model): lets a test see that nothing changed."""
        try:
            return self._gold_file.read_text()
        except OSError:
            return None

    def set_gold(self, name: str | None, allow_same: bool = False) -> str | None:
        """Pick the gold model (None / "": back to the default). Refused: an unknown model, or the proxy itself
        unless `allow_same`. Returns the gold model now."""
        name = (name or "").strip() or None
        if name is not None:
            if not self.registry.exists(name):
                raise ValueError(f"No saved reward model named {shorten(name)}.")
            check_gold(name, self.registry.active, allow_same)
        with self._lock:
            write_json_atomic(self._gold_file, {"name": name, "allow_same": bool(allow_same and name)})
        return self.gold_name()

    # -- DPO adapters ---------------------------------------------------------------------------
    @property
    def dpo_dir(self) -> Path:
        return self.root / "dpo_adapters"

    def dpo_adapters(self) -> list[dict]:
        """Complete DPO adapters, oldest first: name, path, beta, steps, loss, accuracy, margin, seconds, policy_path."""
        if not self.dpo_dir.is_dir():
            return []
        sweep_temporaries(self.dpo_dir)
        rows = []
        for d in complete_folders(self.dpo_dir, DPO_META)[0]:
            try:
                meta = json.loads((d / DPO_META).read_text())
            except (OSError, ValueError):
                continue
            res = meta.get("result", {})
            rows.append({"name": d.name, "path": str(d), "beta": res.get("beta"), "steps": res.get("steps"),
                         "pairs": res.get("n_pairs"), "loss": res.get("loss_last"),
                         "accuracy": res.get("reward_accuracy_last"), "margin": res.get("margins_last"),
                         "seconds": res.get("train_seconds"), "created": meta.get("created", 0.0),
                         "policy_path": meta.get("policy_path")})
        return sorted(rows, key=lambda r: (r["created"], r["name"]))

    def new_dpo_name(self, taken: Callable[[str], bool] = lambda name: False) -> str:
        i = len(self.dpo_adapters()) + 1
        while (self.dpo_dir / f"dpo-{i}").exists() or taken(f"dpo-{i}"):
            i += 1
        return f"dpo-{i}"

    def check_dpo_name(self, name: str, taken: Callable[[str], bool] = lambda name: False) -> str:
        name = name.strip()
        if not valid_name(name):
            raise ValueError(f"Adapter name {shorten(name)}: use {NAME_RULE}.")
        if (self.dpo_dir / name).exists() or taken(name):
            raise ValueError(f"The name {shorten(name)} is taken (a DPO adapter or an arena contestant): pick another one.")
        return name

    # -- the frontier -----------------------------------------------------------------------------
    @property
    def _frontier_file(self) -> Path:
        return self.root / "frontier.json"

    def last_frontier(self) -> dict | None:
        """The last frontier computed (rows + what it was measured with), or None."""
        try:
            return json.loads(self._frontier_file.read_text())
        except (OSError, ValueError):
            return None

    def save_frontier(self, result: dict) -> None:
        write_json_atomic(self._frontier_file, result)


def dpo_job(lab: CompareLab, cfg, pairs: list, policy, name: str, on_saved: Callable[[dict], None] | None = None):
    """A job function: DPO on `pairs` (data + the class's votes), live rows under "log" (TRL's metric names), the
    adapter saved as dpo_adapters/<name>; `on_saved(adapter_row)` then makes it an arena contestant."""

    def job(ctx):
        from rlhf_demo.dpo.trainer import train_dpo

        ctx.update(progress=0.0, message=f"loading the policy; DPO on {len(pairs)} pairs, β = {cfg.beta:g}",
                   name=name, n_pairs=len(pairs))
        steps = cfg.max_steps or 1

        def on_log(row: dict) -> None:
            ctx.append("log", row)
            ctx.update(progress=min(row.get("step", 0) / steps, 1.0),
                       message=f"step {row.get('step')}: loss {row.get('loss', float('nan')):.3f}, "
                               f"reward accuracy {row.get('rewards/accuracies', float('nan')):.2f}")

        lab.dpo_dir.mkdir(parents=True, exist_ok=True)
        result = train_dpo(cfg, pairs, lab.dpo_dir / name, policy, on_log=on_log, should_stop=ctx.should_stop)
        saved = next((a for a in lab.dpo_adapters() if a["name"] == name), None)
        if saved is not None and on_saved is not None:
            on_saved(saved)
        return {**result.to_dict(), "name": name}

    return job


def frontier_job(lab: CompareLab, load_policy: Callable[[], tuple], proxy_name: str, gold_name: str,
                 prompts: list[str], adapters: list[tuple[str, str, str]], best_of=FRONTIER_NS, device=None,
                 temperature: float = 0.7, max_new_tokens: int = 48, decoding="eager"):
    """A job function: the reward-KL frontier on held-out `prompts` (see `compare.frontier.frontier`), saved to
    frontier.json with the names of the proxy and gold models. `load_policy()` gives (model, tokenizer): a FRESH
    copy, since the adapters are loaded into it (the arena's copy is left alone). `decoding`: a backend, or a
    function that gives it (called in the job: the app may still be measuring it)."""

    def job(ctx):
        from rlhf_demo.compare.frontier import frontier
        from rlhf_demo.models.presets import format_prompt

        ctx.update(progress=0.0, message="loading the policy, the proxy and the gold reward model")
        proxy, gold = lab.registry.load(proxy_name, device), lab.registry.load(gold_name, device)
        model, tok = load_policy()
        backend = decoding() if callable(decoding) else decoding
        t0 = time.perf_counter()

        def progress(fraction: float, message: str) -> None:
            ctx.update(progress=fraction, message=message)

        rows = frontier(model, tok, proxy, gold, prompts, adapters=adapters, best_of=tuple(best_of), device=device,
                        temperature=temperature, max_new_tokens=max_new_tokens,
                        format_prompt=lambda p: format_prompt(tok, p), on_progress=progress,
                        should_stop=ctx.should_stop, allow_same=proxy_name == gold_name, decoding=backend)
        ctx.check()  # stopped midway: nothing half-done is saved as "the last frontier"
        result = {"rows": rows, "proxy": proxy_name, "gold": gold_name, "n_prompts": len(prompts),
                  "best_of": list(best_of), "temperature": temperature, "max_new_tokens": max_new_tokens,
                  "seconds": round(time.perf_counter() - t0, 1), "computed": time.strftime("%Y-%m-%d %H:%M:%S")}
        lab.save_frontier(result)
        return {"points": len(rows), "seconds": result["seconds"]}

    return job
