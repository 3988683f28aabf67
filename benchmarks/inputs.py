"""Benchmark inputs, built once and cached under the scratch folder.

Each builder writes into ``<cache>/<profile>/`` and returns the path; a marker file
``.<name>.done`` records completion, so an interrupted build is redone and a complete
one is reused. All inputs derive from one synthetic CT-like volume with a fixed seed:
air (−1000 HU) outside an elliptic body of soft tissue (≈ 40 HU) with Gaussian noise
(σ 20 HU), a bone ring and a few round organs. Noise matters: it makes the data
compress like a real CT (about 2–3× with gzip), not like a blank phantom.

The CT geometry is the issue's: spacing 2.5 mm (z) × 0.7 mm (y) × 0.7 mm (x), identity
direction (LPS), origin (−179.2, −179.2, −375) mm.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["BUILDERS", "PROFILES", "Profile", "build", "ct_volume", "tiff_shape"]

SPACING_ZYX = (2.5, 0.7, 0.7)


@dataclass(frozen=True)
class Profile:
    """Sizes for one run mode.

    Attributes
    ----------
    name : str
        ``full``, ``quick`` or ``smoke``.
    ct_shape : tuple of int
        z, y, x of the CT volume (also the number of DICOM files).
    big_shape : tuple of int
        z, y, x of the out-of-core Zarr volume (int16).
    big_chunks : tuple of int
        Its Zarr chunks.
    batch_shape : tuple of int
        z, y, x of each of the 8 batch volumes.
    repeats : int
        Default repetitions per case.
    warmup : bool
        Run every side once, unmeasured, before the repetitions.
    memory_budget : str
        Budget for the out-of-core cases.
    """

    name: str
    ct_shape: tuple[int, int, int]
    big_shape: tuple[int, int, int]
    big_chunks: tuple[int, int, int]
    batch_shape: tuple[int, int, int]
    repeats: int
    warmup: bool
    memory_budget: str


PROFILES = {
    "full": Profile("full", (300, 512, 512), (512, 2048, 2048), (64, 256, 256),
                    (150, 256, 256), 3, False, "1.5GiB"),
    "quick": Profile("quick", (48, 160, 160), (128, 512, 512), (32, 128, 128),
                     (24, 64, 64), 1, False, "1.5GiB"),
    "smoke": Profile("smoke", (6, 24, 24), (16, 64, 64), (8, 32, 32),
                     (4, 16, 16), 1, False, "1.5GiB"),
}


def ct_volume(shape_zyx: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """A CT-like int16 volume (HU), shape ``shape_zyx``."""
    nz, ny, nx = shape_zyx
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float32)
    cy, cx = (ny - 1) / 2, (nx - 1) / 2
    r = np.sqrt(((yy - cy) / (0.38 * ny)) ** 2 + ((xx - cx) / (0.45 * nx)) ** 2)
    plane = np.full((ny, nx), -1000.0, np.float32)
    plane[r < 1.0] = 40.0
    plane[(r > 0.80) & (r < 0.88)] = 700.0
    for oy, ox, rad, hu in ((0.0, -0.2, 0.18, -800.0), (0.0, 0.2, 0.18, -800.0),
                            (0.25, 0.0, 0.1, 60.0)):
        rr = np.sqrt(((yy - cy) / ny - oy) ** 2 + ((xx - cx) / nx - ox) ** 2)
        plane[rr < rad * 0.5] = hu
    body = r < 1.0
    out = np.empty(shape_zyx, np.int16)
    noise_planes = rng.normal(0.0, 20.0, size=(min(nz, 16), ny, nx)).astype(np.float32)
    for z in range(nz):
        zfac = 1.0 + 0.1 * np.sin(z / max(nz, 1) * np.pi)
        sl = np.where(body, plane * zfac + noise_planes[(z * 7) % len(noise_planes)], plane)
        out[z] = np.clip(np.rint(sl), -1024, 3071).astype(np.int16)
    return out


def _origin_xyz(shape_zyx: tuple[int, int, int]) -> np.ndarray:
    nz, ny, nx = shape_zyx
    sz, sy, sx = SPACING_ZYX
    return np.array([-(nx - 1) * sx / 2, -(ny - 1) * sy / 2, -(nz - 1) * sz / 2])


def _affine_ras(shape_zyx: tuple[int, int, int]) -> np.ndarray:
    """NIfTI affine (RAS) for the CT grid with identity LPS direction."""
    sz, sy, sx = SPACING_ZYX
    o = _origin_xyz(shape_zyx)
    aff = np.diag([-sx, -sy, sz, 1.0])
    aff[:3, 3] = [-o[0], -o[1], o[2]]
    return aff


def _write_nifti(path: Path, vol_zyx: np.ndarray) -> None:
    import nibabel as nib

    img = nib.Nifti1Image(np.ascontiguousarray(vol_zyx.T), _affine_ras(vol_zyx.shape))
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(img.affine, code=1)
    img.set_sform(img.affine, code=1)
    # nibabel's default gzip level (6) is what users' files typically have
    nib.save(img, str(path))


def _ct_nii(root: Path, prof: Profile) -> Path:
    path = root / "ct.nii"
    _write_nifti(path, ct_volume(prof.ct_shape))
    return path


def _ct_nii_gz(root: Path, prof: Profile) -> Path:
    path = root / "ct.nii.gz"
    _write_nifti(path, ct_volume(prof.ct_shape))
    return path


def _ct_mgh(root: Path, prof: Profile, suffix: str = ".mgh") -> Path:
    """The CT as MGH/MGZ, written by nibabel."""
    import nibabel as nib

    vol = ct_volume(prof.ct_shape)
    path = root / f"ct{suffix}"
    nib.save(nib.MGHImage(np.ascontiguousarray(vol.T), _affine_ras(vol.shape)), str(path))
    return path


def _ct_mgz(root: Path, prof: Profile) -> Path:
    return _ct_mgh(root, prof, ".mgz")


def _ct_vtk(root: Path, prof: Profile) -> Path:
    """The CT as binary VTK legacy structured points, written by SimpleITK."""
    import SimpleITK as sitk

    vol = ct_volume(prof.ct_shape)
    img = sitk.GetImageFromArray(vol)
    img.SetSpacing(SPACING_ZYX[::-1])
    img.SetOrigin(_origin_xyz(vol.shape).tolist())
    path = root / "ct.vtk"
    sitk.WriteImage(img, str(path))
    return path


def _write_nrrd_sitk(path: Path, vol_zyx: np.ndarray, compress: bool) -> None:
    """The CT written as NRRD by SimpleITK (as ITK-based tools and 3D Slicer write it)."""
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(vol_zyx)
    img.SetSpacing(SPACING_ZYX[::-1])
    img.SetOrigin(_origin_xyz(vol_zyx.shape).tolist())
    sitk.WriteImage(img, str(path), useCompression=compress)


def _ct_nrrd(root: Path, prof: Profile) -> Path:
    path = root / "ct.nrrd"
    _write_nrrd_sitk(path, ct_volume(prof.ct_shape), compress=False)
    return path


def _ct_nrrd_gz(root: Path, prof: Profile) -> Path:
    path = root / "ct_gz.nrrd"
    _write_nrrd_sitk(path, ct_volume(prof.ct_shape), compress=True)
    return path


def _ct_dicom(root: Path, prof: Profile) -> Path:
    """An uncompressed CT series, one file per slice, written with pydicom: stored values
    are HU + 1024 (int16), RescaleIntercept −1024, as scanners commonly write."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder = root / "ct_dicom"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    vol = ct_volume(prof.ct_shape)
    origin = _origin_xyz(prof.ct_shape)
    sz, sy, sx = SPACING_ZYX
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    order = np.random.default_rng(1).permutation(vol.shape[0])  # names unrelated to order
    for z in range(vol.shape[0]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.FrameOfReferenceUID = frame
        ds.Modality = "CT"
        ds.PatientName, ds.PatientID = "Bench^Phantom", "BENCH0001"
        # the study module in full (type 2 tags), as rt-utils copies it into structure sets
        ds.PatientBirthDate, ds.PatientSex = "", ""
        ds.StudyDate, ds.StudyTime, ds.StudyID = "20240101", "120000", "1"
        ds.ReferringPhysicianName, ds.AccessionNumber = "", ""
        ds.SeriesDescription = "benchmark phantom"
        ds.SeriesNumber, ds.InstanceNumber = 1, z + 1
        ds.ImagePositionPatient = [f"{origin[0]:.4f}", f"{origin[1]:.4f}",
                                   f"{origin[2] + z * sz:.4f}"]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [sy, sx]
        ds.SliceThickness = sz
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = vol.shape[1], vol.shape[2]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.PixelRepresentation = 1
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
        ds.PixelData = (vol[z].astype(np.int16) + 1024).astype("<i2").tobytes()
        ds.save_as(folder / f"IM{order[z]:05d}.dcm", enforce_file_format=True)
    return folder


RTSTRUCT_ROIS = ("body", "bone", "lungs")
"""ROIs of the benchmark structure set (thresholds of the CT phantom)."""


def _ct_rtstruct(root: Path, prof: Profile) -> Path:
    """An RT Structure Set on the CT series (``ct_dicom``), built by rt-utils from masks
    of the phantom: the body outline, the bone ring (a hole on every slice) and the two
    lungs. The series is built first when missing."""
    from rt_utils import RTStructBuilder

    series = root / "ct_dicom"
    if not (root / ".ct_dicom.done").exists() or not series.exists():
        _ct_dicom(root, prof)
        (root / ".ct_dicom.done").write_text("ok\n")
    vol = ct_volume(prof.ct_shape)
    masks = {"body": vol > -950, "bone": vol > 400,
             "lungs": (vol > -950) & (vol < -600)}
    rt = RTStructBuilder.create_new(dicom_series_path=str(series))
    for n, name in enumerate(RTSTRUCT_ROIS):
        rt.add_roi(mask=np.moveaxis(masks[name], 0, 2), name=name,
                   color=[(70 * n) % 256, 180, 90])
    out = root / "ct_rtstruct.dcm"
    rt.save(str(out))
    return out


def seg_labels(vol: np.ndarray) -> np.ndarray:
    """Three tissue classes of the CT by HU (soft tissue, brighter, brightest), uint8."""
    return np.digitize(vol, [0, 150, 600]).astype(np.uint8)


def _ct_seg(root: Path, prof: Profile) -> Path:
    """A DICOM SEG (BINARY, 1-bit, highdicom) of three classes of the CT series, on every
    slice of the ``ct_dicom`` series, next to it."""
    import warnings

    import highdicom as hd
    import pydicom
    from pydicom.uid import generate_uid

    series = root / "ct_dicom"
    if not (root / ".ct_dicom.done").exists() or not series.exists():
        _ct_dicom(root, prof)
        (root / ".ct_dicom.done").write_text("ok\n")
    dss = [pydicom.dcmread(f, stop_before_pixels=True) for f in sorted(series.iterdir())]
    dss.sort(key=lambda d: float(d.ImagePositionPatient[2]))
    for d in dss:  # type 2 attributes the series leaves out; highdicom copies them
        for kw in ("PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                   "AccessionNumber", "ReferringPhysicianName", "StudyID"):
            if kw not in d:
                setattr(d, kw, "")
    labels = seg_labels(ct_volume(prof.ct_shape))
    tissue = hd.sr.CodedConcept("85756007", "SCT", "Tissue")
    descs = [hd.seg.SegmentDescription(
        segment_number=i, segment_label=name, segmented_property_category=tissue,
        segmented_property_type=tissue, algorithm_type="MANUAL")
        for i, name in enumerate(("soft", "dense", "bone"), start=1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seg = hd.seg.Segmentation(
            source_images=dss, pixel_array=labels, segmentation_type="BINARY",
            segment_descriptions=descs, series_instance_uid=generate_uid(), series_number=2,
            sop_instance_uid=generate_uid(), instance_number=1, manufacturer="bench",
            manufacturer_model_name="bench", software_versions="1", device_serial_number="1")
    path = root / "ct_seg.dcm"
    seg.save_as(path)
    return path


def _write_metaimage_sitk(path: Path, prof: Profile, compress: bool) -> Path:
    """The CT written by SimpleITK itself (``WriteImage``, its default zlib level)."""
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(ct_volume(prof.ct_shape))
    img.SetSpacing([float(v) for v in SPACING_ZYX[::-1]])
    img.SetOrigin([float(v) for v in _origin_xyz(prof.ct_shape)])
    sitk.WriteImage(img, str(path), useCompression=compress)
    return path


def _ct_mha(root: Path, prof: Profile) -> Path:
    return _write_metaimage_sitk(root / "ct.mha", prof, compress=False)


def _ct_mha_zlib(root: Path, prof: Profile) -> Path:
    return _write_metaimage_sitk(root / "ct_zlib.mha", prof, compress=True)


def _ct_mhd(root: Path, prof: Profile) -> Path:
    return _write_metaimage_sitk(root / "ct.mhd", prof, compress=False)


def _big_zarr(root: Path, prof: Profile) -> Path:
    """A plain Zarr v3 array (int16, zstd) of ``big_shape``, written chunk by chunk."""
    import zarr

    path = root / "big.zarr"
    if path.exists():
        shutil.rmtree(path)
    arr = zarr.create_array(str(path), shape=prof.big_shape, chunks=prof.big_chunks,
                            dtype="int16", fill_value=0)
    cz = prof.big_chunks[0]
    nz, ny, nx = prof.big_shape
    base = ct_volume((cz, ny, nx), seed=2)
    for z0 in range(0, nz, cz):
        block = np.roll(base, z0 // cz, axis=0)[: min(cz, nz - z0)]
        arr[z0 : z0 + block.shape[0]] = block
    arr.attrs["spacing_zyx"] = [1.0, 0.5, 0.5]
    return path


def _big_omezarr(root: Path, prof: Profile) -> Path:
    """The out-of-core volume as a one-level OME-Zarr 0.5 store (128³ chunks), written
    chunk by chunk with spatial_xr."""
    import dask.array as dsa
    import zarr

    import spatial_xr

    src = build("big_zarr", root.parent, prof)
    z = zarr.open_array(str(src), mode="r")
    da = spatial_xr.from_array(dsa.from_zarr(z), spacing=tuple(z.attrs["spacing_zyx"]))
    path = root / "big.ome.zarr"
    da.spatial.to_ome_zarr(str(path), pyramid=False, chunks=128, overwrite=True)
    return path


def _batch(root: Path, prof: Profile) -> Path:
    folder = root / "batch"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    for i in range(8):
        _write_nifti(folder / f"vol{i}.nii", ct_volume(prof.batch_shape, seed=10 + i))
    return folder


TIFF_SHAPES = {"full": (32768, 32768), "quick": (8192, 8192), "smoke": (512, 512)}
"""y, x of the pyramidal OME-TIFF per profile (uint16: 2 GiB, 128 MiB, 512 KiB)."""
TIFF_TILE = 256
TIFF_LEVELS = 3


def tiff_shape(prof: Profile) -> tuple[int, int]:
    """y, x of level 0 of the OME-TIFF input for ``prof``."""
    return TIFF_SHAPES[prof.name]


def _tiff_tiles(ny: int, nx: int, seed: int) -> Any:
    """Tiles of a microscopy-like uint16 plane (smooth structures, shot noise), generated
    one tile at a time so that a 2 GiB input never sits in memory."""
    t = TIFF_TILE
    for ty in range(0, ny, t):
        for tx in range(0, nx, t):
            yy, xx = np.mgrid[ty:min(ty + t, ny), tx:min(tx + t, nx)].astype(np.float32)
            base = 800 + 600 * np.sin(xx / 97.0) * np.cos(yy / 61.0) ** 2
            rng = np.random.default_rng((seed, ty, tx))
            yield np.clip(rng.poisson(np.maximum(base, 1)), 0, 65535).astype(np.uint16)


def _tiff_pyramid(root: Path, prof: Profile) -> Path:
    """A tiled (256²), zlib-compressed, pyramidal OME-TIFF (3 levels as SubIFDs, 0.325 µm
    pixels) of ``tiff_shape(prof)`` uint16, written by tifffile."""
    import tifffile

    ny, nx = tiff_shape(prof)
    path = root / "pyramid.ome.tif"
    md = {"axes": "YX", "PhysicalSizeX": 0.325, "PhysicalSizeXUnit": "µm",
          "PhysicalSizeY": 0.325, "PhysicalSizeYUnit": "µm"}
    opts = dict(tile=(TIFF_TILE, TIFF_TILE), compression="zlib", photometric="minisblack",
                dtype=np.uint16)
    with tifffile.TiffWriter(path, bigtiff=True, ome=True) as tw:
        tw.write(_tiff_tiles(ny, nx, 0), shape=(ny, nx), subifds=TIFF_LEVELS - 1,
                 metadata=md, **opts)
        for k in range(1, TIFF_LEVELS):
            f = 2**k
            tw.write(_tiff_tiles(ny // f, nx // f, k), shape=(ny // f, nx // f),
                     subfiletype=1, **opts)
    return path


BUILDERS: dict[str, Callable[[Path, Profile], Path]] = {
    "ct_nii": _ct_nii,
    "ct_nii_gz": _ct_nii_gz,
    "ct_nrrd": _ct_nrrd,
    "ct_nrrd_gz": _ct_nrrd_gz,
    "ct_dicom": _ct_dicom,
    "ct_mgh": _ct_mgh,
    "ct_mgz": _ct_mgz,
    "ct_vtk": _ct_vtk,
    "big_zarr": _big_zarr,
    "big_omezarr": _big_omezarr,
    "batch": _batch,
    "ct_mha": _ct_mha,
    "ct_mha_zlib": _ct_mha_zlib,
    "ct_mhd": _ct_mhd,
    "tiff_pyramid": _tiff_pyramid,
    "ct_rtstruct": _ct_rtstruct,
    "ct_seg": _ct_seg,
}
_NAMES = {"ct_nii": "ct.nii", "ct_nii_gz": "ct.nii.gz", "ct_nrrd": "ct.nrrd",
          "ct_nrrd_gz": "ct_gz.nrrd", "ct_dicom": "ct_dicom",
          "ct_mgh": "ct.mgh", "ct_mgz": "ct.mgz", "ct_vtk": "ct.vtk",
          "big_zarr": "big.zarr", "big_omezarr": "big.ome.zarr", "batch": "batch",
          "ct_mha": "ct.mha", "ct_mha_zlib": "ct_zlib.mha", "ct_mhd": "ct.mhd",
          "tiff_pyramid": "pyramid.ome.tif", "ct_rtstruct": "ct_rtstruct.dcm",
          "ct_seg": "ct_seg.dcm"}


def build(name: str, cache: Path, prof: Profile, log: Callable[[str], Any] = print) -> Path:
    """Path of input ``name`` for profile ``prof``, building it if not cached.

    The builder runs in a subprocess (``python -m benchmarks.inputs``): a Linux process
    inherits its parent's peak RSS through fork and exec, so the runner must stay small
    for the children's ``ru_maxrss`` to mean anything.
    """
    root = cache / prof.name
    root.mkdir(parents=True, exist_ok=True)
    marker = root / f".{name}.done"
    path = root / _NAMES[name]
    if marker.exists() and path.exists():
        return path
    log(f"building input {name} ({prof.name}) ...")
    subprocess.run([sys.executable, "-m", "benchmarks.inputs", name, str(cache), prof.name],
                   check=True, cwd=Path(__file__).resolve().parent.parent)
    return path


def _build_here(name: str, cache: Path, prof: Profile) -> Path:
    root = cache / prof.name
    out = BUILDERS[name](root, prof)
    (root / f".{name}.done").write_text("ok\n")
    os.sync()
    return out


if __name__ == "__main__":
    _build_here(sys.argv[1], Path(sys.argv[2]), PROFILES[sys.argv[3]])
