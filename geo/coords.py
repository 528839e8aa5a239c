"""Convert coordinates between WGS-84, GCJ-02 (China's map datum) and BD-09 (Baidu), both ways.

Every function takes longitude first, then latitude, in degrees: ``f(lon, lat)``. Inputs are
scalars or array-likes that broadcast together (numpy rules). When both inputs are scalars the
result is a pair of Python floats; otherwise it is a pair of float64 arrays of the broadcast shape.

GCJ-02 uses the Krasovsky-ellipsoid constants of the published formula; BD-09 adds Baidu's further
offset on top of GCJ-02. The inverse directions (GCJ-02 → WGS-84, BD-09 → GCJ-02) are solved
exactly: a fixed-point iteration per point until the forward transform of the estimate matches
the input within ``tol_deg``, not the usual one-step approximation (which is off by 1-2 m).

Points outside China (the standard rectangle, see :func:`out_of_china`) pass through unchanged in
every direction, as the GCJ-02 rules say. NaN propagates as NaN, without warnings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, cast, overload

import numpy as np
import numpy.typing as npt

from geo._errors import CoordinateError
from geo._validate import coord_system

__all__ = [
    "BD_X_PI",
    "CRS_NAMES",
    "KRASOVSKY_A",
    "KRASOVSKY_EE",
    "BoolArray",
    "CrsName",
    "FloatArray",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "convert",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

__all__ = [
    "CRS_NAMES",
    "CoordinateError",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "convert",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
CrsName = Literal["wgs84", "gcj02", "bd09"]
_Transform = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]

#: Semi-major axis of the Krasovsky 1940 ellipsoid used by GCJ-02, in metres.
KRASOVSKY_A = 6378245.0
#: First eccentricity squared of the Krasovsky 1940 ellipsoid.
KRASOVSKY_EE = 0.00669342162296594323
#: Baidu's angular constant (pi * 3000 / 180).
BD_X_PI = np.pi * 3000.0 / 180.0

#: The canonical coordinate-system names :func:`convert` accepts.
CRS_NAMES: tuple[CrsName, ...] = ("wgs84", "gcj02", "bd09")


# --- pure numeric core: 1-d float arrays in, 1-d float arrays out, no masking -------------------


def _gcj02_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return the GCJ-02 shift (dlon, dlat) in degrees at WGS-84 points (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    root = 0.2 * np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + root + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + root / 2.0 + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0

    rad_lat = np.radians(lat)
    magic = 1.0 - KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (KRASOVSKY_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def _wgs84_to_gcj02_raw(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    dlon, dlat = _gcj02_offset(lon, lat)
    return lon + dlon, lat + dlat


def _gcj02_to_wgs84_guess(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The usual one-step approximation: subtract the shift evaluated at the GCJ-02 point."""
    dlon, dlat = _gcj02_offset(lon, lat)
    return lon - dlon, lat - dlat


