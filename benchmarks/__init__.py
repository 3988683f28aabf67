"""Benchmarks of spatial_xr against the tools users would otherwise pick.

Run ``python -m benchmarks [--quick] [--only PATTERN]``; see ``benchmarks/README.md``.
"""
