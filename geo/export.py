"""Export coverage results to the files a planner opens: CSV, Excel and GeoPackage.

One :class:`~geo.coverage.CoverageResult` per standard (``walk15``, ``ems_distance``,
``ems_time``, ``straight_line``). Every file carries the results' metadata (network source and
repairs, population source, facility counts, parameters, software version, time), flattened by
:func:`metadata_rows` into ``("a.b", "text")`` rows.

=====================  =====================================================================
file                   content
=====================  =====================================================================
``<stem>_<std>.csv``   UTF-8 with BOM (Excel opens Chinese correctly); ``# key: value`` lines,
                       then the coverage table (subdistrict rows, then the district row)
``<stem>.xlsx``        one sheet per standard (title, sources, table) and a ``metadata`` sheet
``<stem>.gpkg``        WGS-84 layers ``subdistricts_<std>``, ``isochrones_<std>``,
                       ``covered_<std>``, ``blind_spots_<std>``, ``facilities`` and the
                       non-spatial table ``metadata`` (``key``, ``value``, ``standard``)
=====================  =====================================================================

Every write is atomic: the file is written in a hidden temporary folder beside the target and
moved into place with :func:`os.replace`, so a crash never leaves a half-written export. An
existing file is replaced only with ``overwrite=True``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from geo import settings
from geo._errors import ExportError
from geo._io import atomic_target, refuse_existing, staged_set
from geo._safe import FORMULA_STARTS, spreadsheet_frame, spreadsheet_text
from geo.coverage import DISTRICT_CODE, TABLE_COLUMNS, CoverageResult

if TYPE_CHECKING:  # scenarios imports nothing from here; the type is only named
    from geo.scenarios import Comparison

__all__ = [
    "DEFAULT_STEM",
    "MAX_STEM_CHARS",
    "METADATA_NAME",
    "export_all",
    "export_bytes",
    "export_comparison",
    "export_csv",
    "export_excel",
    "export_geopackage",
    "metadata_rows",
    "safe_stem",
]

logger = logging.getLogger(__name__)

#: Stem used when a scenario name has no character a file name can keep.
DEFAULT_STEM = "coverage"

#: Longest stem :func:`safe_stem` returns (characters; Chinese takes 3 bytes of a 255-byte name).
MAX_STEM_CHARS = 80

#: Name of the metadata sheet (Excel) and table (GeoPackage); no standard may use it.
METADATA_NAME = "metadata"

_STEM_DROP = re.compile(r"[^0-9A-Za-z_\-\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_STANDARD_NAME = re.compile(r"[A-Za-z0-9_]{1,31}")
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)}
)
_TITLE_ROWS = 2  # Excel: title row, sources row; the table header follows


# --- names ------------------------------------------------------------------------------------


def safe_stem(text: str) -> str:
    """A file-name stem from a scenario name.

    Keeps Chinese characters, ASCII letters, digits, ``-`` and ``_``; runs of white space become
    one ``_``; path separators, dots and every other character are dropped. Full-width letters,
    digits and spaces (typed with a Chinese input method) count as their ASCII forms. Leading and
    trailing ``_``/``-`` are stripped, the stem is cut to :data:`MAX_STEM_CHARS` characters and a
    Windows device name (``CON``, ``NUL``, ...) gets a trailing ``_``.

    Parameters
    ----------
    text
        A scenario name, e.g. ``"plan-2025 七宝 test/../x"`` (→ ``"plan-2025_七宝_testx"``).

    Returns
    -------
    str
        Never empty: :data:`DEFAULT_STEM` (``"coverage"``) when nothing is left.
    """
    text = unicodedata.normalize("NFKC", str(text))
    text = re.sub(r"\s+", "_", text.strip())
    stem = _STEM_DROP.sub("", text)
    stem = re.sub(r"_{2,}", "_", stem).strip("_-")[:MAX_STEM_CHARS].rstrip("_-")
    if not stem:
        return DEFAULT_STEM
    if stem.upper() in _WINDOWS_RESERVED:
        stem += "_"
    return stem


# --- metadata ---------------------------------------------------------------------------------


def metadata_rows(metadata: Mapping[str, object]) -> list[tuple[str, str]]:
    """Flatten a metadata dict into ``("a.b", "value")`` rows of text.

    Nested dicts give dotted keys; lists and tuples are rendered as JSON; an empty dict is kept
    as ``"{}"``. Order is the dicts' insertion order (depth first), so the same metadata always
    gives the same rows.

    Parameters
    ----------
    metadata
        E.g. ``{"network": {"source": "osm", "repair_connectors": 12}, "version": "0.1.0"}``
        (→ ``[("network.source", "osm"), ("network.repair_connectors", "12"),
        ("version", "0.1.0")]``).

    Returns
    -------
    list of (str, str)
        Key and value text; ``None`` becomes ``""``, booleans ``true``/``false``, times ISO 8601.
    """
    return [(key, _render(value)) for key, value in _flatten(metadata)]


def _flatten(metadata: Mapping[Any, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for raw_key, value in metadata.items():
        key = f"{prefix}{raw_key}"
        if isinstance(value, Mapping) and value:
            rows.extend(_flatten(value, f"{key}."))
        else:
            rows.append((key, value))
    return rows


def _render(value: Any) -> str:
    """One metadata value as text (JSON for containers)."""
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (Mapping, list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return json.dumps(items, ensure_ascii=False, default=_json_default)
    return str(value)


def _plain(value: Any) -> Any:
    """Numpy scalars and paths as plain Python values."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist() if isinstance(value, np.ndarray) else value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _json_default(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple, np.ndarray)):
        return list(value)
    return str(value)


