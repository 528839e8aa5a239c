"""Options and checks of a build, and the input adapter: files, columns, classes, CRS, dates."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely

from geo import _io, settings
from geo._errors import InputFileError, NetworkError
from geo._types import JSONValue
from geo.network.model import (
    _FALSE_WORDS,
    _ID,
    _OSM_ONEWAY,
    DEFAULT_DETOUR_FACTOR,
    DEFAULT_DETOUR_GAP_METERS,
    DEFAULT_GAP_TOLERANCE_METERS,
    DEFAULT_MIN_DETOUR_METERS,
    DEFAULT_MIN_ISLAND_METERS,
    DEFAULT_SNAP_TOLERANCE_METERS,
    DRIVE_EXCLUDED_CLASSES,
    DRIVE_SPEEDS_KMH,
    GRADE_SEPARATED,
    MODES,
    WALK_EXCLUDED_CLASSES,
    _Lines,
    road_class,
)
from geo.parameters import DEFAULTS

__all__ = ["BuildOptions"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildOptions:
    """Options of a network built from a file (:func:`~geo.network.network_from_file`,
    :func:`~geo.network.load_network`), typed and checked in one place.

    Speeds and ``min_island_meters`` apply to every source. The column names and the repair
    options apply to road centre-lines only; ``simplify`` to OSM data only. Asking for a
    centre-line option on an OSM file is an error that names the option, not a silent no-op.
    """

    walk_speed_kmh: float | None = None  # None: DEFAULTS.walk_speed_kmh
    drive_speeds_kmh: Mapping[str, float] | None = None  # None: DRIVE_SPEEDS_KMH
    congestion_factor: float = DEFAULTS.congestion_factor
    min_island_meters: float = DEFAULT_MIN_ISLAND_METERS
    source: str | None = None  # label printed in every output (default: the file's name)
    source_date: str | None = None  # default: read from the file, else its modification date
    # centre-lines only
    road_class_column: str = "highway"
    name_column: str | None = "name"
    oneway_column: str | None = None
    foot_column: str | None = None
    grade_separated: tuple[str, ...] = GRADE_SEPARATED
    gap_tolerance_meters: float = DEFAULT_GAP_TOLERANCE_METERS
    detour_repair: bool = True
    detour_gap_meters: float = DEFAULT_DETOUR_GAP_METERS
    detour_factor: float = DEFAULT_DETOUR_FACTOR
    min_detour_meters: float = DEFAULT_MIN_DETOUR_METERS
    snap_tolerance_meters: float = DEFAULT_SNAP_TOLERANCE_METERS
    # OSM data only
    simplify: bool = True

    #: The fields that apply to centre-lines only, and to OSM data only.
    LINES_ONLY = (
        "road_class_column",
        "name_column",
        "oneway_column",
        "foot_column",
        "grade_separated",
        "gap_tolerance_meters",
        "detour_repair",
        "detour_gap_meters",
        "detour_factor",
        "min_detour_meters",
        "snap_tolerance_meters",
    )
    OSM_ONLY = ("simplify",)

    def changed(self) -> dict[str, object]:
        """The fields that differ from their defaults."""
        default = BuildOptions()
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        }

    def refuse(self, names: tuple[str, ...], *, path: Path, kind: str) -> None:
        """Raise if any of ``names`` was set: they do not apply to this kind of file."""
        set_here = sorted(set(self.changed()) & set(names))
        if set_here:
            msg = (
                f"{path.name}: {', '.join(set_here)} apply only to "
                f"{'centre-line layers' if kind == 'OSM data' else 'OSM data'}, not to {kind}; "
                "leave them out for this file"
            )
            raise NetworkError(msg)

    def cache_params(self, mode: str) -> dict[str, JSONValue]:
        """The options a built network depends on, defaults resolved (for the cache key)."""
        out: dict[str, Any] = dataclasses.asdict(self)
        out["grade_separated"] = sorted(self.grade_separated)
        out["drive_speeds_kmh"] = dict(self.drive_speeds_kmh or {})
        unused = (
            ("walk_speed_kmh",) if mode == "drive" else ("drive_speeds_kmh", "congestion_factor")
        )
        for name in unused:  # a speed of the other mode does not change this network
            out.pop(name)
        return _resolved_params(mode, out)


# ---------------------------------------------------------------------------------------------
# Options and parameter checks
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Columns:
    road_class: str
    name: str | None
    oneway: str | None
    foot: str | None


@dataclass(frozen=True)
class _DetourOptions:
    repair: bool
    gap_meters: float
    factor: float
    min_detour_meters: float


@dataclass(frozen=True)
class _LineOptions:
    mode: str
    grade_separated: tuple[str, ...]
    gap_tolerance_meters: float
    min_island_meters: float
    snap_tolerance_meters: float
    walk_speed_kmh: float
    drive_speeds_kmh: dict[str, float]
    congestion_factor: float
    detour: _DetourOptions

    def params(self) -> dict[str, Any]:
        """Return the parameters as the report shows them."""
        out: dict[str, Any] = {
            "snap_tolerance_meters": self.snap_tolerance_meters,
            "gap_tolerance_meters": self.gap_tolerance_meters,
            "detour_repair": self.detour.repair,
            "detour_gap_meters": self.detour.gap_meters,
            "detour_factor": self.detour.factor,
            "min_detour_meters": self.detour.min_detour_meters,
            "min_island_meters": self.min_island_meters,
            "grade_separated": list(self.grade_separated),
        }
        return out | _speed_params(
            self.mode, self.walk_speed_kmh, self.drive_speeds_kmh, self.congestion_factor
        )


@dataclass(frozen=True)
class _OsmOptions:
    mode: str
    min_island_meters: float
    walk_speed_kmh: float
    drive_speeds_kmh: dict[str, float]
    congestion_factor: float
    simplify: bool

    def params(self) -> dict[str, Any]:
        """Return the parameters as the report shows them."""
        out: dict[str, Any] = {
            "min_island_meters": self.min_island_meters,
            "simplify": self.simplify,
        }
        return out | _speed_params(
            self.mode, self.walk_speed_kmh, self.drive_speeds_kmh, self.congestion_factor
        )


def _speed_params(
    mode: str, walk_kmh: float, drive_kmh: Mapping[str, float], congestion: float
) -> dict[str, Any]:
    if mode == "walk":
        return {"walk_speed_kmh": walk_kmh}
    return {"drive_speeds_kmh": dict(drive_kmh), "congestion_factor": congestion}


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        msg = f"mode={mode!r}: expected one of {', '.join(map(repr, MODES))}"
        raise NetworkError(msg)


def _check_meters(name: str, value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        msg = f"{name}={value!r}: expected a distance in metres >= 0"
        raise NetworkError(msg)
    return float(value)


def _detour_options(repair: bool, gap: float, factor: float, min_detour: float) -> _DetourOptions:
    if not isinstance(repair, bool):
        msg = f"detour_repair={repair!r}: expected True or False"
        raise NetworkError(msg)
    if not (isinstance(factor, int | float) and math.isfinite(factor) and factor >= 1):
        msg = (
            f"detour_factor={factor!r}: expected a number >= 1 (the network detour, in multiples "
            "of the gap, above which a gap is closed; default 5)"
        )
        raise NetworkError(msg)
    return _DetourOptions(
        repair=repair,
        gap_meters=_check_meters("detour_gap_meters", gap),
        factor=float(factor),
        min_detour_meters=_check_meters("min_detour_meters", min_detour),
    )


def _check_congestion(value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        msg = (
            f"congestion_factor={value!r}: expected a number > 0 (1 = free flow, 1.5 = 50% slower)"
        )
        raise NetworkError(msg)
    return float(value)


def _resolve_walk_speed(walk_speed_kmh: float | None) -> float:
    speed = DEFAULTS.walk_speed_kmh if walk_speed_kmh is None else walk_speed_kmh
    if not (isinstance(speed, int | float) and math.isfinite(speed) and speed > 0):
        msg = f"walk_speed_kmh={speed!r}: expected a speed in km/h > 0 (default 4)"
        raise NetworkError(msg)
    return float(speed)


def _resolve_drive_speeds(drive_speeds_kmh: Mapping[str, float] | None) -> dict[str, float]:
    speeds = dict(DRIVE_SPEEDS_KMH) | dict(drive_speeds_kmh or {})
    bad = {k: v for k, v in speeds.items() if not (isinstance(v, int | float) and v > 0)}
    if bad:
        msg = f"drive_speeds_kmh: speeds must be numbers > 0 km/h; got {bad}"
        raise NetworkError(msg)
    return {str(k): float(v) for k, v in speeds.items()}


def _resolved_params(mode: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``params`` with the defaults read from settings made explicit (for cache keys)."""
    out = dict(params) | {"metric_crs": settings.metric_crs}
    if mode == "walk" and out.get("walk_speed_kmh") is None:
        out["walk_speed_kmh"] = DEFAULTS.walk_speed_kmh
    if mode == "drive":
        out["drive_speeds_kmh"] = _resolve_drive_speeds(out.get("drive_speeds_kmh"))
        if out.get("congestion_factor") is None:  # the CLI and scenarios then share one key
            out["congestion_factor"] = DEFAULTS.congestion_factor
    return out


