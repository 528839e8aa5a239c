"""District and subdistrict (街镇) boundaries: load, look up by code or name, assign points.

The pack's 14 units carry ``boundary_status``: ``surveyed`` or ``approximate`` (the
浦江镇/浦锦街道 split).
Neighbouring polygons overlap slightly (~1 km² in total), so :func:`assign_subdistricts` resolves a
point inside two polygons deterministically: the unit the point lies deepest inside wins (ties: the
lower code).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio
import pyproj
import shapely

from geo import _io, settings
from geo._errors import InputFileError, UnknownSubdistrictError

__all__ = [
    "DEFAULT_MAX_GAP_METERS",
    "DISTRICT_FILE",
    "SUBDISTRICTS_FILE",
    "SUBDISTRICT_COLUMNS",
    "add_subdistrict",
    "assign_subdistricts",
    "data_folder_key",
    "find_subdistrict",
    "load_district",
    "load_subdistricts",
    "subdistricts",
]

logger = logging.getLogger(__name__)

SUBDISTRICT_COLUMNS = ["code", "name_zh", "name_en", "boundary_status"]

#: The data folder's files read here (relative paths; plain or ``.gz``).
DISTRICT_FILE = "boundaries/district.geojson"
SUBDISTRICTS_FILE = "boundaries/subdistricts.geojson"

#: Points outside every polygon but within this distance of one are given the nearest unit
#: (the pack's polygons leave slivers along shared edges and the river).
DEFAULT_MAX_GAP_METERS = 500.0


def load_district(path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Load the district outline (one row, EPSG:4326) from ``boundaries/district.geojson``."""
    gdf = _read_polygons(path or settings.data_file(DISTRICT_FILE))
    if len(gdf) != 1:
        gdf = gpd.GeoDataFrame(
            {"name_zh": ["闵行区"]}, geometry=[shapely.union_all(gdf.geometry.values)], crs=gdf.crs
        )
    return gdf


