"""Folium maps of coverage: subdistricts shaded by coverage, facilities, isochrones, blind spots.

Works offline: :func:`install_offline_assets` copies Leaflet and jQuery (from the ``xstatic``
packages) into the app's ``static/`` folder and points folium at them, so the map renders on an
intranet with no CDN. Only ``CircleMarker`` symbols are used (no icon fonts needed).

Basemaps: ``none`` (vector layers only, fully offline), ``osm`` (OpenStreetMap tiles, WGS-84) and
``amap`` (AMap/Gaode tiles, which are in GCJ-02: every layer is then shifted to GCJ-02 with
:mod:`geo.coords`, and clicks are shifted back with :func:`display_to_wgs84`, otherwise data would
sit ~500 m off the streets).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from geo import coords, settings
from geo._safe import html_text
from geo._types import JSONValue

__all__ = [
    "AMAP_TILES",
    "AREA_COLOURS",
    "BASEMAPS",
    "CORRIDOR_COLOUR",
    "GEOCODED_COLOURS",
    "LABELS",
    "OSM_ATTRIBUTION",
    "SHARE_COLOURS",
    "TYPE_STYLE",
    "base_map",
    "coverage_layers",
    "coverage_map",
    "display_to_wgs84",
    "install_offline_assets",
    "share_colour",
    "sources_for",
]

BASEMAPS = ("none", "osm", "amap")
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
AMAP_TILES = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"

#: Facility symbols: type → (fill colour, radius in pixels).
TYPE_STYLE: dict[str, tuple[str, int]] = {
    "chc": ("#d7301f", 8),
    "branch": ("#fc8d59", 7),
    "station": ("#2b8cbe", 6),
    "village_clinic": ("#b8860b", 5),
    "hospital": ("#6a51a3", 7),
    "emergency_department": ("#e7298a", 7),
    "ambulance_substation": ("#fee08b", 8),
    "clinic": ("#969696", 4),
    "non_clinical": ("#d9d9d9", 3),
}

#: One colour per meaning for the area layers (Okabe–Ito, colour-blind safe).
AREA_COLOURS: dict[str, str] = {
    "covered": "#009E73",
    "blind": "#D55E00",
    "ems": "#E69F00",
    "gained": "#56B4E9",
    "lost": "#CC79A7",
    "selected": "#000000",
}

#: The 三纵四横 emergency corridors.
CORRIDOR_COLOUR = "#8c6d31"

#: Geocoded points: to review, accepted, placed by hand.
GEOCODED_COLOURS = {"review": "#d50000", "accepted": "#0072B2", "manual": "#6a3d9a"}

#: Colour steps for coverage shares (0–20–40–60–80–100%).
SHARE_COLOURS = ("#f7fbff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "subdistricts": "Subdistricts (share of residents covered)",
        "covered": "Covered area",
        "blind": "Blind spots",
        "facilities": "Facilities",
        "corridors": "Emergency corridors (三纵四横)",
        "ems": "Ambulance reach (EMS)",
        "gained": "Area gained vs base",
        "lost": "Area lost vs base",
        "selected": "Selected facility's reach",
        "residents": "residents covered",
        "area": "area covered",
        "legend": "Legend",
        "source": "Sources",
        "type": "type",
        "status": "status",
        "subdistrict": "subdistrict",
        "planned_note": "black dashed ring = planned site; faded = not counted by this standard",
        "geocoded": "Geocoded addresses (red = to review)",
    },
    "zh": {
        "subdistricts": "街镇（居民覆盖率）",
        "covered": "覆盖范围",
        "blind": "覆盖盲区",
        "facilities": "医疗卫生设施",
        "corridors": "急救网络（三纵四横）",
        "ems": "急救可达范围",
        "gained": "较基准新增覆盖",
        "lost": "较基准减少覆盖",
        "selected": "所选设施可达范围",
        "residents": "居民覆盖率",
        "area": "面积覆盖率",
        "legend": "图例",
        "source": "数据来源",
        "type": "类型",
        "status": "状态",
        "subdistrict": "街镇",
        "planned_note": "黑色虚线圈 = 规划站点；淡色 = 本标准不计入",
        "geocoded": "地址解析结果（红色 = 待核查）",
    },
}

_MINHANG_CENTER = (31.11, 121.42)


def install_offline_assets(static_dir: Path, *, url_prefix: str = "app/static") -> None:
    """Copy Leaflet and jQuery into ``static_dir`` and make folium load them from there.

    Streamlit serves ``static/`` beside ``app.py`` at ``/app/static/`` when
    ``[server] enableStaticServing = true``. Idempotent.
    """
    import xstatic.pkg.jquery as xjquery
    import xstatic.pkg.leaflet as xleaflet

    leaflet_dir = Path(static_dir) / "leaflet"
    jquery_dir = Path(static_dir) / "jquery"
    if not (leaflet_dir / "leaflet.js").exists():
        shutil.copytree(xleaflet.BASE_DIR, leaflet_dir, dirs_exist_ok=True)
    if not (jquery_dir / "jquery.min.js").exists():
        shutil.copytree(xjquery.BASE_DIR, jquery_dir, dirs_exist_ok=True)
    prefix = "/" + url_prefix.strip("/")
    folium.Map.default_js = [
        ("leaflet", f"{prefix}/leaflet/leaflet.js"),
        ("jquery", f"{prefix}/jquery/jquery.min.js"),
    ]
    folium.Map.default_css = [("leaflet_css", f"{prefix}/leaflet/leaflet.css")]


def display_to_wgs84(lon: float, lat: float, basemap: str) -> tuple[float, float]:
    """A point clicked on the map (display coordinates) in WGS-84."""
    if basemap == "amap":
        wlon, wlat = coords.gcj02_to_wgs84(lon, lat)
        return float(wlon), float(wlat)
    return float(lon), float(lat)


def _to_display(gdf: gpd.GeoDataFrame, basemap: str, *, simplify_m: float) -> gpd.GeoDataFrame:
    """WGS-84 layer → what the map draws: simplified (metres), shifted to GCJ-02 for AMap."""
    if gdf.empty:
        return gdf
    out = gdf.copy()
    geoms = out.geometry.to_crs(settings.metric_crs)
    if simplify_m > 0:
        geoms = geoms.simplify(simplify_m)
    geoms = geoms.to_crs(settings.wgs84_crs)
    if basemap == "amap":
        geoms = gpd.GeoSeries(
            shapely.transform(
                geoms.values, lambda c: np.column_stack(coords.wgs84_to_gcj02(c[:, 0], c[:, 1]))
            ),
            index=geoms.index,
            crs=settings.wgs84_crs,
        )
    out = out.set_geometry(geoms)
    return out[~out.geometry.is_empty]


def share_colour(share: float) -> str:
    """Fill colour of a coverage share (0–1), in 20% steps."""
    if not np.isfinite(share):
        return "#eeeeee"
    return SHARE_COLOURS[min(int(share * 5), 5) if share < 1 else 5]


def coverage_map(
    *,
    table: pd.DataFrame,
    subdistricts: gpd.GeoDataFrame,
    covered: gpd.GeoDataFrame,
    blind_spots: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    standard_label: str,
    sources: Mapping[str, str],
    basemap: str = "none",
    lang: str = "zh",
    corridors: gpd.GeoDataFrame | None = None,
    ems_covered: gpd.GeoDataFrame | None = None,
    gained: gpd.GeoDataFrame | None = None,
    lost: gpd.GeoDataFrame | None = None,
    selected: gpd.GeoDataFrame | None = None,
    counted_types: tuple[str, ...] = (),
    geocoded: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """A folium map with every layer, a layer control, a legend with units and sources.

    All inputs are WGS-84; ``table`` is a coverage table (per subdistrict, with ``code``,
    ``resident_share`` and ``area_share``). The same map as :func:`base_map` plus
    :func:`coverage_layers`, in one piece (for a saved HTML map; the app sends the layers
    separately so that an edit does not rebuild the map).
    """
    m = base_map(subdistricts=subdistricts, basemap=basemap, lang=lang)
    for group in coverage_layers(
        table=table,
        subdistricts=subdistricts,
        covered=covered,
        blind_spots=blind_spots,
        facilities=facilities,
        standard_label=standard_label,
        sources=sources,
        basemap=basemap,
        lang=lang,
        corridors=corridors,
        ems_covered=ems_covered,
        gained=gained,
        lost=lost,
        selected=selected,
        counted_types=counted_types,
        geocoded=geocoded,
    ):
        group.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def base_map(
    *, subdistricts: gpd.GeoDataFrame, basemap: str = "none", lang: str = "zh"
) -> folium.Map:
    """The part of the map no edit, standard or scenario changes: basemap, 街镇 names, scale and
    attribution; the first view fits the district.

    Its JavaScript is the same for the same inputs, so the app's map component is not
    re-mounted (and keeps the planner's centre and zoom) while :func:`coverage_layers` change.
    """
    if basemap not in BASEMAPS:
        msg = f"unknown basemap {basemap!r}; use one of {', '.join(BASEMAPS)}"
        raise ValueError(msg)
    m = folium.Map(location=_MINHANG_CENTER, zoom_start=11, tiles=None, control_scale=False)
    _MetricScale().add_to(m)
    _basemap(m, basemap)
    if basemap != "none":
        _TileNotice(TILE_NOTICE["zh" if lang == "zh" else "en"]).add_to(m)
    units = _to_display(subdistricts, basemap, simplify_m=20)
    if not units.empty:
        x0, y0, x1, y1 = units.total_bounds
        m.fit_bounds([[y0, x0], [y1, x1]], padding=(4, 4))
        _unit_names(m, units, lang)
    _Attribution(OSM_ATTRIBUTION).add_to(m)
    return m


def coverage_layers(
    *,
    table: pd.DataFrame,
    subdistricts: gpd.GeoDataFrame,
    covered: gpd.GeoDataFrame,
    blind_spots: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    standard_label: str,
    sources: Mapping[str, str],
    basemap: str = "none",
    lang: str = "zh",
    corridors: gpd.GeoDataFrame | None = None,
    show_corridors: bool = True,
    ems_covered: gpd.GeoDataFrame | None = None,
    gained: gpd.GeoDataFrame | None = None,
    lost: gpd.GeoDataFrame | None = None,
    selected: gpd.GeoDataFrame | None = None,
    counted_types: tuple[str, ...] = (),
    geocoded: gpd.GeoDataFrame | None = None,
) -> list[folium.FeatureGroup]:
    """The layers that change with edits and choices, one feature group each (WGS-84 inputs):
    subdistricts shaded by coverage (carrying the legend), covered area, blind spots, EMS reach,
    gained/lost area, the selected site's reach, the corridors (``show_corridors``: shown at
    first), facilities and geocoded addresses."""
    text = LABELS["zh" if lang == "zh" else "en"]
    shaded = _subdistrict_layer(table, subdistricts, basemap, text, lang)
    _Legend(text, standard_label, sources, lang).add_to(shaded)
    groups = [shaded]
    for key, gdf, opacity, show in (
        ("covered", covered, 0.35, True),
        ("blind", blind_spots, 0.3, False),
        ("ems", ems_covered, 0.2, False),
        ("gained", gained, 0.55, True),
        ("lost", lost, 0.55, True),
        ("selected", selected, 0.2, True),
    ):
        if gdf is not None and not gdf.empty:
            display = _to_display(gdf, basemap, simplify_m=10)
            groups.append(_area_layer(display, text[key], AREA_COLOURS[key], opacity, show))
    if corridors is not None and not corridors.empty:
        display = _to_display(corridors, basemap, simplify_m=5)
        groups.append(_corridor_layer(display, text["corridors"], show_corridors))
    groups.append(
        _facility_layer(_to_display(facilities, basemap, simplify_m=0), text, lang, counted_types)
    )
    if geocoded is not None and not geocoded.empty:
        groups.append(
            _geocoded_layer(_to_display(geocoded, basemap, simplify_m=0), text["geocoded"])
        )
    return groups


def _basemap(m: folium.Map, basemap: str) -> None:
    if basemap == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", attr=OSM_ATTRIBUTION).add_to(m)
    elif basemap == "amap":
        folium.TileLayer(
            AMAP_TILES, name="高德地图 AMap (GCJ-02)", attr="© AMap 高德地图", subdomains="1234"
        ).add_to(m)


def _subdistrict_layer(
    table: pd.DataFrame,
    subdistricts: gpd.GeoDataFrame,
    basemap: str,
    text: Mapping[str, str],
    lang: str,
) -> folium.FeatureGroup:
    stats = table.set_index("code")
    gdf = subdistricts[["code", "name_zh", "name_en", "geometry"]].copy()
    gdf["resident_share"] = gdf["code"].map(stats["resident_share"]).astype(float)
    gdf["area_share"] = gdf["code"].map(stats["area_share"]).astype(float)
    gdf["label"] = (gdf["name_zh"] if lang == "zh" else gdf["name_en"]).map(html_text)
    gdf[text["residents"]] = (100 * gdf["resident_share"]).round(1).astype(str) + "%"
    gdf[text["area"]] = (100 * gdf["area_share"]).round(1).astype(str) + "%"
    gdf = _to_display(gdf, basemap, simplify_m=20)
    group = _group(text["subdistricts"])
    folium.GeoJson(
        gdf[["label", text["residents"], text["area"], "resident_share", "geometry"]],
        style_function=lambda f: {
            "fillColor": share_colour(f["properties"]["resident_share"]),
            "color": "#555555",
            "weight": 1,
            "fillOpacity": 0.6,
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["label", text["residents"], text["area"]],
            aliases=["", text["residents"], text["area"]],
        ),
    ).add_to(group)
    return group


_UNIT_NAME_STYLE = (
    "font: 600 12px sans-serif; color: #222; text-align: center; white-space: nowrap; "
    "text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff; pointer-events: none;"
)


def _unit_names(m: folium.Map, units: gpd.GeoDataFrame, lang: str) -> None:
    """Each 街镇's name at its representative point (plain text labels, no icon fonts)."""
    points = units.geometry.representative_point()
    names = units["name_zh" if lang == "zh" else "name_en"]
    for point, name in zip(points, names, strict=True):
        folium.Marker(
            location=(point.y, point.x),
            icon=folium.DivIcon(
                html=f'<div style="{_UNIT_NAME_STYLE}">{html_text(name)}</div>',
                icon_size=(140, 18),
                icon_anchor=(70, 9),
                class_name="geo-unit-name",  # not leaflet-div-icon: no white box
            ),
            interactive=False,
        ).add_to(m)


