"""Benchmarks: our reach and isochrones against the osmnx documentation's method, in one process.

Reference (a): the isochrone recipe of the osmnx examples ("13-isolines-isochrones"): for each
facility, the nearest node, ``networkx.ego_graph(G, node, radius=limit, distance="travel_time")``
on the projected graph, then the reached nodes buffered by 50 m and the reached edges (straight
lines between nodes) by 25 m, merged. Ours (b): :func:`geo.coverage.compute_reach` — edge
snapping, one multi-source scipy Dijkstra, partial edges, per-facility and merged polygons, plus
every resident point's cost. Both run on the same walk network and the same facilities; times
are wall-clock medians, printed with their ratio. No test asserts a time.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import networkx as nx
import osmnx as ox
import shapely

from geo import coverage, facilities, parameters, population, settings, standards
from geo._types import JSONValue
from geo.network import Network, load_network

__all__ = [
    "EMS_STAND_IN_TYPES",
    "reference_isochrones",
    "run_bench",
]

logger = logging.getLogger(__name__)

#: Stand-in for ambulance substations in EMS benchmarks (the pack has none): hospitals and the
#: emergency department. Said in the output.
EMS_STAND_IN_TYPES = ("emergency_department", "hospital")


def _timed(fn: Callable[[], Any], *, repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


def reference_isochrones(
    G_projected: nx.MultiDiGraph,
    xy: list[tuple[float, float]],
    *,
    limit_s: float,
    node_buff: float = 50.0,
    edge_buff: float = 25.0,
) -> shapely.Geometry:
    """The osmnx documentation's isochrone method for each facility, merged (metric CRS)."""
    polys = []
    for x, y in xy:
        center = ox.distance.nearest_nodes(G_projected, x, y)
        sub = nx.ego_graph(G_projected, center, radius=limit_s, distance="travel_time")
        nodes = {n: shapely.Point(d["x"], d["y"]) for n, d in sub.nodes(data=True)}
        node_polys = [p.buffer(node_buff) for p in nodes.values()]
        edge_polys = [
            shapely.LineString([nodes[u], nodes[v]]).buffer(edge_buff) for u, v in sub.edges()
        ]
        polys.append(shapely.union_all([*node_polys, *edge_polys]))
    return shapely.union_all(polys)


