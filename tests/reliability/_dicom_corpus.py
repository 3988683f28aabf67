"""Build small synthetic DICOM series with pydicom (no binary blobs), valid or broken.

The synthetic patient carries identifying values that the privacy tests look for in
every output (:data:`PATIENT`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

PATIENT = {
    "PatientName": "Zyxwvut^Quentinella",
    "PatientID": "PID-93817265",
    "PatientBirthDate": "19411223",
    "PatientAddress": "17 Unlikely Lane, Gristlethorpe",
    "AccessionNumber": "ACC-55501234",
    "InstitutionName": "Saint Obscura Infirmary",
    "ReferringPhysicianName": "Vantablack^Ottoline",
    "StudyID": "STU-7731",
}
"""Identifying values of the synthetic patient (unique strings that occur nowhere else)."""

ROWS, COLS, SLICES = 6, 5, 4
SPACING_RC = (0.8, 0.6)  # between rows (y), between columns (x), mm
SLICE_STEP = 2.5


def pixels(n_slices: int = SLICES, rows: int = ROWS, cols: int = COLS) -> np.ndarray:
    """Stored values (z, y, x) of the synthetic series, uint16 below 4096."""
    return (np.arange(n_slices * rows * cols) * 37 % 4096).reshape(n_slices, rows, cols
                                                                      ).astype(np.uint16)


def slice_dataset(k: int, series_uid: str, study_uid: str, frame_uid: str,
                  data: np.ndarray) -> FileDataset:
    """A valid CT slice ``k`` (axial, LPS-aligned) holding ``data`` (rows, cols)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = pydicom.uid.CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("", {}, file_meta=meta, preamble=b"\x00" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.SeriesInstanceUID = series_uid
    ds.StudyInstanceUID = study_uid
    ds.FrameOfReferenceUID = frame_uid
    ds.SeriesDescription = "reliability phantom"
    ds.SeriesNumber = 3
    ds.InstanceNumber = k + 1
    for key, value in PATIENT.items():
        setattr(ds, key, value)
    ds.StudyDate = "20240102"
    ds.ImagePositionPatient = [-10.0, 20.0, 30.0 + SLICE_STEP * k]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelSpacing = list(SPACING_RC)
    ds.SliceThickness = SLICE_STEP
    ds.Rows, ds.Columns = data.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleSlope = 1
    ds.RescaleIntercept = -1024
    ds.PixelData = np.ascontiguousarray(data, dtype="<u2").tobytes()
    return ds


Mutator = Callable[[int, FileDataset], FileDataset | None]


def write_series(folder: Path, n_slices: int = SLICES, mutate: Mutator | None = None,
                 extra_files: Mapping[str, bytes] | None = None) -> Path:
    """Write a series (one file per slice, ``IM0001.dcm`` …) into ``folder``.

    ``mutate(k, ds)`` may change slice ``k`` in place or return a replacement (``None``
    keeps ``ds``); ``extra_files`` adds other files (name → bytes).
    """
    folder.mkdir(parents=True, exist_ok=True)
    series_uid, study_uid, frame_uid = generate_uid(), generate_uid(), generate_uid()
    data = pixels(n_slices)
    for k in range(n_slices):
        ds = slice_dataset(k, series_uid, study_uid, frame_uid, data[k])
        if mutate is not None:
            out = mutate(k, ds)
            ds = out if isinstance(out, FileDataset) else ds
        ds.save_as(folder / f"IM{k + 1:04d}.dcm", enforce_file_format=True)
    for name, payload in (extra_files or {}).items():
        (folder / name).write_bytes(payload)
    return folder


def drop(*keywords: str, only: int | None = None) -> Mutator:
    """Remove tags (from every slice, or slice ``only``)."""
    def mutate(k: int, ds: FileDataset) -> None:
        if only is None or k == only:
            for kw in keywords:
                if kw in ds:
                    delattr(ds, kw)
    return mutate


def set_tags(only: int | None = None, **values: Any) -> Mutator:
    """Set tags (on every slice, or slice ``only``)."""
    def mutate(k: int, ds: FileDataset) -> None:
        if only is None or k == only:
            for kw, v in values.items():
                setattr(ds, kw, v)
    return mutate
