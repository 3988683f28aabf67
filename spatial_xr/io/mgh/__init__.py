"""MGH/MGZ (FreeSurfer volumes): lazy reading through nibabel's proxy, atomic writing.

Public functions: :func:`open_mgh`, :func:`write_mgh`.
"""

from spatial_xr.io.mgh.read import open_mgh
from spatial_xr.io.mgh.write import write_mgh

__all__ = ["open_mgh", "write_mgh"]
