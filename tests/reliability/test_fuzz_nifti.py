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
        proxy = nib.load(path).dataobj
        ref, raw = np.asanyarray(proxy), np.asanyarray(proxy.get_unscaled())
    except Exception:
        return

    def ours_order(a: np.ndarray) -> np.ndarray:
        a = np.moveaxis(a, range(a.ndim), range(a.ndim)[::-1])
        # ours: t, c, z, y, x; reversed file order: c, t, z, y, x
        return np.swapaxes(a, 0, 1) if values.ndim == 5 else a

    ref, raw = ours_order(ref), ours_order(raw)
    values = values.reshape(ref.shape)
    exact = values == ref.astype(values.dtype)
    if values.dtype.kind == "f" and (proxy.slope != 1.0 or proxy.inter != 0.0):
        # nibabel scales in float64, spatial_xr in the output dtype (float32 for integer
        # files): equal up to that dtype's rounding of raw × slope + inter
        bound = 2 * np.finfo(values.dtype).eps * (
            np.abs(raw.astype(np.float64) * proxy.slope) + abs(proxy.inter))
        exact |= np.abs(values.astype(np.float64) - ref.astype(np.float64)) <= bound
    assert exact.all(), (values[~exact][:5], ref[~exact][:5])


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
