"""Site suggestion: where the plan's new stations and ambulance substations should go.

The plan gives counts, not addresses (Table 2: 6 new centres and 26 new stations with a quota
per subdistrict; 5 new or rebuilt ambulance substations on the "three vertical, four horizontal"
corridors). This package proposes sites a planner can then move by hand: a pure numeric core on
a coverage matrix (maximal covering solved exactly by CBC, greedy, set covering) under a thin
GeoDataFrame adapter that builds the matrix on the street network, as in spopt.

The method (MCLP with Table 2's quotas, exact against greedy, set covering and maximal coverage
for the EMS corridors, the coverage curve), its decisions and the measured figures are described
in ``docs/suggestion.md``. The modules, each importing only from those listed before it:

``instance``
    the checked instance the solvers work on and the :class:`Solution` they return;
``solvers``
    :func:`solve_mclp`, :func:`solve_greedy`, :func:`greedy_curve`, :func:`solve_set_cover`
    (numpy, scipy and PuLP only, no geometry);
``candidates``
    candidate sites (:func:`candidates_from_network`, :func:`candidates_from_corridors`,
    :func:`read_candidates`) and their reach on the network;
``problems``
    :class:`SiteProblem` and :func:`site_problem`, the quotas;
``results``
    :class:`SiteSuggestion`, :class:`AccessStats` and how a solution becomes a suggestion;
``stations``
    :func:`suggest_sites` (Table 2's centres and stations) and :func:`bench_suggest`;
``substations``
    :func:`suggest_substations` (EMS on the corridors), :func:`access_stats`,
    :func:`required_units`;
``entry``
    :func:`suggest`, the one function behind the app, ``geo suggest`` and ``geo plan-scenario``;
``curves``
    :func:`coverage_curve`;
``files``
    :func:`suggestion_to_files`.

Everything public is importable from here (``from geo import optimize``).
"""

from __future__ import annotations

from geo.optimize.candidates import (
    CANDIDATE_COLUMNS,
    DEFAULT_CANDIDATE_SPACING_M,
    DEFAULT_CORRIDOR_SPACING_M,
    candidates_from_corridors,
    candidates_from_network,
    plan_corridors,
    read_candidates,
)
from geo.optimize.curves import CURVE_COLUMNS, PLAN_NEW_SITES, coverage_curve
from geo.optimize.entry import suggest
from geo.optimize.files import suggestion_to_files
from geo.optimize.instance import BoolArray, CoverMatrix, Solution
from geo.optimize.problems import QuotaSpec, SiteProblem, site_problem
from geo.optimize.results import ROLE_TYPES, AccessStats, SiteSuggestion
from geo.optimize.solvers import (
    DEFAULT_TIME_LIMIT_S,
    greedy_curve,
    solve_greedy,
    solve_mclp,
    solve_set_cover,
)
from geo.optimize.stations import bench_suggest, suggest_sites
from geo.optimize.substations import (
    ACCESS_PERCENTILE,
    JIEZHEN_SUFFIXES,
    access_stats,
    required_units,
    suggest_substations,
)

__all__ = [
    "ACCESS_PERCENTILE",
    "CANDIDATE_COLUMNS",
    "CURVE_COLUMNS",
    "DEFAULT_CANDIDATE_SPACING_M",
    "DEFAULT_CORRIDOR_SPACING_M",
    "DEFAULT_TIME_LIMIT_S",
    "JIEZHEN_SUFFIXES",
    "PLAN_NEW_SITES",
    "ROLE_TYPES",
    "AccessStats",
    "BoolArray",
    "CoverMatrix",
    "QuotaSpec",
    "SiteProblem",
    "SiteSuggestion",
    "Solution",
    "access_stats",
    "bench_suggest",
    "candidates_from_corridors",
    "candidates_from_network",
    "coverage_curve",
    "greedy_curve",
    "plan_corridors",
    "read_candidates",
    "required_units",
    "site_problem",
    "solve_greedy",
    "solve_mclp",
    "solve_set_cover",
    "suggest",
    "suggest_sites",
    "suggest_substations",
    "suggestion_to_files",
]
