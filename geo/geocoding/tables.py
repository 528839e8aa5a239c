"""Tables and evaluation: what the CLI and the app call.

:func:`geocode_table` geocodes every row of a CSV/Excel table (overrides first, then the cache,
then the provider); :func:`evaluate` measures a geocoder against true coordinates; the last
helpers serve the app's upload, map layer and overrides file.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from pyproj import Geod

from geo import settings
from geo._errors import ExportError, InputFileError
from geo._io import atomic_target, refuse_existing
from geo._safe import spreadsheet_frame, spreadsheet_text
from geo._sheets import metadata_rows, sidecar_of, write_csv
from geo._types import JSONValue, Metadata
from geo._validate import match_columns, read_table, read_upload
from geo.geocoding.offline import OfflineGeocoder
from geo.geocoding.providers import provider_from_name
from geo.geocoding.results import (
    DEFAULT_REVIEW_THRESHOLD,
    MATCH_LEVELS,
    ROAD_OR_BETTER,
    GeocodeResult,
    Provider,
)
from geo.geocoding.spine import FloatArray
from geo.geocoding.store import (
    FIELD_ALIASES,
    OVERRIDES_FILE_NAME,
    GeocodeCache,
    _override_key,
    read_overrides,
)
from geo.provenance import provenance, provenance_lines

logger = logging.getLogger(__name__)

__all__ = [
    "OUTPUT_COLUMNS",
    "Evaluation",
    "GeocodedTable",
    "default_overrides_path",
    "evaluate",
    "geocode_table",
    "geocode_upload",
    "geocoded_points",
    "geodesic_meters",
]

#: Columns :func:`geocode_table` adds.
OUTPUT_COLUMNS: tuple[str, ...] = (
    "lon",
    "lat",
    "match_level",
    "confidence",
    "provider",
    "review",
    "matched",
    "geocode_note",
)


@dataclass(frozen=True)
class GeocodedTable:
    """A table with the geocoding columns added, and counts for a summary.

    Attributes
    ----------
    table
        The input rows with :data:`OUTPUT_COLUMNS` added (``lon``/``lat`` WGS-84, NaN if none).
    provider
        The provider used (overrides show as ``manual`` per row).
    level_counts
        Rows per match level, in :data:`MATCH_LEVELS` order (zeros included).
    review_count
        Rows flagged for review.
    cache_hits, overrides_used
        Distinct (address, subdistrict) pairs answered from the cache, and rows a manual
        override decided.
    """

    table: pd.DataFrame
    provider: str
    level_counts: dict[str, int]
    review_count: int
    cache_hits: int = 0
    overrides_used: int = 0
    address_column: str = "address"
    subdistrict_column: str | None = None

    def flagged(self) -> list[tuple[str, str | None]]:
        """(address, subdistrict) of every distinct row flagged for review, in table order."""
        rows = self.table[self.table["review"].astype(bool)]
        out: list[tuple[str, str | None]] = []
        for rec in rows.to_dict("records"):
            sub = rec.get(self.subdistrict_column) if self.subdistrict_column else None
            key = (_cell(rec[self.address_column]), _cell(sub).strip() or None)
            if key not in out:
                out.append(key)
        return out

    def csv_bytes(self) -> bytes:
        """The table as CSV in UTF-8 with BOM (for a download button)."""
        return spreadsheet_frame(self.table).to_csv(index=False).encode("utf-8-sig")

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the table as ``.csv`` (UTF-8 with BOM, opens in Excel) or ``.xlsx``, with the
        provenance block (:attr:`metadata`): a ``<stem>_metadata.txt`` sidecar beside a CSV,
        ``sources`` and ``metadata`` sheets in a workbook.

        Raises
        ------
        FileExistsError
            If the file (or the CSV's sidecar) exists and ``overwrite`` is False.
        ExportError
            If the suffix is neither ``.csv`` nor ``.xlsx``.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            msg = f"{path.name}: cannot write {suffix or 'no suffix'!r}; use .csv or .xlsx"
            raise ExportError(msg)
        meta = self.metadata
        if suffix == ".csv":
            refuse_existing([path, sidecar_of(path)], overwrite=overwrite)
            write_csv(self.table, path, metadata=meta, lang="en", raw=True, overwrite=overwrite)
            return path
        with (
            atomic_target(path, overwrite=overwrite) as tmp,
            pd.ExcelWriter(tmp, engine="openpyxl") as writer,
        ):
            spreadsheet_frame(self.table).to_excel(writer, index=False, sheet_name="geocoded")
            pd.DataFrame(
                [(k, spreadsheet_text(v)) for k, v in provenance_lines(meta, "en")],
                columns=["source", "value"],
            ).to_excel(writer, index=False, sheet_name="sources")
            pd.DataFrame(
                [(k, spreadsheet_text(v)) for k, v in metadata_rows(meta)],
                columns=["key", "value"],
            ).to_excel(writer, index=False, sheet_name="metadata")
        return path

    @property
    def metadata(self) -> Metadata:
        """The provenance block: provider, rows and match levels as the parameters."""
        return provenance(
            "geocoded addresses",
            facilities_source=f"{len(self.table)} address rows",
            parameters=dict[str, JSONValue](self.summary()),
        )

    def summary(self) -> dict[str, JSONValue]:
        """A JSON-ready summary (no table)."""
        return {
            "rows": len(self.table),
            "provider": self.provider,
            "match_levels": dict(self.level_counts),
            "review": self.review_count,
            "cache_hits": self.cache_hits,
            "overrides_used": self.overrides_used,
        }


def _as_frame(
    source: str | Path | pd.DataFrame, sheet: str | int | None
) -> tuple[pd.DataFrame, str]:
    if isinstance(source, pd.DataFrame):
        return source.copy(), "table"
    return read_table(source, sheet=sheet), Path(source).name


def _columns(
    df: pd.DataFrame, name: str, address_column: str | None, subdistrict_column: str | None
) -> tuple[str, str | None]:
    for given in (address_column, subdistrict_column):
        if given is not None and given not in df.columns:
            msg = f"{name}: no column {given!r}; columns found: {list(map(str, df.columns))}"
            raise InputFileError(msg)
    found = match_columns(
        [c for c in df.columns if c not in (address_column, subdistrict_column)],
        {k: FIELD_ALIASES[k] for k in ("address", "subdistrict")},
        required=() if address_column else ("address",),
        source=name,
    )
    return address_column or found["address"], subdistrict_column or found.get("subdistrict")


def _resolve_provider(provider: str | Provider) -> Provider:
    return provider_from_name(provider) if isinstance(provider, str) else provider


@dataclass
class _Lookup:
    """One table run: provider, overrides and cache, with counts (internal, mutable)."""

    provider: Provider
    overrides: Mapping[tuple[str, str], GeocodeResult]
    cache: GeocodeCache | None
    threshold: float
    cache_hits: int = 0

    def __call__(self, address: str, subdistrict: str | None) -> GeocodeResult:
        hit = self.overrides.get(_override_key(address, subdistrict)) or self.overrides.get(
            _override_key(address, "")
        )
        if hit is not None:
            return replace(hit, address=address)
        if self.cache is not None:
            cached = self.cache.get(self.provider.name, address, subdistrict)
            if cached is not None:
                self.cache_hits += 1
                return cached.with_threshold(self.threshold)
        result = self.provider.geocode(address, subdistrict=subdistrict)
        if self.cache is not None:
            self.cache.put(result, subdistrict=subdistrict)
        return result.with_threshold(self.threshold)


def geocode_table(
    source: str | Path | pd.DataFrame,
    *,
    provider: str | Provider = "offline",
    address_column: str | None = None,
    subdistrict_column: str | None = None,
    sheet: str | int | None = None,
    overrides: str | Path | Mapping[tuple[str, str], GeocodeResult] | None = None,
    cache: GeocodeCache | bool | None = None,
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD,
) -> GeocodedTable:
    """Geocode every row of a CSV/Excel table (or a DataFrame) and add the result columns.

    Parameters
    ----------
    source
        A ``.csv``/``.xlsx`` path (read with :func:`geo._validate.read_table`) or a DataFrame.
    provider
        ``"offline"`` (default), ``"nominatim"``, ``"amap"`` or a :class:`Provider`.
    address_column, subdistrict_column
        Column names; by default found by header (``address``/``地址``, ``subdistrict``/``街镇``/
        ``subdistrict_zh``...). The subdistrict column is optional.
    sheet
        Excel sheet (default: the first).
    overrides
        A manual-override file, or what :func:`read_overrides` returned (``{}`` for none); its
        rows win over every provider. Default: ``geocode-overrides.csv`` in the cache folder,
        if it exists.
    cache
        A :class:`GeocodeCache`, True for the default one, False for none. Default (None): a
        cache for online providers only (offline results are cheap and follow the road data).
    review_threshold
        Results below this confidence get ``review=True``.

    Returns
    -------
    GeocodedTable
        The table with :data:`OUTPUT_COLUMNS` added and the counts per match level.

    Raises
    ------
    InputFileError
        If the file cannot be read, has no address column, or already has an output column.
    """
    df, name = _as_frame(source, sheet)
    address_col, sub_col = _columns(df, name, address_column, subdistrict_column)
    clash = [c for c in OUTPUT_COLUMNS if c in df.columns]
    if clash:
        msg = f"{name}: already has column(s) {clash} that geocoding adds; rename or drop them"
        raise InputFileError(msg)
    chosen = _resolve_provider(provider)
    lookup = _Lookup(
        chosen, _load_overrides(overrides), _open_cache(cache, chosen), review_threshold
    )
    results: dict[tuple[str, str | None], GeocodeResult] = {}
    rows = []
    for record in df.to_dict("records"):
        address = _cell(record[address_col])
        where = (_cell(record[sub_col]).strip() or None) if sub_col else None
        key = (address, where)
        if key not in results:
            results[key] = lookup(address, where)
        rows.append(results[key])
    if lookup.cache is not None:
        lookup.cache.save()
    _add_result_columns(df, rows)
    counts = {level: int((df["match_level"] == level).sum()) for level in MATCH_LEVELS}
    out = GeocodedTable(
        table=df,
        provider=chosen.name,
        level_counts=counts,
        review_count=int(df["review"].sum()),
        cache_hits=lookup.cache_hits,
        overrides_used=int((df["provider"] == "manual").sum()),
        address_column=address_col,
        subdistrict_column=sub_col,
    )
    logger.info("geocoded %d rows of %s with %s: %s", len(df), name, chosen.name, counts)
    return out


def _cell(value: object) -> str:
    """A table cell as text: None and NaN (missing cells of a DataFrame) become ""."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _load_overrides(
    path: str | Path | Mapping[tuple[str, str], GeocodeResult] | None,
) -> Mapping[tuple[str, str], GeocodeResult]:
    if isinstance(path, Mapping):
        return path
    if path is None:
        default = settings.resolve_cache_folder() / OVERRIDES_FILE_NAME
        return read_overrides(default) if default.exists() else {}
    return read_overrides(path)


