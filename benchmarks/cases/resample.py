"""Resample the CT volume (2.5 × 0.7 × 0.7 mm) to 1 mm isotropic: linear and nearest,
axis-aligned and with a 20° oblique transform, in memory; and file to file.

Both sides start from the image already in memory (read in the setup, not timed) and end
with the resampled voxels in a NumPy array. Peer: SimpleITK ``ResampleImageFilter`` with
its default number of threads, same output grid, same transform, same interpolator.

Output grid (spatial_xr's documented rule, reproduced for SimpleITK here): 1 mm spacing,
``round(n · s / 1 mm)`` voxels per axis, same direction, same centre of the voxel-corner
box. The oblique cases add ``transform=``: a rotation of 20° about the x axis through the
image centre, mapping output points to input points (SimpleITK's convention). The
summary compared between sides is the output shape (equal shapes mean equal grids); the
mean value is in the notes.

File to file (linear, axis-aligned): each side starts from the ``.nii`` path and ends with
the resampled volume written to a new ``.nii`` — what a preprocessing script does. Ours
opens lazily and streams (each output chunk reads its own input box, the writer writes
z-slab by z-slab); SimpleITK reads the whole image, resamples, writes. The summary is the
mean of the written voxels to 3 decimals (read back after the measurement; a chunk
computes continuous indices relative to its input box, so a few integer voxels may be
truncated one unit apart from SimpleITK's, as documented in docs/resampling.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.cases._common import accessor_has, warm_spatial_xr
from benchmarks.harness import Case, Side

M = "benchmarks.cases.resample"
ANGLE_DEG = 20.0


def _available() -> str | None:
    return accessor_has("resample")


def _rotation(centre_xyz: Any) -> Any:
    """4×4 world affine: rotation by ANGLE_DEG about the x axis through ``centre_xyz``."""
    import numpy as np

    a = np.deg2rad(ANGLE_DEG)
    r = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    m = np.eye(4)
    m[:3, :3] = r
    m[:3, 3] = np.asarray(centre_xyz) - r @ np.asarray(centre_xyz)
    return m


def _centre(origin: Any, spacing: Any, size: Any, direction: Any) -> Any:
    import numpy as np

    d = np.asarray(direction, float).reshape(3, 3)
    return np.asarray(origin) + d @ (np.asarray(spacing) * (np.asarray(size) - 1) / 2)


def ours(p: dict[str, Any]) -> Callable[[], Any]:
    import numpy as np

    spatial_xr = warm_spatial_xr(p)
    da = spatial_xr.open_image(p["input_path"]).load()
    g = da.spatial.grid
    transform = None
    if p["oblique"]:
        transform = _rotation(_centre(g.origin_xyz, g.spacing_xyz, g.shape_xyz,
                                      g.direction_xyz))
    # the first call loads the compiled kernels and lazy imports: make it, untimed, on a
    # small crop around the centre (which the rotation keeps inside the image, so every
    # kernel runs)
    small = da.isel({d: slice(max(0, n // 2 - 8), n // 2 + 8) for d, n in da.sizes.items()})
    _ = small.spatial.resample(spacing=1.0, interpolation=p["interpolation"],
                               transform=transform).values

    def run() -> Any:
        out = da.spatial.resample(spacing=1.0, interpolation=p["interpolation"],
                                  transform=transform)
        arr = out.values
        return {"summary": list(arr.shape),
                "extra": lambda: {"note": f"mean {float(np.mean(arr)):.3f}, "
                                          f"dtype {arr.dtype}"}}

    return run


def _grid_1mm(img: Any) -> tuple[list[int], list[float], Any]:
    """Size and origin of the 1 mm output grid of a SimpleITK image (spatial_xr's rule),
    and the image centre."""
    import numpy as np

    size = np.array(img.GetSize())
    spacing = np.array(img.GetSpacing())
    direction = np.array(img.GetDirection()).reshape(3, 3)
    centre = _centre(img.GetOrigin(), spacing, size, direction)
    new_size = np.maximum(1, np.floor(size * spacing / 1.0 + 0.5)).astype(int)
    new_origin = centre - direction @ (1.0 * (new_size - 1) / 2)
    return [int(v) for v in new_size], [float(v) for v in new_origin], centre


def sitk(p: dict[str, Any]) -> Callable[[], Any]:
    import numpy as np
    import SimpleITK as sitk

    img = sitk.ReadImage(p["input_path"])
    new_size, new_origin, centre = _grid_1mm(img)
    f = sitk.ResampleImageFilter()
    f.SetOutputSpacing((1.0, 1.0, 1.0))
    f.SetSize(new_size)
    f.SetOutputOrigin(new_origin)
    f.SetOutputDirection(img.GetDirection())
    f.SetInterpolator(sitk.sitkLinear if p["interpolation"] == "linear"
                      else sitk.sitkNearestNeighbor)
    f.SetDefaultPixelValue(0)
    if p["oblique"]:
        m = _rotation(centre)
        t = sitk.AffineTransform(3)
        t.SetMatrix(m[:3, :3].ravel().tolist())
        t.SetTranslation(m[:3, 3].tolist())
        f.SetTransform(t)

    def run() -> Any:
        res = f.Execute(img)
        arr = sitk.GetArrayViewFromImage(res)

        def note() -> dict[str, str]:
            assert res is not None  # owns the memory of the view
            return {"note": f"mean {float(np.mean(arr)):.3f}, dtype {arr.dtype}"}

        return {"summary": list(arr.shape), "extra": note}

    return run


def _written_mean(path: str) -> Callable[[], str]:
    def mean() -> str:
        import nibabel as nib
        import numpy as np

        return f"{np.asarray(nib.load(path).dataobj).mean(dtype=np.float64):.3f}"

    return mean


def ours_file(p: dict[str, Any]) -> Callable[[], Any]:
    from pathlib import Path

    spatial_xr = warm_spatial_xr(p)
    out = str(Path(p["out_dir"]) / "ours_1mm.nii")
    warm = spatial_xr.open_image(Path(p["out_dir"]) / "warm.nii")
    warm.spatial.resample(spacing=1.0).spatial.to_nifti(Path(p["out_dir"]) / "warm_1mm.nii",
                                                         overwrite=True)

    def run() -> Any:
        da = spatial_xr.open_image(p["input_path"])
        da.spatial.resample(spacing=1.0, interpolation="linear").spatial.to_nifti(
            out, overwrite=True)
        return {"summary": _written_mean(out)}

    return run


def sitk_file(p: dict[str, Any]) -> Callable[[], Any]:
    from pathlib import Path

    import SimpleITK as sitk

    out = str(Path(p["out_dir"]) / "sitk_1mm.nii")
    Path(p["out_dir"]).mkdir(parents=True, exist_ok=True)
    warm = str(Path(p["out_dir"]) / "sitk_warm.nii")
    sitk.WriteImage(sitk.Image(4, 4, 4, sitk.sitkInt16), warm)
    sitk.ReadImage(warm)

    def run() -> Any:
        img = sitk.ReadImage(p["input_path"])
        new_size, new_origin, _ = _grid_1mm(img)
        res = sitk.Resample(img, new_size, sitk.Transform(), sitk.sitkLinear, new_origin,
                            (1.0, 1.0, 1.0), img.GetDirection(), 0, img.GetPixelID())
        sitk.WriteImage(res, out)
        return {"summary": _written_mean(out)}

    return run


CASES = [
    Case(f"resample to 1 mm, {interp}, {'20° oblique' if obl else 'axis-aligned'}",
         Side("spatial_xr", f"{M}:ours"), peers=[Side("SimpleITK ResampleImageFilter",
                                                      f"{M}:sitk")],
         inputs=("ct_nii",), params={"interpolation": interp, "oblique": obl},
         requires=_available)
    for obl in (False, True) for interp in ("linear", "nearest")
]
CASES.append(Case("resample to 1 mm, linear, file to file", Side("spatial_xr", f"{M}:ours_file"),
                  peers=[Side("SimpleITK ReadImage + Resample + WriteImage", f"{M}:sitk_file")],
                  inputs=("ct_nii",), requires=_available))
