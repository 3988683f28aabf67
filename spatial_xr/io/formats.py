"""The format registry: one place that decides which reader opens a path.

``open_image``, the xarray engine (``engine="spatial"``), the napari reader and the command
line all ask :func:`find_format`, so they agree on every path. Each format is one
:class:`Format` value that declares

- its **name** and a one-line description;
- how it is **recognised**: file-name extensions, magic bytes at fixed offsets, and
  optionally a ``sniff`` function for what those cannot decide (a DICOM file without a
  preamble, an OME-Zarr folder);
- its **reader** (``open``), optional **multiscale reader** (pyramids as DataTree) and
  optional **writer**, each given as ``"module:function"`` so that nothing is imported until
  a format is used;
- its **capabilities**: whether it reads partially (only the slabs, frames or chunks a
  computation touches) or must decode everything, and whether it opens remote URLs.

Recognition never reads more than :data:`HEAD_BYTES` bytes of a file, and never lists more
than :data:`FOLDER_PROBE` entries of a folder, so an unknown 1 GiB file fails at once.

Third-party packages add formats through the entry-point group ``spatial_xr.formats``: each
entry point names a :class:`Format` (or a callable returning one or a list of them)::

    [project.entry-points."spatial_xr.formats"]
    myformat = "my_package.spatial:FORMAT"

Formats are tried in order of ``priority`` (higher first), then built-ins before plugins;
the first whose test accepts the path opens it.
"""

from __future__ import annotations

import glob
import importlib
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from spatial_xr.errors import (
    FormatError,
    ParameterError,
    PathNotFoundError,
    SpatialXRWarning,
    UnsupportedFormatError,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "FOLDER_PROBE",
    "HEAD_BYTES",
    "Format",
    "Probe",
    "capability_table",
    "find_format",
    "format_named",
    "formats",
    "recognise",
    "register_format",
]

ENTRY_POINT_GROUP = "spatial_xr.formats"
HEAD_BYTES = 4096
"""Most bytes of a file read to recognise its format."""
FOLDER_PROBE = 64
"""Most entries of a folder looked at to recognise its format."""

Kind = Literal["file", "folder", "list", "store", "remote", "other"]


class Probe:
    """What recognition may look at, read at most once: the path's kind, a bounded
    prefix of a file, and the first names of a folder.

    Parameters
    ----------
    source : str, path-like, list of paths, or a store object
        What the caller passed to ``open_image``.
    """

    def __init__(self, source: Any) -> None:
        self.source = source
        self.kind: Kind
        self.path = ""
        if isinstance(source, str | os.PathLike):
            self.path = os.fspath(source)
            if "://" in self.path:
                self.kind = "remote"
            elif os.path.isdir(self.path):
                self.kind = "folder"
            else:
                self.kind = "file"
        elif isinstance(source, list | tuple):
            self.kind = "list"
        elif isinstance(source, Mapping) or type(source).__module__.split(".")[0] in (
                "zarr", "fsspec"):
            self.kind = "store"  # a zarr store or an fsspec mapper
        else:
            self.kind = "other"

    @cached_property
    def exists(self) -> bool:
        """Whether a local path exists (True for URLs, lists and stores)."""
        return self.kind not in ("file", "folder") or os.path.exists(self.path)

    @property
    def name(self) -> str:
        """The lower-case last component of the path (``""`` for lists and stores)."""
        return os.path.basename(self.path.rstrip("/\\")).lower()

    def has_extension(self, extensions: Sequence[str]) -> bool:
        """Whether the name ends with one of ``extensions`` (lower case, with the dot)."""
        return bool(self.path) and self.name.endswith(tuple(extensions))

    @cached_property
    def head(self) -> bytes:
        """The first :data:`HEAD_BYTES` bytes of a local file (``b""`` otherwise)."""
        if self.kind != "file":
            return b""
        try:
            with open(self.path, "rb") as f:
                return f.read(HEAD_BYTES)
        except OSError:
            return b""

    @cached_property
    def entries(self) -> list[os.DirEntry[str]]:
        """Up to :data:`FOLDER_PROBE` entries of a local folder, in name order of those
        listed (hidden names left out)."""
        if self.kind != "folder":
            return []
        out: list[os.DirEntry[str]] = []
        try:
            with os.scandir(self.path) as it:
                for entry in it:
                    if not entry.name.startswith("."):
                        out.append(entry)
                    if len(out) >= FOLDER_PROBE:
                        break
        except OSError:
            return []
        return sorted(out, key=lambda e: e.name)

    def has_member(self, name: str) -> bool:
        """Whether a local folder holds a file or folder called ``name`` (hidden ones too)."""
        return self.kind == "folder" and os.path.exists(os.path.join(self.path, name))

    def is_empty_folder(self) -> bool:
        """Whether a local folder holds nothing but hidden entries."""
        return self.kind == "folder" and not self.entries


