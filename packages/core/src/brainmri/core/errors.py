"""Exceptions that carry a one-line, user-facing message naming the offending file."""

from __future__ import annotations

import os


class BrainmriError(Exception):
    """Base class of every error brainmri raises on purpose (never a bug)."""


class ScanError(BrainmriError):
    """A scan (or label, mask, table) that cannot be used.

    Args:
        path: The file at fault.
        problem: What is wrong with it, in a few words.

    The string form is exactly one line: ``<path>: <problem>``.
    """

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else os.fspath(path)
        self.problem = " ".join(str(problem).split())
        super().__init__(self.problem if self.path is None else f"{self.path}: {self.problem}")


class DatasetError(ScanError):
    """A dataset folder or metadata table that does not have the expected layout."""
