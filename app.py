"""The planner's map: explore coverage, edit a scenario on the map, compare with its base, export.

A thin front end over the ``geo`` package (run with ``streamlit run app.py``): widgets → one
``geo`` call → render. No geometry, statistics or solver work happens here.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo import (
    GeoError,
    access,
    coverage,
    export,
    facilities,
    geocoding,
    maps,
    messages,
    plan,
    population,
    provenance,
    readable,
    register,
    report,
    scenarios,
    settings,
    standards,
)
from geo import editor as geo_editor

APP_DIR = Path(__file__).resolve().parent
logger = logging.getLogger("geo.app")
maps.install_offline_assets(APP_DIR / "static")

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Minhang health facility coverage planner",
        "no_plan": "no plan figures for this area (no plan.toml)",
        "scenario": "Scenario",
        "standard": "Standard",
        "basemap": "Basemap",
        "basemaps": "none (offline)|OpenStreetMap|AMap 高德 (GCJ-02)",
        "mode": "Map clicks",
        "modes": "inspect|add a site|move a site|remove a site|re-pin a geocoded address",
        "type": "Type of the new site",
        "site": "Site",
        "undo": "Undo last edit",
        "save": "Save as a new scenario",
        "name": "Scenario name",
        "overwrite": "Replace if it exists",
        "saved": "Saved",
        "residents": "Residents covered",
        "area": "Area covered",
        "facilities": "Facilities counted",
        "plan": "Plan",
        "table": "Per subdistrict",
        "changes": "Change against",
        "downloads": "Downloads",
        "prepare": "Prepare downloads",
        "prepare_report": "Prepare the report (PDF and HTML)",
        "report_help": "maps, per-subdistrict tables, sites changed, sources; against the base",
        "how": "How was this computed?",
        "upload": "Check a facility list (CSV/Excel)",
        "edits": "Edits this session",
        "nothing": "nothing to undo",
        "added": "Added",
        "moved": "Moved",
        "removed": "Removed",
        "click_hint": "Click the map to",
        "loading": "Loading the scenario, its population and street networks…",
        "computing": "Computing coverage…",
        "scenario_file": "Scenario file (.toml)",
        "problems": "rows rejected",
        "ok_rows": "valid facilities",
        "description": "Description",
        "show_reach": "— select a site to show its reach —",
        "pick_site": "— choose a site (type to search) —",
        "h_standard": "Standard",
        "h_network": "Street network",
        "h_nodes": "junctions",
        "h_repairs": "repair connectors",
        "h_islands": "isolated fragments dropped",
        "h_straight": "none — a straight-line radius, not a network reach",
        "h_population": "Residents",
        "h_facilities": "Facilities",
        "h_type": "type",
        "h_here": "in this scenario",
        "h_official": "official count 2020",
        "h_parameters": "Parameters",
        "pick_first": "Choose the site to move in the sidebar first, then click its new place.",
        "no_site_here": "No site within 300 m of that click; click on a site's symbol.",
        "geocode": "Geocode an address list (CSV/Excel)",
        "geocoded": "addresses placed",
        "to_review": "to review",
        "repin": "Address to re-pin (click its true place)",
        "no_flagged": "nothing to re-pin",
        "geocoded_csv": "Geocoded table (CSV)",
        "curve": "Marginal value of each extra station (walk15)",
        "access": "How far? Time to the nearest counted facility, catchments",
        "access_run": "Compute the distribution (this map and its reference)",
        "access_unit": "Subdistrict",
        "access_district": "whole district",
        "access_now": "this map",
        "access_ref": "reference",
        "access_axis": "share of residents within … (cumulative)",
        "access_ems": "Response time: p90 {p90} min beside the plan's average ≤ 12 min "
        "(mean here {mean} min, dispatch delay included).",
        "access_flagged": "Over its load limit",
        "access_beyond": 'Per subdistrict: base, this map, change. "> {limit}" = beyond the '
        "search limit of {limit} {unit}; the mean is over the residents reached within it.",
        "access_none": "No facility over its load limit (a centre: 100,000 residents; a hospital: "
        "500,000).",
        "catchments_run": "Draw the catchments (each facility's nearest residents, on the network)",
        "catchments_map": "Catchments of the counted facilities (this map)",
        "fca": "Capacity per 1,000 residents (two-step floating catchment, 2SFCA)",
        "fca_column": "Capacity column of the register",
        "fca_minutes": "Catchment: drive minutes",
        "fca_decay": "Distance decay",
        "fca_decays": "none (2SFCA)|steps 1 / 0.68 / 0.22 (E2SFCA)|Gaussian",
        "fca_target": "Plan target per 1,000 residents",
        "fca_run": "Compute supply per 1,000 residents",
        "fca_map": "Supply per 1,000 residents by subdistrict",
        "fca_label": "per 1,000 residents",
        "fca_missing": "Left out — no capacity in the register or the plan",
        "fca_defaults": "Capacities taken from the plan (labelled defaults)",
        "curve_run": "Compute: residents covered against 1..32 new sites",
        "suggest": "Suggest sites (plan quotas)",
        "suggest_help": "walk15: Table 2's 32 sites; EMS: 5 substations on the corridors. "
        "Proposals are added as planned sites you can move, remove or undo.",
        "suggesting": "Placing sites (exact MCLP, PuLP/CBC)…",
        "standin": "Count hospitals and emergency departments as stand-ins for ambulance "
        "substations",
        "standin_help": "A stand-in, not the plan's standard: labelled STAND-IN on every figure "
        "and named …_standin in every file.",
        "standin_hint": "In this app: tick the stand-in box under 'Standard' in the sidebar, or "
        "start a scenario from a register that lists the substations (above the map).",
        "my_data": "Start a scenario from my data (register, population)",
        "template": "Register template (Excel)",
        "register": "Facility register (CSV/Excel): names, types, addresses and/or lon/lat",
        "register_crs": "Coordinate system of its lon/lat",
        "crs_names": "WGS-84 (GPS)|GCJ-02 (AMap 高德, Tencent 腾讯)|BD-09 (Baidu 百度)",
        "valid": "valid facilities",
        "rejected": "rows rejected",
        "placed": "placed from their address",
        "review": "to review",
        "rejected_rows": "Rejected rows (row numbers as in the spreadsheet; header = row 1)",
        "geocoded_rows": "Rows placed from their address (match level, review flag)",
        "population_file": "Population (optional): residents by 街镇, or by 居委会 with a 街镇 "
        "column (CSV/Excel), or a GeoTIFF",
        "combine": "How does the register meet the shipped (OpenStreetMap) facilities?",
        "combine_modes": "Replace them: my register is the whole list|Add to them|Per type",
        "replace_types": "Types where my register replaces the shipped facilities (others: added)",
        "new_name": "Name of the new scenario",
        "create": "Create the scenario",
        "created": "Created",
        "notes": "Notes",
    },
    "zh": {
        "title": "闵行区医疗卫生设施覆盖规划",
        "no_plan": "本区无规划指标（缺少 plan.toml）",
        "scenario": "情景",
        "standard": "标准",
        "basemap": "底图",
        "basemaps": "无（离线）|OpenStreetMap|高德地图（GCJ-02）",
        "mode": "地图点击",
        "modes": "查看|新增站点|移动站点|删除站点|重新定位地址",
        "type": "新站点类型",
        "site": "站点",
        "undo": "撤销上一步",
        "save": "另存为新情景",
        "name": "情景名称",
        "overwrite": "同名时覆盖",
        "saved": "已保存",
        "residents": "居民覆盖率",
        "area": "面积覆盖率",
        "facilities": "计入设施数",
        "plan": "规划",
        "table": "分街镇统计",
        "changes": "相对变化：",
        "downloads": "下载",
        "prepare": "生成下载文件",
        "prepare_report": "生成报告（PDF 和 HTML）",
        "report_help": "地图、各街镇表格、设施变动和数据来源，与基准比较",
        "how": "计算方法与数据来源",
        "upload": "检查设施清单（CSV/Excel）",
        "edits": "本次编辑",
        "nothing": "没有可撤销的操作",
        "added": "新增",
        "moved": "移动",
        "removed": "删除",
        "click_hint": "在地图上点击以",
        "loading": "正在加载情景、人口和路网……",
        "computing": "正在计算覆盖……",
        "scenario_file": "情景文件（.toml）",
        "problems": "行有误",
        "ok_rows": "个有效设施",
        "description": "说明",
        "show_reach": "— 选择站点以显示其可达范围 —",
        "pick_site": "— 选择站点（可输入搜索）—",
        "h_standard": "标准",
        "h_network": "路网",
        "h_nodes": "个路口",
        "h_repairs": "处修复连接",
        "h_islands": "个孤立路段已剔除",
        "h_straight": "无——直线半径，并非路网可达",
        "h_population": "人口",
        "h_facilities": "设施",
        "h_type": "类型",
        "h_here": "本情景",
        "h_official": "2020年官方数量",
        "h_parameters": "参数",
        "pick_first": "请先在侧栏选择要移动的站点，再在地图上点击新位置。",
        "no_site_here": "点击位置300米内没有站点；请点击站点符号。",
        "geocode": "地址解析（CSV/Excel 地址清单）",
        "geocoded": "个地址已定位",
        "to_review": "个待核查",
        "repin": "需重新定位的地址（在地图上点击其实际位置）",
        "no_flagged": "没有待核查的地址",
        "geocoded_csv": "地址解析结果（CSV）",
        "curve": "每增加一个站点的边际效益（步行15分钟）",
        "access": "有多远？到最近计入设施的时间、服务范围",
        "access_run": "计算分布（当前地图与其参照）",
        "access_unit": "街镇",
        "access_district": "全区",
        "access_now": "当前地图",
        "access_ref": "参照",
        "access_axis": "在……以内的居民占比（累计）",
        "access_ems": "急救反应时间：90分位 {p90} 分钟，规划要求平均 ≤ 12 分钟"
        "（本处平均 {mean} 分钟，含出车时间）。",
        "access_flagged": "超出负荷上限",
        "access_beyond": "各街镇：基准、当前地图、变化。“> {limit}”表示超出 {limit} {unit} 的"
        "搜索范围；平均值只计搜索范围内可达的居民。",
        "access_none": "没有设施超出负荷上限（社区卫生服务中心：10万人；医院：50万人）。",
        "catchments_run": "绘制服务范围（按路网以各设施为最近设施的居民）",
        "catchments_map": "计入设施的服务范围（当前地图）",
        "fca": "每千人可及供给（两步移动搜索法 2SFCA）",
        "fca_column": "设施清单中的容量列",
        "fca_minutes": "搜索范围：车行分钟",
        "fca_decay": "距离衰减",
        "fca_decays": "无（2SFCA）|分段 1 / 0.68 / 0.22（E2SFCA）|高斯",
        "fca_target": "规划目标（每千人）",
        "fca_run": "计算每千人可及供给",
        "fca_map": "各街镇每千人可及供给",
        "fca_label": "每千人",
        "fca_missing": "未计入——清单和规划均无容量",
        "fca_defaults": "采用规划中的容量（已标注为默认值）",
        "curve_run": "计算：新增1至32个站点时的覆盖人口",
        "suggest": "按规划配额建议选址",
        "suggest_help": "步行15分钟：表2的32个站点；急救：沿三纵四横5个分站。"
        "建议站点作为规划站点加入，可移动、删除或撤销。",
        "suggesting": "正在选址（精确最大覆盖模型，PuLP/CBC）……",
        "standin": "以医院和急诊部临时代替急救分站计算",
        "standin_help": "这是替代口径，并非规划标准：所有数字标注“替代”，所有文件名带 _standin。",
        "standin_hint": "在本应用中：勾选侧栏“标准”下方的替代选项，"
        "或在地图上方用列有急救分站的设施清单新建情景。",
        "my_data": "用我的数据新建情景（设施清单、人口）",
        "template": "设施清单模板（Excel）",
        "register": "设施清单（CSV/Excel）：名称、类型、地址和/或经纬度",
        "register_crs": "经纬度的坐标系",
        "crs_names": "WGS-84（GPS）|GCJ-02（高德、腾讯）|BD-09（百度）",
        "valid": "个有效设施",
        "rejected": "行被拒绝",
        "placed": "行按地址定位",
        "review": "行待核查",
        "rejected_rows": "被拒绝的行（行号同电子表格，表头为第1行）",
        "geocoded_rows": "按地址定位的行（匹配级别、待核查标记）",
        "population_file": "人口（可选）：按街镇的常住人口，"
        "或按居委会并含街镇列（CSV/Excel），或 GeoTIFF",
        "combine": "设施清单与内置（OpenStreetMap）设施如何合并？",
        "combine_modes": "替换：我的清单即全部设施|追加到内置设施|按类型选择",
        "replace_types": "由我的清单替换内置设施的类型（其余类型为追加）",
        "new_name": "新情景名称",
        "create": "新建情景",
        "created": "已新建",
        "notes": "说明",
    },
}

BASEMAP_KEYS = ("none", "osm", "amap")
MODE_KEYS = ("inspect", "add", "move", "remove", "repin")


def t(key: str) -> str:
    """A label in the chosen language."""
    return TEXT[st.session_state.get("lang", "zh")][key]


def area_title() -> str:
    """The page title: Minhang's, or the area's a data folder built by `geo area init` names."""
    area = settings.area_inputs()
    if not area:
        return t("title")
    if st.session_state.get("lang", "zh") == "zh":
        return area.get("title_zh") or f"{area.get('name_zh') or area['name']}医疗卫生设施覆盖规划"
    name = area.get("name_en") or area["name"]
    return area.get("title_en") or f"{name}: health facility coverage planner"


@st.cache_resource(show_spinner=False)
def corridors() -> Any:
    """The seven emergency corridors (a layer read once per server)."""
    return plan.corridor_layer()


def label_of(standard: Any, lang: str) -> str:
    """A standard's label in a language."""
    return standard.label_zh if lang == "zh" else standard.label_en