def _result_items(result: CoverageResult) -> list[tuple[str, Any]]:
    """The standard's definition, then the result's metadata, as flat (key, raw value) rows."""
    std = result.standard
    definition = {
        "name": std.name,
        "standin": std.standin,
        "label_en": std.label_en,
        "label_zh": std.label_zh,
        "mode": std.mode,
        "cost": std.cost,
        "limit": std.limit,
        "facility_types": list(std.facility_types),
        "params": dict(std.params),
    }
    return _flatten({"standard": definition}) + _flatten(result.metadata)


def _sources(result: CoverageResult) -> tuple[str, str]:
    """Population source and network source from the metadata ("n/a" when absent)."""
    meta = result.metadata
    network = meta.get("network")
    if isinstance(network, Mapping):
        network = network.get("source")
    population = meta.get("population_source")
    nested = meta.get("population")
    if population is None and isinstance(nested, Mapping):
        population = nested.get("source")
    return (
        "n/a" if population is None else _render(population),
        "n/a" if network is None else _render(network),
    )


# --- checks -----------------------------------------------------------------------------------


def _check_results(results: Sequence[CoverageResult]) -> list[CoverageResult]:
    results = list(results)
    if not results:
        msg = "no coverage results to export: pass at least one CoverageResult"
        raise ExportError(msg)
    seen: set[str] = set()
    for result in results:
        name = result.standard.key
        if not _STANDARD_NAME.fullmatch(name) or name == METADATA_NAME:
            msg = (
                f"standard name {name!r} cannot name a sheet or layer: expected 1-31 letters, "
                f"digits or '_' other than {METADATA_NAME!r}"
            )
            raise ExportError(msg)
        if name in seen:
            msg = (
                f"two results use the standard name {name!r}; sheets, layers and file names "
                "would collide: export them separately (e.g. with different stems)"
            )
            raise ExportError(msg)
        seen.add(name)
    return results


def _table(result: CoverageResult) -> pd.DataFrame:
    """The result's table with the subdistrict rows first and the district row last."""
    table = result.table
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        msg = (
            f"coverage table of {result.standard.key!r} lacks columns {missing}; "
            f"expected {list(TABLE_COLUMNS)} and n_<type> columns"
        )
        raise ExportError(msg)
    is_district = table["code"].astype(str) == DISTRICT_CODE
    return pd.concat([table[~is_district], table[is_district]]).reset_index(drop=True)


