"""File plumbing shared by exports and scenarios: atomic writes that never clobber by accident."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path


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


@contextlib.contextmanager
def atomic_target(path: Path, *, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` if the block succeeds.

    A crash inside the block leaves any old file untouched and no partial file behind.
    """
    path = Path(path)
    refuse_existing([path], overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        tmp = tmp_dir / path.name
        yield tmp
        refuse_existing([path], overwrite=overwrite)  # created meanwhile by someone else?
        tmp.replace(path)  # os.replace: atomic within one file system
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
