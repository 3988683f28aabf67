"""Bad-input corpus for the DICOM reader: synthetic series written here with pydicom, each
broken in one way. The reader raises the named SpatialXRError subclass with a message that
names the problem, before reading pixels where the header already lies; files that are not
DICOM in a series folder are skipped, never fatal.
"""

from __future__ import annotations

import os
import pickle
import re
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pytest
from _dicom_corpus import (
    COLS,
    ROWS,
    SLICE_STEP,
    SPACING_RC,
    drop,
    pixels,
    set_tags,
    write_series,
)

import spatial_xr
from spatial_xr.errors import (
    FormatError,
    GeometryError,
    IrregularGridError,
    SpatialXRError,
    UnsupportedFormatError,
)

ALLOC_LIMIT = 64 << 20


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], Path]
    error: type[SpatialXRError]
    match: str


def series(**kw: Any) -> Callable[[Path], Path]:
    return lambda folder: write_series(folder, **kw)


def _truncate_pixels(k: int, ds: Any) -> None:
    if k == 1:
        ds.PixelData = ds.PixelData[:20]


def _terabytes(k: int, ds: Any) -> None:
    ds.Rows, ds.Columns, ds.NumberOfFrames = 65535, 65535, 1000


def _mixed_rows(k: int, ds: Any) -> None:
    if k == 1:
        ds.Rows = 3
        ds.PixelData = ds.PixelData[: 3 * COLS * 2]


def _position(offsets: dict[int, float]) -> Callable[[int, Any], None]:
    def mutate(k: int, ds: Any) -> None:
        if k in offsets:
            ds.ImagePositionPatient = [-10.0, 20.0, 30.0 + offsets[k]]
    return mutate


def _single_file(payload: bytes) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        folder.mkdir(parents=True)
        path = folder / "one.dcm"
        path.write_bytes(payload)
        return path
    return build


def _folder_of(files: dict[str, bytes]) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        folder.mkdir(parents=True)
        for name, payload in files.items():
            (folder / name).write_bytes(payload)
        return folder
    return build


