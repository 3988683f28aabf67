"""``python -m benchmarks [--quick] [--only PATTERN]``: build inputs, run cases, print the
table."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from benchmarks import harness, inputs
from benchmarks.cases import all_cases
from benchmarks.harness import Case, Row, format_table, rows_for, run_case, select
from benchmarks.machine import describe

ROOT = Path(__file__).resolve().parent.parent
README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small inputs, one repetition")
    p.add_argument("--smoke", action="store_true",
                   help="tiny inputs, one repetition: checks the machinery only")
    p.add_argument("--only", metavar="PATTERN",
                   help="run cases whose name matches (glob or substring)")
    p.add_argument("--repeats", type=int, help="repetitions per case (default per profile)")
    p.add_argument("--cache", type=Path, default=ROOT / ".bench-cache",
                   help="scratch folder for inputs and outputs (default .bench-cache)")
    p.add_argument("--slow-peers", action="store_true",
                   help="also run peers marked slow (minutes per repetition)")
    p.add_argument("--python", metavar="PATH",
                   help="interpreter for the measured children (default: this one), e.g. "
                        "an environment with only the core dependencies and the peers")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("--write-readme", action="store_true",
                   help="replace the results section of benchmarks/README.md")
    return p


def unavailable(case: Case) -> str | None:
    """Why ``case`` cannot run yet, or None."""
    if case.requires is None:
        return None
    try:
        return case.requires()
    except Exception as exc:  # a broken feature check is a missing feature
        return f"{type(exc).__name__}: {exc}"


PRELOAD = ("spatial_xr", "spatial_xr.io.nifti.read", "nibabel", "SimpleITK", "pydicom", "zarr",
           "ngff_zarr", "dask.array", "dask.distributed", "scipy.ndimage", "xarray", "isal")


def prepare_children(cache: Path) -> None:
    """Let children import as an installed package does: from compiled bytecode.

    Bytecode goes to ``<cache>/pycache`` (``PYTHONPYCACHEPREFIX``), so nothing is written
    into the environment; one child compiles the libraries first, so that no measured
    child pays for compiling them.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache / "pycache")
    code = "\n".join(
        f"try:\n    import {m}\nexcept Exception:\n    pass" for m in PRELOAD)
    subprocess.run([harness.CHILD_PYTHON, "-c", code], cwd=ROOT, check=False,
                   capture_output=True)


def run(
    args: argparse.Namespace, progress: Any = None
) -> tuple[list[Row], list[Case], inputs.Profile]:
    """Run the selected cases; ``progress(rows, build_seconds=...)`` is called after each
    case with the rows so far and the seconds spent building inputs."""
    prof = inputs.PROFILES["smoke" if args.smoke else "quick" if args.quick else "full"]
    cases = select(all_cases(), args.only)
    if not args.slow_peers:
        cases = [replace(c, peers=[p for p in c.peers if not p.slow]) for c in cases]
    if prof.name != "full":  # variants left out, and one peer per case
        cases = [replace(c, peers=list(c.peers)[:1]) for c in cases if c.quick]
    repeats = args.repeats or prof.repeats
    cache = args.cache.resolve()
    work = cache / f"work-{os.getpid()}"  # one per run: concurrent runs share inputs only
    work.mkdir(parents=True, exist_ok=True)
    prepare_children(cache)
    rows: list[Row] = []
    build_seconds = 0.0
    for case in cases:
        reason = unavailable(case)
        if reason:
            _log(f"{case.name}: not available ({reason})")
            for peer in case.peers or [None]:
                rows.append(Row(case.name, case.ours.label, peer.label if peer else None,
                                status=f"not available (feature missing: {reason})"))
            continue
        params: dict[str, Any] = {"profile": prof.name, "work_root": str(work),
                                  "memory_budget": prof.memory_budget}
        try:
            for name in case.inputs:
                tb = time.perf_counter()
                params[f"input_{name}"] = str(inputs.build(name, cache, prof, log=_log))
                build_seconds += time.perf_counter() - tb
        except Exception as exc:
            _log(f"{case.name}: input build failed: {exc!r}")
            rows.append(Row(case.name, case.ours.label, None,
                            status=f"input build failed: {type(exc).__name__}: {exc}"))
            continue
        if len(case.inputs) == 1:
            params["input_path"] = params[f"input_{case.inputs[0]}"]
        _log(f"{case.name}:")
        t0 = time.perf_counter()
        outcomes = run_case(case, params, repeats, prof.warmup, log=_log)
        _log(f"  ({time.perf_counter() - t0:.1f} s)")
        rows.extend(rows_for(case, outcomes))
        if progress is not None:
            progress(rows, build_seconds=build_seconds)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(work, ignore_errors=True)
    return rows, cases, prof


def report(rows: list[Row], cases: list[Case], prof: inputs.Profile, machine: str,
           seconds: float, build_seconds: float = 0.0) -> str:
    """Markdown: machine, table, notes."""
    notes = [f"- {c.name}: {c.note}" for c in cases if c.note]
    extras = [f"- {r.case}: {r.extra[k]}" for r in rows for k in ("note", "peer_note")
              if r.extra.get(k)]
    seen: set[str] = set()
    extras = [e for e in extras if not (e in seen or seen.add(e))]
    parts = [
        f"Profile `{prof.name}` (CT volume {'×'.join(map(str, prof.ct_shape))} int16, "
        f"out-of-core volume {'×'.join(map(str, prof.big_shape))} int16), "
        f"run took {seconds / 60:.1f} min end to end, of which {build_seconds / 60:.1f} min "
        "building inputs not found in the cache. The runner's own peak RSS, the floor under "
        f"every child's peak: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} "
        "MiB.",
        "",
        machine,
        "",
        format_table(rows),
    ]
    if notes or extras:
        parts += ["", *notes, *extras]
    return "\n".join(parts)


def write_readme(text: str) -> None:
    body = README.read_text() if README.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in body or END not in body:
        body += f"\n{START}\n{END}\n"
    head, rest = body.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{text}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list:
        for c in select(all_cases(), args.only):
            reason = unavailable(c)
            peers = ", ".join(p.label + (" (slow: --slow-peers)" if p.slow else "")
                              for p in c.peers) or "–"
            print(f"{c.name}  [vs {peers}]" + (f"  (not available: {reason})" if reason else ""))
        return 0
    if args.python:
        harness.CHILD_PYTHON = str(args.python)
    machine = describe(harness.CHILD_PYTHON)
    t0 = time.perf_counter()
    cache = args.cache.resolve()
    name = "smoke" if args.smoke else "quick" if args.quick else "full"

    built = {"seconds": 0.0}

    def save(rows: list[Row], cases: list[Case] | None = None, final: bool = False,
             build_seconds: float | None = None) -> str:
        if build_seconds is not None:
            built["seconds"] = build_seconds
        text = report(rows, cases or [], inputs.PROFILES[name], machine,
                      time.perf_counter() - t0, built["seconds"])
        suffix = "" if final else ".partial"
        cache.mkdir(parents=True, exist_ok=True)
        (cache / f"results-{name}{suffix}.md").write_text(text + "\n")
        (cache / f"results-{name}{suffix}.json").write_text(
            json.dumps([asdict(r) for r in rows], indent=1, default=str))
        return text

    rows, cases, _ = run(args, progress=save)
    text = save(rows, cases, final=True)
    print(text)
    if args.write_readme:
        write_readme(text)
    return 0
