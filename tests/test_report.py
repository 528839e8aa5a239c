"""The scenario report: PDF pages rendered back to PNG, the CJK font embedded, the HTML twin."""

from __future__ import annotations

import dataclasses
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from fontTools.ttLib import TTCollection, TTFont
from PIL import Image
from pypdf import PdfReader

from geo import _report_maps, coverage, plan, scenarios
from geo.maps import AREA_COLOURS, SHARE_COLOURS
from geo.report import Report, build_report

pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdffonts") is None,
    reason="poppler-utils (pdftoppm, pdffonts) not installed; .ci/run installs them",
)

TITLE_ZH = "闵行区医疗卫生设施覆盖报告"


@pytest.fixture(scope="module")
def runs(pack: Path) -> tuple[scenarios.ScenarioRun, scenarios.ScenarioRun]:
    return scenarios.run_scenario("baseline"), scenarios.run_scenario("plan-2025")


@pytest.fixture(scope="module")
def compared(
    runs: tuple[scenarios.ScenarioRun, scenarios.ScenarioRun],
) -> tuple[Report, scenarios.Comparison]:
    base, now = runs
    part = coverage.partition_subdistricts()
    cmp = scenarios.compare(base, now, subdistricts=part)
    doc = build_report(
        now,
        subdistricts=part,
        comparison=cmp,
        base_run=base,
        corridors=plan.corridor_layer(),
        lang="zh",
    )
    return doc, cmp


def _pages(pdf: Path, out: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(out / "page")], check=True)
    return sorted(out.glob("page-*.png"))


def _glyphs(family: str) -> set[int]:
    path = _report_maps.font_path(family)
    fonts = TTCollection(path).fonts if path.lower().endswith(".ttc") else [TTFont(path)]
    return set(fonts[0].getBestCmap())


def test_pdf_pages_font_headline_and_maps(
    compared: tuple[Report, scenarios.Comparison],
    runs: tuple[scenarios.ScenarioRun, scenarios.ScenarioRun],
    tmp_path: Path,
) -> None:
    doc, cmp = compared
    base, now = runs
    path = doc.write(tmp_path / "plan.pdf")
    pngs = _pages(path, tmp_path)
    # cover, 4 maps (walk share, walk area, ambulance, change), a table per standard,
    # the sites changed (40 rows a page) and the methods page
    expected = 1 + 4 + len(now.results) + math.ceil(len(cmp.sites) / 40) + 1
    assert len(pngs) == doc.pages == expected == len(PdfReader(path).pages)

    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    family = _report_maps.cjk_font()
    embedded = [
        line
        for line in fonts.stdout.splitlines()[2:]
        if family.replace(" ", "") in line and " yes " in line
    ]
    assert embedded, fonts.stdout  # the CJK font is embedded, not referenced
    assert set(map(ord, TITLE_ZH)) <= _glyphs(family)  # every glyph of the title: no tofu

    cover = PdfReader(path).pages[0].extract_text()
    assert TITLE_ZH in cover and "情景: plan-2025" in cover
    walk_now, walk_base = now.result("walk15").district(), base.result("walk15").district()
    for share in (walk_now["resident_share"], walk_base["resident_share"]):
        assert f"{100 * share:.2f} %" in cover  # the run's own figures, formatted
    delta = 100 * (walk_now["resident_share"] - walk_base["resident_share"])
    assert f"{delta:+.2f} pp" in cover
    assert "85.84 %" in cover and "68.24 %" in cover and "6.73" in cover  # the plan's
    assert f"{walk_now['facilities_per_100k']:.2f}" in cover

    # the map pages are drawn, not blank: each shows its layer's colour (blended with white
    # at the layer's opacity) on a share of the page, and many colours in all
    layers = [
        (SHARE_COLOURS[3], 1.0),  # 街镇 at 40–60 % residents covered
        (AREA_COLOURS["covered"], 0.55),
        (AREA_COLOURS["ems"], 0.8),
        (AREA_COLOURS["gained"], 0.75),
    ]
    for png, (colour, alpha) in zip(pngs[1:5], layers, strict=True):
        pixels = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3).astype(int)
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
        blended = alpha * rgb + (1 - alpha) * 255
        share = (np.abs(pixels - blended).max(axis=1) <= 24).mean()
        colours = len(np.unique(pixels // 16, axis=0))
        assert share > 0.005 and colours > 20, (png.name, share, colours)

    tables = PdfReader(path).pages[5].extract_text()
    for name in ("江川路街道", "浦锦街道", "闵行区"):
        assert name in tables
    assert f"{round(walk_now['covered_residents']):,}" in tables  # whole residents


def test_english_report_without_a_base(
    runs: tuple[scenarios.ScenarioRun, scenarios.ScenarioRun], tmp_path: Path
) -> None:
    base, _now = runs
    doc = build_report(base, subdistricts=coverage.partition_subdistricts(), lang="en")
    path = doc.write(tmp_path / "base.pdf")
    reader = PdfReader(path)
    assert len(reader.pages) == doc.pages == 1 + 3 + len(base.results) + 1 + 1
    cover = reader.pages[0].extract_text()
    assert "Health-facility coverage report, Minhang District" in cover
    assert "walk 15 min: residents covered" in cover
    assert "change" not in cover  # no base, so no base or change column
    # one language: the only Chinese on the cover is the plan's own title
    assert not re.search(r"[\u4e00-\u9fff]", cover.replace(plan.PLAN_SOURCE.split(" ")[0], ""))
    methods = reader.pages[-1].extract_text()
    assert "Methods and sources" in methods and "Network" in methods


def test_html_twin_escapes_every_text_and_embeds_the_maps(
    compared: tuple[Report, scenarios.Comparison],
    runs: tuple[scenarios.ScenarioRun, scenarios.ScenarioRun],
) -> None:
    doc, cmp = compared
    base, now = runs
    hostile = "<script>alert(1)</script>"
    sites = cmp.sites.copy()
    sites.loc[sites.index[0], "name"] = hostile
    bad = dataclasses.replace(cmp, sites=sites)
    page = build_report(
        now, subdistricts=coverage.partition_subdistricts(), comparison=bad, base_run=base
    ).html_bytes()
    text = page.decode("utf-8")
    assert hostile not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert text.count('src="data:image/png;base64,') == 4
    assert "<script" not in text.lower()
    original = doc.html_bytes().decode("utf-8")
    walk = now.result("walk15").district()
    assert f"{100 * walk['resident_share']:.2f} %" in original and TITLE_ZH in original
    assert re.search(r"<h2>设施变动（与基准 baseline 相比）</h2>", original)


def test_write_refuses_an_existing_file(
    compared: tuple[Report, scenarios.Comparison], tmp_path: Path
) -> None:
    doc, _cmp = compared
    path = tmp_path / "r.pdf"
    path.write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        doc.write(path)
    assert path.read_bytes() == b"keep"
    doc.write(path, overwrite=True)
    assert path.read_bytes().startswith(b"%PDF")
    html = doc.write(tmp_path / "r.html")
    assert html.read_bytes().startswith(b"<!doctype html>")
