"""Build of the compiled interpolation kernels; everything else is in pyproject.toml.

The kernels (``spatial_xr/ops/_interp.cpp``) use no Python API: they are built as a
plain shared library, ``spatial_xr/ops/libspatialxr_interp.so`` (``.dylib`` on macOS,
``.dll`` on Windows), which ``spatial_xr/ops/_native.py`` loads with :mod:`ctypes`.
Since nothing in the wheel depends on the interpreter's ABI, the wheel is tagged for the
stable ABI (``cp311-abi3-<platform>``): one wheel per platform serves every CPython ≥ 3.11.
"""

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# no floating-point contraction: results must not depend on the instruction set
FLAGS = (["/O2", "/std:c++17", "/fp:precise"] if sys.platform == "win32"
         else ["-O3", "-std=c++17", "-ffp-contract=off"])

LIBRARY = "spatial_xr.ops.libspatialxr_interp"
SUFFIX = {"win32": ".dll", "darwin": ".dylib"}.get(sys.platform, ".so")
ENTRY_POINTS = ["sxr_affine", "sxr_separable", "sxr_points", "sxr_block_mean"]


class BuildSharedLibrary(build_ext):
    """``build_ext`` that links a plain shared library instead of an extension module:
    its file name has no interpreter tag, it exports the kernels' C functions (no
    ``PyInit_``) and it is not linked against libpython."""

    def get_ext_filename(self, fullname: str) -> str:
        return os.path.join(*fullname.split(".")) + SUFFIX

    def get_export_symbols(self, ext: Extension) -> list[str]:
        return list(ext.export_symbols)

    def get_libraries(self, ext: Extension) -> list[str]:
        return list(ext.libraries)


setup(
    ext_modules=[
        Extension(
            LIBRARY,
            sources=["spatial_xr/ops/_interp.cpp"],
            language="c++",
            extra_compile_args=FLAGS,
            export_symbols=ENTRY_POINTS,
        )
    ],
    cmdclass={"build_ext": BuildSharedLibrary},
    options={"bdist_wheel": {"py_limited_api": "cp311"}},
)
