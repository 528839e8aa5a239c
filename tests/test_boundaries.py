from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import box

from geo import boundaries, plan
from geo._errors import UnknownSubdistrictError


def test_pack_has_14_units_with_boundary_status(pack):
    sub = boundaries.load_subdistricts()
    assert len(sub) == 14
    assert list(sub["code"]) == sorted(sub["code"])
    approx = set(sub.loc[sub["boundary_status"] == "approximate", "name_zh"])
    assert approx == {"浦江镇", "浦锦街道"}
    assert set(plan.TABLE2_NEW_SITES) == set(sub["name_zh"])


def test_areas_match_geodesic_areas(pack):
    sub = boundaries.load_subdistricts()
    geod = Geod(ellps="WGS84")
    for row in sub.itertuples():
        geodesic_km2 = abs(geod.geometry_area_perimeter(row.geometry)[0]) / 1e6
        assert row.area_km2 == pytest.approx(geodesic_km2, rel=2e-3)
    district = boundaries.load_district()
    district_km2 = abs(geod.geometry_area_perimeter(district.geometry.iloc[0])[0]) / 1e6
    assert district_km2 == pytest.approx(plan.PLAN_AREA_KM2, rel=0.01)


@pytest.mark.parametrize(
    "query", ["310112102", "七宝镇", "七宝", "Qibao Town", "qibao", " 七宝镇 "]
)
def test_find_subdistrict_by_code_or_name(pack, query):
    assert boundaries.find_subdistrict(query)["code"] == "310112102"


def test_find_subdistrict_wrong_name_lists_valid_units(pack):
    with pytest.raises(
        UnknownSubdistrictError, match=r"unknown subdistrict '七堡'.*310112102 七宝镇"
    ):
        boundaries.find_subdistrict("七堡")


def _two_squares() -> gpd.GeoDataFrame:
    # A spans lon 121.400–121.420, B spans 121.419–121.440: a 0.001° (~95 m) overlap strip.
    return gpd.GeoDataFrame(
        {
            "code": ["2", "1", "5", "3"],
            "name_zh": ["甲", "乙", "丙", "丁"],
            "name_en": ["A", "B", "C", "D"],
            "boundary_status": "surveyed",
        },
        geometry=[
            box(121.400, 31.10, 121.420, 31.12),
            box(121.419, 31.10, 121.440, 31.12),
            box(121.50, 31.10, 121.52, 31.12),
            box(121.50, 31.10, 121.52, 31.12),
        ],
        crs="EPSG:4326",
    )


def test_assign_overlap_goes_to_the_deeper_unit():
    gdf = _two_squares()
    # 121.4198 is 0.0002° inside A's east edge but 0.0008° inside B's west edge: B is deeper.
    # 121.4192 is the mirror case: A is deeper.
    codes = boundaries.assign_subdistricts([121.4198, 121.4192, 121.41, 121.43], 31.11, gdf)
    assert list(codes) == ["1", "2", "2", "1"]


def test_assign_exact_tie_goes_to_lower_code():
    gdf = _two_squares()  # C (code 5) and D (code 3) are the same square
    assert boundaries.assign_subdistricts(121.51, 31.11, gdf)[()] == "3"


def test_assign_gap_tolerance():
    gdf = _two_squares()
    # 0.002° of latitude ≈ 222 m south of A; 0.02° ≈ 2.2 km.
    codes = boundaries.assign_subdistricts([121.41, 121.41, np.nan], [31.098, 31.08, 31.1], gdf)
    assert codes[0] == "2"
    assert codes[1] is None
    assert codes[2] is None
    strict = boundaries.assign_subdistricts(121.41, 31.098, gdf, max_gap_meters=0)
    assert strict[()] is None


def test_add_subdistrict_on_pack(pack):
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([121.35, 121.47], [31.15, 31.09]), crs=4326)
    boundaries.add_subdistrict(pts)
    assert list(pts["subdistrict_zh"]) == ["七宝镇", "浦锦街道"]
    assert list(pts["boundary_status"]) == ["surveyed", "approximate"]


def test_default_units_follow_a_change_of_data_folder(monkeypatch, tmp_path, pack):
    from geo import coverage, settings

    assert len(boundaries.subdistricts()) == 14
    folder = tmp_path / "other"
    (folder / "boundaries").mkdir(parents=True)
    one = gpd.GeoDataFrame(
        {"code": ["1"], "name_zh": ["甲"], "name_en": ["A"]},
        geometry=[box(121.30, 31.10, 121.31, 31.11)],
        crs="EPSG:4326",
    )
    one.to_file(folder / "boundaries/subdistricts.geojson", driver="GeoJSON")
    monkeypatch.setattr(settings, "data_folder", folder)
    assert boundaries.subdistricts()["name_zh"].tolist() == ["甲"]
    assert coverage.partition_subdistricts()["code"].tolist() == ["1"]
    monkeypatch.setattr(settings, "data_folder", None)
    assert len(boundaries.subdistricts()) == 14
    assert len(coverage.partition_subdistricts()) == 14
