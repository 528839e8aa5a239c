"""Areas: the district a data folder describes, and ``geo area init`` to build one from OSM.

A data folder holds one area. The embedded one (``data/``) is Minhang; its ``area.toml`` names
it. ``geo area init NAME --osm FILE`` builds a folder of the same layout for any place from an
OpenStreetMap extract (``.osm``, ``.osm.gz``, ``.osm.bz2`` or ``.pbf``):

* ``boundaries/district.geojson`` and ``boundaries/subdistricts.geojson`` — from the files given
  (``--boundary``, ``--subdistricts``) or else from the extract's administrative boundaries:
  ``admin_level`` 6 for the district (区/县) and 8 for its subdistricts (街道/镇/乡), the levels
  OSM uses in China (:data:`ADMIN_LEVELS`; others with ``--district-level`` and
  ``--subdistrict-level``);
* ``roads/`` — the extract itself: walk and drive networks are built from it with its full
  detail (footways, paths and pedestrian streets for walking; one-way streets; bridges and
  tunnels meet other roads only where OSM joins them), so no repair step runs;
* ``facilities/osm_health_facilities.csv`` — health facilities from OSM tags
  (``amenity=hospital|clinic|doctors``, ``healthcare=*``, ``emergency=ambulance_station``) typed by
  ``facilities/osm_type_mapping.csv`` (:data:`DEFAULT_TYPE_MAPPING`; first matching row wins; edit
  it and pass ``--mapping`` to re-type);
* ``population/`` — the raster (GeoTIFF) or subdistrict table given (``--population``);
* ``area.toml`` (name, code, files) and ``README.md`` (sources, dates, licences, counts).

The district plan's figures (Table 2 quotas, corridors) are not in an OSM extract: an area has
them only with its own ``plan.toml`` (:mod:`geo.plan`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import shutil
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
import tomli_w

from geo import settings
from geo._errors import DataFolderError, InputFileError
from geo._safe import spreadsheet_frame
from geo._types import JSONValue

__all__ = [
    "ADMIN_LEVELS",
    "AREA_FILE",
    "DEFAULT_TYPE_MAPPING",
    "MAPPING_FILE",
    "AreaConfig",
    "AreaReport",
    "area_config",
    "download_place",
    "init_area",
    "read_type_mapping",
]

logger = logging.getLogger(__name__)

#: The area's description in a data folder.
AREA_FILE = settings.AREA_FILE
#: The OSM tag → facility type table ``geo area init`` wrote (and reads back with ``--mapping``).
MAPPING_FILE = "facilities/osm_type_mapping.csv"
#: OSM ``admin_level`` of a district and of its subdistricts (China: 区/县 6, 街道/镇/乡 8).
ADMIN_LEVELS: dict[str, int] = {"district": 6, "subdistrict": 8}

#: (OSM key, value, facility type), first match wins. ``name~`` matches part of the name;
#: ``*`` any value. Community types by their Chinese names; the rest by tags.
DEFAULT_TYPE_MAPPING: tuple[tuple[str, str, str], ...] = (
    ("emergency", "ambulance_station", "ambulance_substation"),
    ("name~", "急救分站", "ambulance_substation"),
    ("name~", "分中心", "branch"),
    ("name~", "社区卫生服务中心", "chc"),
    ("name~", "卫生服务站", "station"),
    ("name~", "卫生室", "village_clinic"),
    ("amenity", "hospital", "hospital"),
    ("healthcare", "hospital", "hospital"),
    ("amenity", "clinic", "clinic"),
    ("amenity", "doctors", "clinic"),
    ("healthcare", "*", "clinic"),
)

_HEALTH_KEYS = {"amenity": {"hospital", "clinic", "doctors"}, "emergency": {"ambulance_station"}}


@dataclass(frozen=True)
class AreaConfig:
    """What ``area.toml`` says: the area's names and code and where its inputs are."""

    name: str
    name_zh: str
    name_en: str
    code: str
    roads: str | None
    population: str | None
    created: str
    source: str

    def to_toml(self) -> str:
        """The ``area.toml`` text."""
        table: dict[str, Any] = {
            k: v
            for k, v in {
                "name": self.name,
                "name_zh": self.name_zh,
                "name_en": self.name_en,
                "code": self.code,
                "roads": self.roads,
                "population": self.population,
                "created": self.created,
                "source": self.source,
            }.items()
            if v is not None
        }
        return "# The area this data folder describes (geo.area)\n" + tomli_w.dumps({"area": table})


