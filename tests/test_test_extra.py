"""The suite's guard (tests/conftest.py): with the CI variable set, a missing test
dependency fails the run instead of skipping tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.extras_check import extra_requirements, missing_modules

TESTS = Path(__file__).resolve().parent


def test_every_requirement_of_the_test_extra_is_checked() -> None:
    names = [r.split(">")[0].split("[")[0] for r in extra_requirements("test")]
    assert {"pytest", "SimpleITK", "itk", "napari", "moto", "uv"} <= set(names)


def test_missing_outdated_and_broken_modules_are_reported() -> None:
    problems = missing_modules(["surely-absent-distribution>=1", "pytest>=999", "packaging",
                                "pytest-xdist>=3"])
    assert len(problems) == 2
    assert problems[0] == "surely-absent-distribution>=1 (not installed)"
    assert problems[1].startswith("pytest>=999 (") and problems[1].endswith(" installed)")


def _run_guarded(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_needs_module.py").write_text(
        "import pytest\n"
        "absent = pytest.importorskip('surely_absent_module_xyz')\n\n"
        "def test_uses_it():\n"
        "    assert absent\n")
    (tmp_path / "test_plain.py").write_text("def test_runs():\n    assert True\n")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(TESTS.parent)])
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), "-o", "addopts=-ra", str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)


def test_importorskip_fails_the_run_in_ci(tmp_path: Path) -> None:
    run = _run_guarded(tmp_path, ci=True)
    assert run.returncode == 2, run.stdout + run.stderr  # a collection error
    assert "surely_absent_module_xyz" in run.stdout
    assert "every test must run here" in run.stdout


def test_importorskip_skips_outside_ci(tmp_path: Path) -> None:
    run = _run_guarded(tmp_path, ci=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 1 skipped" in run.stdout and "SKIPPED" in run.stdout  # -ra lists it