def run_bench(
    *, repeat: int = 3, progress: Callable[[str], None] | None = None
) -> dict[str, JSONValue]:
    """Run every benchmark on the data pack and return the figures as one JSON-ready dict."""
    say = progress or (lambda _m: None)
    say("loading networks, facilities and population")
    walk, drive = load_network("walk"), load_network("drive")
    fac = facilities.facilities_from_pack()
    pop = population.population_from_addresses()
    gdf = fac.gdf
    walk15 = standards.make_standard("walk15", facility_types=tuple(gdf["type"].unique()))
    coverage.reach_index(walk)  # built once, like the reference's projected graph
    say("projecting the walk graph for the reference method (not timed)")
    G_proj = ox.project_graph(walk.G, to_crs=settings.metric_crs)
    xy_m = list(zip(*_metric_xy(gdf), strict=True))

    say(f"reference: osmnx ego_graph isochrones for {len(gdf)} facilities")
    ref_s, ref_poly = _timed(
        lambda: reference_isochrones(G_proj, xy_m, limit_s=walk15.limit), repeat=max(1, repeat // 2)
    )
    say("ours: compute_reach with per-facility and merged polygons")
    ours_s, rr = _timed(
        lambda: _with_polygons(
            coverage.compute_reach(walk15, gdf, pop, network=walk, per_facility=True)
        ),
        repeat=repeat,
    )
    full_first_s, full_s = _full_coverage(walk, drive, fac, pop, repeat=repeat, say=say)
    incremental = _incremental(walk, gdf, pop, repeat=repeat, say=say)
    access_figures = _access(walk, drive, gdf, pop, repeat=repeat, say=say)
    from geo.optimize import bench_suggest

    suggest = bench_suggest(progress=say)
    return {
        "network": walk.report.source,
        "network_nodes": walk.report.nodes,
        "facilities": len(gdf),
        "population_points": len(pop.gdf),
        "reference_method": "osmnx docs: ego_graph per facility, nodes buffered 50 m, edges 25 m",
        "reference_s": round(ref_s, 4),
        "ours_s": round(ours_s, 4),
        "ratio": round(ref_s / ours_s, 1),
        "reference_area_km2": round(ref_poly.area / 1e6, 2),
        "ours_area_km2": round(rr.merged_m.area / 1e6, 2),
        "full_coverage_s": round(full_s, 4),
        "full_coverage_first_s": round(full_first_s, 4),
        "full_coverage_standards": list(parameters.STANDARD_NAMES),
        "ems_facility_types": list(EMS_STAND_IN_TYPES),
        **incremental,
        **access_figures,
        **suggest,
    }


def _with_polygons(rr: coverage.ReachResult) -> coverage.ReachResult:
    """Build the polygons now (they are lazy): the reference builds its polygons too."""
    assert rr.merged_m is not None and len(rr.per_facility_m) >= 0
    return rr


def _metric_xy(gdf: gpd.GeoDataFrame) -> tuple[list[float], list[float]]:
    pts = gdf.geometry.to_crs(settings.metric_crs)
    return list(pts.x), list(pts.y)


def _full_coverage(
    walk: Network,
    drive: Network,
    fac: facilities.FacilityTable,
    pop: population.Population,
    *,
    repeat: int,
    say: Callable[[str], None],
) -> tuple[float, float]:
    say("full-district coverage, all four standards (networks loaded)")
    stds = [
        standards.make_standard("walk15"),
        standards.make_standard("ems_distance", facility_types=EMS_STAND_IN_TYPES),
        standards.make_standard("ems_time", facility_types=EMS_STAND_IN_TYPES),
        standards.make_standard("straight_line", facility_types=EMS_STAND_IN_TYPES),
    ]
    nets = {"walk": walk, "drive": drive, "none": None}

    def run() -> None:
        for std in stds:
            coverage.compute_coverage(std, fac, pop, network=nets[std.mode])

    first, _ = _timed(run, repeat=1)  # cold: area indexes read from the cache folder, snapping
    seconds, _ = _timed(run, repeat=repeat)
    say(f"full coverage: first {first:.3f} s, then median {seconds:.3f} s")
    return first, seconds


def _incremental(
    walk: Network,
    gdf: gpd.GeoDataFrame,
    pop: population.Population,
    *,
    repeat: int,
    say: Callable[[str], None],
) -> dict[str, float]:
    say("incremental edits: add and move one facility (walk15)")
    session = coverage.CoverageSession(standards.make_standard("walk15"), gdf, pop, network=walk)
    add_ms, move_ms = [], []
    sites = [(121.38, 31.05), (121.45, 31.10), (121.33, 31.18), (121.50, 31.03)]
    for i in range(repeat * 2):
        lon, lat = sites[i % len(sites)]
        fid = f"bench-{i}"
        started = time.perf_counter()
        session.add({"id": fid, "name": fid, "type": "station", "lon": lon, "lat": lat})
        session.table()
        add_ms.append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        session.move(fid, lon + 0.01, lat + 0.005)
        session.table()
        move_ms.append(1000 * (time.perf_counter() - started))
        session.remove(fid)
    return {
        "incremental_ms": round(max(statistics.median(add_ms), statistics.median(move_ms)), 2),
        "add_ms": round(statistics.median(add_ms), 2),
        "move_ms": round(statistics.median(move_ms), 2),
    }


def _access(
    walk: Network,
    drive: Network,
    gdf: gpd.GeoDataFrame,
    pop: population.Population,
    *,
    repeat: int,
    say: Callable[[str], None],
) -> dict[str, JSONValue]:
    """Travel-time distribution + catchments (walk15) and 2SFCA with 200 facilities."""
    import numpy as np

    from geo import access

    say("travel-time distribution and catchments (walk15), networks loaded")
    walk15 = standards.make_standard("walk15")
    tt_s, _ = _timed(lambda: access.travel_times(walk15, gdf, pop, network=walk), repeat=repeat)
    say("2SFCA: 200 synthetic hospitals with capacities, 30 min drive catchment")
    rng = np.random.default_rng(17)
    inside = pop.gdf.geometry.iloc[rng.choice(len(pop.gdf), 200, replace=True)]
    sites = gpd.GeoDataFrame(
        {
            "id": [f"bench-h{i}" for i in range(200)],
            "name": [f"bench hospital {i}" for i in range(200)],
            "type": "hospital",
            "status": "existing",
            "capacity": rng.integers(50, 1000, 200).astype(float),
        },
        geometry=inside.to_numpy(),
        crs=settings.wgs84_crs,
    )
    coverage.reach_index(drive)
    fca_s, _ = _timed(
        lambda: access.two_step_fca(sites, pop, network=drive, decay="gaussian"), repeat=repeat
    )
    return {
        "travel_times_ms": round(1000 * tt_s, 1),
        "two_step_fca_200_s": round(fca_s, 3),
    }
