"""Benchmark machinery: case declarations, the alternating runner and the result table.

A *case* names one operation done by spatial_xr ("ours") and by one or more tools users
would otherwise pick ("peers"). Each side is a module-level *factory* function
``factory(params) -> run`` in a case module: the factory does the imports and any setup that
is not part of the measurement, and ``run()`` is the timed operation. Every repetition
runs each side in a fresh Python subprocess (see :mod:`benchmarks.child`), alternating
the order of the sides from one repetition to the next, so that drift in machine load
hits all sides alike.

Figures per side: the median wall time of ``run()``, and peak resident memory from
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` in the child, reported as the increase
over a baseline taken after the factory returned (imports and setup done), plus the
absolute peak. The ratio is the median over repetitions of ours / peer within the same
repetition.
"""

from __future__ import annotations

import fnmatch
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Case",
    "Outcome",
    "Row",
    "Side",
    "format_table",
    "rows_for",
    "run_case",
    "run_side",
    "select",
]


@dataclass(frozen=True)
class Side:
    """One implementation of a case.

    Parameters
    ----------
    label : str
        Who does the work, e.g. ``"spatial_xr"``, ``"nibabel dataobj"``.
    func : str
        ``"module:function"`` of the factory ``function(params) -> run``.
    params : dict
        Extra JSON-safe parameters merged into the case's parameters.
    slow : bool
        A peer so slow that it would dominate the run (minutes per repetition): left out
        unless the runner is asked for slow peers (``--slow-peers``).
    """

    label: str
    func: str
    params: dict[str, Any] = field(default_factory=dict)
    slow: bool = False


@dataclass(frozen=True)
class Case:
    """A benchmark case: our side, its peers, the inputs it needs.

    Parameters
    ----------
    name : str
        Row name in the table (unique).
    ours : Side
        spatial_xr's implementation.
    peers : sequence of Side
        Implementations to compare against; one table row per peer (none: a single row).
    inputs : sequence of str
        Names of input builders (:mod:`benchmarks.inputs`) whose paths go into ``params``.
    params : dict
        JSON-safe parameters passed to every side.
    requires : callable, optional
        Returns ``None`` when the feature is available, else a short reason; a case whose
        feature is missing is reported as not available instead of run.
    repeats : int, optional
        Repetitions for this case (default: the runner's).
    cold : bool
        Evict the input files from the page cache before every run (``posix_fadvise``
        ``DONTNEED``), so reads come from disk; otherwise runs read a warm cache.
    timeout : float
        Seconds per child process before it is killed and reported as a timeout.
    note : str
        Shown under the table.
    quick : bool
        Part of the ``--quick`` run (variants of other rows are left out of it).
    """

    name: str
    ours: Side
    peers: Sequence[Side] = ()
    inputs: Sequence[str] = ()
    params: dict[str, Any] = field(default_factory=dict)
    requires: Callable[[], str | None] | None = None
    repeats: int | None = None
    cold: bool = False
    timeout: float = 600.0
    note: str = ""
    quick: bool = True

    def sides(self) -> list[Side]:
        return [self.ours, *self.peers]


@dataclass
class Outcome:
    """What one child run reported: seconds, memory (MiB), a summary of the result, or
    an error."""

    seconds: float | None = None
    cpu_seconds: float | None = None
    rss_base_mib: float | None = None
    rss_peak_mib: float | None = None
    summary: Any = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rss_delta_mib(self) -> float | None:
        if self.rss_peak_mib is None or self.rss_base_mib is None:
            return None
        return self.rss_peak_mib - self.rss_base_mib


@dataclass
class Row:
    """One line of the table."""

    case: str
    ours_label: str
    peer_label: str | None
    ours_s: float | None = None
    peer_s: float | None = None
    ratio: float | None = None
    cpu_ratio: float | None = None
    ours_delta: float | None = None
    peer_delta: float | None = None
    ours_peak: float | None = None
    peer_peak: float | None = None
    reps: int = 0
    status: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def select(cases: Sequence[Case], pattern: str | None) -> list[Case]:
    """Cases whose name matches ``pattern`` (glob, or substring when no wildcard),
    case-insensitive."""
    if not pattern:
        return list(cases)
    pat = pattern.lower()
    if not any(ch in pat for ch in "*?["):
        pat = f"*{pat}*"
    return [c for c in cases if fnmatch.fnmatch(c.name.lower(), pat)]


