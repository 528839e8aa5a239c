"""Tests of geo.network: repair on hand-drawn layers, OSM loaders, the Minhang pack, the cache.

Hand-drawn roads are drawn in metres (EPSG:32651, UTM 51N) from an origin in Minhang, so every
expected length is plain arithmetic; the builder reprojects them to lon/lat itself.
"""

from __future__ import annotations

import ast
import json
import math
import os
import pkgutil
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely

from geo import network, settings
from geo._errors import InputFileError, NetworkError
from geo.network import (
    PACK_ROADS,
    PACK_SOURCE,
    BuildOptions,
    Network,
    load_network,
    network_from_file,
    network_from_lines,
    network_from_osm_file,
    network_from_polygon,
)
from geo.parameters import DEFAULTS

X0, Y0 = 350_000.0, 3_440_000.0  # EPSG:32651 metres, ~121.43 E 31.08 N (Minhang)
METRIC = "EPSG:32651"
TO_METRIC = pyproj.Transformer.from_crs("EPSG:4326", METRIC, always_xy=True)
MINHANG_BBOX = (121.2, 30.95, 121.6, 31.28)  # lon/lat: min x, min y, max x, max y


def roads(
    *rows: tuple[str, list[tuple[float, float]]], **columns: list[object]
) -> gpd.GeoDataFrame:
    """A layer of (highway, [(x, y) metres from the origin]) rows, named road 0, road 1, ..."""
    geoms = [shapely.LineString([(X0 + x, Y0 + y) for x, y in pts]) for _, pts in rows]
    data: dict[str, list[object]] = {
        "highway": [c for c, _ in rows],
        "name": [f"road {i}" for i in range(len(rows))],
    }
    return gpd.GeoDataFrame(data | columns, geometry=geoms, crs=METRIC)


def node_at(G: nx.MultiDiGraph, x: float, y: float) -> int:
    """The node at (x, y) metres from the origin (within 1 cm)."""
    for n, d in G.nodes(data=True):
        mx, my = TO_METRIC.transform(d["x"], d["y"])
        if math.hypot(mx - X0 - x, my - Y0 - y) < 0.01:
            return int(n)
    msg = f"no node at ({x}, {y})"
    raise AssertionError(msg)


