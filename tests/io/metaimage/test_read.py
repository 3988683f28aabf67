"""MetaImage reading, checked against SimpleITK's reads of the same files."""

from __future__ import annotations

import pickle
import tracemalloc
import warnings
import zlib
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

import spatial_xr
from spatial_xr.errors import (
    DimensionError,
    FormatError,
    GeometryError,
    PathNotFoundError,
    SpatialXRWarning,
)
from spatial_xr.io import streams
from spatial_xr.io.formats import capability_table, find_format, recognise
from spatial_xr.io.metaimage import open_metaimage
from tests.io.metaimage.conftest import (
    DIRECTIONS_3D,
    assert_matches_sitk,
    sitk,
    sitk_image,
    write_sitk,
)

ORIGIN = (-12.5, 30.25, 101.0)
SPACING = (0.7, 0.9, 2.5)


def _volume(rng: np.random.Generator, shape=(5, 6, 7), dtype=np.int16) -> np.ndarray:
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    if info is None:
        return rng.normal(0, 100, shape).astype(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "zlib"])
@pytest.mark.parametrize("suffix", [".mha", ".mhd"])
@pytest.mark.parametrize("kind", list(DIRECTIONS_3D))
def test_3d_written_by_simpleitk(tmp_path: Path, rng, kind: str, suffix: str,
                                 compress: bool) -> None:
    img = sitk_image(_volume(rng), SPACING, ORIGIN, DIRECTIONS_3D[kind])
    path = write_sitk(img, tmp_path / f"img{suffix}", compress)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ITK's own AnatomicalOrientation agrees
        da = spatial_xr.open_image(path)
    assert da.dims == ("z", "y", "x") and da.attrs["source_format"] == "MetaImage"
    assert da.chunks is not None
    assert_matches_sitk(da, path)
    np.testing.assert_allclose(da.spatial.direction, DIRECTIONS_3D[kind], atol=1e-12)
    assert np.linalg.det(da.spatial.direction) == pytest.approx(np.linalg.det(
        DIRECTIONS_3D[kind]))


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "zlib"])
@pytest.mark.parametrize("direction", [
    np.eye(2), np.diag([-1.0, 1.0]),
    np.array([[np.cos(0.4), -np.sin(0.4)], [np.sin(0.4), np.cos(0.4)]]),
], ids=["identity", "flipped-det-1", "oblique"])
def test_2d_written_by_simpleitk(tmp_path: Path, rng, direction, compress: bool) -> None:
    img = sitk_image(_volume(rng, (9, 11), np.float32), (0.3, 0.4), (5.0, -2.0), direction)
    path = write_sitk(img, tmp_path / "img.mha", compress)
    da = open_metaimage(path)
    assert da.dims == ("y", "x")
    assert_matches_sitk(da, path)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "zlib"])
def test_4d_written_by_simpleitk(tmp_path: Path, rng, compress: bool) -> None:
    d4 = np.eye(4)
    d4[:3, :3] = DIRECTIONS_3D["oblique-det-1"]
    img = sitk_image(_volume(rng, (3, 4, 5, 6), np.uint16), (*SPACING, 1.5), (*ORIGIN, 10.0),
                     d4)
    path = write_sitk(img, tmp_path / "img.mhd", compress)
    da = open_metaimage(path)
    assert da.dims == ("t", "z", "y", "x")
    np.testing.assert_allclose(da.coords["t"], 10.0 + 1.5 * np.arange(3))
    assert_matches_sitk(da, path)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "zlib"])
@pytest.mark.parametrize("suffix", [".mha", ".mhd"])
def test_vector_image_channels_become_c(tmp_path: Path, rng, suffix: str,
                                        compress: bool) -> None:
    arr = _volume(rng, (4, 5, 6, 3), np.float32)
    img = sitk_image(arr, SPACING, ORIGIN, DIRECTIONS_3D["oblique"], vector=True)
    path = write_sitk(img, tmp_path / f"vec{suffix}", compress)
    da = spatial_xr.open_image(path)
    assert da.dims == ("c", "z", "y", "x") and da.sizes["c"] == 3
    assert_matches_sitk(da, path)
    # a box that cuts every axis, channels included
    np.testing.assert_array_equal(da.isel(c=slice(1, 3), z=slice(1, 3), x=slice(2, 5)).values,
                                  np.moveaxis(arr, -1, 0)[1:3, 1:3, :, 2:5])


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.uint16, np.int32,
                                   np.uint32, np.int64, np.uint64, np.float32, np.float64])
