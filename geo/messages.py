"""Planner-facing messages in Chinese: the library's errors, row reasons and provenance lines.

The library raises and records its messages in English (logs, the CLI, tests); a front end that
shows 中文 passes each through :func:`localise`. The catalogue below matches whole lines, so a
message is either translated completely or shown as it is — never half. File names, values and
column names inside a message are kept as the planner typed them.

Multi-line messages (a :class:`~geo.RowError` with its row lines) are translated line by line; a
row line ``row 5: `lon`=…: reason`` keeps its value and translates its reason.
"""

from __future__ import annotations

import re

import pandas as pd

from geo.facilities import FACILITY_TYPES, STATUSES

__all__ = ["CATALOGUE", "COLUMNS_ZH", "VALUES_ZH", "localise", "localise_all", "localise_frame"]

#: Chinese headers of the planner-facing check tables (rejected rows, rows placed by address).
COLUMNS_ZH: dict[str, str] = {
    "row": "行",
    "field": "字段",
    "value": "值",
    "reason": "原因",
    "name": "名称",
    "address": "地址",
    "match_level": "匹配级别",
    "confidence": "置信度",
    "review": "待核查",
    "lon": "经度",
    "lat": "纬度",
}

#: Chinese values of coded columns in those tables.
VALUES_ZH: dict[str, dict[object, str]] = {
    "match_level": {
        "manual": "人工定位",
        "intersection": "路口",
        "road+number": "门牌号",
        "road": "道路",
        "subdistrict": "街镇",
        "none": "未匹配",
    },
    "review": {True: "是", False: "否"},
}

_WHAT = {"facility": "设施", "population": "人口", "address": "地址", "register": "设施清单"}

