"""Export coverage results to the files a planner opens: CSV, Excel and GeoPackage.

One :class:`~geo.coverage.CoverageResult` per standard (``walk15``, ``ems_distance``,
``ems_time``, ``straight_line``). Every file carries the results' provenance block
(:func:`geo.provenance.provenance`: network source, date and repairs, population source,
facility counts against the official ones, parameters, scenario hash, software version, time),
flattened by :func:`metadata_rows` into ``("a.b", "text")`` rows.

Tables are written for reading (:func:`geo.readable.readable_frame`: whole residents, km² to 2
decimals, shares in percent, headers in 中文 or English) unless ``raw`` is asked for.

============================  ==============================================================
file                          content
============================  ==============================================================
``<stem>_<std>.csv``          UTF-8 with BOM (Excel opens Chinese correctly), the header on
                              the first line, subdistrict rows then the district row; any
                              spreadsheet opens it as it is
``<stem>_<std>_metadata.txt`` its sidecar: readable sources, then every ``key: value``
``<stem>.xlsx``               one readable sheet per standard (numbers with number formats,
                              header frozen), ``sources`` (readable provenance), ``data``
                              (every table at full precision) and ``metadata`` (every key)
``<stem>.gpkg``               WGS-84 layers ``subdistricts_<std>``, ``isochrones_<std>``,
                              ``covered_<std>``, ``blind_spots_<std>``, ``facilities`` (the
                              whole register, with the standards that count each one) and the
                              non-spatial table ``metadata`` (``key``, ``value``, ``standard``)
============================  ==============================================================

Every write is atomic: the file is written in a hidden temporary folder beside the target and
moved into place with :func:`os.replace`, so a crash never leaves a half-written export. An
existing file is replaced only with ``overwrite=True``.
"""

from __future__ import annotations

import logging
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
from geo._io import atomic_target, staged_set
from geo._safe import spreadsheet_text
from geo._sheets import (
    data_sheet,
    flatten,
    lines_sheet,
    metadata_rows,
    plain,
    render,
    sidecar_of,
    table_sheet,
    text_width,
    write_csv,
)
from geo._tables import district_code
from geo.coverage import TABLE_COLUMNS, CoverageResult
from geo.messages import localise
from geo.provenance import provenance_lines

if TYPE_CHECKING:  # scenarios imports nothing from here; the type is only named
    from geo.scenarios import Comparison

