"""The app in a real browser: headless Debian Chromium driven by Playwright.

Journey: open the app, switch language and standard, add a site by clicking the map, see the
numbers change, download the CSV and check its content. Needs /usr/bin/chromium (installed by
.ci/run); deselect with ``-m "not browser"`` on a machine without it.
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from geo import settings

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(pack, tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "log.txt"
    cache = tmp_path_factory.mktemp("cache")
    for built in settings.resolve_cache_folder().glob("network-*"):  # the run's networks only
        (cache / built.name).symlink_to(built)
    scenario_dir = tmp_path_factory.mktemp("scenarios")  # saves never touch the repository
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "GEO_CACHE_DIR": str(cache),
        "GEO_SCENARIO_DIR": str(scenario_dir),
    }
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "app.py"),
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=env,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(120):
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    time.sleep(0.5)
            else:
                pytest.fail(f"streamlit did not start: {log.read_text()[-2000:]}")
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "install Debian chromium (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


def _settled_box(leaflet, timeout_s: float = 60.0) -> dict:
    """The map's bounding box once the component has settled (same box twice, 0.5 s apart).

    A rerun re-mounts the component's iframe; on a loaded machine that takes a while, and a box
    read in between is None.
    """
    deadline, last = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        box = leaflet.bounding_box()
        if box is not None and box == last:
            return box
        last = box
        time.sleep(0.5)
    pytest.fail(f"the map did not settle within {timeout_s:g} s (last box: {last})")


def _idle(page, timeout: int = 120_000) -> None:
    """Wait until no Streamlit script runs (a rerun still running re-mounts the map)."""
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]')"
        ".getAttribute('data-test-script-state') === 'notRunning'",
        timeout=timeout,
    )


def _metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def _open_english(browser, app_url: str, *, height: int = 1000, **options):
    """A new page on the app, switched to English."""
    page = browser.new_page(viewport={"width": 1400, "height": height}, **options)
    page.goto(app_url, timeout=60_000)
    page.wait_for_selector("text=居民覆盖率", timeout=120_000)
    page.get_by_text("English", exact=True).click()
    page.wait_for_selector("text=Minhang health facility coverage planner", timeout=60_000)
    return page


def _wait_for_value(page, value: object, timeout: int = 60_000) -> None:
    """Wait until a headline figure reads ``value`` (e.g. the new number of facilities)."""
    page.wait_for_function(
        """v => [...document.querySelectorAll('[data-testid="stMetricValue"]')]
               .some(e => e.innerText.trim() === v)""",
        arg=str(value),
        timeout=timeout,
    )


def test_add_a_site_by_clicking_and_download(app_url, browser, tmp_path):
    page = _open_english(browser, app_url, accept_downloads=True)
    # switch standard to straight_line and back to walk15: the label of the metric box stays,
    # the plan figure changes with the standard
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Standard").click()
    page.get_by_role("option", name="straight_line", exact=False).click()
    page.wait_for_selector("text=≤ 3.5 km, ≤ 12 min", timeout=60_000)
    assert _metric(page, "Facilities counted") == "0"  # the pack has no ambulance substation
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Standard").click()
    page.get_by_role("option", name="walk15", exact=False).click()
    page.wait_for_selector("text=2020: 85.84% / 68.24%", timeout=60_000)
    before_sites = _metric(page, "Facilities counted")
    before_res = _metric(page, "Residents covered")
    assert before_sites == "17"
    # add a site: choose the mode, then click the map in the middle (inside Minhang)
    page.get_by_text("add a site", exact=True).click()
    page.wait_for_selector("text=Click the map to", timeout=60_000)
    frame = page.frame_locator('[data-testid="stCustomComponentV1"]').first
    leaflet = frame.locator(".leaflet-container")
    leaflet.wait_for(timeout=60_000)
    box = _settled_box(leaflet)
    leaflet.click(position={"x": box["width"] * 0.47, "y": box["height"] * 0.52})
    _wait_for_value(page, 18)
    after_res = _metric(page, "Residents covered")
    assert float(after_res.rstrip("%")) >= float(before_res.rstrip("%"))
    page.screenshot(path=str(tmp_path / "after_add.png"))
    # download the CSV of the edited scenario and check it
    page.get_by_role("button", name="Prepare downloads").click()
    button = page.get_by_role("button", name="baseline-edited_walk15.csv", exact=False)
    button.wait_for(timeout=120_000)
    with page.expect_download() as info:
        button.click()
    data = Path(info.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    table = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype={"code": str})
    district = table.set_index("code").loc["310112"]  # English headers, as the app is in English
    assert district["facilities"] == 18
    assert "闵行区" in set(table["subdistrict (zh)"])
    button = page.get_by_role("button", name="baseline-edited_walk15_metadata.txt", exact=False)
    with page.expect_download() as info:
        button.click()
    sources = Path(info.value.path()).read_text(encoding="utf-8")
    assert sources.startswith("Sources\n") and "scenario baseline with 1 edits" in sources
    # the report of the edited map against the scenario as opened: PDF and HTML, in English
    page.get_by_role("button", name="Prepare the report (PDF and HTML)").click()
    button = page.get_by_role("button", name="baseline-edited_report.pdf", exact=False)
    button.wait_for(timeout=180_000)
    with page.expect_download() as info:
        button.click()
    report = PdfReader(info.value.path())
    cover = report.pages[0].extract_text()
    assert "Health-facility coverage report" in cover and "baseline-edited" in cover
    sites = "\n".join(p.extract_text() for p in report.pages[-3:])
    assert "Sites changed against the base baseline" in sites and "added" in sites
    page.close()


def test_geocode_a_list_and_re_pin_a_flagged_address(app_url, browser, tmp_path):
    addresses = tmp_path / "sites.csv"
    addresses.write_text(
        "地址,街镇\n七宝镇 漕宝路 1500号,七宝镇\n某某新村,颛桥镇\n", encoding="utf-8"
    )
    page = _open_english(browser, app_url)
    page.get_by_text("Geocode an address list (CSV/Excel)").click()
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="CSV / Excel").last
    uploader.locator('input[type="file"]').set_input_files(str(addresses))
    page.wait_for_selector("text=2 addresses placed; 1 to review", timeout=60_000)
    page.get_by_text("re-pin a geocoded address", exact=True).click()
    page.wait_for_selector("text=Address to re-pin", timeout=60_000)
    leaflet = page.frame_locator('[data-testid="stCustomComponentV1"]').first.locator(
        ".leaflet-container"
    )
    leaflet.wait_for(timeout=60_000)
    box = _settled_box(leaflet)
    leaflet.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.6})
    page.wait_for_selector("text=2 addresses placed; 0 to review", timeout=60_000)
    page.close()


REGISTER_POINTS = [
    (121.4551, 31.065),
    (121.4009, 31.1307),
    (121.4225, 31.0288),
    (121.3994, 31.0695),
    (121.4384, 31.0601),
    (121.3739, 31.0207),
    (121.466, 31.0509),
    (121.3723, 31.1396),
    (121.3646, 31.05),
    (121.4353, 31.0502),
    (121.3881, 31.0679),
    (121.3805, 31.0393),
    (121.4936, 31.063),
    (121.4344, 31.0801),
    (121.4139, 31.0491),
    (121.4105, 31.0561),
    (121.4139, 31.0953),
    (121.3822, 31.0679),
    (121.3935, 31.1295),
    (121.3644, 31.1703),
    (121.3856, 31.1247),
    (121.4746, 31.0888),
    (121.3711, 31.1238),
    (121.4621, 31.0474),
]  # each at least ~1 km inside the district, so a GCJ-02 shift (~500 m) stays inside
REGISTER_ADDRESSES = ["漕宝路1500号", "七莘路100号", "虹梅南路2000号", "莘松路500号"]


def register_csv(path: Path) -> Path:
    """30 rows: 24 with lon/lat (every 3rd in GCJ-02), 4 with only an address, 2 bad rows."""
    types = ["社区卫生服务站", "社区卫生服务中心", "村卫生室", "急救分站"]
    lines = ["编号,名称,类型,地址,经度,纬度,坐标系"]
    for i, (lon, lat) in enumerate(REGISTER_POINTS):
        crs = "gcj02" if i % 3 == 0 else "wgs84"
        lines.append(f"R{i + 1},登记站{i + 1},{types[i % 4]},,{lon},{lat},{crs}")
    for j, address in enumerate(REGISTER_ADDRESSES):
        lines.append(f"A{j + 1},地址站{j + 1},社区卫生服务站,{address},,,")
    lines.append("B1,坏行一,药店,,121.40,31.10,")  # unknown type
    lines.append("B2,坏行二,社区卫生服务站,,116.40,39.90,")  # Beijing
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_start_a_scenario_from_my_register_and_find_it_after_a_reload(app_url, browser, tmp_path):
    """Upload 30 rows (2 bad), fix nothing, create a scenario from the 28 good rows (replace),
    see the headline change, reload the page and find the scenario again."""
    reg = register_csv(tmp_path / "my-register.csv")
    page = _open_english(browser, app_url, height=1100)
    assert _metric(page, "Facilities counted") == "17"
    page.get_by_text("Start a scenario from my data").click()
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Facility register")
    uploader.locator('input[type="file"]').set_input_files(str(reg))
    page.wait_for_selector("text=Rejected rows", timeout=120_000)
    assert _metric(page, "valid facilities") == "28"
    assert _metric(page, "rows rejected") == "2"
    assert _metric(page, "placed from their address") == "4"
    page.screenshot(path=str(tmp_path / "register_checked.png"), full_page=True)
    name = page.get_by_label("Name of the new scenario")
    name.fill("my-register")
    name.press("Enter")
    page.get_by_role("button", name="Create the scenario").click()
    # replace: 28 facilities, 22 basic-level (10 stations, 6 centres, 6 village clinics)
    _wait_for_value(page, 22, timeout=180_000)
    assert _metric(page, "Facilities counted") == "22"
    page.screenshot(path=str(tmp_path / "register_scenario.png"), full_page=True)
    page.reload()
    page.wait_for_selector("text=居民覆盖率", timeout=120_000)
    page.locator('[data-testid="stSelectbox"]').filter(has_text="情景").click()
    page.get_by_role("option", name="my-register", exact=True).click()
    _wait_for_value(page, 22, timeout=180_000)
    page.close()


def _map_frame(page):
    """The component iframe that holds the Leaflet map (``window.map``)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for frame in page.frames:
            try:
                if frame.evaluate("() => !!(window.map && window.map.getZoom)"):
                    return frame
            except Exception:  # a frame being replaced
                continue
        time.sleep(0.5)
    pytest.fail("no Leaflet map in the page")


