"""The export as the app drives it (the Reward tab's button, ``/export_bundle``): the active reward model, the loaded
data, the class's counted votes and the app's policy, to ``<data_dir>/exports/<model>-<time>/`` and a zip of it to
download."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Callable

from rlhf_demo.data.pairs import Pair
from rlhf_demo.export.bundle import ExportRequest, export_bundle
from rlhf_demo.models.presets import ModelChoice
from rlhf_demo.storage import download_path, storage_message, storage_status


class ExportService:
    def __init__(self, root: Path, models, source, policy: ModelChoice, counted_votes: Callable[[], list[Pair]],
                 data_warning: Callable[[], str | None] = lambda: None):
        self.root = Path(root)  # the app's data folder
        self.models = models  # the reward model registry
        self.source = source
        self.policy = policy
        self.counted_votes = counted_votes
        self.data_warning = data_warning  # the reward stage's "the active model was trained on other data" (or None)
        self._lock = threading.Lock()  # one export at a time: each writes a few hundred MB

    def export_active(self, with_votes: bool = True) -> tuple[Path, Path, dict, str | None]:
        """(bundle folder, zip of it, bundle.json, a note when the active model was trained on other data than the
        pairs and prompts exported, which are the data loaded now). ValueError with a sentence when there is nothing
        to export or another export is running."""
        name = self.models.active
        if name is None:
            raise ValueError("No active reward model to export: train one first.")
        problem = storage_status(self.root)
        if problem:
            raise ValueError(storage_message(problem))
        if not self._lock.acquire(blocking=False):
            raise ValueError("An export is being written already: wait for it to finish.")
        try:
            out = self.root / "exports" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
            req = ExportRequest(reward_dir=self.models.path(name), out=out, source=self.source, policy=self.policy,
                                votes=self.counted_votes() if with_votes else [])
            info = export_bundle(req)
            zipped = download_path(self.root, f"{out.name}.zip")
            made = shutil.make_archive(str(zipped.with_suffix("")), "zip", root_dir=out.parent, base_dir=out.name)
            return out, Path(made), info, self.data_warning()
        finally:
            self._lock.release()
