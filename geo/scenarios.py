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

import hashlib
import json
import logging
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import tomli_w

from geo import __version__, boundaries, settings
from geo._errors import InputFileError, ParameterError, ScenarioError, UnknownSubdistrictError
from geo._io import atomic_target
from geo._types import JSONValue, Metadata
from geo.coverage import CoverageResult, compute_coverage, partition_subdistricts
from geo.facilities import FACILITY_TYPES, FacilityTable, load_facilities
from geo.network import BuildOptions, Network, load_network
from geo.parameters import BOUNDS, DEFAULTS, RunParameters, check_number
from geo.population import Population, load_population
from geo.standards import Standard, make_standard

__all__ = [
    "ADD_KEYS",
    "MOVE_KEYS",
    "PLACED_BY",
    "PLAN_2025_DESCRIPTION",
    "REMOVE_KEYS",
    "SCENARIO_FOLDER",
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
    "geocode_offline",
    "list_scenarios",
    "load_scenario",
    "population_hash",
    "resolve",
    "run_scenario",
    "save_scenario",
    "scenario_from_dict",
    "scenario_from_suggestions",
    "scenario_inputs",
    "scenario_networks",
    "scenario_path",
    "site_changes",
    "standards_of",
]

logger = logging.getLogger(__name__)

#: Folder of the shipped scenarios.
SCENARIO_FOLDER: Path = settings.REPO_ROOT / "scenarios"

TOP_KEYS = ("name", "description", "base", "facilities", "parameters", "add", "move", "remove")
ADD_KEYS = ("id", "name", "type", "lon", "lat", "address", "status", "by", "method", "note")
MOVE_KEYS = ("id", "lon", "lat", "note")
REMOVE_KEYS = ("id", "note")
PLACED_BY = ("planner", "suggested")


@dataclass(frozen=True)
class Edit:
    """One edit: ``kind`` add/move/remove and its fields as written in the file."""

    kind: str
    fields: tuple[tuple[str, Any], ...]

    def get(self, key: str, default: Any = None) -> Any:
        """A field's value."""
        return dict(self.fields).get(key, default)


@dataclass(frozen=True)
class Scenario:
    """A scenario as written in its file (not yet resolved against its base)."""

    name: str
    description: str = ""
    base: str | None = None
    facilities: str | None = None
    parameters: tuple[tuple[str, Any], ...] = ()
    edits: tuple[Edit, ...] = ()
    path: Path | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The scenario as plain data, keys in the file's fixed order."""
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.base is not None:
            out["base"] = self.base
        if self.facilities is not None:
            out["facilities"] = self.facilities
        if self.parameters:
            out["parameters"] = {k: v for k, v in sorted(self.parameters)}
        for kind, keys in (("add", ADD_KEYS), ("move", MOVE_KEYS), ("remove", REMOVE_KEYS)):
            entries = [e for e in self.edits if e.kind == kind]
            if entries:
                out[kind] = [{k: e.get(k) for k in keys if e.get(k) is not None} for e in entries]
        return out

    def to_toml(self) -> str:
        """Canonical TOML text (stable order)."""
        return tomli_w.dumps(self.to_dict())

    def content_hash(self) -> str:
        """SHA-256 of the canonical text (the file's meaning, not its formatting)."""
        return hashlib.sha256(self.to_toml().encode("utf-8")).hexdigest()


# --- loading and validation -----------------------------------------------------------------


def scenario_path(name_or_path: str | Path, *, folder: Path | None = None) -> Path:
    """The file of a scenario given by name (looked up in ``folder``) or by path."""
    text = str(name_or_path)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        return Path(text)
    return (folder or SCENARIO_FOLDER) / f"{text}.toml"


def load_scenario(name_or_path: str | Path, *, folder: Path | None = None) -> Scenario:
    """Read and check one scenario file (its own content; the base is checked by :func:`resolve`).

    Raises
    ------
    ScenarioError
        Listing every problem: file, entry, what is wrong and how to fix it.
    """
    path = scenario_path(name_or_path, folder=folder)
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in path.parent.glob("*.toml"))) or "none"
        msg = f"scenario file not found: {path} (scenarios in {path.parent}: {known})"
        raise ScenarioError(msg)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path.name}: not valid TOML: {exc}; fix the line shown"
        raise ScenarioError(msg) from exc
    return scenario_from_dict(data, source=path.name, path=path)