def get_editor(name: str) -> geo_editor.ScenarioEditor:
    """This browser session's editor on a scenario (edits never leak between sessions)."""
    editors = st.session_state.setdefault("editors", {})
    if name not in editors:
        with st.spinner(t("loading")):
            editors[name] = geo_editor.open_editor(name)
    return editors[name]


def sidebar() -> dict[str, Any]:
    """All widgets of the sidebar; returns the choices."""
    lang = st.sidebar.radio(
        "语言 / Language", ["中文", "English"], horizontal=True, key="lang_choice"
    )
    st.session_state["lang"] = "zh" if lang == "中文" else "en"
    names = scenarios.list_scenarios(scenarios.prepare_scenario_folder())
    if "switch_to" in st.session_state:  # a scenario just created from the planner's data
        st.session_state["scenario"] = st.session_state.pop("switch_to")
    name = st.sidebar.selectbox(t("scenario"), names, key="scenario")
    ed = get_editor(name)
    lang_now = st.session_state["lang"]
    std = st.sidebar.selectbox(
        t("standard"),
        list(ed.standards),
        key="standard",
        format_func=lambda s: f"{s} — {label_of(ed.standards[s], lang_now)}",
    )
    if std in standards.EMS_STANDARDS:
        standin = st.sidebar.checkbox(
            t("standin"), value=ed.standin, key=f"standin_{name}", help=t("standin_help")
        )
        if standin != ed.standin:
            ed.set_standin(standin)
    basemap_labels = t("basemaps").split("|")
    basemap = BASEMAP_KEYS[
        basemap_labels.index(st.sidebar.radio(t("basemap"), basemap_labels, key="basemap"))
    ]
    mode_labels = t("modes").split("|")
    mode = MODE_KEYS[mode_labels.index(st.sidebar.radio(t("mode"), mode_labels, key="mode"))]
    choice: dict[str, Any] = {
        "name": name,
        "editor": ed,
        "standard": std,
        "basemap": basemap,
        "mode": mode,
    }
    if mode == "add":
        types = list(facilities.FACILITY_TYPES)
        choice["type"] = st.sidebar.selectbox(
            t("type"),
            types,
            index=types.index("station"),
            key=f"add_type_{lang_now}",  # labels follow the language
            format_func=lambda c: (
                facilities.FACILITY_TYPES[c].name_zh
                if lang_now == "zh"
                else facilities.FACILITY_TYPES[c].name_en
            ),
        )
    if mode in ("inspect", "move", "remove"):
        choice["site"] = site_choice(ed, mode, lang_now)
        if mode == "remove" and st.sidebar.button(
            t("removed"), key="remove_button", disabled=choice["site"] is None
        ):
            act(lambda: ed.remove_site(choice["site"]))
            st.session_state["done"] = (
                f"{t('removed')}: {local_text(ed.history[-1].describe())} — {t('undo')}?"
            )
    if st.sidebar.button(t("suggest"), key="suggest", help=t("suggest_help")):
        with st.spinner(t("suggesting")):
            act(lambda: ed.suggest(std))
    if st.sidebar.button(t("undo"), key="undo"):
        act(lambda: ed.undo() or st.sidebar.info(t("nothing")))
    if mode == "repin":
        flagged = st.session_state["geocoded"].flagged() if "geocoded" in st.session_state else []
        if flagged:
            shown = {f"{a} ({s or '—'})": (a, s) for a, s in flagged}
            choice["repin"] = shown[st.sidebar.selectbox(t("repin"), list(shown), key="repin")]
        else:
            st.sidebar.info(t("no_flagged"))
    save_box(ed)
    upload_box()
    geocode_box()
    return choice


