"""MetaImage (``.mha``, ``.mhd`` + ``.raw``/``.zraw``, LIST of slice files): lazy reading,
atomic writing.

Public functions: :func:`open_metaimage`, :func:`write_metaimage`,
:func:`read_metaimage_header`, :func:`is_metaimage_path`.
"""

from spatial_xr.io.metaimage.header import MetaImageHeader, read_metaimage_header
from spatial_xr.io.metaimage.read import is_metaimage_path, open_metaimage
from spatial_xr.io.metaimage.write import write_metaimage

__all__ = [
    "MetaImageHeader",
    "is_metaimage_path",
    "open_metaimage",
    "read_metaimage_header",
    "write_metaimage",
]
