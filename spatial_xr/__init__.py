"""spatial_xr: xarray for images in physical space (CT, MR, microscopy).

Importing the package registers the ``.spatial`` accessor on ``xarray.DataArray``.
"""

from typing import TYPE_CHECKING

from spatial_xr import accessor as _accessor  # noqa: F401  (registers .spatial)
from spatial_xr import tree_accessor as _tree_accessor  # noqa: F401  (DataTree .spatial)
from spatial_xr.coords import assign_grid, from_array, grid_of
from spatial_xr.errors import SpatialXRError, SpatialXRWarning
from spatial_xr.geometry import Grid
from spatial_xr.io.api import open_image, write_image

if TYPE_CHECKING:  # the lazy names below, for type checkers and editors
    from spatial_xr.convert import from_itk, from_itk_xarray, from_nibabel, from_sitk
    from spatial_xr.io.api import open_multiscale
    from spatial_xr.io.omezarr import open_omezarr

# Imported on first use, so that ``import spatial_xr`` does not load nibabel, zarr, ITK…
_LAZY = {
    "from_itk": "spatial_xr.convert",
    "from_itk_xarray": "spatial_xr.convert",
    "from_nibabel": "spatial_xr.convert",
    "from_sitk": "spatial_xr.convert",
    "open_multiscale": "spatial_xr.io.api",
    "open_omezarr": "spatial_xr.io.omezarr",
}


def __getattr__(name: str) -> object:
    import importlib
    import importlib.util

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}"):
        value = importlib.import_module(f"{__name__}.{name}")  # a subpackage, on first use
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "Grid",
    "SpatialXRError",
    "SpatialXRWarning",
    "__version__",
    "assign_grid",
    "from_array",
    "from_itk",
    "from_itk_xarray",
    "from_nibabel",
    "from_sitk",
    "grid_of",
    "open_image",
    "open_multiscale",
    "open_omezarr",
    "write_image",
]
