"""The plan's figures in ``geo.plan`` against what they must agree with.

The figures themselves are quoted from the plan (not in CI); these checks catch a typo or a drift:
between the quotas and the subdistricts in ``data/``, between the official counts and the
standards that use them, between the figures and the README that quotes them, and between the
corridor names and the embedded road layer.
"""

from __future__ import annotations

import pyogrio
import pytest

from geo import _io, boundaries, plan, settings
from geo.facilities import BASIC_LEVEL_TYPES
from geo.standards import make_standard

ROADS = "roads/minhang_roads_osm_simplified.geojson"


def test_table_2_quotas_cover_exactly_the_14_subdistricts(pack):
    names = set(boundaries.load_subdistricts()["name_zh"])
    assert len(names) == 14
    assert set(plan.TABLE2_NEW_SITES) == names  # no unit missing, none misspelt


def test_table_2_totals_are_the_plans_6_centres_and_26_stations():
    # the plan's text: 新建社区卫生服务中心及分中心6所，卫生服务站26所 — 32 sites
    centres = [c for c, _ in plan.TABLE2_NEW_SITES.values()]
    stations = [s for _, s in plan.TABLE2_NEW_SITES.values()]
    assert (sum(centres), sum(stations)) == (6, 26)
    assert sum(centres) + sum(stations) == 32
    assert all(isinstance(n, int) and n >= 0 for n in centres + stations)


def test_blind_spot_units_are_subdistricts(pack):
    names = set(boundaries.load_subdistricts()["name_zh"])
    assert set(plan.BASELINE_BLIND_SPOT_UNITS) <= names


def test_official_counts_of_the_walk15_types_are_the_157_basic_level_facilities():
    # 13 centres + 17 branch centres + 77 stations + 50 village clinics (plan, end of 2020)
    walk15 = make_standard("walk15")
    assert walk15.facility_types == BASIC_LEVEL_TYPES
    assert [plan.OFFICIAL_COUNTS_2020[t] for t in walk15.facility_types] == [13, 17, 77, 50]
    assert sum(plan.OFFICIAL_COUNTS_2020[t] for t in walk15.facility_types) == 157


def test_ems_standards_default_to_the_plans_radius_and_response_time():
    assert make_standard("ems_distance").limit == plan.EMS_SERVICE_RADIUS_KM * 1000
    assert make_standard("straight_line").limit == plan.EMS_SERVICE_RADIUS_KM * 1000
    ems_time = make_standard("ems_time")
    assert ems_time.params["minutes"] == plan.EMS_RESPONSE_MINUTES
    delay = ems_time.params["dispatch_delay_minutes"]
    assert ems_time.limit == (plan.EMS_RESPONSE_MINUTES - delay) * 60


def test_readme_quotes_the_same_figures():
    readme = " ".join((settings.REPO_ROOT / "README.md").read_text("utf-8").split())
    for share in (plan.BASELINE_WALK15_AREA_SHARE, plan.BASELINE_WALK15_RESIDENT_SHARE):
        assert f"{100 * share:.2f}%" in readme
    assert f"{plan.PLAN_AREA_KM2} km²" in readme
    assert "157 basic-level facilities" in readme
    assert f"Table 2's {sum(map(sum, plan.TABLE2_NEW_SITES.values()))} " in readme
    assert f"{plan.NEW_AMBULANCE_SUBSTATIONS} ambulance" in readme


def test_every_corridor_name_group_is_found_in_the_embedded_road_layer(pack):
    roads = pyogrio.read_dataframe(_io.vector_source(settings.data_file(ROADS)))
    names = set(roads["name"].dropna())
    for label, _, group in plan.corridor_names():
        assert names & set(group), f"{label}: none of {group} in {ROADS}"


@pytest.fixture(scope="module")
def corridors(pack):
    return plan.corridor_layer()


def test_seven_corridors_three_vertical_four_horizontal(corridors):
    assert len(corridors) == 7
    assert corridors["direction"].value_counts().to_dict() == {"horizontal": 4, "vertical": 3}
    assert corridors.crs.to_epsg() == 4326
    assert (corridors["length_km"] > 5).all()  # every corridor found, each several km long
    assert not corridors.geometry.is_empty.any()


def test_corridors_run_the_way_their_direction_says(corridors):
    # independent of the names: a vertical corridor spans more north–south than east–west
    for row in corridors.to_crs(settings.metric_crs).itertuples():
        x0, y0, x1, y1 = row.geometry.bounds
        if row.direction == "vertical":
            assert y1 - y0 > 1.5 * (x1 - x0), row.corridor
        else:
            assert x1 - x0 > 1.5 * (y1 - y0), row.corridor


def test_corridors_lie_in_the_district(corridors, pack):
    district = boundaries.load_subdistricts().to_crs(settings.metric_crs).union_all()
    for row in corridors.to_crs(settings.metric_crs).itertuples():
        inside = row.geometry.intersection(district.buffer(500)).length
        assert inside > 0.9 * row.geometry.length, row.corridor
