"""The scenario report: a PDF a planner can put in front of a committee, and its HTML twin.

:func:`build_report` draws, from a :class:`~geo.scenarios.ScenarioRun` (and optionally its base
and their :class:`~geo.scenarios.Comparison`), one language at a time:

1. a cover with the headline figures against the plan's: walk-15 area and resident shares
   against the 2020 baseline (68.24 % / 85.84 %), residents an ambulance reaches within the
   plan's 3.5 km and 12 min, community health facilities per 100,000 residents against the 2025
   target (6.73), for the scenario, the base and the change;
2. maps drawn offline from the same layers as the app (geopandas + matplotlib, no tiles, UTM 51N):
   residents covered per 街镇, covered area and blind spots with the facilities, ambulance reach
   with the 三纵四横 corridors, and — with a base — area gained and lost with the sites added,
   moved and removed; each with legend, scale bar, north arrow and sources;
3. the per-街镇 table of each standard (the export's readable figures, :mod:`geo.readable`);
4. the sites added, moved and removed;
5. methods and sources: the provenance block of each standard (:mod:`geo.provenance`).

The PDF is written by matplotlib's PDF backend with the CJK font embedded (TrueType, Debian
``fonts-noto-cjk`` or ``fonts-wqy-microhei``); the HTML holds the same text and tables with the
maps as embedded PNG images, every text escaped.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from geo import __version__, plan
from geo import _report_maps as rm
from geo._errors import ExportError
from geo._io import atomic_target
from geo._tables import district_code, district_names
from geo.maps import AREA_COLOURS, CORRIDOR_COLOUR
from geo.provenance import provenance_lines
from geo.readable import number_format, readable_frame
from geo.scenarios import Comparison, ScenarioRun

__all__ = ["Report", "build_report", "catchment_map", "value_map"]

_T = {
    "zh": {
        "title": "{name_zh}医疗卫生设施覆盖报告",
        "scenario": "情景",
        "base": "基准",
        "change": "变化",
        "plan": "规划数值",
        "indicator": "指标",
        "made": "生成时间",
        "version": "软件版本",
        "walk_area": "步行15分钟可达：面积覆盖率",
        "walk_res": "步行15分钟可达：居民覆盖率",
        "ems_km": "急救车行 3.5 km 内：居民覆盖率",
        "ems_min": "急救 12 分钟内（含出车）：居民覆盖率",
        "per100k": "每十万人社区卫生服务设施数",
        "plan_walk_area": "68.24 %（2020 年现状）",
        "plan_walk_res": "85.84 %（2020 年现状）",
        "plan_ems_km": "服务半径 ≤ 3.5 km",
        "plan_ems_min": "平均反应时间 ≤ 12 分钟",
        "plan_per100k": "6.73（2025 年目标；2020 年 6.02）",
        "not_run": "未计算",
        "map_share": "各街镇步行15分钟居民覆盖率",
        "map_cover": "步行15分钟覆盖范围与盲区",
        "map_ems": "急救可达范围（{label}）",
        "map_change": "与基准 {base} 相比：覆盖变化与设施变动",
        "residents": "居民覆盖率",
        "covered": "覆盖范围",
        "blind": "覆盖盲区",
        "ems": "急救可达范围",
        "gained": "较基准新增覆盖",
        "lost": "较基准减少覆盖",
        "corridors": "急救网络（三纵四横）",
        "added": "新增设施",
        "moved": "移动后的设施",
        "removed": "移除的设施",
        "legend": "图例",
        "table": "各街镇覆盖情况：{label}",
        "sites": "设施变动（与基准 {base} 相比）",
        "no_sites": "无设施变动。",
        "no_base": "未指定基准情景，故无设施变动表。",
        "methods": "方法与数据来源",
        "source": "数据来源：路网 {net}；人口 {pop}。底图数据 © OpenStreetMap 贡献者（ODbL）。",
        "methods_text": (
            "可达性在真实路网上计算：每个居民点与设施点吸附到最近的路段，从所有设施出发做多源 "
            "Dijkstra 最短路（步行按步速折算时间，车行按道路限速与拥堵系数折算时间）。覆盖范围 = "
            "可达路段两侧各 100 m 的缓冲区，按街镇裁切并在 UTM 51N 投影下量算面积；居民覆盖率由"
            "每个居民点自身的网络距离得出，而非由多边形推算。“直线距离”标准仅为对照，明确标注。"
        ),
        "page": "第 {n} 页",
    },
    "en": {
        "title": "Health-facility coverage report, {name_en}",
        "scenario": "scenario",
        "base": "base",
        "change": "change",
        "plan": "plan figure",
        "indicator": "indicator",
        "made": "made",
        "version": "software version",
        "walk_area": "walk 15 min: area covered",
        "walk_res": "walk 15 min: residents covered",
        "ems_km": "ambulance within 3.5 km: residents covered",
        "ems_min": "ambulance within 12 min (incl. dispatch): residents covered",
        "per100k": "community health facilities per 100,000 residents",
        "plan_walk_area": "68.24 % (2020 baseline)",
        "plan_walk_res": "85.84 % (2020 baseline)",
        "plan_ems_km": "service radius ≤ 3.5 km",
        "plan_ems_min": "average response ≤ 12 min",
        "plan_per100k": "6.73 (2025 target; 2020: 6.02)",
        "not_run": "not computed",
        "map_share": "Residents within a 15-minute walk, per subdistrict",
        "map_cover": "Area within a 15-minute walk, and blind spots",
        "map_ems": "Ambulance reach ({label})",
        "map_change": "Against the base {base}: coverage and sites changed",
        "residents": "residents covered",
        "covered": "Covered area",
        "blind": "Blind spots",
        "ems": "Ambulance reach",
        "gained": "Area gained vs base",
        "lost": "Area lost vs base",
        "corridors": "Emergency corridors (三纵四横)",
        "added": "Site added",
        "moved": "Site moved (new place)",
        "removed": "Site removed",
        "legend": "Legend",
        "table": "Coverage per subdistrict: {label}",
        "sites": "Sites changed against the base {base}",
        "no_sites": "No site changed.",
        "no_base": "No base scenario was given, so no sites are compared.",
        "methods": "Methods and sources",
        "source": "Sources: network {net}; population {pop}. Map data © OpenStreetMap "
        "contributors (ODbL).",
        "methods_text": (
            "Reach is computed on the real street network: each resident point and facility is "
            "snapped to its nearest road segment, and one multi-source Dijkstra search runs from "
            "all facilities (walking time from the walking speed; driving time from road speeds "
            "and the congestion factor). Covered area = the reached road segments buffered by "
            "100 m on each side, clipped to the subdistricts and measured in UTM 51N; residents "
            "covered come from each resident point's own network distance, never from polygons. "
            "The straight-line standard is a reference only and is named so."
        ),
        "page": "page {n}",
    },
}

#: The per-街镇 table's columns in the report (the export's readable rules apply).
_TABLE_COLUMNS = (
    "name_zh",
    "residents",
    "covered_residents",
    "resident_share",
    "area_km2",
    "covered_km2",
    "area_share",
    "facilities",
)
_PAGE_ROWS = 40  # rows of a sites table per page


@dataclass(frozen=True)
class Report:
    """A built report: the PDF and its HTML twin, and the file name to offer."""

    name: str
    pages: int
    pdf: bytes
    html: bytes

    def pdf_bytes(self) -> bytes:
        """The PDF."""
        return self.pdf

    def html_bytes(self) -> bytes:
        """The HTML twin (one file, maps embedded)."""
        return self.html

    def write(self, path: Path, *, overwrite: bool = False) -> Path:
        """Write the PDF (``.pdf``) or the HTML twin (``.html``), atomically; an existing file is
        replaced only with ``overwrite`` (otherwise :class:`FileExistsError`)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".pdf", ".html"):
            msg = f"{path.name}: the report is written as .pdf or .html"
            raise ExportError(msg)
        with atomic_target(path, overwrite=overwrite) as tmp:
            tmp.write_bytes(self.pdf if suffix == ".pdf" else self.html)
        return path


