"""Reach on the street network: snap points to edges, multi-source limited Dijkstra, partial edges.

Precompute once, query many (as pandana does): :class:`ReachIndex` turns an osmnx-style graph into
arrays — node coordinates in UTM 51N, one *segment* per road piece (the two directions of a two-way
road share a segment), a CSR matrix per cost kind and an STRtree of segment geometries. Queries
then cost one ``scipy.sparse.csgraph.dijkstra`` call.

How a point is reached: it is snapped to the nearest segment (not only the nearest node) at
``pos`` metres from the segment's start; the *access leg* from the point to the road counts (at
walking speed on the walk network, at :data:`DRIVE_ACCESS_SPEED_KMH` on the drive network, as
metres for distance standards). Points farther than ``max_snap_meters`` from every road are
*off network*: flagged, never counted as covered. A source (facility) enters the graph as a virtual
node joined to both ends of its segment by the partial costs, so a facility in the middle of a
long road reaches both ways correctly, and one-way segments are respected.

Costs: ``time_s`` (seconds, from the edges' ``travel_time``) or ``length_m`` (metres).
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import networkx as nx
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import shapely
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geo import settings
from geo.parameters import DEFAULTS

__all__ = [
    "DEFAULT_MAX_SNAP_METERS",
    "DRIVE_ACCESS_SPEED_KMH",
    "ELEVATED_CLASSES",
    "CostKind",
    "FloatArray",
    "IntArray",
    "ReachIndex",
    "Snap",
    "index_arrays",
    "reach_index_from_arrays",
    "reach_index_from_graph",
    "to_metric",
]

logger = logging.getLogger(__name__)

CostKind = Literal["time_s", "length_m"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Last leg from the drive network to a door (compound lanes, yards), for drive-time costs.
DRIVE_ACCESS_SPEED_KMH = DEFAULTS.drive_access_speed_kmh

#: Points farther than this from every road are off network (flagged, not counted as covered).
DEFAULT_MAX_SNAP_METERS = DEFAULTS.max_snap_meters

#: Added to every edge cost: scipy's sparse graphs must not hold zero-weight edges.
_EPS = 1e-9

_TO_METRIC = Transformer.from_crs(settings.wgs84_crs, settings.metric_crs, always_xy=True)


def to_metric(lon: npt.ArrayLike, lat: npt.ArrayLike) -> FloatArray:
    """(lon, lat) in WGS-84 → (n, 2) array of UTM 51N metres."""
    x, y = _TO_METRIC.transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.column_stack([np.atleast_1d(x), np.atleast_1d(y)])


@dataclass(frozen=True)
class Snap:
    """Points snapped to segments.

    ``seg`` is the segment index (-1 if off network), ``frac`` the position along it as a share
    of its length from its start node (0..1), ``access_m`` the distance from the point to it.
    """

    seg: IntArray
    frac: FloatArray
    access_m: FloatArray

    @property
    def off_network(self) -> npt.NDArray[np.bool_]:
        """True where no road lies within the snapping distance."""
        return self.seg < 0

    def take(self, idx: npt.ArrayLike) -> Snap:
        """The snaps of a subset of the points."""
        i = np.asarray(idx, dtype=np.int64)
        return Snap(self.seg[i], self.frac[i], self.access_m[i])


@dataclass(frozen=True, eq=False)
class ReachIndex:
    """Arrays derived from a routable graph; build with :func:`reach_index_from_graph`.

    Segment ``s`` runs from node ``seg_u[s]`` to ``seg_v[s]`` (node indices) with length
    ``seg_len[s]`` metres and geometry ``seg_geom[s]`` in UTM 51N. ``fwd[kind][s]`` is the cost of
    traversing it u→v (inf where the direction is not allowed), ``bwd[kind][s]`` v→u.
    """

    mode: str
    node_ids: npt.NDArray[np.int64]
    node_xy: FloatArray
    seg_u: IntArray
    seg_v: IntArray
    seg_len: FloatArray
    seg_geom: npt.NDArray[np.object_]
    seg_name: npt.NDArray[np.object_]
    fwd: dict[str, FloatArray]
    bwd: dict[str, FloatArray]
    access_cost_per_m: dict[str, float]
    tree: shapely.STRtree  # over the segments points may snap to (``snap_segs``)
    snap_segs: IntArray
    _coo: dict[str, tuple[IntArray, IntArray, FloatArray]] = field(default_factory=dict)
    _samples: list[_Samples] = field(default_factory=list)

    @property
    def n_nodes(self) -> int:
        """Number of graph nodes."""
        return len(self.node_ids)

    def snap(self, xy: FloatArray, *, max_snap_meters: float = DEFAULT_MAX_SNAP_METERS) -> Snap:
        """Snap metric points to their nearest segment within ``max_snap_meters``."""
        n = len(xy)
        seg = np.full(n, -1, dtype=np.int64)
        frac = np.zeros(n)
        access = np.full(n, np.inf)
        if n == 0:
            return Snap(seg, frac, access)
        rest = np.arange(n)
        if n >= _KD_SNAP_MIN_POINTS:  # many points: candidates from a k-d tree, exact distances
            if not self._samples:
                self._samples.append(_Samples.of(self))
            rest = self._samples[0].snap(xy, max_snap_meters, seg, frac, access)
        if len(rest):
            pts = shapely.points(xy[rest])
            (pi, ti), dist = self.tree.query_nearest(
                pts, max_distance=max_snap_meters, return_distance=True, all_matches=False
            )
            si = self.snap_segs[ti]
            seg[rest[pi]] = si
            access[rest[pi]] = dist
            frac[rest[pi]] = shapely.line_locate_point(self.seg_geom[si], pts[pi], normalized=True)
        return Snap(seg, np.nan_to_num(frac, nan=0.0), access)

    def _graph_arrays(self, kind: str) -> tuple[IntArray, IntArray, FloatArray]:
        if kind not in self._coo:
            ok_f, ok_b = np.isfinite(self.fwd[kind]), np.isfinite(self.bwd[kind])
            rows = np.concatenate([self.seg_u[ok_f], self.seg_v[ok_b]])
            cols = np.concatenate([self.seg_v[ok_f], self.seg_u[ok_b]])
            data = np.concatenate([self.fwd[kind][ok_f], self.bwd[kind][ok_b]]) + _EPS
            self._coo[kind] = _min_duplicates(rows, cols, data, self.n_nodes)
        return self._coo[kind]

    def source_edges(self, snap: Snap, kind: str) -> tuple[IntArray, IntArray, FloatArray]:
        """Edges from each source (as virtual node ``n_nodes + i``) to its segment's two ends."""
        ok = np.flatnonzero(snap.seg >= 0)
        s, frac = snap.seg[ok], snap.frac[ok]
        acc_cost = snap.access_m[ok] * self.access_cost_per_m[kind]
        to_u = acc_cost + _share(frac, self.bwd[kind][s])  # back towards u: the v→u direction
        to_v = acc_cost + _share(1 - frac, self.fwd[kind][s])
        virt = self.n_nodes + ok
        rows = np.concatenate([virt, virt])
        cols = np.concatenate([self.seg_u[s], self.seg_v[s]])
        data = np.concatenate([to_u, to_v])
        keep = np.isfinite(data)
        # on a loop road both ends are one node: keep the cheaper way round (a CSR would sum)
        return _min_duplicates(
            rows[keep], cols[keep], data[keep] + _EPS, self.n_nodes + len(snap.seg)
        )

    def node_costs(
        self, sources: Snap, kind: str, *, limit: float, min_only: bool = True
    ) -> FloatArray:
        """Least cost from the sources to every node, inf beyond ``limit``.

        Returns shape ``(n_nodes,)`` if ``min_only`` (the cost from the nearest source), otherwise
        ``(n_sources, n_nodes)`` (one row per source; rows of off-network sources are all inf).
        """
        n, k = self.n_nodes, len(sources.seg)
        if k == 0:
            return np.full(n, np.inf) if min_only else np.full((0, n), np.inf)
        r0, c0, d0 = self._graph_arrays(kind)
        r1, c1, d1 = self.source_edges(sources, kind)
        size = n + k
        rows, cols = np.concatenate([r0, r1]), np.concatenate([c0, c1])
        graph = sp.csr_matrix((np.concatenate([d0, d1]), (rows, cols)), shape=(size, size))
        idx = np.arange(n, n + k)
        dist = dijkstra(graph, directed=True, indices=idx, limit=limit, min_only=min_only)
        return np.asarray(dist[..., :n], dtype=float)

    def nearest_sources(
        self, sources: Snap, points: Snap, kind: str, *, limit: float
    ) -> tuple[FloatArray, IntArray, IntArray]:
        """Least cost from the nearest source to every point, that source's index (-1 where none
        is within ``limit``) and each node's nearest source, from one multi-source search with
        source labels.

        A point takes the label of the node it is reached through (or of a source on its own
        segment when that is cheaper), so costs equal :meth:`reach`'s.
        """
        n, k = self.n_nodes, len(sources.seg)
        cost = np.full(len(points.seg), np.inf)
        label = np.full(len(points.seg), -1, dtype=np.int64)
        if k == 0:
            return cost, label, np.full(n, -1, dtype=np.int64)
        r0, c0, d0 = self._graph_arrays(kind)
        r1, c1, d1 = self.source_edges(sources, kind)
        size = n + k
        graph = sp.csr_matrix(
            (np.concatenate([d0, d1]), (np.concatenate([r0, r1]), np.concatenate([c0, c1]))),
            shape=(size, size),
        )
        dist, _pred, src = dijkstra(
            graph,
            directed=True,
            indices=np.arange(n, n + k),
            limit=limit,
            min_only=True,
            return_predecessors=True,
        )
        node_cost = np.asarray(dist[:n], dtype=float)
        node_src = np.where(np.asarray(src[:n]) >= n, np.asarray(src[:n]) - n, -1)
        ok = np.flatnonzero(points.seg >= 0)
        s, frac = points.seg[ok], points.frac[ok]
        via_u = node_cost[self.seg_u[s]] + _share(frac, self.fwd[kind][s])
        via_v = node_cost[self.seg_v[s]] + _share(1 - frac, self.bwd[kind][s])
        best = np.minimum(via_u, via_v)
        best_src = np.where(via_u <= via_v, node_src[self.seg_u[s]], node_src[self.seg_v[s]])
        same, same_src = self._same_segment_labelled(points.take(ok), sources, kind)
        closer = same < best
        best = np.where(closer, same, best)
        best_src = np.where(closer, same_src, best_src)
        access = points.access_m[ok] * self.access_cost_per_m[kind]
        cost[ok] = best + access
        reached = cost[ok] <= limit
        cost[ok[~reached]] = np.inf
        label[ok] = np.where(reached, best_src, -1)
        return cost, label, np.where(np.isfinite(node_cost), node_src, -1).astype(np.int64)

    def point_costs(
        self, node_cost: FloatArray, points: Snap, kind: str, *, sources: Snap | None = None
    ) -> FloatArray:
        """Cost to each point from node costs (1-d), including its access leg.

        If ``sources`` is given, a point on the same segment as a source is also reached directly
        along that segment (without passing a node).
        """
        cost = np.full(len(points.seg), np.inf)
        # only points on segments the search reached (an end node, or a source on it)
        reached = np.isfinite(node_cost[self.seg_u]) | np.isfinite(node_cost[self.seg_v])
        if sources is not None:
            reached[sources.seg[sources.seg >= 0]] = True
        ok = np.flatnonzero(points.seg >= 0)
        ok = ok[reached[points.seg[ok]]]
        s, frac = points.seg[ok], points.frac[ok]
        via_u = node_cost[self.seg_u[s]] + _share(frac, self.fwd[kind][s])
        via_v = node_cost[self.seg_v[s]] + _share(1 - frac, self.bwd[kind][s])
        best = np.minimum(via_u, via_v)
        if sources is not None:
            best = np.minimum(best, self._same_segment(points.take(ok), sources, kind))
        cost[ok] = best + points.access_m[ok] * self.access_cost_per_m[kind]
        return cost

    def _same_segment(self, points: Snap, sources: Snap, kind: str) -> FloatArray:
        return self._same_segment_labelled(points, sources, kind)[0]

    def _same_segment_labelled(
        self, points: Snap, sources: Snap, kind: str
    ) -> tuple[FloatArray, IntArray]:
        out = np.full(len(points.seg), np.inf)
        who = np.full(len(points.seg), -1, dtype=np.int64)
        src_ok = np.flatnonzero(sources.seg >= 0)
        if len(src_ok) == 0:
            return out, who
        order = np.argsort(sources.seg[src_ok], kind="stable")
        src_seg = sources.seg[src_ok][order]
        marked = np.zeros(len(self.seg_u) + 1, dtype=bool)  # the last entry: seg -1
        marked[src_seg] = True
        cand = np.flatnonzero(marked[points.seg])  # only points sharing a source's segment
        lo = np.full(len(points.seg), 0)
        hi = np.full(len(points.seg), 0)
        lo[cand] = np.searchsorted(src_seg, points.seg[cand], side="left")
        hi[cand] = np.searchsorted(src_seg, points.seg[cand], side="right")
        for p in cand[hi[cand] > lo[cand]]:
            s = points.seg[p]
            for j in src_ok[order[lo[p] : hi[p]]]:
                delta = points.frac[p] - sources.frac[j]
                full = self.fwd[kind][s] if delta >= 0 else self.bwd[kind][s]
                leg = sources.access_m[j] * self.access_cost_per_m[kind]
                along = leg + float(_share(np.array([abs(delta)]), np.array([full]))[0])
                if along < out[p]:
                    out[p], who[p] = along, j
        return out, who

    def reach(
        self, sources: Snap, points: Snap, kind: str, *, limit: float
    ) -> tuple[FloatArray, FloatArray]:
        """Least cost from the sources to every node and to every point (inf beyond ``limit``)."""
        node_cost = self.node_costs(sources, kind, limit=limit)
        return node_cost, self.point_costs(node_cost, points, kind, sources=sources)