def _overlays(frame) -> dict[str, bool]:
    """Layer name (its first words) → shown, as the map's layer control says."""
    pairs = frame.evaluate(
        """() => [...document.querySelectorAll('.leaflet-control-layers-overlays label')]
            .map(l => [l.innerText.trim(), l.querySelector('input').checked])"""
    )
    return {name.split(" (")[0]: checked for name, checked in pairs}


def test_the_view_stays_after_an_add_and_a_standard_change(app_url, browser, tmp_path):
    """Zoom in, add a site by clicking: the map is not rebuilt (same zoom and centre), and the
    figure changes; switching the standard keeps the view too."""
    page = _open_english(browser, app_url)
    page.get_by_text("add a site", exact=True).click()
    page.wait_for_selector("text=Click the map to", timeout=60_000)
    _idle(page)  # the planner zooms once the page has settled (a rerun re-mounts the map)
    frame = _map_frame(page)
    first_zoom = frame.evaluate("() => window.map.getZoom()")
    frame.evaluate("() => window.map.setView([31.12, 121.38], 14, {animate: false})")
    time.sleep(1.0)
    before = int(_metric(page, "Facilities counted"))
    leaflet = page.frame_locator('[data-testid="stCustomComponentV1"]').first.locator(
        ".leaflet-container"
    )
    box = _settled_box(leaflet)
    leaflet.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.55})
    _wait_for_value(page, before + 1)
    time.sleep(1.0)
    frame = _map_frame(page)
    assert frame.evaluate("() => window.map.getZoom()") == 14 != first_zoom
    centre = frame.evaluate("() => [window.map.getCenter().lat, window.map.getCenter().lng]")
    # kept to within a few metres (a re-fit to the district would move it by ~5 km)
    assert centre == pytest.approx([31.12, 121.38], abs=2e-4)
    page.screenshot(path=str(tmp_path / "view_kept.png"))
    shown = _overlays(frame)
    assert shown["Covered area"] and shown["Facilities"] and shown["Subdistricts"]
    assert not shown["Blind spots"] and not shown["Emergency corridors"]  # walk view defaults
    # the planner turns blind spots on: the next edit keeps them on
    frame.locator(".leaflet-control-layers-overlays label", has_text="Blind spots").click()
    leaflet.click(position={"x": box["width"] * 0.45, "y": box["height"] * 0.5})
    _wait_for_value(page, before + 2)
    time.sleep(1.0)
    frame = _map_frame(page)
    assert _overlays(frame)["Blind spots"] and _overlays(frame)["Covered area"]
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Standard").click()
    page.get_by_role("option", name="ems_time", exact=False).click()
    page.wait_for_selector("text=≤ 3.5 km, ≤ 12 min", timeout=60_000)
    time.sleep(1.0)
    assert _map_frame(page).evaluate("() => window.map.getZoom()") == 14
    page.close()


