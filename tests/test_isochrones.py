from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from geo import isochrones, reach

TO_LONLAT = Transformer.from_crs(32651, 4326, always_xy=True)
X0, Y0 = 350_000.0, 3_440_000.0


def line_graph(oneway: bool = False):
    """a–b–c along x, 100 m and 100 s per edge (b–c one way c→b if ``oneway``)."""
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for node, x in enumerate((0.0, 100.0, 200.0)):
        lon, lat = TO_LONLAT.transform(X0 + x, Y0)
        G.add_node(node, x=lon, y=lat)
    G.add_edge(0, 1, length=100.0, travel_time=100.0)
    G.add_edge(1, 0, length=100.0, travel_time=100.0)
    G.add_edge(2, 1, length=100.0, travel_time=100.0)
    if not oneway:
        G.add_edge(1, 2, length=100.0, travel_time=100.0)
    return reach.reach_index_from_graph(G, mode="walk")


def covered_length(index, src_xy, limit):
    src = index.snap(np.array(src_xy, float))
    node_cost = index.node_costs(src, "time_s", limit=limit)
    seg, lo, hi = isochrones.covered_intervals(index, node_cost, "time_s", limit=limit, sources=src)
    lines = isochrones.interval_lines(index, seg, lo, hi)
    return shapely.union_all(lines)


def test_partial_edge_is_interpolated_exactly():
    index = line_graph()
    # facility on a: a–b (100 s) whole, then 50 of b–c's 100 m in the remaining 50 s
    covered = covered_length(index, [[X0, Y0]], limit=150)
    assert covered.length == pytest.approx(150.0, abs=1e-6)
    assert shapely.bounds(covered)[[0, 2]] == pytest.approx([X0, X0 + 150], abs=1e-6)


def test_source_mid_edge_covers_both_ways():
    index = line_graph()
    # facility 30 m along a–b, on the road: 40 s reaches 30 m back to a and 40 m forward
    covered = covered_length(index, [[X0 + 30, Y0]], limit=40)
    assert covered.length == pytest.approx(70.0, abs=1e-6)
    assert shapely.bounds(covered)[[0, 2]] == pytest.approx([X0, X0 + 70], abs=1e-6)


def test_oneway_partial_edge():
    index = line_graph(oneway=True)
    # from a the walk reaches b at 100 s, but b→c is not allowed: nothing of b–c is covered
    covered = covered_length(index, [[X0, Y0]], limit=150)
    assert covered.length == pytest.approx(100.0, abs=1e-6)


def test_polygon_is_the_buffered_line():
    index = line_graph()
    src = index.snap(np.array([[X0, Y0]]))
    node_cost = index.node_costs(src, "time_s", limit=150)
    poly = isochrones.isochrone(
        index, node_cost, "time_s", limit=150, sources=src, buffer_meters=20
    )
    # a 150 m straight line buffered by 20 m: a 150×40 rectangle plus two half discs
    disc = shapely.Point(0, 0).buffer(20, quad_segs=isochrones.QUAD_SEGS).area
    assert poly.area == pytest.approx(150 * 40 + disc, rel=1e-9)


def test_nothing_reached_gives_an_empty_polygon():
    index = line_graph()
    src = index.snap(np.array([[X0, Y0 + 1000]]))  # off network
    node_cost = index.node_costs(src, "time_s", limit=150)
    assert isochrones.isochrone(index, node_cost, "time_s", limit=150, sources=src).is_empty


def test_vectorised_substrings_match_shapely_ops():
    from shapely.ops import substring

    rng = np.random.default_rng(7)
    geoms, starts, ends = [], [], []
    for _ in range(200):
        k = rng.integers(2, 7)
        coords = np.cumsum(rng.uniform(-50, 50, size=(k, 2)), axis=0)
        geoms.append(shapely.LineString(coords))
        a, b = np.sort(rng.uniform(0, 1, 2))
        if rng.random() < 0.1:
            b = a  # zero-length piece
        starts.append(a)
        ends.append(b)
    got = isochrones.substrings(np.array(geoms, dtype=object), np.array(starts), np.array(ends))
    for g, a, b, piece in zip(geoms, starts, ends, got, strict=True):
        want = substring(g, a, b, normalized=True)
        assert piece.length == pytest.approx(want.length, abs=1e-9)
        assert piece.hausdorff_distance(want) < 1e-9
