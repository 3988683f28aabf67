"""DICOM SEG test helpers: real source series from pydicom's test files, SEGs made with
highdicom itself (not with spatial_xr's writer), and highdicom's own volumes as oracle."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import xarray as xr
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from scipy.spatial.transform import Rotation

hd = pytest.importorskip("highdicom", reason="the seg extra")

PYDICOM_FILES = Path(get_testdata_file("CT_small.dcm")).parent
CT5N = PYDICOM_FILES / "dicomdirtests" / "98892001" / "CT5N"  # a real 5-slice CT series
TISSUE = hd.sr.CodedConcept("85756007", "SCT", "Tissue")
ORGAN = hd.sr.CodedConcept("123037004", "SCT", "Anatomical Structure")


@pytest.fixture(autouse=True)
def _quiet_highdicom():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="highdicom")
        warnings.filterwarnings("ignore", category=UserWarning, module="pydicom")
        yield


def series_datasets(folder: Path) -> list[pydicom.Dataset]:
    """The slices of a single-frame series, sorted along the slice normal."""
    dss = [pydicom.dcmread(p) for p in sorted(Path(folder).iterdir()) if p.is_file()]
    dss = [d for d in dss if "PixelData" in d]
    iop = np.asarray(dss[0].ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])
    return sorted(dss, key=lambda d: float(np.dot(normal, np.asarray(d.ImagePositionPatient,
                                                                       float))))


def copy_series(src: Path, dst: Path, *, rotation: np.ndarray | None = None,
                new_series: bool = False, frame_of_reference: str | None = None) -> Path:
    """Copy a real series; optionally rotate it rigidly in world space (orientation and
    positions together, about the first slice's position) and give it new UIDs."""
    dst.mkdir(parents=True, exist_ok=True)
    series_uid = generate_uid() if new_series else None
    dss = series_datasets(src)
    centre = np.asarray(dss[0].ImagePositionPatient, float)
    for k, ds in enumerate(dss):
        if rotation is not None:
            iop = np.asarray(ds.ImageOrientationPatient, float)
            ds.ImageOrientationPatient = [f"{v:.10f}" for v in np.concatenate(
                [rotation @ iop[:3], rotation @ iop[3:]])]
            ipp = centre + rotation @ (np.asarray(ds.ImagePositionPatient, float) - centre)
            ds.ImagePositionPatient = [f"{v:.10f}" for v in ipp]
        if series_uid is not None:
            ds.SeriesInstanceUID = series_uid
            ds.SOPInstanceUID = generate_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        if frame_of_reference is not None:
            ds.FrameOfReferenceUID = frame_of_reference
        ds.save_as(dst / f"slice{k:03d}.dcm", enforce_file_format=True)
    return dst


def single_file_series(name: str, dst: Path) -> Path:
    """A folder holding one of pydicom's single-slice test files."""
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copy(get_testdata_file(name), dst / name)
    return dst


def oblique_rotation() -> np.ndarray:
    return Rotation.from_euler("xyz", [23.0, -14.0, 31.0], degrees=True).as_matrix()


def descriptions(names: Sequence[str], colors: Sequence[Any] | None = None,
                 algorithm: str = "MANUAL") -> list[Any]:
    out = []
    for i, name in enumerate(names, start=1):
        ident = None
        if algorithm != "MANUAL":
            from pydicom.sr.codedict import codes

            ident = hd.AlgorithmIdentificationSequence(
                name="thresholds", family=codes.DCM.ArtificialIntelligence, version="1")
        color = None if colors is None else hd.color.CIELabColor.from_rgb(*colors[i - 1])
        out.append(hd.seg.SegmentDescription(
            segment_number=i, segment_label=name, segmented_property_category=ORGAN,
            segmented_property_type=TISSUE, algorithm_type=algorithm,
            algorithm_identification=ident, display_color=color))
    return out


def make_seg(
    path: Path,
    sources: list[pydicom.Dataset],
    pixels: np.ndarray,
    names: Sequence[str],
    *,
    segmentation_type: str = "BINARY",
    colors: Sequence[Any] | None = None,
    transfer_syntax: str = ExplicitVRLittleEndian,
    omit_empty_frames: bool = True,
    algorithm: str = "MANUAL",
) -> Path:
    """A SEG written by highdicom from ``pixels`` (frames in the order of ``sources``)."""
    seg = hd.seg.Segmentation(
        source_images=sources, pixel_array=pixels, segmentation_type=segmentation_type,
        segment_descriptions=descriptions(names, colors, algorithm),
        series_instance_uid=generate_uid(), series_number=99, sop_instance_uid=generate_uid(),
        instance_number=1, manufacturer="test", manufacturer_model_name="test",
        software_versions="1", device_serial_number="1",
        transfer_syntax_uid=transfer_syntax, omit_empty_frames=omit_empty_frames,
        max_fractional_value=255,
    )
    seg.save_as(path)
    return path


def ct_labels(sources: list[pydicom.Dataset]) -> np.ndarray:
    """Three non-overlapping classes of the real CT's intensities (frames, rows, cols)."""
    v = np.stack([d.pixel_array.astype(float) for d in sources])
    lab = np.zeros(v.shape, np.uint8)
    lab[v > np.percentile(v, 40)] = 1
    lab[v > np.percentile(v, 70)] = 2
    lab[v > np.percentile(v, 90)] = 3
    return lab


def hd_volume(path: Path, **kwargs: Any) -> Any:
    """highdicom's own volume of a SEG (its reader, not ours)."""
    return hd.seg.segread(str(path)).get_volume(**kwargs)


def assert_equals_volume(da: xr.DataArray, array: np.ndarray, affine: np.ndarray,
                         outside_zero: bool = True) -> None:
    """Every voxel of a highdicom volume (array (slices, rows, cols[, n]), affine from
    (slice, row, col) to LPS) lies on a voxel centre of ``da`` with the same value; with
    ``outside_zero``, voxels of ``da`` the volume does not cover are 0."""
    grid = da.spatial.grid
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in array.shape[:3]], indexing="ij"),
                   -1).reshape(-1, 3)
    world = idx @ affine[:3, :3].T + affine[:3, 3]
    ours = grid.world_to_index(world)  # x, y, z
    np.testing.assert_allclose(ours, np.rint(ours), atol=1e-4)
    ours = np.rint(ours).astype(int)
    lead = ["c"] if "c" in da.dims else []
    values = da.transpose(*lead, "z", "y", "x").values
    if lead:
        got = values[:, ours[:, 2], ours[:, 1], ours[:, 0]].T
        want = array.reshape(-1, array.shape[-1])
    else:
        got = values[ours[:, 2], ours[:, 1], ours[:, 0]]
        want = array.reshape(-1)
    np.testing.assert_array_equal(got, want)
    if outside_zero:
        covered = np.zeros(values.shape[-3:], bool)
        covered[ours[:, 2], ours[:, 1], ours[:, 0]] = True
        assert not values[..., ~covered].any()
