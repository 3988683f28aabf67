"""Shared helpers of the RTSTRUCT tests: real and pydicom-written CT series, structure sets
written with pydicom directly (not with spatial_xr), and an independent rasteriser.

The oracle rasteriser works per slice from that slice's own ImagePositionPatient,
ImageOrientationPatient and PixelSpacing (read with pydicom), and fills each contour with
``skimage.draw.polygon``, combining the contours of a slice by XOR; it shares no code with
spatial_xr.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

PYDICOM_FILES = Path(get_testdata_file("CT_small.dcm")).parent
CT5N = PYDICOM_FILES / "dicomdirtests" / "98892001" / "CT5N"
"""A real CT series (5 slices of 16×16) shipped with pydicom."""
RTSTRUCT_FILE = Path(get_testdata_file("rtstruct.dcm"))
"""A real RT Structure Set shipped with pydicom (its image series does not ship)."""
FRAME_UID = "1.2.826.0.1.3680043.8.498.77"


def copy_ct5n(tmp_path: Path) -> Path:
    """A copy of pydicom's CT5N series in its own folder."""
    folder = tmp_path / "ct5n"
    shutil.copytree(CT5N, folder)
    return folder


def oblique_direction() -> np.ndarray:
    """A rotation with no zero entries (columns: row, column, normal directions)."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_euler("xyz", [21.0, -13.0, 33.0], degrees=True).as_matrix()


def write_series(folder: Path, data: np.ndarray, *, origin: Sequence[float],
                 direction: np.ndarray, spacing_xyz: Sequence[float],
                 frame_uid: str = FRAME_UID) -> dict[str, Any]:
    """Write ``data`` (z, y, x) as a CT series with pydicom; return its geometry."""
    folder.mkdir(parents=True, exist_ok=True)
    series_uid, study_uid = generate_uid(), generate_uid()
    d = np.asarray(direction, float)
    o = np.asarray(origin, float)
    for k in range(data.shape[0]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = pydicom.uid.CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(str(folder / f"s{k:03d}.dcm"), {}, file_meta=meta,
                         preamble=b"\0" * 128)
        ds.SOPClassUID = meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.FrameOfReferenceUID = frame_uid
        ds.Modality, ds.PatientName, ds.PatientID = "CT", "Test^Patient", "ID42"
        ds.PatientBirthDate, ds.PatientSex, ds.PatientAge = "19700101", "O", "055Y"
        ds.StudyDate, ds.StudyTime, ds.StudyID = "20240102", "101010", "1"
        ds.StudyDescription, ds.SeriesDescription = "study", "oblique CT"
        ds.ReferringPhysicianName, ds.AccessionNumber = "", ""
        ds.SeriesNumber, ds.Manufacturer = 3, "test"
        ds.InstanceNumber = k + 1
        ipp = o + k * spacing_xyz[2] * d[:, 2]
        ds.ImagePositionPatient = [f"{v:.6f}" for v in ipp]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in (*d[:, 0], *d[:, 1])]
        ds.PixelSpacing = [str(spacing_xyz[1]), str(spacing_xyz[0])]
        ds.SliceThickness = str(spacing_xyz[2])
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows, ds.Columns = data.shape[1:]
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit, ds.PixelRepresentation = 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = "1", "0"
        ds.PixelData = np.ascontiguousarray(data[k], "<i2").tobytes()
        ds.save_as(ds.filename, enforce_file_format=True)
    return {"series_uid": series_uid, "study_uid": study_uid, "frame_uid": frame_uid}


def slice_headers(folder: Path) -> list[Dataset]:
    """The slices of a series folder (headers), sorted along their normal."""
    out = []
    for p in sorted(folder.iterdir()):
        try:
            ds = pydicom.dcmread(p, stop_before_pixels=True)
        except Exception:
            continue
        if "ImagePositionPatient" in ds:
            out.append(ds)
    normal = np.cross(*np.reshape(np.asarray(out[0].ImageOrientationPatient, float), (2, 3)))
    return sorted(out, key=lambda d: float(np.asarray(d.ImagePositionPatient, float) @ normal))


def oracle_masks(folder: Path, contours: Sequence[np.ndarray]) -> np.ndarray:
    """Independent rasterisation: (z, rows, cols) bool mask of closed contours (world
    points, N×3 each) on the slices of the series in ``folder``."""
    from skimage.draw import polygon

    slices = slice_headers(folder)
    rows, cols = int(slices[0].Rows), int(slices[0].Columns)
    out = np.zeros((len(slices), rows, cols), bool)
    for pts in contours:
        for k, ds in enumerate(slices):
            ipp = np.asarray(ds.ImagePositionPatient, float)
            iop = np.asarray(ds.ImageOrientationPatient, float)
            r_dir, c_dir = iop[:3], iop[3:]
            normal = np.cross(r_dir, c_dir)
            rel = pts - ipp
            if np.abs(rel @ normal).max() > 1e-3:
                continue
            dr, dc = (float(v) for v in ds.PixelSpacing)
            col = rel @ r_dir / dc
            row = rel @ c_dir / dr
            rr, cc = polygon(row, col, (rows, cols))
            fill = np.zeros((rows, cols), bool)
            fill[rr, cc] = True
            out[k] ^= fill
    return out


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient of two masks."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else 2.0 * float((a & b).sum()) / float(total)


def world_centroid(mask_zyx: np.ndarray, folder: Path) -> np.ndarray:
    """World centroid (LPS mm) of a mask on a series, from each slice's IPP/IOP."""
    slices = slice_headers(folder)
    pts = []
    for k, r, c in np.argwhere(mask_zyx):
        ds = slices[k]
        iop = np.asarray(ds.ImageOrientationPatient, float)
        dr, dc = (float(v) for v in ds.PixelSpacing)
        pts.append(np.asarray(ds.ImagePositionPatient, float) + c * dc * iop[:3]
                   + r * dr * iop[3:])
    return np.mean(pts, axis=0)


