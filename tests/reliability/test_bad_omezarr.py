"""Bad-input corpus for the OME-Zarr reader: a valid store written here (0.5 and 0.4), then
its metadata or chunks broken in one way per case.

Missing chunks are not an error: Zarr defines a missing chunk as one filled with the
array's ``fill_value``; the reader keeps that meaning (documented in docs/reliability.md)
and the test below pins it down.
"""

from __future__ import annotations

import json
import pickle
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pytest
import zarr

import spatial_xr
from spatial_xr.errors import FormatError, GeometryError, PathNotFoundError, SpatialXRError

SHAPE = (4, 6, 8)
CHUNKS = {"z": 2, "y": 3, "x": 4}


def _image() -> Any:
    data = np.arange(np.prod(SHAPE), dtype=np.uint16).reshape(SHAPE) + 1  # no zeros
    return spatial_xr.from_array(data, spacing=(2.0, 1.0, 0.5), origin=(1, 2, 3)).chunk(CHUNKS)


@dataclass(frozen=True)
class Case:
    name: str
    mutate: Callable[[dict[str, Any]], Any] | None
    error: type[SpatialXRError]
    match: str
    version: str = "0.5"
    files: Callable[[Path], Any] | None = None
    stage: str = "open"


def _ms(attrs: dict[str, Any]) -> dict[str, Any]:
    ome = attrs.get("ome", attrs)
    return ome["multiscales"][0]


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda a: _ms(a).__setitem__(key, value)


