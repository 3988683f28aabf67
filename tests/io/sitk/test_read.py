"""The SimpleITK fallback: files written by SimpleITK (VTK, GIPL, PNG, MINC, MRC, HDF5) and
nibabel's MINC 2 files, opened through open_image, against SimpleITK's and nibabel's reads;
decodes per request; streaming; missing SimpleITK; bad inputs."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

import spatial_xr
from spatial_xr.errors import DependencyError, DimensionError, FormatError, SpatialXRWarning
from spatial_xr.io.formats import find_format, format_named
from spatial_xr.io.sitk.ios import IMAGE_IOS, SITK_EXTENSIONS, SITK_MAGIC
from spatial_xr.testing import random_direction


def sitk_image(rng: np.random.Generator, shape_zyx=(12, 10, 9), dtype=np.int16,
               direction: np.ndarray | None = None) -> sitk.Image:
    img = sitk.GetImageFromArray((rng.random(shape_zyx) * 200).astype(dtype))
    n = len(shape_zyx)
    img.SetSpacing(rng.uniform(0.5, 2.5, n).tolist())
    img.SetOrigin(rng.uniform(-60, 60, n).tolist())
    if direction is not None:
        img.SetDirection(direction.ravel().tolist())
    return img


def world_of_sampled_voxels(da, ref: sitk.Image, rng: np.random.Generator) -> None:
    """World positions of sampled voxels equal SimpleITK's within 1e-4 mm."""
    size = ref.GetSize()
    idx = rng.integers(0, size, size=(25, len(size)))  # x, y(, z)
    theirs = np.array([ref.TransformIndexToPhysicalPoint(i.tolist()) for i in idx])
    np.testing.assert_allclose(da.spatial.index_to_world(idx[:, ::-1]), theirs, atol=1e-4)


def assert_equals_simpleitk(da, path: Path, rng: np.random.Generator) -> None:
    ref = sitk.ReadImage(str(path))
    values = da.values
    if "c" in da.dims:
        values = np.moveaxis(values, 0, -1)
    np.testing.assert_array_equal(values, sitk.GetArrayFromImage(ref))
    assert da.dtype == sitk.GetArrayViewFromImage(ref).dtype
    world_of_sampled_voxels(da, ref, rng)


# ---------------------------------------------------------------------- formats
@pytest.mark.parametrize("suffix", [".vtk", ".gipl", ".gipl.gz", ".mrc"])
def test_3d_files_written_by_simpleitk(tmp_path: Path, rng: np.random.Generator,
                                       suffix: str) -> None:
    """VTK legacy, GIPL and MRC store no direction: identity."""
    path = tmp_path / f"v{suffix}"
    sitk.WriteImage(sitk_image(rng), str(path))
    assert find_format(path).name == "sitk"
    da = spatial_xr.open_image(path)
    assert da.dims == ("z", "y", "x")
    assert da.attrs["source_format"] == sitk.ImageFileReader.GetImageIOFromFileName(str(path))
    assert_equals_simpleitk(da, path, rng)


@pytest.mark.parametrize("det", [1.0, -1.0])
def test_oblique_hdf5_written_by_simpleitk(tmp_path: Path, rng: np.random.Generator,
                                           det: float) -> None:
    path = tmp_path / "v.h5"
    sitk.WriteImage(sitk_image(rng, direction=random_direction(rng, det=det)), str(path))
    da = spatial_xr.open_image(path)
    assert_equals_simpleitk(da, path, rng)
    assert np.linalg.det(da.spatial.direction) == pytest.approx(det)


def test_png_grey_and_rgb(tmp_path: Path, rng: np.random.Generator) -> None:
    grey = tmp_path / "g.png"
    sitk.WriteImage(sitk_image(rng, (30, 40), np.uint8), str(grey))
    da = spatial_xr.open_image(grey)
    assert da.dims == ("y", "x") and da.dtype == np.uint8
    assert_equals_simpleitk(da, grey, rng)
    rgb = tmp_path / "c.png"
    colour = sitk.GetImageFromArray((rng.random((20, 25, 3)) * 255).astype(np.uint8),
                                    isVector=True)
    sitk.WriteImage(colour, str(rgb))
    da = spatial_xr.open_image(rgb)
    assert da.dims == ("c", "y", "x") and da.sizes["c"] == 3
    assert_equals_simpleitk(da, rgb, rng)
    renamed = tmp_path / "picture.data"  # recognised by its magic bytes
    renamed.write_bytes(rgb.read_bytes())
    assert find_format(renamed).name == "sitk"