# --- CSV --------------------------------------------------------------------------------------


def export_csv(result: CoverageResult, path: Path, *, overwrite: bool = False) -> Path:
    """Write one result's coverage table as CSV, UTF-8 with BOM, metadata first.

    The file opens with ``# key: value`` lines (the standard's definition, then
    :func:`metadata_rows`; line breaks in values written as ``\\n``), then the table: the
    columns of :attr:`CoverageResult.table`, subdistrict rows, then the district row. Text cells
    are quoted (so a ``#`` inside a name is not read as a comment); numbers are written at full
    precision (shares as fractions 0–1), so
    ``pd.read_csv(path, comment="#", encoding="utf-8-sig", dtype={"code": str})`` gives the
    table back exactly (``dtype`` keeps codes as text).

    Parameters
    ----------
    result
        The coverage of one standard.
    path
        The CSV file to write (its folder is created if needed).
    overwrite
        Replace an existing file; otherwise an existing ``path`` raises :class:`FileExistsError`.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    table = _table(result)
    rows = [(key, _render(value)) for key, value in _result_items(result)]
    _write_frame_csv(table, rows, path, overwrite=overwrite)
    logger.info("wrote %s (%s: %d rows)", path, result.standard.key, len(table))
    return path


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


# --- Excel ------------------------------------------------------------------------------------


def export_excel(results: Sequence[CoverageResult], path: Path, *, overwrite: bool = False) -> Path:
    """Write an Excel workbook: one sheet per standard plus a ``metadata`` sheet.

    A standard's sheet (named ``standard.key``: ``<name>``, or ``<name>_standin`` for a stand-in)
    has a title row (name, ``label_en`` / ``label_zh``), a sources row (population and network
    source), then the table with a bold header, the district row in bold, panes frozen below the
    header and right of ``name_zh``.
    Numbers stay numbers: shares are formatted ``0.00%``, km² ``0.00``, residents and facility
    counts ``#,##0``; missing values are empty cells.

    The ``metadata`` sheet is wide: column A ``key``, then one column per standard (in the order
    of ``results``), one row per key (the standard's definition first, then the
    :func:`metadata_rows` keys; a key only a later standard has is placed after the key that
    precedes it there); a cell is empty where a standard has no such key. Numeric values
    are numbers, everything else text (lists as JSON).

    Parameters
    ----------
    results
        One result per standard; standard names must be distinct.
    path
        The ``.xlsx`` file to write (its folder is created if needed).
    overwrite
        Replace an existing file; otherwise an existing ``path`` raises :class:`FileExistsError`.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    results = _check_results(results)
    wb = Workbook()
    if wb.active is not None:
        wb.remove(wb.active)
    for result in results:
        _standard_sheet(wb.create_sheet(result.standard.key), result)
    _metadata_sheet(wb.create_sheet(METADATA_NAME), results)
    with atomic_target(path, overwrite=overwrite) as tmp:
        wb.save(tmp)
    logger.info("wrote %s (sheets: %s)", path, ", ".join(wb.sheetnames))
    return path


def _number_format(column: str) -> str | None:
    if column.endswith("_share"):
        return "0.00%"
    if column.endswith("_km2") or column == "facilities_per_100k":
        return "0.00"
    if "residents" in column or column == "facilities" or column.startswith("n_"):
        return "#,##0"
    return None


