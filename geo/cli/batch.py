"""``geo batch``: many scenario × parameter runs as one Dask graph, gathered into one table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from geo.cli.output import _print_json, _progress

__all__: list[str] = []


def register_batch(sub: Any) -> None:
    """Add ``geo batch`` to the subcommands."""
    p = sub.add_parser(
        "batch",
        help="run scenario × parameter combinations (a TOML spec) on a Dask cluster",
    )
    p.add_argument("spec", type=Path, help="the batch file (TOML: name, scenarios, [sweep] ...)")
    p.add_argument("--out", type=Path, default=Path("out"), help="folder (default out/)")
    p.add_argument(
        "--workers",
        type=int,
        help="processes of the local cluster (default: one per core); ignored with --scheduler",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running Dask scheduler (tcp://host:8786) instead of a local cluster",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_cmd_batch)


def _cmd_batch(args: argparse.Namespace) -> int:
    from geo import batch
    from geo._errors import ParameterError

    if args.workers is not None and not 1 <= args.workers <= 256:
        msg = f"--workers {args.workers}: expected 1 to 256 processes"
        raise ParameterError(msg)
    spec = batch.load_batch_spec(args.spec)
    result = batch.run_batch(
        spec, workers=args.workers, scheduler=args.scheduler, progress=_progress(args)
    )
    paths = batch.write_batch(result, args.out, overwrite=args.overwrite)
    if args.json:
        _print_json(
            {
                "name": spec.name,
                "runs": len(spec.tasks),
                "failed": len(result.errors),
                "rows": len(result.table),
                "seconds": round(result.seconds, 2),
                "workers": result.workers,
                "files": [str(p) for p in paths],
            }
        )
        return 0 if result.errors.empty else 1
    print(result.summary())
    for _, row in result.errors.iterrows():
        print(f"  run {row['task']} ({row['scenario']}) failed: {row['error']}")
    for path in paths:
        print(f"wrote {path}")
    return 0 if result.errors.empty else 1
