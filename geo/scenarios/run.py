"""Running scenarios (the one coverage path) and comparing two of them."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import __version__, settings
from geo._errors import InputFileError, ScenarioError, UnknownSubdistrictError
from geo._tables import district_code
from geo._types import JSONValue, Metadata
from geo.coverage import CoverageResult, compute_coverage, partition_subdistricts
from geo.facilities import FacilityTable
from geo.network import BuildOptions, Network, load_network
from geo.parameters import DEFAULTS, RunParameters
from geo.population import Population, load_population
from geo.provenance import combined_provenance
from geo.scenarios.model import (
    Scenario,
    _freeze,
)
from geo.scenarios.resolve import (
    ResolvedScenario,
    resolve,
)
from geo.standards import Standard, make_standard

__all__ = [
    "Comparison",
    "ScenarioRun",
    "adhoc_scenario",
    "compare",
    "comparison_json",
    "population_hash",
    "run_scenario",
    "scenario_inputs",
    "scenario_networks",
    "site_changes",
    "standards_of",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScenarioRun:
    """Coverage results of a resolved scenario, one per standard, with the hashes to reproduce."""

    resolved: ResolvedScenario
    results: tuple[CoverageResult, ...]
    hashes: dict[str, str]

    def result(self, standard: str) -> CoverageResult:
        """The result of one standard."""
        for r in self.results:
            if r.standard.name == standard:
                return r
        msg = f"standard {standard!r} was not run; ran: {[r.standard.name for r in self.results]}"
        raise ScenarioError(msg)


def standards_of(params: RunParameters) -> list[Standard]:
    """The standards a run's parameters ask for, in their order."""
    out = []
    for name in params.standards:
        if name == "walk15":
            out.append(
                make_standard(name, minutes=params.walk_minutes, facility_types=params.walk_types)
            )
        else:
            out.append(
                make_standard(
                    name,
                    minutes=params.ems_minutes if name == "ems_time" else None,
                    km=None if name == "ems_time" else params.ems_km,
                    dispatch_delay_minutes=params.dispatch_delay_minutes,
                    facility_types=params.ems_types,
                )
            )
    return out


def scenario_networks(params: RunParameters, modes: set[str]) -> dict[str, Network]:
    """The networks a run's parameters ask for (cached on disk)."""
    nets = {}
    if "walk" in modes:
        walk = BuildOptions(walk_speed_kmh=params.walk_speed_kmh)
        nets["walk"] = load_network("walk", params.network, options=walk)
    if "drive" in modes:
        drive = BuildOptions(congestion_factor=params.congestion_factor)
        nets["drive"] = load_network("drive", params.network, options=drive)
    return nets


def scenario_inputs(
    resolved: ResolvedScenario,
    *,
    networks: Mapping[str, Network] | None = None,
    population: Population | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[Standard], Population, dict[str, Network]]:
    """The standards, population and networks a resolved scenario's parameters ask for.

    ``networks`` and ``population`` replace what the parameters name when given.
    """
    say = progress or (lambda _m: None)
    params = resolved.parameters
    stds = standards_of(params)
    say(f"loading population ({params.population}) and networks ({params.network})")
    try:
        pop = population or load_population(params.population)
    except (InputFileError, UnknownSubdistrictError) as exc:
        msg = f"scenario {resolved.scenario.name!r}: parameters.population: {exc}"
        raise ScenarioError(msg) from exc
    modes = {str(s.mode) for s in stds} - {"none"}
    nets = dict(networks) if networks is not None else scenario_networks(params, modes)
    return stds, pop, nets


def population_hash(population: Population) -> str:
    """SHA-256 of the population points (coordinates rounded to 1e-7°) and weights."""
    gdf = population.gdf
    arr = np.column_stack([gdf.geometry.x.round(7), gdf.geometry.y.round(7), gdf["weight"]])
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def adhoc_scenario(name: str, facilities: str, parameters: RunParameters) -> Scenario:
    """A root scenario that is not saved: a facility source and the parameters that differ.

    ``geo coverage`` runs one, so that it computes through :func:`run_scenario` like ``geo run``
    and the app, and its tables carry the same metadata.
    """
    changed = tuple(
        (k, _freeze(v))
        for k, v in parameters.to_dict().items()
        if _freeze(v) != _freeze(DEFAULTS.to_dict()[k])
    )
    return Scenario(
        name=name,
        description=f"ad-hoc run of {facilities} (geo coverage)",
        facilities=facilities,
        parameters=tuple(sorted(changed)),
    )