def load_subdistricts(path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Load the subdistricts (街镇) sorted by code, with ``area_km2`` measured in UTM 51N.

    Columns: ``code``, ``name_zh``, ``name_en``, ``boundary_status``, ``area_km2``, ``geometry``.
    """
    src = Path(path) if path is not None else settings.data_file(SUBDISTRICTS_FILE)
    gdf = _read_polygons(src)
    missing = [c for c in ("code", "name_zh", "name_en") if c not in gdf.columns]
    if missing:
        msg = (
            f"{src}: subdistrict boundaries need columns code, name_zh, name_en "
            f"(missing {missing}; present: {[c for c in gdf.columns if c != 'geometry']})"
        )
        raise InputFileError(msg)
    if "boundary_status" not in gdf.columns:
        gdf["boundary_status"] = "unknown"
    gdf["code"] = gdf["code"].astype(str)
    gdf["boundary_status"] = gdf["boundary_status"].fillna("unknown").astype(str)
    gdf = gdf[[*SUBDISTRICT_COLUMNS, "geometry"]].sort_values("code").reset_index(drop=True)
    dup = gdf["code"][gdf["code"].duplicated()].tolist()
    if dup:
        msg = f"{src}: duplicate subdistrict codes {dup}; each unit must appear once"
        raise InputFileError(msg)
    gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
    gdf.insert(4, "area_km2", gdf.geometry.to_crs(settings.metric_crs).area / 1e6)
    logger.info("loaded %d subdistricts from %s", len(gdf), src)
    return gdf


def _read_polygons(path: str | Path) -> gpd.GeoDataFrame:
    path = Path(path)
    try:
        gdf = pyogrio.read_dataframe(_io.vector_source(path))
    except Exception as exc:  # pyogrio raises several types; re-raise with the file named
        msg = f"cannot read boundary file {path}: {exc}"
        raise InputFileError(msg) from exc
    if gdf.empty:
        msg = f"boundary file {path} holds no features"
        raise InputFileError(msg)
    if gdf.crs is None:
        msg = f"boundary file {path} has no CRS; save it with one (EPSG:4326 expected)"
        raise InputFileError(msg)
    kinds = set(gdf.geom_type.dropna())
    if not kinds <= {"Polygon", "MultiPolygon"}:
        msg = f"boundary file {path} must hold polygons, found {sorted(kinds)}"
        raise InputFileError(msg)
    return gdf.to_crs(settings.wgs84_crs)


def data_folder_key(relative: str) -> tuple[str, int, int]:
    """A cache key for a data-folder file: its resolved path, size and modification time.

    In-process caches of data derived from the data folder are keyed by it, so a change of data
    folder (``--data``, ``GEO_DATA_DIR``) or of the file itself is never served stale.
    """
    path = settings.data_file(relative).resolve()
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns


@lru_cache(maxsize=4)
def _default_subdistricts(key: tuple[str, int, int]) -> gpd.GeoDataFrame:
    return load_subdistricts(key[0])


def subdistricts(gdf: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Return ``gdf`` or, if None, the data folder's subdistricts (loaded once per data folder)."""
    if gdf is not None:
        return gdf
    return _default_subdistricts(data_folder_key(SUBDISTRICTS_FILE))


def _normalise_name(text: str) -> str:
    return "".join(str(text).split()).lower()


_SUFFIXES_ZH = ("街道", "镇", "工业区")
_SUFFIXES_EN = ("subdistrict", "town", "industrialzone")


def find_subdistrict(query: str | int, gdf: gpd.GeoDataFrame | None = None) -> pd.Series:
    """Look a subdistrict up by code, Chinese or English name (short forms: 七宝, Qibao).

    Raises
    ------
    UnknownSubdistrictError
        If nothing matches; the message lists every valid unit.
    """
    gdf = subdistricts(gdf)
    key = _normalise_name(str(query))
    for col in ("code", "name_zh", "name_en"):
        hit = gdf[gdf[col].map(_normalise_name) == key]
        if len(hit) == 1:
            found: pd.Series = hit.iloc[0]
            return found
    short = gdf[
        (gdf["name_zh"].map(_strip_suffix) == key) | (gdf["name_en"].map(_strip_suffix) == key)
    ]
    if len(short) == 1:
        unit: pd.Series = short.iloc[0]
        return unit
    valid = "; ".join(f"{r.code} {r.name_zh} ({r.name_en})" for r in gdf.itertuples())
    msg = f"unknown subdistrict {query!r}; valid units are: {valid}"
    raise UnknownSubdistrictError(msg)


def _strip_suffix(name: str) -> str:
    text = _normalise_name(name)
    for suffix in (*_SUFFIXES_ZH, *_SUFFIXES_EN):
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def assign_subdistricts(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    gdf: gpd.GeoDataFrame | None = None,
    *,
    max_gap_meters: float = DEFAULT_MAX_GAP_METERS,
) -> npt.NDArray[np.object_]:
    """Return the subdistrict code of each (lon, lat) point; ``None`` outside every unit.

    Deterministic where polygons overlap: the unit whose boundary is farthest from the point wins
    (the point lies deepest inside it); ties go to the lower code. A point inside no polygon but
    within ``max_gap_meters`` of one gets the nearest unit.
    """
    gdf = subdistricts(gdf)
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, float), np.asarray(lat, float))
    x, y = (np.asarray(v, float) for v in _to_metric().transform(lon_a.ravel(), lat_a.ravel()))
    polys_m = gdf.geometry.to_crs(settings.metric_crs).values
    codes = gdf["code"].to_numpy()
    out = np.full(len(x), None, dtype=object)
    if len(x) == 0:
        return out.reshape(lon_a.shape)
    # each (prepared) unit tests the coordinates inside its bounding box: no point objects
    # (1M points: ~0.5 s, against ~2 s for a tree of points)
    found_p, found_g = [], []
    for g, poly in enumerate(polys_m):
        if poly is None or poly.is_empty:
            continue
        bx0, by0, bx1, by1 = poly.bounds
        cand = np.flatnonzero((x >= bx0) & (x <= bx1) & (y >= by0) & (y <= by1))
        shapely.prepare(poly)
        hit = cand[shapely.intersects_xy(poly, x[cand], y[cand])]
        found_p.append(hit)
        found_g.append(np.full(len(hit), g))
    pi = np.concatenate(found_p) if found_p else np.zeros(0, np.int64)
    gi = np.concatenate(found_g) if found_g else np.zeros(0, np.int64)
    depth = np.zeros(len(pi))
    shared = np.bincount(pi, minlength=len(x))[pi] > 1  # points inside two or more units
    if shared.any():
        edges = shapely.boundary(polys_m)
        depth[shared] = shapely.distance(
            shapely.points(x[pi[shared]], y[pi[shared]]), edges[gi[shared]]
        )
    # order by point, then deepest first, then lowest code; keep the first per point
    order = np.lexsort((codes[gi], -depth, pi))
    pi, gi = pi[order], gi[order]
    first = np.ones(len(pi), bool)
    first[1:] = pi[1:] != pi[:-1]
    out[pi[first]] = codes[gi[first]]
    rest = np.flatnonzero(pd.isna(out) & np.isfinite(x) & np.isfinite(y))
    if len(rest) and max_gap_meters > 0:
        tree = shapely.STRtree(polys_m)
        ri, gj = tree.query_nearest(
            shapely.points(x[rest], y[rest]), max_distance=max_gap_meters, all_matches=False
        )
        out[rest[ri]] = codes[gj]
    return out.reshape(lon_a.shape)


@lru_cache(maxsize=1)
def _to_metric() -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(settings.wgs84_crs, settings.metric_crs, always_xy=True)


def add_subdistrict(
    gdf_points: gpd.GeoDataFrame,
    gdf_subdistricts: gpd.GeoDataFrame | None = None,
    *,
    max_gap_meters: float = DEFAULT_MAX_GAP_METERS,
    codes: npt.ArrayLike | None = None,
) -> gpd.GeoDataFrame:
    """Add subdistrict_code, _zh, _en and boundary_status columns to the points (mutates).

    ``codes``: the points' codes when :func:`assign_subdistricts` already gave them.
    """
    sub = subdistricts(gdf_subdistricts)
    if codes is None:
        pts = gdf_points.geometry.to_crs(settings.wgs84_crs)
        codes = assign_subdistricts(
            pts.x.to_numpy(), pts.y.to_numpy(), sub, max_gap_meters=max_gap_meters
        )
    lookup = sub.set_index("code")
    code_s = pd.Series(np.asarray(codes, dtype=object), index=gdf_points.index, dtype=object)
    gdf_points["subdistrict_code"] = code_s
    gdf_points["subdistrict_zh"] = code_s.map(lookup["name_zh"])
    gdf_points["subdistrict_en"] = code_s.map(lookup["name_en"])
    gdf_points["boundary_status"] = code_s.map(lookup["boundary_status"])
    return gdf_points
