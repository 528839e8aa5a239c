"""Site suggestion against optima worked out by hand and by brute force over every subset.

The numeric core is tested on coverage matrices written out by hand; the adapter on a straight
road laid out in UTM 51N metres (as in test_coverage), where who reaches whom is plain
arithmetic: walking at 4 km/h, 15 minutes = 900 s = 1,000 m of road.
"""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pulp
import pytest
import scipy.sparse as sp
import shapely
from pyproj import Transformer

from geo import coverage, optimize, plan
from geo._errors import SiteSelectionError
from geo.network import Network, NetworkReport
from geo.optimize import solvers
from geo.optimize.candidates import _safe_snap
from geo.optimize.substations import _weighted_percentile
from geo.population import Population
from geo.reach import Snap
from geo.standards import make_standard

TO_LONLAT = Transformer.from_crs(32651, 4326, always_xy=True)
X0, Y0 = 350_000.0, 3_440_000.0  # a UTM 51N origin inside Minhang
WALK_MPS = 4.0 / 3.6
DRIVE_MPS = 10.0


# --- the numeric core: hand instances ---------------------------------------------------------
#
# Demand points 0..5 (weight 1 each); candidate 0 is the "big middle" set that lures greedy:
#   C0 = {0, 1, 2, 3}, C1 = {0, 1, 4}, C2 = {2, 3, 5}
# p = 1: C0 covers 4 (the optimum). p = 2: greedy takes C0 (4), then C1 or C2 adds 1 → 5;
# the optimum is C1 + C2 = 6 (every point).
LURE = np.array(
    [
        [1, 1, 1, 1, 0, 0],
        [1, 1, 0, 0, 1, 0],
        [0, 0, 1, 1, 0, 1],
    ],
    bool,
)


def test_mclp_one_site_is_the_biggest_set():
    sol = optimize.solve_mclp(LURE, None, 1)
    assert sol.chosen.tolist() == [0]
    assert sol.objective == 4
    assert (sol.status, sol.gap, sol.bound_source) == ("optimal", 0.0, "optimal")


def test_mclp_two_sites_beats_greedy():
    exact = optimize.solve_mclp(LURE, None, 2)
    greedy = optimize.solve_greedy(LURE, None, 2)
    assert sorted(exact.chosen.tolist()) == [1, 2]
    assert exact.objective == 6 and exact.covered.all()
    assert greedy.chosen.tolist()[0] == 0  # the lure first
    assert greedy.objective == 5
    assert greedy.status == "greedy" and greedy.method == "greedy"


def test_mclp_accepts_sparse_and_weights():
    # weights 10 on point 4 and 5: C1 = 10 + 2 = 12 and C2 = 12 beat C0 = 4 for p = 1
    w = [1, 1, 1, 1, 10, 10]
    sol = optimize.solve_mclp(sp.csr_matrix(LURE), w, 1)
    assert sol.objective == 12
    assert sol.chosen.tolist() in ([1], [2])


def test_already_covered_points_do_not_count():
    # points 0-3 already covered: only 4 and 5 are worth anything; C0 gains nothing
    cov0 = np.array([True, True, True, True, False, False])
    sol = optimize.solve_mclp(LURE, None, 1, already_covered=cov0)
    assert sol.objective == 1
    assert sol.chosen.tolist() in ([1], [2])
    assert sol.covered.sum() == 5  # four before, one new


# Quotas that force a worse global pick. Points (weight): p0 (6), p1 (5), p2 (1), p3 (1).
#   group A: D0 = {p0}, D1 = {p1};  group B: D2 = {p2}, D3 = {p2, p3}
# Two sites anywhere: D0 + D1 = 11. One per group: D0 + D3 = 6 + 2 = 8 (D1 would give 7,
# D2 would give 1 instead of 2).
QUOTA_COVER = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]], bool)
QUOTA_W = [6.0, 5.0, 1.0, 1.0]
QUOTA_GROUPS = [0, 0, 1, 1]


def test_quota_forces_a_worse_global_pick():
    free = optimize.solve_mclp(QUOTA_COVER, QUOTA_W, 2)
    assert sorted(free.chosen.tolist()) == [0, 1] and free.objective == 11
    forced = optimize.solve_mclp(QUOTA_COVER, QUOTA_W, [1, 1], groups=QUOTA_GROUPS)
    assert sorted(forced.chosen.tolist()) == [0, 3] and forced.objective == 8
    greedy = optimize.solve_greedy(QUOTA_COVER, QUOTA_W, [1, 1], groups=QUOTA_GROUPS)
    assert sorted(greedy.chosen.tolist()) == [0, 3]


def test_quota_of_zero_and_ineligible_candidates():
    # group B gets nothing; D1 is not eligible (-1): the one site in A must be D0
    sol = optimize.solve_mclp(QUOTA_COVER, QUOTA_W, [1, 0], groups=[0, -1, 1, 1])
    assert sol.chosen.tolist() == [0] and sol.objective == 6


