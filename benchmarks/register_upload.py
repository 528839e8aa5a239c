"""From an uploaded register to coverage, in the browser (run by hand, not a test).

Starts ``streamlit run app.py`` with a temporary scenario folder, drives Debian's headless
Chromium: uploads an N-row register (random points inside Minhang, every 3rd in GCJ-02, every
10th with only an address, so the offline geocoder places it), waits for the row check, creates a
scenario ("replace") and waits for its headline figure. Prints, per run and as medians: upload →
rows checked, create → first coverage figure, and the total.

    .venv/bin/python benchmarks/register_upload.py [--rows 150] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely
from _streamlit import CHROMIUM, ROOT, served_app

ADDRESSES = ["漕宝路1500号", "七莘路100号", "虹梅南路2000号", "莘松路500号", "剑川路500号"]


def register(path: Path, n: int, seed: int) -> int:
    """Write an n-row register; return how many rows are basic-level facilities."""
    from geo import boundaries

    sub = boundaries.subdistricts()
    inner = shapely.union_all(sub.geometry.values).buffer(-0.01)  # GCJ-02 shifts stay inside
    x0, y0, x1, y1 = inner.bounds
    rng = np.random.default_rng(seed)
    lines = ["编号,名称,类型,地址,经度,纬度,坐标系"]
    types = ["社区卫生服务站", "社区卫生服务中心", "村卫生室", "急救分站"]
    basic = 0
    while len(lines) <= n:
        i = len(lines) - 1
        if i % 10 == 9:
            lines.append(f"A{i},地址站{i},社区卫生服务站,{ADDRESSES[i % len(ADDRESSES)]},,,")
            basic += 1
            continue
        lon, lat = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if not inner.contains(shapely.Point(lon, lat)):
            continue
        crs = "gcj02" if i % 3 == 0 else "wgs84"
        lines.append(f"R{i},登记站{i},{types[i % 4]},,{lon:.6f},{lat:.6f},{crs}")
        basic += types[i % 4] != "急救分站"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return basic


def _wait_metric(page, label: str, value: str, timeout_ms: int = 300_000) -> None:
    page.wait_for_function(
        """([label, value]) => [...document.querySelectorAll('[data-testid="stMetric"]')]
            .some(m => m.innerText.includes(label) && m.querySelector(
                '[data-testid="stMetricValue"]').innerText.trim() === value)""",
        arg=[label, value],
        timeout=timeout_ms,
    )


def main() -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="register-bench-"))
    env = {
        **os.environ,
        "GEO_CACHE_DIR": os.environ.get("GEO_CACHE_DIR", str(ROOT / ".cache")),
        "GEO_SCENARIO_DIR": str(work / "scenarios"),
    }
    checked, created, total = [], [], []
    with served_app(env, work / "streamlit.log") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for run in range(args.repeat):
            reg = work / f"register-{run}.csv"
            basic = register(reg, args.rows, seed=run)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(url, timeout=120_000)
            page.wait_for_selector("text=居民覆盖率", timeout=300_000)
            page.get_by_text("English", exact=True).click()
            page.wait_for_selector("text=Minhang health facility coverage planner")
            page.get_by_text("Start a scenario from my data").click()
            uploader = page.locator('[data-testid="stFileUploader"]').filter(
                has_text="Facility register"
            )
            start = time.perf_counter()
            uploader.locator('input[type="file"]').set_input_files(str(reg))
            _wait_metric(page, "valid facilities", str(args.rows))
            checked.append(time.perf_counter() - start)
            name = page.get_by_label("Name of the new scenario")
            name.fill(f"bench-{run}")
            name.press("Enter")
            page.wait_for_function(
                "() => document.querySelector('[data-testid=stApp]')"
                ".getAttribute('data-test-script-state') === 'notRunning'"
            )
            mid = time.perf_counter()
            page.get_by_role("button", name="Create the scenario").click()
            _wait_metric(page, "Facilities counted", str(basic))
            created.append(time.perf_counter() - mid)
            total.append(checked[-1] + created[-1])
            print(
                f"  run {run + 1}: {args.rows} rows, upload → rows checked "
                f"{checked[-1]:.2f} s, create → coverage {created[-1]:.2f} s"
            )
            page.close()
        browser.close()
    print(
        f"{args.rows}-row register, median of {args.repeat}: upload → rows checked "
        f"{statistics.median(checked):.2f} s; create → first coverage figure "
        f"{statistics.median(created):.2f} s; together {statistics.median(total):.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
