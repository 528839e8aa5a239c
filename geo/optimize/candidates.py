"""Candidate sites and their reach: network nodes, corridor samples or a planner's file.

:func:`candidates_from_network` (network nodes thinned to a grid),
:func:`candidates_from_corridors` (samples along named roads, by default the plan's 三纵四横
corridors, :func:`plan_corridors`) and :func:`read_candidates` (a CSV/Excel table or points) give
a frame with :data:`CANDIDATE_COLUMNS`. The private helpers after them compute which population
points each candidate reaches on the street network (one Dijkstra per candidate, in chunks).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from geo import boundaries, plan, settings
from geo._errors import InputFileError, SiteSelectionError
from geo._validate import read_table
from geo.coverage import reach_index
from geo.facilities import facilities_from_frame
from geo.network import Network
from geo.optimize.instance import BoolArray
from geo.parameters import DEFAULTS
from geo.reach import DEFAULT_MAX_SNAP_METERS, FloatArray, IntArray, ReachIndex, Snap

__all__ = [
    "CANDIDATE_COLUMNS",
    "DEFAULT_CANDIDATE_SPACING_M",
    "DEFAULT_CORRIDOR_SPACING_M",
    "candidates_from_corridors",
    "candidates_from_network",
    "plan_corridors",
    "read_candidates",
]

#: Default spacing of network-node candidates for new stations (metres, grid thinning).
DEFAULT_CANDIDATE_SPACING_M = DEFAULTS.candidate_spacing_m
#: Default spacing of candidates sampled along the EMS corridors (metres).
DEFAULT_CORRIDOR_SPACING_M = DEFAULTS.corridor_spacing_m

#: Columns of a candidate frame (then geometry, WGS-84 points).
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "candidate_id",
    "lon",
    "lat",
    "subdistrict_code",
    "subdistrict_zh",
    "subdistrict_en",
    "source",
    "on_corridor",
    "road_name",
)

_CHUNK = 64
#: Candidates this close outside the district (rounding on its edge) still count as inside.
_EDGE_METERS = 5.0


def _lonlat_of(xy: FloatArray) -> tuple[FloatArray, FloatArray]:
    gs = gpd.GeoSeries(shapely.points(xy), crs=settings.metric_crs).to_crs(settings.wgs84_crs)
    return gs.x.to_numpy(), gs.y.to_numpy()


def _name_text(value: object) -> str | None:
    if isinstance(value, (list, tuple)):
        parts = [str(v) for v in value if v is not None and str(v) != "nan"]
        return "/".join(parts) or None
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    return str(value)


def _candidate_frame(
    lon: FloatArray,
    lat: FloatArray,
    *,
    source: Sequence[str],
    on_corridor: Sequence[bool],
    road_name: Sequence[str | None],
    subdistricts: gpd.GeoDataFrame | None,
    ids: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Candidates inside the district (points outside every unit are dropped)."""
    sub = boundaries.subdistricts(subdistricts)
    codes = boundaries.assign_subdistricts(lon, lat, sub, max_gap_meters=_EDGE_METERS)
    lookup = sub.set_index("code")
    df = pd.DataFrame(
        {
            "candidate_id": list(ids) if ids is not None else [f"c{i}" for i in range(len(lon))],
            "lon": lon,
            "lat": lat,
            "subdistrict_code": codes,
            "source": list(source),
            "on_corridor": list(on_corridor),
            "road_name": pd.Series(list(road_name), dtype=object),
        }
    )
    df = df[pd.notna(df["subdistrict_code"])].reset_index(drop=True)
    df["subdistrict_zh"] = df["subdistrict_code"].map(lookup["name_zh"])
    df["subdistrict_en"] = df["subdistrict_code"].map(lookup["name_en"])
    return gpd.GeoDataFrame(
        df[list(CANDIDATE_COLUMNS)],
        geometry=gpd.points_from_xy(df["lon"], df["lat"]),
        crs=settings.wgs84_crs,
    )