def build_report(
    run: ScenarioRun,
    *,
    subdistricts: gpd.GeoDataFrame,
    comparison: Comparison | None = None,
    base_run: ScenarioRun | None = None,
    corridors: gpd.GeoDataFrame | None = None,
    lang: str = "zh",
) -> Report:
    """Draw the report of ``run`` (against ``base_run``/``comparison`` when given).

    Parameters
    ----------
    run
        The scenario's run (every standard it computed is reported).
    subdistricts
        The 街镇 polygons (``code``, ``name_zh``) the coverage was computed on.
    comparison
        ``compare(base_run, run)``: gained/lost areas and the sites changed.
    base_run
        The base's run, for the cover's base column.
    corridors
        The 三纵四横 corridor lines (drawn on the ambulance map).
    lang
        ``"zh"`` or ``"en"``.

    Raises
    ------
    ExportError
        No CJK font is installed.
    """
    from geo.export import safe_stem

    text = _T["zh" if lang == "zh" else "en"]
    font = rm.cjk_font()
    name = run.resolved.scenario.name
    units = rm.metric(subdistricts)
    # a CJK font without a bold face is drawn regular (matplotlib warns per text otherwise)
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    with mpl.rc_context(
        {"font.family": [font, "DejaVu Sans"], "pdf.fonttype": 42, "axes.unicode_minus": False}
    ):
        cover = _cover(run, base_run, text)
        maps = _maps(run, comparison, units, corridors, text, lang)
        tables = [(_label(r.standard, lang), _unit_table(r.table, lang)) for r in run.results]
        sites = _sites_table(comparison, lang)
        methods = _methods(run, text, lang)
        figures: list[Figure] = [_cover_page(name, cover, text)]
        figures += [fig for _t, fig, _png in maps]
        figures += [
            _table_page(text["table"].format(label=label), frame) for label, frame in tables
        ]
        base = comparison.a if comparison is not None else ""
        figures += _sites_pages(text["sites"].format(base=base), sites, comparison, text)
        figures.append(_text_page(text["methods"], methods))
        pdf = _pdf(figures, name)
    page_html = _html(name, cover, maps, tables, sites, methods, comparison, text, lang)
    return Report(f"{safe_stem(name)}_report.pdf", len(figures), pdf, page_html.encode("utf-8"))


