"""Names a planner (or an attacker) typed are shown as text on the map, never run: the map is
rendered in headless Chromium with hostile site names, every popup and tooltip is opened, and
no dialog may open."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo import coverage, facilities, maps, population, standards

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
HOSTILE = [
    "</script>${1}<b>x",
    "`",
    "<img src=x onerror=alert(1)>",
    "${alert(2)}\\`; alert(3); `",
]


@pytest.fixture(scope="module")
def map_file(pack, tmp_path_factory):
    import folium
    import xstatic.pkg.jquery as xjquery
    import xstatic.pkg.leaflet as xleaflet

    std = standards.make_standard("straight_line", facility_types=("hospital",))
    table = facilities.facilities_from_pack()
    gdf = table.gdf[table.gdf["type"] == "hospital"].head(len(HOSTILE)).copy()
    gdf["name"] = HOSTILE
    gdf["id"] = [f"id-{h}" for h in HOSTILE]
    gdf["source"] = "<script>alert(4)</script>"
    result = coverage.compute_coverage(std, gdf, population.population_from_addresses())
    saved_js, saved_css = folium.Map.default_js, folium.Map.default_css
    folium.Map.default_js = [
        ("leaflet", Path(xleaflet.BASE_DIR, "leaflet.js").as_uri()),
        ("jquery", Path(xjquery.BASE_DIR, "jquery.min.js").as_uri()),
    ]
    folium.Map.default_css = [("leaflet_css", Path(xleaflet.BASE_DIR, "leaflet.css").as_uri())]
    try:
        fmap = maps.coverage_map(
            table=result.table,
            subdistricts=coverage.partition_subdistricts().to_crs(4326),
            covered=result.covered,
            blind_spots=result.blind_spots,
            facilities=result.facilities,
            standard_label="<img src=x onerror=alert(5)> `${6}`",
            sources={"network": "</script><script>alert(7)</script>"},
            lang="en",
        )
        path = tmp_path_factory.mktemp("map") / "hostile.html"
        fmap.save(str(path))
    finally:
        folium.Map.default_js, folium.Map.default_css = saved_js, saved_css
    return path


def test_hostile_names_show_as_text_and_run_nothing(map_file):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "install Debian chromium (apt-get install chromium)"
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--allow-file-access-from-files"],
        )  # fmt: skip
        page = browser.new_page(viewport={"width": 1200, "height": 900})

        def on_dialog(dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(map_file.as_uri())
        page.wait_for_selector(".leaflet-container", timeout=30_000)
        opened = page.evaluate(
            """() => {
                let n = 0;
                for (const key of Object.keys(window)) {
                    const layer = window[key];
                    if (key.startsWith('circle_marker_') && layer && layer.openPopup) {
                        layer.openTooltip(); layer.openPopup(); n += 1;
                        window['__text_' + n] = layer.getPopup().getElement().innerText
                            + '\\n' + layer.getTooltip().getElement().innerText;
                    }
                }
                return n;
            }"""
        )
        texts = page.evaluate(
            "() => Object.keys(window).filter(k => k.startsWith('__text_')).map(k => window[k])"
        )
        legend = page.inner_text("#geo-legend")
        injected = page.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length")
        browser.close()
    assert opened == len(HOSTILE)
    shown = "\n".join(texts)
    for name in HOSTILE:
        assert name in shown  # the characters themselves, as text
    assert "<script>alert(4)</script>" in shown
    assert "<img src=x onerror=alert(5)> `${6}`" in legend
    assert "</script><script>alert(7)</script>" in legend
    assert injected == 0
    assert dialogs == []
    assert errors == []  # a backtick or `${` no longer breaks the map's script
