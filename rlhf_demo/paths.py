"""Where the project's bundled files are: the one path helper (no stage imports).

``assets/`` holds the offline preference set (``bundled/``) and the tiny test policy (``tiny-policy/``). In a
source checkout it is the ``assets/`` folder beside this package; ``pip install .`` copies the same files into the
package as ``rlhf_demo/assets/`` (package data, see pyproject.toml). ``RLHF_ASSETS_DIR`` overrides both.
"""

from __future__ import annotations

import os
from pathlib import Path


def assets_dir() -> Path:
    """The assets folder: $RLHF_ASSETS_DIR, else the installed package data, else the checkout's ``assets/``."""
    if os.environ.get("RLHF_ASSETS_DIR"):
        return Path(os.environ["RLHF_ASSETS_DIR"]).expanduser()
    here = Path(__file__).resolve().parent
    installed = here / "assets"
    return installed if installed.is_dir() else here.parent / "assets"


ASSETS_DIR = assets_dir()
BUNDLED_DIR = ASSETS_DIR / "bundled"
TINY_POLICY_DIR = ASSETS_DIR / "tiny-policy"
