"""Imaris attribute values in every form HDF5 writers give them."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from spatial_xr.errors import FormatError
from spatial_xr.io.imaris.attrs import attr_number, attr_size, decode_text


def test_forms_read_back_through_h5py(tmp_path):
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.attrs["chars"] = np.frombuffer(b"12.500", dtype="S1")  # Imaris: one byte each
        f.attrs["micro"] = np.frombuffer("µm".encode(), dtype="S1")
        f.attrs["latin"] = np.frombuffer(b"\xb5m", dtype="S1")
        f.attrs["fixed"] = np.bytes_(b"um\x00\x00")
        f.attrs["vlen"] = "nm"
        f.attrs["vlen_array"] = np.array(["mm"], dtype=h5py.string_dtype())
        f.attrs["number"] = np.array([3], np.uint32)
        f.attrs["float"] = 0.25
    with h5py.File(tmp_path / "a.h5") as f:
        a = f.attrs
        assert decode_text(a["chars"]) == "12.500"
        assert decode_text(a["micro"]) == "µm"
        assert decode_text(a["latin"]) == "µm"
        assert decode_text(a["fixed"]) == "um"
        assert decode_text(a["vlen"]) == "nm"
        assert decode_text(a["vlen_array"]) == "mm"
        assert attr_number(a, "number", "/", "a.h5") == 3
        assert attr_number(a, "float", "/", "a.h5") == 0.25
        assert attr_size(a, "number", "/", "a.h5") == 3
        with pytest.raises(FormatError, match="'micro' of '/' is 'µm', not a finite number"):
            attr_number(a, "micro", "/", "a.h5")
        with pytest.raises(FormatError, match="must be a positive integer"):
            attr_size(a, "chars", "/", "a.h5")
        with pytest.raises(FormatError, match="'absent' of '/' is missing"):
            attr_number(a, "absent", "/", "a.h5")