def test_quota_filled_even_when_nothing_is_left_to_gain():
    # every point already covered: any 2 + 1 sites are optimal, but the quotas are still met
    sol = optimize.solve_mclp(
        QUOTA_COVER, QUOTA_W, [1, 1], groups=QUOTA_GROUPS, already_covered=np.ones(4, bool)
    )
    assert sol.objective == 0 and sol.status == "optimal"
    assert len(sol.chosen) == 2
    assert sorted(np.asarray(QUOTA_GROUPS)[sol.chosen].tolist()) == [0, 1]


def test_minimum_per_group_with_a_total():
    # 2 sites in all, at least one in B: D0 + D3 = 8 (not D0 + D1 = 11)
    sol = optimize.solve_mclp(QUOTA_COVER, QUOTA_W, 2, groups=QUOTA_GROUPS, min_per_group=[0, 1])
    assert sorted(sol.chosen.tolist()) == [0, 3] and sol.objective == 8
    greedy = optimize.solve_greedy(
        QUOTA_COVER, QUOTA_W, 2, groups=QUOTA_GROUPS, min_per_group=[0, 1]
    )
    assert sorted(greedy.chosen.tolist()) == [0, 3]


def test_infeasible_quota_names_the_group():
    with pytest.raises(SiteSelectionError, match=r"颛桥镇: quota 3 but only 2 candidate"):
        optimize.solve_mclp(
            QUOTA_COVER, QUOTA_W, [1, 3], groups=QUOTA_GROUPS, group_names=["七宝镇", "颛桥镇"]
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p": [1, 1]}, r"quota per group needs `groups`"),
        ({"p": 5}, r"5 site\(s\) asked but only 4 candidates"),
        ({"p": 1, "min_per_group": [1, 1], "groups": QUOTA_GROUPS}, r"at least 2"),
        ({"p": -1}, r"whole numbers ≥ 0"),
        ({"p": 1, "weights": [1.0, 2.0]}, r"weights has shape \(2,\)"),
        ({"p": 1, "weights": [1.0, -1.0, 0.0, 0.0]}, r"finite and ≥ 0"),
        ({"p": 1, "groups": [0, 0, 5, 0], "min_per_group": [0, 1]}, r"groups must lie in"),
        ({"p": 1, "already_covered": [True]}, r"already_covered has shape"),
    ],
)
def test_bad_inputs(kwargs, match):
    args = {"weights": QUOTA_W, **kwargs}
    p = args.pop("p")
    with pytest.raises(SiteSelectionError, match=match):
        optimize.solve_mclp(QUOTA_COVER, args.pop("weights"), p, **args)


def brute_force(A: np.ndarray, w: np.ndarray, p: int, cov0: np.ndarray) -> float:
    """The best newly covered weight over every subset of p candidates."""
    best = 0.0
    for combo in itertools.combinations(range(A.shape[0]), p):
        hit = A[list(combo)].any(axis=0) & ~cov0
        best = max(best, float(w[hit].sum()))
    return best


@pytest.mark.parametrize("seed", range(12))
def test_exact_is_optimal_and_greedy_never_beats_it(seed):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(4, 10)), int(rng.integers(5, 25))
    A = rng.random((n, m)) < 0.3
    w = rng.integers(1, 20, m).astype(float)
    cov0 = rng.random(m) < 0.2
    p = int(rng.integers(1, n))
    exact = optimize.solve_mclp(A, w, p, already_covered=cov0)
    greedy = optimize.solve_greedy(A, w, p, already_covered=cov0, lp_bound=True)
    assert exact.objective == pytest.approx(brute_force(A, w, p, cov0))
    assert greedy.objective <= exact.objective + 1e-9
    assert greedy.bound is not None and greedy.bound >= exact.objective - 1e-6  # LP ≥ IP
    assert len(exact.chosen) == p and len(set(exact.chosen.tolist())) == p


@pytest.mark.parametrize("seed", range(6))
def test_exact_with_quotas_matches_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    n, m = 8, int(rng.integers(6, 20))
    A = rng.random((n, m)) < 0.35
    w = rng.integers(1, 9, m).astype(float)
    groups = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    best = 0.0
    for a in itertools.combinations(range(4), 2):
        for b in itertools.combinations(range(4, 8), 1):
            best = max(best, float(w[A[[*a, *b]].any(axis=0)].sum()))
    exact = optimize.solve_mclp(A, w, [2, 1], groups=groups)
    greedy = optimize.solve_greedy(A, w, [2, 1], groups=groups)
    assert exact.objective == pytest.approx(best)
    assert greedy.objective <= exact.objective + 1e-9
    assert sorted(groups[exact.chosen].tolist()) == [0, 0, 1]


