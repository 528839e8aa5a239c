"""Commands that look at the data and compute coverage: info, facilities, network, coverage, run,
compare."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from geo import settings
from geo.cli.output import (
    _district_summary,
    _print_comparison_table,
    _print_json,
    _print_unit_table,
    _progress,
    vars_of,
)
from geo.parameters import STANDARD_NAMES, RunParameters

__all__: list[str] = []


def _cmd_info(args: argparse.Namespace) -> int:
    from geo import boundaries, coverage, facilities, plan, population

    sub = boundaries.load_subdistricts()
    area_km2 = float(coverage.partition_subdistricts()["area_km2"].sum())  # overlaps counted once
    fac = facilities.facilities_from_pack()
    pop = population.load_population()
    counts = fac.counts_by_type()
    area_plan = plan.current()  # None: an area without a plan.toml
    official = area_plan.official_counts_2020 if area_plan else {}
    plan_area = area_plan.area_km2 if area_plan else None
    info = {
        "data_folder": str(settings.resolve_data_folder()),
        "subdistricts": len(sub),
        "approximate_boundaries": sub.loc[sub["boundary_status"] != "surveyed", "name_zh"].tolist(),
        "area_km2": round(area_km2, 2),
        "plan_area_km2": plan_area,
        "facilities": fac.summary(),
        "facilities_by_type": {
            k: {"osm": v, "official_2020": official.get(k)} for k, v in counts.items()
        },
        "facilities_to_review": fac.to_review(),
        "facility_notes": list(fac.notes),
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
        f"{plan_area or '—'} km²; approximate boundaries: {approx})"
    )
    print(f"facilities: {fac.summary()}")
    for code, n in counts.items():
        off = official.get(code)
        print(f"  {code:22s} {n:4d}" + (f"  (official 2020: {off})" if off is not None else ""))
    for note in fac.notes:
        print(f"  note: {note}")
    for pair in info["facilities_to_review"]:
        print(f"  to review: {pair}")
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


def _cmd_network(args: argparse.Namespace) -> int:
    from geo import network

    given = {
        "walk_speed_kmh": args.walk_speed,
        "congestion_factor": args.congestion,
        "gap_tolerance_meters": args.gap_tolerance,
        "road_class_column": args.class_column,
        "name_column": args.name_column,
        "oneway_column": args.oneway_column,
    }
    options = network.BuildOptions(**{k: v for k, v in given.items() if v is not None})
    if not args.json:
        print(f"… building the {args.mode} network from {args.source}", file=sys.stderr)
    net = network.load_network(args.mode, args.source, options=options, use_cache=not args.no_cache)
    rep: dict[str, Any] = net.report.to_dict()  # printed below, field by field
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
        "area_cell_meters": args.area_cell,
        "max_snap_meters": args.max_snap,
        "population": args.population,
        "network": args.network,
    }
    changes |= {k: v for k, v in flags.items() if v is not None}
    return RunParameters.from_mapping(changes)


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
            facilities=run.resolved.facilities.gdf,
            lang=args.lang,
            raw=args.raw,
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
            facilities=run.resolved.facilities.gdf,
            lang=args.lang,
            raw=args.raw,
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
    from geo import access, export, scenarios
    from geo._sheets import sidecar_of, write_csv

    say = _progress(args)
    run_a = scenarios.run_scenario(args.a, progress=say)
    run_b = scenarios.run_scenario(args.b, progress=say)
    cmp = scenarios.compare(run_a, run_b)
    if say is not None:
        say("how far: travel-time distribution of both scenarios")
    far = access.compare_scenarios(run_a.resolved, run_b.resolved)
    written: list[str] = []
    if args.out is not None:
        stem = export.safe_stem(f"{cmp.b}_vs_{cmp.a}")
        written = [
            str(p)
            for p in export.export_comparison(
                cmp, args.out, stem=stem, lang=args.lang, raw=args.raw, overwrite=args.overwrite
            )
        ]
        if len(far):
            path = args.out / f"{stem}_access.csv"
            write_csv(far, path, metadata=cmp.metadata, lang=args.lang, raw=args.raw,
                      overwrite=args.overwrite)  # fmt: skip
            written += [str(path), str(sidecar_of(path))]
    if args.json:
        district = far[far["code"] == far["code"].iloc[-1]] if len(far) else far
        how_far = json.loads(district.to_json(orient="records", force_ascii=False))
        _print_json({**scenarios.comparison_json(cmp), "how_far": how_far, "files": written})
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
    _print_how_far(far)
    _print_comparison_table(cmp)
    for path in written:
        print(f"wrote {path}")
    return 0


def _print_how_far(far: Any) -> None:
    """District mean and p90 time to the nearest counted facility, A → B, per standard."""
    import math

    from geo import coverage

    def shown(value: float) -> str:
        return "n/a" if math.isnan(value) else "> 60" if math.isinf(value) else f"{value:.1f}"

    district = far[far["code"] == coverage.district_code()] if len(far) else far
    for rec in district.to_dict("records"):
        print(
            f"  {rec['standard']:14s} how far (min, nearest counted facility): mean "
            f"{shown(rec['mean_min_a'])} → {shown(rec['mean_min_b'])}, p90 "
            f"{shown(rec['p90_min_a'])} → {shown(rec['p90_min_b'])}; over their load "
            f"{rec['flagged_a']} → {rec['flagged_b']}"
        )