def undirected_lengths(G: nx.MultiDiGraph) -> list[float]:
    """Edge lengths with each two-way piece once (edges keyed by their node pair)."""
    seen: dict[frozenset[int], list[float]] = {}
    for u, v, d in G.edges(data=True):
        seen.setdefault(frozenset((u, v)), []).append(d["length"])
    return sorted(v for lengths in seen.values() for v in lengths[: max(1, len(lengths) // 2)])


# --- noding and grade separation ----------------------------------------------------------


def test_crossing_of_two_streets_is_noded() -> None:
    gdf = roads(("residential", [(0, 0), (200, 0)]), ("residential", [(100, -100), (100, 100)]))
    net = network_from_lines(gdf, mode="walk", min_island_meters=0)
    G = net.G
    # 4 ends + the crossing; 4 pieces of 100 m, each walkable both ways
    assert (G.number_of_nodes(), G.number_of_edges()) == (5, 8)
    centre = node_at(G, 100, 0)
    assert G.out_degree(centre) == 4
    assert G.nodes[centre]["street_count"] == 4
    assert all(d["length"] == pytest.approx(100, abs=1e-6) for *_, d in G.edges(data=True))
    assert all(d["travel_time"] == pytest.approx(90) for *_, d in G.edges(data=True))  # 4 km/h
    r = net.report
    assert (r.noded_crossings, r.components, r.repair_connectors) == (1, 1, 0)
    assert r.length_km == pytest.approx(0.4)
    assert r.largest_component_share == pytest.approx(1.0)


def test_overpass_is_not_noded() -> None:
    # a motorway with a street passing under it and a street ending beneath it
    gdf = roads(
        ("motorway", [(-300, 0), (300, 0)]),
        ("residential", [(150, -100), (150, 100)]),
        ("residential", [(20, -100), (20, 0)]),
    )
    net = network_from_lines(gdf, mode="drive", min_island_meters=0)
    G = net.G
    assert (G.number_of_nodes(), G.number_of_edges()) == (6, 6)
    assert net.report.components == 3
    assert (net.report.noded_crossings, net.report.repair_connectors) == (0, 0)
    assert net.report.largest_component_share == pytest.approx(600 / 900)
    assert not nx.has_path(G, node_at(G, -300, 0), node_at(G, 150, 100))
    assert not nx.has_path(G, node_at(G, 20, -100), node_at(G, 300, 0))

    # the same layer with nothing grade-separated: split at the crossing and at the T
    flat = network_from_lines(gdf, mode="drive", min_island_meters=0, grade_separated=())
    assert (flat.G.number_of_nodes(), flat.G.number_of_edges()) == (7, 12)
    assert (flat.report.noded_crossings, flat.report.components) == (2, 1)


def test_motorway_joins_at_shared_vertex_and_ramp_end() -> None:
    gdf = roads(
        ("motorway", [(-300, 0), (0, 0), (300, 0)]),
        ("residential", [(0, 0), (0, -100)]),  # ends on the motorway's own vertex
        ("motorway_link", [(150, 0), (150, -100)]),  # a ramp ending mid-segment
    )
    net = network_from_lines(gdf, mode="drive", min_island_meters=0)
    G = net.G
    # motorway split at x=0 and x=150: 3 pieces + 2 roads, all two-way
    assert (G.number_of_nodes(), G.number_of_edges()) == (6, 10)
    assert net.report.components == 1
    assert nx.has_path(G, node_at(G, 0, -100), node_at(G, 150, -100))


# --- gap closing and snapping ---------------------------------------------------------------


def test_gap_is_closed_with_a_marked_connector() -> None:
    # A ends 30 m short of B. B's ends are 58.3 m from A, but A and B are joined by then.
    gdf = roads(("residential", [(0, 0), (100, 0)]), ("residential", [(130, -50), (130, 50)]))
    net = network_from_lines(gdf, mode="walk", min_island_meters=0)
    G = net.G
    repaired = [(u, v, d) for u, v, d in G.edges(data=True) if d["repaired"]]
    assert len(repaired) == 2  # one connector, both directions
    end, foot = node_at(G, 100, 0), node_at(G, 130, 0)
    assert {(u, v) for u, v, _ in repaired} == {(end, foot), (foot, end)}
    assert all(d["length"] == pytest.approx(30, abs=1e-6) for *_, d in repaired)
    assert all(d["highway"] == "residential" for *_, d in repaired)
    assert all(d["repair_kind"] == "component" for *_, d in repaired)
    assert not any("repair_kind" in d for *_, d in G.edges(data=True) if not d["repaired"])
    assert not any(
        d["repaired"] for u, v, d in G.edges(data=True) if (u, v) not in {(end, foot), (foot, end)}
    )
    r = net.report
    assert (r.repair_connectors, r.components, G.number_of_nodes()) == (1, 1, 5)
    assert r.repair_length_km == pytest.approx(0.030)
    # B's ends are 58.3 m from A's end, but only 80 m away through the connector
    assert (r.detour_connectors, r.detour_length_km) == (0, 0)
    assert r.length_km == pytest.approx(0.230)  # 100 + 2 x 50 + 30
    assert r.largest_component_share == pytest.approx(1.0)
    assert sorted(undirected_lengths(G)) == pytest.approx([30, 50, 50, 100])


def test_gap_too_wide_stays_open() -> None:
    # A ends 100 m from B; B's ends are 125 m from A
    gdf = roads(("residential", [(0, 0), (100, 0)]), ("residential", [(200, -75), (200, 75)]))
    net = network_from_lines(gdf, mode="walk", min_island_meters=0)  # default tolerance 80 m
    assert (net.report.repair_connectors, net.report.components) == (0, 2)
    assert net.report.largest_component_share == pytest.approx(150 / 250)
    assert not any(d["repaired"] for *_, d in net.G.edges(data=True))

    wider = network_from_lines(gdf, mode="walk", min_island_meters=0, gap_tolerance_meters=101)
    assert (wider.report.repair_connectors, wider.report.components) == (1, 1)
    assert wider.report.repair_length_km == pytest.approx(0.100)


def test_gap_inside_one_component_is_not_closed() -> None:
    # a U: the free end of the top bar is 50 m above the bottom bar, but already connected to it
    gdf = roads(
        ("residential", [(0, 0), (200, 0)]),
        ("residential", [(200, 0), (200, 50)]),
        ("residential", [(200, 50), (20, 50)]),
    )
    net = network_from_lines(gdf, mode="walk", min_island_meters=0, detour_repair=False)
    assert (net.report.repair_connectors, net.report.components) == (0, 1)
    assert net.G.number_of_nodes() == 4
    # the detour repair closes it: 180 + 50 + 180 = 410 m round the U > max(5 x 50, 300) m
    detour = network_from_lines(gdf, mode="walk", min_island_meters=0)
    r = detour.report
    assert (r.repair_connectors, r.detour_connectors, r.components) == (1, 1, 1)
    assert r.detour_length_km == r.repair_length_km == pytest.approx(0.050)
    assert detour.G.number_of_nodes() == 5  # the bottom bar is split at (20, 0)


def test_ends_within_snap_tolerance_are_merged() -> None:
    gdf = roads(("residential", [(0, 0), (100, 0)]), ("residential", [(104, 0), (200, 0)]))
    no_gaps: dict[str, Any] = {
        "min_island_meters": 0,
        "gap_tolerance_meters": 0,
        "detour_repair": False,
    }
    net = network_from_lines(gdf, mode="walk", **no_gaps)
    assert (net.G.number_of_nodes(), net.report.components) == (3, 1)
    assert net.report.length_km == pytest.approx(0.2)  # B now starts at x=100
    apart = network_from_lines(gdf, mode="walk", snap_tolerance_meters=0, **no_gaps)
    assert (apart.G.number_of_nodes(), apart.report.components) == (4, 2)
    # left on, the detour repair closes the 4 m gap: no path at all is the longest detour
    closed = network_from_lines(
        gdf, mode="walk", min_island_meters=0, gap_tolerance_meters=0, snap_tolerance_meters=0
    )
    assert (closed.report.detour_connectors, closed.report.components) == (1, 1)
    assert closed.report.detour_length_km == pytest.approx(0.004)


def test_small_islands_are_dropped_and_counted() -> None:
    gdf = roads(("residential", [(0, 0), (1200, 0)]), ("residential", [(0, 500), (300, 500)]))
    net = network_from_lines(gdf, mode="walk")  # default min_island_meters 1000
    r = net.report
    assert (r.dropped_islands, r.components, r.nodes, r.edges) == (1, 1, 2, 2)
    assert r.dropped_island_km == pytest.approx(0.3)
    assert r.length_km == pytest.approx(1.2)
    assert r.largest_component_share == pytest.approx(1200 / 1500)


# --- detour repair: dead ends beside a road of their own component ---------------------------


def u_layer(*extra: tuple[str, list[tuple[float, float]]], spacing: float = 20) -> gpd.GeoDataFrame:
    """A U: the top bar's free end (0, spacing) is ``spacing`` m above the bottom bar, which
    runs on to x=-100; round the U it is 400 + spacing + 400 m away."""
    return roads(
        ("residential", [(-100, 0), (400, 0)]),
        ("residential", [(400, 0), (400, spacing)]),
        ("residential", [(400, spacing), (0, spacing)]),
        *extra,
    )


def test_dead_end_with_a_long_detour_gets_a_detour_connector() -> None:
    net = network_from_lines(u_layer(), mode="walk", min_island_meters=0)
    G = net.G
    end, foot = node_at(G, 0, 20), node_at(G, 0, 0)
    repaired = [(u, v, d) for u, v, d in G.edges(data=True) if d["repaired"]]
    assert {(u, v) for u, v, _ in repaired} == {(end, foot), (foot, end)}
    assert all(d["repair_kind"] == "detour" for *_, d in repaired)
    assert all(d["length"] == pytest.approx(20, abs=1e-6) for *_, d in repaired)
    assert all(d["name"] == "road 2" for *_, d in repaired)  # the road whose end it extends
    # 5 nodes (the bottom bar split at x=0), 5 two-way pieces
    assert (G.number_of_nodes(), G.number_of_edges()) == (5, 10)
    assert nx.shortest_path_length(G, end, foot, weight="length") == pytest.approx(20)
    r = net.report
    assert (r.repair_connectors, r.detour_connectors, r.components) == (1, 1, 1)
    assert r.repair_length_km == r.detour_length_km == pytest.approx(0.020)
    assert r.length_km == pytest.approx(0.500 + 0.020 + 0.400 + 0.020)
    assert r.params["detour_gap_meters"] == network.DEFAULT_DETOUR_GAP_METERS
    assert r.largest_component_share == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("link_x", "min_detour", "expected"),
    [
        (100, None, 0),  # detour 100 + 20 + 100 = 220 m: over 5 x 20 m but under 300 m
        (100, 0, 1),  # ... closed once any detour over 5 x 20 m counts
        (30, 0, 0),  # 30 + 20 + 30 = 80 m: not 5 x 20 m
        (200, None, 1),  # 200 + 20 + 200 = 420 m > 300 m
    ],
)
def test_dead_end_with_a_short_detour_is_left_alone(
    link_x: float, min_detour: float | None, expected: int
) -> None:
    # the U with a cross link at x=link_x joining the two bars near the dead end
    gdf = u_layer(("residential", [(link_x, 0), (link_x, 20)]))
    kw: dict[str, Any] = {} if min_detour is None else {"min_detour_meters": min_detour}
    net = network_from_lines(gdf, mode="walk", min_island_meters=0, **kw)
    assert net.report.detour_connectors == expected
    assert net.report.repair_connectors == expected
    assert net.report.detour_length_km == pytest.approx(0.020 * expected)


def test_gap_wider_than_detour_gap_stays_open() -> None:
    gdf = u_layer(spacing=70)  # 870 m round the U, but 70 m > 60 m
    net = network_from_lines(gdf, mode="walk", min_island_meters=0)
    assert (net.report.repair_connectors, net.report.detour_connectors) == (0, 0)
    assert not any(d["repaired"] for *_, d in net.G.edges(data=True))
    wider = network_from_lines(gdf, mode="walk", min_island_meters=0, detour_gap_meters=70.5)
    assert wider.report.detour_connectors == 1
    assert wider.report.detour_length_km == pytest.approx(0.070)


def test_facing_dead_ends_get_one_connector() -> None:
    # a street cut by a dropped 40 m bridge; its halves meet 2,560 m round a loop
    gdf = roads(
        ("residential", [(-20, 0), (-500, 0)]),
        ("residential", [(-500, 0), (-500, 300), (500, 300), (500, 0)]),
        ("residential", [(500, 0), (20, 0)]),
    )
    net = network_from_lines(gdf, mode="walk", min_island_meters=0)
    r = net.report
    assert (r.detour_connectors, r.repair_connectors) == (1, 1)
    assert r.detour_length_km == pytest.approx(0.040)
    G = net.G
    assert (G.number_of_nodes(), G.number_of_edges()) == (4, 8)  # a ring of 4 pieces
    assert nx.shortest_path_length(
        G, node_at(G, -20, 0), node_at(G, 20, 0), weight="length"
    ) == pytest.approx(40)


def test_detour_is_measured_again_after_a_nearby_connector() -> None:
    # a spur off the U's top bar ends at (-30, 22), 22 m above the bottom bar and 928 m round;
    # once the top bar's end (0, 20) is joined (20 m, first), it is 23 + 70 + 25 + 40 + 20 + 30
    # = 208 m round, under 300 m: one connector, not two
    gdf = u_layer(("residential", [(40, 20), (40, 45), (-30, 45), (-30, 22)]))
    net = network_from_lines(gdf, mode="walk", min_island_meters=0)
    assert (net.report.detour_connectors, net.report.repair_connectors) == (1, 1)
    assert net.report.detour_length_km == pytest.approx(0.020)
    G = net.G
    spur_end, foot = node_at(G, -30, 22), node_at(G, 0, 0)
    assert nx.shortest_path_length(G, spur_end, foot, weight="length") == pytest.approx(178)
    # without the top bar's connector the spur's end is the one joined (22 m)
    alone = u_layer(("residential", [(40, 20), (40, 45), (-30, 45), (-30, 22)]))
    alone.loc[2, "geometry"] = shapely.LineString([(X0 + 400, Y0 + 20), (X0 + 40, Y0 + 20)])
    net = network_from_lines(alone, mode="walk", min_island_meters=0)
    assert net.report.detour_connectors == 1
    assert net.report.detour_length_km == pytest.approx(0.022)


def test_detour_repair_never_joins_a_motorway() -> None:
    # dead ends 20 m below a motorway's middle and below its west end, reached from it only
    # through the ramp at its east end: 780 m and 1,380 m round
    gdf = roads(
        ("motorway", [(-300, 0), (300, 0)]),
        ("motorway_link", [(300, 0), (300, -100)]),
        ("residential", [(300, -100), (0, -100), (0, -20)]),
        ("residential", [(0, -100), (-300, -100), (-300, -20)]),
    )
    net = network_from_lines(gdf, mode="drive", min_island_meters=0)
    assert (net.report.repair_connectors, net.report.components) == (0, 1)
    assert not any(d["repaired"] for *_, d in net.G.edges(data=True))
    # at grade, the motorway is a road like the others: both gaps are closed
    flat = network_from_lines(gdf, mode="drive", min_island_meters=0, grade_separated=())
    assert flat.report.detour_connectors == 2
    assert flat.report.detour_length_km == pytest.approx(0.040)


def test_detour_repair_can_be_switched_off() -> None:
    for kw in ({"detour_repair": False}, {"detour_gap_meters": 0}):
        net = network_from_lines(u_layer(), mode="walk", min_island_meters=0, **kw)
        assert (net.report.repair_connectors, net.report.detour_connectors) == (0, 0)
        assert net.G.number_of_nodes() == 4
    assert net.report.params["detour_repair"] is True  # switched off by its gap
    off = network_from_lines(u_layer(), mode="walk", min_island_meters=0, detour_repair=False)
    assert off.report.params["detour_repair"] is False
    on = network_from_lines(u_layer(), mode="walk", min_island_meters=0)
    assert off.key != on.key


def test_report_counts_detour_connectors_separately() -> None:
    # the U (a 20 m detour gap) and a separate street 30 m west of the bottom bar's end
    gdf = u_layer(("residential", [(-130, -200), (-130, 200)]))
    net = network_from_lines(gdf, mode="walk", min_island_meters=0)
    r = net.report
    assert (r.repair_connectors, r.detour_connectors, r.components) == (2, 1, 1)
    assert r.repair_length_km == pytest.approx(0.050)  # both kinds
    assert r.detour_length_km == pytest.approx(0.020)
    kinds = {
        d["repair_kind"]: pytest.approx(d["length"])
        for *_, d in net.G.edges(data=True)
        if d["repaired"]
    }
    assert kinds == {"component": 30, "detour": 20}
    data = r.to_dict()
    assert (data["detour_connectors"], data["detour_length_km"]) == (1, 0.02)
    assert (data["repair_connectors"], data["repair_length_km"]) == (2, 0.05)
    assert json.loads(json.dumps(data)) == data


# --- modes, directions, speeds ---------------------------------------------------------------


def test_oneway_in_drive_and_not_in_walk() -> None:
    gdf = roads(
        ("residential", [(0, 0), (100, 0)]),
        ("residential", [(100, 0), (200, 0)]),
        ("residential", [(200, 0), (300, 0)]),
        oneway=["yes", "-1", "no"],
    )
    drive = network_from_lines(gdf, mode="drive", oneway_column="oneway", min_island_meters=0)
    G = drive.G
    a, b, c, d = (node_at(G, x, 0) for x in (0, 100, 200, 300))
    assert G.has_edge(a, b) and not G.has_edge(b, a)
    assert G.has_edge(c, b) and not G.has_edge(b, c)
    assert G.has_edge(c, d) and G.has_edge(d, c)
    assert G.number_of_edges() == 4
    assert G.edges[c, b, 0]["oneway"] and G.edges[c, b, 0]["reversed"]
    assert not G.edges[c, d, 0]["oneway"]
    assert drive.report.length_km == pytest.approx(0.3)  # each road once, whatever its directions

    walk = network_from_lines(gdf, mode="walk", oneway_column="oneway", min_island_meters=0)
    assert walk.G.number_of_edges() == 6


def test_walk_excludes_motorways_and_drive_excludes_footways() -> None:
    classes = [
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "residential",
        "footway",
        "steps",
    ]
    spokes = [(500 * math.cos(k), 500 * math.sin(k)) for k in range(len(classes))]
    gdf = roads(*((c, [(0, 0), s]) for c, s in zip(classes, spokes, strict=True)))
    walk = network_from_lines(gdf, mode="walk", min_island_meters=0)
    drive = network_from_lines(gdf, mode="drive", min_island_meters=0)
    assert {d["highway"] for *_, d in walk.G.edges(data=True)} == {
        "residential",
        "footway",
        "steps",
    }
    assert {d["highway"] for *_, d in drive.G.edges(data=True)} == {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "residential",
    }
    assert walk.report.components == drive.report.components == 1  # joined at the shared centre


def test_foot_no_is_not_walkable() -> None:
    gdf = roads(
        ("residential", [(0, 0), (100, 0)]),
        ("residential", [(100, 0), (200, 0)]),
        foot=["no", None],
    )
    net = network_from_lines(gdf, mode="walk", foot_column="foot", min_island_meters=0)
    assert net.report.length_km == pytest.approx(0.1)
    assert {d["name"] for *_, d in net.G.edges(data=True)} == {"road 1"}


def test_travel_times_use_class_speed_congestion_and_walk_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gdf = roads(("residential", [(0, 0), (100, 0)]))

    def seconds(**kw: object) -> float:
        net = network_from_lines(gdf, min_island_meters=0, **kw)  # type: ignore[arg-type]
        return float(next(iter(net.G.edges(data=True)))[2]["travel_time"])

    assert seconds(mode="drive") == pytest.approx(100 / (20 / 3.6))  # residential 20 km/h
    assert seconds(mode="drive", congestion_factor=1.5) == pytest.approx(100 / (20 / 1.5 / 3.6))
    assert seconds(mode="drive", drive_speeds_kmh={"residential": 30}) == pytest.approx(12)
    assert seconds(mode="walk") == pytest.approx(90)
    assert seconds(mode="walk", walk_speed_kmh=5) == pytest.approx(72)
    assert seconds(mode="walk") == pytest.approx(100 / (DEFAULTS.walk_speed_kmh / 3.6))


def test_known_projected_crs_is_reprojected() -> None:
    gdf = roads(("residential", [(0, 0), (200, 0)]), ("residential", [(100, -100), (100, 100)]))
    reports = [
        network_from_lines(g, mode="walk", min_island_meters=0).report
        for g in (gdf, gdf.to_crs("EPSG:4326"), gdf.to_crs("EPSG:4547"))  # 4547: CGCS2000 GK
    ]
    assert {(r.nodes, r.edges, r.noded_crossings) for r in reports} == {(5, 8, 1)}
    assert [r.length_km for r in reports] == pytest.approx([0.4] * 3, abs=1e-6)


def test_graph_is_osmnx_compatible_and_report_is_json_ready() -> None:
    gdf = roads(
        ("residential", [(0, 0), (100, 50), (200, 0)]), ("residential", [(200, 0), (300, 0)])
    )
    net = network_from_lines(gdf, mode="walk", min_island_meters=0, source="hand-drawn")
    assert isinstance(net, Network) and net.mode == "walk" and len(net.key) == 64
    assert net.G.graph["crs"] == "EPSG:4326"
    nodes, edges = ox.graph_to_gdfs(net.G)
    assert nodes.total_bounds[0] > 121 and nodes.total_bounds[3] < 32  # lon/lat
    bent = edges[edges.geometry.apply(lambda g: len(g.coords) > 2)]
    assert len(bent) == 2  # the bent road, both ways
    assert ox.stats.basic_stats(net.G)["n"] == 3
    data = net.report.to_dict()
    assert json.loads(json.dumps(data)) == data
    for key in (
        "nodes",
        "edges",
        "length_km",
        "components",
        "largest_component_share",
        "repair_connectors",
        "repair_length_km",
        "source",
    ):
        assert key in data
    assert data["source"] == "hand-drawn"


# --- OSM files -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def osm_fixture() -> Path:
    return settings.data_file("fixtures/shanghai_center.osm")


def osmnx_xml(path: Path, **kw: object) -> nx.MultiDiGraph:
    """osmnx's own loader; it warns because the fixture was written by osmnx."""
    with pytest.warns(UserWarning, match="generated by OSMnx"):
        return ox.graph_from_xml(path, **kw)  # type: ignore[arg-type]


def test_osm_fixture_drive_matches_osmnx(osm_fixture: Path) -> None:
    raw = osmnx_xml(osm_fixture, simplify=False, retain_all=True)
    assert (len(raw), raw.number_of_edges()) == (2958, 3387)  # the pack README's numbers
    on_roads = len(raw) - nx.number_of_isolates(raw)  # the file has nodes on no way
    net = network_from_osm_file(osm_fixture, mode="drive", simplify=False, min_island_meters=0)
    assert (net.report.nodes, net.report.edges) == (on_roads, 3387)

    simple = osmnx_xml(osm_fixture, retain_all=True)
    net = network_from_osm_file(osm_fixture, mode="drive", min_island_meters=0)
    assert (net.report.nodes, net.report.edges) == (
        len(simple) - nx.number_of_isolates(simple),
        simple.number_of_edges(),
    )
    # every component but osmnx's largest has under 1 km of road, so dropping islands
    # leaves exactly osmnx's largest component
    largest = osmnx_xml(osm_fixture)
    net = network_from_osm_file(osm_fixture, mode="drive")
    assert (net.report.nodes, net.report.edges) == (len(largest), largest.number_of_edges())
    assert net.report.components == 1
    assert net.report.repair_connectors == 0
    assert all("travel_time" in d and d["repaired"] is False for *_, d in net.G.edges(data=True))


def test_osm_fixture_walk_matches_osmnx(osm_fixture: Path) -> None:
    expected = osmnx_xml(osm_fixture, bidirectional=True, simplify=False, retain_all=True)
    expected.remove_edges_from(
        [
            (u, v, k)
            for u, v, k, d in expected.edges(keys=True, data=True)
            if d["highway"] in ("trunk", "trunk_link")
        ]
    )
    expected.remove_nodes_from(list(nx.isolates(expected)))
    expected = ox.simplify_graph(expected)
    net = network_from_osm_file(osm_fixture, mode="walk", min_island_meters=0)
    assert (net.report.nodes, net.report.edges) == (len(expected), expected.number_of_edges())
    assert all(net.G.has_edge(v, u) for u, v in net.G.edges())
    assert not {"trunk", "trunk_link"} & {str(d["highway"]) for *_, d in net.G.edges(data=True)}
    assert all(d["speed_kph"] == DEFAULTS.walk_speed_kmh for *_, d in net.G.edges(data=True))


def test_graphml_round_trip(osm_fixture: Path, tmp_path: Path) -> None:
    drive = network_from_osm_file(osm_fixture, mode="drive", min_island_meters=0)
    path = tmp_path / "centre.graphml"
    ox.save_graphml(drive.G, path)
    again = network_from_file(path, mode="drive", options=BuildOptions(min_island_meters=0))
    assert (again.report.nodes, again.report.edges) == (drive.report.nodes, drive.report.edges)
    walk = network_from_osm_file(path, mode="walk", min_island_meters=0)
    assert all(walk.G.has_edge(v, u) for u, v in walk.G.edges())  # oneways made two-way


# --- the Minhang data pack -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_pack_largest_component_holds_95_percent(pack: Path, mode: str) -> None:
    net = network_from_file(
        settings.data_file(PACK_ROADS), mode=mode, options=BuildOptions(source=PACK_SOURCE)
    )
    r = net.report
    assert r.largest_component_share >= 0.95
    assert r.repair_connectors > 0 and r.repair_length_km > 0 and r.noded_crossings > 0
    assert 0 < r.detour_connectors < r.repair_connectors
    assert 0 < r.detour_length_km < r.repair_length_km
    kinds = [d["repair_kind"] for *_, d in net.G.edges(data=True) if d["repaired"]]
    # two-way; connectors on the islands dropped afterwards are counted but not in the graph
    assert 0 < kinds.count("detour") <= 2 * r.detour_connectors
    assert 0 < kinds.count("component") <= 2 * (r.repair_connectors - r.detour_connectors)
    # a detour connector never ends on a motorway or trunk alone (only at an at-grade junction)
    grade = {"motorway", "trunk"}
    for u, v, d in net.G.edges(data=True):
        if d.get("repair_kind") == "detour":
            assert d["highway"] not in grade
            for end in (u, v):
                roads = {e["highway"] for *_, e in net.G.edges(end, data=True) if not e["repaired"]}
                assert roads - grade
    assert r.source == PACK_SOURCE and r.source_date == "2026-05-13"
    assert r.components <= 10
    classes = {d["highway"] for *_, d in net.G.edges(data=True)}
    if mode == "walk":
        assert not classes & {"motorway", "motorway_link", "trunk", "trunk_link"}
    else:
        assert "pedestrian" not in classes and "motorway" in classes
    nodes = ox.graph_to_gdfs(net.G, edges=False)
    minx, miny, maxx, maxy = nodes.total_bounds
    assert MINHANG_BBOX[0] < minx < maxx < MINHANG_BBOX[2]
    assert MINHANG_BBOX[1] < miny < maxy < MINHANG_BBOX[3]


def test_load_network_reads_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(settings, "cache_folder", tmp_path)
    first = load_network("walk")
    assert len(list(tmp_path.glob("network-walk-*.npz"))) == 1

    def rebuild(*args: object, **kw: object) -> Network:
        msg = "rebuilt instead of reading the cache"
        raise AssertionError(msg)

    monkeypatch.setattr(network.build, "network_from_file", rebuild)
    second = load_network("walk")
    assert second.key == first.key
    assert second.report == first.report
    assert nx.utils.graphs_equal(first.G, second.G)
    # no cache, other parameters, another walking speed: each needs a build
    with pytest.raises(AssertionError, match="rebuilt"):
        load_network("walk", use_cache=False)
    with pytest.raises(AssertionError, match="rebuilt"):
        load_network("walk", options=BuildOptions(gap_tolerance_meters=50))
    with pytest.raises(AssertionError, match="rebuilt"):
        load_network("walk", options=BuildOptions(detour_repair=False))
    with pytest.raises(AssertionError, match="rebuilt"):
        load_network("walk", options=BuildOptions(walk_speed_kmh=5.0))
    # the default written out is the default: same key, read from the cache (walk and drive)
    assert BuildOptions().cache_params("drive") == BuildOptions(
        congestion_factor=DEFAULTS.congestion_factor, walk_speed_kmh=DEFAULTS.walk_speed_kmh
    ).cache_params("drive")
    assert (
        load_network("walk", options=BuildOptions(walk_speed_kmh=DEFAULTS.walk_speed_kmh)).key
        == first.key
    )


def test_writing_a_cache_prunes_networks_unused_for_30_days(tmp_path: Path) -> None:
    net = network_from_lines(roads(("residential", [(0, 0), (100, 0)])), min_island_meters=0)
    stale, recent = tmp_path / "network-walk-old.npz", tmp_path / "network-drive-new.npz"
    other = tmp_path / "geocode-overrides.csv"
    for path in (stale, recent, other):
        path.write_bytes(b"x")
    old = time.time() - (network.CACHE_MAX_AGE_DAYS + 1) * 86400
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    network.cache._write_cache(tmp_path / "network-walk-this.npz", net)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "geocode-overrides.csv",
        "network-drive-new.npz",
        "network-walk-this.npz",
    ]


# --- bad inputs ------------------------------------------------------------------------------


def test_no_geometry_column() -> None:
    df = pd.DataFrame({"highway": ["residential"], "name": ["a"]})
    with pytest.raises(
        InputFileError, match=r"no geometry column \(columns present: highway, name\)"
    ):
        network_from_lines(df)


def test_file_without_geometry(tmp_path: Path) -> None:
    path = tmp_path / "table.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"highway": ["residential"]}), path, layer="roads")
    with pytest.raises(InputFileError, match="no geometry column"):
        network_from_file(path, mode="walk")


@pytest.mark.parametrize(
    ("geometry", "kind"),
    [(shapely.Point(X0, Y0), "Point"), (shapely.box(X0, Y0, X0 + 10, Y0 + 10), "Polygon")],
)
def test_wrong_geometry_type(geometry: shapely.Geometry, kind: str) -> None:
    gdf = roads(("residential", [(0, 0), (100, 0)]))
    gdf.loc[1] = ["residential", "b", geometry]
    with pytest.raises(
        InputFileError, match=rf"expected LineString or MultiLineString .*'{kind}': 1.*rows \[1\]"
    ):
        network_from_lines(gdf)


def test_unknown_road_class_column() -> None:
    gdf = roads(("residential", [(0, 0), (100, 0)]))
    with pytest.raises(
        InputFileError, match=r"no column 'fclass' .*columns present: highway, name"
    ):
        network_from_lines(gdf, road_class_column="fclass")
    with pytest.raises(InputFileError, match=r"name_column=None"):
        network_from_lines(gdf.drop(columns="name"))


def test_empty_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.geojson"
    empty.write_bytes(b"")
    with pytest.raises(InputFileError, match=r"empty\.geojson: the file is empty"):
        network_from_file(empty, mode="walk")
    no_features = tmp_path / "none.geojson"
    no_features.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(InputFileError, match="no features"):
        network_from_file(no_features, mode="walk")
    with pytest.raises(InputFileError, match="no features"):
        network_from_lines(roads().iloc[:0])
    osm = tmp_path / "empty.osm"
    osm.write_bytes(b"")
    with pytest.raises(InputFileError, match="empty"):
        network_from_file(osm, mode="walk")


def test_projected_coordinates_without_their_crs(tmp_path: Path) -> None:
    # GeoJSON has no CRS member, so it is read as EPSG:4326, but its coordinates are metres
    feature = {
        "type": "Feature",
        "properties": {"highway": "residential", "name": "a"},
        "geometry": {"type": "LineString", "coordinates": [[X0, Y0], [X0 + 100, Y0]]},
    }
    path = tmp_path / "metres.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    with pytest.raises(
        InputFileError, match=r"CRS says EPSG:4326 .*projected CRS; reproject the file to EPSG:4326"
    ):
        network_from_file(path, mode="walk")
    no_crs = roads(("residential", [(0, 0), (100, 0)])).set_crs(None, allow_override=True)
    with pytest.raises(InputFileError, match=r"no CRS .*projected CRS: reproject it to EPSG:4326"):
        network_from_lines(no_crs)
    lonlat_no_crs = no_crs.set_crs(METRIC).to_crs("EPSG:4326").set_crs(None, allow_override=True)
    with pytest.raises(InputFileError, match=r"no CRS .*gdf\.set_crs\('EPSG:4326'\)"):
        network_from_lines(lonlat_no_crs)


