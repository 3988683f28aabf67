"""Analyze 7.5 and NIfTI pairs: nibabel's header files and nibabel-written pairs against
nibabel and SimpleITK, recognition, laziness, bad inputs."""

from __future__ import annotations

import gzip
import pickle
import shutil
from pathlib import Path

import nibabel as nib
import nibabel.openers
import numpy as np
import pytest
import SimpleITK as sitk

import spatial_xr
from spatial_xr.errors import FormatError, GeometryError, PathNotFoundError
from spatial_xr.geometry import lps_ras_flip
from spatial_xr.io.analyze import open_analyze
from spatial_xr.io.formats import find_format, recognise
from spatial_xr.testing import random_direction


def pair_from_header(src: Path, dest: Path, rng: np.random.Generator, gz: bool = False) -> Path:
    """Copy one of nibabel's header-only test files and give it random voxel data of the
    size and byte order its header declares."""
    hdr_path = dest / (src.name + (".gz" if gz else ""))
    img_path = dest / (src.stem + ".img" + (".gz" if gz else ""))
    klass = {b"ni1": nib.Nifti1Header, b"ni2": nib.Nifti2Header}.get(_magic(src),
                                                                         nib.AnalyzeHeader)
    with open(src, "rb") as f:
        header = klass.from_fileobj(f)
    dtype = header.get_data_dtype()
    n = int(np.prod(header.get_data_shape()))
    values = rng.integers(0, 120, n).astype(dtype.newbyteorder("="))
    raw = b"\x00" * int(header.get_data_offset()) + values.astype(dtype).tobytes()
    (gzip.open if gz else open)(hdr_path, "wb").write(src.read_bytes())
    (gzip.open if gz else open)(img_path, "wb").write(raw)
    return hdr_path


def _magic(path: Path) -> bytes:
    raw = path.read_bytes()
    return (raw[344:347] if raw[:4] in (b"\x5c\x01\x00\x00", b"\x00\x00\x01\x5c")
            else raw[4:7])


def assert_matches_nibabel(da, path: Path) -> None:
    img = nib.load(str(path))
    expected = np.asanyarray(img.dataobj)
    expected = expected.reshape(expected.shape + (1,) * (3 - expected.ndim))
    np.testing.assert_array_equal(da.transpose(*da.dims[::-1]).values, expected)
    assert da.dtype == expected.dtype.newbyteorder("=")
    np.testing.assert_allclose(da.spatial.affine, lps_ras_flip(img.affine), atol=1e-5)


# ---------------------------------------------------------------------- nibabel's headers
@pytest.mark.parametrize(
    ("name", "kind"),
    [("analyze.hdr", "Spm2Analyze"), ("nifti1.hdr", "Nifti1Pair"), ("nifti2.hdr", "Nifti2Pair")],
)
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_nibabel_header_files(nibabel_data: Path, tmp_path: Path, rng: np.random.Generator,
                              name: str, kind: str, gz: bool) -> None:
    hdr = pair_from_header(nibabel_data / name, tmp_path, rng, gz=gz)
    img = hdr.with_name(hdr.name.replace(".hdr", ".img"))
    assert find_format(hdr).name == find_format(img).name == "analyze"
    da = spatial_xr.open_image(img)  # either file opens the pair
    assert da.attrs["source_format"] == kind
    assert da.spatial.shape == {"z": 91, "y": 109, "x": 91}
    assert_matches_nibabel(da, hdr)
    assert da.spatial.orientation == "LAS"


def test_spm_analyze_scale_factor_follows_nibabel(nibabel_data: Path, tmp_path: Path,
                                                  rng: np.random.Generator) -> None:
    """analyze.hdr is SPM2 Analyze with funused1 = 1715.04: nibabel scales by it."""
    hdr = pair_from_header(nibabel_data / "analyze.hdr", tmp_path, rng)
    scaled = spatial_xr.open_image(hdr)
    raw = open_analyze(hdr, apply_scaling=False)
    assert raw.dtype == np.uint8 and scaled.dtype == np.float64
    assert raw.attrs["scale_slope"] == pytest.approx(1715.0445556640625)
    np.testing.assert_allclose(scaled.values, raw.values * raw.attrs["scale_slope"])