def _standard_sheet(ws: Worksheet, result: CoverageResult) -> None:
    std = result.standard
    table = _table(result)
    population, network = _sources(result)
    ws.cell(1, 1, f"{std.name}: {std.label_en} / {std.label_zh}").font = Font(bold=True, size=13)
    ws.cell(2, 1, f"population: {population}; network: {network}").font = Font(italic=True)
    header_row = _TITLE_ROWS + 1
    columns = [str(c) for c in table.columns]
    formats = [_number_format(c) for c in columns]
    widths = [_text_width(c) for c in columns]
    for j, name in enumerate(columns, start=1):
        ws.cell(header_row, j, name).font = Font(bold=True)
    district = table["code"].astype(str) == DISTRICT_CODE
    for i, row in enumerate(table.itertuples(index=False), start=header_row + 1):
        for j, value in enumerate(row):
            cell = ws.cell(i, j + 1, _cell_value(value))
            if formats[j] is not None:
                cell.number_format = formats[j]
            if district.iloc[i - header_row - 1]:
                cell.font = Font(bold=True)
            widths[j] = max(widths[j], _text_width(_shown(cell.value, formats[j])))
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 45)
    ws.freeze_panes = ws.cell(header_row + 1, min(3, len(columns) + 1)).coordinate


def _metadata_sheet(ws: Worksheet, results: Sequence[CoverageResult]) -> None:
    values: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for result in results:
        previous = None
        for key, value in _result_items(result):
            if key not in values:  # a key only this standard has goes after its neighbour
                order.insert(0 if previous is None else order.index(previous) + 1, key)
            values.setdefault(key, {})[result.standard.key] = value
            previous = key
    names = [r.standard.key for r in results]
    for j, name in enumerate(["key", *names], start=1):
        ws.cell(1, j, name).font = Font(bold=True)
    widths = [_text_width("key"), *(_text_width(n) for n in names)]
    for i, key in enumerate(order, start=2):
        by_standard = values[key]
        ws.cell(i, 1, key)
        widths[0] = max(widths[0], _text_width(key))
        for j, name in enumerate(names, start=2):
            if name in by_standard:
                value = _metadata_cell(by_standard[name])
                ws.cell(i, j, value)
                widths[j - 1] = max(widths[j - 1], _text_width(str(value)))
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 10), 60)
    ws.freeze_panes = "B2"


