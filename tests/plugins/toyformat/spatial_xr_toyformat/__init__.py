"""The ``toyimg`` format: a spatial_xr plugin in one module.

``FORMAT`` is what the ``spatial_xr.formats`` entry point names; spatial_xr imports the
reader and writer below only when a ``.toyimg`` file is opened or written.
"""

from __future__ import annotations

import json
import os
from typing import Any

import dask.array as dsa
import numpy as np

from spatial_xr.errors import FormatError, OverwriteError
from spatial_xr.io.formats import Format

MAGIC = b"TOYIMG1\n"

__all__ = ["FORMAT", "MAGIC", "open_toyimg", "write_toyimg"]


def _header(path: str) -> tuple[dict[str, Any], int]:
    with open(path, "rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise FormatError(f"{path!r} does not start with {MAGIC!r}; not a toyimg file")
        line = f.readline(1 << 16)
    return json.loads(line), len(MAGIC) + len(line)


def open_toyimg(path: str | os.PathLike[str], *, chunks: Any = None) -> Any:
    """Open a ``.toyimg`` file lazily (the header only; voxels are memory-mapped)."""
    import spatial_xr

    path = os.fspath(path)
    header, offset = _header(path)
    shape = tuple(header["shape"])
    data = np.memmap(path, dtype=np.dtype(header["dtype"]), mode="r", offset=offset,
                     shape=shape)
    arr = dsa.from_array(data, chunks=chunks or (1, *shape[1:]), name=False)
    da = spatial_xr.from_array(arr, spacing=header["spacing"], origin=header["origin"],
                               direction=header["direction"])
    da.attrs["source_format"] = "toyimg"
    return da


def write_toyimg(da: Any, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """Write a 3-D image (dims z, y, x) as ``.toyimg``."""
    path = os.fspath(path)
    if os.path.exists(path) and not overwrite:
        raise OverwriteError(f"{path!r} exists; pass overwrite=True to replace it")
    grid = da.spatial.grid
    header = {
        "shape": [int(n) for n in da.shape],
        "dtype": np.dtype(da.dtype).str,
        "spacing": [float(da.spatial.spacing[d]) for d in ("z", "y", "x")],
        "origin": [float(o) for o in grid.origin_xyz],
        "direction": np.asarray(grid.direction_xyz).tolist(),
    }
    with open(path, "wb") as f:
        f.write(MAGIC + json.dumps(header).encode() + b"\n")
        f.write(np.ascontiguousarray(da.transpose("z", "y", "x").values).tobytes())


FORMAT = Format(
    name="toyimg",
    description="toy format of the plugin tests (header line + raw voxels)",
    reader="spatial_xr_toyformat:open_toyimg",
    writer="spatial_xr_toyformat:write_toyimg",
    extensions=(".toyimg",),
    magic=((0, MAGIC),),
    notes="memory-mapped: reads only the planes a chunk needs",
)
