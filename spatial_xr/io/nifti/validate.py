"""Checks of a NIfTI header before it is trusted: sizes, codes, units and the affine.

A header that lies (dims claiming terabytes, an offset past the end of the file, codes out
of range, a sheared affine) is refused before anything is allocated, with a
:class:`~spatial_xr.errors.FormatError` or :class:`~spatial_xr.errors.GeometryError` that
names the bad value.
"""

from __future__ import annotations

from typing import IO, Any

import numpy as np

from spatial_xr.errors import FormatError, GeometryError

__all__ = ["check_nifti_file", "check_nifti_header"]

_NIFTI_SIZES = {348: 1, 540: 2}
_XFORM_CODES = range(6)  # NIFTI_XFORM_UNKNOWN … NIFTI_XFORM_TEMPLATE_OTHER
_SPACE_UNITS = (0, 1, 2, 3)  # unknown, meter, mm, micron
_TIME_UNITS = (0, 8, 16, 24, 32, 40, 48)  # unknown, sec, msec, usec, Hz, ppm, rad/s


def _nifti_dtypes() -> dict[int, Any]:
    from nibabel.nifti1 import header_dtype as h1
    from nibabel.nifti2 import header_dtype as h2

    return {1: h1, 2: h2}


def _open_maybe_gzip(path: str) -> IO[bytes]:
    if path.lower().endswith(".gz"):
        import gzip

        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def check_nifti_file(path: str, *, affine: str = "best") -> None:
    """Open ``path`` (decompressing ``.gz``) and run :func:`check_nifti_header` on it.

    ``affine`` is the reader's choice (``"best"``, ``"sform"``, ``"qform"``); it decides
    whether ``pixdim`` carries the geometry.

    Raises
    ------
    FormatError
        The file cannot be opened (e.g. it is a folder) or its header is corrupt.
    GeometryError
        See :func:`check_nifti_header`.
    """
    try:
        fobj = _open_maybe_gzip(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise FormatError(
            f"{path!r} cannot be opened as a NIfTI file ({type(exc).__name__}: {exc})"
        ) from exc
    with fobj:
        check_nifti_header(fobj, path, affine=affine)


def check_nifti_header(fobj: IO[bytes], path: str, *, affine: str = "best") -> None:
    """Check the raw NIfTI-1/-2 header for values that lie, before nibabel "fixes" them.

    nibabel silently repairs some broken fields on load (zero or negative ``pixdim``,
    unknown ``qform_code``); repairing them would be guessing the geometry, so spatial_xr
    refuses them instead.

    Parameters
    ----------
    fobj : binary file object
        Positioned at the start of the (decompressed) file.
    path : str
        For messages.
    affine : {"best", "sform", "qform"}
        The reader's affine choice. When the chosen affine is built from ``pixdim`` (the
        qform, or no affine stored) the spatial ``pixdim`` must be finite and > 0.

    Raises
    ------
    FormatError
        Too short, unknown ``sizeof_hdr``, ``dim[0]`` outside 1–7, a negative or zero dim,
        unknown ``datatype``, unknown ``qform_code``/``sform_code``, non-finite or negative
        ``vox_offset``, infinite ``scl_slope``/``scl_inter``.
    GeometryError
        Non-finite, zero or negative ``pixdim`` of a spatial axis whose geometry comes from
        ``pixdim``.
    """
    try:
        raw = fobj.read(540)
    except Exception as exc:
        raise FormatError(
            f"{path!r} could not be read as NIfTI ({type(exc).__name__}: {exc}); the file is "
            "truncated, corrupt or not (gzip-compressed) NIfTI"
        ) from exc
    if len(raw) < 348:
        raise FormatError(
            f"{path!r} is truncated: {len(raw)} bytes, too short for a NIfTI header (348 bytes "
            "for NIfTI-1, 540 for NIfTI-2)"
        )
    version = order = None
    for bo in ("<", ">"):
        size = int(np.frombuffer(raw[:4], dtype=f"{bo}i4")[0])
        if size in _NIFTI_SIZES:
            version, order = _NIFTI_SIZES[size], bo
            break
    if version is None:
        raise FormatError(
            f"{path!r}: sizeof_hdr is {int(np.frombuffer(raw[:4], '<i4')[0])}, not 348 "
            "(NIfTI-1) or 540 (NIfTI-2); this is not a NIfTI file or its header is corrupt"
        )
    dt = _nifti_dtypes()[version].newbyteorder(order)
    if len(raw) < dt.itemsize:
        raise FormatError(f"{path!r} is truncated inside its NIfTI-{version} header")
    h = np.frombuffer(raw[: dt.itemsize], dtype=dt)[0]
    magic = bytes(h["magic"]).rstrip(b"\x00")
    if version == 1 and magic not in (b"n+1", b"ni1"):
        raise FormatError(
            f"{path!r}: header magic is {magic!r}, not b'n+1' (NIfTI-1); this is not a NIfTI "
            "file or its header is corrupt"
        )
    if version == 2 and not magic.startswith((b"n+2", b"ni2")):
        raise FormatError(
            f"{path!r}: header magic is {magic!r}, not b'n+2' or b'ni2' (NIfTI-2); this is not "
            "a NIfTI file or its header is corrupt"
        )
    dim = [int(v) for v in h["dim"]]
    if not 1 <= dim[0] <= 7:
        raise FormatError(
            f"{path!r}: header dim[0] (the number of dims) is {dim[0]}, must be 1–7; the "
            "header is corrupt"
        )
    bad = [(i, dim[i]) for i in range(1, dim[0] + 1) if dim[i] < 1]
    if bad:
        i, v = bad[0]
        raise FormatError(
            f"{path!r}: header dim[{i}] is {v}; every size must be ≥ 1 (declared shape "
            f"{tuple(dim[1 : dim[0] + 1])}); the header is corrupt"
        )
    from nibabel.nifti1 import data_type_codes

    code = int(h["datatype"])
    if code not in data_type_codes.value_set("code") or code == 0:
        raise FormatError(
            f"{path!r}: header datatype code {code} is not a NIfTI datatype; the header is "
            "corrupt"
        )
    for name in ("qform_code", "sform_code"):
        if int(h[name]) not in _XFORM_CODES:
            raise FormatError(
                f"{path!r}: header {name} is {int(h[name])}, not a NIfTI xform code (0–5); "
                "the header is corrupt — fix it or re-export the file"
            )
    units = int(h["xyzt_units"])
    if units % 8 not in _SPACE_UNITS or units - units % 8 not in _TIME_UNITS:
        raise FormatError(
            f"{path!r}: header xyzt_units is {units}, not a NIfTI space + time unit code; "
            "the header is corrupt"
        )
    vox = float(h["vox_offset"])
    if not np.isfinite(vox) or vox < 0:
        raise FormatError(
            f"{path!r}: header vox_offset is {vox}; it must be a byte offset ≥ 0 — the header "
            "is corrupt"
        )
    slope, inter = float(h["scl_slope"]), float(h["scl_inter"])
    if np.isinf(slope) or (slope not in (0.0,) and np.isfinite(slope) and np.isinf(inter)):
        raise FormatError(
            f"{path!r}: header scl_slope/scl_inter are ({slope}, {inter}); infinite scaling "
            "is corrupt (use scl_slope 0 or NaN for no scaling)"
        )
    uses_pixdim = affine == "qform" or (affine == "best" and int(h["sform_code"]) == 0)
    if uses_pixdim and int(h["qform_code"]) > 0:
        bcd = np.array([h["quatern_b"], h["quatern_c"], h["quatern_d"]], dtype=np.float64)
        norm2 = float(bcd @ bcd) if np.all(np.isfinite(bcd)) else np.inf
        if norm2 > 1.0 + 3 * np.finfo(np.float32).eps:
            raise GeometryError(
                f"{path!r}: header quatern_b/c/d {bcd.tolist()} are not part of a unit "
                "quaternion (b² + c² + d² > 1), so the qform is no rotation; fix the header or "
                "store an sform"
            )
    if uses_pixdim:
        pix = [float(v) for v in h["pixdim"]]
        for i in range(1, min(dim[0], 3) + 1):
            if not np.isfinite(pix[i]) or pix[i] <= 0:
                raise GeometryError(
                    f"{path!r}: header pixdim[{i}] (voxel size along "
                    f"{'xyz'[i - 1]}) is {pix[i]}, but the geometry comes from pixdim "
                    "(no sform) and a voxel size must be finite and > 0; fix the header "
                    "(e.g. nibabel: img.header.set_zooms(...)) or store an sform"
                )
