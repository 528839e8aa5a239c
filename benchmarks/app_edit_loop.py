"""The app's edit loop as a planner feels it (run by hand, not a test).

Starts ``streamlit run app.py``, drives Debian's headless Chromium, switches to "add a site",
clicks the map 10 times and prints the median and max time from click to the updated headline
figure ("Facilities counted") and from click to idle (no Streamlit script running).

    .venv/bin/python benchmarks/app_edit_loop.py [--clicks 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

from _streamlit import CHROMIUM, ROOT, served_app


def _metric(page: Page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return str(box.locator('[data-testid="stMetricValue"]').inner_text())


def main() -> int:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=10)
    args = parser.parse_args()
    env = {**os.environ, "GEO_CACHE_DIR": os.environ.get("GEO_CACHE_DIR", str(ROOT / ".cache"))}
    log = Path(tempfile.mkdtemp(prefix="edit-loop-")) / "streamlit.log"
    with served_app(env, log) as url, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, timeout=120_000)
        page.wait_for_selector("text=居民覆盖率", timeout=300_000)
        page.get_by_text("English", exact=True).click()
        page.wait_for_selector("text=Minhang health facility coverage planner", timeout=60_000)
        page.get_by_text("add a site", exact=True).click()
        page.wait_for_selector("text=Click the map to", timeout=60_000)
        leaflet = page.frame_locator('[data-testid="stCustomComponentV1"]').first.locator(
            ".leaflet-container"
        )
        to_figure, to_idle, missed = [], [], 0
        for i in range(args.clicks):
            leaflet.wait_for(timeout=60_000)
            time.sleep(1.0)
            box = leaflet.bounding_box()
            if box is None:
                continue
            before = int(_metric(page, "Facilities counted"))
            started = time.perf_counter()
            spot = {
                "x": box["width"] * (0.44 + 0.015 * i),
                "y": box["height"] * (0.62 - 0.01 * i),
            }
            leaflet.click(position=spot)
            try:
                page.wait_for_function(
                    """n => [...document.querySelectorAll('[data-testid="stMetric"]')]
                            .some(m => m.innerText.includes('Facilities counted')
                                  && m.querySelector('[data-testid="stMetricValue"]')
                                      .innerText.trim() === String(n))""",
                    arg=before + 1,
                    timeout=20_000,
                )
            except PlaywrightTimeout:  # the click hit a marker or fell outside: no site
                missed += 1
                print(f"  click {i + 1}: no site added within 20 s (counted as missed)")
                continue
            to_figure.append(time.perf_counter() - started)
            page.wait_for_function(
                "() => document.querySelector('[data-testid=stApp]')"
                ".getAttribute('data-test-script-state') === 'notRunning'",
                timeout=60_000,
            )
            to_idle.append(time.perf_counter() - started)
            print(f"  click {i + 1}: figure {to_figure[-1]:.2f} s, idle {to_idle[-1]:.2f} s")
        browser.close()
    print(f"{len(to_figure)} sites added by clicking ('add a site'), {missed} clicks missed:")
    print(
        f"  click -> updated figure: median {statistics.median(to_figure):.2f} s, "
        f"max {max(to_figure):.2f} s"
    )
    print(
        f"  click -> idle:           median {statistics.median(to_idle):.2f} s, "
        f"max {max(to_idle):.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