def _cjk_left(text: str, allowed: set[str]) -> list[str]:
    for word in sorted(allowed, key=len, reverse=True):
        text = text.replace(word, "")
    return sorted(set(re.findall(r"[\u4e00-\u9fff]+", text)))


def test_english_page_and_map_hold_no_chinese_beyond_names(app_url, browser, pack):
    """After switching to English, the page and the map's own texts (legend, layer control,
    unit names) hold no Chinese beyond proper names: facility and site names (data), map
    providers, the language switch and the plan's term 三纵四横."""
    from geo import facilities

    page = _open_english(browser, app_url)
    page.get_by_text("add a site", exact=True).click()
    page.wait_for_selector("text=Click the map to", timeout=60_000)
    time.sleep(2.0)
    frame = _map_frame(page)
    text = page.inner_text("body") + "\n" + frame.inner_text("body")
    allowed = {"语言", "中文", "高德", "腾讯", "百度", "三纵四横"}
    allowed |= set(facilities.facilities_from_pack().gdf["name"])
    assert _cjk_left(text, allowed) == []
    page.close()


def test_pick_a_site_by_clicking_its_symbol_then_remove_and_undo(app_url, browser, pack):
    """Remove mode: nothing is preselected; a click on a centre's symbol (the nearest site
    within 300 m) chooses it in the sidebar list and removes nothing; "Remove" removes it;
    undo brings it back."""
    from geo import facilities

    site = facilities.facilities_from_pack().gdf.set_index("id").loc["way/1195595581"]
    page = _open_english(browser, app_url)
    page.get_by_text("remove a site", exact=True).click()
    page.get_by_role("button", name="Removed").wait_for(timeout=60_000)
    assert page.get_by_role("button", name="Removed").is_disabled()  # nothing preselected
    before = int(_metric(page, "Facilities counted"))
    frame = _map_frame(page)
    lat, lon = site.geometry.y, site.geometry.x
    frame.evaluate(f"() => window.map.setView([{lat}, {lon}], 16, {{animate: false}})")
    time.sleep(1.0)
    point = frame.evaluate(f"() => window.map.latLngToContainerPoint([{lat}, {lon}])")
    leaflet = page.frame_locator('[data-testid="stCustomComponentV1"]').first.locator(
        ".leaflet-container"
    )
    leaflet.click(position={"x": point["x"], "y": point["y"]})
    page.wait_for_function(  # the site is chosen: "Remove" is enabled
        """() => [...document.querySelectorAll('button')].some(
            b => b.innerText.trim() === 'Removed' && !b.disabled)""",
        timeout=60_000,
    )
    sidebar = page.locator('[data-testid="stSidebar"]')
    values = [sidebar.inner_text()]  # a selectbox shows its value as text or in its input
    values += [i.input_value() for i in sidebar.locator("input").all()]
    values += [i.get_attribute("aria-label") or "" for i in sidebar.locator("input").all()]
    assert any(site["name"] in v for v in values), values
    assert int(_metric(page, "Facilities counted")) == before  # a pick removes nothing
    page.get_by_role("button", name="Removed").click()
    _wait_for_value(page, before - 1)
    page.get_by_role("button", name="Undo last edit").click()
    _wait_for_value(page, before)
    page.close()


