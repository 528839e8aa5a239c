"""Command line: ``geo [--data PATH] [-v] COMMAND ...``; the same library calls as the app.

Commands follow the data's path: ``info`` (what the data folder holds), ``facilities`` (check a
facility list), ``network`` (build a walk/drive network and report its repairs), ``coverage``
(reach and coverage per subdistrict, exported), ``bench`` (speed against a reference method).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from geo import __version__, settings
from geo._errors import GeoError, RowError

logger = logging.getLogger("geo")

Handler = Callable[[argparse.Namespace], int]


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def _cmd_info(args: argparse.Namespace) -> int:
    from geo import boundaries, facilities, plan, population

    sub = boundaries.load_subdistricts()
    fac = facilities.facilities_from_pack()
    pop = population.population_from_addresses()
    counts = fac.counts_by_type()
    official = plan.OFFICIAL_COUNTS_2020
    info = {
        "data_folder": str(settings.resolve_data_folder()),
        "subdistricts": len(sub),
        "approximate_boundaries": sub.loc[sub["boundary_status"] != "surveyed", "name_zh"].tolist(),
        "area_km2": round(float(sub["area_km2"].sum()), 2),
        "facilities": fac.summary(),
        "facilities_by_type": {
            k: {"osm": v, "official_2020": official.get(k)} for k, v in counts.items()
        },
        "population_source": pop.source,
        "population_total": round(pop.total),
        "population_notes": list(pop.notes),
    }
    if args.json:
        _print_json(info)
        return 0
    print(f"data folder: {info['data_folder']}")
    approx = ", ".join(info["approximate_boundaries"])
    print(f"{len(sub)} subdistricts, {info['area_km2']} km² (approximate boundaries: {approx})")
    print(f"facilities: {fac.summary()}")
    for code, n in counts.items():
        off = official.get(code)
        print(f"  {code:22s} {n:4d}" + (f"  (official 2020: {off})" if off is not None else ""))
    print(f"population: {pop.source}")
    for note in pop.notes:
        print(f"  note: {note}")
    return 0


def _cmd_facilities(args: argparse.Namespace) -> int:
    from geo import facilities

    table = facilities.read_facilities(
        args.file, coords_system=args.coords, sheet=args.sheet, strict=False
    )
    if args.json:
        _print_json(
            {
                "summary": table.summary(),
                "facilities": len(table.gdf),
                "by_type": table.counts_by_type(),
                "converted": table.converted,
                "problems": [vars_of(p) for p in table.problems],
                "notes": list(table.notes),
            }
        )
    else:
        print(table.summary())
        for p in table.problems:
            print(f"  rejected {p}")
        for note in table.notes:
            print(f"  note: {note}")
    return 1 if table.problems else 0


def vars_of(problem: Any) -> dict[str, Any]:
    """A RowProblem as a JSON-ready dict."""
    return {
        "row": problem.row,
        "field": problem.field,
        "value": problem.value,
        "reason": problem.reason,
    }


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="geo",
        description="Facility-coverage planner for public health services in Minhang, Shanghai.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--data",
        type=Path,
        help=f"data folder (default: ${settings.DATA_ENV_VAR} or {settings.DEFAULT_DATA_FOLDER})",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "info", help="what the data folder holds (boundaries, facilities, population)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_cmd_info)

    p = sub.add_parser("facilities", help="check a facility list (CSV/Excel) and report bad rows")
    p.add_argument(
        "file",
        type=Path,
        help="facilities .csv/.xlsx with 名称/类型/经度/纬度 or name/type/lon/lat",
    )
    p.add_argument(
        "--coords",
        default="wgs84",
        help="coordinate system of the file: wgs84, gcj02 (AMap), bd09 (Baidu)",
    )
    p.add_argument("--sheet", default=None, help="Excel sheet name (default: the first)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_cmd_facilities)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


#: Later modules register their subcommands here (network, coverage, bench).
_EXTRA_COMMANDS: list[Callable[[Any], None]] = []


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
    handler: Handler = args.handler
    try:
        return handler(args)
    except RowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except GeoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
