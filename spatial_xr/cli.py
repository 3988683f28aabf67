"""Command line: ``spatial-xr info PATH``, ``convert INPUT OUTPUT``, ``formats``, ``demo``,
``batch``.

Errors go to stderr with exit status 1 and no traceback unless ``--debug`` is given.
Subcommands register themselves in :data:`COMMANDS` (name → (add_arguments, run)).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

__all__ = ["COMMANDS", "main"]

AddArguments = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]


def _info_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="any readable image: file, folder, store or URL "
                                "(`spatial-xr formats` lists the formats)")
    p.add_argument("--orientation", default=None, help="reorient first, e.g. RAS")
    p.add_argument("--series-uid", default=None,
                   help="in a DICOM folder holding several series, the one to describe")
    p.add_argument("--format", default=None, help="skip recognition and use this format")


def _info_run(args: argparse.Namespace) -> int:
    import os

    from spatial_xr.io.formats import find_format
    from spatial_xr.repr import geometry_rows

    fmt = find_format(args.path, format=args.format)
    kwargs = {}
    if fmt.name == "dicom" and os.path.isdir(args.path):
        from spatial_xr.dicom import discover_series

        series = discover_series(args.path)
        print(f"{args.path}: {len(series)} DICOM series")
        for info in series:
            print(f"  {info.summary()}")
        if args.series_uid is None and len(series) > 1:
            print("pass --series-uid UID to describe one of them")
            return 0
        if args.series_uid is not None:
            kwargs["series_uid"] = args.series_uid
    if fmt.multiscale_reader is not None:
        tree = fmt.open_multiscale(args.path)
        print(f"{args.path}: {fmt.name}, {len(tree.children)} levels")
        print(tree.spatial.levels.to_string())
    da = fmt.open(args.path, **kwargs)
    if args.orientation is not None:
        da = da.spatial.reorient(args.orientation)
    rows = [("format", fmt.name), *geometry_rows(da)]
    width = max(len(k) for k, _ in rows)
    print(args.path)
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    return 0


def _convert_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="any readable image (`spatial-xr formats`)")
    p.add_argument("output", help="destination; its name picks the format (.ome.zarr, "
                                  ".nii.gz, …) unless --format is given")
    p.add_argument("--format", default=None, help="output format name")
    p.add_argument("--pyramid", action="store_true", help="OME-Zarr: also write coarser levels")
    p.add_argument("--version", default="0.5", choices=["0.4", "0.5", "0.6"],
                   help="OME-Zarr: OME-NGFF version (0.5: Zarr v3, 0.4: Zarr v2, 0.6: Zarr v3 "
                        "with RFC-5 coordinate systems, the direction as an affine)")
    p.add_argument("--chunks", type=int, default=None, help="OME-Zarr: chunk edge in voxels")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _convert_run(args: argparse.Namespace) -> int:
    import spatial_xr
    from spatial_xr.io.api import write_image
    from spatial_xr.io.formats import find_format

    da = spatial_xr.open_image(args.input)
    options = {}
    if args.format in ("omezarr", "niftizarr") or (args.format is None and
                                    args.output.rstrip("/").lower().endswith(".zarr")):
        options = {"pyramid": args.pyramid, "version": args.version, "chunks": args.chunks,
                   "progress": not args.no_progress}
    write_image(da, args.output, format=args.format, overwrite=args.overwrite, **options)
    fmt = find_format(args.output)
    print(f"wrote {args.output} ({fmt.name})")
    if fmt.multiscale_reader is not None:
        print(fmt.open_multiscale(args.output).spatial.levels.to_string())
    return 0


def _formats_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the table as JSON")


def _formats_run(args: argparse.Namespace) -> int:
    import json

    from spatial_xr.io.formats import capability_table

    rows = capability_table()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    cols = ["name", "extensions", "read", "write", "partial_reads", "multiscale", "remote",
            "origin"]
    def cell(row: dict[str, object], col: str) -> str:
        value = row[col]
        if isinstance(value, bool):
            return "yes" if value else "no"
        text = str(value)
        return text if len(text) <= 32 else text[:31] + "…"  # long lists: see --json

    cells = [[cell(r, c) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    print()
    for r in rows:
        print(f"{r['name']}: {r['description']}" + (f". {r['notes']}" if r["notes"] else ""))
    return 0


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("outdir", nargs="?", default="demo-output",
                   help="folder for the demo's files (default: demo-output)")
    p.add_argument("--overwrite", action="store_true", help="replace earlier demo output")


def _demo_run(args: argparse.Namespace) -> int:
    from spatial_xr.demo import run_demo

    run_demo(args.outdir, overwrite=args.overwrite)
    return 0


def _batch_args(p: argparse.ArgumentParser) -> None:
    from spatial_xr.batch import add_cli_arguments

    add_cli_arguments(p)


def _batch_run(args: argparse.Namespace) -> int:
    from spatial_xr.batch import run_cli

    return run_cli(args)


COMMANDS: dict[str, tuple[str, AddArguments, Run]] = {
    "info": ("print an image's shape, dtype and geometry", _info_args, _info_run),
    "convert": ("write any readable image in a writable format (OME-Zarr with an optional "
                "pyramid, NIfTI, …)", _convert_args, _convert_run),
    "formats": ("list the installed formats and what each can do", _formats_args,
                _formats_run),
    "demo": ("make a phantom, write, reopen lazily, crop and map points", _demo_args,
             _demo_run),
    "batch": ("open, resample and write many images on a dask cluster", _batch_args,
              _batch_run),
}


def build_parser() -> argparse.ArgumentParser:
    """The ``spatial-xr`` argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="spatial-xr", description="Images in physical space, lazily, with xarray."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add_arguments, _run) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command][2](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"spatial-xr {args.command}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
