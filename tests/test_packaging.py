"""`pip install -e .` (the README's two commands) installs every package of rlhf_demo/: pyproject.toml lists them by
name, so a package that is added, moved or renamed must be listed there too (a rename once broke the install)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_pyproject_lists_exactly_the_packages_of_rlhf_demo():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed, folders = set(setuptools["packages"]), setuptools.get("package-dir", {})
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "rlhf_demo").rglob("__init__.py")}
    missing_folders = {name for name in listed if not (ROOT / folders.get(name, name.replace(".", "/"))).is_dir()}
    assert not missing_folders, f"listed in pyproject.toml, but no such folder: {sorted(missing_folders)}"
    assert on_disk <= listed, f"packages not listed in pyproject.toml: {sorted(on_disk - listed)}"
