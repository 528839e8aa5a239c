"""One standard's raw reach for a set of facilities: point costs, covered intervals, area cells.

Plumbing of :mod:`geo.coverage` (which re-exports the public names): the per-network caches
(reach index, area index), the subdistrict partition, and :func:`compute_reach`. Polygons are
built only when asked for (:attr:`ReachResult.per_facility_m`, :attr:`ReachResult.merged_m`), so
figures need no buffering.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from geo import boundaries, settings
from geo._errors import StandardError
from geo.area_index import (
    AreaIndex,
    build_area_index,
    partition_key,
    read_area_index,
    write_area_index,
)
from geo.isochrones import (
    DEFAULT_BUFFER_METERS,
    covered_intervals,
    interval_lines,
    lines_to_polygon,
    polygons_in_parallel,
)
from geo.network import Network
from geo.parameters import DEFAULTS
from geo.population import Population
from geo.reach import (
    DEFAULT_MAX_SNAP_METERS,
    FloatArray,
    IntArray,
    ReachIndex,
    Snap,
    reach_index_from_arrays,
    reach_index_from_graph,
    to_metric,
)
from geo.standards import Standard

__all__ = [
    "Intervals",
    "ReachResult",
    "SparseCost",
    "area_index",
    "compute_reach",
    "partition_subdistricts",
    "reach_index",
    "select_facilities",
    "walk_speed",
]

#: Covered parts of segments: (segment, start share, end share).
Intervals = tuple[IntArray, FloatArray, FloatArray]

#: One facility's finite point costs: (point indices, costs).
SparseCost = tuple[IntArray, FloatArray]

logger = logging.getLogger(__name__)

_INDEX_CACHE: dict[str, ReachIndex] = {}
_AREA_CACHE: dict[tuple[str, str, float, float], AreaIndex] = {}

#: Per-facility reach is computed in chunks of this many sources (bounds memory: chunk × nodes).
_CHUNK = 64


def reach_index(network: Network) -> ReachIndex:
    """The :class:`~geo.reach.ReachIndex` of a network, built once per network key."""
    if network.key not in _INDEX_CACHE:
        _INDEX_CACHE[network.key] = (
            reach_index_from_arrays(network.arrays)
            if network.arrays is not None
            else reach_index_from_graph(
                network.G, mode=network.mode, walk_speed_kmh=walk_speed(network)
            )
        )
    return _INDEX_CACHE[network.key]


def area_index(
    network: Network, part: gpd.GeoDataFrame, *, buffer_meters: float, cell_meters: float
) -> AreaIndex:
    """The :class:`~geo.area_index.AreaIndex` of a network over a partition, built once per
    network, partition, buffer and cell size."""
    pkey = part.attrs.get("partition_key") or partition_key(part)
    key = (_geometry_key(network), str(pkey), float(buffer_meters), float(cell_meters))
    if key not in _AREA_CACHE:
        digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()
        # named network-*: the network cache's pruning removes it when unused
        path = settings.resolve_cache_folder() / f"network-area-{digest[:20]}.bin"
        found = read_area_index(path, key=digest)
        if found is None:
            found = build_area_index(
                reach_index(network), part, buffer_meters=buffer_meters, cell_meters=cell_meters
            )
            try:
                write_area_index(path, found, key=digest)
            except OSError as err:  # a read-only cache folder: keep it in memory only
                logger.warning("could not store the area index in %s: %s", path, err)
        _AREA_CACHE[key] = found
    return _AREA_CACHE[key]


_GEOMETRY_KEYS: dict[str, str] = {}


def _geometry_key(network: Network) -> str:
    """A digest of the network's segments (ends and node positions), not of its costs: networks
    that differ only in speeds (congestion, walking speed) share one area index."""
    if network.key not in _GEOMETRY_KEYS:
        index = reach_index(network)
        digest = hashlib.sha256()
        for array in (index.seg_u, index.seg_v, index.node_xy, index.snap_segs):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update(str(len(index.seg_geom)).encode())
        _GEOMETRY_KEYS[network.key] = digest.hexdigest()
    return _GEOMETRY_KEYS[network.key]


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
    out.attrs["partition_key"] = partition_key(out)
    return out


def select_facilities(standard: Standard, facilities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The facilities a standard counts: its types, any status but ``closed``."""
    keep = facilities["type"].isin(standard.facility_types) & (facilities["status"] != "closed")
    return facilities[keep].reset_index(drop=True)


