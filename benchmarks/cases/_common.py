"""Helpers shared by the case modules: feature checks, warm-up, and the open / full read /
slab cases every file format repeats.

A format module (``nifti``, ``nrrd``, ``mgh``, ``metaimage``) makes its side factories
with :func:`ours_sides`, :func:`sitk_sides` and :func:`nibabel_sides` (given the function
that writes its tiny warm-up file), binds them to module-level names ``<prefix>_open``,
``<prefix>_read`` and ``<prefix>_slab`` (the child process imports them by name), and
builds its rows with :func:`format_cases`. Every factory warms its library up on the tiny
file (opening it, reading it whole and as a slab) before the timed call.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from benchmarks.harness import Case, Side

__all__ = ["OPS", "SLAB", "Peer", "accessor_has", "checksum", "format_cases", "module_has",
           "nibabel_sides", "ours_sides", "out_file", "reader_registered", "sitk_header",
           "sitk_sides", "slab_range", "warm_spatial_xr"]

SLAB = 10
"""Slices of the slab rows."""
OPS = {"open": "open (header only)", "read": "full read", "slab": f"{SLAB}-slice slab"}
"""The operations of a format's rows and the words that end their names."""

Factory = Callable[[dict[str, Any]], Callable[[], Any]]
Tiny = Callable[[dict[str, Any]], str]
"""``tiny(params)``: path of a 4×4×4 file like the input, for a side's warm-up calls."""


def module_has(module: str, *names: str) -> str | None:
    """None if ``module`` imports and defines every name in ``names``, else why not."""
    if importlib.util.find_spec(module.split(".")[0]) is None:
        return f"{module} not installed"
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        return f"{module} missing ({exc})"
    missing = [n for n in names if not hasattr(mod, n)]
    return f"{module} lacks {', '.join(missing)}" if missing else None


def accessor_has(*names: str) -> str | None:
    """None if the DataArray ``.spatial`` accessor has every method in ``names``."""
    from spatial_xr.accessor import SpatialAccessor

    missing = [n for n in names if not hasattr(SpatialAccessor, n)]
    return f"da.spatial.{', da.spatial.'.join(missing)} not on this branch" if missing else None


def reader_registered(name: str) -> str | None:
    """None if the format registry has a format called ``name``."""
    from spatial_xr.io.formats import formats

    names = [f.name for f in formats()]
    return None if name in names else f"no {name} reader registered in open_image"


def checksum(arr: Any, keep: Any = None) -> Callable[[], int]:
    """A deferred checksum: the sum of the values as int64, computed when called (the
    child calls it after the measurement). ``keep`` holds the object that owns the
    memory of a view (e.g. a SimpleITK image behind ``GetArrayViewFromImage``) alive
    until then."""
    import numpy as np

    def total() -> int:
        return int(np.sum(arr, dtype=np.int64))

    total.owner = keep  # type: ignore[attr-defined]
    return total


def out_file(p: dict[str, Any], name: str) -> Path:
    """``name`` in the case's output folder (made if missing)."""
    out = Path(p["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    return out / name


def warm_spatial_xr(p: dict[str, Any]) -> Any:
    """Import spatial_xr and open and compute a tiny NIfTI file once, so that one-time lazy
    imports (xarray loads its duck-array modules on first use, readers import on first
    open) are not counted in the timed call."""
    import nibabel as nib
    import numpy as np

    import spatial_xr

    path = out_file(p, "warm.nii")
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.int16), np.eye(4)), str(path))
    spatial_xr.open_image(path).values  # noqa: B018
    return spatial_xr


