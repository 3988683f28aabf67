"""The label kind and the segment table (DESIGN §5b).

A *label image* is an integer (or boolean) image with ``attrs["kind"] = "label"`` and a
segment table ``attrs["segments"]``: a list of JSON objects, one per segment::

    {"number": 1, "name": "liver", "color": [221, 130, 101],
     "category": {"value": "123037004", "scheme": "SCT", "meaning": "Anatomical Structure"},
     "type": {"value": "10200004", "scheme": "SCT", "meaning": "Liver"},
     "algorithm": "MANUAL", "algorithm_name": null}

Only ``number`` and ``name`` are required. ``color`` is ``[r, g, b]`` in 0–255;
``category``/``type`` are coded concepts (code value, coding scheme designator, code
meaning, as DICOM writes them); ``algorithm`` is the DICOM segment algorithm type
(``"MANUAL"``, ``"SEMIAUTOMATIC"``, ``"AUTOMATIC"``) and ``algorithm_name`` its name. Keys a
format needs beyond these (e.g. a Slicer terminology string) are kept under their own names
and survive a round trip through :class:`Segment`.

Two layouts:

- **one label image** (no ``c`` dim): voxel value ``k`` belongs to the segment whose
  ``number`` is ``k``; 0 is background;
- **overlapping segments**: a ``c`` dim with one binary mask per index, and ``segments`` in
  the same order as ``c`` (``segments[i]`` describes ``da.isel(c=i)``).

Operations that see ``kind == "label"`` pick label-safe behaviour: ``resample`` defaults to
``interpolation="label"``, ``pyramid`` to ``method="mode"``, ``crop`` pads with 0, and
``to_napari`` gives a Labels layer with the segment names and colours.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from spatial_xr.errors import ParameterError, UnsupportedOptionError

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

LABEL_KIND = "label"
"""The value of ``attrs["kind"]`` that marks a label image."""

SEGMENT_KEYS = ("number", "name", "color", "category", "type", "algorithm", "algorithm_name")
"""The keys of a segment's JSON object that :class:`Segment` knows by name."""

_ALGORITHMS = ("MANUAL", "SEMIAUTOMATIC", "AUTOMATIC")


@dataclass(frozen=True)
class Code:
    """A coded concept: DICOM's (CodeValue, CodingSchemeDesignator, CodeMeaning).

    Parameters
    ----------
    value : str
        Code value, e.g. ``"10200004"``.
    scheme : str
        Coding scheme designator, e.g. ``"SCT"`` (SNOMED CT) or ``"DCM"``.
    meaning : str
        Human-readable meaning, e.g. ``"Liver"``.
    """

    value: str
    scheme: str
    meaning: str

    def to_json(self) -> dict[str, str]:
        """``{"value": …, "scheme": …, "meaning": …}``."""
        return {"value": self.value, "scheme": self.scheme, "meaning": self.meaning}

    @classmethod
    def from_json(cls, obj: Any, what: str = "code") -> Code:
        """A code from its JSON object (or a ``Code``, or a ``(value, scheme, meaning)``
        sequence).

        Raises
        ------
        ParameterError
            If a field is missing or not a string.
        """
        if isinstance(obj, Code):
            return obj
        if isinstance(obj, Mapping):
            try:
                parts = (obj["value"], obj["scheme"], obj["meaning"])
            except KeyError as exc:
                raise ParameterError(
                    f"{what} {dict(obj)!r} lacks {exc.args[0]!r}; a code is "
                    '{"value": …, "scheme": …, "meaning": …}'
                ) from None
        elif isinstance(obj, list | tuple) and len(obj) == 3:
            parts = tuple(obj)
        else:
            raise ParameterError(
                f"{what} must be a mapping with value, scheme and meaning, got {obj!r}"
            )
        if not all(isinstance(p, str) and p for p in parts):
            raise ParameterError(f"{what} fields must be non-empty strings, got {parts!r}")
        return cls(*parts)