def test_crs_that_cannot_be_transformed() -> None:
    local = (
        'LOCAL_CS["Shanghai city grid",LOCAL_DATUM["local",0],UNIT["metre",1],'
        'AXIS["X",EAST],AXIS["Y",NORTH]]'
    )
    gdf = roads(("residential", [(0, 0), (100, 0)])).set_crs(local, allow_override=True)
    with pytest.raises(
        InputFileError, match=r"cannot transform the layer's CRS .*Shanghai city grid.*EPSG:4326"
    ):
        network_from_lines(gdf)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="road file not found"):
        network_from_file(tmp_path / "missing.geojson", mode="walk")
    for name, match in [
        ("roads.pbf", "cannot read the OSM PBF file"),
        ("roads.csv", "unknown road file type"),
    ]:
        path = tmp_path / name
        path.write_bytes(b"x")
        with pytest.raises(InputFileError, match=match):
            network_from_file(path, mode="walk")
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><node")
    with pytest.raises(InputFileError, match="cannot be read as OSM XML"):
        network_from_osm_file(broken)
    bare = tmp_path / "bare.osm"
    bare.write_text('<?xml version="1.0"?><osm version="0.6"></osm>')
    with pytest.raises(InputFileError, match="holds no nodes or ways"):
        network_from_osm_file(bare)