def test_every_element_type(tmp_path: Path, rng, dtype) -> None:
    img = sitk_image(_volume(rng, (3, 4, 5), dtype), SPACING, ORIGIN, np.eye(3))
    path = write_sitk(img, tmp_path / "img.mha")
    da = open_metaimage(path)
    assert da.dtype == np.dtype(dtype)
    assert_matches_sitk(da, path)


def _header(ndims: int, dim_size, element_type: str, data_file: str, **extra: str) -> str:
    lines = ["ObjectType = Image", f"NDims = {ndims}",
             f"DimSize = {' '.join(map(str, dim_size))}", f"ElementType = {element_type}"]
    lines += [f"{k} = {v}" for k, v in extra.items()]
    lines.append(f"ElementDataFile = {data_file}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("key", ["BinaryDataByteOrderMSB", "ElementByteOrderMSB"])
def test_big_endian_data(tmp_path: Path, rng, key: str) -> None:
    arr = _volume(rng, (4, 5, 6), np.int32)
    arr.astype(">i4").tofile(tmp_path / "be.raw")
    path = tmp_path / "be.mhd"
    path.write_text(_header(3, (6, 5, 4), "MET_INT", "be.raw", **{key: "True"}))
    da = open_metaimage(path)
    assert da.dtype == np.dtype(np.int32) and da.dtype.isnative
    np.testing.assert_array_equal(da.values, arr)
    assert_matches_sitk(da, path)


def test_array_element_types_with_channels(tmp_path: Path, rng) -> None:
    arr = _volume(rng, (3, 4, 5, 2), np.uint8)
    arr.tofile(tmp_path / "v.raw")
    path = tmp_path / "v.mhd"
    path.write_text(_header(3, (5, 4, 3), "MET_UCHAR_ARRAY", "v.raw",
                            ElementNumberOfChannels="2"))
    da = open_metaimage(path)
    assert da.dims == ("c", "z", "y", "x")
    assert_matches_sitk(da, path)


def test_header_fields_as_itk_reads_them(tmp_path: Path, rng) -> None:
    """Origin wins over Offset, ElementSize is a fallback spacing, CenterOfRotation is
    ignored, ':' separates like '=' — all as SimpleITK reads the same header."""
    arr = _volume(rng, (4, 5, 6), np.int16)
    arr.tofile(tmp_path / "d.raw")
    cases = {
        "origin": {"Offset": "1 2 3", "Origin": "4 5 6"},
        "position": {"Position": "7 8 9", "Offset": "1 2 3"},
        "elementsize": {"ElementSize": "2 3 4"},
        "both-sizes": {"ElementSize": "2 3 4", "ElementSpacing": "0.5 0.25 3"},
        "rotation": {"Rotation": "0 1 0 -1 0 0 0 0 1", "CenterOfRotation": "10 20 30"},
        "orientation": {"Orientation": "0 0 1 1 0 0 0 1 0"},
        "matrix-wins": {"TransformMatrix": "1 0 0 0 -1 0 0 0 -1",
                        "Rotation": "0 1 0 -1 0 0 0 0 1"},
        "negative-spacing": {"ElementSpacing": "-1 2 3"},
    }
    for name, extra in cases.items():
        path = tmp_path / f"{name}.mhd"
        path.write_text(_header(3, (6, 5, 4), "MET_SHORT", "d.raw", **extra))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SpatialXRWarning)
            da = open_metaimage(path)
        assert_matches_sitk(da, path)
    colon = tmp_path / "colon.mhd"
    colon.write_text(_header(3, (6, 5, 4), "MET_SHORT", "d.raw", Offset="1 2 3")
                     .replace("Offset = ", "Offset : "))
    assert_matches_sitk(open_metaimage(colon), colon)


def test_negative_spacing_warns_and_keeps_world_positions(tmp_path: Path) -> None:
    np.zeros((2, 3, 4), np.uint8).tofile(tmp_path / "d.raw")
    path = tmp_path / "neg.mhd"
    path.write_text(_header(3, (4, 3, 2), "MET_UCHAR", "d.raw", ElementSpacing="-1 2 3"))
    with pytest.warns(SpatialXRWarning, match="negative"):
        da = open_metaimage(path)
    assert da.spatial.spacing == {"z": 3.0, "y": 2.0, "x": 1.0}
    assert da.spatial.direction[0, 0] == -1.0