def site_choice(ed: geo_editor.ScenarioEditor, mode: str, lang: str) -> str | None:
    """A searchable list of the sites, centres first (type order), nothing preselected."""
    sites = ed.facilities()
    order = {code: i for i, code in enumerate(facilities.FACILITY_TYPES)}
    sites = sites.assign(_order=sites["type"].map(order)).sort_values(["_order", "name"])
    type_names = {
        code: (ft.name_zh if lang == "zh" else ft.name_en)
        for code, ft in facilities.FACILITY_TYPES.items()
    }
    labels = {
        str(i): f"{n} ({type_names.get(ty, ty)})"
        for i, n, ty in zip(sites["id"], sites["name"], sites["type"], strict=True)
    }
    key = f"site_{mode}_{lang}"  # labels follow the language
    if st.session_state.get("pick") in labels:  # chosen by a click on its symbol
        st.session_state[key] = st.session_state.pop("pick")
    picked: str | None = st.sidebar.selectbox(
        t("site"),
        list(labels),
        index=None,
        placeholder=t("show_reach") if mode == "inspect" else t("pick_site"),
        key=key,
        format_func=lambda i: labels.get(i, i),
    )
    return picked


def act(fn: Any) -> None:
    """Run an edit; show a planner's error instead of a traceback."""
    try:
        fn()
    except GeoError as exc:
        st.session_state["error"] = str(exc)


