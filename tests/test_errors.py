"""Errors: the package raises only :class:`~spatial_xr.errors.SpatialXRError` subclasses,
every error class it declares is raised somewhere, and bad arguments to the public API
raise the named class (on real files from nibabel and pydicom)."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

import spatial_xr
from spatial_xr import batch, errors, plot
from spatial_xr.errors import (
    GeometryError,
    ParameterError,
    SpatialXRError,
    UnsupportedOptionError,
)
from spatial_xr.geometry import Grid

PACKAGE = Path(spatial_xr.__file__).parent
BUILTIN_EXCEPTIONS = frozenset(
    name for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
)
PROTOCOL_METHODS = frozenset({"__getattr__", "__setattr__", "__delattr__"})
"""Python's attribute protocol requires AttributeError from these (module or class)."""


def _module_names() -> Iterator[str]:
    """Importable modules of the package (the napari plugin and CLI entry points aside)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] in ("napari", "__main__"):
            continue
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _exception_name(node: ast.expr | None) -> str | None:
    """The class name in ``raise X``, ``raise X(...)``, ``raise mod.X(...)``."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


class _Raises(ast.NodeVisitor):
    """(line, class name, enclosing function) of every ``raise`` with an exception."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str, str | None]] = []
        self._functions: list[str] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._functions.append(node.name)
        self.generic_visit(node)
        self._functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Raise(self, node: ast.Raise) -> None:
        name = _exception_name(node.exc)
        if name is not None:
            self.found.append((node.lineno, name, self._functions[-1] if self._functions
                               else None))
        self.generic_visit(node)


def _builtin_raises(tree: ast.Module) -> list[tuple[int, str]]:
    visitor = _Raises()
    visitor.visit(tree)
    return [(line, name) for line, name, func in visitor.found
            if name in BUILTIN_EXCEPTIONS
            and not (name == "AttributeError" and func in PROTOCOL_METHODS)]


def test_the_source_checker_sees_builtin_raises() -> None:
    """The checker below flags each form of a builtin raise and allows the exceptions."""
    source = (
        "def f(x):\n"
        "    raise ValueError('a')\n"
        "def g(x):\n"
        "    raise TypeError\n"
        "def h(x):\n"
        "    raise builtins.RuntimeError('b') from x\n"
        "def i(x):\n"
        "    raise FormatError('c') from x\n"
        "def j(x):\n"
        "    raise\n"
        "def __getattr__(name):\n"
        "    raise AttributeError(name)\n"
        "def k(x):\n"
        "    raise AttributeError('d')\n"
    )
    found = _builtin_raises(ast.parse(source))
    assert found == [(2, "ValueError"), (4, "TypeError"), (6, "RuntimeError"),
                     (14, "AttributeError")]


def test_no_builtin_exception_is_raised() -> None:
    """Every raise in spatial_xr/ uses a SpatialXRError subclass (or re-raises); the only
    builtin allowed is AttributeError from the attribute protocol methods."""
    bad = [f"{path.relative_to(PACKAGE.parent)}:{line}: raise {name}"
           for path, tree in _modules() for line, name in _builtin_raises(tree)]
    assert not bad, "raise a spatial_xr.errors class instead:\n" + "\n".join(bad)


def _raised_and_warned() -> tuple[set[str], set[str]]:
    """Names raised or instantiated (exception factories), and names passed to warn()."""
    raised: set[str] = set()
    warned: set[str] = set()
    for _, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise):
                name = _exception_name(node.exc)
                if name:
                    raised.add(name)
            elif isinstance(node, ast.Call):
                name = _exception_name(node.func)
                if name:
                    raised.add(name)
                if name == "warn":
                    warned.update(n for a in [*node.args, *(k.value for k in node.keywords)]
                                  if (n := _exception_name(a)))
    return raised, warned


def test_every_error_class_is_raised_and_the_warning_is_used() -> None:
    raised, warned = _raised_and_warned()
    unused = []
    for name in errors.__all__:
        obj = getattr(errors, name)
        if not isinstance(obj, type):
            continue
        if issubclass(obj, Warning):
            if name not in warned:
                unused.append(name)
        elif name not in raised:
            unused.append(name)
    assert not unused, f"declared in spatial_xr.errors but never raised or warned: {unused}"


def test_error_classes_derive_from_the_base_and_pickle() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        if not isinstance(cls, type) or issubclass(cls, Warning):
            continue
        assert issubclass(cls, SpatialXRError), name
        again = pickle.loads(pickle.dumps(cls("message")))
        assert type(again) is cls and str(again) == "message"


def test_public_exception_classes_elsewhere_are_spatial_xr_errors() -> None:
    """An exception class defined outside errors.py (e.g. a missing compiled library) is
    still caught by ``except SpatialXRError``."""
    found = []
    for module_name in _module_names():
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            if (isinstance(obj, type) and issubclass(obj, BaseException)
                    and obj.__module__ == module.__name__ and not name.startswith("_")
                    and not issubclass(obj, Warning)):
                found.append(obj)
                assert issubclass(obj, SpatialXRError), f"{module.__name__}.{name}"
    assert any(cls.__name__ == "KernelsMissingError" for cls in found)


# ---------------------------------------------------------------------- bad arguments
@pytest.fixture(scope="module")
def anatomical_path(nibabel_data: Path) -> Path:
    """nibabel's ``anatomical.nii`` (25 × 41 × 33, int16), written by other software."""
    return nibabel_data / "anatomical.nii"


