"""Static maps for the scenario report, drawn offline with geopandas + matplotlib (no tiles).

Every map is drawn in UTM 51N (EPSG:32651), so the scale bar is true, with the app's colours
(:mod:`geo.maps`), a legend, a scale bar, a north arrow and a source line.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

from geo import settings
from geo._errors import ExportError
from geo.facilities import FACILITY_TYPES
from geo.maps import AREA_COLOURS, CORRIDOR_COLOUR, SHARE_COLOURS, TYPE_STYLE

__all__: list[str] = []  # plumbing of geo.report

#: CJK fonts tried in order (Debian fonts-noto-cjk, fonts-wqy-microhei, ...).
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
)

#: A4 portrait in inches.
A4 = (8.27, 11.69)

#: Geometry simplification before drawing (metres): far below a printed pixel at A4 scale.
SIMPLIFY_M = 15.0


def cjk_font() -> str:
    """The family name of an installed CJK font.

    Raises
    ------
    ExportError
        No CJK font is installed (names the Debian packages that provide one).
    """
    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in names:
            return name
    msg = (
        f"no CJK font found for the report (tried {', '.join(CJK_FONTS)}): install the Debian "
        "package fonts-noto-cjk or fonts-wqy-microhei"
    )
    raise ExportError(msg)


def font_path(family: str) -> str:
    """The file of a font family (to check which glyphs it has)."""
    return str(font_manager.findfont(font_manager.FontProperties(family=family)))


def metric(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A layer in UTM 51N with simplified, valid geometries (empty rows dropped)."""
    if gdf is None or len(gdf) == 0:
        return gpd.GeoDataFrame(geometry=[], crs=settings.metric_crs)
    out = gdf.to_crs(settings.metric_crs)
    out = out[~(out.geometry.isna() | out.geometry.is_empty)].copy()
    if out.geom_type.isin(["Polygon", "MultiPolygon", "LineString", "MultiLineString"]).any():
        out["geometry"] = out.geometry.simplify(SIMPLIFY_M, preserve_topology=True)
    return out


def map_figure(title: str) -> tuple[Figure, Axes]:
    """An A4 page with one map axes and a title."""
    fig = Figure(figsize=A4)
    fig.suptitle(title, fontsize=14, fontweight="bold", y=0.975)
    ax = fig.add_axes((0.05, 0.17, 0.9, 0.76))
    ax.set_axis_off()
    return fig, ax


def base_layer(ax: Axes, units: gpd.GeoDataFrame, *, names: bool) -> None:
    """Subdistrict outlines and, if asked, their names at a point inside each."""
    units.boundary.plot(ax=ax, color="#555555", linewidth=0.6, zorder=5)
    if names:
        for geom, name in zip(units.geometry, units["name_zh"], strict=True):
            p = geom.representative_point()
            ax.annotate(
                str(name), (p.x, p.y), ha="center", va="center", fontsize=7, zorder=9,
                color="#222222",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7},
            )  # fmt: skip
    xmin, ymin, xmax, ymax = units.total_bounds
    pad = 0.03 * max(xmax - xmin, ymax - ymin)
    ax.set_xlim(xmin - pad, xmax + pad)
    ax.set_ylim(ymin - pad, ymax + pad)
    ax.set_aspect("equal")


def choropleth(
    ax: Axes, units: gpd.GeoDataFrame, shares: pd.Series, bounds: Sequence[float] | None = None
) -> None:
    """Units coloured in the app's six steps: shares 0–1 (0–20–40–60–80–100 %) by default, or
    any value between the seven ``bounds``."""
    cmap = ListedColormap(list(SHARE_COLOURS))
    edges = list(bounds) if bounds is not None else [0, 0.2, 0.4, 0.6, 0.8, 0.9999, 1.0001]
    norm = BoundaryNorm(edges, cmap.N)
    values = units["code"].astype(str).map(shares).astype(float)
    units.assign(share=values).plot(
        ax=ax, column="share", cmap=cmap, norm=norm, edgecolor="none", zorder=1,
        missing_kwds={"color": "#eeeeee"},
    )  # fmt: skip