def save_box(ed: geo_editor.ScenarioEditor) -> None:
    """Save the edits as a new scenario file (name validated; nothing overwritten silently)."""
    with st.sidebar.expander(t("save")):
        new_name = st.text_input(t("name"), value=f"{ed.name}-edited", key="save_name")
        description = st.text_area(t("description"), key="save_description")
        overwrite = st.checkbox(t("overwrite"), key="save_overwrite")
        if st.button(t("save"), key="save_button"):
            try:
                sc = ed.to_scenario(new_name, description)
                path = scenarios.save_scenario_as(sc, overwrite=overwrite)
                st.success(f"{t('saved')}: {path.name}")
            except (GeoError, FileExistsError) as exc:
                st.error(local_text(exc))


@st.cache_data(show_spinner=False, max_entries=8)
def checked_upload(name: str, data: bytes) -> facilities.FacilityTable:
    """Validate an uploaded facility list once per content (not on every rerun)."""
    return facilities.facilities_from_upload(name, data)


def upload_box() -> None:
    """Check a planner's facility list: every bad row named with row, field and value."""
    with st.sidebar.expander(t("upload")):
        up = st.file_uploader("CSV / Excel", type=["csv", "xlsx", "xls"], key="upload")
        if up is None:
            return
        try:
            table = checked_upload(up.name, up.getvalue())
        except GeoError as exc:
            st.error(local_text(exc))
            return
        bad_rows = len({p.row for p in table.problems})
        st.write(f"{len(table.gdf)} {t('ok_rows')}; {bad_rows} {t('problems')}")
        if table.problems:
            st.dataframe(
                messages.localise_frame(
                    register.problems_frame(table.problems), st.session_state["lang"]
                ),
                hide_index=True,
            )


def geocode_box() -> None:
    """Geocode an uploaded address list offline; flagged rows are re-pinned by clicking."""
    with st.sidebar.expander(t("geocode")):
        up = st.file_uploader("CSV / Excel", type=["csv", "xlsx", "xls"], key="geocode_upload")
        if up is None:
            return
        if st.session_state.get("geocode_file") != (up.name, up.size):
            st.session_state["geocode_file"] = (up.name, up.size)
            st.session_state["geocode_bytes"] = up.getvalue()
            regeocode()
        result = st.session_state.get("geocoded")
        if result is not None:
            st.write(f"{len(result.table)} {t('geocoded')}; {result.review_count} {t('to_review')}")
            st.download_button(
                t("geocoded_csv"),
                result.csv_bytes(),
                key="dl_geocoded",
                file_name=f"{export.safe_stem(Path(up.name).stem)}_geocoded.csv",
                mime="text/csv",
            )


def regeocode() -> None:
    """(Re-)geocode the uploaded list; manual overrides (re-pinned addresses) always win."""
    name, _ = st.session_state["geocode_file"]
    path = geocoding.default_overrides_path()
    try:
        st.session_state["geocoded"] = geocoding.geocode_upload(
            name, st.session_state["geocode_bytes"], overrides=path if path.exists() else {}
        )
    except GeoError as exc:
        st.session_state.pop("geocoded", None)
        st.session_state["error"] = str(exc)


CRS_KEYS = ("wgs84", "gcj02", "bd09")


@st.cache_data(show_spinner=False, max_entries=8)
def checked_register(name: str, data: bytes, crs: str) -> register.RegisterCheck:
    """Check (and geocode) an uploaded register once per content and coordinate system."""
    return register.check_register(name, data, coords_system=crs)


@st.cache_data(show_spinner=False)
def template_bytes() -> bytes:
    """The register template (.xlsx) as bytes, written once per server."""
    with tempfile.TemporaryDirectory() as tmp:
        return register.write_template(Path(tmp) / "template.xlsx").read_bytes()


def my_data_box() -> None:
    """Upload a register (and population) → rows checked → geocoded → combined → new scenario."""
    with st.expander(t("my_data"), expanded="register_upload_open" in st.session_state):
        st.download_button(
            t("template"),
            template_bytes(),
            file_name="设施清单模板-facility-register-template.xlsx",
            mime="application/vnd.ms-excel",
            key="dl_template",
        )
        left, right = st.columns([3, 2])
        up = left.file_uploader(t("register"), type=["csv", "xlsx"], key="register_upload")
        crs_labels = t("crs_names").split("|")
        crs = CRS_KEYS[crs_labels.index(right.radio(t("register_crs"), crs_labels, key="reg_crs"))]
        if up is None:
            st.session_state.pop("register_upload_open", None)
            return
        st.session_state["register_upload_open"] = True
        try:
            check = checked_register(up.name, up.getvalue(), crs)
        except GeoError as exc:
            st.error(local_text(exc))
            return
        register_report(check)
        pop = st.file_uploader(
            t("population_file"), type=["csv", "xlsx", "tif", "tiff"], key="population_upload"
        )
        population_file = checked_population(pop.name, pop.getvalue()) if pop else None
        if pop is not None and population_file is None:
            return
        modes = combine_choice(check)
        name = st.text_input(t("new_name"), value=Path(up.name).stem, key="new_scenario_name")
        if st.button(t("create"), key="create_scenario", disabled=check.table.gdf.empty):
            create_from(check, modes, name, population_file)


