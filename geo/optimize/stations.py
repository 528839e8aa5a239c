"""New community health centres and stations: maximal covering with Table 2's quotas.

:func:`suggest_sites` places the plan's new centres and stations (or N stations anywhere) where
they newly cover the most residents within the standard (usually walk15); :func:`bench_suggest`
times the exact solve against greedy on the Table 2 instance.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import geopandas as gpd

from geo import boundaries
from geo._types import JSONValue
from geo.facilities import FacilityTable
from geo.network import Network
from geo.optimize.candidates import DEFAULT_CANDIDATE_SPACING_M
from geo.optimize.problems import (
    QuotaSpec,
    SiteProblem,
    _check_quota_room,
    _groups_for,
    _Quota,
    _resolve_quota,
    _unit_names,
    site_problem,
)
from geo.optimize.results import SiteSuggestion, _suggestion
from geo.optimize.solvers import DEFAULT_TIME_LIMIT_S, solve_greedy, solve_mclp
from geo.population import Population
from geo.reach import DEFAULT_MAX_SNAP_METERS, IntArray
from geo.standards import Standard

__all__ = ["bench_suggest", "suggest_sites"]


def _plan_roles(problem: SiteProblem, chosen: IntArray, groups: IntArray, q: _Quota) -> list[str]:
    """In each unit the ``centres`` sites reaching most residents are centres, the rest stations."""
    reached = problem.cover[chosen].astype(float) @ problem.weights
    roles = ["station"] * len(chosen)
    for g in range(len(q.codes)):
        mine = [i for i in range(len(chosen)) if groups[chosen[i]] == g]
        mine.sort(key=lambda i: (-reached[i], int(chosen[i])))
        for i in mine[: q.centres[g]]:
            roles[i] = "centre"
    return roles


def suggest_sites(
    standard: Standard,
    facilities: FacilityTable | gpd.GeoDataFrame,
    population: Population,
    *,
    network: Network | None,
    quota: QuotaSpec = "plan",
    candidates: gpd.GeoDataFrame | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    candidate_spacing_m: float = DEFAULT_CANDIDATE_SPACING_M,
    method: Literal["exact", "greedy"] = "exact",
    max_snap_meters: float = DEFAULT_MAX_SNAP_METERS,
    subdistricts: gpd.GeoDataFrame | None = None,
    problem: SiteProblem | None = None,
) -> SiteSuggestion:
    """Suggest new sites that cover the most residents not yet covered (maximal covering).

    Parameters
    ----------
    standard
        Usually ``walk15``; new centres and stations count like the existing basic-level ones.
    facilities
        All facilities; the standard's types stay where they are.
    population
        Weighted population points.
    network
        The standard's network (the walk network for walk15).
    quota
        ``"plan"``: Table 2 per subdistrict (6 centres + 26 stations = 32 sites; centres and
        stations are one pool per unit, the sites reaching most residents labelled centres);
        an int N: N stations anywhere in the district; a dict {unit name or code: stations or
        (centres, stations)}: those units only.
    candidates
        Candidate sites (e.g. :func:`read_candidates`); default: walk-network nodes thinned to
        ``candidate_spacing_m``.
    time_limit_s
        CBC's time limit; beyond it the better of CBC's incumbent and greedy is kept, with the
        gap stated.
    candidate_spacing_m
        Grid spacing of the default candidates (metres).
    method
        ``exact`` (CBC) or ``greedy``.
    max_snap_meters
        Points and sites farther than this from every road reach nothing.
    subdistricts
        Boundaries (default: the data pack's).
    problem
        A prepared :func:`site_problem` to reuse (then the inputs above are not re-read).

    Raises
    ------
    SiteSelectionError
        A unit's quota larger than its candidates (the message names the unit, the quota and
        the candidates), an unknown quota form.
    UnknownSubdistrictError
        A unit named in a quota dict that does not exist.
    """
    started = time.perf_counter()
    if problem is None:
        problem = site_problem(
            standard,
            facilities,
            population,
            network=network,
            candidates=candidates,
            candidate_spacing_m=candidate_spacing_m,
            max_snap_meters=max_snap_meters,
            subdistricts=subdistricts,
        )
    q = _resolve_quota(quota, boundaries.subdistricts(subdistricts))
    solve = solve_mclp if method == "exact" else solve_greedy
    kwargs: dict[str, Any] = {"time_limit_s": time_limit_s} if method == "exact" else {}
    if isinstance(q, int):
        sol = solve(
            problem.cover, problem.weights, q, already_covered=problem.covered_before, **kwargs
        )
        roles = ["station"] * len(sol.chosen)
        quota_of: dict[str, int] = {}
        notes = [f"{q} new stations anywhere in the district"]
    else:
        groups = _groups_for(problem, q.codes)
        spacing = (
            ""
            if candidates is not None
            else (f" or use a smaller candidate spacing (now {candidate_spacing_m:g} m)")
        )
        _check_quota_room(q, groups, problem.subdistricts, spacing)
        sol = solve(
            problem.cover,
            problem.weights,
            list(q.quotas),
            groups=groups,
            already_covered=problem.covered_before,
            group_names=_unit_names(q.codes, problem.subdistricts),
            **kwargs,
        )
        roles = _plan_roles(problem, sol.chosen, groups, q)
        quota_of = dict(zip(q.codes, q.quotas.tolist(), strict=True))
        notes = [
            f"quota: {q.label}, {int(q.quotas.sum())} sites ({int(q.centres.sum())} centres); "
            "centres and stations reach the same residents under the standard, so they are one "
            "pool per unit and the sites reaching most residents are labelled centres"
        ]
    return _suggestion(
        problem,
        sol,
        roles=roles,
        objective_kind="max_coverage",
        quota_of=quota_of,
        quota_name="quota",
        started=started,
        notes=notes,
    )


# --- benchmark --------------------------------------------------------------------------------


def bench_suggest(
    *,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    progress: Callable[[str], None] | None = None,
) -> dict[str, JSONValue]:
    """The Table 2 instance on the Minhang walk network: exact (CBC) against greedy.

    Returns a JSON-ready dict: instance size and build time, then for each method the seconds,
    residents newly covered, status and gap; ``greedy_shortfall`` is the share of the exact
    optimum greedy misses.
    """
    from geo import facilities as fac_mod
    from geo import population as pop_mod
    from geo import standards
    from geo.network import load_network

    say = progress or (lambda _m: None)
    say("suggest: loading the walk network, facilities and population")
    walk = load_network("walk")
    fac, pop = fac_mod.facilities_from_pack(), pop_mod.population_from_addresses()
    std = standards.make_standard("walk15")
    say("suggest: building candidates and their reach")
    problem = site_problem(std, fac, pop, network=walk)
    say("suggest: greedy")
    greedy = suggest_sites(std, fac, pop, network=walk, problem=problem, method="greedy")
    say(f"suggest: exact (CBC, time limit {time_limit_s:g} s)")
    exact = suggest_sites(std, fac, pop, network=walk, problem=problem, time_limit_s=time_limit_s)
    shortfall = (exact.objective - greedy.objective) / exact.objective if exact.objective else 0.0
    return {
        "suggest_instance": "plan Table 2 quotas (32 sites), walk15, pack facilities, population",
        "suggest_candidates": exact.n_candidates,
        "suggest_population_points": len(problem.weights),
        "suggest_matrix_pairs": int(problem.cover.nnz),
        "suggest_build_s": round(problem.seconds, 3),
        "suggest_exact_s": round(exact.seconds, 3),
        "suggest_greedy_s": round(greedy.seconds, 3),
        "suggest_exact_objective": round(exact.objective, 1),
        "suggest_greedy_objective": round(greedy.objective, 1),
        "suggest_exact_status": exact.solver_status,
        "suggest_exact_gap": exact.gap,
        "suggest_exact_bound_source": exact.bound_source,
        "suggest_greedy_shortfall": round(shortfall, 6),
        "suggest_residents_before": round(exact.residents_covered_before),
        "suggest_residents_after_exact": round(exact.residents_covered_after),
        "suggest_residents_after_greedy": round(greedy.residents_covered_after),
        "suggest_time_limit_s": time_limit_s,
    }
