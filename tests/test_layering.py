"""Seams between modules: no module reaches into another module's private names, and the
geometry core stays pure numpy (DESIGN §6).

Private means a name with a leading underscore (dunders aside). A private module
(``spatial_xr/ops/_kernels.py``) belongs to the package that holds it: modules inside
that package (and its subpackages) may import from it, anything else may not. A private
name (``_check_method``) may be imported only from such a private module of the
importer's own package; to share anything else, give it a public name in its home module.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import spatial_xr

PACKAGE = Path(spatial_xr.__file__).parent
ROOT = PACKAGE.parent


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _owner(module: str) -> str | None:
    """The package a private module belongs to (None for a public module):
    ``spatial_xr.io._dask`` → ``spatial_xr.io``."""
    parts = module.split(".")
    for i, part in enumerate(parts):
        if _is_private(part):
            return ".".join(parts[:i])
    return None


def _inside(package: str, owner: str) -> bool:
    return package == owner or package.startswith(owner + ".")


class _Checker:
    """Private-name and private-module uses of one module of the package."""

    def __init__(self, module: str, is_package: bool, modules: set[str]) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.modules = modules  # every module of the package, by dotted name
        self.found: list[str] = []

    def _resolve(self, node: ast.ImportFrom) -> str:
        if node.level == 0:
            return node.module or ""
        base = self.package.split(".")
        base = base[: len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def _ours(self, module: str) -> bool:
        return module == "spatial_xr" or module.startswith("spatial_xr.")

    def _use_module(self, module: str, line: int, how: str) -> None:
        owner = _owner(module)
        if owner is not None and not _inside(self.package, owner):
            self.found.append(f"{self.module}:{line}: {how} (private module of {owner})")

    def _use_name(self, module: str, name: str, line: int, how: str) -> None:
        owner = _owner(module)
        if owner is None or not _inside(self.package, owner):
            self.found.append(f"{self.module}:{line}: {how} (private name of {module})")

    def check(self, tree: ast.Module) -> list[str]:
        bound: dict[str, str] = {}  # local name → module of the package it names
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = self._resolve(node)
                if not self._ours(source):
                    continue
                self._use_module(source, node.lineno, f"from {source} import …")
                for alias in node.names:
                    full = f"{source}.{alias.name}"
                    if full in self.modules:
                        bound[alias.asname or alias.name] = full
                        self._use_module(full, node.lineno, f"from {source} import {alias.name}")
                    elif _is_private(alias.name):
                        self._use_name(source, alias.name, node.lineno,
                                       f"from {source} import {alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if not self._ours(alias.name):
                        continue
                    self._use_module(alias.name, node.lineno, f"import {alias.name}")
                    if alias.asname:
                        bound[alias.asname] = alias.name
                    else:
                        bound["spatial_xr"] = "spatial_xr"
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and _is_private(node.attr)):
                continue
            chain = []
            value = node.value
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if not (isinstance(value, ast.Name) and value.id in bound):
                continue
            module = ".".join([bound[value.id], *reversed(chain)])
            if module not in self.modules:
                continue
            full = f"{module}.{node.attr}"
            if full in self.modules:
                self._use_module(full, node.lineno, f"{full}")
            else:
                self._use_name(module, node.attr, node.lineno, f"{module}.{node.attr}")
        return self.found


def _check_tree(root: Path) -> list[str]:
    paths = sorted(root.rglob("*.py"))
    modules = {_module_name(p, root.parent) for p in paths}
    found = []
    for path in paths:
        checker = _Checker(_module_name(path, root.parent), path.name == "__init__.py", modules)
        found += checker.check(ast.parse(path.read_text(encoding="utf-8")))
    return found


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_finds_each_kind_of_reach(tmp_path: Path) -> None:
    """A toy package with one allowed and one forbidden use of each kind."""
    pkg = tmp_path / "spatial_xr"
    _write(pkg, {
        "__init__.py": "",
        "ops/__init__.py": "",
        "ops/pyramid.py": "def _check_method(): pass\nPLAN = 1\n",
        "ops/_kernels.py": "def resample_box(): pass\ndef _inner(): pass\n",
        "ops/resample.py": (
            "from spatial_xr.ops._kernels import resample_box, _inner\n"  # allowed
            "from spatial_xr.ops import _kernels\n"  # allowed
            "from ._kernels import _inner as i2\n"  # allowed (relative)
            "x = _kernels._inner\n"  # allowed
        ),
        "io/__init__.py": "",
        "io/omezarr/__init__.py": "",
        "io/omezarr/write.py": (
            "from spatial_xr.ops.pyramid import _check_method\n"  # forbidden: private name
            "from spatial_xr.ops.pyramid import PLAN\n"  # allowed
            "from spatial_xr.ops._kernels import resample_box\n"  # forbidden: private module
            "import spatial_xr.ops.pyramid as pyr\n"
            "y = pyr._check_method\n"  # forbidden: attribute
            "import spatial_xr\n"
            "z = spatial_xr.ops.pyramid._check_method\n"  # forbidden: dotted attribute
            "from spatial_xr.ops import _kernels\n"  # forbidden: private module
        ),
    })
    found = _check_tree(pkg)
    assert [f.split(": ", 1)[0] for f in found] == [
        "spatial_xr.io.omezarr.write:1", "spatial_xr.io.omezarr.write:3",
        "spatial_xr.io.omezarr.write:8", "spatial_xr.io.omezarr.write:5",
        "spatial_xr.io.omezarr.write:7"], found


def test_no_module_uses_another_modules_private_names() -> None:
    found = _check_tree(PACKAGE)
    assert not found, ("give these a public name in their home module, or move them into a "
                       "private module of the package that uses them:\n" + "\n".join(found))


# ---------------------------------------------------------------------- geometry core
GEOMETRY = PACKAGE / "geometry"
FORBIDDEN_IN_GEOMETRY = ("xarray", "dask")


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def test_geometry_imports_neither_xarray_nor_dask() -> None:
    """Every import in spatial_xr/geometry/ (also inside functions) is numpy, the standard
    library, the geometry package itself or spatial_xr.errors."""
    bad = []
    for path in sorted(GEOMETRY.rglob("*.py")):
        for line, name in _imports(path):
            top = name.split(".")[0]
            if top in FORBIDDEN_IN_GEOMETRY or (
                top == "spatial_xr" and not (name.startswith("spatial_xr.geometry")
                                             or name == "spatial_xr.errors")
            ) or (top not in sys.stdlib_module_names and top not in ("numpy", "spatial_xr")):
                bad.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert not bad, bad


def test_geometry_loads_without_xarray_or_dask() -> None:
    """Loading the geometry package on its own (without ``spatial_xr/__init__``, which
    registers the accessors) pulls in neither library."""
    script = (
        "import json, sys, types\n"
        f"pkg = types.ModuleType('spatial_xr'); pkg.__path__ = [{str(PACKAGE)!r}]\n"
        "sys.modules['spatial_xr'] = pkg\n"
        "import spatial_xr.geometry, spatial_xr.geometry.resampling, spatial_xr.geometry.slices\n"
        "g = spatial_xr.geometry.Grid((4, 5, 6), (1.0, 2.0, 3.0))\n"
        "assert g.index_to_world([[3, 4, 5]]).shape == (1, 3)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    loaded = {name.split(".")[0] for name in json.loads(out.splitlines()[-1])}
    assert "numpy" in loaded and "spatial_xr" in loaded
    assert not loaded & set(FORBIDDEN_IN_GEOMETRY), sorted(loaded & set(FORBIDDEN_IN_GEOMETRY))
