"""Lazy NIfTI reading and writing, checked against SimpleITK and nibabel."""

from __future__ import annotations

import io
import pickle
import warnings
from pathlib import Path

import dask
import dask.array as dsa
import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

import spatial_xr
import spatial_xr.io.nifti.read as nifti_mod
from spatial_xr.errors import (
    FormatError,
    GeometryError,
    OverwriteError,
    SpatialXRWarning,
    UnsupportedOptionError,
)
from spatial_xr.geometry import code_to_direction, lps_ras_flip
from spatial_xr.testing import random_direction

NIBABEL_FILES = ["anatomical.nii", "functional.nii", "example4d.nii.gz", "standard.nii.gz",
                 "example_nifti2.nii.gz"]


def random_voxels(shape_xyz: tuple[int, ...], n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, s, n) for s in shape_xyz], axis=-1)


def nibabel_lps_points(img: nib.Nifti1Image, ijk: np.ndarray) -> np.ndarray:
    return nib.affines.apply_affine(lps_ras_flip(img.affine), ijk)


# ---------------------------------------------------------------------- real files
@pytest.mark.parametrize("name", NIBABEL_FILES)
def test_nibabel_files_geometry_and_values(nibabel_data: Path, name: str) -> None:
    path = nibabel_data / name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpatialXRWarning)  # example_nifti2: 0.004 mm apart
        da = spatial_xr.open_image(path)
    ref = nib.load(path)
    assert isinstance(da.data, dsa.Array)
    ijk = random_voxels(da.spatial.grid.shape_xyz, 50)
    ours = da.spatial.grid.index_to_world(ijk)
    np.testing.assert_allclose(ours, nibabel_lps_points(ref, ijk), atol=1e-4)
    expected = np.asanyarray(ref.dataobj).T
    np.testing.assert_allclose(da.values, expected, rtol=1e-6)
    native = expected.dtype.newbyteorder("=")
    assert da.dtype == (np.float32 if expected.dtype.kind == "f" else native)


@pytest.mark.parametrize("name", NIBABEL_FILES[:4])
def test_nibabel_files_against_simpleitk(nibabel_data: Path, name: str) -> None:
    path = nibabel_data / name
    da = spatial_xr.open_image(path)
    img = sitk.ReadImage(str(path))
    n = img.GetDimension()
    ijk = random_voxels(da.spatial.grid.shape_xyz, 50, seed=1)
    sitk_pts = np.array([img.TransformIndexToPhysicalPoint([int(v) for v in p] + [0] * (n - 3))
                         for p in ijk])[:, :3]
    np.testing.assert_allclose(da.spatial.grid.index_to_world(ijk), sitk_pts, atol=1e-4)
    arr = sitk.GetArrayFromImage(img)
    np.testing.assert_allclose(da.values, arr.reshape(da.shape), rtol=1e-5)


def test_big_endian_is_read_natively(nibabel_data: Path) -> None:
    da = spatial_xr.open_image(nibabel_data / "anatomical.nii")
    assert nib.load(nibabel_data / "anatomical.nii").get_data_dtype().byteorder == ">"
    assert da.dtype == np.dtype("int16") and da.dtype.byteorder in "=<|"


def test_4d_has_time_coordinate(nibabel_data: Path) -> None:
    da = spatial_xr.open_image(nibabel_data / "example4d.nii.gz")
    assert da.dims == ("t", "z", "y", "x")
    assert nib.load(nibabel_data / "example4d.nii.gz").header.get_xyzt_units()[1] == "sec"
    assert da.coords["t"].attrs["units"] == "second"
    np.testing.assert_allclose(da.t.values, [0.0, 2000.0])


# ---------------------------------------------------------------------- qform / sform rule
def make_nifti(path: Path, qform: np.ndarray | None, sform: np.ndarray | None,
               shape: tuple[int, ...] = (6, 7, 5), dtype: type = np.int16) -> np.ndarray:
    data = np.arange(np.prod(shape), dtype=dtype).reshape(shape)
    img = nib.Nifti1Image(data, None)
    img.set_qform(qform, code=1 if qform is not None else 0)
    img.set_sform(sform, code=2 if sform is not None else 0)
    if sform is not None:  # pixdim agrees with the sform, as writers do (ITK checks it)
        img.header.set_zooms(np.linalg.norm(sform[:3, :3], axis=0))
    nib.save(img, path)
    return data


