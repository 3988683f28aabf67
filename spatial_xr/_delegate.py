"""Accessor methods that show the signature and docstring of the function they call.

``da.spatial.crop(...)`` calls :func:`spatial_xr.ops.crop.crop` with the image as its
first argument. The method is written as ``crop(self, *args, **kwargs)``, so that it
forwards exactly what it is given, and :func:`forwards_to` gives it the target's signature
(minus that first parameter) and numpydoc docstring for ``help()``, IDEs that inspect live
objects and Jupyter's ``?``. The target module is imported on first access of the method,
not when the accessor is defined: ``import spatial_xr`` stays light.
"""

from __future__ import annotations

import importlib
import inspect
import types
from collections.abc import Callable
from typing import Any, TypeVar, cast

__all__ = ["forwards_to", "target_of"]

F = TypeVar("F", bound=Callable[..., Any])


class _Forwarding:
    """Descriptor around an accessor method; see :func:`forwards_to`."""

    def __init__(self, method: Callable[..., Any], target: str) -> None:
        self._method = method
        self._target = target
        self._ready = False
        self.__name__ = method.__name__
        self.__qualname__ = method.__qualname__
        self.__module__ = method.__module__
        self.__doc__ = method.__doc__

    def target(self) -> Callable[..., Any]:
        module, _, name = self._target.partition(":")
        return cast(Callable[..., Any], getattr(importlib.import_module(module), name))

    def _prepare(self) -> Callable[..., Any]:
        if self._ready:
            return self._method
        try:
            target = self.target()
        except ImportError:  # an optional dependency: calling the method says which
            return self._method
        sig = _as_written(inspect.signature(target))
        first, *rest = sig.parameters.values()
        own_self = next(iter(inspect.signature(self._method).parameters.values()))
        method = self._method
        method.__signature__ = sig.replace(  # type: ignore[attr-defined]
            parameters=[own_self, *rest]
        )
        method.__doc__ = _forwarded_doc(target, first.name, self._target.replace(":", "."))
        self._ready = True
        return method

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        method = self._prepare()
        return method if instance is None else types.MethodType(method, instance)


class _Written(str):
    """An annotation kept as its source text (``from __future__ import annotations``),
    shown without quotes: ``lower: ArrayLike | None = None``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def _as_written(sig: inspect.Signature) -> inspect.Signature:
    def text(a: Any) -> Any:
        return _Written(a) if isinstance(a, str) else a

    return sig.replace(
        parameters=[p.replace(annotation=text(p.annotation)) for p in sig.parameters.values()],
        return_annotation=text(sig.return_annotation),
    )


def forwards_to(target: str) -> Callable[[F], F]:
    """Decorate an accessor method that calls ``target`` with the accessor's object first.

    Parameters
    ----------
    target : str
        ``"module:function"``, e.g. ``"spatial_xr.ops.crop:crop"``.

    Returns
    -------
    callable
        A decorator; the decorated method keeps its body, and shows the target's
        signature without its first parameter, and the target's docstring without that
        parameter's entry.
    """

    def decorate(method: F) -> F:
        return cast(F, _Forwarding(method, target))

    return decorate


def target_of(cls: type, name: str) -> Callable[..., Any] | None:
    """The function that method ``name`` of ``cls`` forwards to, or None if it does not."""
    attr = inspect.getattr_static(cls, name, None)
    return attr.target() if isinstance(attr, _Forwarding) else None


def _forwarded_doc(target: Callable[..., Any], first: str, dotted: str) -> str:
    """``target``'s docstring without the entry of its parameter ``first``, and a line that
    names ``target``.

    Parameters
    ----------
    target : callable
        The function called.
    first : str
        Name of its first parameter (the image or pyramid the accessor holds).
    dotted : str
        ``module.function`` of ``target``, for the closing reference.

    Returns
    -------
    str
    """
    doc = inspect.getdoc(target) or ""
    lines = doc.splitlines()
    out: list[str] = []
    in_params = False
    skipping = False
    for i, line in enumerate(lines):
        if line == "Parameters" and i + 1 < len(lines) and set(lines[i + 1]) == {"-"}:
            in_params = True
        elif in_params and i + 1 < len(lines) and set(lines[i + 1]) == {"-"} and line:
            in_params = False  # the next section
        if in_params and line and not line.startswith(" "):
            names = [n.strip() for n in line.split(":")[0].split(",")]
            skipping = names == [first]
            if skipping:
                continue
        elif skipping and (line.startswith(" ") or not line):
            if not line:
                skipping = False
                out.append(line)
            continue
        out.append(line)
    text = "\n".join(out).replace("Parameters\n----------\n\n", "")  # nothing left in it
    return text.rstrip() + (
        f"\n\nCalls :func:`{dotted}` with this object as ``{first}``."
    )
