"""Readers and writers: NIfTI, DICOM, OME-Zarr, and :func:`open_image` dispatch."""
