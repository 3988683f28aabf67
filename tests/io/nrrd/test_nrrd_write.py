"""NRRD writing: round trips through SimpleITK and pynrrd (ours → file → theirs, theirs →
file → ours → file → theirs), atomic output and refusals."""

from __future__ import annotations

from pathlib import Path

import dask.array as dsa
import nrrd
import numpy as np
import pytest
import SimpleITK as sitk
from nrrd_oracles import DIRECTIONS, OBLIQUE, assert_matches_sitk, sitk_image, sitk_values

import spatial_xr
import spatial_xr.io.streaming as streaming
from spatial_xr.errors import (
    DimensionError,
    FormatError,
    OverwriteError,
    ParameterError,
    SpatialXRWarning,
)
from spatial_xr.io.nrrd import open_nrrd, write_nrrd
from spatial_xr.io.nrrd.write import nrrd_header_text


def _image(arr: np.ndarray, dims: tuple[str, ...], direction: np.ndarray):
    n = 3 if "z" in dims else 2
    c, s = np.cos(0.4), np.sin(0.4)
    d = direction if n == 3 else np.array([[c, -s], [s, c]])
    return spatial_xr.from_array(arr, spacing=(2.5, 0.75, 0.5)[-n:],
                                 origin=(-20.0, 31.5, 7.25)[:n], direction=d, dims=dims)


def _pynrrd_world(header: dict, ijk: np.ndarray) -> np.ndarray:
    dirs = np.asarray(header["space directions"], dtype=np.float64)
    dirs = dirs[~np.isnan(dirs).any(axis=1)][:, :3]
    return np.asarray(header["space origin"])[:3] + ijk @ dirs


@pytest.mark.parametrize("direction", list(DIRECTIONS))
@pytest.mark.parametrize("encoding", ["raw", "gzip"])
@pytest.mark.parametrize("suffix", [".nrrd", ".nhdr"])
def test_ours_to_simpleitk_and_pynrrd(tmp_path: Path, anatomical: np.ndarray, direction: str,
                                      encoding: str, suffix: str) -> None:
    da = _image(anatomical, ("z", "y", "x"), DIRECTIONS[direction])
    path = tmp_path / f"out{suffix}"
    da.spatial.to_nrrd(path, encoding=encoding)
    back = open_nrrd(path)
    assert back.spatial.same_grid(da, atol=1e-9)
    assert_matches_sitk(back, path)
    img = sitk.ReadImage(str(path))
    np.testing.assert_allclose(img.GetOrigin(), da.spatial.grid.origin_xyz, atol=1e-9)
    np.testing.assert_allclose(np.reshape(img.GetDirection(), (3, 3)),
                               da.spatial.grid.direction_xyz, atol=1e-9)
    data, header = nrrd.read(str(path), index_order="C")
    np.testing.assert_array_equal(data, anatomical)
    assert header["space"] == "left-posterior-superior"
    ijk = np.array([[0, 0, 0], [5, 7, 3], [32, 40, 24]])
    np.testing.assert_allclose(_pynrrd_world(header, ijk), da.spatial.grid.index_to_world(ijk),
                               atol=1e-9)
    if suffix == ".nhdr":
        ext = ".raw.gz" if encoding == "gzip" else ".raw"
        assert (tmp_path / f"out{ext}").exists()


@pytest.mark.parametrize("dims", [("y", "x"), ("c", "z", "y", "x"), ("t", "z", "y", "x"),
                                  ("t", "c", "z", "y", "x")])
def test_non_spatial_dims_round_trip(tmp_path: Path, functional: np.ndarray,
                                     dims: tuple[str, ...]) -> None:
    arr = {2: functional[0, 1], 4: functional[:4], 5: np.stack([functional[:3]] * 2, 1)}[
        len(dims)]
    if dims[0] == "c":
        arr = arr[:3]
    da = _image(arr, dims, OBLIQUE)
    if "t" in dims:
        da = da.assign_coords(t=("t", 3.0 + 1.5 * np.arange(da.sizes["t"])))
        da.coords["t"].attrs["units"] = "second"
    path = tmp_path / "nd.nrrd"
    write_nrrd(da, path, encoding="gzip")
    back = open_nrrd(path)
    assert back.dims == dims
    assert back.spatial.same_grid(da, atol=1e-9)
    if "t" in dims:
        np.testing.assert_allclose(back.coords["t"], da.coords["t"])
        assert back.coords["t"].attrs["units"] == "second"
    img = assert_matches_sitk(back, path)
    np.testing.assert_array_equal(sitk_values(img), arr)
    data, _ = nrrd.read(str(path), index_order="C")
    np.testing.assert_array_equal(np.moveaxis(data, -1, 1 if "t" in dims else 0)
                                  if "c" in dims else data, arr)


