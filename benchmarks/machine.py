"""A short description of the machine and software a run measured."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata as md
import os
import platform
import sys

__all__ = ["describe"]

_PACKAGES = ("numpy", "scipy", "dask", "xarray", "zarr", "nibabel", "SimpleITK", "pydicom",
             "ngff-zarr", "isal")


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


def describe() -> str:
    """Markdown lines: date (UTC), CPU model, cores, RAM, OS, Python and package versions."""
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    ram = _ram_gib()
    versions = []
    for name in _PACKAGES:
        try:
            versions.append(f"{name} {md.version(name)}")
        except md.PackageNotFoundError:
            continue
    try:
        load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        load = "n/a"
    return "\n".join([
        f"- date: {now}",
        f"- CPU: {_cpu_model()}, {os.cpu_count()} logical cores",
        f"- RAM: {ram:.1f} GiB" if ram else "- RAM: unknown",
        f"- OS: {platform.system()} {platform.release()}",
        f"- Python {sys.version.split()[0]}; " + ", ".join(versions),
        f"- load average at start (1, 5, 15 min): {load}",
    ])
