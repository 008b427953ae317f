"""Writes that never leave a partial file that looks complete.

Each file is written beside its final name under a temporary name and renamed into place only
once it is whole, so a failure leaves the previous file (or none) and a stray temporary at most,
never a truncated report or sync file under the real name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_binary(path: Path) -> Iterator[BinaryIO]:
    """A file to write `path` through; renamed onto `path` when the block ends without error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(0o644)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_text(path: Path, text: str) -> None:
    with atomic_binary(path) as handle:
        handle.write(text.encode("utf-8"))


def write_all(files: dict[Path, Callable[[BinaryIO], None]]) -> None:
    """Write several files that belong together: each is written whole under a temporary name
    first, and only when all are written are they renamed into place (in the given order, so
    put the file people open last)."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, write in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(
                dir=path.parent, prefix=f".{path.name}.", suffix=".partial"
            )
            staged.append((Path(tmp_name), path))
            with os.fdopen(fd, "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
        for tmp, path in staged:
            tmp.chmod(0o644)
            tmp.replace(path)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
