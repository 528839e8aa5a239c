"""``geo report``: the scenario report as PDF (and its HTML twin)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from geo.cli.output import _print_json, _progress

__all__: list[str] = []


def register_report(sub: Any) -> None:
    """Add ``geo report`` to the subcommands."""
    p = sub.add_parser(
        "report",
        help="a scenario report (PDF, or HTML by the file's suffix) with maps and tables",
    )
    p.add_argument("scenario", help="scenario name (e.g. plan-2025) or path to a .toml file")
    p.add_argument("--compare", metavar="BASE", help="the base scenario (e.g. baseline)")
    p.add_argument("--out", type=Path, required=True, help="FILE.pdf or FILE.html (the HTML twin)")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language (default zh)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    from geo import coverage, plan, report, scenarios
    from geo._errors import ExportError

    say = _progress(args) or (lambda _m: None)
    if args.out.suffix.lower() not in (".pdf", ".html"):
        msg = f"{args.out}: the report is written as .pdf or .html; name the file so"
        raise ExportError(msg)
    run = scenarios.run_scenario(args.scenario, progress=say)
    base_run = comparison = None
    subdistricts = coverage.partition_subdistricts()
    if args.compare:
        base_run = scenarios.run_scenario(args.compare, progress=say)
        comparison = scenarios.compare(base_run, run, subdistricts=subdistricts)
    say("drawing the maps and the pages")
    doc = report.build_report(
        run,
        subdistricts=subdistricts,
        comparison=comparison,
        base_run=base_run,
        corridors=plan.corridor_layer(),
        lang=args.lang,
    )
    path = doc.write(args.out, overwrite=args.overwrite)
    if args.json:
        _print_json({"scenario": run.resolved.scenario.name, "file": str(path)})
        return 0
    print(f"wrote {path}")
    return 0
