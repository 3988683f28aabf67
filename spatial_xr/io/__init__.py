"""Readers and writers: NIfTI, DICOM, OME-Zarr, MetaImage, and :func:`open_image` dispatch."""
