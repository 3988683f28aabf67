"""NIfTI-1 and NIfTI-2 (``.nii``, ``.nii.gz``): lazy reading, atomic writing.

Public functions: :func:`open_nifti`, :func:`write_nifti`, :func:`is_nifti_path`.
"""

from spatial_xr.io.nifti.read import NiftiArray, is_nifti_path, open_nifti
from spatial_xr.io.nifti.write import write_nifti

__all__ = ["NiftiArray", "is_nifti_path", "open_nifti", "write_nifti"]
