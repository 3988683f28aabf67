"""MetaImage writing: round trips through SimpleITK both ways, atomic output, streaming."""

from __future__ import annotations

from pathlib import Path

import dask.array as dsa
import numpy as np
import pytest

import spatial_xr
from spatial_xr.cli import main
from spatial_xr.errors import DimensionError, FormatError, OverwriteError
from spatial_xr.io.metaimage import open_metaimage, write_metaimage
from tests.io.metaimage.conftest import (
    DIRECTIONS_3D,
    assert_matches_sitk,
    sitk,
    sitk_image,
    write_sitk,
)

ORIGIN = (3.5, -20.0, 47.25)


def _ours(rng: np.random.Generator, direction: np.ndarray, dtype=np.int16, shape=(6, 7, 8)):
    arr = rng.integers(-1000, 3000, shape).astype(dtype)
    return spatial_xr.from_array(arr, spacing=(2.5, 0.8, 0.6), origin=ORIGIN,
                                 direction=direction)


def _same_geometry_as_sitk(da, img) -> None:
    grid = da.spatial.grid
    np.testing.assert_allclose(img.GetOrigin()[: grid.ndim], grid.origin_xyz, atol=1e-9)
    np.testing.assert_allclose(img.GetSpacing()[: grid.ndim], grid.spacing_xyz, atol=1e-12)
    n = img.GetDimension()
    d = np.asarray(img.GetDirection()).reshape(n, n)
    np.testing.assert_allclose(d[: grid.ndim, : grid.ndim], grid.direction_xyz, atol=1e-12)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "zlib"])
@pytest.mark.parametrize("suffix", [".mha", ".mhd"])
@pytest.mark.parametrize("kind", ["identity", "flipped-det-1", "permuted", "oblique",
                                  "oblique-det-1"])
def test_ours_to_simpleitk(tmp_path: Path, rng, kind: str, suffix: str, compress: bool) -> None:
    da = _ours(rng, DIRECTIONS_3D[kind])
    path = tmp_path / f"out{suffix}"
    da.spatial.to_metaimage(path, compress=compress)
    if suffix == ".mhd":
        assert (tmp_path / ("out.zraw" if compress else "out.raw")).exists()
    img = sitk.ReadImage(str(path))
    _same_geometry_as_sitk(da, img)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img), da.values)
    back = open_metaimage(path)
    assert back.spatial.same_grid(da, atol=1e-9)
    assert_matches_sitk(back, path)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "zlib"])
def test_2d_4d_and_channels_to_simpleitk(tmp_path: Path, rng, compress: bool) -> None:
    a2 = spatial_xr.from_array(rng.random((5, 6)).astype(np.float32), spacing=(0.5, 0.25),
                               origin=(1.0, 2.0), direction=[[0.0, -1.0], [1.0, 0.0]])
    a2.spatial.to_metaimage(tmp_path / "a2.mha", compress=compress)
    img = sitk.ReadImage(str(tmp_path / "a2.mha"))
    _same_geometry_as_sitk(a2, img)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img), a2.values)

    a4 = spatial_xr.from_array(rng.integers(0, 255, (3, 4, 5, 6)).astype(np.uint8),
                               spacing=(2.0, 1.0, 0.5), origin=ORIGIN,
                               direction=DIRECTIONS_3D["oblique"])
    a4 = a4.assign_coords(t=("t", 4.0 + 0.75 * np.arange(3)))
    a4.spatial.to_metaimage(tmp_path / "a4.mhd", compress=compress)
    img = sitk.ReadImage(str(tmp_path / "a4.mhd"))
    assert img.GetSize() == (6, 5, 4, 3)
    assert img.GetSpacing()[3] == 0.75 and img.GetOrigin()[3] == 4.0
    _same_geometry_as_sitk(a4, img)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img), a4.values)
    assert_matches_sitk(open_metaimage(tmp_path / "a4.mhd"), tmp_path / "a4.mhd")

    vec = spatial_xr.from_array(rng.random((3, 4, 5, 6)).astype(np.float64),
                                dims=("c", "z", "y", "x"), spacing=(2.0, 1.0, 0.5))
    vec.spatial.to_metaimage(tmp_path / "vec.mha", compress=compress)
    img = sitk.ReadImage(str(tmp_path / "vec.mha"))
    assert img.GetNumberOfComponentsPerPixel() == 3
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img), np.moveaxis(vec.values, 0, -1))
    back = open_metaimage(tmp_path / "vec.mha")
    assert back.dims == ("c", "z", "y", "x")
    np.testing.assert_array_equal(back.values, vec.values)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "zlib"])
def test_simpleitk_to_ours_to_simpleitk(tmp_path: Path, rng, compress: bool) -> None:
    arr = rng.integers(0, 60000, (5, 6, 7)).astype(np.uint16)
    img = sitk_image(arr, (0.7, 0.9, 2.5), ORIGIN, DIRECTIONS_3D["oblique-det-1"])
    src = write_sitk(img, tmp_path / "src.mha", compress)
    ours = open_metaimage(src)
    ours.spatial.to_metaimage(tmp_path / "copy.mhd", compress=compress)
    again = sitk.ReadImage(str(tmp_path / "copy.mhd"))
    np.testing.assert_allclose(again.GetOrigin(), img.GetOrigin(), atol=1e-9)
    np.testing.assert_allclose(again.GetSpacing(), img.GetSpacing(), atol=1e-12)
    np.testing.assert_allclose(again.GetDirection(), img.GetDirection(), atol=1e-12)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(again), arr)
    # the header matches ITK's own: same fields in the same order
    ours_keys = [ln.split(" = ")[0] for ln in (tmp_path / "copy.mhd").read_text().splitlines()]
    src_head = src.read_bytes().split(b"ElementDataFile")[0].decode()
    itk_keys = [ln.split(" = ")[0] for ln in src_head.splitlines()] + ["ElementDataFile"]
    assert ours_keys == itk_keys


