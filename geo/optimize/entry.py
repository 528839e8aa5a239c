"""The one entry point: :func:`suggest`, behind the app, ``geo suggest`` and ``geo plan-scenario``.

It picks the station or the substation suggestion by the standard, with the defaults of
:data:`geo.parameters.DEFAULTS`, so the three front ends give the same answer.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Literal

import geopandas as gpd

from geo._errors import SiteSelectionError
from geo.facilities import FacilityTable
from geo.network import Network
from geo.optimize.problems import QuotaSpec, SiteProblem
from geo.optimize.results import SiteSuggestion
from geo.optimize.stations import suggest_sites
from geo.optimize.substations import suggest_substations
from geo.parameters import DEFAULTS, RunParameters
from geo.population import Population
from geo.provenance import provenance
from geo.standards import Standard

__all__ = ["suggest"]


def suggest(
    standard: Standard,
    facilities: FacilityTable | gpd.GeoDataFrame,
    population: Population,
    *,
    network: Network | None,
    params: RunParameters = DEFAULTS,
    quota: QuotaSpec = "plan",
    objective: Literal["set_cover", "max_coverage"] = "max_coverage",
    n_sites: int | None = None,
    require_subdistricts: Literal["plan", "none"] | Collection[str] = "none",
    corridors: Sequence[Sequence[str]] | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    off_corridor: bool = True,
    method: Literal["exact", "greedy"] = "exact",
    problem: SiteProblem | None = None,
) -> SiteSuggestion:
    """Suggest new sites for a standard: the one function behind the app, ``geo suggest`` and
    ``geo plan-scenario``, so the three give the same answer with the same defaults.

    ``walk15``: new community sites by maximal covering with ``quota`` (``"plan"`` = Table 2's
    32 sites per unit, or N). EMS standards: ambulance substations on the 三纵四横 corridors;
    by default the plan's reading — maximal coverage with ``params.ems_sites`` (5) new
    substations, no per-街镇 rule (``objective="set_cover"`` with
    ``require_subdistricts="plan"`` gives the fewest sites covering everyone coverable with one
    in each 街镇). Time limit, candidate spacing and snap distance come from ``params``.

    Raises
    ------
    SiteSelectionError
        A straight-line standard (no network), or a problem that cannot be solved as asked.
    """
    if network is None:
        msg = f"suggestion needs a network standard; {standard.name} is a straight-line radius"
        raise SiteSelectionError(msg)
    result = _suggest(
        standard,
        facilities,
        population,
        network=network,
        params=params,
        quota=quota,
        objective=objective,
        n_sites=n_sites,
        require_subdistricts=require_subdistricts,
        corridors=corridors,
        candidates=candidates,
        off_corridor=off_corridor,
        method=method,
        problem=problem,
    )
    register = facilities if isinstance(facilities, gpd.GeoDataFrame) else facilities.gdf
    source = None if isinstance(facilities, gpd.GeoDataFrame) else facilities.summary()
    meta = provenance(
        f"suggested sites {standard.name}",
        network=network.report,
        population=population,
        facilities=register,
        facilities_source=source,
        parameters={
            **standard.params,
            "limit": standard.limit,
            "cost": standard.cost,
            "method": method,
            "quota": quota if isinstance(quota, str | int) else "per subdistrict",
            "objective": result.objective_kind,
            "n_sites": result.n_sites,
            "n_candidates": result.n_candidates,
            "solver_time_limit_s": params.solver_time_limit_s,
            "max_snap_meters": params.max_snap_meters,
        },
    )
    return replace(result, metadata=meta)


def _suggest(
    standard: Standard,
    facilities: FacilityTable | gpd.GeoDataFrame,
    population: Population,
    *,
    network: Network,
    params: RunParameters,
    quota: QuotaSpec,
    objective: Literal["set_cover", "max_coverage"],
    n_sites: int | None,
    require_subdistricts: Literal["plan", "none"] | Collection[str],
    corridors: Sequence[Sequence[str]] | None,
    candidates: gpd.GeoDataFrame | None,
    off_corridor: bool,
    method: Literal["exact", "greedy"],
    problem: SiteProblem | None,
) -> SiteSuggestion:
    if standard.name == "walk15":
        return suggest_sites(
            standard,
            facilities,
            population,
            network=network,
            quota=quota,
            candidates=candidates,
            time_limit_s=params.solver_time_limit_s,
            candidate_spacing_m=params.candidate_spacing_m,
            method=method,
            max_snap_meters=params.max_snap_meters,
            problem=problem,
        )
    return suggest_substations(
        standard,
        facilities,
        population,
        network=network,
        objective=objective,
        n_sites=params.ems_sites if n_sites is None else n_sites,
        corridors=corridors,
        candidates=candidates,
        require_subdistricts=require_subdistricts,
        off_corridor=off_corridor,
        spacing_m=params.corridor_spacing_m,
        time_limit_s=params.solver_time_limit_s,
        max_snap_meters=params.max_snap_meters,
    )
