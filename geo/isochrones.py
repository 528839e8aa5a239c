"""Isochrone polygons for display: the reachable network, partial edges included, buffered.

The reachable part of an edge at the cutoff is interpolated along the edge: a segment whose start
is reached with cost ``c`` and whose full traversal costs ``T`` is covered for the first
``(limit - c) / T`` of its length. The covered lines are buffered by ``buffer_meters`` on each side
(default :data:`DEFAULT_BUFFER_METERS` = 100 m, the default "trim" of service-area polygons in
common network-analysis tools: the plots fronting a reached street count as reached) and clipped
to the study area. Polygons are for display and *area* coverage; resident coverage is computed
from each resident point's own reach (:mod:`geo.reach`), never from polygons.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely
from shapely.ops import substring

from geo.reach import FloatArray, IntArray, ReachIndex, Snap

DEFAULT_BUFFER_METERS = 100.0

#: Buffer smoothness: segments per quarter circle. 2 keeps polygons light: on the Minhang drive
#: network the covered area differs from a 4-segment buffer by 0.56%, and unions run ~15% faster.
QUAD_SEGS = 2


def covered_intervals(
    index: ReachIndex,
    node_cost: FloatArray,
    kind: str,
    *,
    limit: float,
    sources: Snap | None = None,
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Covered parts of segments as (segment, start share, end share), shares of length 0..1.

    From a reached start node the segment is covered forward as far as the remaining budget
    allows, from a reached end node backward; a source lying on a segment covers both ways from
    its own position (after its access leg).
    """
    fwd, bwd = index.fwd[kind], index.bwd[kind]
    cu, cv = node_cost[index.seg_u], node_cost[index.seg_v]
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(cu < limit, np.clip((limit - cu) / fwd, 0, 1), 0.0)  # from u, forward
        b = np.where(cv < limit, np.clip((limit - cv) / bwd, 0, 1), 0.0)  # from v, backward
    a = np.nan_to_num(a, nan=0.0)
    b = np.nan_to_num(b, nan=0.0)
    full = (a + b >= 1) & ((a > 0) | (b > 0))
    segs = [np.flatnonzero(full)]
    starts = [np.zeros(len(segs[0]))]
    ends = [np.ones(len(segs[0]))]
    part_a = np.flatnonzero(~full & (a > 0))
    part_b = np.flatnonzero(~full & (b > 0))
    segs += [part_a, part_b]
    starts += [np.zeros(len(part_a)), 1 - b[part_b]]
    ends += [a[part_a], np.ones(len(part_b))]
    if sources is not None:
        s_seg, s_lo, s_hi = _source_intervals(index, sources, kind, limit=limit)
        segs.append(s_seg)
        starts.append(s_lo)
        ends.append(s_hi)
    return np.concatenate(segs), np.concatenate(starts), np.concatenate(ends)


def _source_intervals(
    index: ReachIndex, sources: Snap, kind: str, *, limit: float
) -> tuple[IntArray, FloatArray, FloatArray]:
    ok = np.flatnonzero(sources.seg >= 0)
    s, f = sources.seg[ok], sources.frac[ok]
    left = limit - sources.access_m[ok] * index.access_cost_per_m[kind]
    reach_ok = left > 0
    s, f, left = s[reach_ok], f[reach_ok], left[reach_ok]
    with np.errstate(invalid="ignore", divide="ignore"):
        hi = np.minimum(1.0, f + np.nan_to_num(left / index.fwd[kind][s], nan=0.0))
        lo = np.maximum(0.0, f - np.nan_to_num(left / index.bwd[kind][s], nan=0.0))
    return s, lo, hi


def interval_lines(
    index: ReachIndex, seg: IntArray, start: FloatArray, end: FloatArray
) -> npt.NDArray[np.object_]:
    """Line geometries (UTM 51N) of the covered parts; whole segments are not re-cut."""
    whole = (start <= 0) & (end >= 1)
    out = np.empty(len(seg), dtype=object)
    out[whole] = index.seg_geom[seg[whole]]
    for i in np.flatnonzero(~whole):
        if end[i] > start[i]:
            out[i] = substring(index.seg_geom[seg[i]], start[i], end[i], normalized=True)
        else:  # a zero-length piece: the reached end point
            out[i] = shapely.line_interpolate_point(
                index.seg_geom[seg[i]], start[i], normalized=True
            )
    return out


def lines_to_polygon(
    lines: npt.NDArray[np.object_], *, buffer_meters: float = DEFAULT_BUFFER_METERS
) -> shapely.Geometry:
    """Buffer and merge covered lines into one (multi)polygon (UTM 51N)."""
    if len(lines) == 0:
        return shapely.Polygon()
    # buffering each line and then merging is ~20x faster than buffering one collection
    return shapely.union_all(shapely.buffer(lines, buffer_meters, quad_segs=QUAD_SEGS))


def isochrone(
    index: ReachIndex,
    node_cost: FloatArray,
    kind: str,
    *,
    limit: float,
    sources: Snap | None = None,
    buffer_meters: float = DEFAULT_BUFFER_METERS,
) -> shapely.Geometry:
    """The polygon (UTM 51N) of everything within ``limit`` given node costs from the sources."""
    seg, lo, hi = covered_intervals(index, node_cost, kind, limit=limit, sources=sources)
    return lines_to_polygon(interval_lines(index, seg, lo, hi), buffer_meters=buffer_meters)
