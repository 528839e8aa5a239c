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
