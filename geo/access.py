"""Beyond "within 15 minutes": how far, how fair, and how much capacity per resident.

Three measures on the real street network, each from the product's own reach
(:class:`geo.reach.ReachIndex`):

* :func:`travel_times` — every resident's time (or distance) to the nearest counted facility and
  that facility, from **one** multi-source Dijkstra with source labels; per 街镇 and for the
  district: mean, median and 90th percentile (weighted by residents) and the share within 5, 10,
  15, 20 and 30 minutes (a cumulative curve). For ``ems_time`` the dispatch delay is added, so
  the figures are response times to compare with the plan's ≤ 12 min average.
* the same search gives **catchments**: the residents whose nearest counted facility each one is,
  with a flag where the load passes :data:`LOAD_LIMITS` (a centre serving more than 100,000
  residents, a hospital — a regional medical centre — more than 500,000).
* :func:`two_step_fca` — capacity-weighted accessibility (2SFCA, Luo & Wang 2003) and its
  enhanced variant with distance decay (E2SFCA, Luo & Qi 2009; Gaussian decay after Dai 2010):
  supply per 1,000 residents for each resident and per 街镇, against the plan's ratios.

Weighted percentiles are the lower inverse of the residents' cumulative distribution: the
smallest time ``t`` with at least ``q`` of the residents at or below ``t``. Residents beyond the
search limit (:data:`MAX_MINUTES`, :data:`MAX_KM`) count as beyond it (the percentile is then
reported as ``inf``: "more than 60 min"); residents off the network are left out and counted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio
import shapely

from geo import settings
from geo._errors import StandardError
from geo._io import staged_set
from geo._notes import no_counted_facility_note
from geo._sheets import metadata_rows, sidecar_of, write_csv
from geo._tables import district_code, district_names
from geo._types import JSONValue, Metadata
from geo.coverage import partition_subdistricts, reach_index, select_facilities
from geo.network import Network
from geo.population import Population
from geo.provenance import provenance
from geo.reach import DEFAULT_MAX_SNAP_METERS, FloatArray, IntArray, ReachIndex, Snap, to_metric
from geo.scenarios.resolve import ResolvedScenario
from geo.standards import Standard

__all__ = [
    "BED_DEFAULTS",
    "DECAYS",
    "LOAD_LIMITS",
    "MAX_KM",
    "MAX_MINUTES",
    "THRESHOLDS_MIN",
    "Accessibility",
    "TravelTimes",
    "compare_access",
    "compare_scenarios",
    "decay_weights",
    "travel_times",
    "two_step_fca",
    "weighted_quantile",
    "write_access",
]

#: Search limit of the travel-time distribution (minutes; distance standards: :data:`MAX_KM`).
MAX_MINUTES = 60.0
MAX_KM = 30.0

#: The cumulative curve's thresholds (minutes; km for distance standards: 1, 2, 3.5, 5, 10).
THRESHOLDS_MIN: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0, 30.0)
THRESHOLDS_KM: tuple[float, ...] = (1.0, 2.0, 3.5, 5.0, 10.0)

#: A facility whose catchment holds more residents than this is flagged (by type).
#: Centres: a community health service centre for more than 100,000 residents; hospitals: the
#: city's work plan sets one regional medical centre per 300,000–500,000 residents.
LOAD_LIMITS: dict[str, int] = {"chc": 100_000, "hospital": 500_000}

#: Bed counts the district plan itself states, used where the register has no capacity (matched
#: by a part of the name; labelled "plan default" in every output). 仁济医院南院's second phase
#: adds 400 beds; the plan gives no total, so it is not a default.
BED_DEFAULTS: dict[str, int] = {"浦江医院": 421, "闵行区中医医院": 500, "老年医学中心": 1000}

#: Thresholds are met within this (minutes or km): costs carry 1e-9 s per edge from the search.
_TOL = 1e-6

#: Distance decays of :func:`two_step_fca`.
DECAYS = ("none", "step", "gaussian")

#: E2SFCA step weights of the three equal sub-zones of the catchment (Luo & Qi 2009).
STEP_WEIGHTS = (1.0, 0.68, 0.22)


# --- statistics -------------------------------------------------------------------------------


def weighted_quantile(values: FloatArray, weights: FloatArray, q: float) -> float:
    """The lower weighted quantile: the smallest value with at least ``q`` of the weight at or
    below it (``inf`` values sort last; NaN if there is no weight)."""
    values, weights = np.asarray(values, float), np.asarray(weights, float)
    keep = weights > 0
    values, weights = values[keep], weights[keep]
    if len(values) == 0:
        return math.nan
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    k = int(np.searchsorted(cum, q * cum[-1] - 1e-9 * cum[-1], side="left"))
    return float(values[order][min(k, len(values) - 1)])


def decay_weights(cost: FloatArray, limit: float, decay: str) -> FloatArray:
    """Weight of each cost within a catchment of size ``limit`` (0 beyond it).

    ``none``: 1 (classic 2SFCA). ``step``: 1.00, 0.68, 0.22 in the first, second and last third
    of the catchment (E2SFCA, Luo & Qi 2009). ``gaussian``:
    ``(exp(-½ (d/d0)²) − exp(-½)) / (1 − exp(-½))`` — 1 at the facility, 0 at the edge (Dai 2010).
    """
    d = np.asarray(cost, float)
    inside = d <= limit
    if decay == "none":
        w = np.ones_like(d)
    elif decay == "step":
        zone = np.minimum((3 * d / limit).astype(int), 2) if limit > 0 else np.zeros(len(d), int)
        w = np.asarray(STEP_WEIGHTS)[np.clip(zone, 0, 2)]
    elif decay == "gaussian":
        edge = math.exp(-0.5)
        with np.errstate(invalid="ignore", over="ignore"):
            w = (np.exp(-0.5 * (d / limit) ** 2) - edge) / (1 - edge)
    else:
        msg = f"decay {decay!r} unknown; use one of {', '.join(DECAYS)}"
        raise StandardError(msg)
    return np.where(inside, w, 0.0)


# --- travel-time distribution and catchments --------------------------------------------------


@dataclass(frozen=True)
class TravelTimes:
    """Each resident's time (or distance) to the nearest counted facility, and what follows.

    ``points``: the population points with ``cost`` (``unit``), ``nearest`` (facility id) and
    ``subdistrict_code``. ``table``: per 街镇 and the district row (code ``310112``): residents,
    residents off the network, residents beyond the search limit, mean (of those reached),
    median, p90, and ``within_<t>`` shares. ``curve``: code, name, threshold, share (the
    cumulative curve at 1-unit steps up to the limit). ``catchments``: per counted facility,
    residents whose nearest it is, and ``flagged`` where that passes :data:`LOAD_LIMITS`.
    """

    standard: Standard
    unit: str
    limit: float
    points: pd.DataFrame
    table: pd.DataFrame
    curve: pd.DataFrame
    catchments: pd.DataFrame
    node_xy: FloatArray  # the network's nodes, UTM 51N
    node_label: IntArray  # each node's nearest counted facility (row of catchments), -1: none
    metadata: Metadata = field(default_factory=dict)

    def district(self) -> pd.Series:
        """The district row of :attr:`table`."""
        row: pd.Series = self.table.loc[self.table["code"] == district_code()].iloc[0]
        return row

    def catchment_polygons(self, subdistricts: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
        """Catchment areas (WGS-84) with ``id``, ``name``, ``type``, ``residents``, ``flagged``:
        the network's nodes labelled by their nearest facility (on the network), each grown into
        its Voronoi cell, dissolved per facility and clipped to the district. Areas beyond the
        search limit belong to no catchment."""
        part = partition_subdistricts(subdistricts)
        area = part.attrs.get("study_area") or shapely.union_all(part.geometry.values)
        keep = self.node_label >= 0
        xy, first = np.unique(np.round(self.node_xy[keep], 3), axis=0, return_index=True)
        labels = self.node_label[keep][first]
        if len(xy) < 2:
            return gpd.GeoDataFrame(self.catchments.iloc[:0], geometry=[], crs=settings.wgs84_crs)
        cells = shapely.get_parts(
            shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=area, ordered=True)
        )
        cells_gdf = gpd.GeoDataFrame({"label": labels}, geometry=cells, crs=settings.metric_crs)
        merged = cells_gdf.dissolve("label")
        clipped = shapely.intersection(merged.geometry.values, area)
        info = self.catchments.iloc[merged.index.to_numpy()].reset_index(drop=True)
        out = gpd.GeoDataFrame(info, geometry=clipped, crs=settings.metric_crs)
        return out.to_crs(settings.wgs84_crs)


def travel_times(
    standard: Standard,
    facilities: gpd.GeoDataFrame,
    population: Population,
    *,
    network: Network,
    subdistricts: gpd.GeoDataFrame | None = None,
    max_snap_meters: float = DEFAULT_MAX_SNAP_METERS,
) -> TravelTimes:
    """The travel-time distribution and the catchments of ``standard``'s counted facilities.

    One multi-source Dijkstra with source labels over ``network`` up to :data:`MAX_MINUTES`
    (time standards) or :data:`MAX_KM` (distance standards) gives both.

    Raises
    ------
    StandardError
        A straight-line standard (no network to measure on).
    """
    started = time.perf_counter()
    if standard.straight_line:
        msg = f"{standard.name} is a straight-line radius: the distribution needs a network"
        raise StandardError(msg)
    counted = select_facilities(standard, facilities)
    index = reach_index(network)
    timed = standard.cost == "time_s"
    scale = 60.0 if timed else 1000.0
    delay = float(standard.params.get("dispatch_delay_minutes", 0.0) or 0.0) if timed else 0.0
    limit_units = MAX_MINUTES if timed else MAX_KM
    pop = population.gdf
    pts = index.snap(to_metric(pop.geometry.x, pop.geometry.y), max_snap_meters=max_snap_meters)
    src = index.snap(
        to_metric(counted.geometry.x, counted.geometry.y), max_snap_meters=max_snap_meters
    )
    cost, label, node_label = index.nearest_sources(
        src, pts, standard.cost, limit=(limit_units - delay) * scale
    )
    value = cost / scale + delay
    ids = counted["id"].astype(str).to_numpy()
    points = pd.DataFrame(
        {
            "cost": value,
            "nearest": (
                np.where(label >= 0, ids[np.maximum(label, 0)], None) if len(ids) else None
            ),
            "weight": pop["weight"].to_numpy(float),
            "subdistrict_code": pop["subdistrict_code"].astype(str).to_numpy(),
            "off_network": pts.off_network,
        }
    )
    part = partition_subdistricts(subdistricts)
    thresholds = THRESHOLDS_MIN if timed else THRESHOLDS_KM
    table = _distribution_table(points, part, thresholds, "min" if timed else "km")
    curve = _curve(points, part, limit_units)
    catchments = _catchments(counted, points)
    meta = provenance(
        f"travel times {standard.name}",
        network=network.report,
        population=population,
        facilities=facilities,
        parameters={
            "standard": standard.name,
            "counted_types": list(standard.facility_types),
            "unit": "min" if timed else "km",
            "search_limit": limit_units,
            "dispatch_delay_minutes": delay,
            "max_snap_meters": max_snap_meters,
            "load_limits": dict[str, JSONValue](LOAD_LIMITS),
            "percentile": "lower weighted inverse CDF",
        },
    )
    meta["compute_seconds"] = round(time.perf_counter() - started, 3)
    if len(counted) == 0:
        meta["warning"] = no_counted_facility_note(standard.facility_types)
    return TravelTimes(
        standard,
        "min" if timed else "km",
        limit_units,
        points,
        table,
        curve,
        catchments,
        index.node_xy,
        node_label,
        meta,
    )


def _stats(group: pd.DataFrame, thresholds: Sequence[float], unit: str) -> dict[str, float]:
    on = group[~group["off_network"]]
    w, c = on["weight"].to_numpy(float), on["cost"].to_numpy(float)
    total = float(w.sum())
    reached = np.isfinite(c)
    out = {
        "residents": float(group["weight"].sum()),
        "off_network_residents": float(group.loc[group["off_network"], "weight"].sum()),
        "beyond_limit_residents": float(w[~reached].sum()),
        f"mean_{unit}": (
            float(np.average(c[reached], weights=w[reached])) if w[reached].sum() else math.nan
        ),
        f"median_{unit}": weighted_quantile(c, w, 0.5) if total else math.nan,
        f"p90_{unit}": weighted_quantile(c, w, 0.9) if total else math.nan,
    }
    for t in thresholds:
        share = float(w[c <= t + _TOL].sum() / total) if total else math.nan
        out[f"share_within_{t:g}{unit}"] = share
    return out


def _distribution_table(
    points: pd.DataFrame, part: gpd.GeoDataFrame, thresholds: Sequence[float], unit: str
) -> pd.DataFrame:
    rows = []
    for code, zh, en in zip(part["code"], part["name_zh"], part["name_en"], strict=True):
        group = points[points["subdistrict_code"] == str(code)]
        stats = _stats(group, thresholds, unit)
        rows.append({"code": str(code), "name_zh": zh, "name_en": en, **stats})
    district = {"code": district_code(), **district_names()}
    rows.append({**district, **_stats(points, thresholds, unit)})
    return pd.DataFrame(rows)


def _curve(points: pd.DataFrame, part: gpd.GeoDataFrame, limit: float) -> pd.DataFrame:
    steps = np.arange(0.0, limit + 1e-9, 1.0)
    rows = []
    units = [(str(c), z) for c, z in zip(part["code"], part["name_zh"], strict=True)]
    whole = district_code()
    for code, name in [*units, (whole, district_names()["name_zh"])]:
        group = points if code == whole else points[points["subdistrict_code"] == code]
        on = group[~group["off_network"]]
        w, c = on["weight"].to_numpy(float), on["cost"].to_numpy(float)
        total = w.sum()
        order = np.argsort(c)
        cum = np.concatenate([[0.0], np.cumsum(w[order])])
        at = np.searchsorted(c[order], steps + _TOL, side="right")
        share = cum[at] / total if total else np.full(len(steps), np.nan)
        rows.append(
            pd.DataFrame({"code": code, "name_zh": name, "threshold": steps, "share": share})
        )
    return pd.concat(rows, ignore_index=True)


def _catchments(counted: gpd.GeoDataFrame, points: pd.DataFrame) -> pd.DataFrame:
    load = points.groupby("nearest")["weight"].sum()
    out = pd.DataFrame(
        {
            "id": counted["id"].astype(str),
            "name": counted["name"],
            "type": counted["type"],
            "subdistrict_code": counted.get("subdistrict_code"),
            "lon": counted.geometry.x,
            "lat": counted.geometry.y,
        }
    ).reset_index(drop=True)
    out["residents"] = out["id"].map(load).fillna(0.0).to_numpy()
    out["load_limit"] = out["type"].map(LOAD_LIMITS)
    out["flagged"] = out["residents"] > out["load_limit"].fillna(np.inf)
    return out


# --- capacity-weighted accessibility (2SFCA, E2SFCA) ------------------------------------------


@dataclass(frozen=True)
class Accessibility:
    """Supply per ``per`` residents within a network catchment (2SFCA / E2SFCA).

    ``points``: per population point, ``access`` (supply per ``per`` residents). ``facilities``:
    the counted facilities with ``capacity``, ``capacity_source`` (``register``, ``plan default``)
    and ``ratio`` (R_j: supply per resident of its weighted catchment). ``table``: per 街镇 and the
    district row, residents, ``access`` (residents-weighted mean), ``target`` and ``gap``.
    ``missing_capacity``: facilities left out because neither the register nor the plan gives a
    capacity (never taken as 0 or 1).
    """

    points: pd.DataFrame
    facilities: pd.DataFrame
    table: pd.DataFrame
    missing_capacity: pd.DataFrame
    metadata: Metadata


def two_step_fca(
    facilities: gpd.GeoDataFrame,
    population: Population,
    *,
    network: Network,
    capacity_column: str = "capacity",
    types: Sequence[str] = ("hospital",),
    catchment_minutes: float = 30.0,
    decay: Literal["none", "step", "gaussian"] = "none",
    per: float = 1000.0,
    target: float | None = None,
    bed_defaults: Mapping[str, int] | None = BED_DEFAULTS,
    subdistricts: gpd.GeoDataFrame | None = None,
    max_snap_meters: float = DEFAULT_MAX_SNAP_METERS,
) -> Accessibility:
    """Capacity-weighted accessibility by the two-step floating catchment area method.

    Step 1: each facility's ratio ``R_j = S_j / Σ_i P_i W(d_ij)`` over residents within
    ``catchment_minutes`` on ``network`` (time cost). Step 2: each resident's accessibility
    ``A_i = per × Σ_j R_j W(d_ij)``. ``W`` is :func:`decay_weights` (``none``: 2SFCA). Per 街镇:
    the residents-weighted mean of ``A_i``; ``target`` (e.g. the plan's 4.6 beds per 1,000) gives
    the gap.

    Parameters
    ----------
    facilities
        The register (``id``, ``name``, ``type``, geometry and ``capacity_column``).
    capacity_column
        The register's column with the supply (beds, doctors, any number the planner names).
    types
        The facility types that supply it (default: hospitals, for beds).
    bed_defaults
        Capacities by a part of the name used where the register has none (labelled
        ``plan default``); None to use only the register.
    """
    started = time.perf_counter()
    index = reach_index(network)
    kind = "time_s"
    chosen = facilities[facilities["type"].isin(types)].reset_index(drop=True)
    cap, source = _capacities(chosen, capacity_column, bed_defaults)
    has = np.isfinite(cap)
    missing = chosen.loc[~has, ["id", "name", "type"]].reset_index(drop=True)
    supply = chosen[has].reset_index(drop=True)
    cap, source = cap[has], source[has]
    pop = population.gdf
    w_pop = pop["weight"].to_numpy(float)
    pts = index.snap(to_metric(pop.geometry.x, pop.geometry.y), max_snap_meters=max_snap_meters)
    src = index.snap(
        to_metric(supply.geometry.x, supply.geometry.y), max_snap_meters=max_snap_meters
    )
    limit_s = catchment_minutes * 60.0
    costs = _pair_costs(index, src, pts, kind, limit_s) / 60.0  # (facilities, points) minutes
    weights = np.vstack([decay_weights(row, catchment_minutes, decay) for row in costs])
    demand = weights @ w_pop
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(demand > 0, cap / demand, 0.0)
    access = per * (ratio @ weights) if len(supply) else np.zeros(len(pop))
    points = pd.DataFrame(
        {
            "subdistrict_code": pop["subdistrict_code"].astype(str).to_numpy(),
            "weight": w_pop,
            "access": access,
        }
    )
    fac = pd.DataFrame(
        {
            "id": supply["id"].astype(str),
            "name": supply["name"],
            "type": supply["type"],
            "capacity": cap,
            "capacity_source": source,
            "demand": demand,
            "ratio": ratio,
        }
    )
    table = _access_table(points, partition_subdistricts(subdistricts), target)
    meta = provenance(
        f"2SFCA {capacity_column}",
        network=network.report,
        population=population,
        facilities=facilities,
        parameters={
            "capacity_column": capacity_column,
            "types": list(types),
            "catchment_minutes": catchment_minutes,
            "decay": decay,
            "per_residents": per,
            "target": target,
            "bed_defaults": dict[str, JSONValue](bed_defaults or {}),
            "max_snap_meters": max_snap_meters,
        },
    )
    meta["compute_seconds"] = round(time.perf_counter() - started, 3)
    return Accessibility(points, fac, table, missing, meta)


def _capacities(
    chosen: gpd.GeoDataFrame, column: str, defaults: Mapping[str, int] | None
) -> tuple[FloatArray, npt.NDArray[np.object_]]:
    if column in chosen.columns:
        cap = pd.to_numeric(chosen[column], errors="coerce").to_numpy(float)
    else:
        cap = np.full(len(chosen), np.nan)
    cap = np.where(cap >= 0, cap, np.nan)
    source = np.array(["register" if np.isfinite(c) else None for c in cap], dtype=object)
    for i, name in enumerate(chosen["name"].astype(str)):
        if np.isfinite(cap[i]) or not defaults:
            continue
        for part, beds in defaults.items():
            if part in name:
                cap[i], source[i] = float(beds), "plan default"
                break
    return cap, source


def _pair_costs(index: ReachIndex, src: Snap, pts: Snap, kind: str, limit: float) -> FloatArray:
    """Cost from each source to each point (inf beyond ``limit``): one limited search from all
    sources, a row per source."""
    out = np.full((len(src.seg), len(pts.seg)), np.inf)
    if len(src.seg) == 0:
        return out
    nodes = index.node_costs(src, kind, limit=limit, min_only=False)
    for j in range(len(src.seg)):
        one = src.take([j])
        out[j] = index.point_costs(nodes[j], pts, kind, sources=one)
    out[out > limit] = np.inf
    return out


def _access_table(
    points: pd.DataFrame, part: gpd.GeoDataFrame, target: float | None
) -> pd.DataFrame:
    def row(group: pd.DataFrame) -> dict[str, float]:
        w = group["weight"].to_numpy(float)
        total = float(w.sum())
        value = float(np.average(group["access"], weights=w)) if total else math.nan
        return {"residents": total, "access": value}

    rows = []
    for code, zh, en in zip(part["code"], part["name_zh"], part["name_en"], strict=True):
        group = points[points["subdistrict_code"] == str(code)]
        rows.append({"code": str(code), "name_zh": zh, "name_en": en, **row(group)})
    rows.append({"code": district_code(), **district_names(), **row(points)})
    table = pd.DataFrame(rows)
    table["target"] = target if target is not None else math.nan
    table["gap"] = table["access"] - table["target"]
    return table


# --- comparison -------------------------------------------------------------------------------


def compare_access(
    base: TravelTimes,
    now: TravelTimes,
    *,
    fca_base: Accessibility | None = None,
    fca_now: Accessibility | None = None,
) -> pd.DataFrame:
    """Per 街镇 and the district: mean and p90 time (or distance) and the share within the
    standard's limit, base (``_a``), scenario (``_b``) and change (``_delta``); with 2SFCA
    results, the supply per 1,000 residents too; and the number of facilities over their load.
    """
    u = now.unit
    cols = [f"mean_{u}", f"p90_{u}"]
    a, b = base.table.set_index("code"), now.table.set_index("code")
    out = b[["name_zh", "name_en"]].copy()
    for col in cols:
        out[f"{col}_a"], out[f"{col}_b"] = a[col], b[col]
        with np.errstate(invalid="ignore"):
            out[f"{col}_delta"] = b[col] - a[col]
    if fca_base is not None and fca_now is not None:
        fa, fb = fca_base.table.set_index("code"), fca_now.table.set_index("code")
        out["access_a"], out["access_b"] = fa["access"], fb["access"]
        out["access_delta"] = fb["access"] - fa["access"]
    flagged = {
        tag: tt.catchments[tt.catchments["flagged"]].groupby("subdistrict_code").size()
        for tag, tt in (("a", base), ("b", now))
    }
    for tag, counts in flagged.items():
        per_unit = out.index.to_series().map(counts).fillna(0).astype(int)
        per_unit[district_code()] = int(counts.sum())
        out[f"flagged_{tag}"] = per_unit
    return out.reset_index()


def compare_scenarios(
    base: ResolvedScenario,
    now: ResolvedScenario,
    *,
    standards: Sequence[str] = ("walk15", "ems_time"),
) -> pd.DataFrame:
    """:func:`compare_access` of two scenarios for each of ``standards`` their parameters run
    on a network, stacked with a ``standard`` column (what ``geo compare`` prints and writes)."""
    from geo.scenarios.run import scenario_inputs

    frames = []
    stds_a, pop_a, nets_a = scenario_inputs(base)
    stds_b, pop_b, nets_b = scenario_inputs(now)
    by_name_a = {s.name: s for s in stds_a}
    for std in stds_b:
        if std.name not in standards or std.name not in by_name_a or std.straight_line:
            continue
        tt_b = travel_times(std, now.facilities.gdf, pop_b, network=nets_b[std.mode])
        std_a = by_name_a[std.name]
        tt_a = travel_times(std_a, base.facilities.gdf, pop_a, network=nets_a[std_a.mode])
        frame = compare_access(tt_a, tt_b)
        frame.insert(0, "standard", std.name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# --- files ------------------------------------------------------------------------------------


def write_access(
    tt: TravelTimes,
    fca: Accessibility | None,
    out_dir: Path,
    *,
    stem: str,
    lang: str = "zh",
    overwrite: bool = False,
) -> list[Path]:
    """Write the distribution, curve, catchments (CSV and GeoPackage) and the 2SFCA tables.

    Files: ``<stem>_travel_times.csv`` (per 街镇 and the district), ``<stem>_curve.csv``,
    ``<stem>_catchments.csv``, ``<stem>_catchments.gpkg`` (catchment polygons, ``metadata``);
    with ``fca``: ``<stem>_2sfca.csv`` (per 街镇) and ``<stem>_2sfca_facilities.csv`` (capacity,
    its source, ratio; facilities without capacity listed with an empty capacity). CSVs are
    readable (:mod:`geo.readable`) with a ``_metadata.txt`` sidecar; written together,
    atomically.
    """
    out = Path(out_dir)
    tables: dict[str, pd.DataFrame] = {
        f"{stem}_travel_times.csv": tt.table,
        f"{stem}_curve.csv": tt.curve,
        f"{stem}_catchments.csv": tt.catchments,
    }
    metas: dict[str, Metadata] = dict.fromkeys(tables, tt.metadata)
    if fca is not None:
        listed = pd.concat([fca.facilities, fca.missing_capacity], ignore_index=True)
        tables[f"{stem}_2sfca.csv"] = fca.table
        tables[f"{stem}_2sfca_facilities.csv"] = listed
        metas[f"{stem}_2sfca.csv"] = metas[f"{stem}_2sfca_facilities.csv"] = fca.metadata
    gpkg = f"{stem}_catchments.gpkg"
    names = [*tables, *(sidecar_of(out / n).name for n in tables), gpkg]
    with staged_set(out, names, overwrite=overwrite) as stage:
        for name, frame in tables.items():
            write_csv(
                frame, stage / name, metadata=metas[name], lang=lang, raw=False, overwrite=False
            )
        polygons = tt.catchment_polygons()
        if len(polygons):
            pyogrio.write_dataframe(polygons, stage / gpkg, layer="catchments", driver="GPKG")
        rows = pd.DataFrame(metadata_rows(tt.metadata), columns=["key", "value"])
        pyogrio.write_dataframe(rows, stage / gpkg, layer="metadata", driver="GPKG")
    return [out / n for n in names]