def value_map(
    values: pd.Series,
    subdistricts: gpd.GeoDataFrame,
    *,
    title: str,
    label: str,
    source: str,
    lang: str = "zh",
) -> Figure:
    """A choropleth of one value per 街镇 (``values`` indexed by code) in six equal steps from
    0 to the largest value, with 街镇 names, legend, scale bar, north arrow and sources — the
    report's map style, for figures such as 2SFCA supply per 1,000 residents."""
    text = _T["zh" if lang == "zh" else "en"]
    font = rm.cjk_font()
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # no bold CJK face
    units = rm.metric(subdistricts)
    top = float(np.nanmax(values.to_numpy(float))) if len(values) else 0.0
    top = top if top > 0 else 1.0
    edges = [top * k / 5 for k in range(6)] + [top * 1.0001]
    edges[5] = top * 0.9999
    steps = [f"{edges[k]:.2f}–{edges[k + 1]:.2f}" for k in range(5)] + [f"{top:.2f}"]
    with mpl.rc_context({"font.family": [font, "DejaVu Sans"], "axes.unicode_minus": False}):
        fig, ax = rm.map_figure(title)
        rm.choropleth(ax, units, values, edges)
        rm.base_layer(ax, units, names=True)
        rm.finish(fig, ax, rm.share_handles(label, steps), legend_title=text["legend"],
                  source=source)  # fmt: skip
    return fig


def catchment_map(
    catchments: gpd.GeoDataFrame,
    subdistricts: gpd.GeoDataFrame,
    *,
    title: str,
    source: str,
    lang: str = "zh",
) -> Figure:
    """Catchment polygons (:meth:`geo.access.TravelTimes.catchment_polygons`), one light colour
    each, those over their load limit outlined in red and named, with the facilities, legend,
    scale bar, north arrow and sources."""
    text = _T["zh" if lang == "zh" else "en"]
    font = rm.cjk_font()
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    units = rm.metric(subdistricts)
    polys = rm.metric(catchments)
    over = "超出负荷上限" if lang == "zh" else "over its load limit"
    with mpl.rc_context({"font.family": [font, "DejaVu Sans"], "axes.unicode_minus": False}):
        fig, ax = rm.map_figure(title)
        if len(polys):
            polys.plot(ax=ax, column="id", cmap="tab20", alpha=0.45, edgecolor="white",
                       linewidth=0.4, zorder=1)  # fmt: skip
            flagged = polys[polys["flagged"].astype(bool)]
            if len(flagged):
                flagged.boundary.plot(ax=ax, color="#d62728", linewidth=1.6, zorder=6)
                for geom, name in zip(flagged.geometry, flagged["name"], strict=True):
                    p = geom.representative_point()
                    ax.annotate(str(name), (p.x, p.y), fontsize=7, color="#d62728", zorder=9,
                                ha="center")  # fmt: skip
        rm.base_layer(ax, units, names=False)
        points = gpd.GeoDataFrame(
            catchments.drop(columns="geometry"),
            geometry=gpd.points_from_xy(catchments["lon"], catchments["lat"]),
            crs="EPSG:4326",
        )
        drawn = rm.facilities(ax, points)
        handles: list[Artist] = [
            Line2D([], [], color="#d62728", linewidth=1.6, label=over),
            *rm.type_handles(drawn, lang),
        ]
        rm.finish(fig, ax, handles, legend_title=text["legend"], source=source)
    return fig


