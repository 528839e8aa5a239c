"""Numeric solvers on a coverage matrix: greedy, maximal covering (CBC) and set covering.

No geometry: a coverage matrix and demand weights in, a :class:`~geo.optimize.instance.Solution`
out. :func:`solve_mclp` solves the maximal covering location problem exactly with CBC through
PuLP (greedy warm start, greedy fallback, a stated gap when the time limit stops it);
:func:`solve_greedy` and :func:`greedy_curve` pick greedily; :func:`solve_set_cover` finds the
fewest sites covering every coverable point, with at least so many per group. Before CBC sees a
problem, identical demand columns are merged and interchangeable candidates dropped. The method
and the measured figures are in ``docs/suggestion.md``.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pulp
import scipy.sparse as sp
from scipy.optimize import linprog

from geo._errors import SiteSelectionError
from geo.optimize.instance import (
    _BIG,
    BoolArray,
    CoverMatrix,
    FloatArray,
    IntArray,
    Solution,
    _Instance,
    _instance,
)
from geo.parameters import DEFAULTS

__all__ = ["DEFAULT_TIME_LIMIT_S", "greedy_curve", "solve_greedy", "solve_mclp", "solve_set_cover"]

logger = logging.getLogger(__name__)

#: Default time limit for one exact solve (seconds).
DEFAULT_TIME_LIMIT_S = DEFAULTS.solver_time_limit_s

_BOUND_RE = re.compile(r"^(Upper|Lower) bound:\s*([-+0-9.eE]+)", re.MULTILINE)


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
        cover,
        weights,
        p,
        groups=groups,
        min_per_group=min_per_group,
        already_covered=already_covered,
        group_names=group_names,
    )
    picked, _ = _greedy_pick(inst)
    value = _new_weight(inst, picked)
    bound = _lp_bound_max(inst) if lp_bound else None
    return Solution(
        chosen=np.array(picked, np.int64),
        objective=value,
        covered=_covered_by(inst.A, picked, inst.covered0),
        status="greedy",
        bound=bound,
        gap=_gap_max(value, bound),
        bound_source="lp_relaxation" if lp_bound else "none",
        method="greedy",
        seconds=time.perf_counter() - started,
    )


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
        cover,
        weights,
        p,
        groups=groups,
        min_per_group=None,
        already_covered=already_covered,
        group_names=None,
    )
    inst = _Instance(
        inst.A,
        inst.w_open,
        inst.covered0,
        inst.groups,
        inst.cap,
        np.zeros_like(inst.need),
        min(int(n_max), inst.total),
    )
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
            msg=False,
            timeLimit=max(float(time_limit_s), 0.01),
            threads=1,
            warmStart=warm,
            logPath=str(log),
        )
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
    warm_hit = _covered_by(
        red.B,
        [r for r in range(len(xs)) if int(red.cand[r]) in warm],
        np.zeros(red.B.shape[1], bool),
    )
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
        pulp.LpConstraint(
            pulp.LpAffineExpression([(x, 1.0) for x in xs]), pulp.LpConstraintLE, rhs=inst.total
        )
    )
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
        np.concatenate([np.zeros(n_x), -red.w]),
        A_ub=sp.vstack(rows).tocsr(),
        b_ub=np.concatenate(rhs),
        bounds=(0, 1),
        method="highs",
    )
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
        cover,
        weights,
        p,
        groups=groups,
        min_per_group=min_per_group,
        already_covered=already_covered,
        group_names=group_names,
    )
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
        chosen=np.array(chosen, np.int64),
        objective=value,
        covered=_covered_by(inst.A, chosen, inst.covered0),
        status=state,
        bound=bound,
        gap=_gap_max(value, bound),
        bound_source=source,
        method=method,
        seconds=time.perf_counter() - started,
    )


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
        np.ones(n_x),
        A_ub=sp.vstack(rows).tocsr(),
        b_ub=np.concatenate(rhs),
        bounds=(0, 1),
        method="highs",
    )
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
        cover,
        weights,
        n_need,
        groups=groups,
        min_per_group=min_per_group,
        already_covered=already_covered,
        group_names=group_names,
    )
    reachable = np.asarray(inst.A[inst.groups >= 0].sum(axis=0)).ravel() > 0
    must = (inst.w_open > 0) & reachable
    greedy = _greedy_set_cover(inst, must)
    if must.any() or inst.need.any():
        red = _reduce(
            _Instance(
                inst.A,
                must.astype(float),
                inst.covered0,
                inst.groups,
                inst.cap,
                inst.need,
                len(greedy),
            ),
            must,
            np.maximum(inst.need, 1),
            inst.need,
        )
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
        chosen=np.array(chosen, np.int64),
        objective=float(len(chosen)),
        covered=_covered_by(inst.A, chosen, inst.covered0),
        status=state,
        bound=bound,
        gap=_gap_min(float(len(chosen)), bound),
        bound_source=source,
        method="exact (CBC)" if state != "greedy_fallback" else "greedy (CBC fallback)",
        seconds=time.perf_counter() - started,
    )