def _slices(tmp_path: Path, arr: np.ndarray, names: list[str], compress: bool) -> None:
    """One file per leading index of ``arr`` (raw, or each its own zlib stream)."""
    for name, block in zip(names, arr.reshape(len(names), -1), strict=True):
        raw = block.astype("<" + block.dtype.str[1:]).tobytes()
        (tmp_path / name).write_bytes(zlib.compress(raw) if compress else raw)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "zlib"])
def test_list_of_slice_files(tmp_path: Path, rng, compress: bool) -> None:
    arr = _volume(rng, (5, 6, 7), np.int16)
    names = [f"sl{i:02d}.raw" for i in range(5)]
    _slices(tmp_path, arr, names, compress)
    path = tmp_path / "list.mhd"
    path.write_text(_header(3, (7, 6, 5), "MET_SHORT", "LIST",
                            CompressedData=str(compress), Offset="1 2 3",
                            TransformMatrix="0 1 0 -1 0 0 0 0 1") + "\n".join(names) + "\n")
    da = spatial_xr.open_image(path)
    np.testing.assert_array_equal(da.values, arr)
    assert_matches_sitk(da, path)
    # a slab crossing files, a box inside one file, a stepped selection
    np.testing.assert_array_equal(da.isel(z=slice(1, 4)).values, arr[1:4])
    np.testing.assert_array_equal(da.isel(z=2, y=slice(1, 3), x=slice(2, 6)).values,
                                  arr[2, 1:3, 2:6])
    np.testing.assert_array_equal(da.isel(z=slice(None, None, -2)).values, arr[::-2])


def test_list_2d_and_3d_of_a_4d_image(tmp_path: Path, rng) -> None:
    """``LIST 2D`` (one file per z of each t) and ``LIST 3D`` (one volume per t), as ITK
    reads them."""
    arr = _volume(rng, (2, 3, 4, 5), np.float32)
    for form, count in (("LIST 2D", 6), ("LIST 3D", 2)):
        sub = tmp_path / form.replace(" ", "")
        sub.mkdir()
        names = [f"part{i}.raw" for i in range(count)]
        _slices(sub, arr, names, compress=False)
        path = sub / "img.mhd"
        path.write_text(_header(4, (5, 4, 3, 2), "MET_FLOAT", form) + "\n".join(names) + "\n")
        da = open_metaimage(path)
        assert da.dims == ("t", "z", "y", "x")
        np.testing.assert_array_equal(da.values, arr)
        assert_matches_sitk(da, path)


def test_printf_pattern_of_slice_files(tmp_path: Path, rng) -> None:
    arr = _volume(rng, (4, 5, 6), np.uint16)
    names = [f"slice{i:03d}.raw" for i in (3, 5, 7, 9)]
    _slices(tmp_path, arr, names, compress=False)
    path = tmp_path / "pattern.mhd"
    path.write_text(_header(3, (6, 5, 4), "MET_USHORT", "slice%03d.raw 3 9 2"))
    da = open_metaimage(path)
    np.testing.assert_array_equal(da.values, arr)
    assert_matches_sitk(da, path)


def test_header_size_skips_and_minus_one_reads_the_tail(tmp_path: Path, rng) -> None:
    arr = _volume(rng, (3, 4, 5), np.int16)
    (tmp_path / "skip.raw").write_bytes(b"\x07" * 100 + arr.tobytes())
    (tmp_path / "tail.raw").write_bytes(b"junk header of unknown length" + arr.tobytes())
    for name, size in (("skip", "100"), ("tail", "-1")):
        path = tmp_path / f"{name}.mhd"
        path.write_text(_header(3, (5, 4, 3), "MET_SHORT", f"{name}.raw", HeaderSize=size))
        da = open_metaimage(path)
        np.testing.assert_array_equal(da.values, arr)
        assert_matches_sitk(da, path)