def area_config(folder: Path | None = None) -> AreaConfig | None:
    """The ``area.toml`` of a data folder (default: the current one); None if it has none.

    Raises
    ------
    DataFolderError
        The file exists but is not valid TOML or lacks ``[area] name``.
    """
    base = folder or settings.resolve_data_folder()
    path = base / AREA_FILE
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text("utf-8")).get("area", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        msg = f"{path}: not a readable area file: {exc}"
        raise DataFolderError(msg) from exc
    if not isinstance(data, dict) or not data.get("name"):
        msg = f"{path}: needs an [area] table with a name"
        raise DataFolderError(msg)
    name = str(data["name"])
    return AreaConfig(
        name=name,
        name_zh=str(data.get("name_zh") or name),
        name_en=str(data.get("name_en") or name),
        code=str(data.get("code") or name),
        roads=str(data["roads"]) if data.get("roads") else None,
        population=str(data["population"]) if data.get("population") else None,
        created=str(data.get("created", "")),
        source=str(data.get("source", "")),
    )


def read_type_mapping(path: Path | None = None) -> tuple[tuple[str, str, str], ...]:
    """A mapping CSV (``osm_key,osm_value,type``) or :data:`DEFAULT_TYPE_MAPPING`.

    Raises
    ------
    InputFileError
        Naming the row, the field and the value: a missing column or an unknown type.
    """
    from geo.facilities import FACILITY_TYPES

    if path is None:
        return DEFAULT_TYPE_MAPPING
    try:
        rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot read the type mapping: {exc}"
        raise InputFileError(msg) from exc
    out = []
    for i, row in enumerate(rows, start=2):
        key, value, kind = ((row.get(c) or "").strip() for c in ("osm_key", "osm_value", "type"))
        if not key or not value:
            msg = f"{path}, row {i}: osm_key and osm_value are needed (got {key!r}, {value!r})"
            raise InputFileError(msg)
        if kind not in FACILITY_TYPES:
            msg = (
                f"{path}, row {i}, field type: {kind!r} is not a facility type; "
                f"valid: {', '.join(FACILITY_TYPES)}"
            )
            raise InputFileError(msg)
        out.append((key, value, kind))
    return tuple(out)


def _type_of(tags: Mapping[str, str], mapping: tuple[tuple[str, str, str], ...]) -> str | None:
    name = tags.get("name:zh") or tags.get("name") or ""
    for key, value, kind in mapping:
        if key == "name~":
            if value in name:
                return kind
        elif key in tags and (value == "*" or tags[key] == value):
            return kind
    return None


#: ``healthcare=*`` values that are not a facility this product plans (no facility type).
_NOT_FACILITIES = frozenset({"pharmacy", "optometrist", "audiologist", "blood_donation"})


def _is_health(tags: Mapping[str, str]) -> bool:
    if "healthcare" in tags:
        return tags["healthcare"] not in _NOT_FACILITIES
    return any(tags.get(k) in values for k, values in _HEALTH_KEYS.items())


@dataclass(frozen=True)
class _Osm:
    admin: list[tuple[int, str, dict[str, str], shapely.Geometry]]
    facilities: list[dict[str, Any]]
    timestamp: str


def _read_osm(path: Path, levels: set[int]) -> _Osm:
    """Administrative areas of the given levels and health facilities (nodes, closed ways and
    multipolygons, at their centroid) of an OSM file, with pyosmium."""
    import osmium

    wkb = osmium.geom.WKBFactory()
    admin: list[tuple[int, str, dict[str, str], shapely.Geometry]] = []
    facilities: list[dict[str, Any]] = []
    newest = ""
    try:
        processor = osmium.FileProcessor(str(path)).with_locations().with_areas()
        for obj in processor:
            stamp = str(getattr(obj, "timestamp", "") or "")
            newest = max(newest, stamp[:10])
            tags = {t.k: t.v for t in obj.tags}
            if isinstance(obj, osmium.osm.Node):
                if _is_health(tags) and obj.location.valid():
                    point = shapely.Point(obj.location.lon, obj.location.lat)
                    facilities.append({"osm_id": f"n{obj.id}", "tags": tags, "geometry": point})
            elif isinstance(obj, osmium.osm.Area):
                osm_id = f"{'w' if obj.from_way() else 'r'}{obj.orig_id()}"
                try:
                    geom = shapely.from_wkb(wkb.create_multipolygon(obj))
                except RuntimeError:  # an incomplete ring in the extract: skip it
                    continue
                level = tags.get("admin_level", "")
                if tags.get("boundary") == "administrative" and level.isdigit():
                    if int(level) in levels:
                        admin.append((int(level), osm_id, tags, geom))
                elif _is_health(tags):
                    facilities.append(
                        {"osm_id": osm_id, "tags": tags, "geometry": geom.representative_point()}
                    )
    except RuntimeError as exc:
        msg = f"{path}: not a readable OSM file ({exc})"
        raise InputFileError(msg) from exc
    return _Osm(admin, facilities, newest)


def _polygons(path: Path, what: str) -> gpd.GeoDataFrame:
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:
        msg = f"{path}: cannot read the {what} file: {exc}"
        raise InputFileError(msg) from exc
    if gdf.crs is None:
        msg = f"{path}: the {what} file has no CRS; set one (e.g. EPSG:4326)"
        raise InputFileError(msg)
    gdf = gdf.to_crs(settings.wgs84_crs)
    bad = ~gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    if len(gdf) == 0 or bad.any():
        msg = f"{path}: the {what} file needs polygons ({int(bad.sum())} rows are not)"
        raise InputFileError(msg)
    return gdf


def _named_units(gdf: gpd.GeoDataFrame, *, source: str) -> gpd.GeoDataFrame:
    """Subdistricts with ``code``, ``name_zh``, ``name_en``, ``boundary_status``."""
    cols = {c.lower(): c for c in gdf.columns}
    name = next((cols[c] for c in ("name_zh", "name", "名称", "街镇") if c in cols), None)
    code = next((cols[c] for c in ("code", "代码", "ref") if c in cols), None)
    if name is None:
        msg = f"{source}: the subdistricts need a name column (name_zh, name, 名称 or 街镇)"
        raise InputFileError(msg)
    names = gdf[name].astype(str).tolist()
    codes = gdf[code].astype(str).tolist() if code else [f"u{i + 1:02d}" for i in range(len(gdf))]
    if len(set(codes)) != len(codes):
        msg = f"{source}: subdistrict codes repeat ({codes}); give each unit its own code"
        raise InputFileError(msg)
    en = cols.get("name_en")
    return gpd.GeoDataFrame(
        {
            "code": codes,
            "name_zh": names,
            "name_en": gdf[en].astype(str).tolist() if en else names,
            "boundary_status": "given",
        },
        geometry=gdf.geometry.values,
        crs=settings.wgs84_crs,
    )


def _osm_units(
    admin: list[tuple[int, str, dict[str, str], shapely.Geometry]], level: int
) -> gpd.GeoDataFrame:
    rows = [(i, t, g) for lv, i, t, g in admin if lv == level]
    return gpd.GeoDataFrame(
        {
            "code": [t.get("ref:gb") or t.get("ref") or f"osm-{i}" for i, t, _ in rows],
            "name_zh": [t.get("name:zh") or t.get("name") or i for i, t, _ in rows],
            "name_en": [t.get("name:en") or t.get("name") or i for i, t, _ in rows],
            "boundary_status": "osm",
        },
        geometry=[g for _, _, g in rows],
        crs=settings.wgs84_crs,
    )


@dataclass(frozen=True)
class AreaReport:
    """What ``geo area init`` built: the folder, its files and the counts the README gives."""

    folder: Path
    files: list[Path]
    counts: dict[str, JSONValue]


def init_area(
    name: str,
    *,
    osm: Path,
    out: Path,
    boundary: Path | None = None,
    subdistricts: Path | None = None,
    population: Path | None = None,
    mapping: Path | None = None,
    levels: Mapping[str, int] | None = None,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> AreaReport:
    """Build a data folder for an area from an OSM extract (see the module's text).

    Raises
    ------
    InputFileError
        A file that cannot be read, an extract without the boundaries it needs, a mapping row
        with an unknown type.
    DataFolderError
        ``out`` exists and is not empty (without ``overwrite``).
    """
    say = progress or (lambda _m: None)
    lv = {**ADMIN_LEVELS, **(levels or {})}
    type_mapping = read_type_mapping(mapping)
    if not osm.is_file():
        msg = f"{osm}: no such OSM file"
        raise InputFileError(msg)
    if out.exists() and any(out.iterdir()) and not overwrite:
        msg = f"{out} exists and is not empty; choose another folder or pass --overwrite"
        raise DataFolderError(msg)
    say(f"reading {osm.name}: administrative boundaries and health facilities")
    data = _read_osm(osm, {lv["district"], lv["subdistrict"]})
    notes: list[str] = []
    if subdistricts is not None:
        units = _named_units(_polygons(subdistricts, "subdistricts"), source=str(subdistricts))
        unit_source = f"{subdistricts.name} (given)"
    else:
        units = _osm_units(data.admin, lv["subdistrict"])
        unit_source = f"OSM admin_level={lv['subdistrict']} in {osm.name}"
    if boundary is not None:
        district = _polygons(boundary, "boundary")
        outline = shapely.union_all(district.geometry.values)
        boundary_source = f"{boundary.name} (given)"
    else:
        tops = _osm_units(data.admin, lv["district"])
        if len(tops) == 1 or (
            len(tops) > 1 and name in set(tops["name_zh"]) | set(tops["name_en"])
        ):
            pick = (
                tops
                if len(tops) == 1
                else tops[(tops["name_zh"] == name) | (tops["name_en"] == name)]
            )
            outline = shapely.union_all(pick.geometry.values)
            boundary_source = f"OSM admin_level={lv['district']} in {osm.name}"
        elif len(units):
            outline = shapely.union_all(units.geometry.values)
            boundary_source = f"the union of the subdistricts ({unit_source})"
        else:
            msg = (
                f"{osm}: no boundary — the extract has no admin_level={lv['district']} or "
                f"{lv['subdistrict']} relation; give --boundary FILE (and --subdistricts FILE)"
            )
            raise InputFileError(msg)
    if len(units):  # the units of this district: those whose inside point lies in it
        inside = shapely.contains(outline, units.geometry.representative_point().values)
        units = units[inside].reset_index(drop=True)
    if len(units) == 0:
        units = gpd.GeoDataFrame(
            {"code": [name], "name_zh": [name], "name_en": [name], "boundary_status": ["whole"]},
            geometry=[outline],
            crs=settings.wgs84_crs,
        )
        notes.append("no subdistricts found: the whole district is one unit")
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    (out / "boundaries").mkdir(exist_ok=True)
    district_gdf = gpd.GeoDataFrame(
        {"name_zh": [name], "name_en": [name]}, geometry=[outline], crs=settings.wgs84_crs
    )
    for frame, rel in (
        (district_gdf, "boundaries/district.geojson"),
        (units, "boundaries/subdistricts.geojson"),
    ):
        path = out / rel
        path.unlink(missing_ok=True)
        frame.to_file(path, driver="GeoJSON")
        files.append(path)
    say(f"{len(units)} subdistricts ({unit_source}); boundary from {boundary_source}")
    (out / "roads").mkdir(exist_ok=True)
    roads = out / "roads" / osm.name
    shutil.copyfile(osm, roads)
    files.append(roads)
    fac = _facility_rows(data.facilities, type_mapping, outline)
    (out / "facilities").mkdir(exist_ok=True)
    fac_path = out / "facilities" / "osm_health_facilities.csv"
    # names are OSM contributors' text: formula-safe for planners who open it in Excel
    spreadsheet_frame(fac).to_csv(fac_path, index=False, encoding="utf-8")
    map_path = out / MAPPING_FILE
    with map_path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["osm_key", "osm_value", "type"])
        writer.writerows(type_mapping)
    files += [fac_path, map_path]
    say(f"{len(fac)} health facilities: {fac['type'].value_counts().to_dict()}")
    pop_rel = None
    if population is not None:
        if not population.is_file():
            msg = f"{population}: no such population file"
            raise InputFileError(msg)
        (out / "population").mkdir(exist_ok=True)
        target = out / "population" / population.name
        shutil.copyfile(population, target)
        pop_rel = f"population/{population.name}"
        files.append(target)
    config = AreaConfig(
        name=name,
        name_zh=name,
        name_en=name,
        code=name,
        roads=f"roads/{osm.name}",
        population=pop_rel,
        created=dt.date.today().isoformat(),
        source=f"{osm.name} (OpenStreetMap, newest object {data.timestamp or 'undated'})",
    )
    (out / AREA_FILE).write_text(config.to_toml(), encoding="utf-8")
    files.append(out / AREA_FILE)
    counts: dict[str, JSONValue] = {
        "subdistricts": len(units),
        "facilities": len(fac),
        "facility_types": {str(k): int(v) for k, v in fac["type"].value_counts().items()},
        "area_km2": round(
            float(
                gpd.GeoSeries([outline], crs=settings.wgs84_crs)
                .to_crs(settings.metric_crs)
                .area.iloc[0]
            )
            / 1e6,
            2,
        ),
    }
    readme = _readme(config, counts, unit_source, boundary_source, population, notes, type_mapping)
    (out / "README.md").write_text(readme, encoding="utf-8")
    files.append(out / "README.md")
    return AreaReport(out, files, counts)


def _facility_rows(
    found: list[dict[str, Any]],
    mapping: tuple[tuple[str, str, str], ...],
    outline: shapely.Geometry,
) -> pd.DataFrame:
    rows = []
    for f in found:
        kind = _type_of(f["tags"], mapping)
        point = f["geometry"]
        if kind is None or not shapely.contains(outline, point):
            continue
        tags = f["tags"]
        rows.append(
            {
                "id": f["osm_id"],
                "name": tags.get("name:zh") or tags.get("name") or f"(unnamed OSM {f['osm_id']})",
                "type": kind,
                "lon": round(point.x, 7),
                "lat": round(point.y, 7),
                "status": "existing",
                "address": tags.get("addr:full", ""),
                "osm_tags": ";".join(
                    f"{k}={tags[k]}" for k in ("amenity", "healthcare", "emergency") if k in tags
                ),
            }
        )
    return pd.DataFrame(
        rows, columns=["id", "name", "type", "lon", "lat", "status", "address", "osm_tags"]
    )


def _readme(
    config: AreaConfig,
    counts: Mapping[str, JSONValue],
    unit_source: str,
    boundary_source: str,
    population: Path | None,
    notes: list[str],
    mapping: tuple[tuple[str, str, str], ...],
) -> str:
    by_type = counts["facility_types"]
    types = ", ".join(f"{k} {v}" for k, v in by_type.items()) if isinstance(by_type, dict) else ""
    rows = "\n".join(f"| `{k}` | `{v}` | {t} |" for k, v, t in mapping)
    pop = (
        f"`{config.population}` ({population.name if population else ''}, as given)"
        if config.population
        else "none — coverage of residents needs one (`geo area init ... --population FILE`)"
    )
    extra = "".join(f"\n- {n}" for n in notes)
    osm_licence = "ODbL 1.0, © OpenStreetMap contributors"
    table = [
        (
            "`boundaries/district.geojson`",
            f"the district outline, {counts['area_km2']} km²",
            boundary_source,
            f"{osm_licence} if from OSM; else the given file's",
        ),
        (
            "`boundaries/subdistricts.geojson`",
            f"{counts['subdistricts']} subdistricts: `code`, `name_zh`, `name_en`",
            unit_source,
            f"{osm_licence} if from OSM; else the given file's",
        ),
        (
            f"`{config.roads}`",
            "the OSM extract itself: walk and drive networks are built from it with footways, "
            "paths, one-way streets and bridges/tunnels as mapped (no repair step)",
            config.source,
            osm_licence,
        ),
        (
            "`facilities/osm_health_facilities.csv`",
            f"{counts['facilities']} health facilities inside the district ({types or 'none'})",
            "OSM amenity=hospital/clinic/doctors, healthcare=*, emergency=ambulance_station",
            osm_licence,
        ),
        (
            f"`{MAPPING_FILE}`",
            "how OSM tags became facility types (first match wins; edit, re-run with --mapping)",
            "`geo.area.DEFAULT_TYPE_MAPPING`",
            "—",
        ),
        ("population", pop, "the given file", "the given file's"),
    ]
    lines = "\n".join("| " + " | ".join(row) + " |" for row in table)
    return (
        f"# Data folder: {config.name}\n\n"
        f"Built by `geo area init` on {config.created} from {config.source}.\n"
        "Use it with `GEO_DATA_DIR=<this folder>` (the app and every command) or\n"
        "`geo --data <this folder>`.\n\n"
        "| file | what it holds | source | licence |\n|---|---|---|---|\n"
        f"{lines}\n\n"
        "No district plan figures (Table 2 quotas, corridors): features that need them say so\n"
        f"until a `plan.toml` is added.{extra}\n\n"
        "Type mapping used:\n\n| OSM key | value | type |\n|---|---|---|\n"
        f"{rows}\n"
    )


def download_place(place: str, path: Path) -> Path:
    """Download ``place`` through osmnx (needs the internet) as one OSM XML file: every street
    (``network_type="all"``, unsimplified: footways, one-way streets and bridges as mapped),
    the health facilities (as nodes at their representative points) and the place's outline as
    an ``admin_level`` 6 boundary way.

    Raises
    ------
    InputFileError
        The place is unknown or the download failed (no internet).
    """
    import xml.sax.saxutils as sx

    import osmnx as ox

    try:
        outline = ox.geocode_to_gdf(place).to_crs(settings.wgs84_crs).geometry.iloc[0]
        graph = ox.graph_from_polygon(outline, network_type="all", simplify=False, retain_all=True)
        tags: dict[str, bool | str | list[str]] = {
            "amenity": ["hospital", "clinic", "doctors"],
            "healthcare": True,
            "emergency": "ambulance_station",
        }
        features = ox.features_from_polygon(outline, tags)
    except Exception as exc:  # osmnx raises many kinds; all mean: no extract
        msg = f"cannot download {place!r} through osmnx: {exc}"
        raise InputFileError(msg) from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    ox.io.save_graph_xml(graph, filepath=path)
    extra = []
    for i, (_, row) in enumerate(features.iterrows(), start=1):
        point = row.geometry.representative_point()
        kv = "".join(
            f'<tag k="{sx.escape(str(k))}" v="{sx.escape(str(v))}"/>'
            for k, v in row.items()
            if k != "geometry" and isinstance(v, str) and v
        )
        extra.append(f'<node id="-{i}" lat="{point.y:.7f}" lon="{point.x:.7f}">{kv}</node>')
    ring = shapely.get_exterior_ring(shapely.get_geometry(outline, 0))
    coords = list(ring.coords)
    base = len(extra) + 1
    nodes = [
        f'<node id="-{base + j}" lat="{y:.7f}" lon="{x:.7f}"/>' for j, (x, y) in enumerate(coords)
    ]
    refs = "".join(f'<nd ref="-{base + j}"/>' for j in range(len(coords) - 1))
    way = (
        f'<way id="-1">{refs}<nd ref="-{base}"/><tag k="boundary" v="administrative"/>'
        f'<tag k="admin_level" v="{ADMIN_LEVELS["district"]}"/>'
        f'<tag k="name" v="{sx.escape(place)}"/></way>'
    )
    text = path.read_text("utf-8").replace("</osm>", "".join(extra + nodes) + way + "</osm>")
    path.write_text(text, encoding="utf-8")
    return path