def test_chinese_map_holds_no_english_words_beyond_names(app_url, browser, pack):
    """In 中文 the map's own texts (legend with its sources, layer control, 街镇 names) hold no
    English words beyond names of products and files (Leaflet, OpenStreetMap, a .geojson)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_url, timeout=60_000)
    page.wait_for_selector("text=居民覆盖率", timeout=120_000)
    time.sleep(2.0)
    text = _map_frame(page).inner_text("body")
    # the ODbL attribution line is kept as OpenStreetMap asks for it
    allowed = r"© OpenStreetMap contributors|OpenStreetMap|Leaflet|ODbL|OSM|Overpass|AMap|GCJ-02|"
    allowed += r"[\w/]+\.geojson|km"
    words = re.findall(r"[A-Za-z]{4,}", re.sub(allowed, "", text))
    assert words == [], words
    page.close()


def test_a_click_during_a_recomputation_is_not_lost(app_url, browser):
    """Two clicks 0.6 s apart (the second while the first edit is being shown): both sites are
    added. (The map component itself merges clicks closer than 0.25 s into one.)"""
    page = _open_english(browser, app_url)
    page.get_by_text("add a site", exact=True).click()
    page.wait_for_selector("text=Click the map to", timeout=60_000)
    before = int(_metric(page, "Facilities counted"))
    leaflet = page.frame_locator('[data-testid="stCustomComponentV1"]').first.locator(
        ".leaflet-container"
    )
    box = _settled_box(leaflet)
    leaflet.click(position={"x": box["width"] * 0.47, "y": box["height"] * 0.52})
    time.sleep(0.6)
    leaflet.click(position={"x": box["width"] * 0.52, "y": box["height"] * 0.6})
    _wait_for_value(page, before + 2)
    page.close()


def test_undo_removes_a_whole_suggestion(app_url, browser):
    """ "Suggest sites" on walk15 adds Table 2's quota in one step; one undo removes every
    proposal and the headline figures return to what they were."""
    from geo.optimize.curves import PLAN_NEW_SITES

    page = _open_english(browser, app_url)
    before = int(_metric(page, "Facilities counted"))
    residents = _metric(page, "Residents covered")
    page.get_by_role("button", name="Suggest sites (plan quotas)").click()
    _wait_for_value(page, before + PLAN_NEW_SITES, timeout=180_000)
    assert _metric(page, "Residents covered") != residents
    page.get_by_role("button", name="Undo last edit").click()
    _wait_for_value(page, before)
    assert _metric(page, "Residents covered") == residents
    page.close()
