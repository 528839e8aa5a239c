"""Routable walk and drive networks from road centre-lines, OSM files or a live OSM download.

Three sources, one result (:class:`Network`: an osmnx-compatible ``MultiDiGraph`` plus a
:class:`NetworkReport`):

- :func:`network_from_lines`: road centre-lines (the data pack's roads, a planning bureau's
  CAD-derived layer) with topology repair, because such layers are never clean;
- :func:`network_from_osm_file`: OSM XML or GraphML on disk, read by osmnx (no repair needed);
- :func:`network_from_polygon`: a live OpenStreetMap download through osmnx (needs internet).

:func:`network_from_file` dispatches on the file suffix and :func:`load_network` caches built
networks on disk (``settings.resolve_cache_folder()``), keyed by a hash of the input file, the
parameters and this module's code.

Repair of centre-lines, in metres in ``settings.metric_crs`` (UTM 51N):

1. **snap**: line end points closer than ``snap_tolerance_meters`` are merged (the pack's vertices
   are rounded to a ~4 m grid, so a junction's ends can miss each other by one grid step);
2. **node**: lines are split where they share a vertex and where two at-grade lines cross;
   grade-separated classes (motorway, trunk by default) are never split where a road merely
   crosses them: they join other roads only at vertices they share, at their own end points, and
   where a ``_link`` ramp (or another grade-separated road) ends on them;
3. **close gaps**: a dangling end (a node of degree 1) is joined to the nearest road of a
   *different* connected component within ``gap_tolerance_meters``, shortest gaps first, each
   join only if the two components are still apart (Kruskal); every connector is an edge with
   ``repaired=True`` and ``repair_kind="component"``; a grade-separated road accepts connectors
   only from its own class or ramps;
4. **close detours** (``detour_repair=True``): a dead end (a node with one neighbour) of an
   at-grade road is joined to the nearest at-grade road within ``detour_gap_meters``, usually
   one of its *own* component that step 3 leaves alone, when the network detour between the two
   points is longer than ``detour_factor`` x the gap and than ``min_detour_meters``. Shortest gaps
   first; a detour is measured again (exactly) once a connector was added near enough to shorten
   it, so two facing dead ends get one connector, not two. Motorway and trunk are never joined
   nor joined from, their ramps only from ramps; connectors have ``repair_kind="detour"``;
5. **drop islands**: components with less than ``min_island_meters`` of road are dropped and
   counted.

Default gap tolerance, measured on the Minhang pack (share of road length in the largest
component after repair; snap 6 m; re-measure with ``geo.network._tolerance_table()``)::

    gap tolerance (m)     0     20     40     50     60     65     70     80    100    120
    walk share        0.051  0.060  0.753  0.902  0.931  0.987  0.989  0.991  0.993  0.996
    drive share       0.207  0.396  0.950  0.977  0.990  0.991  0.992  0.994  0.996  0.998

The pack dropped ways shorter than ~100 m (bridges over Shanghai's many creeks, junction links),
so real gaps reach 100 m: with no tolerance the largest walk component holds 5% of the road. Walk
first passes 95% at ~62 m, when a 60 m gap in 北翟路 (a dropped bridge) joins the Hongqiao/华漕
area; drive passes at 40 m (the expressways join more pieces). Connectors per 20 m band at a
150 m tolerance (walk) fall 1,072 / 355 / 100 / 32 / 17 / 7 from 0-20 to 100-120 m, and where
both sides are named 85% (20-40 m) and 69% (40-60 m) continue the same road. **80 m** is the
default: a 20 m margin over that critical gap, >= 99% in both modes, and past the knee (each
further 20 m adds ~0.2%). A long tolerance cannot add shortcuts: a connector is only added
between components that are still apart, so it only joins pieces that would otherwise be
unreachable; the report counts the connectors and their kilometres.

Step 3 leaves a different artefact: the dropped bridges and junction links also cut roads whose
two sides stay joined far away, and many T-junctions miss the road they end on by a rounding
step. Before step 4, 5,971 walk dead ends (drive 6,223, motorway/trunk ends excluded) have
another road within 80 m (not the piece they end): 2,340 within 10 m, 3,221 within 20 m,
4,272 within 40 m, 4,870 within 60 m. Of these, 1,063 / 1,797 / 2,695 / 3,170 reach that road
only by a network detour over 5 x the gap (1,035 / 1,740 / 2,550 / 2,939 over 10 x; 834 / 1,433
/ 2,230 / 2,678 over 5 x and 300 m). Drive is alike. The network was locally badly connected
although one component held 99% of the road:

    detour gap (m)                         off      20      40      60      80     100
    walk  detour connectors                  0   1,171   1,723   2,056   2,240   2,381
    walk  hospital circuity                3.24    2.55    2.12    1.82    1.60    1.56
    walk  reach share                      0.27    0.37    0.56    0.76    0.87    0.88
    drive detour connectors                  0   1,225   1,815   2,165   2,355   2,493
    drive hospital circuity                3.89    2.67    2.12    1.89    1.68    1.64
    drive reach share                      0.22    0.35    0.67    0.83    0.90    0.91
    EMS 3.5 km resident share             0.318   0.346   0.450   0.503   0.562   0.577

(factor 5, min detour 300 m. *Hospital circuity*: median over the pack's 26 hospitals and
emergency departments of the median network / straight-line distance to the nodes 1-3.5 km
away; *reach share*: median over 200 random nodes of the share of nodes 2-3 km away reached
within 6 km of network; nodes are those of the network without step 4, snapped to each network.
*EMS*: ``geo coverage --standard ems_distance --types emergency_department,hospital``; the
straight 3.5 km circle covers 88%.) Walk 15-minute coverage moves from 6.6% to 8.7%.

**60 m** is the default gap. Dead ends whose nearest road has a long detour number, per 20 m of
gap (walk), 1,427 / 791 / 442 / 230 / 156 up to 100 m, then 72 / 55 / 36 beyond: the pack's
dropped ways are under ~100 m, so ~50-70 per band is what real dead ends beside a road give.
Up to 60 m that background is at most ~1 join in 6; at 60-80 m ~1 in 3, at 80-100 m ~1 in 2.
Whether a connector continues its road's direction does not tell them apart (55-65% do in
every band, also beyond 100 m). The factor 5 and **300 m** minimum keep the joins that matter:
a minimum of 0 adds 436 walk connectors (+21%) for no change in either circuity figure and
+0.1 points of walk coverage; 600 m drops 617 (-30%) for -0.2 points; 300 m is 4.5 walking
minutes, 30% of the 15-minute walk. Up to 60 m the factor 5 (5 x 60 = 300) never binds: it
guards a longer ``detour_gap_meters`` (factor 3 or 10 change little at 60 m: 2,056 vs 1,978
connectors at 10). The figures above are for that default: 2,056 walk (41.9 km) and 2,165 drive
(44.3 km) detour connectors; the pack builds in ~1.5-2.5 s per mode. Afterwards 3 walk and 14
drive dead ends within 60 m still reach their nearest road only over 5 x and 300 m round: their
road is a connector or a ramp, which step 4 does not join.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import hashlib
import heapq
import json
import logging
import math
import os
import pickle
import re
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import geopandas as gpd
import networkx as nx
import numpy as np
import numpy.typing as npt
import osmnx as ox
import pandas as pd
import pyproj
import shapely
from osmnx._errors import InsufficientResponseError  # documented in osmnx's API reference
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from geo import _io, settings
from geo._errors import InputFileError, NetworkError
from geo.parameters import DEFAULTS

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

#: Bump when the cached pickle layout changes (the module's source is hashed into keys as well).
_CACHE_FORMAT = 1
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
    params: dict[str, Any] = field(default_factory=dict)
    detour_connectors: int = 0
    detour_length_km: float = 0.0

    def to_dict(self) -> dict[str, Any]:
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


@dataclass(frozen=True)
class Network:
    """A routable network: an osmnx-compatible graph, its report, its mode and its cache key.

    ``G`` has graph attributes ``crs="EPSG:4326"`` and ``mode``; nodes have ``x`` (lon), ``y``
    (lat) and ``street_count``; edges have ``osmid``, ``length`` (m), ``highway``, ``name``,
    ``speed_kph``, ``travel_time`` (s), ``oneway``, ``reversed``, ``repaired`` and, where they are
    not straight, ``geometry`` (a lon/lat LineString from u to v). From centre-lines, ``osmid``
    is the input's ``osmid`` column (else its row number) and connectors get -1, -2, ...; a
    connector takes the class, name and speed of the road whose dangling end it extends, and
    says which repair step added it in ``repair_kind`` (``"component"`` or ``"detour"``; roads
    have no ``repair_kind``).
    """

    G: nx.MultiDiGraph
    report: NetworkReport
    mode: str
    key: str


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


# ---------------------------------------------------------------------------------------------
# Public constructors
# ---------------------------------------------------------------------------------------------


def network_from_lines(
    gdf_lines: gpd.GeoDataFrame,
    *,
    mode: str = "walk",
    road_class_column: str = "highway",
    name_column: str | None = "name",
    oneway_column: str | None = None,
    foot_column: str | None = None,
    grade_separated: Sequence[str] = GRADE_SEPARATED,
    gap_tolerance_meters: float = DEFAULT_GAP_TOLERANCE_METERS,
    detour_repair: bool = True,
    detour_gap_meters: float = DEFAULT_DETOUR_GAP_METERS,
    detour_factor: float = DEFAULT_DETOUR_FACTOR,
    min_detour_meters: float = DEFAULT_MIN_DETOUR_METERS,
    min_island_meters: float = DEFAULT_MIN_ISLAND_METERS,
    snap_tolerance_meters: float = DEFAULT_SNAP_TOLERANCE_METERS,
    walk_speed_kmh: float | None = None,
    drive_speeds_kmh: Mapping[str, float] | None = None,
    congestion_factor: float = DEFAULTS.congestion_factor,
    source: str = "road centre-lines (GeoDataFrame)",
    source_date: str | None = None,
) -> Network:
    """Build a routable walk or drive network from road centre-lines, repairing their topology.

    Parameters
    ----------
    gdf_lines
        LineString/MultiLineString roads with a road class column. Lon/lat (EPSG:4326) or any CRS
        pyproj knows (reprojected automatically); a missing or unusable CRS is an error.
    mode
        ``"walk"`` or ``"drive"``. Walk: every class but motorway, trunk, their links and
        cycleways, minus ``foot=no``; both directions. Drive: classes with a speed in
        :data:`DRIVE_SPEEDS_KMH` (or ``drive_speeds_kmh``); not footways, paths, steps.
    road_class_column
        Column with OSM-style ``highway`` classes.
    name_column
        Column with road names, or ``None`` if the layer has none.
    oneway_column
        Column with OSM ``oneway`` values (``yes``/``-1``/``no``); drive only. ``None``: two-way.
    foot_column
        Column with OSM ``foot`` values; walk drops ``foot=no``. ``None``: no such column.
    grade_separated
        Classes that never join at a mid-line crossing (bridges and elevated roads).
    gap_tolerance_meters
        Largest gap closed between a dangling end and another component; 0 closes none.
    detour_repair
        Run the detour repair (step 4 of the module docstring) after the component repair:
        join a dangling end to the nearest road within ``detour_gap_meters`` when the network
        detour between them is longer than both ``detour_factor`` times the gap and
        ``min_detour_meters``. ``False`` skips it.
    detour_gap_meters
        Largest gap the detour repair closes; 0 closes none.
    detour_factor
        A gap is closed only if the network detour exceeds this many times its length (>= 1).
    min_detour_meters
        ... and only if the detour is longer than this.
    min_island_meters
        Components with less road than this are dropped (and counted); 0 keeps all.
    snap_tolerance_meters
        End points closer than this are merged before noding.
    walk_speed_kmh
        Walking speed; ``None`` reads ``DEFAULTS.walk_speed_kmh`` (geo.parameters).
    drive_speeds_kmh
        Speeds per class that override or extend :data:`DRIVE_SPEEDS_KMH`.
    congestion_factor
        Drive only: every speed is divided by it (e.g. 1.5 for ambulances in peak hours).
    source, source_date
        How the report names the roads and their date.

    Returns
    -------
    Network
        The graph (lon/lat) and its report.

    Raises
    ------
    InputFileError
        No geometry column, non-line geometries, missing columns, no rows, unusable CRS.
    NetworkError
        No roads left for the mode, drive classes without a speed, bad parameters.
    """
    _check_mode(mode)
    options = _LineOptions(
        mode=mode,
        grade_separated=tuple(grade_separated),
        gap_tolerance_meters=_check_meters("gap_tolerance_meters", gap_tolerance_meters),
        min_island_meters=_check_meters("min_island_meters", min_island_meters),
        snap_tolerance_meters=_check_meters("snap_tolerance_meters", snap_tolerance_meters),
        walk_speed_kmh=_resolve_walk_speed(walk_speed_kmh),
        drive_speeds_kmh=_resolve_drive_speeds(drive_speeds_kmh),
        congestion_factor=_check_congestion(congestion_factor),
        detour=_detour_options(detour_repair, detour_gap_meters, detour_factor, min_detour_meters),
    )
    columns = _Columns(road_class_column, name_column, oneway_column, foot_column)
    gdf = _checked_lines(gdf_lines, columns, source)
    lines = _select_lines(gdf, columns, options, source)
    key = _digest(_frame_digest(gdf, columns), options.params(), _code_version())
    return _network_from_selected(lines, options, source=source, source_date=source_date, key=key)


def network_from_osm_file(
    path: str | os.PathLike[str],
    *,
    mode: str = "walk",
    simplify: bool = True,
    min_island_meters: float = DEFAULT_MIN_ISLAND_METERS,
    walk_speed_kmh: float | None = None,
    drive_speeds_kmh: Mapping[str, float] | None = None,
    congestion_factor: float = DEFAULTS.congestion_factor,
    source: str | None = None,
    source_date: str | None = None,
) -> Network:
    """Build a walk or drive network from an OSM XML (``.osm``/``.xml``) or GraphML file.

    OSM XML is read with ``osmnx.graph_from_xml`` (bidirectional for walk), filtered to the
    mode's classes (``access=private`` and, for walk, ``foot=no`` dropped), then simplified.
    GraphML is read with ``osmnx.load_graphml`` and filtered the same way. OSM topology is
    already noded, so nothing is repaired; islands are still dropped. ``.pbf`` is converted to
    OSM XML with pyosmium (in a temporary folder) and then read like ``.osm``.

    Parameters
    ----------
    path
        The file.
    mode
        ``"walk"`` or ``"drive"``.
    simplify
        OSM XML only: merge degree-2 nodes as osmnx does (``simplify=True`` of osmnx).
    min_island_meters
        Components with less road than this are dropped (and counted); 0 keeps all.
    walk_speed_kmh, drive_speeds_kmh, congestion_factor
        As for :func:`network_from_lines`; OSM classes without a speed use ``unclassified``.
    source, source_date
        Report labels; default the file name and the OSM base date in the file (else mtime).

    Returns
    -------
    Network
        The graph (lon/lat) and its report.

    Raises
    ------
    InputFileError
        Missing, empty or unreadable file.
    NetworkError
        No roads left for the mode.
    """
    _check_mode(mode)
    path = _existing_file(path)
    options = _OsmOptions(
        mode=mode,
        min_island_meters=_check_meters("min_island_meters", min_island_meters),
        walk_speed_kmh=_resolve_walk_speed(walk_speed_kmh),
        drive_speeds_kmh=_resolve_drive_speeds(drive_speeds_kmh),
        congestion_factor=_check_congestion(congestion_factor),
        simplify=simplify,
    )
    suffix = _io.plain_suffix(path)
    if suffix == ".pbf":
        G = _graph_from_pbf(path, mode=mode, simplify=simplify)
    elif suffix == ".graphml":
        G = _graph_from_graphml(path)
    elif suffix in (".osm", ".xml"):
        G = _graph_from_xml(path, mode=mode, simplify=simplify)
    else:
        msg = f"{path}: not an OSM file; expected one of .osm, .xml, .pbf, .graphml"
        raise InputFileError(msg)
    label = source or f"{path.name} (OSM file)"
    date = source_date or _osm_file_date(path)
    key = _digest(_file_digest(path), options.params(), _code_version())
    return _network_from_osm_graph(G, options, source=label, source_date=date, key=key)


def network_from_polygon(
    polygon: shapely.Polygon | shapely.MultiPolygon,
    *,
    mode: str = "walk",
    min_island_meters: float = DEFAULT_MIN_ISLAND_METERS,
    walk_speed_kmh: float | None = None,
    drive_speeds_kmh: Mapping[str, float] | None = None,
    congestion_factor: float = DEFAULTS.congestion_factor,
) -> Network:
    """Download the OSM network inside a lon/lat polygon with osmnx (needs internet).

    Walk uses osmnx's ``walk`` filter, drive its ``drive_service`` filter (service roads lead
    into residential compounds), then the same class filter as :func:`network_from_osm_file`.

    Parameters
    ----------
    polygon
        Boundary in lon/lat (EPSG:4326).
    mode
        ``"walk"`` or ``"drive"``.
    min_island_meters, walk_speed_kmh, drive_speeds_kmh, congestion_factor
        As for :func:`network_from_osm_file`.

    Returns
    -------
    Network
        The graph (lon/lat) and its report; ``source_date`` is today's date (UTC).

    Raises
    ------
    NetworkError
        Not a lon/lat polygon, or the download failed (no internet, no roads inside).
    """
    _check_mode(mode)
    if not isinstance(polygon, shapely.Polygon | shapely.MultiPolygon) or polygon.is_empty:
        msg = f"polygon: expected a non-empty shapely Polygon or MultiPolygon, got {polygon!r:.80}"
        raise NetworkError(msg)
    minx, miny, maxx, maxy = polygon.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        msg = (
            f"polygon: bounds {polygon.bounds} are not lon/lat; reproject it to EPSG:4326 "
            "(e.g. geopandas.GeoSeries([polygon], crs=...).to_crs('EPSG:4326')[0])"
        )
        raise NetworkError(msg)
    options = _OsmOptions(
        mode=mode,
        min_island_meters=_check_meters("min_island_meters", min_island_meters),
        walk_speed_kmh=_resolve_walk_speed(walk_speed_kmh),
        drive_speeds_kmh=_resolve_drive_speeds(drive_speeds_kmh),
        congestion_factor=_check_congestion(congestion_factor),
        simplify=True,
    )
    G = _download_polygon(polygon, mode)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    key = _digest(polygon.wkb_hex, today, options.params(), _code_version())
    source = "OpenStreetMap via Overpass (osmnx live download)"
    return _network_from_osm_graph(G, options, source=source, source_date=today, key=key)


def network_from_file(path: str | os.PathLike[str], *, mode: str, **kw: Any) -> Network:
    """Build a network from a file, dispatching on its suffix.

    Parameters
    ----------
    path
        ``.geojson``/``.json``/``.shp``/``.gpkg``: centre-lines (:func:`network_from_lines`);
        ``.osm``/``.xml``/``.graphml``/``.pbf``: OSM data (:func:`network_from_osm_file`).
    mode
        ``"walk"`` or ``"drive"``.
    **kw
        Options of the function the suffix selects.

    Returns
    -------
    Network
        The graph and its report.

    Raises
    ------
    InputFileError
        Missing or unreadable file, unknown suffix, or a bad layer (see the two builders).
    """
    path = _existing_file(path)
    suffix = _io.plain_suffix(path)
    if suffix in OSM_SUFFIXES:
        return network_from_osm_file(path, mode=mode, **kw)
    if suffix not in LINE_SUFFIXES:
        msg = (
            f"{path}: unknown road file type {suffix!r}; expected centre-lines "
            f"({', '.join(LINE_SUFFIXES)}) or OSM data ({', '.join(OSM_SUFFIXES)})"
        )
        raise InputFileError(msg)
    _check_mode(mode)
    gdf = _read_lines_file(path)
    kw.setdefault("source", f"{path.name} (road centre-lines)")
    if kw.get("source_date") is None:
        kw["source_date"] = _lines_file_date(path)
    return network_from_lines(gdf, mode=mode, **kw)


def load_network(
    mode: str = "walk",
    source: str | os.PathLike[str] = "pack",
    *,
    use_cache: bool = True,
    **params: Any,
) -> Network:
    """Load a network, from the on-disk cache when the same inputs were built before.

    Parameters
    ----------
    mode
        ``"walk"`` or ``"drive"``.
    source
        ``"pack"`` (the data pack's roads, :data:`PACK_ROADS`) or a path for
        :func:`network_from_file`.
    use_cache
        Read and write ``settings.resolve_cache_folder()``; the key hashes the file (bytes, or
        path+size+mtime above 256 MB), the mode, the parameters (defaults resolved, e.g.
        ``DEFAULTS.walk_speed_kmh``) and this module's code.
    **params
        Options for :func:`network_from_file`.

    Returns
    -------
    Network
        The network; ``key`` is its cache key.
    """
    _check_mode(mode)
    if str(source) == "pack":
        path = settings.data_file(PACK_ROADS)
        params.setdefault("source", PACK_SOURCE)
    else:
        path = _existing_file(source)
    key = _digest(
        _file_digest(path),
        mode,
        _resolved_params(mode, params),
        _code_version(),
    )
    cache_file = settings.resolve_cache_folder() / f"network-{mode}-{key[:20]}.pickle"
    if use_cache and cache_file.exists():
        cached = _read_cache(cache_file, key)
        if cached is not None:
            return cached
    started = time.perf_counter()
    net = replace(network_from_file(path, mode=mode, **params), key=key)
    log.info("built %s network from %s in %.1f s", mode, path.name, time.perf_counter() - started)
    if use_cache:
        _write_cache(cache_file, net)
    return net


# ---------------------------------------------------------------------------------------------
# Options and parameter checks
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Columns:
    road_class: str
    name: str | None
    oneway: str | None
    foot: str | None


@dataclass(frozen=True)
class _DetourOptions:
    repair: bool
    gap_meters: float
    factor: float
    min_detour_meters: float


@dataclass(frozen=True)
class _LineOptions:
    mode: str
    grade_separated: tuple[str, ...]
    gap_tolerance_meters: float
    min_island_meters: float
    snap_tolerance_meters: float
    walk_speed_kmh: float
    drive_speeds_kmh: dict[str, float]
    congestion_factor: float
    detour: _DetourOptions

    def params(self) -> dict[str, Any]:
        """Return the parameters as the report shows them."""
        out: dict[str, Any] = {
            "snap_tolerance_meters": self.snap_tolerance_meters,
            "gap_tolerance_meters": self.gap_tolerance_meters,
            "detour_repair": self.detour.repair,
            "detour_gap_meters": self.detour.gap_meters,
            "detour_factor": self.detour.factor,
            "min_detour_meters": self.detour.min_detour_meters,
            "min_island_meters": self.min_island_meters,
            "grade_separated": list(self.grade_separated),
        }
        return out | _speed_params(
            self.mode, self.walk_speed_kmh, self.drive_speeds_kmh, self.congestion_factor
        )


@dataclass(frozen=True)
class _OsmOptions:
    mode: str
    min_island_meters: float
    walk_speed_kmh: float
    drive_speeds_kmh: dict[str, float]
    congestion_factor: float
    simplify: bool

    def params(self) -> dict[str, Any]:
        """Return the parameters as the report shows them."""
        out: dict[str, Any] = {
            "min_island_meters": self.min_island_meters,
            "simplify": self.simplify,
        }
        return out | _speed_params(
            self.mode, self.walk_speed_kmh, self.drive_speeds_kmh, self.congestion_factor
        )


def _speed_params(
    mode: str, walk_kmh: float, drive_kmh: Mapping[str, float], congestion: float
) -> dict[str, Any]:
    if mode == "walk":
        return {"walk_speed_kmh": walk_kmh}
    return {"drive_speeds_kmh": dict(drive_kmh), "congestion_factor": congestion}


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        msg = f"mode={mode!r}: expected one of {', '.join(map(repr, MODES))}"
        raise NetworkError(msg)


def _check_meters(name: str, value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        msg = f"{name}={value!r}: expected a distance in metres >= 0"
        raise NetworkError(msg)
    return float(value)


def _detour_options(repair: bool, gap: float, factor: float, min_detour: float) -> _DetourOptions:
    if not isinstance(repair, bool):
        msg = f"detour_repair={repair!r}: expected True or False"
        raise NetworkError(msg)
    if not (isinstance(factor, int | float) and math.isfinite(factor) and factor >= 1):
        msg = (
            f"detour_factor={factor!r}: expected a number >= 1 (the network detour, in multiples "
            "of the gap, above which a gap is closed; default 5)"
        )
        raise NetworkError(msg)
    return _DetourOptions(
        repair=repair,
        gap_meters=_check_meters("detour_gap_meters", gap),
        factor=float(factor),
        min_detour_meters=_check_meters("min_detour_meters", min_detour),
    )


def _check_congestion(value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        msg = (
            f"congestion_factor={value!r}: expected a number > 0 (1 = free flow, 1.5 = 50% slower)"
        )
        raise NetworkError(msg)
    return float(value)


def _resolve_walk_speed(walk_speed_kmh: float | None) -> float:
    speed = DEFAULTS.walk_speed_kmh if walk_speed_kmh is None else walk_speed_kmh
    if not (isinstance(speed, int | float) and math.isfinite(speed) and speed > 0):
        msg = f"walk_speed_kmh={speed!r}: expected a speed in km/h > 0 (default 4)"
        raise NetworkError(msg)
    return float(speed)


def _resolve_drive_speeds(drive_speeds_kmh: Mapping[str, float] | None) -> dict[str, float]:
    speeds = dict(DRIVE_SPEEDS_KMH) | dict(drive_speeds_kmh or {})
    bad = {k: v for k, v in speeds.items() if not (isinstance(v, int | float) and v > 0)}
    if bad:
        msg = f"drive_speeds_kmh: speeds must be numbers > 0 km/h; got {bad}"
        raise NetworkError(msg)
    return {str(k): float(v) for k, v in speeds.items()}


def _resolved_params(mode: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``params`` with the defaults read from settings made explicit (for cache keys)."""
    out = dict(params) | {"metric_crs": settings.metric_crs}
    if mode == "walk" and out.get("walk_speed_kmh") is None:
        out["walk_speed_kmh"] = DEFAULTS.walk_speed_kmh
    if mode == "drive":
        out["drive_speeds_kmh"] = _resolve_drive_speeds(out.get("drive_speeds_kmh"))
        if out.get("congestion_factor") is None:  # the CLI and scenarios then share one key
            out["congestion_factor"] = DEFAULTS.congestion_factor
    return out


# ---------------------------------------------------------------------------------------------
# Input checks (GeoDataFrame adapter)
# ---------------------------------------------------------------------------------------------


def _existing_file(path: str | os.PathLike[str]) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        msg = f"road file not found: {p} (resolved to {p.resolve()})"
        raise InputFileError(msg)
    return p


def _read_lines_file(path: Path) -> gpd.GeoDataFrame:
    if path.stat().st_size == 0:
        msg = f"{path}: the file is empty (0 bytes); expected road centre-lines"
        raise InputFileError(msg)
    try:
        return gpd.read_file(_io.vector_source(path))
    except (RuntimeError, ValueError, OSError) as err:  # pyogrio's errors are RuntimeErrors
        msg = f"{path}: cannot be read as a vector layer ({type(err).__name__}: {err})"
        raise InputFileError(msg) from err


def _checked_lines(gdf: object, columns: _Columns, source: str) -> gpd.GeoDataFrame:
    """Return the layer as lon/lat LineStrings with the needed columns, or raise a clear error."""
    if not isinstance(gdf, pd.DataFrame):
        msg = f"{source}: expected a GeoDataFrame of road lines, got {type(gdf).__name__}"
        raise InputFileError(msg)
    present = [str(c) for c in gdf.columns]
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf._geometry_column_name not in gdf.columns:
        msg = (
            f"{source}: no geometry column (columns present: {', '.join(present) or 'none'}); "
            "expected road lines, e.g. geopandas.GeoDataFrame(df, geometry='geometry', "
            "crs='EPSG:4326')"
        )
        raise InputFileError(msg)
    if len(gdf) == 0:
        msg = f"{source}: no features; expected road centre-lines"
        raise InputFileError(msg)
    _check_columns(gdf, columns, source)
    ident = gdf["osmid"] if "osmid" in gdf.columns else pd.Series(range(len(gdf)), index=gdf.index)
    gdf = gdf.assign(**{_ID: ident.to_numpy()})
    gdf = _only_lines(gdf, source)
    return _to_wgs84(gdf, source)


def _check_columns(gdf: gpd.GeoDataFrame, columns: _Columns, source: str) -> None:
    present = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    wanted = {
        "road_class_column": columns.road_class,
        "name_column": columns.name,
        "oneway_column": columns.oneway,
        "foot_column": columns.foot,
    }
    for option, column in wanted.items():
        if column is not None and column not in gdf.columns:
            hint = " or pass name_column=None" if option == "name_column" else ""
            msg = (
                f"{source}: no column {column!r} for {option}; columns present: "
                f"{', '.join(present) or 'none'}. Pass {option}=<one of them>{hint}."
            )
            raise InputFileError(msg)


def _only_lines(gdf: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    geom = gdf.geometry
    missing = geom.isna() | geom.is_empty
    if missing.all():
        msg = f"{source}: all {len(gdf)} geometries are empty; expected road lines"
        raise InputFileError(msg)
    if missing.any():
        log.info("%s: ignored %d rows without geometry", source, int(missing.sum()))
        gdf = gdf[~missing.to_numpy()]
    types = gdf.geom_type
    wrong = ~types.isin(["LineString", "MultiLineString"])
    if wrong.any():
        counts = types[wrong].value_counts().to_dict()
        rows = [int(i) for i in np.flatnonzero(wrong.to_numpy())[:5]]
        msg = (
            f"{source}: expected LineString or MultiLineString road centre-lines, found "
            f"{counts} (first rows {rows}); keep only the road lines, e.g. "
            "gdf[gdf.geom_type.isin(['LineString', 'MultiLineString'])]"
        )
        raise InputFileError(msg)
    return gdf.explode(index_parts=False, ignore_index=True)


def _to_wgs84(gdf: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    """Return ``gdf`` in EPSG:4326, reprojecting a known CRS; raise if it is missing or unusable."""
    minx, miny, maxx, maxy = (float(b) for b in gdf.total_bounds)
    looks_lonlat = -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
    extent = f"x {_fmt(minx)}..{_fmt(maxx)}, y {_fmt(miny)}..{_fmt(maxy)}"
    crs = gdf.crs
    if crs is None:
        if looks_lonlat:
            hint = "if they are lon/lat, set it with gdf.set_crs('EPSG:4326')"
        else:
            hint = (
                "they are not lon/lat, so the layer is in a projected CRS: reproject it to "
                "EPSG:4326, or declare its CRS with gdf.set_crs(...) and it is reprojected for you"
            )
        msg = f"{source}: the layer has no CRS and its coordinates span {extent}; {hint}"
        raise InputFileError(msg)
    name = crs.to_string()
    if crs.is_geographic and not looks_lonlat:
        msg = (
            f"{source}: the CRS says {name} (lon/lat) but the coordinates span {extent}, so "
            "they are in a projected CRS; reproject the file to EPSG:4326, or declare its "
            "real CRS (gdf.set_crs(..., allow_override=True)) and it is reprojected for you"
        )
        raise InputFileError(msg)
    if crs.equals(pyproj.CRS.from_user_input(settings.wgs84_crs)):
        return gdf
    try:
        out = gdf.to_crs(settings.wgs84_crs)
    except (pyproj.exceptions.ProjError, pyproj.exceptions.CRSError) as err:
        msg = (
            f"{source}: cannot transform the layer's CRS {name} to EPSG:4326 ({err}); "
            "reproject the file to EPSG:4326 (lon/lat)"
        )
        raise InputFileError(msg) from err
    if not np.isfinite(out.total_bounds).all():
        msg = (
            f"{source}: transforming the layer's CRS {name} to EPSG:4326 gave no finite "
            "coordinates; reproject the file to EPSG:4326 (lon/lat)"
        )
        raise InputFileError(msg)
    log.info("%s: reprojected %d lines from %s to EPSG:4326", source, len(out), name)
    return out


def _fmt(value: float) -> str:
    """A coordinate for a message: metres to 0.01, degrees to 1e-5."""
    return f"{value:,.2f}" if abs(value) >= 1000 else f"{value:.5f}"


def _text_column(gdf: gpd.GeoDataFrame, column: str | None) -> npt.NDArray[np.object_]:
    if column is None:
        return np.full(len(gdf), None, dtype=object)
    texts = [None if _missing(v) else str(v).strip() for v in gdf[column].tolist()]
    return np.asarray([t or None for t in texts], dtype=object)


def _plain(value: object) -> object:
    """A numpy scalar as a Python one (ints stay ints, so osmnx compares ids as it expects)."""
    return value.item() if isinstance(value, np.generic) else value


def _missing(value: object) -> bool:
    """Whether a cell is empty (None, NaN, NA)."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _oneway_direction(gdf: gpd.GeoDataFrame, column: str | None) -> npt.NDArray[np.int8]:
    if column is None:
        return np.zeros(len(gdf), dtype=np.int8)
    words = _text_column(gdf, column)
    return np.asarray([_OSM_ONEWAY.get(str(w).lower(), 0) for w in words], dtype=np.int8)


#: Road classes of Chinese planning layers (GB 50220 / CJJ 37, GB 50180) and common English
#: equivalents → the OSM class used for speeds, walkability and grade separation. Anything else
#: is kept as written (OSM classes pass through).
ROAD_CLASS_ALIASES: dict[str, str] = {
    "高速公路": "motorway", "高速": "motorway", "expressway": "trunk",
    "快速路": "trunk", "城市快速路": "trunk", "快速干道": "trunk",
    "匝道": "trunk_link", "ramp": "trunk_link",
    "主干路": "primary", "主干道": "primary", "arterial": "primary",
    "次干路": "secondary", "次干道": "secondary", "sub-arterial": "secondary",
    "collector": "secondary",
    "支路": "tertiary", "local": "tertiary", "branch": "tertiary",
    "街坊路": "residential", "小区道路": "residential", "居住区道路": "residential",
    "内部道路": "service", "步行街": "pedestrian", "人行道": "footway", "步行道": "footway",
    "绿道": "path", "台阶": "steps",
}  # fmt: skip


def road_class(value: object) -> str:
    """The OSM road class of a layer's class value (Chinese or English planning classes mapped)."""
    text = "road" if value is None else str(value).strip().lower()
    return ROAD_CLASS_ALIASES.get(text, text)


def _select_lines(
    gdf: gpd.GeoDataFrame, columns: _Columns, options: _LineOptions, source: str
) -> _Lines:
    """Keep the lines the mode may use, with their attributes, projected to metres."""
    classes = np.asarray(
        [road_class(c) for c in _text_column(gdf, columns.road_class)], dtype=object
    )
    if options.mode == "walk":
        keep = ~np.isin(classes, list(WALK_EXCLUDED_CLASSES))
        if columns.foot is not None:
            foot = _text_column(gdf, columns.foot)
            keep &= ~np.isin([str(f).lower() for f in foot], list(_FALSE_WORDS))
    else:
        keep = ~np.isin(classes, list(DRIVE_EXCLUDED_CLASSES))
        _check_drive_classes(classes[keep], options.drive_speeds_kmh, source)
    if not keep.any():
        found = ", ".join(sorted(set(classes)))
        msg = f"{source}: no {options.mode} roads among the road classes found ({found})"
        raise NetworkError(msg)
    if options.mode == "walk":
        speed = np.full(len(gdf), options.walk_speed_kmh)
        direction = np.zeros(len(gdf), np.int8)  # pedestrians walk both ways
    else:
        speeds = options.drive_speeds_kmh
        speed = np.asarray([speeds.get(c, math.nan) for c in classes]) / options.congestion_factor
        direction = _oneway_direction(gdf, columns.oneway)
    grade = set(options.grade_separated)
    lines = _Lines(
        geom=gdf.geometry.to_crs(settings.metric_crs).to_numpy(),
        road_class=classes,
        name=_text_column(gdf, columns.name),
        direction=direction,
        speed_kmh=speed,
        grade_separated=np.isin(classes, list(grade)),
        ramp=np.isin(classes, [f"{c}_link" for c in grade]),
        ident=np.asarray([_plain(i) for i in gdf[_ID].tolist()], dtype=object),
    )
    log.info("%s: %d of %d lines are %s roads", source, int(keep.sum()), len(gdf), options.mode)
    return lines.take(keep)


def _check_drive_classes(
    classes: npt.NDArray[np.object_], speeds: Mapping[str, float], source: str
) -> None:
    unknown = pd.Series(classes[~np.isin(classes, list(speeds))]).value_counts()
    if len(unknown):
        found = ", ".join(f"{k!r} ({v} lines)" for k, v in unknown.head(10).items())
        msg = (
            f"{source}: no drive speed for road classes {found}; pass drive_speeds_kmh="
            "{class: km/h} for them, or rename them to OSM classes "
            f"({', '.join(DRIVE_SPEEDS_KMH)}) or Chinese planning classes "
            "(快速路, 主干路, 次干路, 支路, ...)"
        )
        raise NetworkError(msg)


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


# ---------------------------------------------------------------------------------------------
# Source dates, hashing, cache
# ---------------------------------------------------------------------------------------------


def _mtime_date(path: Path) -> str:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC).date().isoformat()


def _head(path: Path, size: int = 65536) -> str:
    return _io.read_head(path, size)


def _lines_file_date(path: Path) -> str:
    """The ``osmTimestamp`` of an Overpass-derived GeoJSON, else the file's mtime (UTC date)."""
    if _io.plain_suffix(path) in (".geojson", ".json"):
        found = re.search(r'"osmTimestamp"\s*:\s*"(\d{4}-\d{2}-\d{2})', _head(path))
        if found:
            return found.group(1)
    return _mtime_date(path)


def _osm_file_date(path: Path) -> str:
    """The ``osm_base`` date of an Overpass XML file, else the file's mtime (UTC date)."""
    found = re.search(r'osm_base="(\d{4}-\d{2}-\d{2})', _head(path))
    if found:
        return found.group(1)
    return _mtime_date(path)


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


def _digest(*parts: object) -> str:
    text = json.dumps(_json_ready(list(parts)), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _file_digest(path: Path) -> str:
    """Hash of a file's bytes (a shapefile's sidecars included); path+size+mtime when huge."""
    parts = (
        [path.with_suffix(s) for s in _SHAPEFILE_PARTS] if path.suffix.lower() == ".shp" else [path]
    )
    h = hashlib.sha256()
    for p in (p for p in parts if p.exists()):
        stat = p.stat()
        if stat.st_size > _HASH_BYTES_LIMIT:
            h.update(f"{p.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
            continue
        with p.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _frame_digest(gdf: gpd.GeoDataFrame, columns: _Columns) -> str:
    h = hashlib.sha256(str(gdf.crs).encode())
    for wkb in shapely.to_wkb(gdf.geometry.to_numpy()):
        h.update(wkb)
    for column in (columns.road_class, columns.name, columns.oneway, columns.foot):
        if column is not None:
            h.update(column.encode())
            h.update("\x1f".join(map(str, gdf[column].tolist())).encode())
    return h.hexdigest()


def _code_version() -> str:
    """This module's source hash and the cache format: a code change invalidates the cache."""
    return f"{_CACHE_FORMAT}:{hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]}"


def _read_cache(cache_file: Path, key: str) -> Network | None:
    started = time.perf_counter()
    try:
        with cache_file.open("rb") as f:
            net = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as err:
        log.warning("cache file %s is unreadable (%s); rebuilding it", cache_file, err)
        return None
    if not isinstance(net, Network) or net.key != key:
        log.warning("cache file %s holds another network; rebuilding it", cache_file)
        return None
    with contextlib.suppress(OSError):
        os.utime(cache_file)  # mark as used, so pruning keeps it
    log.info(
        "loaded %s network from cache %s in %.2f s",
        net.mode,
        cache_file.name,
        time.perf_counter() - started,
    )
    return net


#: Cached networks not used for this many days are deleted when a new one is written (the key
#: hashes the code too, so every release leaves its predecessors' files behind otherwise).
CACHE_MAX_AGE_DAYS = 30


def _write_cache(cache_file: Path, net: Network) -> None:
    tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        pickle.dump(net, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(cache_file)
    log.info("cached %s network in %s", net.mode, cache_file)
    _prune_cache(cache_file.parent)


def _prune_cache(folder: Path) -> None:
    """Delete cached networks unused for :data:`CACHE_MAX_AGE_DAYS` (reads refresh the time)."""
    cutoff = time.time() - CACHE_MAX_AGE_DAYS * 86400
    for old in folder.glob("network-*.pickle"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
                log.info("removed unused cached network %s", old.name)
        except OSError as err:  # another process removed or holds it: leave it
            log.info("could not prune %s: %s", old.name, err)


def _tolerance_table(tolerances: Iterable[float] = (0, 10, 20, 30, 40, 50, 60, 80, 100)) -> str:
    """Largest-component share vs gap tolerance on the pack (the module docstring's table).

    The detour repair is off: it would join components too where the gap repair does not.
    """
    gdf = gpd.read_file(_io.vector_source(settings.data_file(PACK_ROADS)))
    rows = []
    for mode in MODES:
        shares = []
        for tol in tolerances:
            net = network_from_lines(
                gdf, mode=mode, gap_tolerance_meters=tol, detour_repair=False, min_island_meters=0
            )
            shares.append(f"{net.report.largest_component_share:.3f}")
        rows.append(f"{mode + ' share':<18}" + "  ".join(f"{s:>6}" for s in shares))
    head = f"{'gap tolerance (m)':<18}" + "  ".join(f"{t:>6g}" for t in tolerances)
    return "\n".join([head, *rows])
