"""Scenarios: editable, reproducible TOML files — a base, parameters and edits (add, move, remove).

A scenario file (one per scenario in ``scenarios/``)::

    name = "plan-2025"
    description = "Baseline plus the plan's Table 2 sites"
    base = "baseline"               # another scenario (scenarios/<base>.toml) ...
    # facilities = "pack"           # ... or, for a root scenario, a facilities source
    #                               #     ("pack" or a CSV/Excel path relative to this file)

    [parameters]                    # all optional; a child inherits its base's values
    standards = ["walk15", "ems_distance", "ems_time", "straight_line"]
    walk_speed_kmh = 4.0
    dispatch_delay_minutes = 2.0

    [[add]]                         # a new site
    id = "plan-2025-001"            # optional: "<scenario>:<n>" when omitted
    name = "七宝镇 新建卫生服务站 1"
    type = "station"
    lon = 121.35
    lat = 31.15
    status = "planned"
    by = "suggested"                # planner | suggested
    method = "MCLP, PuLP/CBC, Table 2 quota"

    [[move]]                        # an existing facility to a new place
    id = "way/1195595581"
    lon = 121.349
    lat = 31.152

    [[remove]]
    id = "node/6592809485"

Edits apply after the base's: removes, then moves, then adds. A scenario is validated as a whole
before use and never half-loads: every problem is listed with the file, the entry and the fix.
Saving is atomic, refuses to overwrite unless asked, and writes keys in a fixed order so that a
load → save → load round trip gives an identical scenario and git diffs stay small.
"""

from __future__ import annotations

from geo.scenarios.create import DATA_SUBFOLDER, create_scenario, data_file_names
from geo.scenarios.model import (
    ADD_KEYS,
    MOVE_KEYS,
    PLACED_BY,
    REMOVE_KEYS,
    TOP_KEYS,
    Edit,
    Scenario,
    list_scenarios,
    load_scenario,
    save_scenario,
    scenario_from_dict,
    scenario_path,
)
from geo.scenarios.plan2025 import (
    PLAN_2025_DESCRIPTION,
    build_plan_2025,
    scenario_from_suggestions,
)
from geo.scenarios.resolve import (
    SHIPPED_SCENARIOS,
    ResolvedScenario,
    geocode_offline,
    prepare_scenario_folder,
    resolve,
    save_scenario_as,
)
from geo.scenarios.run import (
    Comparison,
    ScenarioRun,
    adhoc_scenario,
    compare,
    comparison_json,
    population_hash,
    run_scenario,
    scenario_inputs,
    scenario_networks,
    site_changes,
    standards_of,
)

__all__ = [
    "ADD_KEYS",
    "DATA_SUBFOLDER",
    "MOVE_KEYS",
    "PLACED_BY",
    "PLAN_2025_DESCRIPTION",
    "REMOVE_KEYS",
    "SHIPPED_SCENARIOS",
    "TOP_KEYS",
    "Comparison",
    "Edit",
    "ResolvedScenario",
    "Scenario",
    "ScenarioRun",
    "adhoc_scenario",
    "build_plan_2025",
    "compare",
    "comparison_json",
    "create_scenario",
    "data_file_names",
    "geocode_offline",
    "list_scenarios",
    "load_scenario",
    "population_hash",
    "prepare_scenario_folder",
    "resolve",
    "run_scenario",
    "save_scenario",
    "save_scenario_as",
    "scenario_from_dict",
    "scenario_from_suggestions",
    "scenario_inputs",
    "scenario_networks",
    "scenario_path",
    "site_changes",
    "standards_of",
]
