"""The shipped ``plan-2025`` scenario, re-created from the suggestion engine's proposals."""

from __future__ import annotations

import logging
from collections.abc import Callable

from geo.facilities import FACILITY_TYPES
from geo.optimize.results import SiteSuggestion
from geo.population import load_population
from geo.scenarios.model import (
    Edit,
    Scenario,
)
from geo.scenarios.resolve import (
    resolve,
)
from geo.scenarios.run import (
    scenario_networks,
    standards_of,
)

__all__ = [
    "PLAN_2025_DESCRIPTION",
    "build_plan_2025",
    "scenario_from_suggestions",
]

logger = logging.getLogger(__name__)


def scenario_from_suggestions(
    name: str, description: str, *, base: str, suggestions: list[SiteSuggestion]
) -> Scenario:
    """A scenario adding the sites of :class:`geo.optimize.SiteSuggestion` results to ``base``.

    Each site is recorded ``by = "suggested"`` with the method, objective and solver status.
    """
    edits = []
    for sug in suggestions:
        method = (
            f"{sug.method}, {sug.objective_kind}, {sug.standard.name}, status {sug.solver_status}"
            + (f", gap {sug.gap:.4f}" if sug.gap is not None else "")
        )
        for i, row in enumerate(sug.sites.itertuples(), start=1):
            fid = f"{name}-{sug.standard.name}-{i:02d}"
            label = FACILITY_TYPES[str(row.type)].name_zh
            fields = (
                ("id", fid),
                ("name", f"{row.subdistrict_zh} 建议{label} {i}"),
                ("type", str(row.type)),
                ("lon", round(float(row.lon), 7)),
                ("lat", round(float(row.lat), 7)),
                ("status", "planned"),
                ("by", "suggested"),
                ("method", method),
                (
                    "note",
                    f"rank {row.rank}; near {_road_label(row.road_name)}; "
                    f"{row.residents_new:,.0f} residents newly covered",
                ),
            )
            edits.append(Edit("add", fields))
    return Scenario(name=name, description=description, base=base, edits=tuple(edits))


def _road_label(road_name: object) -> str:
    """A site's road for its note: the name, or "an unnamed road" (None, NaN or blank)."""
    if isinstance(road_name, str) and road_name.strip():
        return road_name.strip()
    return "an unnamed road"


PLAN_2025_DESCRIPTION = (
    "The district plan's 2025 additions placed by the suggestion engine on the baseline: Table 2's "
    "32 community health sites (6 centres incl. branch centres, 26 service stations; per-unit "
    "quotas) chosen by maximal covering of residents within a 15-minute walk (MCLP, PuLP/CBC), and "
    "5 ambulance substations sampled along the seven 三纵四横 corridors chosen by maximal covering "
    "of residents within dispatch 2 min + 12-minute drive. The plan's 'a substation in every "
    "街镇' cannot be met with 5 new sites and no existing substation in the open data: the 5 are "
    "placed without that rule. Sites are proposals for planners to move; coverage inherits the "
    "baseline's gaps (OSM facilities only)."
)


def build_plan_2025(*, progress: Callable[[str], None] | None = None) -> Scenario:
    """Re-create ``plan-2025`` from the baseline with the suggestion engine (deterministic)."""
    from geo import optimize

    say = progress or (lambda _m: None)
    base = resolve("baseline")
    params = base.parameters
    pop = load_population(params.population)
    nets = scenario_networks(params, {"walk", "drive"})
    stds = {s.name: s for s in standards_of(params.replace(standards=("walk15", "ems_time")))}
    say("placing Table 2's 32 sites (walk15, MCLP)")
    stations = optimize.suggest(
        stds["walk15"], base.facilities, pop, network=nets["walk"], params=params
    )
    say(f"placing {params.ems_sites} ambulance substations on the corridors (ems_time, max)")
    substations = optimize.suggest(
        stds["ems_time"], base.facilities, pop, network=nets["drive"], params=params
    )
    return scenario_from_suggestions(
        "plan-2025", PLAN_2025_DESCRIPTION, base="baseline", suggestions=[stations, substations]
    )
