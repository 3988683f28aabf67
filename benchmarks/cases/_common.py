"""Helpers shared by the case modules: feature checks and warm-up."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["accessor_has", "checksum", "module_has", "reader_registered", "warm_spatial_xr"]


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


def warm_spatial_xr(p: dict[str, Any]) -> Any:
    """Import spatial_xr and open and compute a tiny NIfTI file once, so that one-time lazy
    imports (xarray loads its duck-array modules on first use, readers import on first
    open) are not counted in the timed call."""
    import nibabel as nib
    import numpy as np

    import spatial_xr

    out = Path(p["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    path = out / "warm.nii"
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.int16), np.eye(4)), str(path))
    spatial_xr.open_image(path).values  # noqa: B018
    return spatial_xr