def _ome(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda a: a["ome"].__setitem__(key, value)


def _transforms(value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda a: _ms(a)["datasets"][0].__setitem__("coordinateTransformations", value)


def _scale(values: Any) -> Callable[[dict[str, Any]], None]:
    return _transforms([{"type": "scale", "scale": values}])


def _axis(i: int, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda a: _ms(a)["axes"][i].__setitem__(key, value)


def _chunk_files(store: Path) -> list[Path]:
    return sorted(p for p in (store / "scale0" / "image").rglob("*")
                  if p.is_file() and not p.name.startswith(".") and p.name != "zarr.json")


def _array_meta(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    """Edit the level-0 array's metadata (zarr.json for Zarr v3, .zarray for v2)."""

    def edit(store: Path) -> None:
        folder = store / "scale0" / "image"
        meta = folder / "zarr.json" if (folder / "zarr.json").exists() else folder / ".zarray"
        doc = json.loads(meta.read_text())
        change(doc)
        meta.write_text(json.dumps(doc))

    return edit


def _corrupt_chunk(store: Path) -> None:
    _chunk_files(store)[0].write_bytes(b"not a compressed chunk")


CASES = [
    Case("no_multiscales", lambda a: a["ome"].pop("multiscales"), FormatError,
         r"no OME-NGFF 'multiscales'"),
    Case("no_ome_attrs", lambda a: a.pop("ome"), FormatError, r"no OME-NGFF 'multiscales'"),
    Case("multiscales_is_object", _ome("multiscales", {"a": 1}), FormatError,
         r"'multiscales' must be a list of objects"),
    Case("multiscales_is_string", _ome("multiscales", "abc"), FormatError,
         r"'multiscales' must be a list of objects"),
    Case("multiscales_is_null", _ome("multiscales", None), FormatError,
         r"'multiscales' must be a list of objects"),
    Case("multiscales_entry_is_string", _ome("multiscales", ["x"]), FormatError,
         r"'multiscales' must be a list of objects"),
    Case("multiscales_empty", _ome("multiscales", []), FormatError,
         r"'multiscales' list is empty"),
    Case("no_datasets", lambda a: _ms(a).pop("datasets"), FormatError, r"no 'datasets'"),
    Case("datasets_is_string", _set("datasets", "scale0/image"), FormatError,
         r"'datasets' must be a list"),
    Case("dataset_without_path", lambda a: _ms(a)["datasets"][0].pop("path"), FormatError,
         r"dataset 0 has no 'path'"),
    Case("dataset_path_missing", lambda a: _ms(a)["datasets"][0].__setitem__("path", "nope"),
         FormatError, r"dataset 'nope'.*missing from the store"),
    Case("axes_scale_length_mismatch", _scale([2.0, 1.0]), FormatError,
         r"scale of dataset 'scale0/image' must hold 3 finite numbers"),
    Case("extra_axis", lambda a: _ms(a)["axes"].insert(0, {"name": "t", "type": "time"}),
         FormatError, r"must hold 4 finite numbers"),
    Case("missing_axis", lambda a: _ms(a)["axes"].pop(0), FormatError,
         r"must hold 2 finite numbers"),
    Case("axes_is_string", _set("axes", "zyx"), FormatError, r"'axes' must be a list"),
    Case("duplicate_axis_names", _axis(1, "name", "x"), FormatError,
         r"axis names repeat"),
    Case("axis_without_name", lambda a: _ms(a)["axes"][1].pop("name"), FormatError,
         r"axis entries need a 'name'"),
    Case("unknown_space_axis", _axis(1, "name", "q"), FormatError,
         r"space axis 'q' is not one of"),
    Case("negative_scale", _scale([2.0, -1.0, 0.5]), FormatError,
         r"scale of dataset 'scale0/image' must be > 0, got \[2.0, -1.0, 0.5\]"),
    Case("zero_scale", _scale([2.0, 0.0, 0.5]), FormatError, r"must be > 0, got \[2.0, 0.0"),
    Case("nan_scale", _scale([2.0, float("nan"), 0.5]), FormatError,
         r"must hold 3 finite numbers.*nan"),
    Case("string_scale", _scale(["a", "b", "c"]), FormatError,
         r"must hold 3 finite numbers.*'a'"),
    Case("null_scale", _scale(None), FormatError, r"must hold 3 finite numbers.*None"),
    Case("translation_length", _transforms([{"type": "scale", "scale": [2, 1, 0.5]},
                                            {"type": "translation", "translation": [1]}]),
         FormatError, r"translation of dataset 'scale0/image' must hold 3"),
    Case("affine_transformation", _transforms([{"type": "affine", "affine": [[1, 0]]}]),
         FormatError, r"unsupported coordinate transformation"),
    Case("transformations_not_list", _transforms({"type": "scale", "scale": [2, 1, 0.5]}),
         FormatError, r"coordinateTransformations of dataset 'scale0/image' must be a list"),
    Case("transformation_in_separate_array", _transforms([{"type": "scale", "path": "x"}]),
         FormatError, r"no inline values"),
    Case("unknown_version", _ome("version", "0.7"), FormatError,
         r"version '0.7' is not supported"),
    Case("unknown_version_v04", lambda a: a["multiscales"][0].__setitem__("version", "9.9"),
         FormatError, r"version '9.9' is not supported", version="0.4"),
    Case("negative_scale_v04",
         lambda a: a["multiscales"][0]["datasets"][0].__setitem__(
             "coordinateTransformations", [{"type": "scale", "scale": [2.0, 1.0, -0.5]}]),
         FormatError, r"must be > 0", version="0.4"),
    Case("stored_direction_not_orthonormal",
         lambda a: a["spatial_xr"].__setitem__("direction_zyx", [[1, 0, 0], [0, 1, 0],
                                                                 [0, 1, 1]]),
         GeometryError, r"'spatial_xr' group attribute.*not orthonormal"),
    Case("group_metadata_not_json", None, FormatError, r"unreadable Zarr metadata",
         files=lambda s: (s / "zarr.json").write_text("{not json")),
    Case("array_metadata_incomplete", None, FormatError,
         r"dataset 'scale0/image'.*missing from the store",
         files=lambda s: (s / "scale0" / "image" / "zarr.json").write_text(
             '{"zarr_format": 3, "node_type": "array"}')),
    Case("array_metadata_not_json", None, FormatError,
         r"array 'scale0/image' has unreadable Zarr metadata",
         files=lambda s: (s / "scale0" / "image" / "zarr.json").write_text("{not json")),
    Case("array_metadata_not_json_v04", None, FormatError,
         r"array 'scale0/image' has unreadable Zarr metadata", version="0.4",
         files=lambda s: (s / "scale0" / "image" / ".zarray").write_text("{not json")),
    Case("array_unknown_codec", None, FormatError, r"unreadable Zarr metadata.*nope",
         files=_array_meta(lambda d: d.__setitem__("codecs", [{"name": "nope"}]))),
    Case("array_unknown_data_type", None, FormatError, r"unreadable Zarr metadata.*nonsense",
         files=_array_meta(lambda d: d.__setitem__("data_type", "nonsense"))),
    Case("array_shape_not_list", None, FormatError, r"unreadable Zarr metadata",
         files=_array_meta(lambda d: d.__setitem__("shape", "x"))),
    Case("array_shape_rank_v04", None, FormatError, r"unreadable Zarr metadata",
         version="0.4", files=_array_meta(lambda d: d.__setitem__("shape", [4, 6]))),
    Case("corrupt_chunk", None, FormatError, r"could not read a chunk of array 'scale0/image'",
         files=_corrupt_chunk, stage="compute"),
    Case("corrupt_chunk_v04", None, FormatError, r"could not read a chunk", version="0.4",
         files=_corrupt_chunk, stage="compute"),
]


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("omezarr_bases")
    out = {}
    for version in ("0.5", "0.4"):
        out[version] = root / f"base{version}.ome.zarr"
        _image().spatial.to_ome_zarr(out[version], version=version, pyramid=False, chunks=2,
                                     shards=None)
    return out


def _variant(bases: dict[str, Path], folder: Path, case: Case) -> Path:
    dest = folder / f"{case.name}.ome.zarr"
    shutil.copytree(bases[case.version], dest)
    meta = dest / ("zarr.json" if case.version == "0.5" else ".zattrs")
    doc = json.loads(meta.read_text())
    if case.mutate is not None:
        case.mutate(doc["attributes"] if case.version == "0.5" else doc)
        meta.write_text(json.dumps(doc))
    if case.files is not None:
        case.files(dest)
    return dest


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_omezarr_raises_named_error(case: Case, bases: dict[str, Path],
                                        tmp_path: Path) -> None:
    path = _variant(bases, tmp_path, case)
    with pytest.raises(SpatialXRError) as info, dask.config.set(scheduler="threads"):
        da = spatial_xr.open_image(path)
        assert case.stage == "compute", "opened although the metadata are broken"
        da.compute()
    exc = info.value
    assert isinstance(exc, case.error), f"{case.name}: {type(exc).__name__}: {exc}"
    assert re.search(case.match, str(exc), flags=re.S), f"{case.name}: {exc}"
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is type(exc) and str(again) == str(exc)


def test_corpus_size() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("version", ["0.5", "0.4"])
def test_missing_chunk_reads_as_fill_value(bases: dict[str, Path], tmp_path: Path,
                                           version: str) -> None:
    """Documented behaviour: a chunk file that is absent reads as the array's fill_value
    (Zarr's definition of an unwritten chunk); every other chunk is intact."""
    dest = tmp_path / "holes.ome.zarr"
    shutil.copytree(bases[version], dest)
    victim = _chunk_files(dest)[0]
    victim.unlink()
    arr = zarr.open_array(str(dest / "scale0" / "image"), mode="r")
    values = spatial_xr.open_image(dest).values
    expected = _image().values
    unit = getattr(arr, "shards", None) or arr.chunks  # the first stored object
    first = tuple(slice(0, n) for n in unit)
    assert np.all(values[first] == arr.fill_value)
    mask = np.ones(SHAPE, bool)
    mask[first] = False
    np.testing.assert_array_equal(values[mask], expected[mask])


def test_missing_store_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(PathNotFoundError):
        spatial_xr.open_image(tmp_path / "nothing.ome.zarr")
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(FormatError, match="holds no Zarr group"):
        spatial_xr.open_image(tmp_path / "empty.zarr")