def test_anatomical_orientation_is_cross_checked(tmp_path: Path) -> None:
    np.zeros((2, 3, 4), np.uint8).tofile(tmp_path / "d.raw")
    good = tmp_path / "good.mhd"
    good.write_text(_header(3, (4, 3, 2), "MET_UCHAR", "d.raw",
                            TransformMatrix="-1 0 0 0 -1 0 0 0 1",
                            AnatomicalOrientation="LPI"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        da = open_metaimage(good)
    assert da.spatial.orientation == "RAS"
    bad = tmp_path / "bad.mhd"
    bad.write_text(_header(3, (4, 3, 2), "MET_UCHAR", "d.raw",
                           TransformMatrix="-1 0 0 0 -1 0 0 0 1",
                           AnatomicalOrientation="RAI"))
    with pytest.warns(SpatialXRWarning, match="AnatomicalOrientation = 'RAI' disagrees"):
        da = open_metaimage(bad)
    assert da.spatial.orientation == "RAS"  # the matrix wins, as in ITK
    assert_matches_sitk(da, bad)


def test_registry_and_attrs(tmp_path: Path, rng) -> None:
    row = next(r for r in capability_table() if r["name"] == "metaimage")
    assert row["extensions"] == ".mha .mhd" and row["write"] and row["partial_reads"]
    assert recognise(tmp_path / "new.mha").name == "metaimage"
    assert recognise(tmp_path / "new.mhd").name == "metaimage"
    img = sitk_image(_volume(rng), SPACING, ORIGIN, np.eye(3))
    img.SetMetaData("PatientName", "Doe")  # ITK writes dictionary entries as header fields
    path = write_sitk(img, tmp_path / "img.mha")
    assert find_format(path).name == "metaimage"
    da = spatial_xr.open_image(path)
    assert da.coords["x"].attrs["units"] == "millimeter"
    assert da.attrs["metaimage_fields"] == {"PatientName": "Doe"}


# ---------------------------------------------------------------------- laziness
class CountingFile:
    """Wraps a binary file, counting the bytes read per path."""

    counts: ClassVar[dict[str, int]] = {}

    def __init__(self, path: str) -> None:
        self._f = open(path, "rb")  # noqa: SIM115
        self._path = str(path)
        CountingFile.counts.setdefault(self._path, 0)

    def read(self, n: int = -1) -> bytes:
        out = self._f.read(n)
        CountingFile.counts[self._path] += len(out)
        return out

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        n = self._f.readinto(buf)
        CountingFile.counts[self._path] += n or 0
        return n

    def seek(self, *args) -> int:  # type: ignore[no-untyped-def]
        return self._f.seek(*args)

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> CountingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    CountingFile.counts = {}
    monkeypatch.setattr(streams, "open_data_file", CountingFile)
    return CountingFile.counts


def test_open_reads_only_the_header(tmp_path: Path, rng, counting) -> None:
    arr = _volume(rng, (40, 64, 64), np.int16)
    img = sitk_image(arr, SPACING, ORIGIN, DIRECTIONS_3D["oblique"])
    mha = write_sitk(img, tmp_path / "img.mha")
    mhd = write_sitk(img, tmp_path / "img.mhd")
    for path in (mha, mhd):
        header_len = path.read_bytes().index(b"ElementDataFile")
        spatial_xr.open_image(path)
        assert counting[str(path)] <= header_len + 1100  # the header, read in 1 KiB steps
    assert str(tmp_path / "img.raw") not in counting  # the data file is never opened


@pytest.mark.parametrize("suffix", [".mhd", ".mha"])
def test_slab_of_raw_data_reads_only_its_slices(tmp_path: Path, rng, counting,
                                                suffix: str) -> None:
    arr = _volume(rng, (40, 256, 256), np.int16)  # planes of 128 KiB
    path = write_sitk(sitk_image(arr, SPACING, ORIGIN, np.eye(3)), tmp_path / f"ct{suffix}")
    data = str(tmp_path / "ct.raw") if suffix == ".mhd" else str(path)
    da = spatial_xr.open_image(path)
    assert da.data.numblocks == (1, 1, 1)  # one chunk: the slice is fused into the read
    before = counting.get(data, 0)
    slab = da.isel(z=slice(20, 30)).values
    np.testing.assert_array_equal(slab, arr[20:30])
    assert counting[data] - before == 10 * 256 * 256 * 2
    # a box: one read per plane of the whole rows it spans
    before = counting[data]
    box = da.isel(z=slice(5, 9), y=slice(10, 20), x=slice(3, 40)).values
    np.testing.assert_array_equal(box, arr[5:9, 10:20, 3:40])
    assert counting[data] - before == 4 * 10 * 256 * 2


def test_zlib_slab_inflates_only_up_to_its_last_plane(tmp_path: Path, rng, counting) -> None:
    arr = _volume(rng, (64, 256, 256), np.int16)  # noise: hardly compresses
    path = write_sitk(sitk_image(arr, SPACING, ORIGIN, np.eye(3)), tmp_path / "ct.mha",
                      compress=True)
    size = path.stat().st_size
    da = open_metaimage(path)
    np.testing.assert_array_equal(da.isel(z=slice(0, 8)).values, arr[:8])
    assert counting[str(path)] < size / 2  # stopped well before the end of the stream
    counting[str(path)] = 0
    np.testing.assert_array_equal(da.values, arr)
    assert size - 2048 <= counting[str(path)] <= size  # one pass over the stream


def test_list_graph_runs_on_distributed(tmp_path: Path, rng, dask_client) -> None:
    arr = _volume(rng, (4, 5, 6), np.int16)
    names = [f"s{i}.zraw" for i in range(4)]
    _slices(tmp_path, arr, names, compress=True)
    path = tmp_path / "list.mhd"
    path.write_text(_header(3, (6, 5, 4), "MET_SHORT", "LIST", CompressedData="True")
                    + "\n".join(names) + "\n")
    da = open_metaimage(path, chunks={"z": 1})
    assert da.data.numblocks == (4, 1, 1)
    out = dask_client.compute(da.data.sum()).result()
    assert int(out) == int(arr.astype(np.int64).sum())


def test_graph_pickles(tmp_path: Path, rng) -> None:
    arr = _volume(rng)
    path = write_sitk(sitk_image(arr, SPACING, ORIGIN, np.eye(3)), tmp_path / "img.mha", True)
    da = open_metaimage(path, chunks={"z": 2})
    again = pickle.loads(pickle.dumps(da))
    np.testing.assert_array_equal(again.values, arr)
    assert da.data.numblocks == (3, 1, 1)


# ---------------------------------------------------------------------- bad inputs
@pytest.fixture
def good_mha(tmp_path: Path, rng) -> Path:
    return write_sitk(sitk_image(_volume(rng, (4, 5, 6)), SPACING, ORIGIN, np.eye(3)),
                      tmp_path / "good.mha")


def _edit(path: Path, old: bytes, new: bytes, out: Path) -> Path:
    raw = path.read_bytes()
    assert old in raw
    out.write_bytes(raw.replace(old, new, 1))
    return out


def test_truncated_data(tmp_path: Path, good_mha: Path) -> None:
    cut = tmp_path / "cut.mha"
    cut.write_bytes(good_mha.read_bytes()[:-10])
    with pytest.raises(FormatError, match="truncated"):
        open_metaimage(cut)
    zipped = write_sitk(sitk.ReadImage(str(good_mha)), tmp_path / "z.mhd", compress=True)
    zraw = tmp_path / "z.zraw"
    zraw.write_bytes(zraw.read_bytes()[:-20])
    with pytest.raises(FormatError, match="truncated"):
        open_metaimage(zipped)  # CompressedDataSize is now past the end of the file
    _edit(zipped, b"CompressedDataSize", b"Ignored", tmp_path / "z2.mhd")
    with pytest.raises(FormatError, match=r"truncated|does not end"):
        open_metaimage(tmp_path / "z2.mhd").compute()


def test_missing_data_file(tmp_path: Path, rng) -> None:
    path = write_sitk(sitk_image(_volume(rng), SPACING, ORIGIN, np.eye(3)), tmp_path / "a.mhd")
    (tmp_path / "a.raw").unlink()
    with pytest.raises(PathNotFoundError, match=r"a\.raw"):
        open_metaimage(path)
    listed = tmp_path / "list.mhd"
    listed.write_text(_header(3, (7, 6, 5), "MET_SHORT", "LIST") + "s0.raw\ns1.raw\n")
    with pytest.raises(FormatError, match="2 file names but DimSize"):
        open_metaimage(listed)


def test_dim_size_disagreeing_with_the_data(tmp_path: Path, good_mha: Path) -> None:
    small = _edit(good_mha, b"DimSize = 6 5 4", b"DimSize = 6 5 3", tmp_path / "small.mha")
    with pytest.raises(FormatError, match="DimSize"):
        open_metaimage(small)
    big = _edit(good_mha, b"DimSize = 6 5 4", b"DimSize = 6 5 5", tmp_path / "big.mha")
    with pytest.raises(FormatError, match="truncated"):
        open_metaimage(big)
    z = write_sitk(sitk.ReadImage(str(good_mha)), tmp_path / "z.mha", compress=True)
    zsmall = _edit(z, b"DimSize = 6 5 4", b"DimSize = 6 5 3", tmp_path / "zsmall.mha")
    with pytest.raises(FormatError, match="more than"):
        open_metaimage(zsmall).compute()


def test_unknown_element_type(tmp_path: Path, good_mha: Path) -> None:
    bad = _edit(good_mha, b"MET_SHORT", b"MET_HALF", tmp_path / "bad.mha")
    with pytest.raises(FormatError, match=r"MET_HALF.*MET_UCHAR"):
        open_metaimage(bad)


def test_singular_and_sheared_matrices(tmp_path: Path, good_mha: Path) -> None:
    old = b"TransformMatrix = 1 0 0 0 1 0 0 0 1"
    singular = _edit(good_mha, old, b"TransformMatrix = 1 0 0 1 0 0 0 0 1",
                     tmp_path / "singular.mha")
    with pytest.raises(GeometryError, match="singular"):
        open_metaimage(singular)
    c, s = np.cos(np.deg2rad(80.0)), np.sin(np.deg2rad(80.0))
    sheared = _edit(good_mha, old, f"TransformMatrix = 1 0 0 {c} {s} 0 0 0 1".encode(),
                    tmp_path / "sheared.mha")
    with pytest.raises(GeometryError, match=r"sheared .*axes x and y meet at 80°"):
        open_metaimage(sheared)


@pytest.mark.parametrize("value", [b"nan 0.9 2.5", b"0.7 0 2.5"])
def test_nan_and_zero_spacing(tmp_path: Path, good_mha: Path, value: bytes) -> None:
    bad = _edit(good_mha, b"ElementSpacing = 0.69999999999999996 0.90000000000000002 2.5",
                b"ElementSpacing = " + value, tmp_path / "bad.mha")
    with pytest.raises(GeometryError, match="ElementSpacing"):
        open_metaimage(bad)


def test_overlong_header_line(tmp_path: Path, good_mha: Path) -> None:
    bad = _edit(good_mha, b"ObjectType = Image", b"Comment = " + b"x" * 5000,
                tmp_path / "long.mha")
    with pytest.raises(FormatError, match=r"longer than 4096|4096"):
        open_metaimage(bad)
    garbage = tmp_path / "garbage.mha"
    garbage.write_bytes(bytes(range(256)).replace(b"\n", b"") * 40)
    with pytest.raises(FormatError):
        open_metaimage(garbage)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "zlib"])