@dataclass(frozen=True)
class Segment:
    """One row of a segment table.

    Parameters
    ----------
    number : int
        Segment number (≥ 1): the voxel value in a label image.
    name : str
        Segment label, e.g. ``"liver"``.
    color : tuple of 3 int, optional
        Display colour ``(r, g, b)``, each 0–255.
    category, type : Code, optional
        Segmented property category and type (DICOM SEG, Slicer terminology).
    algorithm : {"MANUAL", "SEMIAUTOMATIC", "AUTOMATIC"}, optional
        How the segment was made.
    algorithm_name : str, optional
        Name of the algorithm (DICOM requires it for non-manual segments).
    extra : dict, optional
        Further JSON-able keys a format wants kept (e.g. Slicer's terminology string).
    """

    number: int
    name: str
    color: tuple[int, int, int] | None = None
    category: Code | None = None
    type: Code | None = None
    algorithm: str | None = None
    algorithm_name: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        number = self.number
        if isinstance(number, bool) or not isinstance(number, int | np.integer) or number < 1:
            raise ParameterError(f"segment number must be an integer ≥ 1, got {number!r}")
        object.__setattr__(self, "number", int(number))
        if not isinstance(self.name, str):
            raise ParameterError(f"segment {number}: name must be a string, got {self.name!r}")
        if self.color is not None:
            rgb = tuple(self.color)
            if len(rgb) != 3 or not all(
                isinstance(v, int | np.integer) and not isinstance(v, bool) and 0 <= v <= 255
                for v in rgb
            ):
                raise ParameterError(
                    f"segment {number}: color must be [r, g, b] integers 0–255, got "
                    f"{self.color!r}"
                )
            object.__setattr__(self, "color", tuple(int(v) for v in rgb))
        for key in ("category", "type"):
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, Code.from_json(value, f"segment {number} {key}"))
        if self.algorithm is not None and self.algorithm not in _ALGORITHMS:
            raise ParameterError(
                f"segment {number}: algorithm must be one of {', '.join(_ALGORITHMS)}, got "
                f"{self.algorithm!r}"
            )
        clash = set(self.extra) & set(SEGMENT_KEYS)
        if clash:
            raise ParameterError(f"segment {number}: extra may not hold {sorted(clash)}")
        object.__setattr__(self, "extra", dict(self.extra))

    def to_json(self) -> dict[str, Any]:
        """The segment as a JSON object (keys left out when unset)."""
        out: dict[str, Any] = {"number": self.number, "name": self.name}
        if self.color is not None:
            out["color"] = list(self.color)
        if self.category is not None:
            out["category"] = self.category.to_json()
        if self.type is not None:
            out["type"] = self.type.to_json()
        if self.algorithm is not None:
            out["algorithm"] = self.algorithm
        if self.algorithm_name is not None:
            out["algorithm_name"] = self.algorithm_name
        out.update(self.extra)
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any] | Segment) -> Segment:
        """A segment from its JSON object (unknown keys go to ``extra``).

        Raises
        ------
        ParameterError
            If ``number`` or ``name`` is missing or a field is invalid.
        """
        if isinstance(obj, Segment):
            return obj
        if not isinstance(obj, Mapping):
            raise ParameterError(f"a segment must be a mapping or a Segment, got {obj!r}")
        if "number" not in obj or "name" not in obj:
            raise ParameterError(f"a segment needs 'number' and 'name', got {dict(obj)!r}")
        known = {k: obj[k] for k in SEGMENT_KEYS if k in obj and obj[k] is not None}
        extra = {k: v for k, v in obj.items() if k not in SEGMENT_KEYS}
        color = known.pop("color", None)
        return cls(color=None if color is None else tuple(color), extra=extra, **known)


SegmentsLike = Iterable[Segment | Mapping[str, Any]] | Mapping[int, str]


def segments_from_json(segments: SegmentsLike) -> list[Segment]:
    """Segments from JSON objects, :class:`Segment` values or a ``{number: name}`` mapping.

    Raises
    ------
    ParameterError
        A bad segment, or two segments with the same number.
    """
    if isinstance(segments, Mapping):
        rows = [Segment(int(k), str(v)) for k, v in segments.items()]
    elif isinstance(segments, str | bytes):
        raise ParameterError("segments must be a list of segments, not a string")
    else:
        rows = [Segment.from_json(s) for s in segments]
    numbers = [s.number for s in rows]
    dup = sorted({n for n in numbers if numbers.count(n) > 1})
    if dup:
        raise ParameterError(f"segment numbers must be unique; repeated: {dup}")
    return rows


def segments_to_json(segments: SegmentsLike) -> list[dict[str, Any]]:
    """The JSON form of a segment table (what ``attrs["segments"]`` holds)."""
    return [s.to_json() for s in segments_from_json(segments)]


