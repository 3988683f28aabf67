"""The NIfTI header of a NIfTI-Zarr store and the geometry it gives each pyramid level.

NIfTI-Zarr (the ``nii.zarr`` specification, 1.0) is an OME-Zarr multiscale image whose
group also holds the binary NIfTI-1 or NIfTI-2 header of the finest level, as a 1-D
``uint8`` array named ``nifti``. When the header and the OME metadata disagree, the header
wins. This module is pure nibabel and numpy (no zarr): it parses and checks header bytes,
builds them for writing, and turns a header plus the OME ``multiscales`` metadata into one
:class:`~spatial_xr.geometry.Grid` per level.

**Level 0** takes the header's affine, chosen as the NIfTI reader chooses it
(:func:`spatial_xr.io.nifti.read.choose_affine`: sform, else qform, else pixdim), converted
from RAS to LPS.

**Level k** is placed the way NIfTI tools (the reference ``niizarr`` implementation)
place it: the OME ``scale``/``translation`` of the x, y, z axes map each level's voxel
indices into one common "scaled voxel space" ``P_k``, so level ``k``'s index → level-0
index map is ``P_0⁻¹ · P_k`` and its affine ``A_0 · P_0⁻¹ · P_k``. Only ratios of the OME
values enter, so their unit does not matter.

**Precision.** The header stores its affine as float32. A store written by spatial_xr
also keeps the exact float64 geometry in its ``spatial_xr`` attribute; when both place
every corner of a level within :data:`AGREEMENT_MM` of each other the exact one is used,
else the header wins and a warning names the gap.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import nibabel as nib
import numpy as np
import xarray as xr
from numpy.typing import NDArray

from spatial_xr.errors import FormatError, GeometryError, SpatialXRWarning
from spatial_xr.geometry import Grid, decompose_affine, lps_ras_flip
from spatial_xr.io.nifti.read import SPACE_UNITS, AffineChoice, affine_source, choose_affine
from spatial_xr.io.nifti.validate import check_nifti_header
from spatial_xr.io.nifti.write import nifti_header
from spatial_xr.io.omezarr.metadata import MultiscaleMeta, level_grid, unit_factor

__all__ = [
    "AGREEMENT_MM",
    "HEADER_KEY",
    "NIFTI1_MAX_DIM",
    "NiftiZarrHeader",
    "apply_header_scaling",
    "header_bytes",
    "parse_header",
]

HEADER_KEY = "nifti"
"""Name of the array holding the binary header, in the image's group."""
AGREEMENT_MM = 1e-3
"""Largest gap (mm) between two descriptions of the same geometry taken as agreement (the
NIfTI reader's qform/sform tolerance)."""
NIFTI1_MAX_DIM = 32767
"""Largest size of a dim a NIfTI-1 header can hold (``dim`` is int16); larger images get a
NIfTI-2 header."""
_SIZES = {348: 1, 540: 2}


def _version_of(raw: bytes) -> int:
    for order in ("<", ">"):
        size = int(np.frombuffer(raw[:4], dtype=f"{order}i4")[0])
        if size in _SIZES:
            return _SIZES[size]
    return 0


def parse_header(raw: bytes, where: str, *, affine: AffineChoice = "best") -> Any:
    """Check and parse the bytes of a stored NIfTI-1/-2 header.

    Parameters
    ----------
    raw : bytes
        The header (348 bytes for NIfTI-1, 540 for NIfTI-2; anything after them, such as
        extensions, is ignored).
    where : str
        Names the store in messages.
    affine : {"best", "sform", "qform"}
        The affine the caller will use (decides whether ``pixdim`` must be valid).

    Returns
    -------
    nibabel.Nifti1Header or nibabel.Nifti2Header

    Raises
    ------
    FormatError
        Too short, not a NIfTI header, or corrupt fields (see
        :func:`spatial_xr.io.nifti.validate.check_nifti_header`).
    GeometryError
        Invalid ``pixdim`` or quaternion where the geometry comes from them.
    """
    check_nifti_header(io.BytesIO(raw), where, affine=affine)
    version = _version_of(raw)
    size = 348 if version == 1 else 540
    cls = nib.Nifti1Header if version == 1 else nib.Nifti2Header
    return cls.from_fileobj(io.BytesIO(raw[:size]), check=False)


