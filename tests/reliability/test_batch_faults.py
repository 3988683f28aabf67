"""Distributed faults in the batch path: a worker process killed (SIGKILL) in the middle of
a run loses and duplicates nothing — the run completes with outputs byte-identical to a
single-process run, and no temporary is left in the output folder."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from spatial_xr.batch import run_batch

N_INPUTS = 6


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("batch_inputs")
    rng = np.random.default_rng(3)
    paths = []
    for i in range(N_INPUTS):
        arr = rng.normal(size=(48, 40, 36)).astype(np.float32)
        path = folder / f"scan{i}.nii"
        nib.save(nib.Nifti1Image(arr, np.diag([1.2, 1.0, 1.5, 1.0])), path)
        paths.append(path)
    return paths


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_worker_killed_mid_run_loses_and_duplicates_nothing(inputs: list[Path],
                                                            tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    reference = tmp_path / "reference"
    report = run_batch([str(p) for p in inputs], reference, spacing=0.8, fmt="nifti",
                       scheduler=None, progress=False)
    assert not report.failures

    out = tmp_path / "distributed"
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        pids = list(client.run(os.getpid).values())
        result: dict[str, object] = {}

        def run() -> None:
            result["report"] = run_batch([str(p) for p in inputs], out, spacing=0.8,
                                         fmt="nifti", scheduler=client, progress=False)

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 120
        while not list(out.glob("*.nii")) and time.monotonic() < deadline:
            time.sleep(0.05)
        done_before_kill = len(list(out.glob("*.nii")))
        os.kill(pids[0], signal.SIGKILL)  # the nanny restarts it; its task is re-run
        thread.join(timeout=600)
        assert not thread.is_alive(), "the batch hung after a worker was killed"

    assert 0 < done_before_kill < N_INPUTS, "the kill did not happen mid-run"
    report = result["report"]
    assert not report.failures, report.summary()  # type: ignore[attr-defined]
    assert len(report.outputs) == N_INPUTS  # type: ignore[attr-defined]
    got, want = _files(out), _files(reference)
    assert sorted(got) == sorted(want)  # nothing lost, nothing duplicated, no temporaries
    for name in want:
        assert got[name] == want[name], f"{name} differs from the single-process output"
