"""geo batch: a spec read and checked; runs on a real 2-worker Dask LocalCluster; failures kept."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from geo import batch, scenarios
from geo._errors import InputFileError
from geo.coverage import DISTRICT_CODE
from geo.parameters import RunParameters


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("scenarios = []\n", r"scenarios: expected a non-empty list"),
        (
            'scenarios = ["baseline"]\n[sweep]\nwalk_sped = [4]\n',
            r"\[sweep\] \['walk_sped'\]: not a",
        ),
        (
            'scenarios = ["baseline"]\n[sweep]\nwalk_speed_kmh = 4\n',
            r"walk_speed_kmh = 4: expected",
        ),
        ('scenarios = ["baseline"]\n[sweep]\nwalk_speed_kmh = []\n', r"expected a non-empty list"),
        (
            'scenarios = ["baseline"]\n[parameters]\nems_km = 3\n[sweep]\nems_km = [3, 4]\n',
            r"both fixed in \[parameters\] and swept",
        ),
        ('scenarios = ["baseline"]\nworkers = 3\n', r"unknown key\(s\) \['workers'\]"),
        ("scenarios = [\n", r"not a readable TOML batch file"),
        (
            'scenarios = ["a", "b"]\n[sweep]\nems_km = '
            + str([1 + i / 1000 for i in range(5001)])
            + "\n",
            r"10,002 runs; a batch holds at most 10,000",
        ),
    ],
)
def test_a_bad_spec_is_refused_naming_the_file_and_key(tmp_path, text, pattern):
    path = _spec(tmp_path, text)
    with pytest.raises(InputFileError, match=pattern) as err:
        batch.load_batch_spec(path)
    assert str(path) in str(err.value)


def test_tasks_are_every_scenario_times_every_combination(tmp_path):
    path = _spec(
        tmp_path,
        'name = "s"\nscenarios = ["baseline", "sub/x.toml"]\n[parameters]\nems_minutes = 15\n'
        "[sweep]\ndispatch_delay_minutes = [1, 2, 3]\ncongestion_factor = [1.0, 1.5]\n",
    )
    spec = batch.load_batch_spec(path)
    assert len(spec.tasks) == 2 * 3 * 2
    assert spec.swept == ("dispatch_delay_minutes", "congestion_factor")
    first, last = spec.tasks[0], spec.tasks[-1]
    assert first.scenario == "baseline"  # a name: looked up in the scenarios folder
    assert last.scenario == str((tmp_path / "sub" / "x.toml").resolve())  # a path: from the spec
    assert last.area is None  # no areas: the data folder in use
    assert dict(last.changes) == {
        "ems_minutes": 15,
        "dispatch_delay_minutes": 3,
        "congestion_factor": 1.5,
    }
    assert [t.number for t in spec.tasks] == list(range(1, 13))


@pytest.mark.slow
def test_a_batch_on_a_two_worker_local_cluster_keeps_failures_and_equals_direct_runs(
    tmp_path, pack
):
    """4 runs of plan-2025 (ems_time) on 2 worker processes: 3 fit, one asks for a dispatch
    delay equal to the response time and fails with its inputs; the other runs' district rows
    equal run_scenario called directly with the same parameters."""
    path = _spec(
        tmp_path,
        'name = "t"\nscenarios = ["plan-2025"]\n[parameters]\nstandards = ["ems_time"]\n'
        "ems_minutes = 12\n[sweep]\ndispatch_delay_minutes = [1, 2, 3, 12]\n",
    )
    spec = batch.load_batch_spec(path)
    messages: list[str] = []
    result = batch.run_batch(spec, workers=2, progress=messages.append)
    assert result.workers == 2
    assert len(result.errors) == 1
    failed = result.errors.iloc[0]
    assert failed["task"] == 4 and failed["dispatch_delay_minutes"] == 12
    assert "dispatch_delay_minutes=12 must be below ems_minutes=12" in failed["error"]
    assert any("run 4 failed" in m for m in messages)
    district = result.table[result.table["code"] == DISTRICT_CODE].set_index("task")
    assert sorted(district.index) == [1, 2, 3]
    resolved = scenarios.resolve("plan-2025")
    for task, delay in ((1, 1), (3, 3)):
        params = RunParameters.from_mapping(
            {"standards": ["ems_time"], "ems_minutes": 12, "dispatch_delay_minutes": delay},
            base=resolved.parameters,
        )
        direct = scenarios.run_scenario(replace(resolved, parameters=params)).results[0]
        want = direct.district()
        got = district.loc[task]
        assert got["covered_residents"] == pytest.approx(want["covered_residents"])
        assert got["area_share"] == pytest.approx(want["area_share"])
        assert got["facilities_counted"] == len(direct.facilities) == 5
        assert "nodes" in got["network"] and got["scenario_hash"]
    # a longer dispatch delay never covers more
    shares = district["resident_share"].to_list()
    assert shares == sorted(shares, reverse=True) and shares[0] > shares[-1]
    paths = batch.write_batch(result, tmp_path / "out")
    names = sorted(p.name for p in paths)
    assert names == [
        "t.csv",
        "t.parquet",
        "t_errors.csv",
        "t_errors_metadata.txt",
        "t_metadata.txt",
    ]
    back = pd.read_parquet(tmp_path / "out" / "t.parquet")
    assert len(back) == len(result.table) == 3 * 15  # 14 subdistricts + the district, 3 runs
    with pytest.raises(InputFileError, match="exists"):
        batch.write_batch(result, tmp_path / "out")