__all__ = [
    "DATA_NAME",
    "DEFAULT_STEM",
    "MAX_STEM_CHARS",
    "METADATA_NAME",
    "SOURCES_NAME",
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
#: Excel: the readable sources sheet and the full-precision data sheet.
SOURCES_NAME = "sources"
DATA_NAME = "data"


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


def _definition(result: CoverageResult) -> dict[str, Any]:
    """The standard's definition: name, labels, mode, cost, limit, types, parameters."""
    std = result.standard
    return {
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


def _result_items(result: CoverageResult) -> list[tuple[str, Any]]:
    """The standard's definition, then the result's metadata, as flat (key, raw value) rows."""
    return flatten({"standard": _definition(result)}) + flatten(result.metadata)


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
        "n/a" if population is None else render(population),
        "n/a" if network is None else render(network),
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
    is_district = table["code"].astype(str) == district_code()
    return pd.concat([table[~is_district], table[is_district]]).reset_index(drop=True)


# --- CSV --------------------------------------------------------------------------------------


def _sidecar_metadata(result: CoverageResult) -> dict[str, Any]:
    """The result's provenance block and the standard's definition (for a CSV's sidecar)."""
    return {**result.metadata, "standard_definition": _definition(result)}


def export_csv(
    result: CoverageResult,
    path: Path,
    *,
    lang: str = "zh",
    raw: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write one result's coverage table as CSV (UTF-8 with BOM) and its metadata sidecar.

    The CSV has the header on its first line, the subdistrict rows, then the district row; any
    spreadsheet opens it as it is (no comment lines). Readable by default: residents as whole
    numbers, km² to 2 decimals, shares in percent (85.84), headers in ``lang``
    (:func:`geo.readable.readable_frame`). With ``raw`` the columns of
    :attr:`CoverageResult.table` are written as they are, at full precision (shares as
    fractions 0–1), so ``pd.read_csv(path, encoding="utf-8-sig", dtype={"code": str})`` gives
    the table back exactly. Text cells are quoted and never start a formula.

    The metadata goes to ``<stem>_metadata.txt`` beside the CSV: the readable sources
    (:func:`geo.provenance.provenance_lines`), then every ``key: value``.

    Parameters
    ----------
    result
        The coverage of one standard.
    path
        The CSV file to write (its folder is created if needed).
    lang
        ``"zh"`` or ``"en"``: headers and the sidecar's readable lines.
    raw
        Full precision and the column names as they are.
    overwrite
        Replace existing files; otherwise an existing CSV or sidecar raises
        :class:`FileExistsError`.

    Returns
    -------
    Path
        ``path`` (the sidecar is ``path`` with ``_metadata.txt`` in place of ``.csv``).
    """
    path = Path(path)
    table = _table(result)
    write_csv(
        table, path, metadata=_sidecar_metadata(result), lang=lang, raw=raw, overwrite=overwrite
    )
    logger.info("wrote %s (%s: %d rows)", path, result.standard.key, len(table))
    return path


# --- Excel ------------------------------------------------------------------------------------


def export_excel(
    results: Sequence[CoverageResult],
    path: Path,
    *,
    lang: str = "zh",
    overwrite: bool = False,
) -> Path:
    """Write an Excel workbook: one readable sheet per standard, ``sources``, ``data``,
    ``metadata``.

    A standard's sheet (named ``standard.key``: ``<name>``, or ``<name>_standin`` for a stand-in)
    has a title row (the standard's label in ``lang``), a sources row (population and network),
    then the table with a bold header frozen in place and the district row in bold. Numbers
    stay numbers: shares are fractions formatted ``0.00%``, km² ``0.00``, residents and counts
    whole numbers ``#,##0``; headers in ``lang``; missing values are empty cells.

    ``sources`` lists each standard's provenance as readable lines
    (:func:`geo.provenance.provenance_lines`). ``data`` holds every table at full precision with
    its column names (a ``standard`` column first), for analysts. ``metadata`` is wide: column A
    ``key``, then one column per standard, one row per key (the standard's definition first,
    then the :func:`metadata_rows` keys); numeric values are numbers, everything else text.

    Parameters
    ----------
    results
        One result per standard; standard names must be distinct.
    path
        The ``.xlsx`` file to write (its folder is created if needed).
    lang
        ``"zh"`` or ``"en"``.
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
        std = result.standard
        population, network = _sources(result)
        subtitle = (
            f"人口：{localise(population, 'zh')}；路网：{localise(network, 'zh')}"
            if lang == "zh"
            else f"population: {population}; network: {network}"
        )
        table_sheet(
            wb.create_sheet(std.key),
            _table(result),
            lang=lang,
            title=std.label_zh if lang == "zh" else std.label_en,
            subtitle=subtitle,
            bold_last=True,
        )
    lines_sheet(
        wb.create_sheet(SOURCES_NAME),
        [
            (r.standard.label_zh if lang == "zh" else r.standard.label_en,
             provenance_lines(r.metadata, lang))
            for r in results
        ],
    )  # fmt: skip
    data_sheet(
        wb.create_sheet(DATA_NAME),
        pd.concat([_table(r).assign(standard=r.standard.key) for r in results]).pipe(
            lambda t: t[["standard", *[c for c in t.columns if c != "standard"]]]
        ),
    )
    _metadata_sheet(wb.create_sheet(METADATA_NAME), results)
    with atomic_target(path, overwrite=overwrite) as tmp:
        wb.save(tmp)
    logger.info("wrote %s (sheets: %s)", path, ", ".join(wb.sheetnames))
    return path


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
    widths = [text_width("key"), *(text_width(n) for n in names)]
    for i, key in enumerate(order, start=2):
        by_standard = values[key]
        ws.cell(i, 1, key)
        widths[0] = max(widths[0], text_width(key))
        for j, name in enumerate(names, start=2):
            if name in by_standard:
                value = _metadata_cell(by_standard[name])
                ws.cell(i, j, value)
                widths[j - 1] = max(widths[j - 1], text_width(str(value)))
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 10), 60)
    ws.freeze_panes = "B2"


def _metadata_cell(value: Any) -> Any:
    """A metadata value for Excel: finite numbers as numbers, the rest as text."""
    value = plain(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
        return value
    return spreadsheet_text(render(value))


# --- GeoPackage -------------------------------------------------------------------------------


def export_geopackage(
    results: Sequence[CoverageResult],
    path: Path,
    *,
    subdistricts: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a GeoPackage (EPSG:4326) for GIS: stats per subdistrict, isochrones, blind spots.

    Layers, per standard ``<std>``: ``subdistricts_<std>`` (the subdistrict polygons joined by
    ``code`` with that standard's table rows; the district row is left out), ``isochrones_<std>``,
    ``covered_<std>`` and ``blind_spots_<std>`` (rows with an empty geometry dropped); then
    ``facilities`` (the whole register ``facilities`` with a ``counted_in`` column naming the
    standards that count each facility, comma-separated; without a register, every result's
    counted facilities, de-duplicated by ``id``) and the non-spatial table ``metadata``
    (``key``, ``value``, ``standard``; the standard's definition, then :func:`metadata_rows`).
    Population points are not written.

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
    facilities
        The whole facility register of the run (e.g. ``run.resolved.facilities.gdf``).
    overwrite
        Replace an existing file; otherwise an existing ``path`` raises :class:`FileExistsError`.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    results = _check_results(results)
    layers = _geopackage_layers(results, subdistricts, facilities)
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
    results: Sequence[CoverageResult],
    subdistricts: gpd.GeoDataFrame,
    register: gpd.GeoDataFrame | None,
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
    layers["facilities"] = _all_facilities(results, register)
    layers[METADATA_NAME] = pd.DataFrame(
        [(key, render(value), r.standard.key) for r in results for key, value in _result_items(r)],
        columns=["key", "value", "standard"],
    )
    return layers


def _join_stats(polygons: gpd.GeoDataFrame, result: CoverageResult) -> gpd.GeoDataFrame:
    table = _table(result)
    table = table[table["code"].astype(str) != district_code()].assign(
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


def _all_facilities(
    results: Sequence[CoverageResult], register: gpd.GeoDataFrame | None
) -> gpd.GeoDataFrame:
    if register is not None:
        gdf = _wgs84(register, "facilities").reset_index(drop=True)
        ids = gdf["id"].astype(str) if "id" in gdf.columns else pd.Series(gdf.index.astype(str))
        counting = {
            r.standard.key: set(r.facilities["id"].astype(str)) if "id" in r.facilities else set()
            for r in results
        }
        gdf["counted_in"] = [",".join(k for k, held in counting.items() if i in held) for i in ids]
        return gdf
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
        kinds = {type(plain(v)) for v in out[column] if not _is_missing(v)}
        if kinds and kinds <= {int, float}:
            out[column] = pd.to_numeric(out[column]).astype(float)
        elif len(kinds) > 1 or kinds & {list, tuple, dict, set, frozenset}:
            out[column] = out[column].map(lambda v: None if _is_missing(v) else render(v))
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
    facilities: gpd.GeoDataFrame | None = None,
    lang: str = "zh",
    raw: bool = False,
    overwrite: bool = False,
) -> list[Path]:
    """Write every export of a set of results into one folder.

    Files: ``<stem>_<standard>.csv`` and its ``<stem>_<standard>_metadata.txt`` per result,
    ``<stem>.xlsx`` and ``<stem>.gpkg``, with ``stem`` passed through :func:`safe_stem`. All
    targets are checked first, so a refusal writes nothing; the set is written in a staging
    folder and moved into place together.

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
    facilities
        The whole facility register for the GeoPackage's ``facilities`` layer.
    lang
        ``"zh"`` or ``"en"``: headers and readable sources.
    raw
        CSVs at full precision with the column names as they are (the workbook always has both).
    overwrite
        Replace existing files; otherwise any existing target raises :class:`FileExistsError`.

    Returns
    -------
    list of Path
        The CSV files and their sidecars (in the order of ``results``), the workbook, the
        GeoPackage.
    """
    results = _check_results(results)
    out_dir = Path(out_dir)
    base = safe_stem(stem)
    csv_paths = [out_dir / f"{base}_{r.standard.key}.csv" for r in results]
    xlsx, gpkg = out_dir / f"{base}.xlsx", out_dir / f"{base}.gpkg"
    sidecars = [sidecar_of(p) for p in csv_paths]
    targets = [*(p for pair in zip(csv_paths, sidecars, strict=True) for p in pair), xlsx, gpkg]
    with staged_set(out_dir, [p.name for p in targets], overwrite=overwrite) as stage:
        for result, csv_path in zip(results, csv_paths, strict=True):
            export_csv(result, stage / csv_path.name, lang=lang, raw=raw)
        export_excel(results, stage / xlsx.name, lang=lang)
        export_geopackage(
            results, stage / gpkg.name, subdistricts=subdistricts, facilities=facilities
        )
    return targets


# --- scenario comparisons ---------------------------------------------------------------------


def export_comparison(
    cmp: Comparison,
    out_dir: Path,
    *,
    stem: str,
    lang: str = "zh",
    raw: bool = False,
    overwrite: bool = False,
) -> list[Path]:
    """Write a :class:`geo.scenarios.Comparison` like the coverage tables.

    ``<stem>.csv`` (per standard × unit: base, scenario and change; shares' changes in
    percentage points), ``<stem>_sites.csv`` (added, moved, removed), each with its
    ``_metadata.txt`` sidecar (the comparison's provenance block); ``<stem>.xlsx`` (sheets
    ``changes``, ``sites``, ``sources``, ``data``, ``metadata``) and ``<stem>.gpkg`` (layers
    ``gained``, ``lost``, ``sites``, ``metadata``). The set is written together, atomically.
    """
    out_dir = Path(out_dir)
    base = safe_stem(stem)
    tables, sites = out_dir / f"{base}.csv", out_dir / f"{base}_sites.csv"
    xlsx, gpkg = out_dir / f"{base}.xlsx", out_dir / f"{base}.gpkg"
    targets = [tables, sidecar_of(tables), sites, sidecar_of(sites), xlsx, gpkg]
    title = f"{cmp.b} 与 {cmp.a} 比较" if lang == "zh" else f"{cmp.b} compared with {cmp.a}"
    meta = cmp.metadata
    with staged_set(out_dir, [p.name for p in targets], overwrite=overwrite) as stage:
        write_csv(
            cmp.table, stage / tables.name, metadata=meta, lang=lang, raw=raw, overwrite=False
        )
        write_csv(cmp.sites, stage / sites.name, metadata=meta, lang=lang, raw=raw, overwrite=False)
        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = "changes"
        table_sheet(ws, cmp.table, lang=lang, title=title)
        sites_title = "新增、移动或移除的设施" if lang == "zh" else "Sites added, moved or removed"
        table_sheet(wb.create_sheet("sites"), cmp.sites, lang=lang, title=sites_title)
        lines_sheet(wb.create_sheet(SOURCES_NAME), [(title, provenance_lines(meta, lang))])
        data_sheet(wb.create_sheet(DATA_NAME), cmp.table)
        rows = wb.create_sheet(METADATA_NAME)
        rows.append(["key", "value"])
        for key, value in metadata_rows(meta):
            rows.append([key, spreadsheet_text(value)])
        wb.save(stage / xlsx.name)
        _comparison_geopackage(cmp, stage / gpkg.name)
    logger.info("wrote comparison %s to %s", title, out_dir)
    return targets


def _comparison_geopackage(cmp: Comparison, path: Path) -> None:
    for layer, gdf in (("gained", cmp.gained), ("lost", cmp.lost)):
        if not gdf.empty:
            pyogrio.write_dataframe(
                gdf.to_crs(settings.wgs84_crs), path, layer=layer, driver="GPKG"
            )
    sites = cmp.sites.dropna(subset=["lon_b"]).copy() if len(cmp.sites) else cmp.sites
    if len(sites):
        pts = gpd.GeoDataFrame(
            sites,
            geometry=gpd.points_from_xy(sites["lon_b"], sites["lat_b"]),
            crs=settings.wgs84_crs,
        )
        pyogrio.write_dataframe(_gpkg_ready(pts), path, layer="sites", driver="GPKG")
    rows = pd.DataFrame(metadata_rows(cmp.metadata), columns=["key", "value"])
    pyogrio.write_dataframe(rows, path, layer="metadata", driver="GPKG")


def export_bytes(
    results: Sequence[CoverageResult],
    fmt: str,
    *,
    stem: str,
    subdistricts: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame | None = None,
    lang: str = "zh",
) -> tuple[str, bytes]:
    """One export as (file name, bytes) for a download button.

    ``fmt``: ``csv`` (the first result, readable), ``metadata`` (that CSV's sidecar text),
    ``xlsx`` or ``gpkg``. The file is named ``<stem>_<standards>.<ext>`` (the scenario and the
    standard); it is written through a temporary folder and nothing is left behind.
    """
    import tempfile

    standards = results[:1] if fmt in ("csv", "metadata") else results
    base = f"{safe_stem(stem)}_{'-'.join(r.standard.key for r in standards)}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{base}.csv"
        if fmt in ("csv", "metadata"):
            export_csv(results[0], path, lang=lang)
            path = sidecar_of(path) if fmt == "metadata" else path
        elif fmt == "xlsx":
            path = export_excel(results, Path(tmp) / f"{base}.xlsx", lang=lang)
        elif fmt == "gpkg":
            path = export_geopackage(
                results, Path(tmp) / f"{base}.gpkg", subdistricts=subdistricts,
                facilities=facilities,
            )  # fmt: skip
        else:
            msg = f"unknown export format {fmt!r}; use csv, metadata, xlsx or gpkg"
            raise ExportError(msg)
        return path.name, path.read_bytes()
