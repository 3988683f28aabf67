"""Build of the compiled interpolation kernels; everything else is in pyproject.toml."""

import sys

from setuptools import Extension, setup

# no floating-point contraction: results must not depend on the instruction set
FLAGS = (["/O2", "/std:c++17", "/fp:precise"] if sys.platform == "win32"
         else ["-O3", "-std=c++17", "-ffp-contract=off"])

setup(
    ext_modules=[
        Extension(
            "spatial_xr.ops._interp",
            sources=["spatial_xr/ops/_interp.cpp"],
            language="c++",
            extra_compile_args=FLAGS,
        )
    ]
)
