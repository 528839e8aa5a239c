"""Site suggestion: where the plan's new stations and ambulance substations should go.

The plan gives counts, not addresses (Table 2: 6 new centres and 26 new stations with a quota
per subdistrict; 5 new or rebuilt ambulance substations on the "three vertical, four horizontal"
corridors). This module proposes sites a planner can then move by hand.

Two layers, as in spopt:

- a **numeric core** on a coverage matrix (candidates × demand points, True where the candidate
  reaches the point within the standard) and demand weights: :func:`solve_mclp` (maximal
  covering, exact integer programme solved by CBC through PuLP, greedy fallback and a stated
  optimality gap when the time limit stops it), :func:`solve_greedy`, :func:`solve_set_cover`
  (fewest sites covering every coverable point, with at least so many per group) and
  :func:`greedy_curve`. Results are :class:`Solution`;
- a thin **GeoDataFrame adapter**: :func:`site_problem` builds the matrix on the street network
  (precompute once, query many), :func:`suggest_sites` (walk15 with the plan's quotas or N
  sites anywhere), :func:`suggest_substations` (EMS on the corridors, set covering or N sites,
  with the plan's average distance and response-time checks), :func:`coverage_curve` (residents
  covered against the number of new sites) and :func:`bench_suggest` (exact vs greedy on the
  Table 2 instance). Results are :class:`SiteSuggestion`.

Decisions, stated once:

- **Centres and stations form one pool per subdistrict.** Under walk15 a new centre and a new
  station reach the same residents (both are basic-level facilities; the standard does not
  depend on the type), so separate quotas for each would give the same optimum as one quota of
  ``centres + stations``. After solving, in each subdistrict the chosen sites that reach the
  most residents are labelled centres (type ``branch``: new centres are branch centres or
  centres; a centre serves its whole 15-minute circle), the others stations.
- **Existing facilities stay fixed**: demand they already cover counts as covered before; the
  objective is the weight of residents *newly* covered.
- **The EMS rule "every 街镇 gets a substation"** applies to the 13 街镇 (units named 街道 or
  镇), not to 莘庄工业区, and only to units without an existing counted substation in the
  facility list. Where no corridor passes through such a unit, the unit's own drive-network
  nodes (thinned to the corridor spacing) become its candidates, flagged ``on_corridor=False``
  and listed in the notes; with ``off_corridor=False`` that case is an error naming the units.
- **Bounds are honest**: when CBC stops at the time limit the gap uses CBC's own best bound
  (parsed from its log) and says so; if that is missing, the LP relaxation (HiGHS, scipy) gives
  the bound instead, and ``bound_source`` says which.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pulp
import scipy.sparse as sp
import shapely
from scipy.optimize import linprog
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from geo import boundaries, plan, settings
from geo._errors import InputFileError, SiteSelectionError
from geo._io import atomic_target, refuse_existing
from geo._validate import read_table
from geo.coverage import DISTRICT_CODE, reach_index, select_facilities
from geo.facilities import FACILITY_TYPES, FacilityTable, facilities_from_frame
from geo.network import Network
from geo.parameters import DEFAULTS, RunParameters
from geo.population import Population
from geo.reach import DEFAULT_MAX_SNAP_METERS, FloatArray, IntArray, ReachIndex, Snap, to_metric
from geo.standards import Standard

logger = logging.getLogger(__name__)

BoolArray = npt.NDArray[np.bool_]
CoverMatrix: TypeAlias = sp.spmatrix | sp.sparray | npt.ArrayLike
QuotaSpec = Literal["plan"] | int | Mapping[str, int | tuple[int, int]]


#: Default time limit for one exact solve (seconds).
DEFAULT_TIME_LIMIT_S = DEFAULTS.solver_time_limit_s
#: Default spacing of network-node candidates for new stations (metres, grid thinning).
DEFAULT_CANDIDATE_SPACING_M = DEFAULTS.candidate_spacing_m
#: Default spacing of candidates sampled along the EMS corridors (metres).
DEFAULT_CORRIDOR_SPACING_M = DEFAULTS.corridor_spacing_m
#: New sites in the plan's Table 2 (centres + stations): 32.
PLAN_NEW_SITES = sum(c + s for c, s in plan.TABLE2_NEW_SITES.values())
#: Population-weighted percentile reported beside the mean in :class:`AccessStats`.
ACCESS_PERCENTILE = 90.0

#: Site roles and the facility type each becomes.
ROLE_TYPES: dict[str, str] = {
    "centre": "branch",
    "station": "station",
    "substation": "ambulance_substation",
}

_BOUND_RE = re.compile(r"^(Upper|Lower) bound:\s*([-+0-9.eE]+)", re.MULTILINE)
_BIG = np.iinfo(np.int64).max // 4


# =============================================================================================
# Numeric core
# =============================================================================================


@dataclass(frozen=True)
class Solution:
    """Chosen candidates and how good the choice is proven to be.

    Attributes
    ----------
    chosen
        Candidate indices; greedy methods list them in the order picked.
    objective
        Maximal covering: weight newly covered (demand already covered does not count).
        Set covering: the number of sites.
    covered
        Demand covered after the choice (already covered or reached by a chosen site).
    status
        ``optimal`` (proven), ``time_limit`` (CBC stopped with a feasible solution, the better
        of it and greedy kept), ``greedy_fallback`` (no usable CBC solution: greedy) or
        ``greedy`` (greedy was asked for).
    bound
        A proven bound on the optimum (upper for maximal covering, lower for set covering),
        None if not computed.
    gap
        Relative gap: maximal covering ``(bound - objective) / bound``, set covering
        ``(objective - bound) / objective``; 0 when optimal, None without a bound.
    bound_source
        ``cbc`` (CBC's best bound), ``lp_relaxation`` (the LP relaxation), ``optimal`` or
        ``none``.
    method
        ``exact (CBC)``, ``greedy`` or ``greedy (CBC fallback)``.
    seconds
        Wall-clock time of the solve.
    """

    chosen: IntArray
    objective: float
    covered: BoolArray
    status: str
    bound: float | None
    gap: float | None
    bound_source: str
    method: str
    seconds: float


@dataclass(frozen=True)
class _Instance:
    """A checked problem: cover matrix (float 0/1, CSR), open demand weights and group rules."""

    A: sp.csr_matrix
    w_open: FloatArray  # weight of demand not yet covered (0 where already covered)
    covered0: BoolArray
    groups: IntArray  # group of each candidate, -1 = not eligible
    cap: IntArray  # most sites per group
    need: IntArray  # fewest sites per group
    total: int  # sites in all (maximal covering)


def _as_cover(cover: CoverMatrix) -> sp.csr_matrix:
    A = sp.csr_matrix(cover, dtype=float)
    A.data = (A.data != 0).astype(float)
    A.eliminate_zeros()
    A.sum_duplicates()
    A.sort_indices()
    return A


def _check_demand(
    A: sp.csr_matrix, weights: npt.ArrayLike | None, already_covered: npt.ArrayLike | None
) -> tuple[FloatArray, BoolArray]:
    n_dem = A.shape[1]
    w = np.ones(n_dem) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (n_dem,):
        msg = f"weights has shape {w.shape}; expected ({n_dem},), one per demand point (column)"
        raise SiteSelectionError(msg)
    if not np.isfinite(w).all() or (w < 0).any():
        msg = "weights must be finite and ≥ 0 (residents per demand point)"
        raise SiteSelectionError(msg)
    cov0 = np.zeros(n_dem, bool) if already_covered is None else np.asarray(already_covered, bool)
    if cov0.shape != (n_dem,):
        msg = f"already_covered has shape {cov0.shape}; expected ({n_dem},)"
        raise SiteSelectionError(msg)
    return w, cov0


def _group_label(names: Sequence[str] | None, g: int) -> str:
    return names[g] if names is not None and g < len(names) else f"group {g}"


def _check_groups(n_cand: int, groups: npt.ArrayLike | None, n_groups: int) -> IntArray:
    if groups is None:
        return np.zeros(n_cand, np.int64)
    g = np.asarray(groups, dtype=np.int64)
    if g.shape != (n_cand,):
        msg = f"groups has shape {g.shape}; expected ({n_cand},), one per candidate (row)"
        raise SiteSelectionError(msg)
    if (g >= n_groups).any() or (g < -1).any():
        msg = f"groups must lie in -1..{n_groups - 1} (-1 = candidate not eligible)"
        raise SiteSelectionError(msg)
    return g


def _counts(values: Sequence[int] | npt.ArrayLike, what: str) -> IntArray:
    arr = np.atleast_1d(np.asarray(values))
    if arr.ndim != 1 or not np.all(np.mod(arr, 1) == 0) or (arr < 0).any():
        msg = f"{what} must be whole numbers ≥ 0, got {arr.tolist()}"
        raise SiteSelectionError(msg)
    return arr.astype(np.int64)


def _check_available(
    groups: IntArray, need: IntArray, names: Sequence[str] | None, what: str
) -> None:
    have = np.bincount(groups[groups >= 0], minlength=len(need))
    short = np.flatnonzero(have < need)
    if len(short):
        lines = "; ".join(
            f"{_group_label(names, int(g))}: {what} {need[g]} but only {have[g]} candidate(s)"
            for g in short
        )
        msg = f"infeasible: {lines}. Lower the {what} or add candidates there"
        raise SiteSelectionError(msg)


def _instance(
    cover: CoverMatrix,
    weights: npt.ArrayLike | None,
    p: int | Sequence[int],
    *,
    groups: npt.ArrayLike | None,
    min_per_group: Sequence[int] | None,
    already_covered: npt.ArrayLike | None,
    group_names: Sequence[str] | None,
) -> _Instance:
    A = _as_cover(cover)
    w, cov0 = _check_demand(A, weights, already_covered)
    per_group = not isinstance(p, (int, np.integer))
    if per_group and groups is None:
        msg = "a quota per group needs `groups` (the group of each candidate)"
        raise SiteSelectionError(msg)
    if per_group and min_per_group is not None:
        msg = "give either a quota per group or min_per_group with a total, not both"
        raise SiteSelectionError(msg)
    quotas = _counts(p, "quotas")
    n_groups = _n_groups(quotas if per_group else None, min_per_group, groups)
    g = _check_groups(A.shape[0], groups, n_groups)
    if per_group:
        cap, need, total = quotas, quotas.copy(), int(quotas.sum())
        _check_available(g, need, group_names, "quota")
    else:
        total = int(quotas[0])
        need = (
            _counts(min_per_group, "min_per_group")
            if min_per_group is not None
            else np.zeros(n_groups, np.int64)
        )
        cap = np.full(len(need), _BIG, np.int64)
        _check_available(g, need, group_names, "at least")
        if need.sum() > total:
            msg = (
                f"infeasible: {total} site(s) in all but the groups ask for at least "
                f"{int(need.sum())} ({_need_text(need, group_names)}); raise the number of "
                "sites or drop the per-group rule"
            )
            raise SiteSelectionError(msg)
        if total > int((g >= 0).sum()):
            msg = f"infeasible: {total} site(s) asked but only {int((g >= 0).sum())} candidates"
            raise SiteSelectionError(msg)
    w_open = np.where(cov0, 0.0, w)
    return _Instance(A, w_open, cov0, g, cap, need, total)


def _n_groups(
    quotas: IntArray | None, min_per_group: Sequence[int] | None, groups: npt.ArrayLike | None
) -> int:
    if quotas is not None:
        return len(quotas)
    if min_per_group is not None:
        return len(min_per_group)
    if groups is not None and np.size(groups):
        return int(np.max(groups)) + 1
    return 1


def _need_text(need: IntArray, names: Sequence[str] | None) -> str:
    return ", ".join(f"{_group_label(names, int(g))}: {need[g]}" for g in np.flatnonzero(need))


# --- greedy -----------------------------------------------------------------------------------


def _greedy_pick(inst: _Instance, *, start: Sequence[int] = ()) -> tuple[list[int], list[float]]:
    """Pick sites one at a time by largest newly covered weight, keeping the group rules.

    Starts from ``start`` (kept, not returned). Ties go to the lowest index. A pick is allowed
    if its group is below its cap and, when the remaining picks are all needed for groups still
    below their minimum, only in such a group.
    """
    A, groups = inst.A, inst.groups
    open_w = inst.w_open.copy()
    count = np.zeros(len(inst.cap), np.int64)
    taken = np.zeros(A.shape[0], bool)
    g_safe = np.maximum(groups, 0)
    for j in start:
        taken[j] = True
        count[groups[j]] += 1
        open_w[A.indices[A.indptr[j] : A.indptr[j + 1]]] = 0.0
    picked: list[int] = []
    gains: list[float] = []
    for done in range(len(start), inst.total):
        outstanding = np.maximum(inst.need - count, 0)
        allowed = (groups >= 0) & ~taken & (count[g_safe] < inst.cap[g_safe])
        if inst.total - done <= outstanding.sum():
            allowed &= outstanding[g_safe] > 0
        if not allowed.any():
            break
        gain = np.where(allowed, A @ open_w, -np.inf)
        j = int(np.argmax(gain))
        picked.append(j)
        gains.append(float(gain[j]))
        taken[j] = True
        count[groups[j]] += 1
        open_w[A.indices[A.indptr[j] : A.indptr[j + 1]]] = 0.0
    return picked, gains


def _covered_by(A: sp.csr_matrix, chosen: Sequence[int], covered0: BoolArray) -> BoolArray:
    out = covered0.copy()
    for j in chosen:
        out[A.indices[A.indptr[j] : A.indptr[j + 1]]] = True
    return out


def _new_weight(inst: _Instance, chosen: Sequence[int]) -> float:
    hit = _covered_by(inst.A, chosen, np.zeros(inst.A.shape[1], bool))
    return float(inst.w_open[hit].sum())


def solve_greedy(
    cover: CoverMatrix,
    weights: npt.ArrayLike | None,
    p: int | Sequence[int],
    *,
    groups: npt.ArrayLike | None = None,
    min_per_group: Sequence[int] | None = None,
    already_covered: npt.ArrayLike | None = None,
    group_names: Sequence[str] | None = None,
    lp_bound: bool = False,
) -> Solution:
    """Maximal covering by greedy picks (largest newly covered weight first).

    Same arguments as :func:`solve_mclp`. With a single cardinality constraint greedy is within
    a factor 1 - 1/e of the optimum, with quotas per group within 1/2; ``lp_bound`` also solves
    the LP relaxation to state the gap of this very instance.
    """
    started = time.perf_counter()
    inst = _instance(
        cover, weights, p, groups=groups, min_per_group=min_per_group,
        already_covered=already_covered, group_names=group_names,
    )  # fmt: skip
    picked, _ = _greedy_pick(inst)
    value = _new_weight(inst, picked)
    bound = _lp_bound_max(inst) if lp_bound else None
    return Solution(
        chosen=np.array(picked, np.int64), objective=value,
        covered=_covered_by(inst.A, picked, inst.covered0), status="greedy", bound=bound,
        gap=_gap_max(value, bound), bound_source="lp_relaxation" if lp_bound else "none",
        method="greedy", seconds=time.perf_counter() - started,
    )  # fmt: skip


def greedy_curve(
    cover: CoverMatrix,
    weights: npt.ArrayLike | None,
    n_max: int,
    *,
    groups: npt.ArrayLike | None = None,
    quotas: Sequence[int] | None = None,
    already_covered: npt.ArrayLike | None = None,
) -> tuple[IntArray, FloatArray]:
    """Greedy order of up to ``n_max`` sites and the weight each newly covers.

    With ``quotas`` (per group) the picks respect them and stop when they are used up. The
    cumulative sum of the gains is the covered weight after 1, 2, ... sites (a lower bound on
    the optimum for that number: greedy sets are nested, optimal ones need not be).
    """
    p: int | Sequence[int] = quotas if quotas is not None else int(n_max)
    inst = _instance(
        cover, weights, p, groups=groups, min_per_group=None,
        already_covered=already_covered, group_names=None,
    )  # fmt: skip
    inst = _Instance(
        inst.A, inst.w_open, inst.covered0, inst.groups, inst.cap,
        np.zeros_like(inst.need), min(int(n_max), inst.total),
    )  # fmt: skip
    picked, gains = _greedy_pick(inst)
    return np.array(picked, np.int64), np.array(gains, float)


# --- reduction (what CBC sees) ----------------------------------------------------------------


@dataclass(frozen=True)
class _Reduced:
    """Candidates that matter × demand aggregated by identical candidate sets."""

    B: sp.csr_matrix  # kept candidates × aggregated demand, 0/1
    w: FloatArray  # weight of each aggregated demand column
    cand: IntArray  # original index of each kept candidate
    groups: IntArray


def _row_key(M: sp.csr_matrix, j: int) -> bytes:
    return bytes(M.indices[M.indptr[j] : M.indptr[j + 1]].tobytes())


def _reduce(
    inst: _Instance, active: BoolArray, copies: IntArray, empty_copies: IntArray
) -> _Reduced:
    """Aggregate identical demand columns; keep per group at most ``copies`` identical rows.

    Rows covering no active demand are kept only up to ``empty_copies`` per group (they can only
    fill a group's minimum). Identical rows in one group are interchangeable, so this keeps the
    optimum.
    """
    eligible = np.flatnonzero(inst.groups >= 0)
    sub = inst.A[eligible][:, np.flatnonzero(active)].tocsc()
    sub.sort_indices()
    col_of: dict[bytes, int] = {}
    agg = np.empty(sub.shape[1], np.int64)
    for c in range(sub.shape[1]):
        agg[c] = col_of.setdefault(_row_key(sub, c), len(col_of))
    w = np.bincount(agg, weights=inst.w_open[active], minlength=len(col_of)).astype(float)
    rep = np.zeros(len(col_of), np.int64)
    rep[agg[::-1]] = np.arange(sub.shape[1])[::-1]  # first column of each aggregate
    rows = sub[:, rep].tocsr()
    rows.sort_indices()
    kept: list[int] = []
    seen: dict[tuple[int, bytes], int] = {}
    for r, j in enumerate(eligible):
        g = int(inst.groups[j])
        key = _row_key(rows, r)
        limit = copies[g] if key else empty_copies[g]
        n = seen.get((g, key), 0)
        if n < limit:
            seen[(g, key)] = n + 1
            kept.append(r)
    kept_a = np.array(kept, np.int64)
    return _Reduced(rows[kept_a], w, eligible[kept_a], inst.groups[eligible[kept_a]])


# --- CBC --------------------------------------------------------------------------------------


def _cbc(**options: Any) -> pulp.COIN_CMD:
    """CBC as a command: ``cbc`` on the PATH (``pulp[cbc]``) or the binary bundled with PuLP."""
    solver = pulp.COIN_CMD(**options)
    if solver.available():
        return solver
    bundled = getattr(pulp.PULP_CBC_CMD, "pulp_cbc_path", None)  # class attribute: no warning
    if bundled and os.access(bundled, os.X_OK):
        return pulp.COIN_CMD(path=bundled, **options)
    msg = (
        "the CBC solver was not found (neither `cbc` on the PATH nor PuLP's bundled binary); "
        "install it with `pip install 'pulp[cbc]'`, or use method='greedy'"
    )
    raise SiteSelectionError(msg)


def _cbc_solve(
    prob: pulp.LpProblem, *, time_limit_s: float, warm: bool
) -> tuple[int, float | None]:
    """Solve with CBC, silent and single-threaded (deterministic); return status, best bound."""
    with tempfile.TemporaryDirectory(prefix="geo-cbc-") as tmp:
        log = Path(tmp) / "cbc.log"
        solver = _cbc(
            msg=False, timeLimit=max(float(time_limit_s), 0.01), threads=1, warmStart=warm,
            logPath=str(log),
        )  # fmt: skip
        prob.solve(solver)
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    found = _BOUND_RE.search(text)
    return int(prob.sol_status), (float(found.group(2)) if found else None)


def _variable(prob: pulp.LpProblem, name: str, low: float, up: float, cat: str) -> pulp.LpVariable:
    """A variable owned by ``prob`` (PuLP ≥ 3.3 API; plain ``LpVariable`` on older PuLP)."""
    add = getattr(prob, "add_variable", None)
    if add is not None:
        return add(name, low, up, cat=cat)
    return pulp.LpVariable(name, low, up, cat)


def _x_vars(prob: pulp.LpProblem, red: _Reduced, warm: Collection[int]) -> list[pulp.LpVariable]:
    xs = []
    for r in range(len(red.cand)):
        x = _variable(prob, f"x{r}", 0, 1, pulp.LpBinary)
        x.setInitialValue(1 if int(red.cand[r]) in warm else 0)
        xs.append(x)
    return xs


def _add_group_rules(
    prob: pulp.LpProblem,
    red: _Reduced,
    xs: list[pulp.LpVariable],
    *,
    cap: IntArray | None,
    need: IntArray,
) -> None:
    for g in range(len(need)):
        members = np.flatnonzero(red.groups == g)
        expr = pulp.LpAffineExpression([(xs[r], 1.0) for r in members])
        if cap is not None and cap[g] < len(members):
            prob.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintLE, rhs=int(cap[g])))
        if need[g] > 0:
            prob.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintGE, rhs=int(need[g])))


def _mclp_model(
    red: _Reduced, inst: _Instance, warm: Collection[int]
) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    prob = pulp.LpProblem("mclp", pulp.LpMaximize)
    xs = _x_vars(prob, red, warm)
    cols = red.B.tocsc()
    warm_hit = _covered_by(red.B, [r for r in range(len(xs)) if int(red.cand[r]) in warm],
                           np.zeros(red.B.shape[1], bool))  # fmt: skip
    ys = []
    for k in range(red.B.shape[1]):
        y = _variable(prob, f"y{k}", 0, 1, pulp.LpContinuous)
        y.setInitialValue(1 if warm_hit[k] else 0)
        ys.append(y)
        terms = [(y, 1.0)] + [
            (xs[r], -1.0) for r in cols.indices[cols.indptr[k] : cols.indptr[k + 1]]
        ]
        prob.addConstraint(
            pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE, rhs=0)
        )
    prob.setObjective(pulp.LpAffineExpression([(ys[k], float(red.w[k])) for k in range(len(ys))]))
    _add_group_rules(prob, red, xs, cap=inst.cap, need=inst.need)
    prob.addConstraint(
        pulp.LpConstraint(pulp.LpAffineExpression([(x, 1.0) for x in xs]), pulp.LpConstraintLE,
                          rhs=inst.total)
    )  # fmt: skip
    return prob, xs


def _gap_max(value: float, bound: float | None) -> float | None:
    if bound is None:
        return None
    bound = max(bound, value)
    return 0.0 if bound <= 0 else (bound - value) / bound


def _gap_min(value: float, bound: float | None) -> float | None:
    if bound is None:
        return None
    bound = min(bound, value)
    return 0.0 if value <= 0 else (value - bound) / value


def _lp_bound_max(inst: _Instance) -> float:
    """Upper bound on the newly covered weight: the LP relaxation of the maximal covering IP."""
    active = inst.w_open > 0
    red = _reduce(inst, active, np.minimum(inst.cap, inst.total), inst.need)
    n_x, n_y = red.B.shape
    if n_y == 0:
        return 0.0
    rows = [sp.hstack([-red.B.T, sp.identity(n_y)])]
    rhs = [np.zeros(n_y)]
    for g in range(len(inst.cap)):
        member = (red.groups == g).astype(float)[None, :]
        if inst.cap[g] < _BIG:
            rows.append(sp.hstack([sp.csr_matrix(member), sp.csr_matrix((1, n_y))]))
            rhs.append(np.array([inst.cap[g]], float))
        if inst.need[g] > 0:
            rows.append(sp.hstack([sp.csr_matrix(-member), sp.csr_matrix((1, n_y))]))
            rhs.append(np.array([-inst.need[g]], float))
    rows.append(sp.hstack([sp.csr_matrix(np.ones((1, n_x))), sp.csr_matrix((1, n_y))]))
    rhs.append(np.array([inst.total], float))
    res = linprog(
        np.concatenate([np.zeros(n_x), -red.w]), A_ub=sp.vstack(rows).tocsr(),
        b_ub=np.concatenate(rhs), bounds=(0, 1), method="highs",
    )  # fmt: skip
    if res.status != 0:
        msg = f"the LP relaxation could not be solved: {res.message}"
        raise SiteSelectionError(msg)
    return float(-res.fun)


def solve_mclp(
    cover: CoverMatrix,
    weights: npt.ArrayLike | None,
    p: int | Sequence[int],
    *,
    groups: npt.ArrayLike | None = None,
    min_per_group: Sequence[int] | None = None,
    already_covered: npt.ArrayLike | None = None,
    group_names: Sequence[str] | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    fallback: bool = True,
) -> Solution:
    """Maximal covering location problem (MCLP), solved exactly by CBC.

    Maximise the weight of demand newly covered: ``max Σ w_i y_i`` subject to
    ``y_i ≤ Σ_{j covers i} x_j``, ``0 ≤ y_i ≤ 1``, binary ``x_j``, and the site counts below.
    Demand already covered, of zero weight or out of every candidate's reach is left out;
    identical demand columns are merged and identical candidates (same group) kept only as
    often as they could be used, which does not change the optimum. Greedy picks are the warm
    start, so the exact answer is never worse than greedy.

    Parameters
    ----------
    cover
        Candidates × demand, True (non-zero) where the candidate covers the demand point:
        a scipy sparse matrix or a dense array.
    weights
        Weight per demand point (residents); None: all 1.
    p
        An int: that many sites in all among eligible candidates. A sequence: a quota per group,
        exactly ``p[g]`` sites among the candidates of group ``g``.
    groups
        Group index per candidate, -1 where a candidate may not be chosen.
    min_per_group
        With an int ``p``: at least this many sites per group (e.g. one per subdistrict).
    already_covered
        Demand covered by existing facilities (kept fixed).
    group_names
        Names for error messages, one per group.
    time_limit_s
        CBC's time limit. If it stops CBC, the better of CBC's incumbent and greedy is kept and
        the gap is stated (status ``time_limit``).
    fallback
        If CBC returns no solution, use greedy (status ``greedy_fallback``); else raise.

    Raises
    ------
    SiteSelectionError
        Bad shapes or values; a quota or minimum larger than the group's candidates; more
        sites than candidates.
    """
    started = time.perf_counter()
    inst = _instance(
        cover, weights, p, groups=groups, min_per_group=min_per_group,
        already_covered=already_covered, group_names=group_names,
    )  # fmt: skip
    greedy, _ = _greedy_pick(inst)
    active = (inst.w_open > 0) & (np.asarray(inst.A[inst.groups >= 0].sum(axis=0)).ravel() > 0)
    if active.any():
        red = _reduce(inst, active, np.minimum(inst.cap, inst.total), inst.need)
        prob, xs = _mclp_model(red, inst, set(greedy))
        status, cbc_bound = _cbc_solve(prob, time_limit_s=time_limit_s, warm=True)
        chosen, state = _read_choice(status, xs, red, greedy, fallback)
    else:  # nothing left to gain: any feasible choice is optimal
        chosen, state, cbc_bound = list(greedy), "optimal", None
    chosen = sorted(chosen)
    if len(chosen) < inst.total:  # fill quotas with the best remaining (never lowers the value)
        extra, _ = _greedy_pick(inst, start=chosen)
        chosen = chosen + extra
    value = _new_weight(inst, chosen)
    greedy_value = _new_weight(inst, greedy)
    if greedy_value > value + 1e-9 * max(1.0, value):  # CBC stopped early (or a tolerance)
        chosen, value = list(greedy), greedy_value
    bound, source = _bound_for(state, value, cbc_bound, lambda: _lp_bound_max(inst), maximise=True)
    method = "exact (CBC)" if state != "greedy_fallback" else "greedy (CBC fallback)"
    logger.info("mclp: %s, value %.1f, bound %s (%s)", state, value, bound, source)
    return Solution(
        chosen=np.array(chosen, np.int64), objective=value,
        covered=_covered_by(inst.A, chosen, inst.covered0), status=state, bound=bound,
        gap=_gap_max(value, bound), bound_source=source, method=method,
        seconds=time.perf_counter() - started,
    )  # fmt: skip


def _read_choice(
    status: int, xs: list[pulp.LpVariable], red: _Reduced, greedy: list[int], fallback: bool
) -> tuple[list[int], str]:
    if status == pulp.LpSolutionOptimal:
        state = "optimal"
    elif status == pulp.LpSolutionIntegerFeasible:
        state = "time_limit"
    elif fallback:
        return list(greedy), "greedy_fallback"
    else:
        msg = f"CBC returned no solution ({pulp.LpSolution.get(status, status)})"
        raise SiteSelectionError(msg)
    return [int(red.cand[r]) for r, x in enumerate(xs) if (x.value() or 0) > 0.5], state


def _bound_for(
    state: str,
    value: float,
    cbc_bound: float | None,
    lp: Callable[[], float],
    *,
    maximise: bool,
) -> tuple[float | None, str]:
    if state == "optimal":
        return value, "optimal"
    if cbc_bound is not None and state == "time_limit":
        return (max(cbc_bound, value) if maximise else min(cbc_bound, value)), "cbc"
    bound = lp()
    if not maximise:
        bound = math.ceil(bound - 1e-9)
    return bound, "lp_relaxation"


# --- set covering -----------------------------------------------------------------------------


def _greedy_set_cover(inst: _Instance, must: BoolArray) -> list[int]:
    """Greedy set cover with group minimums, then drop sites no longer needed (reverse order)."""
    A, groups = inst.A, inst.groups
    open_n = must.astype(float)
    count = np.zeros(len(inst.need), np.int64)
    picked: list[int] = []
    taken = np.zeros(A.shape[0], bool)
    g_safe = np.maximum(groups, 0)
    while True:
        lacking = count < inst.need
        allowed = (groups >= 0) & ~taken
        if lacking.any():
            allowed &= lacking[g_safe]
        elif not open_n.any():
            break
        if not allowed.any():
            break
        gain = np.where(allowed, A @ open_n, -np.inf)
        j = int(np.argmax(gain))
        picked.append(j)
        taken[j] = True
        count[groups[j]] += 1
        open_n[A.indices[A.indptr[j] : A.indptr[j + 1]]] = 0.0
    return _prune(A, groups, inst.need, must, picked)


def _prune(
    A: sp.csr_matrix, groups: IntArray, need: IntArray, must: BoolArray, picked: list[int]
) -> list[int]:
    keep = list(picked)
    for j in reversed(picked):
        trial = [k for k in keep if k != j]
        hit = _covered_by(A, trial, np.zeros(A.shape[1], bool))
        count = np.bincount(groups[trial], minlength=len(need)) if trial else np.zeros_like(need)
        if hit[must].all() and (count >= need).all():
            keep = trial
    return keep


def _lp_bound_min(red: _Reduced, inst: _Instance) -> float:
    n_x = red.B.shape[0]
    rows = [-red.B.T.tocsr()]
    rhs = [-np.ones(red.B.shape[1])]
    for g in np.flatnonzero(inst.need):
        rows.append(sp.csr_matrix(-(red.groups == g).astype(float)[None, :]))
        rhs.append(np.array([-inst.need[g]], float))
    res = linprog(
        np.ones(n_x), A_ub=sp.vstack(rows).tocsr(), b_ub=np.concatenate(rhs), bounds=(0, 1),
        method="highs",
    )  # fmt: skip
    if res.status != 0:
        msg = f"the LP relaxation could not be solved: {res.message}"
        raise SiteSelectionError(msg)
    return float(res.fun)


def _set_cover_model(
    red: _Reduced, warm: Collection[int], need: IntArray
) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    prob = pulp.LpProblem("set_cover", pulp.LpMinimize)
    xs = _x_vars(prob, red, warm)
    cols = red.B.tocsc()
    for k in range(red.B.shape[1]):
        idx = cols.indices[cols.indptr[k] : cols.indptr[k + 1]]
        expr = pulp.LpAffineExpression([(xs[r], 1.0) for r in idx])
        prob.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintGE, rhs=1))
    prob.setObjective(pulp.LpAffineExpression([(x, 1.0) for x in xs]))
    _add_group_rules(prob, red, xs, cap=None, need=need)
    return prob, xs


def solve_set_cover(
    cover: CoverMatrix,
    *,
    weights: npt.ArrayLike | None = None,
    groups: npt.ArrayLike | None = None,
    min_per_group: Sequence[int] | None = None,
    already_covered: npt.ArrayLike | None = None,
    group_names: Sequence[str] | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    fallback: bool = True,
) -> Solution:
    """Fewest sites so every coverable demand point is covered (location set covering).

    ``min Σ x_j`` subject to ``Σ_{j covers i} x_j ≥ 1`` for every demand point that has weight
    (> 0, or every point if ``weights`` is None), is not already covered and is reached by at
    least one eligible candidate; and ``Σ_{j in g} x_j ≥ min_per_group[g]``. Points no candidate
    reaches cannot be covered by any choice: they are left out (see ``covered``).

    Parameters are as in :func:`solve_mclp`; ``objective`` is the number of sites and ``bound``
    a lower bound on it.
    """
    started = time.perf_counter()
    n_need = int(np.sum(min_per_group)) if min_per_group is not None else 0
    inst = _instance(
        cover, weights, n_need, groups=groups, min_per_group=min_per_group,
        already_covered=already_covered, group_names=group_names,
    )  # fmt: skip
    reachable = np.asarray(inst.A[inst.groups >= 0].sum(axis=0)).ravel() > 0
    must = (inst.w_open > 0) & reachable
    greedy = _greedy_set_cover(inst, must)
    if must.any() or inst.need.any():
        red = _reduce(
            _Instance(inst.A, must.astype(float), inst.covered0, inst.groups, inst.cap,
                      inst.need, len(greedy)),
            must, np.maximum(inst.need, 1), inst.need,
        )  # fmt: skip
        prob, xs = _set_cover_model(red, set(greedy), inst.need)
        status, cbc_bound = _cbc_solve(prob, time_limit_s=time_limit_s, warm=True)
        chosen, state = _read_choice(status, xs, red, greedy, fallback)
        lp_bound = lambda: _lp_bound_min(red, inst)  # noqa: E731
    else:
        chosen, state, cbc_bound, lp_bound = [], "optimal", None, lambda: 0.0
    if len(greedy) < len(chosen):
        chosen = greedy
    chosen = sorted(chosen)
    bound, source = _bound_for(state, float(len(chosen)), cbc_bound, lp_bound, maximise=False)
    return Solution(
        chosen=np.array(chosen, np.int64), objective=float(len(chosen)),
        covered=_covered_by(inst.A, chosen, inst.covered0), status=state, bound=bound,
        gap=_gap_min(float(len(chosen)), bound), bound_source=source,
        method="exact (CBC)" if state != "greedy_fallback" else "greedy (CBC fallback)",
        seconds=time.perf_counter() - started,
    )  # fmt: skip


# =============================================================================================
# GeoDataFrame adapter
# =============================================================================================

#: Columns of a candidate frame (then geometry, WGS-84 points).
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "candidate_id", "lon", "lat", "subdistrict_code", "subdistrict_zh", "subdistrict_en",
    "source", "on_corridor", "road_name",
)  # fmt: skip

#: Units the plan's "every 街镇 gets a substation" applies to: names ending in these.
JIEZHEN_SUFFIXES: tuple[str, ...] = ("街道", "镇")

_CHUNK = 64
#: Candidates this close outside the district (rounding on its edge) still count as inside.
_EDGE_METERS = 5.0


def _lonlat_of(xy: FloatArray) -> tuple[FloatArray, FloatArray]:
    gs = gpd.GeoSeries(shapely.points(xy), crs=settings.metric_crs).to_crs(settings.wgs84_crs)
    return gs.x.to_numpy(), gs.y.to_numpy()


def _name_text(value: object) -> str | None:
    if isinstance(value, (list, tuple)):
        parts = [str(v) for v in value if v is not None and str(v) != "nan"]
        return "/".join(parts) or None
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    return str(value)


def _candidate_frame(
    lon: FloatArray,
    lat: FloatArray,
    *,
    source: Sequence[str],
    on_corridor: Sequence[bool],
    road_name: Sequence[str | None],
    subdistricts: gpd.GeoDataFrame | None,
    ids: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Candidates inside the district (points outside every unit are dropped)."""
    sub = boundaries.subdistricts(subdistricts)
    codes = boundaries.assign_subdistricts(lon, lat, sub, max_gap_meters=_EDGE_METERS)
    lookup = sub.set_index("code")
    df = pd.DataFrame(
        {
            "candidate_id": list(ids) if ids is not None else [f"c{i}" for i in range(len(lon))],
            "lon": lon, "lat": lat, "subdistrict_code": codes,
            "source": list(source), "on_corridor": list(on_corridor),
            "road_name": pd.Series(list(road_name), dtype=object),
        }
    )  # fmt: skip
    df = df[pd.notna(df["subdistrict_code"])].reset_index(drop=True)
    df["subdistrict_zh"] = df["subdistrict_code"].map(lookup["name_zh"])
    df["subdistrict_en"] = df["subdistrict_code"].map(lookup["name_en"])
    return gpd.GeoDataFrame(
        df[list(CANDIDATE_COLUMNS)],
        geometry=gpd.points_from_xy(df["lon"], df["lat"]),
        crs=settings.wgs84_crs,
    )


def _thin_grid(xy: FloatArray, spacing_m: float) -> IntArray:
    """One point per ``spacing_m`` grid cell: the one nearest the cell's centre (deterministic)."""
    cell = np.floor(xy / spacing_m).astype(np.int64)
    dist = np.hypot(*(xy - (cell + 0.5) * spacing_m).T)
    key = (cell[:, 0] - cell[:, 0].min()) * (cell[:, 1].max() - cell[:, 1].min() + 1) + (
        cell[:, 1] - cell[:, 1].min()
    )
    order = np.lexsort((np.arange(len(xy)), dist, key))
    first = np.ones(len(order), bool)
    first[1:] = key[order][1:] != key[order][:-1]
    return np.sort(order[first])


def _check_spacing(spacing_m: float, what: str) -> float:
    if not 10 <= spacing_m <= 5000:
        msg = f"{what}={spacing_m!r} m is out of range: expected 10–5,000 m (e.g. 200)"
        raise SiteSelectionError(msg)
    return float(spacing_m)


def candidates_from_network(
    network: Network,
    *,
    spacing_m: float = DEFAULT_CANDIDATE_SPACING_M,
    subdistricts: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sites: the network's nodes thinned to one per ``spacing_m`` grid cell.

    A walk network's nodes lie on walkable roads, so every candidate can be reached on foot.
    Nodes outside every subdistrict are dropped; each candidate gets its subdistrict and the
    name of a road through it. Columns: :data:`CANDIDATE_COLUMNS`.
    """
    spacing_m = _check_spacing(spacing_m, "candidate_spacing_m")
    index = reach_index(network)
    pick = _thin_grid(index.node_xy, spacing_m)
    lon, lat = _lonlat_of(index.node_xy[pick])
    names = _road_names(index, index.node_xy[pick])
    n = len(pick)
    return _candidate_frame(
        lon, lat, source=[f"{network.mode} network node"] * n, on_corridor=[False] * n,
        road_name=names, subdistricts=subdistricts,
        ids=[f"node-{int(i)}" for i in index.node_ids[pick]],
    )  # fmt: skip


def plan_corridors() -> tuple[tuple[str, ...], ...]:
    """The plan's seven EMS corridors (三纵四横) as groups of OSM road names."""
    return (*plan.CORRIDORS_VERTICAL, *plan.CORRIDORS_HORIZONTAL)


def _corridor_mask(index: ReachIndex, names: Sequence[str]) -> BoolArray:
    wanted = set(names)

    def hit(value: object) -> bool:
        if isinstance(value, (list, tuple)):
            return any(str(v) in wanted for v in value)
        return value is not None and str(value) in wanted

    return np.fromiter((hit(v) for v in index.seg_name), bool, count=len(index.seg_name))


def _sample_lines(geoms: npt.NDArray[np.object_], spacing_m: float) -> FloatArray:
    merged = shapely.line_merge(shapely.union_all(geoms))
    out = []
    for part in shapely.get_parts(merged):
        dist = np.arange(0.0, max(part.length, 1e-9), spacing_m)
        out.append(shapely.get_coordinates(shapely.line_interpolate_point(part, dist)))
    return np.vstack(out) if out else np.zeros((0, 2))


def _thin_min_distance(xy: FloatArray, min_m: float) -> IntArray:
    """Keep points in order, dropping any closer than ``min_m`` to one already kept."""
    tree = cKDTree(xy)
    keep = np.ones(len(xy), bool)
    for i in range(len(xy)):
        if keep[i]:
            near = tree.query_ball_point(xy[i], min_m)
            keep[[j for j in near if j > i]] = False
    return np.flatnonzero(keep)


def candidates_from_corridors(
    network: Network,
    corridors: Sequence[Sequence[str]] | None = None,
    *,
    spacing_m: float = DEFAULT_CORRIDOR_SPACING_M,
    subdistricts: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sites every ``spacing_m`` along named roads (default: the plan's corridors).

    The segments whose name matches one of a corridor's names are merged into lines and sampled
    every ``spacing_m`` metres from each line's start; samples closer than half the spacing to an
    earlier one (the other carriageway of a divided road, a crossing of two corridors) are
    dropped. ``source`` says the corridor (``corridor: 沪闵路/七莘路``).

    Raises
    ------
    SiteSelectionError
        A corridor none of whose names is a road name of the network.
    """
    spacing_m = _check_spacing(spacing_m, "corridor spacing_m")
    index = reach_index(network)
    groups = [tuple(c) for c in (corridors if corridors is not None else plan_corridors())]
    xy_parts, labels = [], []
    on_any = np.zeros(len(index.seg_name), bool)
    for names in groups:
        mask = _corridor_mask(index, names)
        if not mask.any():
            msg = (
                f"corridor {'/'.join(names)!r}: no road of the {network.mode} network has that "
                "name; check the spelling against the road layer's `name` column"
            )
            raise SiteSelectionError(msg)
        on_any |= mask
        xy = _sample_lines(index.seg_geom[mask], spacing_m)
        xy_parts.append(xy)
        labels += [f"corridor: {'/'.join(names)}"] * len(xy)
    xy_all = np.vstack(xy_parts)
    keep = _thin_min_distance(xy_all, spacing_m / 2)
    lon, lat = _lonlat_of(xy_all[keep])
    return _candidate_frame(
        lon, lat, source=[labels[i] for i in keep], on_corridor=[True] * len(keep),
        road_name=_road_names(index, xy_all[keep], among=on_any), subdistricts=subdistricts,
        ids=[f"corridor-{i}" for i in range(len(keep))],
    )  # fmt: skip


def read_candidates(
    path: str | Path,
    *,
    coords_system: str = "wgs84",
    sheet: str | int | None = None,
    subdistricts: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sites from a planner's file: CSV/Excel with lon/lat (经度/纬度), or points.

    Tables are checked row by row like facility lists (coordinate systems wgs84, gcj02, bd09;
    swapped lon/lat and points outside Minhang are errors naming the row); ``name``/``type`` are
    optional. GeoJSON, GeoPackage and shapefiles must hold points in any CRS. An ``id`` column,
    if any, becomes ``candidate_id``.
    """
    path = Path(path)
    if path.suffix.lower() in {".geojson", ".json", ".gpkg", ".shp"}:
        gdf = gpd.read_file(path)
        if gdf.crs is None or not (gdf.geom_type == "Point").all() or gdf.empty:
            kinds = sorted(set(gdf.geom_type))
            msg = f"{path.name}: expected Point geometries with a CRS (got {kinds}, crs {gdf.crs})"
            raise InputFileError(msg)
        pts = gdf.geometry.to_crs(settings.wgs84_crs)
        ids = gdf["id"].astype(str).tolist() if "id" in gdf else None
        lon, lat = pts.x.to_numpy(), pts.y.to_numpy()
    else:
        df = read_table(path, sheet=sheet)
        cols = {c.strip().lower() for c in map(str, df.columns)}
        if not cols & {"name", "名称", "机构名称", "名字"}:
            df["name"] = [f"candidate {i + 2}" for i in range(len(df))]
        if not cols & {"type", "类型", "机构类型", "类别"}:
            df["type"] = "station"
        table = facilities_from_frame(
            df, source=path.name, coords_system=coords_system, strict=True,
            subdistricts=subdistricts,
        )  # fmt: skip
        lon, lat = table.gdf["lon"].to_numpy(float), table.gdf["lat"].to_numpy(float)
        ids = table.gdf["id"].astype(str).tolist()
    n = len(lon)
    out = _candidate_frame(
        lon, lat, source=[f"file: {path.name}"] * n, on_corridor=[False] * n,
        road_name=[None] * n, subdistricts=subdistricts, ids=ids,
    )  # fmt: skip
    if len(out) < n:
        msg = (
            f"{path.name}: {n - len(out)} of {n} candidate points lie outside every subdistrict; "
            "check their coordinates and coordinate system, or remove them"
        )
        raise InputFileError(msg)
    return out


# --- reach of candidates ----------------------------------------------------------------------


def _road_names(
    index: ReachIndex,
    xy: FloatArray,
    *,
    among: BoolArray | None = None,
    max_meters: float = DEFAULT_MAX_SNAP_METERS,
) -> list[str | None]:
    """The name of the nearest named road within ``max_meters`` (of the ``among`` segments)."""
    out: list[str | None] = [None] * len(xy)
    named = np.array([_name_text(v) is not None for v in index.seg_name], bool)
    if among is not None:
        named &= among
    segs = np.flatnonzero(named)
    if len(xy) == 0 or len(segs) == 0:
        return out
    tree = shapely.STRtree(index.seg_geom[segs])
    pi, si = tree.query_nearest(shapely.points(xy), max_distance=max_meters, all_matches=False)
    for i, s in zip(pi.tolist(), segs[si].tolist(), strict=True):
        out[i] = _name_text(index.seg_name[s])
    return out


def _safe_snap(index: ReachIndex, snap: Snap) -> Snap:
    """Move sources that sit on a segment's end onto a segment leading *into* that node.

    A source at a node (position 0 or 1 of its segment) is joined to that node at zero cost
    only if the segment may be travelled towards it; on a one-way segment leaving the node the
    zero-length link would be lost (0 × inf). Any segment entering the node gives the same
    reach, so one is chosen (two-way first).
    """
    at_u = (snap.seg >= 0) & (snap.frac <= 0.0)
    at_v = (snap.seg >= 0) & (snap.frac >= 1.0)
    seg, frac = snap.seg.copy(), snap.frac.copy()
    seg0 = np.maximum(snap.seg, 0)
    fix = np.flatnonzero(
        (at_u & np.isinf(index.bwd["time_s"][seg0])) | (at_v & np.isinf(index.fwd["time_s"][seg0]))
    )
    if len(fix) == 0:
        return snap
    entering = _entering_segments(index)
    for i in fix:
        node = int(index.seg_u[seg[i]] if at_u[i] else index.seg_v[seg[i]])
        if node in entering:
            seg[i], frac[i] = entering[node]
    return Snap(seg, frac, snap.access_m)


def _entering_segments(index: ReachIndex) -> dict[int, tuple[int, float]]:
    """Per node, a segment that can be travelled into it and the node's position on it."""
    out: dict[int, tuple[int, float]] = {}
    fwd_ok, bwd_ok = np.isfinite(index.fwd["time_s"]), np.isfinite(index.bwd["time_s"])
    for s in np.argsort(~(fwd_ok & bwd_ok), kind="stable"):  # two-way segments first
        if bwd_ok[s]:
            out.setdefault(int(index.seg_u[s]), (int(s), 0.0))
        if fwd_ok[s]:
            out.setdefault(int(index.seg_v[s]), (int(s), 1.0))
    return out


def _reach_radius(index: ReachIndex, kind: str, limit: float) -> float:
    """Straight-line distance beyond which nothing can be reached within ``limit``."""
    if kind == "length_m":
        return limit + 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        speeds = np.concatenate(
            [index.seg_len / index.fwd[kind], index.seg_len / index.bwd[kind],
             [1.0 / index.access_cost_per_m[kind]]]
        )  # fmt: skip
    vmax = float(np.nanmax(speeds[np.isfinite(speeds)]))
    return limit * vmax * 1.001 + 1.0


def _cover_matrix(
    index: ReachIndex,
    src: Snap,
    src_xy: FloatArray,
    pts: Snap,
    pts_xy: FloatArray,
    *,
    kind: str,
    limit: float,
) -> sp.csr_matrix:
    """Sources × points, True where the point is reached within ``limit`` (one Dijkstra each)."""
    n_src, n_pts = len(src.seg), len(pts.seg)
    on = np.flatnonzero(~pts.off_network)
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    if len(on) and n_src:
        dist, _ = cKDTree(pts_xy[on]).query(src_xy, k=1)
        near = np.flatnonzero((dist <= _reach_radius(index, kind, limit)) & (src.seg >= 0))
        with np.errstate(invalid="ignore"):  # 0 × inf in reach.py for points on segment ends
            for lo in range(0, len(near), _CHUNK):
                chunk = near[lo : lo + _CHUNK]
                node_cost = index.node_costs(src.take(chunk), kind, limit=limit, min_only=False)
                for r, j in enumerate(chunk):
                    cost = index.point_costs(node_cost[r], pts, kind, sources=src.take([j]))
                    hit = np.flatnonzero(cost <= limit)
                    rows.append(np.full(len(hit), j, np.int64))
                    cols.append(hit)
    r_all = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c_all = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    data = np.ones(len(r_all), bool)
    return sp.csr_matrix((data, (r_all, c_all)), shape=(n_src, n_pts))


def _straight_matrix(src_xy: FloatArray, pts_xy: FloatArray, limit: float) -> sp.csr_matrix:
    return (
        sp.csr_matrix(cdist(src_xy, pts_xy) <= limit)
        if len(src_xy)
        else sp.csr_matrix((0, len(pts_xy)), dtype=bool)
    )


# --- the prepared problem ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SiteProblem:
    """A site-selection instance on real geometry: candidates, coverage matrix, demand.

    Build once with :func:`site_problem`, then solve with different quotas or numbers of sites.

    Attributes
    ----------
    standard
        The accessibility standard the coverage matrix applies.
    candidates
        Candidate sites (:data:`CANDIDATE_COLUMNS`, WGS-84 points), row ``j`` = matrix row ``j``.
    cover
        Candidates × population points, True where the candidate reaches the point within the
        standard.
    weights
        Residents per population point.
    point_subdistrict
        Subdistrict code per population point.
    covered_before
        Points the existing counted facilities already reach (kept fixed).
    off_network
        Points farther than the snapping distance from every road (never covered).
    existing
        The counted existing facilities.
    network
        The network the matrix was computed on (None for the straight-line standard).
    subdistricts
        The subdistrict polygons used (code, name_zh, name_en).
    max_snap_meters
        Snapping distance used for points and sites.
    seconds
        Time to build the instance (candidates' reach).
    """

    standard: Standard
    candidates: gpd.GeoDataFrame
    cover: sp.csr_matrix
    weights: FloatArray
    point_subdistrict: npt.NDArray[np.object_]
    covered_before: BoolArray
    off_network: BoolArray
    existing: gpd.GeoDataFrame
    network: Network | None
    subdistricts: gpd.GeoDataFrame
    max_snap_meters: float
    seconds: float

    @property
    def coverable(self) -> BoolArray:
        """Points covered before or reachable from at least one candidate."""
        return self.covered_before | (np.asarray(self.cover.sum(axis=0)).ravel() > 0)


def _metric(gdf: gpd.GeoDataFrame) -> FloatArray:
    pts = gdf.geometry.to_crs(settings.wgs84_crs)
    return to_metric(pts.x.to_numpy(), pts.y.to_numpy()).reshape(-1, 2)


def _reach_of(
    standard: Standard,
    network: Network | None,
    src_xy: FloatArray,
    pts_xy: FloatArray,
    *,
    max_snap_meters: float,
) -> tuple[sp.csr_matrix, BoolArray]:
    """Coverage matrix of sources over points, and the points' off-network flags."""
    if standard.straight_line:
        return _straight_matrix(src_xy, pts_xy, standard.limit), np.zeros(len(pts_xy), bool)
    if network is None or network.mode != standard.mode:
        got = network.mode if network is not None else "none"
        msg = f"standard {standard.name} needs a {standard.mode} network, got {got}"
        raise SiteSelectionError(msg)
    index = reach_index(network)
    src = _safe_snap(index, index.snap(src_xy, max_snap_meters=max_snap_meters))
    pts = index.snap(pts_xy, max_snap_meters=max_snap_meters)
    cover = _cover_matrix(index, src, src_xy, pts, pts_xy, kind=standard.cost, limit=standard.limit)
    return cover, pts.off_network


def site_problem(
    standard: Standard,
    facilities: FacilityTable | gpd.GeoDataFrame,
    population: Population,
    *,
    network: Network | None,
    candidates: gpd.GeoDataFrame | None = None,
    candidate_spacing_m: float = DEFAULT_CANDIDATE_SPACING_M,
    max_snap_meters: float = DEFAULT_MAX_SNAP_METERS,
    subdistricts: gpd.GeoDataFrame | None = None,
) -> SiteProblem:
    """Build the coverage matrix of candidate sites over the population points.

    Parameters
    ----------
    standard
        From :func:`geo.standards.make_standard` (walk15 for stations, ems_time or ems_distance
        for substations).
    facilities
        All facilities; the standard's types (not closed) are the existing ones, kept fixed.
    population
        Weighted points; each point's own network reach is used, never polygons.
    network
        The standard's network (walk or drive); None only for ``straight_line``.
    candidates
        Candidate sites (e.g. :func:`read_candidates`, :func:`candidates_from_corridors`);
        default :func:`candidates_from_network` at ``candidate_spacing_m``.
    candidate_spacing_m
        Grid spacing of the default network-node candidates.
    max_snap_meters
        Points and sites farther than this from every road reach nothing.
    subdistricts
        Boundaries (default: the data pack's).
    """
    started = time.perf_counter()
    sub = boundaries.subdistricts(subdistricts)
    if candidates is None:
        if network is None:
            msg = "no candidates and no network: pass candidates= (a candidate file's points)"
            raise SiteSelectionError(msg)
        candidates = candidates_from_network(
            network, spacing_m=candidate_spacing_m, subdistricts=sub
        )
    candidates = _checked_candidates(candidates, sub)
    gdf_fac = facilities.gdf if isinstance(facilities, FacilityTable) else facilities
    existing = select_facilities(standard, gdf_fac)
    pts_xy = _metric(population.gdf)
    cover, off = _reach_of(
        standard, network, _metric(candidates), pts_xy, max_snap_meters=max_snap_meters
    )
    before, _ = _reach_of(
        standard, network, _metric(existing), pts_xy, max_snap_meters=max_snap_meters
    )
    problem = SiteProblem(
        standard=standard, candidates=candidates, cover=cover,
        weights=population.gdf["weight"].to_numpy(float),
        point_subdistrict=population.gdf["subdistrict_code"].to_numpy(object),
        covered_before=np.asarray(before.sum(axis=0)).ravel() > 0, off_network=off,
        existing=existing, network=network,
        subdistricts=sub[["code", "name_zh", "name_en"]].reset_index(drop=True),
        max_snap_meters=max_snap_meters, seconds=time.perf_counter() - started,
    )  # fmt: skip
    logger.info(
        "site problem (%s): %d candidates × %d points, %d pairs, %.2f s",
        standard.name, len(candidates), len(pts_xy), cover.nnz, problem.seconds,
    )  # fmt: skip
    return problem


def _checked_candidates(gdf: gpd.GeoDataFrame, sub: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Candidates with every column of :data:`CANDIDATE_COLUMNS` (missing ones derived)."""
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.crs is None:
        msg = "candidates must be a GeoDataFrame of points with a CRS (e.g. from read_candidates)"
        raise SiteSelectionError(msg)
    if len(gdf) == 0:
        msg = "no candidate sites: the candidate list is empty (or lies outside the district)"
        raise SiteSelectionError(msg)
    if all(c in gdf.columns for c in CANDIDATE_COLUMNS):
        return gdf.reset_index(drop=True)
    pts = gdf.geometry.to_crs(settings.wgs84_crs)
    n = len(gdf)

    def column(name: str, default: object) -> list[object]:
        return list(gdf[name].tolist()) if name in gdf else [default] * n

    return _candidate_frame(
        pts.x.to_numpy(),
        pts.y.to_numpy(),
        source=[str(v) for v in column("source", "given")],
        on_corridor=[bool(v) for v in column("on_corridor", False)],
        road_name=[None if v is None or v != v else str(v) for v in column("road_name", None)],
        subdistricts=sub,
        ids=[str(i) for i in column("candidate_id", None)] if "candidate_id" in gdf else None,
    )


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessStats:
    """Distance and response time from residents to their nearest site (EMS), vs the plan.

    Population-weighted over residents on the network who can reach a site at all; the others
    are counted apart. Distances are network metres (shortest by distance) and straight-line
    metres; response time = dispatch delay + drive time (fastest route).
    """

    residents: float
    unreachable_residents: float
    off_network_residents: float
    mean_distance_m: float
    p90_distance_m: float
    mean_straight_m: float
    p90_straight_m: float
    mean_response_min: float
    p90_response_min: float
    dispatch_delay_min: float
    plan_radius_km: float = plan.EMS_SERVICE_RADIUS_KM
    plan_response_min: float = plan.EMS_RESPONSE_MINUTES

    @property
    def meets_radius(self) -> bool:
        """Average network distance within the plan's average service radius."""
        return self.mean_distance_m <= self.plan_radius_km * 1000

    @property
    def meets_response(self) -> bool:
        """Average response time within the plan's average response time."""
        return self.mean_response_min <= self.plan_response_min

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, rounded."""
        out = {k: round(float(v), 1) for k, v in self.__dict__.items()}
        out["meets_radius"] = self.meets_radius
        out["meets_response"] = self.meets_response
        return out


@dataclass(frozen=True)
class SiteSuggestion:
    """Suggested sites and what they achieve.

    Attributes
    ----------
    standard
        The standard the sites were chosen for.
    sites
        The chosen sites, WGS-84 points: ``id``, ``name``, ``type`` (facility type code, so the
        frame can join a facility list), ``role`` (centre, station, substation), ``status``
        (``planned``), ``lon``, ``lat``, ``subdistrict_code``/``_zh``/``_en``, ``road_name``,
        ``on_corridor``, ``rank`` (1 = most residents newly covered), ``residents_reached`` (all
        residents within the standard of the site), ``residents_new`` (newly covered, counted in
        rank order: they add up to the gain), ``candidate_id``, ``source``.
    by_subdistrict
        Per unit and a district row: quota (or the required minimum), candidates, chosen,
        residents, covered before and after.
    objective_kind
        ``max_coverage`` or ``set_cover``.
    objective
        Residents newly covered (max coverage) or the number of sites (set cover).
    residents_total, residents_covered_before, residents_covered_after, residents_coverable
        Residents in all, covered by the existing facilities, covered with the new sites too,
        and covered before or reachable from some candidate (the most any choice could reach).
    solver_status, gap, bound, bound_source, method
        As in :class:`Solution`.
    seconds
        Wall-clock time of the whole suggestion (candidates' reach and solve).
    n_candidates
        Candidate sites considered.
    access
        EMS only: distance and response time to the nearest substation against the plan.
    notes
        What a planner should know (off-corridor candidates, unreachable residents, labels).
    """

    standard: Standard
    sites: gpd.GeoDataFrame
    by_subdistrict: pd.DataFrame
    objective_kind: str
    objective: float
    residents_total: float
    residents_covered_before: float
    residents_covered_after: float
    residents_coverable: float
    solver_status: str
    gap: float | None
    bound: float | None
    bound_source: str
    method: str
    seconds: float
    n_candidates: int
    access: AccessStats | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_sites(self) -> int:
        """Number of suggested sites."""
        return len(self.sites)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (what ``geo suggest --json`` prints)."""
        out: dict[str, Any] = {
            "standard": self.standard.name,
            "objective_kind": self.objective_kind,
            "n_sites": self.n_sites,
            "objective": round(self.objective, 1),
            "residents_total": round(self.residents_total),
            "residents_covered_before": round(self.residents_covered_before),
            "residents_covered_after": round(self.residents_covered_after),
            "residents_coverable": round(self.residents_coverable),
            "solver_status": self.solver_status,
            "gap": None if self.gap is None else round(self.gap, 6),
            "bound": None if self.bound is None else round(self.bound, 1),
            "bound_source": self.bound_source,
            "method": self.method,
            "seconds": round(self.seconds, 3),
            "n_candidates": self.n_candidates,
            "notes": list(self.notes),
        }
        if self.access is not None:
            out["access"] = self.access.to_dict()
        return out


# --- quotas -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Quota:
    """Sites per subdistrict (group order), of which centres, and where the numbers came from."""

    codes: tuple[str, ...]
    quotas: IntArray
    centres: IntArray
    label: str


def _count_arg(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 0:
        msg = f"{what}: expected a whole number ≥ 0, got {value!r}"
        raise SiteSelectionError(msg)
    return int(value)


def _resolve_quota(quota: QuotaSpec, sub: gpd.GeoDataFrame) -> _Quota | int:
    """``"plan"`` (Table 2), an int N (sites anywhere) or {unit: stations | (centres, stations)}."""
    if isinstance(quota, str):
        if quota != "plan":
            msg = f"quota={quota!r}: expected 'plan', a number of sites or {{unit: count}}"
            raise SiteSelectionError(msg)
        items: Mapping[str, int | tuple[int, int]] = plan.TABLE2_NEW_SITES
        label = "plan Table 2 (new centres + stations per unit)"
    elif isinstance(quota, Mapping):
        items, label = quota, "given per unit"
    else:
        n = _count_arg(quota, "quota")
        if n == 0:
            msg = "quota=0: ask for at least one site"
            raise SiteSelectionError(msg)
        return n
    per_code: dict[str, tuple[int, int]] = {}
    for name, value in items.items():
        row = boundaries.find_subdistrict(name, sub)
        c, s = value if isinstance(value, tuple) else (0, value)
        pair = (_count_arg(c, f"quota for {name}"), _count_arg(s, f"quota for {name}"))
        old = per_code.get(str(row["code"]), (0, 0))
        per_code[str(row["code"])] = (old[0] + pair[0], old[1] + pair[1])
    kept = {code: cs for code, cs in per_code.items() if sum(cs) > 0}
    if not kept:
        msg = "the quota asks for no site in any unit"
        raise SiteSelectionError(msg)
    codes = tuple(sorted(kept))
    return _Quota(
        codes=codes, quotas=np.array([sum(kept[c]) for c in codes], np.int64),
        centres=np.array([kept[c][0] for c in codes], np.int64), label=label,
    )  # fmt: skip


def _unit_names(codes: Sequence[str], sub: gpd.GeoDataFrame) -> list[str]:
    lookup = sub.set_index("code")["name_zh"]
    return [f"{lookup.get(c, c)} ({c})" for c in codes]


def _check_quota_room(
    q: _Quota, groups: IntArray, sub: gpd.GeoDataFrame, spacing_note: str
) -> None:
    have = np.bincount(groups[groups >= 0], minlength=len(q.codes))
    short = np.flatnonzero(have < q.quotas)
    if not len(short):
        return
    names = _unit_names(q.codes, sub)
    parts = [
        f"{names[g]}: quota {q.quotas[g]} new site(s) ({q.centres[g]} centre(s) + "
        f"{q.quotas[g] - q.centres[g]} station(s), {q.label}) but only {have[g]} candidate "
        "site(s) lie in it"
        for g in short
    ]
    msg = (
        "quota larger than the candidates: " + "; ".join(parts) + ". Lower the quota there, "
        f"supply more candidates (a candidate file){spacing_note}"
    )
    raise SiteSelectionError(msg)


# --- building a suggestion --------------------------------------------------------------------


def _rank_chosen(problem: SiteProblem, chosen: IntArray) -> tuple[IntArray, FloatArray]:
    """Order the chosen sites greedily by newly covered residents; return order and gains."""
    if len(chosen) == 0:
        return chosen, np.zeros(0)
    sub = problem.cover[chosen]
    p = len(chosen)
    picked, gains = greedy_curve(sub, problem.weights, p, already_covered=problem.covered_before)
    rest = [i for i in range(p) if i not in set(picked.tolist())]
    order = np.concatenate([picked, np.array(rest, np.int64)]).astype(np.int64)
    return chosen[order], np.concatenate([gains, np.zeros(len(rest))])


def _site_frame(
    problem: SiteProblem,
    chosen: IntArray,
    roles: Sequence[str],
) -> gpd.GeoDataFrame:
    """Chosen candidates as a facility-like frame, ranked by residents newly covered."""
    ranked, gains = _rank_chosen(problem, chosen)
    role_of = dict(zip(chosen.tolist(), roles, strict=True))
    cand = problem.candidates.iloc[ranked].reset_index(drop=True)
    reached = problem.cover[ranked].astype(float) @ problem.weights if len(ranked) else []
    df = pd.DataFrame(
        {
            "id": [f"suggested-{k + 1:02d}" for k in range(len(ranked))],
            "role": [role_of[int(j)] for j in ranked],
        }
    )
    df["type"] = df["role"].map(ROLE_TYPES)
    df["type_zh"] = df["type"].map(lambda t: FACILITY_TYPES[t].name_zh)
    df["name"] = [
        f"拟建{tz} {k + 1} (suggested {r})"
        for k, (tz, r) in enumerate(zip(df["type_zh"], df["role"], strict=True))
    ]
    df["status"] = "planned"
    for col in ("lon", "lat", "subdistrict_code", "subdistrict_zh", "subdistrict_en",
                "road_name", "on_corridor", "candidate_id", "source"):  # fmt: skip
        df[col] = cand[col].to_numpy()
    if problem.network is not None and df["road_name"].isna().any():
        missing = df["road_name"].isna().to_numpy()
        index = reach_index(problem.network)
        df.loc[missing, "road_name"] = _road_names(index, _metric(cand[missing]))
    df["rank"] = np.arange(1, len(df) + 1)
    df["residents_reached"] = np.asarray(reached, float)
    df["residents_new"] = gains
    return gpd.GeoDataFrame(
        df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=settings.wgs84_crs
    )


def _plan_roles(problem: SiteProblem, chosen: IntArray, groups: IntArray, q: _Quota) -> list[str]:
    """In each unit the ``centres`` sites reaching most residents are centres, the rest stations."""
    reached = problem.cover[chosen].astype(float) @ problem.weights
    roles = ["station"] * len(chosen)
    for g in range(len(q.codes)):
        mine = [i for i in range(len(chosen)) if groups[chosen[i]] == g]
        mine.sort(key=lambda i: (-reached[i], int(chosen[i])))
        for i in mine[: q.centres[g]]:
            roles[i] = "centre"
    return roles


def _by_subdistrict(
    problem: SiteProblem,
    covered_after: BoolArray,
    sites: gpd.GeoDataFrame,
    quota_of: Mapping[str, int],
    quota_name: str,
) -> pd.DataFrame:
    sub = problem.subdistricts
    by = pd.Series(problem.point_subdistrict)
    w = pd.Series(problem.weights)

    def per_unit(values: pd.Series) -> pd.Series:
        out: pd.Series = sub["code"].map(values.groupby(by.to_numpy()).sum()).fillna(0.0)
        return out

    table = sub[["code", "name_zh", "name_en"]].copy()
    table[quota_name] = table["code"].map(quota_of).fillna(0).astype(int)
    table["candidates"] = (
        table["code"]
        .map(problem.candidates["subdistrict_code"].value_counts())
        .fillna(0)
        .astype(int)
    )
    table["chosen"] = table["code"].map(sites["subdistrict_code"].value_counts()).fillna(0)
    table["chosen"] = table["chosen"].astype(int)
    table["residents"] = per_unit(w)
    table["covered_before"] = per_unit(w.where(problem.covered_before, 0.0))
    table["covered_after"] = per_unit(w.where(covered_after, 0.0))
    total = {"code": DISTRICT_CODE, "name_zh": "闵行区", "name_en": "Minhang District"}
    for col in table.columns[3:]:
        total[col] = table[col].sum()
    table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["share_before"] = table["covered_before"] / table["residents"]
        table["share_after"] = table["covered_after"] / table["residents"]
    out: pd.DataFrame = table
    return out


def _suggestion(
    problem: SiteProblem,
    sol: Solution,
    *,
    roles: Sequence[str],
    objective_kind: str,
    quota_of: Mapping[str, int],
    quota_name: str,
    started: float,
    notes: Sequence[str],
    access: AccessStats | None = None,
) -> SiteSuggestion:
    sites = _site_frame(problem, sol.chosen, roles)
    w = problem.weights
    covered_after = sol.covered
    extra = [
        f"{int(problem.off_network.sum())} population points ({w[problem.off_network].sum():,.0f}"
        f" residents) lie farther than {problem.max_snap_meters:g} m from every road: never "
        "covered"
    ] if problem.off_network.any() else []  # fmt: skip
    return SiteSuggestion(
        standard=problem.standard, sites=sites,
        by_subdistrict=_by_subdistrict(problem, covered_after, sites, quota_of, quota_name),
        objective_kind=objective_kind, objective=sol.objective, residents_total=float(w.sum()),
        residents_covered_before=float(w[problem.covered_before].sum()),
        residents_covered_after=float(w[covered_after].sum()),
        residents_coverable=float(w[problem.coverable].sum()), solver_status=sol.status,
        gap=sol.gap, bound=sol.bound, bound_source=sol.bound_source, method=sol.method,
        seconds=time.perf_counter() - started, n_candidates=len(problem.candidates),
        access=access, notes=tuple([*notes, *extra]),
    )  # fmt: skip


def suggest_sites(
    standard: Standard,
    facilities: FacilityTable | gpd.GeoDataFrame,
    population: Population,
    *,
    network: Network | None,
    quota: QuotaSpec = "plan",
    candidates: gpd.GeoDataFrame | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    candidate_spacing_m: float = DEFAULT_CANDIDATE_SPACING_M,
    method: Literal["exact", "greedy"] = "exact",
    max_snap_meters: float = DEFAULT_MAX_SNAP_METERS,
    subdistricts: gpd.GeoDataFrame | None = None,
    problem: SiteProblem | None = None,
) -> SiteSuggestion:
    """Suggest new sites that cover the most residents not yet covered (maximal covering).

    Parameters
    ----------
    standard
        Usually ``walk15``; new centres and stations count like the existing basic-level ones.
    facilities
        All facilities; the standard's types stay where they are.
    population
        Weighted population points.
    network
        The standard's network (the walk network for walk15).
    quota
        ``"plan"``: Table 2 per subdistrict (6 centres + 26 stations = 32 sites; centres and
        stations are one pool per unit, the sites reaching most residents labelled centres);
        an int N: N stations anywhere in the district; a dict {unit name or code: stations or
        (centres, stations)}: those units only.
    candidates
        Candidate sites (e.g. :func:`read_candidates`); default: walk-network nodes thinned to
        ``candidate_spacing_m``.
    time_limit_s
        CBC's time limit; beyond it the better of CBC's incumbent and greedy is kept, with the
        gap stated.
    candidate_spacing_m
        Grid spacing of the default candidates (metres).
    method
        ``exact`` (CBC) or ``greedy``.
    max_snap_meters
        Points and sites farther than this from every road reach nothing.
    subdistricts
        Boundaries (default: the data pack's).
    problem
        A prepared :func:`site_problem` to reuse (then the inputs above are not re-read).

    Raises
    ------
    SiteSelectionError
        A unit's quota larger than its candidates (the message names the unit, the quota and
        the candidates), an unknown quota form.
    UnknownSubdistrictError
        A unit named in a quota dict that does not exist.
    """
    started = time.perf_counter()
    if problem is None:
        problem = site_problem(
            standard, facilities, population, network=network, candidates=candidates,
            candidate_spacing_m=candidate_spacing_m, max_snap_meters=max_snap_meters,
            subdistricts=subdistricts,
        )  # fmt: skip
    q = _resolve_quota(quota, boundaries.subdistricts(subdistricts))
    solve = solve_mclp if method == "exact" else solve_greedy
    kwargs: dict[str, Any] = {"time_limit_s": time_limit_s} if method == "exact" else {}
    if isinstance(q, int):
        sol = solve(problem.cover, problem.weights, q, already_covered=problem.covered_before,
                    **kwargs)  # fmt: skip
        roles = ["station"] * len(sol.chosen)
        quota_of: dict[str, int] = {}
        notes = [f"{q} new stations anywhere in the district"]
    else:
        groups = _groups_for(problem, q.codes)
        spacing = "" if candidates is not None else (
            f" or use a smaller candidate spacing (now {candidate_spacing_m:g} m)"
        )  # fmt: skip
        _check_quota_room(q, groups, problem.subdistricts, spacing)
        sol = solve(
            problem.cover, problem.weights, list(q.quotas), groups=groups,
            already_covered=problem.covered_before,
            group_names=_unit_names(q.codes, problem.subdistricts), **kwargs,
        )  # fmt: skip
        roles = _plan_roles(problem, sol.chosen, groups, q)
        quota_of = dict(zip(q.codes, q.quotas.tolist(), strict=True))
        notes = [
            f"quota: {q.label}, {int(q.quotas.sum())} sites ({int(q.centres.sum())} centres); "
            "centres and stations reach the same residents under the standard, so they are one "
            "pool per unit and the sites reaching most residents are labelled centres"
        ]
    return _suggestion(
        problem, sol, roles=roles, objective_kind="max_coverage", quota_of=quota_of,
        quota_name="quota", started=started, notes=notes,
    )  # fmt: skip


def _groups_for(problem: SiteProblem, codes: Sequence[str]) -> IntArray:
    pos = {c: i for i, c in enumerate(codes)}
    return np.array([pos.get(str(c), -1) for c in problem.candidates["subdistrict_code"]], np.int64)


# --- EMS: ambulance substations ---------------------------------------------------------------


def _weighted_percentile(values: FloatArray, weights: FloatArray, q: float) -> float:
    """The smallest value with at least ``q`` % of the weight at or below it."""
    if len(values) == 0 or weights.sum() <= 0:
        return float("nan")
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, q / 100 * cum[-1] - 1e-9 * cum[-1])])


def access_stats(
    network: Network,
    sites: gpd.GeoDataFrame,
    population: Population,
    *,
    dispatch_delay_minutes: float = 2.0,
    max_snap_meters: float = DEFAULT_MAX_SNAP_METERS,
) -> AccessStats:
    """Distance and response time from every resident to the nearest site, on a drive network.

    Unlimited Dijkstra from all sites at once: network distance (shortest path by metres),
    drive time (fastest path, plus the access legs at :data:`geo.reach.DRIVE_ACCESS_SPEED_KMH`),
    and straight-line distance. Response time = ``dispatch_delay_minutes`` + drive time.
    Weighted by residents; residents off the network or unable to reach any site are counted
    apart, not averaged in.
    """
    if network.mode != "drive":
        msg = f"access statistics need the drive network, got {network.mode}"
        raise SiteSelectionError(msg)
    if len(sites) == 0:
        msg = "no sites to measure access to"
        raise SiteSelectionError(msg)
    index = reach_index(network)
    src_xy, pts_xy = _metric(sites), _metric(population.gdf)
    src = _safe_snap(index, index.snap(src_xy, max_snap_meters=max_snap_meters))
    pts = index.snap(pts_xy, max_snap_meters=max_snap_meters)
    costs = {}
    with np.errstate(invalid="ignore"):
        for kind in ("length_m", "time_s"):
            node_cost = index.node_costs(src, kind, limit=np.inf)
            costs[kind] = index.point_costs(node_cost, pts, kind, sources=src)
    w = population.gdf["weight"].to_numpy(float)
    ok = ~pts.off_network & np.isfinite(costs["length_m"]) & np.isfinite(costs["time_s"])
    straight = cdist(pts_xy, src_xy).min(axis=1)
    response = dispatch_delay_minutes + costs["time_s"] / 60
    wk = w[ok]
    return AccessStats(
        residents=float(wk.sum()),
        unreachable_residents=float(w[~pts.off_network & ~ok].sum()),
        off_network_residents=float(w[pts.off_network].sum()),
        mean_distance_m=float(np.average(costs["length_m"][ok], weights=wk)),
        p90_distance_m=_weighted_percentile(costs["length_m"][ok], wk, ACCESS_PERCENTILE),
        mean_straight_m=float(np.average(straight[ok], weights=wk)),
        p90_straight_m=_weighted_percentile(straight[ok], wk, ACCESS_PERCENTILE),
        mean_response_min=float(np.average(response[ok], weights=wk)),
        p90_response_min=_weighted_percentile(response[ok], wk, ACCESS_PERCENTILE),
        dispatch_delay_min=float(dispatch_delay_minutes),
    )  # fmt: skip


def required_units(
    require_subdistricts: Literal["plan", "none"] | Collection[str],
    existing: gpd.GeoDataFrame,
    sub: gpd.GeoDataFrame,
) -> list[str]:
    """Codes of the units that must get a new substation.

    ``"plan"``: every 街镇 (units named 街道 or 镇; 莘庄工业区 is not one) without an existing
    counted facility in the list; ``"none"``: no unit; or unit names/codes (all of them must
    get one, existing or not).
    """
    if isinstance(require_subdistricts, str):
        if require_subdistricts == "none":
            return []
        if require_subdistricts != "plan":
            msg = f"require_subdistricts={require_subdistricts!r}: expected 'plan', 'none' or units"
            raise SiteSelectionError(msg)
        have = set(existing["subdistrict_code"].dropna().astype(str)) if len(existing) else set()
        return sorted(
            str(r.code) for r in sub.itertuples()
            if str(r.name_zh).endswith(JIEZHEN_SUFFIXES) and str(r.code) not in have
        )  # fmt: skip
    return sorted({str(boundaries.find_subdistrict(u, sub)["code"]) for u in require_subdistricts})


def _off_corridor_candidates(
    network: Network,
    cand: gpd.GeoDataFrame,
    required: Sequence[str],
    *,
    allow: bool,
    spacing_m: float,
    sub: gpd.GeoDataFrame,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Add the drive-network nodes of required units no corridor candidate lies in."""
    missing = [c for c in required if c not in set(cand["subdistrict_code"])]
    if not missing:
        return cand, []
    names = _unit_names(missing, sub)
    if not allow:
        msg = (
            f"no corridor candidate lies in {', '.join(names)}, yet each must get a substation; "
            "allow off-corridor candidates there, give a candidate file, or drop the rule"
        )
        raise SiteSelectionError(msg)
    extra = candidates_from_network(network, spacing_m=spacing_m, subdistricts=sub)
    extra = extra[extra["subdistrict_code"].isin(missing)].copy()
    extra["source"] = "off-corridor drive-network node (no corridor passes through the unit)"
    combined = pd.concat([cand, extra], ignore_index=True)
    note = (
        f"no corridor passes through {', '.join(names)}: its drive-network nodes every "
        f"{spacing_m:g} m were added as candidates (on_corridor = False)"
    )
    return gpd.GeoDataFrame(combined, geometry="geometry", crs=settings.wgs84_crs), [note]


def suggest_substations(
    standard: Standard,
    facilities: FacilityTable | gpd.GeoDataFrame,
    population: Population,
    *,
    network: Network,
    objective: Literal["set_cover", "max_coverage"] = "set_cover",
    n_sites: int = plan.NEW_AMBULANCE_SUBSTATIONS,
    corridors: Sequence[Sequence[str]] | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    require_subdistricts: Literal["plan", "none"] | Collection[str] = "plan",
    off_corridor: bool = True,
    spacing_m: float = DEFAULT_CORRIDOR_SPACING_M,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    max_snap_meters: float = DEFAULT_MAX_SNAP_METERS,
    subdistricts: gpd.GeoDataFrame | None = None,
) -> SiteSuggestion:
    """Suggest ambulance substations on the EMS corridors.

    Parameters
    ----------
    standard
        ``ems_time`` (dispatch delay + drive time ≤ 12 min) or ``ems_distance`` (≤ 3.5 km).
    facilities
        All facilities; existing counted ones (ambulance substations) stay and count.
    population
        Weighted population points.
    network
        The drive network.
    objective
        ``set_cover``: the fewest substations so every resident any candidate can reach is
        within the standard; ``max_coverage``: ``n_sites`` substations covering the most
        residents.
    n_sites
        Substations for ``max_coverage`` (plan: 5 new or rebuilt).
    corridors
        Groups of road names to sample (default: the plan's seven, :func:`plan_corridors`).
    candidates
        Candidate sites instead of the corridor samples.
    require_subdistricts
        Units that must get one: ``"plan"`` (each 街镇 without an existing substation in the
        list), ``"none"`` or unit names/codes. See :func:`required_units`.
    off_corridor
        Where no corridor passes through a required unit, use its drive-network nodes as
        candidates (flagged); False: such a unit is an error.
    spacing_m
        Sampling interval along the corridors (and of off-corridor nodes).
    time_limit_s
        CBC's time limit.
    max_snap_meters
        Points and sites farther than this from every road reach nothing.
    subdistricts
        Boundaries (default: the data pack's).

    Returns
    -------
    SiteSuggestion
        With :attr:`SiteSuggestion.access`: average and 90th-percentile distance and response
        time from residents to the nearest substation (existing and new) against the plan.

    Raises
    ------
    SiteSelectionError
        ``max_coverage`` with fewer sites than required units; a required unit without any
        candidate when ``off_corridor`` is False; a corridor name not in the network.
    """
    started = time.perf_counter()
    sub = boundaries.subdistricts(subdistricts)
    gdf_fac = facilities.gdf if isinstance(facilities, FacilityTable) else facilities
    existing = select_facilities(standard, gdf_fac)
    required = required_units(require_subdistricts, existing, sub)
    notes: list[str] = []
    if candidates is None:
        candidates = candidates_from_corridors(network, corridors, spacing_m=spacing_m,
                                               subdistricts=sub)  # fmt: skip
        candidates, notes = _off_corridor_candidates(
            network, candidates, required, allow=off_corridor, spacing_m=spacing_m, sub=sub
        )
    problem = site_problem(
        standard, gdf_fac, population, network=network, candidates=candidates,
        max_snap_meters=max_snap_meters, subdistricts=sub,
    )  # fmt: skip
    codes = list(problem.subdistricts["code"].astype(str))
    groups = _groups_for(problem, codes)
    need = [1 if c in required else 0 for c in codes]
    names = _unit_names(codes, problem.subdistricts)
    if objective == "set_cover":
        sol = solve_set_cover(
            problem.cover, weights=problem.weights, groups=groups, min_per_group=need,
            already_covered=problem.covered_before, group_names=names, time_limit_s=time_limit_s,
        )  # fmt: skip
    elif objective == "max_coverage":
        _check_enough_sites(n_sites, required, problem.subdistricts)
        sol = solve_mclp(
            problem.cover, problem.weights, n_sites, groups=groups, min_per_group=need,
            already_covered=problem.covered_before, group_names=names, time_limit_s=time_limit_s,
        )  # fmt: skip
    else:
        msg = f"objective={objective!r}: expected 'set_cover' or 'max_coverage'"
        raise SiteSelectionError(msg)
    chosen = problem.candidates.iloc[sol.chosen]
    delay = float(standard.params.get("dispatch_delay_minutes", 2.0))
    access = access_stats(
        network, pd.concat([problem.existing[["geometry"]], chosen[["geometry"]]]),
        population, dispatch_delay_minutes=delay, max_snap_meters=max_snap_meters,
    )  # fmt: skip
    notes += _ems_notes(problem, required, existing)
    return _suggestion(
        problem, sol, roles=["substation"] * len(sol.chosen), objective_kind=objective,
        quota_of={c: 1 for c in required}, quota_name="required", started=started,
        notes=notes, access=access,
    )  # fmt: skip


def _check_enough_sites(n_sites: int, required: Sequence[str], sub: gpd.GeoDataFrame) -> None:
    n = _count_arg(n_sites, "n_sites")
    if n < len(required):
        msg = (
            f"n_sites={n} substations cannot give each of the {len(required)} required units one "
            f"({', '.join(_unit_names(required, sub))}): the plan's 'every 街镇 gets a "
            "substation' counts existing substations too. Raise n_sites, list the existing "
            "substations in the facility list (type ambulance_substation), or drop the rule "
            "(require_subdistricts='none'; on the command line --each-subdistrict none)"
        )
        raise SiteSelectionError(msg)


def _ems_notes(
    problem: SiteProblem, required: Sequence[str], existing: gpd.GeoDataFrame
) -> list[str]:
    w = problem.weights
    out = [
        f"{len(existing)} existing counted facilities "
        f"({', '.join(problem.standard.facility_types)}); {len(required)} unit(s) required to "
        "get a new one"
    ]
    never = ~problem.coverable & ~problem.off_network
    if never.any():
        out.append(
            f"{w[never].sum():,.0f} residents ({int(never.sum())} points) are beyond the standard "
            "from every candidate: no choice of these candidates covers them"
        )
    return out


# --- the one entry point ----------------------------------------------------------------------


def suggest(
    standard: Standard,
    facilities: FacilityTable | gpd.GeoDataFrame,
    population: Population,
    *,
    network: Network | None,
    params: RunParameters = DEFAULTS,
    quota: QuotaSpec = "plan",
    objective: Literal["set_cover", "max_coverage"] = "max_coverage",
    n_sites: int | None = None,
    require_subdistricts: Literal["plan", "none"] | Collection[str] = "none",
    corridors: Sequence[Sequence[str]] | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    off_corridor: bool = True,
    method: Literal["exact", "greedy"] = "exact",
    problem: SiteProblem | None = None,
) -> SiteSuggestion:
    """Suggest new sites for a standard: the one function behind the app, ``geo suggest`` and
    ``geo plan-scenario``, so the three give the same answer with the same defaults.

    ``walk15``: new community sites by maximal covering with ``quota`` (``"plan"`` = Table 2's
    32 sites per unit, or N). EMS standards: ambulance substations on the 三纵四横 corridors;
    by default the plan's reading — maximal coverage with ``params.ems_sites`` (5) new
    substations, no per-街镇 rule (``objective="set_cover"`` with
    ``require_subdistricts="plan"`` gives the fewest sites covering everyone coverable with one
    in each 街镇). Time limit, candidate spacing and snap distance come from ``params``.

    Raises
    ------
    SiteSelectionError
        A straight-line standard (no network), or a problem that cannot be solved as asked.
    """
    if network is None:
        msg = f"suggestion needs a network standard; {standard.name} is a straight-line radius"
        raise SiteSelectionError(msg)
    if standard.name == "walk15":
        return suggest_sites(
            standard, facilities, population, network=network, quota=quota,
            candidates=candidates, time_limit_s=params.solver_time_limit_s,
            candidate_spacing_m=params.candidate_spacing_m, method=method,
            max_snap_meters=params.max_snap_meters, problem=problem,
        )  # fmt: skip
    return suggest_substations(
        standard, facilities, population, network=network, objective=objective,
        n_sites=params.ems_sites if n_sites is None else n_sites, corridors=corridors,
        candidates=candidates, require_subdistricts=require_subdistricts,
        off_corridor=off_corridor, spacing_m=params.corridor_spacing_m,
        time_limit_s=params.solver_time_limit_s, max_snap_meters=params.max_snap_meters,
    )  # fmt: skip


# --- curves -----------------------------------------------------------------------------------

#: Columns of :func:`coverage_curve`'s table.
CURVE_COLUMNS: tuple[str, ...] = (
    "n_sites", "residents_covered", "resident_share", "marginal_residents", "method", "status",
    "gap", "lon", "lat", "subdistrict_zh", "road_name",
)  # fmt: skip


def coverage_curve(
    standard: Standard,
    facilities: FacilityTable | gpd.GeoDataFrame,
    population: Population,
    *,
    network: Network | None,
    n_max: int = PLAN_NEW_SITES,
    quota: QuotaSpec | None = None,
    method: Literal["greedy", "exact"] = "greedy",
    candidates: gpd.GeoDataFrame | None = None,
    candidate_spacing_m: float = DEFAULT_CANDIDATE_SPACING_M,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    problem: SiteProblem | None = None,
) -> pd.DataFrame:
    """Residents covered against the number of new sites, 0..``n_max``: the marginal value of each.

    ``greedy`` (default): one greedy run; row ``n`` adds one site to row ``n - 1`` (nested
    sets), so ``lon``/``lat`` say where the n-th site goes; with a ``quota`` ("plan" or a dict)
    the picks respect it and the curve stops when it is used up. Greedy values are lower bounds
    of the best possible for each n. ``exact``: one CBC solve per n (sites anywhere; sets need
    not be nested, so no site columns), with status and gap per row.

    Returns a table with :data:`CURVE_COLUMNS` (row 0 = existing facilities only): write it with
    ``to_csv``, chart ``residents_covered`` or ``marginal_residents`` against ``n_sites``.
    """
    if problem is None:
        problem = site_problem(
            standard, facilities, population, network=network, candidates=candidates,
            candidate_spacing_m=candidate_spacing_m,
        )  # fmt: skip
    n_max = min(_count_arg(n_max, "n_max"), len(problem.candidates))
    w = problem.weights
    before = float(w[problem.covered_before].sum())
    rows: list[dict[str, Any]] = [
        {"n_sites": 0, "residents_covered": before, "marginal_residents": 0.0, "method": method,
         "status": "existing"}
    ]  # fmt: skip
    if method == "exact":
        if quota is not None and not isinstance(quota, int):
            msg = "an exact curve is for sites anywhere: use method='greedy' with a quota"
            raise SiteSelectionError(msg)
        for n in range(1, n_max + 1):
            sol = solve_mclp(problem.cover, w, n, already_covered=problem.covered_before,
                             time_limit_s=time_limit_s)  # fmt: skip
            rows.append(
                {"n_sites": n, "residents_covered": before + sol.objective,
                 "method": "exact (CBC)", "status": sol.status, "gap": sol.gap}
            )  # fmt: skip
    else:
        rows += _greedy_rows(problem, n_max, quota)
    table = pd.DataFrame(rows).reindex(columns=list(CURVE_COLUMNS))
    table["marginal_residents"] = table["residents_covered"].diff().fillna(0.0)
    table["resident_share"] = table["residents_covered"] / w.sum() if w.sum() else np.nan
    return table


def _greedy_rows(problem: SiteProblem, n_max: int, quota: QuotaSpec | None) -> list[dict[str, Any]]:
    before = float(problem.weights[problem.covered_before].sum())
    q = _resolve_quota(quota, problem.subdistricts) if quota is not None else n_max
    if isinstance(q, int):
        picked, gains = greedy_curve(problem.cover, problem.weights, min(n_max, q),
                                     already_covered=problem.covered_before)  # fmt: skip
    else:
        groups = _groups_for(problem, q.codes)
        _check_quota_room(q, groups, problem.subdistricts, "")
        picked, gains = greedy_curve(
            problem.cover, problem.weights, n_max, groups=groups, quotas=list(q.quotas),
            already_covered=problem.covered_before,
        )  # fmt: skip
    cand = problem.candidates.iloc[picked]
    names = list(cand["road_name"])
    if problem.network is not None and any(n is None for n in names):
        names = _road_names(reach_index(problem.network), _metric(cand))
    cum = before + np.cumsum(gains)
    return [
        {"n_sites": k + 1, "residents_covered": float(cum[k]), "method": "greedy (nested)",
         "status": "greedy", "lon": float(cand["lon"].iloc[k]), "lat": float(cand["lat"].iloc[k]),
         "subdistrict_zh": cand["subdistrict_zh"].iloc[k], "road_name": names[k]}
        for k in range(len(picked))
    ]  # fmt: skip


# --- files ------------------------------------------------------------------------------------


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
    paths = [out / f"{stem}.csv", out / f"{stem}.gpkg", out / f"{stem}_by_subdistrict.csv",
             out / f"{stem}_summary.json"]  # fmt: skip
    if curve is not None:
        paths.append(out / f"{stem}_curve.csv")
    refuse_existing(paths, overwrite=overwrite)
    sites = suggestion.sites
    gpkg = sites.copy()
    gpkg["on_corridor"] = gpkg["on_corridor"].astype(bool)
    writers: list[Callable[[Path], object]] = [
        lambda tmp: sites.drop(columns="geometry").to_csv(tmp, index=False, encoding="utf-8-sig"),
        lambda tmp: gpkg.to_file(tmp, layer="sites", driver="GPKG"),
        lambda tmp: suggestion.by_subdistrict.to_csv(tmp, index=False, encoding="utf-8-sig"),
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


# --- benchmark --------------------------------------------------------------------------------


def bench_suggest(
    *,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The Table 2 instance on the Minhang walk network: exact (CBC) against greedy.

    Returns a JSON-ready dict: instance size and build time, then for each method the seconds,
    residents newly covered, status and gap; ``greedy_shortfall`` is the share of the exact
    optimum greedy misses.
    """
    from geo import facilities as fac_mod
    from geo import population as pop_mod
    from geo import standards
    from geo.network import load_network

    say = progress or (lambda _m: None)
    say("suggest: loading the walk network, facilities and population")
    walk = load_network("walk")
    fac, pop = fac_mod.facilities_from_pack(), pop_mod.population_from_addresses()
    std = standards.make_standard("walk15")
    say("suggest: building candidates and their reach")
    problem = site_problem(std, fac, pop, network=walk)
    say("suggest: greedy")
    greedy = suggest_sites(std, fac, pop, network=walk, problem=problem, method="greedy")
    say(f"suggest: exact (CBC, time limit {time_limit_s:g} s)")
    exact = suggest_sites(std, fac, pop, network=walk, problem=problem, time_limit_s=time_limit_s)
    shortfall = (exact.objective - greedy.objective) / exact.objective if exact.objective else 0.0
    return {
        "suggest_instance": "plan Table 2 quotas (32 sites), walk15, pack facilities, population",
        "suggest_candidates": exact.n_candidates,
        "suggest_population_points": len(problem.weights),
        "suggest_matrix_pairs": int(problem.cover.nnz),
        "suggest_build_s": round(problem.seconds, 3),
        "suggest_exact_s": round(exact.seconds, 3),
        "suggest_greedy_s": round(greedy.seconds, 3),
        "suggest_exact_objective": round(exact.objective, 1),
        "suggest_greedy_objective": round(greedy.objective, 1),
        "suggest_exact_status": exact.solver_status,
        "suggest_exact_gap": exact.gap,
        "suggest_exact_bound_source": exact.bound_source,
        "suggest_greedy_shortfall": round(shortfall, 6),
        "suggest_residents_before": round(exact.residents_covered_before),
        "suggest_residents_after_exact": round(exact.residents_covered_after),
        "suggest_residents_after_greedy": round(greedy.residents_covered_after),
        "suggest_time_limit_s": time_limit_s,
    }
