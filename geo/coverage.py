"""Coverage per subdistrict for one standard: area from isochrones, residents from point reach.

Area coverage = isochrone polygons ∩ subdistrict (UTM 51N areas). Resident coverage is computed
from each population point's own network reach, never from polygons.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.spatial.distance import cdist

from geo import boundaries, plan, settings
from geo._errors import StandardError
from geo._notes import NETWORK_MISS_SHARE, network_miss_note, no_counted_facility_note
from geo._tables import (
    DISTRICT_CODE,
    TABLE_COLUMNS,
    TableParts,
    coverage_table,
)
from geo._types import JSONValue, Metadata
from geo.facilities import FacilityTable, possible_duplicates
from geo.isochrones import (
    DEFAULT_BUFFER_METERS,
    isochrone,
    isochrone_lines,
    polygons_in_parallel,
)
from geo.network import Network
from geo.parameters import DEFAULTS
from geo.population import Population
from geo.provenance import provenance
from geo.reach import (
    DEFAULT_MAX_SNAP_METERS,
    DRIVE_ACCESS_SPEED_KMH,
    FloatArray,
    ReachIndex,
    Snap,
    reach_index_from_graph,
    to_metric,
)
from geo.standards import Standard

__all__ = [
    "DISTRICT_CODE",
    "NETWORK_MISS_SHARE",
    "TABLE_COLUMNS",
    "CoverageResult",
    "CoverageSession",
    "ReachResult",
    "compute_coverage",
    "compute_reach",
    "network_miss_note",
    "no_counted_facility_note",
    "partition_subdistricts",
    "reach_index",
    "select_facilities",
]


@dataclass(frozen=True)
class CoverageResult:
    """Coverage of one standard for one set of facilities.

    Attributes
    ----------
    standard
        The standard applied.
    table
        One row per subdistrict plus a last district row (code ``310112``): columns
        :data:`TABLE_COLUMNS` and one ``n_<type>`` column per facility type counted.
    isochrones
        One polygon per counted facility (``facility_id``, ``name``, ``type``, geometry, WGS-84).
    covered
        The merged covered area clipped to each subdistrict (``code``, ``name_zh``, geometry).
    blind_spots
        District minus covered, per subdistrict (``code``, ``name_zh``, ``area_km2``, geometry).
    facilities
        The facilities counted by this standard (WGS-84 points).
    points
        Population points with ``cost`` (seconds or metres to the nearest counted facility,
        inf if none within reach), ``covered`` and ``off_network`` flags.
    metadata
        What the figures were computed from: network source and repairs, population source,
        facility counts (and the plan's official counts), parameters, software version, time.
    """

    standard: Standard
    table: pd.DataFrame
    isochrones: gpd.GeoDataFrame
    covered: gpd.GeoDataFrame
    blind_spots: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    points: gpd.GeoDataFrame
    metadata: Metadata

    def district(self) -> pd.Series:
        """The district row of :attr:`table`."""
        row: pd.Series = self.table.loc[self.table["code"] == DISTRICT_CODE].iloc[0]
        return row

    @property
    def network_report(self) -> dict[str, JSONValue] | None:
        """The network's report (source, date, repairs) from :attr:`metadata`; None if none."""
        report = self.metadata.get("network")
        return report if isinstance(report, dict) else None

    @property
    def warning(self) -> str | None:
        """What makes the figure no measurement (e.g. no facility of the counted types)."""
        warning = self.metadata.get("warning")
        return warning if isinstance(warning, str) else None


# --- computation ------------------------------------------------------------------------------

logger = logging.getLogger(__name__)

_INDEX_CACHE: dict[str, ReachIndex] = {}

#: Per-facility reach is computed in chunks of this many sources (bounds memory: chunk × nodes).
_CHUNK = 64


def reach_index(network: Network) -> ReachIndex:
    """The :class:`~geo.reach.ReachIndex` of a network, built once per network key."""
    if network.key not in _INDEX_CACHE:
        _INDEX_CACHE[network.key] = reach_index_from_graph(
            network.G, mode=network.mode, walk_speed_kmh=_walk_speed(network)
        )
    return _INDEX_CACHE[network.key]


def partition_subdistricts(gdf: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Subdistricts made disjoint, in UTM 51N: where two overlap, the lower code keeps the overlap.

    Areas of the pack's units then add up without counting the ~1 km² of overlaps twice. The
    default (the data pack's units) is built once per process; treat the result as read-only.
    The study area (the union of the units) is in ``attrs["study_area"]``.
    """
    if gdf is None:
        return _default_partition(boundaries.data_folder_key(boundaries.SUBDISTRICTS_FILE))
    return _partition(gdf)


@lru_cache(maxsize=2)
def _default_partition(key: tuple[str, int, int]) -> gpd.GeoDataFrame:
    """The default partition, once per subdistrict file (``key``: its path, size and mtime)."""
    return _partition(boundaries.subdistricts())


def _partition(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    sub = boundaries.subdistricts(gdf).sort_values("code").reset_index(drop=True)
    geoms = list(sub.geometry.to_crs(settings.metric_crs).values)
    taken = shapely.Polygon()
    for i, geom in enumerate(geoms):
        geoms[i] = shapely.make_valid(shapely.difference(geom, taken))
        taken = shapely.union(taken, geom)
    out = gpd.GeoDataFrame(
        sub[["code", "name_zh", "name_en", "boundary_status"]].copy(),
        geometry=geoms,
        crs=settings.metric_crs,
    )
    out["area_km2"] = out.geometry.area / 1e6
    out.attrs["study_area"] = shapely.union_all(out.geometry.values)
    return out


def select_facilities(standard: Standard, facilities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The facilities a standard counts: its types, any status but ``closed``."""
    keep = facilities["type"].isin(standard.facility_types) & (facilities["status"] != "closed")
    return facilities[keep].reset_index(drop=True)


@dataclass(frozen=True)
class ReachResult:
    """Raw reach of one standard: cost per population point, per-facility point costs, shapes.

    Network costs are known only up to the standard's limit (the search stops there): beyond it
    they are inf. Straight-line costs are exact at any distance. ``nearest`` is the index of the
    nearest counted facility for covered points, -1 otherwise.
    """

    point_cost: FloatArray
    per_facility_cost: FloatArray  # (facilities, points)
    off_network: npt.NDArray[np.bool_]
    nearest: npt.NDArray[np.int64]
    merged_m: shapely.Geometry
    per_facility_m: list[shapely.Geometry]
    facility_off_network: npt.NDArray[np.bool_]


def compute_reach(
    standard: Standard,
    facilities: gpd.GeoDataFrame,
    population: Population,
    *,
    network: Network | None,
    buffer_meters: float = DEFAULT_BUFFER_METERS,
    max_snap_meters: float = DEFAULT_MAX_SNAP_METERS,
    per_facility: bool = True,
    population_snap: Snap | None = None,
) -> ReachResult:
    """Reach of ``facilities`` (already selected) under ``standard`` for the population points.

    ``population_snap``: the population already snapped to this network (a session snaps it
    once, not on every edit)."""
    fac_xy = to_metric(facilities.geometry.x.to_numpy(), facilities.geometry.y.to_numpy())
    gdf = population.gdf
    pop_xy = (  # not needed when the session already snapped the population
        np.empty((len(gdf), 2))
        if population_snap is not None and not standard.straight_line
        else to_metric(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy())
    )
    if standard.straight_line:
        return _straight_line_reach(standard, fac_xy, pop_xy, per_facility=per_facility)
    if network is None or network.mode != standard.mode:
        got = network.mode if network is not None else "none"
        msg = f"standard {standard.name} needs a {standard.mode} network, got {got}"
        raise StandardError(msg)
    index = reach_index(network)
    kind, limit = standard.cost, standard.limit
    src = index.snap(fac_xy, max_snap_meters=max_snap_meters)
    pts = population_snap or index.snap(pop_xy, max_snap_meters=max_snap_meters)
    per_cost = np.full((len(fac_xy), len(pop_xy)), np.inf)
    lines: list[npt.NDArray[np.object_]] = []
    for lo in range(0, len(fac_xy), _CHUNK):
        chunk = np.arange(lo, min(lo + _CHUNK, len(fac_xy)))
        sub_src = src.take(chunk)
        node_cost = index.node_costs(sub_src, kind, limit=limit, min_only=False)
        for row, j in enumerate(chunk):
            one = src.take([j])
            per_cost[j] = index.point_costs(node_cost[row], pts, kind, sources=one)
            if per_facility:
                lines.append(isochrone_lines(index, node_cost[row], kind, limit=limit, sources=one))
    per_cost[per_cost > limit] = np.inf  # beyond the limit the search did not go
    cost = per_cost.min(axis=0) if len(fac_xy) else np.full(len(pop_xy), np.inf)
    nearest = per_cost.argmin(axis=0) if len(fac_xy) else np.full(len(pop_xy), -1)
    shapes = polygons_in_parallel(lines, buffer_meters=buffer_meters) if per_facility else []
    if per_facility:  # the union of the facilities' polygons is the multi-source polygon
        merged = shapely.union_all(shapes) if shapes else shapely.Polygon()
    else:
        node_cost = index.node_costs(src, kind, limit=limit)
        merged = isochrone(
            index, node_cost, kind, limit=limit, sources=src, buffer_meters=buffer_meters
        )
    nearest = np.where(np.isfinite(cost), nearest, -1)
    return ReachResult(cost, per_cost, pts.off_network, nearest, merged, shapes, src.off_network)


def _straight_line_reach(
    standard: Standard, fac_xy: FloatArray, pop_xy: FloatArray, *, per_facility: bool
) -> ReachResult:
    """Straight-line distance (named so): not a network reach."""
    n_pop = len(pop_xy)
    if len(fac_xy) == 0:
        empty = np.full(n_pop, np.inf)
        return ReachResult(
            empty,
            np.full((0, n_pop), np.inf),
            np.zeros(n_pop, bool),
            np.full(n_pop, -1),
            shapely.Polygon(),
            [],
            np.zeros(0, bool),
        )
    per_cost = cdist(fac_xy, pop_xy)
    dist, nearest = per_cost.min(axis=0), per_cost.argmin(axis=0)
    circles = list(shapely.buffer(shapely.points(fac_xy), standard.limit, quad_segs=16))
    return ReachResult(
        dist,
        per_cost,
        np.zeros(n_pop, bool),
        np.where(dist <= standard.limit, nearest, -1).astype(np.int64),
        shapely.union_all(circles),
        circles if per_facility else [],
        np.zeros(len(fac_xy), bool),
    )


def compute_coverage(
    standard: Standard,
    facilities: FacilityTable | gpd.GeoDataFrame,
    population: Population,
    *,
    network: Network | None = None,
    subdistricts: gpd.GeoDataFrame | None = None,
    buffer_meters: float = DEFAULT_BUFFER_METERS,
    max_snap_meters: float = DEFAULT_MAX_SNAP_METERS,
    per_facility: bool = True,
) -> CoverageResult:
    """Coverage of one standard per subdistrict, with isochrones, blind spots and metadata.

    Parameters
    ----------
    standard
        From :func:`geo.standards.make_standard`.
    facilities
        All facilities; the standard's types (status other than ``closed``) are counted.
    population
        Weighted points; resident coverage is computed from each point's own reach.
    network
        A walk network for ``walk15``, a drive network for the EMS standards, None for
        ``straight_line``.
    subdistricts
        Boundaries (default: the data pack's).
    buffer_meters
        Isochrone polygon half-width around reached streets (display and area coverage).
    max_snap_meters
        Points (facilities or residents) farther than this from every road are off network.
    per_facility
        Also compute one isochrone polygon per facility (for display and catchments).
    """
    table_src = facilities if isinstance(facilities, FacilityTable) else None
    gdf_fac = facilities.gdf if isinstance(facilities, FacilityTable) else facilities
    counted = select_facilities(standard, gdf_fac)
    part = partition_subdistricts(subdistricts)
    started = time.perf_counter()
    rr = compute_reach(
        standard,
        counted,
        population,
        network=network,
        buffer_meters=buffer_meters,
        max_snap_meters=max_snap_meters,
        per_facility=per_facility,
    )
    points = population.gdf.copy()
    points["cost"] = rr.point_cost
    points["covered"] = rr.point_cost <= standard.limit
    points["off_network"] = rr.off_network
    points["nearest_facility"] = pd.Series(
        [counted["id"].iloc[i] if i >= 0 else None for i in rr.nearest], dtype=object
    )
    covered_m = gpd.GeoDataFrame(
        part[["code", "name_zh"]].copy(),
        geometry=shapely.intersection(part.geometry.values, rr.merged_m),
        crs=settings.metric_crs,
    )
    blind_m = gpd.GeoDataFrame(
        part[["code", "name_zh"]].copy(),
        geometry=shapely.difference(part.geometry.values, rr.merged_m),
        crs=settings.metric_crs,
    )
    blind_m["area_km2"] = blind_m.geometry.area / 1e6
    table = coverage_table(
        standard, part, covered_m.geometry.area.to_numpy() / 1e6, points, counted
    )
    seconds = time.perf_counter() - started
    n_iso = len(rr.per_facility_m)
    iso = gpd.GeoDataFrame(
        counted[["id", "name", "type"]].rename(columns={"id": "facility_id"}).iloc[:n_iso],
        geometry=gpd.GeoSeries(list(rr.per_facility_m), crs=settings.metric_crs),
    )
    result = CoverageResult(
        standard=standard,
        table=table,
        isochrones=_clip_to_crs(iso, part),
        covered=covered_m.to_crs(settings.wgs84_crs),
        blind_spots=blind_m.to_crs(settings.wgs84_crs),
        facilities=counted,
        points=points,
        metadata=_metadata(
            standard,
            network,
            population,
            gdf_fac,
            counted,
            table_src.summary() if table_src else "facilities table",
            buffer_meters=buffer_meters,
            max_snap_meters=max_snap_meters,
            seconds=seconds,
            part=part,
            off_network_facilities=counted.loc[rr.facility_off_network, "name"].tolist(),
            table=table,
        ),
    )
    logger.info(
        "%s: area %.1f%%, residents %.1f%% (%d facilities, %.2f s)",
        standard.name,
        100 * result.district()["area_share"],
        100 * result.district()["resident_share"],
        len(counted),
        seconds,
    )
    return result


def _clip_to_crs(iso: gpd.GeoDataFrame, part: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if iso.empty:
        return iso.to_crs(settings.wgs84_crs)
    area = part.attrs.get("study_area")
    if area is None:
        area = shapely.union_all(part.geometry.values)
    iso = iso.set_geometry(shapely.intersection(iso.geometry.values, area))
    return iso.to_crs(settings.wgs84_crs)


def _walk_speed(network: Network | None) -> float:
    """The walking speed a walk network was built with (the default for other networks)."""
    speed = network.report.params.get("walk_speed_kmh") if network is not None else None
    if network is not None and network.mode == "walk" and isinstance(speed, int | float):
        return float(speed)
    return DEFAULTS.walk_speed_kmh


def _metadata(
    standard: Standard,
    network: Network | None,
    population: Population,
    all_facilities: gpd.GeoDataFrame,
    counted: gpd.GeoDataFrame,
    facilities_source: str,
    *,
    buffer_meters: float,
    max_snap_meters: float,
    seconds: float,
    part: gpd.GeoDataFrame,
    off_network_facilities: list[str],
    table: pd.DataFrame,
) -> Metadata:
    meta = provenance(
        f"coverage {standard.name}",
        network=network.report if network is not None else "none (straight line)",
        population=population,
        facilities=all_facilities,
        facilities_source=facilities_source,
        parameters={
            **standard.params,
            "limit": standard.limit,
            "cost": standard.cost,
            "buffer_meters": buffer_meters,
            "max_snap_meters": max_snap_meters,
            "walk_speed_kmh": _walk_speed(network),
            "drive_access_speed_kmh": DRIVE_ACCESS_SPEED_KMH,
        },
    )
    meta.update(
        {
            "standard": standard.name,
            "standard_label": standard.label_en,
            "standard_label_zh": standard.label_zh,
            "straight_line": standard.straight_line,
            "facilities_counted": len(counted),
            "facilities_counted_types": list(standard.facility_types),
            "facilities_to_review": [
                f"{a} ({ida}) and {b} ({idb}), both {t}, {m:,.0f} m apart: one facility or two?"
                for ida, a, idb, b, t, m in possible_duplicates(all_facilities)
            ],
            "area_note": (
                f"areas from {len(part)} subdistrict polygons made disjoint (overlaps go to the "
                f"lower code), {part['area_km2'].sum():.2f} km² in all "
                f"(plan: {plan.PLAN_AREA_KM2} km²)"
            ),
            "compute_seconds": round(seconds, 3),
        }
    )
    meta["off_network_facilities"] = list[JSONValue](off_network_facilities)
    if off_network_facilities:
        meta["warning_off_network"] = (
            f"{len(off_network_facilities)} counted facilities lie more than {max_snap_meters:g} m "
            f"from every road and reach nobody: {', '.join(off_network_facilities)}"
        )
    warnings = []
    if len(counted) == 0:
        warnings.append(no_counted_facility_note(standard.facility_types))
    district = table.loc[table["code"] == DISTRICT_CODE].iloc[0]
    if network is not None:
        miss = network_miss_note(
            float(district["off_network_residents"]),
            float(district["residents"]),
            source=network.report.source,
            max_snap_meters=max_snap_meters,
        )
        if miss:
            meta["warning_network_extent"] = miss
            warnings.append(miss)
    if warnings:
        meta["warning"] = " | ".join(warnings)
    return meta


# --- incremental edits ------------------------------------------------------------------------


class CoverageSession:
    """Coverage kept up to date under edits (add, move, remove one facility) without recomputing.

    Precompute once, query many: the reach index, the population snaps and, per facility, its
    point costs and isochrone polygon. An edit computes the one facility's reach (one limited
    Dijkstra) and updates covered area by the *difference* it makes, clipped to its own extent,
    so its cost does not grow with the number of facilities. :meth:`table` returns the same
    table :func:`compute_coverage` would (tested to agree).
    """

    def __init__(
        self,
        standard: Standard,
        facilities: gpd.GeoDataFrame,
        population: Population,
        *,
        network: Network | None,
        subdistricts: gpd.GeoDataFrame | None = None,
        buffer_meters: float = DEFAULT_BUFFER_METERS,
        max_snap_meters: float = DEFAULT_MAX_SNAP_METERS,
    ) -> None:
        self.standard = standard
        self.population = population
        self.network = network
        self.buffer_meters = buffer_meters
        self.max_snap_meters = max_snap_meters
        self.part = partition_subdistricts(subdistricts)
        self._part_geoms = self.part.geometry.values
        shapely.prepare(self._part_geoms)
        counted = select_facilities(standard, facilities).set_index("id", drop=False)
        self._empty = counted.iloc[0:0]
        self._rows: dict[str, dict[str, Any]] = {
            str(r["id"]): r for r in counted.to_dict("records")
        }
        self._frame: gpd.GeoDataFrame | None = counted
        rr = compute_reach(
            standard,
            counted,
            population,
            network=network,
            buffer_meters=buffer_meters,
            max_snap_meters=max_snap_meters,
            per_facility=True,
        )
        ids = list(counted.index)
        self._costs: dict[str, FloatArray] = dict(zip(ids, rr.per_facility_cost, strict=True))
        self._polys: dict[str, shapely.Geometry] = dict(zip(ids, rr.per_facility_m, strict=True))
        self._off_network = rr.off_network
        self._cost = self._min_cost()
        self._merged = rr.merged_m
        self._covered_km2 = shapely.area(shapely.intersection(self._part_geoms, self._merged)) / 1e6
        self._pop_snap: Snap | None = None
        if network is not None and not standard.straight_line:
            gdf = population.gdf
            xy = to_metric(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy())
            self._pop_snap = reach_index(network).snap(xy, max_snap_meters=max_snap_meters)
        self._table_parts = TableParts(standard, self.part, population, self._off_network)
        self._unit_names: dict[object, dict[str, Any]] = {
            r["code"]: {
                "subdistrict_code": r["code"],
                "subdistrict_zh": r["name_zh"],
                "subdistrict_en": r["name_en"],
                "boundary_status": r["boundary_status"],
            }
            for r in self.part.drop(columns="geometry").to_dict("records")
        }

    def _min_cost(self) -> FloatArray:
        if not self._costs:
            return np.full(len(self.population.gdf), np.inf)
        lowest: FloatArray = np.min(np.vstack(list(self._costs.values())), axis=0)
        return lowest

    def _facility_reach(self, one: gpd.GeoDataFrame) -> tuple[FloatArray, shapely.Geometry]:
        rr = compute_reach(
            self.standard,
            one,
            self.population,
            network=self.network,
            buffer_meters=self.buffer_meters,
            max_snap_meters=self.max_snap_meters,
            per_facility=True,
            population_snap=self._pop_snap,
        )
        return rr.point_cost, rr.per_facility_m[0]

    @property
    def facilities(self) -> gpd.GeoDataFrame:
        """The counted facilities now (indexed by id), built when asked for after edits."""
        if self._frame is None:
            rows = list(self._rows.values())
            self._frame = (
                gpd.GeoDataFrame(rows, geometry="geometry", crs=settings.wgs84_crs).set_index(
                    "id", drop=False
                )
                if rows
                else self._empty
            )
        return self._frame

    def add(self, facility: Mapping[str, object]) -> None:
        """Add one facility (``id``, ``name``, ``type``, ``lon``, ``lat``; status optional)."""
        fid = str(facility["id"])
        if fid in self._costs:
            msg = f"facility id {fid!r} is already in the session; use move() or another id"
            raise StandardError(msg)
        point = shapely.Point(float(facility["lon"]), float(facility["lat"]))  # type: ignore[arg-type]
        rec: dict[str, Any] = {"status": "planned", **facility, "id": fid, "geometry": point}
        if not facility.get("subdistrict_code"):  # the editor's rows carry it already
            code = boundaries.assign_subdistricts(point.x, point.y)[()]  # as add_subdistrict
            rec.update(self._unit_names.get(code, {"subdistrict_code": None}))
        cost, poly = self._facility_reach(
            gpd.GeoDataFrame(geometry=[point], crs=settings.wgs84_crs)
        )
        if not poly.is_empty:  # a site beyond the snap distance reaches nobody: off network
            gained = shapely.difference(poly, shapely.clip_by_rect(self._merged, *poly.bounds))
            self._covered_km2 = self._covered_km2 + self._area_by_unit(gained)
            self._merged = shapely.union(self._merged, poly)
        self._costs[fid], self._polys[fid] = cost, poly
        self._cost = np.minimum(self._cost, cost)
        self._rows[fid] = rec
        self._frame = None

    def remove(self, facility_id: str) -> None:
        """Remove one facility by id."""
        fid = str(facility_id)
        if fid not in self._costs:
            msg = f"unknown facility id {fid!r}; the session holds {len(self._costs)} facilities"
            raise StandardError(msg)
        poly = self._polys.pop(fid)
        del self._costs[fid]
        if not poly.is_empty:  # an off-network site covered nothing: nothing to take away
            box = shapely.box(*poly.bounds)
            others = [p for p in self._polys.values() if shapely.intersects(p, box)]
            rest = shapely.union_all(others) if others else shapely.Polygon()
            lost = shapely.difference(poly, rest)
            self._covered_km2 = self._covered_km2 - self._area_by_unit(lost)
            self._merged = shapely.difference(self._merged, lost)
        self._cost = self._min_cost()
        del self._rows[fid]
        self._frame = None

    def move(self, facility_id: str, lon: float, lat: float) -> None:
        """Move one facility to (lon, lat), keeping its other attributes."""
        fid = str(facility_id)
        if fid not in self._costs:
            msg = f"unknown facility id {fid!r}; the session holds {len(self._costs)} facilities"
            raise StandardError(msg)
        attrs = {k: v for k, v in self._rows[fid].items() if k != "geometry"}
        self.remove(fid)
        self.add({**attrs, "lon": lon, "lat": lat})

    def _area_by_unit(self, geom: shapely.Geometry) -> FloatArray:
        if geom.is_empty:
            return np.zeros(len(self._part_geoms))
        hit = shapely.intersects(self._part_geoms, geom)
        out = np.zeros(len(self._part_geoms))
        out[hit] = shapely.area(shapely.intersection(self._part_geoms[hit], geom)) / 1e6
        return out

    def table(self) -> pd.DataFrame:
        """The per-subdistrict table for the current facilities (numpy: ~1 ms; equal to the
        table :func:`compute_coverage` builds)."""
        return self._table_parts.table(
            self._covered_km2,
            self._cost <= self.standard.limit,
            np.array([r.get("subdistrict_code") for r in self._rows.values()], dtype=object),
            np.array([r.get("type") for r in self._rows.values()], dtype=object),
        )

    @property
    def merged(self) -> shapely.Geometry:
        """The covered area (UTM 51N) for the current facilities."""
        return self._merged

    def holds(self, facility_id: str) -> bool:
        """True if the facility is counted in this session."""
        return str(facility_id) in self._costs

    def covered(self) -> gpd.GeoDataFrame:
        """The covered area per subdistrict (WGS-84), as :attr:`CoverageResult.covered`."""
        geoms = shapely.intersection(self._part_geoms, self._merged)
        out = gpd.GeoDataFrame(
            self.part[["code", "name_zh"]].copy(), geometry=geoms, crs=settings.metric_crs
        )
        return out.to_crs(settings.wgs84_crs)

    def blind_spots(self) -> gpd.GeoDataFrame:
        """Subdistricts minus the covered area (WGS-84), as :attr:`CoverageResult.blind_spots`."""
        geoms = shapely.difference(self._part_geoms, self._merged)
        out = gpd.GeoDataFrame(
            self.part[["code", "name_zh"]].copy(), geometry=geoms, crs=settings.metric_crs
        )
        out["area_km2"] = out.geometry.area / 1e6
        return out.to_crs(settings.wgs84_crs)

    def result(self, all_facilities: gpd.GeoDataFrame, *, facilities_source: str) -> CoverageResult:
        """The current state as a full :class:`CoverageResult` (for exports and maps)."""
        started = time.perf_counter()
        ids = list(self._costs)
        points = self.population.gdf.copy()
        points["cost"] = self._cost
        points["covered"] = self._cost <= self.standard.limit
        points["off_network"] = self._off_network
        nearest: list[str | None] = [None] * len(points)
        if ids:
            best = np.argmin(np.vstack([self._costs[i] for i in ids]), axis=0)
            nearest = [ids[b] if c else None for b, c in zip(best, points["covered"], strict=True)]
        points["nearest_facility"] = pd.Series(nearest, dtype=object, index=points.index)
        counted = self.facilities.reset_index(drop=True)
        iso = gpd.GeoDataFrame(
            counted[["id", "name", "type"]].rename(columns={"id": "facility_id"}),
            geometry=gpd.GeoSeries(
                [self._polys[i] for i in counted["id"]], crs=settings.metric_crs
            ),
        )
        table = self.table()
        off = [
            str(counted.loc[i, "name"])
            for i in range(len(counted))
            if self._polys[counted.loc[i, "id"]].is_empty
        ]
        meta = _metadata(
            self.standard,
            self.network,
            self.population,
            all_facilities,
            counted,
            facilities_source,
            buffer_meters=self.buffer_meters,
            max_snap_meters=self.max_snap_meters,
            seconds=time.perf_counter() - started,
            part=self.part,
            off_network_facilities=off,
            table=table,
        )
        return CoverageResult(
            standard=self.standard,
            table=table,
            isochrones=_clip_to_crs(iso, self.part),
            covered=self.covered(),
            blind_spots=self.blind_spots(),
            facilities=counted,
            points=points,
            metadata=meta,
        )

    def isochrone(self, facility_id: str) -> shapely.Geometry:
        """One facility's isochrone polygon (UTM 51N)."""
        return self._polys[str(facility_id)]
