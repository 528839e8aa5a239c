"""The argument parser: one subcommand per job, each calling one library function."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from geo import __version__, settings
from geo.cli.access import register_access
from geo.cli.area import register_area
from geo.cli.batch import register_batch
from geo.cli.data import register_data_commands
from geo.cli.explore import (
    _cmd_compare,
    _cmd_coverage,
    _cmd_facilities,
    _cmd_info,
    _cmd_network,
    _cmd_run,
)
from geo.cli.planning import _cmd_bench, _cmd_geocode, _cmd_plan_scenario, _cmd_suggest
from geo.cli.report import register_report
from geo.parameters import BOUNDS, DEFAULTS

__all__ = ["build_parser"]


def _help(name: str) -> str:
    """A flag's help from the parameter's bound and default (one place for both)."""
    b = BOUNDS[name]
    return f"{b.meaning}; {b.low:g}–{b.high:g} {b.unit} (default {getattr(DEFAULTS, name):g})"


def _output_flags(p: Any) -> None:
    """``--lang`` and ``--raw``: the language of exported tables, and full-precision CSVs."""
    p.add_argument(
        "--lang",
        choices=("zh", "en"),
        default="zh",
        help="language of exported headers and sources (default zh; the workbook has a data sheet)",
    )
    p.add_argument(
        "--raw",
        action="store_true",
        help="CSVs at full precision with the column names as they are (for analysts)",
    )


def register_suggest(sub: Any) -> None:
    """Add ``geo suggest`` to the subcommands."""
    p = sub.add_parser(
        "suggest",
        help="suggest sites: new stations (Table 2 quotas or N) or ambulance substations",
    )
    p.add_argument("--standard", default="walk15", choices=("walk15", "ems_time", "ems_distance"))
    p.add_argument("--quota", default="plan", help="walk15: 'plan' (Table 2, 32 sites) or N")
    p.add_argument("--candidates", type=Path, help="candidate sites: CSV/Excel lon/lat or points")
    p.add_argument("--candidate-coords", default="wgs84", help="candidates file: wgs84/gcj02/bd09")
    p.add_argument(
        "--spacing",
        type=float,
        help="candidate spacing, m (walk15 grid of network nodes: 200; EMS corridors: 300)",
    )
    p.add_argument(
        "--corridors",
        default="plan",
        help="EMS: 'plan' (三纵四横) or road-name groups, e.g. '沪闵路/七莘路;江川路'",
    )
    p.add_argument(
        "--objective",
        choices=("cover", "max"),
        default="max",
        help="EMS: most covered with --n sites (max, the plan's 5; default, as the app and "
        "plan-scenario) or fewest sites covering everyone coverable (cover)",
    )
    p.add_argument("--n", type=int, help=_help("ems_sites"))
    p.add_argument(
        "--each-subdistrict",
        default="none",
        choices=("plan", "none"),
        help="EMS: no per-街镇 rule (default) or one new substation in each 街镇 lacking one",
    )
    p.add_argument(
        "--no-off-corridor",
        action="store_true",
        help="EMS: never use off-corridor candidates (error if a 街镇 has none)",
    )
    p.add_argument("--method", choices=("exact", "greedy"), default="exact")
    p.add_argument("--time-limit", type=float, help=_help("solver_time_limit_s"))
    p.add_argument("--curve", type=int, help="walk15: also write residents covered vs 1..N sites")
    p.add_argument("--minutes", type=float, help="time limit (walk15: 15; ems_time: 12)")
    p.add_argument("--km", type=float, help=_help("ems_km"))
    p.add_argument("--dispatch-delay", type=float, help=_help("dispatch_delay_minutes"))
    p.add_argument("--facilities", default="pack", help="'pack' or a facilities CSV/Excel file")
    p.add_argument("--coords", default="wgs84", help="coordinate system of the facilities file")
    p.add_argument("--population", help="'pack' (default), a subdistrict table or a raster")
    p.add_argument("--network", help="'pack' (default) or a road/OSM file")
    p.add_argument("--out", type=Path, help="folder for the sites (CSV + GeoPackage) and summary")
    p.add_argument("--stem", default="suggested_sites", help="file name stem")
    _output_flags(p)
    p.add_argument("--overwrite", action="store_true", help="replace existing files")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_cmd_suggest)


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
    parser.add_argument(
        "--allow-outside-paths",
        action="store_true",
        help="let scenario files read inputs outside their folder and the data folder",
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

    p = sub.add_parser("network", help="build a walk or drive network and report its repairs")
    p.add_argument("--mode", choices=("walk", "drive"), default="walk")
    p.add_argument("--source", default="pack", help="'pack', road centre-lines, .osm or .graphml")
    p.add_argument("--walk-speed", type=float, help=_help("walk_speed_kmh"))
    p.add_argument("--congestion", type=float, help=_help("congestion_factor"))
    p.add_argument("--gap-tolerance", type=float, help="metres: close dangling gaps up to this")
    p.add_argument(
        "--class-column",
        help="road-class column of a centre-line layer (default: highway); "
        "OSM classes or 快速路/主干路/次干路/支路",
    )
    p.add_argument("--name-column", help="road-name column of a centre-line layer (default: name)")
    p.add_argument("--oneway-column", help="one-way column (yes/no/-1) of a centre-line layer")
    p.add_argument("--no-cache", action="store_true", help="rebuild even if cached")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.set_defaults(handler=_cmd_network)

    p = sub.add_parser(
        "coverage", help="reach and coverage per subdistrict for a standard; export CSV/Excel/GPKG"
    )
    p.add_argument("--facilities", default="pack", help="'pack' or a facilities CSV/Excel file")
    p.add_argument("--coords", default="wgs84", help="coordinate system of the facilities file")
    p.add_argument(
        "--standard",
        default="walk15",
        help="walk15, ems_distance, ems_time, straight_line, a comma-separated list, or all",
    )
    p.add_argument(
        "--types", help="facility types to count, comma-separated (default per standard)"
    )
    p.add_argument(
        "--minutes",
        type=float,
        help=f"time limit (walk15: {DEFAULTS.walk_minutes:g}; ems_time: {DEFAULTS.ems_minutes:g})",
    )
    for flag, name in (
        ("--km", "ems_km"),
        ("--dispatch-delay", "dispatch_delay_minutes"),
        ("--walk-speed", "walk_speed_kmh"),
        ("--congestion", "congestion_factor"),
        ("--buffer", "buffer_meters"),
        ("--area-cell", "area_cell_meters"),
        ("--max-snap", "max_snap_meters"),
    ):
        p.add_argument(flag, type=float, dest=flag[2:].replace("-", "_"), help=_help(name))
    p.add_argument("--population", help="'pack' (default), a subdistrict table or a raster")
    p.add_argument("--network", help="'pack' (default) or a road/OSM file")
    p.add_argument("--out", type=Path, help="folder for CSV, Excel and GeoPackage exports")
    p.add_argument("--stem", help="file name stem for exports (default: the facilities file)")
    _output_flags(p)
    p.add_argument("--overwrite", action="store_true", help="replace existing export files")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_cmd_coverage)

    p = sub.add_parser("run", help="run a scenario (name in scenarios/ or a .toml path)")
    p.add_argument("scenario", help="scenario name (e.g. baseline) or path to a .toml file")
    p.add_argument("--out", type=Path, help="folder for CSV, Excel and GeoPackage exports")
    _output_flags(p)
    p.add_argument("--overwrite", action="store_true", help="replace existing export files")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_cmd_run)

    p = sub.add_parser("compare", help="compare scenario B with scenario A per subdistrict")
    p.add_argument("a", help="the reference scenario (e.g. baseline)")
    p.add_argument("b", help="the scenario to compare (e.g. plan-2025)")
    p.add_argument("--out", type=Path, help="folder for CSV, Excel and GeoPackage exports")
    _output_flags(p)
    p.add_argument("--overwrite", action="store_true", help="replace existing export files")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_cmd_compare)
    register_report(sub)
    register_batch(sub)
    register_area(sub)
    register_access(sub)

    p = sub.add_parser(
        "plan-scenario", help="re-create scenarios/plan-2025.toml with the suggestion engine"
    )
    p.add_argument(
        "--out", type=Path, help="file to write (default: plan-2025.toml in the scenarios folder)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace the existing file")
    p.set_defaults(handler=_cmd_plan_scenario)

    p = sub.add_parser("bench", help="speed: ours vs the osmnx docs' isochrone method, edits")
    p.add_argument("--repeat", type=int, default=3, help="repetitions per timing (median)")
    p.add_argument(
        "--scale",
        action="store_true",
        help="time and memory over 1k-1M residents, 50-5,000 facilities, a 1M-cell raster, "
        "a 16-tile city network and batch workers (each case in a fresh process; minutes)",
    )
    p.add_argument(
        "--points",
        help="with --scale: the residents of the points sweep (default 1000,10000,100000,1000000)",
    )
    p.add_argument(
        "--facilities",
        help="with --scale: the facilities of the facilities sweep (default 50,200,1000,5000)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_cmd_bench)

    register_suggest(sub)
    p = sub.add_parser(
        "geocode",
        help="geocode Chinese addresses (offline by default); --evaluate measures accuracy",
    )
    p.add_argument("file", nargs="?", type=Path, help="addresses .csv/.xlsx (地址/address column)")
    p.add_argument("--out", type=Path, help="write the table with lon, lat, match_level, ... here")
    p.add_argument(
        "--provider",
        choices=("offline", "nominatim", "amap"),
        default="offline",
        help="offline (pack road names; default), nominatim (OSM, 1 request/s), amap (needs a key)",
    )
    p.add_argument(
        "--evaluate",
        type=Path,
        metavar="FILE",
        help="labelled file (address, subdistrict_zh, wgs84_lon, wgs84_lat): report the error",
    )
    p.add_argument("--address-column", help="address column (default: found by header)")
    p.add_argument("--subdistrict-column", help="subdistrict column (default: found by header)")
    p.add_argument("--sheet", default=None, help="Excel sheet name (default: the first)")
    p.add_argument(
        "--overrides",
        type=Path,
        help="manual corrections (address, lon, lat[, subdistrict, note]; WGS-84); always win",
    )
    p.add_argument(
        "--review-threshold",
        type=float,
        default=DEFAULTS.review_threshold,
        help=_help("review_threshold"),
    )
    p.add_argument("--amap-key", help="AMap web-service key (default: geo.settings.amap_key)")
    p.add_argument("--user-agent", help="Nominatim User-Agent (identify yourself)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_cmd_geocode)

    register_data_commands(sub)
    return parser
