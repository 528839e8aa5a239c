"""``geo access``: how far residents are from care, catchments, and capacity per resident."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from geo.cli.output import _print_grid, _print_json, _progress

__all__: list[str] = []


def register_access(sub: Any) -> None:
    """Add ``geo access`` to the subcommands."""
    p = sub.add_parser(
        "access",
        help="travel-time distribution, catchments and 2SFCA supply per 1,000 residents",
    )
    p.add_argument("scenario", nargs="?", default="baseline", help="scenario (default baseline)")
    p.add_argument("--standard", default="walk15", choices=("walk15", "ems_time", "ems_distance"))
    p.add_argument("--compare", metavar="BASE", help="also the base scenario, and the change")
    p.add_argument("--capacity", help="2SFCA: the register's capacity column (e.g. capacity)")
    p.add_argument("--types", default="hospital", help="2SFCA: supplying types (default hospital)")
    p.add_argument("--catchment", type=float, default=30.0, help="2SFCA: catchment, drive minutes")
    p.add_argument("--decay", choices=("none", "step", "gaussian"), default="none")
    p.add_argument("--target", type=float, help="2SFCA: the plan's ratio (e.g. 4.6 beds/1,000)")
    p.add_argument("--out", type=Path, help="folder for CSV (readable, with sidecars) and GPKG")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the files")
    p.add_argument("--overwrite", action="store_true", help="replace existing files")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_cmd_access)


def _cmd_access(args: argparse.Namespace) -> int:
    from geo import access, export, scenarios
    from geo.scenarios.run import scenario_inputs

    say = _progress(args) or (lambda _m: None)
    names = [args.scenario] + ([args.compare] if args.compare else [])
    out: dict[str, Any] = {}
    written: list[str] = []
    for name in names:
        resolved = scenarios.resolve(name)
        stds, pop, nets = scenario_inputs(resolved, progress=say)
        std = next((s for s in stds if s.name == args.standard), None)
        if std is None:
            from geo.standards import make_standard

            std = make_standard(args.standard)
        fac = resolved.facilities.gdf
        say(f"{name}: travel times ({std.name})")
        tt = access.travel_times(std, fac, pop, network=nets[std.mode])
        fca = None
        if args.capacity:
            say(f"{name}: 2SFCA of {args.capacity}")
            fca = access.two_step_fca(
                fac,
                pop,
                network=nets["drive"] if "drive" in nets else nets[std.mode],
                capacity_column=args.capacity,
                types=[t.strip() for t in args.types.split(",")],
                catchment_minutes=args.catchment,
                decay=args.decay,
                target=args.target,
            )
        out[name] = (tt, fca)
        if args.out is not None:
            written += map(
                str,
                access.write_access(
                    tt,
                    fca,
                    args.out,
                    stem=export.safe_stem(f"{name}_{std.name}"),
                    lang=args.lang,
                    overwrite=args.overwrite,
                ),
            )
    change = None
    if args.compare:
        (tt_b, fca_b), (tt_a, fca_a) = out[args.scenario], out[args.compare]
        change = access.compare_access(tt_a, tt_b, fca_base=fca_a, fca_now=fca_b)
        if args.out is not None:
            from geo._sheets import write_csv

            path = args.out / f"{export.safe_stem(f'{args.scenario}_vs_{args.compare}')}_access.csv"
            write_csv(change, path, metadata=tt_b.metadata, lang=args.lang, raw=False,
                      overwrite=args.overwrite)  # fmt: skip
            written += [str(path)]
    if args.json:
        _print_json(
            {
                name: {
                    "district": _district(tt),
                    "flagged": tt.catchments[tt.catchments["flagged"]]["name"].tolist(),
                    "two_step_fca": None if fca is None else _fca_district(fca),
                }
                for name, (tt, fca) in out.items()
            }
            | {"files": written}
        )
        return 0
    for name, (tt, fca) in out.items():
        _print_distribution(name, tt)
        if fca is not None:
            _print_fca(fca)
    if change is not None:
        _print_change(args.scenario, args.compare, out[args.scenario][0].unit, change)
    for path in written:
        print(f"wrote {path}")
    return 0


def _district(tt: Any) -> dict[str, float | None]:
    row = tt.district()
    return {
        k: (None if not math.isfinite(float(row[k])) else round(float(row[k]), 4))
        for k in row.index
        if k not in ("code", "name_zh", "name_en")
    }


def _fca_district(fca: Any) -> dict[str, Any]:
    row = fca.table.iloc[-1]
    return {
        "access_per_1000": round(float(row["access"]), 4),
        "target": None if math.isnan(row["target"]) else float(row["target"]),
        "facilities_with_capacity": len(fca.facilities),
        "missing_capacity": fca.missing_capacity["name"].tolist(),
    }


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return "> limit" if math.isinf(value) else f"{value:.1f}"


def _print_distribution(name: str, tt: Any) -> None:
    u = tt.unit
    d = tt.district()
    print(f"{name} — {tt.standard.label_en}: nearest counted facility, {u}, weighted by residents")
    print(
        f"  district: mean {_fmt(d[f'mean_{u}'])}, median {_fmt(d[f'median_{u}'])}, p90 "
        f"{_fmt(d[f'p90_{u}'])} {u}"
    )
    if tt.standard.name == "ems_time":
        print(
            f"  response time p90 {_fmt(d[f'p90_{u}'])} min beside the plan's average ≤ 12 min "
            f"(mean here {_fmt(d[f'mean_{u}'])} min, dispatch delay included)"
        )
    shares = [c for c in tt.table.columns if c.startswith("share_within_")]
    head = ["code", "街镇", f"mean {u}", f"p90 {u}", *[c[len("share_within_") :] for c in shares]]
    rows = []
    for rec in tt.table.to_dict("records"):
        cells = [_fmt(rec[f"mean_{u}"]), _fmt(rec[f"p90_{u}"])]
        cells += [f"{100 * rec[c]:.1f}%" for c in shares]
        rows.append([str(rec["code"]), str(rec["name_zh"]), *cells])
    _print_grid(head, rows)
    if tt.metadata.get("warning"):
        print(f"  warning: {tt.metadata['warning']}")
    flagged = tt.catchments[tt.catchments["flagged"]]
    for rec in flagged.to_dict("records"):
        print(
            f"  over its load: {rec['name']} ({rec['type']}) serves {rec['residents']:,.0f} "
            f"residents (limit {rec['load_limit']:,.0f})"
        )


def _print_change(b: str, a: str, u: str, change: Any) -> None:
    print(f"{b} against {a}: mean and p90 ({u}), facilities over their load")
    rows = []
    for rec in change.to_dict("records"):
        cells = [
            f"{_fmt(rec[f'mean_{u}_a'])} → {_fmt(rec[f'mean_{u}_b'])}",
            f"{_fmt(rec[f'p90_{u}_a'])} → {_fmt(rec[f'p90_{u}_b'])}",
            f"{rec['flagged_a']} → {rec['flagged_b']}",
        ]
        if "access_b" in rec:
            cells.append(f"{rec['access_a']:.2f} → {rec['access_b']:.2f}")
        rows.append([str(rec["code"]), str(rec["name_zh"]), *cells])
    head = ["code", "街镇", f"mean {u}", f"p90 {u}", "over load"]
    _print_grid(head + (["per 1,000"] if "access_b" in change else []), rows)


def _print_fca(fca: Any) -> None:
    p = fca.metadata["parameters"]
    print(
        f"2SFCA ({p['decay']} decay, {p['catchment_minutes']:g} min drive): "
        f"{p['capacity_column']} per 1,000 residents"
    )
    rows = [
        [str(r["code"]), str(r["name_zh"]), f"{r['access']:.2f}",
         "" if math.isnan(r["target"]) else f"{r['gap']:+.2f}"]
        for r in fca.table.to_dict("records")
    ]  # fmt: skip
    _print_grid(["code", "街镇", "per 1,000", "vs target"], rows)
    for rec in fca.facilities.to_dict("records"):
        if rec["capacity_source"] != "register":
            print(f"  {rec['name']}: {rec['capacity']:.0f} from the plan (default)")
    if len(fca.missing_capacity):
        names = ", ".join(fca.missing_capacity["name"].astype(str))
        print(f"  left out, no capacity in the register or the plan: {names}")
