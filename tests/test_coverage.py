"""Coverage per subdistrict against answers worked out by hand or by an independent brute force.

Synthetic cases are built in UTM 51N metres around an origin inside Minhang and converted to
lon/lat; every expected figure is derived in the comments. The Minhang sample compares reach
with a networkx Dijkstra on the pack's walk network, points inserted on their nearest edge.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from _builders import (
    WALK_MPS,
    facility_frame,
    graph,
    lonlat,
    network,
    population_of,
    rectangle,
)
from pyproj import Transformer

import geo
from geo import coverage, facilities, plan, population, reach
from geo._errors import StandardError
from geo.isochrones import QUAD_SEGS
from geo.network import Network, load_network
from geo.population import Population
from geo.standards import make_standard

TO_UTM = Transformer.from_crs(4326, 32651, always_xy=True)
S_PER_M = 0.9


# --- 1. the synthetic grid district -----------------------------------------------------------
#
#   y=1000 +-------------------+-------------------+
#          |        p3 (off)   |                   |
#          |             p2    |       p6  p5      |
#   y=500  A====p1=======+=====B==========p4===p7==C   one two-way road, 4 km/h
#          |          F (30 m  |                   |
#          |          below)   |                   |
#   y=0    +-------------------+-------------------+
#          x=0   subdistrict "1"   x=1000   "2"   x=2000
#
# The facility F (chc) stands at (500, 470): 30 m access leg → 27 s, leaving 873 s = 970 m of
# road each way. Westwards the road ends at A (x=0, the district edge); eastwards it is covered
# up to x = 500 + 970 = 1,470.

BUFFER = 100.0
GRID_SUBDISTRICTS = gpd.GeoDataFrame(
    {
        "code": ["1", "2"],
        "name_zh": ["一号街道", "二号街道"],
        "name_en": ["Unit One", "Unit Two"],
        "boundary_status": ["surveyed", "approximate"],
    },
    geometry=[rectangle(0, 0, 1000, 1000), rectangle(1000, 0, 2000, 1000)],
    crs="EPSG:4326",
)
GRID_FACILITIES = [
    ("F1", "chc", "existing", "1", 500.0, 470.0),
    ("H1", "hospital", "existing", "2", 1600.0, 520.0),  # not a basic-level type: not counted
    ("S1", "station", "closed", "2", 1900.0, 520.0),  # closed: not counted
]
# (x, y, weight, subdistrict), network distance from F = 30 + along the road + access leg:
GRID_POINTS = [
    (200.0, 500.0, 1000.0, "1"),  # p1: 30 + 300 + 0 = 330 m → 297 s, covered
    (900.0, 600.0, 2000.0, "1"),  # p2: 30 + 400 + 100 = 530 m → 477 s, covered
    (500.0, 950.0, 500.0, "1"),  # p3: 450 m from the road > 300 m: off network, never covered
    (1400.0, 500.0, 3000.0, "2"),  # p4: 30 + 900 = 930 m → 837 s, covered
    (1400.0, 600.0, 1500.0, "2"),  # p5: 30 + 900 + 100 = 1,030 m → 927 s: the access leg tips it
    (1200.0, 540.0, 2500.0, "2"),  # p6: 30 + 700 + 40 = 770 m → 693 s, covered
    (1800.0, 500.0, 4000.0, "2"),  # p7: 30 + 1,300 = 1,330 m → 1,197 s, not covered
]
GRID_COST_S = [297.0, 477.0, np.inf, 837.0, 927.0, 693.0, 1197.0]
GRID_COVERED = [True, True, False, True, False, True, False]

# Covered area (buffer 100 m; a round cap is half a regular polygon of 4·q sides, q = QUAD_SEGS,
# inscribed in the circle of radius b: area (4q/2)·b²·sin(2π/4q), half of it q·b²·sin(π/2q);
# for q = 2, √2·b²):
#   unit 1: the road A–B (x 0..1,000) is covered whole; its buffer inside the unit is the
#           1,000 × 200 rectangle (the cap at A lies west of x=0, outside): 0.2 km².
#   unit 2: x 1,000..1,470 buffered: 470 × 200 = 94,000 m², plus the cap at x=1,470:
#           q·b²·sin(π/2q) (q=2: 14,142.1356 m²). (A–B's cap at B lies inside the
#           rectangle [1,000, 1,100] × [400, 600], so it adds nothing.)
CAP_M2 = QUAD_SEGS * BUFFER**2 * math.sin(math.pi / (2 * QUAD_SEGS))
COVERED_KM2 = {"1": 0.2, "2": (470 * 200 + CAP_M2) / 1e6}


def grid_network() -> Network:
    nodes = {0: (0.0, 500.0), 1: (1000.0, 500.0), 2: (2000.0, 500.0)}
    return network(graph(nodes, [(0, 1, True), (1, 2, True)], WALK_MPS), mode="walk", key="grid")


def grid_coverage(
    points: list[tuple[float, float, float, str]], *, area_cell_meters: float = 0
) -> coverage.CoverageResult:
    """walk15 on the grid district; exact polygon areas (the hand figures above) by default."""
    return coverage.compute_coverage(
        make_standard("walk15"),
        facility_frame(GRID_FACILITIES),
        population_of(points, "hand-placed test points"),
        network=grid_network(),
        subdistricts=GRID_SUBDISTRICTS,
        buffer_meters=BUFFER,
        area_cell_meters=area_cell_meters,
    )


@pytest.fixture(scope="module")
def grid_result() -> coverage.CoverageResult:
    return grid_coverage(GRID_POINTS)


def test_cap_is_half_a_buffered_point():
    """The hand formula q·b²·sin(π/2q) for the cap is half shapely's point buffer at QUAD_SEGS."""
    disc = shapely.Point(0, 0).buffer(BUFFER, quad_segs=QUAD_SEGS).area
    assert disc / 2 == pytest.approx(CAP_M2, rel=1e-12)


