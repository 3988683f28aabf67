"""Case modules; each declares ``CASES``, a list of :class:`benchmarks.harness.Case`."""

from __future__ import annotations

import importlib

from benchmarks.harness import Case

MODULES = ("reference", "nifti", "nrrd", "metaimage", "mgh", "dicom", "resample", "pyramid",
           "patch", "outofcore", "scaling", "imaris_ozx", "niftizarr", "tiff", "rtstruct",
           "seg")


def all_cases() -> list[Case]:
    """Every declared case, in table order."""
    cases: list[Case] = []
    for name in MODULES:
        cases.extend(importlib.import_module(f"benchmarks.cases.{name}").CASES)
    names = [c.name for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"duplicate case names: {sorted(dup)}")
    return cases
