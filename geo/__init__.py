"""Facility-coverage planner for public health services in Minhang District, Shanghai.

The package follows the data's path: load (``settings``, ``boundaries``, ``facilities``,
``population``, ``coords``) → ``network`` → ``reach``, ``isochrones``, ``standards`` →
``coverage`` → ``scenarios``, ``editor``, ``optimize`` → ``provenance`` (one block of sources
for every output), ``readable`` (tables rounded for reading), ``export``, ``report`` (the PDF
and HTML report), ``maps``, ``messages`` (the library's messages in 中文); ``parameters`` holds
every default and bound of a run.
Each public module declares its API in ``__all__``; modules starting with ``_`` are plumbing.
The errors every module raises are importable from here (``from geo import GeoError``), so
front ends import nothing private.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from geo._errors import (
    CoordinateError,
    DataFolderError,
    ExportError,
    GeocodingError,
    GeoError,
    InputFileError,
    NetworkError,
    ParameterError,
    RowError,
    RowProblem,
    ScenarioError,
    SiteSelectionError,
    StandardError,
    UnknownSubdistrictError,
)

try:
    __version__ = version("minhang-care-coverage")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = [
    "CoordinateError",
    "DataFolderError",
    "ExportError",
    "GeoError",
    "GeocodingError",
    "InputFileError",
    "NetworkError",
    "ParameterError",
    "RowError",
    "RowProblem",
    "ScenarioError",
    "SiteSelectionError",
    "StandardError",
    "UnknownSubdistrictError",
    "__version__",
]