def test_grid_points(grid_result):
    pts = grid_result.points
    assert pts["covered"].tolist() == GRID_COVERED
    assert pts["off_network"].tolist() == [False, False, True, False, False, False, False]
    assert np.isinf(pts["cost"].iloc[2])
    covered = np.array(GRID_COVERED)
    got = pts["cost"].to_numpy()
    np.testing.assert_allclose(got[covered], np.array(GRID_COST_S)[covered], atol=1e-6)
    assert np.isinf(got[~covered]).all()  # the search stops at the limit: beyond it, inf
    assert pts.loc[covered, "nearest_facility"].tolist() == ["F1"] * 4
    assert pts.loc[~covered, "nearest_facility"].isna().all()


def test_grid_table_per_subdistrict(grid_result):
    table = grid_result.table.set_index("code")
    assert list(grid_result.table.columns[: len(coverage.TABLE_COLUMNS)]) == list(
        coverage.TABLE_COLUMNS
    )
    assert list(table.index) == ["1", "2", coverage.DISTRICT_CODE]
    one, two = table.loc["1"], table.loc["2"]
    # unit 1: residents p1+p2+p3 = 1,000 + 2,000 + 500 = 3,500; covered p1+p2 = 3,000 (6/7);
    # p3's 500 off network; 1 chc → 1 / 3,500 × 100,000 = 28.571 per 100k
    assert (one["name_zh"], one["name_en"], one["boundary_status"]) == (
        "一号街道",
        "Unit One",
        "surveyed",
    )
    assert one["area_km2"] == pytest.approx(1.0, rel=1e-9)
    assert one["covered_km2"] == pytest.approx(0.2, rel=1e-9)
    assert one["area_share"] == pytest.approx(0.2, rel=1e-9)
    assert one["residents"] == 3500
    assert one["covered_residents"] == 3000
    assert one["resident_share"] == pytest.approx(6 / 7)
    assert one["off_network_residents"] == 500
    assert one["facilities"] == 1 and one["n_chc"] == 1 and one["n_station"] == 0
    assert one["facilities_per_100k"] == pytest.approx(1e5 / 3500)
    # unit 2: residents 3,000 + 1,500 + 2,500 + 4,000 = 11,000; covered p4+p6 = 5,500 (0.5);
    # the hospital is not a basic-level type and the station is closed: 0 facilities
    assert two["boundary_status"] == "approximate"
    assert two["area_km2"] == pytest.approx(1.0, rel=1e-9)
    assert two["covered_km2"] == pytest.approx(COVERED_KM2["2"], rel=1e-9)
    assert two["area_share"] == pytest.approx(COVERED_KM2["2"], rel=1e-9)
    assert two["residents"] == 11000
    assert two["covered_residents"] == 5500
    assert two["resident_share"] == pytest.approx(0.5)
    assert two["off_network_residents"] == 0
    assert two["facilities"] == 0 and two["n_chc"] == 0 and two["n_station"] == 0
    assert two["facilities_per_100k"] == 0


