"""Command line: ``geo [--data PATH] [-v] COMMAND ...``; the same library calls as the app.

Commands follow the data's path: ``info`` (what the data folder holds), ``facilities`` (check a
facility list), ``network`` (build a walk/drive network and report its repairs), ``coverage``
(reach and coverage per subdistrict, exported), ``run`` and ``compare`` (scenarios),
``plan-scenario`` (re-create ``plan-2025``), ``bench`` (speed against a reference method),
``suggest`` (where new sites should go) and ``geocode`` (addresses to coordinates).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from geo import settings
from geo._errors import GeoError, RowError
from geo.cli.parser import build_parser

__all__ = ["build_parser", "main"]

logger = logging.getLogger("geo")

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``geo`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    if args.data is not None:
        settings.data_folder = args.data
    settings.allow_outside_paths = args.allow_outside_paths
    handler: Handler = args.handler
    try:
        return handler(args)
    except RowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except GeoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileExistsError as exc:
        print(f"error: {exc} (on the command line: --overwrite)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
