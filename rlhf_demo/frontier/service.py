"""The reward-KL frontier as the app drives it: a background job over every method, and the last result on disk.

    frontier.json   the last frontier: one row per point (best-of-N, DPO, PPO), with what it was measured with

The job samples a FRESH copy of the policy (the adapters are loaded into it; the arena's copy is left alone), scores
with the proxy (the active reward model) and the gold model, and saves only a finished result. The caller (the UI)
checks the instructor lock first. Errors the user can fix are `ValueError`s with a sentence to show.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

from rlhf_demo.arena.contestants import ContestantRegistry
from rlhf_demo.dpo.config import META_FILE as DPO_META
from rlhf_demo.jobs import JobRunner
from rlhf_demo.models.loaded import LoadedPolicy
from rlhf_demo.reward.gold import GoldChoice
from rlhf_demo.reward.registry import RewardModelRegistry
from rlhf_demo.storage import write_json_atomic

JOB = "frontier"  # the job kind of a frontier on the app's job runner
FRONTIER_PROMPTS = 16  # held-out prompts in the app's frontier (the benchmark uses 32): best-of-16 = 256 replies
FRONTIER_NS = (1, 2, 4, 8, 16)


def adapter_points(contestants: ContestantRegistry) -> list[tuple[str, str, str]]:
    """(method, name, path) of every adapter in the arena: PPO checkpoints and DPO adapters of the policy in use."""
    return [("dpo" if (Path(c.adapter_path) / DPO_META).is_file() else "ppo", c.name, c.adapter_path)
            for c in contestants.list() if c.adapter_path]


class FrontierService:
    """Compute the frontier in the background (`start`), stop it, read the last one (`last`)."""

    def __init__(self, path: str | Path, jobs: JobRunner, models: RewardModelRegistry, gold: GoldChoice,
                 policy: LoadedPolicy, heldout_prompts: Callable[[int], list[str]],
                 contestants: Callable[[], ContestantRegistry]):
        self.path = Path(path)
        self.jobs = jobs
        self.models = models  # proxy = its active model
        self.gold = gold
        self.policy = policy
        self.heldout_prompts = heldout_prompts  # n -> n held-out prompts (never trained on)
        self.contestants = contestants

    def last(self) -> dict | None:
        """The last frontier computed (rows + what it was measured with), or None."""
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None

    def start(self, best_of, n_prompts: int, temperature: float = 0.7, max_new_tokens: int = 48) -> str:
        """Best-of-N for each N of `best_of` and every adapter of the arena, on `n_prompts` held-out prompts."""
        try:
            chosen = sorted({int(n) for n in (best_of or [])})
        except (TypeError, ValueError):
            raise ValueError(f"best-of-N: pick N among {', '.join(map(str, FRONTIER_NS))}.") from None
        if not chosen or any(n not in FRONTIER_NS for n in chosen):
            raise ValueError(f"best-of-N: pick at least one N among {', '.join(map(str, FRONTIER_NS))}.")
        proxy, gold = self.models.active, self.gold.name()
        if proxy is None:
            raise ValueError("No active reward model yet: train one in tab 3 (it is the proxy).")
        if gold is None:
            raise ValueError("No gold reward model: train a second reward model in tab 3, on more pairs than the proxy.")
        adapters = adapter_points(self.contestants())
        settings = {"proxy": proxy, "gold": gold, "prompts": self.heldout_prompts(n_prompts), "adapters": adapters,
                    "best_of": chosen, "temperature": temperature, "max_new_tokens": max_new_tokens}
        self.jobs.submit(JOB, "Reward–KL frontier", lambda ctx: self._run(ctx, **settings))
        return f"Computing the frontier: best-of-{', '.join(map(str, chosen))} and {len(adapters)} adapters."

    def stop(self) -> str:
        return "stopping" if self.jobs.stop(JOB) else "not running"

    def _run(self, ctx, proxy: str, gold: str, prompts: list[str], adapters: list, best_of: list[int],
             temperature: float, max_new_tokens: int) -> dict:
        """The job: the frontier (`compare.frontier.frontier`), saved to frontier.json with the models' names."""
        from rlhf_demo.frontier.measure import frontier
        from rlhf_demo.models.presets import format_prompt

        ctx.update(progress=0.0, message="loading the policy, the proxy and the gold reward model")
        device = self.policy.device
        proxy_model, gold_model = self.models.load(proxy, device), self.models.load(gold, device)
        model, tok = self.policy.fresh_copy()
        backend = self.policy.backend()  # the app may still be measuring it: asked in the job
        t0 = time.perf_counter()
        rows = frontier(model, tok, proxy_model, gold_model, prompts, adapters=adapters, best_of=tuple(best_of),
                        device=device, temperature=temperature, max_new_tokens=max_new_tokens,
                        format_prompt=lambda p: format_prompt(tok, p),
                        on_progress=lambda fraction, message: ctx.update(progress=fraction, message=message),
                        should_stop=ctx.should_stop, allow_same=proxy == gold, decoding=backend)
        ctx.check()  # stopped midway: nothing half-done is saved as "the last frontier"
        result = {"rows": rows, "proxy": proxy, "gold": gold, "n_prompts": len(prompts), "best_of": list(best_of),
                  "temperature": temperature, "max_new_tokens": max_new_tokens,
                  "seconds": round(time.perf_counter() - t0, 1), "computed": time.strftime("%Y-%m-%d %H:%M:%S")}
        write_json_atomic(self.path, result)
        return {"points": len(rows), "seconds": result["seconds"]}
