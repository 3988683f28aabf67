"""MGH/MGZ reading: nibabel's files and nibabel-written files against nibabel, laziness
(bytes read), pickling, bad inputs."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import nibabel as nib
import nibabel.openers
import numpy as np
import pytest

import spatial_xr
from spatial_xr.errors import FormatError, GeometryError, PathNotFoundError
from spatial_xr.geometry import lps_ras_flip
from spatial_xr.io.formats import find_format
from spatial_xr.io.mgh import open_mgh
from spatial_xr.io.nibabel_proxy import ProxyArray
from spatial_xr.testing import random_direction


def nibabel_mgh(path: Path, data: np.ndarray, affine: np.ndarray, tr: float = 0.0) -> Path:
    """An MGH/MGZ file written by nibabel (data in nibabel's x, y, z[, frames] order)."""
    img = nib.MGHImage(data, affine)
    if tr:
        img.header.set_zooms((*img.header["delta"], tr))
    nib.save(img, str(path))
    return path


def oblique_ras(rng: np.random.Generator, det: float = 1.0) -> np.ndarray:
    aff = np.eye(4)
    aff[:3, :3] = random_direction(rng, det=det) * np.array([0.9, 1.1, 2.5])
    aff[:3, 3] = rng.uniform(-80, 80, 3)
    return aff


def assert_matches_nibabel(da, path: Path) -> None:
    """Every voxel equals nibabel's dataobj and the affine equals nibabel's (in LPS)."""
    img = nib.load(str(path))
    expected = np.asanyarray(img.dataobj)
    np.testing.assert_array_equal(da.values, expected.T)
    assert da.dtype == expected.dtype.newbyteorder("=")
    np.testing.assert_allclose(da.spatial.affine, lps_ras_flip(img.affine), atol=1e-5)


# ---------------------------------------------------------------------- nibabel's files
def test_nibabel_test_mgz_is_sheared_and_refused(nibabel_data: Path) -> None:
    """nibabel's own test.mgz has Mdc [[1,2,3],[2,3,1],[3,1,2]]: not a rotation."""
    assert find_format(nibabel_data / "test.mgz").name == "mgh"
    with pytest.raises(GeometryError, match=r"test\.mgz.*MGH vox2ras.*not orthonormal"):
        spatial_xr.open_image(nibabel_data / "test.mgz")


def test_nibabel_test_mgz_voxels_through_the_proxy(nibabel_data: Path) -> None:
    """Its voxels (3×4×5, 2 frames, big-endian float32) read through our lazy array
    equal nibabel's, whole and sliced."""
    img = nib.load(str(nibabel_data / "test.mgz"))
    lazy = ProxyArray(str(nibabel_data / "test.mgz"), img.shape, img.get_data_dtype(), 284,
                      what="MGH")
    expected = np.asanyarray(img.dataobj).T  # (frames, z, y, x)
    assert lazy.shape == expected.shape == (2, 5, 4, 3)
    np.testing.assert_array_equal(lazy[:], expected)
    np.testing.assert_array_equal(lazy[1, 2:4, :, 1], expected[1, 2:4, :, 1])
    assert lazy[:].dtype == np.dtype("float32")  # native order
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(lazy))[0], expected[0])


# ---------------------------------------------------------------------- nibabel-written files
@pytest.mark.parametrize("suffix", [".mgh", ".mgz"])
@pytest.mark.parametrize("det", [1.0, -1.0])
@pytest.mark.parametrize("dtype", ["uint8", "int16", "int32", "float32"])
def test_nibabel_written_files(tmp_path: Path, rng: np.random.Generator, suffix: str,
                               det: float, dtype: str) -> None:
    data = (rng.random((7, 6, 5)) * 200).astype(dtype)
    path = nibabel_mgh(tmp_path / f"v{suffix}", data, oblique_ras(rng, det))
    da = spatial_xr.open_image(path)
    assert da.dims == ("z", "y", "x") and da.attrs["source_format"] == "MGH"
    assert_matches_nibabel(da, path)
    # world position of sampled voxels (nibabel's affine applied to nibabel's index)
    idx = rng.integers(0, [5, 6, 7], size=(20, 3))  # z, y, x
    ours = da.spatial.index_to_world(idx)
    theirs = nib.affines.apply_affine(nib.load(str(path)).affine, idx[:, ::-1])
    np.testing.assert_allclose(ours, theirs * [-1, -1, 1], atol=1e-4)


