"""Column-wise row checks for facility lists: problems per row, numbers, lookups, notes.

Every check runs on whole columns; :class:`RowChecks` turns them into row-by-row problems in the
order the checks ran, with spreadsheet row numbers.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from geo import boundaries
from geo._errors import RowProblem, UnknownSubdistrictError
from geo._validate import parse_float

__all__ = [
    "OUTSIDE_SHARE_WARNING",
    "RowChecks",
    "declared_elsewhere",
    "lookup",
    "mostly_outside",
    "numbers",
    "subdistrict_code",
]


class RowChecks:
    """Problems found column by column, reported row by row in the order the checks ran."""

    def __init__(self, cells: pd.DataFrame, row_no: npt.NDArray[np.int64]) -> None:
        self.cells = cells
        self.row_no = row_no
        self._found: list[tuple[npt.NDArray[np.intp], str, list[object], list[str]]] = []
        self._failed = np.zeros(len(cells), bool)

    def bad(self, mask: npt.NDArray[np.bool_], name: str, reason: str) -> None:
        """Record ``reason`` for the rows in ``mask``, showing each row's cell."""
        idx = np.flatnonzero(mask)
        self.bad_rows(idx, name, self.cells[name].iloc[idx].tolist(), [reason] * len(idx))

    def bad_rows(
        self, idx: npt.NDArray[np.intp], name: str, values: list[object], reasons: list[str]
    ) -> None:
        """Record one value and one reason per row index in ``idx``."""
        if not len(idx):
            return
        self._found.append((idx, name, values, reasons))
        self._failed[idx] = True

    def has(self, name: str) -> npt.NDArray[np.bool_]:
        """Rows with a problem already recorded for field ``name``."""
        out = np.zeros(len(self.cells), bool)
        for idx, field_name, _, _ in self._found:
            if field_name == name:
                out[idx] = True
        return out

    def failed(self) -> npt.NDArray[np.bool_]:
        return self._failed.copy()

    def problems(self) -> list[RowProblem]:
        flat = [
            (int(i), k, name, value, reason)
            for k, (idx, name, values, reasons) in enumerate(self._found)
            for i, value, reason in zip(idx, values, reasons, strict=True)
        ]
        flat.sort(key=lambda p: (p[0], p[1]))
        return [RowProblem(int(self.row_no[i]), name, v, r) for i, _, name, v, r in flat]


def lookup(column: pd.Series, parse: Any) -> pd.Series:
    """``parse`` applied once per distinct value of ``column``."""
    codes, uniques = pd.factorize(column)
    parsed = np.array([None, *(parse(v) for v in uniques)], dtype=object)
    return pd.Series(parsed[codes + 1], index=column.index, dtype=object)


def declared_elsewhere(
    gdf: gpd.GeoDataFrame, sub: gpd.GeoDataFrame, *, limit: int = 10
) -> list[str]:
    """Notes for rows whose declared 街镇 differs from the one their coordinates fall in."""
    if "subdistrict_declared" not in gdf or gdf.empty:
        return []
    declared = gdf["subdistrict_declared"]
    differ = (
        declared.notna() & gdf["subdistrict_code"].notna() & (declared != gdf["subdistrict_code"])
    )
    if not differ.any():
        return []
    names = sub.set_index("code")["name_zh"]
    rows = gdf.iloc[np.flatnonzero(differ.to_numpy())[:limit]]
    shown = [
        f"row {row} {name}: declared {names.get(code)}, located in {located}"
        for row, name, code, located in zip(
            rows["_row"],
            rows["name"],
            rows["subdistrict_declared"],
            rows["subdistrict_zh"],
            strict=True,
        )
    ]
    more = f" (and {int(differ.sum()) - limit} more)" if differ.sum() > limit else ""
    return [
        f"{int(differ.sum())} row(s) declare a subdistrict other than the one their coordinates "
        f"fall in; the location is used: " + "; ".join(shown) + more
    ]


def subdistrict_code(text: str, sub: gpd.GeoDataFrame) -> str | None:
    if not text:
        return None
    try:
        return str(boundaries.find_subdistrict(text, sub)["code"])
    except UnknownSubdistrictError:
        return None


def numbers(
    checks: RowChecks, name: str, *, minimum: float | None = None
) -> npt.NDArray[np.float64]:
    """Column ``name`` as floats (NaN where blank); text and non-finite numbers are problems."""
    cells = checks.cells[name]
    values = np.array(pd.to_numeric(cells, errors="coerce"), dtype=float)
    retry = np.flatnonzero(np.isnan(values) & (cells != "").to_numpy())
    bad = np.zeros(len(cells), bool)
    for i, text in zip(retry, cells.to_numpy()[retry], strict=True):  # full-width digits, 1,234
        try:
            parsed = parse_float(text)
        except ValueError:
            bad[i] = True
            continue
        values[i] = np.nan if parsed is None else parsed
    infinite = np.isinf(values)
    bad |= infinite
    values[bad] = np.nan
    checks.bad(bad, name, "not a number")
    if minimum is not None:
        low = values < minimum
        checks.bad(low, name, f"must be ≥ {minimum:g}")
        values[low] = np.nan
    return values


#: A facility list with more than this share of its rows outside the district is probably for
#: another district or in another coordinate system: it gets a warning naming the share.
OUTSIDE_SHARE_WARNING = 0.5


def mostly_outside(outside: int, rows: int, *, source: str, sub: gpd.GeoDataFrame) -> str | None:
    if not rows or outside / rows <= OUTSIDE_SHARE_WARNING:
        return None
    x0, y0, x1, y1 = (float(b) for b in np.round(sub.total_bounds, 2))
    return (
        f"WARNING: {outside:,} of {rows:,} rows of {source} ({100 * outside / rows:.1f}%) lie "
        f"outside the district (lon {x0}–{x1}, lat {y0}–{y1}): is the list for another "
        "district, or are its coordinates in another system (WGS-84/GCJ-02/BD-09) or swapped?"
    )
