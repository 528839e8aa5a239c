"""What a suggestion returns, and how a solver's :class:`Solution` becomes one.

:class:`SiteSuggestion` holds the chosen sites as a facility-like frame (ranked by residents
newly covered), the per-subdistrict table and the solver's status and gap; :class:`AccessStats`
holds the EMS distance and response-time checks against the plan.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import plan, settings
from geo._tables import district_code, district_names
from geo._types import JSONValue, Metadata
from geo.coverage import reach_index
from geo.facilities import FACILITY_TYPES
from geo.optimize.candidates import _road_names
from geo.optimize.instance import BoolArray, Solution
from geo.optimize.problems import SiteProblem, _metric
from geo.optimize.solvers import greedy_curve
from geo.reach import FloatArray, IntArray
from geo.standards import Standard

__all__ = ["ROLE_TYPES", "AccessStats", "SiteSuggestion"]

#: Site roles and the facility type each becomes.
ROLE_TYPES: dict[str, str] = {
    "centre": "branch",
    "station": "station",
    "substation": "ambulance_substation",
}


@dataclass(frozen=True)
class AccessStats:
    """Distance and response time from residents to their nearest site (EMS), vs the plan.

    Population-weighted over residents on the network who can reach a site at all; the others
    are counted apart. Distances are network metres (shortest by distance) and straight-line
    metres; response time = dispatch delay + drive time (fastest route).
    """

    residents: float
    unreachable_residents: float
    off_network_residents: float
    mean_distance_m: float
    p90_distance_m: float
    mean_straight_m: float
    p90_straight_m: float
    mean_response_min: float
    p90_response_min: float
    dispatch_delay_min: float
    plan_radius_km: float = plan.EMS_SERVICE_RADIUS_KM
    plan_response_min: float = plan.EMS_RESPONSE_MINUTES

    @property
    def meets_radius(self) -> bool:
        """Average network distance within the plan's average service radius."""
        return self.mean_distance_m <= self.plan_radius_km * 1000

    @property
    def meets_response(self) -> bool:
        """Average response time within the plan's average response time."""
        return self.mean_response_min <= self.plan_response_min

    def to_dict(self) -> dict[str, JSONValue]:
        """JSON-ready, rounded."""
        out: dict[str, JSONValue] = {k: round(float(v), 1) for k, v in self.__dict__.items()}
        out["meets_radius"] = self.meets_radius
        out["meets_response"] = self.meets_response
        return out


@dataclass(frozen=True)
class SiteSuggestion:
    """Suggested sites and what they achieve.

    Attributes
    ----------
    standard
        The standard the sites were chosen for.
    sites
        The chosen sites, WGS-84 points: ``id``, ``name``, ``type`` (facility type code, so the
        frame can join a facility list), ``role`` (centre, station, substation), ``status``
        (``planned``), ``lon``, ``lat``, ``subdistrict_code``/``_zh``/``_en``, ``road_name``,
        ``on_corridor``, ``rank`` (1 = most residents newly covered), ``residents_reached`` (all
        residents within the standard of the site), ``residents_new`` (newly covered, counted in
        rank order: they add up to the gain), ``candidate_id``, ``source``.
    by_subdistrict
        Per unit and a district row: quota (or the required minimum), candidates, chosen,
        residents, covered before and after.
    objective_kind
        ``max_coverage`` or ``set_cover``.
    objective
        Residents newly covered (max coverage) or the number of sites (set cover).
    residents_total, residents_covered_before, residents_covered_after, residents_coverable
        Residents in all, covered by the existing facilities, covered with the new sites too,
        and covered before or reachable from some candidate (the most any choice could reach).
    solver_status, gap, bound, bound_source, method
        As in :class:`Solution`.
    seconds
        Wall-clock time of the whole suggestion (candidates' reach and solve).
    n_candidates
        Candidate sites considered.
    access
        EMS only: distance and response time to the nearest substation against the plan.
    notes
        What a planner should know (off-corridor candidates, unreachable residents, labels).
    metadata
        The provenance block (:func:`geo.provenance.provenance`) of the suggestion's inputs.
    """

    standard: Standard
    sites: gpd.GeoDataFrame
    by_subdistrict: pd.DataFrame
    objective_kind: str
    objective: float
    residents_total: float
    residents_covered_before: float
    residents_covered_after: float
    residents_coverable: float
    solver_status: str
    gap: float | None
    bound: float | None
    bound_source: str
    method: str
    seconds: float
    n_candidates: int
    access: AccessStats | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    metadata: Metadata = field(default_factory=dict)

    @property
    def n_sites(self) -> int:
        """Number of suggested sites."""
        return len(self.sites)

    def summary(self) -> dict[str, JSONValue]:
        """A JSON-ready summary (what ``geo suggest --json`` prints)."""
        out: dict[str, Any] = {
            "standard": self.standard.name,
            "objective_kind": self.objective_kind,
            "n_sites": self.n_sites,
            "objective": round(self.objective, 1),
            "residents_total": round(self.residents_total),
            "residents_covered_before": round(self.residents_covered_before),
            "residents_covered_after": round(self.residents_covered_after),
            "residents_coverable": round(self.residents_coverable),
            "solver_status": self.solver_status,
            "gap": None if self.gap is None else round(self.gap, 6),
            "bound": None if self.bound is None else round(self.bound, 1),
            "bound_source": self.bound_source,
            "method": self.method,
            "seconds": round(self.seconds, 3),
            "n_candidates": self.n_candidates,
            "notes": list(self.notes),
            "provenance": dict(self.metadata),
        }
        if self.access is not None:
            out["access"] = self.access.to_dict()
        return out