# --- content ----------------------------------------------------------------------------------


def _label(standard: object, lang: str) -> str:
    return str(getattr(standard, "label_zh" if lang == "zh" else "label_en"))


def _district(run: ScenarioRun | None, standard: str) -> pd.Series | None:
    if run is None:
        return None
    for r in run.results:
        if r.standard.name == standard:
            return r.district()
    return None


def _title(text: dict[str, str]) -> str:
    """The report's title, naming the area of the data folder (its ``area.toml``)."""
    return text["title"].format(**district_names())


def _plan_source() -> str:
    found = plan.current()
    return found.source if found else "no plan.toml in this data folder: no plan figures"


def _cover(run: ScenarioRun, base: ScenarioRun | None, text: dict[str, str]) -> pd.DataFrame:
    """The headline figures: indicator, scenario, base, change, plan."""
    rows = []
    has_plan = plan.current() is not None  # another area's folder may have no plan.toml
    specs = (
        ("walk_area", "walk15", "area_share", "plan_walk_area"),
        ("walk_res", "walk15", "resident_share", "plan_walk_res"),
        ("ems_km", "ems_distance", "resident_share", "plan_ems_km"),
        ("ems_min", "ems_time", "resident_share", "plan_ems_min"),
        ("per100k", "walk15", "facilities_per_100k", "plan_per100k"),
    )
    for key, std, column, plan_key in specs:
        now, before = _district(run, std), _district(base, std)
        share = column.endswith("share")

        def shown(row: pd.Series | None, column: str = column, share: bool = share) -> str:
            if row is None:
                return text["not_run"]
            value = float(row[column])
            return f"{100 * value:.2f} %" if share else f"{value:.2f}"

        change = ""
        if now is not None and before is not None:
            delta = float(now[column]) - float(before[column])
            change = f"{100 * delta:+.2f} pp" if share else f"{delta:+.2f}"
        rows.append(
            {
                text["indicator"]: text[key],
                text["scenario"]: shown(now),
                text["base"]: shown(before) if base is not None else "",
                text["change"]: change,
                text["plan"]: text[plan_key] if has_plan else "—",
            }
        )
    frame = pd.DataFrame(rows)
    if base is None:
        frame = frame.drop(columns=[text["base"], text["change"]])
    return frame


