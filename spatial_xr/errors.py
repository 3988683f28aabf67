"""Exceptions and warnings raised by spatial_xr.

Every error the package raises on purpose derives from :class:`SpatialXRError`, so a
caller can catch them all at once. Subclasses name the kind of problem; those a caller
would expect to be a ``ValueError`` (bad arguments, bad geometry, bad files) also
derive from it. Messages name the offending value and say how to fix it.
"""

from __future__ import annotations

from types import ModuleType

__all__ = [
    "DependencyError",
    "DimensionError",
    "DuplicateSliceError",
    "FormatError",
    "FrameOfReferenceError",
    "GantryTiltError",
    "GeometryError",
    "IrregularGridError",
    "LabelOverlapError",
    "MixedGeometryError",
    "NonLinearTransformError",
    "OverwriteError",
    "ParameterError",
    "PathNotFoundError",
    "RemoteAccessError",
    "SeriesSelectionError",
    "SingularTransformError",
    "SliceSpacingError",
    "SpatialXRError",
    "SpatialXRWarning",
    "StackError",
    "TransformMetadataError",
    "UnitError",
    "UnknownCoordinateSystemError",
    "UnsupportedFormatError",
    "UnsupportedOptionError",
]


class SpatialXRError(Exception):
    """Base class of every error raised by spatial_xr."""


class GeometryError(SpatialXRError, ValueError):
    """Spacing, origin or direction is invalid (non-finite, non-positive, not orthonormal,
    sheared or singular)."""


class IrregularGridError(GeometryError):
    """A spatial coordinate is not uniformly spaced, so it describes no regular grid."""


class DimensionError(SpatialXRError, ValueError):
    """The array's dimensions do not follow the contract (missing or unknown spatial dims)."""


class FormatError(SpatialXRError, ValueError):
    """A file or store is malformed, truncated, or lies about its content."""


class UnsupportedFormatError(FormatError):
    """The path is not in any format spatial_xr can open."""


class PathNotFoundError(SpatialXRError, FileNotFoundError):
    """The file, folder or store to open does not exist."""


class SeriesSelectionError(SpatialXRError, ValueError):
    """A folder holds several image series and the call did not say which one to use."""


class DependencyError(SpatialXRError, ImportError):
    """An optional dependency is missing; the message names the pip extra to install."""


class OverwriteError(SpatialXRError, FileExistsError):
    """A writer was asked to write over an existing destination without ``overwrite=True``."""


class SpatialXRWarning(UserWarning):
    """Something was ambiguous in the input and spatial_xr resolved it by a documented rule."""


def require(module: str, extra: str) -> ModuleType:
    """Import an optional dependency or raise :class:`DependencyError`.

    Parameters
    ----------
    module : str
        Importable module name, e.g. ``"SimpleITK"``.
    extra : str
        The ``spatial-xr`` pip extra that provides it, e.g. ``"itk"``.

    Returns
    -------
    module
        The imported module.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise DependencyError(
            f"{module!r} is needed for this operation but is not installed; "
            f"install it with: pip install 'spatial-xr[{extra}]'"
        ) from exc


class ParameterError(SpatialXRError, ValueError):
    """An argument has an invalid value or a combination of arguments conflicts."""


class SliceSpacingError(IrregularGridError):
    """DICOM slices are unevenly spaced or a slice is missing (a gap in the series)."""


class GantryTiltError(IrregularGridError):
    """DICOM slice positions do not lie along the slice normal (gantry tilt: a sheared grid)."""


class MixedGeometryError(GeometryError):
    """DICOM slices of one series disagree on orientation, size or pixel spacing."""


class DuplicateSliceError(FormatError):
    """Several DICOM slices share a position and nothing separates them into volumes."""


class UnitError(SpatialXRError, ValueError):
    """A unit name is unknown, or two units cannot be converted into each other."""


class UnsupportedOptionError(ParameterError):
    """An option's value is unknown or conflicts with the data (e.g. averaging labels)."""


class RemoteAccessError(SpatialXRError, OSError):
    """A remote store (``s3://``, ``gs://``, ``https://``, …) could not be reached or read;
    the message names the URL (never the credentials)."""


class StackError(FormatError):
    """The files of an image stack (a folder or glob of 2-D files) do not make one
    volume: mixed shapes or dtypes, or a gap in their numbering."""


class FrameOfReferenceError(GeometryError):
    """Objects that must share a DICOM frame of reference (a structure set and the series
    it is placed on) name different FrameOfReferenceUIDs."""


class LabelOverlapError(SpatialXRError, ValueError):
    """Segments overlap where one label image (one segment per voxel) was asked for; the
    message names the segments and says how to keep them apart (a ``c`` dim)."""


class UnknownCoordinateSystemError(ParameterError):
    """A named coordinate system (OME-Zarr 0.6, RFC-5) is not in the store; the message
    lists the ones it has."""


class TransformMetadataError(FormatError):
    """A coordinate transformation in a file's metadata is malformed: an unknown type,
    missing parameters, or parameters whose shape disagrees with the axes it maps."""


class NonLinearTransformError(GeometryError):
    """A non-linear transformation (a displacement or coordinate field) was asked to serve
    as an image's geometry, which only a linear (affine) mapping can be."""


class SingularTransformError(GeometryError):
    """A transformation that must be inverted, or that must give an image's spacing, is
    singular (a zero scale, a rank-deficient matrix)."""
