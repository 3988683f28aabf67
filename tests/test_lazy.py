"""Package names imported on first use (spatial_xr/_lazy.py), checked on the packages that
use it, in fresh interpreters (``sys.modules``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> dict:
    script = f"import sys, json\nout = {{}}\n{code}\nprint(json.dumps(out))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, env=env, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_dicom_names_load_pydicom_on_first_use_only() -> None:
    out = _run(
        "import spatial_xr.io.dicom as d\n"
        "out['before'] = 'pydicom' in sys.modules\n"
        "out['listed'] = sorted(set(d.__all__) - set(dir(d)))\n"
        "f = d.open_dicom\n"
        "from spatial_xr.io.dicom.series import open_dicom\n"
        "out['same'] = f is open_dicom and vars(d)['open_dicom'] is open_dicom\n"
        "out['after'] = 'pydicom' in sys.modules\n"
    )
    assert out == {"before": False, "listed": [], "same": True, "after": True}


def test_top_level_names_and_subpackages_on_first_use() -> None:
    out = _run(
        "import spatial_xr\n"
        "out['ops_loaded'] = 'spatial_xr.ops.resample' in sys.modules\n"
        "out['ops'] = spatial_xr.ops.__name__\n"
        "out['sitk'] = spatial_xr.from_sitk.__module__\n"
        "out['in_dir'] = 'from_sitk' in dir(spatial_xr)\n"
    )
    assert out == {"ops_loaded": False, "ops": "spatial_xr.ops",
                   "sitk": "spatial_xr.convert.sitk", "in_dir": True}


def test_unknown_names_raise_attribute_error() -> None:
    import spatial_xr

    with pytest.raises(AttributeError, match="module 'spatial_xr' has no attribute 'nothing'"):
        spatial_xr.nothing  # noqa: B018
    out = _run(
        "import spatial_xr.io.dicom as d\n"
        "try:\n    d.mosaic\nexcept AttributeError as exc:\n    out['error'] = str(exc)\n"
        "out['loaded'] = 'spatial_xr.io.dicom.mosaic' in sys.modules\n"
    )  # a submodule is given on first use only where the package asks for it
    assert out == {"error": "module 'spatial_xr.io.dicom' has no attribute 'mosaic'",
                   "loaded": False}
