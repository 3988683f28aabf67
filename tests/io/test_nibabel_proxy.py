"""The nibabel-proxy lazy array shared by the Analyze and MGH readers."""

from __future__ import annotations

import pickle
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from spatial_xr.io.nibabel_proxy import ProxyArray, scaled_dtype


@pytest.mark.parametrize(
    ("raw", "slope", "inter"),
    [("int16", 1.0, 0.0), (">i2", 1.0, 0.0), ("uint8", 2.0, 0.0), ("int16", 0.5, -3.0),
     ("int32", 1e-3, 0.0), ("float32", 2.0, 1.0), ("float64", 2.0, 0.0)],
)
def test_scaled_dtype_is_what_nibabel_returns(tmp_path: Path, raw: str, slope: float,
                                              inter: float) -> None:
    data = np.arange(24).reshape(2, 3, 4).astype(raw)
    img = nib.Nifti1Pair(data, np.eye(4))
    img.header.set_slope_inter(slope, inter)
    nib.save(img, str(tmp_path / "s.img"))
    loaded = nib.load(str(tmp_path / "s.img"))
    expected = np.asanyarray(loaded.dataobj)
    dtype = scaled_dtype(loaded.dataobj.dtype, loaded.dataobj.slope, loaded.dataobj.inter)
    assert dtype == expected.dtype.newbyteorder("=")


def test_indexing_matches_numpy_and_pickles(tmp_path: Path, rng: np.random.Generator) -> None:
    data = rng.integers(-500, 500, (7, 6, 5, 3)).astype(">i2")  # x, y, z, t in file order
    path = tmp_path / "v.img"
    nib.save(nib.Nifti1Pair(data, np.eye(4)), str(path))
    proxy = nib.load(str(path)).dataobj
    lazy = ProxyArray(str(path), data.shape, proxy.dtype, proxy.offset)
    expected = data.T.astype(np.int16)  # t, z, y, x
    assert lazy.shape == expected.shape and lazy.dtype == np.int16
    for key in [np.s_[:], np.s_[1], np.s_[0, 2:4, :, 1:6:2], np.s_[:, ::-1, 3],
                np.s_[2, [4, 0, 2]], np.s_[:, :, np.array([True, False, True, False, True, False])],
                np.s_[:, 1:1]]:
        np.testing.assert_array_equal(lazy[key], expected[key])
    assert lazy._proxy is not None  # built by the reads above
    clone = pickle.loads(pickle.dumps(lazy))
    assert clone._proxy is None  # the proxy is rebuilt from the path, never shipped
    np.testing.assert_array_equal(clone[1, 2], expected[1, 2])