def test_duplicate_candidates_and_demand_are_merged_without_changing_the_optimum():
    # three identical copies of C1 and C2 in one group: two sites still give 6
    A = np.vstack([LURE, LURE[[1, 1, 2, 2]]])
    sol = optimize.solve_mclp(A, None, 2)
    assert sol.objective == 6
    sol = optimize.solve_mclp(np.hstack([LURE, LURE]), None, 2)  # every point twice
    assert sol.objective == 12


def test_greedy_curve_is_nested_with_falling_gains():
    picked, gains = optimize.greedy_curve(LURE, None, 3)
    assert picked.tolist()[0] == 0
    assert gains.tolist()[:2] == [4.0, 1.0]
    assert np.all(np.diff(gains) <= 0)  # submodular: each extra site adds no more than the last
    assert gains.sum() == 6


# --- time limit, bounds and fallback ----------------------------------------------------------


def hard_instance() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((300, 400)) < 0.03, rng.random(400) * 100


def test_time_limit_gives_a_stated_gap():
    A, w = hard_instance()
    greedy = optimize.solve_greedy(A, w, 20)
    sol = optimize.solve_mclp(A, w, 20, time_limit_s=0.3)
    assert sol.objective >= greedy.objective - 1e-9  # greedy is the warm start and the floor
    assert sol.status in ("optimal", "time_limit")
    assert sol.bound is not None and sol.gap is not None
    assert sol.bound >= sol.objective
    assert sol.gap == pytest.approx((sol.bound - sol.objective) / sol.bound)
    if sol.status == "time_limit":
        assert sol.bound_source in ("cbc", "lp_relaxation")


def test_cbc_bound_is_read_when_stopped(monkeypatch):
    A, w = hard_instance()
    monkeypatch.setattr(
        solvers, "_cbc_solve", lambda *a, **k: (pulp.LpSolutionIntegerFeasible, 1e9)
    )
    sol = optimize.solve_mclp(A, w, 5)
    greedy = optimize.solve_greedy(A, w, 5)
    # the mocked CBC returns no values: the greedy choice is kept, the CBC bound is stated
    assert sol.status == "time_limit" and sol.bound_source == "cbc"
    assert sol.objective == pytest.approx(greedy.objective)
    assert sol.bound == 1e9
    assert sol.gap == pytest.approx(1 - greedy.objective / 1e9)


def test_greedy_fallback_uses_the_lp_bound(monkeypatch):
    A, w = hard_instance()
    monkeypatch.setattr(
        solvers, "_cbc_solve", lambda *a, **k: (pulp.LpSolutionNoSolutionFound, None)
    )
    sol = optimize.solve_mclp(A, w, 5)
    lp = optimize.solve_greedy(A, w, 5, lp_bound=True)
    assert sol.status == "greedy_fallback" and sol.method == "greedy (CBC fallback)"
    assert sol.bound_source == "lp_relaxation"
    assert sol.bound == pytest.approx(lp.bound)
    assert sol.bound is not None and sol.gap is not None
    assert sol.bound >= sol.objective and 0 <= sol.gap < 1
    with pytest.raises(SiteSelectionError, match="CBC returned no solution"):
        optimize.solve_mclp(A, w, 5, fallback=False)


# --- set covering -----------------------------------------------------------------------------
#
# Points 0..6; point 6 is reached by nobody. S0 = {0,1,2,3}, S1 = {0,1,4}, S2 = {2,3,5},
# S3 = {4}: every coverable point (0-5) needs S1 and S2 (4 needs S1 or S3, 5 needs S2; S2 and
# S1/S3 leave 0, 1 to S0 or S1) → the minimum is {S1, S2}, 2 sites.
SET_COVER = np.array(
    [
        [1, 1, 1, 1, 0, 0, 0],
        [1, 1, 0, 0, 1, 0, 0],
        [0, 0, 1, 1, 0, 1, 0],
        [0, 0, 0, 0, 1, 0, 0],
    ],
    bool,
)


def test_set_cover_is_minimal():
    sol = optimize.solve_set_cover(SET_COVER)
    assert sorted(sol.chosen.tolist()) == [1, 2]
    assert sol.objective == 2 and sol.status == "optimal" and sol.gap == 0
    assert sol.covered.tolist() == [True] * 6 + [False]  # point 6: no candidate reaches it


def test_set_cover_with_one_per_group():
    # S0 alone in group 0 must be taken: S0 + S1 + S2 = 3 (S0 + S1 leave 5; S0 + S2 leave 4)
    sol = optimize.solve_set_cover(SET_COVER, groups=[0, 1, 1, 1], min_per_group=[1, 1])
    assert sorted(sol.chosen.tolist()) == [0, 1, 2] and sol.objective == 3


def test_set_cover_ignores_zero_weights_and_covered_points():
    # point 5 weighs nothing and 4 is covered already: S0 alone covers 0-3
    w = [1, 1, 1, 1, 1, 0, 1]
    cov0 = [False, False, False, False, True, False, False]
    sol = optimize.solve_set_cover(SET_COVER, weights=w, already_covered=cov0)
    assert sol.chosen.tolist() == [0]


