"""Recognising NIfTI-Zarr stores: by content (a ``nifti`` array beside the OME metadata),
by the name of URLs and destinations; plain OME-Zarr stays ``omezarr``."""

from __future__ import annotations

import spatial_xr as sx
from spatial_xr.io.formats import Probe, capability_table, find_format, recognise
from spatial_xr.io.niftizarr.detect import sniff_niftizarr

from .conftest import nibabel_file, reference_store


def test_reference_store_is_niftizarr_whatever_its_name(tmp_path):
    path = reference_store(nibabel_file("anatomical.nii"), tmp_path / "scan.zarr")
    assert sniff_niftizarr(Probe(path))
    assert find_format(path).name == "niftizarr"


def test_plain_omezarr_is_not(tmp_path):
    path = tmp_path / "scan.nii.zarr"  # the name alone does not make an existing store NIfTI-Zarr
    sx.open_image(nibabel_file("anatomical.nii")).spatial.to_ome_zarr(path, pyramid=False)
    assert not sniff_niftizarr(Probe(path))
    assert find_format(path).name == "omezarr"


def test_urls_and_destinations_by_name(tmp_path):
    assert recognise("s3://bucket/scan.nii.zarr").name == "niftizarr"
    assert recognise("s3://bucket/scan.ome.zarr").name == "omezarr"
    assert recognise(str(tmp_path / "new.nii.zarr")).name == "niftizarr"
    assert not sniff_niftizarr(Probe(nibabel_file("anatomical.nii")))


def test_listed_with_its_capabilities():
    row = next(r for r in capability_table() if r["name"] == "niftizarr")
    assert row["write"] and row["multiscale"] and row["partial_reads"] and row["remote"]
    names = [r["name"] for r in capability_table()]
    assert names.index("niftizarr") < names.index("omezarr")