#: From this many points on, :meth:`ReachIndex.snap` finds candidates with a k-d tree of points
#: sampled along the segments (1M points: ~2 s against ~10 s for the STRtree's nearest query).
_KD_SNAP_MIN_POINTS = 50_000
#: Spacing of those samples along every straight piece (metres).
_SAMPLE_SPACING_M = 10.0
#: Candidates per point (nearest samples); a point whose candidates may be incomplete falls back
#: to the STRtree.
_KD_NEIGHBOURS = (8, 32)  # 1M Minhang points: 16% need the second round, 0.02% the STRtree
_KD_CHUNK = 200_000


@dataclass(frozen=True, eq=False)
class _Samples:
    """Points every :data:`_SAMPLE_SPACING_M` along the snappable segments' straight pieces.

    The nearest piece to a point lies within ``d + h`` of it, ``d`` the distance to its nearest
    sample and ``h`` half the spacing: every piece with a sample that close is a candidate, and
    the exact point-to-piece distance picks among them (the same segment and distance as the
    STRtree's nearest query; a test holds them equal).
    """

    tree: cKDTree
    sample_piece: IntArray
    a: FloatArray
    b: FloatArray
    piece_seg: IntArray
    piece_offset: FloatArray
    piece_length: FloatArray
    seg_length: FloatArray

    @classmethod
    def of(cls, index: ReachIndex) -> _Samples:
        geoms = index.seg_geom[index.snap_segs]
        coords, owner = shapely.get_coordinates(geoms, return_index=True)
        same = owner[1:] == owner[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        piece_seg = index.snap_segs[owner[:-1][same]]
        length = np.hypot(*(b - a).T)
        first = np.ones(len(a), bool)
        first[1:] = piece_seg[1:] != piece_seg[:-1]
        start = np.cumsum(length) - length
        offset = start - np.maximum.accumulate(np.where(first, start, 0.0))
        count = np.ceil(length / _SAMPLE_SPACING_M).astype(np.int64) + 1
        piece = np.repeat(np.arange(len(a)), count)
        step = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        t = step / np.maximum(count[piece] - 1, 1)
        xy = a[piece] + (b - a)[piece] * t[:, None]
        return cls(
            cKDTree(xy),
            piece,
            a,
            b,
            piece_seg,
            offset,
            length,
            np.maximum(shapely.length(index.seg_geom), 1e-12),
        )

    def snap(
        self, xy: FloatArray, max_snap: float, seg: IntArray, frac: FloatArray, access: FloatArray
    ) -> IntArray:
        """Fill ``seg``, ``frac`` and ``access`` in place; return the points left to the
        STRtree (their candidates may be incomplete even with the most neighbours)."""
        todo = np.arange(len(xy))
        for k in _KD_NEIGHBOURS:  # few candidates first; more only where the few may miss one
            unsure = [
                self._snap_chunk(xy, todo[lo : lo + _KD_CHUNK], k, max_snap, seg, frac, access)
                for lo in range(0, len(todo), _KD_CHUNK)
            ]
            todo = np.concatenate(unsure) if unsure else todo[:0]
            if len(todo) == 0:
                break
        return todo

    def _snap_chunk(
        self,
        xy: FloatArray,
        which: IntArray,
        k: int,
        max_snap: float,
        seg: IntArray,
        frac: FloatArray,
        access: FloatArray,
    ) -> IntArray:
        half = _SAMPLE_SPACING_M / 2
        px, py = xy[which, 0:1], xy[which, 1:2]
        dist, idx = self.tree.query(
            xy[which], k=k, distance_upper_bound=max_snap + half, workers=-1
        )
        valid = dist <= dist[:, :1] + half
        unsure = valid[:, -1] & np.isfinite(dist[:, -1])
        pieces = self.sample_piece[np.minimum(idx, len(self.sample_piece) - 1)]
        ax, ay = self.a[pieces, 0], self.a[pieces, 1]
        dx, dy = self.b[pieces, 0] - ax, self.b[pieces, 1] - ay
        rx, ry = px - ax, py - ay
        length = self.piece_length[pieces]
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.clip(np.where(length > 0, (rx * dx + ry * dy) / (length * length), 0.0), 0, 1)
        gx, gy = rx - dx * t, ry - dy * t
        gap = np.sqrt(gx * gx + gy * gy)
        gap[~valid] = np.inf
        along = self.piece_offset[pieces] + t * length
        # ties (a shared node, a road folding back): the lowest segment, then the first spot
        best = gap.min(axis=1)
        segs = self.piece_seg[pieces]
        tied = gap <= best[:, None] + 1e-9
        first_seg = np.where(tied, segs, np.iinfo(np.int64).max).min(axis=1)
        j = np.argmin(np.where(tied & (segs == first_seg[:, None]), along, np.inf), axis=1)
        row = np.arange(len(which))
        hit = (best <= max_snap) & ~unsure
        s = segs[row, j][hit]
        out = which[hit]
        seg[out] = s
        frac[out] = np.clip(along[row, j][hit] / self.seg_length[s], 0.0, 1.0)
        access[out] = best[hit]
        result: IntArray = which[unsure]
        return result


def _share(frac: FloatArray, cost: FloatArray) -> FloatArray:
    """``frac × cost`` where a zero share of a forbidden (inf) direction costs 0, not NaN.

    A point exactly at a node reaches that node for free even if the segment is one-way the
    other way.
    """
    with np.errstate(invalid="ignore"):
        return np.where(frac == 0, 0.0, frac * cost)


def _min_duplicates(
    rows: IntArray, cols: IntArray, data: FloatArray, size: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """Keep the cheapest of parallel edges (a CSR matrix would sum them)."""
    key = rows * size + cols
    order = np.lexsort((data, key))
    key_sorted = key[order]
    first = np.ones(len(order), bool)
    first[1:] = key_sorted[1:] != key_sorted[:-1]
    pick = order[first]
    return rows[pick], cols[pick], data[pick]


def reach_index_from_graph(
    G: nx.MultiDiGraph, *, mode: str, walk_speed_kmh: float | None = None
) -> ReachIndex:
    """Build a :class:`ReachIndex` from an osmnx-style graph in WGS-84 (x=lon, y=lat).

    Edges need ``length`` (m) and ``travel_time`` (s); ``geometry`` (LineString, lon/lat) where
    the edge is not straight. The two directions of a two-way road become one segment.
    """
    node_ids = np.fromiter(G.nodes, dtype=np.int64, count=G.number_of_nodes())
    pos_of = {int(n): i for i, n in enumerate(node_ids)}
    lon = np.array([G.nodes[n]["x"] for n in node_ids], float)
    lat = np.array([G.nodes[n]["y"] for n in node_ids], float)
    node_xy = to_metric(lon, lat)
    seg_key: dict[tuple[int, int, int], int] = {}
    us: list[int] = []
    vs: list[int] = []
    lens: list[float] = []
    geoms: list[object] = []
    names: list[object] = []
    f_time: list[float] = []
    b_time: list[float] = []
    loops: dict[int, list[int]] = {}  # node → its loop segments so far
    elevated: list[bool] = []
    for u, v, k, d in G.edges(keys=True, data=True):
        a, b = pos_of[int(u)], pos_of[int(v)]
        forward = a <= b
        lo, hi = (a, b) if forward else (b, a)
        length = float(d.get("length", 0.0))
        time_s = float(d.get("travel_time", np.inf))
        s = seg_key.get((lo, hi, int(k)))
        if s is not None and abs(lens[s] - length) <= 0.5 + 1e-3 * length:
            (f_time if forward else b_time)[s] = time_s
            continue
        if (
            a == b
        ):  # a loop road: its other direction is a second edge u→u with the geometry reversed
            s = _reverse_loop(loops.get(a, []), geoms, lens, d.get("geometry"), length)
            if s is not None:
                b_time[s] = time_s
                continue
            loops.setdefault(a, []).append(len(us))
        seg_key[(lo, hi, int(k))] = len(us)
        us.append(lo)
        vs.append(hi)
        lens.append(length)
        geom = d.get("geometry")
        if geom is not None and not forward:
            geom = geom.reverse()
        geoms.append(geom)
        names.append(d.get("name"))
        elevated.append(mode == "drive" and _elevated(d.get("highway")))
        f_time.append(time_s if forward else np.inf)
        b_time.append(np.inf if forward else time_s)
    seg_u, seg_v = np.array(us, np.int64), np.array(vs, np.int64)
    seg_geom = _metric_geometries(geoms, node_xy, seg_u, seg_v)
    seg_len = np.array(lens, float)
    fwd_len = np.where(np.isfinite(f_time), seg_len, np.inf)
    bwd_len = np.where(np.isfinite(b_time), seg_len, np.inf)
    snap_segs = np.flatnonzero(~np.array(elevated, bool)).astype(np.int64)
    walk_mps = (walk_speed_kmh or DEFAULTS.walk_speed_kmh) / 3.6
    access_time = 1 / walk_mps if mode == "walk" else 3.6 / DRIVE_ACCESS_SPEED_KMH
    index = ReachIndex(
        mode=mode,
        node_ids=node_ids,
        node_xy=node_xy,
        seg_u=seg_u,
        seg_v=seg_v,
        seg_len=seg_len,
        seg_geom=seg_geom,
        seg_name=np.array(names, dtype=object),
        fwd={"time_s": np.array(f_time, float), "length_m": fwd_len},
        bwd={"time_s": np.array(b_time, float), "length_m": bwd_len},
        access_cost_per_m={"time_s": access_time, "length_m": 1.0},
        tree=shapely.STRtree(seg_geom[snap_segs]),
        snap_segs=snap_segs,
    )
    logger.info("reach index: %d nodes, %d segments (%s)", len(node_ids), len(seg_u), mode)
    return index


def index_arrays(index: ReachIndex) -> dict[str, npt.NDArray[np.generic]]:
    """The index as plain arrays (no Python objects): what the network cache stores, and all a
    run needs — no networkx graph. Geometries are WKB, names one JSON text."""
    wkb = shapely.to_wkb(index.seg_geom)
    names = json.dumps([n if isinstance(n, str | list) else None for n in index.seg_name])
    return {
        "mode": np.frombuffer(index.mode.encode(), dtype=np.uint8),
        "node_ids": index.node_ids,
        "node_xy": index.node_xy,
        "seg_u": index.seg_u,
        "seg_v": index.seg_v,
        "seg_len": index.seg_len,
        "seg_wkb": np.frombuffer(b"".join(bytes(w) for w in wkb), dtype=np.uint8),
        "seg_wkb_offsets": np.cumsum([0, *(len(w) for w in wkb)], dtype=np.int64),
        "seg_names": np.frombuffer(names.encode("utf-8"), dtype=np.uint8),
        "fwd_time_s": index.fwd["time_s"],
        "bwd_time_s": index.bwd["time_s"],
        "fwd_length_m": index.fwd["length_m"],
        "bwd_length_m": index.bwd["length_m"],
        "access": np.array(
            [index.access_cost_per_m["time_s"], index.access_cost_per_m["length_m"]], float
        ),
        "snap_segs": index.snap_segs,
    }


def reach_index_from_arrays(arrays: Mapping[str, npt.NDArray[np.generic]]) -> ReachIndex:
    """The :class:`ReachIndex` of :func:`index_arrays` (e.g. read from the network cache)."""
    raw = arrays["seg_wkb"].tobytes()
    offsets = np.asarray(arrays["seg_wkb_offsets"], dtype=np.int64)
    seg_geom = shapely.from_wkb(
        np.array([raw[a:b] for a, b in itertools.pairwise(offsets.tolist())], dtype=object)
    )
    names = json.loads(arrays["seg_names"].tobytes().decode("utf-8"))
    snap_segs = np.asarray(arrays["snap_segs"], dtype=np.int64)
    access = np.asarray(arrays["access"], dtype=float)
    return ReachIndex(
        mode=arrays["mode"].tobytes().decode(),
        node_ids=np.asarray(arrays["node_ids"], dtype=np.int64),
        node_xy=np.asarray(arrays["node_xy"], dtype=float),
        seg_u=np.asarray(arrays["seg_u"], dtype=np.int64),
        seg_v=np.asarray(arrays["seg_v"], dtype=np.int64),
        seg_len=np.asarray(arrays["seg_len"], dtype=float),
        seg_geom=np.asarray(seg_geom, dtype=object),
        seg_name=_object_array(names),
        fwd={
            "time_s": np.asarray(arrays["fwd_time_s"], float),
            "length_m": np.asarray(arrays["fwd_length_m"], float),
        },
        bwd={
            "time_s": np.asarray(arrays["bwd_time_s"], float),
            "length_m": np.asarray(arrays["bwd_length_m"], float),
        },
        access_cost_per_m={"time_s": float(access[0]), "length_m": float(access[1])},
        tree=shapely.STRtree(seg_geom[snap_segs]),
        snap_segs=snap_segs,
    )


def _object_array(values: list[object]) -> npt.NDArray[np.object_]:
    """A 1-d object array of the values as they are (lists stay list elements)."""
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        out[i] = value
    return out


#: Road classes nobody joins mid-span on the drive network (mostly elevated in Shanghai): points
#: are snapped to the nearest *other* road; the classes still carry traffic between nodes.
ELEVATED_CLASSES: frozenset[str] = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})