def _area_layer(
    gdf: gpd.GeoDataFrame, name: str, colour: str, opacity: float, show: bool
) -> folium.FeatureGroup:
    group = _group(name, show=show)
    folium.GeoJson(
        gdf[["geometry"]],
        style_function=lambda _f: {
            "fillColor": colour,
            "color": colour,
            "weight": 0.5,
            "fillOpacity": opacity,
        },
    ).add_to(group)
    return group


def _corridor_layer(gdf: gpd.GeoDataFrame, name: str, show: bool) -> folium.FeatureGroup:
    group = _group(name, show=show)
    folium.GeoJson(
        gdf[["corridor", "geometry"]].assign(corridor=gdf["corridor"].map(html_text)),
        style_function=lambda _f: {"color": CORRIDOR_COLOUR, "weight": 3, "opacity": 0.8},
        tooltip=folium.GeoJsonTooltip(fields=["corridor"], labels=False),
    ).add_to(group)
    return group


def _facility_layer(
    gdf: gpd.GeoDataFrame,
    text: Mapping[str, str],
    lang: str,
    counted_types: tuple[str, ...],
) -> folium.FeatureGroup:
    group = _group(text["facilities"])
    for row in gdf.itertuples():
        colour, radius = TYPE_STYLE.get(str(row.type), ("#000000", 5))
        counted = not counted_types or row.type in counted_types
        planned = str(getattr(row, "status", "")) in ("planned", "under_construction")
        # every value a planner's file or a map edit can set is escaped (html_text)
        name = html_text(row.name)
        type_label = html_text(getattr(row, "type_zh" if lang == "zh" else "type_en", row.type))
        sub = html_text(getattr(row, "subdistrict_zh" if lang == "zh" else "subdistrict_en", ""))
        status, source = (
            html_text(getattr(row, "status", "")),
            html_text(getattr(row, "source", "")),
        )
        popup = (
            f"<b>{name}</b><br>{text['type']}: {type_label}<br>"
            f"{text['subdistrict']}: {sub}<br>{text['status']}: {status}<br>"
            f"id: {html_text(row.id)}<br><small>{source}</small>"
        )
        folium.CircleMarker(
            location=(row.geometry.y, row.geometry.x),
            radius=radius if counted else max(3, radius - 3),
            color="#000000" if planned else "#ffffff",
            weight=2 if planned else 1,
            dash_array="3" if planned else None,
            fill=True,
            fill_color=colour,
            fill_opacity=0.95 if counted else 0.4,
            tooltip=f"{name} ({type_label})",
            popup=folium.Popup(popup, max_width=300),
        ).add_to(group)
    return group


