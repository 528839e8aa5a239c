"""File plumbing shared by loaders, exports and scenarios.

Compressed inputs (``.gz``) read like plain ones; atomic writes never clobber by accident.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def refuse_existing(paths: Sequence[Path], *, overwrite: bool) -> None:
    """Raise FileExistsError naming every existing path, unless ``overwrite``."""
    if overwrite:
        return
    existing = [str(p) for p in paths if p.exists()]
    if existing:
        msg = (
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}: "
            "pass overwrite=True to replace, or choose another file name"
        )
        raise FileExistsError(msg)


#: Temporary folders of interrupted writes older than this are removed by the next write.
STALE_TEMP_SECONDS = 3600


@contextlib.contextmanager
def atomic_target(path: Path, *, overwrite: bool, backup: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` if the block succeeds.

    A crash inside the block leaves any old file untouched and no partial file behind. Without
    ``overwrite`` the file is published with a hard link, which fails if ``path`` appeared
    meanwhile (two concurrent saves: one wins, the other gets FileExistsError, nothing is
    lost). With ``backup`` an existing file is first copied to ``<name>.bak``. Temporary
    folders that interrupted writes left beside ``path`` are removed once stale.
    """
    path = Path(path)
    refuse_existing([path], overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(path.parent)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        tmp = tmp_dir / path.name
        yield tmp
        if not overwrite:
            try:
                os.link(tmp, path)  # atomic: fails if the file exists, whoever made it
            except FileExistsError:
                refuse_existing([path], overwrite=False)
                raise
            except OSError:  # a file system without hard links: check, then rename
                refuse_existing([path], overwrite=False)
                tmp.replace(path)
            return
        if backup and path.exists():
            shutil.copy2(path, path.with_name(f"{path.name}.bak"))
        tmp.replace(path)  # os.replace: atomic within one file system
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


@contextlib.contextmanager
def staged_set(folder: Path, names: Sequence[str], *, overwrite: bool) -> Iterator[Path]:
    """Yield a staging folder; when the block succeeds, move every file ``names`` into ``folder``.

    An export set (CSV, Excel, GeoPackage) is written whole before any file is replaced, so a
    kill while writing leaves the previous set as it was, never a new CSV beside an old
    GeoPackage. The staging folder of an interrupted export is removed once stale.
    """
    folder = Path(folder)
    refuse_existing([folder / n for n in names], overwrite=overwrite)
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(folder)
    stage = Path(tempfile.mkdtemp(prefix=".export.", suffix=".tmp", dir=folder))
    try:
        yield stage
        refuse_existing([folder / n for n in names], overwrite=overwrite)
        for name in names:
            (stage / name).replace(folder / name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _remove_stale_temps(folder: Path) -> None:
    """Remove ``.<name>.*.tmp`` folders of writes interrupted over an hour ago."""
    cutoff = time.time() - STALE_TEMP_SECONDS
    for stale in folder.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if stale.is_dir() and stale.stat().st_mtime < cutoff:
                shutil.rmtree(stale, ignore_errors=True)


@contextlib.contextmanager
def file_lock(path: Path, *, timeout_s: float = 30.0) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` for a read-modify-write of ``path``.

    Concurrent writers (threads or processes, e.g. two planners re-pinning addresses at once)
    take turns, so none loses the other's change. POSIX ``flock``; elsewhere a lock file created
    with ``O_EXCL``.

    Raises
    ------
    TimeoutError
        If the lock is not free within ``timeout_s``.
    """
    lock = Path(path).with_name(f"{Path(path).name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    busy = f"{path}: another writer holds {lock.name}; try again"
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY
        fd = _retry(lambda: os.open(lock, flags), FileExistsError, deadline, busy)
        try:
            yield
        finally:
            os.close(fd)
            lock.unlink(missing_ok=True)
        return
    with lock.open("a") as fh:
        flock = functools.partial(fcntl.flock, fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        _retry(flock, BlockingIOError, deadline, busy)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _retry(attempt: Callable[[], T], busy: type[OSError], deadline: float, message: str) -> T:
    """``attempt()`` until it does not raise ``busy``; TimeoutError(``message``) after
    ``deadline`` (a ``time.monotonic()`` value)."""
    while True:
        try:
            return attempt()
        except busy:
            if time.monotonic() > deadline:
                raise TimeoutError(message) from None
            time.sleep(0.02)


def plain_suffix(path: str | Path) -> str:
    """The lower-case suffix that names a file's format, ignoring a trailing ``.gz``.

    ``roads.geojson.gz`` → ``.geojson``; ``roads.geojson`` → ``.geojson``.
    """
    p = Path(path)
    if p.suffix.lower() == ".gz":
        p = p.with_suffix("")
    return p.suffix.lower()


def vector_source(path: str | Path) -> str:
    """The path GDAL/pyogrio should open: gzip-compressed files through ``/vsigzip/``."""
    p = Path(path)
    return f"/vsigzip/{p}" if p.suffix.lower() == ".gz" else str(p)


def read_head(path: str | Path, size: int = 65536) -> str:
    """The first ``size`` bytes of a (possibly gzip-compressed) text file, decoded leniently."""
    p = Path(path)
    opener = gzip.open if p.suffix.lower() == ".gz" else open
    with opener(p, "rb") as f:
        data = f.read(size)
    return bytes(data).decode("utf-8", errors="replace")