def register_report(check: register.RegisterCheck) -> None:
    """Counts, rejected rows and geocoded rows, in the main area's full width."""
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("valid"), len(check.table.gdf))
    c2.metric(t("rejected"), len({p.row for p in check.table.problems}))
    c3.metric(t("placed"), len(check.geocoded))
    c4.metric(t("review"), int(check.geocoded["review"].sum()) if len(check.geocoded) else 0)
    if check.table.problems:
        st.markdown(f"**{t('rejected_rows')}**")
        st.dataframe(
            messages.localise_frame(check.problems_frame(), st.session_state["lang"]),
            hide_index=True,
            key="register_problems",
        )
    if len(check.geocoded):
        st.markdown(f"**{t('geocoded_rows')}**")
        st.dataframe(
            messages.localise_frame(check.geocoded, st.session_state["lang"]),
            hide_index=True,
            key="register_geocoded",
        )
    if check.table.notes:
        st.caption(f"{t('notes')}: " + " · ".join(map(local_text, check.table.notes)))


def checked_population(name: str, data: bytes) -> tuple[str, bytes] | None:
    """Load an uploaded population file once to check it; show its source and notes."""
    try:
        pop = population.population_from_upload(name, data)
    except GeoError as exc:
        st.error(local_text(exc))
        return None
    st.caption(" · ".join([local_text(pop.source), *map(local_text, pop.notes)]))
    return name, data


def combine_choice(check: register.RegisterCheck) -> str | dict[str, str]:
    """Replace or add, globally or per facility type."""
    labels = t("combine_modes").split("|")
    choice = labels.index(st.radio(t("combine"), labels, key="combine_mode", horizontal=True))
    if choice < 2:
        return register.COMBINE_MODES[choice]
    present = sorted(set(check.table.gdf["type"]))
    types = st.multiselect(
        t("replace_types"),
        list(facilities.FACILITY_TYPES),
        default=present,
        key="replace_types",
        format_func=lambda c: (
            facilities.FACILITY_TYPES[c].name_zh
            if st.session_state.get("lang", "zh") == "zh"
            else facilities.FACILITY_TYPES[c].name_en
        ),
    )
    return {c: ("replace" if c in types else "add") for c in facilities.FACILITY_TYPES}


def create_from(
    check: register.RegisterCheck,
    modes: str | dict[str, str],
    name: str,
    population_file: tuple[str, bytes] | None,
) -> None:
    """Create the scenario (files beside it, with their SHA-256) and switch the app to it."""
    try:
        combined = register.combine(check.table, modes=modes)
        mode_text = modes if isinstance(modes, str) else "per type"
        path = scenarios.create_scenario(
            name,
            combined,
            description=f"From the register {check.file_name} ({mode_text}): {check.summary()}",
            population=population_file,
        )
    except GeoError as exc:
        st.error(local_text(exc))
        return
    st.success(f"{t('created')}: {path.name}")
    st.session_state["switch_to"] = name
    st.rerun()


def no_data_page(folder: Path, how: str, missing: list[str]) -> None:
    """A short bilingual page, not a traceback, when the data folder is missing or incomplete."""
    st.title("闵行区医疗卫生设施覆盖规划 · Minhang coverage planner")
    st.error(
        f"未找到完整的数据文件夹 · The data folder is missing or incomplete: `{folder}` ({how})"
    )
    st.markdown(
        "**缺少 · Missing:** " + ", ".join(f"`{m}`" for m in missing) + "\n\n"
        "**中文：** 本工具默认读取仓库内的 `data/` 文件夹。请用 `python tools/build_data.py` "
        "从闵行数据包重建 `data/`，或设置环境变量 `GEO_DATA_DIR=/路径/数据文件夹` 后重新启动"
        "（`GEO_DATA_DIR=/path streamlit run app.py`）。文件夹须包含 boundaries/、roads/、"
        "facilities/、residential/（文件可为 .gz 压缩）。\n\n"
        "**English:** the app reads the repository's `data/` folder by default. Re-create it from "
        "the Minhang data pack with `python tools/build_data.py`, or point the environment "
        "variable `GEO_DATA_DIR` at another data folder and restart "
        "(`GEO_DATA_DIR=/path streamlit run app.py`). The folder must hold boundaries/, roads/, "
        "facilities/ and residential/ (files may be .gz-compressed)."
    )


def headline(view: geo_editor.EditorView, ed: geo_editor.ScenarioEditor) -> None:
    """District figures against the plan's."""
    district = view.table.iloc[-1]
    delta = view.deltas.iloc[-1]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(
        t("residents"),
        f"{100 * district['resident_share']:.2f}%",
        f"{100 * delta['resident_share_delta']:+.2f} pp",
    )
    c2.metric(
        t("area"),
        f"{100 * district['area_share']:.2f}%",
        f"{100 * delta['area_share_delta']:+.2f} pp",
    )
    c3.metric(t("facilities"), int(district["facilities"]), int(delta["facilities_delta"]))
    area_plan = plan.current()  # None: an area whose data folder has no plan.toml
    if area_plan is None:
        target = t("no_plan")
    elif view.standard.name == "walk15":
        res = area_plan.baseline_walk15_resident_share
        area = area_plan.baseline_walk15_area_share
        target = f"2020: {100 * res:.2f}% / {100 * area:.2f}%"
    else:
        target = f"≤ {area_plan.ems_service_radius_km} km, ≤ {area_plan.ems_response_minutes:g} min"
    c4.markdown(f"**{t('plan')}**  \n{target}")
    st.caption(f"{t('changes')} {local_text(view.reference)}")
    if int(district["facilities"]) == 0:  # 0 % is no measurement: say why and how to fix it
        st.warning(
            coverage.no_counted_facility_note(
                view.standard.facility_types, lang=st.session_state.get("lang", "zh")
            )
            + "\n\n"
            + t("standin_hint")
        )
    network = ed.networks.get(view.standard.mode)
    miss = network and coverage.network_miss_note(
        float(district["off_network_residents"]),
        float(district["residents"]),
        source=network.report.source,
        max_snap_meters=ed.max_snap_meters,
        lang=st.session_state.get("lang", "zh"),
    )
    if miss:  # a road file for another place: the shares above measure nothing
        st.warning(miss)


