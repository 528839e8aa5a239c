from __future__ import annotations

from geo import plan


def test_table_2_totals_match_the_plan_text():
    # the plan: 新建社区卫生服务中心及分中心6所，卫生服务站26所
    assert sum(c for c, _ in plan.TABLE2_NEW_SITES.values()) == 6
    assert sum(s for _, s in plan.TABLE2_NEW_SITES.values()) == 26
    assert len(plan.TABLE2_NEW_SITES) == 14
    assert plan.OFFICIAL_COUNTS_2020["station"] == 77


def test_corridors_are_found_by_name_in_the_pack(pack):
    layer = plan.corridor_layer()
    assert len(layer) == 7
    assert (layer["direction"] == "vertical").sum() == 3
    assert (layer["length_km"] > 5).all()  # every corridor found, each several km long
    assert layer.crs.to_epsg() == 4326
