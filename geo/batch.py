"""Batch runs: many scenario × parameter combinations as one Dask graph, gathered into one table.

A batch is a TOML file (``geo batch SPEC.toml``)::

    name = "ems-sensitivity"              # the output files' stem
    areas = ["data", "areas/长宁区"]        # data folders (relative to SPEC); default: in use
    scenarios = ["baseline", "plan-2025"]  # names in scenarios/ or .toml paths (relative: to SPEC)
    [parameters]                           # fixed for every run (optional)
    standards = ["ems_time"]
    [sweep]                                # every combination of these lists is one run
    dispatch_delay_minutes = [1, 2, 3, 4, 5]
    congestion_factor = [1.0, 1.2, 1.4, 1.6]

Each run is a Dask task: :func:`run_task` takes its area's data folder (many areas: many
districts in one batch), resolves the scenario, applies the parameters (the
scenario's own, then ``[parameters]``, then the sweep's values) and runs
:func:`geo.scenarios.run_scenario`. Networks and population are loaded once per worker process
(kept in this module, keyed by what the parameters name) and reused by every task on it. The
driver gathers the tasks as they finish into one tidy table — a row per run × standard ×
subdistrict (district row included) with the run's parameters and the provenance of its figures —
and writes it as Parquet and CSV. A task that fails (a parameter combination that does not fit,
a broken scenario, a worker lost) becomes a row of the errors table with its inputs and the
message; the other tasks go on.

The scheduler is a :class:`dask.distributed.LocalCluster` of processes (one per core, one thread
each) unless ``scheduler`` names a running cluster (``tcp://host:8786``; a dask-jobqueue or
Kubernetes deployment works unchanged, given the same data folder on every worker).
"""

from __future__ import annotations

import itertools
import logging
import os
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from geo._errors import InputFileError, ParameterError
from geo._types import JSONValue
from geo.coverage import TABLE_COLUMNS
from geo.network import Network
from geo.parameters import RunParameters
from geo.population import Population, load_population

__all__ = [
    "MAX_TASKS",
    "BatchResult",
    "BatchSpec",
    "BatchTask",
    "load_batch_spec",
    "run_batch",
    "run_task",
    "write_batch",
]

logger = logging.getLogger(__name__)

#: A batch holds at most this many runs (scenarios × sweep combinations).
MAX_TASKS = 10_000

#: Columns of the result table, in order: the run, then the coverage table's own columns
#: (:data:`geo.coverage.TABLE_COLUMNS`), then the run's parameters and provenance.
RESULT_COLUMNS = ("task", "area", "scenario", "standard", *TABLE_COLUMNS)


@dataclass(frozen=True)
class BatchTask:
    """One run: a scenario, the data folder (area) it runs on (None: the default one) and the
    parameters changed for it (fixed ones and the sweep's)."""

    number: int
    scenario: str
    area: str | None
    changes: tuple[tuple[str, JSONValue], ...]

    def inputs(self) -> dict[str, JSONValue]:
        """What the run was asked for, as one flat mapping (for result and error rows)."""
        where: dict[str, JSONValue] = {"area": self.area} if self.area else {}
        return {"task": self.number, **where, "scenario": self.scenario, **dict(self.changes)}


@dataclass(frozen=True)
class BatchSpec:
    """A batch file read and checked: its name, its tasks and what they sweep."""

    name: str
    path: Path
    tasks: tuple[BatchTask, ...]
    swept: tuple[str, ...]
    fixed: dict[str, JSONValue]


