"""spatial_xr.coords.values_by_dim: per-axis arguments by dim name, and its callers."""

from __future__ import annotations

import numpy as np
import pytest

import spatial_xr
from spatial_xr.coords import extra_dims, values_by_dim
from spatial_xr.errors import DimensionError, GeometryError


def test_scalar_sequence_mapping_and_default():
    dims = ("z", "y", "x")
    assert values_by_dim(2, dims, "spacing") == {"z": 2.0, "y": 2.0, "x": 2.0}
    assert values_by_dim([3, 2, 1], dims, "spacing") == {"z": 3.0, "y": 2.0, "x": 1.0}
    assert values_by_dim(np.array([0.5]), dims, "spacing") == dict.fromkeys(dims, 0.5)
    got = values_by_dim({"x": 1, "z": 3, "y": 2, "t": 9}, dims, "shape")
    assert got == {"z": 3.0, "y": 2.0, "x": 1.0} and list(got) == list(dims)
    assert values_by_dim(None, ("y", "x"), "spacing", default=0.7) == {"y": 0.7, "x": 0.7}


def test_sequence_follows_the_array_dim_order():
    # a transposed image: values are taken in its own order of spatial dims
    da = spatial_xr.from_array(np.zeros((4, 5, 6)), spacing=(3.0, 2.0, 1.0))
    t = da.transpose("x", "z", "y")
    assert t.spatial.dims == ("x", "z", "y")
    assert values_by_dim((1.0, 3.0, 2.0), t.spatial.dims, "spacing") == {
        "x": 1.0, "z": 3.0, "y": 2.0}
    back = spatial_xr.from_array(np.zeros((6, 4, 5)), spacing=(1.0, 3.0, 2.0),
                                 dims=("x", "z", "y"))
    assert back.spatial.grid.isclose(da.spatial.grid)


@pytest.mark.parametrize(("value", "fragment"), [
    ({"z": 1, "y": 2}, "spacing mapping lacks dims ['x']"),
    ((1.0, 2.0), "spacing must be a scalar, a mapping by dim name or 3 values"),
    ("abc", "spacing must be a number, a mapping by dim name or 3 numbers"),
    ({"z": 1, "y": "a", "x": 1}, "spacing values must be numbers"),
])
def test_bad_values_name_the_argument(value, fragment):
    with pytest.raises(GeometryError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        values_by_dim(value, ("z", "y", "x"), "spacing")


def test_extra_dims_names_what_the_target_cannot_hold() -> None:
    da = spatial_xr.from_array(np.zeros((2, 3, 4, 5, 6), np.int16),
                               dims=("t", "c", "z", "y", "x"))
    assert extra_dims(da, ("t", "c"), "X stores t, c") == ["t", "c"]
    with pytest.raises(DimensionError, match=r"^X stores t; this image also has \['c'\]\. "
                                             r"Select or stack them first"):
        extra_dims(da, ("t",), "X stores t")
    with pytest.raises(DimensionError, match=r"also has \['t', 'c'\]\. Try da\.isel\(t=0\)"):
        extra_dims(da, (), "X stores z, y, x", "Try da.isel({first}=0)")
    with pytest.raises(DimensionError, match="needs spatial dims named 'y' and 'x'"):
        extra_dims(da.isel(y=0), ("t", "c"), "X stores t, c")
