"""NRRD ``.nrrd`` raw and gzip (the CT written by SimpleITK): open, full read, 10-slice
slab.

Peers: SimpleITK (``ReadImage``; header-only open is ``ImageFileReader.
ReadImageInformation``; the slab is an ``ImageFileReader`` with ``SetExtractIndex``/
``SetExtractSize``) and pynrrd (``nrrd.read_header`` for the open, ``nrrd.read`` for the
full read with ``index_order="C"``; pynrrd has no partial read, so it has no slab row).
Full reads end with a NumPy array in z, y, x order for every side; the summary is the sum
of the values, compared between sides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.cases._common import (
    Peer,
    checksum,
    format_cases,
    module_has,
    ours_sides,
    out_file,
    reader_registered,
    sitk_sides,
)
from benchmarks.harness import Case

M = "benchmarks.cases.nrrd"


def _tiny(p: dict[str, Any]) -> str:
    """A 4×4×4 NRRD file with the input's encoding, for each side's warm-up call."""
    import numpy as np
    import SimpleITK as sitk

    gz = p["input_path"].endswith("_gz.nrrd")
    path = out_file(p, f"tiny{'_gz' if gz else ''}.nrrd")
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((4, 4, 4), np.int16)), str(path),
                    useCompression=gz)
    return str(path)


def _requires() -> str | None:
    return reader_registered("nrrd") or module_has("nrrd", "read_header", "read")


ours_open, ours_read, ours_slab = ours_sides(_tiny)
sitk_open, sitk_read, sitk_slab = sitk_sides(_tiny)


# --------------------------------------------------------------------- pynrrd
def pynrrd_open(p: dict[str, Any]) -> Callable[[], Any]:
    import nrrd

    nrrd.read(_tiny(p))

    def run() -> Any:
        return [int(v) for v in nrrd.read_header(p["input_path"])["sizes"][::-1]]

    return run


def pynrrd_read(p: dict[str, Any]) -> Callable[[], Any]:
    import nrrd

    nrrd.read(_tiny(p))

    def run() -> Any:
        data, _ = nrrd.read(p["input_path"], index_order="C")
        return checksum(data)

    return run


def _cases() -> list[Case]:
    peers = [Peer("SimpleITK", "sitk"), Peer("pynrrd", "pynrrd", ("open", "read"))]
    return [case for label, inp in (("raw", "ct_nrrd"), ("gzip", "ct_nrrd_gz"))
            for case in format_cases(M, f"nrrd {label} .nrrd", inp, peers,
                                     requires=_requires, quick=label == "raw")]


CASES = _cases()