def scenario_from_dict(
    data: Mapping[str, Any], *, source: str = "scenario", path: Path | None = None
) -> Scenario:
    """Check plain data (as parsed from TOML) and build a :class:`Scenario`."""
    problems: list[str] = []
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        problems.append(f"unknown keys {unknown}; allowed: {', '.join(TOP_KEYS)}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append('`name` is required (a short text, e.g. "plan-2025")')
    elif any(c in name for c in '/\\:*?"<>|'):
        problems.append(f'`name`={name!r} must not contain / \\ : * ? " < > |')
    if ("base" in data) == ("facilities" in data):
        problems.append(
            'give exactly one of `base` (another scenario) or `facilities` ("pack" or a file)'
        )
    params = data.get("parameters", {})
    if not isinstance(params, dict):
        problems.append("`parameters` must be a table ([parameters])")
        params = {}
    problems += _check_parameters(params)
    edits: list[Edit] = []
    for kind, keys in (("add", ADD_KEYS), ("move", MOVE_KEYS), ("remove", REMOVE_KEYS)):
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            problems.append(f"`{kind}` must be an array of tables ([[{kind}]])")
            continue
        for i, entry in enumerate(entries):
            where = f"{kind}[{i + 1}]"
            problems += [f"{where}: {p}" for p in _check_entry(kind, entry, keys)]
            if isinstance(entry, dict):
                edits.append(Edit(kind, tuple((k, entry[k]) for k in keys if k in entry)))
    problems += _check_duplicates(edits)
    if problems:
        msg = f"{source}: {len(problems)} problem(s):\n" + "\n".join(f"  {p}" for p in problems)
        raise ScenarioError(msg)
    return Scenario(
        name=str(name).strip(),
        description=str(data.get("description", "")),
        base=data.get("base"),
        facilities=data.get("facilities"),
        parameters=tuple(sorted((k, _freeze(v)) for k, v in params.items())),
        edits=tuple(edits),
        path=path,
    )


def _freeze(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _check_parameters(params: Mapping[str, Any]) -> list[str]:
    """Every problem of a ``[parameters]`` table (names, types, bounds), each on its own."""
    problems = []
    for key, value in params.items():
        if key not in RunParameters.names():
            allowed = ", ".join(RunParameters.names())
            problems.append(f"parameters.{key}: unknown; allowed: {allowed}")
            continue
        try:
            if key in BOUNDS:
                check_number(key, value)
            elif isinstance(getattr(DEFAULTS, key), str) and not isinstance(value, str):
                problems.append(f"parameters.{key}={value!r}: must be a text")
            elif isinstance(getattr(DEFAULTS, key), tuple):
                if not isinstance(value, list | tuple):
                    problems.append(f"parameters.{key}: must be a non-empty list")
                else:
                    DEFAULTS.replace(**{key: tuple(value)})
        except ParameterError as exc:
            problems.append(f"parameters.{exc}")
    if not problems:
        try:
            RunParameters.from_mapping(params)
        except ParameterError as exc:  # a rule between fields (dispatch delay < response time)
            problems.append(f"parameters: {exc}")
    return problems


def _check_entry(kind: str, entry: Any, keys: tuple[str, ...]) -> list[str]:
    if not isinstance(entry, dict):
        return ["must be a table of fields"]
    problems = []
    unknown = sorted(set(entry) - set(keys))
    if unknown:
        problems.append(f"unknown fields {unknown}; allowed: {', '.join(keys)}")
    if kind in ("move", "remove") and not entry.get("id"):
        problems.append("`id` of an existing facility is required")
    if kind == "add":
        problems += _check_add(entry)
    if kind in ("add", "move"):
        problems += _check_lonlat(entry, required=kind == "move" or "address" not in entry)
    return problems


def _check_add(entry: Mapping[str, Any]) -> list[str]:
    problems = []
    if not str(entry.get("name", "")).strip():
        problems.append("`name` is required")
    if entry.get("type") not in FACILITY_TYPES:
        valid = ", ".join(FACILITY_TYPES)
        problems.append(f"`type`={entry.get('type')!r}: unknown facility type; valid: {valid}")
    if entry.get("status", "planned") not in ("planned", "under_construction", "existing"):
        problems.append(
            f"`status`={entry.get('status')!r}: use planned, under_construction or existing"
        )
    if entry.get("by", "planner") not in PLACED_BY:
        problems.append(f"`by`={entry.get('by')!r}: use planner or suggested")
    if entry.get("by") == "suggested" and not entry.get("method"):
        problems.append('a suggested site must say its `method` (e.g. "MCLP, PuLP/CBC")')
    return problems


def _check_lonlat(entry: Mapping[str, Any], *, required: bool) -> list[str]:
    lon, lat = entry.get("lon"), entry.get("lat")
    if lon is None and lat is None and not required:
        return []
    for key, value in (("lon", lon), ("lat", lat)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            return [f"`{key}`={value!r}: a WGS-84 number is required (or give an `address`)"]
    assert isinstance(lon, int | float) and isinstance(lat, int | float)  # for mypy
    if 30 < lon < 32 and 120 < lat < 123:
        return [f"`lon`={lon}, `lat`={lat}: swapped? Minhang is near lon 121.4, lat 31.1"]
    return []


def _check_duplicates(edits: list[Edit]) -> list[str]:
    problems = []
    seen: dict[tuple[str, str], int] = {}
    for kind in ("add", "move", "remove"):
        for i, e in enumerate([e for e in edits if e.kind == kind]):
            for key in ("id", "name") if kind == "add" else ("id",):
                value = e.get(key)
                if value is None:
                    continue
                tag = ("site" if key == "id" else "name", str(value))
                if tag in seen:
                    problems.append(f"{kind}[{i + 1}]: duplicate {key} {value!r} (used before)")
                seen.setdefault(tag, i)
    return problems


# --- resolving a scenario against its bases -------------------------------------------------


@dataclass(frozen=True)
class ResolvedScenario:
    """A scenario with its base chain applied: the facilities and parameters it stands for."""

    scenario: Scenario
    chain: tuple[Scenario, ...]  # root first, this scenario last
    facilities: FacilityTable
    parameters: RunParameters
    content_hash: str
    changes: dict[str, int]


def resolve(
    scenario: Scenario | str | Path,
    *,
    folder: Path | None = None,
    geocode: Callable[[str], tuple[float, float]] | None = None,
    facilities: FacilityTable | None = None,
) -> ResolvedScenario:
    """Apply the base chain: facilities after every edit, parameters merged (child wins).

    ``facilities`` replaces the root scenario's facility source, already loaded (the ad-hoc
    scenario of ``geo coverage`` reads its file with the coordinate system the planner named).

    Raises
    ------
    ScenarioError
        A cycle in ``base``, an unknown facility id in a move/remove, a site outside the
        district, a duplicate name — all problems of the chain, listed together.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, folder=folder)
    folder = folder or (scenario.path.parent if scenario.path else SCENARIO_FOLDER)
    chain = _chain(scenario, folder)
    root = chain[0]
    assert root.facilities is not None  # guaranteed by validation
    table = facilities or load_facilities(_relative(root.facilities, root))
    gdf = table.gdf.copy()
    params: dict[str, Any] = {}
    changes = {"added": 0, "moved": 0, "removed": 0}
    problems: list[str] = []
    for sc in chain:
        params.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in sc.parameters})
        gdf, counts, errs = _apply_edits(sc, gdf, geocode=geocode)
        problems += errs
        for k, v in counts.items():
            changes[k] += v
    if problems:
        msg = f"scenario {scenario.name!r}: {len(problems)} problem(s):\n" + "\n".join(
            f"  {p}" for p in problems
        )
        raise ScenarioError(msg)
    for key in ("population", "network"):
        if params.get(key, "pack") != "pack":
            params[key] = str(_relative(params[key], _owner(chain, key)))
    try:
        run_params = RunParameters.from_mapping(params)
    except ParameterError as exc:
        msg = f"scenario {scenario.name!r}: parameters of the chain do not fit together: {exc}"
        raise ScenarioError(msg) from exc
    note = f"scenario {scenario.name}: {changes['added']} added, {changes['moved']} moved, "
    note += f"{changes['removed']} removed after {root.name}"
    fac = replace(table, gdf=gdf.reset_index(drop=True), notes=(*table.notes, note))
    digest = hashlib.sha256("\n".join(s.to_toml() for s in chain).encode("utf-8")).hexdigest()
    return ResolvedScenario(scenario, chain, fac, run_params, digest, changes)


def _owner(chain: tuple[Scenario, ...], key: str) -> Scenario:
    for sc in reversed(chain):
        if key in dict(sc.parameters):
            return sc
    return chain[-1]


def _relative(source: str, scenario: Scenario) -> str | Path:
    if source == "pack" or scenario.path is None:
        return source
    path = Path(source)
    return path if path.is_absolute() else (scenario.path.parent / path)


def _chain(scenario: Scenario, folder: Path) -> tuple[Scenario, ...]:
    chain = [scenario]
    names = [scenario.name]
    while chain[-1].base is not None:
        base = chain[-1].base
        if base in names:
            cycle = " → ".join([*names, base])
            msg = f"cycle in `base`: {cycle}; a scenario cannot build on itself"
            raise ScenarioError(msg)
        chain.append(load_scenario(base, folder=folder))
        names.append(base)
    return tuple(reversed(chain))


def _apply_edits(
    sc: Scenario,
    gdf: gpd.GeoDataFrame,
    *,
    geocode: Callable[[str], tuple[float, float]] | None,
) -> tuple[gpd.GeoDataFrame, dict[str, int], list[str]]:
    where = sc.path.name if sc.path else sc.name
    problems: list[str] = []
    ids = set(gdf["id"].astype(str))
    counts = {"added": 0, "moved": 0, "removed": 0}
    gdf = gdf.copy()
    for i, e in enumerate([e for e in sc.edits if e.kind == "remove"]):
        if str(e.get("id")) not in ids:
            problems.append(f"{where} remove[{i + 1}]: {_unknown_id(e.get('id'), gdf)}")
            continue
        gdf = gdf[gdf["id"].astype(str) != str(e.get("id"))]
        ids.discard(str(e.get("id")))
        counts["removed"] += 1
    for i, e in enumerate([e for e in sc.edits if e.kind == "move"]):
        fid = str(e.get("id"))
        if fid not in ids:
            problems.append(f"{where} move[{i + 1}]: {_unknown_id(fid, gdf)}")
            continue
        err = _outside(float(e.get("lon")), float(e.get("lat")))
        if err:
            problems.append(f"{where} move[{i + 1}] ({fid}): {err}")
            continue
        gdf = _set_position(gdf, fid, float(e.get("lon")), float(e.get("lat")))
        counts["moved"] += 1
    new_rows, errs = _new_sites(sc, gdf, ids, where=where, geocode=geocode)
    problems += errs
    if new_rows:
        added = gpd.GeoDataFrame(
            new_rows,
            geometry=gpd.points_from_xy([r["lon"] for r in new_rows], [r["lat"] for r in new_rows]),
            crs=settings.wgs84_crs,
        )
        boundaries.add_subdistrict(added)
        added["type_zh"] = added["type"].map(lambda t: FACILITY_TYPES[t].name_zh)
        added["type_en"] = added["type"].map(lambda t: FACILITY_TYPES[t].name_en)
        gdf = gpd.GeoDataFrame(pd.concat([gdf, added], ignore_index=True), crs=settings.wgs84_crs)
        counts["added"] = len(new_rows)
    return gdf, counts, problems


def _new_sites(
    sc: Scenario,
    gdf: gpd.GeoDataFrame,
    ids: set[str],
    *,
    where: str,
    geocode: Callable[[str], tuple[float, float]] | None,
) -> tuple[list[dict[str, Any]], list[str]]:
    rows, problems = [], []
    names = set(gdf["name"].astype(str))
    for i, e in enumerate([e for e in sc.edits if e.kind == "add"]):
        tag = f"{where} add[{i + 1}] ({e.get('name')})"
        fid = str(e.get("id") or f"{sc.name}:{i + 1}")
        if fid in ids:
            problems.append(
                f"{tag}: id {fid!r} is already used by another facility; choose another"
            )
            continue
        if str(e.get("name")) in names:
            problems.append(f"{tag}: a facility named {e.get('name')!r} exists already; rename it")
            continue
        lon, lat = e.get("lon"), e.get("lat")
        if lon is None:
            try:
                lon, lat = (geocode or geocode_offline)(str(e.get("address")))
            except ScenarioError as exc:
                problems.append(f"{tag}: {exc}")
                continue
        err = _outside(float(lon), float(lat))
        if err:
            problems.append(f"{tag}: {err}")
            continue
        ids.add(fid)
        names.add(str(e.get("name")))
        rows.append(
            {
                "id": fid, "name": str(e.get("name")), "type": e.get("type"),
                "status": e.get("status", "planned"), "lon": float(lon), "lat": float(lat),
                "address": e.get("address", ""), "capacity": np.nan,
                "source": f"scenario {sc.name} ({e.get('by', 'planner')}"
                + (f": {e.get('method')})" if e.get("method") else ")"),
                "placed_by": e.get("by", "planner"), "method": e.get("method", ""),
            }
        )  # fmt: skip
    return rows, problems


def geocode_offline(address: str) -> tuple[float, float]:
    """Place an address with the offline geocoder; refuse anything flagged for review.

    Raises
    ------
    ScenarioError
        If the address matched only loosely (confidence below the review threshold): the
        planner then gives lon/lat, or adds an override for the address.
    """
    from geo import geocoding

    res = geocoding.offline_geocoder_from_pack().geocode(address)
    if res.review or not math.isfinite(res.lon):
        msg = (
            f"address {address!r} matched only at level {res.match_level} (confidence "
            f"{res.confidence:.2f}; {res.note or 'below the review threshold'}): give lon/lat "
            "or add a manual override for it"
        )
        raise ScenarioError(msg)
    return float(res.lon), float(res.lat)


def _unknown_id(fid: Any, gdf: gpd.GeoDataFrame) -> str:
    sample = ", ".join(gdf["id"].astype(str).head(3))
    return (
        f"unknown facility id {fid!r}; ids of this scenario's facilities look like {sample} "
        "(list them with `geo info --json` or in the app)"
    )


def _outside(lon: float, lat: float) -> str | None:
    code = boundaries.assign_subdistricts(lon, lat)[()]
    if code is None:
        return f"({lon:.5f}, {lat:.5f}) is outside the district; check the coordinates (WGS-84)"
    return None


def _set_position(gdf: gpd.GeoDataFrame, fid: str, lon: float, lat: float) -> gpd.GeoDataFrame:
    mask = gdf["id"].astype(str) == fid
    gdf.loc[mask, "lon"] = lon
    gdf.loc[mask, "lat"] = lat
    gdf.loc[mask, "geometry"] = shapely.Point(lon, lat)
    code = str(boundaries.assign_subdistricts(lon, lat)[()])
    sub = boundaries.find_subdistrict(code)
    gdf.loc[mask, "subdistrict_code"] = code
    gdf.loc[mask, "subdistrict_zh"] = sub["name_zh"]
    gdf.loc[mask, "subdistrict_en"] = sub["name_en"]
    gdf.loc[mask, "boundary_status"] = sub["boundary_status"]
    return gdf


# --- saving -----------------------------------------------------------------------------------


def save_scenario(scenario: Scenario, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``scenario`` as canonical TOML, atomically; refuse an existing file unless asked.

    The scenario is re-validated from its own canonical text first, so a file that would not
    load is never written.
    """
    path = Path(path)
    text = scenario.to_toml()
    scenario_from_dict(tomllib.loads(text), source=path.name)  # never write what cannot load
    with atomic_target(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    logger.info("saved scenario %s to %s", scenario.name, path)
    return path


# --- running and comparing --------------------------------------------------------------------


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
            std, resolved.facilities, pop, network=nets.get(std.mode),
            buffer_meters=params.buffer_meters, max_snap_meters=params.max_snap_meters,
            subdistricts=subdistricts,
        )  # fmt: skip
        meta: Metadata = {
            "scenario": resolved.scenario.name,
            "scenario_description": resolved.scenario.description,
            "scenario_chain": list[JSONValue](s.name for s in resolved.chain),
            "scenario_changes": dict[str, JSONValue](resolved.changes),
            "hashes": dict[str, JSONValue](hashes),
            **res.metadata,
        }
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
    metadata: dict[str, Any]


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
    meta: dict[str, Any] = {
        "a": name_a, "b": name_b,
        "hashes_a": run_a.hashes, "hashes_b": run_b.hashes, "standards": common,
        "software_version": __version__,
    }  # fmt: skip
    return Comparison(
        a=name_a, b=name_b, table=pd.concat(rows, ignore_index=True),
        sites=site_changes(run_a.resolved.facilities.gdf, run_b.resolved.facilities.gdf),
        gained=gpd.GeoDataFrame(pd.concat(gained, ignore_index=True), crs=settings.wgs84_crs),
        lost=gpd.GeoDataFrame(pd.concat(lost, ignore_index=True), crs=settings.wgs84_crs),
        metadata=meta,
    )  # fmt: skip


def _covered(result: CoverageResult) -> shapely.Geometry:
    return shapely.union_all(result.covered.to_crs(settings.metric_crs).geometry.values)


def _by_unit(geom: shapely.Geometry, part: gpd.GeoDataFrame, std: str) -> gpd.GeoDataFrame:
    pieces = shapely.intersection(part.geometry.values, geom)
    out = gpd.GeoDataFrame(
        {"standard": std, "code": part["code"], "name_zh": part["name_zh"]},
        geometry=pieces, crs=settings.metric_crs,
    )  # fmt: skip
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
        "change": change, "id": fid, "name": ref["name"], "type": ref["type"],
        "subdistrict_zh": ref.get("subdistrict_zh"),
        **_lonlat(ra, "a"), **_lonlat(rb, "b"),
    }  # fmt: skip


def _lonlat(row: pd.Series | None, tag: str) -> dict[str, float | None]:
    if row is None:
        return {f"lon_{tag}": None, f"lat_{tag}": None}
    return {f"lon_{tag}": float(row.geometry.x), f"lat_{tag}": float(row.geometry.y)}


def comparison_json(cmp: Comparison) -> dict[str, Any]:
    """District-level deltas per standard and the site changes, JSON-ready."""
    district = cmp.table[cmp.table["code"] == "310112"]
    return {
        "a": cmp.a,
        "b": cmp.b,
        "district": json.loads(district.to_json(orient="records", force_ascii=False)),
        "sites": cmp.sites["change"].value_counts().to_dict(),
    }


def list_scenarios(folder: Path | None = None) -> list[str]:
    """Names of the scenario files in ``folder`` (default: the shipped ``scenarios/``), sorted
    with ``baseline`` first."""
    names = sorted(p.stem for p in (folder or SCENARIO_FOLDER).glob("*.toml"))
    return sorted(names, key=lambda n: (n != "baseline", n))


def scenario_from_suggestions(
    name: str, description: str, *, base: str, suggestions: list[Any]
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
                ("id", fid), ("name", f"{row.subdistrict_zh} 建议{label} {i}"),
                ("type", str(row.type)), ("lon", round(float(row.lon), 7)),
                ("lat", round(float(row.lat), 7)), ("status", "planned"), ("by", "suggested"),
                ("method", method),
                ("note", f"rank {row.rank}; near {_road_label(row.road_name)}; "
                         f"{row.residents_new:,.0f} residents newly covered"),
            )  # fmt: skip
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
