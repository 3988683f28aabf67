"""Label images: the label kind, segment tables and mask workflows (DESIGN §5b).

See :mod:`spatial_xr.labels.segments` for the layout of ``attrs["kind"]`` and
``attrs["segments"]``.
"""

from spatial_xr.labels.segments import (
    LABEL_KIND,
    SEGMENT_KEYS,
    Code,
    Segment,
    as_label,
    check_label_fill,
    check_segments,
    is_label,
    label_dtype,
    segment_table,
    segments_from_json,
    segments_to_json,
    without_label_kind,
)

__all__ = [
    "LABEL_KIND",
    "SEGMENT_KEYS",
    "Code",
    "Segment",
    "as_label",
    "check_label_fill",
    "check_segments",
    "is_label",
    "label_dtype",
    "segment_table",
    "segments_from_json",
    "segments_to_json",
    "without_label_kind",
]
