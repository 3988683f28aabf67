"""The SimpleITK ImageIOs the fallback reader claims: their file names, first bytes,
whether ITK reads a region of them without decoding the rest, and their world frame.

The table is static so that recognising a file needs neither SimpleITK nor more than the
registry's bounded prefix of the file. Formats with their own reader in spatial_xr are left
out (NIfTI and Analyze: ``NiftiImageIO``; DICOM: ``GDCMImageIO``; NRRD: ``NrrdImageIO``;
MetaImage: ``MetaImageIO``), and so are ImageIOs that recognise files by content alone
(``GE4ImageIO``, ``GE5ImageIO``, ``Bruker2dseqImageIO``).

**Streaming** is ITK's ``ImageIOBase::CanStreamRead`` for the ImageIO: True means a region
request (``ImageFileReader.SetExtractIndex``/``SetExtractSize``) reads only that region's
bytes; False means ITK decodes the whole image and crops it. JPEG 2000 streams by tile in
ITK but decodes a whole tile per request; it is treated as a full decode here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["IMAGE_IOS", "SITK_EXTENSIONS", "SITK_MAGIC", "ImageIOInfo", "image_io"]


@dataclass(frozen=True)
class ImageIOInfo:
    """One SimpleITK ImageIO as the fallback reader uses it.

    Parameters
    ----------
    name : str
        ITK's class name (``sitk.ImageFileReader().GetRegisteredImageIOs()``).
    label : str
        The format's name for people.
    extensions : tuple of str
        Lower-case file-name endings, with the dot.
    streams : bool
        ITK reads a region without decoding the whole file.
    raw : bool
        Voxels are stored uncompressed after a header (VTK only when ``BINARY``), so a
        file smaller than its voxels is truncated. ITK reads such files without an error,
        so spatial_xr checks their size.
    world : {"LPS", "RAS"}
        The frame of the geometry SimpleITK returns for this ImageIO. ``"RAS"``: SimpleITK's
        builds pass MINC's world coordinates (RAS by the MINC standard) through unchanged
        (ITK's ``ITK_MINC_IO_RAS_TO_LPS`` is off), so spatial_xr negates x and y.
    """

    name: str
    label: str
    extensions: tuple[str, ...]
    streams: bool
    raw: bool = False
    world: Literal["LPS", "RAS"] = "LPS"


IMAGE_IOS: tuple[ImageIOInfo, ...] = (
    ImageIOInfo("VTKImageIO", "VTK legacy structured points", (".vtk",), True, raw=True),
    ImageIOInfo("MRCImageIO", "MRC (electron microscopy)", (".mrc", ".rec"), True, raw=True),
    ImageIOInfo("HDF5ImageIO", "ITK HDF5 image", (".h5", ".hdf5"), True),
    ImageIOInfo("GiplImageIO", "GIPL (Guy's Image Processing Lab)", (".gipl", ".gipl.gz"),
                False, raw=True),
    ImageIOInfo("MINCImageIO", "MINC 2", (".mnc", ".mnc2"), False, world="RAS"),
    ImageIOInfo("PNGImageIO", "PNG", (".png",), False),
    ImageIOInfo("JPEGImageIO", "JPEG", (".jpg", ".jpeg"), False),
    ImageIOInfo("BMPImageIO", "BMP", (".bmp",), False),
    ImageIOInfo("TIFFImageIO", "TIFF", (".tif", ".tiff"), False),
    ImageIOInfo("JPEG2000ImageIO", "JPEG 2000", (".jp2", ".j2k", ".jpt"), False),
    ImageIOInfo("LSMImageIO", "Zeiss LSM", (".lsm",), False),
    ImageIOInfo("BioRadImageIO", "Bio-Rad PIC", (".pic",), False),
    ImageIOInfo("StimulateImageIO", "Stimulate (.spr + .sdt)", (".spr",), False),
)

SITK_EXTENSIONS: tuple[str, ...] = tuple(e for io in IMAGE_IOS for e in io.extensions)
"""Every file-name ending the fallback claims."""

SITK_MAGIC: tuple[tuple[int, bytes], ...] = (
    (0, b"\x89PNG\r\n\x1a\n"),
    (0, b"\xff\xd8\xff"),  # JPEG
    (0, b"II*\x00"),  # TIFF, little-endian
    (0, b"MM\x00*"),  # TIFF, big-endian
    (0, b"# vtk DataFile"),
    (208, b"MAP "),  # MRC 2014
)
"""First bytes that identify a file SimpleITK reads whatever its name."""


def image_io(name: str) -> ImageIOInfo | None:
    """The table's entry for an ImageIO class name, or None (an ImageIO spatial_xr does
    not list: treated as a full decode in the LPS frame)."""
    return next((io for io in IMAGE_IOS if io.name == name), None)