def load_batch_spec(path: str | Path) -> BatchSpec:
    """Read and check a batch file.

    Raises
    ------
    InputFileError
        Naming the file and the key: not TOML, no scenarios, a parameter name that does not
        exist, a sweep value that is not a non-empty list, more than :data:`MAX_TASKS` runs.
    """
    spec_path = Path(path)
    try:
        data = tomllib.loads(spec_path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        msg = f"{spec_path}: not a readable TOML batch file: {exc}"
        raise InputFileError(msg) from exc
    unknown = sorted(set(data) - {"name", "areas", "scenarios", "parameters", "sweep"})
    if unknown:
        msg = (
            f"{spec_path}: unknown key(s) {unknown}; "
            "a batch has name, areas, scenarios, [parameters] and [sweep]"
        )
        raise InputFileError(msg)
    areas = _areas(spec_path, data.get("areas"))
    name = str(data.get("name") or spec_path.stem)
    scenarios = data.get("scenarios")
    if (
        not isinstance(scenarios, list)
        or not scenarios
        or not all(isinstance(s, str) and s for s in scenarios)
    ):
        msg = f"{spec_path}: scenarios: expected a non-empty list of scenario names or paths"
        raise InputFileError(msg)
    fixed = data.get("parameters", {})
    sweep = data.get("sweep", {})
    _check_tables(spec_path, fixed, sweep)
    swept = tuple(sweep)
    combos = list(itertools.product(*(sweep[k] for k in swept)))
    n = len(areas) * len(scenarios) * len(combos)
    if n > MAX_TASKS:
        msg = f"{spec_path}: {n:,} runs; a batch holds at most {MAX_TASKS:,} (split it)"
        raise InputFileError(msg)
    tasks: list[BatchTask] = []
    for area_folder, scenario, combo in itertools.product(areas, scenarios, combos):
        # a name is looked up in the scenarios folder; a .toml path is relative to the spec
        where = (
            str((spec_path.parent / scenario).resolve())
            if scenario.endswith(".toml") or "/" in scenario
            else scenario
        )
        changes = {**fixed, **dict(zip(swept, combo, strict=True))}
        tasks.append(BatchTask(len(tasks) + 1, where, area_folder, tuple(sorted(changes.items()))))
    return BatchSpec(name, spec_path, tuple(tasks), swept, dict(fixed))


def _areas(spec_path: Path, value: object) -> list[str | None]:
    """``areas``: data folders (relative to the spec), each a district; absent: the default."""
    if value is None:
        return [None]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        msg = f"{spec_path}: areas: expected a non-empty list of data folders"
        raise InputFileError(msg)
    out: list[str | None] = []
    for v in value:
        folder = (spec_path.parent / v).resolve()
        if not folder.is_dir():
            msg = f"{spec_path}: areas: {v!r} is not a folder (looked in {folder})"
            raise InputFileError(msg)
        out.append(str(folder))
    return out


def _check_tables(spec_path: Path, fixed: object, sweep: object) -> None:
    for table, value in (("parameters", fixed), ("sweep", sweep)):
        if not isinstance(value, dict):
            msg = f"{spec_path}: [{table}] must be a table"
            raise InputFileError(msg)
        bad = sorted(set(value) - set(RunParameters.names()))
        if bad:
            msg = (
                f"{spec_path}: [{table}] {bad}: not a run parameter; "
                f"allowed: {', '.join(RunParameters.names())}"
            )
            raise InputFileError(msg)
    assert isinstance(fixed, dict) and isinstance(sweep, dict)
    for key, values in sweep.items():
        if not isinstance(values, list) or not values:
            msg = f"{spec_path}: [sweep] {key} = {values!r}: expected a non-empty list of values"
            raise InputFileError(msg)
    overlap = sorted(set(fixed) & set(sweep))
    if overlap:
        msg = f"{spec_path}: {overlap} both fixed in [parameters] and swept in [sweep]"
        raise InputFileError(msg)


# --- the task, on a worker ---------------------------------------------------------------------

_NETWORKS: dict[tuple[str, str, str, float], Network] = {}
_POPULATIONS: dict[tuple[str, str], Population] = {}


def _inputs(params: RunParameters, modes: set[str]) -> tuple[dict[str, Network], Population]:
    """Networks and population for these parameters, loaded once per worker process."""
    from geo import settings
    from geo.network import BuildOptions, load_network

    area = str(settings.resolve_data_folder())  # each area (data folder) has its own inputs
    nets: dict[str, Network] = {}
    for mode in sorted(modes):
        knob = params.walk_speed_kmh if mode == "walk" else params.congestion_factor
        key = (area, mode, params.network, knob)
        if key not in _NETWORKS:
            options = (
                BuildOptions(walk_speed_kmh=knob)
                if mode == "walk"
                else BuildOptions(congestion_factor=knob)
            )
            _NETWORKS[key] = load_network(mode, params.network, options=options)
        nets[mode] = _NETWORKS[key]
    if (area, params.population) not in _POPULATIONS:
        _POPULATIONS[(area, params.population)] = load_population(params.population)
    return nets, _POPULATIONS[(area, params.population)]


def run_task(task: BatchTask) -> pd.DataFrame:
    """Run one task (on a worker): the tidy rows of every standard's table, with provenance."""
    from geo import settings

    saved = settings.data_folder
    settings.data_folder = Path(task.area) if task.area else saved  # one thread per worker
    try:
        return _run(task)
    finally:
        settings.data_folder = saved


def _run(task: BatchTask) -> pd.DataFrame:
    from geo import scenarios, settings

    started = time.perf_counter()
    resolved = scenarios.resolve(task.scenario)
    try:
        params = RunParameters.from_mapping(dict(task.changes), base=resolved.parameters)
    except ParameterError as exc:
        msg = f"parameters {dict(task.changes)} do not fit scenario {task.scenario!r}: {exc}"
        raise ParameterError(msg) from exc
    resolved = replace(resolved, parameters=params)
    modes = {str(s.mode) for s in scenarios.standards_of(params)} - {"none"}
    nets, pop = _inputs(params, modes)
    run = scenarios.run_scenario(resolved, networks=nets, population=pop)
    frames = []
    for result in run.results:
        table = result.table
        frame = pd.DataFrame({col: table[col].to_numpy() for col in TABLE_COLUMNS})
        meta = result.metadata
        network = meta.get("network")
        frame.insert(0, "standard", result.standard.name)
        frame.insert(0, "scenario", task.scenario)
        area = settings.area_inputs()
        frame.insert(0, "area", area.get("name", settings.resolve_data_folder().name))
        frame.insert(0, "task", task.number)
        for key, value in dict(task.changes).items():
            if isinstance(value, int | float | str):
                frame[key] = value  # numbers stay numbers in the table
            else:
                frame[key] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        frame["limit"] = result.standard.limit
        frame["network"] = (
            f"{network.get('source')} ({network.get('nodes')} nodes)"
            if isinstance(network, dict)
            else str(network)
        )
        frame["network_key"] = run.hashes.get(f"network_{result.standard.mode}", "")
        frame["population_source"] = str(meta.get("population_source", ""))
        frame["facilities_counted"] = len(result.facilities)
        frame["scenario_hash"] = run.hashes["scenario"]
        frame["software_version"] = run.hashes["software_version"]
        frame["area_method"] = str(meta.get("area_method", ""))
        frame["computed_at"] = str(meta.get("computed_at", ""))
        frame["seconds"] = round(time.perf_counter() - started, 3)
        frame["worker"] = f"{os.uname().nodename}:{os.getpid()}"
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


# --- the driver --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchResult:
    """The gathered table, the failed tasks, and how the batch ran."""

    spec: BatchSpec
    table: pd.DataFrame
    errors: pd.DataFrame
    seconds: float
    workers: int
    scheduler: str
    startup_seconds: float = 0.0  # until the workers were ready (cluster start, connection)

    def summary(self) -> str:
        """One line: runs done and failed, time, workers."""
        done = len(self.spec.tasks) - len(self.errors)
        return (
            f"{self.spec.name}: {done} of {len(self.spec.tasks)} runs done, "
            f"{len(self.errors)} failed, {self.seconds:.1f} s on {self.workers} worker(s) "
            f"({self.scheduler})"
        )


def run_batch(
    spec: BatchSpec,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> BatchResult:
    """Run every task of a batch on a Dask cluster and gather the results.

    ``scheduler``: the address of a running Dask scheduler; None starts a local cluster of
    ``workers`` processes (default: one per core), closed when the batch ends.
    """
    from dask.distributed import Client, LocalCluster, as_completed

    say = progress or (lambda _m: None)
    started = time.perf_counter()
    for name in ("distributed", "bokeh", "tornado"):  # the cluster's own chatter
        logging.getLogger(name).setLevel(logging.WARNING)
    cluster = None
    if scheduler is None:
        n = workers or os.cpu_count() or 1
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,  # failures are reported as rows
        )
        client = Client(cluster)
        where = f"local cluster, {n} process(es)"
    else:
        client = Client(scheduler)
        where = f"scheduler {scheduler}"
    try:
        n_workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
        ready = time.perf_counter() - started
        say(f"{len(spec.tasks)} runs on {n_workers} worker(s) ({where})")
        futures = {
            client.submit(
                run_task, task, key=f"geo-batch-{spec.name}-{task.number}", pure=False
            ): task
            for task in spec.tasks
        }
        frames: list[pd.DataFrame] = []
        errors: list[dict[str, Any]] = []
        for done, future in enumerate(as_completed(futures), start=1):
            task = futures[future]
            if future.status == "error":
                exc = future.exception()
                errors.append({**task.inputs(), "error": f"{type(exc).__name__}: {exc}".strip()})
                say(f"[{done}/{len(futures)}] run {task.number} failed: {exc}")
            else:
                frames.append(future.result())
                say(f"[{done}/{len(futures)}] run {task.number} done")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RESULT_COLUMNS)
    table = table.sort_values(["task", "standard"], kind="stable").reset_index(drop=True)
    err = pd.DataFrame(errors).sort_values("task") if errors else pd.DataFrame()
    return BatchResult(spec, table, err, time.perf_counter() - started, n_workers, where, ready)


