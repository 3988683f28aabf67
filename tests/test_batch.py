"""Distributed batch: a LocalCluster of 2 processes gives the single-process bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

import spatial_xr
from spatial_xr.batch import expand_inputs, output_name, run_batch
from spatial_xr.cli import main
from spatial_xr.errors import PathNotFoundError

distributed = pytest.importorskip("distributed", reason="distributed extra")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("batch-in")
    rng = np.random.default_rng(7)
    c, s = np.cos(0.3), np.sin(0.3)
    for n in range(4):
        da = spatial_xr.from_array(
            rng.integers(0, 1000, size=(6 + n, 9, 11), dtype=np.int16),
            spacing=(2.0, 0.8, 0.9), origin=(n, -n, 2.0 * n),
            direction=[[c, -s, 0], [s, c, 0], [0, 0, 1]])
        da.spatial.to_nifti(folder / f"case{n}.nii.gz")
    (folder / "broken.nii.gz").write_bytes(b"not a nifti file")
    return folder


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_distributed_run_is_byte_identical_and_survives_a_bad_input(
        inputs: Path, tmp_path: Path, client):
    pattern = str(inputs / "*.nii.gz")
    single = run_batch(pattern, tmp_path / "single", fmt="nifti", scheduler=None,
                       progress=False)
    multi = run_batch(pattern, tmp_path / "multi", fmt="nifti", scheduler=client,
                      progress=True)
    for report in (single, multi):
        assert len(report.items) == 5
        assert [Path(it.input).name for it in report.failures] == ["broken.nii.gz"]
        assert "FormatError" in report.failures[0].error
        assert len(report.outputs) == 4
        assert "broken.nii.gz" in report.summary()
    assert multi.workers == 2
    assert len(multi.peak_memory_per_worker) == 2
    assert all(v > 0 for v in multi.peak_memory_per_worker.values())
    a, b = _tree_bytes(tmp_path / "single"), _tree_bytes(tmp_path / "multi")
    assert sorted(a) == [f"case{n}.nii" for n in range(4)]
    assert a == b
    # the outputs hold the inputs' voxels and geometry (checked with SimpleITK)
    for n in range(4):
        ref = sitk.ReadImage(str(inputs / f"case{n}.nii.gz"))
        out = sitk.ReadImage(str(tmp_path / "multi" / f"case{n}.nii"))
        np.testing.assert_array_equal(sitk.GetArrayFromImage(out), sitk.GetArrayFromImage(ref))
        np.testing.assert_allclose(out.GetOrigin(), ref.GetOrigin(), atol=1e-5)
        np.testing.assert_allclose(out.GetDirection(), ref.GetDirection(), atol=1e-6)


def test_existing_outputs_fail_per_item_unless_overwrite(inputs: Path, tmp_path: Path, client):
    files = [inputs / "case0.nii.gz", inputs / "case1.nii.gz"]
    run_batch(files, tmp_path, fmt="nifti", scheduler=client, progress=False)
    again = run_batch(files, tmp_path, fmt="nifti", scheduler=client, progress=False)
    assert len(again.failures) == 2
    assert all("OverwriteError" in it.error for it in again.failures)
    forced = run_batch(files, tmp_path, fmt="nifti", scheduler=client, overwrite=True,
                       progress=False)
    assert not forced.failures


def test_output_name_clash_is_reported(inputs: Path, tmp_path: Path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "case0.nii.gz").write_bytes((inputs / "case0.nii.gz").read_bytes())
    report = run_batch([inputs / "case0.nii.gz", other / "case0.nii.gz"], tmp_path / "out",
                       fmt="nifti", scheduler=None, progress=False)
    assert [it.ok for it in report.items] == [True, False]
    assert "both map to 'case0.nii'" in report.items[1].error


def test_no_input_matches(tmp_path: Path):
    with pytest.raises(PathNotFoundError, match="glob"):
        run_batch(str(tmp_path / "*.nii.gz"), tmp_path / "out", scheduler=None)


def test_helpers():
    assert output_name("/a/b/ct.nii.gz", "ome-zarr") == "ct.ome.zarr"
    assert output_name("/a/series_3/", "nifti") == "series_3.nii"
    assert expand_inputs(["x.nii", "y.nii"]) == ["x.nii", "y.nii"]


def test_cli_batch_on_the_cluster(inputs: Path, tmp_path: Path, client,
                                  capsys: pytest.CaptureFixture[str]):
    code = main(["batch", str(inputs / "case*.nii.gz"), str(tmp_path / "cli"),
                 "--format", "nifti", "--scheduler", client.scheduler.address, "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    assert "4 of 4 inputs written" in out
    assert len(list((tmp_path / "cli").glob("*.nii"))) == 4
    code = main(["batch", str(inputs / "*.nii.gz"), str(tmp_path / "cli2"), "--format",
                 "nifti", "--scheduler", client.scheduler.address, "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1  # a failed input makes the exit status non-zero
    assert "broken.nii.gz" in captured.out


def test_ome_zarr_pyramid_with_resampling_is_byte_identical(inputs: Path, tmp_path: Path,
                                                           client):
    pattern = str(inputs / "case[01].nii.gz")
    kw = {"spacing": 1.5, "pyramid": True, "levels": 2, "fmt": "ome-zarr", "progress": False}
    single = run_batch(pattern, tmp_path / "single", scheduler=None, **kw)
    multi = run_batch(pattern, tmp_path / "multi", scheduler=client, **kw)
    assert not single.failures and not multi.failures
    a, b = _tree_bytes(tmp_path / "single"), _tree_bytes(tmp_path / "multi")
    assert len(a) > 4 and a == b
    out = spatial_xr.open_image(tmp_path / "multi" / "case1.ome.zarr")
    src = spatial_xr.open_image(inputs / "case1.nii.gz")
    assert out.spatial.spacing == {"z": 1.5, "y": 1.5, "x": 1.5}
    np.testing.assert_allclose(out.spatial.direction, src.spatial.direction, atol=1e-6)
    tree = spatial_xr.open_multiscale(tmp_path / "multi" / "case1.ome.zarr")
    assert len([n for n in tree.children if n.startswith("scale")]) >= 2
