"""Whether the requirements of an extra of pyproject.toml are installed and import (used
by tests/conftest.py to fail, not skip, when a test dependency is missing)."""

from __future__ import annotations

import importlib
import importlib.metadata
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]

# modules of the test extra's distributions whose import name is not the distribution's
# (default: the name with "-" → "_")
TEST_EXTRA_MODULES = {
    "pytest-xdist": ["xdist"],
    "moto": ["moto", "moto.server"],
    "pydicom-data": ["data_store"],
    "pylibjpeg-libjpeg": ["libjpeg"],
    "pylibjpeg-openjpeg": ["openjpeg"],
    "pynrrd": ["nrrd"],
    "nifti-zarr": ["niizarr"],
    "scikit-image": ["skimage"],
}


def extra_requirements(extra: str) -> list[str]:
    """The requirements of an extra of pyproject.toml (e.g. ``"test"``)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return list(project["optional-dependencies"][extra])


def missing_modules(requirements: list[str]) -> list[str]:
    """Which of ``requirements`` are not installed, too old, or fail to import (one
    message each; empty when all are fine)."""
    problems = []
    for spec in requirements:
        req = Requirement(spec)
        try:
            version = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{spec} (not installed)")
            continue
        if not req.specifier.contains(version, prereleases=True):
            problems.append(f"{spec} ({version} installed)")
            continue
        for module in TEST_EXTRA_MODULES.get(req.name, [req.name.replace("-", "_")]):
            try:
                importlib.import_module(module)
            except Exception as exc:  # an installed module that does not import
                problems.append(f"{spec}: import {module} fails ({type(exc).__name__}: {exc})")
    return problems
