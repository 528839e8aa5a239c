"""The scenario file: its fields, checks, canonical TOML, loading and atomic saving."""

from __future__ import annotations

import hashlib
import logging
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import tomli_w

from geo import settings
from geo._errors import ParameterError, ScenarioError
from geo._io import atomic_target
from geo._types import JSONValue
from geo.facilities import FACILITY_TYPES
from geo.parameters import BOUNDS, DEFAULTS, RunParameters, check_number

__all__ = [
    "ADD_KEYS",
    "MOVE_KEYS",
    "PLACED_BY",
    "REMOVE_KEYS",
    "TOP_KEYS",
    "Edit",
    "Scenario",
    "list_scenarios",
    "load_scenario",
    "save_scenario",
    "scenario_from_dict",
    "scenario_path",
]

logger = logging.getLogger(__name__)


TOP_KEYS = (
    "name",
    "description",
    "base",
    "facilities",
    "sha256",
    "parameters",
    "add",
    "move",
    "remove",
)

ADD_KEYS = ("id", "name", "type", "lon", "lat", "address", "status", "by", "method", "note")

MOVE_KEYS = ("id", "lon", "lat", "note")

REMOVE_KEYS = ("id", "note")

PLACED_BY = ("planner", "suggested")


#: A field of an edit as TOML gives it (a text or a number).
FieldValue: TypeAlias = str | int | float | bool

#: A scenario parameter as TOML gives it (lists frozen to tuples).
ParameterValue: TypeAlias = FieldValue | tuple[FieldValue, ...]


@dataclass(frozen=True)
class Edit:
    """One edit: ``kind`` add/move/remove and its fields as written in the file."""

    kind: str
    fields: tuple[tuple[str, FieldValue], ...]

    def get(self, key: str, default: FieldValue | None = None) -> FieldValue | None:
        """A field's value."""
        return dict(self.fields).get(key, default)

    def number(self, key: str) -> float:
        """A numeric field (``lon``, ``lat``) as a float; NaN if it is absent."""
        value = self.get(key)
        return float(value) if isinstance(value, int | float) else math.nan


@dataclass(frozen=True)
class Scenario:
    """A scenario as written in its file (not yet resolved against its base)."""

    name: str
    description: str = ""
    base: str | None = None
    facilities: str | None = None
    parameters: tuple[tuple[str, ParameterValue], ...] = ()
    edits: tuple[Edit, ...] = ()
    path: Path | None = field(default=None, compare=False)
    #: (path as the file names it, SHA-256) of the data files the scenario was created with
    sha256: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, JSONValue]:
        """The scenario as plain data, keys in the file's fixed order."""
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.base is not None:
            out["base"] = self.base
        if self.facilities is not None:
            out["facilities"] = self.facilities
        if self.sha256:
            out["sha256"] = dict(self.sha256)
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


def scenario_path(name_or_path: str | Path, *, folder: Path | None = None) -> Path:
    """The file of a scenario given by name (looked up in ``folder``) or by path."""
    text = str(name_or_path)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        return Path(text)
    return (folder or settings.scenario_folder) / f"{text}.toml"


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
    if not path.is_file():
        msg = f"{path}: not a scenario file (a directory or a device)"
        raise ScenarioError(msg)
    if path.stat().st_size > MAX_SCENARIO_BYTES:
        msg = f"{path.name}: {path.stat().st_size:,} bytes; a scenario file is at most 5 MB"
        raise ScenarioError(msg)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        msg = f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"
        raise ScenarioError(msg) from exc
    except RecursionError as exc:
        msg = f"{path.name}: not valid TOML: arrays or tables nested too deeply"
        raise ScenarioError(msg) from exc
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path.name}: not valid TOML: {exc}; fix the line shown"
        raise ScenarioError(msg) from exc
    return scenario_from_dict(data, source=path.name, path=path)


def scenario_from_dict(
    data: Mapping[str, object], *, source: str = "scenario", path: Path | None = None
) -> Scenario:
    """Check plain data (as parsed from TOML) and build a :class:`Scenario`."""
    problems: list[str] = []
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        problems.append(f"unknown keys {unknown}; allowed: {', '.join(TOP_KEYS)}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append('`name` is required (a short text, e.g. "plan-2025")')
    else:
        problems += _check_name(name)
    if ("base" in data) == ("facilities" in data):
        problems.append(
            'give exactly one of `base` (another scenario) or `facilities` ("pack" or a file)'
        )
    params = data.get("parameters", {})
    if not isinstance(params, dict):
        problems.append("`parameters` must be a table ([parameters])")
        params = {}
    problems += _check_parameters(params)
    sha256 = data.get("sha256", {})
    if not isinstance(sha256, dict) or not all(
        isinstance(v, str) and len(v) == 64 for v in sha256.values()
    ):
        problems.append("`sha256` must be a table of file = 64-hex-digit checksum")
        sha256 = {}
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
        base=None if data.get("base") is None else str(data.get("base")),
        facilities=None if data.get("facilities") is None else str(data.get("facilities")),
        parameters=tuple(sorted((k, _freeze(v)) for k, v in params.items())),
        edits=tuple(edits),
        path=path,
        sha256=tuple(sorted((str(k), str(v)) for k, v in sha256.items())),
    )


#: Largest scenario file read (a scenario with thousands of sites is well under 1 MB).
MAX_SCENARIO_BYTES = 5 * 1024 * 1024

#: A scenario's name is its file name (``<name>.toml``): one rule for saving and loading.
NAME_MAX_CHARS = 80


def _check_name(name: str) -> list[str]:
    """Problems of a scenario name as a file name (empty if it is fine)."""
    if any(c in name for c in '/\\:*?"<>|') or any(ord(c) < 32 for c in name):
        return [f'`name`={name!r} must not contain / \\ : * ? " < > | or control characters']
    if name != name.strip() or name.startswith("."):
        return [f"`name`={name!r} must not start with a dot or a space, nor end with a space"]
    if len(name) > NAME_MAX_CHARS:
        return [f"`name` is {len(name)} characters long; at most {NAME_MAX_CHARS}"]
    return []


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
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return [f"`lon`={lon}, `lat`={lat}: not WGS-84 degrees (lon −180–180, lat −90–90)"]
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


def save_scenario(
    scenario: Scenario, path: str | Path, *, overwrite: bool = False, backup: bool = False
) -> Path:
    """Write ``scenario`` as canonical TOML, atomically; refuse an existing file unless asked.

    The scenario is re-validated from its own canonical text first, so a file that would not
    load is never written.
    """
    path = Path(path)
    text = scenario.to_toml()
    scenario_from_dict(tomllib.loads(text), source=path.name)  # never write what cannot load
    with atomic_target(path, overwrite=overwrite, backup=backup) as tmp:
        tmp.write_text(text, encoding="utf-8")
    logger.info("saved scenario %s to %s", scenario.name, path)
    return path


def list_scenarios(folder: Path | None = None) -> list[str]:
    """Names of the scenario files in ``folder`` (default: the shipped ``scenarios/``), sorted
    with ``baseline`` first."""
    names = sorted(p.stem for p in (folder or settings.scenario_folder).glob("*.toml"))
    return sorted(names, key=lambda n: (n != "baseline", n))
