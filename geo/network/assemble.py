"""The repair steps in order and the graph assembly (metres -> lon/lat, osmnx attribute names)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import networkx as nx
import numpy as np
import pyproj
import shapely

from geo import settings
from geo._errors import NetworkError
from geo.network.detour import (
    _close_detours,
)
from geo.network.lines import (
    _close_gaps,
    _node_lines,
    _snap_endpoints,
    _topology,
)
from geo.network.model import (
    _REPAIR_KINDS,
    _ROAD,
    BoolArray,
    FloatArray,
    Network,
    NetworkReport,
    _Edges,
    _Lines,
    _Repair,
    _Topology,
)
from geo.network.options import (
    _LineOptions,
)

__all__: list[str] = []

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Graph assembly (metres -> lon/lat, osmnx attribute names)
# ---------------------------------------------------------------------------------------------


def _to_lonlat(xy: FloatArray) -> FloatArray:
    transformer = pyproj.Transformer.from_crs(
        settings.metric_crs, settings.wgs84_crs, always_xy=True
    )
    lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def _assemble_graph(
    edges: _Edges, lines: _Lines, topo: _Topology, keep: BoolArray, mode: str
) -> nx.MultiDiGraph:
    """Build the MultiDiGraph of the kept pieces: both ways unless the line is oneway (drive)."""
    geom, parent, kind = edges.geom[keep], edges.parent[keep], edges.kind[keep]
    repaired = kind != _ROAD
    u, v = topo.u[keep], topo.v[keep]
    used = np.unique(np.concatenate([u, v]))
    new_id = np.full(len(topo.node_xy), -1, dtype=np.int64)
    new_id[used] = np.arange(len(used))
    u, v = new_id[u], new_id[v]
    lonlat = _to_lonlat(topo.node_xy[used])
    street_count = np.bincount(np.concatenate([u, v]), minlength=len(used))
    G = nx.MultiDiGraph(crs=settings.wgs84_crs, created_with="geo.network", mode=mode)
    G.add_nodes_from(
        (i, {"x": float(x), "y": float(y), "street_count": int(c)})
        for i, ((x, y), c) in enumerate(zip(lonlat, street_count, strict=True))
    )
    length = shapely.length(geom)
    bent = shapely.get_num_coordinates(geom) > 2
    forward = np.full(len(geom), None, dtype=object)
    forward[bent] = shapely.transform(geom[bent], _to_lonlat)
    backward = np.full(len(geom), None, dtype=object)
    backward[bent] = shapely.reverse(forward[bent])
    direction = np.where(repaired, 0, lines.direction[parent])
    speed = lines.speed_kmh[parent]
    # connectors get ids -1, -2, ... so osmnx tells them apart from the roads
    ident = np.where(repaired, -np.cumsum(repaired.astype(np.int64)), 0).astype(object)
    ident[~repaired] = lines.ident[parent[~repaired]]
    for e in range(len(geom)):
        attrs = {
            "osmid": ident[e],
            "highway": lines.road_class[parent[e]],
            "name": lines.name[parent[e]],
            "length": float(length[e]),
            "speed_kph": float(speed[e]),
            "travel_time": float(length[e] / (speed[e] / 3.6)),
            "repaired": bool(repaired[e]),
            "oneway": bool(direction[e] != 0),
        }
        if repaired[e]:
            attrs["repair_kind"] = _REPAIR_KINDS[int(kind[e])]
        if direction[e] >= 0:
            G.add_edge(int(u[e]), int(v[e]), **attrs, reversed=False, **_geometry(forward[e]))
        if direction[e] <= 0:
            G.add_edge(int(v[e]), int(u[e]), **attrs, reversed=True, **_geometry(backward[e]))
    return G


def _geometry(geom: shapely.LineString | None) -> dict[str, Any]:
    return {} if geom is None else {"geometry": geom}


def _component_lengths(topo: _Topology, lengths: FloatArray, weight: BoolArray) -> FloatArray:
    """Total of ``lengths`` (where ``weight``) per component."""
    comp = topo.component[topo.u]
    totals = np.bincount(comp, weights=np.where(weight, lengths, 0.0), minlength=topo.n_components)
    return np.asarray(totals, dtype=np.float64)


def _repair_lines(lines: _Lines, options: _LineOptions) -> tuple[_Edges, _Lines, _Repair]:
    """Snap, node and close gaps; return undirected pieces, the surviving lines and counts."""
    geoms, moved = _snap_endpoints(lines.geom, options.snap_tolerance_meters)
    alive = np.asarray([g is not None for g in geoms], dtype=bool)
    log.info(
        "snapped %d line ends within %g m (%d lines collapsed and dropped)",
        moved,
        options.snap_tolerance_meters,
        int((~alive).sum()),
    )
    if not alive.any():
        msg = f"every line is shorter than snap_tolerance_meters={options.snap_tolerance_meters:g}"
        raise NetworkError(msg)
    lines = replace(lines, geom=geoms).take(alive)
    pieces, parent, n_crossings = _node_lines(lines)
    edges = _Edges(pieces, parent, np.zeros(len(pieces), np.int8))
    edges, n_conn, conn_m = _close_gaps(
        edges, lines, options.gap_tolerance_meters, options.snap_tolerance_meters
    )
    edges, n_detour, detour_m = _close_detours(
        edges, lines, options.detour, options.snap_tolerance_meters
    )
    return (
        edges,
        lines,
        _Repair(n_crossings, n_conn + n_detour, conn_m + detour_m, n_detour, detour_m),
    )


def _network_from_selected(
    lines: _Lines, options: _LineOptions, *, source: str, source_date: str | None, key: str
) -> Network:
    """Repair, measure, drop islands and assemble the graph."""
    edges, lines, repair = _repair_lines(lines, options)
    topo = _topology(edges.geom)
    length = shapely.length(edges.geom)
    road = _component_lengths(topo, length, ~edges.repaired)
    total = _component_lengths(topo, length, np.ones(len(length), bool))
    share = float(road.max() / road.sum()) if road.sum() > 0 else 0.0
    islands = total < options.min_island_meters
    keep = ~islands[topo.component[topo.u]]
    log.info(
        "largest component holds %.1f%% of the road; dropped %d islands (%.2f km)",
        100 * share,
        int(islands.sum()),
        road[islands].sum() / 1000,
    )
    if not keep.any():
        msg = (
            f"{source}: every component is shorter than min_island_meters="
            f"{options.min_island_meters:g}; lower it (the largest has {total.max():.0f} m)"
        )
        raise NetworkError(msg)
    G = _assemble_graph(edges, lines, topo, keep, options.mode)
    report = NetworkReport(
        mode=options.mode,
        nodes=G.number_of_nodes(),
        edges=G.number_of_edges(),
        length_km=float(length[keep].sum()) / 1000,
        components=int(nx.number_weakly_connected_components(G)),
        largest_component_share=share,
        repair_connectors=repair.connectors,
        repair_length_km=repair.connector_meters / 1000,
        noded_crossings=repair.noded_crossings,
        dropped_islands=int(islands.sum()),
        dropped_island_km=float(road[islands].sum()) / 1000,
        source=source,
        source_date=source_date,
        params=options.params(),
        detour_connectors=repair.detour_connectors,
        detour_length_km=repair.detour_meters / 1000,
    )
    log.info(
        "built %s network: %d nodes, %d edges, %.1f km",
        options.mode,
        report.nodes,
        report.edges,
        report.length_km,
    )
    return Network(G=G, report=report, mode=options.mode, key=key)
