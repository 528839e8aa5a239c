"""Coverage per subdistrict for one standard: area from the reached streets, residents from
point reach.

Area coverage = the area within ``buffer_meters`` of the reached parts of streets, per
subdistrict: counted on the network's raster area index (:mod:`geo.area_index`, cells of
``area_cell_meters``) or, with ``area_cell_meters=0``, from the isochrone polygons ∩ subdistrict
(UTM 51N areas). Polygons are built only when a map or an export asks for them. Resident coverage
is computed from each population point's own network reach, never from polygons.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import boundaries, plan, settings
from geo._errors import StandardError
from geo._notes import NETWORK_MISS_SHARE, network_miss_note, no_counted_facility_note
from geo._reach_run import (
    ReachResult,
    SparseCost,
    area_index,
    compute_reach,
    partition_subdistricts,
    reach_index,
    select_facilities,
    walk_speed,
)
from geo._tables import (
    DISTRICT_CODE,
    TABLE_COLUMNS,
    TableParts,
    coverage_table,
    district_code,
    district_names,
)
from geo._types import JSONValue, Metadata
from geo.area_index import AreaIndex
from geo.facilities import FacilityTable, possible_duplicates
from geo.isochrones import DEFAULT_BUFFER_METERS
from geo.network import Network
from geo.parameters import DEFAULTS
from geo.population import Population
from geo.provenance import provenance
from geo.reach import (
    DEFAULT_MAX_SNAP_METERS,
    DRIVE_ACCESS_SPEED_KMH,
    FloatArray,
    IntArray,
    Snap,
)
from geo.standards import Standard

__all__ = [
    "DEFAULT_AREA_CELL_METERS",
    "DISTRICT_CODE",
    "NETWORK_MISS_SHARE",
    "TABLE_COLUMNS",
    "CoverageResult",
    "CoverageSession",
    "CoverageShapes",
    "ReachResult",
    "compute_coverage",
    "compute_reach",
    "district_code",
    "district_names",
    "network_miss_note",
    "no_counted_facility_note",
    "partition_subdistricts",
    "reach_index",
    "select_facilities",
]

logger = logging.getLogger(__name__)

#: Cell size of the raster area index (0: exact polygon areas).
DEFAULT_AREA_CELL_METERS = DEFAULTS.area_cell_meters

_Frames = tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]


@dataclass(eq=False)
class CoverageShapes:
    """The polygons of a result — isochrones, covered area and blind spots per subdistrict —
    built when first asked for (figures do not need them), then kept."""

    build: Callable[[], _Frames]
    _frames: _Frames | None = field(default=None, repr=False)

    @classmethod
    def of(
        cls, isochrones: gpd.GeoDataFrame, covered: gpd.GeoDataFrame, blind: gpd.GeoDataFrame
    ) -> CoverageShapes:
        """Shapes already built."""
        frames = (isochrones, covered, blind)
        return cls(lambda: frames, frames)

    def frames(self) -> _Frames:
        """(isochrones, covered, blind spots), built on the first call."""
        if self._frames is None:
            self._frames = self.build()
        return self._frames


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
    facilities
        The facilities counted by this standard (WGS-84 points).
    points
        Population points with ``cost`` (seconds or metres to the nearest counted facility,
        inf if none within reach), ``covered`` and ``off_network`` flags.
    metadata
        What the figures were computed from: network source and repairs, population source,
        facility counts (and the plan's official counts), parameters, software version, time.
    shapes
        The polygons (:attr:`isochrones`, :attr:`covered`, :attr:`blind_spots`), built when
        first read.
    """

    standard: Standard
    table: pd.DataFrame
    facilities: gpd.GeoDataFrame
    points: gpd.GeoDataFrame
    metadata: Metadata
    shapes: CoverageShapes

    @property
    def isochrones(self) -> gpd.GeoDataFrame:
        """One polygon per counted facility (``facility_id``, ``name``, ``type``, WGS-84)."""
        return self.shapes.frames()[0]

    @property
    def covered(self) -> gpd.GeoDataFrame:
        """The merged covered area clipped to each subdistrict (``code``, ``name_zh``)."""
        return self.shapes.frames()[1]

    @property
    def blind_spots(self) -> gpd.GeoDataFrame:
        """District minus covered, per subdistrict (``code``, ``name_zh``, ``area_km2``)."""
        return self.shapes.frames()[2]

    def district(self) -> pd.Series:
        """The district row of :attr:`table`."""
        row: pd.Series = self.table.iloc[-1]  # the district row is always last
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
    area_cell_meters: float = DEFAULT_AREA_CELL_METERS,
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
        Half-width of the covered band around reached streets (area coverage and polygons).
    max_snap_meters
        Points (facilities or residents) farther than this from every road are off network.
    per_facility
        Also compute one isochrone polygon per facility (for display and catchments).
    area_cell_meters
        Covered area counted on the network's raster area index with cells of this size; 0
        intersects the polygons instead (exact, slower). Straight-line areas are always exact.
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
        point_matrix=False,
    )
    points = population.gdf.copy()
    points["cost"] = rr.point_cost
    points["covered"] = rr.point_cost <= standard.limit
    points["off_network"] = rr.off_network
    ids = np.array([*counted["id"].tolist(), None], dtype=object)  # -1 (none) → None
    points["nearest_facility"] = pd.Series(ids[rr.nearest], dtype=object, index=points.index)
    grid = _area_grid(standard, network, part, buffer_meters, area_cell_meters)
    if grid is not None:
        covered_km2 = grid.area_by_unit(grid.covered_cells(*rr.all_intervals()))
    else:
        covered_km2 = shapely.area(shapely.intersection(part.geometry.values, rr.merged_m)) / 1e6
    table = coverage_table(standard, part, covered_km2, points, counted)
    seconds = time.perf_counter() - started
    meta = _metadata(
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
        grid=grid,
    )
    result = CoverageResult(
        standard=standard,
        table=table,
        facilities=counted,
        points=points,
        metadata=meta,
        shapes=CoverageShapes(lambda: _reach_frames(rr, counted, part)),
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


def _area_grid(
    standard: Standard,
    network: Network | None,
    part: gpd.GeoDataFrame,
    buffer_meters: float,
    area_cell_meters: float,
) -> AreaIndex | None:
    """The raster area index a network standard counts its area on (None: exact polygons)."""
    if standard.straight_line or network is None or area_cell_meters <= 0:
        return None
    return area_index(network, part, buffer_meters=buffer_meters, cell_meters=area_cell_meters)


def _reach_frames(rr: ReachResult, counted: gpd.GeoDataFrame, part: gpd.GeoDataFrame) -> _Frames:
    """Isochrones, covered area and blind spots (WGS-84) of a reach result."""
    n_iso = len(rr.per_facility_m)
    iso = gpd.GeoDataFrame(
        counted[["id", "name", "type"]].rename(columns={"id": "facility_id"}).iloc[:n_iso],
        geometry=gpd.GeoSeries(list(rr.per_facility_m), crs=settings.metric_crs),
    )
    return (_clip_to_crs(iso, part), *_area_frames(part, rr.merged_m))


def _area_frames(
    part: gpd.GeoDataFrame, merged: shapely.Geometry
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Covered area and blind spots per subdistrict (WGS-84) of a merged covered polygon."""
    covered = gpd.GeoDataFrame(
        part[["code", "name_zh"]].copy(),
        geometry=shapely.intersection(part.geometry.values, merged),
        crs=settings.metric_crs,
    )
    blind = gpd.GeoDataFrame(
        part[["code", "name_zh"]].copy(),
        geometry=shapely.difference(part.geometry.values, merged),
        crs=settings.metric_crs,
    )
    blind["area_km2"] = blind.geometry.area / 1e6
    return covered.to_crs(settings.wgs84_crs), blind.to_crs(settings.wgs84_crs)


def _clip_to_crs(iso: gpd.GeoDataFrame, part: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if iso.empty:
        return iso.to_crs(settings.wgs84_crs)
    area = part.attrs.get("study_area")
    if area is None:
        area = shapely.union_all(part.geometry.values)
    iso = iso.set_geometry(shapely.intersection(iso.geometry.values, area))
    return iso.to_crs(settings.wgs84_crs)


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
    grid: AreaIndex | None = None,
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
            "area_cell_meters": grid.cell_meters if grid is not None else 0.0,
            "max_snap_meters": max_snap_meters,
            "walk_speed_kmh": walk_speed(network),
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
                f"lower code), {part['area_km2'].sum():.2f} km² in all"
                + (f" (plan: {found.area_km2} km²)" if (found := plan.current()) else "")
            ),
            "area_method": (
                f"covered area = cells of {grid.cell_meters:g} m whose centre lies within "
                f"{buffer_meters:g} m of a reached street (raster area index; within 0.1 "
                "percentage point of the polygons per subdistrict on Minhang)"
                if grid is not None
                else "covered area = isochrone polygons ∩ subdistricts (exact)"
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
    district = table.iloc[-1]  # the district row
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
        area_cell_meters: float = DEFAULT_AREA_CELL_METERS,
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
            sparse_costs=True,
        )
        ids = list(counted.index)
        # each facility's finite point costs only: memory grows with its reach, not the district
        self._costs: dict[str, SparseCost] = dict(zip(ids, rr.sparse_costs, strict=True))
        self._polys: dict[str, shapely.Geometry] = dict(zip(ids, rr.per_facility_m, strict=True))
        self._off_network = rr.off_network
        self._cost = self._min_cost()
        self._merged = rr.merged_m
        self._grid = _area_grid(standard, network, self.part, buffer_meters, area_cell_meters)
        self._covered_km2 = np.zeros(len(self.part))
        self._cells: dict[str, IntArray] = {}
        if self._grid is not None:  # covered cells per facility, and how many cover each cell
            self._count = np.zeros(self._grid.cell_unit.size, dtype=np.int32)
            for fid, iv in zip(ids, rr.intervals, strict=True):
                self._cells[fid] = self._grid.covered_cells(*iv)
                self._count[self._cells[fid]] += 1
            self._unit_cells = self._grid.cells_by_unit(np.flatnonzero(self._count))
        else:
            merged_km2 = shapely.area(shapely.intersection(self._part_geoms, self._merged)) / 1e6
            self._covered_km2 = merged_km2
        self._pop_snap: Snap | None = None
        if network is not None and not standard.straight_line:
            self._pop_snap = population.snap(reach_index(network), max_snap_meters=max_snap_meters)
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
        lowest = np.full(len(self.population.gdf), np.inf)
        for idx, cost in self._costs.values():
            lowest[idx] = np.minimum(lowest[idx], cost)
        return lowest

    def _facility_reach(self, one: gpd.GeoDataFrame) -> ReachResult:
        return compute_reach(
            self.standard,
            one,
            self.population,
            network=self.network,
            buffer_meters=self.buffer_meters,
            max_snap_meters=self.max_snap_meters,
            per_facility=True,
            population_snap=self._pop_snap,
            sparse_costs=True,
        )

    def _area_change(self, fid: str, rr: ReachResult | None) -> None:
        """Count a facility's cells in (``rr`` given: it was added) or out (it was removed)."""
        if self._grid is None:
            return
        if rr is not None:
            cells = self._cells[fid] = self._grid.covered_cells(*rr.intervals[0])
            new = cells[self._count[cells] == 0]
            self._count[cells] += 1
            self._unit_cells = self._unit_cells + self._grid.cells_by_unit(new)
        else:
            cells = self._cells.pop(fid)
            self._count[cells] -= 1
            lost = cells[self._count[cells] == 0]
            self._unit_cells = self._unit_cells - self._grid.cells_by_unit(lost)

    def _covered(self) -> FloatArray:
        """Covered km² per unit now."""
        if self._grid is None:
            return self._covered_km2
        return self._unit_cells.astype(np.float64) * self._grid.cell_km2

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
        rr = self._facility_reach(gpd.GeoDataFrame(geometry=[point], crs=settings.wgs84_crs))
        cost, poly = rr.sparse_costs[0], rr.per_facility_m[0]
        self._area_change(fid, rr)
        if not poly.is_empty:  # a site beyond the snap distance reaches nobody: off network
            if self._grid is None:
                gained = shapely.difference(poly, shapely.clip_by_rect(self._merged, *poly.bounds))
                self._covered_km2 = self._covered_km2 + self._area_by_unit(gained)
            self._merged = shapely.union(self._merged, poly)
        self._costs[fid], self._polys[fid] = cost, poly
        idx, values = cost
        self._cost[idx] = np.minimum(self._cost[idx], values)
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
        self._area_change(fid, None)
        if not poly.is_empty:  # an off-network site covered nothing: nothing to take away
            box = shapely.box(*poly.bounds)
            others = [p for p in self._polys.values() if shapely.intersects(p, box)]
            rest = shapely.union_all(others) if others else shapely.Polygon()
            lost = shapely.difference(poly, rest)
            if self._grid is None:
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
            self._covered(),
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
        return _area_frames(self.part, self._merged)[0]

    def blind_spots(self) -> gpd.GeoDataFrame:
        """Subdistricts minus the covered area (WGS-84), as :attr:`CoverageResult.blind_spots`."""
        return _area_frames(self.part, self._merged)[1]

    def result(self, all_facilities: gpd.GeoDataFrame, *, facilities_source: str) -> CoverageResult:
        """The current state as a full :class:`CoverageResult` (for exports and maps)."""
        started = time.perf_counter()
        ids = list(self._costs)
        points = self.population.gdf.copy()
        points["cost"] = self._cost.copy()
        points["covered"] = self._cost <= self.standard.limit
        points["off_network"] = self._off_network
        best = np.full(len(points), np.inf)
        who = np.full(len(points), -1)
        for k, fid in enumerate(ids):  # the first facility of the lowest cost, as argmin would
            idx, cost = self._costs[fid]
            lower = cost < best[idx]
            best[idx[lower]], who[idx[lower]] = cost[lower], k
        names = np.array([*ids, None], dtype=object)
        nearest = np.where(points["covered"].to_numpy(), names[who], None)
        points["nearest_facility"] = pd.Series(nearest, dtype=object, index=points.index)
        counted = self.facilities.reset_index(drop=True)
        iso = gpd.GeoDataFrame(
            counted[["id", "name", "type"]].rename(columns={"id": "facility_id"}),
            geometry=gpd.GeoSeries(
                [self._polys[i] for i in counted["id"]], crs=settings.metric_crs
            ),
        )
        part, merged = self.part, self._merged
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
            grid=self._grid,
        )
        return CoverageResult(
            standard=self.standard,
            table=table,
            facilities=counted,
            points=points,
            metadata=meta,
            shapes=CoverageShapes(lambda: (_clip_to_crs(iso, part), *_area_frames(part, merged))),
        )

    def isochrone(self, facility_id: str) -> shapely.Geometry:
        """One facility's isochrone polygon (UTM 51N)."""
        return self._polys[str(facility_id)]
