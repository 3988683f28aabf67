"""RFC-5 transformations as matrices and their graph (pure), checked point by point against
the functions the specification writes out for its examples, and against ngff-zarr's own
conversion of the same JSON."""

from __future__ import annotations

import numpy as np
import pytest
from ngff_zarr.v06.zarr_metadata import (
    MapAxis,
    Rotation,
    Scale,
    TransformSequence,
    Translation,
)

from spatial_xr.errors import (
    FormatError,
    NonLinearTransformError,
    SingularTransformError,
    TransformMetadataError,
)
from spatial_xr.io.omezarr.rfc5 import Edge, TransformGraph, invert, transformation_matrix


def _apply(matrix, points):
    points = np.atleast_2d(np.asarray(points, np.float64))
    return points @ matrix[:-1, :-1].T + matrix[:-1, -1]


def test_map_axis_three_axes():
    """Output axis i is input axis mapAxis[i] (a cyclic permutation tells the two readings
    of the vector apart)."""
    m = transformation_matrix({"type": "mapAxis", "mapAxis": [2, 0, 1]}, 3)
    np.testing.assert_array_equal(_apply(m, [10, 20, 30]), [[30, 10, 20]])


def test_affine_2d_to_3d_and_project_axis():
    """The spec's 2-D → 3-D affine: z = 1, y = 2 + 3i + 4j, x = 5 + 6i + 7j."""
    m = transformation_matrix({"type": "affine", "affine": [[0, 0, 1], [3, 4, 2], [6, 7, 5]]},
                              2, n_out=3)
    i, j = 1.5, -2.0
    np.testing.assert_allclose(_apply(m, [i, j]), [[1, 2 + 3 * i + 4 * j, 5 + 6 * i + 7 * j]])
    p = transformation_matrix({"type": "projectAxis", "droppedInputs": [0],
                               "createdOutputs": [0, 1]}, 3)
    np.testing.assert_array_equal(_apply(p, [7, 8, 9]), [[0, 0, 8, 9]])


def test_sequence_applies_the_first_member_first():
    seq = {"type": "sequence", "transformations": [
        {"type": "translation", "translation": [0.1, 0.9]},
        {"type": "scale", "scale": [2, 3]}]}
    np.testing.assert_allclose(_apply(transformation_matrix(seq, 2), [4, 5]),
                               [[(4 + 0.1) * 2, (5 + 0.9) * 3]])


def test_matrices_agree_with_ngff_zarr():
    """ngff-zarr's own model of the same sequence, converted by ngff-zarr to an ITK transform
    (x, y, z order), equals our matrix reversed."""
    from ngff_zarr.ngff_transform_to_itk_transform import ngff_transform_to_itk_transform

    rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    raw = {"type": "sequence", "transformations": [
        {"type": "scale", "scale": [2.0, 3.0, 4.0]},
        {"type": "mapAxis", "mapAxis": [1, 2, 0]},
        {"type": "rotation", "rotation": rot.tolist()},
        {"type": "translation", "translation": [1.0, -2.0, 3.0]}]}
    parsed = TransformSequence(transformations=[
        Scale(scale=[2.0, 3.0, 4.0]), MapAxis(mapAxis=[1, 2, 0]),
        Rotation(rotation=rot.tolist()), Translation(translation=[1.0, -2.0, 3.0])])
    (itk,) = ngff_transform_to_itk_transform(parsed, ("z", "y", "x"))
    linear = np.asarray(itk.parameters[:9]).reshape(3, 3)
    center = np.asarray(itk.fixedParameters)
    offset = np.asarray(itk.parameters[9:]) + center - linear @ center
    ours = transformation_matrix(raw, 3)
    np.testing.assert_allclose(np.flip(ours[:3, :3]), linear, atol=1e-15)
    np.testing.assert_allclose(ours[:3, 3][::-1], offset, atol=1e-15)


def test_invert_and_singular():
    m = transformation_matrix({"type": "affine", "affine": [[0, 2, 1], [3, 0, -1]]}, 2)
    np.testing.assert_allclose(invert(m, "t") @ m, np.eye(3), atol=1e-15)
    with pytest.raises(SingularTransformError, match="not invertible"):
        invert(transformation_matrix({"type": "scale", "scale": [1.0, 0.0]}, 2), "the scale")


def test_graph_routes_backwards_and_refuses_fields():
    edges = [
        Edge("a", "b", {"type": "translation", "translation": [1, 2]}, "t0"),
        Edge("c", "b", {"type": "scale", "scale": [2, 4]}, "t1"),  # walked backwards
        Edge("a", "d", {"type": "displacements", "path": "f"}, "t2"),
    ]
    graph = TransformGraph({"a": 2, "b": 2, "c": 2, "d": 2, "e": 2}, edges)
    np.testing.assert_allclose(_apply(graph.matrix("a", "c"), [1, 2]), [[1.0, 1.0]])
    assert graph.reachable("a", "c") and not graph.reachable("a", "d")
    with pytest.raises(NonLinearTransformError, match="t2"):
        graph.matrix("a", "d")
    with pytest.raises(FormatError, match="no coordinate transformation connects"):
        graph.matrix("a", "e")


@pytest.mark.parametrize(("raw", "match"), [
    ({"type": "byDimension", "transformations": [
        {"transformation": {"type": "identity"}, "inputAxes": [0], "outputAxes": [1]}]},
     "cover the output axes"),
    ({"type": "affine", "affine": [[1, 0, "a"]]}, "must be numbers"),
    ({"type": "scale", "scale": [1, np.nan]}, "non-finite"),
    ({"type": "bijection", "forward": {"type": "identity"}}, None),
    ({"type": "affine", "path": "params/a"}, "cannot be read here"),
    ("scale", "must be an object with a 'type'"),
])
def test_malformed(raw, match):
    if match is None:  # a bijection walked forwards needs only its forward member
        np.testing.assert_array_equal(transformation_matrix(raw, 2), np.eye(3))
        return
    with pytest.raises(TransformMetadataError, match=match):
        transformation_matrix(raw, 2)
