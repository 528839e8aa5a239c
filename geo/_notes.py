"""Warnings that travel with a coverage figure: what makes it no measurement, and the fix.

Printed next to the figure by the CLI, written into the exports' metadata and shown by the app,
in English or Chinese (``lang``).
"""

from __future__ import annotations

from geo.facilities import FACILITY_TYPES

__all__ = ["NETWORK_MISS_SHARE", "network_miss_note", "no_counted_facility_note"]


#: A network that leaves more than this share of residents off network (farther than the snap
#: distance from every road) mostly misses the district: its figures carry a warning.
NETWORK_MISS_SHARE = 0.5


def network_miss_note(
    off_network_residents: float,
    residents: float,
    *,
    source: str,
    max_snap_meters: float,
    lang: str = "en",
) -> str | None:
    """A warning when the network mostly misses the district (more than
    :data:`NETWORK_MISS_SHARE` of residents off network), with the figure; None otherwise."""
    if residents <= 0 or off_network_residents / residents <= NETWORK_MISS_SHARE:
        return None
    share = 100 * off_network_residents / residents
    if lang == "zh":
        return (
            f"路网 {source} 大部分不在本区：{share:.1f}% 的居民（{off_network_residents:,.0f} / "
            f"{residents:,.0f}）距任何道路超过 {max_snap_meters:g} 米，覆盖率不可信；"
            "请检查路网文件是否属于本区、坐标系是否正确。"
        )
    return (
        f"WARNING: the network {source} mostly misses the district: {share:.1f}% of residents "
        f"({off_network_residents:,.0f} of {residents:,.0f}) lie more than {max_snap_meters:g} m "
        "from every road, so these shares are no measurement; is the road file for this district, "
        "and in the right coordinate system?"
    )


def no_counted_facility_note(facility_types: tuple[str, ...], *, lang: str = "en") -> str:
    """What a 0 % coverage means when no facility of the counted types is in the list, and the fix.

    Printed next to the figure by the CLI and shown by the app (``lang``: ``"en"`` or ``"zh"``).
    """
    names = [
        (FACILITY_TYPES[t].name_zh if lang == "zh" else t) if t in FACILITY_TYPES else t
        for t in facility_types
    ]
    if "ambulance_substation" in facility_types:
        if lang == "zh":
            return (
                "设施清单中没有急救分站，因此该标准的覆盖率为 0，并非测算结果。"
                "补充方法：上传含“急救分站”（ambulance_substation）类型的设施清单，或在地图上"
                "“新增站点”选择急救分站，或选择已含 5 个走廊急救分站的情景 plan-2025；也可在情景"
                ' [parameters] 中设 ems_types = ["hospital", "emergency_department"]，'
                "以医院和急诊部临时代替（命令行：--types hospital,emergency_department）。"
            )
        return (
            "no ambulance substation in the facility list, so this coverage is 0 — not a "
            "measurement (the OSM data holds none). Supply them: a facility list with rows of "
            "type ambulance_substation (`--facilities FILE`, a scenario's "
            "`facilities =` or its [[add]] sites, or 'add a site' in the app), or run the "
            "scenario plan-2025, which adds 5 corridor substations; or count hospitals as a "
            "stand-in: `--types hospital,emergency_department` (a scenario: "
            'ems_types = ["hospital", "emergency_department"] in [parameters]).'
        )
    if lang == "zh":
        return f"设施清单中没有计入类型（{'、'.join(names)}）的设施，因此覆盖率为 0，并非测算结果。"
    return (
        f"no facility of the counted types ({', '.join(names)}) in the list, so this coverage is "
        "0 — not a measurement; supply a list with these types or count other types (--types)."
    )
