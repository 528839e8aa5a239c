from __future__ import annotations

import json

from geo import settings
from geo.cli import main


def test_help_lists_commands(capsys):
    try:
        main(["--help"])
    except SystemExit as exc:
        assert exc.code == 0
    out = capsys.readouterr().out
    for command in ("info", "facilities"):
        assert command in out


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
        "nodes", "edges", "length_km", "components", "largest_component_share",
        "repair_connectors", "repair_length_km", "source",
    ):  # fmt: skip
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
    assert names == ["基线_baseline.gpkg", "基线_baseline.xlsx", "基线_baseline_walk15.csv"]
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
        "plan-2025_vs_baseline.csv", "plan-2025_vs_baseline.gpkg",
        "plan-2025_vs_baseline.xlsx", "plan-2025_vs_baseline_sites.csv",
    ]  # fmt: skip


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

    return pd.read_csv(path, comment="#", encoding="utf-8-sig", dtype={"code": str})


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
    assert main(["run", str(scenario), "--out", str(tmp_path / "run")]) == 0
    cov = ["coverage", "--out", str(tmp_path / "cov"), "--stem", "stand-in"]
    assert main([*cov, "--standard", "walk15"]) == 0
    assert main([*cov, "--standard", "ems_distance", "--types", "hospital,emergency_department",
                 "--overwrite"]) == 0  # fmt: skip
    capsys.readouterr()
    app = editor.open_editor(scenario)
    for std in ("walk15", "ems_distance"):
        by_run = _csv_table(tmp_path / "run" / f"stand-in_{std}.csv")
        by_coverage = _csv_table(tmp_path / "cov" / f"stand-in_{std}.csv")
        pd.testing.assert_frame_equal(by_run, by_coverage)
        in_app = app.result(std).table.reset_index(drop=True)
        in_app = in_app.astype({c: by_run[c].dtype for c in by_run.columns if c in in_app})
        pd.testing.assert_frame_equal(by_run, in_app[by_run.columns], rtol=1e-9)
    assert by_run["facilities"].iloc[-1] == 26  # 25 hospitals + 1 emergency department