def test_minc_written_by_simpleitk(tmp_path: Path, rng: np.random.Generator) -> None:
    """SimpleITK writes and reads MINC's world coordinates without converting them from
    RAS (the MINC standard) to LPS; spatial_xr converts: x and y of every world point are
    negated relative to SimpleITK's read, voxels are equal."""
    path = tmp_path / "v.mnc"
    sitk.WriteImage(sitk_image(rng, direction=random_direction(rng)), str(path))
    da = spatial_xr.open_image(path)
    ref = sitk.ReadImage(str(path))
    np.testing.assert_array_equal(da.values, sitk.GetArrayFromImage(ref))
    idx = rng.integers(0, ref.GetSize(), size=(25, 3))
    theirs = np.array([ref.TransformIndexToPhysicalPoint(i.tolist()) for i in idx])
    np.testing.assert_allclose(da.spatial.index_to_world(idx[:, ::-1]),
                               theirs * [-1, -1, 1], atol=1e-4)


@pytest.mark.parametrize("name", ["minc2_1_scale.mnc", "small.mnc", "minc2-no-att.mnc"])
def test_nibabel_minc2_files_against_nibabel_and_simpleitk(
    nibabel_data: Path, rng: np.random.Generator, name: str
) -> None:
    """nibabel's 3-D MINC 2 files: voxels equal SimpleITK's and nibabel's; world positions
    equal nibabel's affine (MINC's RAS, converted to LPS). nibabel keeps MINC's storage
    order, which is SimpleITK's numpy order (z, y, x)."""
    nib = pytest.importorskip("nibabel")
    pytest.importorskip("h5py")  # nibabel reads MINC 2 (HDF5) with h5py
    path = nibabel_data / name
    da = spatial_xr.open_image(path)
    ref = sitk.ReadImage(str(path))
    np.testing.assert_array_equal(da.values, sitk.GetArrayFromImage(ref))
    img = nib.load(str(path))
    np.testing.assert_allclose(da.values, np.asanyarray(img.dataobj), rtol=1e-6)
    idx = rng.integers(0, da.shape, size=(25, 3))  # z, y, x = nibabel's i, j, k
    ras = nib.affines.apply_affine(img.affine, idx)
    np.testing.assert_allclose(da.spatial.index_to_world(idx), ras * [-1, -1, 1], atol=1e-4)


@pytest.mark.parametrize(("name", "components"), [("minc2-4d-d.mnc", 5), ("minc2_4d.mnc", 2)])
def test_nibabel_4d_minc2_files_are_vector_images(nibabel_data: Path, rng: np.random.Generator,
                                                  name: str, components: int) -> None:
    """SimpleITK reads MINC's 4th dim as vector components: dim ``c``; voxels equal
    SimpleITK's, world positions SimpleITK's with x and y negated (RAS → LPS)."""
    path = nibabel_data / name
    da = spatial_xr.open_image(path)
    assert da.dims == ("c", "z", "y", "x") and da.sizes["c"] == components
    ref = sitk.ReadImage(str(path))
    np.testing.assert_array_equal(np.moveaxis(da.values, 0, -1), sitk.GetArrayFromImage(ref))
    idx = rng.integers(0, ref.GetSize(), size=(25, 3))
    theirs = np.array([ref.TransformIndexToPhysicalPoint(i.tolist()) for i in idx])
    np.testing.assert_allclose(da.spatial.index_to_world(idx[:, ::-1]),
                               theirs * [-1, -1, 1], atol=1e-4)