def test_set_cover_infeasible_group():
    with pytest.raises(SiteSelectionError, match=r"B: at least 2 but only 1 candidate"):
        optimize.solve_set_cover(
            SET_COVER, groups=[0, 1, 0, 0], min_per_group=[0, 2], group_names=["A", "B"]
        )


# --- the adapter on a hand-built road ---------------------------------------------------------
#
#   x=0        1000      2000      3000      4000      5000   (metres east of X0, all at y=500)
#   F-----------+---------+---------+---------+---------+    one two-way road "测试路"
#        P1         P2  a    | P3 c                P4 d
#   unit "1" = x 0..2000      | unit "2" = x 2000..5000
#
# F: existing chc at x=0 → reaches x ≤ 1,000 (900 s at 4 km/h).
# Points (weight): P1 x=500 (100, covered before), P2 x=1500 (200), P3 x=2500 (600),
# P4 x=4500 (800). Candidates: a x=1600 (unit 1) reaches 600..2600 → P2, P3 = 800 new;
# c x=2600 (unit 2) reaches 1600..3600 → P3 = 600; d x=4400 (unit 2) reaches 3400..5400 → P4
# = 800. Two sites anywhere: a + d = 1,600 (c + d = 1,400, a + c = 800). Quota two in unit 2:
# c + d = 1,400, a worse global pick.


def lonlat(x: float, y: float = 500.0) -> tuple[float, float]:
    lon, lat = TO_LONLAT.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


def rectangle(x_min: float, x_max: float) -> shapely.Polygon:
    return shapely.Polygon(
        [lonlat(x, y) for x, y in [(x_min, 0), (x_max, 0), (x_max, 1000), (x_min, 1000)]]
    )


UNITS = gpd.GeoDataFrame(
    {
        "code": ["1", "2"],
        "name_zh": ["一号街道", "二号镇"],
        "name_en": ["Unit One", "Unit Two"],
        "boundary_status": ["surveyed", "surveyed"],
    },
    geometry=[rectangle(0, 2000), rectangle(2000, 5000)],
    crs="EPSG:4326",
)


def road_network(mode: str, mps: float, key: str, *, side_road: bool = False) -> Network:
    G = nx.MultiDiGraph(crs="EPSG:4326")
    xs = [0.0, 1000.0, 2000.0, 3000.0, 4000.0, 5000.0]
    for i, x in enumerate(xs):
        lon, lat = lonlat(x)
        G.add_node(i, x=lon, y=lat)
    roads = [(i, i + 1, "测试路", 1000.0) for i in range(5)]
    if side_road:  # a road north from x=3000 with another name
        lon, lat = lonlat(3000.0, 900.0)
        G.add_node(9, x=lon, y=lat)
        roads.append((3, 9, "支路", 400.0))
    for u, v, name, length in roads:
        for a, b in ((u, v), (v, u)):
            G.add_edge(a, b, length=length, travel_time=length / mps, name=name)
    report = NetworkReport(
        mode=mode,
        nodes=G.number_of_nodes(),
        edges=G.number_of_edges(),
        length_km=5.0,
        components=1,
        largest_component_share=1.0,
        repair_connectors=0,
        repair_length_km=0.0,
        noded_crossings=0,
        dropped_islands=0,
        dropped_island_km=0.0,
        source="hand-built road",
        source_date="2026-01-01",
        params={"walk_speed_kmh": 4.0} if mode == "walk" else {},
    )
    return Network(G=G, report=report, mode=mode, key=f"test-optimize-{key}")


def points(rows: list[tuple[float, float, str]]) -> Population:
    df = pd.DataFrame(rows, columns=["x", "weight", "subdistrict_code"])
    geometry = [shapely.Point(lonlat(x)) for x in df["x"]]
    gdf = gpd.GeoDataFrame(df[["weight", "subdistrict_code"]], geometry=geometry, crs=4326)
    return Population(gdf=gdf, source="hand-placed test points")


POP = points(
    [(500.0, 100.0, "1"), (1500.0, 200.0, "1"), (2500.0, 600.0, "2"), (4500.0, 800.0, "2")]
)
FACILITIES = gpd.GeoDataFrame(
    {
        "id": ["F"],
        "name": ["existing centre"],
        "type": ["chc"],
        "status": ["existing"],
        "subdistrict_code": ["1"],
    },
    geometry=[shapely.Point(lonlat(0.0))],
    crs=4326,
)
CANDIDATES = gpd.GeoDataFrame(
    {"candidate_id": ["a", "c", "d"]},
    geometry=[shapely.Point(lonlat(x)) for x in (1600.0, 2600.0, 4400.0)],
    crs=4326,
)
WALK15 = make_standard("walk15")


@pytest.fixture(scope="module")
def walk() -> Network:
    return road_network("walk", WALK_MPS, "walk")