#: A click this close to a site picks it (inspect and remove modes; move mode before a site
#: is chosen).
PICK_METERS = 300.0


def pick_on_map(choice: dict[str, Any], state: dict[str, Any]) -> bool:
    """In inspect and remove modes, and in move mode while no site is chosen, a click picks the
    nearest site within :data:`PICK_METERS` (the sidebar list then shows it); returns True if
    the click was such a pick (then it moves nothing)."""
    clicked = state.get("last_clicked")
    mode = choice["mode"]
    if not clicked or clicked == st.session_state.get("last_click"):
        return False
    if mode not in ("inspect", "remove") and not (mode == "move" and not choice.get("site")):
        return False
    st.session_state["last_click"] = clicked  # this click picks; it moves nothing
    lon, lat = maps.display_to_wgs84(clicked["lng"], clicked["lat"], choice["basemap"])
    fid = choice["editor"].nearest_site(lon, lat, max_meters=PICK_METERS)
    if fid is None:
        st.session_state["error"] = t("no_site_here")
        return True
    st.session_state["pick"] = fid
    st.rerun()  # the whole page: the sidebar shows the chosen site
    return True


def handle_click(choice: dict[str, Any], clicked: dict[str, float] | None) -> None:
    """Turn a new map click into an edit (add or move), once per click."""
    if not clicked or clicked == st.session_state.get("last_click"):
        return
    st.session_state["last_click"] = clicked
    lon, lat = maps.display_to_wgs84(clicked["lng"], clicked["lat"], choice["basemap"])
    ed: geo_editor.ScenarioEditor = choice["editor"]
    if choice["mode"] == "add":
        act(lambda: ed.add_site(lon, lat, facility_type=choice["type"]))
    elif choice["mode"] == "move" and choice.get("site"):
        act(lambda: ed.move_site(choice["site"], lon, lat))
    elif choice["mode"] == "move":
        st.session_state["error"] = t("pick_first")
    elif choice["mode"] == "repin" and choice.get("repin"):
        address, sub = choice["repin"]
        act(
            lambda: geocoding.add_override(
                geocoding.default_overrides_path(),
                address,
                lon,
                lat,
                subdistrict=sub,
                note="re-pinned on the map",
            )
        )
        regeocode()
        st.rerun()  # the whole page: the sidebar's review count changes too


def downloads(choice: dict[str, Any]) -> None:
    """CSV, Excel and GeoPackage of the current state, named after the scenario and standard."""
    ed: geo_editor.ScenarioEditor = choice["editor"]
    st.subheader(t("downloads"))
    stem = f"{ed.name}{'-edited' if ed.history else ''}"
    st.download_button(
        t("scenario_file"),
        ed.to_scenario(f"{ed.name}-edited").to_toml().encode("utf-8"),
        file_name=f"{export.safe_stem(ed.name)}-edited.toml",
        mime="application/toml",
        key="dl_toml",
    )
    if st.button(t("prepare"), key="prepare"):
        lang = st.session_state.get("lang", "zh")
        with st.spinner(t("computing")):
            result = ed.result(choice["standard"])
            for fmt, mime in (
                ("csv", "text/csv"),
                ("metadata", "text/plain"),
                ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                ("gpkg", "application/geopackage+sqlite3"),
            ):
                name, data = export.export_bytes(
                    [result],
                    fmt,
                    stem=stem,
                    subdistricts=ed.session(choice["standard"]).part,
                    facilities=ed.facilities(),
                    lang=lang,
                )
                st.download_button(f"⬇ {name}", data, file_name=name, mime=mime, key=f"dl_{fmt}")
    if st.button(t("prepare_report"), key="prepare_report", help=t("report_help")):
        with st.spinner(t("computing")):
            doc = scenario_report(ed, st.session_state.get("lang", "zh"))
            for suffix, data, mime in (
                ("pdf", doc.pdf_bytes(), "application/pdf"),
                ("html", doc.html_bytes(), "text/html"),
            ):
                name = f"{export.safe_stem(stem)}_report.{suffix}"
                st.download_button(f"⬇ {name}", data, file_name=name, mime=mime, key=f"dl_{suffix}")


def scenario_report(ed: geo_editor.ScenarioEditor, lang: str) -> Any:
    """The report of the map's current state against its reference (:mod:`geo.report`)."""
    now, ref = ed.report_runs()
    part = ed.session(next(iter(ed.standards))).part
    changed = ed.history or len(ed.resolved.chain) > 1
    comparison = scenarios.compare(ref, now, subdistricts=part) if changed else None
    return report.build_report(
        now,
        subdistricts=part,
        comparison=comparison,
        base_run=ref if changed else None,
        corridors=corridors(),
        lang=lang,
    )


MAP_KEY = "map"


@st.fragment
def live_view(choice: dict[str, Any]) -> None:
    """Headline, map and table: a click on the map re-runs only this part.

    The click is turned into an edit first (the component's value arrives in the session state
    before the re-run), then the figures and only the changed map layers are sent; the map
    itself is not rebuilt, so the planner's centre and zoom stay.
    """
    guarded(_live_view, choice)


