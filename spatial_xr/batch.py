"""Many volumes on a dask-distributed cluster: open → resample → write, one task per input.

Python recipe::

    from spatial_xr.batch import run_batch

    report = run_batch("scans/*.nii.gz", "out/", spacing=1.0, pyramid=True,
                       scheduler="local", n_workers=2)
    print(report.summary())

Command line (same options)::

    spatial-xr batch "scans/*.nii.gz" out/ --spacing 1 --pyramid --scheduler local

Each input is one task: a worker opens it (headers only), resamples lazily and writes the
output with its own single-threaded dask scheduler, so memory per worker stays bounded by
the writer's chunk size and the bytes written do not depend on where or how the task ran —
the distributed run is byte-identical to the single-process run (``scheduler=None``).
A bad input does not stop the batch: its error is recorded, the others go on, and
:meth:`BatchReport.summary` lists the failures at the end.
"""

from __future__ import annotations

import glob
import os
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from spatial_xr.errors import ParameterError, SpatialXRError, UnsupportedOptionError, require
from spatial_xr.io.atomic import check_overwrite

__all__ = ["BatchItem", "BatchReport", "expand_inputs", "output_name", "process_one",
           "run_batch"]

OutputFormat = Literal["ome-zarr", "nifti"]
_SUFFIXES = (".nii.gz", ".nii", ".ome.zarr", ".zarr", ".dcm")


@dataclass(frozen=True)
class BatchItem:
    """Outcome of one input."""

    input: str
    output: str | None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class BatchReport:
    """Outcome of a batch: one :class:`BatchItem` per input, in input order."""

    items: list[BatchItem]
    wall_seconds: float
    workers: int
    peak_memory_per_worker: dict[str, int] = field(default_factory=dict)

    @property
    def failures(self) -> list[BatchItem]:
        return [it for it in self.items if not it.ok]

    @property
    def outputs(self) -> list[str]:
        return [it.output for it in self.items if it.ok and it.output is not None]

    def summary(self) -> str:
        """Human-readable report, failures last."""
        lines = [f"{len(self.outputs)} of {len(self.items)} inputs written in "
                 f"{self.wall_seconds:.1f} s on {self.workers} worker(s)"]
        for name, peak in sorted(self.peak_memory_per_worker.items()):
            lines.append(f"  peak memory {name}: {peak / 2**20:.0f} MiB")
        if self.failures:
            lines.append(f"{len(self.failures)} failed:")
            lines.extend(f"  {it.input}: {it.error}" for it in self.failures)
        return "\n".join(lines)


def expand_inputs(inputs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]
                  ) -> list[str]:
    """Sorted input paths from a glob pattern, a path, or a list of either."""
    items = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    paths: list[str] = []
    for item in items:
        s = os.fspath(item)
        matches = sorted(glob.glob(s)) if glob.has_magic(s) else [s]
        paths.extend(m.rstrip("/\\") for m in matches)
    return paths


def output_name(path: str, fmt: OutputFormat) -> str:
    """Output file name for an input: its stem plus ``.ome.zarr`` or ``.nii``."""
    base = os.path.basename(path.rstrip("/\\"))
    for suffix in _SUFFIXES:
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base + (".ome.zarr" if fmt == "ome-zarr" else ".nii")


def _resample(da: Any, spacing: float | tuple[float, ...] | None) -> Any:
    if spacing is None:
        return da
    return da.spatial.resample(spacing=spacing)


def _check_output(fmt: OutputFormat, pyramid: bool) -> None:
    if fmt not in ("ome-zarr", "nifti"):
        raise UnsupportedOptionError(f"fmt must be 'ome-zarr' or 'nifti', got {fmt!r}")
    if fmt == "nifti" and pyramid:
        raise UnsupportedOptionError(
            "a pyramid (--pyramid) needs the OME-Zarr output format; drop it or use "
            "--format ome-zarr"
        )


def _write(da: Any, out: str, fmt: OutputFormat, pyramid: bool, overwrite: bool,
           levels: int | None = None) -> None:
    _check_output(fmt, pyramid)
    if fmt == "nifti":
        da.spatial.to_nifti(out, overwrite=overwrite)
        return
    extra = {"levels": levels} if pyramid and levels is not None else {}
    da.spatial.to_ome_zarr(out, pyramid=pyramid, overwrite=overwrite, **extra)