def oblique_ras(seed: int, det: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = np.eye(4)
    a[:3, :3] = random_direction(rng, 3, det) * [1.1, 0.9, 2.5]
    a[:3, 3] = rng.uniform(-50, 50, 3)
    return a


@pytest.mark.parametrize("which", ["sform-only", "qform-only", "both-agree"])
@pytest.mark.parametrize("det", [1.0, -1.0])
def test_synthetic_affines_against_simpleitk(tmp_path: Path, which: str, det: float) -> None:
    aff = oblique_ras(3, det)
    path = tmp_path / f"{which}.nii"
    data = make_nifti(path, qform=None if which == "sform-only" else aff,
                      sform=None if which == "qform-only" else aff)
    da = spatial_xr.open_image(path)
    img = sitk.ReadImage(str(path))
    ijk = random_voxels(data.shape, 40, seed=2)
    sitk_pts = np.array([img.TransformIndexToPhysicalPoint([int(v) for v in p]) for p in ijk])
    np.testing.assert_allclose(da.spatial.grid.index_to_world(ijk), sitk_pts, atol=1e-4)
    np.testing.assert_allclose(da.spatial.grid.index_to_world(ijk),
                               nib.affines.apply_affine(lps_ras_flip(aff), ijk), atol=1e-4)
    np.testing.assert_array_equal(da.values, data.T)


def test_qform_sform_conflict_warns_and_follows_nibabel(tmp_path: Path) -> None:
    q, s = oblique_ras(4), oblique_ras(5)
    path = tmp_path / "conflict.nii.gz"
    make_nifti(path, qform=q, sform=s)
    with pytest.warns(SpatialXRWarning, match="qform and sform disagree.*using the sform"):
        da = spatial_xr.open_image(path)
    ijk = random_voxels((6, 7, 5), 20)
    expected_best = nib.affines.apply_affine(lps_ras_flip(nib.load(path).affine), ijk)
    np.testing.assert_allclose(da.spatial.grid.index_to_world(ijk), expected_best, atol=1e-4)
    dq = spatial_xr.open_image(path, affine="qform")
    np.testing.assert_allclose(dq.spatial.grid.index_to_world(ijk),
                               nib.affines.apply_affine(lps_ras_flip(q), ijk), atol=1e-4)
    with pytest.raises(UnsupportedOptionError, match="affine must be"):
        spatial_xr.open_image(path, affine="other")


def test_no_codes_uses_nibabel_fallback(tmp_path: Path) -> None:
    path = tmp_path / "nocodes.nii"
    make_nifti(path, qform=None, sform=None)
    da = spatial_xr.open_image(path)
    np.testing.assert_allclose(da.spatial.affine_ras, nib.load(path).affine, atol=1e-6)
    with pytest.raises(GeometryError, match="no sform"):
        spatial_xr.open_image(path, affine="sform")


def test_sheared_and_singular_affines_raise(tmp_path: Path) -> None:
    sheared = np.eye(4)
    sheared[0, 1] = 0.5
    path = tmp_path / "sheared.nii"
    make_nifti(path, qform=None, sform=sheared)
    with pytest.raises(GeometryError, match="not orthonormal"):
        spatial_xr.open_image(path)
    singular = np.diag([1.0, 0.0, 1.0, 1.0])
    path = tmp_path / "singular.nii"
    make_nifti(path, qform=None, sform=singular)
    with pytest.raises(GeometryError, match="singular"):
        spatial_xr.open_image(path)


# ---------------------------------------------------------------------- scaling, dims, chunks
def test_scaling_lazy_and_raw(tmp_path: Path) -> None:
    path = tmp_path / "scaled.nii"
    data = np.arange(60, dtype=np.int16).reshape(3, 4, 5)
    img = nib.Nifti1Image(data, np.eye(4))
    img.header.set_slope_inter(0.5, -10.0)
    nib.save(img, path)
    da = spatial_xr.open_image(path)
    assert da.dtype == np.float32
    np.testing.assert_allclose(da.values, np.asanyarray(nib.load(path).dataobj).T)
    raw = spatial_xr.open_image(path, apply_scaling=False)
    assert raw.dtype == np.int16
    np.testing.assert_array_equal(raw.values, data.T)
    assert raw.attrs["scale_slope"] == 0.5 and raw.attrs["scale_intercept"] == -10.0


def test_identity_scaling_keeps_dtype(tmp_path: Path) -> None:
    path = tmp_path / "u8.nii.gz"
    make_nifti(path, qform=np.eye(4), sform=None, dtype=np.uint8)
    assert spatial_xr.open_image(path).dtype == np.uint8


def test_5d_dims_and_values(tmp_path: Path) -> None:
    path = tmp_path / "five.nii"
    data = np.random.default_rng(0).normal(size=(4, 5, 3, 2, 3)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    da = spatial_xr.open_image(path)
    assert da.dims == ("t", "c", "z", "y", "x")
    np.testing.assert_array_equal(da.values, data.transpose(3, 4, 2, 1, 0))


def test_chunks_are_honoured(nibabel_data: Path) -> None:
    da = spatial_xr.open_image(nibabel_data / "anatomical.nii", chunks={"z": 5, "y": 20})
    assert da.data.chunks[0] == (5,) * 5
    assert da.data.chunks[1] == (20, 20, 1)
    gz = spatial_xr.open_image(nibabel_data / "example4d.nii.gz")
    assert gz.data.chunksize == (1, 24, 96, 128)
    whole = spatial_xr.open_image(nibabel_data / "anatomical.nii")
    np.testing.assert_array_equal(da.values, whole.values)


def test_orientation_on_open(nibabel_data: Path) -> None:
    path = nibabel_data / "example4d.nii.gz"
    da = spatial_xr.open_image(path)
    ras = spatial_xr.open_image(path, orientation="RAS")
    assert ras.spatial.orientation == "RAS"
    assert isinstance(ras.data, dsa.Array)
    for code in ("LPS", "ASL", "IRP"):
        re = spatial_xr.open_image(path, orientation=code)
        assert re.spatial.orientation == code
        idx = np.array([[1, 3, 10, 20]])  # t, z, y, x in re
        w = re.spatial.index_to_world(idx[:, 1:])
        back = da.spatial.world_to_index(w, rounded=True)[0]
        assert float(re.values[1, 3, 10, 20]) == float(da.values[(1, *back)])


# ---------------------------------------------------------------------- laziness
class CountingFile(io.RawIOBase):
    """Wraps a binary file, counting the bytes read."""

    total = 0

    def __init__(self, f: io.BufferedReader) -> None:
        self._f = f

    def read(self, n: int = -1) -> bytes:
        b = self._f.read(n)
        CountingFile.total += len(b)
        return b

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        n = self._f.readinto(buf)
        CountingFile.total += n
        return n

    def seek(self, *args: int) -> int:
        return self._f.seek(*args)

    def tell(self) -> int:
        return self._f.tell()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        self._f.close()


@pytest.fixture(scope="module")
def one_gigabyte_nii(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1 GiB int16 .nii (512 × 512 × 2048), sparse on disk: header, then zeros."""
    path = tmp_path_factory.mktemp("big") / "big.nii"
    hdr = nib.Nifti1Header()
    hdr.set_data_shape((512, 512, 2048))
    hdr.set_data_dtype(np.int16)
    hdr.set_qform(np.diag([0.7, 0.7, 2.5, 1.0]), code=1)
    hdr["vox_offset"] = 352
    with open(path, "wb") as f:
        f.write(hdr.binaryblock + b"\0" * 4)
        f.truncate(352 + 512 * 512 * 2048 * 2)
    return path


def test_open_reads_no_pixels_and_crop_reads_only_its_slices(
    one_gigabyte_nii: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def counting_open(path: str) -> CountingFile:
        return CountingFile(open(path, "rb"))

    monkeypatch.setattr(nifti_mod, "open_file", counting_open)
    CountingFile.total = 0
    da = spatial_xr.open_image(one_gigabyte_nii)
    assert da.nbytes == 2**30
    assert CountingFile.total == 0
    slab = da.isel(z=slice(1000, 1010)).values
    slice_bytes = 512 * 512 * 2
    assert slab.shape == (10, 512, 512)
    assert 10 * slice_bytes <= CountingFile.total <= 10 * slice_bytes + 4096


def test_graph_pickles_and_runs_on_distributed(nibabel_data: Path, dask_client) -> None:
    da = spatial_xr.open_image(nibabel_data / "functional.nii", chunks={"z": 1})
    clone = pickle.loads(pickle.dumps(da))
    expected = np.asanyarray(nib.load(nibabel_data / "functional.nii").dataobj).T
    np.testing.assert_allclose(clone.values, expected, rtol=1e-6)
    total = float(da.sum().compute(scheduler=dask_client.get))
    gz = spatial_xr.open_image(nibabel_data / "example4d.nii.gz").mean().compute(
        scheduler=dask_client.get)
    np.testing.assert_allclose(total, expected.astype(np.float32).sum(dtype=np.float64),
                               rtol=1e-5)
    np.testing.assert_allclose(float(gz), np.asanyarray(
        nib.load(nibabel_data / "example4d.nii.gz").dataobj).mean(), rtol=1e-6)


def test_truncated_file_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "short.nii"
    make_nifti(path, qform=np.eye(4), sform=None)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(FormatError, match="truncated"):
        spatial_xr.open_image(path)
    gz = tmp_path / "short.nii.gz"
    make_nifti(gz, qform=np.eye(4), sform=None, shape=(60, 70, 50))
    gz.write_bytes(gz.read_bytes()[:-200])
    da = spatial_xr.open_image(gz)
    with pytest.raises(FormatError, match="truncated or corrupt"):
        da.compute()


# ---------------------------------------------------------------------- writing
DIRECTIONS = {
    "identity": np.eye(3),
    "RAS": code_to_direction("RAS"),
    "permuted": code_to_direction("ILA"),
    "oblique": random_direction(np.random.default_rng(11), 3, 1.0),
    "oblique-det-1": random_direction(np.random.default_rng(12), 3, -1.0),
}


@pytest.mark.parametrize("kind", list(DIRECTIONS))
@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_write_round_trip_checked_by_simpleitk(tmp_path: Path, kind: str, suffix: str) -> None:
    values = np.random.default_rng(1).integers(-1024, 3000, (6, 8, 9)).astype(np.int16)
    da = spatial_xr.from_array(dsa.from_array(values, chunks=(2, 3, 4)), spacing=(2.5, 0.7, 0.8),
                               origin=(10.0, -20.0, 30.0), direction=DIRECTIONS[kind])
    path = tmp_path / f"out{suffix}"
    da.spatial.to_nifti(path)
    back = spatial_xr.open_image(path)
    assert back.spatial.same_grid(da, atol=1e-4)
    np.testing.assert_array_equal(back.values, values)
    hdr = nib.load(path).header
    assert int(hdr["qform_code"]) == 1 and int(hdr["sform_code"]) == 1
    np.testing.assert_allclose(hdr.get_qform(), hdr.get_sform(), atol=1e-5)
    img = sitk.ReadImage(str(path))
    np.testing.assert_allclose(img.GetOrigin(), da.spatial.origin, atol=1e-4)
    np.testing.assert_allclose(img.GetSpacing(), da.spatial.spacing_xyz, atol=1e-5)
    np.testing.assert_allclose(np.array(img.GetDirection()), da.spatial.direction.ravel(),
                               atol=1e-5)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img), values)


def test_write_4d_nifti2_and_2d(tmp_path: Path) -> None:
    data = np.random.default_rng(2).random((3, 4, 5, 6)).astype(np.float32)
    da = spatial_xr.from_array(data, spacing=(2, 1, 1))
    da = da.assign_coords(t=("t", [0.0, 1.5, 3.0], {"units": "second"}))
    path = tmp_path / "four.nii.gz"
    da.spatial.to_nifti(path, version=2)
    assert isinstance(nib.load(path), nib.Nifti2Image)
    back = spatial_xr.open_image(path)
    np.testing.assert_array_equal(back.values, data)
    np.testing.assert_allclose(back.t.values, [0.0, 1.5, 3.0])
    flat = spatial_xr.from_array(np.ones((4, 5), dtype=bool), spacing=(0.5, 0.25))
    flat.spatial.to_nifti(tmp_path / "flat.nii")
    back2 = spatial_xr.open_image(tmp_path / "flat.nii")
    assert back2.shape == (1, 4, 5) and back2.dtype == np.uint8
    np.testing.assert_allclose(back2.spatial.spacing_xyz[:2], [0.25, 0.5])


def test_write_raw_keeps_scaling(tmp_path: Path) -> None:
    path = tmp_path / "scaled.nii"
    img = nib.Nifti1Image(np.arange(24, dtype=np.int16).reshape(2, 3, 4), np.eye(4))
    img.header.set_slope_inter(2.0, 1.0)
    nib.save(img, path)
    raw = spatial_xr.open_image(path, apply_scaling=False)
    raw.spatial.to_nifti(tmp_path / "copy.nii")
    np.testing.assert_allclose(spatial_xr.open_image(tmp_path / "copy.nii").values,
                               spatial_xr.open_image(path).values)


def test_writer_refuses_overwrite_and_leaves_no_partial_file(tmp_path: Path) -> None:
    da = spatial_xr.from_array(np.zeros((2, 3, 4), np.int16))
    path = tmp_path / "x.nii.gz"
    da.spatial.to_nifti(path)
    before = path.read_bytes()
    with pytest.raises(OverwriteError, match="overwrite=True"):
        da.spatial.to_nifti(path)
    assert path.read_bytes() == before

    def boom(block: np.ndarray) -> np.ndarray:
        raise RuntimeError("disk on fire")

    bad = spatial_xr.from_array(dsa.zeros((4, 3, 4), chunks=(1, 3, 4), dtype=np.int16)
                                .map_blocks(boom, dtype=np.int16))
    with pytest.raises(RuntimeError, match="disk on fire"):
        bad.spatial.to_nifti(path, overwrite=True)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.nii.gz"]
    (da + 1).astype(np.int16).spatial.to_nifti(path, overwrite=True)
    assert int(spatial_xr.open_image(path).max()) == 1


def test_writer_streams_slab_by_slab(tmp_path: Path) -> None:
    calls: list[tuple[int, ...]] = []

    def record(block: np.ndarray) -> np.ndarray:
        if block.size > 1:  # skip dask's meta probes
            calls.append(block.shape)
        return block

    data = dsa.ones((12, 16, 16), chunks=(3, 16, 16), dtype=np.uint8).map_blocks(record)
    with dask.config.set(scheduler="synchronous"):
        spatial_xr.from_array(data).spatial.to_nifti(tmp_path / "s.nii")
    assert calls == [(3, 16, 16)] * 4


def test_bad_names_and_dims(tmp_path: Path) -> None:
    da = spatial_xr.from_array(np.zeros((2, 3, 4)))
    with pytest.raises(FormatError, match=r"\.nii or \.nii\.gz"):
        da.spatial.to_nifti(tmp_path / "x.img")
    extra = da.expand_dims(q=2)
    with pytest.raises(spatial_xr.SpatialXRError, match="'q'"):
        extra.spatial.to_nifti(tmp_path / "q.nii")


def test_integer_and_fancy_indexing(nibabel_data: Path) -> None:
    da = spatial_xr.open_image(nibabel_data / "anatomical.nii", chunks={"z": 7})
    ref = np.asanyarray(nib.load(nibabel_data / "anatomical.nii").dataobj).T
    assert da.isel(z=14, y=26, x=5).values.shape == ()
    assert int(da.isel(z=14, y=26, x=5)) == ref[14, 26, 5]
    np.testing.assert_array_equal(da.isel(z=[1, 20, 3], x=4).values, ref[[1, 20, 3]][:, :, 4])
    np.testing.assert_array_equal(da.isel(z=[1, 5, 3], y=[0, 7], x=slice(2, 30, 3)).values,
                                  ref[[1, 5, 3]][:, [0, 7]][:, :, 2:30:3])
    np.testing.assert_array_equal(da.isel(z=slice(None, None, -2)).values, ref[::-2])


# ---------------------------------------------------------------------- fast whole reads
@pytest.fixture(scope="module")
def fast_read_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """int16, big-endian float32 and scaled volumes, as .nii and .nii.gz (nibabel writes)."""
    out = tmp_path_factory.mktemp("fast")
    rng = np.random.default_rng(8)
    vol = rng.integers(-1024, 3000, size=(37, 29, 23), dtype=np.int16)
    affine = np.diag([0.7, 0.8, 2.5, 1.0])
    files = {}
    for ext in (".nii", ".nii.gz"):
        files["int16" + ext] = out / f"int16{ext}"
        nib.save(nib.Nifti1Image(vol, affine), files["int16" + ext])
        big = nib.Nifti1Image(vol.astype(">f4") / 7, affine)
        big.header.set_data_dtype(">f4")
        files["big" + ext] = out / f"big{ext}"
        nib.save(big, files["big" + ext])
        scaled = nib.Nifti1Image(vol, affine)
        scaled.header.set_slope_inter(0.25, -3.0)
        files["scaled" + ext] = out / f"scaled{ext}"
        nib.save(scaled, files["scaled" + ext])
        four = nib.Nifti1Image(rng.integers(0, 99, size=(9, 8, 7, 3), dtype=np.uint8), affine)
        files["4d" + ext] = out / f"4d{ext}"
        nib.save(four, files["4d" + ext])
    return files


@pytest.mark.parametrize("kind", ["int16", "big", "scaled", "4d"])
@pytest.mark.parametrize("ext", [".nii", ".nii.gz"])
def test_single_chunk_read_equals_nibabel_and_simpleitk(
    fast_read_files: dict[str, Path], kind: str, ext: str
) -> None:
    path = fast_read_files[kind + ext]
    da = spatial_xr.open_image(path)
    spatial = da.data.chunks[-3:]
    assert all(len(c) == 1 for c in spatial)  # a small volume is one chunk per frame
    ref = np.asanyarray(nib.load(path).dataobj)  # nibabel applies the scaling
    values = da.values
    assert values.flags.writeable and values.flags.c_contiguous
    assert values.dtype.isnative
    np.testing.assert_allclose(values, ref.T, rtol=1e-6)
    if kind != "4d":
        np.testing.assert_allclose(values, sitk.GetArrayFromImage(sitk.ReadImage(str(path))),
                                   rtol=1e-6)
    slab = da.isel(z=slice(3, 9)).values  # slices of the single chunk
    np.testing.assert_allclose(slab, ref.T[..., 3:9, :, :], rtol=1e-6)


def test_each_compute_returns_a_new_array(fast_read_files: dict[str, Path]) -> None:
    da = spatial_xr.open_image(fast_read_files["int16.nii"])
    first = da.values
    first[...] = 0  # the caller owns the result: a second read is unaffected
    second = da.values
    assert not np.shares_memory(first, second)
    assert int(np.abs(second).sum()) > 0
    kept = da.data.persist()  # a chunk held in the graph is copied on compute, as dask does
    a, b = kept.compute(), kept.compute()
    a[...] = 0
    np.testing.assert_array_equal(b, second)


def test_slab_of_a_single_chunk_volume_reads_only_its_bytes(
    fast_read_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def counting_open(path: str) -> CountingFile:
        return CountingFile(open(path, "rb"))

    monkeypatch.setattr(nifti_mod, "open_file", counting_open)
    CountingFile.total = 0
    da = spatial_xr.open_image(fast_read_files["int16.nii"])
    assert da.data.npartitions == 1
    slab = da.isel(z=slice(10, 14)).values
    assert slab.shape == (4, 29, 37)
    assert CountingFile.total == 4 * 29 * 37 * 2


def test_gzip_without_isal_falls_back_to_zlib(
    fast_read_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import gzip
    import sys

    monkeypatch.setitem(sys.modules, "isal", None)  # "import isal" raises ImportError
    path = str(fast_read_files["int16.nii.gz"])
    with nifti_mod.open_file(path) as f:
        assert type(f) is gzip.GzipFile
    values = spatial_xr.open_image(path).values
    np.testing.assert_array_equal(values, np.asanyarray(nib.load(path).dataobj).T)


def test_reader_without_buffered_internals(
    fast_read_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gzip file object without a ``_buffer`` is read through its public ``readinto``."""
    import gzip

    class Plain(io.RawIOBase):
        def __init__(self, path: str) -> None:
            self._f = gzip.open(path, "rb")  # noqa: SIM115  (closed with the test)

        def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
            data = self._f.read(min(len(buf), 1000))  # short reads on purpose
            buf[: len(data)] = data
            return len(data)

        def seek(self, *args: int) -> int:
            return self._f.seek(*args)

        def readable(self) -> bool:
            return True

    monkeypatch.setattr(nifti_mod, "open_file", Plain)
    path = fast_read_files["int16.nii.gz"]
    np.testing.assert_array_equal(spatial_xr.open_image(path).values,
                                  np.asanyarray(nib.load(path).dataobj).T)


def test_truncated_gzip_is_a_format_error(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "short.nii.gz"
    raw = tmp_path / "full.nii"
    nib.save(nib.Nifti1Image(np.ones((8, 8, 8), np.int16), np.eye(4)), raw)
    path.write_bytes(gzip.compress(raw.read_bytes()[:-100]))
    with pytest.raises(FormatError, match="truncated"):
        spatial_xr.open_image(path).values  # noqa: B018


@pytest.mark.filterwarnings("ignore:.*qform and sform disagree")
@pytest.mark.parametrize("name", ["example4d.nii.gz", "functional.nii", "anatomical.nii",
                                  "example_nifti2.nii.gz"])
def test_boxes_and_strided_selections_match_nibabel(nibabel_data: Path, name: str,
                                                    rng: np.random.Generator) -> None:
    """Random boxes (one read per plane), with integers dropping axes, and stepped
    selections (general path), on real files: gzip, big-endian, NIfTI-2, 4-D, scaled
    (nibabel scales in float64, we in float32)."""
    path = nibabel_data / name
    ref = np.asanyarray(nib.load(path).dataobj).T  # C order, as ours
    arr = spatial_xr.open_image(path).data  # dask array over the reader
    (source,) = [v for v in arr.dask.values() if isinstance(v, nifti_mod.NiftiArray)]
    for _ in range(25):
        key = []
        for n in ref.shape:
            a, b = sorted(rng.integers(0, n + 1, size=2))
            kind = rng.integers(0, 4)
            key.append(int(rng.integers(0, n)) if kind == 0 else slice(a, max(b, a + 1))
                       if kind < 3 else slice(None))
        key = tuple(key)
        np.testing.assert_allclose(source[key], ref[key], rtol=1e-6, err_msg=str(key))
    stepped = (slice(None),) * (ref.ndim - 2) + (slice(None, None, 2), slice(1, None, 3))
    np.testing.assert_allclose(source[stepped], ref[stepped], rtol=1e-6)


def test_box_reads_one_row_span_per_plane(one_gigabyte_nii: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A 20 × 30 × 40 box reads its 20 planes' spans of whole rows, nothing else."""
    def counting_open(path: str) -> CountingFile:
        return CountingFile(open(path, "rb"))

    monkeypatch.setattr(nifti_mod, "open_file", counting_open)
    CountingFile.total = 0
    da = spatial_xr.open_image(one_gigabyte_nii)
    box = da.isel(z=slice(100, 120), y=slice(200, 230), x=slice(300, 340)).values
    assert box.shape == (20, 30, 40)
    span = 30 * 512 * 2
    assert 20 * span <= CountingFile.total <= 20 * span + 4096


def test_write_4d_chunked_in_every_axis(tmp_path: Path) -> None:
    """Slabs of a t/z/y/x dask array chunked along every axis are assembled in file order."""
    values = np.random.default_rng(2).normal(size=(3, 5, 7, 6)).astype(np.float32)
    da = spatial_xr.from_array(dsa.from_array(values, chunks=(2, 2, 3, 4)),
                               spacing=(2.0, 1.0, 1.5), dims=("t", "z", "y", "x"))
    path = tmp_path / "four.nii"
    da.spatial.to_nifti(path)
    np.testing.assert_array_equal(np.asanyarray(nib.load(path).dataobj).T, values)
