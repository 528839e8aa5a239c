"""A suggestion on disk: :func:`suggestion_to_files` (CSV, GeoPackage, per-unit table, summary)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from geo._io import atomic_target, refuse_existing
from geo._safe import spreadsheet_frame
from geo.optimize.results import SiteSuggestion

__all__ = ["suggestion_to_files"]


def suggestion_to_files(
    suggestion: SiteSuggestion,
    out_dir: str | Path,
    *,
    stem: str = "suggested_sites",
    curve: pd.DataFrame | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write the sites (CSV + GeoPackage), the per-unit table, the summary (JSON), the curve.

    Files in ``out_dir``: ``<stem>.csv`` and ``<stem>.gpkg`` (layer ``sites``), CSVs in UTF-8
    with BOM so Excel shows the Chinese names; ``<stem>_by_subdistrict.csv``,
    ``<stem>_summary.json`` and, if given, ``<stem>_curve.csv``. All targets are checked first:
    an existing one raises :class:`FileExistsError` unless ``overwrite``.
    """
    import json

    out = Path(out_dir)
    paths = [
        out / f"{stem}.csv",
        out / f"{stem}.gpkg",
        out / f"{stem}_by_subdistrict.csv",
        out / f"{stem}_summary.json",
    ]
    if curve is not None:
        paths.append(out / f"{stem}_curve.csv")
    refuse_existing(paths, overwrite=overwrite)
    sites = suggestion.sites
    gpkg = sites.copy()
    gpkg["on_corridor"] = gpkg["on_corridor"].astype(bool)
    writers: list[Callable[[Path], object]] = [
        lambda tmp: spreadsheet_frame(sites.drop(columns="geometry")).to_csv(
            tmp, index=False, encoding="utf-8-sig"
        ),
        lambda tmp: gpkg.to_file(tmp, layer="sites", driver="GPKG"),
        lambda tmp: spreadsheet_frame(suggestion.by_subdistrict).to_csv(
            tmp, index=False, encoding="utf-8-sig"
        ),
        lambda tmp: tmp.write_text(
            json.dumps(suggestion.summary(), ensure_ascii=False, indent=2), encoding="utf-8"
        ),
    ]
    if curve is not None:
        writers.append(lambda tmp: curve.to_csv(tmp, index=False, encoding="utf-8-sig"))
    for path, write in zip(paths, writers, strict=True):
        with atomic_target(path, overwrite=overwrite) as tmp:
            write(tmp)
    return paths
