"""The district plan's figures, from the data folder's ``plan.toml``.

Each area's data folder may hold a ``plan.toml`` (the embedded Minhang one: ``data/plan.toml``,
quoted from 关于全面加强闵行区医疗卫生服务体系高质量发展的建设方案, targets for 2025; see
``../shared/PLAN_FACTS.md``). Nothing there is computed: these are the official figures the
product's own results are compared with. :func:`current` gives the plan of the data folder in
use (None for an area without one: features that need it say so, :func:`require`); the module
constants are the embedded Minhang plan's figures, the defaults of its runs.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely

from geo import _io, settings
from geo._errors import DataFolderError

__all__ = [
    "BASELINE_BLIND_SPOT_UNITS",
    "BASELINE_WALK15_AREA_SHARE",
    "BASELINE_WALK15_RESIDENT_SHARE",
    "CORRIDORS_HORIZONTAL",
    "CORRIDORS_VERTICAL",
    "EMBEDDED",
    "EMS_RESPONSE_MINUTES",
    "EMS_SERVICE_RADIUS_KM",
    "FACILITIES_PER_100K_2020",
    "FACILITIES_PER_100K_2025",
    "NEW_AMBULANCE_SUBSTATIONS",
    "OFFICIAL_COUNTS_2020",
    "PLAN_AREA_KM2",
    "PLAN_FILE",
    "PLAN_POPULATION_2020",
    "PLAN_SOURCE",
    "TABLE2_NEW_SITES",
    "Plan",
    "corridor_layer",
    "corridor_names",
    "current",
    "read_plan",
    "require",
]


@dataclass(frozen=True)
class Plan:
    """A district plan's figures, as its ``plan.toml`` gives them."""

    source: str
    population_2020: float
    area_km2: float
    baseline_walk15_area_share: float
    baseline_walk15_resident_share: float
    baseline_blind_spot_units: tuple[str, ...]
    facilities_per_100k_2020: float
    facilities_per_100k_2025: float
    ems_service_radius_km: float
    ems_response_minutes: float
    new_ambulance_substations: int
    official_counts_2020: dict[str, int]
    table2_new_sites: dict[str, tuple[int, int]]
    corridors_vertical: tuple[tuple[str, ...], ...]
    corridors_horizontal: tuple[tuple[str, ...], ...]


#: A data folder's plan file.
PLAN_FILE = "plan.toml"


def read_plan(path: Path) -> Plan:
    """Read a ``plan.toml``.

    Raises
    ------
    DataFolderError
        Not readable TOML, or a figure missing or of the wrong kind (named).
    """
    try:
        p = tomllib.loads(path.read_text("utf-8"))["plan"]
        corridors = p.get("corridors", {})
        return Plan(
            source=str(p["source"]),
            population_2020=float(p["population_2020"]),
            area_km2=float(p["area_km2"]),
            baseline_walk15_area_share=float(p["baseline_walk15_area_share"]),
            baseline_walk15_resident_share=float(p["baseline_walk15_resident_share"]),
            baseline_blind_spot_units=tuple(p.get("baseline_blind_spot_units", ())),
            facilities_per_100k_2020=float(p["facilities_per_100k_2020"]),
            facilities_per_100k_2025=float(p["facilities_per_100k_2025"]),
            ems_service_radius_km=float(p["ems_service_radius_km"]),
            ems_response_minutes=float(p["ems_response_minutes"]),
            new_ambulance_substations=int(p["new_ambulance_substations"]),
            official_counts_2020={str(k): int(v) for k, v in p["official_counts_2020"].items()},
            table2_new_sites={
                str(k): (int(v[0]), int(v[1])) for k, v in p.get("table2_new_sites", {}).items()
            },
            corridors_vertical=tuple(tuple(c) for c in corridors.get("vertical", ())),
            corridors_horizontal=tuple(tuple(c) for c in corridors.get("horizontal", ())),
        )
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        msg = f"{path}: not a readable plan file: {exc}"
        raise DataFolderError(msg) from exc
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        msg = f"{path}: [plan] {exc}: a figure is missing or not a number"
        raise DataFolderError(msg) from exc


@lru_cache(maxsize=4)
def _plan_at(path: str, mtime: float) -> Plan:
    return read_plan(Path(path))


def current() -> Plan | None:
    """The plan of the data folder in use (its ``plan.toml``); None if the area has none."""
    path = settings.resolve_data_folder() / PLAN_FILE
    if not path.is_file():
        return None
    return _plan_at(str(path), path.stat().st_mtime)


