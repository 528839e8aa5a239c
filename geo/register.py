"""A planner's own facility register: checked, geocoded where it has only addresses, combined
with the shipped facilities per type, and the Excel template it can start from.

The same path serves the app ("start a scenario from my register") and ``geo scenario new``:
:func:`check_register` → :func:`combine` → :func:`geo.scenarios.create_scenario`.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo import geocoding, settings
from geo._errors import InputFileError, RowProblem
from geo._io import atomic_target
from geo._safe import spreadsheet_frame
from geo._validate import coord_system, match_columns, read_table, read_upload
from geo.facilities import (
    FACILITY_COLUMNS,
    FACILITY_TYPES,
    FIELD_ALIASES,
    STATUSES,
    FacilityTable,
    facilities_from_frame,
    facilities_from_pack,
)

__all__ = [
    "COMBINE_MODES",
    "EXAMPLE_ID_PREFIX",
    "RegisterCheck",
    "check_register",
    "combine",
    "problems_frame",
    "read_register",
    "write_template",
]

logger = logging.getLogger(__name__)

#: How a register meets the shipped facilities, per type: ``replace`` (only the register's
#: facilities of that type count) or ``add`` (the shipped ones and the register's).
COMBINE_MODES = ("replace", "add")

#: Rows whose id starts with this are the template's examples: skipped on reading, with a note.
EXAMPLE_ID_PREFIX = "EXAMPLE"

#: Columns the geocoder adds to rows it placed (kept in the scenario's facility file).
GEOCODE_COLUMNS = ("geocode_match", "geocode_confidence", "geocode_review")


@dataclass(frozen=True)
class RegisterCheck:
    """A register read, geocoded and checked: the valid facilities and what happened to the rest.

    ``geocoded`` has one row per row placed from its address (spreadsheet row, name, address,
    match level, confidence, review flag, lon, lat).
    """

    table: FacilityTable
    file_name: str
    sha256: str
    geocoded: pd.DataFrame
    examples_skipped: int = 0
    provider: str = "offline"

    def problems_frame(self) -> pd.DataFrame:
        """Every rejected row: row, field, value, reason (the app's table, the CLI's lines)."""
        return problems_frame(self.table.problems)

    def summary(self) -> str:
        """One line: facilities kept, rows rejected, rows geocoded and flagged for review."""
        bad = len({p.row for p in self.table.problems})
        parts = [f"{self.file_name}: {len(self.table.gdf)} facilities valid, {bad} rows rejected"]
        if len(self.geocoded):
            review = int(self.geocoded["review"].sum())
            parts.append(
                f"{len(self.geocoded)} placed from their address ({self.provider}), "
                f"{review} to review"
            )
        if self.examples_skipped:
            parts.append(f"{self.examples_skipped} template example rows skipped")
        return "; ".join(parts)


def check_register(
    file_name: str,
    data: bytes,
    *,
    coords_system: str = "wgs84",
    provider: str | None = None,
) -> RegisterCheck:
    """Read an uploaded register (CSV/Excel bytes), geocode rows that have an address but no
    coordinates, and check every row (bad rows listed, never raised).

    Parameters
    ----------
    file_name
        The planner's file name (messages name it).
    data
        The file's bytes.
    coords_system
        System of the file's coordinates (``wgs84``, ``gcj02`` for AMap/Tencent, ``bd09`` for
        Baidu) unless a ``坐标系`` column says otherwise per row. Geocoded rows are WGS-84.
    provider
        Geocoder for rows without coordinates: ``"offline"`` (default) or ``"amap"``; default
        AMap when a key is set (``GEO_AMAP_KEY``), else offline.
    """
    frame = read_upload(file_name, data)
    chosen = provider or ("amap" if settings.resolve_amap_key() else "offline")
    return _check_frame(
        frame,
        file_name=Path(file_name).name,
        sha256=hashlib.sha256(data).hexdigest(),
        coords_system=coords_system,
        provider=chosen,
    )


def read_register(
    path: str | Path, *, coords_system: str = "wgs84", provider: str | None = None
) -> RegisterCheck:
    """:func:`check_register` for a file on disk (the CLI's ``geo scenario new``)."""
    path = Path(path)
    read_table(path)  # missing, folder, unreadable: the usual clear errors, before reading bytes
    return check_register(
        path.name, path.read_bytes(), coords_system=coords_system, provider=provider
    )


def _check_frame(
    frame: pd.DataFrame, *, file_name: str, sha256: str, coords_system: str, provider: str
) -> RegisterCheck:
    if coord_system(coords_system) is None:
        msg = f"unknown coordinate system {coords_system!r}; use wgs84, gcj02 (AMap) or bd09"
        raise InputFileError(msg)
    cols = match_columns(frame.columns, FIELD_ALIASES, required=("name", "type"), source=file_name)
    frame = frame.copy()
    skipped = 0
    if "id" in cols:
        example = frame[cols["id"]].astype(str).str.strip().str.upper()
        is_example = example.str.startswith(EXAMPLE_ID_PREFIX).to_numpy()
        skipped = int(is_example.sum())
        frame.loc[is_example, :] = ""  # blanked, not dropped: row numbers stay the spreadsheet's
    frame, geocoded = _geocode_missing(frame, cols, coords_system, provider, file_name)
    table = facilities_from_frame(
        frame, source=file_name, coords_system=coords_system, strict=False
    )
    if skipped:
        table = replace(table, notes=_example_notes(table.notes, skipped))
    check = RegisterCheck(table, file_name, sha256, geocoded, skipped, provider)
    logger.info(check.summary())
    return check


def _example_notes(notes: tuple[str, ...], skipped: int) -> tuple[str, ...]:
    """The blank-row note without the blanked example rows, and a note naming them."""
    out = []
    for note in notes:
        found = re.fullmatch(r"(\d+) blank row\(s\) skipped", note)
        if found is None:
            out.append(note)
        elif int(found.group(1)) > skipped:
            out.append(f"{int(found.group(1)) - skipped} blank row(s) skipped")
    out.append(f"{skipped} template example row(s) (id {EXAMPLE_ID_PREFIX}…) skipped")
    return tuple(out)


def _geocode_missing(
    frame: pd.DataFrame,
    cols: dict[str, str],
    coords_system: str,
    provider: str,
    file_name: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Place rows with an address and no coordinates; they become WGS-84 rows."""
    empty = pd.DataFrame(
        columns=["row", "name", "address", "match_level", "confidence", "review", "lon", "lat"]
    )
    for field in ("lon", "lat"):
        if field not in cols:
            frame[field] = ""
            cols = {**cols, field: field}
    if "coord_system" not in cols:
        frame["coord_system"] = coords_system
        cols = {**cols, "coord_system": "coord_system"}
    if "address" not in cols:
        return frame, empty
    blank = (frame[cols["lon"]].astype(str).str.strip() == "") & (
        frame[cols["lat"]].astype(str).str.strip() == ""
    )
    todo = frame[blank & (frame[cols["address"]].astype(str).str.strip() != "")]
    if todo.empty:
        return frame, empty
    where = todo[cols["subdistrict"]] if "subdistrict" in cols else ""
    query = pd.DataFrame({"address": todo[cols["address"]].astype(str), "subdistrict": where})
    result = geocoding.geocode_table(query, provider=provider).table
    found = result["lon"].notna() & result["lat"].notna()
    idx = todo.index
    frame.loc[idx[found.to_numpy()], cols["lon"]] = result.loc[found, "lon"].map("{:.7f}".format)
    frame.loc[idx[found.to_numpy()], cols["lat"]] = result.loc[found, "lat"].map("{:.7f}".format)
    frame.loc[idx, cols["coord_system"]] = "wgs84"
    frame.loc[idx, "geocode_match"] = result["match_level"].to_numpy()
    frame.loc[idx, "geocode_confidence"] = result["confidence"].round(2).astype(str).to_numpy()
    frame.loc[idx, "geocode_review"] = result["review"].map({True: "yes", False: "no"}).to_numpy()
    frame[list(GEOCODE_COLUMNS)] = frame[list(GEOCODE_COLUMNS)].fillna("")
    geocoded = pd.DataFrame(
        {
            "row": idx.to_numpy() + 2,
            "name": todo[cols["name"]].to_numpy(),
            "address": query["address"].to_numpy(),
            "match_level": result["match_level"].to_numpy(),
            "confidence": result["confidence"].to_numpy(),
            "review": result["review"].to_numpy(dtype=bool),
            "lon": result["lon"].to_numpy(),
            "lat": result["lat"].to_numpy(),
        }
    )
    logger.info("%s: %d rows placed from their address", file_name, int(found.sum()))
    return frame, geocoded


def combine(
    register: FacilityTable,
    shipped: FacilityTable | None = None,
    modes: str | Mapping[str, str] = "replace",
) -> gpd.GeoDataFrame:
    """The register's facilities with the shipped ones, per facility type.

    Parameters
    ----------
    register
        The planner's valid facilities (:attr:`RegisterCheck.table`).
    shipped
        The facilities shipped with the data folder (default: its OSM facilities).
    modes
        ``"replace"`` (the register is the whole list), ``"add"`` (shipped + register), or a
        mapping of facility type → ``replace``/``add`` (types not named: ``add``).
        ``{"station": "replace"}`` keeps the shipped centres and hospitals, adds the
        register's, and counts only the register's service stations.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`geo.facilities.FACILITY_COLUMNS` plus ``origin`` (``register``/``shipped``).

    Raises
    ------
    InputFileError
        An unknown mode or type, or an id used by both lists.
    """
    per_type = _modes(modes)
    mine = register.gdf.assign(origin="register")
    shipped_table = shipped if shipped is not None else facilities_from_pack()
    keep = shipped_table.gdf["type"].map(lambda t: per_type.get(t, "add") == "add")
    theirs = shipped_table.gdf[keep].assign(origin="shipped")
    clash = sorted(set(mine["id"].astype(str)) & set(theirs["id"].astype(str)))
    if clash:
        msg = (
            f"ids used by both the register and the shipped facilities: {', '.join(clash[:10])}; "
            "give the register's rows other ids"
        )
        raise InputFileError(msg)
    extra = [c for c in (*GEOCODE_COLUMNS, "merged_ids") if c in mine or c in theirs]
    columns = [*FACILITY_COLUMNS, *extra, "origin", "geometry"]
    out = pd.concat([theirs.reindex(columns=columns), mine.reindex(columns=columns)])
    return gpd.GeoDataFrame(out.reset_index(drop=True), crs=settings.wgs84_crs)


def _modes(modes: str | Mapping[str, str]) -> dict[str, str]:
    per_type = {t: modes for t in FACILITY_TYPES} if isinstance(modes, str) else dict(modes)
    for facility_type, mode in per_type.items():
        if facility_type not in FACILITY_TYPES:
            msg = f"unknown facility type {facility_type!r}; valid: {', '.join(FACILITY_TYPES)}"
            raise InputFileError(msg)
        if mode not in COMBINE_MODES:
            msg = f"mode {mode!r} for {facility_type}: use replace or add"
            raise InputFileError(msg)
    return per_type


def problems_frame(problems: Sequence[RowProblem]) -> pd.DataFrame:
    """Rejected rows as a table: row, field, value (as text), reason."""
    return pd.DataFrame(
        [
            {"row": p.row, "field": p.field, "value": str(p.value), "reason": p.reason}
            for p in problems
        ],
        columns=["row", "field", "value", "reason"],
    )


# --- the template ---------------------------------------------------------------------------

_TEMPLATE_HEADERS = (
    ("id", "编号"),
    ("name", "名称"),
    ("type", "类型"),
    ("address", "地址"),
    ("subdistrict", "街镇"),
    ("lon", "经度"),
    ("lat", "纬度"),
    ("coord_system", "坐标系"),
    ("status", "状态"),
    ("capacity", "床位数"),
)

_TEMPLATE_EXAMPLES = (
    {
        "编号": f"{EXAMPLE_ID_PREFIX}-1",
        "名称": "示例：某某社区卫生服务站 (example, delete this row)",
        "类型": "社区卫生服务站",
        "地址": "七宝镇七莘路100号",
        "街镇": "七宝镇",
        "经度": "",
        "纬度": "",
        "坐标系": "",
        "状态": "现有",
        "床位数": "",
    },
    {
        "编号": f"{EXAMPLE_ID_PREFIX}-2",
        "名称": "示例：某某急救分站 (example, delete this row)",
        "类型": "急救分站",
        "地址": "",
        "街镇": "莘庄镇",
        "经度": "121.385",
        "纬度": "31.111",
        "坐标系": "gcj02",
        "状态": "规划",
        "床位数": "",
    },
)


def write_template(path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the register template (.xlsx): sheet ``设施清单`` with Chinese headers and two example
    rows (ids ``EXAMPLE-1``/``-2``, skipped when the file is read back), and sheet ``说明 Help``
    listing every accepted header, facility type, status and coordinate system."""
    from openpyxl.styles import Font  # openpyxl is pandas' Excel writer

    path = Path(path)
    register = pd.DataFrame(list(_TEMPLATE_EXAMPLES), columns=[zh for _, zh in _TEMPLATE_HEADERS])
    help_rows = [
        {
            "what / 内容": f"column {field}",
            "accepted / 可用写法": ", ".join((field, *FIELD_ALIASES[field])),
            "note / 说明": _FIELD_NOTES.get(field, ""),
        }
        for field, _ in _TEMPLATE_HEADERS
    ]
    help_rows += [
        {
            "what / 内容": f"type {t.code}",
            "accepted / 可用写法": ", ".join((t.code, t.name_zh, t.name_en, *t.aliases)),
            "note / 说明": "",
        }
        for t in FACILITY_TYPES.values()
    ]
    help_rows += [
        {"what / 内容": f"status {code}", "accepted / 可用写法": ", ".join((code, *names))}
        for code, names in STATUSES.items()
    ]
    help_rows.append(
        {
            "what / 内容": "coordinate systems / 坐标系",
            "accepted / 可用写法": "wgs84 (GPS), gcj02 (高德 AMap, 腾讯 Tencent), "
            "bd09 (百度 Baidu)",
            "note / 说明": "empty: the system chosen on upload (default wgs84)",
        }
    )
    with (
        atomic_target(path, overwrite=overwrite) as tmp,
        pd.ExcelWriter(tmp, engine="openpyxl") as writer,
    ):
        spreadsheet_frame(register).to_excel(writer, sheet_name="设施清单", index=False)
        pd.DataFrame(help_rows).to_excel(writer, sheet_name="说明 Help", index=False)
        for ws in writer.book.worksheets:
            for cell in ws[1]:
                cell.font = Font(bold=True)
            for column in ws.columns:
                ws.column_dimensions[column[0].column_letter].width = 22
    return path


_FIELD_NOTES = {
    "id": "optional; unique; ids starting with EXAMPLE are skipped (template examples)",
    "name": "required / 必填",
    "type": "required / 必填; see the types below",
    "address": "used to place rows without lon/lat (offline geocoder, or AMap with a key)",
    "subdistrict": "optional; helps the geocoder; the location decides the unit",
    "lon": "decimal degrees; empty: placed from the address",
    "lat": "decimal degrees; empty: placed from the address",
    "coord_system": "per row; empty: the system chosen on upload",
    "status": "existing (default), planned, under_construction, closed",
    "capacity": "optional number ≥ 0 (beds)",
}