# ---------------------------------------------------------------------- laziness
class CountingExecute:
    """Counts ImageFileReader.Execute calls and records each extract size."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.sizes: list[tuple[int, ...]] = []
        execute = sitk.ImageFileReader.Execute
        set_size = sitk.ImageFileReader.SetExtractSize

        def counted(reader):  # type: ignore[no-untyped-def]
            self.calls += 1
            return execute(reader)

        def recorded(reader, size):  # type: ignore[no-untyped-def]
            self.sizes.append(tuple(size))
            return set_size(reader, size)

        monkeypatch.setattr(sitk.ImageFileReader, "Execute", counted)
        monkeypatch.setattr(sitk.ImageFileReader, "SetExtractSize", recorded)


@pytest.mark.parametrize("suffix", [".gipl", ".png", ".mnc"])
def test_full_decode_formats_decode_once_per_request(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    path = tmp_path / f"v{suffix}"
    shape = (40, 50) if suffix == ".png" else (20, 16, 12)
    sitk.WriteImage(sitk_image(rng, shape, np.uint8), str(path))
    counter = CountingExecute(monkeypatch)
    da = spatial_xr.open_image(path)
    assert counter.calls == 0  # opening reads the header only
    assert da.data.npartitions == 1
    first = da.spatial.dims[0]
    slab = da.isel({first: slice(4, 9)}).values
    assert counter.calls == 1
    full = da.values
    assert counter.calls == 2
    np.testing.assert_array_equal(slab, full[4:9])
    assert not format_named("sitk").partial_reads


def test_splitting_a_full_decode_file_warns(tmp_path: Path, rng: np.random.Generator) -> None:
    path = tmp_path / "v.gipl"
    sitk.WriteImage(sitk_image(rng), str(path))
    with pytest.warns(SpatialXRWarning, match="each of the 3 chunks .* decodes the whole"):
        spatial_xr.open_image(path, chunks={"z": 4})


@pytest.mark.parametrize("suffix", [".vtk", ".mrc", ".h5"])
def test_streaming_formats_read_the_requested_region(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    path = tmp_path / f"v{suffix}"
    sitk.WriteImage(sitk_image(rng, (30, 10, 9)), str(path))
    counter = CountingExecute(monkeypatch)
    da = spatial_xr.open_image(path)
    box = da.isel(z=slice(10, 20), y=slice(2, 7), x=3).values
    assert counter.sizes == [(1, 5, 10)]  # x, y, z of the region asked of ITK
    ref = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    np.testing.assert_array_equal(box, ref[10:20, 2:7, 3])
    np.testing.assert_array_equal(da.isel(z=[3, 1, 8]).values, ref[[3, 1, 8]])


def test_graph_pickles_and_runs_on_distributed(tmp_path: Path, rng: np.random.Generator,
                                               dask_client) -> None:
    path = tmp_path / "v.vtk"
    sitk.WriteImage(sitk_image(rng), str(path))
    da = spatial_xr.open_image(path, chunks={"z": 5})
    clone = pickle.loads(pickle.dumps(da))
    ref = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    np.testing.assert_array_equal(clone.values, ref)
    assert int(da.sum().compute(scheduler=dask_client.get)) == int(ref.sum(dtype=np.int64))


# ---------------------------------------------------------------------- registry, errors
def test_registry_lists_match_the_table() -> None:
    fmt = format_named("sitk")
    assert fmt.extensions == SITK_EXTENSIONS
    assert fmt.magic == SITK_MAGIC
    assert fmt.priority < min(f.priority for f in spatial_xr.io.formats.formats()
                              if f.name != "sitk")
    claimed_elsewhere = (".nrrd", ".nhdr", ".mha", ".mhd", ".nii", ".nii.gz", ".hdr", ".img",
                         ".dcm", ".mgh", ".mgz")
    assert not set(SITK_EXTENSIONS) & set(claimed_elsewhere)
    registered = set(sitk.ImageFileReader().GetRegisteredImageIOs())
    assert {io.name for io in IMAGE_IOS} <= registered


def test_missing_simpleitk_names_the_extra(tmp_path: Path, rng: np.random.Generator,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "v.vtk"
    sitk.WriteImage(sitk_image(rng), str(path))
    da = spatial_xr.open_image(path)
    monkeypatch.setitem(sys.modules, "SimpleITK", None)  # "import SimpleITK" fails
    assert find_format(path).name == "sitk"  # recognition needs no SimpleITK
    with pytest.raises(DependencyError, match=r"spatial-xr\[itk\]"):
        spatial_xr.open_image(path)
    with pytest.raises(DependencyError, match=r"spatial-xr\[itk\]"):
        da.values  # noqa: B018


@pytest.mark.parametrize("suffix", [".vtk", ".gipl", ".mrc"])
def test_corrupt_and_truncated_files(tmp_path: Path, rng: np.random.Generator,
                                     suffix: str) -> None:
    """ITK reads truncated VTK, GIPL and MRC files without an error; spatial_xr checks their
    size against the header, at open and again before each read."""
    bad = tmp_path / "junk.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(FormatError, match=r"junk\.png"):
        spatial_xr.open_image(bad)
    path = tmp_path / f"t{suffix}"
    sitk.WriteImage(sitk_image(rng), str(path))
    whole = path.read_bytes()
    da = spatial_xr.open_image(path)
    path.write_bytes(whole[:-500])
    with pytest.raises(FormatError, match=rf"t\{suffix}.*truncated or its header lies"):
        da.values  # noqa: B018
    with pytest.raises(FormatError, match=rf"t\{suffix}.*truncated or its header lies"):
        spatial_xr.open_image(path)


def test_4d_images_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "v4.h5"
    sitk.WriteImage(sitk.Image([3, 4, 5, 2], sitk.sitkUInt8), str(path))
    with pytest.raises(DimensionError, match="4-D"):
        spatial_xr.open_image(path)


def test_reading_keeps_the_process_locale(tmp_path: Path, rng: np.random.Generator) -> None:
    """SimpleITK's VTK reader sets the C locale to "C" (Python's default text encoding then
    becomes ASCII); reading through spatial_xr puts the caller's locale back."""
    import locale

    path = tmp_path / "v.vtk"
    sitk.WriteImage(sitk_image(rng), str(path))
    before = locale.setlocale(locale.LC_ALL, None)
    da = spatial_xr.open_image(path)
    da.values  # noqa: B018
    assert locale.setlocale(locale.LC_ALL, None) == before