def test_bad_parameters() -> None:
    gdf = roads(("residential", [(0, 0), (100, 0)]))
    with pytest.raises(NetworkError, match=r"mode='bike': expected one of 'walk', 'drive'"):
        network_from_lines(gdf, mode="bike")
    with pytest.raises(NetworkError, match=r"congestion_factor=0"):
        network_from_lines(gdf, mode="drive", congestion_factor=0)
    with pytest.raises(NetworkError, match=r"gap_tolerance_meters=-5"):
        network_from_lines(gdf, gap_tolerance_meters=-5)
    with pytest.raises(NetworkError, match=r"detour_gap_meters=-1: expected a distance"):
        network_from_lines(gdf, detour_gap_meters=-1)
    with pytest.raises(NetworkError, match=r"min_detour_meters=nan"):
        network_from_lines(gdf, min_detour_meters=math.nan)
    with pytest.raises(NetworkError, match=r"detour_factor=0.5: expected a number >= 1"):
        network_from_lines(gdf, detour_factor=0.5)
    with pytest.raises(NetworkError, match=r"detour_repair='yes': expected True or False"):
        network_from_lines(gdf, detour_repair="yes")  # type: ignore[arg-type]
    with pytest.raises(NetworkError, match=r"no drive speed for road classes '县道' \(1 lines\)"):
        network_from_lines(roads(("县道", [(0, 0), (100, 0)])), mode="drive")
    with pytest.raises(
        NetworkError, match=r"no walk roads among the road classes found \(motorway\)"
    ):
        network_from_lines(roads(("motorway", [(0, 0), (100, 0)])), mode="walk")