CASES = [
    Case("missing_ipp_all", series(mutate=drop("ImagePositionPatient")), FormatError,
         r"4 lack a valid ImagePositionPatient"),
    Case("missing_ipp_one", series(mutate=drop("ImagePositionPatient", only=2)), FormatError,
         r"1 lack a valid ImagePositionPatient.*IM0003\.dcm"),
    Case("missing_iop", series(mutate=drop("ImageOrientationPatient")), FormatError,
         r"4 a valid ImageOrientationPatient"),
    Case("missing_pixel_spacing", series(mutate=drop("PixelSpacing")), FormatError,
         r"no valid PixelSpacing"),
    Case("pixel_spacing_zero", series(mutate=set_tags(PixelSpacing=[0, 0.6])), GeometryError,
         r"PixelSpacing \(0, 0.6\).*> 0"),
    Case("pixel_spacing_negative", series(mutate=set_tags(PixelSpacing=[-0.8, 0.6])),
         GeometryError, r"PixelSpacing \(-0.8, 0.6\)"),
    Case("pixel_spacing_nan", series(mutate=set_tags(PixelSpacing=["nan", 0.6])),
         FormatError, r"no valid PixelSpacing"),
    Case("ipp_infinite", series(mutate=set_tags(only=1, ImagePositionPatient=["inf", 0, 0])),
         FormatError, r"1 lack a valid ImagePositionPatient.*IM0002\.dcm"),
    Case("iop_not_orthogonal",
         series(mutate=set_tags(ImageOrientationPatient=[1, 0, 0, 0.5, 0.866, 0])),
         GeometryError, r"ImageOrientationPatient.*orthogonal unit vectors"),
    Case("iop_not_unit", series(mutate=set_tags(ImageOrientationPatient=[2, 0, 0, 0, 1, 0])),
         GeometryError, r"ImageOrientationPatient \[2.0.*orthogonal unit vectors"),
    Case("iop_zero", series(mutate=set_tags(ImageOrientationPatient=[0] * 6)), GeometryError,
         r"ImageOrientationPatient.*orthogonal unit vectors"),
    Case("iop_mixed", series(mutate=set_tags(only=2, ImageOrientationPatient=[0, 1, 0, 0, 0, -1])),
         GeometryError, r"2 different orientations"),
    Case("mixed_rows_columns", series(mutate=_mixed_rows), GeometryError,
         r"disagree on sizes \(Rows x Columns\)"),
    Case("duplicate_position", series(mutate=_position({2: 0.0})), GeometryError,
         r"positions repeat unevenly"),
    Case("missing_slice_gap", series(mutate=_position({2: 10.0, 3: 12.5})), IrregularGridError,
         r"not evenly spaced"),
    Case("mixed_bits_allocated",
         series(mutate=set_tags(only=1, BitsAllocated=8, BitsStored=8, HighBit=7)),
         GeometryError, r"disagree on bits allocated"),
    Case("pixel_data_shorter_than_declared", series(mutate=_truncate_pixels), FormatError,
         r"IM0002\.dcm' is truncated or its header lies: it declares 60 bytes of pixel data"),
    Case("rows_columns_frames_claim_terabytes", series(n_slices=1, mutate=_terabytes),
         FormatError, r"declares 8589672450000 bytes \(7.81 TiB\) of pixel data"),
    Case("bits_allocated_12", series(mutate=set_tags(BitsAllocated=12)), FormatError,
         r"BitsAllocated 12"),
    Case("rows_zero", series(mutate=set_tags(Rows=0)), FormatError,
         r"no DICOM image found"),  # a file with no rows holds no image: skipped
    Case("rescale_slope_nan", series(mutate=set_tags(RescaleSlope="nan")), FormatError,
         r"RescaleSlope/RescaleIntercept \(nan"),
    Case("empty_folder", _folder_of({}), UnsupportedFormatError, r"folder .* is empty"),
    Case("folder_of_junk", _folder_of({"a.dcm": b"", "b.dcm": os.urandom(400),
                                       "notes.txt": b"hello"}),
         UnsupportedFormatError, r"holds no DICOM files"),
    Case("zero_byte_file", _single_file(b""), UnsupportedFormatError,
         r"cannot tell the format"),
    Case("dicm_marker_then_garbage",
         _single_file(b"\x00" * 128 + b"DICM" + bytes(range(256)) * 2), FormatError,
         r"no DICOM image found"),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad_dicom")
    warm = write_series(root / "warm")
    with dask.config.set(scheduler="threads"):
        spatial_xr.open_image(warm).compute()  # imports done before tracing memory
    return {c.name: c.build(root / c.name) for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_dicom_raises_named_error(case: Case, corpus: dict[str, Path]) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(SpatialXRError) as info, dask.config.set(scheduler="threads"):
            spatial_xr.open_image(corpus[case.name]).compute()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    exc = info.value
    assert isinstance(exc, case.error), f"{case.name}: {type(exc).__name__}: {exc}"
    assert re.search(case.match, str(exc), flags=re.S), f"{case.name}: {exc}"
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is type(exc) and str(again) == str(exc)
    assert peak < ALLOC_LIMIT, f"{case.name}: allocated {peak} bytes"


def test_junk_files_in_a_series_folder_are_skipped(tmp_path: Path) -> None:
    """Zero-byte files, random bytes, text, a fake DICOMDIR and hidden files beside a valid
    series are skipped; the series reads with its exact values and geometry."""
    folder = write_series(tmp_path / "s", extra_files={
        "empty.dcm": b"", "junk.dcm": os.urandom(300), "notes.txt": b"hello",
        "DICOMDIR": b"x" * 10, ".hidden": b"\x00" * 64,
        "fake.dcm": b"\x00" * 128 + b"DICM" + b"\x02\x00" * 40,
    })
    da = spatial_xr.open_image(folder)
    np.testing.assert_array_equal(da.values, pixels().astype(np.int32) - 1024)
    spacing = da.spatial.spacing
    np.testing.assert_allclose([spacing["z"], spacing["y"], spacing["x"]],
                               [SLICE_STEP, *SPACING_RC], rtol=1e-12)
    np.testing.assert_allclose(da.spatial.origin, [-10.0, 20.0, 30.0])
    assert da.shape[1:] == (ROWS, COLS)


def test_pixel_data_truncated_after_open(tmp_path: Path) -> None:
    """A file cut after the lazy open fails at compute with a FormatError naming it."""
    folder = write_series(tmp_path / "s")
    da = spatial_xr.open_image(folder)
    victim = folder / "IM0003.dcm"
    os.truncate(victim, victim.stat().st_size - 30)
    with pytest.raises(FormatError, match=r"IM0003\.dcm.*truncated"):
        da.compute()


def test_corpus_size() -> None:
    assert len(CASES) >= 25