# --- building a suggestion --------------------------------------------------------------------


def _rank_chosen(problem: SiteProblem, chosen: IntArray) -> tuple[IntArray, FloatArray]:
    """Order the chosen sites greedily by newly covered residents; return order and gains."""
    if len(chosen) == 0:
        return chosen, np.zeros(0)
    sub = problem.cover[chosen]
    p = len(chosen)
    picked, gains = greedy_curve(sub, problem.weights, p, already_covered=problem.covered_before)
    rest = [i for i in range(p) if i not in set(picked.tolist())]
    order = np.concatenate([picked, np.array(rest, np.int64)]).astype(np.int64)
    return chosen[order], np.concatenate([gains, np.zeros(len(rest))])


def _site_frame(
    problem: SiteProblem,
    chosen: IntArray,
    roles: Sequence[str],
) -> gpd.GeoDataFrame:
    """Chosen candidates as a facility-like frame, ranked by residents newly covered."""
    ranked, gains = _rank_chosen(problem, chosen)
    role_of = dict(zip(chosen.tolist(), roles, strict=True))
    cand = problem.candidates.iloc[ranked].reset_index(drop=True)
    reached = problem.cover[ranked].astype(float) @ problem.weights if len(ranked) else []
    df = pd.DataFrame(
        {
            "id": [f"suggested-{k + 1:02d}" for k in range(len(ranked))],
            "role": [role_of[int(j)] for j in ranked],
        }
    )
    df["type"] = df["role"].map(ROLE_TYPES)
    df["type_zh"] = df["type"].map(lambda t: FACILITY_TYPES[t].name_zh)
    df["name"] = [
        f"拟建{tz} {k + 1} (suggested {r})"
        for k, (tz, r) in enumerate(zip(df["type_zh"], df["role"], strict=True))
    ]
    df["status"] = "planned"
    for col in (
        "lon",
        "lat",
        "subdistrict_code",
        "subdistrict_zh",
        "subdistrict_en",
        "road_name",
        "on_corridor",
        "candidate_id",
        "source",
    ):
        df[col] = cand[col].to_numpy()
    if problem.network is not None and df["road_name"].isna().any():
        missing = df["road_name"].isna().to_numpy()
        index = reach_index(problem.network)
        df.loc[missing, "road_name"] = _road_names(index, _metric(cand[missing]))
    df["rank"] = np.arange(1, len(df) + 1)
    df["residents_reached"] = np.asarray(reached, float)
    df["residents_new"] = gains
    return gpd.GeoDataFrame(
        df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=settings.wgs84_crs
    )


def _by_subdistrict(
    problem: SiteProblem,
    covered_after: BoolArray,
    sites: gpd.GeoDataFrame,
    quota_of: Mapping[str, int],
    quota_name: str,
) -> pd.DataFrame:
    sub = problem.subdistricts
    by = pd.Series(problem.point_subdistrict)
    w = pd.Series(problem.weights)

    def per_unit(values: pd.Series) -> pd.Series:
        out: pd.Series = sub["code"].map(values.groupby(by.to_numpy()).sum()).fillna(0.0)
        return out

    table = sub[["code", "name_zh", "name_en"]].copy()
    table[quota_name] = table["code"].map(quota_of).fillna(0).astype(int)
    table["candidates"] = (
        table["code"]
        .map(problem.candidates["subdistrict_code"].value_counts())
        .fillna(0)
        .astype(int)
    )
    table["chosen"] = table["code"].map(sites["subdistrict_code"].value_counts()).fillna(0)
    table["chosen"] = table["chosen"].astype(int)
    table["residents"] = per_unit(w)
    table["covered_before"] = per_unit(w.where(problem.covered_before, 0.0))
    table["covered_after"] = per_unit(w.where(covered_after, 0.0))
    total = {"code": district_code(), **district_names()}
    for col in table.columns[3:]:
        total[col] = table[col].sum()
    table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["share_before"] = table["covered_before"] / table["residents"]
        table["share_after"] = table["covered_after"] / table["residents"]
    out: pd.DataFrame = table
    return out


def _suggestion(
    problem: SiteProblem,
    sol: Solution,
    *,
    roles: Sequence[str],
    objective_kind: str,
    quota_of: Mapping[str, int],
    quota_name: str,
    started: float,
    notes: Sequence[str],
    access: AccessStats | None = None,
) -> SiteSuggestion:
    sites = _site_frame(problem, sol.chosen, roles)
    w = problem.weights
    covered_after = sol.covered
    off = problem.off_network
    extra = (
        [
            f"{int(off.sum())} population points ({w[off].sum():,.0f} residents) lie farther "
            f"than {problem.max_snap_meters:g} m from every road: never covered"
        ]
        if off.any()
        else []
    )
    return SiteSuggestion(
        standard=problem.standard,
        sites=sites,
        by_subdistrict=_by_subdistrict(problem, covered_after, sites, quota_of, quota_name),
        objective_kind=objective_kind,
        objective=sol.objective,
        residents_total=float(w.sum()),
        residents_covered_before=float(w[problem.covered_before].sum()),
        residents_covered_after=float(w[covered_after].sum()),
        residents_coverable=float(w[problem.coverable].sum()),
        solver_status=sol.status,
        gap=sol.gap,
        bound=sol.bound,
        bound_source=sol.bound_source,
        method=sol.method,
        seconds=time.perf_counter() - started,
        n_candidates=len(problem.candidates),
        access=access,
        notes=tuple([*notes, *extra]),
    )