def test_polygon_must_be_a_lonlat_polygon() -> None:
    with pytest.raises(NetworkError, match="expected a non-empty shapely Polygon"):
        network_from_polygon(shapely.Point(121.4, 31.1))
    with pytest.raises(NetworkError, match="not lon/lat"):
        network_from_polygon(shapely.box(X0, Y0, X0 + 500, Y0 + 500))


@pytest.mark.network
def test_network_from_polygon_downloads_osm() -> None:
    box = shapely.box(121.380, 31.108, 121.390, 31.116)  # ~1 km around Xinzhuang station
    net = network_from_polygon(box, mode="walk", min_island_meters=0)
    assert net.report.nodes > 10 and net.report.source.startswith("OpenStreetMap")
    assert all(net.G.has_edge(v, u) for u, v in net.G.edges())


def test_osm_pbf_reads_like_the_xml(osm_fixture: Path, tmp_path: Path) -> None:
    """The fixture written as PBF with pyosmium (an independent writer) loads to the same graph."""
    import osmium

    pbf = tmp_path / "shanghai_center.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(osm_fixture)):
            writer.add(obj)
    from_xml = network_from_osm_file(osm_fixture, mode="drive")
    from_pbf = network_from_file(pbf, mode="drive")
    assert from_pbf.report.nodes == from_xml.report.nodes > 0
    assert from_pbf.report.edges == from_xml.report.edges
    assert from_pbf.report.length_km == pytest.approx(from_xml.report.length_km)
    assert set(from_pbf.G.nodes) == set(from_xml.G.nodes)


