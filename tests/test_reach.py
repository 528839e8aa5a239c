"""Reach against an independent brute force: points inserted into a networkx graph + nx Dijkstra."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from geo import reach

TO_LONLAT = Transformer.from_crs(32651, 4326, always_xy=True)
X0, Y0 = 350_000.0, 3_440_000.0  # a UTM 51N origin inside Minhang


def grid_graph(n: int = 6, step: float = 100.0, *, seed: int = 0, oneway_share: float = 0.2):
    """An n×n street grid with random speeds, random one-way streets and a few missing blocks."""
    rng = np.random.default_rng(seed)
    G = nx.MultiDiGraph(crs="EPSG:4326")
    xy = {}
    for i in range(n):
        for j in range(n):
            node = i * n + j
            xy[node] = (X0 + j * step, Y0 + i * step)
            lon, lat = TO_LONLAT.transform(*xy[node])
            G.add_node(node, x=lon, y=lat)
    for i in range(n):
        for j in range(n):
            for di, dj in ((0, 1), (1, 0)):
                if i + di >= n or j + dj >= n or rng.random() < 0.1:
                    continue
                u, v = i * n + j, (i + di) * n + j + dj
                speed = rng.choice([1.0, 1.1, 10.0])  # m/s
                t = step / speed
                if rng.random() < oneway_share:
                    u, v = (u, v) if rng.random() < 0.5 else (v, u)
                    G.add_edge(u, v, length=step, travel_time=t)
                else:
                    G.add_edge(u, v, length=step, travel_time=t)
                    G.add_edge(v, u, length=step, travel_time=t)
    return G, xy


def brute_force(G, xy, src_xy, dst_xy, *, kind, access_per_m, limit):
    """Cost from the nearest source to each destination, by splitting edges and nx Dijkstra."""
    H = nx.DiGraph()
    attr = "travel_time" if kind == "time_s" else "length"
    for u, v, d in G.edges(data=True):
        w = d[attr]
        if not H.has_edge(u, v) or H[u][v]["w"] > w:
            H.add_edge(u, v, w=w)
    und = {(min(u, v), max(u, v)) for u, v in H.edges}
    lines = {e: shapely.LineString([xy[e[0]], xy[e[1]]]) for e in und}

    def attach(name, p, outgoing):
        pt = shapely.Point(p)
        e = min(lines, key=lambda k: (lines[k].distance(pt), k))
        access = lines[e].distance(pt) * access_per_m
        f = lines[e].project(pt, normalized=True)
        a, b = e
        pairs = [(a, f), (b, 1 - f)]  # (end node, share of the edge between point and that end)
        for end, share in pairs:
            other = b if end == a else a
            if outgoing and H.has_edge(other, end):  # leave towards `end`: travel other→end
                H.add_edge(name, end, w=access + share * H[other][end]["w"])
            if not outgoing and H.has_edge(end, other):  # arrive from `end`: travel end→other
                H.add_edge(end, name, w=access + share * H[end][other]["w"])
        return e, f, access

    src = [attach(("s", i), p, True) for i, p in enumerate(src_xy)]
    dst = [attach(("d", i), p, False) for i, p in enumerate(dst_xy)]
    # same edge: direct along the edge
    dist = nx.multi_source_dijkstra_path_length(
        H, [("s", i) for i in range(len(src_xy))], weight="w"
    )
    out = []
    for i, (e, f, acc) in enumerate(dst):
        best = dist.get(("d", i), np.inf)
        for e2, f2, acc2 in src:
            if e2 == e:
                a, b = e
                u, v = (a, b) if f >= f2 else (b, a)
                if H.has_edge(u, v):
                    best = min(best, acc + acc2 + abs(f - f2) * H[u][v]["w"])
        out.append(best if best <= limit else np.inf)
    return np.array(out)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("kind", ["time_s", "length_m"])
def test_reach_equals_brute_force(seed, kind):
    G, xy = grid_graph(seed=seed)
    idx = reach.reach_index_from_graph(G, mode="walk")
    rng = np.random.default_rng(100 + seed)
    src_xy = rng.uniform([X0, Y0], [X0 + 500, Y0 + 500], size=(3, 2))
    dst_xy = rng.uniform([X0 - 20, Y0 - 20], [X0 + 520, Y0 + 520], size=(60, 2))
    limit = 400.0 if kind == "time_s" else 450.0
    sources = idx.snap(src_xy)
    points = idx.snap(dst_xy)
    _, got = idx.reach(sources, points, kind, limit=limit)
    got = np.where(got <= limit, got, np.inf)
    want = brute_force(
        G, xy, src_xy, dst_xy, kind=kind, access_per_m=idx.access_cost_per_m[kind], limit=limit
    )
    assert np.isfinite(want).sum() > 5  # the case is not trivial
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-6)


def test_hand_worked_line():
    """A 3-node line a–b–c, 100 m each, 1 m/s: a facility 30 m past a, 10 m off the road.

    Walk access counts at 4 km/h: 10 m → 9 s. A point 20 m before c, 5 m off the road:
    9 + 70 (to b) + 80 (to the point) + 4.5 (its access) = 163.5 s.
    """
    G, _ = grid_graph(n=1)
    for node, x in enumerate((0.0, 100.0, 200.0)):
        lon, lat = TO_LONLAT.transform(X0 + x, Y0)
        G.add_node(node, x=lon, y=lat)
    for u, v in ((0, 1), (1, 2)):
        G.add_edge(u, v, length=100.0, travel_time=100.0)
        G.add_edge(v, u, length=100.0, travel_time=100.0)
    idx = reach.reach_index_from_graph(G, mode="walk", walk_speed_kmh=4.0)
    src = idx.snap(np.array([[X0 + 30, Y0 + 10]]))
    pts = idx.snap(np.array([[X0 + 180, Y0 - 5], [X0 + 180, Y0 - 500]]))
    nodes, cost = idx.reach(src, pts, "time_s", limit=1000)
    assert cost[0] == pytest.approx(163.5, abs=1e-6)
    assert np.isinf(cost[1]) and pts.off_network.tolist() == [False, True]
    assert nodes == pytest.approx([9 + 30, 9 + 70, 9 + 170], abs=1e-6)
    # the limit stops the search: c is 179 s away
    nodes, _ = idx.reach(src, pts, "time_s", limit=150)
    assert np.isinf(nodes[2])


def test_oneway_is_respected():
    """a→b one way (100 s); a facility at b reaches a point near a only if a road leads there."""
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for node, x in enumerate((0.0, 100.0)):
        lon, lat = TO_LONLAT.transform(X0 + x, Y0)
        G.add_node(node, x=lon, y=lat)
    G.add_edge(0, 1, length=100.0, travel_time=100.0)
    idx = reach.reach_index_from_graph(G, mode="drive")
    src = idx.snap(np.array([[X0 + 100, Y0]]))
    pts = idx.snap(np.array([[X0 + 10, Y0]]))
    _, cost = idx.reach(src, pts, "time_s", limit=1e6)
    assert np.isinf(cost[0])
    src = idx.snap(np.array([[X0, Y0]]))
    _, cost = idx.reach(src, pts, "time_s", limit=1e6)
    assert cost[0] == pytest.approx(10.0)


def test_source_at_the_start_of_a_oneway_segment_reaches_its_node():
    """c–a two-way (50 s), a→b one way (100 s). A source snapped to a→b at share 0 stands on a:
    it reaches a for free, c in 50 s and b in 100 s. Without the fix 0 × inf (the forbidden
    b→a direction) gave NaN, the link to a was dropped, and a and c were unreachable."""
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for node, x in ((0, 0.0), (1, 100.0), (2, -50.0)):
        lon, lat = TO_LONLAT.transform(X0 + x, Y0)
        G.add_node(node, x=lon, y=lat)
    G.add_edge(0, 1, length=100.0, travel_time=100.0)
    G.add_edge(0, 2, length=50.0, travel_time=50.0)
    G.add_edge(2, 0, length=50.0, travel_time=50.0)
    idx = reach.reach_index_from_graph(G, mode="drive")
    seg = next(
        i
        for i, (u, v) in enumerate(zip(idx.seg_u, idx.seg_v, strict=True))
        if {int(idx.node_ids[u]), int(idx.node_ids[v])} == {0, 1}
    )
    frac = 0.0 if int(idx.node_ids[idx.seg_u[seg]]) == 0 else 1.0
    src = reach.Snap(np.array([seg]), np.array([frac]), np.array([0.0]))
    nodes = idx.node_costs(src, "time_s", limit=1e6)
    by_id = dict(zip(idx.node_ids.tolist(), nodes.tolist(), strict=True))
    assert by_id[0] == pytest.approx(0.0, abs=1e-6)
    assert by_id[2] == pytest.approx(50.0, abs=1e-6)
    assert by_id[1] == pytest.approx(100.0, abs=1e-6)


def test_a_point_on_a_loop_road_is_reached_both_ways_round():
    """A loop road of 400 m (a 100 m square) from node a and back, stored as osmnx stores a
    two-way loop: two edges a→a whose geometries are each other's reverse. The source sits at a;
    a point 320 m along the first direction is 80 m from a the other way round: 80 m, not 320."""
    G = nx.MultiDiGraph(crs="EPSG:4326")
    square = [(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)]
    lonlat = [TO_LONLAT.transform(X0 + x, Y0 + y) for x, y in square]
    G.add_node(0, x=lonlat[0][0], y=lonlat[0][1])
    loop = shapely.LineString(lonlat)
    G.add_edge(0, 0, length=400.0, travel_time=400.0, geometry=loop)
    G.add_edge(0, 0, length=400.0, travel_time=400.0, geometry=loop.reverse())
    idx = reach.reach_index_from_graph(G, mode="walk", walk_speed_kmh=4.0)
    assert len(idx.seg_u) == 1  # one segment, both directions
    src = idx.snap(np.array([[X0, Y0 - 1.0]]))  # 1 m south of a
    # 320 m along (0,0)→(100,0)→(100,100)→(0,100): 20 m down the west side, 4 m off the road
    pts = idx.snap(np.array([[X0 - 4.0, Y0 + 80.0]]))
    _, cost = idx.reach(src, pts, "length_m", limit=1000)
    assert cost[0] == pytest.approx(1.0 + 80.0 + 4.0, abs=1e-6)
    # a one-way loop (one direction only) is still reached one way round: 320 m
    G.remove_edge(0, 0, key=1)
    one_way = reach.reach_index_from_graph(G, mode="drive")
    _, cost = one_way.reach(
        one_way.snap(np.array([[X0, Y0 - 1.0]])),
        one_way.snap(np.array([[X0 - 4.0, Y0 + 80.0]])),
        "length_m",
        limit=1000,
    )
    assert cost[0] == pytest.approx(1.0 + 320.0 + 4.0, abs=1e-6)


@pytest.mark.parametrize("elevated", ["trunk", "motorway_link", ["trunk", "trunk_link"]])
def test_drive_points_are_not_snapped_onto_elevated_roads(elevated):
    """A point 10 m from a trunk road and 50 m from a residential street snaps to the street on
    the drive network (nobody joins an elevated road mid-span); on foot, to the nearer road."""
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for node, (x, y) in enumerate([(0, 0), (200, 0), (0, 60), (200, 60)]):
        lon, lat = TO_LONLAT.transform(X0 + x, Y0 + y)
        G.add_node(node, x=lon, y=lat)
    for u, v, cls in ((0, 1, "residential"), (2, 3, elevated)):
        for a, b in ((u, v), (v, u)):
            G.add_edge(a, b, length=200.0, travel_time=20.0, highway=cls)
    point = np.array([[X0 + 100, Y0 + 50]])  # 50 m north of the street, 10 m south of the trunk
    drive = reach.reach_index_from_graph(G, mode="drive")
    snap = drive.snap(point)
    assert drive.seg_u[snap.seg[0]] == 0 and snap.access_m[0] == pytest.approx(50.0)
    walk = reach.reach_index_from_graph(G, mode="walk")
    snap = walk.snap(point)
    assert walk.seg_u[snap.seg[0]] == 2 and snap.access_m[0] == pytest.approx(10.0)


@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_many_points_snap_by_k_d_tree_as_the_strtree_does(pack, monkeypatch, mode):
    """60,000 random points on the pack's network (above the k-d tree threshold): the same
    distance to the road and the same off-network points as the STRtree's nearest query for
    every point; the same costs from 20 sources wherever the nearest spot is unique (a point
    equally near two spots may take either: at most 0.1 % here)."""
    from geo import coverage
    from geo.network import load_network

    index = coverage.reach_index(load_network(mode))
    rng = np.random.default_rng(7)
    lo, hi = index.node_xy.min(axis=0), index.node_xy.max(axis=0)
    xy = rng.uniform(lo, hi, (60_000, 2))
    assert len(xy) >= reach._KD_SNAP_MIN_POINTS
    by_kd = index.snap(xy, max_snap_meters=300)
    monkeypatch.setattr(reach, "_KD_SNAP_MIN_POINTS", 10**9)
    by_tree = index.snap(xy, max_snap_meters=300)
    assert 0.05 < by_tree.off_network.mean() < 0.95  # both kinds of point are tested
    np.testing.assert_array_equal(by_kd.off_network, by_tree.off_network)
    on = ~by_tree.off_network
    np.testing.assert_allclose(by_kd.access_m[on], by_tree.access_m[on], rtol=0, atol=1e-9)
    kind = "time_s" if mode == "walk" else "length_m"
    sources = index.snap(xy[on][:20], max_snap_meters=300)
    node_cost = index.node_costs(sources, kind, limit=np.inf)
    a = index.point_costs(node_cost, by_kd, kind, sources=sources)
    b = index.point_costs(node_cost, by_tree, kind, sources=sources)
    same = np.isclose(a, b, rtol=0, atol=1e-6) | (np.isinf(a) & np.isinf(b))
    assert same.mean() > 0.999
