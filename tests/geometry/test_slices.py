"""Pure-numpy slice-stack geometry."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spatial_xr.errors import GantryTiltError, GeometryError, SliceSpacingError
from spatial_xr.geometry.slices import (
    check_regular_stack,
    plan_regular_resample,
    slice_direction,
    slice_distances,
)


def test_slice_direction_columns_and_handedness() -> None:
    d = slice_direction([0, 1, 0, 0, 0, -1])  # sagittal
    np.testing.assert_allclose(d[:, 0], [0, 1, 0])
    np.testing.assert_allclose(d[:, 1], [0, 0, -1])
    np.testing.assert_allclose(d[:, 2], [-1, 0, 0])
    assert np.linalg.det(d) == pytest.approx(1.0)
    with pytest.raises(GeometryError, match="orthogonal"):
        slice_direction([1, 0, 0, 1, 0, 0])
    with pytest.raises(GeometryError):
        slice_direction([1, 0, 0])


def test_regular_stack_spacing_and_errors() -> None:
    d = np.eye(3)
    pos = np.array([[0, 0, z] for z in (0.0, 1.5, 3.0, 4.5)])
    assert check_regular_stack(pos, d) == pytest.approx(1.5)
    assert np.isnan(check_regular_stack(pos[:1], d))
    np.testing.assert_allclose(slice_distances(pos, d[:, 2]), [0, 1.5, 3, 4.5])
    with pytest.raises(SliceSpacingError, match="between sorted slices 1 and 2"):
        check_regular_stack(np.array([[0, 0, z] for z in (0.0, 1.5, 4.5, 6.0)]), d)
    tilted = np.array([[0, 0.3 * k, 1.0 * k] for k in range(4)])
    with pytest.raises(GantryTiltError, match=r"tilt of about 16\.7"):
        check_regular_stack(tilted, d)


def test_resample_plan_uneven() -> None:
    d = np.eye(3)
    pos = np.array([[0, 0, z] for z in (0.0, 1.0, 3.0, 4.0)])
    plan = plan_regular_resample(pos, d, (1.0, 1.0))
    assert plan.n_slices == 5 and plan.spacing_z == pytest.approx(1.0)
    np.testing.assert_array_equal(plan.lower, [0, 0, 1, 1, 2])
    np.testing.assert_allclose(plan.weight, [0, 1, 0.5, 1, 1])
    np.testing.assert_allclose(plan.shift_rc, 0)


def test_resample_plan_tilt_shift_in_pixels() -> None:
    d = np.eye(3)
    pos = np.array([[0.0, 0.5 * k, 2.0 * k] for k in range(3)])
    plan = plan_regular_resample(pos, d, (0.25, 1.0))  # rows 0.25 mm apart
    np.testing.assert_allclose(plan.shift_rc[:, 0], [0, -2, -4])
    np.testing.assert_allclose(plan.shift_rc[:, 1], 0)


@settings(max_examples=40, deadline=None)
@given(
    angles=st.tuples(*(st.floats(-180, 180) for _ in range(3))),
    spacing=st.floats(0.2, 8.0),
    n=st.integers(4, 12),
    origin=st.tuples(*(st.floats(-500, 500) for _ in range(3))),
)
def test_regular_stacks_any_orientation(angles: tuple, spacing: float, n: int,
                                        origin: tuple) -> None:
    from scipy.spatial.transform import Rotation

    d = Rotation.from_euler("xyz", angles, degrees=True).as_matrix()
    iop = [*d[:, 0], *d[:, 1]]
    direction = slice_direction(iop)
    np.testing.assert_allclose(direction, d, atol=1e-9)
    pos = np.asarray(origin) + spacing * np.arange(n)[:, None] * d[:, 2]
    assert check_regular_stack(pos, direction) == pytest.approx(spacing, rel=1e-9)
    with pytest.raises(SliceSpacingError):
        check_regular_stack(np.delete(pos, 1, axis=0), direction)
    tilted = pos + 0.2 * spacing * np.arange(n)[:, None] * d[:, 0]
    with pytest.raises(GantryTiltError):
        check_regular_stack(tilted, direction)
    plan = plan_regular_resample(tilted, direction, (1.0, 1.0))
    assert plan.n_slices == n
    np.testing.assert_allclose(plan.shift_rc[:, 1], -0.2 * spacing * np.arange(n), atol=1e-9)