def walk_speed(network: Network | None) -> float:
    """The walking speed a walk network was built with (the default for other networks)."""
    speed = network.report.params.get("walk_speed_kmh") if network is not None else None
    if network is not None and network.mode == "walk" and isinstance(speed, int | float):
        return float(speed)
    return DEFAULTS.walk_speed_kmh


@dataclass(frozen=True)
class ReachResult:
    """Raw reach of one standard: cost per population point, per-facility point costs, shapes.

    Network costs are known only up to the standard's limit (the search stops there): beyond it
    they are inf. Straight-line costs are exact at any distance. ``nearest`` is the index of the
    nearest counted facility for covered points, -1 otherwise. ``intervals`` holds the covered
    parts of segments, one set per facility (one merged set when not ``per_facility``; none for
    straight-line standards). Polygons (UTM 51N) are built when first read.
    """

    point_cost: FloatArray
    per_facility_cost: FloatArray  # (facilities, points)
    off_network: npt.NDArray[np.bool_]
    nearest: npt.NDArray[np.int64]
    facility_off_network: npt.NDArray[np.bool_]
    intervals: list[Intervals]
    per_facility: bool
    index: ReachIndex | None = None
    buffer_meters: float = DEFAULT_BUFFER_METERS
    circles: list[shapely.Geometry] = field(default_factory=list)
    sparse_costs: list[SparseCost] = field(default_factory=list)

    @cached_property
    def per_facility_m(self) -> list[shapely.Geometry]:
        """One polygon per facility (empty list unless ``per_facility``)."""
        if not self.per_facility:
            return []
        if self.index is None:
            return list(self.circles)
        index = self.index
        lines = [interval_lines(index, *iv) for iv in self.intervals]
        return polygons_in_parallel(lines, buffer_meters=self.buffer_meters)

    @cached_property
    def merged_m(self) -> shapely.Geometry:
        """The covered area: the union of the facilities' polygons."""
        if self.index is None:
            return shapely.union_all(self.circles) if self.circles else shapely.Polygon()
        if self.per_facility:
            shapes = self.per_facility_m
            return shapely.union_all(shapes) if shapes else shapely.Polygon()
        lines = interval_lines(self.index, *self.all_intervals())
        return lines_to_polygon(lines, buffer_meters=self.buffer_meters)

    def all_intervals(self) -> Intervals:
        """Every facility's covered intervals in one set."""
        if not self.intervals:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
        seg, lo, hi = zip(*self.intervals, strict=True)
        return np.concatenate(seg), np.concatenate(lo), np.concatenate(hi)


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
    point_matrix: bool = True,
    sparse_costs: bool = False,
) -> ReachResult:
    """Reach of ``facilities`` (already selected) under ``standard`` for the population points.

    ``population_snap``: the population already snapped to this network (a session snaps it
    once, not on every edit). ``point_matrix``: also keep every facility's cost to every point
    (``per_facility_cost``, facilities × points × 8 bytes: what a session needs); without it the
    nearest facility comes from one labelled multi-source search, in memory linear in the
    points. ``sparse_costs``: keep each facility's finite point costs as (indices, costs) in
    ``sparse_costs`` (memory grows with its reach, not with the district), and the nearest as
    without ``point_matrix``."""
    if sparse_costs:
        point_matrix = False
    fac_xy = to_metric(facilities.geometry.x.to_numpy(), facilities.geometry.y.to_numpy())
    xy = population.xy_metric if population_snap is None or standard.straight_line else None
    if standard.straight_line:
        assert xy is not None
        return _straight_line_reach(
            standard,
            fac_xy,
            xy,
            per_facility=per_facility,
            point_matrix=point_matrix,
            sparse_costs=sparse_costs,
        )
    if network is None or network.mode != standard.mode:
        got = network.mode if network is not None else "none"
        msg = f"standard {standard.name} needs a {standard.mode} network, got {got}"
        raise StandardError(msg)
    index = reach_index(network)
    kind, limit = standard.cost, standard.limit
    src = index.snap(fac_xy, max_snap_meters=max_snap_meters)
    pts = population_snap or population.snap(index, max_snap_meters=max_snap_meters)
    n_pts = len(pts.seg)
    per_cost = np.full((len(fac_xy) if point_matrix else 0, n_pts), np.inf)
    intervals: list[Intervals] = []
    sparse: list[SparseCost] = []
    per_point = point_matrix or sparse_costs
    for lo in range(0, len(fac_xy) if per_point or per_facility else 0, _CHUNK):
        chunk = np.arange(lo, min(lo + _CHUNK, len(fac_xy)))
        node_cost = index.node_costs(src.take(chunk), kind, limit=limit, min_only=False)
        for row, j in enumerate(chunk):
            one = src.take([j])
            if per_point:
                costs = index.point_costs(node_cost[row], pts, kind, sources=one)
                if point_matrix:
                    per_cost[j] = costs
                else:
                    hit = np.flatnonzero(costs <= limit)
                    sparse.append((hit, costs[hit]))
            if per_facility:
                intervals.append(
                    covered_intervals(index, node_cost[row], kind, limit=limit, sources=one)
                )
    if point_matrix:
        per_cost[per_cost > limit] = np.inf  # beyond the limit the search did not go
        cost = per_cost.min(axis=0) if len(fac_xy) else np.full(n_pts, np.inf)
        nearest = per_cost.argmin(axis=0) if len(fac_xy) else np.full(n_pts, -1)
    elif sparse_costs:  # the nearest from the facilities' own costs: no second search
        cost, nearest = _nearest_of(sparse, n_pts)
    else:
        cost, nearest, _ = index.nearest_sources(src, pts, kind, limit=limit)
    if not per_facility:
        node_cost = index.node_costs(src, kind, limit=limit)
        intervals = [covered_intervals(index, node_cost, kind, limit=limit, sources=src)]
    nearest = np.where(np.isfinite(cost), nearest, -1)
    return ReachResult(
        cost,
        per_cost,
        pts.off_network,
        nearest,
        src.off_network,
        intervals,
        per_facility,
        index=index,
        buffer_meters=buffer_meters,
        sparse_costs=sparse,
    )


