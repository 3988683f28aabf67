"""Lazy NRRD reading checked against SimpleITK and pynrrd on files that SimpleITK, pynrrd
and dcm2niix wrote (voxels from nibabel's real test images)."""

from __future__ import annotations

import bz2
import gzip
import pickle
import tracemalloc
from pathlib import Path

import dask.array as dsa
import nrrd
import numpy as np
import pytest
import SimpleITK as sitk
from nrrd_oracles import (
    DIRECTIONS,
    OBLIQUE,
    ORIGIN,
    SPACING,
    assert_matches_sitk,
    sitk_image,
    write_raw_nrrd,
)

import spatial_xr
import spatial_xr.io.streams as streams_mod
from spatial_xr.errors import (
    DimensionError,
    FormatError,
    GeometryError,
    PathNotFoundError,
)
from spatial_xr.geometry import lps_ras_flip
from spatial_xr.io.formats import find_format
from spatial_xr.io.nrrd import open_nrrd, read_nrrd_header

SPACES_AS_ITK = ["left-posterior-superior", "right-anterior-superior",
                 "left-anterior-superior", "scanner-xyz", "3D-right-handed",
                 "3D-left-handed"]


def _rchar() -> int:
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("rchar"))


# ---------------------------------------------------------------- written by SimpleITK
@pytest.mark.parametrize("direction", list(DIRECTIONS))
@pytest.mark.parametrize("suffix", [".nrrd", ".nhdr"])
@pytest.mark.parametrize("compress", [False, True])
def test_simpleitk_written_3d(tmp_path: Path, anatomical: np.ndarray, direction: str,
                              suffix: str, compress: bool) -> None:
    path = tmp_path / f"scan{suffix}"
    sitk.WriteImage(sitk_image(anatomical, DIRECTIONS[direction]), str(path),
                    useCompression=compress)
    da = open_nrrd(path)
    assert isinstance(da.data, dsa.Array)
    assert da.dims == ("z", "y", "x") and da.dtype == np.int16
    assert da.attrs["source_format"] == "NRRD"
    assert da.attrs["nrrd_space"] == "left-posterior-superior"
    assert_matches_sitk(da, path)
    assert np.linalg.det(da.spatial.grid.direction_xyz) == pytest.approx(
        np.linalg.det(DIRECTIONS[direction]))


@pytest.mark.parametrize("angle", [0.0, 180.0, 35.0])
def test_simpleitk_written_2d(tmp_path: Path, anatomical: np.ndarray, angle: float) -> None:
    c, s = np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))
    path = tmp_path / "slice.nrrd"
    sitk.WriteImage(sitk_image(anatomical[12], np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])),
                    str(path))
    da = spatial_xr.open_image(path)
    assert da.dims == ("y", "x") and da.spatial.grid.ndim == 2
    assert_matches_sitk(da, path)


@pytest.mark.parametrize("compress", [False, True])
def test_simpleitk_written_4d_time(tmp_path: Path, functional: np.ndarray,
                                   compress: bool) -> None:
    vols = [sitk_image(v, OBLIQUE) for v in functional]
    img = sitk.JoinSeries(vols, 5.0, 2.0)  # t origin 5 s, step 2 s
    path = tmp_path / "run.nrrd"
    sitk.WriteImage(img, str(path), useCompression=compress)
    da = open_nrrd(path)
    assert da.dims == ("t", "z", "y", "x")
    np.testing.assert_allclose(da.coords["t"].values, 5.0 + 2.0 * np.arange(len(functional)))
    assert_matches_sitk(da, path)


@pytest.mark.parametrize("ncomp", [2, 3, 4])
def test_simpleitk_written_vector(tmp_path: Path, anatomical: np.ndarray, ncomp: int) -> None:
    arr = np.stack([anatomical + k for k in range(ncomp)], axis=-1)
    path = tmp_path / "vec.nrrd"
    sitk.WriteImage(sitk_image(arr, DIRECTIONS["oblique_det-1"], vector=True), str(path))
    da = open_nrrd(path)
    assert da.dims == ("c", "z", "y", "x") and da.sizes["c"] == ncomp
    assert da.attrs["nrrd_kinds"] == {"c": "vector"}
    assert_matches_sitk(da, path)