def _files(paths: Sequence[str]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        out.extend([path] if path.is_file() else sorted(f for f in path.rglob("*")
                                                        if f.is_file()))
    return out


def prime(paths: Sequence[str]) -> None:
    """Read every file under ``paths`` once, so that runs find them in the page cache."""
    for f in _files(paths):
        with open(f, "rb", buffering=0) as fh:
            while fh.read(16 << 20):
                pass


def evict(paths: Sequence[str]) -> None:
    """Drop the page-cache pages of every file under ``paths`` (no root needed)."""
    for f in _files(paths):
        fd = os.open(f, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


CHILD_PYTHON = sys.executable
"""Interpreter of the children (``--python``: e.g. an environment with only the core
dependencies, to measure what a minimal install imports)."""


def run_side(side: Side, params: dict[str, Any], timeout: float) -> Outcome:
    """Run one side once in a fresh subprocess and collect its report."""
    with tempfile.TemporaryDirectory(prefix="bench-", dir=params.get("work_root")) as tmp:
        merged = {**params, **side.params, "out_dir": str(Path(tmp) / "out")}
        out = Path(tmp) / "result.json"
        spec = Path(tmp) / "spec.json"
        spec.write_text(json.dumps({"func": side.func, "params": merged, "out": str(out)}))
        cmd = [CHILD_PYTHON, "-m", "benchmarks.child", str(spec)]
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(root), *filter(None, [os.environ.get("PYTHONPATH")])])}
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  cwd=root, env=env)
        except subprocess.TimeoutExpired:
            return Outcome(error=f"timeout after {timeout:.0f} s")
        if not out.exists():
            lines = [ln for ln in (proc.stderr or "").strip().splitlines() if ln.strip()]
            last = lines[-1] if lines else f"exit code {proc.returncode}"
            return Outcome(error=last[:200])
        data = json.loads(out.read_text())
    if data.get("error"):
        return Outcome(error=data["error"][:200])
    return Outcome(
        seconds=data["seconds"],
        cpu_seconds=data.get("cpu_seconds"),
        rss_base_mib=data["rss_base_mib"],
        rss_peak_mib=data["rss_peak_mib"],
        summary=data.get("summary"),
        extra=data.get("extra") or {},
    )


def run_case(
    case: Case,
    params: dict[str, Any],
    repeats: int,
    warmup: bool,
    log: Callable[[str], None] = lambda s: None,
) -> list[list[Outcome]]:
    """Run every side of ``case`` ``repeats`` times, alternating the order.

    Returns
    -------
    list of list of Outcome
        ``outcomes[r][s]``: repetition r, side s (our side first).
    """
    sides = case.sides()
    n = min(case.repeats, repeats) if case.repeats is not None else repeats
    all_params = {**case.params, **params}
    inputs = [v for k, v in all_params.items() if k.startswith("input_")]
    if not case.cold:
        prime(inputs)
    if warmup and not case.cold:
        for side in sides:
            run_side(side, all_params, case.timeout)
    outcomes: list[list[Outcome]] = []
    for r in range(n):
        order = list(range(len(sides)))
        if r % 2:
            order.reverse()
        rep: dict[int, Outcome] = {}
        for i in order:
            if case.cold:
                evict(inputs)
            t0 = time.perf_counter()
            rep[i] = run_side(sides[i], all_params, case.timeout)
            o = rep[i]
            what = f"{o.seconds:.3f} s" if o.error is None else f"ERROR {o.error}"
            log(f"  [{r + 1}/{n}] {sides[i].label}: {what} "
                f"(child {time.perf_counter() - t0:.1f} s)")
        outcomes.append([rep[i] for i in range(len(sides))])
        if any(o.error for o in rep.values()):
            break  # a failing side fails every time; do not waste the budget
    return outcomes


