"""MetaImage header parsing: only the header's bytes, ITK's field rules, bounded lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spatial_xr.errors import FormatError
from spatial_xr.io.metaimage.header import (
    MAX_LINE_BYTES,
    list_file_count,
    read_metaimage_header,
)
from tests.io.metaimage.conftest import sitk, sitk_image, write_sitk


def test_header_of_a_simpleitk_file(tmp_path: Path) -> None:
    img = sitk_image(np.zeros((3, 4, 5, 2), np.float32), (0.5, 0.6, 2.0), (1, 2, 3),
                     np.eye(3)[[1, 0, 2]], vector=True)
    path = write_sitk(img, tmp_path / "v.mha", compress=True)
    hdr = read_metaimage_header(path)
    assert hdr.ndims == 3 and hdr.dim_size == (5, 4, 3) and hdr.channels == 2
    assert hdr.dtype == np.dtype("<f4") and hdr.compressed and hdr.is_local
    assert hdr.compressed_size == path.stat().st_size - hdr.data_offset
    assert path.read_bytes()[hdr.data_offset - 24:hdr.data_offset] == b"ElementDataFile = LOCAL\n"
    assert hdr.spacing == (0.5, 0.6, 2.0) and hdr.origin == (1.0, 2.0, 3.0)
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.ReadImageInformation()
    np.testing.assert_array_equal(hdr.matrix, np.reshape(reader.GetDirection(), (3, 3)))


def test_list_file_count_follows_itk() -> None:
    assert list_file_count(3, (4, 5, 6), "LIST") == (2, 6)
    assert list_file_count(4, (4, 5, 6, 7), "LIST") == (3, 7)
    assert list_file_count(4, (4, 5, 6, 7), "LIST 2D") == (2, 42)
    assert list_file_count(3, (4, 5, 6), "LIST 5D") == (2, 6)  # out of range: one slice


def test_crlf_lines_and_trailing_spaces(tmp_path: Path) -> None:
    path = tmp_path / "crlf.mhd"
    path.write_bytes(b"NDims = 2\r\nDimSize = 3  4 \r\nElementType = MET_UCHAR\r\n"
                     b"ElementDataFile = x.raw  \r\n")
    hdr = read_metaimage_header(path)
    assert hdr.dim_size == (3, 4) and hdr.data_file == "x.raw"


@pytest.mark.parametrize("line, match", [
    (b"Comment = " + b"y" * (MAX_LINE_BYTES + 1), "bytes long"),
    (b"DimSize = 3 x", "not an integer"),
    (b"ElementSpacing = 1", "has 1 values"),
    (b"just some words", "not 'Key = Value'"),
])
def test_bad_lines(tmp_path: Path, line: bytes, match: str) -> None:
    path = tmp_path / "bad.mhd"
    path.write_bytes(b"NDims = 2\nDimSize = 3 4\nElementType = MET_UCHAR\n" + line +
                     b"\nElementDataFile = x.raw\n")
    with pytest.raises(FormatError, match=match):
        read_metaimage_header(path)
