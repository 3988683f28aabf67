"""Scaling and batch throughput.

- The pyramid job (open the CT ``.nii`` lazily, build the pyramid, write OME-Zarr) on a
  ``dask.distributed`` LocalCluster of worker processes, one thread each: 2 workers (the
  "ours" column) against 1 worker (the "peer" column), so the ratio is the time with 2
  workers as a fraction of the time with 1 (0.5 = perfect scaling). The ``.nii`` is opened
  with 128 × 128 × 512 chunks (``chunks={"z": 128, "y": 128}``): each holds whole 128³ write
  chunks, so every task reads its own part of the file. (With the reader's default
  256-slice slabs, one worker reads 128 MiB in one task and ships most of it to the other.)
  Level k is read back from the stored level k − 1 in blocks that make whole output
  chunks, so nothing else crosses between workers. Cluster start-up is not timed; the
  workers' peak RSS and the bytes they received from each other are in the notes.
- A batch of 8 volumes (``.nii``, each opened, pyramided and written as OME-Zarr, one
  after the other in one process, dask's threaded scheduler): the time shown is per input.
  Peer: the same loop with nibabel (read) + ngff-zarr (``to_multiscales`` with dask bin
  shrink, its fastest mean method here, + ``to_ngff_zarr``), given the same pyramid as
  ours (levels, 128³ chunks, Zstandard level 1: ``_ngff.same_pyramid``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.cases._common import accessor_has, warm_spatial_xr
from benchmarks.cases._ngff import ngff_image, ngff_pyramid_write, same_pyramid
from benchmarks.harness import Case, Side

M = "benchmarks.cases.scaling"


def _available() -> str | None:
    return accessor_has("pyramid", "to_ome_zarr")


def workers(p: dict[str, Any]) -> Callable[[], Any]:
    import resource

    from distributed import Client, LocalCluster

    spatial_xr = warm_spatial_xr(p)
    n = int(p["workers"])
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    out = str(Path(p["out_dir"]) / "ours.ome.zarr")
    chunks = {"z": 128, "y": 128}
    warm = spatial_xr.open_image(p["input_path"], chunks=chunks).isel(
        z=slice(0, 8), y=slice(0, 32), x=slice(0, 32))
    warm.spatial.to_ome_zarr(str(Path(p["out_dir"]) / "warm.ome.zarr"))

    def received(dask_worker: Any) -> int:
        return sum(int(e.get("total", 0)) for e in dask_worker.transfer_incoming_log)

    before = client.run(received)

    def run() -> Any:
        spatial_xr.open_image(p["input_path"], chunks=chunks).spatial.to_ome_zarr(out)

        def note() -> dict[str, Any]:
            peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
            moved = client.run(received)
            mib = ", ".join(f"{v / 1024:,.0f}" for v in peaks.values())
            got = ", ".join(f"{(moved[w] - before.get(w, 0)) / 2**20:,.1f}" for w in moved)
            client.close()
            cluster.close()
            return {"note": f"worker peak RSS {mib} MiB; received from other workers "
                            f"{got} MiB"}

        return {"summary": None, "extra": note}

    return run


def batch_ours(p: dict[str, Any]) -> Callable[[], Any]:
    spatial_xr = warm_spatial_xr(p)
    files = sorted(Path(p["input_path"]).glob("*.nii"))
    out = Path(p["out_dir"])
    spatial_xr.open_image(files[0]).spatial.to_ome_zarr(str(out / "warm.ome.zarr"))

    def run() -> Any:
        for f in files:
            spatial_xr.open_image(f).spatial.to_ome_zarr(str(out / f"{f.stem}.ome.zarr"))
        return {"summary": len(files), "extra": {"items": len(files)}}

    return run


def batch_ngff(p: dict[str, Any]) -> Callable[[], Any]:
    import nibabel as nib
    import numpy as np

    files = sorted(Path(p["input_path"]).glob("*.nii"))
    out = Path(p["out_dir"])

    def one(f: Path, dest: Path) -> None:
        img = nib.load(f, mmap=False)
        arr = np.ascontiguousarray(np.asarray(img.dataobj).T)
        zooms = img.header.get_zooms()[:3][::-1]
        ngff_pyramid_write(ngff_image(arr, zooms, (0, 0, 0)), str(dest), "dask_bin_shrink",
                           same_pyramid(arr.shape, zooms))

    one(files[0], out / "warm.ome.zarr")

    def run() -> Any:
        for f in files:
            one(f, out / f"{f.stem}.ome.zarr")
        return {"summary": len(files), "extra": {"items": len(files)}}

    return run


CASES = [
    Case("scaling: pyramid + OME-Zarr write on a LocalCluster, 2 workers vs 1",
         Side("spatial_xr, 2 workers", f"{M}:workers", {"workers": 2}),
         peers=[Side("spatial_xr, 1 worker", f"{M}:workers", {"workers": 1})],
         inputs=("ct_nii",), requires=_available, repeats=2),
    Case("batch of 8 volumes: open + pyramid + OME-Zarr write, time per input",
         Side("spatial_xr", f"{M}:batch_ours"),
         peers=[Side("nibabel + ngff-zarr dask_bin_shrink", f"{M}:batch_ngff")],
         inputs=("batch",), requires=_available, repeats=2),
]
