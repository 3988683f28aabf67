"""spatial_xr: xarray for images in physical space (CT, MR, microscopy).

Importing the package registers the ``.spatial`` accessor on ``xarray.DataArray``.
"""

from importlib.metadata import version as _distribution_version
from typing import TYPE_CHECKING

from spatial_xr import accessor as _accessor  # noqa: F401  (registers .spatial)
from spatial_xr import tree_accessor as _tree_accessor  # noqa: F401  (DataTree .spatial)
from spatial_xr._lazy import lazy_attributes
from spatial_xr.coords import assign_grid, from_array, grid_of
from spatial_xr.errors import SpatialXRError, SpatialXRWarning
from spatial_xr.geometry import Grid
from spatial_xr.io.api import open_image, write_image

if TYPE_CHECKING:  # the lazy names below, for type checkers and editors
    from spatial_xr.convert import from_itk, from_itk_xarray, from_nibabel, from_sitk
    from spatial_xr.io.api import open_multiscale
    from spatial_xr.io.omezarr import open_omezarr

# Imported on first use, so that ``import spatial_xr`` does not load nibabel, zarr, ITK…
# (as are the subpackages, e.g. ``spatial_xr.ops``)
__getattr__, __dir__ = lazy_attributes(__name__, {
    "from_itk": "spatial_xr.convert",
    "from_itk_xarray": "spatial_xr.convert",
    "from_nibabel": "spatial_xr.convert",
    "from_sitk": "spatial_xr.convert",
    "open_multiscale": "spatial_xr.io.api",
    "open_omezarr": "spatial_xr.io.omezarr",
}, subpackages=True)

__version__ = _distribution_version("spatial-xr")
"""The installed distribution's version (pyproject.toml is the one place that sets it)."""

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
