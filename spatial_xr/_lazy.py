"""Package attributes imported on first use (PEP 562 module ``__getattr__``), so that
importing a package does not load the libraries its parts need (nibabel, pydicom, zarr,
ITK…)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping

__all__ = ["lazy_attributes"]


def lazy_attributes(
    package: str, where: Mapping[str, str], *, subpackages: bool = False
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose public names are imported
    from their modules on first use (then kept in the package's namespace).

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    where : mapping of str to str
        Name → module that defines it (absolute, or relative to ``package`` with a
        leading dot, e.g. ``".read"``).
    subpackages : bool
        Also give a public submodule or subpackage (``spatial_xr.ops``) on first use.

    Returns
    -------
    (__getattr__, __dir__)
        To bind at the package's top level:
        ``__getattr__, __dir__ = lazy_attributes(__name__, {...})``.
    """
    namespace = vars(sys.modules[package])

    def __getattr__(name: str) -> object:
        if name in where:
            value = getattr(importlib.import_module(where[name], package), name)
        elif (subpackages and not name.startswith("_")
              and importlib.util.find_spec(f"{package}.{name}")):
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where) | set(namespace.get("__all__", ())))

    return __getattr__, __dir__