def _live_view(choice: dict[str, Any]) -> None:
    # fixed slots: messages and figures vary in number, the map's place in the page must not
    # (a map at a new place is a new map: the planner's view would be lost)
    top, map_slot, bottom = st.container(), st.container(), st.container()
    ed: geo_editor.ScenarioEditor = choice["editor"]
    state = st.session_state.get(MAP_KEY) or {}
    if not pick_on_map(choice, state):
        handle_click(choice, state.get("last_clicked"))
    with top:
        if "error" in st.session_state:
            st.error(local_text(st.session_state.pop("error")))
        view = geo_editor.editor_view(ed, choice["standard"])
        headline(view, ed)
        for change in reversed(ed.history[-3:]):
            st.caption(f"{t('edits')}: {local_text(change.describe())}")
        if choice["mode"] in ("add", "move", "repin"):
            mode_label = t("modes").split("|")[MODE_KEYS.index(choice["mode"])]
            st.info(f"{t('click_hint')} {mode_label}")
    selected = None
    if choice.get("site"):
        selected = ed.selected_isochrone(choice["standard"], choice["site"])
    lang = st.session_state["lang"]
    sources = legend_sources(ed, choice["standard"])
    layers = maps.coverage_layers(
        table=view.table,
        subdistricts=view.subdistricts,
        covered=view.covered,
        blind_spots=view.blind_spots,
        facilities=view.facilities,
        standard_label=label_of(view.standard, lang),
        sources=sources,
        basemap=choice["basemap"],
        lang=lang,
        corridors=corridors(),
        show_corridors=view.standard.name != "walk15",
        gained=view.gained,
        lost=view.lost,
        selected=selected,
        ems_covered=geo_editor.ems_reach(ed),
        geocoded=geocoding.geocoded_points(st.session_state["geocoded"])
        if "geocoded" in st.session_state
        else None,
        counted_types=view.standard.facility_types,
    )
    with map_slot:
        st_folium(
            maps.base_map(subdistricts=view.subdistricts, basemap=choice["basemap"], lang=lang),
            key=MAP_KEY,
            height=620,
            use_container_width=True,
            returned_objects=["last_clicked"],
            feature_group_to_add=layers,
            layer_control=folium.LayerControl(collapsed=False),
        )
    with bottom:
        st.subheader(t("table"))
        st.dataframe(
            geo_editor.display_table(view, lang=lang), hide_index=True, key="coverage_table"
        )


def local_text(text: object) -> str:
    """A message, note or provenance line in the chosen language (:func:`geo.messages.localise`)."""
    return messages.localise(text, st.session_state.get("lang", "zh"))


def legend_sources(ed: geo_editor.ScenarioEditor, standard: str) -> dict[str, str]:
    """The map legend's source lines, in the chosen language."""
    src = ed.sources(standard)
    net = src["network"]
    if isinstance(net, dict):
        network = (
            f"{local_text(net['source'])} ({net['source_date']}), {net['repair_connectors']} "
            f"{t('h_repairs')} ({net['repair_length_km']} km)"
        )
    else:
        network = t("h_straight")
    return {
        t("h_network"): network,
        t("h_population"): local_text(src["population_source"]),
        t("h_facilities"): local_text(src["facilities_source"]),
    }


def how_computed(ed: geo_editor.ScenarioEditor, standard: str) -> None:
    """What the figures are computed from, as a readable list (not raw JSON)."""
    src = ed.sources(standard)
    net = src["network"]
    lines = [f"**{t('h_standard')}**: {label_of(ed.standards[standard], st.session_state['lang'])}"]
    if isinstance(net, dict):
        lines.append(
            f"**{t('h_network')}**: {local_text(net['source'])} ({net['source_date']}); "
            f"{net['nodes']:,} "
            f"{t('h_nodes')}, {net['length_km']:,} km; {net['repair_connectors']} "
            f"{t('h_repairs')} ({net['repair_length_km']} km), {net['dropped_islands']} "
            f"{t('h_islands')}"
        )
    else:
        lines.append(f"**{t('h_network')}**: {t('h_straight')}")
    lines.append(f"**{t('h_population')}**: {local_text(src['population_source'])}")
    notes = src["population_notes"]
    lines += [f"  - {local_text(n)}" for n in (notes if isinstance(notes, list) else [])]
    lines.append(f"**{t('h_facilities')}**: {local_text(src['facilities_source'])}")
    st.markdown("\n".join(f"- {line}" if not line.startswith("  ") else line for line in lines))
    counts, official = src["facility_counts"], src["official_counts_2020"]
    if isinstance(counts, dict) and isinstance(official, dict):
        lang = st.session_state["lang"]
        st.dataframe(
            [
                {
                    t("h_type"): ft.name_zh if lang == "zh" else ft.name_en,
                    t("h_here"): counts.get(code, 0),
                    t("h_official"): official.get(code),
                }
                for code, ft in facilities.FACILITY_TYPES.items()
            ],
            hide_index=True,
            key="how_counts",
        )
    params = src["parameters"]
    if isinstance(params, dict):
        st.markdown(
            f"**{t('h_parameters')}**: " + ", ".join(f"`{k}` = {v}" for k, v in params.items())
        )


def main() -> None:
    st.set_page_config(page_title="闵行区医疗卫生设施覆盖规划 · Minhang coverage", layout="wide")
    folder, how, missing = settings.check_data_folder()
    if missing:
        no_data_page(folder, how, missing)
        st.stop()
    choice = sidebar()
    st.title(area_title())
    with st.container():  # one slot, whatever it holds: the map below keeps its place
        if "error" in st.session_state:
            st.error(local_text(st.session_state.pop("error")))
        if "done" in st.session_state:
            st.info(st.session_state.pop("done"))
    my_data_box()
    ed: geo_editor.ScenarioEditor = choice["editor"]
    live_view(choice)
    with st.expander(t("how")):
        how_computed(ed, choice["standard"])
    with st.expander(t("curve")):
        if st.button(t("curve_run"), key="curve_run"):
            with st.spinner(t("suggesting")):
                try:
                    curve = ed.coverage_curve()
                except GeoError as exc:
                    st.error(local_text(exc))
                else:
                    st.line_chart(curve, x="n_sites", y="residents_covered")
                    st.dataframe(curve, hide_index=True, key="curve_table")
    with st.expander(t("access")):
        guarded(access_section, ed, choice["standard"])
    downloads(choice)