def require(feature: str) -> Plan:
    """The data folder's plan, or an error saying that ``feature`` needs one."""
    found = current()
    if found is None:
        folder = settings.resolve_data_folder()
        msg = (
            f"{feature} needs the district plan's figures, and the data folder {folder} has no "
            f"{PLAN_FILE} (the embedded Minhang folder has one: data/{PLAN_FILE})"
        )
        raise DataFolderError(msg)
    return found


#: The embedded area's plan (Minhang, data/plan.toml): the defaults below are its figures.
EMBEDDED = read_plan(settings.DEFAULT_DATA_FOLDER / PLAN_FILE)

PLAN_SOURCE = EMBEDDED.source
#: Resident population at the end of 2020 (plan) and the district's area (plan).
PLAN_POPULATION_2020 = EMBEDDED.population_2020
PLAN_AREA_KM2 = EMBEDDED.area_km2
#: Official facility counts at the end of 2020, by the product's facility type.
OFFICIAL_COUNTS_2020: dict[str, int] = EMBEDDED.official_counts_2020
#: Walking 15-minute basic medical service circle, end of 2020 (plan's own figures).
BASELINE_WALK15_AREA_SHARE = EMBEDDED.baseline_walk15_area_share
BASELINE_WALK15_RESIDENT_SHARE = EMBEDDED.baseline_walk15_resident_share
BASELINE_BLIND_SPOT_UNITS = EMBEDDED.baseline_blind_spot_units
#: Community health service facilities per 100,000 residents: end of 2020, and the 2025 target.
FACILITIES_PER_100K_2020 = EMBEDDED.facilities_per_100k_2020
FACILITIES_PER_100K_2025 = EMBEDDED.facilities_per_100k_2025
#: Pre-hospital emergency standards.
EMS_SERVICE_RADIUS_KM = EMBEDDED.ems_service_radius_km
EMS_RESPONSE_MINUTES = EMBEDDED.ems_response_minutes
NEW_AMBULANCE_SUBSTATIONS = EMBEDDED.new_ambulance_substations
#: Table 2: new community health facilities by 2025: (centres incl. branch centres, stations).
TABLE2_NEW_SITES: dict[str, tuple[int, int]] = EMBEDDED.table2_new_sites
#: "Three vertical, four horizontal" (三纵四横) emergency corridors, as OSM road names.
CORRIDORS_VERTICAL: tuple[tuple[str, ...], ...] = EMBEDDED.corridors_vertical
CORRIDORS_HORIZONTAL: tuple[tuple[str, ...], ...] = EMBEDDED.corridors_horizontal


def corridor_names(found: Plan | None = None) -> list[tuple[str, str, tuple[str, ...]]]:
    """The plan's corridors as (label, direction, OSM road names): of ``found``, else of the
    data folder's plan (none without one)."""
    p = found or current()
    if p is None:
        return []
    out = [(" – ".join(n), "vertical", n) for n in p.corridors_vertical]
    out += [(" – ".join(n), "horizontal", n) for n in p.corridors_horizontal]
    return out


def corridor_layer(roads: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """The "three vertical, four horizontal" corridors as a named layer (WGS-84 lines).

    Found by road name in the road layer (default: the data pack's roads); one row per corridor
    with ``corridor`` (label), ``direction``, ``length_km`` and the merged geometry. A corridor
    whose names match nothing is kept with an empty geometry and ``length_km`` 0, so the gap shows.
    """
    names = corridor_names()
    if not names:  # an area without a plan: no corridors to draw
        empty = gpd.GeoDataFrame(
            {"corridor": [], "direction": []}, geometry=[], crs=settings.wgs84_crs
        )
        empty["length_km"] = []
        return empty
    if roads is None:
        roads = pyogrio.read_dataframe(
            _io.vector_source(settings.data_file("roads/minhang_roads_osm_simplified.geojson"))
        )
    rows = []
    for label, direction, road_names in names:
        lines = roads[roads["name"].isin(road_names)]
        geom = shapely.line_merge(shapely.union_all(lines.geometry.values)) if len(lines) else None
        rows.append({"corridor": label, "direction": direction, "geometry": geom})
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=settings.wgs84_crs)
    gdf["length_km"] = gdf.geometry.to_crs(settings.metric_crs).length.fillna(0) / 1000
    return gdf
