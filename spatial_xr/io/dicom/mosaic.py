"""Siemens mosaic images: one file holding a grid of tiles, each a slice of the volume.

The number of tiles and the slice normal come from the Siemens CSA image header, read with
nibabel's ``nicom`` (``MosaicWrapper``), which also gives the corrected position of the
first slice. Tile ``k`` lies at tile row ``k // mosaic_size``, tile column
``k % mosaic_size`` and sits ``k`` slice spacings along the CSA slice normal.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
from pydicom.dataset import Dataset

from spatial_xr.errors import FormatError
from spatial_xr.io.dicom.headers import FrameHeader

__all__ = ["is_mosaic", "mosaic_frames"]


def is_mosaic(ds: Dataset) -> bool:
    """Whether the dataset is a Siemens mosaic (``MOSAIC`` in ImageType, CSA header present)."""
    image_type = [str(v).upper() for v in (ds.get("ImageType") or [])]
    return "MOSAIC" in image_type and (0x0029, 0x1010) in ds


def mosaic_frames(ds: Dataset, base: FrameHeader) -> list[FrameHeader]:
    """Split a mosaic header into one header per tile.

    Raises
    ------
    FormatError
        The CSA header is missing, or the tile count does not fit the image size.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from nibabel.nicom import dicomwrappers

        try:
            wrapper = dicomwrappers.wrapper_from_data(ds)
            n = int(wrapper.n_mosaic)
            size = int(wrapper.mosaic_size)
            first = np.asarray(wrapper.image_position, np.float64)
            normal = np.asarray(wrapper.slice_normal, np.float64)
        except Exception as exc:
            raise FormatError(
                f"{base.path!r} is a Siemens mosaic but its CSA header cannot be read "
                f"({type(exc).__name__}: {exc}); convert it with dcm2niix first"
            ) from exc
    if size < 1 or base.rows % size or base.cols % size or n > size * size:
        raise FormatError(
            f"{base.path!r}: a mosaic of {n} tiles ({size} per row) does not fit its "
            f"{base.rows}x{base.cols} pixels; the file is corrupt or not a mosaic"
        )
    step = base.spacing_between_slices or base.slice_thickness or 1.0
    rows, cols = base.rows // size, base.cols // size
    return [
        replace(
            base,
            tile=k,
            mosaic_size=size,
            rows=rows,
            cols=cols,
            ipp=tuple(float(v) for v in first + k * step * normal),
        )
        for k in range(n)
    ]
