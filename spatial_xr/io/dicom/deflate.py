"""Headers of Deflated Explicit VR Little Endian files (transfer syntax 1.2.840.10008.1.2.1.99).

In such a file everything after the file meta information is one raw DEFLATE stream, so
byte offsets in the file mean nothing for the dataset: the pixel data cannot be read with
a seek and is decoded through pydicom (see :mod:`spatial_xr.io.dicom.lazy`). pydicom's
``dcmread`` inflates the whole file before parsing; here the stream is inflated in small
steps and parsing stops at the pixel data element, so opening reads the header only.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Sequence
from typing import IO, BinaryIO, cast

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import BaseTag
from pydicom.uid import UID

from spatial_xr.io.dicom.fastheader import parse_file_meta

__all__ = ["DEFLATED", "InflatingReader", "read_deflated"]

DEFLATED = str(pydicom.uid.DeflatedExplicitVRLittleEndian)
"""UID of the Deflated Explicit VR Little Endian transfer syntax."""

_IN_STEP = 16384  # compressed bytes read per step
_OUT_STEP = 65536  # most inflated bytes produced per step
_KEEP = 65536  # inflated bytes kept behind the read position (pydicom rewinds a few bytes)
_META_READ = 4096  # the file meta information is usually a few hundred bytes
_META_READ_MOST = 65536
_PIXEL_TAGS = {0x7FE00010, 0x7FE00008, 0x7FE00009}


class InflatingReader(io.RawIOBase):
    """Read-only file-like view of a raw DEFLATE stream, inflated on demand.

    Positions count inflated bytes from the start of the stream. Seeking forward inflates
    (and discards) up to the target; seeking back works within the last 64 KiB read.

    Parameters
    ----------
    f : binary file
        Positioned anywhere; reading starts at ``start``.
    start : int
        File offset of the first compressed byte.
    """

    def __init__(self, f: IO[bytes], start: int) -> None:
        super().__init__()
        self._f = f
        self._f.seek(start)
        self._z = zlib.decompressobj(-zlib.MAX_WBITS)
        self._buf = bytearray()
        self._base = 0  # stream position of _buf[0]
        self._pos = 0
        self._eof = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def _fill(self, end: int) -> None:
        """Inflate until the buffer reaches stream position ``end`` (or the stream ends)."""
        while self._base + len(self._buf) < end and not self._eof:
            tail = self._z.unconsumed_tail
            data = tail if tail else self._f.read(_IN_STEP)
            if not data:
                self._buf += self._z.flush()
                self._eof = True
                break
            self._buf += self._z.decompress(data, _OUT_STEP)
            if self._z.eof:
                self._eof = True
        drop = self._pos - self._base - _KEEP
        if drop > 0:
            del self._buf[:drop]
            self._base += drop

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            self._fill(1 << 62)
            offset += self._base + len(self._buf)
        if offset < self._base:
            raise io.UnsupportedOperation(
                f"cannot seek back to inflated byte {offset} (kept from {self._base})"
            )
        self._pos = offset
        return offset

    def read(self, size: int | None = -1) -> bytes:
        end = (1 << 62) if size is None or size < 0 else self._pos + size
        self._fill(end)
        a = self._pos - self._base
        out = bytes(self._buf[a : a + (end - self._pos)])
        self._pos += len(out)
        return out

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


def _at_pixel_data(tag: BaseTag, vr: str | None, length: int) -> bool:
    return int(tag) in _PIXEL_TAGS


def read_deflated(f: IO[bytes], tags: Sequence[int]) -> tuple[Dataset, bool] | None:
    """Parse the wanted tags of a deflated file, stopping at its pixel data.

    Parameters
    ----------
    f : binary file
        Any file, opened for reading; its position is changed.
    tags : sequence of int
        Tags to keep (as pydicom's ``specific_tags``).

    Returns
    -------
    (pydicom.Dataset, bool) or None
        The dataset (with ``file_meta.TransferSyntaxUID``) and whether a pixel data
        element follows it; ``None`` when the file is not a deflated Part 10 file.
    """
    f.seek(0)
    meta = parse_file_meta(f.read(_META_READ))
    if meta is None:  # a meta group longer than usual: one more try with more bytes
        f.seek(0)
        meta = parse_file_meta(f.read(_META_READ_MOST))
    if meta is None or meta[0] != DEFLATED:
        return None
    ts, start = meta
    stream = InflatingReader(f, start)
    ds = pydicom.filereader.read_dataset(
        cast(BinaryIO, stream), is_implicit_VR=False, is_little_endian=True,
        stop_when=_at_pixel_data, specific_tags=list(tags),
    )
    head = stream.read(4)
    has_pixels = len(head) == 4 and (
        int.from_bytes(head[:2], "little") << 16 | int.from_bytes(head[2:], "little")
    ) in _PIXEL_TAGS
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(ts)
    return ds, has_pixels
