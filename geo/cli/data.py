"""``geo scenario new`` and ``geo template``: a planner's own register, as in the app."""

from __future__ import annotations

import argparse
from pathlib import Path

from geo.cli.output import _print_json, _progress

__all__ = ["register_data_commands"]


def register_data_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``geo scenario new`` and ``geo template`` to the subcommands."""
    p = sub.add_parser("scenario", help="create a scenario from your own register (and population)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    new = actions.add_parser(
        "new", help="a new root scenario from a facility register (CSV/Excel), stored beside it"
    )
    new.add_argument("name", help="the scenario's name (its file: <name>.toml)")
    new.add_argument(
        "--facilities", type=Path, required=True, help="your register (.csv/.xlsx; 名称/类型/…)"
    )
    new.add_argument(
        "--mode",
        default="replace",
        help="replace (the register is the whole list) or add (shipped + register); per type: "
        "'add,station=replace' keeps the shipped facilities but only your service stations",
    )
    new.add_argument(
        "--population", type=Path, help="residents by 街镇/居委会 (.csv/.xlsx) or .tif"
    )
    new.add_argument("--coords", default="wgs84", help="the register's lon/lat: wgs84/gcj02/bd09")
    new.add_argument(
        "--provider", choices=("offline", "amap"), help="geocoder for rows with only an address"
    )
    new.add_argument("--description", default="", help="shown with the scenario")
    new.add_argument("--folder", type=Path, help="scenario folder (default: scenarios/)")
    new.add_argument("--overwrite", action="store_true", help="replace a scenario of that name")
    new.add_argument("--json", action="store_true", help="print one JSON object")
    new.set_defaults(handler=_cmd_scenario_new)

    p = sub.add_parser("template", help="write the Excel register template (headers, types)")
    p.add_argument("--out", type=Path, default=Path("facility-register-template.xlsx"))
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.set_defaults(handler=_cmd_template)


def parse_modes(text: str) -> str | dict[str, str]:
    """``replace``, ``add``, or ``add,station=replace,…`` (a default, then types)."""
    from geo.facilities import FACILITY_TYPES

    default, *rest = [part.strip() for part in text.split(",") if part.strip()] or ["replace"]
    if not rest and "=" not in default:
        return default
    modes = {t: default for t in FACILITY_TYPES} if "=" not in default else {}
    for part in rest if "=" not in default else [default, *rest]:
        facility_type, _, mode = part.partition("=")
        modes[facility_type.strip()] = mode.strip()
    return modes


def _cmd_scenario_new(args: argparse.Namespace) -> int:
    from geo import register, scenarios

    say = _progress(args)
    if say:
        say(f"checking {args.facilities.name}")
    check = register.read_register(
        args.facilities, coords_system=args.coords, provider=args.provider
    )
    modes = parse_modes(args.mode)
    combined = register.combine(check.table, modes=modes)
    description = args.description or (
        f"From the register {check.file_name} ({len(check.table.gdf)} facilities, mode "
        f"{args.mode}): {check.summary()}"
    )
    path = scenarios.create_scenario(
        args.name,
        combined,
        description=description,
        population=args.population,
        folder=args.folder,
        overwrite=args.overwrite,
    )
    problems = check.problems_frame()
    if args.json:
        _print_json(
            {
                "scenario": args.name,
                "file": str(path),
                "facilities": len(combined),
                "from_register": int((combined["origin"] == "register").sum()),
                "rejected_rows": problems.to_dict("records"),
                "geocoded": check.geocoded.to_dict("records"),
                "notes": list(check.table.notes),
            }
        )
        return 0
    print(check.summary())
    for row in problems.itertuples():
        print(f"  row {row.row}: `{row.field}`={row.value!r}: {row.reason}")
    for note in check.table.notes:
        print(f"  note: {note}")
    origin = combined["origin"].value_counts()
    print(
        f"scenario {args.name}: {len(combined)} facilities ({int(origin.get('register', 0))} "
        f"from the register, {int(origin.get('shipped', 0))} shipped); wrote {path}"
    )
    print(f"run it: geo run {args.name}" + (f" (in {args.folder})" if args.folder else ""))
    return 0


def _cmd_template(args: argparse.Namespace) -> int:
    from geo import register

    path = register.write_template(args.out, overwrite=args.overwrite)
    print(f"wrote {path}: fill the sheet 设施清单 (delete the two EXAMPLE rows or keep them: they")
    print("are skipped); accepted headers, types and coordinate systems are on the sheet 说明 Help")
    return 0