def test_a_trillion_voxels_claim_allocates_nothing(tmp_path: Path, good_mha: Path,
                                                   compress: bool) -> None:
    src = good_mha
    if compress:
        src = write_sitk(sitk.ReadImage(str(good_mha)), tmp_path / "z.mha", compress=True)
    huge = _edit(src, b"DimSize = 6 5 4", b"DimSize = 10000 10000 10000",
                 tmp_path / "huge.mha")
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match=r"declares|truncated"):
            open_metaimage(huge)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_other_bad_headers(tmp_path: Path, good_mha: Path) -> None:
    no_data = tmp_path / "nodata.mha"
    no_data.write_bytes(good_mha.read_bytes().split(b"ElementDataFile")[0])
    with pytest.raises(FormatError, match="ElementDataFile"):
        open_metaimage(no_data)
    five = _edit(good_mha, b"NDims = 3", b"NDims = 5", tmp_path / "five.mha")
    with pytest.raises(DimensionError, match="NDims = 5"):
        open_metaimage(five)
    no_dims = _edit(good_mha, b"DimSize = 6 5 4\n", b"", tmp_path / "nodims.mha")
    with pytest.raises(FormatError, match="DimSize is missing"):
        open_metaimage(no_dims)
    text = _edit(good_mha, b"BinaryData = True", b"BinaryData = False", tmp_path / "text.mha")
    with pytest.raises(FormatError, match="BinaryData = False"):
        open_metaimage(text)
    mixed = tmp_path / "mixed4d.mhd"
    np.zeros(2 * 3 * 4 * 5, np.uint8).tofile(tmp_path / "m.raw")
    mixed.write_text(_header(4, (5, 4, 3, 2), "MET_UCHAR", "m.raw",
                             TransformMatrix="1 0 0 0.5 0 1 0 0 0 0 1 0 0 0 0 1"))
    with pytest.raises(GeometryError, match="mixes the time axis"):
        open_metaimage(mixed)