def run_scenario(
    scenario: Scenario | ResolvedScenario | str | Path,
    *,
    folder: Path | None = None,
    progress: Callable[[str], None] | None = None,
    networks: Mapping[str, Network] | None = None,
    population: Population | None = None,
    subdistricts: gpd.GeoDataFrame | None = None,
    facilities: FacilityTable | None = None,
) -> ScenarioRun:
    """Resolve (if needed) and compute every standard the scenario asks for.

    The one coverage path: ``geo run``, ``geo coverage`` (an :func:`adhoc_scenario`) and
    ``geo compare`` call it; the app's editor starts from the same inputs
    (:func:`scenario_inputs`) and is tested to give the same tables.

    Each result's metadata records the scenario's name and content hash, the network keys, the
    population hash and the software version, so a later run can be checked against it.
    ``networks``, ``population`` and ``subdistricts`` replace what the parameters name (tests,
    or an app that holds them in memory already).
    """
    say = progress or (lambda _m: None)
    resolved = (
        scenario
        if isinstance(scenario, ResolvedScenario)
        else resolve(scenario, folder=folder, facilities=facilities)
    )
    params = resolved.parameters
    stds, pop, nets = scenario_inputs(
        resolved, networks=networks, population=population, progress=say
    )
    hashes = {
        "scenario": resolved.content_hash,
        "population": population_hash(pop),
        **{f"network_{m}": n.key for m, n in nets.items()},
        "software_version": __version__,
    }
    results = []
    for std in stds:
        say(f"{resolved.scenario.name}: {std.label_en}")
        res = compute_coverage(
            std,
            resolved.facilities,
            pop,
            network=nets.get(std.mode),
            buffer_meters=params.buffer_meters,
            max_snap_meters=params.max_snap_meters,
            area_cell_meters=params.area_cell_meters,
            subdistricts=subdistricts,
        )
        meta: Metadata = dict(res.metadata)  # the provenance block keeps its key order
        meta.update(
            scenario=resolved.scenario.name,
            scenario_hash=resolved.content_hash,
            scenario_description=resolved.scenario.description,
            scenario_chain=list[JSONValue](s.name for s in resolved.chain),
            scenario_changes=dict[str, JSONValue](resolved.changes),
            hashes=dict[str, JSONValue](hashes),
        )
        results.append(replace(res, metadata=meta))
    return ScenarioRun(resolved, tuple(results), hashes)


@dataclass(frozen=True)
class Comparison:
    """Scenario B against scenario A, per standard and subdistrict.

    ``table``: one row per standard × unit (district row included) with a/b/delta of covered km²,
    area share, covered residents and resident share. ``sites``: facilities added, moved or
    removed (by id). ``gained``/``lost``: areas covered in B but not A (and vice versa) per
    standard and unit, WGS-84.
    """

    a: str
    b: str
    table: pd.DataFrame
    sites: pd.DataFrame
    gained: gpd.GeoDataFrame
    lost: gpd.GeoDataFrame
    metadata: Metadata


_COMPARED = ("covered_km2", "area_share", "covered_residents", "resident_share", "facilities")


