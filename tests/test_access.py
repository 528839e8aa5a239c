"""Travel-time distribution, catchments and 2SFCA on a road worked by hand (issue 17).

The road runs along y = 500 m from x = 0 to x = 3,000 m (nodes every 500 m), walked at 4 km/h:
1 m takes 0.9 s. Two centres: A at x = 0, B at x = 3,000. Four resident points on the road
(no access leg):

=====  =======  =======  ==========  ==========  ===========  ================
point  x (m)    weight   to A (m)    to B (m)    nearest      minutes
=====  =======  =======  ==========  ==========  ===========  ================
p1     300      10,000   300         2,700       A            4.5
p2     900      20,000   900         2,100       A            13.5
p3     1,200    80,000   1,200       1,800       A            18.0
p4     2,400    90,000   2,400       600         B            9.0
=====  =======  =======  ==========  ==========  ===========  ================

Unit 1 holds x < 1,000 (p1, p2), unit 2 the rest (p3, p4).
"""

from __future__ import annotations

import math
from typing import Literal

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _builders import WALK_MPS, graph, lonlat, network, population_of, rectangle

from geo import access, coverage
from geo.standards import make_standard

UNITS = gpd.GeoDataFrame(
    {
        "code": ["1", "2"],
        "name_zh": ["一号街道", "二号街道"],
        "name_en": ["Unit One", "Unit Two"],
        "boundary_status": ["surveyed", "surveyed"],
    },
    geometry=[rectangle(-100, 0, 1000, 1000), rectangle(1000, 0, 3100, 1000)],
    crs="EPSG:4326",
)
NODES = {i: (500.0 * i, 500.0) for i in range(7)}
ROADS = [(i, i + 1, True) for i in range(6)]
POINTS = [(300.0, 500.0, 10_000.0, "1"), (900.0, 500.0, 20_000.0, "1"),
          (1200.0, 500.0, 80_000.0, "2"), (2400.0, 500.0, 90_000.0, "2")]  # fmt: skip


