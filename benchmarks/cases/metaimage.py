"""MetaImage ``.mha``/``.mhd``: open, full read (raw and zlib), 10-slice slab.

Inputs are the benchmark CT written by SimpleITK itself (``WriteImage``; zlib at its
default level for the compressed file). Peer: SimpleITK (header-only open is
``ImageFileReader.ReadImageInformation``; full read ``ReadImage``; the slab a streamed
``ImageFileReader`` with ``SetExtractIndex``/``SetExtractSize``). Every side ends with a
NumPy array in z, y, x order (SimpleITK through ``GetArrayViewFromImage``, no copy); the
summary is the sum of the values, compared between sides.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.cases._common import (
    Peer,
    format_cases,
    ours_sides,
    out_file,
    reader_registered,
    sitk_sides,
)
from benchmarks.harness import Case

M = "benchmarks.cases.metaimage"


def tiny_file(p: dict[str, Any], side: str) -> str:
    """A 4×4×4 MetaImage file like the input (same suffix and compression) for each
    side's warm-up call, written by that side (so no side imports the other's library)."""
    import numpy as np

    src = Path(p["input_path"])
    with open(src, "rb") as f:
        compress = b"CompressedData = True" in f.read(2048)
    path = out_file(p, f"tiny-{side}{'-z' if compress else ''}{src.suffix}")
    zeros = np.zeros((4, 4, 4), np.int16)
    if path.exists():
        pass
    elif side == "ours":
        import spatial_xr

        spatial_xr.from_array(zeros).spatial.to_metaimage(path, compress=compress)
    else:
        import SimpleITK as sitk

        sitk.WriteImage(sitk.GetImageFromArray(zeros), str(path), useCompression=compress)
    return str(path)


ours_open, ours_read, ours_slab = ours_sides(partial(tiny_file, side="ours"))
sitk_open, sitk_read, sitk_slab = sitk_sides(partial(tiny_file, side="sitk"))


def _cases() -> list[Case]:
    def needs() -> str | None:
        return reader_registered("metaimage")

    peers = [Peer("SimpleITK", "sitk", ("open", "read")),
             Peer("SimpleITK ImageFileReader extract", "sitk", ("slab",))]
    rows = (("metaimage .mha", "ct_mha", ("open", "read"), True),
            ("metaimage .mha zlib", "ct_mha_zlib", ("read",), True),
            ("metaimage .mhd", "ct_mhd", ("slab",), True),
            ("metaimage .mha", "ct_mha", ("slab",), False))
    return [case for name, inp, ops, quick in rows
            for case in format_cases(M, name, inp, peers, ops, requires=needs, quick=quick)]


CASES = _cases()
