"""Command line: ``geo [--data PATH] [-v] COMMAND ...``; the same library calls as the app.

Commands follow the data's path: ``info`` (what the data folder holds), ``facilities`` (check a
facility list), ``network`` (build a walk/drive network and report its repairs), ``coverage``
(reach and coverage per subdistrict, exported), ``run`` and ``compare`` (scenarios),
``plan-scenario`` (re-create ``plan-2025``), ``bench`` (speed against a reference method),
``suggest`` (where new sites should go) and ``geocode`` (addresses to coordinates).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from geo import __version__, settings
from geo._errors import GeoError, ParameterError, RowError
from geo._types import JSONValue
from geo.parameters import BOUNDS, DEFAULTS, STANDARD_NAMES, RunParameters

__all__ = ["build_parser", "main"]

logger = logging.getLogger("geo")

Handler = Callable[[argparse.Namespace], int]


def _say(msg: str) -> None:
    print(f"… {msg}", file=sys.stderr)


def _progress(args: argparse.Namespace) -> Callable[[str], None] | None:
    """Progress lines on stderr, unless the command prints JSON."""
    return None if getattr(args, "json", False) else _say


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def _texts(value: JSONValue) -> list[str]:
    """A list of texts from a JSON value (a list, or one value)."""
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _number(value: JSONValue) -> float:
    """A number from a JSON value (NaN if it is not one)."""
    return float(value) if isinstance(value, int | float) else math.nan


def _width(text: str) -> int:
    """Terminal columns of ``text`` (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, *, right: bool = False) -> str:
    fill = " " * max(width - _width(text), 0)
    return fill + text if right else text + fill


