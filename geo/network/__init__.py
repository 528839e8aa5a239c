"""Routable walk and drive networks from road centre-lines, OSM files or a live OSM download.

Three sources, one result (:class:`Network`: an osmnx-compatible ``MultiDiGraph`` plus a
:class:`NetworkReport` of what was read and repaired):

- :func:`network_from_lines`: road centre-lines with topology repair (snap, node at-grade
  crossings, keep motorway/trunk grade-separated, close gaps and long detours, drop islands);
- :func:`network_from_osm_file`: OSM XML, PBF or GraphML on disk, read by osmnx;
- :func:`network_from_polygon`: a live OpenStreetMap download through osmnx (needs internet);
- :func:`network_from_file` dispatches on the file suffix; :func:`load_network` caches built
  networks on disk, keyed by the input, the parameters and the code.

The method and its measured figures (gap tolerance, detour repair) are in ``docs/network.md``.
"""

from __future__ import annotations

from geo.network.build import (
    load_network,
    network_from_file,
    network_from_lines,
    network_from_osm_file,
    network_from_polygon,
)
from geo.network.cache import (
    CACHE_MAX_AGE_DAYS,
    CACHE_SUFFIX,
)
from geo.network.model import (
    DEFAULT_DETOUR_FACTOR,
    DEFAULT_DETOUR_GAP_METERS,
    DEFAULT_GAP_TOLERANCE_METERS,
    DEFAULT_MIN_DETOUR_METERS,
    DEFAULT_MIN_ISLAND_METERS,
    DEFAULT_SNAP_TOLERANCE_METERS,
    DRIVE_EXCLUDED_CLASSES,
    DRIVE_SPEEDS_KMH,
    GRADE_SEPARATED,
    LINE_SUFFIXES,
    MODES,
    NOT_ROAD_CLASSES,
    OSM_SUFFIXES,
    PACK_ROADS,
    PACK_SOURCE,
    ROAD_CLASS_ALIASES,
    WALK_EXCLUDED_CLASSES,
    BoolArray,
    FloatArray,
    GeomArray,
    IntArray,
    Network,
    NetworkReport,
    road_class,
)
from geo.network.options import BuildOptions

__all__ = [
    "CACHE_MAX_AGE_DAYS",
    "CACHE_SUFFIX",
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
    "BuildOptions",
    "FloatArray",
    "GeomArray",
    "IntArray",
    "Network",
    "NetworkReport",
    "load_network",
    "network_from_file",
    "network_from_lines",
    "network_from_osm_file",
    "network_from_polygon",
    "road_class",
]
