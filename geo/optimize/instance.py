"""The numeric core's input and output: a checked instance and the :class:`Solution`.

Pure numpy/scipy, no geometry. A coverage matrix (candidates × demand points, non-zero where the
candidate reaches the point within the standard), demand weights, the points already covered and
the per-group rules are checked once into an ``_Instance``, which every solver in
:mod:`geo.optimize.solvers` works on; the solvers return a :class:`Solution`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from geo._errors import SiteSelectionError

__all__ = ["BoolArray", "CoverMatrix", "Solution"]

# the same aliases as geo.reach's, defined here so the numeric core imports no geometry
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
CoverMatrix: TypeAlias = sp.spmatrix | sp.sparray | npt.ArrayLike

_BIG = np.iinfo(np.int64).max // 4


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