def _nearest_of(sparse: list[SparseCost], n: int) -> tuple[FloatArray, IntArray]:
    """The lowest cost per point and the first facility giving it (as argmin would)."""
    cost = np.full(n, np.inf)
    nearest = np.full(n, -1, dtype=np.int64)
    for k, (idx, values) in enumerate(sparse):
        lower = values < cost[idx]
        cost[idx[lower]] = values[lower]
        nearest[idx[lower]] = k
    return cost, nearest


def _straight_line_reach(
    standard: Standard,
    fac_xy: FloatArray,
    pop_xy: FloatArray,
    *,
    per_facility: bool,
    point_matrix: bool = True,
    sparse_costs: bool = False,
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
            np.zeros(0, bool),
            [],
            per_facility,
        )
    if point_matrix:
        per_cost = cdist(fac_xy, pop_xy)
        dist, nearest = per_cost.min(axis=0), per_cost.argmin(axis=0)
    else:  # a k-d tree of the facilities: memory linear in the points
        per_cost = np.full((0, n_pop), np.inf)
        dist, nearest = cKDTree(fac_xy).query(pop_xy, k=1)
    sparse: list[SparseCost] = []
    if sparse_costs:  # straight-line costs are finite everywhere: every point, per facility
        every = np.arange(n_pop)
        sparse = [(every, np.hypot(*(pop_xy - xy).T)) for xy in fac_xy]
    circles = list(shapely.buffer(shapely.points(fac_xy), standard.limit, quad_segs=16))
    return ReachResult(
        dist,
        per_cost,
        np.zeros(n_pop, bool),
        np.where(dist <= standard.limit, nearest, -1).astype(np.int64),
        np.zeros(len(fac_xy), bool),
        [],
        per_facility,
        circles=circles,
        sparse_costs=sparse,
    )
