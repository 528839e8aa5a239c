"""A planner's own register and population: checked, geocoded, combined, stored as a scenario."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from geo import (
    InputFileError,
    ScenarioError,
    coords,
    editor,
    facilities,
    geocoding,
    register,
    scenarios,
)
from geo.cli import main

HEADER = "编号,名称,类型,地址,街镇,经度,纬度,坐标系\n"
ROWS = [
    "R1,甲站,服务站,,,121.3700,31.1300,",  # WGS-84 unless the file says otherwise
    "R2,乙站,社区卫生服务站,,,121.3482,31.1520,gcj02",  # per-row system
    "R3,丙中心,社区卫生服务中心,七宝镇七莘路100号,七宝镇,,,",  # address only: geocoded
    "R4,急救一站,急救分站,,,121.4000,31.1100,",
]


def _register(tmp_path, rows=ROWS, name="reg.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_register_is_checked_geocoded_and_converted_row_by_row(tmp_path, pack):
    check = register.read_register(_register(tmp_path), coords_system="wgs84")
    gdf = check.table.gdf.set_index("id")
    assert list(gdf.index) == ["R1", "R2", "R3", "R4"] and check.table.problems == ()
    # R2 declared GCJ-02: converted by the scalar converter's formula
    lon, lat = coords.convert(121.3482, 31.1520, from_crs="gcj02", to_crs="wgs84")
    assert (gdf.loc["R2", "lon"], gdf.loc["R2", "lat"]) == pytest.approx((lon, lat), abs=1e-9)
    assert check.table.converted == {"gcj02": 1}
    # R3 placed by the offline geocoder exactly where geocode_table puts it, as WGS-84
    direct = geocoding.geocode_table(
        pd.DataFrame({"address": ["七宝镇七莘路100号"], "subdistrict": ["七宝镇"]})
    ).table.iloc[0]
    assert (gdf.loc["R3", "lon"], gdf.loc["R3", "lat"]) == pytest.approx(
        (direct["lon"], direct["lat"]), abs=1e-7
    )
    assert gdf.loc["R3", "geocode_match"] == direct["match_level"] != "none"
    assert list(check.geocoded["row"]) == [4]
    assert "1 placed from their address (offline)" in check.summary()


def test_geocoded_rows_stay_wgs84_when_the_file_is_gcj02(tmp_path, pack):
    wgs = register.read_register(_register(tmp_path), coords_system="wgs84").table.gdf
    gcj = register.read_register(_register(tmp_path), coords_system="gcj02").table.gdf
    wgs, gcj = wgs.set_index("id"), gcj.set_index("id")
    assert gcj.loc["R3", "lon"] == wgs.loc["R3", "lon"]  # the geocoder's point is not shifted
    assert gcj.loc["R1", "lon"] != wgs.loc["R1", "lon"]  # R1 is read as GCJ-02 and converted


def test_bad_rows_are_listed_with_row_field_and_value_and_the_rest_kept(tmp_path, pack):
    rows = [*ROWS, "R5,丁站,药店,,,121.37,31.13,", "R6,戊站,服务站,,,116.40,39.90,"]
    check = register.read_register(_register(tmp_path, rows))
    problems = check.problems_frame()
    assert problems[["row", "field", "value"]].values.tolist() == [
        [6, "type", "药店"],
        [7, "lon/lat", "116.4, 39.9"],
    ]
    assert len(check.table.gdf) == 4


@pytest.mark.parametrize(
    ("modes", "expected"),
    [
        ("replace", {"register": 4}),
        ("add", {"register": 4, "shipped": 50}),
        # only the register's stations count; the shipped station (1) is dropped
        ({"station": "replace"}, {"register": 4, "shipped": 49}),
        # the register's centre replaces the 13 shipped centres
        ({"chc": "replace", "station": "replace"}, {"register": 4, "shipped": 36}),
    ],
)
def test_combine_replaces_or_adds_per_type(tmp_path, pack, modes, expected):
    check = register.read_register(_register(tmp_path))
    shipped = facilities.facilities_from_pack()
    shipped_counts = shipped.counts_by_type()
    assert (shipped_counts["chc"], shipped_counts["station"]) == (13, 1)
    out = register.combine(check.table, shipped, modes)
    assert out["origin"].value_counts().to_dict() == expected
    if modes != "add":
        replaced = [t for t in facilities.FACILITY_TYPES if modes == "replace" or t in modes]
        kept = out[out["type"].isin(replaced)]
        assert (kept["origin"] == "register").all()


def test_combine_refuses_a_bad_mode_an_unknown_type_and_clashing_ids(tmp_path, pack):
    check = register.read_register(_register(tmp_path))
    with pytest.raises(InputFileError, match="use replace or add"):
        register.combine(check.table, modes="merge")
    with pytest.raises(InputFileError, match="unknown facility type 'pharmacy'"):
        register.combine(check.table, modes={"pharmacy": "add"})
    clash = [ROWS[0].replace("R1", "way/1153636970")]  # an id of the shipped OSM list
    with pytest.raises(InputFileError, match="way/1153636970"):
        register.combine(register.read_register(_register(tmp_path, clash)).table, modes="add")


def test_the_template_is_accepted_back_unchanged_minus_its_examples(tmp_path, pack):
    path = register.write_template(tmp_path / "template.xlsx")
    check = register.check_register(path.name, path.read_bytes())
    assert len(check.table.gdf) == 0 and check.table.problems == ()
    assert check.examples_skipped == 2
    assert "2 template example row(s)" in check.table.notes[-1]
    sheets = pd.read_excel(path, sheet_name=None, dtype=str)
    assert list(sheets) == ["设施清单", "说明 Help"]
    help_text = sheets["说明 Help"].to_string()
    for t in facilities.FACILITY_TYPES.values():
        assert t.name_zh in help_text and t.name_en in help_text
    # filled in below the examples: row numbers stay the spreadsheet's
    filled = sheets["设施清单"].fillna("")
    filled.loc[2] = ["A1", "新站", "服务站", "", "", "121.37", "31.13", "", "", ""]
    filled.loc[3] = ["A2", "坏站", "药店", "", "", "121.37", "31.13", "", "", ""]
    filled.to_excel(tmp_path / "filled.xlsx", index=False)
    check = register.read_register(tmp_path / "filled.xlsx")
    assert list(check.table.gdf["id"]) == ["A1"]
    assert [(p.row, p.field) for p in check.table.problems] == [(5, "type")]


def test_create_scenario_stores_the_files_with_their_checksums_and_runs(tmp_path, pack):
    folder = tmp_path / "scenarios"
    check = register.read_register(_register(tmp_path))
    pop = tmp_path / "pop.csv"
    pop.write_text(
        "街镇,居委会,人口\n七宝镇,甲居委,100000\n七宝镇,乙居委,50000\n莘庄镇,丙居委,200000\n",
        encoding="utf-8",
    )
    path = scenarios.create_scenario(
        "mine", register.combine(check.table, modes="add"), population=pop, folder=folder
    )
    stored = folder / "data" / "mine-facilities.csv"
    sc = scenarios.load_scenario(path)
    assert sc.facilities == "data/mine-facilities.csv"
    assert (
        dict(sc.sha256)["data/mine-facilities.csv"]
        == hashlib.sha256(stored.read_bytes()).hexdigest()
    )
    assert dict(sc.parameters)["population"] == "data/mine-population.csv"
    resolved = scenarios.resolve(path)
    assert len(resolved.facilities.gdf) == 54
    assert not any(n.startswith("WARNING") for n in resolved.facilities.notes)
    run = scenarios.run_scenario(path)
    pop_source = run.results[0].metadata["population_source"]
    assert "mine-population.csv: 350,000 residents in 2 subdistricts" in str(pop_source)
    assert "3 居委会/村委会 rows summed per 街镇" in str(pop_source)
    # the stored file changes: every later run says so
    stored.write_text(stored.read_text("utf-8-sig") + "\n", encoding="utf-8")
    notes = scenarios.resolve(path).facilities.notes
    assert any("changed since it was created" in n for n in notes)
    with pytest.raises(ScenarioError, match="exists"):
        scenarios.create_scenario("mine", check.table.gdf, folder=folder)
    with pytest.raises(ScenarioError, match="shipped scenario"):
        scenarios.create_scenario("baseline", check.table.gdf, folder=folder)


def test_a_population_table_with_unknown_units_is_refused_naming_the_valid_ones(tmp_path, pack):
    check = register.read_register(_register(tmp_path))
    bad = ("pop.csv", "街镇,人口\n七宝镇,100000\n亚特兰蒂斯镇,5\n".encode())
    with pytest.raises(ScenarioError, match=r"(?s)亚特兰蒂斯镇.*valid units are: .*七宝镇"):
        scenarios.create_scenario("p", check.table.gdf, population=bad, folder=tmp_path)
    assert not (tmp_path / "p.toml").exists()
    assert not (tmp_path / "data" / "p-population.csv").exists()
    twice = ("pop.csv", "街镇,居委会,人口\n七宝镇,甲,1\n七宝镇,甲,2\n".encode())
    with pytest.raises(ScenarioError, match=r"row 3: `committee`='甲': listed twice \(row 2\)"):
        scenarios.create_scenario("p", check.table.gdf, population=twice, folder=tmp_path)


def test_a_population_table_covering_some_units_names_the_missing_ones(tmp_path, pack):
    from geo import population

    path = tmp_path / "pop.csv"
    path.write_text("街镇,人口\n七宝镇,100000\n", encoding="utf-8")
    notes = " ".join(population.load_population(path).notes)
    assert "covers 1 of 14 subdistricts" in notes and "310112101" in notes
    assert "WARNING" in notes and "0.03769× the census" in notes  # 100,000 / 2,653,489


def test_the_cli_creates_the_same_scenario_files_as_the_library(tmp_path, pack, capsys):
    reg = _register(tmp_path)
    check = register.read_register(reg)
    by_lib = scenarios.create_scenario(
        "x",
        register.combine(check.table, modes={"station": "replace"}),
        description="d",
        folder=tmp_path / "lib",
    )
    args = ["scenario", "new", "x", "--facilities", str(reg), "--mode", "add,station=replace"]
    assert main([*args, "--description", "d", "--folder", str(tmp_path / "cli")]) == 0
    assert "4 from the register, 49 shipped" in capsys.readouterr().out
    by_cli = tmp_path / "cli" / "x.toml"
    assert by_cli.read_text("utf-8") == by_lib.read_text("utf-8")
    lib_csv = tmp_path / "lib" / "data" / "x-facilities.csv"
    assert (tmp_path / "cli" / "data" / "x-facilities.csv").read_bytes() == lib_csv.read_bytes()


def test_geo_template_writes_the_template(tmp_path, capsys):
    out = tmp_path / "t.xlsx"
    assert main(["template", "--out", str(out)]) == 0
    assert pd.read_excel(out, sheet_name="设施清单", dtype=str)["编号"].tolist() == [
        "EXAMPLE-1",
        "EXAMPLE-2",
    ]


def test_the_editor_counts_stand_ins_on_request_and_saves_them(tmp_path, pack):
    ed = editor.open_editor("baseline")
    assert not ed.standin and ed.result("ems_time").district()["facilities"] == 0
    ed.set_standin(True)
    std = ed.standards["ems_time"]
    assert ed.standin and std.key == "ems_time_standin" and "STAND-IN" in std.label_en
    assert ed.result("ems_time").district()["facilities"] == 24  # 23 hospitals + 1 ED
    saved = ed.to_scenario("standin-test")
    assert dict(saved.parameters)["ems_types"] == ("hospital", "emergency_department")
    ed.set_standin(False)
    assert ed.result("ems_time").district()["facilities"] == 0
    assert ed.to_scenario("x").parameters == ()
