"""RFC-5 (OME-Zarr 0.6) coordinate transformations as homogeneous matrices, and the graph of
named coordinate systems they connect. Pure Python and numpy: no zarr, no I/O.

A transformation maps *points* of its ``input`` coordinate system to points of its
``output`` system ("forward"). A linear one becomes a homogeneous matrix of shape
``(m + 1, n + 1)`` acting on column vectors whose entries follow the axis order of the
systems (``n`` input axes, ``m`` output axes, last row ``[0, …, 0, 1]``):

- ``identity``, ``scale``, ``translation``, ``affine`` (``m × (n + 1)`` rows), ``rotation``
  (``n × n``), ``mapAxis`` (output axis ``i`` is input axis ``mapAxis[i]``), ``projectAxis``
  (drop input axes, insert zero output axes), ``byDimension`` (blocks on subsets of axes),
  ``bijection`` (its ``forward``; its ``inverse`` when walked backwards) and ``sequence``
  (members applied in list order: ``[f0, f1]`` is ``f1(f0(x))``);
- ``displacements`` and ``coordinates`` (vector fields stored in the container) are
  non-linear: they are parsed and listed, and :class:`NonLinearTransformError` is raised
  when a matrix is asked of them.

Matrix parameters stored in a Zarr array (``"path"`` instead of inline values) are read
through a ``load`` callable that the caller supplies.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spatial_xr.errors import (
    FormatError,
    NonLinearTransformError,
    SingularTransformError,
    TransformMetadataError,
)

__all__ = [
    "FIELD_TYPES",
    "LINEAR_TYPES",
    "ArrayLoader",
    "Edge",
    "TransformGraph",
    "invert",
    "reference_name",
    "transformation_matrix",
]

LINEAR_TYPES = ("identity", "scale", "translation", "affine", "rotation", "mapAxis",
                "projectAxis", "byDimension", "bijection", "sequence")
FIELD_TYPES = ("displacements", "coordinates")

ArrayLoader = Callable[[str], NDArray[np.float64]]
"""Reads a small parameter array stored in the container, by its path."""


def _where(raw: Mapping[str, Any], where: str) -> str:
    name = raw.get("name")
    return f"{where} ({raw.get('type')!r}{f' named {name!r}' if name else ''})"


def _numbers(value: Any, shape: tuple[int, ...] | None, what: str, where: str) -> NDArray[Any]:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TransformMetadataError(
            f"{what} of {where} must be numbers, got {str(value)[:200]}; fix the "
            "coordinateTransformations metadata"
        ) from None
    if shape is not None and arr.shape != shape:
        raise TransformMetadataError(
            f"{what} of {where} must have shape {shape}, got shape {arr.shape} "
            f"({str(value)[:200]}); the parameters must match the axes the transformation maps"
        )
    if not np.all(np.isfinite(arr)):
        raise TransformMetadataError(f"{what} of {where} holds non-finite values: {value!r}")
    return arr


def _parameters(raw: Mapping[str, Any], key: str, where: str,
                load: ArrayLoader | None) -> Any:
    if key in raw:
        return raw[key]
    path = raw.get("path")
    if isinstance(path, str) and path:
        if load is None:
            raise TransformMetadataError(
                f"{where} stores its {key} in the array {path!r}, which cannot be read here; "
                "open the store with spatial_xr.open_omezarr to read it"
            )
        return load(path)
    raise TransformMetadataError(
        f"{where} has neither '{key}' values nor a 'path' to them; add the parameters"
    )


def _indices(value: Any, what: str, where: str) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise TransformMetadataError(
            f"{what} of {where} must be a list of integer axis indices, got {value!r}"
        )
    return list(value)


def _homogeneous(linear: NDArray[np.float64], offset: NDArray[np.float64]) -> NDArray[np.float64]:
    m, n = linear.shape
    out = np.zeros((m + 1, n + 1))
    out[:m, :n] = linear
    out[:m, n] = offset
    out[m, n] = 1.0
    return out


def _matrix(raw: Any, n: int, where: str, load: ArrayLoader | None, inverse: bool) -> Any:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("type"), str):
        raise TransformMetadataError(
            f"{where} must be an object with a 'type', got {str(raw)[:200]}"
        )
    kind = raw["type"]
    here = _where(raw, where)
    if kind == "identity":
        return np.eye(n + 1)
    if kind == "scale":
        s = _numbers(_parameters(raw, "scale", here, load), (n,), "scale", here)
        return _homogeneous(np.diag(s), np.zeros(n))
    if kind == "translation":
        t = _numbers(_parameters(raw, "translation", here, load), (n,), "translation", here)
        return _homogeneous(np.eye(n), t)
    if kind == "affine":
        a = _numbers(_parameters(raw, "affine", here, load), None, "affine", here)
        if a.ndim != 2 or a.shape[1] != n + 1:
            raise TransformMetadataError(
                f"affine of {here} must have {n + 1} columns ({n} input axes + translation), "
                f"got shape {a.shape}; the matrix rows are output axes, the columns input axes "
                "then the translation"
            )
        return _homogeneous(a[:, :n], a[:, n])
    if kind == "rotation":
        r = _numbers(_parameters(raw, "rotation", here, load), (n, n), "rotation", here)
        return _homogeneous(r, np.zeros(n))
    if kind == "mapAxis":
        perm = _indices(raw.get("mapAxis"), "mapAxis", here)
        if sorted(perm) != list(range(n)):
            raise TransformMetadataError(
                f"mapAxis of {here} must list every input axis index 0…{n - 1} once, got {perm}"
            )
        p = np.zeros((n, n))
        p[np.arange(n), perm] = 1.0
        return _homogeneous(p, np.zeros(n))
    if kind == "projectAxis":
        dropped = _indices(raw.get("droppedInputs", []), "droppedInputs", here)
        created = _indices(raw.get("createdOutputs", []), "createdOutputs", here)
        kept = [i for i in range(n) if i not in dropped]
        if any(not 0 <= i < n for i in dropped) or len(set(dropped)) != len(dropped):
            raise TransformMetadataError(
                f"droppedInputs of {here} must be distinct indices below {n}, got {dropped}")
        m = len(kept) + len(created)
        if any(not 0 <= i < m for i in created) or len(set(created)) != len(created):
            raise TransformMetadataError(
                f"createdOutputs of {here} must be distinct indices below {m}, got {created}")
        rows = [i for i in range(m) if i not in created]
        p = np.zeros((m, n))
        p[rows, kept] = 1.0
        return _homogeneous(p, np.zeros(m))
    if kind == "byDimension":
        return _by_dimension(raw, n, here, load)
    if kind == "bijection":
        member = raw.get("inverse" if inverse else "forward")
        if member is None:
            raise TransformMetadataError(f"{here} needs both 'forward' and 'inverse'")
        # walked backwards, the inverse member is used as a forward map
        return _matrix(member, n, f"{here}.{'inverse' if inverse else 'forward'}", load, False)
    if kind == "sequence":
        members = raw.get("transformations")
        if not isinstance(members, list) or not members:
            raise TransformMetadataError(
                f"{here} needs a non-empty list 'transformations', got {members!r}")
        total = np.eye(n + 1)
        for i, member in enumerate(members):
            step = _matrix(member, total.shape[0] - 1, f"{here}.transformations[{i}]", load,
                           False)
            total = step @ total  # the first member is applied first
        return total
    if kind in FIELD_TYPES:
        raise NonLinearTransformError(
            f"{here} is a {kind} field (stored at {raw.get('path')!r}), a non-linear "
            "transformation: it cannot serve as an image's geometry. Open the image in a "
            "coordinate system reached by linear transformations (e.g. the intrinsic one)"
        )
    raise TransformMetadataError(
        f"{here}: unknown coordinate transformation type {kind!r}; RFC-5 defines "
        f"{', '.join(LINEAR_TYPES + FIELD_TYPES)}"
    )


def _by_dimension(raw: Mapping[str, Any], n: int, here: str, load: ArrayLoader | None) -> Any:
    items = raw.get("transformations")
    if not isinstance(items, list) or not items:
        raise TransformMetadataError(f"{here} needs a non-empty list 'transformations'")
    blocks = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise TransformMetadataError(f"{here}.transformations[{i}] must be an object")
        ins = _indices(item.get("inputAxes", item.get("input_axes")), "inputAxes", here)
        outs = _indices(item.get("outputAxes", item.get("output_axes")), "outputAxes", here)
        if any(not 0 <= a < n for a in ins):
            raise TransformMetadataError(
                f"inputAxes {ins} of {here} name axes beyond the {n} input axes")
        sub = _matrix(item.get("transformation"), len(ins), f"{here}.transformations[{i}]",
                      load, False)
        if sub.shape[0] - 1 != len(outs):
            raise TransformMetadataError(
                f"{here}.transformations[{i}] gives {sub.shape[0] - 1} outputs but lists "
                f"outputAxes {outs}")
        blocks.append((ins, outs, sub))
    produced = sorted(a for _, outs, _ in blocks for a in outs)
    m = len(produced)
    if produced != list(range(m)):
        raise TransformMetadataError(
            f"outputAxes of {here} must cover the output axes 0…{m - 1} exactly once, got "
            f"{produced}")
    out = np.zeros((m + 1, n + 1))
    out[m, n] = 1.0
    for ins, outs, sub in blocks:
        out[np.ix_(outs, ins)] = sub[:-1, :-1]
        out[outs, n] = sub[:-1, -1]
    return out


def transformation_matrix(
    raw: Mapping[str, Any], n_in: int, *, where: str = "a coordinate transformation",
    load: ArrayLoader | None = None, n_out: int | None = None,
) -> NDArray[np.float64]:
    """Homogeneous matrix, shape ``(n_out + 1, n_in + 1)``, of a linear RFC-5 transformation.

    Parameters
    ----------
    raw : mapping
        The transformation object (``{"type": "affine", "affine": [[…]], …}``).
    n_in : int
        Number of axes of its input coordinate system.
    where : str
        Where the transformation sits, for messages.
    load : callable, optional
        Reads parameters stored in an array (``"path"``).
    n_out : int, optional
        Number of axes of the output system, checked when given.

    Raises
    ------
    TransformMetadataError
        Unknown type, missing parameters, or parameters of the wrong shape.
    NonLinearTransformError
        ``displacements`` or ``coordinates``.
    """
    out = np.asarray(_matrix(raw, n_in, where, load, False), np.float64)
    if n_out is not None and out.shape[0] - 1 != n_out:
        raise TransformMetadataError(
            f"{_where(raw, where)} maps {n_in} input axes to {out.shape[0] - 1} outputs, but "
            f"its output coordinate system has {n_out} axes"
        )
    return out


def invert(matrix: NDArray[np.float64], where: str) -> NDArray[np.float64]:
    """Inverse of a square homogeneous matrix.

    Raises
    ------
    SingularTransformError
        The matrix is not square or its linear part is not invertible (condition number
        above 1e12).
    """
    linear = matrix[:-1, :-1]
    cond = np.linalg.cond(linear) if linear.shape[0] == linear.shape[1] else np.inf
    if not np.isfinite(cond) or cond > 1e12:
        raise SingularTransformError(
            f"{where} is not invertible (shape {matrix.shape[0] - 1}×{matrix.shape[1] - 1}, "
            f"linear part {matrix[:-1, :-1].tolist()}), so it cannot be walked from its output "
            "to its input; store the transformation in the other direction or a bijection"
        )
    return np.asarray(np.linalg.inv(matrix), np.float64)


def reference_name(ref: Any) -> tuple[str | None, str | None]:
    """``(name, path)`` of a transformation's ``input``/``output``: an object
    ``{"name": …, "path": …}`` or (as some examples write it) a bare name."""
    if isinstance(ref, str):
        return ref, None
    if isinstance(ref, Mapping):
        name, path = ref.get("name"), ref.get("path")
        return (name if isinstance(name, str) else None,
                path if isinstance(path, str) and path else None)
    return None, None


@dataclass(frozen=True)
class Edge:
    """One multiscale-level transformation between two coordinate systems of the image."""

    source: str
    target: str
    raw: Mapping[str, Any]
    where: str

    @property
    def linear(self) -> bool:
        """Whether the transformation (and every member of it) is linear."""
        return not _contains_field(self.raw)


def _contains_field(raw: Any) -> bool:
    if not isinstance(raw, Mapping):
        return False
    if raw.get("type") in FIELD_TYPES:
        return True
    members = list(raw.get("transformations") or []) if isinstance(
        raw.get("transformations"), list) else []
    members += [raw.get("forward"), raw.get("inverse")]
    members = [m.get("transformation", m) if isinstance(m, Mapping) else m for m in members]
    return any(_contains_field(m) for m in members)


class TransformGraph:
    """Named coordinate systems of one multiscale image and the transformations between them.

    Parameters
    ----------
    dims : mapping
        Number of axes by coordinate system name.
    edges : sequence of Edge
        Transformations between systems of this image (references to other groups left out).
    load : callable, optional
        Reads parameters stored in arrays.
    """

    def __init__(self, dims: Mapping[str, int], edges: Sequence[Edge],
                 load: ArrayLoader | None = None) -> None:
        self.dims = dict(dims)
        self.edges = tuple(edges)
        self.load = load

    def _route(self, start: str, goal: str, linear_only: bool) -> list[tuple[Edge, bool]] | None:
        seen = {start}
        queue: deque[tuple[str, list[tuple[Edge, bool]]]] = deque([(start, [])])
        while queue:
            node, path = queue.popleft()
            if node == goal:
                return path
            for edge in self.edges:
                if linear_only and not edge.linear:
                    continue
                for a, b, forward in ((edge.source, edge.target, True),
                                      (edge.target, edge.source, False)):
                    if a == node and b not in seen:
                        seen.add(b)
                        queue.append((b, [*path, (edge, forward)]))
        return None

    def reachable(self, start: str, goal: str) -> bool:
        """Whether ``goal`` is reached from ``start`` through linear transformations only."""
        return self._route(start, goal, True) is not None

    def matrix(self, start: str, goal: str) -> NDArray[np.float64]:
        """Homogeneous matrix mapping points of ``start`` to points of ``goal``.

        Edges are walked forwards, or backwards through their inverse (a bijection's
        ``inverse`` member, else the matrix inverse).

        Raises
        ------
        NonLinearTransformError
            ``goal`` is reached only through a displacement or coordinate field.
        SingularTransformError
            A transformation walked backwards is not invertible.
        FormatError
            No transformation connects the two systems.
        """
        route = self._route(start, goal, True)
        if route is None:
            field_route = self._route(start, goal, False)
            if field_route is not None:
                fields = [e.where for e, _ in field_route if not e.linear]
                raise NonLinearTransformError(
                    f"coordinate system {goal!r} is reached from {start!r} only through the "
                    f"non-linear transformation {fields[0]}, which cannot serve as an image's "
                    "geometry; open the image in another coordinate system (e.g. "
                    f"coordinate_system={start!r})"
                )
            defining = [e.where for e in self.edges if not e.linear and goal in (e.source,
                                                                                  e.target)]
            if defining:
                raise NonLinearTransformError(
                    f"coordinate system {goal!r} is related to the image only by the "
                    f"non-linear transformation {defining[0]} (a vector field, not a "
                    "geometry); open the image in another coordinate system (e.g. "
                    f"coordinate_system={start!r})"
                )
            raise FormatError(
                f"no coordinate transformation connects coordinate system {start!r} to "
                f"{goal!r}; RFC-5 requires the coordinate systems of an image to be connected"
            )
        total = np.eye(self.dims[start] + 1)
        for edge, forward in route:
            src, dst = (edge.source, edge.target) if forward else (edge.target, edge.source)
            if forward:
                step = transformation_matrix(edge.raw, self.dims[src], where=edge.where,
                                             load=self.load, n_out=self.dims[dst])
            elif edge.raw.get("type") == "bijection":
                step = np.asarray(_matrix(edge.raw, self.dims[src], edge.where, self.load, True))
            else:
                step = invert(transformation_matrix(edge.raw, self.dims[dst], where=edge.where,
                                                    load=self.load, n_out=self.dims[src]),
                              edge.where)
            if step.shape != (self.dims[dst] + 1, self.dims[src] + 1):
                raise TransformMetadataError(
                    f"{edge.where} maps {step.shape[1] - 1} axes to {step.shape[0] - 1}, but "
                    f"coordinate systems {src!r} and {dst!r} have {self.dims[src]} and "
                    f"{self.dims[dst]} axes"
                )
            total = step @ total
        return total