def _unit_table(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    units = table[table["code"].astype(str) != district_code()]
    district = table[table["code"].astype(str) == district_code()]
    return _as_text(pd.concat([units, district])[list(_TABLE_COLUMNS)], lang)


_DECIMALS = {"0.00%": 2, "+0.00%;-0.00%;0.00%": 2, "0.00": 2, "#,##0": 0, "0.000000": 5}


def _as_text(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The readable table (:func:`geo.readable.readable_frame`) as text: whole numbers with
    thousands separators, percentages and km² with 2 decimals, coordinates with 5 (≈ 1 m)."""
    readable = readable_frame(frame.reset_index(drop=True), lang=lang)
    out = pd.DataFrame(index=readable.index)
    for original, column in zip(frame.columns, readable.columns, strict=True):
        digits = _DECIMALS.get(number_format(str(original)) or "")
        values = readable[column]
        if digits is None:
            out[column] = values.map(lambda v: "" if v is None or v is pd.NA else str(v))
        else:
            out[column] = values.map(lambda v, d=digits: "" if pd.isna(v) else f"{float(v):,.{d}f}")
    return out


def _sites_table(comparison: Comparison | None, lang: str) -> pd.DataFrame:
    if comparison is None or comparison.sites.empty:
        return pd.DataFrame()
    cols = ["change", "name", "type", "subdistrict_zh", "lon_b", "lat_b", "moved_m"]
    sites = comparison.sites[[c for c in cols if c in comparison.sites.columns]].copy()
    if sites["moved_m"].isna().all():
        sites = sites.drop(columns="moved_m")
    removed = sites["change"] == "removed"
    for axis in ("lon", "lat"):
        sites[f"{axis}_b"] = sites[f"{axis}_b"].where(
            ~removed, comparison.sites[f"{axis}_a"]
        )  # a removed site is shown where it was
    return _as_text(sites, lang)


def _methods(run: ScenarioRun, text: dict[str, str], lang: str) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = [("", text["methods_text"])]
    for result in run.results:
        lines.append((f"## {_label(result.standard, lang)}", ""))
        lines += provenance_lines(result.metadata, lang)
    return lines


def _source_line(run: ScenarioRun, standard: str, text: dict[str, str], lang: str) -> str:
    meta = next((r.metadata for r in run.results if r.standard.name == standard), {})
    lines = dict(provenance_lines(meta, lang))
    net_key, pop_key = ("路网", "人口") if lang == "zh" else ("Network", "Population")
    return text["source"].format(net=lines.get(net_key, ""), pop=lines.get(pop_key, ""))


# --- maps -------------------------------------------------------------------------------------


def _maps(
    run: ScenarioRun,
    comparison: Comparison | None,
    units: gpd.GeoDataFrame,
    corridors: gpd.GeoDataFrame | None,
    text: dict[str, str],
    lang: str,
) -> list[tuple[str, Figure, bytes]]:
    """(title, figure, PNG) of each map."""
    out = []
    names = [r.standard.name for r in run.results]
    if "walk15" in names:
        walk = run.result("walk15")
        table = walk.table.set_index(walk.table["code"].astype(str))
        title = text["map_share"]
        fig, ax = rm.map_figure(title)
        rm.choropleth(ax, units, table["resident_share"])
        rm.base_layer(ax, units, names=True)
        source = _source_line(run, "walk15", text, lang)
        rm.finish(fig, ax, rm.share_handles(text["residents"]), legend_title=text["legend"],
                  source=source)  # fmt: skip
        out.append((title, fig, _png(fig)))

        title = text["map_cover"]
        fig, ax = rm.map_figure(title)
        rm.areas(ax, rm.metric(walk.blind_spots), AREA_COLOURS["blind"], alpha=0.35)
        rm.areas(ax, rm.metric(walk.covered), AREA_COLOURS["covered"])
        rm.base_layer(ax, units, names=True)
        drawn = rm.facilities(ax, walk.facilities)
        handles: list[Artist] = [
            rm.area_handle("covered", text["covered"]),
            rm.area_handle("blind", text["blind"]),
            *rm.type_handles(drawn, lang),
        ]
        rm.finish(fig, ax, handles, legend_title=text["legend"], source=source)
        out.append((title, fig, _png(fig)))
    ems = next((n for n in ("ems_time", "ems_distance") if n in names), None)
    if ems is not None:
        result = run.result(ems)
        title = text["map_ems"].format(label=_label(result.standard, lang))
        fig, ax = rm.map_figure(title)
        rm.areas(ax, rm.metric(result.blind_spots), AREA_COLOURS["blind"], alpha=0.18)
        rm.areas(ax, rm.metric(result.covered), AREA_COLOURS["ems"], alpha=0.8)
        rm.base_layer(ax, units, names=True)
        has_corridors = rm.corridor_lines(ax, corridors)
        drawn = rm.facilities(ax, result.facilities)
        handles = [rm.area_handle("ems", text["ems"]), rm.area_handle("blind", text["blind"])]
        if has_corridors:
            handles.append(
                Line2D([], [], color=CORRIDOR_COLOUR, linewidth=1.6, label=text["corridors"])
            )
        handles += rm.type_handles(drawn, lang)
        source = _source_line(run, ems, text, lang)
        rm.finish(fig, ax, handles, legend_title=text["legend"], source=source)
        out.append((title, fig, _png(fig)))
    if comparison is not None:
        out.append(_change_map(run, comparison, units, text, lang))
    return out


def _change_map(
    run: ScenarioRun,
    comparison: Comparison,
    units: gpd.GeoDataFrame,
    text: dict[str, str],
    lang: str,
) -> tuple[str, Figure, bytes]:
    standard = "walk15" if "walk15" in set(comparison.table["standard"]) else None
    standard = standard or str(comparison.table["standard"].iloc[0])
    title = text["map_change"].format(base=comparison.a)
    fig, ax = rm.map_figure(title)
    for layer, key in ((comparison.gained, "gained"), (comparison.lost, "lost")):
        part = layer[layer["standard"] == standard] if len(layer) else layer
        rm.areas(ax, rm.metric(part), AREA_COLOURS[key], alpha=0.75)
    rm.base_layer(ax, units, names=True)
    sites = comparison.sites
    marks = (("added", "b", "#1b9e77", "^"), ("moved", "b", "#7570b3", "D"),
             ("removed", "a", "#d95f02", "X"))  # fmt: skip
    handles: list[Artist] = [
        rm.area_handle("gained", text["gained"]),
        rm.area_handle("lost", text["lost"]),
    ]
    for change, tag, colour, marker in marks:
        part = sites[sites["change"] == change]
        points = pd.DataFrame({"lon": part[f"lon_{tag}"], "lat": part[f"lat_{tag}"]}).dropna()
        rm.sites(ax, points, colour, marker)
        handles.append(
            Line2D([], [], marker=marker, linestyle="", markerfacecolor=colour,
                      markeredgecolor="black", markersize=8,
                      label=f"{text[change]} ({len(points)})")
        )  # fmt: skip
    source = _source_line(run, standard, text, lang)
    rm.finish(fig, ax, handles, legend_title=text["legend"], source=source)
    return title, fig, _png(fig)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


# --- pages ------------------------------------------------------------------------------------


def _cover_page(name: str, cover: pd.DataFrame, text: dict[str, str]) -> Figure:
    fig = Figure(figsize=rm.A4)
    fig.text(0.5, 0.88, _title(text), ha="center", fontsize=20, fontweight="bold")
    fig.text(0.5, 0.83, f"{text['scenario']}: {name}", ha="center", fontsize=15)
    made = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    fig.text(
        0.5, 0.79, f"{text['made']}: {made} · {text['version']}: {__version__}",
        ha="center", fontsize=9, color="#444444",
    )  # fmt: skip
    ax = fig.add_axes((0.06, 0.35, 0.88, 0.38))
    ax.set_axis_off()
    _draw_table(ax, cover, fontsize=9, wrap=24)
    fig.text(0.06, 0.3, textwrap.fill(_plan_source(), 95), fontsize=8, color="#444444")
    return fig


def _table_page(title: str, frame: pd.DataFrame) -> Figure:
    fig = Figure(figsize=rm.A4)
    fig.suptitle(title, fontsize=13, fontweight="bold", y=0.965)
    ax = fig.add_axes((0.04, 0.05, 0.92, 0.87))
    ax.set_axis_off()
    _draw_table(ax, frame, fontsize=8, wrap=9, bold_last=True)
    return fig


def _sites_pages(
    title: str, sites: pd.DataFrame, comparison: Comparison | None, text: dict[str, str]
) -> list[Figure]:
    if sites.empty:
        note = text["no_sites"] if comparison is not None else text["no_base"]
        return [_text_page(title, [("", note)])]
    pages = []
    for start in range(0, len(sites), _PAGE_ROWS):
        pages.append(_table_page(title, sites.iloc[start : start + _PAGE_ROWS]))
    return pages


def _text_page(title: str, lines: Sequence[tuple[str, str]]) -> Figure:
    fig = Figure(figsize=rm.A4)
    fig.suptitle(title, fontsize=13, fontweight="bold", y=0.965)
    y = 0.92
    for label, body in lines:
        if label.startswith("## "):
            y -= 0.008
            fig.text(0.06, y, label[3:], fontsize=10, fontweight="bold", va="top")
            y -= 0.022
            continue
        content = f"{label}: {body}" if label else body
        wrapped = _wrap(content, 118)
        fig.text(0.06, y, wrapped, fontsize=7, va="top", linespacing=1.35)
        y -= 0.0125 * (wrapped.count("\n") + 1) + 0.004
    return fig


def _wrap(content: str, width: int) -> str:
    """Wrap by display width: a Chinese character takes two columns."""
    lines, line, cols = [], "", 0
    for ch in content:
        w = 2 if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 1
        if cols + w > width:
            lines.append(line)
            line, cols = "", 0
        line += ch
        cols += w
    lines.append(line)
    return "\n".join(lines)


def _draw_table(
    ax: Axes,
    frame: pd.DataFrame,
    *,
    fontsize: float,
    wrap: int,
    bold_last: bool = False,
) -> None:
    """A table filling the axes' width, columns as wide as their text needs."""
    labels = [_wrap(str(c), wrap) for c in frame.columns]
    cells = frame.astype(str).to_numpy().tolist()
    need = [
        max([_width(line) for line in labels[j].split("\n")] + [_width(r[j]) for r in cells])
        for j in range(len(labels))
    ]
    widths = [n / sum(need) for n in need]
    table = ax.table(cellText=cells, colLabels=labels, loc="upper center", colWidths=widths,
                     cellLoc="center")  # fmt: skip
    table.auto_set_font_size(False)
    table.set_fontsize(fontsize)
    table.scale(1, 1.5)
    header_lines = max(label.count("\n") + 1 for label in labels)
    for (row, _col), cell in table.get_celld().items():
        if row == 0:
            cell.set_height(cell.get_height() * header_lines**0.8)
            cell.set_text_props(fontweight="bold")
            cell.set_facecolor("#e8eef5")
        elif bold_last and row == len(frame):
            cell.set_text_props(fontweight="bold")
            cell.set_facecolor("#f2f2f2")


def _width(text: str) -> int:
    return sum(2 if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 1 for ch in text)


def _pdf(figures: Sequence[Figure], name: str) -> bytes:
    buf = io.BytesIO()
    with PdfPages(buf, metadata={"Title": f"{name} — coverage report", "Creator": "geo"}) as pdf:
        for n, fig in enumerate(figures, start=1):
            fig.text(0.95, 0.02, str(n), ha="right", fontsize=7, color="#666666")
            pdf.savefig(fig)
    return buf.getvalue()


# --- HTML -------------------------------------------------------------------------------------


def _html(
    name: str,
    cover: pd.DataFrame,
    maps: Sequence[tuple[str, Figure, bytes]],
    tables: Sequence[tuple[str, pd.DataFrame]],
    sites: pd.DataFrame,
    methods: Sequence[tuple[str, str]],
    comparison: Comparison | None,
    text: dict[str, str],
    lang: str,
) -> str:
    e = html.escape
    parts = [
        f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        '<meta charset="utf-8">'
        f"<title>{e(_title(text))} — {e(name)}</title><style>"
        "body{font-family:'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;max-width:960px;"
        "margin:auto;padding:1em;color:#222}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #bbb;padding:3px 7px;font-size:13px}th{background:#e8eef5}"
        "tr:last-child td{font-weight:bold}img{max-width:100%}</style></head><body>",
        f"<h1>{e(_title(text))}</h1><h2>{e(text['scenario'])}: {e(name)}</h2>",
        f"<p>{e(text['version'])}: {e(__version__)}</p>",
        cover.to_html(index=False, escape=True),
        f"<p>{e(_plan_source())}</p>",
    ]
    for title, _fig, png in maps:
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<h2>{e(title)}</h2><img alt="{e(title)}" src="data:image/png;base64,{data}">'
        )
    for label, frame in tables:
        parts.append(f"<h2>{e(text['table'].format(label=label))}</h2>")
        parts.append(frame.to_html(index=False, escape=True))
    base = comparison.a if comparison is not None else ""
    parts.append(f"<h2>{e(text['sites'].format(base=base))}</h2>")
    if sites.empty:
        parts.append(f"<p>{e(text['no_sites'] if comparison is not None else text['no_base'])}</p>")
    else:
        parts.append(sites.to_html(index=False, escape=True))
    parts.append(f"<h2>{e(text['methods'])}</h2><dl>")
    for label, body in methods:
        if label.startswith("## "):
            parts.append(f"</dl><h3>{e(label[3:])}</h3><dl>")
        elif label:
            parts.append(f"<dt><b>{e(label)}</b></dt><dd>{e(body)}</dd>")
        else:
            parts.append(f"<p>{e(body)}</p>")
    parts.append("</dl></body></html>")
    return "\n".join(parts)