def test_chinese_planning_classes() -> None:
    """A planning bureau's layer: 快速路 (trunk, grade-separated) over a 支路 it crosses, and a
    主干路 crossing the 支路 at grade. Speeds follow the mapped OSM classes."""
    gdf = roads(
        ("快速路", [(-300, 0), (300, 0)]),
        ("支路", [(150, -100), (150, 100)]),
        ("主干路", [(0, 50), (300, 50)]),
    )
    net = network_from_lines(gdf, mode="drive", min_island_meters=0, detour_repair=False)
    G = net.G
    assert {d["highway"] for *_, d in G.edges(data=True)} == {"trunk", "tertiary", "primary"}
    # 支路 × 主干路 is noded at (150, 50); 支路 × 快速路 at (150, 0) is not
    node_at(G, 150, 50)
    with pytest.raises(AssertionError, match="no node at"):
        node_at(G, 150, 0)
    primary = next(d for *_, d in G.edges(data=True) if d["highway"] == "primary")
    assert primary["travel_time"] == pytest.approx(
        primary["length"] / (network.DRIVE_SPEEDS_KMH["primary"] / 3.6)
    )
    # walk: the 快速路 is excluded like a trunk road
    walk = network_from_lines(gdf, mode="walk", min_island_meters=0, detour_repair=False)
    assert "trunk" not in {d["highway"] for *_, d in walk.G.edges(data=True)}


