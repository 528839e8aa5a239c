"""Tests for geo.coords: WGS-84 / GCJ-02 / BD-09 conversions.

Expected values come from the data pack (whose GCJ-02 and WGS-84 columns were made by another tool)
and from hand reasoning about the size and direction of the offsets; distances use a haversine
written here, independent of the module under test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from geo import coords, settings
from geo.coords import (
    CoordinateError,
    bd09_to_gcj02,
    bd09_to_wgs84,
    convert,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

RESIDENTIAL = "residential/residential_addresses_2022.csv"
ALL_FUNCTIONS: list[Callable[..., Any]] = [
    wgs84_to_gcj02,
    gcj02_to_wgs84,
    gcj02_to_bd09,
    bd09_to_gcj02,
    wgs84_to_bd09,
    bd09_to_wgs84,
]
# (lon, lat) well outside the GCJ-02 rectangle.
LONDON = (-0.1276, 51.5072)
TOKYO = (139.7, 35.7)
SYDNEY = (151.2093, -33.8688)


def haversine_m(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Great-circle distance in metres on a sphere of the mean Earth radius."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * 6_371_008.8 * np.arcsin(np.sqrt(h)), dtype=np.float64)


@pytest.fixture(scope="module")
def residential(pack: Path) -> pd.DataFrame:
    return pd.read_csv(settings.data_file(RESIDENTIAL))


@pytest.fixture(scope="module")
def shanghai_grid() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """2,000 random WGS-84 points over Shanghai (fixed seed)."""
    rng = np.random.default_rng(20240601)
    return rng.uniform(120.85, 122.2, 2000), rng.uniform(30.67, 31.88, 2000)


# --- against the data pack ---------------------------------------------------------------------


def test_pack_file_has_expected_rows(residential: pd.DataFrame) -> None:
    assert len(residential) == 1214
    assert {"wgs84_lon", "wgs84_lat", "gcj02_lon", "gcj02_lat"} <= set(residential.columns)


def test_gcj02_to_wgs84_matches_pack_file(residential: pd.DataFrame) -> None:
    # The file's WGS-84 came from the one-step approximate inverse (~2 m off), hence 3 m.
    lon, lat = gcj02_to_wgs84(residential["gcj02_lon"], residential["gcj02_lat"])
    dist = haversine_m(lon, lat, residential["wgs84_lon"], residential["wgs84_lat"])
    assert dist.shape == (1214,)
    assert np.all(dist < 3.0), f"max error {dist.max():.3f} m at row {int(dist.argmax()) + 1}"


def test_wgs84_to_gcj02_matches_pack_file(residential: pd.DataFrame) -> None:
    lon, lat = wgs84_to_gcj02(residential["wgs84_lon"], residential["wgs84_lat"])
    dist = haversine_m(lon, lat, residential["gcj02_lon"], residential["gcj02_lat"])
    assert np.all(dist < 3.0), f"max error {dist.max():.3f} m at row {int(dist.argmax()) + 1}"


def test_inverse_is_exact_on_pack_file(residential: pd.DataFrame) -> None:
    # Exact means: the forward transform of the answer gives back the input (1e-9 deg ~ 0.1 mm),
    # which the one-step approximation misses by metres.
    g_lon = residential["gcj02_lon"].to_numpy()
    g_lat = residential["gcj02_lat"].to_numpy()
    back_lon, back_lat = wgs84_to_gcj02(*gcj02_to_wgs84(g_lon, g_lat))
    assert np.max(np.abs(back_lon - g_lon)) < 1e-9
    assert np.max(np.abs(back_lat - g_lat)) < 1e-9
    b_lon, b_lat = wgs84_to_bd09(g_lon, g_lat)
    back_lon, back_lat = wgs84_to_bd09(*bd09_to_wgs84(b_lon, b_lat))
    assert np.max(np.abs(back_lon - b_lon)) < 1e-9
    assert np.max(np.abs(back_lat - b_lat)) < 1e-9


# --- round trips -------------------------------------------------------------------------------


def _round_trip_errors_m(
    lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
) -> dict[str, float]:
    trips = {
        "wgs->gcj->wgs": gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat)),
        "wgs->bd->wgs": bd09_to_wgs84(*wgs84_to_bd09(lon, lat)),
        "gcj->bd->gcj": bd09_to_gcj02(*gcj02_to_bd09(lon, lat)),
        "wgs->gcj->bd->wgs": bd09_to_wgs84(*gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))),
    }
    return {name: float(haversine_m(lon, lat, *back).max()) for name, back in trips.items()}


def test_round_trips_on_pack_file(residential: pd.DataFrame) -> None:
    errors = _round_trip_errors_m(
        residential["wgs84_lon"].to_numpy(), residential["wgs84_lat"].to_numpy()
    )
    assert all(err < 0.01 for err in errors.values()), errors


def test_round_trips_on_shanghai_grid(
    shanghai_grid: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
) -> None:
    errors = _round_trip_errors_m(*shanghai_grid)
    assert all(err < 0.01 for err in errors.values()), errors


# --- hand-checked values -----------------------------------------------------------------------


def test_shanghai_offset_size_and_direction() -> None:
    # In Shanghai GCJ-02 sits about +0.0045 deg east and -0.002 deg north of WGS-84:
    # 0.0045 * 111.32 km * cos(31.23 deg) ~ 428 m and 0.002 * 111 km ~ 222 m, about 480 m in all.
    lon, lat = wgs84_to_gcj02(121.47, 31.23)
    assert 0.003 < lon - 121.47 < 0.006
    assert -0.003 < lat - 31.23 < -0.001
    dist = float(haversine_m(121.47, 31.23, lon, lat))
    assert 400 < dist < 700, dist
    # The inverse shifts the other way by about the same amount.
    w_lon, w_lat = gcj02_to_wgs84(121.47, 31.23)
    assert w_lon < 121.47
    assert w_lat > 31.23
    assert 400 < float(haversine_m(121.47, 31.23, w_lon, w_lat)) < 700


def test_bd09_offset_is_baidus_constant_shift() -> None:
    # BD-09 adds (0.0065, 0.006) deg plus a rotation of 3e-6 rad and a stretch of 2e-5 deg about
    # the origin; at |(lon, lat)| ~ 125 deg the rotation moves a point by at most ~0.0004 deg.
    g_lon, g_lat = 121.4745, 31.2281
    b_lon, b_lat = gcj02_to_bd09(g_lon, g_lat)
    assert abs(b_lon - g_lon - 0.0065) < 5e-4
    assert abs(b_lat - g_lat - 0.006) < 5e-4


def test_out_of_china_rectangle() -> None:
    assert out_of_china(121.47, 31.23) is False
    for lon, lat in (LONDON, TOKYO, SYDNEY, (72.0, 30.0), (100.0, 55.9), (100.0, 0.8)):
        assert out_of_china(lon, lat) is True, (lon, lat)
    mask = out_of_china([121.47, 139.7, 137.83], [31.23, 35.7, 40.0])
    assert mask.dtype == np.bool_
    assert mask.tolist() == [False, True, False]


@pytest.mark.parametrize("func", ALL_FUNCTIONS, ids=lambda f: f.__name__)
def test_points_outside_china_pass_through(func: Callable[..., Any]) -> None:
    lons = np.array([LONDON[0], TOKYO[0], SYDNEY[0]])
    lats = np.array([LONDON[1], TOKYO[1], SYDNEY[1]])
    out_lon, out_lat = func(lons, lats)
    np.testing.assert_array_equal(out_lon, lons)
    np.testing.assert_array_equal(out_lat, lats)
    assert func(*TOKYO) == TOKYO


def test_mixed_inside_and_outside_points() -> None:
    lon, lat = wgs84_to_gcj02([121.47, TOKYO[0]], [31.23, TOKYO[1]])
    assert lon[0] != 121.47
    assert (lon[1], lat[1]) == TOKYO


# --- shapes and result types -------------------------------------------------------------------


def test_scalars_in_floats_out() -> None:
    for func in ALL_FUNCTIONS:
        lon, lat = func(121.47, 31.23)
        assert type(lon) is float
        assert type(lat) is float
    lon, lat = convert(121, 31, from_crs="wgs84", to_crs="wgs84")
    assert (lon, lat) == (121.0, 31.0)
    assert type(lon) is float


def test_arrays_keep_shape_and_broadcast() -> None:
    lon2d = np.full((2, 3), 121.47)
    lat2d = np.full((2, 3), 31.23)
    lon, lat = gcj02_to_wgs84(lon2d, lat2d)
    assert lon.shape == lat.shape == (2, 3)
    assert lon.dtype == np.float64
    # A scalar broadcasts against an array; a list gives an array.
    lon_b, lat_b = wgs84_to_gcj02(121.47, [31.2, 31.23])
    assert lon_b.shape == (2,)
    assert lat_b[1] == pytest.approx(wgs84_to_gcj02(121.47, 31.23)[1], abs=1e-12)


def test_input_is_not_modified() -> None:
    lon = np.array([121.47, 121.5])
    lat = np.array([31.23, 31.1])
    gcj02_to_wgs84(lon, lat)
    np.testing.assert_array_equal(lon, [121.47, 121.5])
    np.testing.assert_array_equal(lat, [31.23, 31.1])


# --- convert -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target", "func"),
    [
        ("WGS-84", "gcj-02", wgs84_to_gcj02),
        ("GCJ02", "EPSG:4326", gcj02_to_wgs84),
        ("gcj02", "BD-09", gcj02_to_bd09),
        ("bd09", "GCJ-02", bd09_to_gcj02),
        ("epsg:4326", "bd09", wgs84_to_bd09),
        ("BD-09", "wgs84", bd09_to_wgs84),
    ],
)
def test_convert_dispatches_with_aliases(
    source: str, target: str, func: Callable[..., Any]
) -> None:
    lon = np.array([121.3, 121.47])
    lat = np.array([31.0, 31.23])
    got = convert(lon, lat, from_crs=source, to_crs=target)
    want = func(lon, lat)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_convert_same_system_is_identity() -> None:
    lon, lat = convert([121.47, np.nan], [31.23, 31.0], from_crs="GCJ-02", to_crs="gcj02")
    np.testing.assert_array_equal(lon, [121.47, np.nan])
    np.testing.assert_array_equal(lat, [31.23, 31.0])


# --- bad input ---------------------------------------------------------------------------------


def test_unknown_crs_lists_valid_names() -> None:
    assert issubclass(CoordinateError, ValueError)
    with pytest.raises(CoordinateError, match=r"to_crs='mercator'.*wgs84, gcj02, bd09"):
        convert(121.47, 31.23, from_crs="wgs84", to_crs="mercator")
    with pytest.raises(ValueError, match=r"from_crs='EPSG:3857' is not a known"):
        convert(121.47, 31.23, from_crs="EPSG:3857", to_crs="wgs84")


def test_mismatched_shapes_raise() -> None:
    with pytest.raises(CoordinateError, match=r"shape \(3,\).*shape \(2,\).*do not broadcast"):
        wgs84_to_gcj02([121.1, 121.2, 121.3], [31.1, 31.2])
    with pytest.raises(CoordinateError, match="do not broadcast"):
        convert([121.1, 121.2, 121.3], [31.1, 31.2], from_crs="bd09", to_crs="wgs84")


def test_non_numeric_input_raises() -> None:
    with pytest.raises(CoordinateError, match="must be numbers"):
        wgs84_to_gcj02(["121.4", "east"], [31.1, 31.2])


def test_bad_iteration_options_raise() -> None:
    with pytest.raises(CoordinateError, match="tol_deg=0"):
        gcj02_to_wgs84(121.47, 31.23, tol_deg=0)
    with pytest.raises(CoordinateError, match="max_iter=0"):
        bd09_to_gcj02(121.47, 31.23, max_iter=0)
    with pytest.raises(CoordinateError, match=r"max_iter=2\.5"):
        bd09_to_wgs84(121.47, 31.23, max_iter=2.5)  # type: ignore[call-overload]


def test_non_convergence_raises() -> None:
    # One iteration only checks the one-step guess, which is metres (>1e-6 deg) off.
    with pytest.raises(CoordinateError, match=r"1 point\(s\) did not converge within 1"):
        gcj02_to_wgs84([121.47, np.nan], [31.23, 31.0], max_iter=1)


# --- NaN ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("func", ALL_FUNCTIONS, ids=lambda f: f.__name__)
def test_nan_propagates_without_warnings(func: Callable[..., Any]) -> None:
    # filterwarnings = error turns any RuntimeWarning into a failure.
    lon, lat = func(np.array([np.nan, 121.47, 121.47]), np.array([31.23, np.nan, 31.23]))
    assert np.isnan(lon[0])
    assert np.isnan(lat[0])
    assert np.isnan(lat[1])
    assert np.isfinite(lon[2])
    assert np.isfinite(lat[2])
    scalar_lon, scalar_lat = func(float("nan"), float("nan"))
    assert np.isnan(scalar_lon)
    assert np.isnan(scalar_lat)


def test_module_constants_are_the_standard_ones() -> None:
    assert coords.KRASOVSKY_A == 6378245.0
    assert coords.KRASOVSKY_EE == 0.00669342162296594323
    assert abs(coords.BD_X_PI - np.pi * 3000.0 / 180.0) < 1e-12