def _metadata_cell(value: Any) -> Any:
    """A metadata value for Excel: finite numbers as numbers, the rest as text."""
    value = _plain(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
        return value
    return spreadsheet_text(_render(value))


def _cell_value(value: Any) -> Any:
    """A table value for openpyxl: plain Python, missing or non-finite numbers as empty."""
    value = _plain(value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, str):
        return spreadsheet_text(value)  # a name like =HYPERLINK(...) stays text
    if isinstance(value, (bool, int, float)):
        return value
    return spreadsheet_text(str(value))


def _shown(value: Any, number_format: str | None) -> str:
    """Roughly the text Excel shows for a value (for column widths)."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if number_format == "0.00%":
            return f"{value:.2%}"
        if number_format == "#,##0":
            return f"{value:,.0f}"
        if number_format == "0.00":
            return f"{value:,.2f}"
        return f"{value:g}"
    return str(value)


def _text_width(text: str) -> int:
    """Display width in Excel character units: Chinese (wide) characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# --- GeoPackage -------------------------------------------------------------------------------


def export_geopackage(
    results: Sequence[CoverageResult],
    path: Path,
    *,
    subdistricts: gpd.GeoDataFrame,
    overwrite: bool = False,
) -> Path:
    """Write a GeoPackage (EPSG:4326) for GIS: stats per subdistrict, isochrones, blind spots.

    Layers, per standard ``<std>``: ``subdistricts_<std>`` (the subdistrict polygons joined by
    ``code`` with that standard's table rows; the district row is left out), ``isochrones_<std>``,
    ``covered_<std>`` and ``blind_spots_<std>`` (rows with an empty geometry dropped); then
    ``facilities`` (every result's facilities, de-duplicated by ``id`` or ``facility_id``, first
    seen kept, all columns) and the non-spatial table ``metadata`` (``key``, ``value``,
    ``standard``; the standard's definition, then :func:`metadata_rows`). Population points are
    not written.

    A layer with no rows is skipped (and logged) while the others are still written. Lists or
    dicts in a column are written as JSON text, columns mixing types as text.

    Parameters
    ----------
    results
        One result per standard; standard names must be distinct.
    path
        The ``.gpkg`` file to write (its folder is created if needed).
    subdistricts
        Subdistrict polygons with a ``code`` column (e.g. from
        :func:`geo.boundaries.load_subdistricts`); only ``code`` and the geometry are used.
    overwrite
        Replace an existing file; otherwise an existing ``path`` raises :class:`FileExistsError`.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    results = _check_results(results)
    layers = _geopackage_layers(results, subdistricts)
    written: list[str] = []
    with atomic_target(path, overwrite=overwrite) as tmp:
        for name, frame in layers.items():
            if frame.empty:
                logger.info("%s: layer %s is empty, skipped", path, name)
                continue
            pyogrio.write_dataframe(_gpkg_ready(frame), tmp, layer=name, driver="GPKG")
            written.append(name)
    logger.info("wrote %s (layers: %s)", path, ", ".join(written))
    return path


def _geopackage_layers(
    results: Sequence[CoverageResult], subdistricts: gpd.GeoDataFrame
) -> dict[str, pd.DataFrame]:
    if "code" not in subdistricts.columns:
        msg = (
            "subdistricts need a `code` column to join the coverage tables; present: "
            f"{[c for c in subdistricts.columns if c != subdistricts.geometry.name]}"
        )
        raise ExportError(msg)
    polygons = _wgs84(subdistricts, "subdistricts")
    polygons = gpd.GeoDataFrame(
        {"code": polygons["code"].astype(str)}, geometry=polygons.geometry.values, crs=polygons.crs
    )
    duplicated = sorted(set(polygons["code"][polygons["code"].duplicated()]))
    if duplicated:
        msg = f"subdistricts repeat codes {duplicated}: each code must have one polygon"
        raise ExportError(msg)
    layers: dict[str, pd.DataFrame] = {}
    for result in results:
        std = result.standard.key
        layers[f"subdistricts_{std}"] = _join_stats(polygons, result)
        for part in ("isochrones", "covered", "blind_spots"):
            gdf = _wgs84(getattr(result, part), f"{std} {part}")
            layers[f"{part}_{std}"] = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    layers["facilities"] = _all_facilities(results)
    layers[METADATA_NAME] = pd.DataFrame(
        [(key, _render(value), r.standard.key) for r in results for key, value in _result_items(r)],
        columns=["key", "value", "standard"],
    )
    return layers


def _join_stats(polygons: gpd.GeoDataFrame, result: CoverageResult) -> gpd.GeoDataFrame:
    table = _table(result)
    table = table[table["code"].astype(str) != DISTRICT_CODE].assign(
        code=lambda t: t["code"].astype(str)
    )
    missing = sorted(set(table["code"]) - set(polygons["code"]))
    if missing:
        msg = (
            f"{result.standard.key}: table codes {missing} have no subdistrict polygon; "
            "pass the subdistricts the coverage was computed on"
        )
        raise ExportError(msg)
    joined = table.merge(polygons, on="code", how="left", validate="one_to_one")
    return gpd.GeoDataFrame(joined, geometry="geometry", crs=polygons.crs)


def _all_facilities(results: Sequence[CoverageResult]) -> gpd.GeoDataFrame:
    frames = [
        _wgs84(r.facilities, f"{r.standard.key} facilities")
        for r in results
        if not r.facilities.empty
    ]
    if not frames:
        return gpd.GeoDataFrame(geometry=[], crs=settings.wgs84_crs)
    gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=settings.wgs84_crs)
    key = next((c for c in ("id", "facility_id") if c in gdf.columns), None)
    ids = gdf[key].astype(str) if key is not None else gdf.geometry.to_wkb()
    return gdf[~ids.duplicated()].reset_index(drop=True)


def _wgs84(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        msg = f"{what} have no coordinate system: set one (e.g. gdf.set_crs('EPSG:4326'))"
        raise ExportError(msg)
    return gdf.to_crs(settings.wgs84_crs)


def _gpkg_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding containers or mixed types as text, so OGR gets one type each."""
    out = frame.copy()
    geometry = out.geometry.name if isinstance(out, gpd.GeoDataFrame) else None
    for column in out.columns:
        if column == geometry or out[column].dtype != object:
            continue
        kinds = {type(_plain(v)) for v in out[column] if not _is_missing(v)}
        if kinds and kinds <= {int, float}:
            out[column] = pd.to_numeric(out[column]).astype(float)
        elif len(kinds) > 1 or kinds & {list, tuple, dict, set, frozenset}:
            out[column] = out[column].map(lambda v: None if _is_missing(v) else _render(v))
    return out


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


# --- everything -------------------------------------------------------------------------------


def export_all(
    results: Sequence[CoverageResult],
    out_dir: Path,
    *,
    stem: str,
    subdistricts: gpd.GeoDataFrame,
    overwrite: bool = False,
) -> list[Path]:
    """Write every export of a set of results into one folder.

    Files: ``<stem>_<standard>.csv`` per result, ``<stem>.xlsx`` and ``<stem>.gpkg``, with
    ``stem`` passed through :func:`safe_stem`. All targets are checked first, so a refusal writes
    nothing; each file is written atomically.

    Parameters
    ----------
    results
        One result per standard; standard names must be distinct.
    out_dir
        The folder to write into (created if needed).
    stem
        The scenario name the files are named after, e.g. ``"plan-2025 七宝"``.
    subdistricts
        Subdistrict polygons with ``code`` for the GeoPackage (see :func:`export_geopackage`).
    overwrite
        Replace existing files; otherwise any existing target raises :class:`FileExistsError`.

    Returns
    -------
    list of Path
        The CSV files (in the order of ``results``), the workbook, the GeoPackage.
    """
    results = _check_results(results)
    out_dir = Path(out_dir)
    base = safe_stem(stem)
    csv_paths = [out_dir / f"{base}_{r.standard.key}.csv" for r in results]
    xlsx, gpkg = out_dir / f"{base}.xlsx", out_dir / f"{base}.gpkg"
    targets = [*csv_paths, xlsx, gpkg]
    with staged_set(out_dir, [p.name for p in targets], overwrite=overwrite) as stage:
        for result, csv_path in zip(results, csv_paths, strict=True):
            export_csv(result, stage / csv_path.name)
        export_excel(results, stage / xlsx.name)
        export_geopackage(results, stage / gpkg.name, subdistricts=subdistricts)
    return targets


# --- scenario comparisons ---------------------------------------------------------------------


def _comma_safe(text: str) -> str:
    """A metadata line's text with no comma-separated piece a spreadsheet would run: the line is
    not quoted (so ``comment="#"`` readers skip it), and Excel splits it at commas."""
    return ",".join(
        str(spreadsheet_text(part.lstrip())) if part.lstrip().startswith(FORMULA_STARTS) else part
        for part in text.split(",")
    )


def _write_frame_csv(
    frame: pd.DataFrame, rows: Sequence[tuple[str, str]], path: Path, *, overwrite: bool
) -> Path:
    """CSV in UTF-8 with BOM: ``# key: value`` lines first, then the table (text quoted)."""
    lines = [f"# {key}: {_comma_safe(_one_line(value))}\n" for key, value in rows]
    with (
        atomic_target(path, overwrite=overwrite) as tmp,
        tmp.open("w", encoding="utf-8-sig", newline="") as fh,
    ):
        fh.writelines(lines)
        spreadsheet_frame(frame).to_csv(
            fh, index=False, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC
        )
    return path


def _frame_sheet(ws: Worksheet, frame: pd.DataFrame, title: str) -> None:
    ws.append([title])
    ws["A1"].font = Font(bold=True)
    ws.append([str(c) for c in frame.columns])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in frame.itertuples(index=False):
        ws.append([_cell_value(v) for v in row])
    for j, col in enumerate(frame.columns, start=1):
        fmt = _number_format(re.sub(r"_(a|b|delta)$", "", str(col)))
        if fmt:
            for (cell,) in ws.iter_rows(min_row=3, min_col=j, max_col=j):
                cell.number_format = fmt
        ws.column_dimensions[get_column_letter(j)].width = max(10, min(40, len(str(col)) + 2))
    ws.freeze_panes = "A3"


def export_comparison(
    cmp: Comparison, out_dir: Path, *, stem: str, overwrite: bool = False
) -> list[Path]:
    """Write a :class:`geo.scenarios.Comparison` like the coverage tables.

    ``<stem>.csv`` (per standard × unit: a, b and delta), ``<stem>_sites.csv`` (added, moved,
    removed), ``<stem>.xlsx`` (sheets ``changes``, ``sites``, ``metadata``) and ``<stem>.gpkg``
    (layers ``gained``, ``lost``, ``sites``, ``metadata``), all written atomically.
    """
    out_dir = Path(out_dir)
    paths = [
        out_dir / f"{stem}.csv",
        out_dir / f"{stem}_sites.csv",
        out_dir / f"{stem}.xlsx",
        out_dir / f"{stem}.gpkg",
    ]
    refuse_existing(paths, overwrite=overwrite)
    title = f"{cmp.b} compared with {cmp.a}"
    meta = metadata_rows({"comparison": title, **cmp.metadata})
    _write_frame_csv(cmp.table, meta, paths[0], overwrite=overwrite)
    _write_frame_csv(cmp.sites, meta[:1], paths[1], overwrite=overwrite)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "changes"
    _frame_sheet(ws, cmp.table, title)
    _frame_sheet(wb.create_sheet("sites"), cmp.sites, f"sites added, moved or removed: {title}")
    meta = wb.create_sheet("metadata")
    meta.append(["key", "value"])
    for key, value in metadata_rows(cmp.metadata):
        meta.append([key, spreadsheet_text(value)])
    with atomic_target(paths[2], overwrite=overwrite) as tmp:
        wb.save(tmp)
    with atomic_target(paths[3], overwrite=overwrite) as tmp:
        for layer, gdf in (("gained", cmp.gained), ("lost", cmp.lost)):
            if not gdf.empty:
                pyogrio.write_dataframe(
                    gdf.to_crs(settings.wgs84_crs), tmp, layer=layer, driver="GPKG"
                )
        sites = cmp.sites.dropna(subset=["lon_b"]).copy() if len(cmp.sites) else cmp.sites
        if len(sites):
            pts = gpd.GeoDataFrame(
                sites,
                geometry=gpd.points_from_xy(sites["lon_b"], sites["lat_b"]),
                crs=settings.wgs84_crs,
            )
            pyogrio.write_dataframe(pts, tmp, layer="sites", driver="GPKG")
        rows = pd.DataFrame(metadata_rows(cmp.metadata), columns=["key", "value"])
        pyogrio.write_dataframe(rows, tmp, layer="metadata", driver="GPKG")
    logger.info("wrote comparison %s to %s", title, out_dir)
    return paths


def export_bytes(
    results: Sequence[CoverageResult], fmt: str, *, stem: str, subdistricts: gpd.GeoDataFrame
) -> tuple[str, bytes]:
    """One export as (file name, bytes) for a download button.

    ``fmt``: ``csv`` (the first result), ``xlsx`` or ``gpkg``. The file is named
    ``<stem>_<standards>.<fmt>`` (the scenario and the standard); it is written through a
    temporary folder and nothing is left behind.
    """
    import tempfile

    standards = results[:1] if fmt == "csv" else results
    name = f"{safe_stem(stem)}_{'-'.join(r.standard.key for r in standards)}.{fmt}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        if fmt == "csv":
            export_csv(results[0], path)
        elif fmt == "xlsx":
            export_excel(results, path)
        elif fmt == "gpkg":
            export_geopackage(results, path, subdistricts=subdistricts)
        else:
            msg = f"unknown export format {fmt!r}; use csv, xlsx or gpkg"
            raise ExportError(msg)
        return name, path.read_bytes()