def access_section(ed: geo_editor.ScenarioEditor, standard: str) -> None:
    """The travel-time distribution before/after, per 街镇, and the facilities over their load."""
    if st.button(t("access_run"), key="access_run"):
        with st.spinner(t("computing")):
            st.session_state["access"] = (standard, *ed.travel_times(standard))
    held = st.session_state.get("access")
    if not held or held[0] != standard:
        return
    _std, now, ref = held
    lang = st.session_state.get("lang", "zh")
    names = dict(zip(now.table["code"], now.table["name_zh" if lang == "zh" else "name_en"],
                     strict=True))  # fmt: skip
    codes = list(names)[::-1]  # the district first
    labels = [t("access_district"), *(names[c] for c in codes[1:])]
    picked = st.selectbox(t("access_unit"), labels, key="access_unit")
    code = codes[labels.index(picked)] if picked in labels else codes[0]
    unit = "分钟" if now.unit == "min" and lang == "zh" else now.unit
    chart = pd.DataFrame(
        {
            t("access_now"): now.curve[now.curve["code"] == code]["share"].to_numpy(),
            t("access_ref"): ref.curve[ref.curve["code"] == code]["share"].to_numpy(),
        },
        index=pd.Index(now.curve[now.curve["code"] == code]["threshold"].to_numpy(), name=unit),
    )
    st.caption(t("access_axis"))
    st.line_chart(chart)
    if standard == "ems_time":
        d = now.district()
        st.info(t("access_ems").format(p90=f"{d['p90_min']:.1f}", mean=f"{d['mean_min']:.1f}"))
    change = access.compare_access(ref, now).drop(columns="name_en" if lang == "zh" else "name_zh")
    shown_change = readable.readable_frame(change, lang=lang)
    beyond = f"> {now.limit:g}"  # nobody, or not this share of residents, within the search
    for column, original in zip(shown_change.columns, change.columns, strict=True):
        if str(original).startswith(("mean_", "median_", "p90_")) and not str(original).endswith(
            "_delta"
        ):
            shown_change[column] = [
                beyond if pd.isna(v) else f"{v:.2f}" for v in shown_change[column]
            ]
    st.caption(t("access_beyond").format(limit=f"{now.limit:g}", unit=unit))
    st.dataframe(shown_change, hide_index=True, key="access_table")
    flagged = now.catchments[now.catchments["flagged"]]
    if len(flagged):
        st.caption(t("access_flagged"))
        st.dataframe(
            readable.readable_frame(
                flagged[["name", "type", "residents", "load_limit"]], lang=lang
            ),
            hide_index=True,
            key="access_flagged",
        )
    else:
        st.caption(t("access_none"))
    if st.button(t("catchments_run"), key="catchments_run"):
        with st.spinner(t("computing")):
            part = ed.session(standard).part
            lines = dict(provenance.provenance_lines(now.metadata, lang))
            network = lines.get("路网" if lang == "zh" else "Network", "")
            st.pyplot(
                report.catchment_map(
                    now.catchment_polygons(part),
                    part,
                    title=t("catchments_map"),
                    source=f"{t('h_network')}: {network}",
                    lang=lang,
                )
            )
    capacity_section(ed, lang)


def capacity_section(ed: geo_editor.ScenarioEditor, lang: str) -> None:
    """2SFCA supply per 1,000 residents from a capacity column: a table and a choropleth."""
    st.subheader(t("fca"))
    cols = st.columns(4)
    column = cols[0].text_input(t("fca_column"), "capacity", key="fca_column")
    minutes = cols[1].number_input(t("fca_minutes"), 5.0, 120.0, 30.0, 5.0, key="fca_minutes")
    decays = t("fca_decays").split("|")
    decay = cols[2].selectbox(t("fca_decay"), decays, key="fca_decay")
    target = cols[3].number_input(t("fca_target"), 0.0, 100.0, 4.6, 0.1, key="fca_target")
    if not st.button(t("fca_run"), key="fca_run"):
        return
    with st.spinner(t("computing")):
        result = access.two_step_fca(
            ed.facilities(),
            ed.population,
            network=ed.networks["drive"],
            capacity_column=column,
            catchment_minutes=float(minutes),
            decay=("none", "step", "gaussian")[decays.index(decay)],
            target=float(target),
        )
    table = result.table.drop(columns="name_en" if lang == "zh" else "name_zh")
    st.dataframe(readable.readable_frame(table, lang=lang), hide_index=True, key="fca_table")
    units = result.table.iloc[:-1].set_index("code")["access"]
    lines = dict(provenance.provenance_lines(result.metadata, lang))
    source = next(iter(lines.values()), "")
    figure = report.value_map(
        units,
        ed.session(next(iter(ed.standards))).part,
        title=t("fca_map"),
        label=t("fca_label"),
        source=f"{t('h_network')}: {lines.get('路网' if lang == 'zh' else 'Network', source)}",
        lang=lang,
    )
    st.pyplot(figure)
    defaults = result.facilities[result.facilities["capacity_source"] != "register"]
    if len(defaults):
        st.caption(t("fca_defaults"))
        st.dataframe(readable.readable_frame(defaults[["name", "capacity"]], lang=lang),
                     hide_index=True, key="fca_defaults")  # fmt: skip
    if len(result.missing_capacity):
        st.caption(t("fca_missing"))
        st.dataframe(readable.readable_frame(result.missing_capacity[["name", "type"]], lang=lang),
                     hide_index=True, key="fca_missing")  # fmt: skip


def guarded(fn: Any, *args: Any) -> None:
    """Run ``fn``; a planner's error is shown as its message, anything unexpected as a short
    notice (never a traceback on the page) with the details in the server log."""
    try:
        fn(*args)
    except GeoError as exc:
        st.error(local_text(exc))
    except Exception:  # the last line of defence: log everything, show nothing internal
        logger.exception("unexpected error in the app")
        st.error(
            "出现意外错误，详细信息已记入服务器日志；请重试或联系管理员。 · "
            "An unexpected error occurred; the details are in the server log. "
            "Try again, or tell your administrator."
        )


def run() -> None:
    """The app, guarded (:func:`guarded`; the map fragment is guarded on its own)."""
    guarded(main)


run()
