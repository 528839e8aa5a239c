"""``geo bench --scale``: how time and memory grow with residents, facilities and network size.

Every case runs in a fresh process (``spawn``), so its peak memory (``ru_maxrss``) is its own.
The cases, all on the data pack's networks and district:

* **points**: N synthetic residents, uniform inside the district (N = 1k … 1M), 200 synthetic
  stations: load (:func:`geo.population.population_from_points`: one point-in-polygon query),
  walk15 coverage (figures; polygons not built), a coverage session (the app's editor), one
  edit (add + table, median of 5), bytes per point held by the population;
* **facilities**: 100k residents, F synthetic stations (F = 50 … 5,000): walk15 and
  ems_distance coverage;
* **raster**: a 100 m GeoTIFF of 1,000 × 1,000 cells around the district, loaded with
  :func:`geo.population.population_from_raster`;
* **city**: the walk network tiled k × k (k = 4: ~250k nodes, 16 "districts" of 14 units), 1M
  residents, 50 stations per tile: routing arrays, area index, walk15 coverage; tiles are not
  joined to each other (a stand-in for a city's size, not its connectivity);
* **batch**: 8 runs of ``geo batch`` on 1 and on 2 worker processes: the speed-up.

Synthetic inputs are seeded; the output says what each row was computed from. No test asserts a
time.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from geo._types import JSONValue

__all__ = ["SCALE_FACILITIES", "SCALE_POINTS", "run_scale_bench", "synthetic_points"]

#: Residents (points) of the points sweep.
SCALE_POINTS: tuple[int, ...] = (1_000, 10_000, 100_000, 1_000_000)
#: Facilities of the facilities sweep.
SCALE_FACILITIES: tuple[int, ...] = (50, 200, 1_000, 5_000)
_SEED = 18


def _rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 1e6


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # KiB on Linux


def synthetic_points(n: int, *, seed: int = _SEED) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (lon, lat) uniform inside the district (rejection sampling in UTM 51N)."""
    import shapely

    from geo import coverage, settings

    part = coverage.partition_subdistricts()
    area = part.attrs["study_area"]
    shapely.prepare(area)
    x0, y0, x1, y1 = area.bounds
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    got = 0
    while got < n:
        x = rng.uniform(x0, x1, 2 * (n - got) + 16)
        y = rng.uniform(y0, y1, len(x))
        keep = shapely.contains_xy(area, x, y)
        xs.append(x[keep])
        ys.append(y[keep])
        got += int(keep.sum())
    x, y = np.concatenate(xs)[:n], np.concatenate(ys)[:n]
    from pyproj import Transformer

    inv = Transformer.from_crs(settings.metric_crs, settings.wgs84_crs, always_xy=True)
    lon, lat = inv.transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def _stations(n: int, *, seed: int) -> Any:
    import geopandas as gpd

    from geo import settings

    lon, lat = synthetic_points(n, seed=seed)
    return gpd.GeoDataFrame(
        {
            "id": [f"s{i}" for i in range(n)],
            "name": [f"S{i}" for i in range(n)],  # names unlike each other: not duplicates
            "type": "station",
            "status": "planned",
            "subdistrict_code": None,
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=settings.wgs84_crs,
    )


def _points_case(n: int) -> dict[str, JSONValue]:
    """Load, cover (walk15), session and one edit with ``n`` residents and 200 stations."""
    from geo import coverage, population, settings, standards
    from geo.network import load_network

    walk = load_network("walk")
    coverage.reach_index(walk)
    coverage.partition_subdistricts()
    lon, lat = synthetic_points(n)
    before = _rss_mb()
    started = time.perf_counter()
    pop = population.population_from_points(
        lon, lat, settings.census_population / n, source=f"{n:,} synthetic uniform points"
    )
    load_s = time.perf_counter() - started
    held = (_rss_mb() - before) * 1e6 / n
    fac = _stations(200, seed=_SEED + 1)
    walk15 = standards.make_standard("walk15", facility_types=("station",))
    started = time.perf_counter()
    result = coverage.compute_coverage(walk15, fac, pop, network=walk, per_facility=False)
    cover_s = time.perf_counter() - started
    started = time.perf_counter()
    session = coverage.CoverageSession(walk15, fac, pop, network=walk)
    session_s = time.perf_counter() - started
    edits = []
    sites = synthetic_points(5, seed=_SEED + 2)
    for i, (x, y) in enumerate(zip(*sites, strict=True)):
        started = time.perf_counter()
        session.add({"id": f"e{i}", "name": f"edit {i}", "type": "station", "lon": x, "lat": y})
        session.table()
        edits.append(time.perf_counter() - started)
    return {
        "points": n,
        "load_s": round(load_s, 3),
        "bytes_per_point": round(held),
        "cover_walk15_s": round(cover_s, 3),
        "session_s": round(session_s, 2),
        "edit_ms": round(1000 * statistics.median(edits), 1),
        "resident_share": round(float(result.district()["resident_share"]), 4),
        "peak_mb": round(_peak_mb()),
    }


def _facilities_case(n_fac: int) -> dict[str, JSONValue]:
    """walk15 and ems_distance coverage of 100k residents by ``n_fac`` stations."""
    from geo import coverage, population, settings, standards
    from geo.network import load_network

    walk, drive = load_network("walk"), load_network("drive")
    lon, lat = synthetic_points(100_000)
    pop = population.population_from_points(
        lon, lat, settings.census_population / 1e5, source="100,000 synthetic uniform points"
    )
    fac = _stations(n_fac, seed=_SEED + 3)
    out: dict[str, JSONValue] = {"facilities": n_fac, "points": 100_000}
    for name, net in (("walk15", walk), ("ems_distance", drive)):
        std = standards.make_standard(name, facility_types=("station",))
        coverage.compute_coverage(std, fac.iloc[:5], pop, network=net, per_facility=False)  # warm
        started = time.perf_counter()
        result = coverage.compute_coverage(std, fac, pop, network=net, per_facility=False)
        out[f"{name}_s"] = round(time.perf_counter() - started, 3)
        out[f"{name}_area_share"] = round(float(result.district()["area_share"]), 4)
    out["peak_mb"] = round(_peak_mb())
    return out


def _raster_case(cells: int) -> dict[str, JSONValue]:
    """Write a 100 m GeoTIFF of ``cells`` cells centred on the district and load it."""
    import rasterio
    from affine import Affine

    from geo import coverage, population, settings

    side = round(cells**0.5)
    part = coverage.partition_subdistricts()
    cx, cy = part.attrs["study_area"].centroid.coords[0]
    rng = np.random.default_rng(_SEED)
    data = rng.uniform(0, 40, (side, side)).astype("float32")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pop100m.tif"
        with rasterio.open(
            path,
            "w",
            driver="GTiff",
            width=side,
            height=side,
            count=1,
            dtype="float32",
            crs=settings.metric_crs,
            transform=Affine(100.0, 0.0, cx - side * 50, 0.0, -100.0, cy + side * 50),
        ) as dst:
            dst.write(data, 1)
        started = time.perf_counter()
        pop = population.population_from_raster(path)
        seconds = time.perf_counter() - started
    return {
        "raster_cells": side * side,
        "cells_in_district": len(pop.gdf),
        "load_s": round(seconds, 2),
        "peak_mb": round(_peak_mb()),
    }


def _city_case(k: int) -> dict[str, JSONValue]:
    """The walk network tiled k × k, 1M residents, 50 stations per tile: walk15 coverage."""
    import geopandas as gpd
    import pandas as pd
    import shapely
    from pyproj import Transformer

    from geo import boundaries, coverage, population, settings, standards
    from geo.network import Network, load_network
    from geo.reach import index_arrays, to_metric

    walk = load_network("walk")
    base = index_arrays(coverage.reach_index(walk))
    part = coverage.partition_subdistricts()
    x0, y0, x1, y1 = part.total_bounds
    width, height = x1 - x0, y1 - y0
    started = time.perf_counter()
    tiles = [(i, j) for i in range(k) for j in range(k)]
    arrays = _tiled(base, tiles, width, height)
    inv = Transformer.from_crs(settings.metric_crs, settings.wgs84_crs, always_xy=True)
    shifts = [np.array([i * width, j * height]) for i, j in tiles]
    units = []
    for t, shift in enumerate(shifts):
        shifted = shapely.transform(part.geometry.values, lambda c, d=shift: c + d)
        units.append(
            gpd.GeoDataFrame(
                {
                    "code": [f"{t:02d}-{c}" for c in part["code"]],
                    "name_zh": part["name_zh"].to_numpy(),
                    "name_en": part["name_en"].to_numpy(),
                    "boundary_status": part["boundary_status"].to_numpy(),
                },
                geometry=shifted,
                crs=settings.metric_crs,
            )
        )
    subs = pd.concat(units, ignore_index=True).to_crs(settings.wgs84_crs)
    net = Network(
        report=walk.report,
        mode="walk",
        key=f"tiled-{k}x{k}-{walk.key}",
        load_graph=_no_graph,
        arrays=arrays,
    )
    index = coverage.reach_index(net)
    build_s = time.perf_counter() - started
    routing_mb = sum(a.nbytes for a in arrays.values()) / 1e6
    lon, lat = synthetic_points(1_000_000 // len(tiles))
    pxy = to_metric(lon, lat)
    all_xy = np.concatenate([pxy + d for d in shifts])
    plon, plat = inv.transform(all_xy[:, 0], all_xy[:, 1])
    started = time.perf_counter()
    pop = population.population_from_points(
        plon,
        plat,
        25e6 / len(all_xy),
        source="1M synthetic points over the tiles",
        subdistricts=subs,
    )
    load_s = time.perf_counter() - started
    flon, flat = synthetic_points(50, seed=_SEED + 4)
    fxy = to_metric(flon, flat)
    all_f = np.concatenate([fxy + d for d in shifts])
    f_lon, f_lat = inv.transform(all_f[:, 0], all_f[:, 1])
    fac = gpd.GeoDataFrame(
        {
            "id": [f"s{i}" for i in range(len(all_f))],
            "name": [f"station {i}" for i in range(len(all_f))],
            "type": "station",
            "status": "planned",
            "subdistrict_code": boundaries.assign_subdistricts(f_lon, f_lat, subs),
        },
        geometry=gpd.points_from_xy(f_lon, f_lat),
        crs=settings.wgs84_crs,
    )
    walk15 = standards.make_standard("walk15", facility_types=("station",))
    started = time.perf_counter()
    result = coverage.compute_coverage(
        walk15, fac, pop, network=net, subdistricts=subs, per_facility=False
    )
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    coverage.compute_coverage(walk15, fac, pop, network=net, subdistricts=subs, per_facility=False)
    again_s = time.perf_counter() - started
    return {
        "tiles": len(tiles),
        "nodes": int(index.n_nodes),
        "segments": len(index.seg_u),
        "units": len(subs),
        "points": len(pop.gdf),
        "facilities": len(fac),
        "routing_arrays_mb": round(routing_mb),
        "network_build_s": round(build_s, 2),
        "population_load_s": round(load_s, 2),
        "cover_walk15_first_s": round(first_s, 2),
        "cover_walk15_s": round(again_s, 2),
        "resident_share": round(float(result.district()["resident_share"]), 4),
        "peak_mb": round(_peak_mb()),
    }


def _network_case(k: int) -> dict[str, JSONValue]:
    """The walk network tiled k × k (k = 8: ~1M nodes) as routing arrays only: memory of the
    arrays and the reach index, and one multi-source walk15 search from 17 sites per tile."""
    from geo import coverage, standards
    from geo.network import load_network
    from geo.reach import index_arrays, reach_index_from_arrays, to_metric

    walk = load_network("walk")
    base = index_arrays(coverage.reach_index(walk))
    part = coverage.partition_subdistricts()
    x0, y0, x1, y1 = part.total_bounds
    tiles = [(i, j) for i in range(k) for j in range(k)]
    before = _rss_mb()
    started = time.perf_counter()
    arrays = _tiled(base, tiles, x1 - x0, y1 - y0)
    del base
    index = reach_index_from_arrays(arrays)
    del arrays
    build_s = time.perf_counter() - started
    held = _rss_mb() - before
    lon, lat = synthetic_points(17, seed=_SEED + 5)
    sxy = to_metric(lon, lat)
    step = np.array([x1 - x0, y1 - y0])
    sites = np.concatenate([sxy + step * np.array(t) for t in tiles])
    walk15 = standards.make_standard("walk15")
    started = time.perf_counter()
    src = index.snap(sites)
    cost = index.node_costs(src, walk15.cost, limit=walk15.limit)
    search_s = time.perf_counter() - started
    return {
        "tiles": len(tiles),
        "nodes": int(index.n_nodes),
        "segments": len(index.seg_u),
        "index_mb": round(held),
        "build_s": round(build_s, 1),
        "sources": len(sites),
        "search_s": round(search_s, 2),
        "nodes_reached": int(np.isfinite(cost).sum()),
        "peak_mb": round(_peak_mb()),
    }


def _no_graph() -> Any:
    msg = "a tiled benchmark network has routing arrays only"
    raise RuntimeError(msg)


def _tiled(
    base: dict[str, np.ndarray],
    tiles: list[tuple[int, int]],
    width: float,
    height: float,
) -> dict[str, np.ndarray]:
    """The routing arrays repeated over the tiles, each shifted by (i·width, j·height)."""
    import shapely

    n_nodes, n_segs = len(base["node_ids"]), len(base["seg_u"])
    raw = base["seg_wkb"].tobytes()
    offsets = base["seg_wkb_offsets"]
    geoms = shapely.from_wkb([raw[a:b] for a, b in itertools.pairwise(offsets.tolist())])
    out: dict[str, list[np.ndarray]] = {k: [] for k in base}
    wkbs: list[bytes] = []
    for t, (i, j) in enumerate(tiles):
        shift = np.array([i * width, j * height])
        out["node_ids"].append(base["node_ids"] + t * 10**12)
        out["node_xy"].append(base["node_xy"] + shift)
        out["seg_u"].append(base["seg_u"] + t * n_nodes)
        out["seg_v"].append(base["seg_v"] + t * n_nodes)
        out["snap_segs"].append(base["snap_segs"] + t * n_segs)
        for name in ("seg_len", "fwd_time_s", "bwd_time_s", "fwd_length_m", "bwd_length_m"):
            out[name].append(base[name])
        moved = shapely.transform(geoms, lambda c, s=shift: c + s)
        wkbs.extend(bytes(w) for w in shapely.to_wkb(moved))
    import json

    names = json.loads(base["seg_names"].tobytes().decode("utf-8")) * len(tiles)
    tiled = {k: np.concatenate(v) for k, v in out.items() if v}
    tiled["mode"] = base["mode"]
    tiled["access"] = base["access"]
    tiled["seg_wkb"] = np.frombuffer(b"".join(wkbs), dtype=np.uint8)
    tiled["seg_wkb_offsets"] = np.cumsum([0, *(len(w) for w in wkbs)], dtype=np.int64)
    tiled["seg_names"] = np.frombuffer(json.dumps(names).encode("utf-8"), dtype=np.uint8)
    return tiled


def _batch_case(workers: int) -> dict[str, JSONValue]:
    """8 runs of plan-2025 (walk15, ems_distance, ems_time; dispatch delay 1 to 8 min) on
    ``workers`` processes: the time of the whole batch and of its runs (after the cluster is up)."""
    from geo import batch

    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "bench.toml"
        spec.write_text(
            'name = "bench"\nscenarios = ["plan-2025"]\n[parameters]\n'
            'standards = ["walk15", "ems_distance", "ems_time"]\nems_minutes = 15\n'
            "[sweep]\ndispatch_delay_minutes = [1, 2, 3, 4, 5, 6, 7, 8]\n",
            encoding="utf-8",
        )
        result = batch.run_batch(batch.load_batch_spec(spec), workers=workers)
    return {
        "workers": workers,
        "runs": 8,
        "failed": len(result.errors),
        "s": round(result.seconds, 2),
        "runs_s": round(result.seconds - result.startup_seconds, 2),
    }


def _in_fresh_process(fn: Callable[[int], dict[str, JSONValue]], arg: int) -> dict[str, JSONValue]:
    """``fn(arg)`` in a new process; a failure is returned as a row, not raised (the other cases
    go on)."""
    ctx = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            return pool.submit(fn, arg).result()
    except Exception as exc:
        return {"case": f"{fn.__name__}({arg})", "error": f"{type(exc).__name__}: {exc}"}


def run_scale_bench(
    *,
    points: tuple[int, ...] = SCALE_POINTS,
    facilities: tuple[int, ...] = SCALE_FACILITIES,
    raster_cells: int = 1_000_000,
    city_tiles: int = 4,
    network_tiles: int = 8,
    batch: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, JSONValue]:
    """Run the scale cases, each in a fresh process; return the tables as JSON-ready rows."""
    say = progress or (lambda _m: None)
    out: dict[str, JSONValue] = {"cpu_count": os.cpu_count() or 1}
    rows: list[JSONValue] = []
    for n in points:
        say(f"points: {n:,} residents, 200 stations")
        rows.append(_in_fresh_process(_points_case, n))
    out["points"] = rows
    rows = []
    for f in facilities:
        say(f"facilities: {f:,} stations, 100,000 residents")
        rows.append(_in_fresh_process(_facilities_case, f))
    out["facilities"] = rows
    if raster_cells:
        say(f"raster: a 100 m GeoTIFF of {raster_cells:,} cells")
        out["raster"] = _in_fresh_process(_raster_case, raster_cells)
    if city_tiles:
        say(f"city: the walk network tiled {city_tiles}×{city_tiles}, 1M residents")
        out["city"] = _in_fresh_process(_city_case, city_tiles)
    if network_tiles:
        say(f"network: the walk network tiled {network_tiles}×{network_tiles}, arrays only")
        out["network"] = _in_fresh_process(_network_case, network_tiles)
    if batch:
        say("batch: 8 runs on 1 worker, then on 2")
        one, two = _batch_case(1), _batch_case(2)
        out["batch"] = {
            "one_worker_s": one["s"],
            "two_workers_s": two["s"],
            "one_worker_runs_s": one["runs_s"],
            "two_workers_runs_s": two["runs_s"],
            "speedup": round(float(one["runs_s"]) / float(two["runs_s"]), 2),  # type: ignore[arg-type]
            "speedup_with_startup": round(float(one["s"]) / float(two["s"]), 2),  # type: ignore[arg-type]
            "runs": 8,
            "failed": len([r for r in (one, two) if r["failed"]]),
        }
    return out
