"""A new root scenario from a planner's own data: its facility file (and population file) stored
beside it in ``<scenario folder>/data/``, each recorded with its SHA-256.

One code path for the app ("start a scenario from my register") and ``geo scenario new``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo import settings
from geo._errors import GeoError, ScenarioError
from geo._io import atomic_target
from geo._safe import spreadsheet_frame
from geo.population import population_from_upload
from geo.scenarios.model import Scenario, _check_name, scenario_path
from geo.scenarios.resolve import SHIPPED_SCENARIOS, save_scenario_as

__all__ = ["DATA_SUBFOLDER", "POPULATION_SUFFIXES", "create_scenario", "data_file_names"]

logger = logging.getLogger(__name__)

#: Where a created scenario's data files live, relative to the scenario folder.
DATA_SUBFOLDER = "data"

#: Population files a scenario can carry: a table by 街镇 (or 居委会 with a 街镇 column), a raster.
POPULATION_SUFFIXES = (".csv", ".xlsx", ".tif", ".tiff")

#: Columns of the stored facility file, in order (extra columns follow).
_STORED = ("id", "name", "type", "status", "lon", "lat", "address", "capacity", "subdistrict_zh")


def data_file_names(name: str, population_suffix: str | None = None) -> tuple[str, str | None]:
    """The facility file and population file a scenario ``name`` stores, as the scenario names
    them (relative to its folder)."""
    facilities = f"{DATA_SUBFOLDER}/{name}-facilities.csv"
    population = (
        f"{DATA_SUBFOLDER}/{name}-population{population_suffix}" if population_suffix else None
    )
    return facilities, population


def create_scenario(
    name: str,
    facilities: gpd.GeoDataFrame,
    *,
    description: str = "",
    population: tuple[str, bytes] | Path | None = None,
    standards: Sequence[str] | None = None,
    folder: Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a new root scenario whose facilities are ``facilities`` (WGS-84 points).

    Parameters
    ----------
    name
        The scenario's name (its file is ``<name>.toml``); shipped names are refused.
    facilities
        From :func:`geo.register.combine` (or any frame with the facility columns).
    description
        Shown with the scenario; a line naming the register and the combination is usual.
    population
        Optional: a planner's population file as (file name, bytes) or a path; checked with
        :func:`geo.population.load_population` before anything is written.
    standards
        The standards to run (default: the four).
    folder
        The scenario folder (default ``settings.scenario_folder``).
    overwrite
        Replace an existing scenario of that name (its files are kept as ``.bak``).

    Returns
    -------
    pathlib.Path
        The scenario file.

    Raises
    ------
    ScenarioError
        A bad or shipped name; a population file that does not load; a scenario that exists
        (unless ``overwrite``).
    """
    folder = Path(folder) if folder is not None else settings.scenario_folder
    problems = _check_name(name)
    if problems or name in SHIPPED_SCENARIOS:
        msg = problems[0] if problems else f"{name!r} is a shipped scenario; choose another name"
        raise ScenarioError(msg)
    target = scenario_path(name, folder=folder)
    if target.exists() and not overwrite:
        msg = f"scenario {name!r} exists ({target.name}); choose another name or replace it"
        raise ScenarioError(msg)
    if facilities.empty:
        msg = f"scenario {name!r}: no valid facility to store (every row was rejected)"
        raise ScenarioError(msg)
    pop_name, pop_bytes = _population_bytes(population)
    if pop_name is not None and pop_bytes is not None:
        _check_population(pop_name, pop_bytes)  # before anything is written
    suffix = Path(pop_name).suffix.lower() if pop_name else None
    fac_rel, pop_rel = data_file_names(name, suffix)
    files = {fac_rel: _facility_csv(facilities)}
    params: list[tuple[str, str | tuple[str, ...]]] = []
    if pop_rel is not None and pop_bytes is not None:
        files[pop_rel] = pop_bytes
        params.append(("population", pop_rel))
    if standards:
        params.append(("standards", tuple(standards)))
    scenario = Scenario(
        name=name,
        description=description,
        facilities=fac_rel,
        parameters=tuple(sorted(params)),
        sha256=tuple(
            sorted((rel, hashlib.sha256(data).hexdigest()) for rel, data in files.items())
        ),
    )
    written: list[Path] = []
    try:
        for rel, data in files.items():
            existed = (folder / rel).exists()
            _write(folder / rel, data, overwrite)
            written += [] if existed else [folder / rel]
        path = save_scenario_as(scenario, folder=folder, overwrite=overwrite)
    except BaseException:
        for new_file in written:  # a scenario is created whole or not at all
            new_file.unlink(missing_ok=True)
        raise
    logger.info("created scenario %s (%d facilities) in %s", name, len(facilities), path)
    return path


def _check_population(name: str, data: bytes) -> None:
    """Load a population file under the planner's file name; a clear error if it does not."""
    try:
        population_from_upload(name, data)
    except GeoError as exc:  # unreadable, unknown units, bad numbers
        msg = f"population file {Path(name).name}: {exc}"
        raise ScenarioError(msg) from exc


def _population_bytes(
    population: tuple[str, bytes] | Path | None,
) -> tuple[str | None, bytes | None]:
    if population is None:
        return None, None
    if isinstance(population, tuple):
        name, data = population
    else:
        name, data = population.name, Path(population).read_bytes()
    if Path(name).suffix.lower() not in POPULATION_SUFFIXES:
        msg = (
            f"population file {name}: unsupported format; use a table by 街镇 (.csv, .xlsx) or a "
            "GeoTIFF (.tif)"
        )
        raise ScenarioError(msg)
    return name, data


#: Columns recomputed when the file is read back (or internal to the checks): not stored.
_DERIVED = frozenset(
    {
        "type_zh",
        "type_en",
        "subdistrict_code",
        "subdistrict_en",
        "boundary_status",
        "source",
        "_row",
        "lon_in",
        "lat_in",
        "coord_system_in",
        "subdistrict_declared",
        "coord_system",
    }
)


def _facility_csv(gdf: gpd.GeoDataFrame) -> bytes:
    """The facilities as the UTF-8 CSV the scenario reads back (WGS-84, formula-safe)."""
    frame = pd.DataFrame(gdf.drop(columns="geometry"))
    frame["lon"], frame["lat"] = gdf.geometry.x.round(7), gdf.geometry.y.round(7)
    extra = [c for c in frame.columns if c not in {*_STORED, *_DERIVED}]
    frame = frame.reindex(columns=[*_STORED, *extra]).rename(columns={"subdistrict_zh": "街镇"})
    frame["coord_system"] = "wgs84"
    text = spreadsheet_frame(frame).to_csv(index=False)
    return text.encode("utf-8-sig")


def _write(path: Path, data: bytes, overwrite: bool) -> None:
    with atomic_target(path, overwrite=overwrite, backup=True) as tmp:
        tmp.write_bytes(data)
