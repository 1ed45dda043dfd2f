"""Which reward model plays "gold" next to the proxy: the over-optimisation experiment of Gao et al. (2022).

PPO (and best-of-N) optimise the PROXY: the active reward model. A GOLD reward model is one that nothing is ever
optimised against; it stands in for "true" human judgement. As the policy drifts from the base model (KL grows),
the proxy keeps rising while the gold score rises, peaks and falls: the policy has learnt what the proxy likes,
not what people like. For that to show, the two must differ in a way that matters: the default gold is the saved
model, other than the proxy, trained on the MOST preference pairs (a proxy trained on a small slice, e.g. the
class's votes or 100 pairs, and a gold trained on the whole set is the classic pairing).

    default_gold(models, proxy)            -> the name the app uses when nobody chose one (None: no candidate)
    check_gold(gold, proxy, allow_same)    -> raises ValueError when they are the same model and nobody asked
    pairing_text(gold_entry, proxy_entry)  -> one sentence a class can read: which is which, trained on what
    GoldChoice(path, registry)             -> the choice someone made, saved in gold.json under the data dir
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from rlhf_demo.reward.registry import RewardModelRegistry, trained_on_text
from rlhf_demo.settings import shorten
from rlhf_demo.storage import write_json_atomic


def default_gold(models: list[dict], proxy: str | None) -> str | None:
    """The saved model (registry entries, as `RewardModelRegistry.list()` gives them) that is not the proxy and was
    trained on the most pairs; a tie goes to the newest. None when the proxy is the only model."""
    candidates = [m for m in models if m["name"] != proxy]
    if not candidates:
        return None
    return max(candidates, key=lambda m: (m.get("n_train") or 0, m.get("created") or 0.0))["name"]


def check_gold(gold: str | None, proxy: str | None, allow_same: bool = False) -> None:
    """Gold and proxy are never the same model unless the user asked for it (then the 'gold' curve is just the proxy
    again and shows nothing about over-optimisation)."""
    if gold is not None and gold == proxy and not allow_same:
        raise ValueError(f"The gold reward model {gold!r} is the proxy PPO optimises: pick another one (or allow "
                         "the same model on purpose; then the gold curve only repeats the proxy).")


def _described(entry: dict) -> str:
    if entry.get("trained_on"):
        what = trained_on_text(entry["trained_on"])
    else:
        what = f"{entry['n_train']} pairs" if entry.get("n_train") else "training data not recorded"
    backbone = f", {entry['backbone']}" if entry.get("backbone") else ""
    return f"**{entry['name']}** ({what}{backbone})"


def pairing_text(gold: dict | None, proxy: dict | None) -> str:
    """Markdown: the proxy (optimised) and the gold (only watched), each with what it was trained on."""
    if proxy is None:
        return "No active reward model yet: train one in tab 3 (it becomes the proxy PPO optimises)."
    if gold is None:
        return (f"Proxy (optimised by PPO and best-of-N): {_described(proxy)}. **No gold model yet**: train a second "
                "reward model in tab 3 on more data (e.g. the whole set, while the proxy used 100 pairs or the "
                "class's votes); it is then picked as gold automatically.")
    same = " **Gold = proxy, as asked: the gold curve only repeats the proxy.**" if gold["name"] == proxy["name"] else ""
    weaker = ""
    if gold["name"] != proxy["name"] and (gold.get("n_train") or 0) < (proxy.get("n_train") or 0):
        weaker = (f" **Gold was trained on fewer pairs ({gold['n_train'] or 0}) than the proxy ({proxy['n_train']}):** "
                  "a weaker judge than the model it checks. Train a gold model on more data for a fair verdict.")
    return (f"Proxy (optimised by PPO and best-of-N): {_described(proxy)} · Gold (never optimised against, only "
            f"watched): {_described(gold)}.{same}{weaker}")


class GoldChoice:
    """The gold reward model someone picked (and whether gold = proxy was asked for on purpose), saved at `path`;
    the default (`default_gold`) while nobody picked one or the pick is gone. Proxy = the registry's active model."""

    def __init__(self, path: str | Path, registry: RewardModelRegistry):
        self.path = Path(path)
        self.registry = registry
        self._lock = threading.Lock()

    def _chosen(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def name(self, proxy: str | None = None, models: list[dict] | None = None) -> str | None:
        """The gold model now: the one picked, while it exists and is not the proxy (unless that was asked for), else
        the default. `models`: the registry's list when the caller already has it (a poll), so it is not read twice."""
        proxy = self.registry.active if proxy is None else proxy
        chosen = self._chosen()
        name = chosen.get("name")
        if name and self.registry.exists(name) and (name != proxy or chosen.get("allow_same")):
            return name
        return default_gold(self.registry.list() if models is None else models, proxy)

    def set(self, name: str | None, allow_same: bool = False) -> str | None:
        """Pick the gold model (None / "": back to the default). Refused: an unknown model, or the proxy itself
        unless `allow_same`. Returns the gold model now."""
        name = (name if isinstance(name, str) else "").strip() or None
        if name is not None:
            if not self.registry.exists(name):
                raise ValueError(f"No saved reward model named {shorten(name)}.")
            check_gold(name, self.registry.active, allow_same)
        with self._lock:
            write_json_atomic(self.path, {"name": name, "allow_same": bool(allow_same and name)})
        return self.name()
