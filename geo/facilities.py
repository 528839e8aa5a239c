"""Facility lists: types, CSV/Excel readers with row-level checks, and the pack's OSM facilities.

Coordinates are WGS-84 inside. A file (or a ``坐标系``/``crs`` column, per row) may declare GCJ-02
(AMap, Tencent) or BD-09 (Baidu); those rows are converted on reading and the count is reported.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from geo import _facility_checks as _checks
from geo import boundaries, coords, settings
from geo._errors import InputFileError, RowProblem
from geo._validate import (
    coord_system,
    match_columns,
    normalise_key,
    raise_if_problems,
    read_table,
    read_upload,
)

__all__ = [
    "BASIC_LEVEL_TYPES",
    "DEFAULT_MERGE_METERS",
    "FACILITY_COLUMNS",
    "FACILITY_TYPES",
    "FIELD_ALIASES",
    "MAX_FACILITY_ROWS",
    "OSM_COLUMNS",
    "PACK_FACILITY_SOURCE",
    "STATUSES",
    "FacilityTable",
    "FacilityType",
    "classify_osm",
    "facilities_from_frame",
    "facilities_from_osm_table",
    "facilities_from_pack",
    "facilities_from_upload",
    "is_osm_table",
    "load_facilities",
    "merge_duplicates",
    "parse_type",
    "possible_duplicates",
    "read_facilities",
    "similar_names",
    "type_names",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FacilityType:
    """One facility type: code, Chinese and English names, accepted spellings."""

    code: str
    name_zh: str
    name_en: str
    aliases: tuple[str, ...] = ()


FACILITY_TYPES: dict[str, FacilityType] = {
    t.code: t
    for t in (
        FacilityType(
            "chc",
            "社区卫生服务中心",
            "community health service centre",
            (
                "社区卫生中心",
                "卫生服务中心",
                "community health centre",
                "community health center",
                "community health service center",
                "centre",
            ),
        ),
        FacilityType(
            "branch",
            "社区卫生服务分中心",
            "branch centre",
            ("分中心", "branch center", "branch", "chc_branch"),
        ),
        FacilityType(
            "station",
            "社区卫生服务站",
            "service station",
            ("卫生服务站", "服务站", "health station", "chc_station"),
        ),
        FacilityType("village_clinic", "村卫生室", "village clinic", ("卫生室",)),
        FacilityType("hospital", "医院", "hospital", ("综合医院", "专科医院")),
        FacilityType(
            "emergency_department",
            "急诊部",
            "emergency department",
            ("急诊", "急诊科", "emergency", "a&e"),
        ),
        FacilityType(
            "ambulance_substation",
            "急救分站",
            "ambulance substation",
            ("急救站", "120急救分站", "ambulance station", "ambulance", "ems station"),
        ),
        FacilityType(
            "clinic",
            "门诊部/诊所",
            "clinic (outpatient, other)",
            ("门诊部", "诊所", "门诊", "doctors", "outpatient clinic"),
        ),
        FacilityType(
            "non_clinical",
            "非诊疗场所",
            "non-clinical site (office, blood station)",
            ("非诊疗", "行政办公", "office", "non-clinical"),
        ),
    )
}

#: Most rows a facility list may hold (checked column-wise: about 8 s per million rows).
MAX_FACILITY_ROWS = 1_000_000

#: Basic-level (基层) community health facilities: the ones the 15-minute walk circle counts.
BASIC_LEVEL_TYPES: tuple[str, ...] = ("chc", "branch", "station", "village_clinic")

STATUSES: dict[str, tuple[str, ...]] = {
    "existing": ("现有", "已建", "运营", "在用", "open", "operating", "built"),
    "planned": ("规划", "拟建", "新建", "proposed", "plan"),
    "under_construction": ("在建", "建设中", "under construction", "construction"),
    "closed": ("关闭", "停用", "removed"),
}

#: Canonical field → accepted headers (compared lower-case without spaces, hyphens, underscores).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("编号", "机构编号", "代码", "facility_id", "fid"),
    "name": ("名称", "机构名称", "名字", "facility", "facility_name"),
    "type": ("类型", "机构类型", "类别", "category", "kind"),
    "lon": ("经度", "longitude", "lng", "long", "x"),
    "lat": ("纬度", "latitude", "y"),
    "address": ("地址", "详细地址", "addr"),
    "subdistrict": ("街镇", "街道", "所属街镇", "街道/镇", "township"),
    "status": ("状态", "建设状态"),
    "capacity": ("容量", "床位", "床位数", "beds"),
    "coord_system": ("坐标系", "坐标系统", "crs", "coordinate_system", "coords"),
}

FACILITY_COLUMNS = [
    "id",
    "name",
    "type",
    "type_zh",
    "type_en",
    "status",
    "lon",
    "lat",
    "address",
    "capacity",
    "subdistrict_code",
    "subdistrict_zh",
    "subdistrict_en",
    "boundary_status",
    "source",
]

#: Duplicates in OSM (a point and a building, or several buildings) are merged within this distance.
DEFAULT_MERGE_METERS = 500.0

_TYPE_LOOKUP: dict[str, str] = {
    normalise_key(a): t.code
    for t in FACILITY_TYPES.values()
    for a in (t.code, t.name_zh, t.name_en, *t.aliases)
}
_STATUS_LOOKUP: dict[str, str] = {
    normalise_key(a): code for code, names in STATUSES.items() for a in (code, *names)
}


def parse_type(text: object) -> str | None:
    """Return the type code for a spelling of it (code, Chinese or English); None if unknown."""
    return _TYPE_LOOKUP.get(normalise_key(text))


def type_names() -> str:
    """All valid types as ``code (中文, English)``, for error messages."""
    return ", ".join(f"{t.code} ({t.name_zh}, {t.name_en})" for t in FACILITY_TYPES.values())


@dataclass(frozen=True)
class FacilityTable:
    """Facilities read from one source, with what was converted, merged or rejected on the way.

    ``gdf`` holds one row per facility (columns :data:`FACILITY_COLUMNS` plus any extra columns the
    planner's file had), geometry = WGS-84 points. ``problems`` lists rejected rows; ``notes`` lists
    accepted rows with something worth a look (declared subdistrict differs from the location).
    """

    gdf: gpd.GeoDataFrame
    source: str
    rows_read: int
    problems: tuple[RowProblem, ...] = ()
    notes: tuple[str, ...] = ()
    converted: dict[str, int] = field(default_factory=dict)
    merged: int = 0

    def to_review(self, *, max_meters: float = 2000.0) -> list[str]:
        """Records that look like one facility: listed for the planner, never merged silently.

        Same type, names alike (:func:`similar_names`) and at most ``max_meters`` apart, e.g.
        吴泾社区卫生中心 / 吴泾社区卫生服务中心 1.9 km apart: two OSM records of one centre, or two
        centres — only the register can tell.
        """
        return [
            f"{a} ({ida}) and {b} ({idb}), both {t}, {m:,.0f} m apart: one facility or two?"
            for ida, a, idb, b, t, m in possible_duplicates(self.gdf, max_meters=max_meters)
        ]

    def counts_by_type(self) -> dict[str, int]:
        """Number of facilities of each type (every type listed, zeros included)."""
        counts = self.gdf["type"].value_counts()
        return {code: int(counts.get(code, 0)) for code in FACILITY_TYPES}

    def summary(self) -> str:
        """One line: how many facilities, from where, what was converted, merged or rejected."""
        parts = [f"{len(self.gdf)} facilities from {self.source} ({self.rows_read} rows read)"]
        if self.merged:
            parts.append(f"{self.merged} duplicate records merged")
        for crs, n in self.converted.items():
            parts.append(f"{n} rows converted {crs}→WGS-84")
        if self.problems:
            parts.append(f"{len({p.row for p in self.problems})} rows rejected")
        return "; ".join(parts)


def read_facilities(
    path: str | Path,
    *,
    coords_system: str = "wgs84",
    sheet: str | int | None = None,
    strict: bool = True,
) -> FacilityTable:
    """Read a facility list from CSV or Excel with English or Chinese headers.

    Parameters
    ----------
    path
        ``.csv`` (UTF-8 or GB18030), ``.xlsx`` or ``.xls``.
    coords_system
        ``wgs84``, ``gcj02`` (AMap) or ``bd09`` (Baidu): the system of the coordinates unless a
        ``坐标系``/``crs`` column says otherwise for a row.
    sheet
        Excel sheet name or index (default: the first).
    strict
        If True, any invalid row raises :class:`~geo._errors.RowError` listing every problem. If
        False, valid rows are returned and the rejected ones are listed in ``problems``.
    """
    path = Path(path)
    df = read_table(path, sheet=sheet)
    if is_osm_table(df):  # the data folder's own OSM extract (or another like it)
        return facilities_from_osm_table(df, source=f"{path.name} (OpenStreetMap extract)")
    return facilities_from_frame(df, source=path.name, coords_system=coords_system, strict=strict)


def facilities_from_frame(
    df: pd.DataFrame,
    *,
    source: str,
    coords_system: str = "wgs84",
    strict: bool = True,
    subdistricts: gpd.GeoDataFrame | None = None,
) -> FacilityTable:
    """Validate a table of facilities (cells as text) and return a :class:`FacilityTable`.

    Row numbers in messages are spreadsheet rows (the header is row 1, the first facility row 2).
    Every check runs on whole columns (one coordinate conversion, one transform and one
    point-in-polygon query for all rows): 100,000 rows take about a second.
    """
    default_crs = coord_system(coords_system)
    if default_crs is None:
        msg = (
            f"unknown coordinate system {coords_system!r}; use wgs84, gcj02 (AMap) or bd09 (Baidu)"
        )
        raise InputFileError(msg)
    if df.empty:
        msg = f"{source} holds no facility rows (only a header, or nothing)"
        raise InputFileError(msg)
    if len(df) > MAX_FACILITY_ROWS:
        msg = (
            f"{source} holds {len(df):,} rows; a facility list may hold at most "
            f"{MAX_FACILITY_ROWS:,} (a district register has hundreds): split the file"
        )
        raise InputFileError(msg)
    cols = match_columns(
        df.columns, FIELD_ALIASES, required=("name", "type", "lon", "lat"), source=source
    )
    sub = boundaries.subdistricts(subdistricts)
    text = {str(c): df[c].astype(str).str.strip() for c in df.columns}
    filled = np.logical_or.reduce([(s != "").to_numpy() for s in text.values()])
    blank = int((~filled).sum())
    raw = df[filled].reset_index(drop=True)
    empty = pd.Series("", index=raw.index, dtype=str)
    cells = pd.DataFrame(
        {
            f: text[cols[f]].iloc[np.flatnonzero(filled)].reset_index(drop=True)
            if f in cols
            else empty
            for f in FIELD_ALIASES
        }
    )
    checks = _checks.RowChecks(cells, np.flatnonzero(filled) + 2)
    rec = _check_fields(checks, default_crs, sub)
    ok = ~checks.failed()
    outside = _check_locations(checks, rec, ok, sub)
    ok = ~checks.failed()
    problems = checks.problems()
    miss = _checks.mostly_outside(outside, len(ok), source=source, sub=sub)
    if strict:
        raise_if_problems(problems, source=source, what="facility", summary=miss)
    extras = {str(c): raw[c] for c in df.columns if c not in cols.values()}
    kept = pd.DataFrame({**rec, **extras, "_row": checks.row_no})[ok]
    gdf = _to_gdf(kept, source=source, sub=sub)
    notes = ([miss] if miss else []) + _checks.declared_elsewhere(gdf, sub)
    if blank:
        notes.append(f"{blank} blank row(s) skipped")
    converted = {
        str(crs): int(n)
        for crs, n in kept["coord_system_in"].value_counts().items()
        if crs != "wgs84"
    }
    table = FacilityTable(
        gdf=gdf,
        source=source,
        rows_read=len(df),
        problems=tuple(problems),
        notes=tuple(notes),
        converted=converted,
    )
    logger.info(table.summary())
    return table


def _check_fields(
    checks: _checks.RowChecks, default_crs: str, sub: gpd.GeoDataFrame
) -> dict[str, Any]:
    """Check names, types, ids, status, numbers, coordinate systems and declared subdistricts."""
    c = checks.cells
    checks.bad((c["name"] == "").to_numpy(), "name", "a facility needs a name")
    ftype = _checks.lookup(c["type"], parse_type)
    checks.bad(
        ftype.isna().to_numpy(), "type", f"unknown facility type; valid types: {type_names()}"
    )
    fid = c["id"].where(c["id"] != "", "row" + pd.Series(checks.row_no).astype(str))
    dup = fid.duplicated(keep="first").to_numpy()
    dup_idx = np.flatnonzero(dup)
    first_row = pd.Series(checks.row_no[~dup], index=fid[~dup].to_numpy())
    checks.bad_rows(
        dup_idx,
        "id",
        c["id"].iloc[dup_idx].tolist(),
        [f"duplicate id (first used on row {first_row[v]})" for v in fid.iloc[dup_idx]],
    )
    status = _checks.lookup(
        c["status"].where(c["status"] != "", "existing"),
        lambda s: _STATUS_LOOKUP.get(normalise_key(s)),
    )
    checks.bad(
        status.isna().to_numpy(),
        "status",
        f"unknown status; use one of {', '.join(STATUSES)} (or 现有/规划/在建/关闭)",
    )
    capacity = _checks.numbers(checks, "capacity", minimum=0.0)
    lon = _checks.numbers(checks, "lon")
    lat = _checks.numbers(checks, "lat")
    crs = _checks.lookup(c["coord_system"], coord_system).where(
        c["coord_system"] != "", default_crs
    )
    checks.bad(
        crs.isna().to_numpy(),
        "coord_system",
        "unknown coordinate system; use wgs84, gcj02 (AMap) or bd09 (Baidu)",
    )
    declared = _checks.lookup(c["subdistrict"], lambda s: _checks.subdistrict_code(s, sub))
    checks.bad(
        ((c["subdistrict"] != "") & declared.isna()).to_numpy(),
        "subdistrict",
        f"unknown subdistrict; valid: {', '.join(sub['name_zh'])}",
    )
    for name, values in (("lon", lon), ("lat", lat)):
        label = "longitude" if name == "lon" else "latitude"
        checks.bad(np.isnan(values) & ~checks.has(name), name, f"{label} is missing")
    return {
        "id": fid,
        "name": c["name"],
        "type": ftype,
        "status": status,
        "lon_in": lon,
        "lat_in": lat,
        "coord_system_in": crs,
        "address": c["address"],
        "capacity": capacity,
        "subdistrict_declared": declared.astype(object).where(declared.notna(), None),
    }


def _check_locations(
    checks: _checks.RowChecks,
    rec: dict[str, Any],
    ok: npt.NDArray[np.bool_],
    sub: gpd.GeoDataFrame,
) -> int:
    """Convert GCJ-02/BD-09 rows to WGS-84 and refuse rows swapped or outside the district;
    return how many rows lie outside it."""
    lon_in, lat_in, crs = rec["lon_in"], rec["lat_in"], rec["coord_system_in"]
    x0, y0, x1, y1 = (float(b) for b in np.round(sub.total_bounds, 2))
    swapped = ok & (x0 - 1 <= lat_in) & (lat_in <= x1 + 1) & (y0 - 1 <= lon_in) & (lon_in <= y1 + 1)
    idx = np.flatnonzero(swapped)
    checks.bad_rows(
        idx,
        "lon",
        [float(lon_in[i]) for i in idx],
        [
            f"looks swapped with lat={lat_in[i]}: did you swap lon/lat? (Minhang lon {x0}–{x1})"
            for i in idx
        ],
    )
    ok = ok & ~swapped
    lon, lat = lon_in.copy(), lat_in.copy()
    for system in ("gcj02", "bd09"):
        rows = ok & (crs == system).to_numpy()
        if rows.any():
            lon[rows], lat[rows] = coords.convert(
                lon_in[rows], lat_in[rows], from_crs=system, to_crs="wgs84"
            )
    codes = np.full(len(ok), None, dtype=object)
    codes[ok] = boundaries.assign_subdistricts(lon[ok], lat[ok], sub)  # in a unit, or ≤ 500 m
    outside = ok & pd.isna(codes)
    idx = np.flatnonzero(outside)
    checks.bad_rows(
        idx,
        "lon/lat",
        [f"{lon_in[i]}, {lat_in[i]}" for i in idx],
        [
            f"({lon[i]:.5f}, {lat[i]:.5f}) is outside Minhang (lon {x0}–{x1}, lat {y0}–{y1}, "
            "500 m tolerance); check the coordinates and their system (WGS-84/GCJ-02/BD-09)"
            for i in idx
        ],
    )
    rec["lon"], rec["lat"], rec["subdistrict_code"] = lon, lat, codes
    return int(outside.sum())


def _to_gdf(df: pd.DataFrame, *, source: str, sub: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    df = df.reset_index(drop=True)
    if df.empty:
        df = pd.DataFrame(
            columns=["id", "name", "type", "status", "lon", "lat", "address", "capacity"]
        )
    gdf = gpd.GeoDataFrame(
        df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=settings.wgs84_crs
    )
    codes = gdf.pop("subdistrict_code") if "subdistrict_code" in gdf else None
    boundaries.add_subdistrict(gdf, sub, codes=codes)
    gdf["type_zh"] = gdf["type"].map({t.code: t.name_zh for t in FACILITY_TYPES.values()})
    gdf["type_en"] = gdf["type"].map({t.code: t.name_en for t in FACILITY_TYPES.values()})
    gdf["source"] = source
    if "subdistrict_declared" in gdf:
        gdf["subdistrict_code"] = gdf["subdistrict_code"].fillna(gdf["subdistrict_declared"])
    extra = [c for c in gdf.columns if c not in FACILITY_COLUMNS and c != "geometry"]
    return gdf[[*FACILITY_COLUMNS, *extra, "geometry"]].reset_index(drop=True)


# --- the data pack's OSM facilities ---------------------------------------------------------

_NAME_RULES: tuple[tuple[str, str], ...] = (
    (r"行政|办公|献血|血站", "non_clinical"),  # an office or blood station treats nobody
    (r"急救.*分站|急救站", "ambulance_substation"),
    (r"急诊", "emergency_department"),
    (r"服务站", "station"),
    (r"分中心|分院", "branch"),
    (r"精神卫生中心", "hospital"),  # a specialist hospital, not a community centre
    (r"社区卫生|卫生服务中心|卫生中心", "chc"),
    (r"村卫生室|卫生室", "village_clinic"),
)


def classify_osm(name: str, amenity: str, healthcare: str) -> str:
    """Facility type of an OSM feature: community types by Chinese name, the rest by OSM tags.

    ``amenity=hospital`` → hospital (a hospital's 门诊部 stays a hospital); ``amenity=clinic`` or
    ``doctors`` → clinic (outpatient, not a basic-level community facility).
    """
    for pattern, code in _NAME_RULES:
        if name and re.search(pattern, name):
            return code
    if amenity == "hospital" or (not amenity and healthcare == "hospital"):
        return "hospital"
    return "clinic"


#: Columns that mark an OpenStreetMap health-facility extract (the data folder's facility file).
OSM_COLUMNS = ("osm_id", "lon", "lat", "amenity", "healthcare", "name")

#: Source label of the data folder's OSM facility file.
PACK_FACILITY_SOURCE = "OpenStreetMap health facilities, Minhang data pack (May 2026, ODbL)"


def facilities_from_pack(*, merge_meters: float = DEFAULT_MERGE_METERS) -> FacilityTable:
    """Load the data folder's 54 OSM health facilities, typed by name and tags, duplicates merged.

    Records with the same name within ``merge_meters`` (a point and its building, or several
    buildings of one hospital) become one facility; ``merged`` says how many records were folded.
    """
    path = settings.data_file("facilities/osm_health_facilities.csv")
    raw = read_table(path)
    if "type" in raw.columns:  # typed already (geo area init, by its editable tag mapping)
        area = settings.area_inputs()
        table = read_facilities(path)
        name = area.get("name", path.parent.parent.name)
        return replace(table, source=f"OpenStreetMap health facilities of {name} ({path.name})")
    return facilities_from_osm_table(raw, source=PACK_FACILITY_SOURCE, merge_meters=merge_meters)


def is_osm_table(df: pd.DataFrame) -> bool:
    """True if ``df`` is an OSM health-facility extract (:data:`OSM_COLUMNS`, no ``type``)."""
    return set(OSM_COLUMNS) <= set(df.columns) and "type" not in df.columns


def facilities_from_osm_table(
    raw: pd.DataFrame, *, source: str, merge_meters: float = DEFAULT_MERGE_METERS
) -> FacilityTable:
    """Type an OSM health-facility extract (cells as text) by name and tags; merge duplicates."""
    df = pd.DataFrame(
        {
            "id": raw["osm_id"],
            "name": [
                n or f"(unnamed OSM {a}) {i}"
                for n, a, i in zip(raw["name"], raw["amenity"], raw["osm_id"], strict=True)
            ],
            "name_en": raw["name_en"] if "name_en" in raw.columns else "",
            "type": [
                classify_osm(n, a, h)
                for n, a, h in zip(raw["name"], raw["amenity"], raw["healthcare"], strict=True)
            ],
            "lon": raw["lon"].astype(float),
            "lat": raw["lat"].astype(float),
            "status": "existing",
            "address": "",
            "capacity": np.nan,
        }
    )
    df, merged = merge_duplicates(df, max_meters=merge_meters)
    df, retyped = _outpatient_beside_emergency(df)
    gdf = _to_gdf(df, source=source, sub=boundaries.subdistricts())
    table = FacilityTable(
        gdf=gdf,
        source=source,
        rows_read=len(raw),
        merged=merged,
        notes=(
            f"{merged} duplicate OSM records merged (same name within {merge_meters:g} m)",
            *retyped,
        ),
    )
    logger.info(table.summary())
    return table


def _outpatient_beside_emergency(
    df: pd.DataFrame, *, max_meters: float = 2000.0
) -> tuple[pd.DataFrame, list[str]]:
    """A hospital's 门诊部 (outpatient building) within ``max_meters`` of the same hospital's 急诊部
    is typed ``clinic``: the emergency department already stands for that hospital, and an
    outpatient building is no EMS stand-in. Returns the frame and one note per record retyped."""
    emergency = df[df["type"] == "emergency_department"]
    if emergency.empty:
        return df, []
    xy = (
        gpd.GeoSeries(gpd.points_from_xy(df["lon"], df["lat"]), crs=settings.wgs84_crs)
        .to_crs(settings.metric_crs)
        .get_coordinates()
        .to_numpy()
    )
    out, notes = df.copy(), []
    for i, name in enumerate(df["name"].astype(str)):
        if df["type"].iloc[i] != "hospital" or not name.endswith("门诊部"):
            continue
        twin = name.removesuffix("门诊部") + "急诊部"
        for j in np.flatnonzero(df["name"].astype(str).to_numpy() == twin):
            meters = float(np.hypot(*(xy[i] - xy[j])))
            if df["type"].iloc[j] == "emergency_department" and meters <= max_meters:
                out.loc[out.index[i], "type"] = "clinic"
                notes.append(
                    f"{name} is typed clinic: the outpatient building of the hospital whose "
                    f"emergency department {twin} lies {meters:,.0f} m away (counted once)"
                )
                break
    return out, notes


#: Words dropped before names are compared: place prefixes and the filler of centre names.
_NAME_FILLER = re.compile(r"\s+|上海市|上海|闵行区|服务|社区")


def similar_names(a: str, b: str) -> bool:
    """True if two names differ only in place prefixes and filler (上海市, 闵行区, 社区, 服务)
    or are alike letter for letter (difflib ratio >= 0.85).

    >>> similar_names("吴泾社区卫生中心", "吴泾社区卫生服务中心")
    True
    >>> similar_names("浦江社区卫生服务中心", "浦江社区卫生服务中心鲁汇分中心")
    False
    """
    ka, kb = _NAME_FILLER.sub("", a), _NAME_FILLER.sub("", b)
    if not ka or not kb:
        return False
    if ka == kb:
        return True
    m = difflib.SequenceMatcher(None, ka, kb)  # the cheap upper bounds first
    return m.real_quick_ratio() >= 0.85 and m.quick_ratio() >= 0.85 and m.ratio() >= 0.85


def possible_duplicates(
    gdf: gpd.GeoDataFrame, *, max_meters: float = 2000.0
) -> list[tuple[str, str, str, str, str, float]]:
    """Pairs of facilities of one type with similar names within ``max_meters``:
    (id, name, id, name, type, metres), nearest first. Unnamed OSM records are skipped."""
    if len(gdf) < 2:
        return []
    xy = gdf.geometry.to_crs(settings.metric_crs).get_coordinates().to_numpy()
    names = gdf["name"].astype(str).tolist()
    ids = gdf["id"].astype(str).tolist()
    types = gdf["type"].astype(str).tolist()
    digest = hashlib.sha256(
        "\x1f".join([*names, *ids, *types, str(max_meters)]).encode() + xy.tobytes()
    ).hexdigest()
    if digest not in _DUPLICATES:  # every standard of a run asks for the same register
        if len(_DUPLICATES) > 32:
            _DUPLICATES.clear()
        _DUPLICATES[digest] = _duplicate_pairs(xy, names, ids, types, max_meters)
    return list(_DUPLICATES[digest])


_DUPLICATES: dict[str, list[tuple[str, str, str, str, str, float]]] = {}


def _duplicate_pairs(
    xy: npt.NDArray[np.float64],
    names: list[str],
    ids: list[str],
    types: list[str],
    max_meters: float,
) -> list[tuple[str, str, str, str, str, float]]:
    out = []
    # only pairs within max_meters (a k-d tree): linear in the facilities, not quadratic
    ok = np.isfinite(xy).all(axis=1)
    where = np.flatnonzero(ok)
    pairs = cKDTree(xy[ok]).query_pairs(max_meters, output_type="ndarray") if len(where) else []
    for a, b in sorted((int(where[p]), int(where[q])) for p, q in pairs):
        i, j = min(a, b), max(a, b)
        if types[i] != types[j] or names[i].startswith("(unnamed"):
            continue
        meters = float(np.hypot(*(xy[i] - xy[j])))
        if similar_names(names[i], names[j]):
            out.append((ids[i], names[i], ids[j], names[j], types[i], meters))
    return sorted(out, key=lambda r: r[-1])


def merge_duplicates(df: pd.DataFrame, *, max_meters: float) -> tuple[pd.DataFrame, int]:
    """Merge rows with the same name within ``max_meters`` of the group's first row.

    The first row of each group is kept; ``merged_ids`` lists every id folded into it.
    Unnamed rows are never merged. Returns the frame and the number of rows folded away.
    """
    xy = np.column_stack(
        gpd.GeoSeries(gpd.points_from_xy(df["lon"], df["lat"]), crs=settings.wgs84_crs)
        .to_crs(settings.metric_crs)
        .get_coordinates()
        .to_numpy()
        .T
    )
    key = df["name"].map(lambda s: re.sub(r"\s+", "", str(s)))
    keep = np.ones(len(df), bool)
    merged_ids = [[str(i)] for i in df["id"]]
    for _, idx in key.groupby(key, sort=False).indices.items():
        if str(df["name"].iloc[idx[0]]).startswith("(unnamed"):
            continue
        for j in idx[1:]:
            for k in idx:
                if k == j or not keep[k] or k > j:
                    continue
                if np.hypot(*(xy[j] - xy[k])) <= max_meters:
                    keep[j] = False
                    merged_ids[k].append(str(df["id"].iloc[j]))
                    break
    out = df.copy()
    out["merged_ids"] = [";".join(m) for m in merged_ids]
    return out[keep].reset_index(drop=True), int((~keep).sum())


def load_facilities(
    source: str | Path = "pack",
    *,
    coords_system: str = "wgs84",
    sheet: str | int | None = None,
    strict: bool = True,
) -> FacilityTable:
    """``"pack"`` (the data folder's OSM facilities) or a CSV/Excel path (see read_facilities)."""
    if str(source) == "pack":
        return facilities_from_pack()
    return read_facilities(source, coords_system=coords_system, sheet=sheet, strict=strict)


def facilities_from_upload(
    file_name: str, data: bytes, *, coords_system: str = "wgs84", strict: bool = False
) -> FacilityTable:
    """Read an uploaded CSV/Excel file (its name and bytes) like :func:`read_facilities`."""
    df = read_upload(file_name, data)
    if is_osm_table(df):
        return facilities_from_osm_table(df, source=f"{file_name} (OpenStreetMap extract)")
    return facilities_from_frame(df, source=file_name, coords_system=coords_system, strict=strict)
