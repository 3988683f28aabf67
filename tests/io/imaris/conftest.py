"""Imaris files written by hand with h5py, following Imaris' published 5.5 layout (not
with spatial_xr's writer), so that the reader is tested on a layout it did not produce."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def chars(value: object) -> np.ndarray:
    """An attribute as Imaris stores it: an array of one-byte strings."""
    return np.frombuffer(str(value).encode(), dtype="S1").copy()


def write_ims_by_hand(
    path: Path,
    levels: list[np.ndarray],
    *,
    ext_min=(-3.5, 10.0, 0.25),
    ext_max=(12.5, 34.0, 30.25),
    unit: str | None = "um",
    names=("DAPI", "GFP"),
    chunks=(4, 8, 8),
    pad: int = 8,
    times=None,
    compression: str | None = "gzip",
    declared=None,
    skip=(),
) -> Path:
    """Write levels of shape (t, c, z, y, x) as an Imaris 5.5 file.

    Each ``Data`` dataset is padded by ``pad`` voxels per axis and the padding is filled
    with 9999, so a reader that does not crop to ``ImageSize`` shows it. ``declared``
    overrides the ImageSize (z, y, x) per level; ``skip`` lists ``(level, t, c)`` whose
    groups are left out (or ``(level,)`` for a whole level).
    """
    import h5py

    with h5py.File(path, "w") as f:
        for key, value in [("DataSetDirectoryName", "DataSet"),
                           ("DataSetInfoDirectoryName", "DataSetInfo"),
                           ("ImarisDataSet", "ImarisDataSet"), ("ImarisVersion", "5.5.0"),
                           ("ThumbnailDirectoryName", "Thumbnail")]:
            f.attrs[key] = chars(value)
        f.attrs["NumberOfDataSets"] = np.array([1], np.uint32)
        for r, level in enumerate(levels):
            if (r,) in skip:
                continue
            n_t, n_c, nz, ny, nx = level.shape
            for t in range(n_t):
                for c in range(n_c):
                    if (r, t, c) in skip:
                        continue
                    g = f.create_group(f"DataSet/ResolutionLevel {r}/TimePoint {t}/Channel {c}")
                    size = declared[r] if declared else (nz, ny, nx)
                    g.attrs["ImageSizeX"] = chars(size[2])
                    g.attrs["ImageSizeY"] = chars(size[1])
                    g.attrs["ImageSizeZ"] = chars(size[0])
                    g.attrs["HistogramMin"] = chars(f"{level.min():.3f}")
                    g.attrs["HistogramMax"] = chars(f"{level.max():.3f}")
                    stored = np.full((nz + pad, ny + pad, nx + pad), 9999, level.dtype)
                    stored[:nz, :ny, :nx] = level[t, c]
                    block = tuple(min(a, b) for a, b in zip(chunks, stored.shape, strict=True))
                    g.create_dataset("Data", data=stored, chunks=block, compression=compression)
                    g.create_dataset("Histogram", data=np.zeros(256, np.uint64))
        img = f.create_group("DataSetInfo/Image")
        nz, ny, nx = levels[0].shape[2:]
        for key, value in [("X", nx), ("Y", ny), ("Z", nz), ("Noc", levels[0].shape[1]),
                           ("Name", "hand"), ("RecordingDate", "2021-03-04 05:06:07.000")]:
            img.attrs[key] = chars(value)
        for i in range(3):
            img.attrs[f"ExtMin{i}"] = chars(f"{ext_min[i]:.3f}")
            img.attrs[f"ExtMax{i}"] = chars(f"{ext_max[i]:.3f}")
        if unit is not None:
            img.attrs["Unit"] = chars(unit)
        for c in range(levels[0].shape[1]):
            ch = f.create_group(f"DataSetInfo/Channel {c}")
            ch.attrs["Name"] = chars(names[c])
            ch.attrs["Color"] = chars("1.000 0.000 0.000")
        ti = f.create_group("DataSetInfo/TimeInfo")
        n_t = levels[0].shape[0]
        ti.attrs["DatasetTimePoints"] = chars(n_t)
        ti.attrs["FileTimePoints"] = chars(n_t)
        for i, stamp in enumerate(times or [f"2021-03-04 05:06:{7 + 2 * i:02d}.500"
                                            for i in range(n_t)]):
            ti.attrs[f"TimePoint{i + 1}"] = chars(stamp)
    return path


def pyramid_levels(rng: np.random.Generator, shape=(2, 2, 12, 24, 32), n=2, dtype="uint16"):
    """Level 0 random, each next level a 2×2×2 block mean (sizes divisible by 2)."""
    levels = [rng.integers(0, 3000, size=shape).astype(dtype)]
    for _ in range(n - 1):
        a = levels[-1].astype(np.float64)
        t, c, z, y, x = a.shape
        a = a.reshape(t, c, z // 2, 2, y // 2, 2, x // 2, 2).mean(axis=(3, 5, 7))
        levels.append(a.astype(dtype))
    return levels