def header_bytes(da: xr.DataArray, grid: Grid) -> bytes:
    """The binary header of a NIfTI-Zarr store whose level 0 is ``da`` on ``grid``.

    The header is the one :func:`spatial_xr.io.nifti.write.write_nifti` writes (qform =
    sform from ``grid`` in RAS, units, ``pixdim[4]`` of ``t``, ``scl_slope``/``scl_inter``
    from ``attrs``): NIfTI-1 (348 bytes), or NIfTI-2 (540 bytes) when a dim exceeds
    :data:`NIFTI1_MAX_DIM`. A ``c`` dim is NIfTI's 5th dim (never RGB24), as the OME array
    stores it.

    Raises
    ------
    FormatError
        NIfTI has no datatype for ``da``'s dtype.
    """
    version: Literal[1, 2] = 2 if max(int(n) for n in da.shape) > NIFTI1_MAX_DIM else 1
    hdr = nifti_header(da, version=version, color=False, grid=grid)
    return bytes(hdr.binaryblock)


def _scaled_voxel_affine(meta: MultiscaleMeta, index: int) -> NDArray[np.float64]:
    """4×4 map from level ``index``'s (i, j, k) to OME scaled voxel space (x, y, z); a
    missing z axis (2-D image) maps identically."""
    level = meta.levels[index]
    out = np.eye(4)
    for a, name in enumerate(("x", "y", "z")):
        if name in meta.dims:
            i = meta.dims.index(name)
            out[a, a] = level.scale[i]
            out[a, 3] = level.translation[i]
    return out


def _grid_from_ras(ras: NDArray[np.float64], shape_xyz: Sequence[int], where: str) -> Grid:
    origin, spacing, direction = decompose_affine(lps_ras_flip(ras))
    n = len(shape_xyz)
    if n == 3:
        return Grid(shape_xyz, spacing, origin, direction)
    if abs(abs(direction[2, 2]) - 1.0) > 1e-6:
        raise GeometryError(
            f"{where}: the image is 2-D (y, x) but its NIfTI header tilts the image plane out "
            f"of the world x-y plane (direction {direction.round(6).tolist()}); store it as 3-D "
            "with one z slice"
        )
    return Grid(shape_xyz, spacing[:2], origin[:2], direction[:2, :2])


def _corner_gap(a: Grid, b: Grid) -> float:
    if a.shape_xyz != b.shape_xyz:
        return float("inf")
    return float(np.abs(a.corners() - b.corners()).max())