def process_one(
    path: str,
    output_dir: str,
    *,
    spacing: float | tuple[float, ...] | None = None,
    pyramid: bool = False,
    levels: int | None = None,
    fmt: OutputFormat = "ome-zarr",
    overwrite: bool = False,
    open_kwargs: dict[str, Any] | None = None,
) -> BatchItem:
    """Open, resample and write one input; never raises (errors go into the result).

    Runs dask's synchronous scheduler inside the call, so a distributed worker computes
    the whole item itself, streaming chunk by chunk.
    """
    import dask

    import spatial_xr

    start = time.perf_counter()
    out = os.path.join(output_dir, output_name(path, fmt))
    try:
        with dask.config.set(scheduler="synchronous"):
            da = spatial_xr.open_image(path, **(open_kwargs or {}))
            _write(_resample(da, spacing), out, fmt, pyramid, overwrite, levels)
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, SpatialXRError | OSError | ValueError):
            detail += "\n" + "".join(traceback.format_exception(exc)[-3:]).rstrip()
        return BatchItem(path, None, detail, time.perf_counter() - start)
    return BatchItem(path, out, None, time.perf_counter() - start)


def _peak_rss() -> int:
    """Peak resident memory (bytes) of this process.

    Linux: ``VmHWM`` of ``/proc/self/status`` (the high-water mark of this process's own
    memory; ``ru_maxrss`` would also count the parent's memory at fork time, which a
    spawned worker inherits across exec). Elsewhere: ``getrusage``'s ``ru_maxrss``.
    """
    import resource
    import sys

    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _progress(total: int, show: bool) -> Callable[[BatchItem], None]:
    if not show:
        return lambda item: None
    try:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, unit="image", desc="spatial-xr batch")

        def update(item: BatchItem) -> None:
            bar.update(1)
            if not item.ok:
                bar.write(f"failed: {item.input}")
            if bar.n == total:
                bar.close()

        return update
    except ImportError:
        done = [0]

        def update_plain(item: BatchItem) -> None:
            done[0] += 1
            state = "ok" if item.ok else "FAILED"
            print(f"[{done[0]}/{total}] {state} {item.input}", flush=True)

        return update_plain


def _check_names(paths: list[str], fmt: OutputFormat) -> dict[str, str]:
    """Inputs whose output name an earlier input already takes."""
    seen: dict[str, str] = {}
    clashes: dict[str, str] = {}
    for p in paths:
        name = output_name(p, fmt)
        if name in seen:
            clashes[p] = (f"OutputNameClash: {p!r} and {seen[name]!r} both map to {name!r}; "
                          "rename one or run them in separate batches")
        else:
            seen[name] = p
    return clashes


def run_batch(
    inputs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str],
    *,
    spacing: float | tuple[float, ...] | None = None,
    pyramid: bool = False,
    levels: int | None = None,
    fmt: OutputFormat = "ome-zarr",
    scheduler: Any = "local",
    n_workers: int = 2,
    overwrite: bool = False,
    progress: bool = True,
    open_kwargs: dict[str, Any] | None = None,
) -> BatchReport:
    """Convert many images, one task per input, on a dask-distributed cluster.

    Parameters
    ----------
    inputs : str, path or iterable of them
        Paths or glob patterns (``"scans/*.nii.gz"``); DICOM folders and OME-Zarr stores
        count as one input each.
    output_dir : str or path
        Created if missing; outputs are named after the inputs (``a.nii.gz`` →
        ``a.ome.zarr``).
    spacing : float or tuple, optional
        Resample to this spacing (mm; a scalar or one value per spatial dim) before
        writing; ``None`` keeps the grid.
    pyramid : bool
        Write a multiscale pyramid (OME-Zarr only).
    levels : int, optional
        Pyramid levels including level 0 (default: until a level fits in one chunk).
    fmt : {"ome-zarr", "nifti"}
        Output format (``.nii`` is written uncompressed so that outputs are byte-stable).
    scheduler : "local", str, distributed.Client or None
        ``"local"``: start a ``LocalCluster`` of ``n_workers`` single-threaded processes
        for this call; a ``"tcp://host:port"`` address or a ``Client``: use that cluster;
        ``None``: run in this process, one input after the other.
    n_workers : int
        Workers of the ``"local"`` cluster.
    overwrite : bool
        Replace existing outputs (otherwise an existing output fails that input).
    progress : bool
        Show a progress bar (tqdm if installed, else one line per input).
    open_kwargs : dict, optional
        Passed to :func:`spatial_xr.open_image` for every input.

    Returns
    -------
    BatchReport
        Per-input outcomes (input order), wall time, workers and each worker's peak
        resident memory (bytes).

    Raises
    ------
    PathNotFoundError
        No input matched.
    UnsupportedOptionError
        ``fmt`` is unknown, or ``pyramid`` was asked for with ``fmt="nifti"``.
    ParameterError
        ``scheduler`` is none of the accepted kinds.
    """
    from spatial_xr.errors import PathNotFoundError

    _check_output(fmt, pyramid)
    paths = expand_inputs(inputs)
    if not paths:
        raise PathNotFoundError(f"no input matches {inputs!r}; check the glob pattern")
    out_dir = Path(output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clashes = _check_names(paths, fmt)
    todo = [p for p in paths if p not in clashes]
    kw = {"spacing": spacing, "pyramid": pyramid, "levels": levels, "fmt": fmt,
          "overwrite": overwrite,
          "open_kwargs": open_kwargs}
    update = _progress(len(todo), progress)
    start = time.perf_counter()
    results: dict[str, BatchItem] = {
        p: BatchItem(p, None, msg) for p, msg in clashes.items()}
    peaks: dict[str, int] = {}
    if scheduler is None:
        for p in todo:
            item = process_one(p, str(out_dir), **kw)  # type: ignore[arg-type]
            results[p] = item
            update(item)
        workers = 1
        peaks["local-process"] = _peak_rss()
    else:
        distributed = require("distributed", "distributed")
        if not overwrite:
            # Outputs that exist now are refused here; the others belong to this run, so a
            # task re-run after its worker died may replace its own (identical) output.
            for p in [p for p in todo if os.path.lexists(out_dir / output_name(p, fmt))]:
                try:
                    check_overwrite(out_dir / output_name(p, fmt), False)
                except SpatialXRError as exc:
                    results[p] = BatchItem(p, None, f"{type(exc).__name__}: {exc}")
                    update(results[p])
                todo.remove(p)
            kw["overwrite"] = True
        client, owned = _client(distributed, scheduler, n_workers)
        try:
            futures = client.map(process_one, todo, output_dir=str(out_dir), pure=False, **kw)
            index = {f.key: p for f, p in zip(futures, todo, strict=True)}
            for future in distributed.as_completed(futures):
                try:
                    item = future.result()
                except Exception as exc:  # a worker died: keep going
                    item = BatchItem(index[future.key], None,
                                     f"worker failure: {type(exc).__name__}: {exc}")
                results[item.input] = item
                update(item)
            workers = len(client.scheduler_info().get("workers", {}))
            peaks = {str(k): int(v) for k, v in client.run(_peak_rss).items()}
            _remove_stale_temporaries(out_dir, [output_name(p, fmt) for p in todo])
        finally:
            if owned:
                cluster = client.cluster
                client.close()
                if cluster is not None:
                    cluster.close()
    return BatchReport([results[p] for p in paths], time.perf_counter() - start, workers,
                       peaks)


def _remove_stale_temporaries(out_dir: Path, names: list[str]) -> None:
    """Remove the hidden temporaries of this run's outputs that a killed worker left behind.

    Every task has finished when this runs, so a ``.NAME.partial-*`` or ``.NAME.old-*``
    beside an output belongs to a write that died with its worker (the re-run task wrote
    the output itself)."""
    import shutil

    for name in names:
        for stale in [*out_dir.glob(f".{name}.partial-*"), *out_dir.glob(f".{name}.old-*")]:
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)