def _geocoded_layer(gdf: gpd.GeoDataFrame, name: str) -> folium.FeatureGroup:
    """Geocoded addresses: red = flagged for review, green = accepted, blue = manual."""
    group = _group(name)
    for row in gdf.itertuples():
        kind = "manual" if row.provider == "manual" else ("review" if row.review else "accepted")
        colour = GEOCODED_COLOURS[kind]
        folium.CircleMarker(
            location=(row.geometry.y, row.geometry.x),
            radius=5,
            color="#000000",
            weight=1,
            fill=True,
            fill_color=colour,
            fill_opacity=0.9,
            tooltip=(
                f"{html_text(row.matched or '')} · {html_text(row.match_level)} · "
                f"{row.confidence:.2f}"
            ),
        ).add_to(group)
    return group


class _Visibility(MacroElement):
    """Whether a layer shows: the planner's last choice in the layer control if there was one,
    else the layer's default. The app sends its layers anew after every edit (and the component
    adds each one to the map), so the choice is kept in the map's page, not in the layer."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        (function () {
            var group = {{ this._parent.get_name() }};
            var map = {{ this._parent._parent.get_name() }};
            var name = {{ this.name|tojson }};
            window.geoLayers = window.geoLayers || {};
            if (!map._geoWatched) {  // record only the planner's clicks in the layer control,
                map._geoWatched = true;  // not the app's own removal of the previous layers
                var clicked = function () {
                    var ctl = window.layer_control;
                    return !!(ctl && ctl._handlingClick);
                };
                map.on("overlayadd", function (e) {
                    if (clicked()) { window.geoLayers[e.name] = true; }
                });
                map.on("overlayremove", function (e) {
                    if (clicked()) { window.geoLayers[e.name] = false; }
                });
            }
            var shown = name in window.geoLayers ? window.geoLayers[name] : {{ this.show|tojson }};
            setTimeout(function () {
                if (shown && !map.hasLayer(group)) { map.addLayer(group); }
                if (!shown && map.hasLayer(group)) { map.removeLayer(group); }
            }, 0);
        })();
        {% endmacro %}"""
    )

    def __init__(self, name: str, show: bool) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca has no type hints
        self._name = "Visibility"
        self.name = name
        self.show = show