def _resolve(ref: str | Callable[..., Any] | None) -> Callable[..., Any] | None:
    if ref is None or callable(ref):
        return ref
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class Format:
    """One image format: how to recognise it, read it, write it, and what it can do.

    Parameters
    ----------
    name : str
        Short unique name (``"nifti"``), used by ``open_image(..., format=name)``.
    description : str
        One line for ``spatial-xr formats``.
    reader : str or callable
        ``"module:function"`` (imported on first use) or a function
        ``reader(path, *, chunks=None, **options) -> xarray.DataArray``.
    extensions : tuple of str
        Lower-case name endings with the dot (``(".nii", ".nii.gz")``).
    magic : tuple of (int, bytes)
        Byte strings at offsets in the first :data:`HEAD_BYTES` bytes of a file.
    sniff : str or callable, optional
        ``sniff(probe) -> bool`` deciding on its own (extensions and magic are then only
        documentation); use it for what fixed bytes cannot decide.
    writer : str or callable, optional
        ``writer(da, path, *, overwrite=False, **options)``.
    multiscale_reader : str or callable, optional
        ``reader(path, **options) -> xarray.DataTree`` for pyramids.
    partial_reads : bool
        True when a computation reads only the slabs, frames or chunks it touches; False
        when every chunk request must decode the whole file (say so in ``notes``).
    remote : bool
        Opens URLs (``s3://``, ``https://``, …) and store objects.
    accepts_lists : bool
        ``open_image([file, file, …])`` opens exactly those files as one image.
    priority : int
        Higher is tried first; built-in last-resort sniffers use negative values.
    notes : str
        What a user should know about laziness or limits.
    origin : str
        ``"spatial_xr"`` for built-ins, the distribution name for plugins.
    """

    name: str
    description: str
    reader: str | Callable[..., Any]
    extensions: tuple[str, ...] = ()
    magic: tuple[tuple[int, bytes], ...] = ()
    sniff: str | Callable[[Probe], bool] | None = None
    writer: str | Callable[..., Any] | None = None
    multiscale_reader: str | Callable[..., Any] | None = None
    partial_reads: bool = True
    remote: bool = False
    accepts_lists: bool = False
    priority: int = 0
    notes: str = ""
    origin: str = field(default="spatial_xr", compare=False)

    def can_open(self, probe: Probe) -> bool:
        """Whether this format recognises what ``probe`` describes."""
        if probe.kind == "list":
            return self.accepts_lists
        if probe.kind == "other":
            return False
        if probe.kind in ("store", "remote") and not self.remote:
            return False
        if not probe.exists:  # a path that does not exist yet is known by its name
            return probe.has_extension(self.extensions)
        sniff = _resolve(self.sniff)
        if sniff is not None:
            return bool(sniff(probe))
        if probe.kind == "store":
            return False
        if self.magic and probe.kind == "file":
            head = probe.head
            if any(head[o:o + len(m)] == m for o, m in self.magic):
                return True
        return probe.has_extension(self.extensions)

    def open(self, source: Any, **options: Any) -> Any:
        """Open ``source`` lazily with this format's reader."""
        reader = _resolve(self.reader)
        assert reader is not None
        try:
            return reader(source, **options)
        except TypeError as exc:
            if "unexpected keyword argument" not in str(exc):
                raise
            raise ParameterError(
                f"the {self.name} reader does not take that option ({exc}); see "
                f"help({getattr(reader, '__module__', '')}.{getattr(reader, '__name__', '')}) "
                "for its options"
            ) from exc

    def open_multiscale(self, source: Any, **options: Any) -> Any:
        """Open ``source`` as a pyramid DataTree (formats with a multiscale reader)."""
        reader = _resolve(self.multiscale_reader)
        if reader is None:
            raise UnsupportedFormatError(
                f"{self.name} files hold one resolution; open them with open_image, or "
                "build a pyramid with da.spatial.pyramid()"
            )
        return reader(source, **options)

    def write(self, da: Any, destination: Any, **options: Any) -> Any:
        """Write ``da`` with this format's writer."""
        writer = _resolve(self.writer)
        if writer is None:
            raise UnsupportedFormatError(
                f"spatial_xr reads {self.name} but does not write it; writable formats: "
                f"{', '.join(f.name for f in formats() if f.writer is not None)}"
            )
        return writer(da, destination, **options)

    @property
    def capabilities(self) -> dict[str, Any]:
        """The format's capabilities as a JSON-able dict."""
        return {
            "read": True,
            "write": self.writer is not None,
            "partial_reads": self.partial_reads,
            "multiscale": self.multiscale_reader is not None,
            "remote": self.remote,
            "lists": self.accepts_lists,
        }