def test_grid_district_row(grid_result):
    row = grid_result.district()
    assert row["code"] == "310112"
    assert (row["name_zh"], row["name_en"]) == ("闵行区", "Minhang District")
    assert row["boundary_status"] == "partly approximate (二号街道)"
    # area 2 km², covered 0.2 + 0.1081421356 = 0.3081421356 km² → share 0.1540710678
    covered = 0.2 + COVERED_KM2["2"]
    assert row["area_km2"] == pytest.approx(2.0, rel=1e-9)
    assert row["covered_km2"] == pytest.approx(covered, rel=1e-9)
    assert row["area_share"] == pytest.approx(covered / 2, rel=1e-9)
    # residents 3,500 + 11,000 = 14,500; covered 3,000 + 5,500 = 8,500 (17/29); 1 facility
    assert row["residents"] == 14500
    assert row["covered_residents"] == 8500
    assert row["resident_share"] == pytest.approx(17 / 29)
    assert row["off_network_residents"] == 500
    assert row["facilities"] == 1 and row["n_chc"] == 1
    assert row["facilities_per_100k"] == pytest.approx(1e5 / 14500)


def test_grid_blind_spots_and_isochrones(grid_result):
    blind = grid_result.blind_spots.set_index("code")
    # blind spots = area − covered: 1 − 0.2 = 0.8 and 1 − 0.1081421356 = 0.8918578644 km²
    for code in ("1", "2"):
        want = 1.0 - COVERED_KM2[code]
        assert blind.loc[code, "area_km2"] == pytest.approx(want, rel=1e-9)
        assert blind.to_crs(32651).area[code] / 1e6 == pytest.approx(want, rel=1e-9)
    covered = grid_result.covered.set_index("code").to_crs(32651).area / 1e6
    assert covered["1"] == pytest.approx(COVERED_KM2["1"], rel=1e-9)
    assert covered["2"] == pytest.approx(COVERED_KM2["2"], rel=1e-9)
    # one counted facility: its isochrone, clipped to the district, is the whole covered area
    iso = grid_result.isochrones
    assert iso["facility_id"].tolist() == ["F1"] and iso.crs.to_epsg() == 4326
    assert iso.to_crs(32651).area.iloc[0] / 1e6 == pytest.approx(0.2 + COVERED_KM2["2"], rel=1e-9)
    assert grid_result.facilities["id"].tolist() == ["F1"]


# --- 2. ems_distance / ems_time on a drive graph with a one-way street --------------------------
#
#   D(0,1000) ====== C(1000,1000)
#      ||                 ||          all roads two-way except A–B: one way B → A
#      F (10 m west, 200 m up A–D)
#   A(0,0) <-------------- B(1000,0)
#         q2        q1
#
# From F, A is 10 + 200 = 210 m away but A → B is forbidden: B is reached only the long way,
# F → D (10 + 800) → C (1,000) → B (1,000) = 2,810 m.

DRIVE_MPS = 10.0
DRIVE_POINTS = [
    (800.0, -20.0, 1.0, "1"),  # q1: 2,810 + B→q1 200 + access 20 = 3,030 m (short way: 1,030)
    (300.0, -20.0, 1.0, "1"),  # q2: 2,810 + 700 + 20 = 3,530 m > 3,500: not covered
    (1020.0, 500.0, 1.0, "1"),  # q3: 810 + 1,000 + C→q3 500 + 20 = 2,330 m
    (-15.0, 900.0, 1.0, "1"),  # q4: 10 + 700 + 15 = 725 m
]


