"""Ambulance substations on the EMS corridors: set covering or N sites, checked against the plan.

:func:`suggest_substations` samples candidates along the 三纵四横 corridors (adding a unit's own
drive-network nodes where no corridor passes through a unit that must get one,
:func:`required_units`) and solves set covering or maximal coverage; :func:`access_stats` gives the
average and 90th-percentile distance and response time to the nearest substation.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from geo import boundaries, plan, settings
from geo._errors import SiteSelectionError
from geo.coverage import reach_index, select_facilities
from geo.facilities import FacilityTable
from geo.network import Network
from geo.optimize.candidates import (
    DEFAULT_CORRIDOR_SPACING_M,
    _safe_snap,
    candidates_from_corridors,
    candidates_from_network,
)
from geo.optimize.problems import (
    SiteProblem,
    _count_arg,
    _groups_for,
    _metric,
    _unit_names,
    site_problem,
)
from geo.optimize.results import AccessStats, SiteSuggestion, _suggestion
from geo.optimize.solvers import DEFAULT_TIME_LIMIT_S, solve_mclp, solve_set_cover
from geo.parameters import DEFAULTS
from geo.population import Population
from geo.reach import DEFAULT_MAX_SNAP_METERS, FloatArray
from geo.standards import Standard

__all__ = [
    "ACCESS_PERCENTILE",
    "JIEZHEN_SUFFIXES",
    "access_stats",
    "required_units",
    "suggest_substations",
]

#: Population-weighted percentile reported beside the mean in :class:`AccessStats`.
ACCESS_PERCENTILE = 90.0

#: Units the plan's "every 街镇 gets a substation" applies to: names ending in these.
JIEZHEN_SUFFIXES: tuple[str, ...] = ("街道", "镇")


def _weighted_percentile(values: FloatArray, weights: FloatArray, q: float) -> float:
    """The smallest value with at least ``q`` % of the weight at or below it."""
    if len(values) == 0 or weights.sum() <= 0:
        return float("nan")
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, q / 100 * cum[-1] - 1e-9 * cum[-1])])


def access_stats(
    network: Network,
    sites: gpd.GeoDataFrame,
    population: Population,
    *,
    dispatch_delay_minutes: float = DEFAULTS.dispatch_delay_minutes,
    max_snap_meters: float = DEFAULT_MAX_SNAP_METERS,
) -> AccessStats:
    """Distance and response time from every resident to the nearest site, on a drive network.

    Unlimited Dijkstra from all sites at once: network distance (shortest path by metres),
    drive time (fastest path, plus the access legs at :data:`geo.reach.DRIVE_ACCESS_SPEED_KMH`),
    and straight-line distance. Response time = ``dispatch_delay_minutes`` + drive time.
    Weighted by residents; residents off the network or unable to reach any site are counted
    apart, not averaged in.
    """
    if network.mode != "drive":
        msg = f"access statistics need the drive network, got {network.mode}"
        raise SiteSelectionError(msg)
    if len(sites) == 0:
        msg = "no sites to measure access to"
        raise SiteSelectionError(msg)
    index = reach_index(network)
    src_xy, pts_xy = _metric(sites), _metric(population.gdf)
    src = _safe_snap(index, index.snap(src_xy, max_snap_meters=max_snap_meters))
    pts = index.snap(pts_xy, max_snap_meters=max_snap_meters)
    costs = {}
    with np.errstate(invalid="ignore"):
        for kind in ("length_m", "time_s"):
            node_cost = index.node_costs(src, kind, limit=np.inf)
            costs[kind] = index.point_costs(node_cost, pts, kind, sources=src)
    w = population.gdf["weight"].to_numpy(float)
    ok = ~pts.off_network & np.isfinite(costs["length_m"]) & np.isfinite(costs["time_s"])
    straight = cdist(pts_xy, src_xy).min(axis=1)
    response = dispatch_delay_minutes + costs["time_s"] / 60
    wk = w[ok]
    return AccessStats(
        residents=float(wk.sum()),
        unreachable_residents=float(w[~pts.off_network & ~ok].sum()),
        off_network_residents=float(w[pts.off_network].sum()),
        mean_distance_m=float(np.average(costs["length_m"][ok], weights=wk)),
        p90_distance_m=_weighted_percentile(costs["length_m"][ok], wk, ACCESS_PERCENTILE),
        mean_straight_m=float(np.average(straight[ok], weights=wk)),
        p90_straight_m=_weighted_percentile(straight[ok], wk, ACCESS_PERCENTILE),
        mean_response_min=float(np.average(response[ok], weights=wk)),
        p90_response_min=_weighted_percentile(response[ok], wk, ACCESS_PERCENTILE),
        dispatch_delay_min=float(dispatch_delay_minutes),
    )


def required_units(
    require_subdistricts: Literal["plan", "none"] | Collection[str],
    existing: gpd.GeoDataFrame,
    sub: gpd.GeoDataFrame,
) -> list[str]:
    """Codes of the units that must get a new substation.

    ``"plan"``: every 街镇 (units named 街道 or 镇; 莘庄工业区 is not one) without an existing
    counted facility in the list; ``"none"``: no unit; or unit names/codes (all of them must
    get one, existing or not).
    """
    if isinstance(require_subdistricts, str):
        if require_subdistricts == "none":
            return []
        if require_subdistricts != "plan":
            msg = f"require_subdistricts={require_subdistricts!r}: expected 'plan', 'none' or units"
            raise SiteSelectionError(msg)
        have = set(existing["subdistrict_code"].dropna().astype(str)) if len(existing) else set()
        return sorted(
            str(r.code)
            for r in sub.itertuples()
            if str(r.name_zh).endswith(JIEZHEN_SUFFIXES) and str(r.code) not in have
        )
    return sorted({str(boundaries.find_subdistrict(u, sub)["code"]) for u in require_subdistricts})


def _off_corridor_candidates(
    network: Network,
    cand: gpd.GeoDataFrame,
    required: Sequence[str],
    *,
    allow: bool,
    spacing_m: float,
    sub: gpd.GeoDataFrame,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Add the drive-network nodes of required units no corridor candidate lies in."""
    missing = [c for c in required if c not in set(cand["subdistrict_code"])]
    if not missing:
        return cand, []
    names = _unit_names(missing, sub)
    if not allow:
        msg = (
            f"no corridor candidate lies in {', '.join(names)}, yet each must get a substation; "
            "allow off-corridor candidates there, give a candidate file, or drop the rule"
        )
        raise SiteSelectionError(msg)
    extra = candidates_from_network(network, spacing_m=spacing_m, subdistricts=sub)
    extra = extra[extra["subdistrict_code"].isin(missing)].copy()
    extra["source"] = "off-corridor drive-network node (no corridor passes through the unit)"
    combined = pd.concat([cand, extra], ignore_index=True)
    note = (
        f"no corridor passes through {', '.join(names)}: its drive-network nodes every "
        f"{spacing_m:g} m were added as candidates (on_corridor = False)"
    )
    return gpd.GeoDataFrame(combined, geometry="geometry", crs=settings.wgs84_crs), [note]


