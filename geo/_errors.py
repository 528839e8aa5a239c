"""Error hierarchy: each error subclasses a built-in too, so callers may catch either."""

from __future__ import annotations


class GeoError(Exception):
    """Base class of every error this package raises on purpose."""


class DataFolderError(GeoError, FileNotFoundError):
    """The data folder (or a file expected inside it) is missing."""


class InputFileError(GeoError, ValueError):
    """A file a planner supplied cannot be read or has the wrong shape (columns, geometry, CRS)."""


class RowError(GeoError, ValueError):
    """One or more rows of a table are invalid; ``problems`` lists (row, field, value, reason)."""

    def __init__(self, msg: str, problems: list[RowProblem] | None = None) -> None:
        super().__init__(msg)
        self.problems: list[RowProblem] = list(problems or [])


class UnknownSubdistrictError(GeoError, KeyError):
    """A subdistrict name or code matched none of the known units."""

    def __str__(self) -> str:  # KeyError would repr() the message and add quotes
        return str(self.args[0]) if self.args else ""


class NetworkError(GeoError, ValueError):
    """A road network could not be built from the given source."""


class StandardError(GeoError, ValueError):
    """An unknown accessibility standard or an invalid parameter for one."""


class ParameterError(StandardError):
    """A run parameter that is unknown, not a finite number, or outside its bounds."""


class CoordinateError(GeoError, ValueError):
    """Coordinates or a coordinate-system name that cannot be converted."""


class ExportError(GeoError, ValueError):
    """Results that cannot be exported as asked (none, clashing names, mismatched boundaries)."""


class SiteSelectionError(GeoError, ValueError):
    """A site-selection problem that cannot be solved as asked (quota above the candidates...)."""


class GeocodingError(GeoError, ValueError):
    """A geocoding provider that is unknown, not configured or refused the request."""


class ScenarioError(GeoError, ValueError):
    """A scenario file is invalid."""


class RowProblem:
    """One problem in one row of an input table (row numbered as a spreadsheet shows it)."""

    __slots__ = ("field", "reason", "row", "value")

    def __init__(self, row: int, field: str, value: object, reason: str) -> None:
        self.row = row
        self.field = field
        self.value = value
        self.reason = reason

    def __str__(self) -> str:
        return f"row {self.row}: `{self.field}`={self.value!r}: {self.reason}"

    def __repr__(self) -> str:
        return f"RowProblem({self.row}, {self.field!r}, {self.value!r}, {self.reason!r})"
