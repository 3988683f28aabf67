"""Write an image as a DICOM series: one uncompressed single-frame file per ``z`` slice.

Storage classes: ``modality="CT"`` → CT Image Storage, ``"MR"`` → MR Image Storage,
anything else → Secondary Capture Image Storage (with the same geometry tags, which most
readers honour). Pixels are stored as 16-bit integers: integer images whose values fit
16 bits (after an integer intercept shift) round-trip exactly; float images are stored with
a RescaleSlope/Intercept that spans their range over the int16 values (precision about
range / 65535). Slice ``k`` is written with ``ImagePositionPatient`` = world position of
voxel (0, 0, k) and ``ImageOrientationPatient`` = the ``x`` and ``y`` direction columns;
the normal of the written slices is their cross product, so an image with a left-handed
direction (det −1) reads back with its ``z`` axis reversed (same voxels, same world
positions).
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pydicom
import xarray as xr
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from spatial_xr.coords import grid_of, spatial_dims
from spatial_xr.errors import DimensionError, FormatError, OverwriteError, ParameterError
from spatial_xr.geometry import Grid
from spatial_xr.io.atomic import atomic_output

__all__ = ["write_dicom_series"]

_SOP = {
    "CT": pydicom.uid.CTImageStorage,
    "MR": pydicom.uid.MRImageStorage,
}
_SC = pydicom.uid.SecondaryCaptureImageStorage


def _ds(value: float) -> str:
    """A DICOM DS string (≤ 16 characters) as close to ``value`` as fits."""
    from pydicom.valuerep import format_number_as_ds

    return format_number_as_ds(float(value))


def _plan_storage(lo: float, hi: float, is_int: bool) -> tuple[np.dtype[Any], float, float]:
    """Stored dtype, slope and intercept for values in [lo, hi]."""
    if is_int:
        if lo >= -32768 and hi <= 32767:
            return np.dtype("i2"), 1.0, 0.0
        if lo >= 0 and hi <= 65535:
            return np.dtype("u2"), 1.0, 0.0
        if hi - lo <= 65535:
            return np.dtype("u2"), 1.0, float(lo)
    if hi == lo:
        return np.dtype("i2"), 1.0, float(lo)
    slope = (hi - lo) / 65534.0
    return np.dtype("i2"), slope, lo + 32767.0 * slope


def write_dicom_series(
    da: xr.DataArray,
    folder: str | os.PathLike[str],
    *,
    modality: str = "CT",
    series_description: str = "spatial_xr export",
    series_number: int = 1,
    patient_name: str = "Anonymous",
    patient_id: str = "ANON",
    study_uid: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a 3-D (or 2-D) scalar image as a series of single-frame DICOM files.

    Parameters
    ----------
    da : xarray.DataArray
        Image with spatial dims ``z, y, x`` (or ``y, x``) and no ``t``/``c``; computed one
        ``z`` chunk at a time.
    folder : str or path-like
        Destination folder; must not exist (or be an empty folder) unless
        ``overwrite=True``. Files are named ``IM00001.dcm``, … in slice order.
    modality : str
        ``"CT"`` (CT Image Storage), ``"MR"`` (MR Image Storage) or another DICOM modality
        code (Secondary Capture Image Storage).
    series_description, series_number, patient_name, patient_id : optional
    study_uid : str, optional
        StudyInstanceUID to join an existing study; new by default. Series, SOP instance
        and frame-of-reference UIDs are always new.
    overwrite : bool
        Replace an existing, non-empty folder (only after the new series is complete).

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    DimensionError
        The image has dims other than ``z, y, x``.
    OverwriteError
        The folder exists and is not empty, and ``overwrite`` is False.
    """
    folder = Path(folder)
    sdims = spatial_dims(da)
    extra = [d for d in da.dims if d not in sdims]
    if extra:
        raise DimensionError(
            f"a DICOM series holds one scalar volume; this image also has dims {extra}. "
            "Select one volume/channel first (e.g. da.isel(t=0)) and write each separately."
        )
    if np.dtype(da.dtype).kind not in "biuf":
        raise FormatError(f"cannot store dtype {da.dtype} in DICOM; cast to a number type")
    if not isinstance(modality, str) or not modality.strip():
        raise ParameterError(
            f"modality must be a DICOM modality code such as 'CT', got {modality!r}"
        )
    grid = grid_of(da)
    if "z" not in sdims:  # a 2-D image: one slice in the plane z = 0
        d3 = np.eye(3)
        d3[:2, :2] = grid.direction_xyz
        grid = Grid((*grid.shape_xyz, 1), (*grid.spacing_xyz, 1.0), (*grid.origin_xyz, 0.0), d3)
        da = da.expand_dims("z")
    da = da.transpose("z", "y", "x")
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()  # an empty folder is not "existing output"
    elif folder.exists() and not overwrite:
        raise OverwriteError(
            f"{os.fspath(folder)!r} already exists and is not empty; pass overwrite=True to "
            "replace it, or choose another folder"
        )
    is_int = np.dtype(da.dtype).kind in "biu"
    lo, hi = dask.compute(da.min(), da.max())
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise FormatError("the image holds NaN or infinite values, which DICOM cannot store")
    stored, slope, inter = _plan_storage(lo, hi, is_int)
    slope, inter = float(_ds(slope)), float(_ds(inter))  # the values the files will hold

    modality = modality.upper()
    sop_class = _SOP.get(modality, _SC)
    study_uid = study_uid or generate_uid()
    series_uid, for_uid = generate_uid(), generate_uid()
    now = datetime.datetime.now()
    d = grid.direction_xyz
    iop = [_ds(v) for v in (*d[:, 0], *d[:, 1])]
    srow, scol = grid.spacing_xyz[1], grid.spacing_xyz[0]
    thick = grid.spacing_xyz[2]
    nz = da.sizes["z"]
    zchunks = da.chunksizes.get("z", (nz,)) if da.chunks else (nz,)

    with atomic_output(folder, overwrite=overwrite) as tmp:
        tmp.mkdir()
        start = 0
        for size in zchunks:
            block = np.asarray(da.isel(z=slice(start, start + size)).values)
            for j in range(block.shape[0]):
                k = start + j
                plane = block[j]
                if slope == 1.0:
                    pix = np.asarray(np.rint(plane - inter) if not is_int else plane - int(inter))
                else:
                    pix = np.rint((plane.astype(np.float64) - inter) / slope)
                pix = np.clip(pix, np.iinfo(stored).min, np.iinfo(stored).max).astype(stored)
                ipp = grid.index_to_world([0, 0, k])
                meta = FileMetaDataset()
                meta.MediaStorageSOPClassUID = sop_class
                meta.MediaStorageSOPInstanceUID = generate_uid()
                meta.TransferSyntaxUID = ExplicitVRLittleEndian
                fname = tmp / f"IM{k + 1:05d}.dcm"
                ds = FileDataset(str(fname), {}, file_meta=meta, preamble=b"\0" * 128)
                ds.SpecificCharacterSet = "ISO_IR 192"
                ds.SOPClassUID = sop_class
                ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
                ds.StudyInstanceUID = study_uid
                ds.SeriesInstanceUID = series_uid
                ds.FrameOfReferenceUID = for_uid
                ds.Modality = modality
                ds.SeriesDescription = series_description
                ds.SeriesNumber = series_number
                ds.InstanceNumber = k + 1
                ds.PatientName = patient_name
                ds.PatientID = patient_id
                ds.StudyDate = ds.SeriesDate = ds.ContentDate = now.strftime("%Y%m%d")
                ds.StudyTime = ds.SeriesTime = ds.ContentTime = now.strftime("%H%M%S")
                ds.ImageType = ["DERIVED", "SECONDARY"]
                if sop_class == _SC:
                    ds.ConversionType = "WSD"
                ds.ImagePositionPatient = [_ds(v) for v in ipp]
                ds.ImageOrientationPatient = iop
                ds.PixelSpacing = [_ds(srow), _ds(scol)]
                ds.SliceThickness = _ds(thick)
                ds.SpacingBetweenSlices = _ds(thick)
                ds.SliceLocation = _ds(float(ipp @ np.cross(d[:, 0], d[:, 1])))
                ds.SamplesPerPixel = 1
                ds.PhotometricInterpretation = "MONOCHROME2"
                ds.Rows, ds.Columns = int(pix.shape[0]), int(pix.shape[1])
                ds.BitsAllocated = ds.BitsStored = 16
                ds.HighBit = 15
                ds.PixelRepresentation = 1 if stored.kind == "i" else 0
                ds.RescaleSlope = _ds(slope)
                ds.RescaleIntercept = _ds(inter)
                ds.RescaleType = "HU" if modality == "CT" else "US"
                ds.PixelData = np.ascontiguousarray(pix, dtype=stored.newbyteorder("<")).tobytes()
                ds.save_as(fname, enforce_file_format=True)
            start += size
    return folder
