"""Figures from the district plan that the product models (quoted from ``shared/seeds``).

Source: 关于全面加强闵行区医疗卫生服务体系高质量发展的建设方案 (targets for 2025); see
``../shared/PLAN_FACTS.md``. Nothing here is computed: these are the official figures that the
product's own results are compared against.
"""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import shapely

from geo import _io, settings

__all__ = [
    "BASELINE_BLIND_SPOT_UNITS",
    "BASELINE_WALK15_AREA_SHARE",
    "BASELINE_WALK15_RESIDENT_SHARE",
    "CORRIDORS_HORIZONTAL",
    "CORRIDORS_VERTICAL",
    "EMS_RESPONSE_MINUTES",
    "EMS_SERVICE_RADIUS_KM",
    "FACILITIES_PER_100K_2020",
    "FACILITIES_PER_100K_2025",
    "NEW_AMBULANCE_SUBSTATIONS",
    "OFFICIAL_COUNTS_2020",
    "PLAN_AREA_KM2",
    "PLAN_POPULATION_2020",
    "PLAN_SOURCE",
    "TABLE2_NEW_SITES",
    "corridor_layer",
    "corridor_names",
]

PLAN_SOURCE = "闵行区医疗卫生服务体系高质量发展建设方案 (2025 targets; baseline end of 2020)"

#: Resident population at the end of 2020 (plan) and the census 2020 figure (district.geojson tag).
PLAN_POPULATION_2020 = 2_653_500
PLAN_AREA_KM2 = 372.56

#: Official facility counts at the end of 2020, by the product's facility type.
OFFICIAL_COUNTS_2020: dict[str, int] = {
    "chc": 13,
    "branch": 17,
    "station": 77,
    "village_clinic": 50,
    "hospital": 44,
    "emergency_centre": 1,
}

#: Walking 15-minute basic medical service circle, end of 2020 (plan's own figures).
BASELINE_WALK15_AREA_SHARE = 0.6824
BASELINE_WALK15_RESIDENT_SHARE = 0.8584
BASELINE_BLIND_SPOT_UNITS = ("吴泾镇", "马桥镇", "浦江镇", "浦锦街道")

#: Community health service facilities per 100,000 residents: end of 2020, and the 2025 target.
FACILITIES_PER_100K_2020 = 6.02
FACILITIES_PER_100K_2025 = 6.73

#: Pre-hospital emergency standards.
EMS_SERVICE_RADIUS_KM = 3.5
EMS_RESPONSE_MINUTES = 12.0
NEW_AMBULANCE_SUBSTATIONS = 5

#: Table 2: new community health facilities by 2025: (centres incl. branch centres, stations).
TABLE2_NEW_SITES: dict[str, tuple[int, int]] = {
    "江川路街道": (1, 2),
    "古美街道": (1, 1),
    "新虹街道": (0, 1),
    "华漕镇": (0, 0),
    "虹桥镇": (1, 0),  # the centre is under construction
    "七宝镇": (1, 3),
    "梅陇镇": (1, 4),
    "莘庄镇": (0, 3),
    "颛桥镇": (0, 9),
    "马桥镇": (0, 0),
    "吴泾镇": (0, 0),
    "浦江镇": (0, 0),
    "浦锦街道": (1, 1),
    "莘庄工业区": (0, 2),
}

#: "Three vertical, four horizontal" (三纵四横) emergency corridors, as OSM road names.
CORRIDORS_VERTICAL: tuple[tuple[str, ...], ...] = (
    ("浦星公路", "浦星路"),
    ("莲花南路", "莲花路"),
    ("沪闵路", "七莘路"),
)
CORRIDORS_HORIZONTAL: tuple[tuple[str, ...], ...] = (
    ("江川路",),
    ("金都路",),
    ("漕宝路",),
    ("北翟路",),
)


def corridor_names() -> list[tuple[str, str, tuple[str, ...]]]:
    """The seven corridors as (label, direction, OSM road names)."""
    out = [(" – ".join(n), "vertical", n) for n in CORRIDORS_VERTICAL]
    out += [(" – ".join(n), "horizontal", n) for n in CORRIDORS_HORIZONTAL]
    return out


def corridor_layer(roads: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """The "three vertical, four horizontal" corridors as a named layer (WGS-84 lines).

    Found by road name in the road layer (default: the data pack's roads); one row per corridor
    with ``corridor`` (label), ``direction``, ``length_km`` and the merged geometry. A corridor
    whose names match nothing is kept with an empty geometry and ``length_km`` 0, so the gap shows.
    """
    if roads is None:
        roads = pyogrio.read_dataframe(
            _io.vector_source(settings.data_file("roads/minhang_roads_osm_simplified.geojson"))
        )
    rows = []
    for label, direction, names in corridor_names():
        lines = roads[roads["name"].isin(names)]
        geom = shapely.line_merge(shapely.union_all(lines.geometry.values)) if len(lines) else None
        rows.append({"corridor": label, "direction": direction, "geometry": geom})
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=settings.wgs84_crs)
    gdf["length_km"] = gdf.geometry.to_crs(settings.metric_crs).length.fillna(0) / 1000
    return gdf