def slab_range(nz: int) -> tuple[int, int]:
    """First slice and count of the slab: ``SLAB`` slices around the middle."""
    n = min(SLAB, nz)
    return max(0, nz // 2 - n // 2), n


# --------------------------------------------------------------------- open / read / slab
def ours_sides(tiny: Tiny) -> tuple[Factory, Factory, Factory]:
    """spatial_xr's open (shape of ``open_image``), full read (``.values``) and slab
    (``isel(z=...)`` of ``SLAB`` middle slices, then ``.values``) factories."""

    def warm(p: dict[str, Any]) -> Any:
        import spatial_xr

        small = spatial_xr.open_image(tiny(p))
        small.values  # noqa: B018
        small.isel(z=slice(1, 3)).values  # noqa: B018
        return spatial_xr

    def ours_open(p: dict[str, Any]) -> Callable[[], Any]:
        spatial_xr = warm(p)

        def run() -> Any:
            return list(spatial_xr.open_image(p["input_path"]).shape)

        return run

    def ours_read(p: dict[str, Any]) -> Callable[[], Any]:
        spatial_xr = warm(p)

        def run() -> Any:
            arr = spatial_xr.open_image(p["input_path"]).values
            return {"summary": checksum(arr), "extra": {"bytes": int(arr.nbytes)}}

        return run

    def ours_slab(p: dict[str, Any]) -> Callable[[], Any]:
        spatial_xr = warm(p)

        def run() -> Any:
            da = spatial_xr.open_image(p["input_path"])
            z0, n = slab_range(da.sizes["z"])
            return checksum(da.isel(z=slice(z0, z0 + n)).values)

        return run

    return ours_open, ours_read, ours_slab


def sitk_header(sitk: Any, path: str) -> Any:
    """A SimpleITK ``ImageFileReader`` of ``path`` after ``ReadImageInformation`` (the
    header only)."""
    reader = sitk.ImageFileReader()
    reader.SetFileName(path)
    reader.ReadImageInformation()
    return reader


def sitk_sides(tiny: Tiny) -> tuple[Factory, Factory, Factory]:
    """SimpleITK's open (``ImageFileReader.ReadImageInformation``), full read
    (``ReadImage``, viewed with ``GetArrayViewFromImage``) and slab (an
    ``ImageFileReader`` with ``SetExtractIndex``/``SetExtractSize``) factories."""

    def warm(p: dict[str, Any]) -> Any:
        import SimpleITK as sitk

        path = tiny(p)
        sitk.ReadImage(path)
        reader = sitk_header(sitk, path)
        reader.SetExtractIndex([0, 0, 1])
        reader.SetExtractSize([4, 4, 2])
        reader.Execute()
        return sitk

    def sitk_open(p: dict[str, Any]) -> Callable[[], Any]:
        sitk = warm(p)

        def run() -> Any:
            return list(sitk_header(sitk, p["input_path"]).GetSize()[::-1])

        return run

    def sitk_read(p: dict[str, Any]) -> Callable[[], Any]:
        sitk = warm(p)

        def run() -> Any:
            img = sitk.ReadImage(p["input_path"])
            return checksum(sitk.GetArrayViewFromImage(img), keep=img)

        return run

    def sitk_slab(p: dict[str, Any]) -> Callable[[], Any]:
        sitk = warm(p)

        def run() -> Any:
            reader = sitk_header(sitk, p["input_path"])
            nx, ny, nz = reader.GetSize()
            z0, n = slab_range(nz)
            reader.SetExtractIndex([0, 0, z0])
            reader.SetExtractSize([nx, ny, n])
            img = reader.Execute()
            return checksum(sitk.GetArrayViewFromImage(img), keep=img)

        return run

    return sitk_open, sitk_read, sitk_slab


def nibabel_sides(tiny: Tiny) -> tuple[Factory, Factory, Factory]:
    """nibabel's open (shape of ``load(path).dataobj``), full read (``np.asarray`` of
    ``load(path, mmap=False).dataobj``: ``mmap=False`` so that the bytes are read instead
    of memory-mapped) and slab (the proxy sliced along its third axis) factories; arrays
    end in z, y, x order (transposed views)."""

    def warm(p: dict[str, Any]) -> Any:
        import nibabel as nib

        nib.load(tiny(p)).get_fdata()
        return nib

    def nib_open(p: dict[str, Any]) -> Callable[[], Any]:
        nib = warm(p)

        def run() -> Any:
            return [int(n) for n in nib.load(p["input_path"]).dataobj.shape[::-1]]

        return run

    def nib_read(p: dict[str, Any]) -> Callable[[], Any]:
        import numpy as np

        nib = warm(p)

        def run() -> Any:
            return checksum(np.asarray(nib.load(p["input_path"], mmap=False).dataobj).T)

        return run

    def nib_slab(p: dict[str, Any]) -> Callable[[], Any]:
        nib = warm(p)

        def run() -> Any:
            proxy = nib.load(p["input_path"], mmap=False).dataobj
            z0, n = slab_range(proxy.shape[2])
            return checksum(proxy[:, :, z0 : z0 + n].T)

        return run

    return nib_open, nib_read, nib_slab


class Peer(NamedTuple):
    """A peer of a format's rows: its label and the prefix of its factories
    (``<prefix>_open`` …) in the format's module, for the operations ``ops``."""

    label: str
    prefix: str
    ops: tuple[str, ...] = tuple(OPS)


def format_cases(module: str, name: str, inp: str, peers: Sequence[Peer],
                 ops: Sequence[str] = tuple(OPS), **case: Any) -> list[Case]:
    """One case per operation in ``ops``, named ``f"{name} {OPS[op]}"``: spatial_xr's
    ``ours_<op>`` against each peer's ``<prefix>_<op>`` (peers without ``op`` left out).

    Parameters
    ----------
    module : str
        The format's module (where the factories are).
    name : str
        Start of the row names, e.g. ``"nifti .nii"``.
    inp : str
        Input builder name (:mod:`benchmarks.inputs`).
    peers : sequence of Peer
    ops : sequence of str
        Keys of :data:`OPS`, in row order.
    **case
        Further :class:`~benchmarks.harness.Case` fields (``requires``, ``quick`` …).
    """
    return [Case(name=f"{name} {OPS[op]}", ours=Side("spatial_xr", f"{module}:ours_{op}"),
                 peers=[Side(peer.label, f"{module}:{peer.prefix}_{op}")
                        for peer in peers if op in peer.ops],
                 inputs=(inp,), **case)
            for op in ops]
