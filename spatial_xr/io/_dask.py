"""A dask Array for the arrays the file readers build, whose compute skips dask's copy of
a single-chunk result.

dask copies the result of a one-chunk ``compute`` in case that chunk is a buffer stored in
the graph (e.g. an array given to ``from_array``). A reader's chunk is not: every compute
runs the read again into a new buffer, so the copy only doubles peak memory and time. The
returned class is that of the opened array only; anything derived from it (slices,
arithmetic, ``persist``) is a plain :class:`dask.array.Array` again, with dask's copy.
"""

from __future__ import annotations

from typing import Any

import dask.array as dsa
import numpy as np
from dask.array.core import finalize

__all__ = ["FreshReadArray", "fresh_read_array"]


def _finalize_fresh(results: Any) -> Any:
    inner = results
    while isinstance(inner, tuple | list):
        if len(inner) != 1:
            return finalize(results)
        inner = inner[0]
    if type(inner) is np.ndarray and inner.flags.writeable:
        return inner  # a new buffer filled by the reader for this compute
    return finalize(results)


class FreshReadArray(dsa.Array):
    """:class:`dask.array.Array` whose single chunk is a new buffer at every compute."""

    __slots__ = ()

    def __dask_postcompute__(self) -> tuple[Any, tuple[()]]:
        return _finalize_fresh, ()


def fresh_read_array(arr: dsa.Array) -> dsa.Array:
    """``arr`` (built by ``from_array`` over a reader) as a :class:`FreshReadArray`."""
    return FreshReadArray(arr.dask, arr.name, arr.chunks, meta=arr._meta)
