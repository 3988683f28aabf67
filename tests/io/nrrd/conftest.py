"""Fixtures of the NRRD tests (helpers and oracles live in nrrd_oracles.py).

This folder has no ``__init__.py``: a package named ``nrrd`` would shadow pynrrd, the
oracle these tests import as ``nrrd``; file names carry ``nrrd_`` so they stay unique.
"""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from nrrd_oracles import dcm2niix


@pytest.fixture(scope="session")
def anatomical(nibabel_data: Path) -> np.ndarray:
    """nibabel's anatomical.nii voxels as a (z, y, x) int16 array (a real MR volume)."""
    return np.ascontiguousarray(np.asarray(nib.load(nibabel_data / "anatomical.nii").dataobj).T
                                .astype(np.int16))


@pytest.fixture(scope="session")
def functional(nibabel_data: Path) -> np.ndarray:
    """nibabel's functional.nii voxels as a (t, z, y, x) int16 array (a real fMRI run)."""
    proxy = nib.load(nibabel_data / "functional.nii").dataobj
    return np.ascontiguousarray(np.asarray(proxy.get_unscaled()).T.astype(np.int16))


@pytest.fixture(scope="session")
def dcm2niix_nrrd(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """NRRD files dcm2niix writes from nibabel's real DICOM files: the Siemens DWI mosaics
    (b0 and b1000; a 4-D attached .nrrd with a list axis, a measurement frame and DWMRI
    keys, oblique, right-anterior-superior) and the Philips enhanced MPRAGE (a detached,
    gzipped .nhdr + .raw.gz, oblique sagittal)."""
    root = tmp_path_factory.mktemp("dcm2niix")
    nicom = Path(nib.__file__).parent / "nicom" / "tests" / "data"
    dwi_in, mpr_in = root / "dwi_in", root / "mpr_in"
    dwi_in.mkdir()
    mpr_in.mkdir()
    for name in ("siemens_dwi_0.dcm.gz", "siemens_dwi_1000.dcm.gz"):
        (dwi_in / name[:-3]).write_bytes(gzip.decompress((nicom / name).read_bytes()))
    (mpr_in / "mprage.dcm").write_bytes(
        gzip.decompress((nicom / "philips_mprage.dcm.gz").read_bytes()))
    out = root / "out"
    out.mkdir()
    for src, name, extra in ((dwi_in, "dwi", []), (mpr_in, "mprage", ["-z", "y"])):
        subprocess.run([dcm2niix(), "-e", "y", *extra, "-f", name, "-o", str(out), str(src)],
                       check=True, capture_output=True)
    return {"dwi": out / "dwi.nrrd", "mprage": out / "mprage.nhdr"}
