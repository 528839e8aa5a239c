"""Resolving a scenario: the base chain applied (removes, moves, adds), parameters merged."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import boundaries, settings
from geo._errors import DataFolderError, ParameterError, ScenarioError
from geo.facilities import FACILITY_TYPES, FacilityTable, load_facilities
from geo.parameters import RunParameters
from geo.scenarios.model import (
    Scenario,
    load_scenario,
    save_scenario,
    scenario_path,
)

__all__ = [
    "SHIPPED_SCENARIOS",
    "ResolvedScenario",
    "geocode_offline",
    "prepare_scenario_folder",
    "resolve",
    "save_scenario_as",
]

logger = logging.getLogger(__name__)


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
    folder = folder or (scenario.path.parent if scenario.path else settings.scenario_folder)
    chain = _chain(scenario, folder)
    root = chain[0]
    assert root.facilities is not None  # guaranteed by validation
    table = facilities or load_facilities(_relative(root.facilities, root))
    changed = _changed_files(chain)
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
    fac = replace(table, gdf=gdf.reset_index(drop=True), notes=(*changed, *table.notes, note))
    digest = hashlib.sha256("\n".join(s.to_toml() for s in chain).encode("utf-8")).hexdigest()
    return ResolvedScenario(scenario, chain, fac, run_params, digest, changes)


def _changed_files(chain: tuple[Scenario, ...]) -> list[str]:
    """Warnings for data files that changed since their scenario recorded their SHA-256."""
    out = []
    for sc in chain:
        for name, digest in sc.sha256:
            path = Path(_relative(name, sc))
            now = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
            if now != digest:
                out.append(
                    f"WARNING: {name} of scenario {sc.name!r} changed since it was created "
                    f"(SHA-256 recorded {digest[:12]}…, now {now[:12]}…): figures differ from "
                    "the scenario's first run"
                )
                logger.warning(out[-1])
    return out


def _owner(chain: tuple[Scenario, ...], key: str) -> Scenario:
    for sc in reversed(chain):
        if key in dict(sc.parameters):
            return sc
    return chain[-1]


def _relative(source: str, scenario: Scenario) -> str | Path:
    """A path a scenario file names, relative to the file; it must stay inside the scenario's
    folder or the data folder (``settings.allow_outside_paths`` lifts the rule: ``geo
    --allow-outside-paths``), so a shared scenario cannot make the tool read arbitrary files."""
    if source == "pack" or scenario.path is None:
        return source
    path = Path(source)
    path = path if path.is_absolute() else (scenario.path.parent / path)
    if settings.allow_outside_paths:
        return path
    inside = [scenario.path.parent.resolve()]
    with contextlib.suppress(DataFolderError):
        inside.append(settings.resolve_data_folder())
    resolved = path.resolve()
    if not any(resolved.is_relative_to(folder) for folder in inside):
        msg = (
            f"scenario {scenario.name!r}: {source!r} lies outside the scenario's folder and the "
            "data folder; copy the file there, or allow it with `geo --allow-outside-paths`"
        )
        raise ScenarioError(msg)
    return path


#: The scenarios shipped with the product: never replaced by a save.
SHIPPED_SCENARIOS: tuple[str, ...] = ("baseline", "plan-2025")


def prepare_scenario_folder(folder: Path | None = None) -> Path:
    """Create the scenario folder and copy the shipped scenarios into it when missing (a folder
    moved with ``$GEO_SCENARIO_DIR``); returns the folder."""
    folder = Path(folder) if folder is not None else settings.scenario_folder
    folder.mkdir(parents=True, exist_ok=True)
    for name in SHIPPED_SCENARIOS:
        target = folder / f"{name}.toml"
        source = settings.SHIPPED_SCENARIO_FOLDER / f"{name}.toml"
        if not target.exists() and source.exists() and source.resolve() != target.resolve():
            shutil.copyfile(source, target)
    return folder


def save_scenario_as(
    scenario: Scenario, *, folder: Path | None = None, overwrite: bool = False
) -> Path:
    """Save ``scenario`` as ``<name>.toml`` in the scenario folder, the one safe way to save.

    The file name is the scenario's name (the rule :func:`load_scenario` looks it up by), so a
    child that names it as ``base`` always loads again. Refused: a shipped scenario's name, and
    a name in the scenario's own base chain (saving an edited ``baseline`` as ``baseline`` would
    make it its own base). Without ``overwrite`` the save is atomic against a concurrent one;
    with it, the previous file is kept as ``<name>.toml.bak``.

    Raises
    ------
    ScenarioError
        A protected or self-referencing name, or a scenario that would not load.
    FileExistsError
        The file exists and ``overwrite`` is False.
    """
    folder = Path(folder) if folder is not None else settings.scenario_folder
    if scenario.name in SHIPPED_SCENARIOS:
        msg = (
            f"{scenario.name!r} is a shipped scenario and cannot be replaced; "
            "save your edits under another name"
        )
        raise ScenarioError(msg)
    if scenario.base is not None:
        chain = [s.name for s in _chain(replace(scenario, name="\x00new"), folder)[:-1]]
        if scenario.name in chain:
            msg = (
                f"cannot save {scenario.name!r}: it is in its own base chain "
                f"({' → '.join(chain)}); choose another name"
            )
            raise ScenarioError(msg)
    return save_scenario(
        scenario, scenario_path(scenario.name, folder=folder), overwrite=overwrite, backup=True
    )


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
        err = _outside(e.number("lon"), e.number("lat"))
        if err:
            problems.append(f"{where} move[{i + 1}] ({fid}): {err}")
            continue
        gdf = _set_position(gdf, fid, e.number("lon"), e.number("lat"))
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
        lon, lat = e.number("lon"), e.number("lat")
        if e.get("lon") is None:
            try:
                lon, lat = (geocode or geocode_offline)(str(e.get("address")))
            except ScenarioError as exc:
                problems.append(f"{tag}: {exc}")
                continue
        err = _outside(lon, lat)
        if err:
            problems.append(f"{tag}: {err}")
            continue
        ids.add(fid)
        names.add(str(e.get("name")))
        rows.append(
            {
                "id": fid,
                "name": str(e.get("name")),
                "type": e.get("type"),
                "status": e.get("status", "planned"),
                "lon": lon,
                "lat": lat,
                "address": e.get("address", ""),
                "capacity": np.nan,
                "source": f"scenario {sc.name} ({e.get('by', 'planner')}"
                + (f": {e.get('method')})" if e.get("method") else ")"),
                "placed_by": e.get("by", "planner"),
                "method": e.get("method", ""),
            }
        )
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
