"""Child process: run one side of one case once and write its report as JSON.

Usage: ``python -m benchmarks.child SPEC.json`` where the spec holds ``func``
(``"module:function"``), ``params`` and ``out`` (the report path).

Measurement: the factory ``function(params)`` runs first (imports, setup; not timed) and
returns ``run``. After a garbage collection the baseline peak RSS is read, then
``run()`` is timed with ``time.perf_counter``, then the peak RSS is read again.
``ru_maxrss`` is a high-water mark for the whole process, so the reported increase is
the extra memory the timed operation needed beyond what imports and setup had already
touched. ``run()`` may return a JSON-safe summary of its result (e.g. a checksum) that the
runner compares between sides, or a dict ``{"summary": ..., "extra": {...}}``; a callable
summary is called after the time and the peak RSS have been read, so that checking the
result costs neither.
"""

from __future__ import annotations

import gc
import importlib
import json
import resource
import sys
import time
import traceback
from pathlib import Path


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its waited-for children, all threads."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    out = Path(spec["out"])
    try:
        module_name, func_name = spec["func"].split(":")
        factory = getattr(importlib.import_module(module_name), func_name)
        run = factory(spec["params"])
        gc.collect()
        base = peak_rss_mib()
        c0 = _cpu_seconds()
        t0 = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - t0
        cpu = _cpu_seconds() - c0
        peak = peak_rss_mib()
        summary, extra = result, {}
        if isinstance(result, dict) and "summary" in result:
            summary, extra = result["summary"], result.get("extra", {})
        if callable(summary):  # e.g. a checksum: computed after the measurement
            summary = summary()
        if callable(extra):
            extra = extra()
        if extra.get("items"):  # a batch: report the time per item
            seconds /= extra["items"]
            cpu /= extra["items"]
        report = {"seconds": seconds, "cpu_seconds": cpu, "rss_base_mib": base,
                  "rss_peak_mib": peak,
                  "summary": summary, "extra": extra}
    except Exception as exc:
        traceback.print_exc()
        report = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    out.write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