def drive_network() -> Network:
    nodes = {0: (0.0, 0.0), 1: (1000.0, 0.0), 2: (1000.0, 1000.0), 3: (0.0, 1000.0)}
    roads = [(1, 0, False), (1, 2, True), (2, 3, True), (3, 0, True)]
    return network(graph(nodes, roads, DRIVE_MPS), mode="drive", key="oneway-loop")


def drive_reach(standard_name: str) -> coverage.ReachResult:
    fac = facility_frame([("E1", "ambulance_substation", "existing", "1", -10.0, 200.0)])
    return coverage.compute_reach(
        make_standard(standard_name),
        fac,
        population_of(DRIVE_POINTS, "test"),
        network=drive_network(),
    )


def test_ems_distance_respects_one_way():
    rr = drive_reach("ems_distance")
    np.testing.assert_allclose(rr.point_cost[[0, 2, 3]], [3030.0, 2330.0, 725.0], atol=1e-6)
    assert rr.point_cost[1] > 3500  # 3,530 m: only the long way round, just over the limit
    assert not rr.off_network.any()


def test_ems_time_adds_access_legs_at_drive_access_speed():
    # limit (12 − 2) min = 600 s. q1: 3,000 m of road at 10 m/s = 300 s, plus the access legs
    # 10 + 20 = 30 m at 10 km/h (0.36 s/m) = 10.8 s → 310.8 s. q4: 700 m → 70 s + 25 m → 9 s.
    rr = drive_reach("ems_time")
    assert reach.DRIVE_ACCESS_SPEED_KMH == 10.0
    np.testing.assert_allclose(rr.point_cost[[0, 3]], [310.8, 79.0], atol=1e-6)


# --- 3. the straight-line radius -----------------------------------------------------------------


def test_straight_line_radius():
    # two substations 10 km apart; distances are 3-4-5 triangles or along an axis
    fac = facility_frame(
        [
            ("A", "ambulance_substation", "existing", "1", 0.0, 0.0),
            ("B", "ambulance_substation", "planned", "1", 10_000.0, 0.0),
        ]
    )
    pts = [
        (1800.0, 2400.0, 10.0, "1"),  # 3,000 m from A (3-4-5 × 600): covered
        (2160.0, 2880.0, 20.0, "1"),  # 3,600 m from A (× 720): not covered
        (0.0, -3490.0, 30.0, "1"),  # 3,490 m from A: covered
        (3510.0, 0.0, 40.0, "1"),  # 3,510 m from A: not covered
        (10_600.0, 800.0, 50.0, "1"),  # 1,000 m from B (× 200): covered
        (5000.0, 0.0, 60.0, "1"),  # 5,000 m from both: not covered
    ]
    sub = gpd.GeoDataFrame(
        {"code": ["1"], "name_zh": ["一"], "name_en": ["One"], "boundary_status": ["surveyed"]},
        geometry=[rectangle(-5000, -5000, 15_000, 5000)],
        crs="EPSG:4326",
    )
    std = make_standard("straight_line")
    result = coverage.compute_coverage(std, fac, population_of(pts, "test"), subdistricts=sub)
    assert "straight-line" in std.label_en and "直线" in std.label_zh
    assert result.metadata["straight_line"] is True
    assert result.metadata["network"] == "none (straight line)"
    got = result.points
    np.testing.assert_allclose(got["cost"], [3000, 3600, 3490, 3510, 1000, 5000], atol=1e-6)
    assert got["covered"].tolist() == [True, False, True, False, True, False]
    assert got.loc[got["covered"], "nearest_facility"].tolist() == ["A", "A", "B"]
    assert got.loc[~got["covered"], "nearest_facility"].isna().all()
    row = result.district()
    # covered residents 10 + 30 + 50 = 90 of 210
    assert (row["residents"], row["covered_residents"]) == (210, 90)
    # two disjoint circles drawn as regular 64-gons (quad_segs=16), both inside the 20 × 10 km
    # rectangle: 2 · (64/2) · r² · sin(2π/64) with r = 3,500 m = 76.845 km²
    circles_km2 = 2 * 32 * 3500**2 * math.sin(2 * math.pi / 64) / 1e6
    assert row["area_km2"] == pytest.approx(200.0, rel=1e-9)
    assert row["covered_km2"] == pytest.approx(circles_km2, rel=1e-9)
    assert row["facilities"] == 2


