"""Commands that propose and place: suggest, plan-scenario, geocode; and bench."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Literal

from geo._errors import ParameterError
from geo.cli.output import (
    _number,
    _print_json,
    _print_suggestion,
    _progress,
    _say,
    _texts,
)
from geo.parameters import RunParameters

__all__: list[str] = []


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
            result,
            args.out,
            stem=args.stem,
            curve=curve,
            lang=args.lang,
            raw=args.raw,
            overwrite=args.overwrite,
        )
        written = [str(p) for p in paths]
    if args.json:
        _print_json({**result.summary(), "files": written})
        return 0
    _print_suggestion(result, written)
    return 0


def _cmd_plan_scenario(args: argparse.Namespace) -> int:
    from geo import scenarios, settings

    out = args.out or settings.scenario_folder / "plan-2025.toml"  # read at run time
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
    summary: dict[str, Any] = result.summary()  # printed below, field by field
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


def _cmd_bench(args: argparse.Namespace) -> int:
    from geo import bench

    say = _progress(args)
    if args.scale:
        return _bench_scale(args)
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
        f"{out['full_coverage_s']:.3f} s, the first in the process "
        f"{out['full_coverage_first_s']:.3f} s   (target < 0.5 s; EMS counts "
        f"{', '.join(_texts(out['ems_facility_types']))} as a stand-in: no substations)"
    )
    print(f"one edit: add {out['add_ms']:.1f} ms, move {out['move_ms']:.1f} ms   (target < 15 ms)")
    print(
        f"travel-time distribution and catchments (walk15): {out['travel_times_ms']:.0f} ms "
        f"(target < 500 ms); 2SFCA, 200 facilities: {out['two_step_fca_200_s']:.2f} s "
        "(target < 2 s)"
    )
    print(
        f"site suggestion, Table 2 ({out['suggest_candidates']} candidates): exact "
        f"{out['suggest_exact_s']:.2f} s, greedy {out['suggest_greedy_s']:.2f} s, greedy short of "
        f"the optimum by {100 * _number(out['suggest_greedy_shortfall']):.2f}%"
    )
    return 0


def _counts(text: str | None, default: tuple[int, ...], flag: str) -> tuple[int, ...]:
    if not text:
        return default
    try:
        values = tuple(int(v.replace("_", "")) for v in text.split(","))
    except ValueError:
        values = ()
    if not values or not all(1 <= v <= 5_000_000 for v in values):
        msg = f"{flag} {text!r}: expected whole numbers from 1 to 5,000,000, comma-separated"
        raise ParameterError(msg)
    return values


def _bench_scale(args: argparse.Namespace) -> int:
    from geo import bench_scale

    out = bench_scale.run_scale_bench(
        points=_counts(args.points, bench_scale.SCALE_POINTS, "--points"),
        facilities=_counts(args.facilities, bench_scale.SCALE_FACILITIES, "--facilities"),
        progress=_progress(args),
    )
    if args.json:
        _print_json(out)
        return 0
    print(f"machine: {out['cpu_count']} cores; every case in a fresh process (peak = ru_maxrss)")
    print("residents (uniform in the district), 200 stations, walk15:")
    print(
        f"  {'points':>9} {'load s':>7} {'B/point':>8} {'cover s':>8} {'session s':>9} "
        f"{'edit ms':>8} {'peak MB':>8}"
    )
    for r in _rows(out["points"]):
        print(
            f"  {r['points']:>9,} {r['load_s']:>7.2f} {r['bytes_per_point']:>8} "
            f"{r['cover_walk15_s']:>8.2f} {r['session_s']:>9.2f} {r['edit_ms']:>8.1f} "
            f"{r['peak_mb']:>8}"
        )
    print("facilities (synthetic stations), 100,000 residents:")
    print(f"  {'facilities':>10} {'walk15 s':>9} {'ems_distance s':>15} {'peak MB':>8}")
    for r in _rows(out["facilities"]):
        print(
            f"  {r['facilities']:>10,} {r['walk15_s']:>9.2f} {r['ems_distance_s']:>15.2f} "
            f"{r['peak_mb']:>8}"
        )
    for key in ("raster", "city", "network", "batch"):
        if isinstance(out.get(key), dict):
            print(f"{key}: " + ", ".join(f"{k} {v}" for k, v in _rows([out[key]])[0].items()))
    return 0


def _rows(value: object) -> list[dict[str, Any]]:
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []
