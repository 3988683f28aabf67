"""Privacy: no patient-identifying value of a synthetic patient reaches attrs, reprs, logs,
warnings, error messages or written files (NIfTI, OME-Zarr, DICOM) unless the user opts in
with ``include_identifying=True``."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from _dicom_corpus import PATIENT, write_series

import spatial_xr
from spatial_xr.errors import SpatialXRError
from spatial_xr.io.dicom import discover_series

NEEDLES = sorted({v for value in PATIENT.values() for v in (value, *value.split("^"))},
                 key=len, reverse=True)


def leaks(text: str | bytes) -> list[str]:
    """Identifying values found in ``text`` (bytes are searched as UTF-8 and UTF-16)."""
    if isinstance(text, bytes):
        found = [n for n in NEEDLES if n.encode() in text or n.encode("utf-16-le") in text]
    else:
        found = [n for n in NEEDLES if n in text]
    return found


def _all_bytes(root: Path) -> Iterator[tuple[Path, bytes]]:
    paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for p in paths:
        yield p, p.read_bytes()


@pytest.fixture
def capture(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """Every log record (DEBUG and up, any logger) and warning message."""
    messages: list[str] = []
    with caplog.at_level(logging.DEBUG), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield messages
    messages.extend(r.getMessage() for r in caplog.records)
    messages.extend(str(w.message) for w in caught)


def test_no_identifying_value_in_attrs_reprs_logs_or_outputs(tmp_path: Path,
                                                             capture: list[str]) -> None:
    folder = write_series(tmp_path / "patient")
    # the synthetic files really do carry the values we look for
    assert all(leaks(data) for _, data in _all_bytes(folder))

    da = spatial_xr.open_image(folder)
    texts = [repr(da), da._repr_html_(), json.dumps(da.attrs, default=str),
             *(json.dumps(da.coords[c].attrs, default=str) for c in da.coords),
             repr(da.spatial.grid), "\n".join(s.summary() for s in discover_series(folder))]
    for text in texts:
        assert not leaks(text), text
    values = da.values

    outputs = tmp_path / "out"
    da.spatial.to_nifti(outputs / "img.nii")
    da.spatial.to_nifti(outputs / "img.nii.gz")
    da.spatial.to_ome_zarr(outputs / "img.ome.zarr", pyramid=False)
    da.spatial.to_ome_zarr(outputs / "img04.ome.zarr", pyramid=False, version="0.4")
    da.spatial.to_dicom_series(outputs / "dicom")
    da.to_zarr(outputs / "plain.zarr")  # attrs are plain JSON-able values
    for path, data in _all_bytes(outputs):
        assert not leaks(data), f"{path} holds {leaks(data)}"
    np.testing.assert_array_equal(spatial_xr.open_image(outputs / "img.nii").values, values)
    assert not leaks("\n".join(capture)), "a log record or warning holds identifying values"


@pytest.mark.parametrize("problem", ["gap", "orientation", "truncated"])
def test_no_identifying_value_in_error_messages(tmp_path: Path, problem: str) -> None:
    def mutate(k: int, ds: object) -> None:
        if problem == "gap" and k == 3:
            ds.ImagePositionPatient = [-10.0, 20.0, 60.0]  # type: ignore[attr-defined]
        if problem == "orientation" and k == 1:
            ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]  # type: ignore[attr-defined]
        if problem == "truncated" and k == 2:
            ds.PixelData = ds.PixelData[:10]  # type: ignore[attr-defined]

    folder = write_series(tmp_path / "patient", mutate=mutate)
    with pytest.raises(SpatialXRError) as info:
        spatial_xr.open_image(folder).compute()
    assert not leaks(str(info.value)), str(info.value)
    assert not leaks(repr(info.value))


def test_opting_in_keeps_identifying_values(tmp_path: Path) -> None:
    folder = write_series(tmp_path / "patient")
    da = spatial_xr.open_image(folder, include_identifying=True)
    assert str(da.attrs["PatientID"]) == PATIENT["PatientID"]
    assert PATIENT["PatientName"] in json.dumps(da.attrs, default=str)