# ---------------------------------------------------------------------------------------------
# Input checks (GeoDataFrame adapter)
# ---------------------------------------------------------------------------------------------


def _existing_file(path: str | os.PathLike[str]) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        msg = f"road file not found: {p} (resolved to {p.resolve()})"
        raise InputFileError(msg)
    return p


def _read_lines_file(path: Path) -> gpd.GeoDataFrame:
    if path.stat().st_size == 0:
        msg = f"{path}: the file is empty (0 bytes); expected road centre-lines"
        raise InputFileError(msg)
    try:
        with warnings.catch_warnings():
            # NaN coordinates warn while the geometry is decoded; _checked_lines refuses them
            warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
            return gpd.read_file(_io.vector_source(path))
    except (RuntimeError, ValueError, OSError) as err:  # pyogrio's errors are RuntimeErrors
        msg = f"{path}: cannot be read as a vector layer ({type(err).__name__}: {err})"
        raise InputFileError(msg) from err


def _checked_lines(gdf: object, columns: _Columns, source: str) -> gpd.GeoDataFrame:
    """Return the layer as lon/lat LineStrings with the needed columns, or raise a clear error."""
    if not isinstance(gdf, pd.DataFrame):
        msg = f"{source}: expected a GeoDataFrame of road lines, got {type(gdf).__name__}"
        raise InputFileError(msg)
    present = [str(c) for c in gdf.columns]
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf._geometry_column_name not in gdf.columns:
        msg = (
            f"{source}: no geometry column (columns present: {', '.join(present) or 'none'}); "
            "expected road lines, e.g. geopandas.GeoDataFrame(df, geometry='geometry', "
            "crs='EPSG:4326')"
        )
        raise InputFileError(msg)
    if len(gdf) == 0:
        msg = f"{source}: no features; expected road centre-lines"
        raise InputFileError(msg)
    coords, index = shapely.get_coordinates(gdf.geometry.values, return_index=True)
    bad = np.unique(index[~np.isfinite(coords).all(axis=1)])
    if len(bad):
        rows = ", ".join(str(i + 1) for i in bad[:10]) + (" ..." if len(bad) > 10 else "")
        msg = (
            f"{source}: {len(bad)} road line(s) have NaN or infinite coordinates (features "
            f"{rows}); remove or fix them"
        )
        raise InputFileError(msg)
    _check_columns(gdf, columns, source)
    ident = gdf["osmid"] if "osmid" in gdf.columns else pd.Series(range(len(gdf)), index=gdf.index)
    gdf = gdf.assign(**{_ID: ident.to_numpy()})
    gdf = _only_lines(gdf, source)
    return _to_wgs84(gdf, source)


