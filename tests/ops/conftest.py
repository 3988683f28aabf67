"""Fixtures shared by the ops tests (inputs built once per session)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def rng_volume() -> np.ndarray:
    """Smooth-ish random float32 volume (z, y, x) = (18, 22, 20)."""
    from scipy import ndimage

    rng = np.random.default_rng(42)
    return (ndimage.gaussian_filter(rng.normal(size=(18, 22, 20)), 1.0) * 400).astype(
        np.float32)
