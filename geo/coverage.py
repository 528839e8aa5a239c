"""Coverage per subdistrict for one standard: area from isochrones, residents from point reach.

Area coverage = isochrone polygons ∩ subdistrict (UTM 51N areas). Resident coverage is computed
from each population point's own network reach, never from polygons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.standards import Standard

#: Columns of :attr:`CoverageResult.table`, in order (``n_<type>`` columns follow ``facilities``).
TABLE_COLUMNS: tuple[str, ...] = (
    "code", "name_zh", "name_en", "boundary_status", "area_km2", "covered_km2", "area_share",
    "residents", "covered_residents", "resident_share", "off_network_residents", "facilities",
    "facilities_per_100k",
)  # fmt: skip

#: The district row's code in :attr:`CoverageResult.table`.
DISTRICT_CODE = "310112"


@dataclass(frozen=True)
class CoverageResult:
    """Coverage of one standard for one set of facilities.

    Attributes
    ----------
    standard
        The standard applied.
    table
        One row per subdistrict plus a last district row (code ``310112``): columns
        :data:`TABLE_COLUMNS` and one ``n_<type>`` column per facility type counted.
    isochrones
        One polygon per counted facility (``facility_id``, ``name``, ``type``, geometry, WGS-84).
    covered
        The merged covered area clipped to each subdistrict (``code``, ``name_zh``, geometry).
    blind_spots
        District minus covered, per subdistrict (``code``, ``name_zh``, ``area_km2``, geometry).
    facilities
        The facilities counted by this standard (WGS-84 points).
    points
        Population points with ``cost`` (seconds or metres to the nearest counted facility,
        inf if none within reach), ``covered`` and ``off_network`` flags.
    metadata
        What the figures were computed from: network source and repairs, population source,
        facility counts (and the plan's official counts), parameters, software version, time.
    """

    standard: Standard
    table: pd.DataFrame
    isochrones: gpd.GeoDataFrame
    covered: gpd.GeoDataFrame
    blind_spots: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    points: gpd.GeoDataFrame
    metadata: dict[str, Any]

    def district(self) -> pd.Series:
        """The district row of :attr:`table`."""
        return self.table.loc[self.table["code"] == DISTRICT_CODE].iloc[0]
