"""Detour repair: a dead end joined to a road it reaches only by a long network detour."""

from __future__ import annotations

import bisect
import heapq
import logging
import math

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from geo.network.lines import (
    _add_connectors,
    _Joins,
    _plan_joins,
    _topology,
)
from geo.network.model import (
    _DETOUR,
    _DIJKSTRA_CELLS,
    _POSITION_EPS_METERS,
    _ROAD,
    BoolArray,
    FloatArray,
    IntArray,
    _Edges,
    _Lines,
    _Topology,
)
from geo.network.options import (
    _DetourOptions,
)

__all__: list[str] = []

log = logging.getLogger(__name__)


# --- detour repair ----------------------------------------------------------------------------


def _dead_ends(topo: _Topology) -> tuple[IntArray, IntArray]:
    """Nodes with one neighbour (overlapping duplicate pieces count once), and a piece there."""
    n = len(topo.node_xy)
    a = np.concatenate([topo.u, topo.v])
    b = np.concatenate([topo.v, topo.u])
    piece = np.concatenate([np.arange(len(topo.u)), np.arange(len(topo.v))])
    loop = np.zeros(n, dtype=bool)
    loop[a[a == b]] = True
    pairs = np.unique(np.stack([a[a != b], b[a != b]], axis=1), axis=0)
    neighbours = np.bincount(pairs[:, 0], minlength=n) if len(pairs) else np.zeros(n, np.int64)
    dead = np.flatnonzero((neighbours == 1) & ~loop)
    edge_of = np.full(n, -1, dtype=np.int64)
    edge_of[a] = piece
    return dead, edge_of[dead]


def _detour_candidates(
    edges: _Edges, lines: _Lines, topo: _Topology, gap_meters: float
) -> tuple[IntArray, IntArray, IntArray]:
    """Each dead end of an at-grade road and the nearest at-grade road piece within reach.

    Returns the dead-end nodes, the piece ending at each and the nearest piece not ending there.
    Grade-separated lines are neither a source nor a target; their ramps (elevated or sunken but
    where they end) are a target only for another ramp; connectors are no target.
    """
    dangling, dangling_edge = _dead_ends(topo)
    at_grade = ~lines.grade_separated[edges.parent]
    ramp = lines.ramp[edges.parent]
    source = at_grade[dangling_edge]
    dangling, dangling_edge = dangling[source], dangling_edge[source]
    points = shapely.points(topo.node_xy[dangling])
    qi, target = shapely.STRtree(edges.geom).query(points, predicate="dwithin", distance=gap_meters)
    node = dangling[qi]
    incident = (topo.u[target] == node) | (topo.v[target] == node)
    may_join = at_grade[target] & (~ramp[target] | ramp[dangling_edge[qi]])
    ok = may_join & (edges.kind[target] == _ROAD) & ~incident
    qi, target = qi[ok], target[ok]
    dist = shapely.distance(points[qi], edges.geom[target])
    order = np.lexsort((target, dist, qi))
    qi, target = qi[order], target[order]
    nearest = np.concatenate([[True], qi[1:] != qi[:-1]]) if len(qi) else np.zeros(0, bool)
    qi, target = qi[nearest], target[nearest]
    return dangling[qi], dangling_edge[qi], target


