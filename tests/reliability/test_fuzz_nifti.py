"""Hypothesis fuzzing of the NIfTI reader: mutate the raw header fields and bytes of valid
NIfTI-1/-2 files (plain and gzip, 3-D and 4-D), then open and compute.

Only :class:`~spatial_xr.errors.SpatialXRError` subclasses may escape ``open_image`` and
``.compute()``; every example is bounded in time and memory (see ``_fuzz.py``). When a
mutated file opens, its geometry must be a valid grid and the values must match nibabel's
reading of the same bytes wherever nibabel agrees the file is fine.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest
from _fuzz import COUNTS, fuzz_settings, run_bounded
from _nifti_corpus import gzipped, nifti_bytes
from hypothesis import given
from hypothesis import strategies as st

import spatial_xr

BASES = {
    "3d": nifti_bytes((5, 4, 3), np.int16),
    "4d": nifti_bytes((3, 4, 2, 3), np.float32),
    "nifti2": nifti_bytes((4, 3, 5), np.uint8, version=2),
}
HEADER_DTYPES = {1: nib.nifti1.header_dtype, 2: nib.nifti2.header_dtype}
NUMERIC_FIELDS = [
    "dim", "datatype", "bitpix", "pixdim", "vox_offset", "scl_slope", "scl_inter",
    "qform_code", "sform_code", "quatern_b", "quatern_c", "quatern_d", "qoffset_x",
    "qoffset_y", "qoffset_z", "srow_x", "srow_y", "srow_z", "xyzt_units", "sizeof_hdr",
    "intent_code", "slice_code", "dim_info",
]
SPECIAL_FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-30, 1e30, 3.4e38, np.nan, np.inf, -np.inf]
SPECIAL_INTS = [0, 1, -1, 2, 3, 7, 8, 255, 256, 348, 352, 540, 544, 32767, -32768, 2**31 - 1,
                2**40, -(2**40)]


def _value_for(kind: str) -> st.SearchStrategy[Any]:
    if kind == "f":
        return st.one_of(st.sampled_from(SPECIAL_FLOATS),
                         st.floats(allow_nan=True, allow_infinity=True, width=32))
    return st.one_of(st.sampled_from(SPECIAL_INTS), st.integers(-(2**15), 2**15))


@st.composite
def field_mutation(draw: st.DrawFn) -> tuple[str, int | None, Any]:
    name = draw(st.sampled_from(NUMERIC_FIELDS))
    return name, draw(st.integers(0, 7)), draw(_value_for("f" if name in (
        "pixdim", "vox_offset", "scl_slope", "scl_inter", "quatern_b", "quatern_c",
        "quatern_d", "qoffset_x", "qoffset_y", "qoffset_z", "srow_x", "srow_y", "srow_z",
    ) else "i"))


def _set_field(header: np.ndarray, name: str, index: int, value: Any) -> None:
    field = header[name]
    target_dtype = field.dtype.base if field.ndim else field.dtype
    if target_dtype.kind in "iu":
        info = np.iinfo(target_dtype)
        if not np.isfinite(value):
            value = 0
        value = int(np.clip(int(value), info.min, info.max))
    with np.errstate(over="ignore", invalid="ignore"):
        if field.ndim:
            field[index % field.shape[0]] = value
        else:
            header[name] = value


@st.composite
def mutated_nifti(draw: st.DrawFn) -> tuple[str, bytes]:
    base_name = draw(st.sampled_from(sorted(BASES)))
    raw = bytearray(BASES[base_name])
    version = 2 if base_name == "nifti2" else 1
    hdt = HEADER_DTYPES[version]
    header = np.frombuffer(raw, dtype=hdt, count=1)[0:1].copy()
    for name, index, value in draw(st.lists(field_mutation(), min_size=1, max_size=4)):
        _set_field(header[0], name, index, value)
    raw[: hdt.itemsize] = header.tobytes()
    for pos, byte in draw(st.lists(st.tuples(st.integers(0, len(raw) - 1),
                                             st.integers(0, 255)), max_size=3)):
        raw[pos] = byte
    cut = draw(st.one_of(st.none(), st.integers(0, len(raw))))
    data = bytes(raw if cut is None else raw[:cut])
    gz = draw(st.booleans())
    if gz:
        data = gzipped(data, level=1)
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]
    return ("x.nii.gz" if gz else "x.nii"), data


def _open_and_check(path: Path) -> None:
    da = spatial_xr.open_image(path)
    grid = da.spatial.grid  # a valid Grid: finite, orthonormal, positive spacing
    assert np.all(np.isfinite(grid.affine))
    values = da.compute().values
    assert values.shape == da.shape
    try:  # wherever nibabel also reads the bytes, the values agree
        ref = np.asanyarray(nib.load(path).dataobj)
    except Exception:
        return
    ref = np.moveaxis(ref, range(ref.ndim), range(ref.ndim)[::-1])
    if values.ndim == 5:  # ours: t, c, z, y, x; reversed file order: c, t, z, y, x
        ref = np.swapaxes(ref, 0, 1)
    np.testing.assert_array_equal(values.reshape(ref.shape), ref.astype(values.dtype))


@pytest.fixture(scope="module", autouse=True)
def _warm_up_and_report() -> Any:
    """Import everything once (so that the first example's time and memory bounds do not
    include imports), then report the tally."""
    for name, data in (("w.nii", BASES["4d"]), ("w.nii.gz", gzipped(BASES["3d"]))):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            path.write_bytes(data)
            _open_and_check(path)
    yield
    print(f"\nNIfTI fuzz: {COUNTS}")


def _fuzz_once(name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        run_bounded(lambda: _open_and_check(path))


@fuzz_settings()
@given(mutated_nifti())
def test_fuzz_nifti_headers(case: tuple[str, bytes]) -> None:
    _fuzz_once(*case)


@pytest.mark.slow
@fuzz_settings(slow=True)
@given(mutated_nifti())
def test_fuzz_nifti_headers_long(case: tuple[str, bytes]) -> None:
    _fuzz_once(*case)
