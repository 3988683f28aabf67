"""The benchmark machinery itself (runner, child processes, table), on tiny inputs.

No timing assertions: these tests check that cases run in fresh processes, alternate,
report time and memory, that failures and missing features become table rows instead of
crashes, and that results are compared between sides.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks import inputs, runner
from benchmarks.harness import Case, Side, format_table, rows_for, run_case, select

REF = "benchmarks.cases.reference"


@pytest.fixture
def params(tmp_path: Path) -> dict[str, str]:
    path = inputs.build("ct_nii", tmp_path / "cache", inputs.PROFILES["smoke"], log=lambda s: None)
    work = tmp_path / "work"
    work.mkdir()
    return {"input_path": str(path), "input_ct_nii": str(path), "work_root": str(work)}


def test_ct_volume_is_ct_like() -> None:
    vol = inputs.ct_volume((4, 32, 32))
    assert vol.dtype == np.int16 and vol.shape == (4, 32, 32)
    assert np.all(vol[:, 0, 0] == -1000)  # air outside the body
    assert vol.max() > 600  # bone
    assert 5 < np.std(vol[:, 14:18, 12:14]) < 60  # noisy soft tissue inside


def test_select_by_substring_and_glob() -> None:
    cases = [Case("nifti .nii open", Side("a", "m:f")), Case("dicom scan", Side("a", "m:f"))]
    assert [c.name for c in select(cases, "NIFTI")] == ["nifti .nii open"]
    assert [c.name for c in select(cases, "d*scan")] == ["dicom scan"]
    assert len(select(cases, None)) == 2


def test_run_case_alternates_and_summarises(params: dict[str, str]) -> None:
    case = Case("gunzip-like", Side("read A", f"{REF}:raw_read"),
                peers=[Side("read B", f"{REF}:raw_read")])
    log: list[str] = []
    outcomes = run_case(case, params, repeats=2, warmup=False, log=log.append)
    assert len(outcomes) == 2 and all(len(rep) == 2 for rep in outcomes)
    # repetition 1 runs ours first, repetition 2 the peer first
    assert log[0].startswith("  [1/2] read A") and log[2].startswith("  [2/2] read B")
    for rep in outcomes:
        for o in rep:
            assert o.error is None
            assert o.seconds is not None and o.seconds >= 0
            assert o.rss_peak_mib is not None and o.rss_peak_mib >= o.rss_base_mib > 0
            assert o.extra["bytes"] == Path(params["input_path"]).stat().st_size
    (row,) = rows_for(case, outcomes)
    assert row.ratio is not None and row.reps == 2 and not row.status
    assert "GB/s" in row.extra["note"]
    table = format_table([row])
    assert "| gunzip-like | read A | read B |" in table


def test_failing_side_is_reported_not_raised(params: dict[str, str]) -> None:
    case = Case("broken", Side("ours", f"{REF}:no_such_factory"),
                peers=[Side("peer", f"{REF}:raw_read")])
    outcomes = run_case(case, params, repeats=3, warmup=False)
    assert len(outcomes) == 1  # stops after the first failing repetition
    (row,) = rows_for(case, outcomes)
    assert row.status.startswith("error (ours): AttributeError")
    assert "error (ours)" in format_table([row])


def test_differing_results_are_flagged(params: dict[str, str]) -> None:
    case = Case("mismatch", Side("zlib", f"{REF}:gunzip_zlib"),
                peers=[Side("isal", f"{REF}:gunzip_isal")])
    gz = Path(params["work_root"]) / "x.gz"
    import gzip

    gz.write_bytes(gzip.compress(b"abc" * 1000))
    outcomes = run_case(case, {**params, "input_path": str(gz)}, repeats=1, warmup=False)
    (row,) = rows_for(case, outcomes)
    assert not row.status  # both decompress to the same number of bytes
    outcomes[0][1].summary = -1
    (row,) = rows_for(case, outcomes)
    assert row.status.startswith("results differ")


def test_runner_end_to_end_with_missing_feature(tmp_path: Path, monkeypatch) -> None:
    cases = [
        Case("memory copy", Side("numpy.copyto", f"{REF}:memcpy"), inputs=("ct_nii",)),
        Case("future feature", Side("spatial_xr", f"{REF}:memcpy"),
             peers=[Side("someone", f"{REF}:memcpy")], requires=lambda: "not merged yet"),
    ]
    monkeypatch.setattr(runner, "all_cases", lambda: cases)
    monkeypatch.setattr(runner, "prepare_children", lambda cache: None)
    readme = tmp_path / "README.md"
    readme.write_text(f"# B\n\nintro\n\n{runner.START}\nold\n{runner.END}\n\nfooter\n")
    monkeypatch.setattr(runner, "README", readme)
    cache = tmp_path / "cache"
    assert runner.main(["--smoke", "--cache", str(cache), "--write-readme"]) == 0
    text = (cache / "results-smoke.md").read_text()
    assert "| memory copy | numpy.copyto | – |" in text
    assert "not available (feature missing: not merged yet)" in text
    body = readme.read_text()
    assert body.startswith("# B\n\nintro") and body.rstrip().endswith("footer")
    assert "old" not in body and "| memory copy |" in body
