"""DICOM SEG: open (header) and full read of a 300-slice, 3-segment BINARY SEG.

Peer: highdicom itself, as its documentation shows it — ``hd.seg.segread(path)`` then
``seg.get_volume(combine_segments=True).array`` (the volume of segment numbers). Ours:
``spatial_xr.open_image(path)`` (the same label image, lazily on the SEG's own grid), then
``.values``. The open rows compare our header-only open with highdicom's lazy
``segread(path, lazy_frame_retrieval=True)``. Both sides warm up on a tiny SEG first, so
highdicom's one-time load of the DICOM standard tables is not counted. Sums of the label
volumes are compared between sides.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.cases._common import checksum, reader_registered
from benchmarks.harness import Case, Side

M = "benchmarks.cases.seg"


def _available() -> str | None:
    import importlib.util

    if importlib.util.find_spec("highdicom") is None:
        return "highdicom not installed (extra 'seg')"
    return reader_registered("dicomseg")


def _tiny_seg(p: dict[str, Any]) -> str:
    """A 2-frame 8×8 SEG of a 2-slice series, written by highdicom, for warm-up calls."""
    import warnings

    import highdicom as hd
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    out = Path(p["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    path = out / "tiny_seg.dcm"
    if path.exists():
        return str(path)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    dss = []
    for k in range(2):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = (
            study, series, frame)
        ds.Modality, ds.PatientID, ds.PatientName = "CT", "1", "Warm^Up"
        ds.PatientBirthDate = ds.PatientSex = ds.StudyDate = ds.StudyTime = ""
        ds.AccessionNumber = ds.ReferringPhysicianName = ds.StudyID = ""
        ds.SeriesNumber, ds.InstanceNumber = 1, k + 1
        ds.ImagePositionPatient, ds.ImageOrientationPatient = [0, 0, k], [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing, ds.SliceThickness = [1, 1], 1
        ds.Rows = ds.Columns = 8
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        dss.append(ds)
    tissue = hd.sr.CodedConcept("85756007", "SCT", "Tissue")
    desc = hd.seg.SegmentDescription(1, "x", tissue, tissue, "MANUAL")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hd.seg.Segmentation(dss, np.ones((2, 8, 8), np.uint8), "BINARY", [desc],
                            generate_uid(), 2, generate_uid(), 1, "w", "w", "1", "1"
                            ).save_as(path)
    return str(path)


def _warm_ours(p: dict[str, Any]) -> Any:
    import spatial_xr

    spatial_xr.open_image(_tiny_seg(p)).values  # noqa: B018
    return spatial_xr


def _warm_highdicom(p: dict[str, Any]) -> Any:
    import warnings

    import highdicom as hd

    warnings.simplefilter("ignore")
    hd.seg.segread(_tiny_seg(p)).get_volume(combine_segments=True)
    return hd


def ours_open(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = _warm_ours(p)

    def run() -> Any:
        return list(spatial_xr.open_image(p["input_path"]).shape)

    return run


def ours_read(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = _warm_ours(p)

    def run() -> Any:
        arr = spatial_xr.open_image(p["input_path"]).values
        return {"summary": checksum(arr), "extra": {"bytes": int(arr.nbytes)}}

    return run


def highdicom_open(p: dict[str, Any]) -> Callable[[], Any]:
    hd = _warm_highdicom(p)

    def run() -> Any:
        seg = hd.seg.segread(p["input_path"], lazy_frame_retrieval=True)
        return {"summary": None, "extra": {"note": f"{seg.number_of_frames} frames"}}

    return run


def highdicom_read(p: dict[str, Any]) -> Callable[[], Any]:
    hd = _warm_highdicom(p)

    def run() -> Any:
        arr = hd.seg.segread(p["input_path"]).get_volume(combine_segments=True).array
        return {"summary": checksum(arr), "extra": {"bytes": int(arr.nbytes)}}

    return run


CASES = [
    Case("dicom seg open (header)", Side("spatial_xr", f"{M}:ours_open"),
         peers=[Side("highdicom segread (lazy frames)", f"{M}:highdicom_open")],
         inputs=("ct_seg",), requires=_available),
    Case("dicom seg full read", Side("spatial_xr", f"{M}:ours_read"),
         peers=[Side("highdicom segread + get_volume", f"{M}:highdicom_read")],
         inputs=("ct_seg",), requires=_available),
]