def areas(ax: Axes, layer: gpd.GeoDataFrame, colour: str, *, alpha: float = 0.55) -> None:
    if len(layer):
        layer.plot(ax=ax, color=colour, alpha=alpha, edgecolor="none", zorder=2)


def facilities(ax: Axes, gdf: gpd.GeoDataFrame, types: Sequence[str] | None = None) -> list[str]:
    """Facilities as dots coloured by type; returns the types drawn (for the legend)."""
    if len(gdf) == 0:
        return []
    pts = gdf.to_crs(settings.metric_crs)
    drawn = []
    for code, (colour, size) in TYPE_STYLE.items():
        if types is not None and code not in types:
            continue
        part = pts[pts["type"] == code]
        if len(part):
            part.plot(
                ax=ax, color=colour, markersize=size * 2.4, edgecolor="black", linewidth=0.6,
                zorder=7,
            )  # fmt: skip
            drawn.append(code)
    return drawn


def sites(ax: Axes, points: pd.DataFrame, colour: str, marker: str) -> None:
    """Changed sites from a comparison's ``lon/lat`` columns."""
    if len(points) == 0:
        return
    gdf = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(points["lon"], points["lat"]), crs=settings.wgs84_crs
    ).to_crs(settings.metric_crs)
    gdf.plot(ax=ax, color=colour, marker=marker, markersize=42, edgecolor="black",
             linewidth=0.6, zorder=8)  # fmt: skip


def corridor_lines(ax: Axes, corridors: gpd.GeoDataFrame | None) -> bool:
    if corridors is None or len(corridors) == 0:
        return False
    metric(corridors).plot(ax=ax, color=CORRIDOR_COLOUR, linewidth=1.4, alpha=0.8, zorder=4)
    return True


def type_handles(types: Sequence[str], lang: str) -> list[Line2D]:
    handles = []
    for code in types:
        colour, size = TYPE_STYLE[code]
        ftype = FACILITY_TYPES[code]
        label = ftype.name_zh if lang == "zh" else ftype.name_en
        handles.append(
            Line2D([], [], marker="o", linestyle="", markerfacecolor=colour,
                   markeredgecolor="#333333", markersize=5 + size / 3, label=label)
        )  # fmt: skip
    return handles


def area_handle(key: str, label: str) -> Patch:
    return Patch(facecolor=AREA_COLOURS[key], alpha=0.6, label=label)


def share_handles(label: str, steps: Sequence[str] | None = None) -> list[Patch]:
    steps = steps or ["0–20 %", "20–40 %", "40–60 %", "60–80 %", "80–100 %", "100 %"]
    return [
        Patch(facecolor=c, edgecolor="#999999", label=f"{label} {s}" if i == 0 else s)
        for i, (c, s) in enumerate(zip(SHARE_COLOURS, steps, strict=True))
    ]


def finish(
    fig: Figure, ax: Axes, handles: Sequence[Artist], *, legend_title: str, source: str
) -> None:
    """Legend, scale bar (km), north arrow and the source line."""
    if handles:
        ax.legend(
            handles=list(handles), title=legend_title, loc="upper right", fontsize=8,
            title_fontsize=9, framealpha=0.92,
        )  # fmt: skip
    xmin, xmax = ax.get_xlim()
    km = _nice_km((xmax - xmin) / 5000)
    ax.add_artist(
        AnchoredSizeBar(
            ax.transData, km * 1000, f"{km:g} km", loc="lower right", pad=0.6, sep=4,
            frameon=True, size_vertical=(xmax - xmin) / 300, fontproperties={"size": 8},
        )
    )  # fmt: skip
    ax.annotate(
        "N", xy=(0.04, 0.97), xytext=(0.04, 0.89), xycoords="axes fraction", ha="center",
        va="center", fontsize=11, fontweight="bold",
        arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.5},
    )  # fmt: skip
    fig.text(0.05, 0.05, source, fontsize=7, color="#333333", wrap=True, va="bottom")


def _nice_km(target: float) -> float:
    """A round scale-bar length near ``target`` km (1, 2, 5, 10, ...)."""
    if target <= 0:
        return 1.0
    exp = np.floor(np.log10(target))
    for step in (1.0, 2.0, 5.0, 10.0):
        if step * 10**exp >= target:
            return float(step * 10**exp)
    return float(10 ** (exp + 1))