def _check_columns(gdf: gpd.GeoDataFrame, columns: _Columns, source: str) -> None:
    present = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    wanted = {
        "road_class_column": columns.road_class,
        "name_column": columns.name,
        "oneway_column": columns.oneway,
        "foot_column": columns.foot,
    }
    for option, column in wanted.items():
        if column is not None and column not in gdf.columns:
            hint = " or pass name_column=None" if option == "name_column" else ""
            msg = (
                f"{source}: no column {column!r} for {option}; columns present: "
                f"{', '.join(present) or 'none'}. Pass {option}=<one of them>{hint}."
            )
            raise InputFileError(msg)


def _only_lines(gdf: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    geom = gdf.geometry
    missing = geom.isna() | geom.is_empty
    if missing.all():
        msg = f"{source}: all {len(gdf)} geometries are empty; expected road lines"
        raise InputFileError(msg)
    if missing.any():
        log.info("%s: ignored %d rows without geometry", source, int(missing.sum()))
        gdf = gdf[~missing.to_numpy()]
    types = gdf.geom_type
    wrong = ~types.isin(["LineString", "MultiLineString"])
    if wrong.any():
        counts = types[wrong].value_counts().to_dict()
        rows = [int(i) for i in np.flatnonzero(wrong.to_numpy())[:5]]
        msg = (
            f"{source}: expected LineString or MultiLineString road centre-lines, found "
            f"{counts} (first rows {rows}); keep only the road lines, e.g. "
            "gdf[gdf.geom_type.isin(['LineString', 'MultiLineString'])]"
        )
        raise InputFileError(msg)
    return gdf.explode(index_parts=False, ignore_index=True)


def _to_wgs84(gdf: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    """Return ``gdf`` in EPSG:4326, reprojecting a known CRS; raise if it is missing or unusable."""
    minx, miny, maxx, maxy = (float(b) for b in gdf.total_bounds)
    looks_lonlat = -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
    extent = f"x {_fmt(minx)}..{_fmt(maxx)}, y {_fmt(miny)}..{_fmt(maxy)}"
    crs = gdf.crs
    if crs is None:
        if looks_lonlat:
            hint = "if they are lon/lat, set it with gdf.set_crs('EPSG:4326')"
        else:
            hint = (
                "they are not lon/lat, so the layer is in a projected CRS: reproject it to "
                "EPSG:4326, or declare its CRS with gdf.set_crs(...) and it is reprojected for you"
            )
        msg = f"{source}: the layer has no CRS and its coordinates span {extent}; {hint}"
        raise InputFileError(msg)
    name = crs.to_string()
    if crs.is_geographic and not looks_lonlat:
        msg = (
            f"{source}: the CRS says {name} (lon/lat) but the coordinates span {extent}, so "
            "they are in a projected CRS; reproject the file to EPSG:4326, or declare its "
            "real CRS (gdf.set_crs(..., allow_override=True)) and it is reprojected for you"
        )
        raise InputFileError(msg)
    if crs.equals(pyproj.CRS.from_user_input(settings.wgs84_crs)):
        return gdf
    try:
        out = gdf.to_crs(settings.wgs84_crs)
    except (pyproj.exceptions.ProjError, pyproj.exceptions.CRSError) as err:
        msg = (
            f"{source}: cannot transform the layer's CRS {name} to EPSG:4326 ({err}); "
            "reproject the file to EPSG:4326 (lon/lat)"
        )
        raise InputFileError(msg) from err
    if not np.isfinite(out.total_bounds).all():
        msg = (
            f"{source}: transforming the layer's CRS {name} to EPSG:4326 gave no finite "
            "coordinates; reproject the file to EPSG:4326 (lon/lat)"
        )
        raise InputFileError(msg)
    log.info("%s: reprojected %d lines from %s to EPSG:4326", source, len(out), name)
    return out


def _fmt(value: float) -> str:
    """A coordinate for a message: metres to 0.01, degrees to 1e-5."""
    return f"{value:,.2f}" if abs(value) >= 1000 else f"{value:.5f}"


def _text_column(gdf: gpd.GeoDataFrame, column: str | None) -> npt.NDArray[np.object_]:
    if column is None:
        return np.full(len(gdf), None, dtype=object)
    texts = [None if _missing(v) else str(v).strip() for v in gdf[column].tolist()]
    return np.asarray([t or None for t in texts], dtype=object)


def _plain(value: object) -> object:
    """A numpy scalar as a Python one (ints stay ints, so osmnx compares ids as it expects)."""
    return value.item() if isinstance(value, np.generic) else value


def _missing(value: object) -> bool:
    """Whether a cell is empty (None, NaN, NA)."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _oneway_direction(gdf: gpd.GeoDataFrame, column: str | None) -> npt.NDArray[np.int8]:
    if column is None:
        return np.zeros(len(gdf), dtype=np.int8)
    words = _text_column(gdf, column)
    return np.asarray([_OSM_ONEWAY.get(str(w).lower(), 0) for w in words], dtype=np.int8)


#: Road classes of Chinese planning layers (GB 50220 / CJJ 37, GB 50180) and common English
#: equivalents → the OSM class used for speeds, walkability and grade separation. Anything else
#: is kept as written (OSM classes pass through).


def _select_lines(
    gdf: gpd.GeoDataFrame, columns: _Columns, options: _LineOptions, source: str
) -> _Lines:
    """Keep the lines the mode may use, with their attributes, projected to metres."""
    classes = np.asarray(
        [road_class(c) for c in _text_column(gdf, columns.road_class)], dtype=object
    )
    if options.mode == "walk":
        keep = ~np.isin(classes, list(WALK_EXCLUDED_CLASSES))
        if columns.foot is not None:
            foot = _text_column(gdf, columns.foot)
            keep &= ~np.isin([str(f).lower() for f in foot], list(_FALSE_WORDS))
    else:
        keep = ~np.isin(classes, list(DRIVE_EXCLUDED_CLASSES))
        _check_drive_classes(classes[keep], options.drive_speeds_kmh, source)
    if not keep.any():
        found = ", ".join(sorted(set(classes)))
        msg = f"{source}: no {options.mode} roads among the road classes found ({found})"
        raise NetworkError(msg)
    if options.mode == "walk":
        speed = np.full(len(gdf), options.walk_speed_kmh)
        direction = np.zeros(len(gdf), np.int8)  # pedestrians walk both ways
    else:
        speeds = options.drive_speeds_kmh
        speed = np.asarray([speeds.get(c, math.nan) for c in classes]) / options.congestion_factor
        direction = _oneway_direction(gdf, columns.oneway)
    grade = set(options.grade_separated)
    lines = _Lines(
        geom=gdf.geometry.to_crs(settings.metric_crs).to_numpy(),
        road_class=classes,
        name=_text_column(gdf, columns.name),
        direction=direction,
        speed_kmh=speed,
        grade_separated=np.isin(classes, list(grade)),
        ramp=np.isin(classes, [f"{c}_link" for c in grade]),
        ident=np.asarray([_plain(i) for i in gdf[_ID].tolist()], dtype=object),
    )
    log.info("%s: %d of %d lines are %s roads", source, int(keep.sum()), len(gdf), options.mode)
    return lines.take(keep)


def _check_drive_classes(
    classes: npt.NDArray[np.object_], speeds: Mapping[str, float], source: str
) -> None:
    unknown = pd.Series(classes[~np.isin(classes, list(speeds))]).value_counts()
    if len(unknown):
        found = ", ".join(f"{k!r} ({v} lines)" for k, v in unknown.head(10).items())
        msg = (
            f"{source}: no drive speed for road classes {found}; pass drive_speeds_kmh="
            "{class: km/h} for them, or rename them to OSM classes "
            f"({', '.join(DRIVE_SPEEDS_KMH)}) or Chinese planning classes "
            "(快速路, 主干路, 次干路, 支路, ...)"
        )
        raise NetworkError(msg)


# ---------------------------------------------------------------------------------------------
# Source dates
# ---------------------------------------------------------------------------------------------


def _mtime_date(path: Path) -> str:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC).date().isoformat()


def _head(path: Path, size: int = 65536) -> str:
    return _io.read_head(path, size)


def _lines_file_date(path: Path) -> str:
    """The ``osmTimestamp`` of an Overpass-derived GeoJSON, else the file's mtime (UTC date)."""
    if _io.plain_suffix(path) in (".geojson", ".json"):
        found = re.search(r'"osmTimestamp"\s*:\s*"(\d{4}-\d{2}-\d{2})', _head(path))
        if found:
            return found.group(1)
    return _mtime_date(path)


def _osm_file_date(path: Path) -> str:
    """The ``osm_base`` date of an Overpass XML file, else the file's mtime (UTC date)."""
    found = re.search(r'osm_base="(\d{4}-\d{2}-\d{2})', _head(path))
    if found:
        return found.group(1)
    return _mtime_date(path)
