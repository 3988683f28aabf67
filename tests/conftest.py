"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import spatial_xr  # noqa: F401  (registers the accessor)


@pytest.fixture(scope="session")
def nibabel_data() -> Path:
    """nibabel's bundled test files (real NIfTI written by other software)."""
    import nibabel

    return Path(nibabel.__file__).parent / "tests" / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)
