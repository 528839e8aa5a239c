"""Exports of coverage results: CSV (UTF-8 with BOM), Excel, GeoPackage, all at once, atomically."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box

from geo import export
from geo._errors import ExportError
from geo.coverage import DISTRICT_CODE, TABLE_COLUMNS, CoverageResult, CoverageShapes
from geo.export import (
    export_all,
    export_csv,
    export_excel,
    export_geopackage,
    metadata_rows,
    safe_stem,
)
from geo.standards import make_standard

WGS84 = "EPSG:4326"
SQUARE_A = box(121.40, 31.10, 121.41, 31.11)  # 江川路街道 (synthetic square)
SQUARE_B = box(121.41, 31.10, 121.42, 31.11)  # 七宝镇 (synthetic square)
NETWORK_SOURCE = "OSM Minhang roads (simplified), 2024-06"
POPULATION_SOURCE = "residential_addresses_2022.csv (proxy: 2.3 residents per address)"


def _subdistricts() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "code": ["310112001", "310112102"],
            "name_zh": ["江川路街道", "七宝镇"],
            "name_en": ["Jiangchuan Road Subdistrict", "Qibao Town"],
            "boundary_status": ["surveyed", "approximate"],
            "area_km2": [1.0, 1.0],
        },
        geometry=[SQUARE_A, SQUARE_B],
        crs=WGS84,
    )


def _table(area_share_b: float) -> pd.DataFrame:
    """Two subdistricts and the district row; the district figures are the sums worked by hand."""
    return pd.DataFrame(
        {
            "code": ["310112001", "310112102", DISTRICT_CODE],
            "name_zh": ["江川路街道", "七宝镇", "闵行区"],
            "name_en": ["Jiangchuan Road Subdistrict", "Qibao Town", "Minhang District"],
            "boundary_status": ["surveyed", "approximate", "mixed"],
            "area_km2": [1.0, 1.0, 2.0],
            "covered_km2": [0.25, area_share_b, 0.25 + area_share_b],
            "area_share": [0.25, area_share_b, (0.25 + area_share_b) / 2],
            "residents": [3000, 1000, 4000],
            "covered_residents": [1000, 1000, 2000],
            "resident_share": [1 / 3, 1.0, 0.5],
            "off_network_residents": [7, 0, 7],
            "facilities": [1, 1, 2],
            "facilities_per_100k": [100_000 / 3000, 100.0, 50.0],
            "n_chc": [1, 0, 1],
            "n_station": [0, 1, 1],
        }
    )


def _facilities(rows: list[tuple[str, str, str, float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "type": [r[2] for r in rows],
            "capacity": pd.Series([12, "unknown", None][: len(rows)], dtype=object),
        },
        geometry=[Point(r[3], r[4]) for r in rows],
        crs=WGS84,
    )


def _result(name: str) -> CoverageResult:
    """A hand-built result: walk15 counts F1, F2; ems_time (types incl. chc) counts F1 and A1."""
    if name == "walk15":
        standard = make_standard("walk15")
        rows = [
            ("F1", "江川社区卫生服务中心", "chc", 121.405, 31.105),
            ("F2", "七宝服务站", "station", 121.415, 31.105),
        ]
        blind_spots = gpd.GeoDataFrame(
            {"code": ["310112001", "310112102"], "name_zh": ["江川路街道", "七宝镇"]},
            geometry=[box(121.40, 31.108, 121.41, 31.11), Polygon()],  # 七宝镇 has none
            crs=WGS84,
        ).assign(area_km2=[0.2, 0.0])
        share_b = 1 / 7  # not a round number: checks the precision written
    else:
        standard = make_standard("ems_time", facility_types=("ambulance_substation", "chc"))
        rows = [
            ("A1", "闵行急救分站", "ambulance_substation", 121.412, 31.102),
            ("F1", "江川社区卫生服务中心", "chc", 121.405, 31.105),
        ]
        blind_spots = gpd.GeoDataFrame(
            {"code": [], "name_zh": [], "area_km2": []}, geometry=[], crs=WGS84
        )
        share_b = 1.0
    facilities = _facilities(rows)
    isochrones = gpd.GeoDataFrame(
        {"facility_id": facilities["id"], "name": facilities["name"], "type": facilities["type"]},
        geometry=[
            MultiPolygon(
                [box(121.401, 31.101, 121.404, 31.104), box(121.405, 31.105, 121.407, 31.107)]
            ),
            Point(rows[1][3], rows[1][4]).buffer(0.002),
        ],
        crs=WGS84,
    )
    covered = gpd.GeoDataFrame(
        {"code": ["310112001", "310112102"], "name_zh": ["江川路街道", "七宝镇"]},
        geometry=[box(121.40, 31.10, 121.41, 31.1025), box(121.41, 31.10, 121.42, 31.103)],
        crs=WGS84,
    )
    points = gpd.GeoDataFrame(
        {"cost": [120.0, np.inf], "covered": [True, False], "off_network": [False, True]},
        geometry=[Point(121.403, 31.103), Point(121.409, 31.109)],
        crs=WGS84,
    )
    metadata: dict[str, Any] = {
        "network": {"source": NETWORK_SOURCE, "repair_connectors": 12},
        "population_source": POPULATION_SOURCE,
        "facility_counts": {"chc": 1, "station": 1},
        "official_counts": {"chc": 13},
        "parameters": {"snap_max_meters": 300.0, "types": list(standard.facility_types)},
        "software_version": "0.1.0",
        "computed_at": "2026-11-22T12:00:00+08:00",
    }
    return CoverageResult(
        standard=standard,
        table=_table(share_b),
        facilities=facilities,
        points=points,
        metadata=metadata,
        shapes=CoverageShapes.of(isochrones, covered, blind_spots),
    )


@pytest.fixture
def results() -> list[CoverageResult]:
    return [_result("walk15"), _result("ems_time")]


# --- safe_stem, metadata_rows -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plan-2025 七宝 test/../x", "plan-2025_七宝_testx"),
        ("闵行 2025 方案", "闵行_2025_方案"),
        ("a\\b:c*?<>|\"'d", "abcd"),
        ("a \t  b", "a_b"),
        ("ＡＢＣ　１２３", "ABC_123"),  # full-width letters, digits and space
        ("__x--", "x"),
        ("-rf /", "rf"),
        ("", "coverage"),
        ("   ", "coverage"),
        ("../..", "coverage"),
        ("！？。", "coverage"),
        ("nul", "nul_"),
        ("x" * 200, "x" * 80),
    ],
)
def test_safe_stem(text: str, expected: str) -> None:
    assert safe_stem(text) == expected


def test_metadata_rows_flattens_in_insertion_order() -> None:
    rows = metadata_rows(
        {
            "network": {"source": "osm", "repair": {"connectors": 12, "dropped": None}},
            "types": ["chc", "站"],
            "empty": {},
            "flag": True,
            "share": np.float64(0.25),
            "version": "0.1.0",
            "at": dt.datetime(2026, 11, 22, 12, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        }
    )
    assert rows == [
        ("network.source", "osm"),
        ("network.repair.connectors", "12"),
        ("network.repair.dropped", ""),
        ("types", '["chc", "站"]'),
        ("empty", "{}"),
        ("flag", "true"),
        ("share", "0.25"),
        ("version", "0.1.0"),
        ("at", "2026-11-22T12:00:00+08:00"),
    ]


# --- CSV --------------------------------------------------------------------------------------


def test_csv_is_readable_with_a_metadata_sidecar(
    results: list[CoverageResult], tmp_path: Path
) -> None:
    path = export_csv(results[0], tmp_path / "walk15.csv")
    raw = path.read_bytes()
    assert raw.startswith(b'\xef\xbb\xbf"')  # BOM, then the quoted header: no comment lines
    back = pd.read_csv(path, encoding="utf-8-sig", dtype={"街镇代码": str})  # no comment= option
    assert list(back.columns[:4]) == ["街镇代码", "街镇", "街镇（英文）", "边界"]
    assert back["街镇"].tolist() == ["江川路街道", "七宝镇", "闵行区"]
    assert back["边界"].tolist() == ["实测", "近似", "mixed"]
    # 七宝镇: area share 1/7 = 14.2857…% → 14.29; covered 0.142857… km² → 0.14
    assert back["面积覆盖率 %"].iloc[1] == 14.29
    assert back["覆盖面积 km²"].iloc[1] == 0.14
    assert back["人口覆盖率 %"].tolist() == [33.33, 100.0, 50.0]
    assert back["常住人口"].dtype == np.int64 and back["常住人口"].tolist() == [3000, 1000, 4000]
    assert back["每十万人设施数"].iloc[0] == 33.33
    assert back["社区卫生服务中心"].tolist() == [1, 0, 1]  # n_chc, named by its type

    sidecar = tmp_path / "walk15_metadata.txt"
    text = sidecar.read_text(encoding="utf-8")
    assert text.startswith("数据来源\n")
    for line in (
        f"network.source: {NETWORK_SOURCE}",
        "network.repair_connectors: 12",
        f"population_source: {POPULATION_SOURCE}",
        "computed_at: 2026-11-22T12:00:00+08:00",
        'parameters.types: ["chc", "branch", "station", "village_clinic"]',
        "standard_definition.label_zh: 步行15分钟可达",
    ):
        assert f"{line}\n" in text
    assert "路网: " in text and "软件版本: 0.1.0" in text


def test_csv_in_english_and_raw(results: list[CoverageResult], tmp_path: Path) -> None:
    en = pd.read_csv(export_csv(results[0], tmp_path / "en.csv", lang="en"), encoding="utf-8-sig")
    assert "residents covered %" in en.columns and en["area covered %"].iloc[1] == 14.29
    assert (tmp_path / "en_metadata.txt").read_text(encoding="utf-8").startswith("Sources\n")
    path = export_csv(results[0], tmp_path / "raw.csv", raw=True)
    back = pd.read_csv(path, encoding="utf-8-sig", dtype={"code": str})
    pd.testing.assert_frame_equal(back, results[0].table, check_exact=True)
    assert back["area_share"].iloc[1] == 1 / 7  # full precision


def test_csv_puts_district_row_last_and_protects_hash(
    results: list[CoverageResult], tmp_path: Path
) -> None:
    table = results[0].table.iloc[[2, 0, 1]].reset_index(drop=True)
    table.loc[1, "name_en"] = "Jiangchuan Rd #1"
    table.loc[1, "name_zh"] = "=HYPERLINK(1)"
    result = dataclasses.replace(results[0], table=table, metadata={"note": "line one\nline two"})
    path = export_csv(result, tmp_path / "x.csv", raw=True)
    back = pd.read_csv(path, encoding="utf-8-sig", dtype={"code": str})
    assert back["code"].tolist() == ["310112001", "310112102", DISTRICT_CODE]
    assert back["name_en"].iloc[0] == "Jiangchuan Rd #1"
    assert back["name_zh"].iloc[0] == "'=HYPERLINK(1)"  # text, never a formula
    sidecar = (tmp_path / "x_metadata.txt").read_text(encoding="utf-8")
    assert "note: line one\\nline two\n" in sidecar


def test_csv_refuses_existing_file(results: list[CoverageResult], tmp_path: Path) -> None:
    path = tmp_path / "walk15.csv"
    path.write_text("keep me", encoding="utf-8")
    with pytest.raises(FileExistsError, match=r"walk15\.csv already exists.*overwrite=True"):
        export_csv(results[0], path)
    assert path.read_text(encoding="utf-8") == "keep me"
    export_csv(results[0], path, overwrite=True)
    assert path.read_bytes().startswith('\ufeff"街镇代码"'.encode())


def test_table_without_required_columns_is_refused(
    results: list[CoverageResult], tmp_path: Path
) -> None:
    result = dataclasses.replace(results[0], table=results[0].table.drop(columns="area_share"))
    with pytest.raises(ExportError, match=r"lacks columns \['area_share'\]"):
        export_csv(result, tmp_path / "x.csv")
    assert list(tmp_path.iterdir()) == []


# --- Excel ------------------------------------------------------------------------------------


def test_excel_sheets_formats_and_metadata(results: list[CoverageResult], tmp_path: Path) -> None:
    path = export_excel(results, tmp_path / "plan.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["walk15", "ems_time", "sources", "data", "metadata"]

    ws = wb["walk15"]
    assert ws["A1"].value == "步行15分钟可达"  # one language: 中文 by default
    assert NETWORK_SOURCE in ws["A2"].value and POPULATION_SOURCE in ws["A2"].value
    header = [c.value for c in ws[3]]
    assert header[:3] == ["街镇代码", "街镇", "街镇（英文）"]
    assert header[-2:] == ["社区卫生服务中心", "社区卫生服务站"]
    assert all(c.font.bold for c in ws[3])
    assert ws.freeze_panes == "A4"  # the header stays in view
    col = {name: i + 1 for i, name in enumerate(header)}

    share = ws.cell(5, col["面积覆盖率 %"])  # 七宝镇: 1/7, a number shown as 14.29%
    assert share.data_type == "n" and share.value == 0.1429
    assert share.number_format == "0.00%"
    assert ws.cell(4, col["人口覆盖率 %"]).number_format == "0.00%"
    assert ws.cell(5, col["覆盖面积 km²"]).value == 0.14
    assert ws.cell(4, col["面积 km²"]).number_format == "0.00"
    residents = ws.cell(6, col["常住人口"])
    assert residents.value == 4000 and residents.data_type == "n"
    assert residents.number_format == "#,##0"
    assert [ws.cell(r, col["街镇"]).value for r in (4, 5, 6)] == ["江川路街道", "七宝镇", "闵行区"]
    assert ws.cell(4, col["街镇代码"]).value == "310112001"  # codes stay text
    assert ws.cell(6, col["街镇代码"]).font.bold  # the district row
    assert ws.column_dimensions["C"].width >= len("Jiangchuan Road Subdistrict")
    assert not any(
        isinstance(c.value, str) and c.value.startswith("=") for row in ws.iter_rows() for c in row
    )

    data = wb["data"]  # full precision, the column names as they are
    head = [c.value for c in data[1]]
    assert head == ["standard", *TABLE_COLUMNS, "n_chc", "n_station"]
    assert data.cell(3, head.index("area_share") + 1).value == pytest.approx(1 / 7, abs=1e-15)

    sources = [r for r in wb["sources"].iter_rows(values_only=True) if r[0]]
    assert sources[0][0] == "步行15分钟可达"
    assert any(r[0] == "路网" and NETWORK_SOURCE in str(r[1]) for r in sources)

    meta = wb["metadata"]
    assert [c.value for c in meta[1]] == ["key", "walk15", "ems_time"]
    rows = {r[0]: r[1:] for r in meta.iter_rows(min_row=2, values_only=True)}
    assert rows["network.source"] == (NETWORK_SOURCE, NETWORK_SOURCE)
    assert rows["network.repair_connectors"] == (12, 12)  # a number, not text
    assert rows["standard.label_zh"] == ("步行15分钟可达", "出车2分钟+车行时间≤12分钟")
    assert rows["standard.params.dispatch_delay_minutes"] == (None, 2.0)
    keys = list(rows)
    assert (
        keys.index("standard.params.dispatch_delay_minutes")
        == keys.index("standard.params.minutes") + 1
    )


def test_excel_in_english(results: list[CoverageResult], tmp_path: Path) -> None:
    ws = openpyxl.load_workbook(export_excel(results, tmp_path / "en.xlsx", lang="en"))["walk15"]
    assert ws["A1"].value == "walking time ≤ 15 min"
    assert [c.value for c in ws[3]][4:7] == ["area km²", "covered km²", "area covered %"]


def test_excel_refuses_duplicate_standards(results: list[CoverageResult], tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="two results use the standard name 'walk15'"):
        export_excel([results[0], results[0]], tmp_path / "x.xlsx")
    with pytest.raises(ExportError, match="no coverage results"):
        export_excel([], tmp_path / "x.xlsx")
    assert list(tmp_path.iterdir()) == []


# --- GeoPackage -------------------------------------------------------------------------------


def test_geopackage_layers(results: list[CoverageResult], tmp_path: Path) -> None:
    path = export_geopackage(results, tmp_path / "plan.gpkg", subdistricts=_subdistricts())
    layers = dict(pyogrio.list_layers(path))
    assert set(layers) == {
        "subdistricts_walk15", "isochrones_walk15", "covered_walk15", "blind_spots_walk15",
        "subdistricts_ems_time", "isochrones_ems_time", "covered_ems_time",
        "facilities", "metadata",
    }  # fmt: skip  # blind_spots_ems_time is empty, so skipped
    assert layers["metadata"] is None

    sub = pyogrio.read_dataframe(path, layer="subdistricts_walk15")
    assert sub.crs.to_epsg() == 4326
    assert sub["code"].tolist() == ["310112001", "310112102"]
    assert {*TABLE_COLUMNS, "n_chc", "n_station"} <= set(sub.columns)
    assert sub["area_share"].tolist() == [0.25, 1 / 7]
    assert sub["name_zh"].tolist() == ["江川路街道", "七宝镇"]
    assert shapely.equals(sub.geometry.iloc[1], SQUARE_B)

    blind = pyogrio.read_dataframe(path, layer="blind_spots_walk15")
    assert blind["code"].tolist() == ["310112001"]  # 七宝镇's empty polygon is dropped
    iso = pyogrio.read_dataframe(path, layer="isochrones_walk15")
    assert iso["facility_id"].tolist() == ["F1", "F2"]

    fac = pyogrio.read_dataframe(path, layer="facilities")
    assert sorted(fac["id"]) == ["A1", "F1", "F2"]
    assert fac.crs.to_epsg() == 4326
    assert {"name", "type", "capacity"} <= set(fac.columns)

    # with the register: every facility, also those no standard counts, and which count it
    register = _facilities(
        [
            ("F1", "江川社区卫生服务中心", "chc", 121.405, 31.105),
            ("F2", "七宝服务站", "station", 121.415, 31.105),
            ("H1", "某医院", "hospital", 121.402, 31.108),
        ]
    )
    whole = export_geopackage(
        results, tmp_path / "whole.gpkg", subdistricts=_subdistricts(), facilities=register
    )
    fac = pyogrio.read_dataframe(whole, layer="facilities")
    assert fac["id"].tolist() == ["F1", "F2", "H1"]
    assert fac["counted_in"].fillna("").tolist() == ["walk15,ems_time", "walk15", ""]

    meta = pyogrio.read_dataframe(path, layer="metadata")
    assert list(meta.columns) == ["key", "value", "standard"]
    source = meta[meta["key"] == "network.source"]
    assert source["standard"].tolist() == ["walk15", "ems_time"]
    assert set(source["value"]) == {NETWORK_SOURCE}


def test_geopackage_reprojects_to_wgs84(results: list[CoverageResult], tmp_path: Path) -> None:
    utm = _subdistricts().to_crs("EPSG:32651")
    path = export_geopackage(results[:1], tmp_path / "plan.gpkg", subdistricts=utm)
    sub = pyogrio.read_dataframe(path, layer="subdistricts_walk15")
    assert sub.crs.to_epsg() == 4326
    assert sub.geometry.iloc[0].bounds == pytest.approx(SQUARE_A.bounds, abs=1e-9)


def test_geopackage_refuses_existing_and_bad_subdistricts(
    results: list[CoverageResult], tmp_path: Path
) -> None:
    path = tmp_path / "plan.gpkg"
    path.write_bytes(b"old")
    with pytest.raises(FileExistsError, match=r"plan\.gpkg already exists.*overwrite=True"):
        export_geopackage(results, path, subdistricts=_subdistricts())
    assert path.read_bytes() == b"old"
    with pytest.raises(ExportError, match=r"table codes \['310112102'\] have no subdistrict"):
        export_geopackage(results, path, subdistricts=_subdistricts().iloc[:1], overwrite=True)
    twice = pd.concat([_subdistricts(), _subdistricts()], ignore_index=True)
    with pytest.raises(ExportError, match=r"subdistricts repeat codes \['310112001', '310112102'"):
        export_geopackage(results, path, subdistricts=twice, overwrite=True)
    with pytest.raises(ExportError, match="need a `code` column"):
        export_geopackage(
            results, path, subdistricts=_subdistricts().drop(columns="code"), overwrite=True
        )
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.gpkg"]


def test_failed_write_leaves_old_file_and_no_temporary_files(
    results: list[CoverageResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "plan.gpkg"
    path.write_bytes(b"old")
    calls: list[str] = []
    write = pyogrio.write_dataframe

    def crash_on_third_layer(*args: object, layer: str, **kwargs: object) -> None:
        calls.append(layer)
        if len(calls) == 3:
            msg = "disk full"
            raise OSError(msg)
        write(*args, layer=layer, **kwargs)

    monkeypatch.setattr(export.pyogrio, "write_dataframe", crash_on_third_layer)
    with pytest.raises(OSError, match="disk full"):
        export_geopackage(results, path, subdistricts=_subdistricts(), overwrite=True)
    assert len(calls) == 3
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.gpkg"]


# --- export_all -------------------------------------------------------------------------------


def test_export_all_names_refuses_and_overwrites(
    results: list[CoverageResult], tmp_path: Path
) -> None:
    out = tmp_path / "out" / "nested"
    paths = export_all(results, out, stem="plan-2025 七宝 test/../x", subdistricts=_subdistricts())
    names = [
        "plan-2025_七宝_testx_walk15.csv",
        "plan-2025_七宝_testx_walk15_metadata.txt",
        "plan-2025_七宝_testx_ems_time.csv",
        "plan-2025_七宝_testx_ems_time_metadata.txt",
        "plan-2025_七宝_testx.xlsx",
        "plan-2025_七宝_testx.gpkg",
    ]
    assert paths == [out / n for n in names]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)  # no temporary files left
    assert list(tmp_path.iterdir()) == [tmp_path / "out"]

    before = {p: p.read_bytes() for p in paths}
    with pytest.raises(FileExistsError, match=r"testx_walk15\.csv.*overwrite=True"):
        export_all(results, out, stem="plan-2025 七宝 test/../x", subdistricts=_subdistricts())
    assert {p: p.read_bytes() for p in paths} == before

    changed = [
        dataclasses.replace(r, metadata={**r.metadata, "software_version": "0.2.0"})
        for r in results
    ]
    export_all(
        changed, out, stem="plan-2025 七宝 test/../x", subdistricts=_subdistricts(), overwrite=True
    )
    assert "software_version: 0.2.0\n" in paths[1].read_text(encoding="utf-8")
    meta = pyogrio.read_dataframe(paths[5], layer="metadata")
    assert set(meta.loc[meta["key"] == "software_version", "value"]) == {"0.2.0"}
    assert sorted(p.name for p in out.iterdir()) == sorted(names)


def test_export_all_refuses_before_writing_anything(
    results: list[CoverageResult], tmp_path: Path
) -> None:
    (tmp_path / "s.gpkg").write_bytes(b"old")
    with pytest.raises(FileExistsError, match=r"s\.gpkg already exists"):
        export_all(results, tmp_path, stem="s", subdistricts=_subdistricts())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.gpkg"]
