"""Converters between spatial_xr images and other imaging libraries.

Each converter keeps the full geometry (origin, spacing, direction — oblique and
``det D = -1`` included) exactly:

- :mod:`~spatial_xr.convert.sitk`: SimpleITK images (``to_sitk`` / ``from_sitk``);
- :mod:`~spatial_xr.convert.itk`: ITK images and ``itk.xarray_from_image`` arrays
  (``to_itk`` / ``from_itk`` / ``from_itk_xarray``);
- :mod:`~spatial_xr.convert.nibabel`: nibabel NIfTI images (``to_nibabel`` /
  ``from_nibabel``).
"""

from spatial_xr.convert.itk import from_itk, from_itk_xarray, to_itk
from spatial_xr.convert.nibabel import from_nibabel, to_nibabel
from spatial_xr.convert.sitk import from_sitk, to_sitk

__all__ = [
    "from_itk",
    "from_itk_xarray",
    "from_nibabel",
    "from_sitk",
    "to_itk",
    "to_nibabel",
    "to_sitk",
]