# --- 4. a sample of Minhang against networkx ------------------------------------------------------


def edge_lines_utm(G: nx.MultiDiGraph) -> tuple[list[tuple[object, object, float]], np.ndarray]:
    """Every directed edge as (u, v, travel_time) and its geometry u→v in UTM 51N."""
    edges, lines = [], []
    for u, v, d in G.edges(data=True):
        geom = d.get("geometry")
        ends = [(G.nodes[n]["x"], G.nodes[n]["y"]) for n in (u, v)]
        coords = np.asarray(geom.coords if geom is not None else ends)
        x, y = TO_UTM.transform(coords[:, 0], coords[:, 1])
        edges.append((u, v, float(d["travel_time"])))
        lines.append(shapely.LineString(np.column_stack([x, y])))
    return edges, np.array(lines, dtype=object)


def nearest_edges(
    lines: np.ndarray, xy: np.ndarray, max_snap: float
) -> list[tuple[int, float, float]]:
    """(edge, share along it, distance) for every edge within 1 mm of the least distance."""
    pt = shapely.Point(xy)
    dist = shapely.distance(lines, pt)
    if dist.min() > max_snap:
        return []
    near = np.flatnonzero(dist <= dist.min() + 1e-3)
    return [(int(i), float(lines[i].project(pt, normalized=True)), float(dist.min())) for i in near]


def add_cheapest(H: nx.DiGraph, a: object, b: object, w: float) -> None:
    if not H.has_edge(a, b) or H[a][b]["w"] > w:
        H.add_edge(a, b, w=w)


def brute_force_walk(G, src_xy, dst_xy, *, access_s_per_m, limit, max_snap):
    """Walk time from the nearest source to each destination by networkx Dijkstra.

    Each point joins every directed edge at the least distance from it (within 1 mm: both
    directions of its road, or all roads meeting at a nearest node): a destination is reached
    from the edge's start node (share ``s`` of the edge's time), a source enters at the edge's
    end node (share ``1 − s``); both pay the access leg. A source and a destination on the same
    directed edge, the destination ahead, are also joined directly along it.
    """
    H = nx.DiGraph()
    for u, v, d in G.edges(data=True):
        add_cheapest(H, u, v, d["travel_time"])
    edges, lines = edge_lines_utm(G)
    sources = [nearest_edges(lines, xy, max_snap) for xy in src_xy]
    for j, joins in enumerate(sources):
        for i, s, acc in joins:
            add_cheapest(H, ("s", j), edges[i][1], acc * access_s_per_m + (1 - s) * edges[i][2])
    for k, xy in enumerate(dst_xy):
        for i, s, acc in nearest_edges(lines, xy, max_snap):
            u, _, t = edges[i]
            add_cheapest(H, u, ("d", k), s * t + acc * access_s_per_m)
            same = [(j, s2, a2) for j, js in enumerate(sources) for i2, s2, a2 in js if i2 == i]
            for j, s2, acc2 in same:
                if s >= s2:
                    add_cheapest(
                        H, ("s", j), ("d", k), (acc + acc2) * access_s_per_m + (s - s2) * t
                    )
    starts = [("s", j) for j, joins in enumerate(sources) if joins]
    dist = nx.multi_source_dijkstra_path_length(H, starts, cutoff=limit, weight="w")
    return np.array([dist.get(("d", k), np.inf) for k in range(len(dst_xy))])


