"""Tables a planner can forward: whole residents, km² to 2 decimals, shares in percent, headers
in 中文 or English.

Every table the product writes (coverage, comparison, suggested sites, per-街镇 summaries) goes
through :func:`readable_frame` for CSV and the Excel sheets a person reads; the full-precision
table stays available (``--raw`` CSV, the Excel ``data`` sheet). Columns are recognised by
name, so one rule serves every table:

=============================  ===================================  =========================
column                         CSV (readable)                       Excel number format
=============================  ===================================  =========================
``*_share``                    percent, 2 decimals (85.84)          ``0.00%`` on the fraction
``*_share_delta``              percentage points, 2 decimals        ``+0.00%;-0.00%;0.00%``
``*_km2``                      2 decimals                           ``0.00``
``*residents*``, ``covered_*``  whole numbers                        ``#,##0``
``facilities``, ``n_<type>``   whole numbers                        ``#,##0``
``facilities_per_100k``        2 decimals                           ``0.00``
``*_m`` (metres)               whole metres                         ``#,##0``
``lon``, ``lat``               6 decimals (≈ 0.1 m)                 ``0.000000``
=============================  ===================================  =========================

A column may end in ``_a``, ``_b`` or ``_delta`` (comparisons: base, scenario, change); it is
treated as its stem and labelled with the suffix.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from geo.facilities import FACILITY_TYPES

__all__ = ["COLUMN_LABELS", "column_label", "number_format", "readable_frame", "status_text"]

#: Header of each known column: (中文, English). Facility-type counts ``n_<type>`` use the type's
#: names from :data:`geo.facilities.FACILITY_TYPES`.
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "code": ("街镇代码", "code"),
    "name_zh": ("街镇", "subdistrict (zh)"),
    "name_en": ("街镇（英文）", "subdistrict"),
    "boundary_status": ("边界", "boundary"),
    "area_km2": ("面积 km²", "area km²"),
    "covered_km2": ("覆盖面积 km²", "covered km²"),
    "area_share": ("面积覆盖率 %", "area covered %"),
    "residents": ("常住人口", "residents"),
    "covered_residents": ("覆盖人口", "residents covered"),
    "resident_share": ("人口覆盖率 %", "residents covered %"),
    "off_network_residents": ("路网外人口", "residents off the network"),
    "facilities": ("设施数", "facilities"),
    "facilities_per_100k": ("每十万人设施数", "facilities per 100,000 residents"),
    "standard": ("标准", "standard"),
    "change": ("变动", "change"),
    "id": ("编号", "id"),
    "name": ("名称", "name"),
    "type": ("类型", "type"),
    "type_zh": ("类型", "type (zh)"),
    "role": ("角色", "role"),
    "status": ("状态", "status"),
    "subdistrict_code": ("街镇代码", "subdistrict code"),
    "subdistrict_zh": ("街镇", "subdistrict (zh)"),
    "subdistrict_en": ("街镇（英文）", "subdistrict"),
    "road_name": ("道路", "road"),
    "on_corridor": ("位于三纵四横", "on a corridor"),
    "rank": ("排序", "rank"),
    "residents_reached": ("可达人口", "residents reached"),
    "residents_new": ("新增覆盖人口", "residents newly covered"),
    "candidate_id": ("候选点编号", "candidate id"),
    "source": ("来源", "source"),
    "lon": ("经度", "lon"),
    "lat": ("纬度", "lat"),
    "moved_m": ("移动距离 m", "moved m"),
    "candidates": ("候选点数", "candidates"),
    "chosen": ("选中数", "chosen"),
    "covered_before": ("原覆盖人口", "residents covered before"),
    "covered_after": ("新覆盖人口", "residents covered after"),
    "share_before": ("原人口覆盖率 %", "residents covered before %"),
    "share_after": ("新人口覆盖率 %", "residents covered after %"),
    "quota": ("规划指标", "quota"),
    "beyond_limit_residents": ("超出搜索范围人口", "residents beyond the search limit"),
    "nearest": ("最近设施", "nearest facility"),
    "load_limit": ("负荷上限", "load limit"),
    "flagged": ("超负荷", "over the load limit"),
    "capacity": ("容量", "capacity"),
    "capacity_source": ("容量来源", "capacity source"),
    "demand": ("加权需求人口", "weighted demand"),
    "ratio": ("供需比", "supply per resident"),
    "access": ("每千人可及供给", "supply per 1,000 residents"),
    "target": ("规划目标", "plan target"),
    "gap": ("与目标差距", "gap to target"),
    "threshold": ("阈值", "threshold"),
    "share": ("居民占比", "share of residents"),
}

_SUFFIXES = {
    "a": ("（基准）", " (base)"),
    "b": ("（情景）", " (scenario)"),
    "delta": ("（变化）", " (change)"),
}
_SUFFIX = re.compile(r"^(?P<stem>.+)_(?P<tag>a|b|delta)$")

#: Values of text columns given in 中文: site changes.
_VALUES_ZH = {"change": {"added": "新增", "moved": "移动", "removed": "移除"}}


def _split(column: str) -> tuple[str, str | None]:
    m = _SUFFIX.match(column)
    if m and (m["stem"] in COLUMN_LABELS or _kind(m["stem"]) != "text"):
        return m["stem"], m["tag"]
    return column, None


def _kind(stem: str) -> str:
    if stem.endswith("_share") or stem.startswith("share_") or stem == "share":
        return "share"
    if stem.endswith("_km2"):
        return "km2"
    if stem in ("facilities_per_100k", "access", "target", "gap", "capacity") or re.fullmatch(
        r"(mean|median|p90)_(min|km)", stem
    ):
        return "ratio"
    if "residents" in stem or stem.startswith("covered_") or stem == "population":
        return "people"
    if stem in ("facilities", "candidates", "chosen", "quota", "rank") or stem.startswith("n_"):
        return "count"
    if stem.endswith("_m"):
        return "metres"
    if stem in ("lon", "lat") or stem.startswith(("lon_", "lat_")):
        return "coord"
    return "text"


def column_label(column: str, lang: str = "zh") -> str:
    """The header of a column in one language (the column name itself when unknown)."""
    stem, tag = _split(column)
    i = 0 if lang == "zh" else 1
    coord = re.fullmatch(r"(lon|lat)_(a|b)", column)
    if coord:
        stem, tag = coord[1], coord[2]
    within = re.fullmatch(r"share_within_(?P<t>[\d.]+)(?P<u>min|km)", stem)
    stat = re.fullmatch(r"(?P<s>mean|median|p90)_(?P<u>min|km)", stem)
    if within:
        zh_unit = "分钟" if within["u"] == "min" else " km"
        base = (
            f"{within['t']}{zh_unit}内居民占比 %"
            if lang == "zh"
            else f"residents within {within['t']} {within['u']} %"
        )
    elif stat:
        names = {"mean": ("平均", "mean"), "median": ("中位数", "median"), "p90": ("90分位", "p90")}
        units = {"min": ("分钟", "min"), "km": ("km", "km")}
        base = (
            f"{names[stat['s']][i]} {units[stat['u']][i]}"
            if lang != "zh"
            else (f"{names[stat['s']][0]}（{units[stat['u']][0]}）")
        )
    elif stem in COLUMN_LABELS:
        base = COLUMN_LABELS[stem][i]
    elif stem.startswith("n_") and stem[2:] in FACILITY_TYPES:
        ftype = FACILITY_TYPES[stem[2:]]
        base = ftype.name_zh if lang == "zh" else ftype.name_en
    else:
        base = stem
    if tag is None:
        return base
    if tag == "delta" and _kind(stem) == "share":
        base = base.replace("%", "pp") if lang != "zh" else base.replace("%", "百分点")
    return base + _SUFFIXES[tag][i]


def number_format(column: str) -> str | None:
    """The Excel number format of a column of :func:`readable_frame` ``(for_excel=True)``."""
    stem, tag = _split(column)
    kind = _kind(stem)
    if kind == "share":
        return "+0.00%;-0.00%;0.00%" if tag == "delta" else "0.00%"
    if kind in ("km2", "ratio"):
        return "0.00"
    if kind in ("people", "count", "metres"):
        return "#,##0"
    if kind == "coord":
        return "0.000000"
    return None


def readable_frame(
    frame: pd.DataFrame, *, lang: str = "zh", for_excel: bool = False
) -> pd.DataFrame:
    """A table rounded for reading, with headers in one language.

    Parameters
    ----------
    frame
        A product table (coverage, comparison, sites); a geometry column is dropped.
    lang
        ``"zh"`` (headers and change values in 中文) or ``"en"``.
    for_excel
        Keep shares as fractions (rounded to 4 decimals, i.e. 2 in percent) for a ``0.00%``
        number format; otherwise shares are written in percent (85.84).

    Returns
    -------
    pandas.DataFrame
        Same rows; numbers stay numeric (whole residents as ``Int64``, missing as empty).
    """
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        if column == "geometry":
            continue
        values = frame[column]
        stem, _tag = _split(str(column))
        kind = _kind(stem)
        if kind != "text" and not pd.api.types.is_bool_dtype(values):
            values = pd.to_numeric(values, errors="coerce").astype(float)
            values = values.where(np.isfinite(values))
            if kind == "share":
                values = values.round(4) if for_excel else (100 * values).round(2)
            elif kind in ("km2", "ratio"):
                values = values.round(2)
            elif kind in ("people", "count", "metres"):
                values = values.round(0).astype("Int64")
            elif kind == "coord":
                values = values.round(6)
        elif lang == "zh" and stem in _VALUES_ZH:
            values = values.map(lambda v, m=_VALUES_ZH[stem]: m.get(v, v))
        elif stem == "boundary_status":
            values = values.map(lambda v: status_text(v, lang) if isinstance(v, str) else v)
        elif stem == "type":
            values = values.map(lambda v: _type_name(v, lang))
        label = column_label(str(column), lang)
        out[label if label not in out.columns else f"{label} ({column})"] = values
    return out


def _type_name(value: object, lang: str) -> object:
    ftype = FACILITY_TYPES.get(value) if isinstance(value, str) else None
    if ftype is None:
        return value
    return ftype.name_zh if lang == "zh" else ftype.name_en


def status_text(status: str, lang: str) -> str:
    """A boundary status in the chosen language (the district row lists the approximate units,
    by their Chinese names in both languages)."""
    if lang != "zh":
        return status
    for en, zh in (
        ("partly approximate", "部分近似"),
        ("surveyed", "实测"),
        ("approximate", "近似"),
    ):
        if status.startswith(en):
            return zh + status[len(en) :].strip().replace("(", "（").replace(")", "）")
    return status