@pytest.fixture(scope="module")
def problem(walk) -> optimize.SiteProblem:
    return optimize.site_problem(
        WALK15, FACILITIES, POP, network=walk, candidates=CANDIDATES, subdistricts=UNITS
    )


def test_problem_matrix_by_hand(problem):
    assert problem.candidates["candidate_id"].tolist() == ["a", "c", "d"]
    assert problem.candidates["subdistrict_code"].tolist() == ["1", "2", "2"]
    assert problem.cover.toarray().tolist() == [
        [False, True, True, False],
        [False, False, True, False],
        [False, False, False, True],
    ]
    assert problem.covered_before.tolist() == [True, False, False, False]
    assert problem.coverable.all()


def suggest(problem: optimize.SiteProblem, quota, **kw) -> optimize.SiteSuggestion:
    return optimize.suggest_sites(
        WALK15,
        FACILITIES,
        POP,
        network=None,
        quota=quota,
        problem=problem,
        subdistricts=UNITS,
        **kw,
    )


def test_suggest_two_sites_anywhere(problem):
    result = suggest(problem, 2)
    assert result.sites["candidate_id"].tolist() == ["a", "d"]  # ranked: 800 then 800 (a first)
    assert result.objective == 1600
    assert result.residents_covered_before == 100
    assert result.residents_covered_after == 1700
    assert result.residents_total == 1700 and result.residents_coverable == 1700
    assert result.solver_status == "optimal" and result.gap == 0
    assert result.sites["residents_new"].sum() == result.objective
    assert result.sites["residents_reached"].tolist() == [800.0, 800.0]
    assert result.sites["role"].tolist() == ["station", "station"]
    assert result.sites["type"].tolist() == ["station", "station"]
    assert result.sites["road_name"].tolist() == ["测试路", "测试路"]
    assert result.sites["subdistrict_zh"].tolist() == ["一号街道", "二号镇"]
    lon, lat = lonlat(1600.0)
    assert result.sites["lon"].iloc[0] == pytest.approx(lon, abs=1e-9)
    assert result.sites["lat"].iloc[0] == pytest.approx(lat, abs=1e-9)
    summary = result.summary()
    for key in (
        "n_sites",
        "residents_covered_before",
        "residents_covered_after",
        "solver_status",
        "seconds",
    ):
        assert key in summary
    assert summary["n_sites"] == 2


def test_quota_in_one_unit_forces_a_worse_pick(problem):
    result = suggest(problem, {"二号镇": 2})
    assert sorted(result.sites["candidate_id"]) == ["c", "d"]
    assert result.objective == 1400
    table = result.by_subdistrict.set_index("code")
    assert table.loc["2", "quota"] == 2 and table.loc["2", "chosen"] == 2
    assert table.loc["1", "quota"] == 0 and table.loc["1", "chosen"] == 0
    # unit 2: P3 + P4 = 1,400 residents, none covered before, all after
    assert (table.loc["2", "residents"], table.loc["2", "covered_before"]) == (1400, 0)
    assert table.loc["2", "covered_after"] == 1400
    assert table.loc["310112", "covered_after"] == 1500  # + P1 covered before


def test_centres_are_the_sites_reaching_most(problem):
    # one centre + one station in unit 2: c reaches 600, d reaches 800 → d is the centre
    result = suggest(problem, {"2": (1, 1)})
    roles = dict(zip(result.sites["candidate_id"], result.sites["role"], strict=True))
    assert roles == {"d": "centre", "c": "station"}
    types = dict(zip(result.sites["candidate_id"], result.sites["type"], strict=True))
    assert types == {"d": "branch", "c": "station"}


def test_quota_larger_than_candidates_is_a_clear_error(problem):
    with pytest.raises(
        SiteSelectionError,
        match=r"一号街道 \(1\): quota 2 new site\(s\).*only 1 candidate site\(s\) lie in it",
    ):
        suggest(problem, {"一号街道": 2})


def test_unknown_quota_forms(problem):
    with pytest.raises(SiteSelectionError, match="expected 'plan', a number of sites"):
        suggest(problem, "table2")
    with pytest.raises(SiteSelectionError, match="at least one site"):
        suggest(problem, 0)
    with pytest.raises(KeyError, match="unknown subdistrict"):
        suggest(problem, {"三号街道": 1})


def test_greedy_method_and_its_order(problem):
    result = suggest(problem, 2, method="greedy")
    assert result.solver_status == "greedy" and result.objective == 1600


def test_after_agrees_with_compute_coverage(problem, walk):
    """Adding the suggested sites as planned stations gives the same covered residents."""
    result = suggest(problem, 2)
    sites = result.sites[["id", "name", "type", "status", "subdistrict_code", "geometry"]]
    both = pd.concat([FACILITIES, sites], ignore_index=True)
    cov = coverage.compute_coverage(
        WALK15, gpd.GeoDataFrame(both, crs=4326), POP, network=walk, subdistricts=UNITS
    )
    assert cov.district()["covered_residents"] == pytest.approx(result.residents_covered_after)
    before = coverage.compute_coverage(WALK15, FACILITIES, POP, network=walk, subdistricts=UNITS)
    assert before.district()["covered_residents"] == result.residents_covered_before