def _print_grid(head: list[str], rows: list[list[str]]) -> None:
    """Print a text table: first two columns left-aligned, the rest right-aligned."""
    widths = [max(_width(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        cells = [_pad(c, w, right=i >= 2) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        print("  " + "  ".join(cells).rstrip())


def _print_unit_table(results: Sequence[Any]) -> None:
    """Per subdistrict: residents and area covered under each standard (district row last)."""
    names = [r.standard.name for r in results]
    print("per subdistrict — residents covered / area covered:")
    head = ["code", "街镇", *names]
    tables = [r.table.set_index("code") for r in results]
    rows = []
    for code, name in zip(tables[0].index, tables[0]["name_zh"], strict=True):
        cells = [
            f"{100 * t.at[code, 'resident_share']:.1f}% / {100 * t.at[code, 'area_share']:.1f}%"
            for t in tables
        ]
        rows.append([str(code), str(name), *cells])
    _print_grid(head, rows)


def _print_comparison_table(cmp: Any) -> None:
    """Per subdistrict: residents covered in A → B under each standard (district row last)."""
    table = cmp.table
    names = list(dict.fromkeys(table["standard"]))
    print(f"per subdistrict — residents covered, {cmp.a} → {cmp.b}:")
    first = table[table["standard"] == names[0]]
    rows = []
    for code, name in zip(first["code"], first["name_zh"], strict=True):
        cells = []
        for std in names:
            rec = table[(table["standard"] == std) & (table["code"] == code)].iloc[0]
            cells.append(
                f"{100 * rec['resident_share_a']:.1f} → {100 * rec['resident_share_b']:.1f}%"
            )
        rows.append([str(code), str(name), *cells])
    _print_grid(["code", "街镇", *names], rows)


def _cmd_info(args: argparse.Namespace) -> int:
    from geo import boundaries, coverage, facilities, plan, population

    sub = boundaries.load_subdistricts()
    area_km2 = float(coverage.partition_subdistricts()["area_km2"].sum())  # overlaps counted once
    fac = facilities.facilities_from_pack()
    pop = population.population_from_addresses()
    counts = fac.counts_by_type()
    official = plan.OFFICIAL_COUNTS_2020
    info = {
        "data_folder": str(settings.resolve_data_folder()),
        "subdistricts": len(sub),
        "approximate_boundaries": sub.loc[sub["boundary_status"] != "surveyed", "name_zh"].tolist(),
        "area_km2": round(area_km2, 2),
        "plan_area_km2": plan.PLAN_AREA_KM2,
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
    print(
        f"{len(sub)} subdistricts, {info['area_km2']:.2f} km² with overlaps counted once (plan: "
        f"{plan.PLAN_AREA_KM2} km²; approximate boundaries: {approx})"
    )
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

    table = facilities.load_facilities(
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


def _parameters_from_args(args: argparse.Namespace) -> RunParameters:
    """The run parameters ``geo coverage`` asks for: DEFAULTS with the flags given."""
    names = list(STANDARD_NAMES) if args.standard == "all" else args.standard.split(",")
    changes: dict[str, Any] = {"standards": tuple(n.strip() for n in names)}
    if args.types:
        types = tuple(t.strip() for t in args.types.split(","))
        changes |= {"walk_types": types} if "walk15" in changes["standards"] else {}
        changes |= {"ems_types": types} if set(changes["standards"]) - {"walk15"} else {}
    if args.minutes is not None:  # the time limit of whichever timed standard is run
        changes |= {"walk_minutes": args.minutes} if "walk15" in changes["standards"] else {}
        changes |= {"ems_minutes": args.minutes} if "ems_time" in changes["standards"] else {}
    flags = {
        "ems_km": args.km,
        "dispatch_delay_minutes": args.dispatch_delay,
        "walk_speed_kmh": args.walk_speed,
        "congestion_factor": args.congestion,
        "buffer_meters": args.buffer,
        "max_snap_meters": args.max_snap,
        "population": args.population,
        "network": args.network,
    }
    changes |= {k: v for k, v in flags.items() if v is not None}
    return RunParameters.from_mapping(changes)


def _district_summary(result: Any) -> dict[str, Any]:
    row = result.district()
    meta = result.metadata
    return {
        "standard": result.standard.name,
        "label": result.standard.label_en,
        "area_share": round(float(row["area_share"]), 6),
        "resident_share": round(float(row["resident_share"]), 6),
        "covered_km2": round(float(row["covered_km2"]), 3),
        "area_km2": round(float(row["area_km2"]), 3),
        "covered_residents": round(float(row["covered_residents"])),
        "residents": round(float(row["residents"])),
        "off_network_residents": round(float(row["off_network_residents"])),
        "facilities": int(row["facilities"]),
        "facility_types": list(result.standard.facility_types),
        "population_source": meta["population_source"],
        "network_source": meta["network"]["source"] if isinstance(meta["network"], dict) else None,
        "warning": meta.get("warning"),
    }


def _cmd_coverage(args: argparse.Namespace) -> int:
    from geo import coverage, export, facilities, scenarios

    params = _parameters_from_args(args)
    fac = facilities.load_facilities(args.facilities, coords_system=args.coords)
    stem = args.stem or f"{Path(str(args.facilities)).stem}"
    run = scenarios.run_scenario(
        scenarios.adhoc_scenario(stem, str(args.facilities), params),
        facilities=fac,
        progress=_progress(args),
    )
    results = list(run.results)
    summaries = [_district_summary(r) for r in results]
    written: list[str] = []
    if args.out is not None:
        paths = export.export_all(
            results,
            args.out,
            stem=export.safe_stem(stem),
            subdistricts=coverage.partition_subdistricts(),
            overwrite=args.overwrite,
        )
        written = [str(p) for p in paths]
    if args.json:
        out: dict[str, Any] = dict(summaries[0]) if len(summaries) == 1 else {"results": summaries}
        out["files"] = written
        _print_json(out)
        return 0
    print(f"facilities: {fac.summary()}")
    print(f"population: {results[0].metadata['population_source']}")
    for s, r in zip(summaries, results, strict=True):
        print(
            f"{s['standard']:14s} {s['label']}: area {100 * s['area_share']:.2f}% "
            f"({s['covered_km2']:.1f} of {s['area_km2']:.1f} km²), residents "
            f"{100 * s['resident_share']:.2f}% ({s['covered_residents']:,} of {s['residents']:,}); "
            f"{s['facilities']} facilities counted"
        )
        rep = r.network_report
        if s["network_source"] and rep is not None:
            print(
                f"{'':14s} network: {rep['source']} ({rep['source_date']}), "
                f"{rep['repair_connectors']} repair connectors ({rep['repair_length_km']} km)"
            )
        if s["warning"]:
            print(f"{'':14s} warning: {s['warning']}")
    _print_unit_table(results)
    for path in written:
        print(f"wrote {path}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from geo import bench

    say = _progress(args)
    out = bench.run_bench(repeat=args.repeat, progress=say)
    if args.json:
        _print_json(out)
        return 0
    print(f"walk network: {out['network']} ({out['network_nodes']} nodes)")
    print(f"{out['facilities']} facilities, {out['population_points']} population points")
    print(f"reference ({out['reference_method']}): {out['reference_s']:.3f} s")
    print(f"ours (snap + multi-source Dijkstra + partial-edge polygons): {out['ours_s']:.3f} s")
    print(f"ratio: {out['ratio']}x   (target >= 20x)")
    print(
        f"merged area: reference {out['reference_area_km2']} km², ours {out['ours_area_km2']} km²"
    )
    print(
        f"full-district coverage, {len(_texts(out['full_coverage_standards']))} standards: "
        f"{out['full_coverage_s']:.3f} s   (target < 2 s; EMS counts "
        f"{', '.join(_texts(out['ems_facility_types']))} as a stand-in: no substations)"
    )
    print(f"one edit: add {out['add_ms']:.1f} ms, move {out['move_ms']:.1f} ms   (target < 100 ms)")
    print(
        f"site suggestion, Table 2 ({out['suggest_candidates']} candidates): exact "
        f"{out['suggest_exact_s']:.2f} s, greedy {out['suggest_greedy_s']:.2f} s, greedy short of "
        f"the optimum by {100 * _number(out['suggest_greedy_shortfall']):.2f}%"
    )
    return 0


def _cmd_network(args: argparse.Namespace) -> int:
    from geo import network

    params: dict[str, Any] = {}
    if args.walk_speed is not None:
        params["walk_speed_kmh"] = args.walk_speed
    if args.congestion is not None:
        params["congestion_factor"] = args.congestion
    if args.gap_tolerance is not None:
        params["gap_tolerance_meters"] = args.gap_tolerance
    for option, key in (
        ("class_column", "road_class_column"),
        ("name_column", "name_column"),
        ("oneway_column", "oneway_column"),
    ):
        if getattr(args, option) is not None:
            params[key] = getattr(args, option)
    if not args.json:
        print(f"… building the {args.mode} network from {args.source}", file=sys.stderr)
    net = network.load_network(args.mode, args.source, use_cache=not args.no_cache, **params)
    rep = net.report.to_dict()
    if args.json:
        _print_json(rep)
        return 0
    print(f"{rep['mode']} network from {rep['source']} (dated {rep['source_date']})")
    size = f"{rep['nodes']:,} nodes, {rep['edges']:,} directed edges"
    print(f"  {size}, {rep['length_km']:,} km of road")
    print(
        f"  largest component: {100 * rep['largest_component_share']:.2f}% of road length; "
        f"{rep['components']} component(s) kept"
    )
    print(
        f"  repairs: {rep['noded_crossings']:,} at-grade crossings noded, "
        f"{rep['repair_connectors']:,} gap connectors ({rep['repair_length_km']} km), "
        f"{rep['dropped_islands']} islands dropped ({rep['dropped_island_km']} km)"
    )
    print(
        f"  of those connectors, {rep.get('detour_connectors', 0):,} "
        f"({rep.get('detour_length_km', 0.0)} km) close long detours inside one component"
    )
    print(f"  parameters: {json.dumps(rep['params'], ensure_ascii=False)}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from geo import coverage, export, scenarios

    say = _progress(args)
    run = scenarios.run_scenario(args.scenario, progress=say)
    name = run.resolved.scenario.name
    written: list[str] = []
    if args.out is not None:
        paths = export.export_all(
            list(run.results),
            args.out,
            stem=export.safe_stem(name),
            subdistricts=coverage.partition_subdistricts(),
            overwrite=args.overwrite,
        )
        written = [str(p) for p in paths]
    summaries = [_district_summary(r) for r in run.results]
    if args.json:
        _print_json(
            {
                "scenario": name,
                "hashes": run.hashes,
                "changes": run.resolved.changes,
                "results": summaries,
                "files": written,
            }
        )
        return 0
    chain = " → ".join(s.name for s in run.resolved.chain)
    print(f"scenario {name} ({chain}): {run.resolved.changes}")
    h = run.hashes
    print(f"  scenario hash {h['scenario'][:16]}…, population hash {h['population'][:16]}…")
    for s in summaries:
        print(
            f"  {s['standard']:14s} area {100 * s['area_share']:.2f}%, residents "
            f"{100 * s['resident_share']:.2f}% ({s['covered_residents']:,}); "
            f"{s['facilities']} facilities"
        )
        if s["warning"]:
            print(f"  {'':14s} warning: {s['warning']}")
    _print_unit_table(run.results)
    for path in written:
        print(f"wrote {path}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from geo import export, scenarios

    say = _progress(args)
    run_a = scenarios.run_scenario(args.a, progress=say)
    run_b = scenarios.run_scenario(args.b, progress=say)
    cmp = scenarios.compare(run_a, run_b)
    written: list[str] = []
    if args.out is not None:
        stem = export.safe_stem(f"{cmp.b}_vs_{cmp.a}")
        written = [
            str(p)
            for p in export.export_comparison(cmp, args.out, stem=stem, overwrite=args.overwrite)
        ]
    if args.json:
        _print_json({**scenarios.comparison_json(cmp), "files": written})
        return 0
    print(f"{cmp.b} compared with {cmp.a}")
    district = cmp.table[cmp.table["code"] == cmp.table["code"].iloc[-1]]
    warnings = {
        (run.resolved.scenario.name, r.standard.name): r.warning
        for run in (run_a, run_b)
        for r in run.results
    }
    shown: set[str] = set()
    for rec in district.to_dict("records"):
        print(
            f"  {rec['standard']:14s} area {100 * rec['area_share_a']:.2f}% → "
            f"{100 * rec['area_share_b']:.2f}% ({rec['covered_km2_delta']:+.2f} km²), residents "
            f"{100 * rec['resident_share_a']:.2f}% → {100 * rec['resident_share_b']:.2f}% "
            f"({rec['covered_residents_delta']:+,.0f}); facilities "
            f"{rec['facilities_a']:.0f} → {rec['facilities_b']:.0f}"
        )
        for scenario in (cmp.a, cmp.b):
            warning = warnings.get((scenario, rec["standard"]))
            if warning:
                text = f"{warning.split(',')[0]} (as above)" if warning in shown else warning
                shown.add(warning)
                print(f"  {'':14s} {scenario}: {text}")
    counts = cmp.sites["change"].value_counts().to_dict()
    print(f"  sites: {counts or 'no change'}")
    _print_comparison_table(cmp)
    for path in written:
        print(f"wrote {path}")
    return 0


def _suggest_corridors(text: str) -> list[tuple[str, ...]] | None:
    """``plan`` → None (the plan's seven); else ``"沪闵路/七莘路;江川路"`` → name groups."""
    if text.strip().lower() == "plan":
        return None
    return [tuple(n.strip() for n in grp.split("/") if n.strip()) for grp in text.split(";")]


def _cmd_suggest(args: argparse.Namespace) -> int:
    from geo import facilities, optimize, population, scenarios

    flags = {
        "walk_minutes" if args.standard == "walk15" else "ems_minutes": args.minutes,
        "ems_km": args.km,
        "dispatch_delay_minutes": args.dispatch_delay,
        "solver_time_limit_s": args.time_limit,
        "candidate_spacing_m" if args.standard == "walk15" else "corridor_spacing_m": args.spacing,
        "ems_sites": args.n,
        "population": args.population,
        "network": args.network,
    }
    params = RunParameters.from_mapping(
        {"standards": (args.standard,), **{k: v for k, v in flags.items() if v is not None}}
    )
    if args.quota != "plan" and not args.quota.isdigit():  # refused before anything is loaded
        msg = f"--quota={args.quota!r}: expected 'plan' (Table 2) or a number of new sites"
        raise ParameterError(msg)
    quota: int | Literal["plan"] = int(args.quota) if args.quota.isdigit() else "plan"
    (std,) = scenarios.standards_of(params)
    say = _progress(args) or (lambda _m: None)
    fac = facilities.load_facilities(args.facilities, coords_system=args.coords)
    pop = population.load_population(params.population)
    say(f"loading the {std.mode} network ({params.network})")
    net = scenarios.scenario_networks(params, {std.mode}).get(std.mode)
    cand = (
        optimize.read_candidates(args.candidates, coords_system=args.candidate_coords)
        if args.candidates is not None
        else None
    )
    problem = None
    if std.name == "walk15":
        say(f"candidates and their reach ({len(cand) if cand is not None else 'network nodes'})")
        problem = optimize.site_problem(
            std,
            fac,
            pop,
            network=net,
            candidates=cand,
            candidate_spacing_m=params.candidate_spacing_m,
        )
    say(f"solving ({args.method}, time limit {params.solver_time_limit_s:g} s)")
    result = optimize.suggest(
        std,
        fac,
        pop,
        network=net,
        params=params,
        quota=quota,
        objective="set_cover" if args.objective == "cover" else "max_coverage",
        corridors=_suggest_corridors(args.corridors),
        candidates=cand,
        require_subdistricts=args.each_subdistrict,
        off_corridor=not args.no_off_corridor,
        method=args.method,
        problem=problem,
    )
    curve = None
    if args.curve and problem is not None:
        curve = optimize.coverage_curve(
            std,
            fac,
            pop,
            network=net,
            n_max=args.curve,
            problem=problem,
            quota=quota if quota == "plan" else None,
        )
    written: list[str] = []
    if args.out is not None:
        paths = optimize.suggestion_to_files(
            result, args.out, stem=args.stem, curve=curve, overwrite=args.overwrite
        )
        written = [str(p) for p in paths]
    if args.json:
        _print_json({**result.summary(), "files": written})
        return 0
    _print_suggestion(result, written)
    return 0


def _print_suggestion(result: Any, written: list[str]) -> None:
    s = result.summary()
    total = s["residents_total"] or 1
    print(f"{s['standard']}: {s['n_sites']} sites ({s['objective_kind']}, {s['method']})")
    print(
        f"  residents covered: before {s['residents_covered_before']:,} "
        f"({100 * s['residents_covered_before'] / total:.1f}%), after "
        f"{s['residents_covered_after']:,} ({100 * s['residents_covered_after'] / total:.1f}%); "
        f"at most {s['residents_coverable']:,} with these candidates"
    )
    gap = "n/a" if s["gap"] is None else f"{100 * s['gap']:.2f}% ({s['bound_source']})"
    print(
        f"  solver: {s['solver_status']}, gap {gap}, {s['seconds']:.2f} s, "
        f"{s['n_candidates']} candidates"
    )
    if "access" in s:
        a = s["access"]
        print(
            f"  nearest substation: distance mean {a['mean_distance_m'] / 1000:.2f} km, p90 "
            f"{a['p90_distance_m'] / 1000:.2f} km (plan ≤ {a['plan_radius_km']} km: "
            f"{'met' if a['meets_radius'] else 'NOT met'}); response mean "
            f"{a['mean_response_min']:.1f} min, p90 {a['p90_response_min']:.1f} min (plan ≤ "
            f"{a['plan_response_min']:g} min: {'met' if a['meets_response'] else 'NOT met'})"
        )
    for row in result.sites.itertuples():
        print(
            f"  {row.rank:3d}. {row.role:10s} {row.lon:.5f}, {row.lat:.5f}  {row.subdistrict_zh}"
            f"  {row.road_name or ''}  +{row.residents_new:,.0f} residents"
        )
    for note in s["notes"]:
        print(f"  note: {note}")
    for path in written:
        print(f"wrote {path}")


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
    p.add_argument("--overwrite", action="store_true", help="replace existing files")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_cmd_suggest)


def _cmd_plan_scenario(args: argparse.Namespace) -> int:
    from geo import scenarios

    out = args.out or scenarios.SCENARIO_FOLDER / "plan-2025.toml"  # read at run time
    if out.exists() and not args.overwrite:  # before the suggestion runs, not after
        msg = f"{out} already exists"
        raise FileExistsError(msg)
    sc = scenarios.build_plan_2025(progress=_say)
    path = scenarios.save_scenario(sc, out, overwrite=args.overwrite)
    print(f"wrote {path}: {len(sc.edits)} suggested sites on {sc.base}")
    return 0


def _cmd_geocode(args: argparse.Namespace) -> int:
    from geo import geocoding

    if args.evaluate is None and args.file is None:
        print("error: give a table to geocode (.csv/.xlsx) or --evaluate FILE", file=sys.stderr)
        return 2
    provider = geocoding.provider_from_name(
        args.provider, amap_key=args.amap_key, user_agent=args.user_agent
    )
    cache = False if args.no_cache else None  # None: cache online providers only
    if args.evaluate is not None:
        return _geocode_evaluate(args, provider, cache)
    say = _progress(args)
    if say and provider.name != "offline":
        say(f"geocoding with {provider.name} (rate-limited; results cached)")
    result = geocoding.geocode_table(
        args.file,
        provider=provider,
        address_column=args.address_column,
        subdistrict_column=args.subdistrict_column,
        sheet=args.sheet,
        overrides=args.overrides,
        cache=cache,
        review_threshold=args.review_threshold,
    )
    written = None
    if args.out is not None:
        written = str(result.write(args.out, overwrite=args.overwrite))
    summary = result.summary()
    if args.json:
        _print_json({**summary, "file": written})
        return 0
    rows = summary["rows"]
    print(f"{rows} addresses geocoded with {summary['provider']}")
    for level, n in summary["match_levels"].items():
        if n:
            print(f"  {level:12s} {n:6d}  ({100 * n / max(rows, 1):.1f}%)")
    print(
        f"  review: {summary['review']} row(s) below confidence {args.review_threshold} "
        f"(column `review`); overrides used: {summary['overrides_used']}, "
        f"cache hits: {summary['cache_hits']}"
    )
    if written:
        print(f"wrote {written}")
    return 0


def _geocode_evaluate(args: argparse.Namespace, provider: Any, cache: bool | None) -> int:
    from geo import geocoding

    ev = geocoding.evaluate(
        args.evaluate,
        provider=provider,
        address_column=args.address_column,
        subdistrict_column=args.subdistrict_column,
        sheet=args.sheet,
        cache=cache,
        review_threshold=args.review_threshold,
    )
    written = None if args.out is None else str(ev.write(args.out, overwrite=args.overwrite))
    if args.json:
        _print_json({**ev.to_dict(), "file": written})
        return 0
    print(f"{ev.n} labelled addresses, {ev.located} located ({ev.provider}; {ev.skipped} skipped)")
    print(f"  median error {ev.median_error_m:.0f} m, 90th percentile {ev.p90_error_m:.0f} m")
    if ev.baseline_median_error_m is not None:
        print(
            f"  baseline (numbers ignored: middle of the road in the subdistrict): median "
            f"{ev.baseline_median_error_m:.0f} m, p90 {ev.baseline_p90_error_m:.0f} m"
        )
    print(f"  road level or better: {100 * ev.road_level_or_better_share:.1f}%")
    for level, n in ev.level_counts.items():
        if n:
            med = ev.median_error_by_level.get(level)
            extra = f", median {med:.0f} m" if med is not None else ""
            print(f"  {level:12s} {n:6d}  ({100 * n / max(ev.n, 1):.1f}%{extra})")
    print(f"  flagged for review: {100 * ev.review_share:.1f}%")
    if written:
        print(f"wrote {written}")
    return 0


def vars_of(problem: Any) -> dict[str, Any]:
    """A RowProblem as a JSON-ready dict."""
    return {
        "row": problem.row,
        "field": problem.field,
        "value": problem.value,
        "reason": problem.reason,
    }


def _help(name: str) -> str:
    """A flag's help from the parameter's bound and default (one place for both)."""
    b = BOUNDS[name]
    return f"{b.meaning}; {b.low:g}–{b.high:g} {b.unit} (default {getattr(DEFAULTS, name):g})"


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
        ("--max-snap", "max_snap_meters"),
    ):
        p.add_argument(flag, type=float, dest=flag[2:].replace("-", "_"), help=_help(name))
    p.add_argument("--population", help="'pack' (default), a subdistrict table or a raster")
    p.add_argument("--network", help="'pack' (default) or a road/OSM file")
    p.add_argument("--out", type=Path, help="folder for CSV, Excel and GeoPackage exports")
    p.add_argument("--stem", help="file name stem for exports (default: the facilities file)")
    p.add_argument("--overwrite", action="store_true", help="replace existing export files")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_cmd_coverage)

    p = sub.add_parser("run", help="run a scenario (name in scenarios/ or a .toml path)")
    p.add_argument("scenario", help="scenario name (e.g. baseline) or path to a .toml file")
    p.add_argument("--out", type=Path, help="folder for CSV, Excel and GeoPackage exports")
    p.add_argument("--overwrite", action="store_true", help="replace existing export files")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_cmd_run)

    p = sub.add_parser("compare", help="compare scenario B with scenario A per subdistrict")
    p.add_argument("a", help="the reference scenario (e.g. baseline)")
    p.add_argument("b", help="the scenario to compare (e.g. plan-2025)")
    p.add_argument("--out", type=Path, help="folder for CSV, Excel and GeoPackage exports")
    p.add_argument("--overwrite", action="store_true", help="replace existing export files")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_cmd_compare)

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

    return parser


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
    except FileExistsError as exc:
        print(f"error: {exc} (on the command line: --overwrite)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
