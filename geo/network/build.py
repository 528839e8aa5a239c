"""The public constructors: centre-lines, OSM files, a polygon download, any file, the cache."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

import geopandas as gpd
import shapely

from geo import _io, settings
from geo._errors import InputFileError, NetworkError
from geo.network.assemble import (
    _network_from_selected,
)
from geo.network.cache import (
    CACHE_SUFFIX,
    _code_version,
    _digest,
    _file_digest,
    _frame_digest,
    _read_cache,
    _write_cache,
)
from geo.network.model import (
    DEFAULT_DETOUR_FACTOR,
    DEFAULT_DETOUR_GAP_METERS,
    DEFAULT_GAP_TOLERANCE_METERS,
    DEFAULT_MIN_DETOUR_METERS,
    DEFAULT_MIN_ISLAND_METERS,
    DEFAULT_SNAP_TOLERANCE_METERS,
    GRADE_SEPARATED,
    LINE_SUFFIXES,
    MODES,
    OSM_SUFFIXES,
    PACK_ROADS,
    PACK_SOURCE,
    Network,
    _json_ready,
)
from geo.network.options import (
    BuildOptions,
    _check_congestion,
    _check_meters,
    _check_mode,
    _checked_lines,
    _Columns,
    _detour_options,
    _existing_file,
    _LineOptions,
    _lines_file_date,
    _osm_file_date,
    _OsmOptions,
    _read_lines_file,
    _resolve_drive_speeds,
    _resolve_walk_speed,
    _select_lines,
)
from geo.network.osm import (
    _download_polygon,
    _graph_from_graphml,
    _graph_from_pbf,
    _graph_from_xml,
    _network_from_osm_graph,
)
from geo.parameters import DEFAULTS

__all__ = [
    "load_network",
    "network_from_file",
    "network_from_lines",
    "network_from_osm_file",
    "network_from_polygon",
]

log = logging.getLogger(__name__)


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


def network_from_file(
    path: str | os.PathLike[str], *, mode: str, options: BuildOptions | None = None
) -> Network:
    """Build a network from a file, dispatching on its suffix.

    Parameters
    ----------
    path
        ``.geojson``/``.json``/``.shp``/``.gpkg`` (plain or ``.gz``): centre-lines
        (:func:`network_from_lines`); ``.osm``/``.xml``/``.graphml``/``.pbf``: OSM data
        (:func:`network_from_osm_file`).
    mode
        ``"walk"`` or ``"drive"``.
    options
        Speeds, repair and column options (:class:`BuildOptions`); an option that does not
        apply to the file's kind is refused with its name.

    Returns
    -------
    Network
        The graph and its report.

    Raises
    ------
    InputFileError
        Missing or unreadable file, unknown suffix, or a bad layer (see the two builders).
    NetworkError
        An option that does not apply to this kind of file, or a bad option value.
    """
    opts = options or BuildOptions()
    path = _existing_file(path)
    suffix = _io.plain_suffix(path)
    if suffix in OSM_SUFFIXES:
        opts.refuse(BuildOptions.LINES_ONLY, path=path, kind="OSM data")
        return network_from_osm_file(
            path,
            mode=mode,
            simplify=opts.simplify,
            min_island_meters=opts.min_island_meters,
            walk_speed_kmh=opts.walk_speed_kmh,
            drive_speeds_kmh=opts.drive_speeds_kmh,
            congestion_factor=opts.congestion_factor,
            source=opts.source,
            source_date=opts.source_date,
        )
    if suffix not in LINE_SUFFIXES:
        msg = (
            f"{path}: unknown road file type {suffix!r}; expected centre-lines "
            f"({', '.join(LINE_SUFFIXES)}) or OSM data ({', '.join(OSM_SUFFIXES)})"
        )
        raise InputFileError(msg)
    opts.refuse(BuildOptions.OSM_ONLY, path=path, kind="centre-line layers")
    _check_mode(mode)
    gdf = _read_lines_file(path)
    return network_from_lines(
        gdf,
        mode=mode,
        road_class_column=opts.road_class_column,
        name_column=opts.name_column,
        oneway_column=opts.oneway_column,
        foot_column=opts.foot_column,
        grade_separated=opts.grade_separated,
        gap_tolerance_meters=opts.gap_tolerance_meters,
        detour_repair=opts.detour_repair,
        detour_gap_meters=opts.detour_gap_meters,
        detour_factor=opts.detour_factor,
        min_detour_meters=opts.min_detour_meters,
        min_island_meters=opts.min_island_meters,
        snap_tolerance_meters=opts.snap_tolerance_meters,
        walk_speed_kmh=opts.walk_speed_kmh,
        drive_speeds_kmh=opts.drive_speeds_kmh,
        congestion_factor=opts.congestion_factor,
        source=opts.source or f"{path.name} (road centre-lines)",
        source_date=opts.source_date or _lines_file_date(path),
    )


def load_network(
    mode: str = "walk",
    source: str | os.PathLike[str] = "pack",
    *,
    options: BuildOptions | None = None,
    use_cache: bool = True,
) -> Network:
    """Load a network, from the on-disk cache when the same inputs were built before.

    Parameters
    ----------
    mode
        ``"walk"`` or ``"drive"``.
    source
        ``"pack"`` (the data folder's roads, :data:`PACK_ROADS`) or a path for
        :func:`network_from_file`.
    options
        :class:`BuildOptions` (speeds, repair, columns); defaults when None.
    use_cache
        Read and write ``settings.resolve_cache_folder()``; the key hashes the file (bytes, or
        path+size+mtime above 256 MB), the mode, the options (defaults resolved, e.g.
        ``DEFAULTS.walk_speed_kmh``) and the network package's code (not its docstrings).

    Returns
    -------
    Network
        The network; ``key`` is its cache key.
    """
    _check_mode(mode)
    opts = options or BuildOptions()
    if str(source) == "pack":
        area = settings.area_inputs()  # an area built by `geo area init` names its roads
        path = settings.data_file(area.get("roads", PACK_ROADS))
        label = f"{area['name']}: {area.get('source', path.name)}" if area.get("roads") else None
        opts = dataclasses.replace(opts, source=opts.source or label or PACK_SOURCE)
    else:
        path = _existing_file(source)
    key = _digest(_file_digest(path), mode, opts.cache_params(mode), _code_version())
    cache_file = settings.resolve_cache_folder() / f"network-{mode}-{key[:20]}{CACHE_SUFFIX}"
    if use_cache and cache_file.exists():
        cached = _read_cache(cache_file, key)
        if cached is not None:
            return cached
    started = time.perf_counter()
    built = network_from_file(path, mode=mode, options=opts)
    # the report's parameters as plain JSON data, the same whether built or read from the cache
    params = json.loads(json.dumps(_json_ready(built.report.params)))
    net = built.replace(key=key, report=replace(built.report, params=params))
    log.info("built %s network from %s in %.1f s", mode, path.name, time.perf_counter() - started)
    if use_cache:
        _write_cache(cache_file, net)
    return net


def _tolerance_table(tolerances: Iterable[float] = (0, 10, 20, 30, 40, 50, 60, 80, 100)) -> str:
    """Largest-component share vs gap tolerance on the pack (the table in docs/network.md).

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