def _elevated(highway: object) -> bool:
    """True for a motorway/trunk road or ramp (osmnx may give a list of classes: all must be)."""
    classes = highway if isinstance(highway, list) else [highway]
    return bool(classes) and all(str(c) in ELEVATED_CLASSES for c in classes)


def _reverse_loop(
    candidates: list[int], geoms: list[object], lens: list[float], geom: object, length: float
) -> int | None:
    """The loop segment (among ``candidates`` at one node) that ``geom`` runs backwards, if any.

    osmnx stores a two-way loop as two edges u→u whose geometries are each other's reverse; they
    are one segment traversable both ways (else a point on it is reached one way round only).
    """
    for s in candidates:
        if abs(lens[s] - length) > 0.5 + 1e-3 * length:
            continue
        mine = geoms[s]
        if mine is None and geom is None:
            return s
        if (
            isinstance(mine, shapely.LineString)
            and isinstance(geom, shapely.LineString)
            and shapely.equals_exact(mine.reverse(), geom, tolerance=1e-9)
        ):
            return s
    return None


def _metric_geometries(
    geoms: list[object], node_xy: FloatArray, seg_u: IntArray, seg_v: IntArray
) -> npt.NDArray[np.object_]:
    out = np.empty(len(geoms), dtype=object)
    has = np.array([g is not None for g in geoms], bool)
    straight = np.flatnonzero(~has)
    if len(straight):
        coords = np.stack([node_xy[seg_u[straight]], node_xy[seg_v[straight]]], axis=1)
        out[straight] = shapely.linestrings(coords)
    curved = np.flatnonzero(has)
    if len(curved):
        lonlat = np.array([geoms[i] for i in curved], dtype=object)
        out[curved] = shapely.transform(
            lonlat, lambda c: np.column_stack(_TO_METRIC.transform(c[:, 0], c[:, 1]))
        )
    return out
