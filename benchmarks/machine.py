"""A short description of the machine and software a run measured."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys

__all__ = ["describe"]

_PACKAGES = ("numpy", "scipy", "dask", "xarray", "zarr", "nibabel", "SimpleITK", "pydicom",
             "ngff-zarr", "isal", "distributed", "pylibjpeg", "pillow")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _ram_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return None


def _versions(python: str) -> dict[str, str]:
    """Installed versions of ``_PACKAGES`` in the environment of ``python``."""
    code = ("import json, importlib.metadata as md\nout = {}\n"
            f"for n in {_PACKAGES!r}:\n"
            "    try:\n        out[n] = md.version(n)\n"
            "    except md.PackageNotFoundError:\n        pass\n"
            "print(json.dumps(out))")
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    try:
        return dict(json.loads(proc.stdout))
    except ValueError:
        return {}


def describe(python: str | None = None) -> str:
    """Markdown lines: date (UTC), CPU model, cores, RAM, OS, the measured children's Python
    and package versions (``python``: their interpreter, default this one)."""
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    ram = _ram_gib()
    python = python or sys.executable
    found = _versions(python)
    versions = [f"{name} {found[name]}" for name in _PACKAGES if name in found]
    missing = [name for name in _PACKAGES if name not in found]
    where = "" if python == sys.executable else f" (children run {python})"
    try:
        load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        load = "n/a"
    return "\n".join([
        f"- date: {now}",
        f"- CPU: {_cpu_model()}, {os.cpu_count()} logical cores",
        f"- RAM: {ram:.1f} GiB" if ram else "- RAM: unknown",
        f"- OS: {platform.system()} {platform.release()}",
        f"- Python {sys.version.split()[0]}{where}; " + ", ".join(versions)
        + (f"; not installed: {', '.join(missing)}" if missing else ""),
        f"- load average at start (1, 5, 15 min): {load}",
    ])