def _open_cache(cache: GeocodeCache | bool | None, provider: Provider) -> GeocodeCache | None:
    if isinstance(cache, GeocodeCache):
        return cache
    if cache is None:
        return None if provider.name == "offline" else GeocodeCache()
    return GeocodeCache() if cache else None


def _add_result_columns(df: pd.DataFrame, results: Sequence[GeocodeResult]) -> None:
    df["lon"] = [r.lon for r in results]
    df["lat"] = [r.lat for r in results]
    df["match_level"] = [r.match_level for r in results]
    df["confidence"] = [r.confidence for r in results]
    df["provider"] = [r.provider for r in results]
    df["review"] = [r.review for r in results]
    df["matched"] = [r.matched for r in results]
    df["geocode_note"] = [r.note for r in results]


@dataclass(frozen=True)
class Evaluation:
    """Accuracy of a geocoder on a labelled table (true WGS-84 coordinates per address).

    Attributes
    ----------
    n
        Rows evaluated (rows without true coordinates are skipped and counted in ``skipped``).
    located
        Rows the geocoder placed (match level other than ``none``).
    median_error_m, p90_error_m
        Median and 90th percentile of the distance to the truth, over located rows, in metres.
    road_level_or_better_share
        Share of the ``n`` rows matched at ``road`` level or better.
    level_counts
        Rows per match level.
    median_error_by_level
        Median error per match level (levels with rows only).
    review_share
        Share of rows flagged for review.
    baseline_median_error_m, baseline_p90_error_m
        The same with house numbers ignored (numbered addresses at the middle of their road in
        the subdistrict); offline only, else None.
    skipped
        Rows without usable true coordinates.
    provider
        The provider evaluated.
    table
        One row per evaluated address: the input columns, the result columns, ``error_m`` and
        (offline) ``baseline_error_m``.
    """

    n: int
    located: int
    median_error_m: float
    p90_error_m: float
    road_level_or_better_share: float
    level_counts: dict[str, int]
    median_error_by_level: dict[str, float]
    review_share: float
    baseline_median_error_m: float | None
    baseline_p90_error_m: float | None
    skipped: int
    provider: str
    table: pd.DataFrame = field(repr=False, compare=False)

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the per-address table (with ``error_m``) as ``.csv`` or ``.xlsx``.

        See :meth:`GeocodedTable.write` for the errors raised.
        """
        counts = dict(self.level_counts)
        review = int(self.table["review"].sum())
        return GeocodedTable(self.table, self.provider, counts, review).write(
            path, overwrite=overwrite
        )

    def to_dict(self) -> dict[str, JSONValue]:
        """JSON-ready metrics (no table); floats rounded."""
        out = {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "table"}
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = round(value, 4 if "share" in key else 1)
        out["median_error_by_level"] = {
            k: round(v, 1) for k, v in self.median_error_by_level.items()
        }
        return out


def geodesic_meters(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> FloatArray:
    """Distance in metres on the WGS-84 ellipsoid from (lon1, lat1) to (lon2, lat2); NaN: NaN."""
    args = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (lon1, lat1, lon2, lat2)))
    lon_a, lat_a, lon_b, lat_b = (a.ravel() for a in args)
    dist = _GEOD.inv(lon_a, lat_a, lon_b, lat_b)[2]
    return np.asarray(dist, dtype=np.float64).reshape(args[0].shape)


_GEOD = Geod(ellps="WGS84")


def _truth(df: pd.DataFrame, name: str) -> tuple[FloatArray, FloatArray]:
    cols = match_columns(
        [c for c in df.columns if c not in OUTPUT_COLUMNS],
        {k: FIELD_ALIASES[k] for k in ("lon", "lat")},
        required=("lon", "lat"),
        source=f"{name} (true coordinates, WGS-84)",
    )
    return (
        pd.to_numeric(df[cols["lon"]], errors="coerce").to_numpy(dtype=np.float64),
        pd.to_numeric(df[cols["lat"]], errors="coerce").to_numpy(dtype=np.float64),
    )


def evaluate(
    source: str | Path | pd.DataFrame,
    *,
    provider: str | Provider = "offline",
    address_column: str | None = None,
    subdistrict_column: str | None = None,
    sheet: str | int | None = None,
    cache: GeocodeCache | bool | None = None,
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD,
) -> Evaluation:
    """Geocode a labelled table and measure the error against its true coordinates.

    The table needs an address column, optionally a subdistrict column, and true WGS-84
    coordinates (``wgs84_lon``/``wgs84_lat``, ``lon``/``lat`` or ``经度``/``纬度``), like the pack's
    ``residential/residential_addresses_2022.csv``. Manual overrides are not used.

    Returns
    -------
    Evaluation
        n, median and 90th-percentile error (m), the road-level-or-better share, the match-level
        mix and, offline, the road-middle baseline measured on the same rows.
    """
    df, name = _as_frame(source, sheet)
    true_lon, true_lat = _truth(df, name)
    ok = np.isfinite(true_lon) & np.isfinite(true_lat)
    df, true_lon, true_lat = df.loc[ok].reset_index(drop=True), true_lon[ok], true_lat[ok]
    chosen = _resolve_provider(provider)
    geocoded = geocode_table(
        df,
        provider=chosen,
        address_column=address_column,
        subdistrict_column=subdistrict_column,
        overrides={},
        cache=cache,
        review_threshold=review_threshold,
    )
    out = geocoded.table
    out["error_m"] = geodesic_meters(out["lon"], out["lat"], true_lon, true_lat)
    baseline = None
    if isinstance(chosen, OfflineGeocoder):
        baseline = _baseline_errors(
            chosen, out, address_column, subdistrict_column, true_lon, true_lat
        )
        out["baseline_error_m"] = baseline
    return _evaluation(out, chosen.name, baseline, skipped=int((~ok).sum()))


def _baseline_errors(
    geocoder: OfflineGeocoder,
    table: pd.DataFrame,
    address_column: str | None,
    subdistrict_column: str | None,
    true_lon: FloatArray,
    true_lat: FloatArray,
) -> FloatArray:
    address_col, sub_col = _columns(
        table.drop(columns=[*OUTPUT_COLUMNS, "error_m"]),
        "table",
        address_column,
        subdistrict_column,
    )
    points = [
        geocoder.geocode(
            str(r[address_col]),
            subdistrict=(str(r[sub_col]) if sub_col else None),
            house_numbers=False,
        )
        for r in table.to_dict("records")
    ]
    return geodesic_meters([p.lon for p in points], [p.lat for p in points], true_lon, true_lat)


def _evaluation(
    table: pd.DataFrame, provider: str, baseline: FloatArray | None, *, skipped: int
) -> Evaluation:
    n = len(table)
    errors = table["error_m"].to_numpy(dtype=np.float64)
    located = np.isfinite(errors)
    levels = table["match_level"]

    def stat(values: FloatArray, q: float) -> float:
        finite = values[np.isfinite(values)]
        return float(np.percentile(finite, q)) if len(finite) else math.nan

    by_level = {
        level: stat(errors[(levels == level).to_numpy()], 50)
        for level in MATCH_LEVELS
        if level != "none" and (levels == level).any()
    }
    return Evaluation(
        n=n,
        located=int(located.sum()),
        median_error_m=stat(errors, 50),
        p90_error_m=stat(errors, 90),
        road_level_or_better_share=float(levels.isin(ROAD_OR_BETTER).mean()) if n else 0.0,
        level_counts={level: int((levels == level).sum()) for level in MATCH_LEVELS},
        median_error_by_level=by_level,
        review_share=float(table["review"].mean()) if n else 0.0,
        baseline_median_error_m=None if baseline is None else stat(baseline, 50),
        baseline_p90_error_m=None if baseline is None else stat(baseline, 90),
        skipped=skipped,
        provider=provider,
        table=table,
    )


def default_overrides_path() -> Path:
    """The overrides file the app writes re-pinned addresses to (in the cache folder)."""
    return settings.resolve_cache_folder() / OVERRIDES_FILE_NAME


def geocode_upload(
    file_name: str,
    data: bytes,
    *,
    provider: str | Provider = "offline",
    overrides: str | Path | Mapping[tuple[str, str], GeocodeResult] | None = None,
    cache: GeocodeCache | bool | None = None,
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD,
) -> GeocodedTable:
    """:func:`geocode_table` for an uploaded CSV/Excel file (its name and bytes)."""

    frame = read_upload(file_name, data)
    return geocode_table(
        frame,
        provider=provider,
        overrides=overrides,
        cache=cache,
        review_threshold=review_threshold,
    )


def geocoded_points(result: GeocodedTable) -> gpd.GeoDataFrame:
    """The located rows of a geocoded table as WGS-84 points (for a map layer)."""
    tab = result.table
    located = tab[tab["lon"].notna() & tab["lat"].notna()]
    return gpd.GeoDataFrame(
        located, geometry=gpd.points_from_xy(located["lon"], located["lat"]), crs=settings.wgs84_crs
    )