def is_label(da: xr.DataArray) -> bool:
    """Whether ``da`` is a label image (``attrs["kind"] == "label"``)."""
    return da.attrs.get("kind") == LABEL_KIND


def segment_table(da: xr.DataArray) -> list[Segment]:
    """The segments of a label image, in the stored order (``[]`` if it has none).

    Raises
    ------
    ParameterError
        If ``attrs["segments"]`` is malformed.
    """
    return segments_from_json(da.attrs.get("segments") or [])


def label_dtype(max_number: int) -> np.dtype[Any]:
    """The smallest unsigned integer dtype that holds segment numbers up to ``max_number``."""
    for dt in (np.uint8, np.uint16, np.uint32):
        if max_number <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.uint64)


def check_segments(da: xr.DataArray, segments: list[Segment]) -> None:
    """Check a segment table against the image it describes (no data is read).

    Raises
    ------
    ParameterError
        A non-integer image; with a ``c`` dim, a table whose length differs from the
        ``c`` size; without one, a segment number the dtype cannot hold.
    """
    dtype = np.dtype(da.dtype)
    if not (np.issubdtype(dtype, np.integer) or dtype == np.bool_):
        raise ParameterError(
            f"a label image holds integers, got dtype {dtype}; round or threshold it first "
            "(e.g. (da > 0.5).astype('uint8'))"
        )
    if "c" in da.dims:
        if segments and len(segments) != da.sizes["c"]:
            raise ParameterError(
                f"a label image with a c dim has one segment per index: c has "
                f"{da.sizes['c']} entries but the table has {len(segments)} segments"
            )
        return
    top = 1 if dtype == np.bool_ else int(np.iinfo(dtype).max)
    too_big = [s.number for s in segments if s.number > top]
    if too_big:
        raise ParameterError(
            f"segment numbers {too_big} do not fit dtype {dtype}; cast the image first, e.g. "
            f"da.astype('{label_dtype(max(too_big))}')"
        )


def as_label(
    da: xr.DataArray, segments: SegmentsLike | None = None
) -> xr.DataArray:
    """Mark ``da`` as a label image with a segment table (no data is read).

    Parameters
    ----------
    da : xarray.DataArray
        Integer or boolean image; with a ``c`` dim, one binary mask per index.
    segments : list of Segment or JSON objects, or mapping number → name, optional
        The segment table; default: the table ``da`` already has, else ``[]``.

    Returns
    -------
    xarray.DataArray
        A shallow copy with ``attrs["kind"] = "label"`` and ``attrs["segments"]``.

    Raises
    ------
    ParameterError
        A float image, a malformed table, or a table that does not match the image.

    Examples
    --------
    >>> import numpy as np, spatial_xr
    >>> from spatial_xr.labels import as_label, segment_table
    >>> mask = as_label(spatial_xr.from_array(np.zeros((2, 3, 4), "uint8")), {1: "liver"})
    >>> mask.attrs["kind"], [s.name for s in segment_table(mask)]
    ('label', ['liver'])
    """
    rows = segment_table(da) if segments is None else segments_from_json(segments)
    check_segments(da, rows)
    out = da.copy(deep=False)
    out.attrs = {**da.attrs, "kind": LABEL_KIND, "segments": [s.to_json() for s in rows]}
    return out


def check_label_fill(da: xr.DataArray, fill_value: float) -> None:
    """Refuse a pad/fill value that would invent a segment in a label image.

    On a label image the fill must be 0 (background) or the number of a segment in its
    table; other images accept any value.

    Raises
    ------
    UnsupportedOptionError
        Another fill value on a label image.
    """
    if not is_label(da) or fill_value == 0:
        return
    numbers = {s.number for s in segment_table(da)} if "c" not in da.dims else set()
    if fill_value not in numbers:
        raise UnsupportedOptionError(
            f"fill_value={fill_value!r} on a label image would add voxels of a label that "
            "is no segment; use fill_value=0 (background, the default)"
            + (f" or a segment number {sorted(numbers)}" if numbers else "")
        )


def without_label_kind(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """``attrs`` without ``kind`` (for results that hold no labels any more, e.g. a label
    image interpolated linearly); the segment table is kept for reference."""
    return {k: v for k, v in attrs.items() if k != "kind"}