def compare(
    run_a: ScenarioRun, run_b: ScenarioRun, *, subdistricts: gpd.GeoDataFrame | None = None
) -> Comparison:
    """Compare two scenario runs (their common standards)."""
    names_a = [r.standard.name for r in run_a.results]
    common = [r.standard.name for r in run_b.results if r.standard.name in names_a]
    if not common:
        msg = "the two scenarios share no standard; run them with a common one"
        raise ScenarioError(msg)
    rows, gained, lost = [], [], []
    part = partition_subdistricts(subdistricts)
    for std in common:
        ta = run_a.result(std).table.set_index("code")
        tb = run_b.result(std).table.set_index("code")
        frame = tb[["name_zh", "name_en"]].copy()
        frame.insert(0, "standard", std)
        for col in _COMPARED:
            frame[f"{col}_a"] = ta[col]
            frame[f"{col}_b"] = tb[col]
            frame[f"{col}_delta"] = tb[col] - ta[col]
        rows.append(frame.reset_index())
        ga, gb = _covered(run_a.result(std)), _covered(run_b.result(std))
        gained.append(_by_unit(shapely.difference(gb, ga), part, std))
        lost.append(_by_unit(shapely.difference(ga, gb), part, std))
    name_a, name_b = run_a.resolved.scenario.name, run_b.resolved.scenario.name
    meta = combined_provenance(
        f"comparison {name_b} vs {name_a}",
        {std: run_b.result(std).metadata for std in common},
        a=name_a,
        b=name_b,
        hashes_a=dict[str, JSONValue](run_a.hashes),
        hashes_b=dict[str, JSONValue](run_b.hashes),
        facility_counts_a=run_a.result(common[0]).metadata.get("facility_counts"),
        standards=list[JSONValue](common),
    )
    return Comparison(
        a=name_a,
        b=name_b,
        table=pd.concat(rows, ignore_index=True),
        sites=site_changes(run_a.resolved.facilities.gdf, run_b.resolved.facilities.gdf),
        gained=gpd.GeoDataFrame(pd.concat(gained, ignore_index=True), crs=settings.wgs84_crs),
        lost=gpd.GeoDataFrame(pd.concat(lost, ignore_index=True), crs=settings.wgs84_crs),
        metadata=meta,
    )


def _covered(result: CoverageResult) -> shapely.Geometry:
    return shapely.union_all(result.covered.to_crs(settings.metric_crs).geometry.values)


def _by_unit(geom: shapely.Geometry, part: gpd.GeoDataFrame, std: str) -> gpd.GeoDataFrame:
    pieces = shapely.intersection(part.geometry.values, geom)
    out = gpd.GeoDataFrame(
        {"standard": std, "code": part["code"], "name_zh": part["name_zh"]},
        geometry=pieces,
        crs=settings.metric_crs,
    )
    out["area_km2"] = out.geometry.area / 1e6
    out = out[out["area_km2"] > 0]
    return out.to_crs(settings.wgs84_crs)


def site_changes(gdf_a: gpd.GeoDataFrame, gdf_b: gpd.GeoDataFrame) -> pd.DataFrame:
    """Facilities added, moved (position changed by > 1 m) or removed from A to B, by id."""
    a = gdf_a.set_index(gdf_a["id"].astype(str))
    b = gdf_b.set_index(gdf_b["id"].astype(str))
    rows = []
    for fid in b.index.difference(a.index):
        rows.append(_site_row("added", fid, None, b.loc[fid]))
    for fid in a.index.difference(b.index):
        rows.append(_site_row("removed", fid, a.loc[fid], None))
    both = a.index.intersection(b.index)
    pa = gpd.GeoSeries(a.loc[both].geometry, crs=settings.wgs84_crs).to_crs(settings.metric_crs)
    pb = gpd.GeoSeries(b.loc[both].geometry, crs=settings.wgs84_crs).to_crs(settings.metric_crs)
    dist = pa.distance(pb)
    for fid in dist.index[dist > 1.0]:
        rows.append({**_site_row("moved", fid, a.loc[fid], b.loc[fid]), "moved_m": dist[fid]})
    cols = ["change", "id", "name", "type", "subdistrict_zh", "lon_a", "lat_a", "lon_b", "lat_b"]
    return pd.DataFrame(rows, columns=[*cols, "moved_m"])


def _site_row(change: str, fid: str, ra: pd.Series | None, rb: pd.Series | None) -> dict[str, Any]:
    ref = rb if rb is not None else ra
    assert ref is not None
    return {
        "change": change,
        "id": fid,
        "name": ref["name"],
        "type": ref["type"],
        "subdistrict_zh": ref.get("subdistrict_zh"),
        **_lonlat(ra, "a"),
        **_lonlat(rb, "b"),
    }


def _lonlat(row: pd.Series | None, tag: str) -> dict[str, float | None]:
    if row is None:
        return {f"lon_{tag}": None, f"lat_{tag}": None}
    return {f"lon_{tag}": float(row.geometry.x), f"lat_{tag}": float(row.geometry.y)}


def comparison_json(cmp: Comparison) -> dict[str, JSONValue]:
    """District-level deltas per standard and the site changes, JSON-ready."""
    district = cmp.table[cmp.table["code"] == district_code()]
    return {
        "a": cmp.a,
        "b": cmp.b,
        "district": json.loads(district.to_json(orient="records", force_ascii=False)),
        "sites": cmp.sites["change"].value_counts().to_dict(),
    }