_BUILTIN: list[Format] = []
_PLUGINS: list[Format] | None = None


def register_format(fmt: Format) -> Format:
    """Add a format to the registry (replacing one of the same name); returns it."""
    if not isinstance(fmt, Format):
        raise ParameterError(
            f"register_format takes a spatial_xr.io.formats.Format, not {type(fmt).__name__}"
        )
    target = _BUILTIN if fmt.origin == "spatial_xr" else _plugins()
    target[:] = [f for f in target if f.name != fmt.name]
    target.append(fmt)
    return fmt


def _plugins() -> list[Format]:
    global _PLUGINS
    if _PLUGINS is None:
        _PLUGINS = []
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                value = ep.load()
                items = value() if callable(value) and not isinstance(value, Format) else value
                items = items if isinstance(items, list | tuple) else [items]
                dist = ep.dist.name if ep.dist is not None else ep.value
                for item in items:
                    if not isinstance(item, Format):
                        raise FormatError(
                            f"it gave {item!r}, not a spatial_xr.io.formats.Format"
                        )
                    _PLUGINS.append(
                        Format(**{**item.__dict__, "origin": dist})
                        if item.origin == "spatial_xr" else item
                    )
            except Exception as exc:  # a broken plugin must not break every open
                warnings.warn(
                    f"the spatial_xr format plugin {ep.name!r} ({ep.value}) failed to load "
                    f"and is ignored: {type(exc).__name__}: {exc}; fix or uninstall it",
                    SpatialXRWarning,
                    stacklevel=2,
                )
    return _PLUGINS


def formats() -> list[Format]:
    """Every registered format, in the order they are tried."""
    ordered = [*_BUILTIN, *_plugins()]
    return sorted(ordered, key=lambda f: -f.priority)  # stable: ties keep registration order


def format_named(name: str) -> Format:
    """The registered format called ``name``."""
    for fmt in formats():
        if fmt.name == name:
            return fmt
    raise UnsupportedFormatError(
        f"no format called {name!r}; installed formats: {', '.join(f.name for f in formats())}"
    )


def _unsupported(probe: Probe) -> UnsupportedFormatError:
    from spatial_xr.io.omezarr.detect import is_zarr_folder

    known = formats()
    listing = "; ".join(
        f"{f.name} ({', '.join(f.extensions) or 'by content'})" for f in known
    )
    what = repr(probe.path)
    if probe.kind == "folder" and (probe.name.endswith(".zarr") or is_zarr_folder(probe.path)):
        hint = ("it is a Zarr store with no OME-NGFF 'multiscales' metadata (open plain Zarr "
                "with xarray.open_zarr)" if is_zarr_folder(probe.path) else
                "it holds no Zarr group (no zarr.json, .zattrs or .zgroup)")
    elif probe.kind == "folder" and probe.is_empty_folder():
        return UnsupportedFormatError(
            f"the folder {what} is empty; point open_image at a folder of DICOM files, an "
            f"OME-Zarr store or an image file. Formats: {listing}"
        )
    elif probe.kind == "folder":
        hint = ("it holds no DICOM files (none of its first files has a DICOM header) and "
                "no OME-Zarr metadata (zarr.json/.zattrs with 'multiscales')")
    elif probe.kind == "remote":
        remote = [f.name for f in known if f.remote]
        hint = f"remote URLs open for {', '.join(remote)} (name the store, e.g. …/x.ome.zarr)"
    elif probe.kind == "store":
        hint = "store objects open as OME-Zarr only; this one has no OME metadata"
    elif probe.kind == "other":
        hint = (f"a {type(probe.source).__name__} is not a path, a list of paths, a zarr "
                "store or an fsspec mapper")
    else:
        hint = (f"neither its name nor its first {HEAD_BYTES} bytes match a known format "
                "(not a DICOM file: no 'DICM' marker and no DICOM tags at the start)")
    return UnsupportedFormatError(
        f"cannot tell the format of {what}: {hint}. Formats: {listing}; pass "
        "format='NAME' to choose one"
    )