def _median(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def rows_for(case: Case, outcomes: list[list[Outcome]]) -> list[Row]:
    """Summarise a case's outcomes as one row per peer (or one row with no peer)."""
    ours = [rep[0] for rep in outcomes]
    peers: list[Side | None] = list(case.peers) or [None]
    rows = []
    for j, peer in enumerate(peers, start=1):
        row = Row(case.name, case.ours.label, peer.label if peer else None, reps=len(outcomes))
        errors = [o.error for o in ours if o.error]
        if errors:
            row.status = f"error (ours): {errors[0]}"
        peer_out = [rep[j] for rep in outcomes] if peer else []
        perrors = [o.error for o in peer_out if o.error]
        if perrors and not row.status:
            row.status = f"error (peer): {perrors[0]}"
        row.ours_s = _median([o.seconds for o in ours])
        row.ours_delta = _median([o.rss_delta_mib for o in ours])
        row.ours_peak = _median([o.rss_peak_mib for o in ours])
        extras = [o.extra for o in ours if o.extra]
        if extras:
            row.extra = dict(extras[-1])
            parts = []
            if row.extra.get("bytes") and row.ours_s:
                parts.append(f"{row.extra['bytes'] / row.ours_s / 1e9:.3g} GB/s")
            if row.extra.get("note"):
                parts.append(str(row.extra["note"]))
            if parts:
                row.extra["note"] = f"{row.ours_label}: {'; '.join(parts)}"
        if peer:
            pnotes = [o.extra.get("note") for o in peer_out if o.extra.get("note")]
            if pnotes:
                row.extra["peer_note"] = f"{peer.label}: {pnotes[-1]}"
            row.peer_s = _median([o.seconds for o in peer_out])
            row.peer_delta = _median([o.rss_delta_mib for o in peer_out])
            row.peer_peak = _median([o.rss_peak_mib for o in peer_out])
            ratios = [a.seconds / b.seconds for a, b in zip(ours, peer_out, strict=True)
                      if a.seconds is not None and b.seconds]
            row.ratio = _median(ratios)
            row.cpu_ratio = _median([a.cpu_seconds / b.cpu_seconds
                                     for a, b in zip(ours, peer_out, strict=True)
                                     if a.cpu_seconds is not None and b.cpu_seconds])
            mism = [(a.summary, b.summary) for a, b in zip(ours, peer_out, strict=True)
                    if a.summary is not None and b.summary is not None
                    and a.summary != b.summary]
            if mism and not row.status:
                row.status = f"results differ: ours {mism[0][0]} vs peer {mism[0][1]}"
        rows.append(row)
    return rows


def _fmt_s(v: float | None) -> str:
    if v is None:
        return "–"
    if v < 0.01:
        return f"{v * 1000:.2f} ms"
    if v < 1:
        return f"{v * 1000:.0f} ms"
    return f"{v:.2f} s"


def _fmt_mib(v: float | None) -> str:
    return "–" if v is None else f"{v:,.0f}"


def format_table(rows: Sequence[Row]) -> str:
    """The markdown table: one line per row, memory in MiB."""
    head = ("| case | ours | peer | ours median | peer median | ratio ours/peer "
            "| CPU-time ratio | ours ΔRSS MiB | peer ΔRSS MiB | ours peak MiB "
            "| peer peak MiB | n |")
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        if r.status and r.ours_s is None:
            lines.append(f"| {r.case} | {r.ours_label} | {r.peer_label or '–'} "
                         f"| {r.status} | | | | | | | | |")
            continue
        ratio = "–" if r.ratio is None else f"{r.ratio:.2f}"
        if r.status:
            ratio += f" ({r.status})"
        lines.append(
            f"| {r.case} | {r.ours_label} | {r.peer_label or '–'} | {_fmt_s(r.ours_s)} "
            f"| {_fmt_s(r.peer_s)} | {ratio} "
            f"| {'–' if r.cpu_ratio is None else f'{r.cpu_ratio:.2f}'} "
            f"| {_fmt_mib(r.ours_delta)} "
            f"| {_fmt_mib(r.peer_delta)} | {_fmt_mib(r.ours_peak)} | {_fmt_mib(r.peer_peak)} "
            f"| {r.reps} |"
        )
    return "\n".join(lines)