def suggest_substations(
    standard: Standard,
    facilities: FacilityTable | gpd.GeoDataFrame,
    population: Population,
    *,
    network: Network,
    objective: Literal["set_cover", "max_coverage"] = "set_cover",
    n_sites: int = plan.NEW_AMBULANCE_SUBSTATIONS,
    corridors: Sequence[Sequence[str]] | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    require_subdistricts: Literal["plan", "none"] | Collection[str] = "plan",
    off_corridor: bool = True,
    spacing_m: float = DEFAULT_CORRIDOR_SPACING_M,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    max_snap_meters: float = DEFAULT_MAX_SNAP_METERS,
    subdistricts: gpd.GeoDataFrame | None = None,
) -> SiteSuggestion:
    """Suggest ambulance substations on the EMS corridors.

    Parameters
    ----------
    standard
        ``ems_time`` (dispatch delay + drive time ≤ 12 min) or ``ems_distance`` (≤ 3.5 km).
    facilities
        All facilities; existing counted ones (ambulance substations) stay and count.
    population
        Weighted population points.
    network
        The drive network.
    objective
        ``set_cover``: the fewest substations so every resident any candidate can reach is
        within the standard; ``max_coverage``: ``n_sites`` substations covering the most
        residents.
    n_sites
        Substations for ``max_coverage`` (plan: 5 new or rebuilt).
    corridors
        Groups of road names to sample (default: the plan's seven, :func:`plan_corridors`).
    candidates
        Candidate sites instead of the corridor samples.
    require_subdistricts
        Units that must get one: ``"plan"`` (each 街镇 without an existing substation in the
        list), ``"none"`` or unit names/codes. See :func:`required_units`.
    off_corridor
        Where no corridor passes through a required unit, use its drive-network nodes as
        candidates (flagged); False: such a unit is an error.
    spacing_m
        Sampling interval along the corridors (and of off-corridor nodes).
    time_limit_s
        CBC's time limit.
    max_snap_meters
        Points and sites farther than this from every road reach nothing.
    subdistricts
        Boundaries (default: the data pack's).

    Returns
    -------
    SiteSuggestion
        With :attr:`SiteSuggestion.access`: average and 90th-percentile distance and response
        time from residents to the nearest substation (existing and new) against the plan.

    Raises
    ------
    SiteSelectionError
        ``max_coverage`` with fewer sites than required units; a required unit without any
        candidate when ``off_corridor`` is False; a corridor name not in the network.
    """
    started = time.perf_counter()
    sub = boundaries.subdistricts(subdistricts)
    gdf_fac = facilities.gdf if isinstance(facilities, FacilityTable) else facilities
    existing = select_facilities(standard, gdf_fac)
    required = required_units(require_subdistricts, existing, sub)
    notes: list[str] = []
    if candidates is None:
        candidates = candidates_from_corridors(
            network, corridors, spacing_m=spacing_m, subdistricts=sub
        )
        candidates, notes = _off_corridor_candidates(
            network, candidates, required, allow=off_corridor, spacing_m=spacing_m, sub=sub
        )
    problem = site_problem(
        standard,
        gdf_fac,
        population,
        network=network,
        candidates=candidates,
        max_snap_meters=max_snap_meters,
        subdistricts=sub,
    )
    codes = list(problem.subdistricts["code"].astype(str))
    groups = _groups_for(problem, codes)
    need = [1 if c in required else 0 for c in codes]
    names = _unit_names(codes, problem.subdistricts)
    if objective == "set_cover":
        sol = solve_set_cover(
            problem.cover,
            weights=problem.weights,
            groups=groups,
            min_per_group=need,
            already_covered=problem.covered_before,
            group_names=names,
            time_limit_s=time_limit_s,
        )
    elif objective == "max_coverage":
        _check_enough_sites(n_sites, required, problem.subdistricts)
        sol = solve_mclp(
            problem.cover,
            problem.weights,
            n_sites,
            groups=groups,
            min_per_group=need,
            already_covered=problem.covered_before,
            group_names=names,
            time_limit_s=time_limit_s,
        )
    else:
        msg = f"objective={objective!r}: expected 'set_cover' or 'max_coverage'"
        raise SiteSelectionError(msg)
    chosen = problem.candidates.iloc[sol.chosen]
    delay = float(standard.params.get("dispatch_delay_minutes", 2.0))
    access = access_stats(
        network,
        pd.concat([problem.existing[["geometry"]], chosen[["geometry"]]]),
        population,
        dispatch_delay_minutes=delay,
        max_snap_meters=max_snap_meters,
    )
    notes += _ems_notes(problem, required, existing)
    return _suggestion(
        problem,
        sol,
        roles=["substation"] * len(sol.chosen),
        objective_kind=objective,
        quota_of={c: 1 for c in required},
        quota_name="required",
        started=started,
        notes=notes,
        access=access,
    )


def _check_enough_sites(n_sites: int, required: Sequence[str], sub: gpd.GeoDataFrame) -> None:
    n = _count_arg(n_sites, "n_sites")
    if n < len(required):
        msg = (
            f"n_sites={n} substations cannot give each of the {len(required)} required units one "
            f"({', '.join(_unit_names(required, sub))}): the plan's 'every 街镇 gets a "
            "substation' counts existing substations too. Raise n_sites, list the existing "
            "substations in the facility list (type ambulance_substation), or drop the rule "
            "(require_subdistricts='none'; on the command line --each-subdistrict none)"
        )
        raise SiteSelectionError(msg)


def _ems_notes(
    problem: SiteProblem, required: Sequence[str], existing: gpd.GeoDataFrame
) -> list[str]:
    w = problem.weights
    out = [
        f"{len(existing)} existing counted facilities "
        f"({', '.join(problem.standard.facility_types)}); {len(required)} unit(s) required to "
        "get a new one"
    ]
    never = ~problem.coverable & ~problem.off_network
    if never.any():
        out.append(
            f"{w[never].sum():,.0f} residents ({int(never.sum())} points) are beyond the standard "
            "from every candidate: no choice of these candidates covers them"
        )
    return out
