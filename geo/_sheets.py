"""Plumbing shared by every table writer: metadata as text, CSV with a metadata sidecar, Excel
sheets with real number formats (used by :mod:`geo.export`, :mod:`geo.optimize.files` and
:mod:`geo.geocoding.tables`)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from geo._io import atomic_target
from geo._safe import spreadsheet_frame, spreadsheet_text
from geo.provenance import provenance_lines
from geo.readable import column_label, number_format, readable_frame

__all__: list[str] = []  # plumbing: geo.export re-exports metadata_rows

#: A CSV's metadata sidecar: ``<csv stem>_metadata.txt`` beside it.
SIDECAR_SUFFIX = "_metadata.txt"


# --- metadata as text -------------------------------------------------------------------------


def flatten(metadata: Mapping[Any, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for raw_key, value in metadata.items():
        key = f"{prefix}{raw_key}"
        if isinstance(value, Mapping) and value:
            rows.extend(flatten(value, f"{key}."))
        else:
            rows.append((key, value))
    return rows


def render(value: Any) -> str:
    """One metadata value as text (JSON for containers)."""
    value = plain(value)
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


def plain(value: Any) -> Any:
    """Numpy scalars and paths as plain Python values."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist() if isinstance(value, np.ndarray) else value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _json_default(value: Any) -> Any:
    value = plain(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple, np.ndarray)):
        return list(value)
    return str(value)


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
    return [(key, render(value)) for key, value in flatten(metadata)]


def metadata_text(metadata: Mapping[str, Any], lang: str) -> str:
    """A sidecar's text: the readable provenance lines, then every ``key: value``."""
    heading = ("数据来源", "完整元数据") if lang == "zh" else ("Sources", "All metadata")
    lines = [heading[0], ""]
    lines += [f"{label}: {text}" for label, text in provenance_lines(metadata, lang)]
    lines += ["", heading[1], ""]
    lines += [f"{key}: {one_line(value)}" for key, value in metadata_rows(metadata)]
    return "\n".join(lines) + "\n"


def one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


# --- CSV --------------------------------------------------------------------------------------


def sidecar_of(path: Path) -> Path:
    """The metadata sidecar of a CSV file."""
    return path.with_name(f"{path.stem}{SIDECAR_SUFFIX}")


def write_csv(
    frame: pd.DataFrame,
    path: Path,
    *,
    metadata: Mapping[str, Any],
    lang: str,
    raw: bool,
    overwrite: bool,
) -> list[Path]:
    """A CSV table (UTF-8 with BOM, text quoted, header on the first line) and its sidecar.

    Readable (default): :func:`geo.readable.readable_frame`; ``raw``: the columns as they are,
    numbers at full precision. Returns the CSV and the sidecar.
    """
    table = frame.drop(columns="geometry", errors="ignore")
    table = table if raw else readable_frame(table, lang=lang)
    sidecar = sidecar_of(path)
    with (
        atomic_target(path, overwrite=overwrite) as tmp,
        tmp.open("w", encoding="utf-8-sig", newline="") as fh,
    ):
        spreadsheet_frame(table).to_csv(
            fh, index=False, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC
        )
    with atomic_target(sidecar, overwrite=overwrite) as tmp:
        tmp.write_text(metadata_text(metadata, lang), encoding="utf-8")
    return [path, sidecar]


# --- Excel ------------------------------------------------------------------------------------


def table_sheet(
    ws: Worksheet,
    frame: pd.DataFrame,
    *,
    lang: str,
    title: str,
    subtitle: str = "",
    bold_last: bool = False,
) -> None:
    """A readable table: title and subtitle rows, a bold header frozen in place, numbers with
    number formats (shares as ``0.00%`` on fractions, so values stay numeric)."""
    table = frame.drop(columns="geometry", errors="ignore")
    readable = readable_frame(table, lang=lang, for_excel=True)
    formats = [number_format(str(c)) for c in table.columns]
    ws.cell(1, 1, spreadsheet_text(title)).font = Font(bold=True, size=13)
    if subtitle:
        ws.cell(2, 1, spreadsheet_text(subtitle)).font = Font(italic=True)
    header_row = 3
    _rows(ws, readable, header_row, formats, bold_last=bold_last)
    ws.freeze_panes = ws.cell(header_row + 1, 1).coordinate


def data_sheet(ws: Worksheet, frame: pd.DataFrame) -> None:
    """The table at full precision with its column names (for analysts)."""
    table = frame.drop(columns="geometry", errors="ignore")
    _rows(ws, table, 1, [None] * len(table.columns), bold_last=False)
    ws.freeze_panes = "A2"


def _rows(
    ws: Worksheet,
    table: pd.DataFrame,
    header_row: int,
    formats: Sequence[str | None],
    *,
    bold_last: bool,
) -> None:
    columns = [str(c) for c in table.columns]
    widths = [text_width(c) for c in columns]
    for j, name in enumerate(columns, start=1):
        ws.cell(header_row, j, spreadsheet_text(name)).font = Font(bold=True)
    last = header_row + len(table)
    for i, row in enumerate(table.itertuples(index=False), start=header_row + 1):
        for j, value in enumerate(row):
            cell = ws.cell(i, j + 1, cell_value(value))
            if formats[j] is not None:
                cell.number_format = formats[j]
            if bold_last and i == last:
                cell.font = Font(bold=True)
            widths[j] = max(widths[j], text_width(shown(cell.value, formats[j])))
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 45)


def lines_sheet(ws: Worksheet, sections: Sequence[tuple[str, Sequence[tuple[str, str]]]]) -> None:
    """Readable (label, text) lines under bold section headings (the sources of each table)."""
    row = 1
    for heading, lines in sections:
        ws.cell(row, 1, spreadsheet_text(heading)).font = Font(bold=True, size=12)
        row += 1
        for label, text in lines:
            ws.cell(row, 1, spreadsheet_text(label)).font = Font(bold=True)
            ws.cell(row, 2, spreadsheet_text(text))
            row += 1
        row += 1
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 120


def cell_value(value: Any) -> Any:
    """A table value for openpyxl: plain Python, missing or non-finite numbers as empty."""
    value = plain(value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, str):
        return spreadsheet_text(value)  # a name like =HYPERLINK(...) stays text
    if isinstance(value, (bool, int, float)):
        return value
    return spreadsheet_text(str(value))


def shown(value: Any, fmt: str | None) -> str:
    """Roughly the text Excel shows for a value (for column widths)."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if fmt is not None and fmt.endswith("%"):
            return f"{value:+.2%}"
        if fmt == "#,##0":
            return f"{value:,.0f}"
        if fmt == "0.00":
            return f"{value:,.2f}"
        return f"{value:g}"
    return str(value)


def text_width(text: str) -> int:
    """Display width in Excel character units: Chinese (wide) characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def header_labels(columns: Sequence[str], lang: str) -> list[str]:
    """Readable headers of ``columns`` (for callers that label a table themselves)."""
    return [column_label(c, lang) for c in columns]
