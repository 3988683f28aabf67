"""Label images: the label kind, segment tables and mask workflows (DESIGN §5b).

See :mod:`spatial_xr.labels.segments` for the layout of ``attrs["kind"]`` and
``attrs["segments"]``; :mod:`spatial_xr.labels.merge` for repositioning and merging masks;
:mod:`spatial_xr.labels.statistics` for per-label statistics in world space.
"""

from spatial_xr.labels.merge import MERGE_RULES, full_mask, merge, merge_tables
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
from spatial_xr.labels.statistics import STAT_COLUMNS, label_statistics

__all__ = [
    "LABEL_KIND",
    "MERGE_RULES",
    "SEGMENT_KEYS",
    "STAT_COLUMNS",
    "Code",
    "Segment",
    "as_label",
    "check_label_fill",
    "check_segments",
    "full_mask",
    "is_label",
    "label_dtype",
    "label_statistics",
    "merge",
    "merge_tables",
    "segment_table",
    "segments_from_json",
    "segments_to_json",
    "without_label_kind",
]
