"""Bad-input corpus for the NIfTI reader, generated here (no binary blobs).

Every case is a file that is broken or lies in one specific way. The reader must raise the
named :class:`~spatial_xr.errors.SpatialXRError` subclass — when opening (headers only) or
when computing (dask task) — with a message that names the problem, never another
exception, never wrong values, and never allocate what a lying header declares.
"""

from __future__ import annotations

import os
import pickle
import re
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
import nibabel as nib
import numpy as np
import pytest
from _nifti_corpus import AFFINE_RAS, SHAPE_XYZ, gzipped, nifti_bytes, voxels

import spatial_xr
from spatial_xr.errors import (
    DimensionError,
    FormatError,
    GeometryError,
    PathNotFoundError,
    SpatialXRError,
    SpatialXRWarning,
)
from spatial_xr.io.validate import MAX_TASKS

ALLOC_LIMIT = 64 << 20
"""No bad case may allocate more than this (bytes, traced by tracemalloc)."""


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], Path]
    error: type[SpatialXRError]
    match: str
    stage: str = "open"  # "open": open_image raises; "compute": .compute() raises
    kwargs: dict[str, Any] = field(default_factory=dict)


def _write(name: str, payload: bytes) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(payload)
        return path

    return build


def _nii(name: str, **kw: Any) -> Callable[[Path], Path]:
    return _write(name + ".nii", nifti_bytes(**kw))


def _niigz(name: str, **kw: Any) -> Callable[[Path], Path]:
    return _write(name + ".nii.gz", gzipped(nifti_bytes(**kw)))


VALID = nifti_bytes()
BIG_VALID = nifti_bytes((64, 64, 64), np.int16, data=np.random.default_rng(0).integers(
    0, 2**15, 64**3, dtype=np.int16).tobytes())  # incompressible: gzip stores raw blocks
BIG_GZ = gzipped(BIG_VALID)
NO_FORM = {"sform_code": 0, "qform_code": 0}
QFORM_ONLY = {"sform_code": 0}
TERABYTE_DIMS = [4, 16384, 16384, 4096, 1, 1, 1, 1]  # 2 TiB of int16


def _flip(data: bytes, start: int, n: int) -> bytes:
    return data[:start] + bytes(b ^ 0x5A for b in data[start : start + n]) + data[start + n :]


