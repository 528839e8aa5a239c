"""One provenance block for every output, and tables rounded for reading."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from geo import plan
from geo.provenance import (
    NOT_USED,
    PROVENANCE_KEYS,
    combined_provenance,
    provenance,
    provenance_lines,
)
from geo.readable import column_label, number_format, readable_frame


def _register() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["a", "b", "c"], "type": ["chc", "chc", "station"]},
        geometry=[Point(121.4, 31.1)] * 3,
        crs="EPSG:4326",
    )


def test_block_has_every_key_in_order_and_counts_against_the_official_ones() -> None:
    meta = provenance(
        "coverage walk15",
        scenario="s",
        scenario_hash="abc123",
        facilities=_register(),
        facilities_source="register.xlsx",
        parameters={"minutes": 15.0},
    )
    assert list(meta) == list(PROVENANCE_KEYS)
    assert meta["network"] == NOT_USED and meta["population_source"] == NOT_USED
    counts = meta["facility_counts"]
    assert isinstance(counts, dict)
    assert counts["chc"] == 2 and counts["station"] == 1 and counts["hospital"] == 0
    assert meta["official_counts_2020"] == plan.OFFICIAL_COUNTS_2020
    assert meta["parameters"] == {"minutes": 15.0}


def test_readable_lines_in_each_language() -> None:
    meta = provenance("coverage walk15", facilities=_register(), facilities_source="r.xlsx")
    zh = dict(provenance_lines(meta, "zh"))
    assert zh["设施"].startswith("登记表：r.xlsx；")
    assert "社区卫生服务中心 2（官方 13）" in zh["设施"]  # 13 centres officially (plan, 2020)
    assert zh["路网"] == "未使用" and zh["内容"] == "覆盖 walk15"  # one language
    assert dict(provenance_lines(meta, "en"))["Network"] == NOT_USED
    en = dict(provenance_lines(meta, "en"))
    assert "community health service centre 2 (official 13)" in en["Facilities"]


def test_combined_block_keeps_each_parts_network_and_parameters() -> None:
    walk = provenance("coverage walk15", network="walk report", parameters={"minutes": 15.0})
    ems = provenance("coverage ems_time", network="drive report", parameters={"minutes": 12.0})
    meta = combined_provenance("comparison b vs a", {"walk15": walk, "ems_time": ems}, a="a")
    assert meta["output"] == "comparison b vs a"
    assert meta["networks"] == {"walk15": "walk report", "ems_time": "drive report"}
    assert meta["parameters"] == {"walk15": {"minutes": 15.0}, "ems_time": {"minutes": 12.0}}
    assert meta["a"] == "a"
    lines = dict(provenance_lines(meta, "en"))
    assert lines["Network walk15"] == "walk report"


def test_readable_frame_rounds_by_column_and_labels_in_one_language() -> None:
    frame = pd.DataFrame(
        {
            "code": ["1", "2"],
            "residents": [157633.0099009901, 0.4],
            "covered_km2": [1.23456, np.nan],
            "resident_share": [0.858412, 1 / 3],
            "resident_share_delta": [0.0125, -0.5],
            "n_chc": [1, 0],
            "change": ["added", "removed"],
            "lon_b": [121.123456789, 121.0],
        }
    )
    out = readable_frame(frame)
    assert out["常住人口"].tolist() == [157633, 0]  # whole residents
    assert out["覆盖面积 km²"].iloc[0] == 1.23 and pd.isna(out["覆盖面积 km²"].iloc[1])
    assert out["人口覆盖率 %"].tolist() == [85.84, 33.33]  # percent, 2 decimals
    assert out["人口覆盖率 百分点（变化）"].tolist() == [1.25, -50.0]  # percentage points
    assert out["社区卫生服务中心"].tolist() == [1, 0]
    assert out["变动"].tolist() == ["新增", "移除"]
    assert out["经度（情景）"].iloc[0] == 121.123457
    excel = readable_frame(frame, lang="en", for_excel=True)
    assert excel["residents covered %"].tolist() == [0.8584, 0.3333]  # fractions for 0.00%
    assert column_label("covered_residents_a", "en") == "residents covered (base)"


@pytest.mark.parametrize(
    ("column", "fmt"),
    [
        ("area_share", "0.00%"),
        ("area_share_delta", "+0.00%;-0.00%;0.00%"),
        ("covered_km2_b", "0.00"),
        ("covered_residents", "#,##0"),
        ("facilities_per_100k", "0.00"),
        ("n_station", "#,##0"),
        ("moved_m", "#,##0"),
        ("name_zh", None),
    ],
)
def test_number_formats(column: str, fmt: str | None) -> None:
    assert number_format(column) == fmt
