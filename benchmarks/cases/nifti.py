"""NIfTI ``.nii`` and ``.nii.gz``: open, full read, 10-slice slab.

Peers: nibabel (``nib.load(path, mmap=False).dataobj``, the lazy proxy users index;
``mmap=False`` so that a full read reads the bytes instead of returning a memory map) and SimpleITK
(``ReadImage``; header-only open is ``ImageFileReader.ReadImageInformation``; the slab is
a streamed ``ImageFileReader`` with ``SetExtractIndex``/``SetExtractSize``). Full reads end
with a NumPy array in z, y, x order for every side (SimpleITK through
``GetArrayViewFromImage``, no copy); the summary is the sum of the values, compared
between sides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.cases._common import (
    Peer,
    format_cases,
    nibabel_sides,
    ours_sides,
    out_file,
    sitk_header,
    sitk_sides,
)
from benchmarks.harness import Case, Side

M = "benchmarks.cases.nifti"


def _tiny(p: dict[str, Any]) -> str:
    """A 4×4×4 NIfTI file (same suffix as the input) for each side's warm-up call."""
    import nibabel as nib
    import numpy as np

    suffix = ".nii.gz" if p["input_path"].endswith(".gz") else ".nii"
    path = out_file(p, f"tiny{suffix}")
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.int16), np.eye(4)), str(path))
    return str(path)


ours_open, ours_read, ours_slab = ours_sides(_tiny)
nib_open, nib_read, nib_slab = nibabel_sides(_tiny)
sitk_open, sitk_read, sitk_slab = sitk_sides(_tiny)


# --------------------------------------------------------------------- start-up
def ours_startup(p: dict[str, Any]) -> Callable[[], Any]:
    def run() -> Any:
        import spatial_xr

        return list(spatial_xr.open_image(p["input_path"]).shape)

    return run


def nib_startup(p: dict[str, Any]) -> Callable[[], Any]:
    def run() -> Any:
        import nibabel as nib

        return list(nib.load(p["input_path"]).dataobj.shape[::-1])

    return run


def sitk_startup(p: dict[str, Any]) -> Callable[[], Any]:
    def run() -> Any:
        import SimpleITK as sitk

        return list(sitk_header(sitk, p["input_path"]).GetSize()[::-1])

    return run


def _cases() -> list[Case]:
    peers = [Peer("nibabel dataobj", "nib"), Peer("SimpleITK", "sitk")]
    out = [*format_cases(M, "nifti .nii", "ct_nii", peers),
           *format_cases(M, "nifti .nii.gz", "ct_nii_gz", peers)]
    out.append(Case(name="nifti .nii full read, cold cache",
                    ours=Side("spatial_xr", f"{M}:ours_read"),
                    peers=[Side("nibabel dataobj", f"{M}:nib_read"),
                           Side("SimpleITK", f"{M}:sitk_read")],
                    inputs=("ct_nii",), cold=True, repeats=3, quick=False))
    out.append(Case(name="nifti .nii import + first open (fresh process)",
                    ours=Side("spatial_xr", f"{M}:ours_startup"),
                    peers=[Side("nibabel dataobj", f"{M}:nib_startup"),
                           Side("SimpleITK", f"{M}:sitk_startup")],
                    inputs=("ct_nii",), quick=False,
                    note="import of the library plus one header read, in a fresh "
                         "process with compiled bytecode: the one-time cost every other "
                         "row leaves out (each side's factory imports and warms up on a "
                         "tiny file before the timed call)."))
    return out


CASES = _cases()