def test_2d_time_series_gets_one_z_slice(tmp_path: Path, rng) -> None:
    series = spatial_xr.from_array(rng.random((3, 4, 5)).astype(np.float32),
                                   dims=("t", "y", "x"), spacing=(0.5, 0.25),
                                   origin=(1.0, 2.0))
    series.spatial.to_metaimage(tmp_path / "series.mha")
    img = sitk.ReadImage(str(tmp_path / "series.mha"))
    assert img.GetSize() == (5, 4, 1, 3)
    back = open_metaimage(tmp_path / "series.mha")
    assert back.sizes == {"t": 3, "z": 1, "y": 4, "x": 5}
    np.testing.assert_array_equal(back.isel(z=0).values, series.values)
    assert_matches_sitk(back, tmp_path / "series.mha")


def test_bool_and_unstorable_dtypes(tmp_path: Path) -> None:
    mask = spatial_xr.from_array(np.eye(4, dtype=bool)[None].repeat(3, 0))
    mask.spatial.to_metaimage(tmp_path / "mask.mha")
    back = open_metaimage(tmp_path / "mask.mha")
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back.values, mask.values)
    with pytest.raises(FormatError, match="float16"):
        spatial_xr.from_array(np.zeros((2, 3, 4), np.float16)).spatial.to_metaimage(
            tmp_path / "half.mha")
    with pytest.raises(FormatError, match=r"\.mha or \.mhd"):
        write_metaimage(mask, tmp_path / "mask.nii")
    odd = spatial_xr.from_array(np.zeros((2, 3, 4, 5)), dims=("q", "z", "y", "x"))
    with pytest.raises(DimensionError, match="q"):
        write_metaimage(odd, tmp_path / "odd.mha")


def test_refuses_to_overwrite_and_leaves_nothing_on_failure(tmp_path: Path, rng) -> None:
    da = _ours(rng, np.eye(3))
    da.spatial.to_metaimage(tmp_path / "a.mha")
    before = (tmp_path / "a.mha").read_bytes()
    with pytest.raises(OverwriteError):
        da.spatial.to_metaimage(tmp_path / "a.mha")
    assert (tmp_path / "a.mha").read_bytes() == before
    (tmp_path / "b.raw").write_bytes(b"someone else's data")
    with pytest.raises(OverwriteError, match=r"b\.raw"):
        da.spatial.to_metaimage(tmp_path / "b.mhd")
    assert not (tmp_path / "b.mhd").exists()
    assert (tmp_path / "b.raw").read_bytes() == b"someone else's data"
    da.spatial.to_metaimage(tmp_path / "b.mhd", overwrite=True)
    np.testing.assert_array_equal(open_metaimage(tmp_path / "b.mhd").values, da.values)

    def boom(block: np.ndarray, block_info=None) -> np.ndarray:  # type: ignore[no-untyped-def]
        if block_info[0]["chunk-location"][0] == 2:
            raise RuntimeError("disk full")
        return block

    failing = da.copy(data=dsa.from_array(da.values, chunks=(2, 7, 8)).map_blocks(
        boom, dtype=da.dtype))
    for name in ("c.mha", "c.mhd"):
        with pytest.raises(RuntimeError, match="disk full"):
            failing.spatial.to_metaimage(tmp_path / name, compress=True)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["a.mha", "b.mhd", "b.raw"]


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "zlib"])
def test_writer_streams_slab_by_slab(tmp_path: Path, rng, monkeypatch: pytest.MonkeyPatch,
                                     compress: bool) -> None:
    da = _ours(rng, np.eye(3), shape=(12, 7, 8))
    computed: list[int] = []

    def record(block: np.ndarray, block_info=None) -> np.ndarray:  # type: ignore[no-untyped-def]
        computed.append(block_info[0]["chunk-location"][0])
        return block

    lazy = da.copy(data=dsa.from_array(da.values, chunks=(3, 7, 8)).map_blocks(
        record, dtype=da.dtype))
    seen_at_write: list[int] = []
    import spatial_xr.io.metaimage.write as write_mod

    real = write_mod.file_order_slabs

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        for block in real(*args, **kwargs):
            seen_at_write.append(len(computed))
            yield block

    monkeypatch.setattr(write_mod, "file_order_slabs", spy)
    lazy.spatial.to_metaimage(tmp_path / "s.mha", compress=compress)
    assert seen_at_write == [1, 2, 3, 4]  # each slab computed just before it is written
    np.testing.assert_array_equal(open_metaimage(tmp_path / "s.mha").values, da.values)


def test_cli_converts_mha_to_ome_zarr(tmp_path: Path, rng) -> None:
    img = sitk_image(rng.integers(-1000, 2000, (6, 7, 8)).astype(np.int16), (0.7, 0.9, 2.5),
                     ORIGIN, DIRECTIONS_3D["oblique"])
    scan = write_sitk(img, tmp_path / "scan.mha", compress=True)
    out = tmp_path / "scan.ome.zarr"
    assert main(["convert", str(scan), str(out), "--no-progress"]) == 0
    back = spatial_xr.open_image(out)
    src = open_metaimage(scan)
    assert back.spatial.same_grid(src, atol=1e-6)
    np.testing.assert_array_equal(back.values, sitk.GetArrayFromImage(img))
    assert main(["convert", str(out), str(tmp_path / "again.mhd")]) == 0
    assert_matches_sitk(open_metaimage(tmp_path / "again.mhd"), tmp_path / "again.mhd")