def test_default_candidates_are_network_nodes(walk):
    cand = optimize.candidates_from_network(walk, spacing_m=200, subdistricts=UNITS)
    # six nodes, one per 200 m cell; x=2000 lies on both units' shared edge (either unit)
    assert len(cand) == 6
    codes = cand["subdistrict_code"].tolist()
    assert codes[:2] == ["1", "1"] and codes[3:] == ["2", "2", "2"] and codes[2] in ("1", "2")
    assert set(cand["road_name"]) == {"测试路"}
    # node x=2000 reaches 1000..3000 → P2 + P3 = 800; node x=4000 → P4 = 800: one site, 800
    result = optimize.suggest_sites(
        WALK15, FACILITIES, POP, network=walk, quota=1, subdistricts=UNITS
    )
    assert result.objective == 800 and result.n_candidates == 6
    with pytest.raises(SiteSelectionError, match=r"candidate_spacing_m=1\.0 m is out of range"):
        optimize.candidates_from_network(walk, spacing_m=1.0, subdistricts=UNITS)


def test_coverage_curve_greedy_and_exact(problem):
    curve = optimize.coverage_curve(WALK15, FACILITIES, POP, network=None, n_max=3, problem=problem)
    assert list(curve.columns) == list(optimize.CURVE_COLUMNS)
    assert curve["n_sites"].tolist() == [0, 1, 2, 3]
    assert curve["residents_covered"].tolist() == [100, 900, 1700, 1700]
    assert curve["marginal_residents"].tolist() == [0, 800, 800, 0]
    assert curve["resident_share"].iloc[2] == pytest.approx(1.0)
    exact = optimize.coverage_curve(
        WALK15, FACILITIES, POP, network=None, n_max=2, problem=problem, method="exact"
    )
    assert exact["residents_covered"].tolist() == [100, 900, 1700]
    assert exact["status"].tolist() == ["existing", "optimal", "optimal"]
    with pytest.raises(SiteSelectionError, match="exact curve is for sites anywhere"):
        optimize.coverage_curve(
            WALK15,
            FACILITIES,
            POP,
            network=None,
            problem=problem,
            method="exact",
            quota={"2": 1},
        )


def test_curve_with_quota_stops_when_used_up(problem):
    curve = optimize.coverage_curve(
        WALK15, FACILITIES, POP, network=None, n_max=5, problem=problem, quota={"2": 2}
    )
    # unit 2 only: d (800) then c (600)
    assert curve["residents_covered"].tolist() == [100, 900, 1500]


def test_files_are_written_and_not_overwritten(problem, tmp_path):
    result = suggest(problem, 2)
    curve = optimize.coverage_curve(WALK15, FACILITIES, POP, network=None, problem=problem)
    paths = optimize.suggestion_to_files(result, tmp_path, stem="t", curve=curve)
    assert [p.name for p in paths] == [
        "t.csv",
        "t.gpkg",
        "t_by_subdistrict.csv",
        "t_summary.json",
        "t_curve.csv",
        "t_metadata.txt",
        "t_by_subdistrict_metadata.txt",
        "t_curve_metadata.txt",
    ]
    back = pd.read_csv(paths[0], encoding="utf-8-sig", dtype={"街镇代码": str})
    assert back["候选点编号"].tolist() == ["a", "d"]  # readable: headers in 中文
    assert back["街镇"].tolist() == ["一号街道", "二号镇"]
    assert back["新增覆盖人口"].dtype == np.int64  # whole residents
    units = pd.read_csv(paths[2], encoding="utf-8-sig")
    district = units.iloc[-1]  # shares in percent, worked from the table's own counts
    expected = round(100 * district["新覆盖人口"] / district["常住人口"], 2)
    assert district["新人口覆盖率 %"] == pytest.approx(expected, abs=0.01)
    assert paths[5].read_text(encoding="utf-8").startswith("数据来源\n")  # the sidecar
    gpkg = gpd.read_file(paths[1], layer="sites")
    assert len(gpkg) == 2 and gpkg.crs.to_epsg() == 4326
    with pytest.raises(FileExistsError, match="already exist"):
        optimize.suggestion_to_files(result, tmp_path, stem="t")
    optimize.suggestion_to_files(result, tmp_path, stem="t", overwrite=True)


def test_read_candidates_from_csv(tmp_path):
    lon, lat = lonlat(1600.0)
    path = tmp_path / "sites.csv"
    path.write_text(f"编号,经度,纬度\nA1,{lon},{lat}\n", encoding="utf-8")
    cand = optimize.read_candidates(path)
    assert cand["candidate_id"].tolist() == ["A1"]
    assert cand["source"].tolist() == ["file: sites.csv"]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"经度,纬度\n{lat},{lon}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="swap lon/lat"):
        optimize.read_candidates(bad)


