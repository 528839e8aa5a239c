"""``geo area init``: a data folder for another district, built from an OpenStreetMap extract."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from geo.cli.output import _print_json, _progress

__all__: list[str] = []


def register_area(sub: Any) -> None:
    """Add ``geo area init`` to the subcommands."""
    p = sub.add_parser("area", help="areas other than Minhang: build a data folder from OSM")
    area_sub = p.add_subparsers(dest="area_command", required=True)
    q = area_sub.add_parser(
        "init",
        help="a data folder (boundaries, roads, facilities, population) from an OSM extract",
    )
    q.add_argument("name", help="the area's name, e.g. 长宁区")
    source = q.add_mutually_exclusive_group(required=True)
    source.add_argument("--osm", type=Path, help="an OSM extract: .osm, .osm.gz, .osm.bz2, .pbf")
    source.add_argument(
        "--place",
        help='download through osmnx instead (needs the internet), e.g. "长宁区, 上海市"',
    )
    q.add_argument("--out", type=Path, help="the folder to build (default: areas/NAME)")
    q.add_argument("--boundary", type=Path, help="the district outline (GeoJSON, GPKG, shp)")
    q.add_argument("--subdistricts", type=Path, help="the 街镇 polygons, with a name column")
    q.add_argument("--population", type=Path, help="a population GeoTIFF or a 街镇 table")
    q.add_argument("--mapping", type=Path, help="an edited osm_type_mapping.csv")
    q.add_argument("--district-level", type=int, default=None, help="OSM admin_level (default 6)")
    q.add_argument(
        "--subdistrict-level", type=int, default=None, help="OSM admin_level (default 8)"
    )
    q.add_argument("--overwrite", action="store_true", help="build into a non-empty folder")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(handler=_cmd_area_init)


def _cmd_area_init(args: argparse.Namespace) -> int:
    from geo import area

    levels = {
        k: v
        for k, v in (("district", args.district_level), ("subdistrict", args.subdistrict_level))
        if v is not None
    }
    out = args.out or Path("areas") / args.name
    osm = args.osm or area.download_place(args.place, out.parent / f"{out.name}.osm")
    report = area.init_area(
        args.name,
        osm=osm,
        out=out,
        boundary=args.boundary,
        subdistricts=args.subdistricts,
        population=args.population,
        mapping=args.mapping,
        levels=levels,
        overwrite=args.overwrite,
        progress=_progress(args),
    )
    if args.json:
        _print_json({"folder": str(report.folder), **report.counts})
        return 0
    print(f"built {report.folder}: {report.counts}")
    for path in report.files:
        print(f"  {path}")
    print(
        f"use it: GEO_DATA_DIR={report.folder} geo coverage   (or geo --data {report.folder} ...)"
    )
    return 0