def write_batch(result: BatchResult, out: Path, *, overwrite: bool = False) -> list[Path]:
    """Write ``<name>.parquet`` and ``<name>.csv`` (with its metadata sidecar) and, if any run
    failed, ``<name>_errors.csv``. Returns the files written."""
    from geo._sheets import write_csv
    from geo.export import safe_stem

    out.mkdir(parents=True, exist_ok=True)
    stem = safe_stem(result.spec.name)
    parquet = out / f"{stem}.parquet"
    if parquet.exists() and not overwrite:
        msg = f"{parquet} exists; pass overwrite to replace it"
        raise InputFileError(msg)
    meta: dict[str, Any] = {
        "output": f"batch {result.spec.name}",
        "spec": str(result.spec.path),
        "runs": len(result.spec.tasks),
        "failed": len(result.errors),
        "swept": list(result.spec.swept),
        "fixed": result.spec.fixed,
        "scheduler": result.scheduler,
        "workers": result.workers,
        "seconds": round(result.seconds, 2),
        "rows": "one per run × standard × subdistrict, the district's row last (its code: the "
        "area's, 310112 for Minhang); columns "
        "network, population_source, facilities_counted, scenario_hash, software_version say "
        "what each figure was computed from",
    }
    tmp = parquet.with_name(f".{parquet.name}.tmp")
    result.table.to_parquet(tmp, index=False)
    tmp.replace(parquet)
    paths = [parquet]
    paths += write_csv(
        result.table, out / f"{stem}.csv", metadata=meta, lang="en", raw=True, overwrite=overwrite
    )
    if len(result.errors):
        paths += write_csv(
            result.errors,
            out / f"{stem}_errors.csv",
            metadata={**meta, "output": f"batch {result.spec.name}: failed runs"},
            lang="en",
            raw=True,
            overwrite=overwrite,
        )
    return paths