def test_against_simpleitk(nibabel_data: Path, tmp_path: Path, rng: np.random.Generator) -> None:
    """SimpleITK reads both pairs with NiftiImageIO: same voxels; for the NIfTI pair also
    the same geometry. For plain Analyze ITK ignores the orientation nibabel assumes
    (origin 0, identity direction), so only the voxels are compared."""
    nifti = pair_from_header(nibabel_data / "nifti1.hdr", tmp_path, rng)
    ours = spatial_xr.open_image(nifti)
    ref = sitk.ReadImage(str(nifti))
    np.testing.assert_array_equal(ours.values, sitk.GetArrayFromImage(ref))
    idx = rng.integers(0, [91, 109, 91], size=(20, 3))  # x, y, z
    theirs = np.array([ref.TransformIndexToPhysicalPoint(i.tolist()) for i in idx])
    np.testing.assert_allclose(ours.spatial.index_to_world(idx[:, ::-1]), theirs, atol=1e-4)

    analyze = pair_from_header(nibabel_data / "analyze.hdr", tmp_path, rng)
    raw = open_analyze(analyze, apply_scaling=False).isel(t=0)
    ref = sitk.ReadImage(str(analyze))
    np.testing.assert_array_equal(raw.values, sitk.GetArrayFromImage(ref))


# ---------------------------------------------------------------------- nibabel-written pairs
@pytest.mark.parametrize("klass", [nib.Nifti1Pair, nib.Nifti2Pair, nib.Spm99AnalyzeImage,
                                   nib.AnalyzeImage])
@pytest.mark.parametrize("suffix", [".img", ".img.gz"])
def test_nibabel_written_pairs(tmp_path: Path, rng: np.random.Generator, klass: type,
                               suffix: str) -> None:
    data = rng.integers(-100, 100, (9, 7, 5, 2)).astype(np.int16)
    aff = np.eye(4)
    if klass in (nib.Nifti1Pair, nib.Nifti2Pair):  # oblique
        aff[:3, :3] = random_direction(rng, det=-1.0) * [1.2, 0.8, 2.0]
    else:  # Analyze stores voxel sizes and (SPM) an origin only
        aff[:3, :3] = np.diag([-1.2, 0.8, 2.0])
    aff[:3, 3] = [10.0, -20.0, 30.0]
    path = tmp_path / f"pair{suffix}"
    nib.save(klass(data, aff), str(path))
    da = spatial_xr.open_image(path)
    assert da.dims == ("t", "z", "y", "x")
    assert_matches_nibabel(da, path)
    if klass in (nib.Nifti1Pair, nib.Nifti2Pair):
        np.testing.assert_allclose(da.spatial.affine, lps_ras_flip(aff), atol=1e-5)


