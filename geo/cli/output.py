"""What the commands print: progress lines, text tables (Chinese names take two columns), JSON."""

from __future__ import annotations

import argparse
import json
import math
import sys
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

from geo._types import JSONValue

__all__: list[str] = []  # used by the other command modules only


def _say(msg: str) -> None:
    print(f"… {msg}", file=sys.stderr)


def _progress(args: argparse.Namespace) -> Callable[[str], None] | None:
    """Progress lines on stderr, unless the command prints JSON."""
    return None if getattr(args, "json", False) else _say


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def _texts(value: JSONValue) -> list[str]:
    """A list of texts from a JSON value (a list, or one value)."""
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _number(value: JSONValue) -> float:
    """A number from a JSON value (NaN if it is not one)."""
    return float(value) if isinstance(value, int | float) else math.nan


def _width(text: str) -> int:
    """Terminal columns of ``text`` (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, *, right: bool = False) -> str:
    fill = " " * max(width - _width(text), 0)
    return fill + text if right else text + fill


def _print_grid(head: list[str], rows: list[list[str]]) -> None:
    """Print a text table: first two columns left-aligned, the rest right-aligned."""
    widths = [max(_width(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        cells = [_pad(c, w, right=i >= 2) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        print("  " + "  ".join(cells).rstrip())


def _print_unit_table(results: Sequence[Any]) -> None:
    """Per subdistrict: residents and area covered under each standard (district row last)."""
    names = [r.standard.name for r in results]
    print("per subdistrict — residents covered / area covered:")
    head = ["code", "街镇", *names]
    tables = [r.table.set_index("code") for r in results]
    rows = []
    for code, name in zip(tables[0].index, tables[0]["name_zh"], strict=True):
        cells = [
            f"{100 * t.at[code, 'resident_share']:.1f}% / {100 * t.at[code, 'area_share']:.1f}%"
            for t in tables
        ]
        rows.append([str(code), str(name), *cells])
    _print_grid(head, rows)


def _print_comparison_table(cmp: Any) -> None:
    """Per subdistrict: residents covered in A → B under each standard (district row last)."""
    table = cmp.table
    names = list(dict.fromkeys(table["standard"]))
    print(f"per subdistrict — residents covered, {cmp.a} → {cmp.b}:")
    first = table[table["standard"] == names[0]]
    rows = []
    for code, name in zip(first["code"], first["name_zh"], strict=True):
        cells = []
        for std in names:
            rec = table[(table["standard"] == std) & (table["code"] == code)].iloc[0]
            cells.append(
                f"{100 * rec['resident_share_a']:.1f} → {100 * rec['resident_share_b']:.1f}%"
            )
        rows.append([str(code), str(name), *cells])
    _print_grid(["code", "街镇", *names], rows)


def _district_summary(result: Any) -> dict[str, Any]:
    row = result.district()
    meta = result.metadata
    return {
        "standard": result.standard.name,
        "label": result.standard.label_en,
        "area_share": round(float(row["area_share"]), 6),
        "resident_share": round(float(row["resident_share"]), 6),
        "covered_km2": round(float(row["covered_km2"]), 3),
        "area_km2": round(float(row["area_km2"]), 3),
        "covered_residents": round(float(row["covered_residents"])),
        "residents": round(float(row["residents"])),
        "off_network_residents": round(float(row["off_network_residents"])),
        "facilities": int(row["facilities"]),
        "facility_types": list(result.standard.facility_types),
        "population_source": meta["population_source"],
        "network_source": meta["network"]["source"] if isinstance(meta["network"], dict) else None,
        "warning": meta.get("warning"),
    }


def _print_suggestion(result: Any, written: list[str]) -> None:
    s = result.summary()
    total = s["residents_total"] or 1
    print(f"{s['standard']}: {s['n_sites']} sites ({s['objective_kind']}, {s['method']})")
    print(
        f"  residents covered: before {s['residents_covered_before']:,} "
        f"({100 * s['residents_covered_before'] / total:.1f}%), after "
        f"{s['residents_covered_after']:,} ({100 * s['residents_covered_after'] / total:.1f}%); "
        f"at most {s['residents_coverable']:,} with these candidates"
    )
    gap = "n/a" if s["gap"] is None else f"{100 * s['gap']:.2f}% ({s['bound_source']})"
    print(
        f"  solver: {s['solver_status']}, gap {gap}, {s['seconds']:.2f} s, "
        f"{s['n_candidates']} candidates"
    )
    if "access" in s:
        a = s["access"]
        print(
            f"  nearest substation: distance mean {a['mean_distance_m'] / 1000:.2f} km, p90 "
            f"{a['p90_distance_m'] / 1000:.2f} km (plan ≤ {a['plan_radius_km']} km: "
            f"{'met' if a['meets_radius'] else 'NOT met'}); response mean "
            f"{a['mean_response_min']:.1f} min, p90 {a['p90_response_min']:.1f} min (plan ≤ "
            f"{a['plan_response_min']:g} min: {'met' if a['meets_response'] else 'NOT met'})"
        )
    for row in result.sites.itertuples():
        print(
            f"  {row.rank:3d}. {row.role:10s} {row.lon:.5f}, {row.lat:.5f}  {row.subdistrict_zh}"
            f"  {row.road_name or ''}  +{row.residents_new:,.0f} residents"
        )
    for note in s["notes"]:
        print(f"  note: {note}")
    for path in written:
        print(f"wrote {path}")


def vars_of(problem: Any) -> dict[str, Any]:
    """A RowProblem as a JSON-ready dict."""
    return {
        "row": problem.row,
        "field": problem.field,
        "value": problem.value,
        "reason": problem.reason,
    }
