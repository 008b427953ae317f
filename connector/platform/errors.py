"""The one error a sync file can raise: it names the file and the problem on one line."""

from __future__ import annotations

from pathlib import Path


class SyncFileError(Exception):
    """A sync file that cannot be read (or written); str() is one line for the user."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