def test_slab_reads_only_its_bytes_and_pickles(tmp_path: Path, rng: np.random.Generator,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    data = rng.integers(0, 1000, (64, 48, 40)).astype(np.int16)
    path = tmp_path / "s.img"
    nib.save(nib.Nifti1Pair(data, np.eye(4)), str(path))
    counted = {"n": 0}
    original = nibabel.openers.Opener.read

    def read(opener, *args):  # type: ignore[no-untyped-def]
        out = original(opener, *args)
        counted["n"] += len(out)
        return out

    monkeypatch.setattr(nibabel.openers.Opener, "read", read)
    da = spatial_xr.open_image(path)
    counted["n"] = 0
    slab = da.isel(z=slice(10, 20)).values
    assert counted["n"] == 10 * 48 * 64 * 2
    np.testing.assert_array_equal(slab, data.T[10:20])
    clone = pickle.loads(pickle.dumps(da.isel(z=slice(3, 5))))
    np.testing.assert_array_equal(clone.values, data.T[3:5])


# ---------------------------------------------------------------------- bad inputs
def test_missing_member_of_the_pair(tmp_path: Path, rng: np.random.Generator) -> None:
    path = tmp_path / "p.hdr"
    nib.save(nib.Nifti1Pair(np.zeros((3, 4, 5), np.uint8), np.eye(4)), str(path))
    (tmp_path / "p.img").unlink()
    with pytest.raises(PathNotFoundError, match=r"no voxel data file .*p\.img"):
        spatial_xr.open_image(path)


def test_truncated_data(tmp_path: Path) -> None:
    path = tmp_path / "t.hdr"
    nib.save(nib.AnalyzeImage(np.zeros((8, 8, 8), np.int16), np.eye(4)), str(path))
    img = tmp_path / "t.img"
    img.write_bytes(img.read_bytes()[:-100])
    with pytest.raises(FormatError, match=r"t\.img.*truncated or its header lies"):
        spatial_xr.open_image(path)
    shutil.copy(path, tmp_path / "g.hdr")
    with gzip.open(tmp_path / "g.hdr.gz", "wb") as f:
        f.write(path.read_bytes())
    (tmp_path / "g.hdr").unlink()
    (tmp_path / "g.img.gz").write_bytes(gzip.compress(img.read_bytes()))
    da = spatial_xr.open_image(tmp_path / "g.img.gz")
    with pytest.raises(FormatError, match=r"g\.img\.gz.*truncated or corrupt"):
        da.values  # noqa: B018


def test_sheared_nifti_pair_and_10e12_claim(tmp_path: Path) -> None:
    path = tmp_path / "s.hdr"
    sheared = np.eye(4)
    sheared[0, 1] = 0.4
    img = nib.Nifti1Pair(np.zeros((3, 4, 5), np.uint8), sheared)
    img.set_qform(None, code=0)
    nib.save(img, str(path))
    with pytest.raises(GeometryError, match=r"s\.hdr.*sform.*not orthonormal.*sheared"):
        spatial_xr.open_image(path)
    big = nib.AnalyzeHeader()
    big.set_data_shape((10_000, 10_000, 10_000))
    big.set_data_dtype(np.uint8)
    (tmp_path / "big.hdr").write_bytes(big.binaryblock)
    (tmp_path / "big.img").write_bytes(b"\x00" * 64)
    with pytest.raises(FormatError, match=r"declares 10{12} bytes"):
        spatial_xr.open_image(tmp_path / "big.hdr")


@pytest.mark.parametrize("pixdim", [np.nan, 0.0, np.inf])
def test_bad_analyze_voxel_size(tmp_path: Path, pixdim: float) -> None:
    """nibabel would set a zero pixdim to 1; spatial_xr refuses to guess."""
    hdr = nib.AnalyzeHeader()
    hdr.set_data_shape((4, 5, 6))
    hdr.set_data_dtype(np.uint8)
    hdr["pixdim"][2] = pixdim
    (tmp_path / "a.hdr").write_bytes(hdr.binaryblock)
    (tmp_path / "a.img").write_bytes(b"\x00" * 120)
    with pytest.raises(GeometryError, match=rf"a\.hdr.*pixdim\[2\].*is {pixdim}"):
        spatial_xr.open_image(tmp_path / "a.hdr")


def test_foreign_hdr_is_not_claimed(tmp_path: Path) -> None:
    """An ENVI-style text .hdr is not Analyze: nothing recognises it."""
    path = tmp_path / "scene.hdr"
    path.write_text("ENVI\nsamples = 10\n")
    assert recognise(path) is None
    (tmp_path / "lonely.img").write_bytes(b"\x00" * 64)
    assert recognise(tmp_path / "lonely.img") is None  # no header beside it


def test_affine_option_is_nifti_only(tmp_path: Path) -> None:
    path = tmp_path / "a.hdr"
    nib.save(nib.AnalyzeImage(np.zeros((3, 4, 5), np.uint8), np.eye(4)), str(path))
    with pytest.raises(GeometryError, match="affine='best'"):
        open_analyze(path, affine="qform")
