"""Re-create the embedded data folder ``data/`` from the upstream Minhang data pack.

Usage (from the repository root)::

    python tools/build_data.py [--pack ../shared/minhang] [--out data]

Every pack file is copied byte for byte and gzip-compressed (level 9, no timestamp or file name in
the header, so the output is the same byte for byte on every run). The product reads ``.gz`` files
transparently (GDAL's ``/vsigzip/`` for vector layers, pandas for CSV, osmnx for OSM XML), so
nothing is converted and every figure computed from ``data/`` equals the one computed from the pack.
The script then prints each file's size and SHA-256 (of the uncompressed bytes), which
``data/README.md`` records.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import sys
from pathlib import Path

from geo.settings import DATA_FILES, REPO_ROOT

#: Pack files embedded in ``data/`` (relative paths, the same in both folders): the data folder's
#: files plus the real OSM XML the loader tests read.
FILES = (*DATA_FILES, "fixtures/shanghai_center.osm")


def build(pack: Path, out: Path) -> list[tuple[str, int, int, str]]:
    """Write ``out/<file>.gz`` for every pack file; return (file, raw bytes, gz bytes, sha256)."""
    missing = [f for f in FILES if not (pack / f).is_file()]
    if missing:
        msg = f"{pack}: not the Minhang data pack; missing {missing}"
        raise SystemExit(msg)
    rows = []
    for rel in FILES:
        raw = (pack / rel).read_bytes()
        target = out / f"{rel}.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        with (
            tmp.open("wb") as fh,
            gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=9, mtime=0) as gz,
        ):
            gz.write(raw)
        tmp.replace(target)
        rows.append((rel, len(raw), target.stat().st_size, hashlib.sha256(raw).hexdigest()))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, default=REPO_ROOT.parent / "shared" / "minhang")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "data")
    args = parser.parse_args(argv)
    rows = build(args.pack, args.out)
    total = 0
    for rel, raw, packed, digest in rows:
        total += packed
        print(f"{rel}.gz  {raw:>9,} B -> {packed:>8,} B  sha256 {digest}")
    print(f"total {total:,} B in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
