"""Hashing and the on-disk cache of built networks (the key covers inputs, parameters, code)."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import functools
import hashlib
import itertools
import json
import logging
import os
import tempfile
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import numpy.typing as npt
import shapely

from geo.network.model import (
    _CACHE_FORMAT,
    _HASH_BYTES_LIMIT,
    _SHAPEFILE_PARTS,
    Network,
    NetworkReport,
    _json_ready,
)
from geo.network.options import (
    _Columns,
)

__all__ = [
    "CACHE_MAX_AGE_DAYS",
    "CACHE_SUFFIX",
]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Hashing, cache
# ---------------------------------------------------------------------------------------------


def _digest(*parts: object) -> str:
    text = json.dumps(_json_ready(list(parts)), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _file_digest(path: Path) -> str:
    """Hash of a file's bytes (a shapefile's sidecars included); path+size+mtime when huge."""
    parts = (
        [path.with_suffix(s) for s in _SHAPEFILE_PARTS] if path.suffix.lower() == ".shp" else [path]
    )
    h = hashlib.sha256()
    for p in (p for p in parts if p.exists()):
        stat = p.stat()
        if stat.st_size > _HASH_BYTES_LIMIT:
            h.update(f"{p.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
            continue
        with p.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _frame_digest(gdf: gpd.GeoDataFrame, columns: _Columns) -> str:
    h = hashlib.sha256(str(gdf.crs).encode())
    for wkb in shapely.to_wkb(gdf.geometry.to_numpy()):
        h.update(wkb)
    for column in (columns.road_class, columns.name, columns.oneway, columns.foot):
        if column is not None:
            h.update(column.encode())
            h.update("\x1f".join(map(str, gdf[column].tolist())).encode())
    return h.hexdigest()


#: The modules whose code the cache key hashes: every module of this package.
_PACKAGE_FOLDER = Path(__file__).parent


@functools.cache
def _code_version() -> str:
    """The cache format and a hash of the code of every module that builds networks.

    A change of code invalidates the cache; a change of docstrings or comments does not (see
    :func:`_code_fingerprint`), so a typo fix does not make every user rebuild. Computed once per
    process (parsing the package takes a tenth of a second, and every build asks for it).
    """
    return _sources_version(_package_sources())


def _package_sources() -> dict[str, str]:
    """The source text of each module of the network package, by file name."""
    return {p.name: p.read_text("utf-8") for p in sorted(_PACKAGE_FOLDER.glob("*.py"))}


def _sources_version(sources: Mapping[str, str]) -> str:
    """The cache format and a hash of the fingerprints of ``sources`` (file name -> text)."""
    h = hashlib.sha256()
    for name in sorted(sources):
        h.update(f"{name}\0{_code_fingerprint(sources[name])}\0".encode())
    return f"{_CACHE_FORMAT}:{h.hexdigest()[:16]}"


def _code_fingerprint(source: str) -> str:
    """The syntax tree of ``source`` without docstrings, comments, line numbers or layout.

    Comments and layout never reach the tree; a docstring (a string literal opening a module,
    class or function body) is removed, an emptied body becoming ``pass``.
    """
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False)


#: Suffix of cached networks: a NumPy ``.npz`` (a zip of plain arrays, read with
#: ``allow_pickle=False``) holding the graph as JSON and the edge geometries as WKB.
CACHE_SUFFIX = ".npz"


def _read_cache(cache_file: Path, key: str) -> Network | None:
    """The cached network (routing arrays; the graph is read when first asked for), or None
    (with one log line naming the file) if the file is unreadable, corrupted (checksum),
    foreign (another key) or of another format."""
    started = time.perf_counter()
    try:
        with np.load(cache_file, allow_pickle=False) as data:
            head = json.loads(data["head"].tobytes().decode("utf-8"))
            if head.get("format") != _CACHE_FORMAT or head.get("key") != key:
                log.warning("cache file %s holds another network; rebuilding it", cache_file)
                return None
            arrays = {name: data[f"routing_{name}"] for name in head["routing"]}
            graph_ok = _graph_digest(data) == head["graph_sha256"]  # bytes only, not parsed
        if _arrays_digest(arrays) != head["routing_sha256"] or not graph_ok:
            msg = "checksum mismatch"
            raise ValueError(msg)
        report = NetworkReport(**head["report"])
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as err:
        log.warning("cache file %s is unreadable (%s); rebuilding it", cache_file, err)
        return None
    with contextlib.suppress(OSError):
        os.utime(cache_file)  # mark as used, so pruning keeps it
    log.info(
        "loaded %s network from cache %s in %.2f s",
        head["mode"],
        cache_file.name,
        time.perf_counter() - started,
    )
    return Network(
        report=report,
        mode=head["mode"],
        key=key,
        load_graph=functools.partial(_graph_from_cache, cache_file, head["graph_sha256"]),
        arrays=arrays,
    )


def _arrays_digest(arrays: Mapping[str, npt.NDArray[np.generic]]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()


def _graph_digest(data: Any) -> str:
    digest = hashlib.sha256(data["meta"].tobytes())
    digest.update(data["wkb"].tobytes())
    return digest.hexdigest()


def _graph_from_cache(cache_file: Path, sha256: str) -> nx.MultiDiGraph:
    """The networkx graph stored in a cache file (checked against its checksum)."""
    with np.load(cache_file, allow_pickle=False) as data:
        meta_bytes, wkb, offsets = data["meta"].tobytes(), data["wkb"], data["wkb_offsets"]
    if hashlib.sha256(meta_bytes + wkb.tobytes()).hexdigest() != sha256:
        msg = f"cache file {cache_file}: the graph's checksum does not match; delete the file"
        raise OSError(msg)
    return _graph_of(json.loads(meta_bytes.decode("utf-8")), wkb, offsets)


def _graph_of(meta: dict[str, Any], wkb: npt.NDArray[np.uint8], offsets: Any) -> nx.MultiDiGraph:
    raw = wkb.tobytes()
    geoms = shapely.from_wkb(
        np.array([raw[a:b] for a, b in itertools.pairwise(offsets)], dtype=object)
    )
    G = nx.MultiDiGraph(**meta["graph"])
    G.add_nodes_from((node, attrs) for node, attrs in meta["nodes"])
    edges = []
    for u, v, k, attrs, g in meta["edges"]:
        if g >= 0:
            attrs["geometry"] = geoms[g]
        edges.append((u, v, k, attrs))
    G.add_edges_from(edges)
    return G


def _cache_bytes(net: Network) -> tuple[bytes, bytes, npt.NDArray[np.int64]]:
    """The network as JSON (graph, nodes, edges without geometry, report) and WKB geometries."""
    wkbs: list[bytes] = []
    edges = []
    for u, v, k, d in net.G.edges(keys=True, data=True):
        attrs = {a: x for a, x in d.items() if a != "geometry"}
        g = -1
        if d.get("geometry") is not None:
            g = len(wkbs)
            wkbs.append(shapely.to_wkb(d["geometry"]))
        edges.append([u, v, k, attrs, g])
    meta = {
        "format": _CACHE_FORMAT,
        "key": net.key,
        "mode": net.mode,
        "graph": dict(net.G.graph),
        "nodes": [[n, d] for n, d in net.G.nodes(data=True)],
        "edges": edges,
        "report": dataclasses.asdict(net.report),
    }
    meta_bytes = json.dumps(_json_ready(meta), ensure_ascii=False).encode("utf-8")
    offsets = np.cumsum([0, *(len(b) for b in wkbs)], dtype=np.int64)
    return meta_bytes, b"".join(wkbs), offsets


#: Cached networks not used for this many days are deleted when a new one is written (the key
#: hashes the code too, so every release leaves its predecessors' files behind otherwise).
CACHE_MAX_AGE_DAYS = 30


def _write_cache(cache_file: Path, net: Network) -> None:
    """Write the network as data (no pickle), atomically: a unique temporary file per writer,
    then a rename, so two processes building the same network both succeed. The file holds the
    routing arrays (what runs read) and the graph (read only when asked for)."""
    from geo.reach import index_arrays, reach_index_from_graph

    meta_bytes, wkb, offsets = _cache_bytes(net)
    speed = net.report.params.get("walk_speed_kmh") if net.mode == "walk" else None
    index = reach_index_from_graph(
        net.G,
        mode=net.mode,
        walk_speed_kmh=float(speed) if isinstance(speed, int | float) else None,
    )
    arrays = index_arrays(index)
    head = {
        "format": _CACHE_FORMAT,
        "key": net.key,
        "mode": net.mode,
        "report": _json_ready(dataclasses.asdict(net.report)),
        "routing": sorted(arrays),
        "routing_sha256": _arrays_digest(arrays),
        "graph_sha256": hashlib.sha256(meta_bytes + wkb).hexdigest(),
    }
    fd, name = tempfile.mkstemp(prefix=f".{cache_file.name}.", suffix=".tmp", dir=cache_file.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            members: dict[str, Any] = {
                "head": np.frombuffer(json.dumps(head).encode("utf-8"), dtype=np.uint8),
                "meta": np.frombuffer(meta_bytes, dtype=np.uint8),
                "wkb": np.frombuffer(wkb, dtype=np.uint8),
                "wkb_offsets": offsets,
                **{f"routing_{k}": v for k, v in arrays.items()},
            }
            np.savez(f, **members)
        tmp.replace(cache_file)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("cached %s network in %s", net.mode, cache_file)
    _prune_cache(cache_file.parent)


def _prune_cache(folder: Path) -> None:
    """Delete cached networks unused for :data:`CACHE_MAX_AGE_DAYS` (reads refresh the time)."""
    cutoff = time.time() - CACHE_MAX_AGE_DAYS * 86400
    stale = [*folder.glob(f"network-*{CACHE_SUFFIX}"), *folder.glob("network-area-*.bin")]
    for old in [*stale, *folder.glob("network-*.pickle")]:
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
                log.info("removed unused cached network %s", old.name)
        except OSError as err:  # another process removed or holds it: leave it
            log.info("could not prune %s: %s", old.name, err)