@pytest.mark.slow
def test_minhang_sample_equals_networkx(pack):
    net = load_network("walk")
    std = make_standard("walk15")
    table = facilities.facilities_from_pack().gdf
    basic = table[table["type"].isin(facilities.BASIC_LEVEL_TYPES)].reset_index(drop=True)
    pop = population.population_from_addresses().gdf
    fac_xy = np.column_stack(TO_UTM.transform(basic.geometry.x, basic.geometry.y))
    pop_xy = np.column_stack(TO_UTM.transform(pop.geometry.x, pop.geometry.y))
    # the 3 facilities with most addresses within 1.2 km, so that many sample points are reached
    near = np.hypot(*(pop_xy[:, None, :] - fac_xy[None, :, :]).transpose(2, 0, 1))
    chosen = np.sort(np.argsort(-(near < 1200).sum(axis=0), kind="stable")[:3])
    close = np.flatnonzero(near[:, chosen].min(axis=1) < 900)
    rng = np.random.default_rng(20260513)
    sample = np.concatenate(
        [rng.choice(close, 30, replace=False), rng.choice(len(pop), 10, replace=False)]
    )
    fac = basic.iloc[chosen].reset_index(drop=True)
    sample_pop = Population(gdf=pop.iloc[sample].reset_index(drop=True), source="sample")

    rr = coverage.compute_reach(std, fac, sample_pop, network=net, per_facility=False)
    index = coverage.reach_index(net)
    snap_src, snap_pts = index.snap(fac_xy[chosen]), index.snap(pop_xy[sample])
    _, multi = index.reach(snap_src, snap_pts, "time_s", limit=std.limit)

    # the whole graph (no ego subgraph): networkx's Dijkstra stops at the cutoff anyway (~1 s)
    want = brute_force_walk(
        net.G,
        fac_xy[chosen],
        pop_xy[sample],
        access_s_per_m=S_PER_M,
        limit=std.limit,
        max_snap=reach.DEFAULT_MAX_SNAP_METERS,
    )
    assert 10 <= np.isfinite(want).sum() < len(sample)  # neither trivial nor all reached
    for got in (rr.point_cost, multi):
        got = np.where(got <= std.limit, got, np.inf)
        assert np.array_equal(np.isfinite(got), np.isfinite(want))
        ok = np.isfinite(want)
        np.testing.assert_allclose(got[ok], want[ok], rtol=1e-6)


# --- 5. metadata --------------------------------------------------------------------------------


def test_metadata_names_sources_counts_and_parameters(grid_result):
    meta = grid_result.metadata
    assert meta["standard"] == "walk15"
    assert meta["network"]["source"] == "hand-built test graph"
    assert meta["network"]["repair_connectors"] == 2
    assert meta["network"]["repair_length_km"] == 0.05
    assert meta["network"]["nodes"] == 3 and meta["network"]["edges"] == 4
    assert meta["population_source"] == "hand-placed test points"
    assert meta["population_total"] == 14500
    assert meta["facilities_counted"] == 1
    counts = meta["facility_counts"]
    assert (counts["chc"], counts["hospital"], counts["station"], counts["branch"]) == (1, 1, 1, 0)
    # the plan's figures (shared/PLAN_FACTS.md): 13 centres, 17 branches, 77 stations, 50 clinics
    official = meta["official_counts_2020"]
    assert (official["chc"], official["branch"], official["station"]) == (13, 17, 77)
    assert official["village_clinic"] == 50 and official["hospital"] == 44
    assert meta["official_source"] == plan.PLAN_SOURCE
    params = meta["parameters"]
    assert params["minutes"] == 15 and params["limit"] == 900 and params["cost"] == "time_s"
    assert params["buffer_meters"] == BUFFER and params["max_snap_meters"] == 300
    assert params["walk_speed_kmh"] == 4.0
    assert meta["software_version"] == geo.__version__
    when = datetime.fromisoformat(meta["computed_at"])
    assert when.tzinfo is not None
    assert abs(datetime.now(UTC) - when) < timedelta(minutes=10)
    assert "warning" not in meta


def test_no_counted_facility_warns_and_covers_nothing():
    fac = facility_frame(
        [
            ("C1", "chc", "closed", "1", 500.0, 500.0),
            ("H1", "hospital", "existing", "2", 1500.0, 500.0),
        ]
    )
    result = coverage.compute_coverage(
        make_standard("walk15"),
        fac,
        population_of(GRID_POINTS, "test"),
        network=grid_network(),
        subdistricts=GRID_SUBDISTRICTS,
    )
    assert "no facility of the counted types" in (result.warning or "")
    assert result.metadata["facilities_counted"] == 0
    table = result.table
    assert (table["covered_km2"] == 0).all() and (table["covered_residents"] == 0).all()
    assert (table["facilities"] == 0).all() and (table["facilities_per_100k"] == 0).all()
    assert result.district()["residents"] == 14500
    assert result.isochrones.empty and not result.points["covered"].any()
    assert result.blind_spots.set_index("code")["area_km2"].to_list() == pytest.approx([1.0, 1.0])


