"""A suggestion on disk: :func:`suggestion_to_files` (CSV, GeoPackage, per-unit table, summary)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyogrio

from geo._io import staged_set
from geo._sheets import metadata_rows, sidecar_of, write_csv
from geo.optimize.results import SiteSuggestion

__all__ = ["suggestion_to_files"]


def suggestion_to_files(
    suggestion: SiteSuggestion,
    out_dir: str | Path,
    *,
    stem: str = "suggested_sites",
    curve: pd.DataFrame | None = None,
    lang: str = "zh",
    raw: bool = False,
    overwrite: bool = False,
) -> list[Path]:
    """Write the sites (CSV + GeoPackage), the per-unit table, the summary (JSON), the curve.

    Files in ``out_dir``, in the order returned: ``<stem>.csv`` and ``<stem>.gpkg`` (layers
    ``sites`` and ``metadata``); ``<stem>_by_subdistrict.csv``; ``<stem>_summary.json`` (with
    the provenance block under ``provenance``); if given, ``<stem>_curve.csv``; then each CSV's
    ``_metadata.txt`` sidecar. CSVs are UTF-8 with BOM,
    readable (:func:`geo.readable.readable_frame`: whole residents, shares in percent, headers
    in ``lang``) unless ``raw``, and each has a ``_metadata.txt`` sidecar with the suggestion's
    provenance. All targets are checked first: an existing one raises
    :class:`FileExistsError` unless ``overwrite``; the set is moved into place together.
    """
    out = Path(out_dir)
    tables: dict[str, pd.DataFrame] = {
        f"{stem}.csv": _sites_table(suggestion, raw=raw),
        f"{stem}_by_subdistrict.csv": suggestion.by_subdistrict,
    }
    if curve is not None:
        tables[f"{stem}_curve.csv"] = curve
    names = [f"{stem}.csv", f"{stem}.gpkg", f"{stem}_by_subdistrict.csv", f"{stem}_summary.json"]
    names += [n for n in tables if n not in names]
    names += [sidecar_of(out / n).name for n in tables]
    meta = suggestion.metadata
    with staged_set(out, names, overwrite=overwrite) as stage:
        for name, frame in tables.items():
            write_csv(frame, stage / name, metadata=meta, lang=lang, raw=raw, overwrite=False)
        gpkg = suggestion.sites.copy()
        gpkg["on_corridor"] = gpkg["on_corridor"].astype(bool)
        gpkg.to_file(stage / f"{stem}.gpkg", layer="sites", driver="GPKG")
        rows = pd.DataFrame(metadata_rows(meta), columns=["key", "value"])
        pyogrio.write_dataframe(rows, stage / f"{stem}.gpkg", layer="metadata", driver="GPKG")
        (stage / f"{stem}_summary.json").write_text(
            json.dumps(suggestion.summary(), ensure_ascii=False, indent=2), encoding="utf-8"
        )
    return [out / n for n in names]


def _sites_table(suggestion: SiteSuggestion, *, raw: bool) -> pd.DataFrame:
    sites = pd.DataFrame(suggestion.sites.drop(columns="geometry"))
    if raw:
        return sites
    # the readable table names the type in the chosen language already
    return sites.drop(columns=["type_zh"], errors="ignore")
