"""OSM sources through osmnx: XML, PBF (converted by pyosmium), GraphML and a live download."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import networkx as nx
import osmnx as ox
import shapely
from osmnx._errors import InsufficientResponseError  # documented in osmnx's API reference

from geo import settings
from geo._errors import InputFileError, NetworkError
from geo.network.model import (
    DRIVE_EXCLUDED_CLASSES,
    WALK_EXCLUDED_CLASSES,
    Network,
    NetworkReport,
)
from geo.network.options import (
    _head,
    _missing,
    _OsmOptions,
)

__all__: list[str] = []

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# OSM sources (osmnx)
# ---------------------------------------------------------------------------------------------


class _ExtraWayTags:
    """Context manager: make osmnx keep the ``foot`` way tag while a graph is read."""

    def __enter__(self) -> None:
        self._saved = list(ox.settings.useful_tags_way)
        ox.settings.useful_tags_way = [*self._saved, "foot"]

    def __exit__(self, *exc: object) -> None:
        ox.settings.useful_tags_way = self._saved


def _graph_from_pbf(path: Path, *, mode: str, simplify: bool) -> nx.MultiDiGraph:
    """Read an OSM PBF file: pyosmium writes it out as OSM XML, which osmnx then reads."""
    import tempfile

    import osmium

    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / f"{path.stem}.osm"
        try:
            with osmium.SimpleWriter(str(xml)) as writer:
                for obj in osmium.FileProcessor(str(path)):
                    writer.add(obj)
        except RuntimeError as exc:
            msg = f"{path}: cannot read the OSM PBF file: {exc}"
            raise InputFileError(msg) from exc
        return _graph_from_xml(xml, mode=mode, simplify=simplify)


def _graph_from_xml(path: Path, *, mode: str, simplify: bool) -> nx.MultiDiGraph:
    if path.stat().st_size == 0:
        msg = f"{path}: the file is empty (0 bytes); expected OSM XML"
        raise InputFileError(msg)
    if 'generator="OSMnx' in _head(path, 4096):
        log.info("%s was written by osmnx; reading it as plain OSM XML", path.name)
    with warnings.catch_warnings(), _ExtraWayTags():
        # osmnx warns about XML that osmnx wrote (the pack's fixture is such a file): it is still
        # valid OSM XML, and the check above logs it; every other warning passes through
        warnings.filterwarnings(
            "ignore", message=r"The XML file you are loading appears", category=UserWarning
        )
        try:
            G = ox.graph_from_xml(
                path, bidirectional=mode == "walk", simplify=False, retain_all=True
            )
        except InsufficientResponseError as err:
            msg = f"{path}: the OSM file holds no nodes or ways"
            raise InputFileError(msg) from err
        except (ElementTree.ParseError, ValueError, KeyError, OSError) as err:
            msg = f"{path}: cannot be read as OSM XML ({type(err).__name__}: {err})"
            raise InputFileError(msg) from err
    G = _filter_osm_graph(G, mode, str(path))
    if simplify:
        G = ox.simplify_graph(G)
    G.graph["mode"] = mode
    return G


def _graph_from_graphml(path: Path) -> nx.MultiDiGraph:
    try:
        return ox.load_graphml(path)
    except (ElementTree.ParseError, nx.NetworkXError, ValueError, KeyError, OSError) as err:
        msg = f"{path}: cannot be read as an osmnx GraphML file ({type(err).__name__}: {err})"
        raise InputFileError(msg) from err


def _download_polygon(
    polygon: shapely.Polygon | shapely.MultiPolygon, mode: str
) -> nx.MultiDiGraph:
    network_type = "walk" if mode == "walk" else "drive_service"
    try:
        with _ExtraWayTags():
            return ox.graph_from_polygon(polygon, network_type=network_type, retain_all=True)
    except (ValueError, OSError) as err:  # osmnx's errors are ValueErrors, requests' OSErrors
        msg = (
            f"could not download the OSM {mode} network for the polygon ({type(err).__name__}: "
            f"{err}); it needs internet access to Overpass. Offline, use network_from_osm_file or "
            "load_network(source='pack')."
        )
        raise NetworkError(msg) from err


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value]
    return [str(value)]


def _osm_edge_allowed(data: Mapping[str, Any], mode: str) -> bool:
    """Whether an OSM edge is usable in ``mode`` (class, area, access, foot, service)."""
    classes = _as_list(data.get("highway"))
    excluded = WALK_EXCLUDED_CLASSES if mode == "walk" else DRIVE_EXCLUDED_CLASSES
    if not classes or any(c in excluded for c in classes):
        return False
    if "yes" in _as_list(data.get("area")) or "private" in _as_list(data.get("access")):
        return False
    if mode == "walk":
        return "no" not in _as_list(data.get("foot"))
    return not {"parking", "parking_aisle", "private"} & set(_as_list(data.get("service")))


def _filter_osm_graph(G: nx.MultiDiGraph, mode: str, source: str) -> nx.MultiDiGraph:
    drop = [
        (u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if not _osm_edge_allowed(d, mode)
    ]
    G.remove_edges_from(drop)
    G.remove_nodes_from([n for n, deg in G.degree() if deg == 0])
    log.info(
        "%s: dropped %d edges not usable for %s; %d edges left",
        source,
        len(drop),
        mode,
        G.number_of_edges(),
    )
    if G.number_of_edges() == 0:
        msg = f"{source}: no {mode} roads in the OSM data"
        raise NetworkError(msg)
    return G


def _make_two_way(G: nx.MultiDiGraph) -> None:
    """Add the missing reverse of every oneway edge (walk on a drive graph); mutates ``G``."""
    added = 0
    for u, v, d in list(G.edges(data=True)):
        if not d.get("oneway"):
            continue
        back = dict(d, oneway=False, reversed=not d.get("reversed", False))
        if "geometry" in d:
            back["geometry"] = shapely.reverse(d["geometry"])
        d["oneway"] = False
        G.add_edge(v, u, **back)
        added += 1
    if added:
        log.info("walk: added the reverse of %d oneway edges", added)


def _osm_speed(classes: list[str], speeds: Mapping[str, float]) -> float:
    for c in classes:
        if c in speeds:
            return speeds[c]
    return speeds.get("unclassified", 20.0)


def _add_osm_travel_times(G: nx.MultiDiGraph, options: _OsmOptions) -> None:
    """Set ``speed_kph``, ``travel_time``, ``repaired``, ``name`` on every edge; mutates ``G``."""
    for _, _, d in G.edges(data=True):
        if options.mode == "walk":
            speed = options.walk_speed_kmh
        else:
            speed = (
                _osm_speed(_as_list(d.get("highway")), options.drive_speeds_kmh)
                / options.congestion_factor
            )
        d["speed_kph"] = speed
        d["travel_time"] = float(d["length"]) / (speed / 3.6)
        d["repaired"] = False
        if _missing(d.get("name")) or d.get("name") in ("", "None", "nan"):  # GraphML: "None"
            d["name"] = None


def _undirected_component_lengths(G: nx.MultiDiGraph) -> tuple[list[set[Any]], list[float]]:
    """Weak components of ``G`` and their undirected road length in metres."""
    U = ox.convert.to_undirected(G)
    comps = [set(c) for c in nx.connected_components(U)]
    where = {n: i for i, c in enumerate(comps) for n in c}
    lengths = [0.0] * len(comps)
    for u, _, d in U.edges(data=True):
        lengths[where[u]] += float(d["length"])
    return comps, lengths


def _network_from_osm_graph(
    G: nx.MultiDiGraph, options: _OsmOptions, *, source: str, source_date: str | None, key: str
) -> Network:
    """Filter, make two-way (walk), time, drop islands and report an osmnx graph."""
    if G.graph.get("mode") != options.mode:  # not yet filtered for this mode
        G = _filter_osm_graph(G, options.mode, source)
    if options.mode == "walk":
        _make_two_way(G)
    _add_osm_travel_times(G, options)
    comps, lengths = _undirected_component_lengths(G)
    total = sum(lengths)
    share = max(lengths) / total if total > 0 else 0.0
    small = [i for i, m in enumerate(lengths) if m < options.min_island_meters]
    G.remove_nodes_from([n for i in small for n in comps[i]])
    if G.number_of_nodes() == 0:
        msg = (
            f"{source}: every component is shorter than min_island_meters="
            f"{options.min_island_meters:g}; lower it"
        )
        raise NetworkError(msg)
    G.graph["crs"] = settings.wgs84_crs
    G.graph["mode"] = options.mode
    dropped_m = sum(lengths[i] for i in small)
    report = NetworkReport(
        mode=options.mode,
        nodes=G.number_of_nodes(),
        edges=G.number_of_edges(),
        length_km=(total - dropped_m) / 1000,
        components=int(nx.number_weakly_connected_components(G)),
        largest_component_share=share,
        repair_connectors=0,
        repair_length_km=0.0,
        noded_crossings=0,
        dropped_islands=len(small),
        dropped_island_km=dropped_m / 1000,
        source=source,
        source_date=source_date,
        params=options.params(),
    )
    log.info(
        "built %s network from %s: %d nodes, %d edges",
        options.mode,
        source,
        report.nodes,
        report.edges,
    )
    return Network(G=G, report=report, mode=options.mode, key=key)