def _length_matrix(topo: _Topology, length: FloatArray) -> csr_matrix:
    """Symmetric sparse matrix of piece lengths (the shortest of parallel pieces; no loops)."""
    a, b = np.minimum(topo.u, topo.v), np.maximum(topo.u, topo.v)
    w = np.maximum(length, _POSITION_EPS_METERS)  # a stored 0 would read as no edge
    order = np.lexsort((w, b, a))
    a, b, w = a[order], b[order], w[order]
    first = np.concatenate([[True], (a[1:] != a[:-1]) | (b[1:] != b[:-1])])
    keep = first & (a != b)
    a, b, w = a[keep], b[keep], w[keep]
    n = len(topo.node_xy)
    return csr_matrix(
        (np.concatenate([w, w]), (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n)
    )


def _batch_detours(
    A: csr_matrix, topo: _Topology, length: FloatArray, joins: _Joins, limit: FloatArray
) -> FloatArray:
    """Network distance from each dangling node to its connector's end point, inf beyond ``limit``.

    Bounded multi-source Dijkstra (scipy) in batches of sources with similar limits.
    """
    out = np.full(len(joins.node), np.inf)
    if len(out) == 0:
        return out
    n = A.shape[0]
    order = np.argsort(limit, kind="stable")
    size = max(1, _DIJKSTRA_CELLS // max(n, 1))
    for chunk in np.array_split(order, math.ceil(len(order) / size)):
        D = dijkstra(A, directed=True, indices=joins.node[chunk], limit=float(limit[chunk].max()))
        row = np.arange(len(chunk))
        t, at = joins.target[chunk], joins.at[chunk]
        out[chunk] = np.minimum(D[row, topo.u[t]] + at, D[row, topo.v[t]] + (length[t] - at))
    return out


class _DetourGraph:
    """The pieces' length graph plus the connectors accepted so far, for exact re-checks.

    A connector ending inside a piece adds a node there, linked to its neighbours along the
    piece; the piece's own edge stays (it is as long as the chain, so distances stay exact).
    """

    def __init__(self, A: csr_matrix, topo: _Topology, length: FloatArray) -> None:
        self._indptr: list[int] = A.indptr.tolist()
        self._indices: list[int] = A.indices.tolist()
        self._data: list[float] = A.data.tolist()
        self._n = int(A.shape[0])
        self._next = self._n
        self._u, self._v, self._length = topo.u, topo.v, length
        self._extra: dict[int, list[tuple[int, float]]] = {}
        self._anchors: dict[int, list[tuple[float, int]]] = {}  # piece -> (position, node)

    def _link(self, a: int, b: int, meters: float) -> None:
        self._extra.setdefault(a, []).append((b, meters))
        self._extra.setdefault(b, []).append((a, meters))

    def _piece_anchors(self, piece: int) -> list[tuple[float, int]]:
        ends = [(0.0, int(self._u[piece])), (float(self._length[piece]), int(self._v[piece]))]
        return self._anchors.get(piece, ends)

    def add(self, joins: _Joins, i: int) -> None:
        """Add connector ``i`` of ``joins``."""
        end = int(joins.end_node[i])
        if end < 0:
            piece, at = int(joins.target[i]), float(joins.at[i])
            anchors = self._anchors.setdefault(piece, self._piece_anchors(piece))
            # an interior end: between the first and the last anchor (the piece's end nodes)
            k = min(max(bisect.bisect_right([pos for pos, _ in anchors], at), 1), len(anchors) - 1)
            end, self._next = self._next, self._next + 1
            (before, a), (after, b) = anchors[k - 1], anchors[k]
            anchors.insert(k, (at, end))
            self._link(a, end, at - before)
            self._link(end, b, after - at)
        self._link(int(joins.node[i]), end, float(joins.gap[i]))

    def detour(self, joins: _Joins, i: int, limit: float) -> float:
        """Network distance from join ``i``'s dangling node to its end point (inf beyond limit)."""
        dist = self._distances(int(joins.node[i]), limit)
        at = float(joins.at[i])
        reached = [
            dist[x] + abs(pos - at)
            for pos, x in self._piece_anchors(int(joins.target[i]))
            if x in dist
        ]
        return min(reached, default=math.inf)

    def _distances(self, source: int, limit: float) -> dict[int, float]:
        dist = {source: 0.0}
        heap = [(0.0, source)]
        done: set[int] = set()
        while heap:
            d, x = heapq.heappop(heap)
            if x in done:
                continue
            done.add(x)
            neighbours = self._extra.get(x, [])
            if x < self._n:
                lo, hi = self._indptr[x], self._indptr[x + 1]
                neighbours = [
                    *zip(self._indices[lo:hi], self._data[lo:hi], strict=True),
                    *neighbours,
                ]
            for y, w in neighbours:
                nd = d + w
                if nd <= limit and nd < dist.get(y, math.inf):
                    dist[y] = nd
                    heapq.heappush(heap, (nd, y))
        return dist


def _accept_detours(graph: _DetourGraph, joins: _Joins, limit: FloatArray) -> BoolArray:
    """Shortest gaps first; re-check a detour exactly when an accepted connector is near enough.

    Every join starts with a detour longer than its limit. A path of at most ``limit`` from the
    dangling node stays within ``limit`` of it (straight line), so only connectors that near can
    have shortened it: then the detour is measured again with them, else it still holds. A node
    that an accepted connector ended on is no longer a dangling end.
    """
    m = len(joins.node)
    accepted = np.zeros(m, dtype=bool)
    if m == 0:
        return accepted
    segments = shapely.linestrings(np.stack([joins.start_xy, joins.end_xy], axis=1))
    qi, qj = shapely.STRtree(segments).query(
        shapely.points(joins.start_xy), predicate="dwithin", distance=limit
    )
    near: dict[int, list[int]] = {}
    for i, j in zip(qi.tolist(), qj.tolist(), strict=True):
        if i != j:
            near.setdefault(i, []).append(j)
    joined: set[int] = set()
    for i in np.lexsort((joins.node, joins.gap)).tolist():
        if int(joins.node[i]) in joined:
            continue
        if (
            any(accepted[j] for j in near.get(i, ()))
            and graph.detour(joins, i, limit[i]) <= limit[i]
        ):
            continue
        accepted[i] = True
        graph.add(joins, i)
        if joins.end_node[i] >= 0:
            joined.add(int(joins.end_node[i]))
    return accepted


def _close_detours(
    edges: _Edges, lines: _Lines, options: _DetourOptions, snap_tolerance: float
) -> tuple[_Edges, int, float]:
    """Join dangling ends to the nearest road that the network reaches only by a long detour."""
    if not options.repair or options.gap_meters <= 0 or len(edges.geom) == 0:
        return edges, 0, 0.0
    topo = _topology(edges.geom)
    node, from_edge, target = _detour_candidates(edges, lines, topo, options.gap_meters)
    joins = _plan_joins(edges, topo, node, from_edge, target, snap_tolerance)
    limit = np.maximum(options.factor * joins.gap, options.min_detour_meters)
    length = shapely.length(edges.geom)
    A = _length_matrix(topo, length)
    long = _batch_detours(A, topo, length, joins, limit) > limit
    joins, limit = joins.take(long), limit[long]
    accepted = _accept_detours(_DetourGraph(A, topo, length), joins, limit)
    out, n_connectors, meters = _add_connectors(edges, joins.take(accepted), _DETOUR)
    log.info(
        "closed %d detours with %d connectors, %.2f km (%d dangling ends with a road within "
        "%g m, %d with a detour > %g x the gap and > %g m)",
        int(accepted.sum()),
        n_connectors,
        meters / 1000,
        len(node),
        options.gap_meters,
        len(joins.node),
        options.factor,
        options.min_detour_meters,
    )
    return out, n_connectors, meters