#: (English pattern, Chinese template). Named groups are filled in as they are, except
#: ``inner*`` (translated in turn), ``what`` (a noun above) and ``types`` (the valid facility
#: types, listed in Chinese). First full match wins, so specific patterns come first.
CATALOGUE: tuple[tuple[str, str], ...] = (
    # --- reading a file ---------------------------------------------------------------------
    (r"file not found: (?P<p>.+)", "找不到文件：{p}"),
    (
        r"(?P<p>.+): not a file \(a directory or a device\); give a \.csv or \.xlsx file",
        "{p}：不是文件（是文件夹或设备）；请提供 .csv 或 .xlsx 文件",
    ),
    (
        r"(?P<f>.+): unsupported table format (?P<s>.+); use \.csv \(or \.csv\.gz\), \.xlsx or "
        r"\.xls",
        "{f}：不支持的表格格式 {s}；请使用 .csv（或 .csv.gz）或 .xlsx",
    ),
    (
        r"(?P<f>.+): old Excel \(\.xls\) files are not read; save it as \.xlsx or CSV",
        "{f}：不读取旧版 Excel（.xls）文件；请另存为 .xlsx 或 CSV",
    ),
    (
        r"(?P<f>.+): cannot be read as an Excel workbook \((?P<e>\w+)\); is it really \.xlsx\? "
        r"save it again from Excel, or as UTF-8 CSV",
        "{f}：无法作为 Excel 工作簿读取（{e}）；它真的是 .xlsx 吗？请用 Excel 重新保存，"
        "或另存为 UTF-8 CSV",
    ),
    (
        r"(?P<f>.+) is empty: expected a header row and at least one data row",
        "{f} 是空文件：需要一行表头和至少一行数据",
    ),
    (
        r"(?P<f>.+): not a well-formed CSV table \((?P<e>.+)\); check quotes and commas",
        "{f}：不是格式正确的 CSV 表格（{e}）；请检查引号和逗号",
    ),
    (
        r"(?P<f>.+): cannot decode the file as UTF-8 or GB18030; save it as UTF-8 CSV",
        "{f}：无法按 UTF-8 或 GB18030 解码；请另存为 UTF-8 CSV",
    ),
    (
        r"(?P<f>.+): looks like Big5 \(traditional Chinese\) — read as GB18030, (?P<r>\d+) of "
        r"its (?P<n>\d+) Chinese characters would be rare symbols, so it is not read; save it as "
        r"UTF-8 CSV \(Excel: Save As → CSV UTF-8\) or as \.xlsx",
        "{f}：看起来是 Big5（繁体中文）编码——按 GB18030 读取时，{n} 个汉字中有 {r} 个会成为"
        "罕用符号，因此不读取；请另存为 UTF-8 CSV（Excel：另存为 → CSV UTF-8）或 .xlsx",
    ),
    (
        r"(?P<s>.+): columns (?P<a>.+) and (?P<b>.+) both mean `(?P<field>\w+)`; keep one",
        "{s}：列 {a} 与 {b} 都表示 `{field}`；请只保留一列",
    ),
    (
        r"(?P<s>.+): missing required column\(s\) (?P<m>\[.*?\])\. Columns found: "
        r"(?P<c>\[.*\])\. Accepted headers — (?P<accepted>.+)",
        "{s}：缺少必填列 {m}。文件中的列：{c}。可用的列名 — {accepted}",
    ),
    (
        r"(?P<s>.+) holds no facility rows \(only a header, or nothing\)",
        "{s} 没有设施数据行（只有表头，或为空）",
    ),
    (
        r"(?P<s>.+) holds (?P<n>[\d,]+) rows; a facility list may hold at most (?P<m>[\d,]+) "
        r"\(a district register has hundreds\): split the file",
        "{s} 有 {n} 行；设施清单最多 {m} 行（一个区的清单通常只有数百行）：请拆分文件",
    ),
    (
        r"unknown coordinate system (?P<c>.+); use wgs84, gcj02 \(AMap\) or bd09(?: \(Baidu\))?",
        "未知的坐标系 {c}；请使用 wgs84、gcj02（高德）或 bd09（百度）",
    ),
    (
        r"(?P<s>.+): residential address file needs columns (?P<c>.+)",
        "{s}：居住地址文件须包含列 {c}",
    ),
    # --- rejected rows ----------------------------------------------------------------------
    (
        r"(?P<s>.+): (?P<n>\d+) invalid (?P<what>\w+) row\(s\) \(rows are numbered as in a "
        r"spreadsheet, header = row 1\):",
        "{s}：{n} 行{what}数据无效（行号与电子表格一致，表头为第 1 行）：",
    ),
    (r"(?P<i>\s*)\.\.\. and (?P<n>\d+) more \(see the error's \.problems\)", "{i}……另有 {n} 条"),
    (
        r"(?P<i>\s*)row (?P<r>\d+): `(?P<field>[^`]+)`=(?P<v>.*?): (?P<inner>.+)",
        "{i}第 {r} 行：`{field}`={v}：{inner}",
    ),
    (r"not a number", "不是数字"),
    (r"must be ≥ (?P<m>\S+)", "须 ≥ {m}"),
    (r"must be a number ≥ 0", "须为 ≥ 0 的数字"),
    (r"a facility needs a name", "设施须有名称"),
    (r"unknown facility type; valid types: .+", "未知的设施类型；可用的类型：{types}"),
    (r"unknown facility type (?P<t>.+); valid: .+", "未知的设施类型 {t}；可用的类型：{types}"),
    (r"duplicate id \(first used on row (?P<r>\d+)\)", "id 重复（第 {r} 行已用过）"),
    (
        r"unknown status; use one of .+ \(or 现有/规划/在建/关闭\)",
        "未知的状态；请使用 现有/规划/在建/关闭（或 {statuses}）",
    ),
    (
        r"unknown coordinate system; use wgs84, gcj02 \(AMap\) or bd09 \(Baidu\)",
        "未知的坐标系；请使用 wgs84、gcj02（高德）或 bd09（百度）",
    ),
    (
        r"unknown subdistrict; valid(?: units are)?: (?P<units>.+)",
        "未知的街镇；可用的街镇：{units}",
    ),
    (r"longitude is missing", "缺少经度"),
    (r"latitude is missing", "缺少纬度"),
    (
        r"looks swapped with lat=(?P<lat>\S+): did you swap lon/lat\? \(Minhang lon "
        r"(?P<r>\S+)\)",
        "与纬度 lat={lat} 似乎填反了：经纬度是否对调？（闵行区经度 {r}）",
    ),
    (
        r"\((?P<p>[^)]+)\) is outside Minhang \(lon (?P<x>\S+), lat (?P<y>\S+), 500 m "
        r"tolerance\); check the coordinates and their system \(WGS-84/GCJ-02/BD-09\)",
        "（{p}）不在闵行区内（经度 {x}，纬度 {y}，容差 500 米）；请检查坐标及其坐标系"
        "（WGS-84/GCJ-02/BD-09）",
    ),
    (r"listed twice \(row (?P<r>\d+)\)", "重复列出（第 {r} 行）"),
    # --- notes on a list ----------------------------------------------------------------------
    (
        r"WARNING: (?P<n>[\d,]+) of (?P<m>[\d,]+) rows of (?P<s>.+) \((?P<p>[\d.]+)%\) lie "
        r"outside the district \(lon (?P<x>\S+), lat (?P<y>\S+)\): is the list for another "
        r"district, or are its coordinates in another system \(WGS-84/GCJ-02/BD-09\) or swapped\?",
        "警告：{s} 的 {m} 行中有 {n} 行（{p}%）不在本区内（经度 {x}，纬度 {y}）：这份清单是否"
        "属于别的区？坐标是否为其他坐标系（WGS-84/GCJ-02/BD-09），或经纬度对调？",
    ),
    (
        r"(?P<n>\d+) row\(s\) declare a subdistrict other than the one their coordinates fall "
        r"in; the location is used: (?P<rest>.+?)(?: \(and (?P<more>\d+) more\))?",
        "{n} 行填写的街镇与坐标所在街镇不同，以坐标位置为准：{rest}{more}",
    ),
    (
        r"row (?P<r>\d+) (?P<name>.+): declared (?P<d>.+), located in (?P<l>.+)",
        "第 {r} 行 {name}：填写 {d}，位于 {l}",
    ),
    (r"(?P<n>\d+) blank row\(s\) skipped", "跳过 {n} 个空行"),
    (
        r"(?P<n>\d+) template example row\(s\) \(id EXAMPLE…\) skipped",
        "跳过 {n} 个模板示例行（id 以 EXAMPLE 开头）",
    ),
    # --- editing and saving scenarios ---------------------------------------------------------
    (
        r"\((?P<lon>\S+), (?P<lat>\S+)\) is outside the district: place sites inside Minhang",
        "（{lon}, {lat}）在区界之外：请在闵行区内选址",
    ),
    (
        r"a facility named (?P<n>.+) exists already; choose another name",
        "已有名为 {n} 的设施；请换一个名称",
    ),
    (
        r"this scenario does not run walk15; the curve is for new community sites",
        "本情景未计算 walk15（步行 15 分钟）；该曲线用于新增社区站点",
    ),
    (
        r"(?P<n>.+) is a shipped scenario and cannot be replaced; save your edits under another "
        r"name",
        "{n} 是随附情景，不能替换；请用其他名称保存修改",
    ),
    (r"(?P<n>.+) is a shipped scenario; choose another name", "{n} 是随附情景；请换一个名称"),
    (
        r"cannot save (?P<n>.+): it is in its own base chain \((?P<c>.+)\); choose another name",
        "无法保存 {n}：它在自己的基准链中（{c}）；请换一个名称",
    ),
    (
        r"scenario (?P<n>.+) exists \((?P<f>.+)\); choose another name or replace it",
        "情景 {n} 已存在（{f}）；请换一个名称，或选择替换",
    ),
    (
        r"scenario (?P<n>.+): no valid facility to store \(every row was rejected\)",
        "情景 {n}：没有可保存的有效设施（所有行均被拒绝）",
    ),
    (
        r"(?P<p>.+) already exists?: pass overwrite=True to replace, or choose another file name",
        "{p} 已存在：请勾选替换，或换一个名称",
    ),
    (
        r"`name`=(?P<n>.+) must not contain / \\ : \* \? \" < > \| or control characters",
        '名称 {n} 不能包含 / \\ : * ? " < > | 或控制字符',
    ),
    (
        r"`name`=(?P<n>.+) must not start with a dot or a space, nor end with a space",
        "名称 {n} 不能以点或空格开头，也不能以空格结尾",
    ),
    (
        r"`name` is (?P<k>\d+) characters long; at most (?P<m>\d+)",
        "名称长 {k} 个字符；最多 {m} 个",
    ),
    (r"`name` is required \(.*\)", "必须填写名称"),
    (r"add (?P<n>.+) \((?P<i>[^()]+)\)", "新增 {n}（{i}）"),
    (r"move (?P<n>.+) \((?P<i>[^()]+)\)", "移动 {n}（{i}）"),
    (r"remove (?P<n>.+) \((?P<i>[^()]+)\)", "移除 {n}（{i}）"),
    # --- population files ---------------------------------------------------------------------
    (
        r"population file (?P<f>.+): unsupported format; use a table by 街镇 \(\.csv, \.xlsx\) "
        r"or a GeoTIFF \(\.tif\)",
        "人口文件 {f}：不支持的格式；请使用按街镇的表格（.csv、.xlsx）或 GeoTIFF（.tif）",
    ),
    (r"population file (?P<f>[^:]+): (?P<inner>.+)", "人口文件 {f}：{inner}"),
    (r"cannot read population raster (?P<p>.+?): (?P<e>.+)", "无法读取人口栅格 {p}：{e}"),
    (
        r"population raster (?P<f>.+) has no CRS; set one \(e\.g\. EPSG:4326\) before use",
        "人口栅格 {f} 没有坐标参考系；请先设置（如 EPSG:4326）",
    ),
    (
        r"population raster (?P<f>.+): (?P<n>\d+) cells are infinite; fix the raster",
        "人口栅格 {f}：{n} 个像元为无穷大；请修正栅格",
    ),
    (
        r"population raster (?P<f>.+) holds no populated cell \(all zero, negative or nodata\); "
        r"check the band and the nodata value",
        "人口栅格 {f} 没有有人口的像元（全为零、负数或无数据）；请检查波段和无数据值",
    ),
    (
        r"population raster (?P<f>.+): none of its (?P<n>[\d,]+) populated cells lies in the "
        r"district; is its CRS \((?P<c>.+)\) right, and does it cover the district\?",
        "人口栅格 {f}：{n} 个有人口的像元都不在本区内；坐标参考系（{c}）是否正确？"
        "栅格是否覆盖本区？",
    ),
    # --- provenance lines of the shipped data -------------------------------------------------
    (
        r"Minhang data pack (?P<d>\S+) \(OSM via Overpass\)",
        "闵行数据包 {d}（OSM，经 Overpass 下载）",
    ),
    (
        r"proxy: (?P<n>\d+) residential addresses \((?P<y>\d+)\) scaled to census 2020 total "
        r"(?P<t>[\d,]+)",
        "代理人口：{n} 个居住地址（{y} 年），按 2020 年人口普查总数 {t} 人缩放",
    ),
    (
        r"(?P<n>\d+) residential addresses \((?P<y>\d+) public-health bulletins, AMap-geocoded\) "
        r"given equal weight (?P<w>[\d.,]+)",
        "{n} 个居住地址（{y} 年公共卫生公告，高德地理编码），每个地址权重 {w} 人",
    ),
    (
        r"(?P<n>\d+) addresses lie outside every subdistrict: excluded",
        "{n} 个地址不在任何街镇内，已排除",
    ),
    (r"(?P<inner>.+) as opened", "{inner}（打开时）"),
    (r"base scenario (?P<n>.+)", "基准情景 {n}"),
    (
        r"(?P<n>\d+) facilities from OpenStreetMap health facilities, Minhang data pack "
        r"\(May 2026, ODbL\) \((?P<r>\d+) rows read\); (?P<m>\d+) duplicate records merged",
        "{n} 个设施，来自闵行数据包 OpenStreetMap 医疗卫生设施（2026年5月，ODbL；读取 {r} 行，"
        "合并重复记录 {m} 条）",
    ),
    # --- provenance lines of an area built by geo area init -------------------------------------
    (
        r"(?P<n>\d+) facilities from OpenStreetMap health facilities of (?P<a>.+?) "
        r"\((?P<f>[^()]+)\) \((?P<r>\d+) rows read\)",
        "{n} 个设施，来自{a}的 OpenStreetMap 医疗卫生设施（{f}；读取 {r} 行）",
    ),
    (
        r"raster (?P<f>.+): (?P<n>[\d,]+) residents in (?P<c>\d+) cells",
        "人口栅格 {f}：{c} 个像元，共 {n} 人",
    ),
    (
        r"(?P<a>.+?): (?P<f>\S+) \(OpenStreetMap, newest object (?P<d>[^)]+)\)",
        "{a}：{f}（OpenStreetMap，最新对象 {d}）",
    ),
    (r"not used \(no plan\.toml\)", "未使用（无 plan.toml）"),
    (r"not used", "未使用"),
    (r"none \(straight line\)", "无（直线距离）"),
    (r"scenario (?P<n>.+) with (?P<k>\d+) edits", "情景 {n}，本次编辑 {k} 处"),
    (r"(?P<n>\d+) facilities", "{n} 个设施"),
    (r"(?P<n>\d+) address rows", "{n} 行地址"),
    (r"coverage (?P<s>\w+)", "覆盖 {s}"),
    (r"comparison (?P<b>.+) vs (?P<a>.+)", "比较：{b} 对 {a}"),
    (r"suggested sites (?P<s>\w+)", "建议选址 {s}"),
    (r"geocoded addresses", "地址地理编码"),
)

