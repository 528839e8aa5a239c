from __future__ import annotations

import argparse
import csv
import json
import math
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import shapely

from geo import boundaries, plan, scenarios, settings
from geo.cli import build_parser, main

#: Every subcommand of ``geo`` (README's command table); written out, not read from the parser.
COMMANDS = (
    "info",
    "facilities",
    "network",
    "coverage",
    "run",
    "compare",
    "report",
    "batch",
    "area",
    "access",
    "plan-scenario",
    "bench",
    "suggest",
    "geocode",
    "scenario",
    "template",
)


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_the_parser_defines_exactly_the_documented_commands():
    assert sorted(subcommands()) == sorted(COMMANDS)


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in subcommands():
        assert re.search(rf"^\s+{re.escape(command)}\s", out, re.M), command


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(capsys, command):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: geo {command}")
    assert "--help" in out


def test_readme_documents_every_command():
    readme = (settings.REPO_ROOT / "README.md").read_text("utf-8")
    for command in subcommands():
        assert f"`geo {command}" in readme, command


def test_info_json(capsys, pack):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["subdistricts"] == 14
    assert info["facilities_by_type"]["chc"] == {"osm": 13, "official_2020": 13}
    assert info["population_total"] == 2_653_489


def test_bad_data_folder_exit_code(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "data_folder", None)
    assert main(["--data", str(tmp_path / "missing"), "info"]) == 2
    assert "data folder not found" in capsys.readouterr().err