def test_simpleitk_written_4d_vector(tmp_path: Path, functional: np.ndarray) -> None:
    vols = [sitk_image(np.stack([v, -v], axis=-1), DIRECTIONS["permuted"], vector=True)
            for v in functional[:4]]
    path = tmp_path / "tv.nhdr"
    sitk.WriteImage(sitk.JoinSeries(vols, 0.0, 1.5), str(path))
    da = open_nrrd(path)
    assert da.dims == ("t", "c", "z", "y", "x")
    assert_matches_sitk(da, path)


def test_simpleitk_written_complex(tmp_path: Path, anatomical: np.ndarray) -> None:
    arr = (anatomical + 1j * (anatomical // 2)).astype(np.complex64)
    path = tmp_path / "cx.nrrd"
    sitk.WriteImage(sitk_image(arr, DIRECTIONS["flipped"]), str(path))
    da = open_nrrd(path)
    assert da.dims == ("c", "z", "y", "x") and da.attrs["nrrd_kinds"] == {"c": "complex"}
    ref = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    np.testing.assert_array_equal(da.isel(c=0).values, ref.real)
    np.testing.assert_array_equal(da.isel(c=1).values, ref.imag)


# ---------------------------------------------------------------- written by pynrrd
def _pynrrd_header(space: str, direction: np.ndarray, **extra: object) -> dict:
    return {"space": space, "space directions": (direction * np.array(SPACING)).T,
            "space origin": np.array(ORIGIN), "kinds": ["domain"] * 3, **extra}


@pytest.mark.parametrize("space", SPACES_AS_ITK)
@pytest.mark.parametrize("direction", ["oblique", "permuted_det-1"])
def test_pynrrd_spaces_match_simpleitk(tmp_path: Path, anatomical: np.ndarray, space: str,
                                       direction: str) -> None:
    path = tmp_path / "p.nrrd"
    nrrd.write(str(path), anatomical, _pynrrd_header(space, DIRECTIONS[direction]),
               index_order="C")
    da = open_nrrd(path)
    assert da.attrs["nrrd_space"] == space
    assert_matches_sitk(da, path)
    if space == "right-anterior-superior":  # RAS → LPS: x and y negated
        ras = np.eye(4)
        ras[:3, :3] = DIRECTIONS[direction] * np.array(SPACING)
        ras[:3, 3] = ORIGIN
        np.testing.assert_allclose(da.spatial.grid.affine, lps_ras_flip(ras), atol=1e-9)


@pytest.mark.parametrize("encoding", ["raw", "gzip", "bzip2", "ascii"])
@pytest.mark.parametrize("endian", ["<", ">"])
def test_pynrrd_encodings_and_endianness(tmp_path: Path, anatomical: np.ndarray,
                                         encoding: str, endian: str) -> None:
    data = anatomical.astype(endian + "i2")
    path = tmp_path / "e.nrrd"
    nrrd.write(str(path), data, _pynrrd_header("LPS", OBLIQUE, encoding=encoding),
               index_order="C")
    da = open_nrrd(path)
    assert da.dtype == np.dtype("=i2")
    ref, _ = nrrd.read(str(path), index_order="C")
    np.testing.assert_array_equal(da.values, ref)
    if encoding != "bzip2":  # SimpleITK's NRRD reader is built without bzip2
        assert_matches_sitk(da, path)
    else:
        gz = tmp_path / "same.nrrd"
        nrrd.write(str(gz), data, _pynrrd_header("LPS", OBLIQUE), index_order="C")
        assert open_nrrd(gz).spatial.same_grid(da, atol=1e-9)


def test_pynrrd_detached(tmp_path: Path, anatomical: np.ndarray) -> None:
    path = tmp_path / "d.nhdr"
    nrrd.write(str(path), anatomical, _pynrrd_header("RAS", OBLIQUE, encoding="gzip"),
               detached_header=True, index_order="C")
    da = spatial_xr.open_image(path)
    assert find_format(path).name == "nrrd"
    assert_matches_sitk(da, path)


TIME_SPACES = {"right-anterior-superior-time": (-1.0, -1.0, 1.0),
               "left-anterior-superior-time": (1.0, -1.0, 1.0),
               "left-posterior-superior-time": (1.0, 1.0, 1.0),
               "scanner-xyz-time": (1.0, 1.0, 1.0), "3D-right-handed-time": (1.0, 1.0, 1.0),
               "3D-left-handed-time": (1.0, 1.0, 1.0)}


@pytest.mark.parametrize("space", list(TIME_SPACES))
def test_pynrrd_time_spaces(tmp_path: Path, functional: np.ndarray, space: str) -> None:
    """The ``-time`` spaces: the spatial part converted like its 3-D space, time the 4th
    world axis (ITK reads these without converting them, so pynrrd's header is the
    oracle)."""
    dirs = np.zeros((4, 4))
    dirs[:3, :3] = (OBLIQUE * np.array(SPACING)).T
    dirs[3, 3] = 2.5
    header = {"space": space, "space directions": dirs,
              "space origin": np.array([*ORIGIN, 100.0]), "kinds": ["domain"] * 3 + ["time"],
              "space units": ["mm", "mm", "mm", "s"]}
    path = tmp_path / "st.nrrd"
    nrrd.write(str(path), functional, header, index_order="C")
    _, ref = nrrd.read(str(path))
    da = open_nrrd(path)
    assert da.dims == ("t", "z", "y", "x") and da.attrs["nrrd_space"] == space
    np.testing.assert_allclose(da.coords["t"], 100.0 + 2.5 * np.arange(len(functional)))
    assert da.coords["t"].attrs["units"] == "second"
    flips = np.array(TIME_SPACES[space])
    ijk = np.array([[0, 0, 0], [16, 20, 2], [3, 7, 1]])
    vecs = np.asarray(ref["space directions"])[:3, :3]
    expected = (np.asarray(ref["space origin"])[:3] + ijk @ vecs) * flips
    np.testing.assert_allclose(da.spatial.grid.index_to_world(ijk), expected, atol=1e-9)
    np.testing.assert_array_equal(da.values, functional)


def test_pynrrd_time_kind_axis(tmp_path: Path, functional: np.ndarray) -> None:
    dirs = np.vstack([(OBLIQUE * np.array(SPACING)).T, np.full(3, np.nan)])
    header = {"space": "left-posterior-superior", "space directions": dirs,
              "space origin": np.array(ORIGIN), "kinds": ["domain"] * 3 + ["time"]}
    path = tmp_path / "tk.nrrd"
    nrrd.write(str(path), functional, header, index_order="C")
    da = open_nrrd(path)
    assert da.dims == ("t", "z", "y", "x") and da.attrs["nrrd_kinds"] == {"t": "time"}
    np.testing.assert_array_equal(da.values, functional)
    three = tmp_path / "one.nrrd"
    nrrd.write(str(three), functional[0], _pynrrd_header("LPS", OBLIQUE), index_order="C")
    assert open_nrrd(three).spatial.same_grid(da, atol=1e-9)


@pytest.mark.parametrize("kind,n", [("RGB-color", 3), ("RGBA-color", 4), ("list", 5),
                                    ("covariant-vector", 3), ("3-vector", 3)])
def test_pynrrd_component_kinds(tmp_path: Path, anatomical: np.ndarray, kind: str,
                                n: int) -> None:
    arr = np.stack([anatomical[:6] * (k + 1) for k in range(n)], axis=-1).astype(np.int16)
    dirs = np.vstack([np.full(3, np.nan), (OBLIQUE * np.array(SPACING)).T])
    header = {"space": "LPS", "space directions": dirs, "space origin": np.array(ORIGIN),
              "kinds": [kind, "domain", "domain", "domain"]}
    path = tmp_path / "k.nrrd"
    nrrd.write(str(path), arr, header, index_order="C")
    da = open_nrrd(path)
    assert da.dims == ("c", "z", "y", "x") and da.attrs["nrrd_kinds"] == {"c": kind}
    assert_matches_sitk(da, path)


def test_pynrrd_2d_space_dimension(tmp_path: Path, anatomical: np.ndarray) -> None:
    path = tmp_path / "p2.nrrd"
    header = {"space dimension": 2, "space directions": np.array([[0.0, 0.8], [-1.2, 0.0]]),
              "space origin": np.array([3.0, 4.0]), "kinds": ["domain"] * 2}
    nrrd.write(str(path), anatomical[5], header, index_order="C")
    da = open_nrrd(path)
    assert da.dims == ("y", "x")
    assert_matches_sitk(da, path)


def test_pynrrd_2d_in_3d_space(tmp_path: Path, anatomical: np.ndarray) -> None:
    """A slice placed in 3-D space (ITK refuses it) reads as one z slice whose normal is
    the cross product of its two directions; every voxel lands where the header puts it."""
    vecs = (OBLIQUE[:, :2] * np.array(SPACING[:2])).T
    path = tmp_path / "s.nrrd"
    nrrd.write(str(path), anatomical[7],
               {"space": "RAS", "space directions": vecs, "space origin": np.array(ORIGIN)},
               index_order="C")
    da = open_nrrd(path)
    assert da.dims == ("z", "y", "x") and da.sizes["z"] == 1
    ij = np.array([[0, 0], [3, 5], [32, 40], [10, 1]])
    expected = (np.array(ORIGIN) + ij @ vecs) * np.array([-1.0, -1.0, 1.0])
    ours = da.spatial.grid.index_to_world(np.column_stack([ij, np.zeros(len(ij))]))
    np.testing.assert_allclose(ours, expected, atol=1e-9)
    np.testing.assert_array_equal(da.values[0], anatomical[7])


def test_pynrrd_no_space_spacings_and_mins(tmp_path: Path, anatomical: np.ndarray) -> None:
    path = tmp_path / "old.nrrd"
    header = {"spacings": [0.5, 0.75, 2.0], "axis mins": [10.0, -4.0, 7.0],
              "centerings": ["cell", "node", "cell"]}
    nrrd.write(str(path), anatomical, header, index_order="C")
    da = open_nrrd(path)
    assert_matches_sitk(da, path)
    assert da.spatial.grid.origin_xyz.tolist() == [10.25, -4.0, 8.0]


def test_measurement_frame_and_key_values(tmp_path: Path, anatomical: np.ndarray) -> None:
    frame = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    header = _pynrrd_header("RAS", OBLIQUE, **{"measurement frame": frame})
    header["Segment0_Name"] = "liver"
    header["note"] = "a: b := c"
    path = tmp_path / "kv.nrrd"
    nrrd.write(str(path), anatomical, header, index_order="C",
               custom_field_map={"Segment0_Name": "string", "note": "string"})
    da = open_nrrd(path)
    _, ref = nrrd.read(str(path))
    assert da.attrs["nrrd_fields"] == {"Segment0_Name": "liver", "note": ref["note"]}
    # the frame's vectors (NRRD lists columns), converted from RAS to LPS
    expected = (np.diag([-1.0, -1.0, 1.0]) @ np.asarray(ref["measurement frame"]).T).T
    np.testing.assert_allclose(da.attrs["measurement_frame"], expected)
    meta = sitk.ReadImage(str(path))
    assert meta.GetMetaData("Segment0_Name") == da.attrs["nrrd_fields"]["Segment0_Name"]


# ---------------------------------------------------------------- written by dcm2niix
def test_dcm2niix_dwi(dcm2niix_nrrd: dict[str, Path]) -> None:
    path = dcm2niix_nrrd["dwi"]
    da = spatial_xr.open_image(path)
    assert da.dims == ("c", "z", "y", "x") and da.attrs["nrrd_kinds"] == {"c": "list"}
    assert da.attrs["nrrd_space"] == "right-anterior-superior"
    assert da.attrs["nrrd_fields"]["DWMRI_b-value"] == "1000"
    assert "DWMRI_gradient_0001" in da.attrs["nrrd_fields"]
    assert len(da.attrs["measurement_frame"]) == 3
    assert not da.spatial.grid.is_axis_aligned
    assert_matches_sitk(da, path)


def test_dcm2niix_detached_gzip(dcm2niix_nrrd: dict[str, Path]) -> None:
    path = dcm2niix_nrrd["mprage"]
    hdr = read_nrrd_header(path)
    assert hdr.encoding == "gzip" and hdr.data_files[0].endswith("mprage.raw.gz")
    da = spatial_xr.open_image(path)
    assert_matches_sitk(da, path)


# ---------------------------------------------------------------- data layout variants
def _slices(tmp_path: Path, vol: np.ndarray, encode: str = "raw") -> list[str]:
    names = []
    for k, plane in enumerate(vol):
        name = f"slice{k:03d}.{'raw.gz' if encode == 'gzip' else 'raw'}"
        raw = plane.astype("<i2").tobytes()
        (tmp_path / name).write_bytes(gzip.compress(raw) if encode == "gzip" else raw)
        names.append(name)
    return names


def _head(vol: np.ndarray, encoding: str = "raw", extra: str = "") -> str:
    sizes = " ".join(str(v) for v in vol.shape[::-1])
    dirs = " ".join("(" + ",".join(repr(float(v)) for v in c) + ")"
                    for c in (OBLIQUE * np.array(SPACING)).T)
    nd = vol.ndim
    if nd == 4:
        dirs += " none"
    return (f"NRRD0004\ntype: short\ndimension: {nd}\nspace: left-posterior-superior\n"
            f"sizes: {sizes}\nspace directions: {dirs}\nendian: little\n"
            f"encoding: {encoding}\nspace origin: (1,2,3)\n{extra}")


@pytest.mark.parametrize("encode", ["raw", "gzip"])
def test_data_file_list(tmp_path: Path, anatomical: np.ndarray, encode: str) -> None:
    names = _slices(tmp_path, anatomical, encode)
    path = write_raw_nrrd(tmp_path / "list.nhdr",
                          _head(anatomical, encode, "data file: LIST\n" + "\n".join(names) + "\n"))
    da = open_nrrd(path)
    assert_matches_sitk(da, path)
    np.testing.assert_array_equal(da.isel(z=slice(3, 9)).values, anatomical[3:9])


def test_data_file_format_string(tmp_path: Path, anatomical: np.ndarray) -> None:
    _slices(tmp_path, anatomical)
    path = write_raw_nrrd(tmp_path / "fmt.nhdr", _head(
        anatomical, extra=f"data file: slice%03d.raw 0 {len(anatomical) - 1} 1\n"))
    assert_matches_sitk(open_nrrd(path), path)
    # backwards, and every other slice (sizes say so)
    rev = write_raw_nrrd(tmp_path / "rev.nhdr", _head(
        anatomical[::-2], extra=f"data file: slice%03d.raw {len(anatomical) - 1} 0 -2\n"))
    np.testing.assert_array_equal(open_nrrd(rev).values, anatomical[::-2])


def test_data_file_list_with_subdim(tmp_path: Path, functional: np.ndarray) -> None:
    """One file per volume of a 4-D image (``LIST 3``)."""
    names = []
    for k, vol in enumerate(functional):
        (tmp_path / f"vol{k}.raw").write_bytes(vol.astype("<i2").tobytes())
        names.append(f"vol{k}.raw")
    head = _head(functional, extra="kinds: domain domain domain time\n") \
        + "data file: LIST 3\n" + "\n".join(names)
    path = write_raw_nrrd(tmp_path / "multi.nhdr", head)
    da = open_nrrd(path)
    assert da.dims == ("t", "z", "y", "x")
    np.testing.assert_array_equal(da.values, functional)
    np.testing.assert_array_equal(da.isel(t=7, z=1).values, functional[7, 1])


def test_skips_hex_and_data_at_end(tmp_path: Path, anatomical: np.ndarray) -> None:
    raw = anatomical.astype("<i2").tobytes()
    cases = {
        "end.nrrd": (_head(anatomical, extra="byte skip: -1\n") + "\n", b"junk" * 11 + raw),
        "hex.nrrd": (_head(anatomical, "hex") + "\n", raw.hex().encode()),
    }
    (tmp_path / "skip.raw").write_bytes(b"text line\nanother\n" + b"\0" * 7 + raw)
    cases["skip.nhdr"] = (_head(anatomical, extra="line skip: 2\nbyte skip: 7\n"
                                "data file: skip.raw\n"), b"")
    (tmp_path / "skip.raw.gz").write_bytes(b"# one line\n" + gzip.compress(b"\1" * 5 + raw))
    cases["gzskip.nhdr"] = (_head(anatomical, "gz", "line skip: 1\nbyte skip: 5\n"
                                  "data file: skip.raw.gz\n"), b"")
    for name, (head, data) in cases.items():
        path = write_raw_nrrd(tmp_path / name, head, data)
        assert_matches_sitk(open_nrrd(path), path)


def test_bz2_alias_and_text_alias(tmp_path: Path, anatomical: np.ndarray) -> None:
    vol = anatomical[:4]
    a = write_raw_nrrd(tmp_path / "b.nrrd", _head(vol, "bz2") + "\n",
                       bz2.compress(vol.astype("<i2").tobytes()))
    t = write_raw_nrrd(tmp_path / "t.nrrd", _head(vol, "text") + "\n",
                       "\n".join(" ".join(map(str, row)) for row in vol.reshape(-1, 41))
                       .encode())
    for p in (a, t):
        np.testing.assert_array_equal(open_nrrd(p).values, vol)
    assert open_nrrd(t).data.numblocks == (1, 1, 1)  # text: one chunk, parsed once


# ---------------------------------------------------------------- laziness
def test_open_reads_only_the_header(tmp_path: Path, anatomical: np.ndarray) -> None:
    big = np.tile(anatomical, (8, 1, 1))
    path = tmp_path / "big.nrrd"
    sitk.WriteImage(sitk_image(big, OBLIQUE), str(path))
    header_len = read_nrrd_header(path).data_offset
    assert header_len is not None and path.stat().st_size > 100 * header_len
    spatial_xr.open_image(path)  # first use imports the reader's modules (read from disk too)
    before = _rchar()
    open_nrrd(path)
    assert _rchar() - before <= header_len + 4096
    before = _rchar()
    spatial_xr.open_image(path)  # recognition reads at most 4096 bytes more
    assert _rchar() - before <= header_len + 2 * 4096


def test_slab_of_raw_reads_only_its_bytes(tmp_path: Path, anatomical: np.ndarray,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    big = np.tile(anatomical, (3, 1, 1))  # 75 slices
    real = streams_mod.open_data_file
    for suffix in (".nrrd", ".nhdr"):
        path = tmp_path / f"slab{suffix}"
        sitk.WriteImage(sitk_image(big, OBLIQUE), str(path))
        da = open_nrrd(path)
        counted: list[int] = []

        def counting(p: str, counted: list[int] = counted) -> object:
            f = real(p)
            orig_readinto, orig_read = f.readinto, f.read

            class Wrapped:
                def __getattr__(self, name: str) -> object:
                    return getattr(f, name)

                def readinto(self, b: memoryview) -> int:
                    n = orig_readinto(b)
                    counted.append(n or 0)
                    return n

                def read(self, n: int = -1) -> bytes:
                    out = orig_read(n)
                    counted.append(len(out))
                    return out

            return Wrapped()

        monkeypatch.setattr(streams_mod, "open_data_file", counting)
        slab = da.isel(z=slice(30, 40)).values
        np.testing.assert_array_equal(slab, big[30:40])
        assert sum(counted) == 10 * big.shape[1] * big.shape[2] * 2
        monkeypatch.setattr(streams_mod, "open_data_file", real)


def test_gzip_slab_inflates_up_to_the_slab(tmp_path: Path, anatomical: np.ndarray,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    big = np.tile(anatomical, (40, 1, 1))  # 1000 slices, several MiB compressed
    path = tmp_path / "gz.nrrd"
    sitk.WriteImage(sitk_image(big, OBLIQUE), str(path), useCompression=True)
    da = open_nrrd(path)
    monkeypatch.setattr(streams_mod, "_INPUT_BLOCK", 1 << 14)
    before = _rchar()
    np.testing.assert_array_equal(da.isel(z=slice(100, 110)).values, big[100:110])
    used = _rchar() - before
    assert used < path.stat().st_size * 0.2  # ~10 % of the stream, not all of it


def test_graph_pickles(tmp_path: Path, anatomical: np.ndarray) -> None:
    path = tmp_path / "p.nhdr"
    sitk.WriteImage(sitk_image(anatomical, OBLIQUE), str(path), useCompression=True)
    da = open_nrrd(path, chunks={"z": 5})
    assert da.data.numblocks == (5, 1, 1)
    clone = pickle.loads(pickle.dumps(da))
    np.testing.assert_array_equal(clone.values, anatomical)


# ---------------------------------------------------------------- bad inputs
def test_truncated_raw_refused_at_open(tmp_path: Path, anatomical: np.ndarray) -> None:
    path = tmp_path / "t.nrrd"
    sitk.WriteImage(sitk_image(anatomical, OBLIQUE), str(path))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(FormatError, match="truncated or its header lies"):
        open_nrrd(path)


def test_truncated_gzip_refused_at_read(tmp_path: Path, anatomical: np.ndarray) -> None:
    path = tmp_path / "t.nrrd"
    sitk.WriteImage(sitk_image(anatomical, OBLIQUE), str(path), useCompression=True)
    path.write_bytes(path.read_bytes()[:-300])
    da = open_nrrd(path)
    with pytest.raises(FormatError, match=r"truncated|corrupt"):
        da.values  # noqa: B018


def test_missing_detached_data_file(tmp_path: Path, anatomical: np.ndarray) -> None:
    path = tmp_path / "m.nhdr"
    sitk.WriteImage(sitk_image(anatomical, OBLIQUE), str(path))
    (tmp_path / "m.raw").unlink()
    with pytest.raises(PathNotFoundError, match=r"m\.raw.*does not exist"):
        open_nrrd(path)


def test_sizes_disagree_with_data(tmp_path: Path, anatomical: np.ndarray) -> None:
    raw = anatomical.astype("<i2").tobytes()
    big = write_raw_nrrd(tmp_path / "s.nrrd", _head(anatomical[:1].repeat(30, 0)) + "\n", raw)
    with pytest.raises(FormatError, match=r"sizes \(33, 41, 30\)"):
        open_nrrd(big)
    names = _slices(tmp_path, anatomical)
    few = write_raw_nrrd(tmp_path / "few.nhdr",
                         _head(anatomical, extra="data file: LIST\n" + "\n".join(names[:-2])))
    with pytest.raises(FormatError, match="names 23 files"):
        open_nrrd(few)


def test_unknown_encoding_and_type(tmp_path: Path, anatomical: np.ndarray) -> None:
    p = write_raw_nrrd(tmp_path / "u.nrrd", _head(anatomical, "zrl") + "\n", b"")
    with pytest.raises(FormatError, match="unknown NRRD encoding 'zrl'"):
        open_nrrd(p)
    p = write_raw_nrrd(tmp_path / "b.nrrd", _head(anatomical).replace("short", "block") + "\n")
    with pytest.raises(FormatError, match="block"):
        open_nrrd(p)


@pytest.mark.parametrize("dirs,match", [
    ("(1,0,0) (2,0,0) (0,0,1)", "parallel"),
    ("(1,0,0) (0,0,0) (0,0,1)", "zero vector"),
    ("(1,0,0) (0.2,1,0) (0,0,1)", r"shear of 11\.31°"),
    ("(nan,nan,nan) (0,1,0) (0,0,1)", "not finite"),
])
def test_bad_space_directions(tmp_path: Path, dirs: str, match: str) -> None:
    head = ("NRRD0005\ntype: uint8\ndimension: 3\nspace: RAS\nsizes: 2 2 2\n"
            f"space directions: {dirs}\nencoding: raw\n\n")
    with pytest.raises(GeometryError, match=match):
        open_nrrd(write_raw_nrrd(tmp_path / "g.nrrd", head, bytes(8)))


@pytest.mark.parametrize("spacings", ["nan 1 1", "1 0 1"])
def test_nan_or_zero_spacing(tmp_path: Path, spacings: str) -> None:
    head = f"NRRD0004\ntype: uint8\ndimension: 3\nsizes: 2 2 2\nspacings: {spacings}\n" \
           "encoding: raw\n\n"
    with pytest.raises(GeometryError, match="finite, non-zero spacing"):
        open_nrrd(write_raw_nrrd(tmp_path / "s.nrrd", head, bytes(8)))


def test_overlong_header_line(tmp_path: Path) -> None:
    head = "NRRD0004\ntype: uint8\ncontent: " + "x" * 100_000 + "\n"
    path = write_raw_nrrd(tmp_path / "long.nrrd", head, bytes(1000))
    before = _rchar()
    with pytest.raises(FormatError, match="longer than 65536 bytes"):
        open_nrrd(path)
    assert _rchar() - before < 80_000
    path.write_bytes(b"NRRD0004\n" + bytes(1 << 20))  # binary junk, no line end
    with pytest.raises(FormatError, match="longer than 65536 bytes"):
        open_nrrd(path)


@pytest.mark.parametrize("encoding", ["raw", "gzip"])
def test_huge_voxel_claim_refused_without_allocation(tmp_path: Path, encoding: str) -> None:
    head = (f"NRRD0004\ntype: short\ndimension: 3\nsizes: 10000 10000 10000\n"
            f"endian: little\nencoding: {encoding}\n\n")
    path = write_raw_nrrd(tmp_path / "huge.nrrd", head,
                          gzip.compress(bytes(4096)) if encoding == "gzip" else bytes(4096))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match=r"2000000000000 bytes"):
            open_nrrd(path)
        assert tracemalloc.get_traced_memory()[1] < 16 << 20
    finally:
        tracemalloc.stop()


def test_too_many_component_axes(tmp_path: Path) -> None:
    head = ("NRRD0004\ntype: uint8\ndimension: 5\nsizes: 2 3 4 4 4\nkinds: vector list "
            "domain domain domain\nencoding: raw\n\n")
    with pytest.raises(DimensionError, match="at most one 'c'"):
        open_nrrd(write_raw_nrrd(tmp_path / "c.nrrd", head, bytes(384)))


# ---------------------------------------------------------------- registry and command line
def test_registry_by_extension_and_magic(tmp_path: Path, anatomical: np.ndarray) -> None:
    path = tmp_path / "scan.nrrd"
    sitk.WriteImage(sitk_image(anatomical, OBLIQUE), str(path))
    odd = tmp_path / "scan.bin"
    odd.write_bytes(path.read_bytes())
    assert find_format(path).name == "nrrd" and find_format(odd).name == "nrrd"
    assert find_format(odd).capabilities["partial_reads"] is True
    np.testing.assert_array_equal(spatial_xr.open_image(odd).values, anatomical)


def test_cli_convert_to_ome_zarr(tmp_path: Path, anatomical: np.ndarray,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    from spatial_xr.cli import main

    src = tmp_path / "scan.nrrd"
    sitk.WriteImage(sitk_image(anatomical, OBLIQUE), str(src), useCompression=True)
    out = tmp_path / "scan.ome.zarr"
    assert main(["convert", str(src), str(out), "--no-progress"]) == 0
    assert "omezarr" in capsys.readouterr().out
    back = spatial_xr.open_image(out)
    assert back.spatial.same_grid(open_nrrd(src), atol=1e-6)
    np.testing.assert_array_equal(back.values, anatomical)
