"""Analyze 7.5 and NIfTI pairs (``.hdr`` + ``.img``, optionally gzipped): lazy reading
through nibabel's proxy.

Public function: :func:`open_analyze`.
"""

from spatial_xr.io.analyze.read import open_analyze

__all__ = ["open_analyze"]