def find_format(source: Any, *, format: str | None = None) -> Format:
    """The format that opens ``source``.

    Parameters
    ----------
    source : str, path-like, list of paths, or a store object
        A file, folder, URL, list of files or zarr store/mapper.
    format : str, optional
        A format name to use without recognition.

    Returns
    -------
    Format

    Raises
    ------
    PathNotFoundError
        A local path that does not exist (a glob pattern such as ``"scan/*.tif"`` is
        handed to the format its name matches, which expands it).
    UnsupportedFormatError
        No format recognises ``source``.
    """
    if format is not None:
        return format_named(format)
    probe = Probe(source)
    if probe.kind == "list":
        bad = [p for p in source if not isinstance(p, str | os.PathLike)]
        if bad or not source:
            raise ParameterError(
                "a list passed to open_image must hold file paths (str or path-like); got "
                f"{[type(p).__name__ for p in bad] or 'an empty list'}"
            )
    pattern = probe.kind == "file" and glob.has_magic(probe.path)  # e.g. "scan/*.tif"
    if probe.kind in ("file", "folder") and not os.path.exists(probe.path) and not pattern:
        raise PathNotFoundError(f"no such file or folder: {probe.path!r}")
    for fmt in formats():
        if fmt.can_open(probe):
            return fmt
    if pattern and not os.path.exists(probe.path):
        raise PathNotFoundError(
            f"no such file or folder: {probe.path!r} (as a glob pattern, its name matches "
            "no format that opens patterns, e.g. '*.tif' for TIFF stacks)"
        )
    raise _unsupported(probe)


def recognise(source: Any) -> Format | None:
    """The format that recognises ``source``, or None; never raises and never checks that
    a local path exists (what xarray's ``guess_can_open`` and napari's reader hook need)."""
    try:
        probe = Probe(source)
        if probe.kind == "list" and not all(isinstance(p, str | os.PathLike) for p in source):
            return None
        return next((f for f in formats() if f.can_open(probe)), None)
    except Exception:
        return None


def capability_table() -> list[dict[str, Any]]:
    """One row per format: name, extensions, capabilities, origin and notes."""
    return [
        {"name": f.name, "extensions": " ".join(f.extensions) or "(by content)",
         **f.capabilities, "origin": f.origin, "description": f.description, "notes": f.notes}
        for f in formats()
    ]