def test_cache_key_ignores_docstrings_and_comments_but_not_code() -> None:
    fingerprint = network.cache._code_fingerprint
    code = 'def f(x):\n    """Twice x."""\n    return 2 * x  # doubled\n'
    reworded = (
        '"""A module."""\n\n\ndef f(x):\n    """Two times x."""\n    # the doubling\n'
        "    return 2 * x\n"
    )
    changed = 'def f(x):\n    """Twice x."""\n    return 3 * x\n'
    assert fingerprint(code) == fingerprint(reworded)
    assert fingerprint(code) != fingerprint(changed)
    klass = 'class A:\n    """Doc."""\n\n    x = 1\n'
    assert fingerprint(klass) == fingerprint("class A:\n    x = 1  # one\n")
    assert fingerprint(klass) != fingerprint('class A:\n    """Doc."""\n\n    x = 2\n')


def test_cache_key_covers_the_code_of_every_network_module() -> None:
    sources = network.cache._package_sources()
    modules = {f"{m.name}.py" for m in pkgutil.iter_modules(network.__path__)}
    assert set(sources) == modules | {"__init__.py"}
    assert {"model.py", "lines.py", "build.py"} <= set(sources)
    version = network.cache._sources_version
    assert network.cache._code_version() == version(sources)
    assert version(sources).startswith(f"{network.model._CACHE_FORMAT}:")
    # every docstring reworded and comments added, in every module: the same key
    reworded = {name: _reword_docstrings(text) for name, text in sources.items()}
    assert all(reworded[name] != sources[name] for name in sources)
    assert version(reworded) == version(sources)
    # a code change in any one module, or a module more or less: another key
    for name, text in sources.items():
        changed = dict(sources, **{name: f"{text}\n_ANOTHER_CONSTANT = 1\n"})
        assert version(changed) != version(sources), name
    assert version(dict(sources, **{"extra.py": "X = 1\n"})) != version(sources)
    fewer = {k: v for k, v in sources.items() if k != "detour.py"}
    assert version(fewer) != version(sources)