# --- 6. standard / network mismatch -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "net", "pattern"),
    [
        ("walk15", "drive", "walk15 needs a walk network, got drive"),
        ("walk15", None, "walk15 needs a walk network, got none"),
        ("ems_distance", "walk", "ems_distance needs a drive network, got walk"),
        ("ems_time", None, "ems_time needs a drive network, got none"),
    ],
)
def test_standard_network_mismatch(name, net, pattern):
    networks = {"walk": grid_network, "drive": drive_network}
    with pytest.raises(StandardError, match=pattern):
        coverage.compute_coverage(
            make_standard(name, facility_types=("chc",)),
            facility_frame(GRID_FACILITIES),
            population_of(GRID_POINTS, "test"),
            network=networks[net]() if net else None,
            subdistricts=GRID_SUBDISTRICTS,
        )


def test_walk_speed_and_off_network_facility_are_reported():
    """A 5 km/h walk network: access legs and metadata both use it; a facility 450 m from the
    road is counted but flagged, and reaches nobody."""
    net = grid_network()
    report = replace(net.report, params={"walk_speed_kmh": 5.0})
    net = Network(G=net.G, report=report, mode="walk", key="test-coverage-grid-5kmh")
    fac = facility_frame(
        [
            ("F1", "chc", "existing", "1", 500.0, 470.0),
            ("F9", "chc", "existing", "2", 1500.0, 950.0),
        ]
    )
    result = coverage.compute_coverage(
        make_standard("walk15"),
        fac,
        population_of(GRID_POINTS, "p"),
        network=net,
        subdistricts=GRID_SUBDISTRICTS,
        buffer_meters=BUFFER,
    )
    meta: dict[str, Any] = result.metadata
    assert meta["parameters"]["walk_speed_kmh"] == 5.0
    assert meta["off_network_facilities"] == ["facility F9"]
    assert "1 counted facilities lie more than 300 m" in meta["warning_off_network"]
    # p1: 300 m on edges whose travel_time stays at 4 km/h (0.9 s/m) = 270 s, plus F1's 30 m
    # access leg at the network's 5 km/h (0.72 s/m) = 21.6 s → 291.6 s
    assert result.points["cost"].iloc[0] == pytest.approx(291.6, abs=1e-6)


@pytest.mark.parametrize("standard", ["walk15", "ems_distance"])
def test_raster_and_polygon_areas_agree_with_a_round_buffer(pack, monkeypatch, standard):
    """Covered areas are not biased by the method: on plan-2025, against the same reached
    roads buffered with 64 segments per quarter circle (a round buffer to 0.01%), the polygons at
    QUAD_SEGS give the district within 0.2%, and the raster area index (20 m cells, the default)
    gives the district within 0.2% and every subdistrict's share within 0.2 percentage point."""
    from geo import isochrones, scenarios

    resolved = scenarios.resolve("plan-2025")  # the baseline has no ambulance substation
    stds, pop, nets = scenarios.scenario_inputs(resolved)
    std = next(s for s in stds if s.name == standard)
    net = nets[std.mode]

    def table(cell: float) -> pd.DataFrame:
        result = coverage.compute_coverage(
            std, resolved.facilities, pop, network=net, area_cell_meters=cell, per_facility=False
        )
        return result.table.set_index("code")

    raster, polygons = table(20.0), table(0.0)
    monkeypatch.setattr(isochrones, "QUAD_SEGS", 64)
    round_buffer = table(0.0)
    district = coverage.DISTRICT_CODE
    exact = float(round_buffer["covered_km2"][district])
    assert exact > 10  # a real figure, not an empty reach
    assert abs(float(polygons["covered_km2"][district]) / exact - 1) < 0.002
    assert abs(float(raster["covered_km2"][district]) / exact - 1) < 0.002
    share_gap = (raster["covered_km2"] - round_buffer["covered_km2"]).abs() / raster["area_km2"]
    assert share_gap.max() < 0.002, share_gap.sort_values().tail(3)


