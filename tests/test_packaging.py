"""Packaging invariants: dependencies in step, typed package, pure-numpy geometry core,
and a binary wheel that installs and runs without a compiler."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from uv import find_uv_bin

import spatial_xr

ROOT = Path(__file__).resolve().parents[1]
COMPILERS = ("gcc", "g++", "cc", "c++", "clang", "clang++", "cl")


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


def _pyproject_version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def test_version_comes_from_package_metadata() -> None:
    assert spatial_xr.__version__ == importlib.metadata.version("spatial-xr")
    assert spatial_xr.__version__ == _pyproject_version()


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout, built once per session as ``make wheel`` builds it
    (from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    # sdist first, then the wheel from it: nothing stale in the checkout gets packaged
    build = subprocess.run([find_uv_bin(), "build", "--out-dir", str(out), str(ROOT)],
                           capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stdout + build.stderr
    (path,) = out.glob("*.whl")
    return path


@pytest.fixture(scope="session")
def wheel_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A fresh virtual environment with the wheel (and the ``all`` extra) installed while
    no compiler is reachable; returns its ``bin`` folder and that environment."""
    root = tmp_path_factory.mktemp("wheel-venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")],
                   check=True, timeout=120)
    bin_dir = root / "venv" / "bin"
    empty = root / "no-compiler"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}}
    env.update(PATH=f"{bin_dir}{os.pathsep}{empty}", CC=str(empty / "missing-cc"),
               CXX=str(empty / "missing-c++"))
    assert [c for c in COMPILERS if shutil.which(c, path=env["PATH"])] == []
    # the dependencies at the versions this environment runs (already in uv's cache)
    pins = root / "constraints.txt"
    pins.write_text("".join(
        f"{d.metadata['Name']}=={d.version}\n" for d in importlib.metadata.distributions()
        if d.metadata["Name"] and d.metadata["Name"].lower() != "spatial-xr"))
    install = subprocess.run([find_uv_bin(), "pip", "install", "--python",
                              str(bin_dir / "python"), "--offline", "--quiet", "-c", str(pins),
                              f"{wheel}[all]"], capture_output=True, text=True, env=env,
                             cwd=root, timeout=600)
    assert install.returncode == 0, install.stdout + install.stderr
    return bin_dir, env


def test_wheel_is_stable_abi_with_the_kernels_and_types(wheel: Path) -> None:
    name, version, python, abi, platform = wheel.stem.split("-")
    assert (name, version, python, abi) == ("spatial_xr", _pyproject_version(), "cp311",
                                            "abi3")
    assert platform != "any"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        tags = zf.read(f"spatial_xr-{version}.dist-info/WHEEL").decode()
    kernels = {n for n in names if Path(n).name.startswith("libspatialxr_interp.")}
    assert kernels == {"spatial_xr/ops/libspatialxr_interp.so"}  # Linux CI
    assert {"spatial_xr/py.typed", "spatial_xr/napari.yaml"} <= names
    assert not [n for n in names if n.endswith((".cpp", ".pyd")) or ".cpython-" in n]
    assert f"Tag: cp311-abi3-{platform}" in tags and "Root-Is-Purelib: false" in tags


def test_wheel_installs_and_runs_the_demo_without_a_compiler(
        wheel_venv: tuple[Path, dict], tmp_path: Path) -> None:
    bin_dir, env = wheel_venv
    code = ("import spatial_xr, spatial_xr.ops._native as n; "
            "print(spatial_xr.__version__); print(spatial_xr.__file__); print(n.LIBRARY)")
    out = subprocess.run([str(bin_dir / "python"), "-c", code], env=env, cwd=tmp_path,
                         capture_output=True, text=True, check=True, timeout=300)
    version, package, library = out.stdout.split("\n")[:3]
    assert version == _pyproject_version()
    venv = bin_dir.parent
    assert Path(package).is_relative_to(venv) and Path(library).is_relative_to(venv)
    demo = subprocess.run([str(bin_dir / "spatial-xr"), "demo", str(tmp_path / "out")],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Demo finished: all checks passed" in demo.stdout
    assert (tmp_path / "out" / "phantom-views.png").stat().st_size > 0