def test_frames_become_t_with_tr_in_milliseconds(tmp_path: Path, rng: np.random.Generator) -> None:
    data = rng.integers(0, 100, (4, 5, 3, 6)).astype(np.int16)
    path = nibabel_mgh(tmp_path / "f.mgh", data, oblique_ras(rng), tr=2000.0)
    da = spatial_xr.open_image(path)
    assert da.dims == ("t", "z", "y", "x") and da.sizes["t"] == 6
    np.testing.assert_allclose(da.coords["t"].values, 2000.0 * np.arange(6))
    assert da.coords["t"].attrs["units"] == "millisecond"
    assert da.attrs["mgh_scan_parameters"]["tr_ms"] == 2000.0
    assert_matches_nibabel(da, path)


def test_mgz_footer_only_on_request(tmp_path: Path, rng: np.random.Generator) -> None:
    data = rng.integers(0, 100, (4, 5, 3, 2)).astype(np.uint8)
    path = nibabel_mgh(tmp_path / "f.mgz", data, oblique_ras(rng), tr=1500.0)
    lazy = spatial_xr.open_image(path)
    assert "mgh_scan_parameters" not in lazy.attrs
    np.testing.assert_array_equal(lazy.coords["t"].values, [0, 1])  # index, no TR
    full = open_mgh(path, footer=True)
    assert full.attrs["mgh_scan_parameters"]["tr_ms"] == 1500.0
    np.testing.assert_allclose(full.coords["t"].values, [0.0, 1500.0])


def test_2d_image_and_chunks(tmp_path: Path, rng: np.random.Generator) -> None:
    data = rng.integers(0, 100, (9, 8, 20)).astype(np.int16)
    path = nibabel_mgh(tmp_path / "c.mgh", data, oblique_ras(rng))
    da = spatial_xr.open_image(path, chunks={"z": 6})
    assert da.chunks[0] == (6, 6, 6, 2)
    assert_matches_nibabel(da, path)
    np.testing.assert_array_equal(da.isel(z=slice(5, 13), x=3).values, data[3, :, 5:13].T)
    np.testing.assert_array_equal(da.isel(z=slice(None, None, -3)).values,
                                  data.T[::-3])


# ---------------------------------------------------------------------- laziness
class CountingReads:
    """Counts the bytes nibabel's openers read (header parsing and proxy reads)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.total = 0
        original_read = nibabel.openers.Opener.read
        original_readinto = nibabel.openers.Opener.readinto

        def read(opener, *args):  # type: ignore[no-untyped-def]
            out = original_read(opener, *args)
            self.total += len(out)
            return out

        def readinto(opener, buf):  # type: ignore[no-untyped-def]
            n = original_readinto(opener, buf)
            self.total += n or 0
            return n

        monkeypatch.setattr(nibabel.openers.Opener, "read", read)
        monkeypatch.setattr(nibabel.openers.Opener, "readinto", readinto)


@pytest.fixture(scope="module")
def large_mgh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 512 MiB int16 .mgh (512 × 512 × 1024), sparse on disk: header, then zeros."""
    from nibabel.freesurfer.mghformat import MGHHeader

    path = tmp_path_factory.mktemp("big") / "big.mgh"
    hdr = MGHHeader()
    hdr.set_data_shape((512, 512, 1024))
    hdr.set_data_dtype(np.int16)
    with open(path, "wb") as f:
        hdr.writehdr_to(f)
        f.truncate(284 + 512 * 512 * 1024 * 2)
        f.seek(0, 2)
        f.write(b"\x00" * 20)  # footer
    return path


