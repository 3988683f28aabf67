"""Synthetic DICOM writers and independent oracles for the DICOM tests.

Synthetic series are written here directly with pydicom (not with spatial_xr's writer), so
that reader tests do not depend on our own writer; geometry is known by construction.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

PYDICOM_FILES = Path(pydicom.data.get_testdata_file("CT_small.dcm")).parent
DICOMDIRTESTS = PYDICOM_FILES / "dicomdirtests"
NIBABEL_NICOM = Path(nib.__file__).parent / "nicom" / "tests" / "data"


def oblique_direction() -> np.ndarray:
    """A proper rotation (det +1) with no zero entries: columns row, col, normal."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_euler("xyz", [17.0, -11.0, 29.0], degrees=True).as_matrix()


def write_slice(
    path: Path,
    pixels: np.ndarray,
    *,
    ipp: Sequence[float],
    iop: Sequence[float],
    spacing_rc: Sequence[float] = (0.7, 0.8),
    series_uid: str,
    instance: int,
    modality: str = "CT",
    description: str = "synthetic",
    slope: float = 1.0,
    intercept: float = 0.0,
    extra: dict[str, Any] | None = None,
    bits_stored: int | None = None,
) -> None:
    """Write one single-frame DICOM slice with pydicom."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = pydicom.uid.CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = "1.2.3.4"
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = "1.2.3.4.5"
    ds.Modality = modality
    ds.SeriesDescription = description
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "SECRET-ID-123"
    ds.PatientBirthDate = "19700101"
    ds.InstanceNumber = instance
    ds.ImagePositionPatient = [f"{v:.6f}" for v in ipp]
    ds.ImageOrientationPatient = [f"{v:.8f}" for v in iop]
    ds.PixelSpacing = [str(v) for v in spacing_rc]
    ds.SliceThickness = "1.0"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored or 16
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    ds.RescaleSlope = str(slope)
    ds.RescaleIntercept = str(intercept)
    for k, v in (extra or {}).items():
        setattr(ds, k, v)
    ds.PixelData = np.ascontiguousarray(pixels).astype(pixels.dtype.newbyteorder("<")).tobytes()
    ds.save_as(path, enforce_file_format=True)


def make_series(
    folder: Path,
    data: np.ndarray,
    *,
    origin: Sequence[float] = (-40.0, 25.0, 12.0),
    direction: np.ndarray | None = None,
    spacing: tuple[float, float, float] = (0.8, 0.7, 2.5),
    positions: np.ndarray | None = None,
    series_uid: str | None = None,
    names: Sequence[str] | None = None,
    per_slice: Sequence[dict[str, Any]] | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """Write ``data`` (z, y, x) as a series; return its true geometry.

    ``spacing`` is (x, y, z) = (column spacing, row spacing, slice spacing). ``positions``
    overrides the slice positions (for gaps and tilt). File names are ``names`` (default
    shuffled, unrelated to position), InstanceNumber runs against position.
    """
    folder.mkdir(parents=True, exist_ok=True)
    d = np.eye(3) if direction is None else np.asarray(direction)
    nz = data.shape[0]
    o = np.asarray(origin, np.float64)
    if positions is None:
        positions = np.array([o + k * spacing[2] * d[:, 2] for k in range(nz)])
    uid = series_uid or generate_uid()
    rng = np.random.default_rng(nz)
    if names is None:
        names = [f"f{v:04d}.dcm" for v in rng.permutation(nz) * 7 + 3]
    for k in range(nz):
        write_slice(
            folder / names[k], data[k], ipp=positions[k], iop=[*d[:, 0], *d[:, 1]],
            spacing_rc=(spacing[1], spacing[0]), series_uid=uid, instance=nz - k,
            extra=None if per_slice is None else per_slice[k], **kw,
        )
    return {"origin": o, "direction": d, "spacing": spacing, "uid": uid, "positions": positions}


# ---------------------------------------------------------------------- oracles
def dcm2niix_convert(src: Path, out: Path) -> list[Path]:
    """Run the dcm2niix binary (PyPI ``dcm2niix``) and return the NIfTI files it wrote."""
    import dcm2niix

    exe = shutil.which("dcm2niix") or str(Path(dcm2niix.bin))
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([exe, "-o", str(out), "-f", "%s_%e_%t", "-z", "n", "-b", "n", str(src)],
                   check=True, capture_output=True)
    return sorted(out.glob("*.nii"))


def assert_matches_by_world(
    da: Any, other_data: np.ndarray, other_index_of_world: Any, atol: float = 1e-3,
    max_points: int = 4000,
) -> None:
    """Every (sampled) voxel of ``da`` lands on a voxel of the other image, same value.

    Parameters
    ----------
    da : DataArray (z, y, x)
    other_data : ndarray indexed by the other reader's (k, j, i)
    other_index_of_world : callable (m, 3) world xyz -> (m, 3) continuous (i, j, k)
    """
    nz, ny, nx = (da.sizes[d] for d in ("z", "y", "x"))
    grid = np.stack(np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij"),
                    -1).reshape(-1, 3)
    if len(grid) > max_points:
        rng = np.random.default_rng(0)
        keep = rng.choice(len(grid), max_points, replace=False)
        corners = np.array([[i, j, k] for i in (0, nx - 1) for j in (0, ny - 1)
                            for k in (0, nz - 1)])
        grid = np.concatenate([grid[keep], corners])
    world = da.spatial.grid.index_to_world(grid)
    idx = other_index_of_world(world)
    rounded = np.rint(idx)
    assert np.abs(idx - rounded).max() < atol, np.abs(idx - rounded).max()
    r = rounded.astype(int)
    ours = da.transpose("z", "y", "x").values[grid[:, 2], grid[:, 1], grid[:, 0]]
    theirs = other_data[r[:, 2], r[:, 1], r[:, 0]]
    np.testing.assert_array_equal(ours, theirs)


def sitk_index_of_world(image: Any) -> Any:
    """World (LPS xyz) → continuous ITK index (i, j, k) for a SimpleITK image."""
    origin = np.array(image.GetOrigin())
    m = np.array(image.GetDirection()).reshape(3, 3) * np.array(image.GetSpacing())
    inv = np.linalg.inv(m)
    return lambda pts: (np.asarray(pts) - origin) @ inv.T


def nifti_index_of_world(img: nib.Nifti1Image) -> Any:
    """World (LPS xyz) → continuous NIfTI voxel index (i, j, k)."""
    inv = np.linalg.inv(img.affine)
    flip = np.array([-1.0, -1.0, 1.0])
    return lambda pts: (np.asarray(pts) * flip) @ inv[:3, :3].T + inv[:3, 3]


def sitk_series(folder: Path) -> Any:
    """SimpleITK's ImageSeriesReader with GDCM's file ordering."""
    import SimpleITK as sitk

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder)))
    return reader.Execute()


def count_pixel_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the path of every pixel read (``lazy.read_frame`` call)."""
    from spatial_xr.io.dicom import lazy

    calls: list[str] = []
    real = lazy.read_frame

    def counting(path: str, *args: Any, **kwargs: Any) -> np.ndarray:
        calls.append(os.path.basename(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(lazy, "read_frame", counting)
    return calls


def assert_grid_equals_sitk(da: Any, image: Any, atol: float = 1e-6) -> None:
    """Origin, spacing and direction of ``da`` (z, y, x) equal SimpleITK's (x, y, z)."""
    g = da.spatial.grid
    np.testing.assert_allclose(g.origin_xyz, image.GetOrigin(), atol=atol)
    np.testing.assert_allclose(g.spacing_xyz, image.GetSpacing(), atol=atol)
    np.testing.assert_allclose(da.spatial.direction,
                               np.array(image.GetDirection()).reshape(3, 3), atol=atol)


def bytes_read_by(call: Any) -> tuple[Any, int]:
    """Run ``call()``; return its result and the bytes this process read meanwhile
    (``rchar`` of ``/proc/self/io``: every read system call, cached or not)."""
    io_file = Path("/proc/self/io")
    if not io_file.exists():
        pytest.skip("counting bytes read needs /proc/self/io (Linux)")

    def rchar() -> int:
        for line in io_file.read_text().splitlines():
            if line.startswith("rchar:"):
                return int(line.split()[1])
        raise AssertionError("no rchar in /proc/self/io")

    before = rchar()
    out = call()
    return out, rchar() - before


def enlarge_enhanced(path: Path, n_frames: int, transfer_syntax: str | None = None) -> int:
    """Write pydicom-data's enhanced CT ``eCT_Supplemental.dcm`` (2 frames of 512 × 512
    uint16) with ``n_frames`` frames: its two frames repeated, one per 10 mm along the
    normal, with their functional groups copied. Returns the byte size of the
    ``PerFrameFunctionalGroupsSequence`` and ``SharedFunctionalGroupsSequence`` values."""
    import copy

    from pydicom.data import get_testdata_file
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset
    from pydicom.sequence import Sequence as Seq

    ds = pydicom.dcmread(get_testdata_file("eCT_Supplemental.dcm"))
    pixels = ds.pixel_array
    per = ds.PerFrameFunctionalGroupsSequence
    ipp0 = [float(v) for v in per[0].PlanePositionSequence[0].ImagePositionPatient]
    items = []
    for k in range(n_frames):
        item = copy.deepcopy(per[k % 2])
        item.PlanePositionSequence[0].ImagePositionPatient = [ipp0[0], ipp0[1],
                                                              ipp0[2] - 10.0 * k]
        item.FrameContentSequence[0].InStackPositionNumber = k + 1
        items.append(item)
    ds.PerFrameFunctionalGroupsSequence = Seq(items)
    ds.NumberOfFrames = n_frames
    ds.PixelData = np.concatenate([pixels] * (-(-n_frames // 2)))[:n_frames].tobytes()
    if transfer_syntax is not None:
        ds.file_meta.TransferSyntaxUID = transfer_syntax
    ds.save_as(path, enforce_file_format=True)
    groups = pydicom.Dataset()
    groups.PerFrameFunctionalGroupsSequence = ds.PerFrameFunctionalGroupsSequence
    groups.SharedFunctionalGroupsSequence = ds.SharedFunctionalGroupsSequence
    buf = DicomBytesIO()
    buf.is_little_endian, buf.is_implicit_VR = True, False
    write_dataset(buf, groups)
    return len(buf.getvalue())
