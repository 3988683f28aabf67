"""Hypothesis fuzzing of the DICOM reader (tag values of a synthetic series, truncated
files) and of the OME-Zarr reader (mutated group metadata JSON). Only SpatialXRError
subclasses may escape ``open_image`` and ``.compute()``; every example is bounded in time
and memory (see ``_fuzz.py``)."""

from __future__ import annotations

import contextlib
import copy
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _dicom_corpus import write_series
from _fuzz import COUNTS, fuzz_settings, run_bounded
from hypothesis import given
from hypothesis import strategies as st

import spatial_xr

# ---------------------------------------------------------------------- DICOM
DICOM_TAGS = [
    "Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
    "SamplesPerPixel", "NumberOfFrames", "ImagePositionPatient", "ImageOrientationPatient",
    "PixelSpacing", "RescaleSlope", "RescaleIntercept", "SliceThickness",
    "SpacingBetweenSlices", "PhotometricInterpretation", "InstanceNumber",
    "SeriesInstanceUID", "AcquisitionTime", "PlanarConfiguration",
]
NUMBERS = st.one_of(
    st.sampled_from([0, 1, -1, 2, 3, 8, 12, 16, 32, 64, 65535, 2**31 - 1]),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
)
TAG_VALUE = st.one_of(
    NUMBERS,
    st.lists(NUMBERS, min_size=0, max_size=7),
    st.sampled_from(["", "abc", "MONOCHROME1", "RGB", "PALETTE COLOR", "1.2.3", "nan"]),
    st.none(),
)


@st.composite
def dicom_mutations(draw: st.DrawFn) -> dict[str, Any]:
    edits = draw(st.lists(st.tuples(st.sampled_from(DICOM_TAGS), TAG_VALUE,
                                    st.one_of(st.none(), st.integers(0, 2))),
                          min_size=1, max_size=4))
    cut = draw(st.one_of(st.none(), st.tuples(st.integers(0, 2), st.integers(0, 2000))))
    return {"edits": edits, "cut": cut}


def _apply(k: int, ds: Any, edits: list[tuple[str, Any, int | None]]) -> None:
    for tag, value, only in edits:
        if only is not None and only != k:
            continue
        if value is None:
            if tag in ds:
                delattr(ds, tag)
            continue
        with contextlib.suppress(Exception):  # pydicom refuses some values for the VR
            setattr(ds, tag, value)


def _write_mutated_series(folder: Path, case: dict[str, Any]) -> bool:
    try:
        write_series(folder, n_slices=3, mutate=lambda k, ds: _apply(k, ds, case["edits"]))
    except Exception:  # pydicom cannot even write it: not an input we can build
        return False
    if case["cut"] is not None:
        k, n = case["cut"]
        victim = folder / f"IM{k + 1:04d}.dcm"
        victim.write_bytes(victim.read_bytes()[:n])
    return True


@pytest.fixture(scope="module", autouse=True)
def _warm_up(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("warm")
    spatial_xr.open_image(write_series(folder / "dcm")).compute()
    base = _omezarr_base(folder)
    spatial_xr.open_image(base).compute()
    yield
    print(f"\nDICOM/OME-Zarr fuzz: {COUNTS}")


def _fuzz_dicom(case: dict[str, Any], root: Path) -> None:
    folder = root / f"s{COUNTS['examples']}"
    if not _write_mutated_series(folder, case):
        return
    try:
        run_bounded(lambda: spatial_xr.open_image(folder).compute())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@fuzz_settings()
@given(case=dicom_mutations())
def test_fuzz_dicom_tags(case: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
                         ) -> None:
    _fuzz_dicom(case, tmp_path_factory.getbasetemp())


@pytest.mark.slow
@fuzz_settings(slow=True)
@given(case=dicom_mutations())
def test_fuzz_dicom_tags_long(case: dict[str, Any],
                              tmp_path_factory: pytest.TempPathFactory) -> None:
    _fuzz_dicom(case, tmp_path_factory.getbasetemp())


# ---------------------------------------------------------------------- OME-Zarr JSON
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40),
              st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8)),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=6), children, max_size=4)),
    max_leaves=12,
)


def _omezarr_base(folder: Path) -> Path:
    path = folder / "base.ome.zarr"
    if not path.exists():
        data = np.arange(4 * 6 * 8, dtype=np.uint16).reshape(4, 6, 8)
        spatial_xr.from_array(data, spacing=(2.0, 1.0, 0.5)).spatial.to_ome_zarr(
            path, pyramid=False, chunks=4)
    return path


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*prefix, i)))
    return out


@st.composite
def ome_mutations(draw: st.DrawFn, attrs: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(attrs)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            parent.pop(path[-1])
        else:
            parent[path[-1]] = draw(JSON)
    return doc


BASE_ATTRS = {
    "ome": {"version": "0.5", "multiscales": [{
        "axes": [{"name": n, "type": "space", "unit": "millimeter"} for n in "zyx"],
        "datasets": [{"path": "scale0/image", "coordinateTransformations": [
            {"type": "scale", "scale": [2.0, 1.0, 0.5]},
            {"type": "translation", "translation": [0.0, 0.0, 0.0]}]}],
        "name": "image"}]},
    "spatial_xr": {"version": 1, "world": "LPS", "spatial_dims_zyx": ["z", "y", "x"],
                   "direction_zyx": [[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]],
                   "origin_xyz": [0.0, 0.0, 0.0]},
}


def _fuzz_ome(attrs: dict[str, Any], root: Path) -> None:
    store = root / "fuzz.ome.zarr"
    if not store.exists():
        shutil.copytree(_omezarr_base(root), store)
    meta = store / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["attributes"] = attrs
    meta.write_text(json.dumps(doc))  # NaN/Infinity are written as JSON extensions
    run_bounded(lambda: spatial_xr.open_image(store).compute())


@fuzz_settings()
@given(attrs=ome_mutations(BASE_ATTRS))
def test_fuzz_omezarr_metadata(attrs: dict[str, Any],
                               tmp_path_factory: pytest.TempPathFactory) -> None:
    _fuzz_ome(attrs, tmp_path_factory.getbasetemp())


@pytest.mark.slow
@fuzz_settings(slow=True)
@given(attrs=ome_mutations(BASE_ATTRS))
def test_fuzz_omezarr_metadata_long(attrs: dict[str, Any],
                                    tmp_path_factory: pytest.TempPathFactory) -> None:
    _fuzz_ome(attrs, tmp_path_factory.getbasetemp())


def test_base_attrs_match_what_the_writer_writes(tmp_path: Path) -> None:
    """The fuzzed document starts from what the writer really writes (minus orientation
    labels), so mutations are one step from a valid store."""
    written = json.loads((_omezarr_base(tmp_path) / "zarr.json").read_text())["attributes"]
    for axis in written["ome"]["multiscales"][0]["axes"]:
        axis.pop("orientation", None)
    assert written == BASE_ATTRS
