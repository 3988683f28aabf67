"""Enhanced (multi-frame) DICOM: one :class:`FrameHeader` per frame from the functional groups.

Geometry comes from ``PlanePositionSequence``, ``PlaneOrientationSequence`` and
``PixelMeasuresSequence``, rescaling from ``PixelValueTransformationSequence``; per-frame
groups override shared ones. Stack, temporal position, echo time and frame type of each
frame are kept in :attr:`FrameHeader.tags` so that volumes can be split into ``t`` or
selected.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydicom.dataset import Dataset

from spatial_xr.io.dicom.headers import (
    FrameHeader,
    float_or_none,
    floats_or_none,
    tag_value,
)

__all__ = ["enhanced_frames", "is_enhanced"]


def is_enhanced(ds: Dataset) -> bool:
    """Whether the dataset has per-frame functional groups."""
    return "PerFrameFunctionalGroupsSequence" in ds


def _item(groups: list[Dataset], seq: str) -> Dataset | None:
    """The first item of functional-group sequence ``seq``, per-frame groups first."""
    for g in groups:
        if g is not None and seq in g and len(g[seq].value):
            return g[seq].value[0]
    return None


def _frame_type(groups: list[Dataset]) -> str | None:
    for seq in ("MRImageFrameTypeSequence", "CTImageFrameTypeSequence", "PETFrameTypeSequence"):
        it = _item(groups, seq)
        if it is not None and "FrameType" in it:
            return tag_value("FrameType", it.FrameType)
    return None


def enhanced_frames(ds: Dataset, base: FrameHeader) -> list[FrameHeader]:
    """Expand an enhanced multi-frame dataset into one header per frame.

    Parameters
    ----------
    ds : pydicom.Dataset
        Header (with both functional-group sequences).
    base : FrameHeader
        Fields read from the top level of the dataset.

    Returns
    -------
    list of FrameHeader
        In frame order.
    """
    shared = ds.get("SharedFunctionalGroupsSequence")
    shared_item = shared[0] if shared else None
    out: list[FrameHeader] = []
    # NumberOfFrames says how many frames the pixel data holds (pydicom and GDCM read that
    # many); surplus functional-group items describe no pixels
    per_frame = list(ds.PerFrameFunctionalGroupsSequence)[: max(1, base.n_frames)]
    for i, per in enumerate(per_frame):
        groups = [per, shared_item]
        pos = _item(groups, "PlanePositionSequence")
        ori = _item(groups, "PlaneOrientationSequence")
        meas = _item(groups, "PixelMeasuresSequence")
        pvt = _item(groups, "PixelValueTransformationSequence")
        content = _item(groups, "FrameContentSequence")
        echo = _item(groups, "MREchoSequence")
        tags: dict[str, Any] = dict(base.tags)
        if content is not None:
            for kw in ("StackID", "InStackPositionNumber", "TemporalPositionIndex"):
                if kw in content:
                    tags[kw] = tag_value(kw, content[kw].value)
        if echo is not None and "EffectiveEchoTime" in echo:
            tags["EffectiveEchoTime"] = tag_value("EffectiveEchoTime", echo.EffectiveEchoTime)
        ftype = _frame_type(groups)
        if ftype is not None:
            tags["FrameType"] = ftype
        tags["InstanceNumber"] = i  # frame order inside the file, the last resort
        slope = float_or_none(pvt.get("RescaleSlope")) if pvt is not None else None
        inter = float_or_none(pvt.get("RescaleIntercept")) if pvt is not None else None
        out.append(
            replace(
                base,
                frame=i,
                ipp=floats_or_none(pos.get("ImagePositionPatient"), 3)
                if pos is not None
                else base.ipp,
                iop=floats_or_none(ori.get("ImageOrientationPatient"), 6)
                if ori is not None
                else base.iop,
                pixel_spacing=floats_or_none(meas.get("PixelSpacing"), 2)  # type: ignore[arg-type]
                if meas is not None and "PixelSpacing" in meas
                else base.pixel_spacing,
                slice_thickness=float_or_none(meas.get("SliceThickness"))
                if meas is not None and "SliceThickness" in meas
                else base.slice_thickness,
                spacing_between_slices=float_or_none(meas.get("SpacingBetweenSlices"))
                if meas is not None and "SpacingBetweenSlices" in meas
                else base.spacing_between_slices,
                slope=slope if slope is not None else base.slope,
                intercept=inter if inter is not None else base.intercept,
                tags=tags,
            )
        )
    return out