@pytest.fixture(scope="module")
def anatomical(anatomical_path: Path) -> xr.DataArray:
    return spatial_xr.open_image(anatomical_path)


@pytest.fixture(scope="module")
def ct_file() -> Path:
    from pydicom.data import get_testdata_file

    return Path(get_testdata_file("CT_small.dcm"))


BAD_CALLS: dict[str, tuple[Callable[..., Any], type[SpatialXRError], str]] = {
    "index_to_world wrong length": (
        lambda da, nii, ct, tmp: da.spatial.index_to_world([1, 2]), ParameterError,
        r"shape \(\.\.\., 3\) in the order of the spatial dims"),
    "index_to_world mapping lacks a dim": (
        lambda da, nii, ct, tmp: da.spatial.index_to_world({"z": 1, "y": 2}), ParameterError,
        r"lacks the spatial dims \['x'\]"),
    "index_to_world not numbers": (
        lambda da, nii, ct, tmp: da.spatial.index_to_world(["a", "b", "c"]), ParameterError,
        r"index must be numbers"),
    "world_to_index wrong length": (
        lambda da, nii, ct, tmp: da.spatial.world_to_index([1.0, 2.0]), ParameterError,
        r"world points \(x, y, z\) must have shape \(\.\.\., 3\)"),
    "world_to_index not numbers": (
        lambda da, nii, ct, tmp: da.spatial.world_to_index("abc"), ParameterError,
        r"world points \(x, y, z\) must be numbers"),
    "Grid.replace unknown field": (
        lambda da, nii, ct, tmp: da.spatial.grid.replace(spacing=1.0), ParameterError,
        r"unknown fields \['spacing'\]; it accepts"),
    "Grid spacing not numbers": (
        lambda da, nii, ct, tmp: Grid((3, 4, 5), "abc"), GeometryError,
        r"spacing must be numbers"),
    "Grid direction not numbers": (
        lambda da, nii, ct, tmp: Grid((3, 4, 5), None, None, [["a"]]),
        GeometryError, r"direction must be numbers"),
    "resample spacing not numbers": (
        lambda da, nii, ct, tmp: da.spatial.resample(spacing="abc"), GeometryError,
        r"spacing must be a number, a mapping by dim name or 3 numbers"),
    "from_array spacing not numbers": (
        lambda da, nii, ct, tmp: spatial_xr.from_array(np.zeros((2, 3, 4)), spacing="abc"),
        GeometryError, r"spacing must be a number"),
    "pyramid factors not ints": (
        lambda da, nii, ct, tmp: da.spatial.pyramid(factors="x"), UnsupportedOptionError,
        r"factors must be an int, a mapping dim → int, or a sequence"),
    "crop world box not numbers": (
        lambda da, nii, ct, tmp: da.spatial.crop("abc", [1, 2, 3]), GeometryError,
        r"a world box needs finite lower and upper corners"),
    "crop_centered center not numbers": (
        lambda da, nii, ct, tmp: da.spatial.crop_centered("abc", shape=3), ParameterError,
        r"center must be world points"),
    "sample points not numbers": (
        lambda da, nii, ct, tmp: da.spatial.sample([["a", "b", "c"]]), ParameterError,
        r"points must be an \(N, 3\) array"),
    "pyramid level out of range": (
        lambda da, nii, ct, tmp: da.spatial.pyramid(levels=2).spatial.level(5), ParameterError,
        r"level 5 is out of range: the pyramid has 2 levels"),
    "pyramid level and spacing": (
        lambda da, nii, ct, tmp: da.spatial.pyramid(levels=2).spatial.level(1, spacing=2.0),
        ParameterError, r"not both"),
    "plot unknown view": (
        lambda da, nii, ct, tmp: plot.orthogonal_slice(da, [0, 0, 0], ["axial"]),
        UnsupportedOptionError, r"view must be one of"),
    "NIfTI unknown affine choice": (
        lambda da, nii, ct, tmp: spatial_xr.open_image(nii, affine="other"),
        UnsupportedOptionError, r"affine must be 'best', 'sform' or 'qform'"),
    "DICOM unknown irregular option": (
        lambda da, nii, ct, tmp: spatial_xr.open_image(ct, irregular="guess"),
        UnsupportedOptionError, r"irregular must be 'raise' or 'resample'"),
    "DICOM writer modality not a code": (
        lambda da, nii, ct, tmp: da.spatial.to_dicom_series(tmp / "series", modality=5),
        ParameterError, r"modality must be a DICOM modality code"),
    "OME-Zarr storage options for a local path": (
        lambda da, nii, ct, tmp: spatial_xr.open_image(
            da.spatial.to_ome_zarr(tmp / "b.ome.zarr") or tmp / "b.ome.zarr",
            storage_options={"anon": True}),
        ParameterError, r"storage_options= applies to URLs"),
    "batch pyramid as NIfTI": (
        lambda da, nii, ct, tmp: batch.run_batch([nii], tmp / "out", fmt="nifti",
                                                 pyramid=True, scheduler=None,
                                                 progress=False),
        UnsupportedOptionError, r"needs the OME-Zarr output format"),
    "batch unknown scheduler": (
        lambda da, nii, ct, tmp: batch.run_batch([nii], tmp / "out", scheduler=5,
                                                 progress=False),
        ParameterError, r"scheduler must be 'local'"),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_arguments_raise_named_errors(case: str, anatomical: xr.DataArray,
                                          anatomical_path: Path, ct_file: Path,
                                          tmp_path: Path) -> None:
    call, error, match = BAD_CALLS[case]
    with pytest.raises(error, match=match):
        call(anatomical, anatomical_path, ct_file, tmp_path)
    assert not (tmp_path / "a.ome.zarr").exists() and not (tmp_path / "series").exists()


def test_good_arguments_of_the_same_calls_work(anatomical: xr.DataArray,
                                               anatomical_path: Path, ct_file: Path) -> None:
    """The calls refused above work when given right, checked against nibabel's affine and
    pydicom's pixel values (so the refusals are not an accident of the files)."""
    import nibabel as nib
    import pydicom

    ijk = np.array([[1.0, 2.0, 3.0], [20.0, 30.0, 10.0]])
    lps = nib.affines.apply_affine(nib.load(anatomical_path).affine, ijk)
    lps[:, :2] *= -1
    world = anatomical.spatial.index_to_world(ijk[:, ::-1])  # (k, j, i) order of dims
    np.testing.assert_allclose(world, lps, atol=1e-6)
    by_name = anatomical.spatial.index_to_world({"z": ijk[:, 2], "y": ijk[:, 1],
                                                 "x": ijk[:, 0]})
    np.testing.assert_allclose(by_name, lps, atol=1e-6)
    ct = spatial_xr.open_image(ct_file, irregular="resample")
    np.testing.assert_array_equal(ct.values[0], pydicom.dcmread(ct_file).pixel_array * 1
                                  + int(pydicom.dcmread(ct_file).RescaleIntercept))
    tree = anatomical.spatial.pyramid(levels=2)
    assert tree.spatial.level(-1).shape == tree.spatial.level(1).shape


def test_signatures_documented_raises_exist() -> None:
    """Classes named in numpydoc ``Raises`` sections of public functions exist in errors."""
    missing = []
    for module_name in _module_names():
        module = importlib.import_module(module_name)
        for name, obj in inspect.getmembers(module, inspect.isfunction):
            doc = inspect.getdoc(obj) or ""
            if name.startswith("_") or "Raises\n------" not in doc:
                continue
            section = doc.split("Raises\n------", 1)[1].split("\n\n")[0]
            for line in section.splitlines():
                if line and not line.startswith(" "):
                    for cls in line.replace(",", " ").split():
                        if (cls.endswith(("Error", "Warning")) and not hasattr(errors, cls)
                                and cls not in BUILTIN_EXCEPTIONS):
                            missing.append(f"{module.__name__}.{name}: {cls}")
    assert not missing, missing
