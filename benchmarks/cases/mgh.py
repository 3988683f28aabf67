"""MGH ``.mgh``/``.mgz`` and the SimpleITK fallback (binary VTK): open, full read,
10-slice slab.

Peers: nibabel for MGH (``nib.load(path, mmap=False).dataobj``; SimpleITK has no MGH
reader) and SimpleITK for VTK (``ReadImageInformation``, ``ReadImage``, a streamed
``ImageFileReader`` with ``SetExtractIndex``/``SetExtractSize``). nibabel's ``load`` of a
``.mgz`` inflates the whole file to read the footer after the voxels; spatial_xr's open
reads the header fields only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.cases._common import (
    Peer,
    format_cases,
    nibabel_sides,
    ours_sides,
    out_file,
    sitk_sides,
)
from benchmarks.harness import Case

M = "benchmarks.cases.mgh"


def _tiny(p: dict[str, Any]) -> str:
    """A 4×4×4 file of the input's kind for each side's warm-up call."""
    import numpy as np

    suffix = "".join(Path(p["input_path"]).suffixes[-1:])
    path = out_file(p, f"tiny{suffix}")
    if suffix == ".vtk":
        import SimpleITK as sitk

        sitk.WriteImage(sitk.Image([4, 4, 4], sitk.sitkInt16), str(path))
    else:
        import nibabel as nib

        nib.save(nib.MGHImage(np.zeros((4, 4, 4), np.int16), np.eye(4)), str(path))
    return str(path)


ours_open, ours_read, ours_slab = ours_sides(_tiny)
nib_open, nib_read, nib_slab = nibabel_sides(_tiny)
sitk_open, sitk_read, sitk_slab = sitk_sides(_tiny)


def _cases() -> list[Case]:
    rows = (("mgh .mgh", "ct_mgh", Peer("nibabel dataobj", "nib")),
            ("mgh .mgz", "ct_mgz", Peer("nibabel dataobj", "nib")),
            ("sitk fallback .vtk", "ct_vtk", Peer("SimpleITK", "sitk")))
    return [case for label, inp, peer in rows for case in format_cases(M, label, inp, [peer])]


CASES = _cases()