# ---------------------------------------------------------------------- built-in formats
register_format(Format(
    name="nifti",
    description="NIfTI-1 / NIfTI-2 single files",
    reader="spatial_xr.io.nifti:open_nifti",
    writer="spatial_xr.io.nifti:write_nifti",
    extensions=(".nii", ".nii.gz"),
    magic=((344, b"n+1\x00"), (4, b"n+2\x00")),
    notes=".nii reads only the bytes of the slabs a chunk needs; .nii.gz inflates from the "
          "start of the file up to the slab",
))
register_format(Format(
    name="omezarr",
    description="OME-Zarr (OME-NGFF 0.4 on Zarr v2, 0.5 on Zarr v3), local or remote",
    reader="spatial_xr.io.omezarr.read:open_omezarr",
    multiscale_reader="spatial_xr.io.omezarr.read:open_multiscale",
    writer="spatial_xr.io.omezarr.write:to_ome_zarr",
    extensions=(".ome.zarr", ".zarr"),
    sniff="spatial_xr.io.omezarr.detect:sniff_omezarr",
    remote=True,
    notes="reads only the chunks a computation touches; pyramids open as DataTree",
))
register_format(Format(
    name="dicom",
    description="DICOM series (a folder, one file, multi-frame/enhanced, or a list of files)",
    reader="spatial_xr.io.dicom.series:open_dicom",
    writer="spatial_xr.io.dicom.write:write_dicom_series",
    extensions=(".dcm", ".dicom", ".ima"),
    magic=((128, b"DICM"),),
    sniff="spatial_xr.io.dicom.detect:sniff_dicom",
    accepts_lists=True,
    priority=-10,  # recognises folders and preamble-less files by content: tried last
    notes="reads only the files (or frames) a computation touches; compressed transfer "
          "syntaxes decode per frame",
))
register_format(Format(
    name="metaimage",
    description="MetaImage / MetaIO (.mha, .mhd + .raw/.zraw, LIST of slice files)",
    reader="spatial_xr.io.metaimage:open_metaimage",
    writer="spatial_xr.io.metaimage:write_metaimage",
    extensions=(".mha", ".mhd"),
    notes="raw data read only the bytes of the slabs a chunk needs; zlib data "
          "(CompressedData) inflate one stream per chunk request, from its start up to the "
          "last plane needed (one chunk per t frame by default)",
))
register_format(Format(
    name="mgh",
    description="MGH/MGZ (FreeSurfer volumes), through nibabel's array proxy",
    reader="spatial_xr.io.mgh:open_mgh",
    writer="spatial_xr.io.mgh:write_mgh",
    extensions=(".mgh", ".mgz"),
    notes=".mgh reads only the bytes of the slabs a chunk needs; .mgz is a gzip stream that "
          "nibabel inflates from its start up to the slab (one chunk per frame), and its "
          "footer (TR, TE, TI, flip angle) is read only with footer=True",
))
register_format(Format(
    name="analyze",
    description="Analyze 7.5 and NIfTI-1/-2 pairs (.hdr + .img, optionally gzipped), "
                "through nibabel's array proxy",
    reader="spatial_xr.io.analyze:open_analyze",
    extensions=(".hdr", ".img", ".hdr.gz", ".img.gz"),
    sniff="spatial_xr.io.analyze.files:sniff_analyze",
    notes="recognised by the header's sizeof_hdr (348 or 540); NIfTI pairs use the "
          "sform/qform, Analyze nibabel's affine; .img reads only the bytes of the slabs a "
          "chunk needs, .img.gz inflates from its start up to the slab",
))
register_format(Format(
    name="sitk",
    description="everything else SimpleITK reads: VTK legacy, GIPL, MINC 2, MRC, ITK HDF5, "
                "PNG, JPEG, BMP, TIFF, JPEG 2000, LSM, Bio-Rad PIC, Stimulate",
    reader="spatial_xr.io.sitk:open_sitk",
    extensions=(".vtk", ".mrc", ".rec", ".h5", ".hdf5", ".gipl", ".gipl.gz", ".mnc", ".mnc2",
                ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".jp2", ".j2k", ".jpt",
                ".lsm", ".pic", ".spr"),
    magic=((0, b"\x89PNG\r\n\x1a\n"), (0, b"\xff\xd8\xff"), (0, b"II*\x00"), (0, b"MM\x00*"),
           (0, b"# vtk DataFile"), (208, b"MAP ")),
    partial_reads=False,
    priority=-20,  # the fallback: tried after every other format
    notes="full decode except where ITK streams (VTK, MRC, ITK HDF5: only the requested "
          "slabs are read); elsewhere the default chunk is the whole image, decoded once. "
          "Needs SimpleITK (extra 'itk')",
))
register_format(Format(
    name="nrrd",
    description="NRRD (.nrrd attached, .nhdr detached with one or several data files)",
    reader="spatial_xr.io.nrrd:open_nrrd",
    writer="spatial_xr.io.nrrd:write_nrrd",
    extensions=(".nrrd", ".nhdr"),
    magic=((0, b"NRRD000"),),
    notes="raw data read only the bytes of the planes a chunk needs; gzip and bzip2 "
          "inflate one stream per chunk request from the start of the data up to the last "
          "needed plane; ascii and hex data are parsed whole (one chunk)",
))
register_format(Format(
    name="imaris",
    description="Imaris 5.5 .ims (HDF5): every resolution level, channel and time point",
    reader="spatial_xr.io.imaris.read:open_imaris",
    multiscale_reader="spatial_xr.io.imaris.read:open_imaris_multiscale",
    writer="spatial_xr.io.imaris.write:write_imaris",
    extensions=(".ims",),
    magic=((0, b"\x89HDF\r\n\x1a\n"),),
    sniff="spatial_xr.io.imaris.detect:sniff_imaris",
    notes="needs h5py (pip install 'spatial-xr[imaris]'); reads only the HDF5 chunks a "
          "computation touches; resolution levels open as a DataTree",
))
register_format(Format(
    name="ozx",
    description="Zipped OME-Zarr (.ozx, RFC-9: OME-Zarr 0.5 in one ZIP file), local or remote",
    reader="spatial_xr.io.ozx.read:open_ozx",
    multiscale_reader="spatial_xr.io.ozx.read:open_ozx_multiscale",
    writer="spatial_xr.io.ozx.write:to_ozx",
    extensions=(".ozx",),
    magic=((0, b"PK\x03\x04"),),
    sniff="spatial_xr.io.ozx.detect:sniff_ozx",
    remote=True,
    notes="reads the central directory once, then only the entries (byte ranges of "
          "shards) a computation touches, locally or with HTTP/S3 range requests",
))
register_format(Format(
    name="niftizarr",
    description="NIfTI-Zarr (OME-Zarr with the NIfTI header of its finest level), local or "
                "remote",
    reader="spatial_xr.io.niftizarr.read:open_niftizarr",
    multiscale_reader="spatial_xr.io.niftizarr.read:open_niftizarr_multiscale",
    writer="spatial_xr.io.niftizarr.write:write_niftizarr",
    extensions=(".nii.zarr",),
    sniff="spatial_xr.io.niftizarr.detect:sniff_niftizarr",
    remote=True,
    # a NIfTI-Zarr store is also OME-Zarr (".zarr", "multiscales"): tried before omezarr so
    # that .nii.zarr destinations get their header; both readers place it by the header
    priority=1,
    notes="reads only the chunks a computation touches; geometry from the NIfTI header "
          "(sform, else qform), scl_slope/scl_inter applied lazily; pyramids open as DataTree",
))
register_format(Format(
    name="tiff",
    description="TIFF: OME-TIFF (pyramids, series), ImageJ hyperstacks, plain TIFF and "
                "BigTIFF; a folder or glob of 2-D TIFF files as a z stack",
    reader="spatial_xr.io.tiff.read:open_tiff",
    multiscale_reader="spatial_xr.io.tiff.read:open_tiff_multiscale",
    writer="spatial_xr.io.tiff.write:write_tiff",
    extensions=(".ome.tif", ".ome.tiff", ".ome.btf", ".tif", ".tiff", ".btf", ".tf8"),
    magic=((0, b"II*\x00"), (0, b"MM\x00*"), (0, b"II+\x00"), (0, b"MM\x00+")),
    sniff="spatial_xr.io.tiff.detect:sniff_tiff",
    notes="whole pages decode as tifffile.imread does; smaller requests decode only the "
          "tiles or strips they touch; a stack reads one file per z; physical units kept "
          "as written (micrometer, inch, …; 'pixel' when the file gives none)",
))
register_format(Format(
    name="rtstruct",
    description="DICOM RT Structure Set (RTSTRUCT): contours rasterised onto a reference grid "
                "as a label image",
    reader="spatial_xr.io.rtstruct:open_rtstruct",
    writer="spatial_xr.io.rtstruct:write_rtstruct",
    sniff="spatial_xr.io.rtstruct.detect:sniff_rtstruct",
    # recognised by content only (SOPClassUID in the first bytes); tried before "dicom",
    # which skips non-image objects
    priority=-5,
    notes="reads the structure set and the reference series' headers on open; each chunk "
          "rasterises only the contours on its slices (voxel centre inside by the even-odd "
          "rule); pass reference= a series folder, an image or a Grid",
))
register_format(Format(
    name="segnrrd",
    description="3D Slicer segmentation (.seg.nrrd): label image with its segment table",
    reader="spatial_xr.io.segnrrd:open_seg_nrrd",
    writer="spatial_xr.io.segnrrd:write_seg_nrrd",
    extensions=(".seg.nrrd",),
    magic=((0, b"NRRD000"),),
    sniff="spatial_xr.io.segnrrd.detect:sniff_seg_nrrd",
    priority=1,  # a .seg.nrrd is also NRRD: tried before "nrrd"
    notes="voxels read lazily by the NRRD reader (gzip: one stream per chunk request); "
          "layers merged into one label image when the segments' extents cannot overlap, "
          "else one mask per segment on 'c'; writing keeps every Segment field",
))
register_format(Format(
    name="dicomseg",
    description="DICOM Segmentation (SEG): label images on their own grid or an image's "
                "(reference=), through highdicom",
    reader="spatial_xr.io.dicomseg.read:open_dicomseg",
    writer="spatial_xr.io.dicomseg.write:write_dicomseg",
    extensions=(".dcm",),
    sniff="spatial_xr.io.dicomseg.detect:sniff_dicomseg",
    # recognised by the SOP Class UID (Segmentation or Label Map Segmentation Storage) in
    # the header: tried before the generic DICOM reader
    priority=-5,
    notes="needs highdicom (pip install 'spatial-xr[seg]'); opening reads the header and "
          "per-frame functional groups only, a chunk decodes only the frames of its slices; "
          "writing needs the source series (source=) and holds the label image in memory",
))