@dataclass(frozen=True)
class NiftiZarrHeader:
    """A parsed NIfTI-Zarr header and the level-0 affine chosen from it.

    Parameters
    ----------
    header : nibabel.Nifti1Header or nibabel.Nifti2Header
    ras0 : ndarray, shape (4, 4)
        Level 0's index (i, j, k) → RAS affine, in :attr:`unit`.
    unit : str
        UDUNITS-2 name of the header's length unit (``millimeter`` when unknown).
    where : str
        Names the store in messages.
    affine : str
        Which affine was chosen (``"best"``, ``"sform"``, ``"qform"``).
    """

    header: Any
    ras0: NDArray[np.float64]
    unit: str
    where: str
    affine: AffineChoice = "best"

    @classmethod
    def from_bytes(
        cls, raw: bytes, where: str, *, affine: AffineChoice = "best"
    ) -> NiftiZarrHeader:
        """Parse ``raw`` (see :func:`parse_header`) and choose its affine."""
        hdr = parse_header(raw, where, affine=affine)
        ras = choose_affine(hdr, where, affine)
        space, _ = hdr.get_xyzt_units()
        return cls(hdr, np.asarray(ras, np.float64), SPACE_UNITS.get(space, "millimeter"),
                   where, affine)

    @property
    def slope_inter(self) -> tuple[float, float]:
        """``(scl_slope, scl_inter)`` with NIfTI's "no scaling" (slope 0 or NaN) as (1, 0)."""
        slope, inter = self.header.get_slope_inter()
        slope = 1.0 if slope is None else float(slope)
        inter = 0.0 if inter is None else float(inter)
        if not (np.isfinite(slope) and np.isfinite(inter)):
            raise FormatError(
                f"{self.where}: the NIfTI header has non-finite scl_slope/scl_inter "
                f"({slope}, {inter}); fix the header"
            )
        return slope, inter

    def check_level0(self, meta: MultiscaleMeta, shape: Sequence[int]) -> None:
        """Check the header against level 0 (array ``shape`` in ``meta.dims`` order).

        Raises
        ------
        FormatError
            The header's x, y, z sizes are not the array's (the header describes another
            image).

        Warns
        -----
        SpatialXRWarning
            The OME ``scale`` of a space axis differs from the header's voxel size by more
            than :data:`AGREEMENT_MM` (the header is used).
        """
        dims_f = tuple(int(v) for v in self.header.get_data_shape())
        dims_f = dims_f + (1,) * (3 - len(dims_f))
        names = [a for a in ("x", "y", "z") if a in meta.dims]
        ours = [int(shape[meta.dims.index(a)]) for a in names]
        if list(dims_f[: len(names)]) != ours or any(v != 1 for v in dims_f[len(names):3]):
            raise FormatError(
                f"{self.where}: the NIfTI header describes an image of {dims_f[:3]} voxels "
                f"(x, y, z) but the finest level stores {dict(zip(names, ours, strict=True))}; "
                "the header belongs to another image — rewrite the store (e.g. "
                "to_ome_zarr(..., nifti=True))"
            )
        try:  # a sheared or singular affine is refused before the scales are compared
            decompose_affine(lps_ras_flip(self.ras0))
        except GeometryError as exc:
            raise GeometryError(
                f"{self.where}: {affine_source(self.header, self.affine)} of the NIfTI header "
                f"is sheared or singular: {exc}"
            ) from exc
        sizes = np.linalg.norm(self.ras0[:3, :3], axis=0)
        level = meta.levels[0]
        to_mm = unit_factor(self.unit, "millimeter")
        for a, name in enumerate(names):
            i = meta.dims.index(name)
            ome = level.scale[i] * unit_factor(meta.axes[i].unit or self.unit, self.unit)
            gap = abs(ome - sizes[a]) * to_mm
            if gap > AGREEMENT_MM:
                warnings.warn(
                    f"{self.where}: the OME scale of axis {name!r} ({ome:.6g} {self.unit}) "
                    f"differs from the NIfTI header's voxel size ({sizes[a]:.6g} {self.unit}) "
                    "by more than 1e-3 mm; using the header (NIfTI-Zarr gives it precedence)",
                    SpatialXRWarning,
                    stacklevel=5,
                )

    def level_ras(self, meta: MultiscaleMeta, index: int) -> NDArray[np.float64]:
        """Level ``index``'s index → RAS affine (in :attr:`unit`), ``A_0 · P_0⁻¹ · P_k``."""
        p0 = _scaled_voxel_affine(meta, 0)
        pk = _scaled_voxel_affine(meta, index)
        return self.ras0 @ np.linalg.solve(p0, pk)

    def level_grid(
        self, meta: MultiscaleMeta, index: int, shape: Sequence[int], units: str | None = None
    ) -> tuple[Grid, str]:
        """The Grid of level ``index`` (array ``shape`` in ``meta.dims`` order) and where it
        came from: ``"nifti"`` (the header) or ``"spatial_xr"`` (the exact attribute, when
        it agrees with the header).

        Parameters
        ----------
        units : str, optional
            Length unit of the result (default the header's).

        Raises
        ------
        GeometryError
            The header's affine (as this level sees it) is sheared, singular or not finite.
        """
        names = [a for a in ("x", "y", "z") if a in meta.dims]
        shape_xyz = tuple(int(shape[meta.dims.index(a)]) for a in names)
        try:
            grid = _grid_from_ras(self.level_ras(meta, index), shape_xyz, self.where)
        except GeometryError as exc:
            raise GeometryError(
                f"{self.where}: NIfTI header, {affine_source(self.header, self.affine)}: {exc}"
            ) from exc
        source = "nifti"
        if meta.geometry_source == "spatial_xr":
            exact = level_grid(meta, index, shape, units=self.unit)
            gap = _corner_gap(grid, exact) * unit_factor(self.unit, "millimeter")
            if gap <= AGREEMENT_MM:
                grid, source = exact, "spatial_xr"
            else:
                warnings.warn(
                    f"{self.where}: level {index}: the NIfTI header and the 'spatial_xr' "
                    f"attribute place the image up to {gap:.3g} mm apart (the header was "
                    "probably edited by a NIfTI tool); using the header",
                    SpatialXRWarning,
                    stacklevel=5,
                )
        if units is not None:
            f = unit_factor(self.unit, units)
            grid = grid.replace(spacing_xyz=grid.spacing_xyz * f, origin_xyz=grid.origin_xyz * f)
        return grid, source


def apply_header_scaling(
    da: xr.DataArray, slope: float, inter: float, apply: bool
) -> xr.DataArray:
    """Apply the header's ``scl_slope``/``scl_inter`` lazily, as the NIfTI reader does.

    Identity scaling leaves ``da`` alone. Otherwise ``apply=True`` gives float32 (float64
    for float64 data) ``slope · raw + inter``; ``apply=False`` keeps raw values and records
    the scaling in ``attrs["scale_slope"]``/``attrs["scale_intercept"]``.
    """
    if slope == 1.0 and inter == 0.0:
        return da
    if not apply:
        return da.assign_attrs(scale_slope=slope, scale_intercept=inter)
    raw = np.dtype(da.dtype)
    out = np.dtype(np.float64 if raw.kind == "f" and raw.itemsize == 8 else np.float32)
    data = da.data.astype(out) * out.type(slope) + out.type(inter)
    return da.copy(data=data)
