"""The pickle-safe lazy array of a SEG on a grid: reads only the frames a request needs.

Each request opens the file with ``highdicom.io.ImageFileReader`` (which reads the
header, then seeks to each frame through the offset table: native 1-bit and 8-bit frames
and compressed frames alike), decodes the frames whose slice falls in the requested box,
and places their pixels with the :class:`~spatial_xr.io.dicomseg.placement.FramePlacement`.
No file handle is kept between requests, so the array pickles and runs on any worker.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spatial_xr.errors import FormatError, LabelOverlapError, PathNotFoundError, require
from spatial_xr.io.dicomseg.header import paused_gc
from spatial_xr.io.dicomseg.placement import FramePlacement
from spatial_xr.io.indexing import split_fancy

__all__ = ["SegFrameArray"]


class SegFrameArray:
    """Lazy ``(z, y, x)`` label image or ``(c, z, y, x)`` stack of a SEG on a grid.

    Parameters
    ----------
    path : str
        The SEG file.
    placement : FramePlacement
        Where each frame of the file lands (indexed by frame number − 1).
    frames : ndarray of int, shape (m,)
        The (0-based) frames to use.
    values : ndarray of int, shape (m,)
        Per used frame: the label written (``layout="label"``) or the channel index
        (``layout="stack"``). For a LABELMAP, ``lut`` maps stored values instead.
    layout : {"label", "stack"}
    kind : {"binary", "fraction", "threshold", "labelmap"}
        How frame values are read: 0/1 masks; fractions (stored / ``max_fraction``,
        float32); fractions thresholded at ½; or stored segment numbers.
    max_fraction : int
    dtype : numpy dtype
        Output dtype.
    n_channels : int
        Size of ``c`` (stack layout).
    lut : ndarray of int, optional
        LABELMAP only: stored value → label (label layout) or → channel + 1 (stack
        layout; 0 drops the value).
    names : dict of int to str, optional
        Segment names, for error messages.
    """

    def __init__(
        self,
        path: str,
        placement: FramePlacement,
        frames: NDArray[np.int64],
        values: NDArray[np.int64],
        layout: str,
        kind: str,
        max_fraction: int,
        dtype: np.dtype[Any],
        n_channels: int = 0,
        lut: NDArray[np.int64] | None = None,
        names: dict[int, str] | None = None,
    ) -> None:
        self.path = path
        self.placement = placement
        self.frames = np.asarray(frames, np.int64)
        self.values = np.asarray(values, np.int64)
        self.layout = layout
        self.kind = kind
        self.max_fraction = max(int(max_fraction), 1)
        self.dtype = np.dtype(dtype)
        self.n_channels = n_channels
        self.lut = lut
        self.names = names or {}
        lead = (n_channels,) if layout == "stack" else ()
        self.shape = (*lead, *placement.shape_zyx)
        self.ndim = len(self.shape)

    # ------------------------------------------------------------------ reading
    def _frame_values(self, raw: NDArray[Any]) -> NDArray[Any]:
        if self.kind == "fraction":
            return raw.astype(np.float32) / np.float32(self.max_fraction)
        if self.kind == "threshold":
            return (raw.astype(np.int64) * 2 >= self.max_fraction).astype(np.uint8)
        return raw

    @staticmethod
    def _packed_bits(reader: Any) -> tuple[int, int] | None:
        """(rows, cols) when frames are native 1-bit data starting on whole bytes (rows ×
        cols a multiple of 8): their bits are unpacked here straight from
        ``read_frame_raw``; other frames go through highdicom's ``read_frame``."""
        meta = reader.metadata
        rows, cols = int(meta.Rows), int(meta.Columns)
        if (int(meta.BitsAllocated) != 1 or reader.transfer_syntax_uid.is_encapsulated
                or (rows * cols) % 8 or int(meta.get("SamplesPerPixel", 1)) != 1):
            return None
        return rows, cols

    def __getitem__(self, key: Any) -> NDArray[Any]:
        basic, post = split_fancy(key, self.shape)
        los: list[int] = []
        his: list[int] = []
        picks: list[Any] = []
        squeeze: list[int] = []
        for axis, (k, n) in enumerate(zip(basic, self.shape, strict=True)):
            if isinstance(k, int | np.integer):
                i = int(k) + n if int(k) < 0 else int(k)
                los.append(i)
                his.append(i + 1)
                picks.append(None)
                squeeze.append(axis)
                continue
            r = range(*k.indices(n))
            if len(r) == 0:
                shape = [len(range(*kk.indices(nn))) for kk, nn in
                         zip(basic, self.shape, strict=True) if isinstance(kk, slice)]
                return np.zeros(shape, self.dtype)
            lo, hi = min(r[0], r[-1]), max(r[0], r[-1]) + 1
            los.append(lo)
            his.append(hi)
            picks.append(None if r.step == 1 else np.asarray(r) - lo)
        box = np.zeros([h - lo for lo, h in zip(los, his, strict=True)], self.dtype)
        self._fill(box, los, his)
        for axis, pick in enumerate(picks):
            if pick is not None:
                box = np.take(box, pick, axis=axis)
        if squeeze:
            box = box.reshape([s for a, s in enumerate(box.shape) if a not in squeeze])
        for axis, index in post:
            box = np.take(box, index, axis=axis)
        return box

    def _fill(self, box: NDArray[Any], los: list[int], his: list[int]) -> None:
        lead = 1 if self.layout == "stack" else 0
        pl = self.placement
        s_lo, s_hi = los[lead + pl.slice_axis], his[lead + pl.slice_axis]
        slices = pl.origin_zyx[self.frames, pl.slice_axis]
        use = (slices >= s_lo) & (slices < s_hi)
        if lead and self.lut is None:
            use &= (self.values >= los[0]) & (self.values < his[0])
        chosen = np.flatnonzero(use)
        if chosen.size == 0:
            return
        hd = require("highdicom", "seg")
        try:
            with warnings.catch_warnings(), paused_gc():
                warnings.simplefilter("ignore")
                with hd.io.ImageFileReader(self.path) as reader:
                    packed = self._packed_bits(reader)
                    for j in chosen[np.argsort(self.frames[chosen], kind="stable")]:
                        index = int(self.frames[j])
                        if packed is not None:  # whole bytes of native 1-bit frames
                            raw = np.unpackbits(np.frombuffer(
                                reader.read_frame_raw(index), np.uint8),
                                bitorder="little")[:packed[0] * packed[1]].reshape(packed)
                        else:
                            raw = reader.read_frame(index, correct_color=False)
                        self._place(box, los, his, index, int(self.values[j]),
                                    self._frame_values(np.asarray(raw)))
        except FileNotFoundError as exc:
            raise PathNotFoundError(
                f"{self.path!r} no longer exists (it was opened lazily and removed or renamed "
                "before its frames were read); open it again"
            ) from exc
        except (LabelOverlapError, FormatError):
            raise
        except (OSError, ValueError, EOFError) as exc:
            raise FormatError(
                f"could not read the frames of {self.path!r} ({type(exc).__name__}: {exc}); "
                "the file is truncated or corrupt, or changed after it was opened"
            ) from exc

    def _place(self, box: NDArray[Any], los: list[int], his: list[int], frame: int,
               value: int, vals: NDArray[Any]) -> None:
        pl = self.placement
        lead = 1 if self.layout == "stack" else 0
        origin = pl.origin_zyx[frame]
        rows, cols = vals.shape[:2]
        cut = []
        for ax, sign, n in ((pl.row_axis, pl.row_sign, rows), (pl.col_axis, pl.col_sign, cols)):
            o, lo, hi = int(origin[ax]), los[lead + ax], his[lead + ax]
            if sign > 0:
                i0, i1 = lo - o, hi - o
            else:
                i0, i1 = o - hi + 1, o - lo + 1
            i0, i1 = max(i0, 0), min(i1, n)
            if i1 <= i0:
                return
            start = (o + i0 if sign > 0 else o - (i1 - 1)) - lo
            cut.append((i0, i1, start))
        (r0, r1, tr), (c0, c1, tc) = cut
        sub = vals[r0:r1, c0:c1]
        if pl.row_sign < 0:
            sub = sub[::-1]
        if pl.col_sign < 0:
            sub = sub[:, ::-1]
        if pl.row_axis > pl.col_axis:
            sub = sub.T
        index: list[Any] = [slice(None)] * 3
        index[pl.slice_axis] = int(origin[pl.slice_axis]) - los[lead + pl.slice_axis]
        index[pl.row_axis] = slice(tr, tr + (r1 - r0))
        index[pl.col_axis] = slice(tc, tc + (c1 - c0))
        if self.layout == "stack":
            self._place_stack(box, index, value - los[0], los[0], sub)
        else:
            self._place_label(box[tuple(index)], frame, value, sub)

    def _place_stack(self, box: NDArray[Any], index: list[Any], chan: int, first: int,
                     sub: NDArray[Any]) -> None:
        """``chan``: channel of the frame in ``box``; ``first``: box's first channel."""
        if self.lut is not None:  # a LABELMAP split into one channel per segment
            channel = self.lut[np.asarray(sub, np.int64)] - 1 - first
            for c in np.unique(channel[(channel >= 0) & (channel < box.shape[0])]):
                view = box[(int(c), *index)]
                view[channel == c] = 1
            return
        if 0 <= chan < box.shape[0]:
            view = box[(chan, *index)]
            np.maximum(view, sub.astype(self.dtype, copy=False), out=view)

    def _place_label(self, view: NDArray[Any], frame: int, value: int,
                     sub: NDArray[Any]) -> None:
        if self.lut is not None:
            labels = self.lut[np.asarray(sub, np.int64)]
            np.copyto(view, labels.astype(view.dtype, copy=False), where=labels != 0)
            return
        mask = sub.view(np.bool_) if sub.dtype == np.uint8 else sub != 0  # 0/1 frames
        both = np.logical_and(view, mask)
        if both.any():
            existing = view[both]
            clash = existing != value
            if clash.any():
                other = int(existing[clash][0])
                raise LabelOverlapError(
                    f"segments {other} ({self.names.get(other, '?')!r}) and {value} "
                    f"({self.names.get(value, '?')!r}) of {self.path!r} overlap at "
                    f"{int(clash.sum())} voxels of frame {frame + 1}; one label image "
                    "cannot hold both: open it with layout='stack' (one c index per segment)"
                )
        np.copyto(view, view.dtype.type(value), where=mask)
