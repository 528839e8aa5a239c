"""One provenance block for every output: what a figure was computed from.

:func:`provenance` builds it — coverage tables, scenario runs, comparisons, site suggestions,
geocoded tables, the app's downloads and the scenario report all carry the same keys, in this
order:

==========================  ==================================================================
key                         value
==========================  ==================================================================
``output``                  what the file holds (e.g. ``coverage walk15``, ``comparison``)
``scenario``                scenario name (``""`` when none)
``scenario_hash``           the scenario's content hash (``""`` when none)
``network``                 the network report (source, date, nodes, km, repairs, islands),
                            or, for several networks, ``networks`` (one report per mode);
                            ``"not used"`` (with the reason) where no network was used
``population_source``       the population layer's source label, ``population_total``
                            (residents, rounded) and ``population_notes``
``facilities_source``       the register, ``facility_counts`` (per product type),
                            ``official_counts_2020`` (the plan's counts) and ``official_source``
``parameters``              every parameter of the computation
``software_version``        ``geo`` version
``computed_at``             local time, ISO 8601
==========================  ==================================================================

:func:`provenance_lines` turns a block into readable (label, text) lines in 中文 or English —
the methods page of the report, the ``…_metadata.txt`` sidecar of a CSV and the top of the
Excel ``metadata`` sheet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import geopandas as gpd

from geo import __version__, plan
from geo._types import JSONValue, Metadata
from geo.facilities import FACILITY_TYPES

if TYPE_CHECKING:
    from geo.network import NetworkReport
    from geo.population import Population

__all__ = ["NOT_USED", "PROVENANCE_KEYS", "combined_provenance", "provenance", "provenance_lines"]

#: The value of a block's key whose input the output did not use.
NOT_USED = "not used"

#: The keys every block has, in order (``network`` or ``networks``).
PROVENANCE_KEYS: tuple[str, ...] = (
    "output",
    "scenario",
    "scenario_hash",
    "network",
    "population_source",
    "population_total",
    "population_notes",
    "facilities_source",
    "facility_counts",
    "official_counts_2020",
    "official_source",
    "parameters",
    "software_version",
    "computed_at",
)


def provenance(
    output: str,
    *,
    scenario: str = "",
    scenario_hash: str = "",
    network: NetworkReport | str | None = None,
    networks: Mapping[str, NetworkReport | str] | None = None,
    population: Population | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    facilities_source: str | None = None,
    parameters: Mapping[str, JSONValue] | None = None,
) -> Metadata:
    """The provenance block of one output (keys: :data:`PROVENANCE_KEYS`).

    Parameters
    ----------
    output
        What the output holds, e.g. ``"coverage walk15"``.
    scenario, scenario_hash
        The scenario's name and content hash, if the output comes from one.
    network
        The one network used (its report), a text saying why none was (e.g.
        ``"none (straight line)"``), or None (``"not used"``).
    networks
        Several networks by mode (a comparison of walk and drive standards); written as
        ``networks`` in place of ``network``.
    population
        The population layer used, or None.
    facilities
        The facility register used (a ``type`` column), counted per type; or None.
    facilities_source
        The register's source label.
    parameters
        Every parameter of the computation (numbers, texts, lists).
    """
    meta: Metadata = {"output": output, "scenario": scenario, "scenario_hash": scenario_hash}
    if networks is not None:
        meta["networks"] = {mode: _network(n) for mode, n in networks.items()}
    else:
        meta["network"] = _network(network)
    if population is None:
        meta.update(population_source=NOT_USED, population_total=None, population_notes=[])
    else:
        meta.update(
            population_source=population.source,
            population_total=round(population.total),
            population_notes=list(population.notes),
        )
    if facilities is None:
        meta["facilities_source"] = facilities_source or NOT_USED
        meta["facility_counts"] = {}
    else:
        counts = facilities["type"].value_counts() if "type" in facilities else {}
        meta["facilities_source"] = facilities_source or f"{len(facilities)} facilities"
        meta["facility_counts"] = {t: int(counts.get(t, 0)) for t in FACILITY_TYPES}
    area_plan = plan.current()  # an area without a plan.toml has no official counts
    meta["official_counts_2020"] = dict(area_plan.official_counts_2020) if area_plan else {}
    meta["official_source"] = area_plan.source if area_plan else f"{NOT_USED} (no plan.toml)"
    meta["parameters"] = dict(parameters or {})
    meta["software_version"] = __version__
    meta["computed_at"] = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    return meta


def combined_provenance(
    output: str, blocks: Mapping[str, Mapping[str, JSONValue]], **extra: JSONValue
) -> Metadata:
    """One block for an output made of several (a comparison of standards, a report).

    ``blocks`` are the provenance blocks of the parts by name (e.g. by standard). The scenario,
    population and facility keys come from the first block; ``networks`` and ``parameters``
    hold each part's own (parts sharing a network are listed each). ``extra`` keys follow
    (e.g. the base scenario of a comparison); ``software_version`` and ``computed_at`` are
    this output's.
    """
    if not blocks:
        msg = "combined_provenance needs at least one block"
        raise ValueError(msg)
    first = next(iter(blocks.values()))
    fresh = provenance(output)
    meta: Metadata = {}
    for key in PROVENANCE_KEYS:
        if key == "network":
            meta["networks"] = {
                name: b.get("network", b.get("networks", NOT_USED)) for name, b in blocks.items()
            }
        elif key == "parameters":
            meta[key] = {name: b.get("parameters", {}) for name, b in blocks.items()}
        elif key in ("output", "software_version", "computed_at"):
            meta[key] = fresh[key]
        else:
            meta[key] = first.get(key, fresh.get(key))
    meta.update(extra)
    return meta


def _network(network: NetworkReport | str | None) -> JSONValue:
    if network is None:
        return NOT_USED
    if isinstance(network, str):
        return network
    return network.to_dict()


# --- readable lines -----------------------------------------------------------------------------

_LABELS = {
    "output": ("内容", "Output"),
    "scenario": ("情景", "Scenario"),
    "network": ("路网", "Network"),
    "population": ("人口", "Population"),
    "facilities": ("设施", "Facilities"),
    "parameters": ("参数", "Parameters"),
    "software_version": ("软件版本", "Software version"),
    "computed_at": ("计算时间", "Computed at"),
}

_NETWORK_TEXT = {
    "zh": "{source}（{date}）：{nodes:,} 个节点，{km:,.1f} km；补连 {rep} 处（{rep_km:.2f} km），"
    "绕行补连 {det} 处，去除孤立路段 {isl} 处（{isl_km:.2f} km）",
    "en": "{source} ({date}): {nodes:,} nodes, {km:,.1f} km; {rep} repair connectors "
    "({rep_km:.2f} km), {det} detour connectors, {isl} islands dropped ({isl_km:.2f} km)",
}


def provenance_lines(meta: Mapping[str, JSONValue], lang: str = "zh") -> list[tuple[str, str]]:
    """A provenance block as readable (label, text) lines in one language.

    Source labels the library writes in English are given in 中文 through
    :func:`geo.messages.localise`; names of places and files stay as they are.
    """
    from geo.messages import localise

    zh = lang == "zh"

    def label(key: str) -> str:
        return _LABELS[key][0 if zh else 1]

    def text(value: JSONValue) -> str:
        return localise("" if value is None else str(value), "zh" if zh else "en")

    lines = [(label("output"), text(meta.get("output", "")))]
    if meta.get("scenario"):
        digest = str(meta.get("scenario_hash") or "")[:12]
        name = str(meta["scenario"])
        lines.append((label("scenario"), f"{name} ({digest})" if digest else name))
    nets = meta.get("networks")
    if isinstance(nets, Mapping):
        for mode, net in nets.items():
            lines.append((f"{label('network')} {_mode(str(mode), zh)}", _network_text(net, lang)))
    else:
        lines.append((label("network"), _network_text(meta.get("network"), lang)))
    pop = text(meta.get("population_source"))
    total = meta.get("population_total")
    if isinstance(total, int | float):
        pop += f"；共 {total:,.0f} 人" if zh else f"; {total:,.0f} residents in all"
    lines.append((label("population"), pop))
    lines.append((label("facilities"), _facilities_text(meta, zh)))
    params = meta.get("parameters")
    if isinstance(params, Mapping) and params:
        pairs = "; ".join(f"{k} = {_value(v)}" for k, v in params.items())
        lines.append((label("parameters"), pairs))
    lines.append((label("software_version"), str(meta.get("software_version", ""))))
    lines.append((label("computed_at"), str(meta.get("computed_at", ""))))
    return lines


def _mode(mode: str, zh: bool) -> str:
    names = {"walk": ("步行", "walk"), "drive": ("车行", "drive")}
    return names.get(mode, (mode, mode))[0 if zh else 1]


def _network_text(net: JSONValue, lang: str) -> str:
    from geo.messages import localise

    if not isinstance(net, Mapping):
        return localise("" if net is None else str(net), lang)
    return _NETWORK_TEXT["zh" if lang == "zh" else "en"].format(
        source=localise(str(net.get("source")), lang),
        date=net.get("source_date"),
        nodes=_int(net.get("nodes")),
        km=_float(net.get("length_km")),
        rep=_int(net.get("repair_connectors")),
        rep_km=_float(net.get("repair_length_km")),
        det=_int(net.get("detour_connectors")),
        isl=_int(net.get("dropped_islands")),
        isl_km=_float(net.get("dropped_island_km")),
    )


def _facilities_text(meta: Mapping[str, JSONValue], zh: bool) -> str:
    from geo.messages import localise

    source = localise(str(meta.get("facilities_source", "")), "zh" if zh else "en")
    counts = meta.get("facility_counts")
    official = meta.get("official_counts_2020")
    if not isinstance(counts, Mapping) or not counts:
        return source
    official = official if isinstance(official, Mapping) else {}
    parts: list[str] = []
    for code, n in counts.items():
        ftype = FACILITY_TYPES.get(str(code))
        name = (ftype.name_zh if zh else ftype.name_en) if ftype else str(code)
        ref = official.get(str(code))
        if ref is None:
            parts.append(f"{name} {n}")
        else:
            parts.append(f"{name} {n}（官方 {ref}）" if zh else f"{name} {n} (official {ref})")
    if zh:
        return f"登记表：{source}；" + "；".join(parts)
    return f"register: {source}; " + "; ".join(parts)


def _value(value: JSONValue) -> str:
    if isinstance(value, Mapping):
        return "(" + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + ")"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return ", ".join(str(v) for v in value)
    return str(value)


def _int(value: JSONValue) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _float(value: JSONValue) -> float:
    return float(value) if isinstance(value, int | float) else 0.0