# --- EMS on a hand-built drive network --------------------------------------------------------
#
# Same road and points, driven at 10 m/s, standard: network distance ≤ 1.1 km. Corridor
# "测试路" sampled every 300 m: x = 0, 300, ..., 4800 (17 samples; the side road "支路" is not
# sampled). A site reaching P1, P2 and P3 must lie within 1.1 km of x=500 and x=2500:
# x ∈ [1400, 1600], i.e. the sample x=1500; P4 needs one in [3400, 5000]. No single site covers
# P1 and P4 (4 km apart): the set cover has 2 sites, one in each unit.

EMS = make_standard("ems_distance", km=1.1)


@pytest.fixture(scope="module")
def drive() -> Network:
    return road_network("drive", DRIVE_MPS, "drive", side_road=True)


def test_corridor_candidates(drive):
    cand = optimize.candidates_from_corridors(drive, [("测试路",)], subdistricts=UNITS)
    x = np.round(
        [
            Transformer.from_crs(4326, 32651, always_xy=True).transform(lo, la)[0] - X0
            for lo, la in zip(cand["lon"], cand["lat"], strict=True)
        ]
    )
    assert sorted(x.tolist()) == [300.0 * k for k in range(17)]
    assert cand["on_corridor"].all() and set(cand["road_name"]) == {"测试路"}
    assert set(cand["source"]) == {"corridor: 测试路"}
    with pytest.raises(SiteSelectionError, match="corridor '无名路': no road"):
        optimize.candidates_from_corridors(drive, [("无名路",)], subdistricts=UNITS)


def substations(drive, **kw) -> optimize.SiteSuggestion:
    return optimize.suggest_substations(
        EMS, FACILITIES, POP, network=drive, corridors=[("测试路",)], subdistricts=UNITS, **kw
    )


def test_substations_set_cover(drive):
    result = substations(drive)
    assert result.objective_kind == "set_cover" and result.objective == 2
    assert result.residents_covered_after == 1700
    assert sorted(result.sites["subdistrict_code"]) == ["1", "2"]
    assert (result.sites["type"] == "ambulance_substation").all()
    first = result.sites.set_index("subdistrict_code").loc["1"]
    assert first["lon"] == pytest.approx(lonlat(1500.0)[0], abs=1e-9)
    table = result.by_subdistrict.set_index("code")
    assert table.loc["1", "required"] == 1 and table.loc["2", "required"] == 1
    assert result.access is not None and result.access.residents == 1700


def test_substations_max_coverage(drive):
    # one site, no rule: x=1500 covers P1 + P2 + P3 = 900 > P4's 800
    one = substations(drive, objective="max_coverage", n_sites=1, require_subdistricts="none")
    assert one.objective == 900
    with pytest.raises(SiteSelectionError, match=r"n_sites=1 substations cannot give each of"):
        substations(drive, objective="max_coverage", n_sites=1)
    with pytest.raises(SiteSelectionError, match="objective='most'"):
        substations(drive, objective="most")


def test_required_units_follow_the_plan():
    # "plan": units named 街道 or 镇 without an existing substation; 莘庄工业区-like units not
    units = UNITS.copy()
    units.loc[1, "name_zh"] = "二号工业区"
    assert optimize.required_units("plan", FACILITIES.iloc[:0], units) == ["1"]
    assert optimize.required_units("none", FACILITIES, units) == []
    assert optimize.required_units(["二号工业区"], FACILITIES, units) == ["2"]
    station = FACILITIES.assign(type="ambulance_substation", subdistrict_code="1")
    assert optimize.required_units("plan", station, UNITS) == ["2"]


def test_off_corridor_candidates_for_units_without_a_corridor(drive):
    # the corridor "支路" lies in unit 2 only: unit 1 gets its drive nodes as candidates
    res = optimize.suggest_substations(
        EMS, FACILITIES, POP, network=drive, corridors=[("支路",)], subdistricts=UNITS
    )
    assert any("no corridor passes through 一号街道 (1)" in n for n in res.notes)
    in_one = res.sites[res.sites["subdistrict_code"] == "1"]
    assert len(in_one) >= 1 and not in_one["on_corridor"].any()
    with pytest.raises(SiteSelectionError, match=r"no corridor candidate lies in 一号街道 \(1\)"):
        optimize.suggest_substations(
            EMS,
            FACILITIES,
            POP,
            network=drive,
            corridors=[("支路",)],
            subdistricts=UNITS,
            off_corridor=False,
        )


