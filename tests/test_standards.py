from __future__ import annotations

import pytest

from geo._errors import StandardError
from geo.facilities import BASIC_LEVEL_TYPES
from geo.standards import STANDARD_NAMES, make_standard, with_types


def test_defaults_worked_out_by_hand():
    walk = make_standard("walk15")
    assert (walk.mode, walk.cost, walk.limit) == ("walk", "time_s", 15 * 60)
    assert walk.facility_types == BASIC_LEVEL_TYPES
    dist = make_standard("ems_distance")
    assert (dist.mode, dist.cost, dist.limit) == ("drive", "length_m", 3500)
    assert dist.facility_types == ("ambulance_substation",)
    time = make_standard("ems_time")
    assert (time.mode, time.cost, time.limit) == ("drive", "time_s", (12 - 2) * 60)
    line = make_standard("straight_line")
    assert line.straight_line and line.mode == "none" and line.limit == 3500
    assert "straight-line" in line.label_en and "直线" in line.label_zh
    assert set(STANDARD_NAMES) == {"walk15", "ems_distance", "ems_time", "straight_line"}


def test_parameters():
    assert make_standard("walk15", minutes=10).limit == 600
    assert make_standard("ems_time", minutes=15, dispatch_delay_minutes=3).limit == 12 * 60
    assert make_standard("ems_distance", km=5).limit == 5000
    custom = make_standard("ems_time", facility_types=("hospital",))
    assert custom.facility_types == ("hospital",)
    assert with_types(custom, ("chc",)).facility_types == ("chc",)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"name": "walk10"}, r"unknown standard 'walk10'; valid: walk15"),
        ({"name": "walk15", "minutes": 0}, r"walk_minutes=0: out of range; expected .* 1 to 60"),
        ({"name": "walk15", "minutes": float("nan")}, r"walk_minutes=nan: out of range"),
        ({"name": "ems_distance", "km": -1}, r"ems_km=-1: out of range"),
        ({"name": "ems_distance", "km": float("inf")}, r"ems_km=inf: out of range"),
        ({"name": "ems_time", "dispatch_delay_minutes": -1}, r"dispatch_delay_minutes=-1: out"),
        ({"name": "ems_time", "dispatch_delay_minutes": 12}, r"dispatch delay 12 min must be"),
        ({"name": "walk15", "facility_types": ("pharmacy",)}, r"unknown facility types"),
    ],
)
def test_bad_parameters(kwargs, pattern):
    name = kwargs.pop("name")
    with pytest.raises(StandardError, match=pattern):
        make_standard(name, **kwargs)
