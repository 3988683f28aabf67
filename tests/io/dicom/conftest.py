"""Fixtures for the DICOM tests (synthetic series are written with pydicom directly)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from dicom_oracles import NIBABEL_NICOM, make_series, oblique_direction


@pytest.fixture(scope="session")
def ct_series(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, dict]:
    """An oblique CT-like series: 12 slices of 20x24, uint16 12-bit, intercept -1024."""
    folder = tmp_path_factory.mktemp("ct") / "series"
    rng = np.random.default_rng(1)
    data = rng.integers(0, 4096, (12, 20, 24)).astype(np.uint16)
    truth = make_series(folder, data, direction=oblique_direction(), intercept=-1024.0,
                        bits_stored=12)
    return folder, data, truth


@pytest.fixture(scope="session")
def dwi_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nibabel's two Siemens DWI mosaics (b0, b1000), decompressed into one folder."""
    folder = tmp_path_factory.mktemp("dwi")
    for name in ("siemens_dwi_0.dcm.gz", "siemens_dwi_1000.dcm.gz"):
        (folder / name[:-3]).write_bytes(gzip.decompress((NIBABEL_NICOM / name).read_bytes()))
    return folder


@pytest.fixture(scope="session")
def philips_mprage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nibabel's enhanced MR file (oblique sagittal MPRAGE), decompressed."""
    out = tmp_path_factory.mktemp("philips") / "philips_mprage.dcm"
    out.write_bytes(gzip.decompress((NIBABEL_NICOM / "philips_mprage.dcm.gz").read_bytes()))
    return out


