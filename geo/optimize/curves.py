"""Residents covered against the number of new sites: :func:`coverage_curve`."""

from __future__ import annotations

from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import plan
from geo._errors import SiteSelectionError
from geo.coverage import reach_index
from geo.facilities import FacilityTable
from geo.network import Network
from geo.optimize.candidates import DEFAULT_CANDIDATE_SPACING_M, _road_names
from geo.optimize.problems import (
    QuotaSpec,
    SiteProblem,
    _check_quota_room,
    _count_arg,
    _groups_for,
    _metric,
    _resolve_quota,
    site_problem,
)
from geo.optimize.solvers import DEFAULT_TIME_LIMIT_S, greedy_curve, solve_mclp
from geo.population import Population
from geo.standards import Standard

__all__ = ["CURVE_COLUMNS", "PLAN_NEW_SITES", "coverage_curve"]

#: New sites in the plan's Table 2 (centres + stations): 32.
PLAN_NEW_SITES = sum(c + s for c, s in plan.TABLE2_NEW_SITES.values())
#: Columns of :func:`coverage_curve`'s table.
CURVE_COLUMNS: tuple[str, ...] = (
    "n_sites",
    "residents_covered",
    "resident_share",
    "marginal_residents",
    "method",
    "status",
    "gap",
    "lon",
    "lat",
    "subdistrict_zh",
    "road_name",
)


def coverage_curve(
    standard: Standard,
    facilities: FacilityTable | gpd.GeoDataFrame,
    population: Population,
    *,
    network: Network | None,
    n_max: int = PLAN_NEW_SITES,
    quota: QuotaSpec | None = None,
    method: Literal["greedy", "exact"] = "greedy",
    candidates: gpd.GeoDataFrame | None = None,
    candidate_spacing_m: float = DEFAULT_CANDIDATE_SPACING_M,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    problem: SiteProblem | None = None,
) -> pd.DataFrame:
    """Residents covered against the number of new sites, 0..``n_max``: the marginal value of each.

    ``greedy`` (default): one greedy run; row ``n`` adds one site to row ``n - 1`` (nested
    sets), so ``lon``/``lat`` say where the n-th site goes; with a ``quota`` ("plan" or a dict)
    the picks respect it and the curve stops when it is used up. Greedy values are lower bounds
    of the best possible for each n. ``exact``: one CBC solve per n (sites anywhere; sets need
    not be nested, so no site columns), with status and gap per row.

    Returns a table with :data:`CURVE_COLUMNS` (row 0 = existing facilities only): write it with
    ``to_csv``, chart ``residents_covered`` or ``marginal_residents`` against ``n_sites``.
    """
    if problem is None:
        problem = site_problem(
            standard,
            facilities,
            population,
            network=network,
            candidates=candidates,
            candidate_spacing_m=candidate_spacing_m,
        )
    n_max = min(_count_arg(n_max, "n_max"), len(problem.candidates))
    w = problem.weights
    before = float(w[problem.covered_before].sum())
    rows: list[dict[str, Any]] = [
        {
            "n_sites": 0,
            "residents_covered": before,
            "marginal_residents": 0.0,
            "method": method,
            "status": "existing",
        }
    ]
    if method == "exact":
        if quota is not None and not isinstance(quota, int):
            msg = "an exact curve is for sites anywhere: use method='greedy' with a quota"
            raise SiteSelectionError(msg)
        for n in range(1, n_max + 1):
            sol = solve_mclp(
                problem.cover,
                w,
                n,
                already_covered=problem.covered_before,
                time_limit_s=time_limit_s,
            )
            rows.append(
                {
                    "n_sites": n,
                    "residents_covered": before + sol.objective,
                    "method": "exact (CBC)",
                    "status": sol.status,
                    "gap": sol.gap,
                }
            )
    else:
        rows += _greedy_rows(problem, n_max, quota)
    table = pd.DataFrame(rows).reindex(columns=list(CURVE_COLUMNS))
    table["marginal_residents"] = table["residents_covered"].diff().fillna(0.0)
    table["resident_share"] = table["residents_covered"] / w.sum() if w.sum() else np.nan
    return table


def _greedy_rows(problem: SiteProblem, n_max: int, quota: QuotaSpec | None) -> list[dict[str, Any]]:
    before = float(problem.weights[problem.covered_before].sum())
    q = _resolve_quota(quota, problem.subdistricts) if quota is not None else n_max
    if isinstance(q, int):
        picked, gains = greedy_curve(
            problem.cover, problem.weights, min(n_max, q), already_covered=problem.covered_before
        )
    else:
        groups = _groups_for(problem, q.codes)
        _check_quota_room(q, groups, problem.subdistricts, "")
        picked, gains = greedy_curve(
            problem.cover,
            problem.weights,
            n_max,
            groups=groups,
            quotas=list(q.quotas),
            already_covered=problem.covered_before,
        )
    cand = problem.candidates.iloc[picked]
    names = list(cand["road_name"])
    if problem.network is not None and any(n is None for n in names):
        names = _road_names(reach_index(problem.network), _metric(cand))
    cum = before + np.cumsum(gains)
    return [
        {
            "n_sites": k + 1,
            "residents_covered": float(cum[k]),
            "method": "greedy (nested)",
            "status": "greedy",
            "lon": float(cand["lon"].iloc[k]),
            "lat": float(cand["lat"].iloc[k]),
            "subdistrict_zh": cand["subdistrict_zh"].iloc[k],
            "road_name": names[k],
        }
        for k in range(len(picked))
    ]
