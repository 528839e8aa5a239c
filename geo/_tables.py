"""The per-subdistrict coverage table: built from scratch (:func:`coverage_table`) or, under
edits, from the parts no edit changes (:class:`TableParts`, numpy). Both give the same frame."""

from __future__ import annotations

from collections import Counter
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from geo import settings
from geo.population import Population
from geo.reach import FloatArray
from geo.standards import Standard

__all__ = [
    "DISTRICT_CODE",
    "TABLE_COLUMNS",
    "TableParts",
    "coverage_table",
    "district_code",
    "district_names",
    "district_status",
]

#: The district row's code in :attr:`CoverageResult.table`.
DISTRICT_CODE = "310112"

#: Columns of :attr:`CoverageResult.table`, in order (``n_<type>`` columns follow ``facilities``).
TABLE_COLUMNS: tuple[str, ...] = (
    "code",
    "name_zh",
    "name_en",
    "boundary_status",
    "area_km2",
    "covered_km2",
    "area_share",
    "residents",
    "covered_residents",
    "resident_share",
    "off_network_residents",
    "facilities",
    "facilities_per_100k",
)


def coverage_table(
    standard: Standard,
    part: gpd.GeoDataFrame,
    covered_km2: npt.ArrayLike,
    points: gpd.GeoDataFrame,
    counted: gpd.GeoDataFrame,
) -> pd.DataFrame:
    w = points["weight"].to_numpy()
    by = points["subdistrict_code"]
    table = part[["code", "name_zh", "name_en", "boundary_status", "area_km2"]].copy()
    table["covered_km2"] = np.asarray(covered_km2, float)
    table["residents"] = table["code"].map(pd.Series(w).groupby(by.to_numpy()).sum()).fillna(0.0)
    cov = pd.Series(np.where(points["covered"], w, 0.0)).groupby(by.to_numpy()).sum()
    off = pd.Series(np.where(points["off_network"], w, 0.0)).groupby(by.to_numpy()).sum()
    table["covered_residents"] = table["code"].map(cov).fillna(0.0)
    table["off_network_residents"] = table["code"].map(off).fillna(0.0)
    per_type = Counter(  # (unit, type) → facilities; a few rows: no pandas crosstab (~40 ms)
        zip(counted["subdistrict_code"].tolist(), counted["type"].tolist(), strict=True)
    )
    codes = table["code"].tolist()
    for t in standard.facility_types:
        table[f"n_{t}"] = np.array([per_type.get((c, t), 0) for c in codes], dtype=int)
    table["facilities"] = table[[f"n_{t}" for t in standard.facility_types]].sum(axis=1)
    district = {
        "code": district_code(),
        **district_names(),
        "boundary_status": district_status(table),
    }
    for col in table.columns:
        if col not in district:
            district[col] = table[col].sum()
    table = pd.concat([table, pd.DataFrame([district])], ignore_index=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["area_share"] = table["covered_km2"] / table["area_km2"]
        table["resident_share"] = table["covered_residents"] / table["residents"]
        table["facilities_per_100k"] = table["facilities"] / table["residents"] * 1e5
    type_cols = [f"n_{t}" for t in standard.facility_types]
    out: pd.DataFrame = table[[*TABLE_COLUMNS, *type_cols]]
    return out


def district_code() -> str:
    """The district row's code: the area's (``area.toml``; Minhang: :data:`DISTRICT_CODE`)."""
    return settings.area_inputs().get("code", DISTRICT_CODE)


def district_names() -> dict[str, str]:
    """The district row's names: the data folder's ``area.toml`` (Minhang: 闵行区)."""
    area = settings.area_inputs()
    name = area.get("name", "闵行区")
    return {
        "name_zh": area.get("name_zh", name),
        "name_en": area.get("name_en", "Minhang District" if name == "闵行区" else name),
    }


def district_status(table: pd.DataFrame) -> str:
    """``surveyed``, or ``partly approximate (...)`` naming the units drawn approximately."""
    approx = table.loc[table["boundary_status"] != "surveyed", "name_zh"].tolist()
    return "surveyed" if not approx else f"partly approximate ({', '.join(approx)})"


class TableParts:
    """What a session's table needs that edits never change: the units, each resident's unit,
    residents and off-network residents per unit. :meth:`table` adds the covered residents and
    facility counts with numpy and gives the same frame as :func:`_table`."""

    def __init__(
        self,
        standard: Standard,
        part: gpd.GeoDataFrame,
        population: Population,
        off_network: npt.NDArray[np.bool_],
    ) -> None:
        self.standard = standard
        self.base = part[["code", "name_zh", "name_en", "boundary_status", "area_km2"]]
        self.codes = part["code"].to_numpy()
        self.lookup = {str(c): i for i, c in enumerate(self.codes)}
        units = population.gdf["subdistrict_code"].map(self.lookup)
        self.unit = units.fillna(-1).to_numpy(dtype=np.int64)  # -1: a point in no unit
        self.weight = population.gdf["weight"].to_numpy(dtype=float)
        self.residents = self._per_unit(self.weight)
        self.off = self._per_unit(np.where(off_network, self.weight, 0.0))
        row = {
            "code": district_code(),
            **district_names(),
            "boundary_status": district_status(part),
            "area_km2": self.base["area_km2"].sum(),
        }  # the text columns and areas of every row, the district's last (as coverage_table)
        self.head = pd.concat([self.base, pd.DataFrame([row])], ignore_index=True)

    def _per_unit(self, values: FloatArray) -> FloatArray:
        inside = self.unit >= 0
        out: FloatArray = np.bincount(
            self.unit[inside], values[inside], minlength=len(self.codes)
        ).astype(float)
        return out

    def table(
        self,
        covered_km2: FloatArray,
        covered: npt.NDArray[np.bool_],
        facility_units: npt.NDArray[np.object_],
        facility_types: npt.NDArray[np.object_],
    ) -> pd.DataFrame:
        types = self.standard.facility_types
        fac_unit = np.array([self.lookup.get(str(c), -1) for c in facility_units], np.int64)
        counts = {
            t: np.bincount(
                fac_unit[(facility_types == t) & (fac_unit >= 0)], minlength=len(self.codes)
            ).astype(int)
            for t in types
        }
        cols: dict[str, Any] = {
            "covered_km2": np.asarray(covered_km2, float),
            "residents": self.residents,
            "covered_residents": self._per_unit(np.where(covered, self.weight, 0.0)),
            "off_network_residents": self.off,
            **{f"n_{t}": counts[t] for t in types},
        }
        facilities = np.sum([counts[t] for t in types], axis=0) if types else np.zeros(0, int)
        cols["facilities"] = facilities.astype(int)
        full = {key: np.append(values, values.sum()) for key, values in cols.items()}
        area = self.head["area_km2"].to_numpy()  # each unit, then the district (the sum)
        with np.errstate(invalid="ignore", divide="ignore"):
            full["area_share"] = full["covered_km2"] / area
            full["resident_share"] = full["covered_residents"] / full["residents"]
            full["facilities_per_100k"] = full["facilities"] / full["residents"] * 1e5
        columns = [*TABLE_COLUMNS, *[f"n_{t}" for t in types]]
        data = {c: self.head[c] if c in self.head else full[c] for c in columns}
        return pd.DataFrame(data)