def frame_of(folder: Path) -> str:
    """The FrameOfReferenceUID of a series folder."""
    return str(slice_headers(folder)[0].FrameOfReferenceUID)


def write_structure_set(path: Path, rois: Sequence[dict[str, Any]], *,
                        frame_uid: str | None = None, series_uid: str | None = None,
                        implicit: bool = True) -> Path:
    """An RT Structure Set written with pydicom directly, in the frame of reference of
    the series beside ``path`` (``frame_uid`` when given, else the series in the folder
    named ``ct5n`` or ``obl`` beside it).

    ``rois``: dicts with ``number``, ``name``, optional ``color``, and ``contours`` (a list of
    N×3 world point arrays) or ``items`` (a list of (geometric type, points)).
    """
    if frame_uid is None:
        for name in ("ct5n", "obl"):
            if (path.parent / name).is_dir():
                frame_uid = frame_of(path.parent / name)
        if path.parent.name in ("ct5n", "obl"):
            frame_uid = frame_of(path.parent)
    frame_uid = frame_uid or FRAME_UID
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.481.3"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "RTSTRUCT"
    ds.StructureSetLabel = "test"
    fr = Dataset()
    fr.FrameOfReferenceUID = frame_uid
    if series_uid:
        se = Dataset()
        se.SeriesInstanceUID = series_uid
        st = Dataset()
        st.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
        st.ReferencedSOPInstanceUID = generate_uid()
        st.RTReferencedSeriesSequence = DicomSequence([se])
        fr.RTReferencedStudySequence = DicomSequence([st])
    ds.ReferencedFrameOfReferenceSequence = DicomSequence([fr])
    defs, conts = [], []
    for roi in rois:
        d = Dataset()
        d.ROINumber, d.ROIName = roi["number"], roi["name"]
        d.ReferencedFrameOfReferenceUID = roi.get("frame_uid", frame_uid)
        d.ROIGenerationAlgorithm = "MANUAL"
        defs.append(d)
        rc = Dataset()
        rc.ReferencedROINumber = roi["number"]
        if "color" in roi:
            rc.ROIDisplayColor = list(roi["color"])
        items = roi.get("items") or [("CLOSED_PLANAR", p) for p in roi["contours"]]
        seq = []
        for kind, pts in items:
            c = Dataset()
            c.ContourGeometricType = kind
            c.NumberOfContourPoints = len(pts)
            c.ContourData = [f"{v:.6f}" for v in np.asarray(pts, float).ravel()]
            seq.append(c)
        rc.ContourSequence = DicomSequence(seq)
        conts.append(rc)
    ds.StructureSetROISequence = DicomSequence(defs)
    ds.ROIContourSequence = DicomSequence(conts)
    ds.save_as(path, enforce_file_format=True)
    return path


def in_plane_polygon(folder: Path, k: int, cols_rows: np.ndarray) -> np.ndarray:
    """World points of a polygon given in (column, row) pixel coordinates of slice ``k``."""
    ds = slice_headers(folder)[k]
    iop = np.asarray(ds.ImageOrientationPatient, float)
    dr, dc = (float(v) for v in ds.PixelSpacing)
    ipp = np.asarray(ds.ImagePositionPatient, float)
    cr = np.asarray(cols_rows, float)
    return ipp + np.outer(cr[:, 0] * dc, iop[:3]) + np.outer(cr[:, 1] * dr, iop[3:])
