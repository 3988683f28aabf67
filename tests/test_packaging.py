"""Packaging invariants: dependencies in step, typed package, pure-numpy geometry core."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import spatial_xr

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_runtime_dependencies_are_in_environment_yml() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = (ROOT / "environment.yml").read_text().lower()
    conda_names = {"simpleitk": "simpleitk", "isal": "python-isal"}
    listed = {_name(line.strip(" -")) for line in env.splitlines() if line.strip().startswith("- ")}
    runtime = [*project["dependencies"]]
    for extra in ("plot", "progress", "distributed", "remote", "itk", "gzip", "dicom-codecs"):
        runtime += project["optional-dependencies"].get(extra, [])
    missing = [r for r in runtime if conda_names.get(_name(r), _name(r)) not in listed]
    assert not missing, f"add these runtime dependencies to environment.yml: {missing}"


def test_all_extra_covers_optional_runtime_extras() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    (all_spec,) = extras["all"]
    named = set(re.search(r"\[(.*)\]", all_spec).group(1).split(","))  # type: ignore[union-attr]
    assert named >= {"plot", "progress", "distributed", "remote", "itk", "gzip"}
    assert named <= set(extras)


def test_py_typed_is_shipped() -> None:
    assert (Path(spatial_xr.__file__).parent / "py.typed").exists()


def test_geometry_core_never_imports_xarray_or_dask() -> None:
    for path in (Path(spatial_xr.__file__).parent / "geometry").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"xarray", "dask"}, f"{path.name} imports {name}"
