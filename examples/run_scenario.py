"""Run a scenario through the library API and compare it with the baseline.

    python examples/run_scenario.py [SCENARIO]        (default: plan-2025)

The same calls as ``geo compare baseline plan-2025``, without the command line: run both
scenarios (every standard their parameters name), compare them, and print the residents within
a 15-minute walk of a basic-level facility per subdistrict (街镇) as a pandas table.
"""

from __future__ import annotations

import sys

import pandas as pd

from geo import scenarios


def walk15_table(cmp: scenarios.Comparison) -> pd.DataFrame:
    """Per subdistrict (district row last): residents covered within 15 minutes, A → B."""
    walk = cmp.table[cmp.table["standard"] == "walk15"]
    return pd.DataFrame(
        {
            "code": walk["code"],
            "街镇": walk["name_zh"],
            "subdistrict": walk["name_en"],
            f"{cmp.a} %": (100 * walk["resident_share_a"]).round(1),
            f"{cmp.b} %": (100 * walk["resident_share_b"]).round(1),
            "residents gained": walk["covered_residents_delta"].round().astype(int),
            f"facilities ({cmp.b})": walk["facilities_b"].astype(int),
        }
    )


def main(name: str = "plan-2025") -> None:
    def say(msg: str) -> None:
        print(f"… {msg}", file=sys.stderr)

    baseline = scenarios.run_scenario("baseline", progress=say)
    run = scenarios.run_scenario(name, progress=say)
    print(f"{name}: {run.resolved.changes} (scenario hash {run.hashes['scenario'][:12]}…)")
    cmp = scenarios.compare(baseline, run)
    pd.set_option("display.unicode.east_asian_width", True)  # align the Chinese names
    print(walk15_table(cmp).to_string(index=False))


if __name__ == "__main__":
    main(*sys.argv[1:2])
