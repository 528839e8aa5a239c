"""Settings read when functions run: the data folder, the cache folder and default speeds.

Change them by assignment (``geo.settings.data_folder = Path(...)``), by ``--data`` on the command
line, or by the environment variable ``GEO_DATA_DIR`` (read only in :func:`resolve_data_folder`).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from geo._errors import DataFolderError

__all__ = [
    "AMAP_KEY_ENV_VAR",
    "AREA_FILE",
    "CACHE_ENV_VAR",
    "DATA_ENV_VAR",
    "DATA_FILES",
    "DEFAULT_DATA_FOLDER",
    "REPO_ROOT",
    "amap_key",
    "area_inputs",
    "cache_folder",
    "census_population",
    "check_data_folder",
    "data_file",
    "data_folder",
    "find_data_file",
    "metric_crs",
    "missing_data_files",
    "required_data_files",
    "resolve_amap_key",
    "resolve_cache_folder",
    "resolve_data_folder",
    "wgs84_crs",
]

#: The repository root (the folder that holds ``geo/``).
REPO_ROOT: Path = Path(__file__).resolve().parent.parent

#: Environment variable that points at the data folder; read in one place only.
DATA_ENV_VAR = "GEO_DATA_DIR"

#: Environment variable holding an AMap (高德) web-service key for online geocoding.
AMAP_KEY_ENV_VAR = "GEO_AMAP_KEY"

#: AMap web-service key set explicitly (``--amap-key`` or assignment); wins over the environment.
amap_key: str | None = None

#: Data folder set explicitly (``--data`` or assignment); wins over the environment variable.
data_folder: Path | None = None

#: Default data folder: the Minhang data embedded in the repository (``data/``, re-created from
#: the upstream data pack by ``tools/build_data.py``).
DEFAULT_DATA_FOLDER: Path = REPO_ROOT / "data"

#: The files a data folder holds (relative paths). Each may also be stored gzip-compressed with
#: ``.gz`` appended (as in ``data/``); :func:`data_file` finds either.
DATA_FILES: tuple[str, ...] = (
    "boundaries/district.geojson",
    "boundaries/subdistricts.geojson",
    "roads/minhang_roads_osm_simplified.geojson",
    "facilities/osm_health_facilities.csv",
    "residential/residential_addresses_2022.csv",
)

#: Let scenario files name inputs outside their own folder and the data folder
#: (``geo --allow-outside-paths``); off by default, so a shared scenario reads only what it ships.
allow_outside_paths: bool = False

#: The shipped scenarios (baseline, plan-2025), in the repository.
SHIPPED_SCENARIO_FOLDER: Path = REPO_ROOT / "scenarios"

#: Environment variable that moves the scenario folder (a shared server, tests); the shipped
#: scenarios are copied into it when missing (``scenarios.prepare_scenario_folder``).
SCENARIO_ENV_VAR = "GEO_SCENARIO_DIR"

#: Folder of the scenarios: the shipped ones and those a planner saves or creates.
scenario_folder: Path = Path(os.environ.get(SCENARIO_ENV_VAR) or SHIPPED_SCENARIO_FOLDER)

#: Where built networks, geocoding results and overrides are kept (``$GEO_CACHE_DIR`` wins).
cache_folder: Path = REPO_ROOT / ".cache"

#: Environment variable that moves the cache folder (tests, shared servers).
CACHE_ENV_VAR = "GEO_CACHE_DIR"

#: Census 2020 resident population of Minhang (district.geojson tag; plan: 2,653,500).
census_population: int = 2_653_489

#: Metric CRS for lengths and areas (UTM zone 51N).
metric_crs: str = "EPSG:32651"

#: Geographic CRS used everywhere inside the package.
wgs84_crs: str = "EPSG:4326"


def _chosen_data_folder() -> tuple[Path, str]:
    """The data folder that will be used and how it was chosen (not checked)."""
    if data_folder is not None:
        folder, how = Path(data_folder), "set by --data / geo.settings.data_folder"
    elif os.environ.get(DATA_ENV_VAR):
        folder, how = Path(os.environ[DATA_ENV_VAR]), f"from ${DATA_ENV_VAR}"
    else:
        folder, how = DEFAULT_DATA_FOLDER, "the default: data/ in the repository"
    return folder.expanduser().resolve(), how


def resolve_data_folder() -> Path:
    """Return the data folder to use, checking that it exists.

    Order: :data:`data_folder` (set by ``--data``), then ``$GEO_DATA_DIR``, then
    :data:`DEFAULT_DATA_FOLDER`.
    """
    folder, how = _chosen_data_folder()
    if not folder.is_dir():
        msg = (
            f"data folder not found: looked in {folder} ({how}). Point elsewhere with "
            f"`geo --data PATH ...` or the environment variable {DATA_ENV_VAR}=PATH; the folder "
            "must hold boundaries/, roads/, facilities/ and residential/ like data/ in the "
            "repository."
        )
        raise DataFolderError(msg)
    return folder


def check_data_folder() -> tuple[Path, str, list[str]]:
    """The data folder that would be used, how it was chosen, and the files it lacks.

    Never raises: a missing folder lacks every file of :data:`DATA_FILES`. Front ends call it
    first to show what is missing and where they looked, instead of a traceback.
    """
    folder, how = _chosen_data_folder()
    if not folder.is_dir():
        return folder, how, list(DATA_FILES)
    return folder, how, missing_data_files(folder)


def find_data_file(folder: Path, relative: str) -> Path | None:
    """``folder/relative``, or its gzip-compressed twin ``relative + ".gz"``; None if neither."""
    for candidate in (folder / relative, folder / f"{relative}.gz"):
        if candidate.is_file():
            return candidate
    return None


#: A data folder's own description (``geo.area``): its name, code and input files.
AREA_FILE = "area.toml"


def area_inputs(folder: Path | None = None) -> dict[str, str]:
    """The ``[area]`` table of a data folder's ``area.toml`` ({} without one, or unreadable: the
    full reader, :func:`geo.area.area_config`, says what is wrong)."""
    base = resolve_data_folder() if folder is None else folder
    path = base / AREA_FILE
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return {}
    return dict(_area_table(str(path), stamp))


@lru_cache(maxsize=8)
def _area_table(path: str, stamp: int) -> tuple[tuple[str, str], ...]:
    """The ``[area]`` table of one ``area.toml`` version (``stamp``: its mtime), read once."""
    import tomllib

    try:
        table = tomllib.loads(Path(path).read_text("utf-8")).get("area", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ()
    return tuple((str(k), str(v)) for k, v in table.items()) if isinstance(table, dict) else ()


def required_data_files(folder: Path | None = None) -> tuple[str, ...]:
    """The files a data folder must hold: :data:`DATA_FILES`, or for a folder with an
    ``area.toml`` (built by ``geo area init``) its boundaries, facilities and roads (residents
    come from its population file, if any)."""
    area = area_inputs(folder)
    if "roads" not in area:  # the embedded Minhang layout
        return DATA_FILES
    return (
        "boundaries/district.geojson",
        "boundaries/subdistricts.geojson",
        "facilities/osm_health_facilities.csv",
        area.get("roads", DATA_FILES[2]),
    )


def missing_data_files(folder: Path | None = None) -> list[str]:
    """The :func:`required_data_files` absent from ``folder`` (default: the resolved one)."""
    folder = resolve_data_folder() if folder is None else folder
    return [rel for rel in required_data_files(folder) if find_data_file(folder, rel) is None]


def data_file(relative: str) -> Path:
    """Return a file inside the data folder (plain or ``.gz``), with a clear error if missing."""
    folder = resolve_data_folder()
    path = find_data_file(folder, relative)
    if path is None:
        msg = (
            f"expected data file {relative!r} (or {relative}.gz) in the data folder {folder}: "
            f"not found. Point {DATA_ENV_VAR} or --data at a complete data folder, or re-create "
            "data/ with `python tools/build_data.py`."
        )
        raise DataFolderError(msg)
    return path


def resolve_cache_folder() -> Path:
    """Return the cache folder (``$GEO_CACHE_DIR`` if set), creating it private (0700) if needed."""
    folder = Path(os.environ.get(CACHE_ENV_VAR) or cache_folder).expanduser()
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)  # private: networks, geocoding results, overrides
    return folder


def resolve_amap_key() -> str | None:
    """The AMap key: :data:`amap_key` if set, else ``$GEO_AMAP_KEY``, else None."""
    return amap_key or os.environ.get(AMAP_KEY_ENV_VAR) or None