def test_open_reads_the_header_and_a_slab_reads_its_bytes(
    large_mgh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = CountingReads(monkeypatch)
    da = spatial_xr.open_image(large_mgh)
    assert da.nbytes == 2**29
    assert counter.total == 90 + 20  # MGH header fields + footer, nothing else
    counter.total = 0
    slab = da.isel(z=slice(500, 510)).values
    assert slab.shape == (10, 512, 512)
    assert counter.total == 10 * 512 * 512 * 2  # exactly the slab's bytes


def test_mgz_open_reads_the_header_only(tmp_path: Path, rng: np.random.Generator,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    data = rng.integers(0, 100, (64, 64, 64)).astype(np.int16)
    path = nibabel_mgh(tmp_path / "v.mgz", data, np.eye(4))
    counter = CountingReads(monkeypatch)
    da = spatial_xr.open_image(path)
    assert counter.total == 90
    assert da.data.npartitions == 1  # gzip: whole frames
    np.testing.assert_array_equal(da.values, data.T)


def test_graph_pickles_and_runs_on_distributed(tmp_path: Path, rng: np.random.Generator,
                                               dask_client) -> None:
    data = rng.integers(0, 1000, (6, 5, 8, 2)).astype(np.int32)
    path = nibabel_mgh(tmp_path / "d.mgz", data, oblique_ras(rng))
    da = spatial_xr.open_image(path, chunks={"z": 3})
    clone = pickle.loads(pickle.dumps(da))
    np.testing.assert_array_equal(clone.values, data.T)
    total = int(da.sum().compute(scheduler=dask_client.get))
    assert total == int(data.sum())


# ---------------------------------------------------------------------- bad inputs
def _mgh_bytes(tmp_path: Path, rng: np.random.Generator) -> bytes:
    path = nibabel_mgh(tmp_path / "ok.mgh", rng.integers(0, 9, (4, 4, 4)).astype(np.uint8),
                       np.eye(4))
    return path.read_bytes()


def test_truncated_voxels(tmp_path: Path, rng: np.random.Generator) -> None:
    raw = _mgh_bytes(tmp_path, rng)
    bad = tmp_path / "short.mgh"
    bad.write_bytes(raw[:284 + 30])
    with pytest.raises(FormatError, match=r"short\.mgh.*truncated or its header lies"):
        spatial_xr.open_image(bad)
    gz = tmp_path / "short.mgz"
    gz.write_bytes(gzip.compress(raw)[:-40])
    da = spatial_xr.open_image(gz)  # the header is intact
    with pytest.raises(FormatError, match=r"short\.mgz.*truncated or corrupt"):
        da.values  # noqa: B018


def test_truncated_header(tmp_path: Path, rng: np.random.Generator) -> None:
    bad = tmp_path / "head.mgh"
    bad.write_bytes(_mgh_bytes(tmp_path, rng)[:50])
    with pytest.raises(FormatError, match=r"head\.mgh.*too short for an MGH header"):
        spatial_xr.open_image(bad)


def _patched(tmp_path: Path, rng: np.random.Generator, offset: int, dtype: str,
             value: object) -> Path:
    raw = bytearray(_mgh_bytes(tmp_path, rng))
    field = np.asarray(value, dtype=dtype).tobytes()
    raw[offset:offset + len(field)] = field
    out = tmp_path / "patched.mgh"
    out.write_bytes(bytes(raw))
    return out


@pytest.mark.parametrize(
    ("offset", "dtype", "value", "message"),
    [
        (0, ">i4", 2, "MGH version is 2, not 1"),
        (4, ">i4", [4, 0, 4, 1], r"dims are \(4, 0, 4, 1\).*≥ 1"),
        (20, ">i4", 7, "data type code 7 is not one of"),
        (4, ">i4", [10**4, 10**4, 10**4, 1], r"declares 10{12} bytes.*only"),
    ],
    ids=["version", "zero-dim", "type", "10^12-voxels"],
)
def test_bad_headers(tmp_path: Path, rng: np.random.Generator, offset: int, dtype: str,
                     value: object, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        spatial_xr.open_image(_patched(tmp_path, rng, offset, dtype, value))


@pytest.mark.parametrize(
    ("delta", "message"),
    [([1.0, np.nan, 1.0], "non-finite"), ([1.0, 0.0, 1.0], "singular")],
    ids=["nan-spacing", "zero-spacing"],
)
def test_bad_spacing(tmp_path: Path, rng: np.random.Generator, delta: list[float],
                     message: str) -> None:
    path = _patched(tmp_path, rng, 30, ">f4", delta)
    with pytest.raises(GeometryError, match=f"patched.mgh.*MGH vox2ras.*{message}"):
        spatial_xr.open_image(path)


def test_removed_after_open(tmp_path: Path, rng: np.random.Generator) -> None:
    path = nibabel_mgh(tmp_path / "gone.mgh", rng.integers(0, 9, (4, 4, 4)).astype(np.uint8),
                       np.eye(4))
    da = spatial_xr.open_image(path)
    path.unlink()
    with pytest.raises(PathNotFoundError, match="no longer exists"):
        da.values  # noqa: B018
