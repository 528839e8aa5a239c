"""A road's spine and house-number positions along it (metres, no geometry objects).

:func:`road_spine` joins a road's pieces into one polyline; :func:`numbers_grow_forward` and
:func:`house_number_position` apply the house-number rule described in docs/geocoding.md.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import networkx as nx
import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from geo.geocoding.parse import _split_suffix, normalise_road_name

__all__ = [
    "METERS_PER_HOUSE_NUMBER",
    "SPINE_SNAP_METERS",
    "house_number_position",
    "numbers_grow_forward",
    "road_spine",
]

FloatArray = npt.NDArray[np.float64]

#: Metres along the road per house number (numbers alternate sides; calibrated: docs/geocoding.md).
METERS_PER_HOUSE_NUMBER = 2.0

#: Piece ends closer than this are one junction when a road's spine is built.
SPINE_SNAP_METERS = 30.0


def _cluster_ends(ends: FloatArray, snap_meters: float) -> npt.NDArray[np.intp]:
    """Label each end point; ends within ``snap_meters`` (transitively) share a label."""
    pairs = cKDTree(ends).query_pairs(snap_meters, output_type="ndarray")
    g = nx.Graph()
    g.add_nodes_from(range(len(ends)))
    g.add_edges_from(pairs.tolist())
    labels = np.empty(len(ends), dtype=np.intp)
    for label, comp in enumerate(nx.connected_components(g)):
        labels[list(comp)] = label
    return labels


def _join_components(g: nx.Graph, node_xy: FloatArray) -> None:
    """Bridge the components of ``g`` by straight links between their closest nodes (mutates)."""
    comps = [sorted(c) for c in nx.connected_components(g)]
    while len(comps) > 1:
        first = np.asarray(comps[0])
        links = []
        for ci in range(1, len(comps)):
            other = np.asarray(comps[ci])
            d = np.linalg.norm(node_xy[first][:, None, :] - node_xy[other][None, :, :], axis=2)
            i, j = np.unravel_index(int(np.argmin(d)), d.shape)
            links.append((float(d[i, j]), int(first[i]), int(other[j]), ci))
        dist, u, v, ci = min(links)
        g.add_edge(u, v, weight=dist, coords=node_xy[[min(u, v), max(u, v)]])
        comps[0] = comps[0] + comps[ci]
        del comps[ci]


def road_spine(
    parts: Sequence[npt.ArrayLike], *, snap_meters: float = SPINE_SNAP_METERS
) -> FloatArray:
    """Return one polyline through a road's pieces: the longest of its shortest paths.

    The pieces (dual carriageways, ways split at junctions, gaps where short ways were dropped)
    become a graph whose nodes are piece ends merged within ``snap_meters``; components are
    bridged by straight links between their closest ends; the spine is the shortest path between
    the two nodes farthest apart (found by two Dijkstra sweeps), each piece oriented along it.

    Parameters
    ----------
    parts
        The pieces, each an (n, 2) array of x, y in metres (n >= 2).
    snap_meters
        Ends closer than this are one junction.

    Returns
    -------
    numpy.ndarray
        (m, 2) vertices of the spine in metres; a single piece comes back as it is.
    """
    pieces = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in parts]
    pieces = [p for p in pieces if len(p) >= 2]
    if not pieces:
        return np.empty((0, 2))
    if len(pieces) == 1:
        return pieces[0]
    ends = np.array([e for p in pieces for e in (p[0], p[-1])])
    labels = _cluster_ends(ends, snap_meters)
    node_xy = np.array([ends[labels == k].mean(axis=0) for k in range(labels.max() + 1)])
    g = nx.Graph()
    g.add_nodes_from(range(len(node_xy)))
    for j, piece in enumerate(pieces):
        u, v = int(labels[2 * j]), int(labels[2 * j + 1])
        length = float(np.hypot(*np.diff(piece, axis=0).T).sum())
        if u != v and (not g.has_edge(u, v) or g[u][v]["weight"] > length):
            g.add_edge(u, v, weight=length, coords=piece if u < v else piece[::-1])
    g.remove_nodes_from([n for n in list(g.nodes) if g.degree(n) == 0])
    if g.number_of_edges() == 0:
        return max(pieces, key=len)
    _join_components(g, node_xy)
    start = next(iter(g.nodes))
    dist = nx.single_source_dijkstra_path_length(g, start)
    a = max(dist, key=dist.__getitem__)
    dist_a, paths = nx.single_source_dijkstra(g, a)
    b = max(dist_a, key=dist_a.__getitem__)
    path = paths[b]
    out = []
    for u, v in itertools.pairwise(path):
        c = g[u][v]["coords"]
        out.append(c if u < v else c[::-1])
    return np.vstack(out)


def numbers_grow_forward(spine: FloatArray, road_name: str) -> bool:
    """Return True when house numbers grow from the spine's first vertex to its last.

    The rule (docs/geocoding.md): ``…南路``/``…南街`` sections southward; other roads westward if
    they run more east-west than north-south (end to end), else northward.

    Parameters
    ----------
    spine
        (m, 2) vertices in a metric CRS with x east and y north.
    road_name
        The road's name (normalised or not).
    """
    dx, dy = spine[-1] - spine[0]
    stem, _ = _split_suffix(normalise_road_name(road_name))
    if stem.endswith("南"):
        return bool(dy < 0)
    if abs(dx) >= abs(dy):
        return bool(dx < 0)
    return bool(dy > 0)


def house_number_position(
    number: float,
    length_meters: float,
    *,
    forward: bool,
    meters_per_number: float = METERS_PER_HOUSE_NUMBER,
) -> tuple[float, bool]:
    """Return the distance along the spine for a house number, and whether it was clamped.

    ``s = number × meters_per_number`` from the numbering end, clamped to ``[0, length]``;
    measured from the spine's first vertex (so ``length - s`` when numbers grow backward).
    """
    s = float(number) * meters_per_number
    beyond = s > length_meters
    s = min(max(s, 0.0), length_meters)
    return (s if forward else length_meters - s), beyond