CASES = [
    # --- truncated / not NIfTI
    Case("empty", _write("empty.nii", b""), FormatError, r"truncated.*too short"),
    Case("header_cut", _write("hcut.nii", VALID[:200]), FormatError, r"truncated.*200 bytes"),
    Case("header_only", _write("honly.nii", VALID[:352]), FormatError,
         r"truncated or its header lies.*only 352 bytes"),
    Case("data_cut_one_byte", _write("dcut.nii", VALID[:-1]), FormatError,
         r"truncated or its header lies.*declares 240 bytes"),
    Case("gzip_cut_in_header", _write("gcut.nii.gz", gzipped(VALID)[:60]), FormatError,
         r"truncated|ended before"),
    Case("gzip_cut_in_data", _write("gdcut.nii.gz", BIG_GZ[: len(BIG_GZ) // 2]), FormatError,
         r"truncated or corrupt", stage="compute"),
    Case("gzip_cut_trailer", _write("gtcut.nii.gz", BIG_GZ[:-6]), FormatError,
         r"truncated or corrupt", stage="compute"),
    Case("gzip_data_bytes_flipped", _write("gflip.nii.gz", _flip(BIG_GZ, len(BIG_GZ) // 2, 64)),
         FormatError, r"CRC check failed", stage="compute"),
    Case("gzip_bad_crc", _write("gcrc.nii.gz", _flip(BIG_GZ, len(BIG_GZ) - 8, 4)),
         FormatError, r"CRC check failed", stage="compute"),
    Case("not_gzip_but_nii_gz", _write("plain.nii.gz", VALID), FormatError, r"gzip"),
    Case("text_file", _write("text.nii", b"hello world\n" * 50), FormatError, r"sizeof_hdr"),
    Case("sizeof_hdr_wrong", _nii("sizeof", header={"sizeof_hdr": 100}), FormatError,
         r"sizeof_hdr is 100"),
    Case("bad_magic", _nii("magic", header={"magic": b"xyz"}), FormatError,
         r"magic is b'xyz'"),
    Case("nifti2_bad_magic", _nii("magic2", version=2, header={"magic": b"n+1"}), FormatError,
         r"magic is b'n\+1'.*NIfTI-2"),
    # --- dims that lie
    Case("dim0_zero", _nii("d00", header={("dim", 0): 0}), FormatError, r"dim\[0\].*is 0"),
    Case("dim0_nine", _nii("d09", header={("dim", 0): 9}), FormatError, r"dim\[0\].*is 9"),
    Case("dim_zero", _nii("dz", header={("dim", 2): 0}), FormatError, r"dim\[2\] is 0"),
    Case("dim_negative", _nii("dn", header={("dim", 3): -5}), FormatError, r"dim\[3\] is -5"),
    Case("dims_larger_than_data", _nii("dl", header={("dim", 3): 60}), FormatError,
         r"declares 2400 bytes"),
    Case("dims_claim_terabytes", _nii("tb", header={"dim": TERABYTE_DIMS}), FormatError,
         r"declares 2199023255552 bytes \(2 TiB\)"),
    Case("dims_overflow_int64", _nii("ovf", header={"dim": [5] + [32767] * 5 + [1, 1]}),
         FormatError, r"header lies.*PiB"),
    Case("gzip_dims_claim_terabytes", _niigz("gtb", header={"dim": TERABYTE_DIMS}),
         FormatError, r"declares 2199023255552 bytes \(2 TiB\).*compressed file of \d+ bytes"),
    Case("nifti2_dims_claim_exabytes",
         _nii("n2eb", version=2, header={"dim": [3, 2**40, 2**40, 2**20, 1, 1, 1, 1]}),
         FormatError, r"declares .*PiB"),
    Case("six_dims", _nii("six", shape_xyz=(2, 2, 2, 1, 1, 2)), DimensionError,
         r"6 data dims.*up to 5"),
    # --- datatype that lies
    Case("datatype_unknown", _nii("dtu", header={"datatype": 1234}), FormatError,
         r"datatype code 1234"),
    Case("datatype_zero", _nii("dt0", header={"datatype": 0}), FormatError,
         r"datatype code 0"),
    Case("datatype_bigger_than_data", _nii("dtb", header={"datatype": 64, "bitpix": 64}),
         FormatError, r"declares 960 bytes.*only 592"),
    Case("datatype_binary", _nii("dtbin", header={"datatype": 1, "bitpix": 1}), FormatError,
         r"data code 1 not supported"),
    # --- vox_offset that lies
    Case("vox_offset_past_eof", _nii("vbig", header={"vox_offset": 10**6}), FormatError,
         r"offset 1000000"),
    Case("vox_offset_zero", _nii("v0", header={"vox_offset": 0}), FormatError,
         r"vox_offset 0, inside its own header"),
    Case("vox_offset_in_header", _nii("v100", header={"vox_offset": 100}), FormatError,
         r"vox offset 100 too low"),
    Case("vox_offset_negative", _nii("vneg", header={"vox_offset": -400}), FormatError,
         r"vox_offset is -400"),
    Case("vox_offset_nan", _nii("vnan", header={"vox_offset": np.nan}), FormatError,
         r"vox_offset is nan"),
    # --- pixdim
    Case("pixdim_nan", _nii("pnan", header={**NO_FORM, ("pixdim", 1): np.nan}),
         GeometryError, r"pixdim\[1\].*is nan"),
    Case("pixdim_inf", _nii("pinf", header={**NO_FORM, ("pixdim", 2): np.inf}),
         GeometryError, r"pixdim\[2\].*is inf"),
    Case("pixdim_zero", _nii("p0", header={**NO_FORM, ("pixdim", 3): 0.0}), GeometryError,
         r"pixdim\[3\].*is 0.0"),
    Case("pixdim_zero_qform", _nii("p0q", header={**QFORM_ONLY, ("pixdim", 1): 0.0}),
         GeometryError, r"pixdim\[1\].*is 0.0"),
    Case("pixdim_negative_qform", _nii("pnq", header={**QFORM_ONLY, ("pixdim", 2): -3.0}),
         GeometryError, r"pixdim\[2\].*is -3.0"),
    # --- affines
    Case("sform_singular", _nii("ssing", header={"srow_x": [0.0, 0, 0, 0]}), GeometryError,
         r"sform.*singular"),
    Case("sform_sheared", _nii("sshear", header={"srow_x": [2.0, 1.0, 0, 0]}), GeometryError,
         r"sform.*not orthonormal"),
    Case("sform_nan", _nii("snan", header={"srow_y": [0.0, np.nan, 0, 0]}), GeometryError,
         r"sform.*non-finite"),
    Case("sform_inf_offset", _nii("sinf", header={"srow_z": [0.0, 0, 4, np.inf]}),
         GeometryError, r"sform.*non-finite"),
    Case("qform_not_unit_quaternion",
         _nii("qbad", header={**QFORM_ONLY, "quatern_b": 0.9, "quatern_c": 0.9}),
         GeometryError, r"quatern_b/c/d.*unit quaternion"),
    Case("qform_quaternion_nan", _nii("qnan", header={**QFORM_ONLY, "quatern_d": np.nan}),
         GeometryError, r"quatern_b/c/d"),
    Case("qform_offset_nan", _nii("qoff", header={**QFORM_ONLY, "qoffset_x": np.nan}),
         GeometryError, r"qform.*non-finite"),
    Case("sform_code_unknown", _nii("sc99", header={"sform_code": 99}), FormatError,
         r"sform_code is 99"),
    Case("qform_code_negative", _nii("qcn", header={"qform_code": -1}), FormatError,
         r"qform_code is -1"),
    Case("sform_requested_but_absent", _nii("nosf", header={"sform_code": 0}), GeometryError,
         r"no sform", kwargs={"affine": "sform"}),
    # --- scaling
    Case("scl_slope_inf", _nii("slinf", header={"scl_slope": np.inf}), FormatError,
         r"scl_slope/scl_inter are \(inf"),
    Case("scl_inter_inf", _nii("slint", header={"scl_slope": 2.0, "scl_inter": np.inf}),
         FormatError, r"scl_slope/scl_inter are \(2.0, inf\)"),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad_nifti")
    for name, payload in [("warm.nii", VALID), ("warm.nii.gz", BIG_GZ)]:
        # import everything once, so that tracemalloc below sees only the case itself
        (folder / name).write_bytes(payload)
        with dask.config.set(scheduler="threads"):
            spatial_xr.open_image(folder / name).compute()
    return {case.name: case.build(folder) for case in CASES}


def _assert_names_problem(exc: BaseException, case: Case, path: Path) -> None:
    assert isinstance(exc, case.error), f"{case.name}: got {type(exc).__name__}: {exc}"
    message = str(exc)
    assert re.search(case.match, message, flags=re.S), f"{case.name}: {message!r}"
    # errors travel between dask workers: they must pickle to the same class and message
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is type(exc) and str(again) == message
    if case.stage == "open" and "sform_requested" not in case.name:
        assert path.name in message, f"{case.name}: message does not name the file"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_nifti_raises_named_error(case: Case, corpus: dict[str, Path]) -> None:
    path = corpus[case.name]
    tracemalloc.start()
    try:
        if case.stage == "open":
            with pytest.raises(SpatialXRError) as info:
                spatial_xr.open_image(path, **case.kwargs)
        else:
            da = spatial_xr.open_image(path, **case.kwargs)  # headers are fine …
            with pytest.raises(SpatialXRError) as info, dask.config.set(scheduler="threads"):
                da.compute()  # … the voxel data are not
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    _assert_names_problem(info.value, case, path)
    assert peak < ALLOC_LIMIT, f"{case.name}: allocated {peak} bytes"


def test_corpus_size() -> None:
    assert len(CASES) >= 40


def test_the_corpus_base_file_is_valid(tmp_path: Path) -> None:
    """Every case above is the valid file with one thing broken: the valid one reads, with
    geometry and values matching nibabel."""
    for name, payload in [("ok.nii", VALID), ("ok.nii.gz", gzipped(VALID)),
                          ("big.nii.gz", BIG_GZ)]:
        path = tmp_path / name
        path.write_bytes(payload)
        da = spatial_xr.open_image(path)
        ref = nib.load(path)
        np.testing.assert_array_equal(da.values, np.asarray(ref.dataobj).T)
    da = spatial_xr.open_image(tmp_path / "ok.nii")
    np.testing.assert_array_equal(da.values, voxels().T)
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ AFFINE_RAS
    np.testing.assert_allclose(da.spatial.grid.affine, lps)
    assert da.spatial.grid.shape_xyz == SHAPE_XYZ


def test_qform_sform_conflict_warns_and_uses_sform(tmp_path: Path) -> None:
    path = tmp_path / "conflict.nii"
    path.write_bytes(nifti_bytes(header={"srow_x": [2.0, 0, 0, 40.0]}))
    with pytest.warns(SpatialXRWarning, match=r"qform and sform disagree by up to 50 mm"):
        da = spatial_xr.open_image(path)
    assert da.spatial.origin[0] == -40.0  # sform, LPS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert spatial_xr.open_image(path, affine="qform").spatial.origin[0] == 10.0


def test_folder_named_like_nifti(tmp_path: Path) -> None:
    folder = tmp_path / "scan.nii"
    folder.mkdir()
    with pytest.raises(FormatError, match=r"scan\.nii.*cannot be opened"):
        spatial_xr.open_image(folder)


def test_missing_file() -> None:
    with pytest.raises(PathNotFoundError, match="no such file"):
        spatial_xr.open_image("does-not-exist.nii")


def test_file_removed_after_lazy_open(tmp_path: Path) -> None:
    path = tmp_path / "gone.nii"
    path.write_bytes(VALID)
    da = spatial_xr.open_image(path)
    path.unlink()
    with pytest.raises(PathNotFoundError, match=r"gone\.nii.*no longer exists"):
        da.compute()


def test_file_truncated_after_lazy_open(tmp_path: Path) -> None:
    path = tmp_path / "shrunk.nii"
    path.write_bytes(VALID)
    da = spatial_xr.open_image(path)
    os.truncate(path, 400)
    with pytest.raises(FormatError, match=r"shrunk\.nii.*changed after it was opened"):
        da.compute()


def test_cifti_file_is_refused(nibabel_data: Path) -> None:
    with pytest.raises(FormatError, match=r"Cifti2Image, not a single-file NIfTI"):
        spatial_xr.open_image(nibabel_data / "row_major.dconn.nii")


def test_compute_error_crosses_distributed_workers(corpus: dict[str, Path]) -> None:
    """An error raised inside a dask task on a separate worker process arrives as the same
    SpatialXRError subclass."""
    distributed = pytest.importorskip("distributed")
    da = spatial_xr.open_image(corpus["gzip_bad_crc"])
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                 dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
        pytest.raises(FormatError, match="CRC check failed"),
    ):
        client.compute(da.data).result()


def test_many_frames_do_not_explode_the_graph(tmp_path: Path) -> None:
    """A header may declare a million tiny frames; the default chunking groups them so
    that the dask graph stays bounded."""
    shape = (1, 1, 1, 1000, 1000)
    path = tmp_path / "frames.nii"
    path.write_bytes(nifti_bytes(shape, np.uint8))
    da = spatial_xr.open_image(path)
    assert da.dims == ("t", "c", "z", "y", "x")
    assert da.data.npartitions <= MAX_TASKS
    expected = voxels(shape, np.uint8).reshape(1000, 1000)  # [t, c]
    np.testing.assert_array_equal(da.isel(t=slice(990, None), c=slice(0, 7)).values.squeeze(),
                                  expected[990:, :7])