def test_access_stats_by_hand(drive):
    # sites at x=1500 and x=4500: distances P1 1,000, P2 0, P3 1,000, P4 0 m
    # mean = (100 + 600) × 1,000 / 1,700; 90% of 1,700 = 1,530 falls in the 1,000 m group
    sites = gpd.GeoDataFrame(
        geometry=[shapely.Point(lonlat(1500.0)), shapely.Point(lonlat(4500.0))], crs=4326
    )
    stats = optimize.access_stats(drive, sites, POP, dispatch_delay_minutes=2.0)
    assert stats.mean_distance_m == pytest.approx(700_000 / 1700, rel=1e-6)
    assert stats.p90_distance_m == pytest.approx(1000.0, rel=1e-6)
    assert stats.mean_straight_m == pytest.approx(700_000 / 1700, rel=1e-6)
    # 1,000 m at 10 m/s = 100 s; response = 2 min + drive time
    assert stats.mean_response_min == pytest.approx(2 + 700 * 100 / 60 / 1700, rel=1e-6)
    assert stats.p90_response_min == pytest.approx(2 + 100 / 60, rel=1e-6)
    assert stats.meets_radius and stats.meets_response
    assert stats.to_dict()["plan_radius_km"] == plan.EMS_SERVICE_RADIUS_KM
    with pytest.raises(SiteSelectionError, match="need the drive network"):
        optimize.access_stats(road_network("walk", WALK_MPS, "walk"), sites, POP)


def test_weighted_percentile():
    values, weights = np.array([3.0, 1.0, 2.0]), np.array([1.0, 1.0, 8.0])
    assert _weighted_percentile(values, weights, 90) == 2.0
    assert _weighted_percentile(values, weights, 95) == 3.0
    assert math.isnan(_weighted_percentile(np.zeros(0), np.zeros(0), 90))


# --- the Minhang pack: Table 2 ----------------------------------------------------------------


@pytest.mark.slow
def test_minhang_table2_quotas(pack):
    from geo import boundaries, facilities, population
    from geo.network import load_network

    walk = load_network("walk")
    fac = facilities.facilities_from_pack()
    pop = population.population_from_addresses()
    result = optimize.suggest_sites(WALK15, fac, pop, network=walk, quota="plan", time_limit_s=20)
    assert result.n_sites == 32
    assert (result.sites["role"] == "centre").sum() == 6
    want = {
        str(boundaries.find_subdistrict(name)["code"]): c + s
        for name, (c, s) in plan.TABLE2_NEW_SITES.items()
        if c + s
    }
    assert result.sites["subdistrict_code"].value_counts().to_dict() == want
    assert result.residents_covered_after >= result.residents_covered_before
    assert result.solver_status in ("optimal", "time_limit")
    assert result.sites["candidate_id"].is_unique


def test_sources_on_a_one_way_segment_end_keep_their_node():
    """A site at the start node of a one-way segment still reaches the node's other roads.

    Nodes W (x=-1000), N (x=0), E (x=1000): W–N two-way, N→E one-way. A site snapped to N→E at
    position 0 (on N) would join N through the v→u direction, which does not exist (0 × inf);
    the safe snap moves it onto W–N at N, so W is reached at 1,000 m.
    """
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for node, x in ((0, -1000.0), (1, 0.0), (2, 1000.0)):
        lon, lat = lonlat(x)
        G.add_node(node, x=lon, y=lat)
    for u, v in ((0, 1), (1, 0), (1, 2)):
        G.add_edge(u, v, length=1000.0, travel_time=100.0, name="单行路")
    net = road_network("drive", DRIVE_MPS, "unused")
    net = Network(G=G, report=net.report, mode="drive", key="test-optimize-one-way")
    index = coverage.reach_index(net)
    one_way = int(np.flatnonzero(np.isinf(index.bwd["length_m"]))[0])
    assert index.node_ids[index.seg_u[one_way]] == 1  # the segment N→E, N at position 0
    raw = Snap(np.array([one_way]), np.array([0.0]), np.array([0.0]))
    safe = _safe_snap(index, raw)
    west = int(np.flatnonzero(index.node_ids == 0)[0])
    cost = index.node_costs(safe, "length_m", limit=np.inf)
    assert cost[west] == pytest.approx(1000.0)
    east = int(np.flatnonzero(index.node_ids == 2)[0])
    assert cost[east] == pytest.approx(1000.0)


def test_read_candidates_from_points(tmp_path):
    inside = shapely.Point(lonlat(1600.0))
    path = tmp_path / "sites.geojson"
    gpd.GeoDataFrame({"id": ["k1"]}, geometry=[inside], crs=4326).to_crs(32651).to_file(path)
    cand = optimize.read_candidates(path, subdistricts=UNITS)
    assert cand["candidate_id"].tolist() == ["k1"] and cand["subdistrict_code"].tolist() == ["1"]
    far = tmp_path / "far.geojson"
    outside = shapely.Point(lonlat(1600.0, 5000.0))
    gpd.GeoDataFrame(geometry=[inside, outside], crs=4326).to_file(far)
    with pytest.raises(ValueError, match="1 of 2 candidate points lie outside every subdistrict"):
        optimize.read_candidates(far, subdistricts=UNITS)
