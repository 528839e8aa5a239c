from __future__ import annotations

import pandas as pd
import pytest
from pyproj import Geod

from geo import coords, facilities, settings
from geo._errors import InputFileError, RowError

HEADER_ZH = "编号,名称,类型,经度,纬度,地址,街镇,状态,容量\n"
GOOD_ZH = [
    "A1,七宝社区卫生服务中心,社区卫生服务中心,121.3482,31.1520,七宝镇,七宝镇,现有,120",
    "A2,新站,服务站,121.3700,31.1300,,莘庄镇,规划,",
]


def _write(tmp_path, text, name="f.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_reads_chinese_headers(tmp_path, pack):
    table = facilities.read_facilities(_write(tmp_path, HEADER_ZH + "\n".join(GOOD_ZH)))
    gdf = table.gdf
    assert list(gdf["id"]) == ["A1", "A2"]
    assert list(gdf["type"]) == ["chc", "station"]
    assert list(gdf["status"]) == ["existing", "planned"]
    assert list(gdf["subdistrict_zh"]) == ["七宝镇", "莘庄镇"]
    assert gdf["capacity"].iloc[0] == 120
    assert pd.isna(gdf["capacity"].iloc[1])
    assert gdf.crs.to_epsg() == 4326
    assert table.problems == ()


def test_reads_excel_with_english_headers_and_keeps_extra_columns(tmp_path, pack):
    df = pd.DataFrame(
        {
            "Name": ["Gumei station"],
            "Type": ["service station"],
            "Longitude": [121.40],
            "Latitude": [31.15],
            "Remark": ["keep me"],
        }
    )
    path = tmp_path / "f.xlsx"
    df.to_excel(path, index=False)
    gdf = facilities.read_facilities(path).gdf
    assert gdf["type"].iloc[0] == "station"
    assert gdf["Remark"].iloc[0] == "keep me"


def test_reads_gb18030_csv(tmp_path, pack):
    path = _write(tmp_path, HEADER_ZH + GOOD_ZH[0], encoding="gb18030")
    assert facilities.read_facilities(path).gdf["name"].iloc[0] == "七宝社区卫生服务中心"


@pytest.mark.parametrize(
    ("row", "pattern"),
    [
        ("B1,甲,服务站,31.15,121.35,,,,", r"row 3: `lon`=31\.15: .*did you swap lon/lat"),
        ("B1,甲,服务站,121.90,31.15,,,,", r"row 3: `lon/lat`=.*outside Minhang"),
        ("B1,甲,药店,121.35,31.15,,,,", r"row 3: `type`='药店': unknown facility type.*chc \(社区"),
        (
            "A1,甲,服务站,121.35,31.15,,,,",
            r"row 3: `id`='A1': duplicate id \(first used on row 2\)",
        ),
        ("B1,甲,服务站,东经121,31.15,,,,", r"row 3: `lon`='东经121': not a number"),
        ("B1,,服务站,121.35,31.15,,,,", r"row 3: `name`='': a facility needs a name"),
        ("B1,甲,服务站,121.35,31.15,,七堡镇,,", r"row 3: `subdistrict`='七堡镇': unknown.*七宝镇"),
        ("B1,甲,服务站,121.35,31.15,,,拆了,", r"row 3: `status`='拆了': unknown status"),
        ("B1,甲,服务站,121.35,31.15,,,,-5", r"row 3: `capacity`='-5': must be ≥ 0"),
        ("B1,甲,服务站,121.35,,,,,", r"row 3: `lat`='': latitude is missing"),
    ],
)
def test_bad_rows_name_row_field_and_value(tmp_path, pack, row, pattern):
    path = _write(tmp_path, HEADER_ZH + GOOD_ZH[0] + "\n" + row)
    with pytest.raises(RowError, match=pattern) as info:
        facilities.read_facilities(path)
    assert [p.row for p in info.value.problems] == [3] * len(info.value.problems)


def test_lenient_mode_keeps_every_valid_row(tmp_path, pack):
    rows = [
        GOOD_ZH[0],
        "B1,甲,药店,121.35,31.15,,,,",
        GOOD_ZH[1],
        "",
        "B2,乙,服务站,31.15,121.35,,,,",
    ]
    table = facilities.read_facilities(_write(tmp_path, HEADER_ZH + "\n".join(rows)), strict=False)
    assert list(table.gdf["id"]) == ["A1", "A2"]
    assert sorted({p.row for p in table.problems}) == [3, 6]
    assert any("blank row" in n for n in table.notes)
    assert "2 rows rejected" in table.summary()


def test_missing_column_lists_what_was_found(tmp_path):
    with pytest.raises(InputFileError, match=r"missing required column\(s\) \['lat'\].*经度"):
        facilities.read_facilities(_write(tmp_path, "名称,类型,经度\n甲,服务站,121.3\n"))


def test_empty_file(tmp_path):
    with pytest.raises(InputFileError, match="empty"):
        facilities.read_facilities(_write(tmp_path, ""))
    with pytest.raises(InputFileError, match="no facility rows"):
        facilities.read_facilities(_write(tmp_path, HEADER_ZH))


def test_unsupported_format_and_missing_file(tmp_path):
    with pytest.raises(InputFileError, match=r"unsupported table format '\.json'"):
        facilities.read_facilities(_write(tmp_path, "{}", name="f.json"))
    with pytest.raises(InputFileError, match="file not found"):
        facilities.read_facilities(tmp_path / "nope.csv")


def _gcj_sample(pack, n=20):
    res = pd.read_csv(settings.data_file("residential/residential_addresses_2022.csv")).iloc[
        :: 1214 // n
    ]
    return res[res["subdistrict_zh"] != "吴泾镇"].head(n)  # skip the few rows geocoded off-unit


def test_gcj02_by_option_and_by_column(tmp_path, pack):
    res = _gcj_sample(pack)
    geod = Geod(ellps="WGS84")
    lines = [
        f"R{i},点{i},服务站,{r.gcj02_lon},{r.gcj02_lat}" for i, r in enumerate(res.itertuples())
    ]
    path = _write(tmp_path, "id,name,type,lon,lat\n" + "\n".join(lines))
    table = facilities.read_facilities(path, coords_system="gcj02", strict=False)
    ok = res.iloc[[int(i[1:]) for i in table.gdf["id"]]]
    _, _, dist = geod.inv(table.gdf["lon"], table.gdf["lat"], ok["wgs84_lon"], ok["wgs84_lat"])
    assert max(dist) < 3.0
    assert table.converted == {"gcj02": len(table.gdf)}
    # per-row declaration: one AMap row, one Baidu row in a WGS-84 file
    lon_bd, lat_bd = coords.wgs84_to_bd09(121.36, 31.14)
    text = (
        "name,type,lon,lat,坐标系\n"
        f"a,station,{res.gcj02_lon.iloc[0]},{res.gcj02_lat.iloc[0]},高德\n"
        f"b,station,{lon_bd},{lat_bd},BD-09\n"
    )
    gdf = facilities.read_facilities(_write(tmp_path, text)).gdf
    assert gdf["lon"].iloc[1] == pytest.approx(121.36, abs=1e-7)
    assert gdf["lat"].iloc[1] == pytest.approx(31.14, abs=1e-7)


def test_unknown_coordinate_system():
    with pytest.raises(InputFileError, match="unknown coordinate system 'utm'"):
        facilities.facilities_from_frame(
            pd.DataFrame({"name": ["a"]}), source="x", coords_system="utm"
        )


def test_parse_type_spellings():
    assert facilities.parse_type("村卫生室") == "village_clinic"
    assert facilities.parse_type("Ambulance Substation") == "ambulance_substation"
    assert facilities.parse_type("急救分站") == "ambulance_substation"
    assert facilities.parse_type("branch centre") == "branch"
    assert facilities.parse_type("pharmacy") is None


def test_pack_facilities_typed_and_merged(pack):
    table = facilities.facilities_from_pack()
    assert table.rows_read == 54
    # merged by hand from the CSV: 仁济医院南院 3→1, 吴泾社区卫生服务中心 2→1, 高兴…服务站 2→1
    assert table.merged == 4
    assert len(table.gdf) == 50
    by_name = table.gdf.set_index("merged_ids")
    assert by_name.loc["way/302368260;way/1242264679;way/1242264680", "name"] == "仁济医院南院"
    types = dict(zip(table.gdf["name"], table.gdf["type"], strict=True))
    assert types["闵行区中心医院急诊部"] == "emergency_department"
    assert types["浦江社区卫生服务中心鲁汇分中心"] == "branch"
    assert types["浦江社区卫生服务中心（浦航分院）"] == "branch"
    assert types["上海市精神卫生中心 (闵行院区)"] == "hospital"
    assert types["高兴社区卫生服务站"] == "station"
    assert types["和睦家门诊部"] == "clinic"
    assert table.counts_by_type()["ambulance_substation"] == 0
    assert table.gdf["subdistrict_code"].notna().all()


def test_similar_names_ignore_place_prefixes_and_filler():
    assert facilities.similar_names("吴泾社区卫生中心", "吴泾社区卫生服务中心")
    assert facilities.similar_names("闵行区颛桥社区卫生服务中心", "颛桥社区卫生服务中心")
    assert not facilities.similar_names("浦江社区卫生服务中心", "浦江社区卫生服务中心鲁汇分中心")
    assert not facilities.similar_names("华漕社区卫生服务中心", "虹桥社区卫生服务中心")


def test_non_clinical_records_are_not_counted_as_stand_ins():
    assert (
        facilities.classify_osm("上海沪闵医院行政办公区", "hospital", "hospital") == "non_clinical"
    )
    assert facilities.classify_osm("七宝老街 献血屋", "clinic", "") == "non_clinical"
    assert facilities.classify_osm("上海沪闵医院", "hospital", "hospital") == "hospital"


def test_pack_lists_lookalike_records_and_types_the_outpatient_building(pack):
    from pyproj import Geod

    table = facilities.facilities_from_pack()
    gdf = table.gdf.set_index("name")
    # 闵行区中心医院: its 急诊部 stands for it; its 门诊部 171 m away is no second stand-in
    assert gdf.loc["闵行区中心医院急诊部", "type"] == "emergency_department"
    assert gdf.loc["闵行区中心医院门诊部", "type"] == "clinic"
    assert gdf.loc["上海沪闵医院行政办公区", "type"] == "non_clinical"
    # the two 吴泾 records, 1.9 km apart by an independent geodesic: listed, not merged
    (pair,) = table.to_review()
    a, b = gdf.loc["吴泾社区卫生中心"], gdf.loc["吴泾社区卫生服务中心"]
    _, _, meters = Geod(ellps="WGS84").inv(a.geometry.x, a.geometry.y, b.geometry.x, b.geometry.y)
    assert 1800 < meters < 2000
    assert pair.startswith("吴泾社区卫生中心 (way/297664167) and 吴泾社区卫生服务中心")
    shown = float(pair.split("both chc, ")[1].split(" m apart")[0].replace(",", ""))
    assert shown == pytest.approx(meters, abs=2.0)  # UTM 51N distance against the geodesic
    assert len(table.gdf) == 50  # nothing merged beyond the 4 same-name records


def test_a_file_over_the_row_cap_is_refused_before_it_is_read_row_by_row(monkeypatch):
    monkeypatch.setattr(facilities, "MAX_FACILITY_ROWS", 3)
    frame = pd.DataFrame({"name": list("abcd"), "type": "station", "lon": "121.4", "lat": "31.1"})
    with pytest.raises(
        InputFileError, match=r"big.csv holds 4 rows; .* at most 3 .* split the file"
    ):
        facilities.facilities_from_frame(frame, source="big.csv")


def test_a_declared_subdistrict_that_differs_from_the_location_is_noted_and_location_wins(
    tmp_path, pack
):
    # A2 says 七宝镇 but (121.37, 31.13) lies in 莘庄镇 (test_reads_chinese_headers)
    text = HEADER_ZH + GOOD_ZH[0] + "\n" + GOOD_ZH[1].replace("莘庄镇", "七宝镇")
    table = facilities.read_facilities(_write(tmp_path, text))
    assert list(table.gdf["subdistrict_zh"]) == ["七宝镇", "莘庄镇"]
    (note,) = table.notes
    assert note.startswith("1 row(s) declare a subdistrict other than")
    assert "row 3 新站: declared 七宝镇, located in 莘庄镇" in note


def test_many_rows_are_checked_column_wise_with_the_same_verdicts_as_one_by_one(pack):
    """2,000 rows, every 5th GCJ-02 and every 7th broken in a different way: the rejected rows,
    their fields, and each converted point equal what the scalar converter gives row by row."""
    n = 2000
    rows = []
    expected_bad: dict[int, str] = {}
    for i in range(n):
        lon, lat = 121.36 + (i % 40) * 0.001, 31.10 + (i // 40) * 0.0004
        row = {"id": f"F{i}", "name": f"站{i}", "type": "服务站", "lon": f"{lon}", "lat": f"{lat}"}
        row["crs"] = "gcj02" if i % 5 == 0 else "wgs84"
        if i % 7 == 3:
            kind = (i // 7) % 4
            if kind == 0:
                row["type"] = "spaceport"
                expected_bad[i + 2] = "type"
            elif kind == 1:
                row["lat"] = "north"
                expected_bad[i + 2] = "lat"
            elif kind == 2:
                row["lon"], row["lat"] = row["lat"], row["lon"]
                expected_bad[i + 2] = "lon"
            else:
                row["id"] = "F0"
                expected_bad[i + 2] = "id"
        rows.append(row)
    table = facilities.facilities_from_frame(pd.DataFrame(rows), source="many.csv", strict=False)
    assert {p.row: p.field for p in table.problems} == expected_bad
    assert [p.row for p in table.problems] == sorted(p.row for p in table.problems)
    kept = table.gdf.set_index("id")
    assert len(kept) == n - len(expected_bad)
    gcj = [r for i, r in enumerate(rows) if i % 5 == 0 and i + 2 not in expected_bad]
    assert table.converted == {"gcj02": len(gcj)}
    for r in gcj[:50]:
        lon, lat = coords.convert(
            float(r["lon"]), float(r["lat"]), from_crs="gcj02", to_crs="wgs84"
        )
        assert kept.loc[r["id"], "lon"] == pytest.approx(lon, abs=1e-9)
        assert kept.loc[r["id"], "lat"] == pytest.approx(lat, abs=1e-9)


def test_gb18030_files_with_short_or_rare_names_are_not_taken_for_big5(tmp_path, pack):
    """Two-character names and rare name characters in GB18030 read as they are."""
    rows = (
        "浦锦站,服务站,121.50,31.06\n颛桥站,服务站,121.41,31.06\n旻昊喆堃站,服务站,121.40,31.11\n"
    )
    path = _write(tmp_path, "名称,类型,经度,纬度\n" + rows, encoding="gb18030")
    names = facilities.read_facilities(path).gdf["name"].tolist()
    assert names == ["浦锦站", "颛桥站", "旻昊喆堃站"]


def test_a_list_mostly_outside_the_district_carries_a_warning_with_the_share(tmp_path, pack):
    text = "name,type,lon,lat\na,station,121.40,31.11\nb,station,116.40,39.90\nc,x,1,2\n"
    table = facilities.read_facilities(_write(tmp_path, text), strict=False)
    assert len(table.gdf) == 1
    # row 4 is refused for its type, not its place: 1 of 3 rows outside, no warning
    assert not any("lie outside the district" in n for n in table.notes)
    text = (
        "name,type,lon,lat\na,station,121.40,31.11\nb,station,116.40,39.90\nc,station,116.4,39.8\n"
    )
    table = facilities.read_facilities(_write(tmp_path, text), strict=False)
    assert table.notes[0].startswith("WARNING: 2 of 3 rows of f.csv (66.7%) lie outside")
