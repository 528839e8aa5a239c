"""RunParameters: one place for every default and bound; refused values name the parameter."""

from __future__ import annotations

import math

import pytest

from geo._errors import ParameterError
from geo.parameters import BOUNDS, DEFAULTS, RunParameters, check_number


def test_defaults_are_the_documented_ones():
    # README / the plan: 4 km/h, 15 min, 3.5 km, 12 min incl. 2 min dispatch, 100 m, 300 m
    assert (DEFAULTS.walk_speed_kmh, DEFAULTS.walk_minutes) == (4.0, 15.0)
    assert (DEFAULTS.ems_km, DEFAULTS.ems_minutes, DEFAULTS.dispatch_delay_minutes) == (3.5, 12, 2)
    assert (DEFAULTS.buffer_meters, DEFAULTS.max_snap_meters) == (100.0, 300.0)
    assert DEFAULTS.walk_types == ("chc", "branch", "station", "village_clinic")
    assert DEFAULTS.ems_types == ("ambulance_substation",)
    for name, bound in BOUNDS.items():  # every default lies inside its own bounds
        assert bound.low <= getattr(DEFAULTS, name) <= bound.high, name


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"buffer_meters": math.nan}, r"buffer_meters=nan: out of range; expected .* 0 to 1000 m"),
        ({"walk_speed_kmh": math.inf}, r"walk_speed_kmh=inf: out of range"),
        ({"walk_speed_kmh": 0.5}, r"walk_speed_kmh=0.5: out of range; expected .* 1 to 8 km/h"),
        ({"congestion_factor": "high"}, r"congestion_factor='high': not a number"),
        ({"max_snap_meters": True}, r"max_snap_meters=True: not a number"),
        ({"ems_sites": 2.5}, r"ems_sites=2.5: expected a whole number"),
        ({"dispatch_delay_minutes": 12.0}, r"must be below ems_minutes=12"),
        ({"ems_types": ("pharmacy",)}, r"ems_types: unknown \['pharmacy'\]"),
        ({"standards": ()}, r"standards=\(\): expected a non-empty list"),
    ],
)
def test_bad_values_are_refused_with_name_value_and_range(changes, pattern):
    with pytest.raises(ParameterError, match=pattern):
        DEFAULTS.replace(**changes)


def test_from_mapping_names_unknown_keys_and_keeps_the_rest():
    with pytest.raises(ParameterError, match=r"unknown parameter\(s\) \['walk_speed'\]; allowed"):
        RunParameters.from_mapping({"walk_speed": 5})
    p = RunParameters.from_mapping({"walk_speed_kmh": 5, "ems_types": ["hospital"]})
    assert p.walk_speed_kmh == 5.0 and isinstance(p.walk_speed_kmh, float)
    assert p.ems_types == ("hospital",)
    assert p.buffer_meters == DEFAULTS.buffer_meters
    assert RunParameters.from_mapping(p.to_dict()) == p  # plain data round trip


def test_frozen_and_check_number():
    with pytest.raises(AttributeError):
        DEFAULTS.buffer_meters = 50.0  # type: ignore[misc]
    assert check_number("buffer_meters", 0) == 0.0
    with pytest.raises(ParameterError, match="buffer_meters=-1"):
        check_number("buffer_meters", -1)