def test_simpleitk_to_ours_to_simpleitk(tmp_path: Path, anatomical: np.ndarray) -> None:
    src = tmp_path / "src.nrrd"
    vec = np.stack([anatomical, anatomical // 3], axis=-1)
    sitk.WriteImage(sitk_image(vec, DIRECTIONS["oblique_det-1"], vector=True), str(src))
    out = tmp_path / "again.nhdr"
    open_nrrd(src).spatial.to_nrrd(out)
    a, b = sitk.ReadImage(str(src)), sitk.ReadImage(str(out))
    assert a.GetSize() == b.GetSize() and a.GetNumberOfComponentsPerPixel() == 2
    np.testing.assert_allclose(a.GetOrigin(), b.GetOrigin(), atol=1e-9)
    np.testing.assert_allclose(a.GetSpacing(), b.GetSpacing(), atol=1e-9)
    np.testing.assert_allclose(a.GetDirection(), b.GetDirection(), atol=1e-9)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(a), sitk.GetArrayFromImage(b))


def test_pynrrd_to_ours_to_pynrrd_keeps_fields(tmp_path: Path, anatomical: np.ndarray
                                               ) -> None:
    frame = [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]
    header = {"space": "RAS", "space directions": np.diag([0.8, 0.8, 2.0]),
              "space origin": np.array([5.0, 6.0, 7.0]), "measurement frame": frame,
              "content": "liver study", "Segment0_Name": "liver", "Segment0_Color": "1 0 0"}
    src = tmp_path / "src.nrrd"
    nrrd.write(str(src), anatomical, header, index_order="C")
    da = open_nrrd(src)
    out = tmp_path / "out.nrrd"
    da.spatial.to_nrrd(out)
    data, hdr = nrrd.read(str(out), index_order="C")
    np.testing.assert_array_equal(data, anatomical)
    assert hdr["Segment0_Name"] == "liver" and hdr["Segment0_Color"] == "1 0 0"
    assert hdr["content"] == "liver study"
    # the frame was RAS; written in LPS: vectors with x and y negated
    expected = np.asarray(frame) * np.array([-1.0, -1.0, 1.0])
    np.testing.assert_allclose(hdr["measurement frame"], expected)
    back = open_nrrd(out)
    assert back.spatial.same_grid(da, atol=1e-9)
    np.testing.assert_allclose(back.attrs["measurement_frame"], da.attrs["measurement_frame"])


def test_streams_slab_by_slab(tmp_path: Path, anatomical: np.ndarray,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    da = _image(anatomical, ("z", "y", "x"), OBLIQUE).chunk({"z": 5})
    sizes: list[int] = []
    real = streaming.compute_into

    def spy(block: dsa.Array, out: np.ndarray) -> None:
        sizes.append(out.nbytes)
        real(block, out)

    monkeypatch.setattr(streaming, "compute_into", spy)
    write_nrrd(da, tmp_path / "s.nrrd", encoding="gzip")
    assert len(sizes) == 5 and max(sizes) == 5 * 41 * 33 * 2
    np.testing.assert_array_equal(open_nrrd(tmp_path / "s.nrrd").values, anatomical)


def test_refuses_to_overwrite_and_is_atomic(tmp_path: Path, anatomical: np.ndarray) -> None:
    da = _image(anatomical, ("z", "y", "x"), OBLIQUE)
    path = tmp_path / "o.nrrd"
    write_nrrd(da, path)
    before = path.read_bytes()
    with pytest.raises(OverwriteError, match="overwrite=True"):
        write_nrrd(da * 2, path)
    assert path.read_bytes() == before
    detached = tmp_path / "d.nhdr"
    (tmp_path / "d.raw").write_bytes(b"someone's data")
    with pytest.raises(OverwriteError, match=r"d\.raw"):
        write_nrrd(da, detached)
    assert not detached.exists()

    def boom() -> np.ndarray:
        raise RuntimeError("disk on fire")

    bad = da.copy(data=dsa.map_blocks(lambda b: boom(), dsa.from_array(da.data, chunks=(5, -1, -1)),
                                      dtype=da.dtype))
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_nrrd(bad, path, overwrite=True)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.raw", "o.nrrd"]
    write_nrrd(da * 2, path, overwrite=True)
    np.testing.assert_array_equal(open_nrrd(path).values, anatomical * 2)


def test_bad_arguments(tmp_path: Path, anatomical: np.ndarray) -> None:
    da = _image(anatomical, ("z", "y", "x"), OBLIQUE)
    with pytest.raises(FormatError, match=r"\.nrrd or \.nhdr"):
        write_nrrd(da, tmp_path / "x.nii")
    with pytest.raises(ParameterError, match="encoding"):
        write_nrrd(da, tmp_path / "x.nrrd", encoding="bzip2")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"x\.nhdr"):
        write_nrrd(da, tmp_path / "x.nrrd", detached=True)
    with pytest.raises(FormatError, match="float16"):
        write_nrrd(da.astype(np.float16), tmp_path / "x.nrrd")
    with pytest.raises(FormatError, match="imaginary"):
        write_nrrd(da.astype(np.complex64), tmp_path / "x.nrrd")
    with pytest.raises(DimensionError, match="echo"):
        write_nrrd(da.expand_dims("echo"), tmp_path / "x.nrrd")
    assert not list(tmp_path.iterdir())


def test_bool_and_uneven_time(tmp_path: Path, functional: np.ndarray) -> None:
    mask = _image(functional[0] > 0, ("z", "y", "x"), OBLIQUE)
    write_nrrd(mask, tmp_path / "m.nrrd")
    assert open_nrrd(tmp_path / "m.nrrd").dtype == np.uint8
    da = _image(functional[:3], ("t", "z", "y", "x"), OBLIQUE)
    da = da.assign_coords(t=("t", [0.0, 1.0, 5.0]))
    with pytest.warns(SpatialXRWarning, match="not uniformly"):
        write_nrrd(da, tmp_path / "t.nrrd")


def test_header_text_and_write_image(tmp_path: Path, anatomical: np.ndarray) -> None:
    da = _image(anatomical, ("z", "y", "x"), np.eye(3))
    text = nrrd_header_text(da)
    assert "space: left-posterior-superior\n" in text and text.endswith("\n\n")
    assert "space directions: (0.5,0.0,0.0) (0.0,0.75,0.0) (0.0,0.0,2.5)" in text
    spatial_xr.write_image(da, tmp_path / "w.nrrd")
    np.testing.assert_array_equal(open_nrrd(tmp_path / "w.nrrd").values, anatomical)