_CJK = re.compile(r"[\u4e00-\u9fff]")
_COMPILED = tuple((re.compile(p, re.DOTALL), zh) for p, zh in CATALOGUE)


def _zh_line(line: str) -> str:
    for pattern, template in _COMPILED:
        m = pattern.fullmatch(line)
        if m is None:
            continue
        groups = {k: (v or "") for k, v in m.groupdict().items()}
        for key, value in groups.items():
            if key.startswith("inner"):
                groups[key] = _zh_line(value)
        if "what" in groups:
            groups["what"] = _WHAT.get(groups["what"], groups["what"])
        if groups.get("more"):
            groups["more"] = f"（另有 {groups['more']} 行）"
        groups["types"] = "、".join(t.name_zh for t in FACILITY_TYPES.values())
        groups["statuses"] = "/".join(STATUSES)
        if "accepted" in groups:  # the Chinese headers a file may use, per field
            groups["accepted"] = "；".join(
                f"`{field}`：{'、'.join(a for a in aliases.split(', ') if _CJK.search(a))}"
                for field, aliases in (
                    part.split(": ", 1) for part in groups["accepted"].split("; ") if ": " in part
                )
            )
        if "units" in groups:  # names without their English translations
            groups["units"] = re.sub(r" \([^)]*\)", "", groups["units"])
        if "rest" in groups:
            groups["rest"] = "；".join(_zh_line(part) for part in groups["rest"].split("; "))
        return template.format(**groups)
    return line


def localise(text: object, lang: str) -> str:
    """``text`` (an error, a row reason, a note) in ``lang``: ``"zh"`` translates every line
    the catalogue knows; other lines, and every line in ``"en"``, are returned as they are."""
    line = str(text)
    if lang != "zh":
        return line
    return "\n".join(_zh_line(part) for part in line.split("\n"))


def localise_all(texts: list[str] | tuple[str, ...], lang: str) -> list[str]:
    """:func:`localise` for each text."""
    return [localise(t, lang) for t in texts]


def localise_frame(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A check table (rejected rows, rows placed by address) for display in ``lang``: in
    ``"zh"`` its headers, coded values and ``reason`` texts in Chinese; a copy either way."""
    out = frame.copy()
    if lang != "zh":
        return out
    if "reason" in out:
        out["reason"] = [localise(r, lang) for r in out["reason"]]
    for column, names in VALUES_ZH.items():
        if column in out:
            out[column] = [names.get(v, v) for v in out[column]]
    return out.rename(columns=COLUMNS_ZH)