def _thin_grid(xy: FloatArray, spacing_m: float) -> IntArray:
    """One point per ``spacing_m`` grid cell: the one nearest the cell's centre (deterministic)."""
    cell = np.floor(xy / spacing_m).astype(np.int64)
    dist = np.hypot(*(xy - (cell + 0.5) * spacing_m).T)
    key = (cell[:, 0] - cell[:, 0].min()) * (cell[:, 1].max() - cell[:, 1].min() + 1) + (
        cell[:, 1] - cell[:, 1].min()
    )
    order = np.lexsort((np.arange(len(xy)), dist, key))
    first = np.ones(len(order), bool)
    first[1:] = key[order][1:] != key[order][:-1]
    return np.sort(order[first])


def _check_spacing(spacing_m: float, what: str) -> float:
    if not 10 <= spacing_m <= 5000:
        msg = f"{what}={spacing_m!r} m is out of range: expected 10–5,000 m (e.g. 200)"
        raise SiteSelectionError(msg)
    return float(spacing_m)


def candidates_from_network(
    network: Network,
    *,
    spacing_m: float = DEFAULT_CANDIDATE_SPACING_M,
    subdistricts: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sites: the network's nodes thinned to one per ``spacing_m`` grid cell.

    A walk network's nodes lie on walkable roads, so every candidate can be reached on foot.
    Nodes outside every subdistrict are dropped; each candidate gets its subdistrict and the
    name of a road through it. Columns: :data:`CANDIDATE_COLUMNS`.
    """
    spacing_m = _check_spacing(spacing_m, "candidate_spacing_m")
    index = reach_index(network)
    pick = _thin_grid(index.node_xy, spacing_m)
    lon, lat = _lonlat_of(index.node_xy[pick])
    names = _road_names(index, index.node_xy[pick])
    n = len(pick)
    return _candidate_frame(
        lon,
        lat,
        source=[f"{network.mode} network node"] * n,
        on_corridor=[False] * n,
        road_name=names,
        subdistricts=subdistricts,
        ids=[f"node-{int(i)}" for i in index.node_ids[pick]],
    )


def plan_corridors() -> tuple[tuple[str, ...], ...]:
    """The plan's seven EMS corridors (三纵四横) as groups of OSM road names."""
    found = plan.require("the plan's emergency corridors")
    return (*found.corridors_vertical, *found.corridors_horizontal)


def _corridor_mask(index: ReachIndex, names: Sequence[str]) -> BoolArray:
    wanted = set(names)

    def hit(value: object) -> bool:
        if isinstance(value, (list, tuple)):
            return any(str(v) in wanted for v in value)
        return value is not None and str(value) in wanted

    return np.fromiter((hit(v) for v in index.seg_name), bool, count=len(index.seg_name))


def _sample_lines(geoms: npt.NDArray[np.object_], spacing_m: float) -> FloatArray:
    merged = shapely.line_merge(shapely.union_all(geoms))
    out = []
    for part in shapely.get_parts(merged):
        dist = np.arange(0.0, max(part.length, 1e-9), spacing_m)
        out.append(shapely.get_coordinates(shapely.line_interpolate_point(part, dist)))
    return np.vstack(out) if out else np.zeros((0, 2))


def _thin_min_distance(xy: FloatArray, min_m: float) -> IntArray:
    """Keep points in order, dropping any closer than ``min_m`` to one already kept."""
    tree = cKDTree(xy)
    keep = np.ones(len(xy), bool)
    for i in range(len(xy)):
        if keep[i]:
            near = tree.query_ball_point(xy[i], min_m)
            keep[[j for j in near if j > i]] = False
    return np.flatnonzero(keep)


def candidates_from_corridors(
    network: Network,
    corridors: Sequence[Sequence[str]] | None = None,
    *,
    spacing_m: float = DEFAULT_CORRIDOR_SPACING_M,
    subdistricts: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sites every ``spacing_m`` along named roads (default: the plan's corridors).

    The segments whose name matches one of a corridor's names are merged into lines and sampled
    every ``spacing_m`` metres from each line's start; samples closer than half the spacing to an
    earlier one (the other carriageway of a divided road, a crossing of two corridors) are
    dropped. ``source`` says the corridor (``corridor: 沪闵路/七莘路``).

    Raises
    ------
    SiteSelectionError
        A corridor none of whose names is a road name of the network.
    """
    spacing_m = _check_spacing(spacing_m, "corridor spacing_m")
    index = reach_index(network)
    groups = [tuple(c) for c in (corridors if corridors is not None else plan_corridors())]
    xy_parts, labels = [], []
    on_any = np.zeros(len(index.seg_name), bool)
    for names in groups:
        mask = _corridor_mask(index, names)
        if not mask.any():
            msg = (
                f"corridor {'/'.join(names)!r}: no road of the {network.mode} network has that "
                "name; check the spelling against the road layer's `name` column"
            )
            raise SiteSelectionError(msg)
        on_any |= mask
        xy = _sample_lines(index.seg_geom[mask], spacing_m)
        xy_parts.append(xy)
        labels += [f"corridor: {'/'.join(names)}"] * len(xy)
    xy_all = np.vstack(xy_parts)
    keep = _thin_min_distance(xy_all, spacing_m / 2)
    lon, lat = _lonlat_of(xy_all[keep])
    return _candidate_frame(
        lon,
        lat,
        source=[labels[i] for i in keep],
        on_corridor=[True] * len(keep),
        road_name=_road_names(index, xy_all[keep], among=on_any),
        subdistricts=subdistricts,
        ids=[f"corridor-{i}" for i in range(len(keep))],
    )


def read_candidates(
    path: str | Path,
    *,
    coords_system: str = "wgs84",
    sheet: str | int | None = None,
    subdistricts: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sites from a planner's file: CSV/Excel with lon/lat (经度/纬度), or points.

    Tables are checked row by row like facility lists (coordinate systems wgs84, gcj02, bd09;
    swapped lon/lat and points outside Minhang are errors naming the row); ``name``/``type`` are
    optional. GeoJSON, GeoPackage and shapefiles must hold points in any CRS. An ``id`` column,
    if any, becomes ``candidate_id``.
    """
    path = Path(path)
    if path.suffix.lower() in {".geojson", ".json", ".gpkg", ".shp"}:
        gdf = gpd.read_file(path)
        if gdf.crs is None or not (gdf.geom_type == "Point").all() or gdf.empty:
            kinds = sorted(set(gdf.geom_type))
            msg = f"{path.name}: expected Point geometries with a CRS (got {kinds}, crs {gdf.crs})"
            raise InputFileError(msg)
        pts = gdf.geometry.to_crs(settings.wgs84_crs)
        ids = gdf["id"].astype(str).tolist() if "id" in gdf else None
        lon, lat = pts.x.to_numpy(), pts.y.to_numpy()
    else:
        df = read_table(path, sheet=sheet)
        cols = {c.strip().lower() for c in map(str, df.columns)}
        if not cols & {"name", "名称", "机构名称", "名字"}:
            df["name"] = [f"candidate {i + 2}" for i in range(len(df))]
        if not cols & {"type", "类型", "机构类型", "类别"}:
            df["type"] = "station"
        table = facilities_from_frame(
            df,
            source=path.name,
            coords_system=coords_system,
            strict=True,
            subdistricts=subdistricts,
        )
        lon, lat = table.gdf["lon"].to_numpy(float), table.gdf["lat"].to_numpy(float)
        ids = table.gdf["id"].astype(str).tolist()
    n = len(lon)
    out = _candidate_frame(
        lon,
        lat,
        source=[f"file: {path.name}"] * n,
        on_corridor=[False] * n,
        road_name=[None] * n,
        subdistricts=subdistricts,
        ids=ids,
    )
    if len(out) < n:
        msg = (
            f"{path.name}: {n - len(out)} of {n} candidate points lie outside every subdistrict; "
            "check their coordinates and coordinate system, or remove them"
        )
        raise InputFileError(msg)
    return out


# --- reach of candidates ----------------------------------------------------------------------


def _road_names(
    index: ReachIndex,
    xy: FloatArray,
    *,
    among: BoolArray | None = None,
    max_meters: float = DEFAULT_MAX_SNAP_METERS,
) -> list[str | None]:
    """The name of the nearest named road within ``max_meters`` (of the ``among`` segments)."""
    out: list[str | None] = [None] * len(xy)
    named = np.array([_name_text(v) is not None for v in index.seg_name], bool)
    if among is not None:
        named &= among
    segs = np.flatnonzero(named)
    if len(xy) == 0 or len(segs) == 0:
        return out
    tree = shapely.STRtree(index.seg_geom[segs])
    pi, si = tree.query_nearest(shapely.points(xy), max_distance=max_meters, all_matches=False)
    for i, s in zip(pi.tolist(), segs[si].tolist(), strict=True):
        out[i] = _name_text(index.seg_name[s])
    return out


def _safe_snap(index: ReachIndex, snap: Snap) -> Snap:
    """Move sources that sit on a segment's end onto a segment leading *into* that node.

    A source at a node (position 0 or 1 of its segment) is joined to that node at zero cost
    only if the segment may be travelled towards it; on a one-way segment leaving the node the
    zero-length link would be lost (0 × inf). Any segment entering the node gives the same
    reach, so one is chosen (two-way first).
    """
    at_u = (snap.seg >= 0) & (snap.frac <= 0.0)
    at_v = (snap.seg >= 0) & (snap.frac >= 1.0)
    seg, frac = snap.seg.copy(), snap.frac.copy()
    seg0 = np.maximum(snap.seg, 0)
    fix = np.flatnonzero(
        (at_u & np.isinf(index.bwd["time_s"][seg0])) | (at_v & np.isinf(index.fwd["time_s"][seg0]))
    )
    if len(fix) == 0:
        return snap
    entering = _entering_segments(index)
    for i in fix:
        node = int(index.seg_u[seg[i]] if at_u[i] else index.seg_v[seg[i]])
        if node in entering:
            seg[i], frac[i] = entering[node]
    return Snap(seg, frac, snap.access_m)


def _entering_segments(index: ReachIndex) -> dict[int, tuple[int, float]]:
    """Per node, a segment that can be travelled into it and the node's position on it."""
    out: dict[int, tuple[int, float]] = {}
    fwd_ok, bwd_ok = np.isfinite(index.fwd["time_s"]), np.isfinite(index.bwd["time_s"])
    for s in np.argsort(~(fwd_ok & bwd_ok), kind="stable"):  # two-way segments first
        if bwd_ok[s]:
            out.setdefault(int(index.seg_u[s]), (int(s), 0.0))
        if fwd_ok[s]:
            out.setdefault(int(index.seg_v[s]), (int(s), 1.0))
    return out


def _reach_radius(index: ReachIndex, kind: str, limit: float) -> float:
    """Straight-line distance beyond which nothing can be reached within ``limit``."""
    if kind == "length_m":
        return limit + 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        speeds = np.concatenate(
            [
                index.seg_len / index.fwd[kind],
                index.seg_len / index.bwd[kind],
                [1.0 / index.access_cost_per_m[kind]],
            ]
        )
    vmax = float(np.nanmax(speeds[np.isfinite(speeds)]))
    return limit * vmax * 1.001 + 1.0


def _cover_matrix(
    index: ReachIndex,
    src: Snap,
    src_xy: FloatArray,
    pts: Snap,
    pts_xy: FloatArray,
    *,
    kind: str,
    limit: float,
) -> sp.csr_matrix:
    """Sources × points, True where the point is reached within ``limit`` (one Dijkstra each)."""
    n_src, n_pts = len(src.seg), len(pts.seg)
    on = np.flatnonzero(~pts.off_network)
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    if len(on) and n_src:
        dist, _ = cKDTree(pts_xy[on]).query(src_xy, k=1)
        near = np.flatnonzero((dist <= _reach_radius(index, kind, limit)) & (src.seg >= 0))
        with np.errstate(invalid="ignore"):  # 0 × inf in reach.py for points on segment ends
            for lo in range(0, len(near), _CHUNK):
                chunk = near[lo : lo + _CHUNK]
                node_cost = index.node_costs(src.take(chunk), kind, limit=limit, min_only=False)
                for r, j in enumerate(chunk):
                    cost = index.point_costs(node_cost[r], pts, kind, sources=src.take([j]))
                    hit = np.flatnonzero(cost <= limit)
                    rows.append(np.full(len(hit), j, np.int64))
                    cols.append(hit)
    r_all = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c_all = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    data = np.ones(len(r_all), bool)
    return sp.csr_matrix((data, (r_all, c_all)), shape=(n_src, n_pts))


def _straight_matrix(src_xy: FloatArray, pts_xy: FloatArray, limit: float) -> sp.csr_matrix:
    return (
        sp.csr_matrix(cdist(src_xy, pts_xy) <= limit)
        if len(src_xy)
        else sp.csr_matrix((0, len(pts_xy)), dtype=bool)
    )
