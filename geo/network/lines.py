"""Geometry core in metres (vectorised shapely 2): snapping, noding, topology and closing the
gaps between components."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo.network.model import (
    _COMPONENT,
    _NODE_TOLERANCE_METERS,
    _POSITION_EPS_METERS,
    BoolArray,
    FloatArray,
    GeomArray,
    IntArray,
    _Edges,
    _Lines,
    _Topology,
)

__all__: list[str] = []

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Geometry core: snapping, noding, topology, gap closing (metres, vectorised shapely 2)
# ---------------------------------------------------------------------------------------------


def _cluster_points(xy: FloatArray, tolerance: float) -> IntArray:
    """Label points so that points within ``tolerance`` (transitively) share a label."""
    if len(xy) == 0:
        return np.zeros(0, dtype=np.int64)
    unique, inverse = np.unique(xy, axis=0, return_inverse=True)
    points = shapely.points(unique)
    a, b = shapely.STRtree(points).query(points, predicate="dwithin", distance=tolerance)
    n = len(unique)
    adjacency = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(adjacency, directed=False)
    return np.asarray(labels[inverse.reshape(-1)], dtype=np.int64)


def _end_masks(idx: IntArray) -> tuple[BoolArray, BoolArray]:
    """Masks of the first and last coordinate of each line, given ``get_coordinates`` indices."""
    change = idx[1:] != idx[:-1]
    first = np.concatenate([[True], change])
    last = np.concatenate([change, [True]])
    return first, last


def _rebuild_lines(coords: FloatArray, idx: IntArray, n: int) -> GeomArray:
    """Rebuild ``n`` lines from coordinates, dropping repeated points; collapsed lines -> None."""
    same_line = idx[1:] == idx[:-1]
    repeated = same_line & np.all(coords[1:] == coords[:-1], axis=1)
    keep = np.concatenate([[True], ~repeated])
    coords, idx = coords[keep], idx[keep]
    counts = np.bincount(idx, minlength=n)
    ok = counts[idx] >= 2
    out = np.full(n, None, dtype=object)
    if ok.any():
        shapely.linestrings(coords[ok], indices=idx[ok], out=out)
    return out


def _snap_endpoints(geoms: GeomArray, tolerance: float) -> tuple[GeomArray, int]:
    """Merge line ends within ``tolerance`` onto their cluster's most common point.

    Returns the new lines (``None`` where a line collapsed) and how many ends moved.
    """
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    if tolerance <= 0 or len(coords) == 0:
        return geoms, 0
    first, last = _end_masks(idx)
    ends = first | last
    xy = coords[ends]
    labels = _cluster_points(xy, tolerance)
    frame = pd.DataFrame({"label": labels, "x": xy[:, 0], "y": xy[:, 1]})
    counts = frame.groupby(["label", "x", "y"], sort=True).size().rename("n").reset_index()
    best = counts.sort_values(["label", "n"], ascending=[True, False], kind="stable")
    best = best.drop_duplicates("label").set_index("label")
    snapped = best.loc[labels, ["x", "y"]].to_numpy()
    moved = int(np.any(snapped != xy, axis=1).sum())
    coords = coords.copy()
    coords[ends] = snapped
    return _rebuild_lines(coords, idx, len(geoms)), moved


def _shared_vertices(coords: FloatArray) -> BoolArray:
    """Mask of vertices whose exact coordinate occurs more than once (in any line)."""
    _, inverse, counts = np.unique(coords, axis=0, return_inverse=True, return_counts=True)
    return np.asarray(counts[inverse.reshape(-1)] > 1)


def _line_ends(geoms: GeomArray) -> tuple[FloatArray, FloatArray]:
    """First and last coordinates of each line."""
    start = shapely.get_coordinates(shapely.get_point(geoms, 0))
    end = shapely.get_coordinates(shapely.get_point(geoms, -1))
    return start, end


def _crossings(
    geoms: GeomArray, grade_separated: BoolArray, ramp: BoolArray
) -> tuple[IntArray, FloatArray, int]:
    """Points where lines join: (line index, point xy) twice per point, and a count of crossings.

    Two at-grade lines join wherever they meet. A grade-separated line joins another only at
    its own end points, or where the other line is a grade-separated road or a ramp that ends on
    it (a road merely passing over or under, or ending beneath a viaduct, does not join). The
    count is of distinct points that are not already a vertex of both lines.
    """
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pair = i < j
    i, j = i[pair], j[pair]
    xy, k = shapely.get_coordinates(shapely.intersection(geoms[i], geoms[j]), return_index=True)
    i, j = i[k], j[k]
    start, end = _line_ends(geoms)

    def ends_here(line: IntArray) -> BoolArray:
        near = np.minimum(np.hypot(*(start[line] - xy).T), np.hypot(*(end[line] - xy).T))
        return np.asarray(near < _NODE_TOLERANCE_METERS)

    joins = ~grade_separated[i] & ~grade_separated[j]
    if not joins.all():
        joins |= (grade_separated[i] | ramp[i]) & ends_here(i)
        joins |= (grade_separated[j] | ramp[j]) & ends_here(j)
    xy, i, j = xy[joins], i[joins], j[joins]
    lines = np.concatenate([i, j]).astype(np.int64)
    points = np.concatenate([xy, xy])
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    vertex = pd.MultiIndex.from_arrays([idx, coords[:, 0], coords[:, 1]])
    on_vertex = pd.MultiIndex.from_arrays([lines, points[:, 0], points[:, 1]]).isin(vertex)
    new = ~(on_vertex[: len(xy)] & on_vertex[len(xy) :])
    n_new = len(np.unique(np.round(xy[new] / _NODE_TOLERANCE_METERS), axis=0))
    return lines, points, n_new


def _split_lines(
    geoms: GeomArray,
    cut_line: IntArray,
    cut_xy: FloatArray,
    vertex_cut: BoolArray | None = None,
) -> tuple[GeomArray, IntArray]:
    """Split lines at points on them (and at flagged vertices); return pieces and their source line.

    All work is on flat coordinate arrays: the cut points are inserted in each line's vertex
    sequence by their distance along the line, and a new piece starts at every interior cut.
    """
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    step = np.hypot(*np.diff(coords, axis=0).T)
    step[idx[1:] != idx[:-1]] = 0.0
    along = np.concatenate([[0.0], np.cumsum(step)])
    first, _ = _end_masks(idx)
    along -= np.repeat(along[first], np.bincount(idx, minlength=len(geoms)))
    cut_at = shapely.line_locate_point(geoms[cut_line], shapely.points(cut_xy))
    is_cut = np.zeros(len(coords), bool) if vertex_cut is None else vertex_cut
    line = np.concatenate([idx, cut_line])
    pos = np.concatenate([along, cut_at])
    xy = np.concatenate([coords, cut_xy])
    cut = np.concatenate([is_cut, np.ones(len(cut_line), bool)])
    kind = np.concatenate([np.zeros(len(idx), np.int8), np.ones(len(cut_line), np.int8)])
    order = np.lexsort((kind, pos, line))
    line, pos, xy, cut = line[order], pos[order], xy[order], cut[order]
    # merge rows at the same place on the same line (vertex first, so its coordinate is kept)
    dup = (line[1:] == line[:-1]) & (np.diff(pos) < _POSITION_EPS_METERS)
    keep = np.concatenate([[True], ~dup])
    cut = np.maximum.reduceat(cut, np.flatnonzero(keep))
    line, xy = line[keep], xy[keep]
    start, end = _end_masks(line)
    interior = cut & ~start & ~end
    piece = np.cumsum(start | interior) - 1
    rows = np.concatenate([np.arange(len(line)), np.flatnonzero(interior)])
    owner = np.concatenate([piece, piece[interior] - 1])
    order = np.lexsort((rows, owner))
    rows, owner = rows[order], owner[order]
    pieces = shapely.linestrings(xy[rows], indices=owner)
    source = line[rows][np.concatenate([[True], owner[1:] != owner[:-1]])]
    return np.asarray(pieces, dtype=object), source.astype(np.int64)


def _node_lines(lines: _Lines) -> tuple[GeomArray, IntArray, int]:
    """Split lines at shared vertices and where they join; return pieces, parents, count."""
    geoms = lines.geom
    coords, _ = shapely.get_coordinates(geoms, return_index=True)
    shared = _shared_vertices(coords)
    cut_line, cut_xy, n_crossings = _crossings(geoms, lines.grade_separated, lines.ramp)
    pieces, parent = _split_lines(geoms, cut_line, cut_xy, shared)
    log.info(
        "noded %d lines into %d pieces (%d at-grade crossings split)",
        len(geoms),
        len(pieces),
        n_crossings,
    )
    return pieces, parent, n_crossings


def _topology(geoms: GeomArray) -> _Topology:
    """Nodes (ends within 1 cm are one node) and connected components of undirected pieces."""
    start, end = _line_ends(geoms)
    labels = _cluster_points(np.concatenate([start, end]), _NODE_TOLERANCE_METERS)
    m = len(geoms)
    u, v = labels[:m], labels[m:]
    n = int(labels.max()) + 1 if m else 0
    node_xy = np.zeros((n, 2))
    node_xy[labels[::-1]] = np.concatenate([start, end])[::-1]  # first occurrence wins
    adjacency = coo_matrix((np.ones(m, dtype=np.int8), (u, v)), shape=(n, n))
    n_comp, component = connected_components(adjacency, directed=False)
    return _Topology(u, v, node_xy, component.astype(np.int64), int(n_comp))


def _dangling_ends(topo: _Topology) -> tuple[IntArray, IntArray]:
    """Nodes of degree 1 and the piece that ends at each."""
    n = len(topo.node_xy)
    degree = np.bincount(np.concatenate([topo.u, topo.v]), minlength=n)
    edge_of = np.full(n, -1, dtype=np.int64)
    edge_of[topo.u] = np.arange(len(topo.u))
    edge_of[topo.v] = np.arange(len(topo.v))
    dangling = np.flatnonzero(degree == 1)
    return dangling, edge_of[dangling]


def _gap_candidates(
    edges: _Edges, lines: _Lines, topo: _Topology, tolerance: float
) -> pd.DataFrame:
    """For each dangling end and each other component within reach: the nearest piece there."""
    dangling, dangling_edge = _dangling_ends(topo)
    points = shapely.points(topo.node_xy[dangling])
    qi, target = shapely.STRtree(edges.geom).query(points, predicate="dwithin", distance=tolerance)
    node = dangling[qi]
    from_edge = dangling_edge[qi]
    from_line = edges.parent[from_edge]
    to_line = edges.parent[target]
    may_join = (
        ~lines.grade_separated[to_line] | lines.grade_separated[from_line] | lines.ramp[from_line]
    )
    ok = (topo.component[node] != topo.component[topo.u[target]]) & may_join
    frame = pd.DataFrame(
        {
            "node": node[ok],
            "edge": target[ok],
            "from_comp": topo.component[node[ok]],
            "to_comp": topo.component[topo.u[target[ok]]],
            "from_edge": from_edge[ok],
            "dist": shapely.distance(points[qi[ok]], edges.geom[target[ok]]),
        }
    )
    frame = frame.sort_values(["dist", "node", "edge"], kind="stable")
    return frame.drop_duplicates(["node", "to_comp"]).reset_index(drop=True)


def _choose_connectors(candidates: pd.DataFrame, n_components: int) -> pd.DataFrame:
    """Shortest gaps first; keep a gap only if its two components are still apart (Kruskal)."""
    root = list(range(n_components))

    def find(c: int) -> int:
        while root[c] != c:
            root[c] = root[root[c]]
            c = root[c]
        return c

    chosen: list[int] = []
    for row, a, b in zip(
        candidates.index, candidates["from_comp"], candidates["to_comp"], strict=True
    ):
        ra, rb = find(int(a)), find(int(b))
        if ra != rb:
            root[rb] = ra
            chosen.append(int(row))
    return candidates.loc[chosen]


@dataclass(frozen=True)
class _Joins:
    """Planned connectors: from a dangling node to the nearest point of a target piece."""

    node: IntArray  # the dangling node
    from_edge: IntArray  # the piece that ends there (the connector takes its line's attributes)
    target: IntArray  # the piece joined
    start_xy: FloatArray
    end_xy: FloatArray
    at: FloatArray  # position of the end along the target piece (m)
    end_node: IntArray  # the target's end node the connector snaps to, else -1

    def take(self, keep: BoolArray | IntArray) -> _Joins:
        """Return the joins selected by a mask or an index array."""
        return _Joins(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))

    @property
    def gap(self) -> FloatArray:
        """Connector lengths (m)."""
        return np.asarray(np.hypot(*(self.end_xy - self.start_xy).T), dtype=np.float64)


def _plan_joins(
    edges: _Edges,
    topo: _Topology,
    node: IntArray,
    from_edge: IntArray,
    target: IntArray,
    snap_tolerance: float,
) -> _Joins:
    """Where each connector ends: the target's nearest point, or its end node if that is near.

    An end node within ``snap_tolerance`` (along the piece) of the nearest point is taken instead.
    """
    start_xy = topo.node_xy[node]
    geom = edges.geom[target]
    at = shapely.line_locate_point(geom, shapely.points(start_xy))
    length = shapely.length(geom)
    end_xy = shapely.get_coordinates(shapely.line_interpolate_point(geom, at)).reshape(-1, 2)
    near_u = at <= snap_tolerance
    near_v = ~near_u & (at >= length - snap_tolerance)
    end_node = np.full(len(target), -1, dtype=np.int64)
    end_node[near_u] = topo.u[target[near_u]]
    end_node[near_v] = topo.v[target[near_v]]
    snapped = end_node >= 0
    end_xy[snapped] = topo.node_xy[end_node[snapped]]
    at = np.where(near_u, 0.0, np.where(near_v, length, at))
    return _Joins(node, from_edge, target, start_xy, end_xy, at, end_node)


def _add_connectors(edges: _Edges, joins: _Joins, kind: int) -> tuple[_Edges, int, float]:
    """Split the targets where connectors end and add the connectors; return edges and totals."""
    interior = joins.end_node < 0
    pieces, src = _split_lines(edges.geom, joins.target[interior], joins.end_xy[interior])
    # an end lying on the target (within 1 cm) is joined by the split alone
    real = joins.gap >= _NODE_TOLERANCE_METERS
    connectors = shapely.linestrings(np.stack([joins.start_xy[real], joins.end_xy[real]], axis=1))
    out = _Edges(
        geom=np.concatenate([pieces, connectors]),
        parent=np.concatenate([edges.parent[src], edges.parent[joins.from_edge[real]]]),
        kind=np.concatenate([edges.kind[src], np.full(len(connectors), kind, dtype=np.int8)]),
    )
    return out, len(connectors), float(shapely.length(connectors).sum())


def _close_gaps(
    edges: _Edges, lines: _Lines, tolerance: float, snap_tolerance: float
) -> tuple[_Edges, int, float]:
    """Join dangling ends to the nearest piece of another component; return edges and totals."""
    if tolerance <= 0 or len(edges.geom) == 0:
        return edges, 0, 0.0
    topo = _topology(edges.geom)
    candidates = _gap_candidates(edges, lines, topo, tolerance)
    chosen = _choose_connectors(candidates, topo.n_components)
    if chosen.empty:
        return edges, 0, 0.0
    joins = _plan_joins(
        edges,
        topo,
        chosen["node"].to_numpy(),
        chosen["from_edge"].to_numpy(),
        chosen["edge"].to_numpy(),
        snap_tolerance,
    )
    out, n_connectors, meters = _add_connectors(edges, joins, _COMPONENT)
    log.info(
        "closed %d gaps with %d connectors, %.2f km (tolerance %g m)",
        len(chosen),
        n_connectors,
        meters / 1000,
        tolerance,
    )
    return out, n_connectors, meters