def _reword_docstrings(source: str) -> str:
    """``source`` with each docstring replaced by another text and a comment after each."""
    lines = source.splitlines(keepends=True)
    spans = []
    for node in ast.walk(ast.parse(source)):
        kinds = ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        if isinstance(node, kinds) and ast.get_docstring(node, clean=False) is not None:
            doc = node.body[0]
            assert doc.end_lineno is not None and doc.end_col_offset is not None
            spans.append((doc.lineno, doc.col_offset, doc.end_lineno, doc.end_col_offset))
    assert spans, "no docstrings to reword"
    for start, col, end, end_col in sorted(spans, reverse=True):
        head, tail = lines[start - 1][:col], lines[end - 1][end_col:]
        lines[start - 1 : end] = [f'{head}"""Reworded."""  # a comment{tail}']
    return "# a new first line\n" + "".join(lines)


def test_an_option_for_centre_lines_on_an_osm_file_is_refused_by_name(pack) -> None:
    osm = settings.data_file("fixtures/shanghai_center.osm")
    with pytest.raises(
        NetworkError, match=r"gap_tolerance_meters apply only to centre-line layers"
    ):
        network_from_file(osm, mode="drive", options=BuildOptions(gap_tolerance_meters=50))
    lines = settings.data_file(PACK_ROADS)
    with pytest.raises(NetworkError, match=r"simplify apply only to OSM data"):
        network_from_file(lines, mode="walk", options=BuildOptions(simplify=False))


def test_the_cache_holds_data_and_survives_corruption_planting_and_races(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import pickle
    import threading

    monkeypatch.setattr(settings, "cache_folder", tmp_path / "cache")
    assert settings.resolve_cache_folder().stat().st_mode & 0o777 == 0o700
    first = load_network("walk")
    (cache_file,) = (tmp_path / "cache").glob("network-walk-*.npz")
    with np.load(cache_file, allow_pickle=False) as data:  # plain arrays, no pickled objects
        assert {"head", "meta", "wkb", "wkb_offsets", "routing_seg_u"} <= set(data.files)
        assert all(data[name].dtype != object for name in data.files)
    # a flipped byte: rebuilt, with one warning naming the file
    raw = bytearray(cache_file.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    cache_file.write_bytes(bytes(raw))
    caplog.clear()
    with caplog.at_level("WARNING", logger="geo.network.cache"):
        again = load_network("walk")
    assert again.key == first.key and nx.utils.graphs_equal(first.G, again.G)
    assert [r.getMessage() for r in caplog.records if cache_file.name in r.getMessage()]
    # a planted pickle that would run code is never unpickled
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (marker.write_text, ("pwned",))

    cache_file.write_bytes(pickle.dumps(Evil()))
    assert load_network("walk").key == first.key
    assert not marker.exists()
    # two planners building the same network at once: both succeed, one file remains
    cache_file.unlink()
    results: list[str] = []

    def build() -> None:
        results.append(load_network("walk").key)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == [first.key, first.key]
    assert len(list((tmp_path / "cache").glob("network-walk-*.npz"))) == 1
    assert not list((tmp_path / "cache").glob(".*.tmp"))


def test_a_cached_network_routes_on_its_arrays_without_building_the_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache holds the routing arrays: a network read from it has no networkx graph until
    one is asked for, and its reach index equals the one built from the graph."""
    from geo.reach import reach_index_from_arrays, reach_index_from_graph

    monkeypatch.setattr(settings, "cache_folder", tmp_path / "cache")
    built = load_network("walk")
    assert built.arrays is None and built.has_graph
    cached = load_network("walk")
    assert cached.arrays is not None and not cached.has_graph
    a = reach_index_from_arrays(cached.arrays)
    assert not cached.has_graph  # routing needed no graph
    speed = built.report.params["walk_speed_kmh"]
    assert isinstance(speed, float)
    b = reach_index_from_graph(built.G, mode="walk", walk_speed_kmh=speed)
    for name in ("node_ids", "node_xy", "seg_u", "seg_v", "seg_len", "snap_segs"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for kind in ("time_s", "length_m"):
        np.testing.assert_array_equal(a.fwd[kind], b.fwd[kind])
        np.testing.assert_array_equal(a.bwd[kind], b.bwd[kind])
    assert a.access_cost_per_m == b.access_cost_per_m
    assert bool(np.all(shapely.equals_exact(a.seg_geom, b.seg_geom, tolerance=0)))
    assert list(a.seg_name) == list(b.seg_name)
    # the graph, when asked for, is the one that was built
    assert nx.utils.graphs_equal(cached.G, built.G)
