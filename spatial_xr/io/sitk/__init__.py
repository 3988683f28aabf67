"""The SimpleITK fallback: images SimpleITK reads that no other format claims (VTK legacy,
GIPL, MINC 2, MRC, ITK HDF5, PNG, JPEG, BMP, TIFF, …), read lazily where ITK streams.

Public function: :func:`open_sitk`; the claimed formats are listed in
:data:`spatial_xr.io.sitk.ios.IMAGE_IOS`.
"""

from spatial_xr.io.sitk.read import open_sitk

__all__ = ["open_sitk"]
