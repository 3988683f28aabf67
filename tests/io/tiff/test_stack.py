"""TIFF stacks: folders, globs and lists of 2-D TIFF files as one volume along z."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import spatial_xr
from spatial_xr.errors import PathNotFoundError, StackError, UnitError
from spatial_xr.io.formats import find_format
from spatial_xr.io.tiff.stack import natural_key, open_tiff_stack

from .conftest import rchar, tifffile


def _stack(folder: Path, planes: np.ndarray, names: list[str] | None = None,
           **kwargs: object) -> list[Path]:
    folder.mkdir(exist_ok=True)
    names = names or [f"img{k}.tif" for k in range(len(planes))]
    paths = []
    for name, plane in zip(names, planes, strict=True):
        tifffile.imwrite(folder / name, plane, **kwargs)
        paths.append(folder / name)
    return paths


@pytest.fixture
def planes(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 1000, (12, 20, 30), dtype=np.uint16)


def test_folder_natural_order_imagej_spacing(tmp_path: Path, planes: np.ndarray) -> None:
    folder = tmp_path / "scan"
    _stack(folder, planes, imagej=True, resolution=(1 / 0.5, 1 / 0.5),
           metadata={"unit": "um", "spacing": 2.0})
    (folder / "notes.txt").write_text("not part of the stack")
    assert find_format(folder).name == "tiff"
    da = spatial_xr.open_image(folder)
    assert da.dims == ("z", "y", "x") and da.sizes["z"] == 12
    # img10, img11 come after img9 (natural order), so z follows the numbers
    np.testing.assert_array_equal(da.values, planes)
    assert da.data.chunks[0] == (1,) * 12
    assert da.spatial.spacing == {"z": 2.0, "y": 0.5, "x": 0.5}
    assert da.coords["z"].attrs["units"] == "micrometer"
    assert da.attrs["source_format"] == "TIFF stack"
    ref = tifffile.TiffSequence(str(folder / "img*.tif")).asarray()  # tifffile's own order
    np.testing.assert_array_equal(da.values, ref)


def test_glob_and_caller_spacing_with_units(tmp_path: Path, planes: np.ndarray) -> None:
    _stack(tmp_path / "s", planes, photometric="minisblack")
    pattern = str(tmp_path / "s" / "img*.tif")
    da = spatial_xr.open_image(pattern, spacing={"z": "1.5 um", "y": "300 nm", "x": 0.3})
    assert da.spatial.spacing == pytest.approx({"z": 1.5, "y": 0.3, "x": 0.3})
    assert da.coords["x"].attrs["units"] == "micrometer"
    np.testing.assert_array_equal(da.values, planes)
    bare = spatial_xr.open_image(pattern)
    assert bare.coords["x"].attrs["units"] == "pixel"
    assert open_tiff_stack(pattern, spacing=(4, 1, 1)).spatial.spacing["z"] == 4.0
    with pytest.raises(UnitError, match="must cover every axis"):
        open_tiff_stack(pattern, spacing={"z": "2 um"})
    with pytest.raises(PathNotFoundError, match="matches no"):
        spatial_xr.open_image(str(tmp_path / "s" / "nothing*.tif"))


def test_reading_one_plane_opens_one_file(tmp_path: Path, rng: np.random.Generator) -> None:
    planes = rng.integers(0, 1000, (8, 256, 256), dtype=np.uint16)
    _stack(tmp_path / "big", planes, photometric="minisblack")
    da = spatial_xr.open_image(tmp_path / "big")
    assert da.isel(z=0).values.size  # warm-up
    before = rchar()
    np.testing.assert_array_equal(da.isel(z=5).values, planes[5])
    read = rchar() - before
    assert planes[5].nbytes <= read < 2 * planes[5].nbytes


def test_rgb_stack(tmp_path: Path, rng: np.random.Generator) -> None:
    planes = rng.integers(0, 255, (3, 10, 12, 3), dtype=np.uint8)
    _stack(tmp_path / "rgb", planes, photometric="rgb")
    da = spatial_xr.open_image(tmp_path / "rgb")
    assert da.dims == ("c", "z", "y", "x")
    np.testing.assert_array_equal(da.values, np.moveaxis(planes, -1, 0))


def test_mixed_shapes_and_dtypes(tmp_path: Path, planes: np.ndarray) -> None:
    _stack(tmp_path / "shape", planes[:3], photometric="minisblack")
    tifffile.imwrite(tmp_path / "shape" / "img3.tif", planes[0, :10])
    with pytest.raises(StackError, match=r"img3.tif' holds \(10, 30\)"):
        spatial_xr.open_image(tmp_path / "shape")
    _stack(tmp_path / "dtype", planes[:3], photometric="minisblack")
    tifffile.imwrite(tmp_path / "dtype" / "img3.tif", planes[0].astype(np.float32))
    with pytest.raises(StackError, match="float32"):
        spatial_xr.open_image(tmp_path / "dtype")


def test_a_missing_file_in_a_numbered_stack(tmp_path: Path, planes: np.ndarray) -> None:
    names = [f"slice_{k:03d}.tif" for k in range(12)]
    files = _stack(tmp_path / "gap", planes, names, photometric="minisblack")
    files[7].unlink()
    with pytest.raises(StackError, match=r"1 missing between 0 and 11.*\[7\]"):
        spatial_xr.open_image(tmp_path / "gap")
    ok = open_tiff_stack([f for f in files if f.exists()])  # an explicit list is trusted
    assert ok.sizes["z"] == 11


def test_a_file_removed_after_opening(tmp_path: Path, planes: np.ndarray) -> None:
    files = _stack(tmp_path / "gone", planes[:3], photometric="minisblack")
    da = spatial_xr.open_image(tmp_path / "gone")
    files[1].unlink()
    with pytest.raises(PathNotFoundError, match="no longer exists"):
        da.values  # noqa: B018


def test_natural_key() -> None:
    names = ["a10.tif", "a2.tif", "a1.tif", "B3.tif"]
    assert sorted(names, key=natural_key) == ["a1.tif", "a2.tif", "a10.tif", "B3.tif"]