def _client(distributed: Any, scheduler: Any, n_workers: int) -> tuple[Any, bool]:
    if isinstance(scheduler, distributed.Client):
        return scheduler, False
    if scheduler == "local":
        cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                           processes=True, dashboard_address=None)
        return distributed.Client(cluster), True
    if isinstance(scheduler, str):
        return distributed.Client(scheduler), True
    raise ParameterError(
        f"scheduler must be 'local', a scheduler address, a distributed.Client or None; "
        f"got {scheduler!r}"
    )


# ---------------------------------------------------------------------- command line
def add_cli_arguments(p: Any) -> None:
    """Arguments of ``spatial-xr batch``."""
    p.add_argument("inputs", help="glob pattern of inputs, e.g. 'scans/*.nii.gz' (quote it)")
    p.add_argument("output_dir", help="folder for the outputs (created if missing)")
    p.add_argument("--spacing", type=float, nargs="+", default=None,
                   help="resample to this spacing in mm (one value, or one per spatial dim)")
    p.add_argument("--pyramid", action="store_true", help="write a multiscale pyramid")
    p.add_argument("--levels", type=int, default=None,
                   help="pyramid levels including level 0 (default: until one chunk)")
    p.add_argument("--format", dest="fmt", choices=["ome-zarr", "nifti"], default="ome-zarr",
                   help="output format (default ome-zarr)")
    p.add_argument("--scheduler", default="local",
                   help="'local' (a LocalCluster), a scheduler address tcp://host:port, or "
                        "'none' to run in this process (default local)")
    p.add_argument("--workers", type=int, default=2, help="workers of a local cluster")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run_cli(args: Any) -> int:
    """Run ``spatial-xr batch``; exit status 1 when any input failed."""
    spacing = None
    if args.spacing is not None:
        spacing = args.spacing[0] if len(args.spacing) == 1 else tuple(args.spacing)
    scheduler = None if str(args.scheduler).lower() == "none" else args.scheduler
    report = run_batch(args.inputs, args.output_dir, spacing=spacing, pyramid=args.pyramid,
                       levels=args.levels,
                       fmt=args.fmt, scheduler=scheduler, n_workers=args.workers,
                       overwrite=args.overwrite, progress=not args.no_progress)
    print(report.summary())
    return 1 if report.failures else 0
