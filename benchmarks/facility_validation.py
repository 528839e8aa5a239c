"""Facility-list validation speed (run by hand, not a test).

Builds N-row registers of 社区卫生服务站 at random points inside Minhang (Chinese headers, a
declared 街镇, every 5th row in GCJ-02) and prints the median time of
``facilities.facilities_from_frame`` over ``--repeat`` runs, and rows per second.

    .venv/bin/python benchmarks/facility_validation.py [--rows 10000 100000 1000000]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd
import shapely

from geo import boundaries, facilities


def register(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows at uniform random points inside the district's subdistricts."""
    sub = boundaries.subdistricts()
    district = shapely.union_all(sub.geometry.values)
    x0, y0, x1, y1 = sub.total_bounds
    rng = np.random.default_rng(seed)
    lon, lat = np.empty(0), np.empty(0)
    while len(lon) < n:
        x, y = rng.uniform(x0, x1, 2 * n), rng.uniform(y0, y1, 2 * n)
        inside = shapely.contains_xy(district, x, y)
        lon, lat = np.concatenate([lon, x[inside]]), np.concatenate([lat, y[inside]])
    return pd.DataFrame(
        {
            "编号": [f"S{i}" for i in range(n)],
            "名称": [f"服务站{i}" for i in range(n)],
            "类型": "社区卫生服务站",
            "经度": np.char.mod("%.6f", lon[:n]),
            "纬度": np.char.mod("%.6f", lat[:n]),
            "街镇": "七宝镇",
            "坐标系": np.where(np.arange(n) % 5 == 0, "gcj02", "wgs84"),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for n in args.rows:
        frame = register(n)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            table = facilities.facilities_from_frame(frame, source="bench.csv", strict=False)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        print(
            f"{n:>9,} rows: median {median:6.2f} s over {args.repeat} runs, "
            f"{n / median:>9,.0f} rows/s; kept {len(table.gdf):,}, rejected {len(table.problems):,}"
        )


if __name__ == "__main__":
    main()