def test_raster_area_by_hand_on_the_grid():
    """10 m cells on the grid district: unit 1 is the 1,000 × 200 m band (100 × 20 cell centres,
    whatever the grid's offset), unit 2 is 470 × 200 m plus a round cap π·100²/2 = 15,708 m²
    (the polygon's octagonal cap is 15,307 m²; a flat end would be 0, a square one 20,000)."""
    result = grid_coverage(GRID_POINTS, area_cell_meters=10)
    got = result.table.set_index("code")["covered_km2"]
    assert got["1"] == pytest.approx(0.2, rel=0.01)
    assert got["2"] == pytest.approx((470 * 200 + math.pi * BUFFER**2 / 2) / 1e6, rel=0.01)
    params = result.metadata["parameters"]
    assert isinstance(params, dict) and params["area_cell_meters"] == 10
    assert "raster" in str(result.metadata["area_method"])


def test_a_site_far_from_every_road_is_reported_off_network_not_an_error(grid_result):
    """A site 5 km from the test road (beyond the 300 m snap distance) reaches nobody: the session
    adds, moves and removes it without error, lists it off network, and the table is unchanged."""
    session = coverage.CoverageSession(
        make_standard("walk15"),
        facility_frame(GRID_FACILITIES),
        population_of(GRID_POINTS, "hand-placed test points"),
        network=grid_network(),
        subdistricts=GRID_SUBDISTRICTS,
        buffer_meters=BUFFER,
        area_cell_meters=0,  # compared with grid_result (exact areas)
    )
    before = session.table()
    far = lonlat(1000.0, 5500.0)
    session.add({"id": "far", "name": "far site", "type": "station", "lon": far[0], "lat": far[1]})
    pd.testing.assert_frame_equal(session.table(), before)
    result = session.result(session.facilities.reset_index(drop=True), facilities_source="test")
    assert result.metadata["off_network_facilities"] == ["far site"]
    session.move("far", *lonlat(1000.0, 6000.0))
    session.remove("far")
    pd.testing.assert_frame_equal(session.table(), before)
    # the session still agrees with a full recomputation
    pd.testing.assert_frame_equal(session.table(), grid_result.table)


def test_a_network_that_mostly_misses_the_residents_is_warned_about_with_the_figure(grid_result):
    """Six of the seven grid points moved 2 km north, far beyond the 300 m snap distance:
    13,500 of 14,500 residents (93.1 %) are off network, above the 50 % threshold."""
    moved = [(x, y + (2000.0 if i else 0.0), w, c) for i, (x, y, w, c) in enumerate(GRID_POINTS)]
    result = grid_coverage(moved)
    note = str(result.metadata["warning_network_extent"])
    assert "hand-built test graph mostly misses the district" in note
    assert "93.1% of residents (13,500 of 14,500) lie more than 300 m" in note
    assert note in (result.warning or "")
    assert "warning_network_extent" not in grid_result.metadata  # 500 of 14,500 off: 3.4 %
    assert grid_result.warning is None
    zh = coverage.network_miss_note(13500, 14500, source="x", max_snap_meters=300, lang="zh")
    assert zh is not None and "93.1%" in zh
    assert coverage.network_miss_note(7250, 14500, source="x", max_snap_meters=300) is None


def test_the_area_index_cache_holds_data_and_a_damaged_file_is_rebuilt(pack, tmp_path):
    """Written as raw arrays behind a JSON header, read back memory-mapped and equal; a file cut
    short, or of another key, is not read (None: the caller rebuilds it)."""
    from geo import area_index

    index = coverage.reach_index(load_network("walk"))
    built = area_index.build_area_index(
        index, coverage.partition_subdistricts(), buffer_meters=100.0, cell_meters=50.0
    )
    path = tmp_path / "network-area-test.bin"
    area_index.write_area_index(path, built, key="k1")
    back = area_index.read_area_index(path, key="k1")
    assert back is not None and back.cell_meters == 50.0 and back.n_units == built.n_units
    for name in ("cell_unit", "seg_ptr", "pair_cell", "pair_t0", "pair_t1"):
        np.testing.assert_array_equal(getattr(back, name), getattr(built, name))
    assert area_index.read_area_index(path, key="another") is None
    path.write_bytes(path.read_bytes()[:-100])
    assert area_index.read_area_index(path, key="k1") is None
    path.write_bytes(b"import os; os.system('echo pwned')")
    assert area_index.read_area_index(path, key="k1") is None
