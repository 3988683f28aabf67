"""NRRD header parsing: fields, spellings, key/value pairs, data file forms and refusals,
checked against pynrrd's parse of the same headers."""

from __future__ import annotations

import warnings
from pathlib import Path

import nrrd
import numpy as np
import pytest

from spatial_xr.errors import FormatError, PathNotFoundError, SpatialXRWarning
from spatial_xr.io.nrrd.header import MAX_LINE, parse_nrrd_header, read_nrrd_header

BASE = ["NRRD0005", "type: unsigned short", "dimension: 3", "sizes: 4 5 6",
        "endian: big", "encoding: gz"]


def _hdr(*extra: str, path: str = "/data/x.nhdr"):
    return parse_nrrd_header([*BASE, *extra], path)


def test_fields_match_pynrrd(tmp_path: Path) -> None:
    lines = [*BASE,
             "# a comment",
             "space: RAS",
             "space directions: (0.5,0,0) (0,0.5,0) (0,0,1.25)",
             "space origin: (-1.5,2,3e2)",
             "space units: \"mm\" \"mm\" \"mm\"",
             "measurement frame: (1,0,0) (0,1,0) (0,0,1)",
             "kinds: domain domain domain",
             "centerings: cell cell node",
             "labels: \"x\" \"y\" \"slice \\\"k\\\"\"",
             "byteskip: 12",
             "lineskip: 1",
             "content: a study",
             "Segment0_Name:=liver",
             "weird key with spaces:=a:=b",
             "data file: x.raw.gz"]
    path = tmp_path / "x.nhdr"
    path.write_text("\n".join(lines) + "\n")
    ours = read_nrrd_header(path)
    ref = nrrd.read_header(str(path))
    assert ours.sizes == tuple(ref["sizes"]) and ours.dtype == np.dtype(">u2")
    assert ours.encoding == "gzip" and ours.space == "right-anterior-superior"
    np.testing.assert_allclose(ours.space_directions, ref["space directions"])
    np.testing.assert_allclose(ours.space_origin, ref["space origin"])
    np.testing.assert_allclose(ours.measurement_frame, ref["measurement frame"])
    assert ours.kinds == tuple(ref["kinds"]) and ours.centers == tuple(ref["centerings"])
    assert ours.byte_skip == 12 and ours.line_skip == 1
    assert ours.key_values == {"Segment0_Name": "liver", "weird key with spaces": "a:=b"}
    assert ours.labels == ("x", "y", 'slice \\"k\\"')
    assert ours.data_files == (str(tmp_path / "x.raw.gz"),)
    assert ours.data_offset is None


def test_escaped_values_and_header_end(tmp_path: Path) -> None:
    path = tmp_path / "e.nrrd"
    head = "\n".join([*BASE[:5], "encoding: raw", "note:=line one\\nline two \\\\ end"])
    path.write_bytes(head.encode() + b"\n\n" + bytes(240))
    hdr = read_nrrd_header(path)
    assert hdr.key_values["note"] == "line one\nline two \\ end"
    assert hdr.data_offset == len(head) + 2 and hdr.header_bytes == hdr.data_offset


def test_crlf_header(tmp_path: Path) -> None:
    path = tmp_path / "c.nrrd"
    path.write_bytes(b"NRRD0004\r\ntype: uint8\r\ndimension: 2\r\nsizes: 2 2\r\n"
                     b"encoding: raw\r\n\r\n" + bytes(4))
    hdr = read_nrrd_header(path)
    assert hdr.sizes == (2, 2) and hdr.data_offset == path.stat().st_size - 4


def test_data_file_forms() -> None:
    listed = _hdr("data file: LIST", "a/s0.raw", "", "s1.raw", "s2.raw", "s3.raw", "s4.raw",
                  "s5.raw")
    assert listed.data_subdim == 2 and listed.data_files[0] == "/data/a/s0.raw"
    fmt = _hdr("data file: img%03d.raw 10 0 -2 2")
    assert [Path(f).name for f in fmt.data_files] == [f"img{i:03d}.raw" for i in (10, 8, 6, 4,
                                                                                  2, 0)]
    assert _hdr("datafile: /abs/one file.raw").data_files == ("/abs/one file.raw",)
    with pytest.raises(FormatError, match="names 3 files"):
        _hdr("data file: s%d.raw 1 3 1")
    with pytest.raises(FormatError, match="integer conversion"):
        _hdr("data file: s%s.raw 1 6 1")
    with pytest.raises(FormatError, match="never goes"):
        _hdr("data file: s%d.raw 1 6 -1")


@pytest.mark.parametrize("line,match", [
    ("dimension: 3", "appears twice"),
    ("space: martian", "unknown NRRD space"),
    ("space directions: (1,0,0) (0,1,0) (0,0,1)", "needs a 'space'"),
    ("this is not a field", "neither a field"),
    ("byte skip: -2", "≥ -1"),
    ("kinds: domain domain", "2 entries"),
])
def test_refusals(line: str, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        _hdr(line, "data file: x.raw")


def test_vectors_with_spaces() -> None:
    hdr = _hdr("space: LPS", "space directions: ( 0.5, 0,0 ) none(0,1,0)",
               "data file: x.raw")
    assert hdr.space_directions == ((0.5, 0.0, 0.0), None, (0.0, 1.0, 0.0))


def test_required_fields_and_magic(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="no 'sizes' field"):
        parse_nrrd_header(["NRRD0004", "type: int8", "dimension: 1", "encoding: raw"], "x")
    with pytest.raises(FormatError, match="no 'endian'"):
        parse_nrrd_header(["NRRD0004", "type: float", "dimension: 1", "sizes: 3",
                           "encoding: raw"], "x", data_offset=60)
    with pytest.raises(FormatError, match="no 'data file' field and no blank line"):
        parse_nrrd_header(["NRRD0004", "type: int8", "dimension: 1", "sizes: 3",
                           "encoding: raw"], "x")
    bad = tmp_path / "bad.nrrd"
    bad.write_bytes(b"NIFTI\n\n")
    with pytest.raises(FormatError, match="not a NRRD file"):
        read_nrrd_header(bad)
    with pytest.raises(PathNotFoundError):
        read_nrrd_header(tmp_path / "none.nrrd")


def test_unknown_field_warns() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hdr = _hdr("colour: blue", "data file: x.raw")
    assert hdr.sizes == (4, 5, 6)
    assert any(issubclass(w.category, SpatialXRWarning) and "colour" in str(w.message)
               for w in caught)


def test_long_line_limit(tmp_path: Path) -> None:
    path = tmp_path / "l.nrrd"
    ok = "content: " + "y" * (MAX_LINE - 20)
    path.write_text("\n".join([*BASE, ok, "data file: x.raw"]) + "\n")
    assert read_nrrd_header(path).fields["content"].startswith("yyy")
    path.write_text("\n".join([*BASE, ok + "y" * 40, "data file: x.raw"]) + "\n")
    with pytest.raises(FormatError, match=f"longer than {MAX_LINE} bytes"):
        read_nrrd_header(path)