def _group(name: str, *, show: bool = True) -> folium.FeatureGroup:
    """A layer the app may send on its own: it remembers whether the planner shows it."""
    group = folium.FeatureGroup(name=name, show=show)
    _Visibility(name, show).add_to(group)
    return group


class _MetricScale(MacroElement):
    """A metric-only scale bar."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}"""
    )

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca has no type hints
        self._name = "MetricScale"


#: Shown once when basemap tiles fail to load (no internet, a blocked host).
TILE_NOTICE = {
    "zh": "底图瓦片无法加载（可能没有互联网）；矢量图层照常显示。可在侧栏把底图改为“无（离线）”。",
    "en": "Basemap tiles cannot be loaded (no internet?); the data layers still show. Choose "
    "the basemap 'none (offline)' in the sidebar.",
}


class _TileNotice(MacroElement):
    """A notice on the map, once, when a basemap tile fails to load."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.eachLayer(function (layer) {
            if (!(layer instanceof L.TileLayer)) { return; }
            layer.on("tileerror", function () {
                if (document.getElementById("geo-tile-notice")) { return; }
                var note = document.createElement("div");
                note.id = "geo-tile-notice";
                note.setAttribute("style", "position: fixed; top: 8px; left: 50px; z-index: 9999;"
                    + " background: #fff3cd; border: 1px solid #b58105; padding: 4px 8px;"
                    + " font: 12px sans-serif; max-width: 60%;");
                note.textContent = {{ this.text|tojson }};
                document.body.appendChild(note);
            });
        });
        {% endmacro %}"""
    )

    def __init__(self, text: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca has no type hints
        self._name = "TileNotice"
        self.text = text


class _Attribution(MacroElement):
    """Adds an attribution line even when no basemap is shown (the data is OSM-derived)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        {% endmacro %}"""
    )

    def __init__(self, text: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca has no type hints
        self._name = "Attribution"
        self.text = text


class _Legend(MacroElement):
    """The legend: coverage colour steps, every layer's colour, facility symbols, sources.

    Drawn by script (it replaces any legend already on the page), so it can travel with the
    layers an edit changes instead of forcing the map to be rebuilt.
    """

    _template = Template(
        """{% macro script(this, kwargs) %}
        (function () {
            var old = document.getElementById("geo-legend");
            if (old) { old.remove(); }
            var box = document.createElement("details");
            box.id = "geo-legend";
            box.open = true;
            box.setAttribute("style", {{ this.style|tojson }});
            box.innerHTML = {{ this.html|tojson }};
            document.body.appendChild(box);
        })();
        {% endmacro %}"""
    )

    style = (
        "position: fixed; bottom: 28px; left: 10px; z-index: 9999; "
        "background: rgba(255,255,255,0.94); padding: 6px 9px; border: 1px solid #999; "
        "border-radius: 4px; font: 12px/1.4 sans-serif; max-width: 300px;"
    )

    def __init__(
        self, text: Mapping[str, str], standard_label: str, sources: Mapping[str, str], lang: str
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca has no type hints
        self._name = "Legend"
        steps = "".join(
            f'<span style="display:inline-block;width:22px;height:11px;background:{c}"></span>'
            for c in SHARE_COLOURS
        )
        from geo.facilities import FACILITY_TYPES

        def swatch(colour: str, label: str, *, round_: bool = False) -> str:
            radius = "6px" if round_ else "2px"
            return (
                f'<span style="white-space:nowrap"><span style="display:inline-block;width:11px;'
                f'height:11px;border-radius:{radius};background:{colour}"></span> {label}</span> '
            )

        types = "".join(
            swatch(c, FACILITY_TYPES[t].name_zh if lang == "zh" else FACILITY_TYPES[t].name_en,
                   round_=True)
            for t, (c, _) in TYPE_STYLE.items()
        )  # fmt: skip
        areas = "".join(swatch(AREA_COLOURS[k], text[k]) for k in AREA_COLOURS)
        src = "".join(f"<div>{html_text(k)}: {html_text(v)}</div>" for k, v in sources.items())
        self.html = (
            f"<summary><b>{text['legend']}</b> — {html_text(standard_label)}</summary>"
            f"{text['residents']}: 0% {steps} 100%<br>{areas}"
            f"{swatch(CORRIDOR_COLOUR, text['corridors'])}"
            f"<div>{types}</div><div>{text['planned_note']}</div>"
            f"{swatch(GEOCODED_COLOURS['review'], text['geocoded'], round_=True)}"
            f'<div style="font-size:11px;color:#444"><b>{text["source"]}</b>{src}</div>'
        )


def sources_for(metadata: Mapping[str, JSONValue]) -> dict[str, str]:
    """Short source lines for the legend from a coverage result's metadata."""
    net = metadata.get("network")
    out = {}
    if isinstance(net, Mapping):
        out["network"] = (
            f"{net.get('source')} ({net.get('source_date')}), "
            f"{net.get('repair_connectors')} repairs ({net.get('repair_length_km')} km)"
        )
    else:
        out["network"] = str(net)
    out["population"] = str(metadata.get("population_source"))
    out["facilities"] = str(metadata.get("facilities_source"))
    return out