def test_facilities_command_reports_rows(capsys, tmp_path, pack):
    path = tmp_path / "f.csv"
    path.write_text("name,type,lon,lat\nok,station,121.35,31.15\nbad,药店,121.35,31.15\n", "utf-8")
    assert main(["facilities", str(path), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["facilities"] == 1
    assert out["problems"][0]["row"] == 3
    assert out["problems"][0]["field"] == "type"


def test_network_json_keys(capsys, pack):
    assert main(["network", "--mode", "drive", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    for key in (
        "nodes",
        "edges",
        "length_km",
        "components",
        "largest_component_share",
        "repair_connectors",
        "repair_length_km",
        "source",
    ):
        assert key in rep
    assert rep["largest_component_share"] >= 0.95


def test_coverage_json_and_exports(capsys, tmp_path, pack):
    out = tmp_path / "out"
    args = ["coverage", "--standard", "walk15", "--out", str(out), "--stem", "基线 baseline"]
    assert main([*args, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    for key in ("standard", "area_share", "resident_share", "covered_residents", "facilities"):
        assert key in summary
    assert summary["standard"] == "walk15"
    assert summary["facilities"] == 17  # 13 centres + 3 branch centres + 1 station in the pack
    assert "proxy" in summary["population_source"]
    assert 0 < summary["resident_share"] < 1
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "基线_baseline.gpkg",
        "基线_baseline.xlsx",
        "基线_baseline_walk15.csv",
        "基线_baseline_walk15_metadata.txt",
    ]
    # a second run refuses to overwrite, and says how
    assert main([*args, "--json"]) == 2
    assert "overwrite" in capsys.readouterr().err


def test_coverage_several_standards_and_stand_in_types(capsys, pack):
    argv = ["coverage", "--standard", "ems_time,straight_line", "--types", "hospital", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["standard"] for r in out["results"]] == ["ems_time", "straight_line"]
    assert all(r["facility_types"] == ["hospital"] for r in out["results"])
    # a straight 3.5 km circle covers at least what the 3.5 km / 10 min network reach does
    assert out["results"][1]["resident_share"] >= out["results"][0]["resident_share"]


def test_coverage_bad_standard(capsys, pack):
    assert main(["coverage", "--standard", "walk10"]) == 2
    assert "standards: unknown ['walk10']; valid: walk15, ems_distance" in capsys.readouterr().err


def test_bench_json_keys(capsys, pack):
    assert main(["bench", "--repeat", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("reference_s", "ours_s", "ratio", "full_coverage_s", "incremental_ms"):
        assert out[key] > 0


def test_compare_baseline_with_plan_2025(capsys, tmp_path, pack):
    assert main(["compare", "baseline", "plan-2025", "--out", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["a"], out["b"]) == ("baseline", "plan-2025")
    assert out["sites"] == {"added": 37}
    walk = next(r for r in out["district"] if r["standard"] == "walk15")
    assert walk["covered_residents_delta"] > 0
    assert walk["facilities_delta"] == 32
    ems = next(r for r in out["district"] if r["standard"] == "ems_time")
    assert ems["facilities_b"] == 5 and ems["facilities_a"] == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "plan-2025_vs_baseline.csv",
        "plan-2025_vs_baseline.gpkg",
        "plan-2025_vs_baseline.xlsx",
        "plan-2025_vs_baseline_access.csv",
        "plan-2025_vs_baseline_access_metadata.txt",
        "plan-2025_vs_baseline_metadata.txt",
        "plan-2025_vs_baseline_sites.csv",
        "plan-2025_vs_baseline_sites_metadata.txt",
    ]
    # how far: the mean time to the nearest counted facility falls with the 32 new sites
    far = {r["standard"]: r for r in out["how_far"]}
    assert far["walk15"]["mean_min_b"] < far["walk15"]["mean_min_a"]
    assert far["ems_time"]["p90_min_b"] >= far["ems_time"]["mean_min_b"] > 2.0
    import openpyxl
    import pandas as pd

    table = pd.read_csv(tmp_path / "plan-2025_vs_baseline.csv", encoding="utf-8-sig")
    district = table[(table["标准"] == "walk15") & (table["街镇"] == "闵行区")].iloc[0]
    # readable: shares in percent, the change in percentage points, worked from the JSON
    assert district["人口覆盖率 %（情景）"] == round(100 * walk["resident_share_b"], 2)
    assert district["人口覆盖率 百分点（变化）"] == round(100 * walk["resident_share_delta"], 2)
    assert district["覆盖人口（变化）"] == round(walk["covered_residents_delta"])
    sites = pd.read_csv(tmp_path / "plan-2025_vs_baseline_sites.csv", encoding="utf-8-sig")
    assert set(sites["变动"]) == {"新增"} and len(sites) == 37
    # one provenance block: both networks, the population, the counts against the official ones
    meta = (tmp_path / "plan-2025_vs_baseline_metadata.txt").read_text(encoding="utf-8")
    for line in ("内容: 比较：plan-2025 对 baseline", "路网 walk15:", "路网 ems_time:",
                 "人口: ", "设施: ", "networks.walk15.source:", "hashes_a.scenario:"):  # fmt: skip
        assert line in meta, line
    wb = openpyxl.load_workbook(tmp_path / "plan-2025_vs_baseline.xlsx")
    assert wb.sheetnames == ["changes", "sites", "sources", "data", "metadata"]
    formats = {c.number_format for c in wb["changes"][5]}
    assert {"0.00%", "+0.00%;-0.00%;0.00%", "#,##0", "0.00"} <= formats


def test_run_scenario_records_hashes(capsys, pack):
    assert main(["run", "baseline", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["run", "baseline", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert first["hashes"] == second["hashes"]
    assert first["results"] == second["results"]
    assert set(first["hashes"]) >= {"scenario", "population", "network_walk", "software_version"}


def test_facilities_command_takes_pack_and_the_data_folders_own_file(capsys, pack):
    assert main(["facilities", "pack", "--json"]) == 0
    by_word = json.loads(capsys.readouterr().out)
    own_file = settings.data_file("facilities/osm_health_facilities.csv")
    assert main(["facilities", str(own_file), "--json"]) == 0
    by_file = json.loads(capsys.readouterr().out)
    # 54 OSM rows, 4 duplicates merged (README); the same typing either way
    assert by_word["facilities"] == by_file["facilities"] == 50
    assert by_word["by_type"] == by_file["by_type"]
    assert by_word["problems"] == by_file["problems"] == []


def test_info_area_is_the_disjoint_total_the_exports_use(capsys, pack):
    from geo import boundaries, coverage

    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    overlapping = float(boundaries.load_subdistricts()["area_km2"].sum())
    disjoint = float(coverage.partition_subdistricts()["area_km2"].sum())
    assert overlapping - disjoint > 0.5  # the units overlap by ~1 km² (data README)
    assert info["area_km2"] == round(disjoint, 2)


def test_compare_prints_every_unit_and_explains_missing_substations(capsys, pack):
    from geo import boundaries

    assert main(["compare", "baseline", "plan-2025"]) == 0
    out = capsys.readouterr().out
    table = out[out.index("per subdistrict") :]
    for name in boundaries.load_subdistricts()["name_zh"]:
        assert name in table
    assert "闵行区" in table
    assert "baseline: no ambulance substation in the facility list" in out
    assert "--types hospital,emergency_department" in out
    assert "plan-2025: no ambulance" not in out  # plan-2025 has its 5 substations


def _csv_table(path):
    import pandas as pd

    return pd.read_csv(path, encoding="utf-8-sig", dtype={"code": str})


def test_coverage_run_and_the_app_give_identical_tables(capsys, tmp_path, pack):
    """One coverage path: `geo coverage`, `geo run` and the app's editor agree on every cell."""
    import pandas as pd

    from geo import editor

    scenario = tmp_path / "stand-in.toml"
    scenario.write_text(
        'name = "stand-in"\nfacilities = "pack"\n[parameters]\n'
        'standards = ["walk15", "ems_distance"]\n'
        'ems_types = ["hospital", "emergency_department"]\n',
        encoding="utf-8",
    )
    assert main(["run", str(scenario), "--out", str(tmp_path / "run"), "--raw"]) == 0
    cov = ["coverage", "--out", str(tmp_path / "cov"), "--stem", "stand-in", "--raw"]
    assert main([*cov, "--standard", "walk15"]) == 0
    assert (
        main(
            [
                *cov,
                "--standard",
                "ems_distance",
                "--types",
                "hospital,emergency_department",
                "--overwrite",
            ]
        )
        == 0
    )
    capsys.readouterr()
    app = editor.open_editor(scenario)
    # hospitals counted for an EMS standard: a stand-in, so named in every file
    for std, key in (("walk15", "walk15"), ("ems_distance", "ems_distance_standin")):
        assert app.standards[std].key == key
        by_run = _csv_table(tmp_path / "run" / f"stand-in_{key}.csv")
        by_coverage = _csv_table(tmp_path / "cov" / f"stand-in_{key}.csv")
        pd.testing.assert_frame_equal(by_run, by_coverage)
        in_app = app.result(std).table.reset_index(drop=True)
        in_app = in_app.astype({c: by_run[c].dtype for c in by_run.columns if c in in_app})
        pd.testing.assert_frame_equal(by_run, in_app[by_run.columns], rtol=1e-9)
    assert by_run["facilities"].iloc[-1] == 24  # 23 hospitals + 1 emergency department


# --- geo suggest ------------------------------------------------------------------------------


def test_suggest_three_sites_anywhere_writes_them(capsys, tmp_path, pack):
    out = tmp_path / "out"
    argv = ["suggest", "--standard", "walk15", "--quota", "3", "--out", str(out), "--json"]
    assert main([*argv, "--raw"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_sites"] == 3
    assert sorted(Path(f).name for f in summary["files"]) == [
        "suggested_sites.csv",
        "suggested_sites.gpkg",
        "suggested_sites_by_subdistrict.csv",
        "suggested_sites_by_subdistrict_metadata.txt",
        "suggested_sites_metadata.txt",
        "suggested_sites_summary.json",
    ]
    prov = summary["provenance"]  # the same provenance block as every other output
    assert prov["output"] == "suggested sites walk15"
    assert prov["network"]["source"] and prov["population_total"] > 2_000_000
    assert prov["facility_counts"]["chc"] == prov["official_counts_2020"]["chc"] == 13
    sites = pd.read_csv(out / "suggested_sites.csv", encoding="utf-8-sig")
    assert len(sites) == 3
    assert sorted(sites["rank"]) == [1, 2, 3]
    assert len(set(zip(sites["lon"], sites["lat"], strict=True))) == 3  # three places
    # each site's newly covered residents (in rank order) add up to the district's gain
    gain = summary["residents_covered_after"] - summary["residents_covered_before"]
    assert sites["residents_new"].sum() == pytest.approx(gain, abs=3)
    assert (sites["residents_new"] > 0).all()
    # the sites lie in the subdistrict the file names
    units = boundaries.load_subdistricts().set_index("name_zh")
    for row in sites.itertuples():
        assert (
            units.geometry[row.subdistrict_zh]
            .buffer(1e-4)
            .contains(shapely.Point(row.lon, row.lat))
        ), row


@pytest.mark.parametrize(
    ("quota", "message"),
    [
        ("0", "quota=0: ask for at least one site"),
        ("three", "--quota='three': expected 'plan' (Table 2) or a number of new sites"),
    ],
    ids=["zero", "a-word"],
)
def test_suggest_bad_quota_is_refused(capsys, tmp_path, pack, quota, message):
    out = tmp_path / "out"
    assert main(["suggest", "--quota", quota, "--out", str(out)]) == 2
    assert f"error: {message}" in capsys.readouterr().err
    assert not out.exists()  # nothing written


# --- geo geocode ------------------------------------------------------------------------------

RESIDENTIAL = "residential/residential_addresses_2022.csv"


def labelled_rows() -> list[dict[str, str]]:
    """The pack's geocoded residential addresses (address, subdistrict, true WGS-84)."""
    rows = pd.read_csv(settings.data_file(RESIDENTIAL), dtype=str).to_dict("records")
    return [{str(k): str(v) for k, v in r.items()} for r in rows]


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance on a sphere of the mean Earth radius (independent of pyproj)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """A cache folder of the test's own: no manual override from another test can win."""
    monkeypatch.setattr(settings, "cache_folder", tmp_path / "cache")


def test_geocode_three_addresses(capsys, tmp_path, pack, own_cache):
    chosen = ("纪翟路2793号", "永平南路198弄", "龙柏四村")  # two numbered, one named compound
    truth = {r["address"]: r for r in labelled_rows() if r["address"] in chosen}
    assert sorted(truth) == sorted(chosen)
    src = write_csv(tmp_path / "in.csv", list(truth.values()), ["address", "subdistrict_zh"])
    out = tmp_path / "geocoded.csv"
    assert main(["geocode", str(src), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "3 addresses geocoded with offline" in printed
    assert f"wrote {out}" in printed
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert len(table) == 3
    assert {"address", "subdistrict_zh", "lon", "lat", "match_level", "review"} <= set(table)
    assert set(table["match_level"]) <= {
        "manual",
        "intersection",
        "road+number",
        "road",
        "subdistrict",
        "none",
    }
    for address, lon, lat, level in zip(
        table["address"].astype(str),
        table["lon"].to_numpy(float),
        table["lat"].to_numpy(float),
        table["match_level"],
        strict=True,
    ):
        true = truth[address]
        error = haversine_m(lon, lat, float(true["wgs84_lon"]), float(true["wgs84_lat"]))
        if address.endswith(("号", "弄")):  # a road and a house number: placed on the road
            assert level == "road+number", address
            assert error < 1000, (address, error)
        else:  # a compound's name the road layer does not hold: somewhere in its subdistrict
            assert error < 5000, (address, error)
    # a second run refuses to overwrite the result
    assert main(["geocode", str(src), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_geocode_needs_a_file_or_evaluate(capsys):
    assert main(["geocode"]) == 2
    assert "give a table to geocode" in capsys.readouterr().err


def test_geocode_evaluate_a_labelled_sample(capsys, tmp_path, pack, own_cache):
    rows = labelled_rows()[::120]  # 11 addresses spread over the file
    rows[-1] = {**rows[-1], "wgs84_lon": "", "wgs84_lat": ""}  # no truth: skipped
    columns = ["address", "subdistrict_zh", "wgs84_lon", "wgs84_lat"]
    src = write_csv(tmp_path / "labelled.csv", rows, columns)
    out = tmp_path / "errors.csv"
    assert main(["geocode", "--evaluate", str(src), "--out", str(out), "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert (ev["n"], ev["skipped"], ev["provider"]) == (10, 1, "offline")
    assert sum(ev["level_counts"].values()) == 10
    # the figures again from the written table, with our own distance and counts
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert len(table) == 10
    errors = [
        haversine_m(*point)
        for point in zip(
            *(table[c].to_numpy(float) for c in ("lon", "lat", "wgs84_lon", "wgs84_lat")),
            strict=True,
        )
        if not math.isnan(point[0])
    ]
    assert ev["located"] == len(errors)
    assert ev["median_error_m"] == pytest.approx(float(pd.Series(errors).median()), rel=0.005)
    road_or_better = table["match_level"].isin(["manual", "intersection", "road+number", "road"])
    assert ev["road_level_or_better_share"] == pytest.approx(road_or_better.mean(), abs=1e-4)


# --- geo plan-scenario ------------------------------------------------------------------------


def test_plan_scenario_writes_the_plan_into_the_scenario_folder(
    capsys, tmp_path, pack, monkeypatch
):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    shutil.copy(settings.scenario_folder / "baseline.toml", folder / "baseline.toml")
    monkeypatch.setattr(settings, "scenario_folder", folder)
    assert main(["plan-scenario"]) == 0
    path = folder / "plan-2025.toml"
    assert f"wrote {path}: 37 suggested sites on baseline" in capsys.readouterr().out

    sc = scenarios.load_scenario(path)
    assert (sc.name, sc.base) == ("plan-2025", "baseline")
    adds = [e for e in sc.edits if e.kind == "add"]
    assert len(adds) == len(sc.edits) == 37
    assert {e.get("by") for e in adds} == {"suggested"}
    walk = [e for e in adds if e.get("type") != "ambulance_substation"]
    assert len(walk) == 32 and len(adds) - len(walk) == plan.NEW_AMBULANCE_SUBSTATIONS
    # Table 2 per unit: each site lies in the unit its name gives; counts and centres as quoted
    units = boundaries.load_subdistricts().set_index("name_zh")
    per_unit: dict[str, list[str]] = {}
    for e in walk:
        unit = str(e.get("name")).split()[0]
        assert (
            units.geometry[unit]
            .buffer(1e-4)
            .contains(shapely.Point(e.number("lon"), e.number("lat")))
        )
        per_unit.setdefault(unit, []).append(str(e.get("type")))
    for unit, (centres, stations) in plan.TABLE2_NEW_SITES.items():
        types = per_unit.get(unit, [])
        assert len(types) == centres + stations, unit
        assert sum(t in ("chc", "branch") for t in types) == centres, unit

    # a second run refuses to overwrite, before doing the work, and says how
    before = path.read_bytes()
    assert main(["plan-scenario"]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err
    assert path.read_bytes() == before


def test_access_prints_the_distribution_and_writes_readable_files(capsys, tmp_path, pack):
    argv = ["access", "plan-2025", "--standard", "ems_time", "--compare", "baseline"]
    assert main([*argv, "--out", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    now, base = out["plan-2025"]["district"], out["baseline"]["district"]
    assert now["p90_min"] >= now["median_min"] >= 2.0  # response times include the dispatch delay
    assert base["p90_min"] is None  # baseline has no substation: beyond the limit
    import pandas as pd

    table = pd.read_csv(tmp_path / "plan-2025_ems_time_travel_times.csv", encoding="utf-8-sig")
    district = table.iloc[-1]
    assert district["街镇"] == "闵行区"
    assert district["90分位（分钟）"] == round(now["p90_min"], 2)
    assert district["15分钟内居民占比 %"] == round(100 * now["share_within_15min"], 2)
    change = pd.read_csv(tmp_path / "plan-2025_vs_baseline_access.csv", encoding="utf-8-sig")
    assert "平均（分钟）（变化）" in change.columns
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "beside the plan's average ≤ 12 min" in text and "plan-2025 against baseline" in text