def _gcj02_to_bd09_raw(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd09_to_gcj02_guess(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Baidu's published closed-form inverse, itself approximate; used as the starting point."""
    x = lon - 0.0065
    y = lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * BD_X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _wgs84_to_bd09_raw(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return _gcj02_to_bd09_raw(*_wgs84_to_gcj02_raw(lon, lat))


def _invert(
    forward: _Transform,
    guess: _Transform,
    lon: FloatArray,
    lat: FloatArray,
    *,
    tol_deg: float,
    max_iter: int,
    what: str,
) -> tuple[FloatArray, FloatArray]:
    """Solve ``forward(x) == (lon, lat)`` per point by fixed-point iteration from ``guess``.

    The shifts vary slowly (their Jacobian is close to the identity), so ``x <- x - (forward(x) -
    target)`` contracts fast: at most four rounds reach 1e-10 degrees anywhere in China. Each
    point stops on its own once both residuals are within ``tol_deg``.
    """
    est_lon, est_lat = guess(lon, lat)
    active = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    for _ in range(max_iter):
        if active.size == 0:
            break
        f_lon, f_lat = forward(est_lon[active], est_lat[active])
        r_lon = f_lon - lon[active]
        r_lat = f_lat - lat[active]
        todo = (np.abs(r_lon) > tol_deg) | (np.abs(r_lat) > tol_deg)
        active = active[todo]
        est_lon[active] -= r_lon[todo]
        est_lat[active] -= r_lat[todo]
    if active.size:
        first = int(active[0])
        msg = (
            f"{what}: {active.size} point(s) did not converge within {max_iter} iterations to "
            f"tol_deg={tol_deg:g}, e.g. flat index {first} at (lon, lat)=({float(lon[first])!r}, "
            f"{float(lat[first])!r}); raise max_iter or loosen tol_deg"
        )
        raise CoordinateError(msg)
    return est_lon, est_lat


# --- adapters: argument checks, out-of-China pass-through, scalar/array results -----------------


def _as_flat(
    lon: npt.ArrayLike, lat: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, tuple[int, ...]]:
    """Return lon and lat as broadcast, flattened float64 copies, and the broadcast shape."""
    try:
        lon_arr = np.asarray(lon, dtype=np.float64)
        lat_arr = np.asarray(lat, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"lon and lat must be numbers or arrays of numbers (degrees, lon first): {exc}"
        raise CoordinateError(msg) from exc
    try:
        shape = np.broadcast_shapes(lon_arr.shape, lat_arr.shape)
    except ValueError as exc:
        msg = (
            f"lon has shape {lon_arr.shape} and lat has shape {lat_arr.shape}, which do not "
            "broadcast together; pass arrays of the same length (or a scalar for one of them)"
        )
        raise CoordinateError(msg) from exc
    lon_flat = np.broadcast_to(lon_arr, shape).ravel().copy()
    lat_flat = np.broadcast_to(lat_arr, shape).ravel().copy()
    return lon_flat, lat_flat, shape


def _out_of_china_flat(lon: FloatArray, lat: FloatArray) -> BoolArray:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _check_options(tol_deg: float, max_iter: int) -> None:
    if not (np.isfinite(tol_deg) and tol_deg > 0):
        msg = f"tol_deg={tol_deg!r}: expected a positive number of degrees such as 1e-10"
        raise CoordinateError(msg)
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        msg = f"max_iter={max_iter!r}: expected a whole number of iterations >= 1 such as 30"
        raise CoordinateError(msg)


def _run(
    lon: npt.ArrayLike, lat: npt.ArrayLike, transform: _Transform
) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
    """Apply ``transform`` to the points inside China (others pass through); shape the result."""
    lon_flat, lat_flat, shape = _as_flat(lon, lat)
    # NaN compares False, so it counts as inside and comes out as NaN.
    inside = ~_out_of_china_flat(lon_flat, lat_flat)
    out_lon, out_lat = lon_flat.copy(), lat_flat.copy()
    if inside.any():
        out_lon[inside], out_lat[inside] = transform(lon_flat[inside], lat_flat[inside])
    if np.ndim(lon) == 0 and np.ndim(lat) == 0:
        return float(out_lon[0]), float(out_lat[0])
    return out_lon.reshape(shape), out_lat.reshape(shape)


@overload
def out_of_china(lon: float, lat: float) -> bool: ...
@overload
def out_of_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> BoolArray: ...
def out_of_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> bool | BoolArray:
    """Return True where a point lies outside the rectangle in which GCJ-02 applies.

    The standard rule: outside if lon < 72.004 or lon > 137.8347 (degrees east), or lat < 0.8293
    or lat > 55.8271 (degrees north). It is a rough rectangle, not China's border. NaN counts as
    inside.

    Parameters
    ----------
    lon, lat
        Longitude then latitude in degrees; scalars or array-likes that broadcast together.

    Returns
    -------
    bool or numpy.ndarray
        A bool for scalar inputs, else a boolean array of the broadcast shape.
    """
    lon_flat, lat_flat, shape = _as_flat(lon, lat)
    mask = _out_of_china_flat(lon_flat, lat_flat)
    if np.ndim(lon) == 0 and np.ndim(lat) == 0:
        return bool(mask[0])
    return mask.reshape(shape)


@overload
def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def wgs84_to_gcj02(
    lon: npt.ArrayLike, lat: npt.ArrayLike
) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
    """Convert WGS-84 (GPS) coordinates to GCJ-02 (Amap, Tencent, Apple maps in China).

    Parameters
    ----------
    lon, lat
        WGS-84 longitude then latitude in degrees; scalars or array-likes that broadcast together.

    Returns
    -------
    tuple
        GCJ-02 ``(lon, lat)``: two floats for scalar inputs, else two float64 arrays of the
        broadcast shape. Points outside China are returned unchanged; NaN stays NaN.
    """
    return _run(lon, lat, _wgs84_to_gcj02_raw)


@overload
def gcj02_to_wgs84(
    lon: float, lat: float, *, tol_deg: float = ..., max_iter: int = ...
) -> tuple[float, float]: ...
@overload
def gcj02_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_deg: float = ..., max_iter: int = ...
) -> tuple[FloatArray, FloatArray]: ...
def gcj02_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 coordinates to WGS-84 exactly, by iterating the forward transform.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude then latitude in degrees; scalars or array-likes that broadcast together.
    tol_deg
        Stop when :func:`wgs84_to_gcj02` of the estimate matches the input within this many
        degrees in both lon and lat (1e-10 degrees is about 0.01 mm).
    max_iter
        Iterations allowed per point; four suffice anywhere in China at the default tolerance.

    Returns
    -------
    tuple
        WGS-84 ``(lon, lat)``: two floats for scalar inputs, else two float64 arrays of the
        broadcast shape. Points outside China are returned unchanged; NaN stays NaN.

    Raises
    ------
    CoordinateError
        If the options are invalid or some point does not converge within ``max_iter``.
    """
    _check_options(tol_deg, max_iter)

    def solve(lon_: FloatArray, lat_: FloatArray) -> tuple[FloatArray, FloatArray]:
        return _invert(
            _wgs84_to_gcj02_raw,
            _gcj02_to_wgs84_guess,
            lon_,
            lat_,
            tol_deg=tol_deg,
            max_iter=max_iter,
            what="gcj02_to_wgs84",
        )

    return _run(lon, lat, solve)


@overload
def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def gcj02_to_bd09(
    lon: npt.ArrayLike, lat: npt.ArrayLike
) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 coordinates to BD-09 (Baidu maps).

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude then latitude in degrees; scalars or array-likes that broadcast together.

    Returns
    -------
    tuple
        BD-09 ``(lon, lat)``: two floats for scalar inputs, else two float64 arrays of the
        broadcast shape. Points outside China are returned unchanged; NaN stays NaN.
    """
    return _run(lon, lat, _gcj02_to_bd09_raw)


@overload
def bd09_to_gcj02(
    lon: float, lat: float, *, tol_deg: float = ..., max_iter: int = ...
) -> tuple[float, float]: ...
@overload
def bd09_to_gcj02(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_deg: float = ..., max_iter: int = ...
) -> tuple[FloatArray, FloatArray]: ...
def bd09_to_gcj02(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
    """Convert BD-09 (Baidu) coordinates to GCJ-02 exactly, by iterating the forward transform.

    Parameters
    ----------
    lon, lat
        BD-09 longitude then latitude in degrees; scalars or array-likes that broadcast together.
    tol_deg
        Stop when :func:`gcj02_to_bd09` of the estimate matches the input within this many degrees.
    max_iter
        Iterations allowed per point.

    Returns
    -------
    tuple
        GCJ-02 ``(lon, lat)``: two floats for scalar inputs, else two float64 arrays of the
        broadcast shape. Points outside China are returned unchanged; NaN stays NaN.

    Raises
    ------
    CoordinateError
        If the options are invalid or some point does not converge within ``max_iter``.
    """
    _check_options(tol_deg, max_iter)

    def solve(lon_: FloatArray, lat_: FloatArray) -> tuple[FloatArray, FloatArray]:
        return _invert(
            _gcj02_to_bd09_raw,
            _bd09_to_gcj02_guess,
            lon_,
            lat_,
            tol_deg=tol_deg,
            max_iter=max_iter,
            what="bd09_to_gcj02",
        )

    return _run(lon, lat, solve)


@overload
def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]: ...
def wgs84_to_bd09(
    lon: npt.ArrayLike, lat: npt.ArrayLike
) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
    """Convert WGS-84 coordinates to BD-09 (via GCJ-02).

    Parameters
    ----------
    lon, lat
        WGS-84 longitude then latitude in degrees; scalars or array-likes that broadcast together.

    Returns
    -------
    tuple
        BD-09 ``(lon, lat)``: two floats for scalar inputs, else two float64 arrays of the
        broadcast shape. Points outside China are returned unchanged; NaN stays NaN.
    """
    return _run(lon, lat, _wgs84_to_bd09_raw)


@overload
def bd09_to_wgs84(
    lon: float, lat: float, *, tol_deg: float = ..., max_iter: int = ...
) -> tuple[float, float]: ...
@overload
def bd09_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_deg: float = ..., max_iter: int = ...
) -> tuple[FloatArray, FloatArray]: ...
def bd09_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
    """Convert BD-09 (Baidu) coordinates to WGS-84 exactly (via GCJ-02, both steps iterated).

    Parameters
    ----------
    lon, lat
        BD-09 longitude then latitude in degrees; scalars or array-likes that broadcast together.
    tol_deg
        Stop when :func:`wgs84_to_bd09` of the estimate matches the input within this many degrees.
    max_iter
        Iterations allowed per point.

    Returns
    -------
    tuple
        WGS-84 ``(lon, lat)``: two floats for scalar inputs, else two float64 arrays of the
        broadcast shape. Points outside China are returned unchanged; NaN stays NaN.

    Raises
    ------
    CoordinateError
        If the options are invalid or some point does not converge within ``max_iter``.
    """
    _check_options(tol_deg, max_iter)

    def guess(lon_: FloatArray, lat_: FloatArray) -> tuple[FloatArray, FloatArray]:
        return _gcj02_to_wgs84_guess(*_bd09_to_gcj02_guess(lon_, lat_))

    def solve(lon_: FloatArray, lat_: FloatArray) -> tuple[FloatArray, FloatArray]:
        return _invert(
            _wgs84_to_bd09_raw,
            guess,
            lon_,
            lat_,
            tol_deg=tol_deg,
            max_iter=max_iter,
            what="bd09_to_wgs84",
        )

    return _run(lon, lat, solve)


def _crs_name(value: str, *, argument: str) -> CrsName:
    name = coord_system(value)
    if name is not None:
        return cast(CrsName, name)
    msg = (
        f"{argument}={value!r} is not a known coordinate system; expected one of "
        f"{', '.join(CRS_NAMES)} (aliases: WGS-84, EPSG:4326, GCJ-02/AMap/高德, BD-09/Baidu/百度; "
        "any case)"
    )
    raise CoordinateError(msg)


_Converter = Callable[
    [npt.ArrayLike, npt.ArrayLike], tuple[float, float] | tuple[FloatArray, FloatArray]
]
_CONVERTERS: dict[tuple[CrsName, CrsName], _Converter] = {
    ("wgs84", "gcj02"): wgs84_to_gcj02,
    ("gcj02", "wgs84"): gcj02_to_wgs84,
    ("gcj02", "bd09"): gcj02_to_bd09,
    ("bd09", "gcj02"): bd09_to_gcj02,
    ("wgs84", "bd09"): wgs84_to_bd09,
    ("bd09", "wgs84"): bd09_to_wgs84,
}


@overload
def convert(lon: float, lat: float, *, from_crs: str, to_crs: str) -> tuple[float, float]: ...
@overload
def convert(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, from_crs: str, to_crs: str
) -> tuple[FloatArray, FloatArray]: ...
def convert(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, from_crs: str, to_crs: str
) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
    """Convert coordinates between any two of WGS-84, GCJ-02 and BD-09.

    Parameters
    ----------
    lon, lat
        Longitude then latitude in degrees in ``from_crs``; scalars or array-likes that broadcast.
    from_crs, to_crs
        ``"wgs84"``, ``"gcj02"`` or ``"bd09"``; case-insensitive, and ``"WGS-84"``,
        ``"EPSG:4326"``, ``"GCJ-02"``, ``"BD-09"`` are accepted too.

    Returns
    -------
    tuple
        ``(lon, lat)`` in ``to_crs``: two floats for scalar inputs, else two float64 arrays of the
        broadcast shape. Equal systems return the input as floats (a copy).

    Raises
    ------
    CoordinateError
        If a system name is unknown (the message lists the valid names) or the inputs are bad.
    """
    source = _crs_name(from_crs, argument="from_crs")
    target = _crs_name(to_crs, argument="to_crs")
    if source == target:
        return _run(lon, lat, lambda lon_, lat_: (lon_, lat_))
    return _CONVERTERS[(source, target)](lon, lat)
