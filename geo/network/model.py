"""The network's types and constants: road classes and their speeds, repair defaults, the
:class:`Network` and its :class:`NetworkReport`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_DETOUR_FACTOR",
    "DEFAULT_DETOUR_GAP_METERS",
    "DEFAULT_GAP_TOLERANCE_METERS",
    "DEFAULT_MIN_DETOUR_METERS",
    "DEFAULT_MIN_ISLAND_METERS",
    "DEFAULT_SNAP_TOLERANCE_METERS",
    "DRIVE_EXCLUDED_CLASSES",
    "DRIVE_SPEEDS_KMH",
    "GRADE_SEPARATED",
    "LINE_SUFFIXES",
    "MODES",
    "NOT_ROAD_CLASSES",
    "OSM_SUFFIXES",
    "PACK_ROADS",
    "PACK_SOURCE",
    "ROAD_CLASS_ALIASES",
    "WALK_EXCLUDED_CLASSES",
    "BoolArray",
    "FloatArray",
    "GeomArray",
    "IntArray",
    "Network",
    "NetworkReport",
    "road_class",
]

from geo._types import JSONValue

log = logging.getLogger(__name__)


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
GeomArray = npt.NDArray[np.object_]

#: Travel modes; the allowed values of every ``mode`` argument.
MODES: tuple[str, ...] = ("walk", "drive")

#: Drive speed (km/h) per OSM road class for an urban Chinese district, *including* signal delay.
#: Design speeds: GB 50220-95 (cities over 2 million) 快速路 80, 主干路 60, 次干路 40, 支路 30;
#: CJJ 37-2012 快速路 100/80/60, 主干路 60/50/40, 次干路 50/40/30, 支路 40/30/20.
#: In OSM China motorway = 高速公路, trunk = 城市快速路 (mostly elevated), primary = 主干路,
#: secondary = 次干路, tertiary/residential = 支路. Signal-free classes keep ~75% of the design
#: speed (merges, urban traffic); signalised classes ~60% (a planning assumption, not a standard
#: value). Residential compounds are reached by ``service`` roads, so drive keeps them. Slow
#: everything for peak hours with ``congestion_factor``.
DRIVE_SPEEDS_KMH: dict[str, float] = {
    "motorway": 80.0,
    "motorway_link": 40.0,
    "trunk": 60.0,
    "trunk_link": 35.0,
    "primary": 35.0,
    "primary_link": 30.0,
    "secondary": 30.0,
    "secondary_link": 25.0,
    "tertiary": 25.0,
    "tertiary_link": 20.0,
    "unclassified": 20.0,
    "residential": 20.0,
    "road": 20.0,
    "living_street": 10.0,
    "service": 15.0,
}

#: Highway values that are no road for anyone (as osmnx's own network filters).
NOT_ROAD_CLASSES: frozenset[str] = frozenset(
    {"abandoned", "bus_guideway", "construction", "no", "planned", "platform", "proposed"}
    | {"raceway", "razed", "rest_area", "services"}
)

#: Classes a pedestrian may not use: motorways, trunk roads (Shanghai's elevated expressways),
#: their ramps, and cycleways (as osmnx's walk filter).
WALK_EXCLUDED_CLASSES: frozenset[str] = NOT_ROAD_CLASSES | {
    "motorway",
    "motorway_link",
    "trunk",
    "trunk_link",
    "cycleway",
}

#: Classes a car may not use (as osmnx's ``drive_service`` filter).
DRIVE_EXCLUDED_CLASSES: frozenset[str] = NOT_ROAD_CLASSES | {
    "footway",
    "path",
    "pedestrian",
    "steps",
    "cycleway",
    "bridleway",
    "corridor",
    "elevator",
    "escalator",
    "track",
}

#: Default grade-separated classes: they never join at a mid-line crossing.
GRADE_SEPARATED: tuple[str, ...] = ("motorway", "trunk")

#: End points closer than this are merged (the pack's ~4 m grid: one step is 4.0 m, a diagonal
#: step 5.6 m). On the pack: 122 lonely end points lie one step from another line's vertex and
#: 129 a diagonal step; the counts then rise steadily with distance (gaps, not rounding).
DEFAULT_SNAP_TOLERANCE_METERS: float = 6.0

#: Dangling ends are joined to another component within this distance (see the module docstring).
DEFAULT_GAP_TOLERANCE_METERS: float = 80.0

#: Dead ends are joined to the nearest road within this distance (usually one of their own
#: component) when the network detour to it is long (see the module docstring).
DEFAULT_DETOUR_GAP_METERS: float = 60.0

#: A detour connector needs a network detour longer than this many times the gap ...
DEFAULT_DETOUR_FACTOR: float = 5.0

#: ... and longer than this (shorter detours cost at most ~4.5 walking minutes or ~1 min driving).
DEFAULT_MIN_DETOUR_METERS: float = 300.0

#: Components with less road than this are dropped, as they would trap anything snapped to them.
#: On the pack after repair (80 m) the largest walk component has 2,582 km and the next 3.3 km;
#: 41 of the 47 others are under 1 km (13.5 km in all; drive: 34 of 38, 12.5 km).
DEFAULT_MIN_ISLAND_METERS: float = 1000.0

#: The data pack's roads file (relative to the data folder) and how a report names it.
PACK_ROADS = "roads/minhang_roads_osm_simplified.geojson"
PACK_SOURCE = f"Minhang data pack {PACK_ROADS} (OSM via Overpass)"

#: File suffixes read as centre-lines and as OSM data.
LINE_SUFFIXES: tuple[str, ...] = (".geojson", ".json", ".shp", ".gpkg")
OSM_SUFFIXES: tuple[str, ...] = (".osm", ".xml", ".graphml", ".pbf")

#: Bump when the cache file layout changes (the package's code is hashed into keys as well).
_CACHE_FORMAT = 3  # 3: routing arrays beside the graph
#: Files larger than this are keyed by path, size and mtime instead of their bytes.
_HASH_BYTES_LIMIT = 256 * 1024 * 1024
#: Points closer than this are one node (floating-point noise of intersections).
_NODE_TOLERANCE_METERS = 0.01
#: Positions along a line closer than this are one vertex.
_POSITION_EPS_METERS = 1e-6
#: Distances held at once by the batched Dijkstra of the detour repair (sources x nodes; 64 MB).
_DIJKSTRA_CELLS = 8_000_000
_OSM_ONEWAY = {"yes": 1, "true": 1, "1": 1, "t": 1, "-1": -1, "reverse": -1}
_FALSE_WORDS = {"no", "false", "0", "f"}
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
#: Column added to a copy of the input: the edge ``osmid`` (input ``osmid``, else row number).
_ID = "__geo_network_id__"


@dataclass(frozen=True)
class NetworkReport:
    """What a built network holds and how much was repaired to build it.

    Attributes
    ----------
    mode
        ``"walk"`` or ``"drive"``.
    nodes, edges
        Nodes and directed edges of the final graph (a two-way road is two edges).
    length_km
        Road length of the final graph in km, undirected: each road counted once whatever its
        directions; repair connectors included.
    components
        Weakly connected components of the final graph (after dropping islands).
    largest_component_share
        Share (0-1) of road length in the largest component after repair and before dropping
        islands (connectors excluded from both sides of the ratio).
    repair_connectors, repair_length_km
        All gap-closing connectors added (``repaired=True`` edges, counted once) and their
        length: the total of both kinds, component and detour connectors.
    noded_crossings
        Junctions made where lines cross or one ends on another's segment (points that were
        not already a vertex of both lines).
    dropped_islands, dropped_island_km
        Components dropped for being shorter than ``min_island_meters``, and their road length.
    source, source_date
        Where the roads came from and their date (OSM timestamp when known, else file mtime).
    params
        The parameters used: speeds, tolerances, congestion factor, grade-separated classes.
    detour_connectors, detour_length_km
        The part of ``repair_connectors`` and ``repair_length_km`` added by the detour repair
        (``repair_kind="detour"``: a dangling end joined to a road of its own component that the
        network only reached by a long detour); 0 for OSM sources.
    """

    mode: str
    nodes: int
    edges: int
    length_km: float
    components: int
    largest_component_share: float
    repair_connectors: int
    repair_length_km: float
    noded_crossings: int
    dropped_islands: int
    dropped_island_km: float
    source: str
    source_date: str | None
    params: dict[str, JSONValue] = field(default_factory=dict)
    detour_connectors: int = 0
    detour_length_km: float = 0.0

    def to_dict(self) -> dict[str, JSONValue]:
        """Return the report as a JSON-ready dict (floats rounded, tuples as lists)."""
        return {
            "mode": self.mode,
            "nodes": self.nodes,
            "edges": self.edges,
            "length_km": round(self.length_km, 3),
            "components": self.components,
            "largest_component_share": round(self.largest_component_share, 4),
            "repair_connectors": self.repair_connectors,
            "repair_length_km": round(self.repair_length_km, 3),
            "detour_connectors": self.detour_connectors,
            "detour_length_km": round(self.detour_length_km, 3),
            "noded_crossings": self.noded_crossings,
            "dropped_islands": self.dropped_islands,
            "dropped_island_km": round(self.dropped_island_km, 3),
            "source": self.source,
            "source_date": self.source_date,
            "params": _json_ready(self.params),
        }


class Network:
    """A routable network: its report, its mode, its cache key, the osmnx-compatible graph ``G``
    and, when read from the cache, its routing arrays.

    ``G`` has graph attributes ``crs="EPSG:4326"`` and ``mode``; nodes have ``x`` (lon), ``y``
    (lat) and ``street_count``; edges have ``osmid``, ``length`` (m), ``highway``, ``name``,
    ``speed_kph``, ``travel_time`` (s), ``oneway``, ``reversed``, ``repaired`` and, where they are
    not straight, ``geometry`` (a lon/lat LineString from u to v). From centre-lines, ``osmid``
    is the input's ``osmid`` column (else its row number) and connectors get -1, -2, ...; a
    connector takes the class, name and speed of the road whose dangling end it extends, and
    says which repair step added it in ``repair_kind`` (``"component"`` or ``"detour"``; roads
    have no ``repair_kind``).

    A network read from the cache holds only ``arrays`` (:func:`geo.reach.index_arrays`: node
    and segment arrays, costs, WKB geometries): runs route on them and never build the graph;
    ``G`` is built from the cache file the first time it is read (e.g. for osmnx).
    """

    def __init__(
        self,
        G: nx.MultiDiGraph | None = None,
        *,
        report: NetworkReport,
        mode: str,
        key: str,
        load_graph: Callable[[], nx.MultiDiGraph] | None = None,
        arrays: Mapping[str, npt.NDArray[np.generic]] | None = None,
    ) -> None:
        if G is None and load_graph is None:
            msg = "a Network needs a graph or a way to load it"
            raise ValueError(msg)
        self._G = G
        self._load_graph = load_graph
        self.report = report
        self.mode = mode
        self.key = key
        self.arrays = arrays

    @property
    def G(self) -> nx.MultiDiGraph:
        """The osmnx-compatible graph (built from the cache file on first use)."""
        if self._G is None:
            assert self._load_graph is not None
            self._G = self._load_graph()
        return self._G

    @property
    def has_graph(self) -> bool:
        """True once the networkx graph is in memory."""
        return self._G is not None

    def replace(self, *, key: str | None = None, report: NetworkReport | None = None) -> Network:
        """A copy with another key or report (graph, loader and arrays shared)."""
        return Network(
            self._G,
            report=report or self.report,
            mode=self.mode,
            key=self.key if key is None else key,
            load_graph=self._load_graph,
            arrays=self.arrays,
        )

    def __repr__(self) -> str:
        return f"Network(mode={self.mode!r}, key={self.key[:12]!r}, source={self.report.source!r})"


@dataclass(frozen=True)
class _Lines:
    """Per-line attributes of the lines kept for one mode (geometry in metres)."""

    geom: GeomArray
    road_class: npt.NDArray[np.object_]
    name: npt.NDArray[np.object_]
    direction: npt.NDArray[np.int8]  # 1 forward only, -1 backward only, 0 both ways
    speed_kmh: FloatArray
    grade_separated: BoolArray
    ramp: BoolArray  # a ``_link`` of a grade-separated class
    ident: npt.NDArray[np.object_]  # the ``osmid`` column, else the row of the input layer

    def take(self, keep: BoolArray) -> _Lines:
        """Return the lines where ``keep`` is true."""
        return _Lines(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))


#: ``_Edges.kind`` values: a piece of road, a component connector, a detour connector.
_ROAD, _COMPONENT, _DETOUR = 0, 1, 2
_REPAIR_KINDS = {_COMPONENT: "component", _DETOUR: "detour"}


@dataclass(frozen=True)
class _Edges:
    """Undirected road pieces: geometry in metres, the line each came from, what made them."""

    geom: GeomArray
    parent: IntArray
    kind: npt.NDArray[np.int8]  # _ROAD, _COMPONENT or _DETOUR

    @property
    def repaired(self) -> BoolArray:
        """Mask of the connectors added by a repair step."""
        return np.asarray(self.kind != _ROAD)


@dataclass(frozen=True)
class _Topology:
    """End nodes of each piece, node coordinates, and the component of each node."""

    u: IntArray
    v: IntArray
    node_xy: FloatArray
    component: IntArray
    n_components: int


@dataclass(frozen=True)
class _Repair:
    """What the repair steps did (counts for the report)."""

    noded_crossings: int = 0
    connectors: int = 0
    connector_meters: float = 0.0
    detour_connectors: int = 0
    detour_meters: float = 0.0


def road_class(value: object) -> str:
    """The OSM road class of a layer's class value (Chinese or English planning classes mapped)."""
    text = "road" if value is None else str(value).strip().lower()
    return ROAD_CLASS_ALIASES.get(text, text)


ROAD_CLASS_ALIASES: dict[str, str] = {
    "高速公路": "motorway",
    "高速": "motorway",
    "expressway": "trunk",
    "快速路": "trunk",
    "城市快速路": "trunk",
    "快速干道": "trunk",
    "匝道": "trunk_link",
    "ramp": "trunk_link",
    "主干路": "primary",
    "主干道": "primary",
    "arterial": "primary",
    "次干路": "secondary",
    "次干道": "secondary",
    "sub-arterial": "secondary",
    "collector": "secondary",
    "支路": "tertiary",
    "local": "tertiary",
    "branch": "tertiary",
    "街坊路": "residential",
    "小区道路": "residential",
    "居住区道路": "residential",
    "内部道路": "service",
    "步行街": "pedestrian",
    "人行道": "footway",
    "步行道": "footway",
    "绿道": "path",
    "台阶": "steps",
}


def _json_ready(value: object) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [_json_ready(v) for v in items]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value
