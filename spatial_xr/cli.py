"""Command line: ``spatial-xr info PATH``, ``spatial-xr demo [OUTDIR]``.

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
    p.add_argument("path", help="NIfTI file, DICOM file or folder, or OME-Zarr store")
    p.add_argument("--orientation", default=None, help="reorient first, e.g. RAS")
    p.add_argument("--series-uid", default=None,
                   help="in a DICOM folder holding several series, the one to describe")


def _info_run(args: argparse.Namespace) -> int:
    import os

    import spatial_xr
    from spatial_xr.io.omezarr.read import is_omezarr_path
    from spatial_xr.repr import geometry_rows

    kwargs = {}
    if os.path.isdir(args.path) and not is_omezarr_path(args.path):
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
    da = spatial_xr.open_image(args.path, orientation=args.orientation, **kwargs)
    rows = geometry_rows(da)
    width = max(len(k) for k, _ in rows)
    print(args.path)
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
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
