"""The format registry: one decision for open_image, the xarray engine, the napari reader
and the command line; bounded recognition; lists of files; third-party plugins."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
import xarray as xr
from pydicom.data import get_testdata_file
from pydicom.filewriter import write_dataset

import spatial_xr
from spatial_xr import cli
from spatial_xr.backend import SpatialBackendEntrypoint, can_open
from spatial_xr.errors import (
    FormatError,
    OverwriteError,
    ParameterError,
    PathNotFoundError,
    SpatialXRWarning,
    UnsupportedFormatError,
)
from spatial_xr.io import formats as registry
from spatial_xr.io.formats import HEAD_BYTES, Format, capability_table, find_format
from spatial_xr.napari import napari_get_reader

CT5N = Path(get_testdata_file("DICOMDIR")).parent / "98892001" / "CT5N"


def _rchar() -> int:
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("rchar"))


# ---------------------------------------------------------------------- the table
def test_builtin_formats_and_their_capabilities() -> None:
    rows = {r["name"]: r for r in capability_table()}
    assert {"nifti", "dicom", "omezarr"} <= set(rows)
    assert rows["omezarr"]["multiscale"] and rows["omezarr"]["remote"]
    assert not rows["nifti"]["remote"] and not rows["nifti"]["multiscale"]
    assert rows["dicom"]["lists"] and not rows["nifti"]["lists"]
    assert all(rows[n]["write"] and rows[n]["partial_reads"] for n in ("nifti", "dicom",
                                                                      "omezarr"))
    # DICOM recognises by content (folders, preamble-less files) and so is tried after the
    # others; only the SimpleITK fallback comes after it
    names = [f.name for f in registry.formats()]
    assert names[-2:] == ["dicom", "sitk"]
    assert rows["mgh"]["write"] and rows["mgh"]["partial_reads"]
    assert not rows["analyze"]["write"] and rows["analyze"]["partial_reads"]
    assert not rows["sitk"]["write"] and not rows["sitk"]["partial_reads"]


def test_cli_formats_lists_every_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["formats"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[:2] == ["name", "extensions"] and "partial_reads" in header
    for fmt in registry.formats():
        assert any(line.split()[0] == fmt.name for line in out.splitlines()[1:] if line)
    assert cli.main(["formats", "--json"]) == 0
    assert '"partial_reads"' in capsys.readouterr().out


def test_unknown_format_name() -> None:
    with pytest.raises(UnsupportedFormatError, match=r"no format called 'nope'.*nifti"):
        find_format("x.nii", format="nope")


# ---------------------------------------------------------------------- bounded recognition
def test_unknown_1gib_file_fails_fast_reading_a_bounded_prefix(tmp_path: Path) -> None:
    path = tmp_path / "unknown.bin"
    with open(path, "wb") as f:
        f.write(np.random.default_rng(0).bytes(HEAD_BYTES))
        f.truncate(1 << 30)  # sparse: 1 GiB on paper
    small = tmp_path / "small.bin"
    small.write_bytes(b"\x01" * 100)
    with pytest.raises(UnsupportedFormatError):  # warm up imports (their reads count too)
        spatial_xr.open_image(small)
    before = _rchar()
    with pytest.raises(UnsupportedFormatError, match=r"cannot tell the format.*dicom"):
        spatial_xr.open_image(path)
    assert _rchar() - before < 64 * 1024
    assert not can_open(path) and napari_get_reader(str(path)) is None


def test_messages_for_empty_and_foreign_folders(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UnsupportedFormatError, match="is empty"):
        spatial_xr.open_image(empty)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.txt").write_text("hello")
    with pytest.raises(UnsupportedFormatError, match="holds no DICOM files"):
        spatial_xr.open_image(junk)
    with pytest.raises(PathNotFoundError):
        spatial_xr.open_image(tmp_path / "missing")


# ---------------------------------------------------------------------- lists of files
def test_a_list_opens_exactly_those_files_as_simpleitk_reads_them() -> None:
    files = sorted(str(p) for p in CT5N.iterdir())
    chosen = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(CT5N))[:1]
    assert files and chosen
    da = spatial_xr.open_image(list(chosen))
    ref = sitk.ReadImage(list(chosen))
    assert da.sizes["z"] == ref.GetSize()[2] == len(chosen)
    np.testing.assert_array_equal(da.values, sitk.GetArrayFromImage(ref))
    np.testing.assert_allclose(da.spatial.origin, ref.GetOrigin(), atol=1e-4)


def test_a_list_of_two_of_a_series_files() -> None:
    series = [str(p) for p in sorted(CT5N.iterdir())]
    reader = sitk.ImageSeriesReader()
    names = reader.GetGDCMSeriesFileNames(str(CT5N))
    da_all = spatial_xr.open_image(CT5N)
    da_list = spatial_xr.open_image(series)
    assert da_list.spatial.same_grid(da_all)
    np.testing.assert_array_equal(da_list.values, da_all.values)
    assert len(names) == da_all.sizes["z"]


def test_a_list_must_hold_paths() -> None:
    with pytest.raises(ParameterError, match="file paths"):
        spatial_xr.open_image([str(CT5N / "2062"), 3])
    with pytest.raises(ParameterError, match="empty list"):
        spatial_xr.open_image([])


# ---------------------------------------------------------------------- one decision everywhere
@dataclass
class Entry:
    source: Any
    expected: str | None  # the format name, or None when nothing opens it
    options: dict[str, Any]


def _bare_dicom(folder: Path) -> Path:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    bare = pydicom.Dataset()
    bare.update(ds)
    buf = pydicom.filebase.DicomBytesIO()
    buf.is_little_endian, buf.is_implicit_VR = True, False
    write_dataset(buf, bare)
    path = folder / "bare"
    path.write_bytes(buf.getvalue())
    assert path.read_bytes()[128:132] != b"DICM"
    return path


def _ngff_store(folder: Path, version: str) -> Path:
    import ngff_zarr

    data = np.arange(6 * 8 * 10, dtype=np.uint16).reshape(6, 8, 10)
    image = ngff_zarr.to_ngff_image(data, dims=["z", "y", "x"],
                                    scale={"z": 2.0, "y": 0.5, "x": 0.75},
                                    translation={"z": 1.0, "y": -2.0, "x": 3.0})
    path = folder / f"ngff{version}.ome.zarr"
    ngff_zarr.to_ngff_zarr(str(path), ngff_zarr.to_multiscales(image, scale_factors=[2]),
                           version=version)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, s3_server: dict[str, Any],
           nibabel_data: Path) -> dict[str, Entry]:
    root = tmp_path_factory.mktemp("corpus")
    empty = root / "empty"
    empty.mkdir()
    plain = root / "plain.zarr"
    plain.mkdir()
    (plain / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group"}')
    nifti = root / "example4d.nii.gz"
    shutil.copy(nibabel_data / "example4d.nii.gz", nifti)
    remote = "s3://test-bucket/corpus.ome.zarr"
    spatial_xr.open_image(_ngff_store(root, "0.5")).spatial.to_ome_zarr(
        remote, storage_options=s3_server)
    return {
        "empty folder": Entry(empty, None, {}),
        "plain zarr": Entry(plain, None, {}),
        "dicom without preamble": Entry(_bare_dicom(root), "dicom", {}),
        "dicom folder": Entry(CT5N, "dicom", {}),
        "nii.gz": Entry(nifti, "nifti", {}),
        "ome-zarr 0.4": Entry(_ngff_store(root, "0.4"), "omezarr", {}),
        "ome-zarr 0.5": Entry(_ngff_store(root, "0.5"), "omezarr", {}),
        "list of files": Entry([str(p) for p in sorted(CT5N.iterdir())], "dicom", {}),
        "remote url": Entry(remote, "omezarr", {"storage_options": s3_server}),
    }


CASES = ["empty folder", "plain zarr", "dicom without preamble", "dicom folder", "nii.gz",
         "ome-zarr 0.4", "ome-zarr 0.5", "list of files", "remote url"]


@pytest.mark.parametrize("case", CASES)
def test_every_entry_point_makes_the_same_decision(
    case: str, corpus: dict[str, Entry], capsys: pytest.CaptureFixture[str]
) -> None:
    entry = corpus[case]
    src = entry.source
    engine = SpatialBackendEntrypoint()
    recognised = registry.recognise(src)
    assert (recognised.name if recognised else None) == entry.expected
    assert engine.guess_can_open(src) == (entry.expected is not None)
    assert (napari_get_reader(src if isinstance(src, list) else os.fspath(src)) is not None) \
        == (entry.expected is not None)
    if entry.expected is None:
        with pytest.raises(UnsupportedFormatError) as info:
            spatial_xr.open_image(src)
        assert cli.main(["info", os.fspath(src)]) == 1
        assert str(info.value).split(";")[0] in capsys.readouterr().err
        with pytest.raises(UnsupportedFormatError):
            xr.open_dataarray(src, engine=SpatialBackendEntrypoint)
        return
    da = spatial_xr.open_image(src, **entry.options)
    via_engine = xr.open_dataarray(src, engine=SpatialBackendEntrypoint,
                                   reader_kwargs=entry.options)
    assert via_engine.spatial.same_grid(da)
    np.testing.assert_array_equal(via_engine.values, da.values)
    if entry.options:  # napari and the CLI take no storage options: recognition only
        return
    layers = napari_get_reader(src if isinstance(src, list) else os.fspath(src))(src)
    first = np.asarray(layers[0][0][0] if layers[0][1].get("multiscale") else layers[0][0])
    if not isinstance(src, list):
        np.testing.assert_array_equal(first, da.values)
        assert cli.main(["info", os.fspath(src)]) == 0
        assert re.search(rf"^\s+format\s+{entry.expected}$", capsys.readouterr().out, re.M)


def test_ngff_zarr_stores_open_with_their_geometry(corpus: dict[str, Entry]) -> None:
    for case in ("ome-zarr 0.4", "ome-zarr 0.5"):
        da = spatial_xr.open_image(corpus[case].source)
        assert da.spatial.spacing == {"z": 2.0, "y": 0.5, "x": 0.75}
        np.testing.assert_allclose(da.spatial.origin, [3.0, -2.0, 1.0])


def test_nifti_through_the_registry_matches_nibabel(corpus: dict[str, Entry]) -> None:
    path = corpus["nii.gz"].source
    img = nib.load(path)
    da = spatial_xr.open_image(path)
    np.testing.assert_allclose(da.spatial.affine_ras, img.affine, atol=1e-5)
    np.testing.assert_array_equal(da.transpose("t", "z", "y", "x").values,
                                  np.asarray(img.dataobj).transpose(3, 2, 1, 0))


# ---------------------------------------------------------------------- format= and writing
def test_format_argument_skips_recognition() -> None:
    with pytest.raises(FormatError, match="cannot be opened as a NIfTI file"):
        spatial_xr.open_image(CT5N, format="nifti")  # the NIfTI reader was asked, not DICOM's
    da = spatial_xr.open_image(CT5N, format="dicom")
    assert da.spatial.same_grid(spatial_xr.open_image(CT5N))


def test_write_image_picks_the_format_from_the_name(tmp_path: Path,
                                                    nibabel_data: Path) -> None:
    da = spatial_xr.open_image(nibabel_data / "anatomical.nii")
    for name in ("out.nii.gz", "out.ome.zarr"):
        spatial_xr.write_image(da, tmp_path / name)
        back = spatial_xr.open_image(tmp_path / name)
        assert back.spatial.same_grid(da, atol=1e-5)
        np.testing.assert_array_equal(back.values, da.values)
    with pytest.raises(OverwriteError):
        spatial_xr.write_image(da, tmp_path / "out.nii.gz")
    with pytest.raises(UnsupportedFormatError, match=r"cannot tell which format.*nifti"):
        spatial_xr.write_image(da, tmp_path / "out.xyz")
    spatial_xr.write_image(da, tmp_path / "series", format="dicom")
    assert spatial_xr.open_image(tmp_path / "series").sizes == da.sizes


# ---------------------------------------------------------------------- plugins
def test_toy_plugin_is_installed_through_the_entry_point() -> None:
    names = {ep.name for ep in entry_points(group=registry.ENTRY_POINT_GROUP)}
    assert "toyimg" in names, (
        "the test plugin is not installed: pip install -e tests/plugins/toyformat")
    fmt = registry.recognise("scan.toyimg")
    assert fmt is not None and fmt.name == "toyimg" and fmt.origin == "spatial-xr-toyformat"


def test_toy_plugin_writes_and_opens_everywhere(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    c, s = np.cos(0.3), np.sin(0.3)
    da = spatial_xr.from_array(np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6),
                               spacing=(2.0, 0.5, 0.75), origin=(1.0, -2.0, 3.0),
                               direction=[[c, -s, 0], [s, c, 0], [0, 0, 1]])
    path = tmp_path / "img.toyimg"
    spatial_xr.write_image(da, path)
    renamed = tmp_path / "noext"
    shutil.copy(path, renamed)  # recognised by its magic bytes too
    for src in (path, renamed):
        back = spatial_xr.open_image(src)
        assert back.spatial.same_grid(da, atol=1e-9)
        np.testing.assert_array_equal(back.values, da.values)
        assert back.chunks is not None  # lazy
    via_engine = xr.open_dataarray(path, engine=SpatialBackendEntrypoint)
    np.testing.assert_array_equal(via_engine.values, da.values)
    layers = napari_get_reader(str(path))(str(path))
    np.testing.assert_array_equal(np.asarray(layers[0][0]), da.values)
    assert cli.main(["info", str(path)]) == 0
    assert "toyimg" in capsys.readouterr().out
    assert cli.main(["convert", str(path), str(tmp_path / "img.nii.gz")]) == 0
    np.testing.assert_array_equal(spatial_xr.open_image(tmp_path / "img.nii.gz").values,
                                  da.values)


def test_a_broken_plugin_is_reported_and_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        name, value, dist = "broken", "nowhere:FORMAT", None

        def load(self) -> Any:
            raise ImportError("No module named 'nowhere'")

    monkeypatch.setattr(registry, "_PLUGINS", None)
    monkeypatch.setattr("importlib.metadata.entry_points", lambda group: [Broken()])
    with pytest.warns(SpatialXRWarning, match="'broken'.*failed to load"):
        names = [f.name for f in registry.formats()]
    assert "broken" not in names and "nifti" in names
    monkeypatch.setattr(registry, "_PLUGINS", None)


def test_a_plugin_that_gives_no_format_is_reported_and_ignored(
        monkeypatch: pytest.MonkeyPatch) -> None:
    class NotAFormat:
        name, value, dist = "wrong", "somewhere:FORMATS", None

        def load(self) -> Any:
            return ["not a format"]

    monkeypatch.setattr(registry, "_PLUGINS", None)
    monkeypatch.setattr("importlib.metadata.entry_points", lambda group: [NotAFormat()])
    with pytest.warns(SpatialXRWarning, match="'wrong'.*FormatError.*not a spatial_xr"):
        names = [f.name for f in registry.formats()]
    assert names and "nifti" in names
    monkeypatch.setattr(registry, "_PLUGINS", None)


def test_register_format_takes_formats_only() -> None:
    with pytest.raises(ParameterError, match="Format"):
        registry.register_format("nifti")  # type: ignore[arg-type]
    assert isinstance(registry.format_named("nifti"), Format)


def test_a_dual_dicom_tiff_file_opens_as_dicom() -> None:
    path = get_testdata_file("CT_small.dcm")
    with open(path, "rb") as f:
        head = f.read(132)
    assert head[:4] == b"II*\x00" and head[128:] == b"DICM"  # a TIFF header in the preamble
    assert find_format(path).name == "dicom"
    ref = sitk.ReadImage(path)
    da = spatial_xr.open_image(path)
    np.testing.assert_array_equal(da.values, sitk.GetArrayFromImage(ref))
