"""Pure-numpy geometry core: grids, affines and orientation codes.

Nothing in this subpackage imports xarray or dask.
"""

from spatial_xr.geometry.affine import (
    apply_affine,
    compose_affine,
    decompose_affine,
    lps_ras_flip,
    orthonormalize,
    rotation_matrix,
)
from spatial_xr.geometry.grid import AXES_XYZ, Grid
from spatial_xr.geometry.orientation import (
    axis_assignment,
    code_to_direction,
    direction_to_code,
    reorient_transform,
    validate_code,
)

__all__ = [
    "AXES_XYZ",
    "Grid",
    "apply_affine",
    "axis_assignment",
    "code_to_direction",
    "compose_affine",
    "decompose_affine",
    "direction_to_code",
    "lps_ras_flip",
    "orthonormalize",
    "reorient_transform",
    "rotation_matrix",
    "validate_code",
]