def _facilities(rows: list[tuple[str, str, float, float | None]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "type": ["chc" if r[3] is None and r[0] in "AB" else "hospital" for r in rows],
            "status": "existing",
            "capacity": [r[3] for r in rows],
        },
        geometry=[shapely.Point(lonlat(r[2], 500.0)) for r in rows],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def walk():
    return network(graph(NODES, ROADS, WALK_MPS), mode="walk", key="access-road")


@pytest.fixture(scope="module")
def result(walk):
    facilities = _facilities([("A", "centre A", 0.0, None), ("B", "centre B", 3000.0, None)])
    pop = population_of(POINTS, "hand-made")
    return access.travel_times(
        make_standard("walk15"), facilities, pop, network=walk, subdistricts=UNITS
    )


def test_each_resident_gets_the_time_to_the_nearest_centre(result) -> None:
    assert result.points["cost"].to_numpy() == pytest.approx([4.5, 13.5, 18.0, 9.0], abs=1e-6)
    assert result.points["nearest"].tolist() == ["A", "A", "A", "B"]
    assert result.unit == "min"


def test_district_and_unit_figures_worked_by_hand(result) -> None:
    d = result.district()
    # sorted: 4.5 (10k), 9 (90k), 13.5 (20k), 18 (80k); cumulative 10k, 100k, 120k, 200k
    assert d["residents"] == 200_000
    assert d["mean_min"] == pytest.approx((4.5 * 10 + 9 * 90 + 13.5 * 20 + 18 * 80) / 200)  # 12.825
    assert d["median_min"] == pytest.approx(9.0)  # the first with ≥ 100k of 200k at or below
    assert d["p90_min"] == pytest.approx(18.0)  # ≥ 180k
    expected = {
        "share_within_5min": 0.05,
        "share_within_10min": 0.5,
        "share_within_15min": 0.6,
        "share_within_20min": 1.0,
    }
    for column, share in expected.items():
        assert d[column] == pytest.approx(share), column
    one = result.table.set_index("code").loc["1"]
    assert one["mean_min"] == pytest.approx((4.5 * 10 + 13.5 * 20) / 30)  # 10.5
    assert one["median_min"] == pytest.approx(13.5) and one["share_within_5min"] == pytest.approx(
        1 / 3
    )
    two = result.table.set_index("code").loc["2"]
    assert two["mean_min"] == pytest.approx((18 * 80 + 9 * 90) / 170)
    assert (two["median_min"], two["p90_min"]) == pytest.approx((9.0, 18.0))
    curve = result.curve[result.curve["code"] == "310112"].set_index("threshold")["share"]
    assert curve[4.0] == 0 and curve[5.0] == pytest.approx(0.05) and curve[18.0] == 1.0


def test_catchments_and_load_flags(result) -> None:
    c = result.catchments.set_index("id")
    assert c.loc["A", "residents"] == pytest.approx(110_000)  # p1 + p2 + p3
    assert c.loc["B", "residents"] == pytest.approx(90_000)
    assert c.loc["A", "flagged"] and not c.loc["B", "flagged"]  # a centre for > 100,000
    polygons = result.catchment_polygons(UNITS).to_crs("EPSG:32651")
    assert polygons["id"].tolist() == ["A", "B"]
    # the road's nodes 0–1,500 m go to A, 2,000–3,000 m to B: the cells meet between 1,500
    # and 2,000 m (x measured from the origin)
    boundary = polygons.geometry.iloc[0].bounds[2] - polygons.geometry.iloc[1].bounds[0]
    assert boundary == pytest.approx(0.0, abs=1.0)
    assert not polygons.geometry.iloc[0].intersects(
        shapely.Point(*_metric(2500.0, 500.0)).buffer(1.0)
    )


def _metric(x: float, y: float) -> tuple[float, float]:
    from _builders import X0, Y0

    return X0 + x, Y0 + y


def test_weighted_quantile_is_the_lower_inverse() -> None:
    values = np.array([1.0, 2.0, 3.0, np.inf])
    weights = np.array([1.0, 1.0, 1.0, 1.0])
    assert access.weighted_quantile(values, weights, 0.5) == 2.0
    assert access.weighted_quantile(values, weights, 0.75) == 3.0
    assert access.weighted_quantile(values, weights, 0.9) == np.inf  # beyond the search limit


@pytest.mark.parametrize("d", [0.0, 4.5, 7.5, 9.0, 13.5, 15.0, 16.0])
def test_decay_weights_follow_their_formulas(d: float) -> None:
    d0 = 15.0
    gauss = (math.exp(-0.5 * (d / d0) ** 2) - math.exp(-0.5)) / (1 - math.exp(-0.5))
    step = 1.0 if d < 5 else 0.68 if d < 10 else 0.22
    expected = {"none": 1.0, "gaussian": gauss, "step": step}
    for decay, value in expected.items():
        got = access.decay_weights(np.array([d]), d0, decay)[0]
        assert got == pytest.approx(value if d <= d0 else 0.0, abs=1e-12), (decay, d)


def _two_step(walk, decay: Literal["none", "step", "gaussian"]):
    facilities = _facilities([("A", "医院 A", 0.0, 100.0), ("B", "医院 B", 3000.0, 50.0)])
    return access.two_step_fca(
        facilities,
        population_of(POINTS, "hand-made"),
        network=walk,
        catchment_minutes=15.0,
        decay=decay,
        target=4.6,
        subdistricts=UNITS,
    )


def test_two_step_fca_worked_by_hand(walk) -> None:
    # within 15 min = 1,000 m: A reaches p1, p2 (30k residents); B reaches p4 (90k)
    a = _two_step(walk, "none")
    ratio = a.facilities.set_index("id")["ratio"]
    assert ratio["A"] == pytest.approx(100 / 30_000) and ratio["B"] == pytest.approx(50 / 90_000)
    assert a.points["access"].to_numpy() == pytest.approx(
        [1000 / 300, 1000 / 300, 0.0, 1000 / 1800]
    )
    table = a.table.set_index("code")
    assert table.loc["1", "access"] == pytest.approx(1000 / 300)
    assert table.loc["2", "access"] == pytest.approx(90_000 * (1000 / 1800) / 170_000)
    # all supply is used: per 1,000 residents, 150 beds over 200,000 residents
    assert table.loc["310112", "access"] == pytest.approx(150 * 1000 / 200_000)
    assert table.loc["310112", "gap"] == pytest.approx(0.75 - 4.6)


def test_enhanced_two_step_fca_with_gaussian_decay(walk) -> None:
    def w(minutes: float) -> float:
        return (math.exp(-0.5 * (minutes / 15) ** 2) - math.exp(-0.5)) / (1 - math.exp(-0.5))

    a = _two_step(walk, "gaussian")
    r_a = 100 / (10_000 * w(4.5) + 20_000 * w(13.5))
    r_b = 50 / (90_000 * w(9.0))
    assert a.points["access"].to_numpy() == pytest.approx(
        [1000 * r_a * w(4.5), 1000 * r_a * w(13.5), 0.0, 1000 * r_b * w(9.0)]
    )


def test_capacities_missing_are_listed_and_plan_defaults_labelled(walk) -> None:
    facilities = _facilities(
        [("A", "医院 A", 0.0, 100.0), ("C", "无名医院", 1500.0, None),
         ("D", "上海市闵行区浦江医院", 2000.0, None)]
    )  # fmt: skip
    a = access.two_step_fca(
        facilities, population_of(POINTS, "hand-made"), network=walk, subdistricts=UNITS
    )
    assert a.missing_capacity["id"].tolist() == ["C"]  # never taken as 0 or 1
    supply = a.facilities.set_index("id")
    assert supply.loc["D", "capacity"] == 421 and supply.loc["D", "capacity_source"] == (
        "plan default"
    )
    assert supply.loc["A", "capacity_source"] == "register"


def test_labelled_search_agrees_with_coverage_on_the_pack(pack) -> None:
    """An independent check: the nearest-facility times and labels against the coverage
    engine's per-facility reach on the real Minhang walk network."""
    from geo import scenarios
    from geo.scenarios.run import scenario_inputs

    resolved = scenarios.resolve("baseline")
    stds, pop, nets = scenario_inputs(resolved)
    std = stds[0]
    fac = resolved.facilities.gdf
    tt = access.travel_times(std, fac, pop, network=nets["walk"])
    res = coverage.compute_reach(
        std, coverage.select_facilities(std, fac), pop, network=nets["walk"]
    )
    cost = tt.points["cost"].to_numpy()
    within = res.point_cost <= std.limit
    assert ((cost * 60 <= std.limit) == within).all()
    assert cost[within] * 60 == pytest.approx(res.point_cost[within], rel=1e-9)
    ids = coverage.select_facilities(std, fac)["id"].astype(str).to_numpy()
    nearest = ids[res.per_facility_cost.argmin(axis=0)]
    assert (tt.points["nearest"].to_numpy()[within] == nearest[within]).all()
