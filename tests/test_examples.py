"""The scripts in ``examples/`` run against the current library and print what they promise."""

from __future__ import annotations

import runpy
import sys

from geo import boundaries, settings

EXAMPLES = settings.REPO_ROOT / "examples"


def test_run_scenario_prints_every_subdistrict(capsys, monkeypatch, pack):
    # in-process, so the example uses this run's data and temporary cache folder
    monkeypatch.setattr(sys, "argv", ["run_scenario.py", "plan-2025"])
    runpy.run_path(str(EXAMPLES / "run_scenario.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert out.startswith("plan-2025: {'added': 37, 'moved': 0, 'removed': 0}")
    lines = out.splitlines()
    assert "baseline %" in lines[1] and "plan-2025 %" in lines[1]
    rows = lines[2:]
    units = boundaries.load_subdistricts()
    assert len(rows) == len(units) + 1 == 15  # 14 subdistricts and the district row
    for code, name_zh, row in zip(units["code"], units["name_zh"], rows, strict=False):
        assert row.split()[:2] == [code, name_zh]
    assert rows[-1].split()[:2] == ["310112", "闵行区"]
    # walk15 coverage only rises when sites are only added: B ≥ A in every row
    for row in rows:
        a, b = (float(x) for x in row.split()[-4:-2])
        assert b >= a, row
