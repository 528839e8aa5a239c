"""What is kept on disk: the cache of provider results and the planners' manual overrides.

:class:`GeocodeCache` is a JSON file keyed by provider, subdistrict and normalised address;
:func:`read_overrides` and :func:`add_override` read and write the overrides CSV, whose rows win
over every geocoder. Both are written atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from geo import settings
from geo._errors import InputFileError, RowProblem
from geo._io import atomic_target, file_lock
from geo._safe import spreadsheet_frame, unquote_spreadsheet_text
from geo._validate import match_columns, parse_float, raise_if_problems, read_table
from geo.geocoding.parse import normalise_address
from geo.geocoding.results import GeocodeResult

__all__ = [
    "CACHE_FILE_NAME",
    "FIELD_ALIASES",
    "OVERRIDES_FILE_NAME",
    "GeocodeCache",
    "add_override",
    "read_overrides",
]

_CACHE_FORMAT = 1
#: Default file names inside ``settings.resolve_cache_folder()``.
CACHE_FILE_NAME = "geocode-cache.json"
OVERRIDES_FILE_NAME = "geocode-overrides.csv"


def _atomic_write_text(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    """Write ``text`` through :func:`geo._io.atomic_target` (temporary file, fsync, rename)."""
    with (
        atomic_target(path, overwrite=True) as tmp,
        tmp.open("w", encoding=encoding, newline="") as handle,
    ):
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


class GeocodeCache:
    """Results on disk (JSON) keyed by provider, subdistrict and normalised address.

    Parameters
    ----------
    path
        The JSON file; default ``geocode-cache.json`` in ``settings.resolve_cache_folder()``.
    flush_every
        Write the file after this many new entries (and on :meth:`save`), so an interrupted run
        keeps what it paid for. Every write is atomic (temporary file, then rename).
    """

    def __init__(self, path: str | Path | None = None, *, flush_every: int = 25) -> None:
        self.path = (
            Path(path) if path is not None else settings.resolve_cache_folder() / CACHE_FILE_NAME
        )
        self.flush_every = flush_every
        self._entries: dict[str, dict[str, Any]] = self._load()
        self._dirty = 0

    @staticmethod
    def key(provider: str, address: str, subdistrict: str | None = None) -> str:
        """The cache key: ``provider|normalised subdistrict|normalised address``."""
        return f"{provider}|{normalise_address(subdistrict)}|{normalise_address(address)}"

    def _load(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            entries = data["entries"] if data.get("format") == _CACHE_FORMAT else {}
        except (ValueError, KeyError, AttributeError) as exc:
            msg = f"geocoding cache {self.path} is unreadable ({exc}); delete it to start afresh"
            raise InputFileError(msg) from exc
        return dict(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def get(
        self, provider: str, address: str, subdistrict: str | None = None
    ) -> GeocodeResult | None:
        """The cached result, or None."""
        hit = self._entries.get(self.key(provider, address, subdistrict))
        return None if hit is None else replace(GeocodeResult.from_dict(hit), address=address)

    def put(self, result: GeocodeResult, *, subdistrict: str | None = None) -> None:
        """Store a result under its provider and address (failed requests are not stored)."""
        if "request failed" in result.note:
            return
        self._entries[self.key(result.provider, result.address, subdistrict)] = result.to_dict()
        self._dirty += 1
        if self._dirty >= self.flush_every:
            self.save()

    def save(self) -> None:
        """Write the cache file if anything changed (atomically)."""
        if not self._dirty:
            return
        with file_lock(self.path):  # merge with what other writers saved meanwhile
            self._entries = {**self._load(), **self._entries}
            text = json.dumps(
                {"format": _CACHE_FORMAT, "entries": self._entries}, ensure_ascii=False
            )
            _atomic_write_text(self.path, text)
        self._dirty = 0


#: Headers accepted in address tables and override files (compared without case or spaces).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "address": ("地址", "详细地址", "机构地址", "addr", "address_zh", "location"),
    "subdistrict": ("街镇", "街道", "所属街镇", "subdistrict_zh", "town", "街道镇"),
    "lon": ("经度", "longitude", "lng", "wgs84_lon", "x"),
    "lat": ("纬度", "latitude", "wgs84_lat", "y"),
    "note": ("备注", "comment", "remark"),
}

#: Shanghai's box: override coordinates outside it are rejected (did you swap lon and lat?).
_SHANGHAI_BOX = (120.85, 30.67, 122.2, 31.88)


def _override_key(address: object, subdistrict: object) -> tuple[str, str]:
    return normalise_address(address), normalise_address(subdistrict)


def _read_override_table(path: Path) -> pd.DataFrame:
    """The override file's cells as text, with the product's own formula guard (') removed."""
    return read_table(path).map(unquote_spreadsheet_text)


def read_overrides(path: str | Path) -> dict[tuple[str, str], GeocodeResult]:
    """Read a manual-override file: columns address, lon, lat (WGS-84), optional subdistrict, note.

    Returns
    -------
    dict
        (normalised address, normalised subdistrict or "") → a ``manual`` result. An override
        without a subdistrict applies whatever the subdistrict.

    Raises
    ------
    InputFileError, RowError
        If the file cannot be read, lacks columns, or has bad coordinates (every bad row listed).
    """
    path = Path(path)
    df = _read_override_table(path)
    cols = match_columns(
        df.columns, FIELD_ALIASES, required=("address", "lon", "lat"), source=path.name
    )
    out: dict[tuple[str, str], GeocodeResult] = {}
    problems: list[RowProblem] = []
    for i, row in enumerate(df.to_dict("records")):
        address = str(row[cols["address"]])
        where = str(row.get(cols.get("subdistrict", ""), "") or "")
        lonlat = _override_point(row, cols, i + 2, problems)
        if lonlat is None or not normalise_address(address):
            continue
        note = str(row.get(cols.get("note", ""), "") or "")
        out[_override_key(address, where)] = GeocodeResult(
            address=address,
            lon=lonlat[0],
            lat=lonlat[1],
            match_level="manual",
            confidence=1.0,
            provider="manual",
            review=False,
            matched="manual override",
            note=note,
        )
    raise_if_problems(problems, source=path.name, what="override")
    return out


def _override_point(
    row: Mapping[Any, Any], cols: Mapping[str, str], line: int, problems: list[RowProblem]
) -> tuple[float, float] | None:
    values = []
    for what in ("lon", "lat"):
        text = row[cols[what]]
        try:
            value = parse_float(text)
        except ValueError:
            value = None
        if value is None:
            problems.append(RowProblem(line, cols[what], text, "expected a number in degrees"))
        values.append(value)
    if values[0] is None or values[1] is None:
        return None
    lon, lat = float(values[0]), float(values[1])
    lon0, lat0, lon1, lat1 = _SHANGHAI_BOX
    if not (lon0 <= lon <= lon1 and lat0 <= lat <= lat1):
        reason = f"({lon}, {lat}) is outside Shanghai ({lon0}–{lon1} E, {lat0}–{lat1} N); swapped?"
        problems.append(RowProblem(line, f"{cols['lon']}/{cols['lat']}", (lon, lat), reason))
        return None
    return lon, lat


def add_override(
    path: str | Path,
    address: str,
    lon: float,
    lat: float,
    *,
    subdistrict: str | None = None,
    note: str = "",
) -> Path:
    """Add or replace a planner's manual location for an address (WGS-84); the file is rewritten.

    The override then wins over every geocoder and is kept across runs. Used by the app when a
    flagged site is dragged or clicked to its true place.

    Returns
    -------
    pathlib.Path
        The override file.
    """
    path = Path(path)
    if not normalise_address(address):
        msg = "cannot add an override for an empty address"
        raise InputFileError(msg)
    with file_lock(path):  # concurrent re-pins take turns: none is lost
        return _add_override_locked(path, address, lon, lat, subdistrict, note)


def _add_override_locked(
    path: Path, address: str, lon: float, lat: float, subdistrict: str | None, note: str
) -> Path:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    if path.exists():
        read_overrides(path)  # refuse to rewrite a broken file: its errors are listed
        df = _read_override_table(path)
        cols = match_columns(
            df.columns, FIELD_ALIASES, required=("address", "lon", "lat"), source=path.name
        )
        rows = {
            _override_key(r[cols["address"]], r.get(cols.get("subdistrict", ""), "")): {
                "address": r[cols["address"]],
                "subdistrict": r.get(cols.get("subdistrict", ""), ""),
                "lon": r[cols["lon"]],
                "lat": r[cols["lat"]],
                "note": r.get(cols.get("note", ""), ""),
            }
            for r in df.to_dict("records")
        }
    problems: list[RowProblem] = []
    if _override_point({"lon": lon, "lat": lat}, {"lon": "lon", "lat": "lat"}, 0, problems) is None:
        msg = f"override for {address!r}: {problems[0].reason}"
        raise InputFileError(msg)
    rows[_override_key(address, subdistrict or "")] = {
        "address": address,
        "subdistrict": subdistrict or "",
        "lon": round(float(lon), 7),
        "lat": round(float(lat), 7),
        "note": note,
    }
    frame = pd.DataFrame(
        list(rows.values()), columns=["address", "subdistrict", "lon", "lat", "note"]
    )
    for axis in ("lon", "lat"):  # numbers, never text a spreadsheet might quote
        frame[axis] = [parse_float(v) if isinstance(v, str) else v for v in frame[axis]]
    # the planner opens this file in Excel: an address or note starting with = stays text
    _atomic_write_text(path, spreadsheet_frame(frame).to_csv(index=False), encoding="utf-8-sig")
    return path
