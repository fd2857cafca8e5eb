"""The contract every command keeps over bad input, as assertions for the tests.

``docs/reliability.md`` states it: one ``error: <path>: <problem>`` line per bad input, no
traceback, ``--on-error skip`` finishes the good inputs and lists the skipped ones, ``fail``
stops with a non-zero exit, nothing half-written, inputs untouched. :func:`sweep` runs a
command over cases of the bad-input corpus (:mod:`brainmri.core.testing.corpus`) and checks
all of it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .corpus import Case


@functools.cache
def permission_prefix() -> tuple[str, ...] | None:
    """A command prefix under which file permissions bind, as they do for researchers' accounts.

    ``()`` for a normal user. Root reads any file whatever its mode, through the capabilities
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH; ``setpriv`` drops them from the command's
    bounding set, so an unreadable file is unreadable to it (still as root, owning its files).
    None when running as root without ``setpriv``.
    """
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = (setpriv, "--bounding-set", "-dac_override,-dac_read_search")
    try:
        ok = subprocess.run([*prefix, "true"], capture_output=True, timeout=30).returncode == 0
    except OSError:
        ok = False
    return prefix if ok else None


def reading_is_blocked(path: str | os.PathLike) -> bool:
    """Whether commands run with :func:`permission_prefix` cannot read ``path``."""
    prefix = permission_prefix()
    if prefix is None:
        return False
    return subprocess.run([*prefix, "test", "-r", str(path)], capture_output=True, timeout=30).returncode != 0


def digests(folder: str | os.PathLike) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` (unreadable ones: mode and size).

    Taken before and after running commands, it proves the inputs were not modified.
    """
    root = Path(folder)
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_dir() or path.is_symlink():
            continue
        info = path.stat()
        try:
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
        except PermissionError:
            out[str(path.relative_to(root))] = f"unreadable mode={info.st_mode:o} size={info.st_size}"
    return out


def partial_files(folder: str | os.PathLike) -> list[Path]:
    """Leftovers of interrupted writes under ``folder`` (``.<name>.*.part*``, ``*.tmp*``)."""
    root = Path(folder)
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if ".part" in p.name or ".tmp" in p.name)


def error_lines(stderr: str) -> list[str]:
    """The ``error: ...`` lines of a command's stderr."""
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def check_reported(stderr: str, case: Case) -> str:
    """Assert that ``stderr`` has exactly one error line naming ``case.path`` with its problem.

    Returns:
        That line.
    """
    lines = [line for line in error_lines(stderr) if str(case.path) in line]
    assert len(lines) == 1, f"expected one error line naming {case.path}, got {lines}\n{stderr}"
    line = lines[0]
    assert line.startswith(f"error: {case.path}: "), line
    assert case.problem.lower() in line.lower(), f"{case.problem!r} not in {line!r}"
    return line


def check_named_once(stderr: str, case: Case) -> None:
    """Assert a skipped bad input is named on exactly two lines: its failure and the summary.

    The rule of ``--on-error skip``: one ``error: <path>: <problem>`` line as it fails, and one
    ``  skipped <arg>: <problem>`` line in the end summary. No second failure line (a progress
    line saying it failed, a warning repeating the error, a per-command summary of its own).
    Lines starting with ``note: `` (folder expansion notes) are not failures.
    """
    names = {str(case.path), str(case_argument(case))}
    lines = [line for line in stderr.splitlines()
             if any(name in line for name in names) and not line.startswith("note: ")]
    failures = [line for line in lines if not line.startswith("  skipped ")]
    summary = [line for line in lines if line.startswith("  skipped ")]
    assert len(failures) == 1 and failures[0].startswith("error: "), \
        f"{case.path}: expected one failure line, got {failures}\n{stderr}"
    assert len(summary) == 1, f"{case.path}: expected one summary line, got {summary}\n{stderr}"


def check_clean_outputs(out_dir: str | os.PathLike, expected_stems: set[str] | None = None) -> list[Path]:
    """Assert ``out_dir`` holds no partial file and every NIfTI in it decodes completely.

    Args:
        out_dir: An output folder.
        expected_stems: If given, every NIfTI's name must start with one of these stems
            (outputs only for good inputs).

    Returns:
        The NIfTI files found.
    """
    import nibabel as nib

    out = Path(out_dir)
    leftovers = partial_files(out)
    assert not leftovers, f"half-written files left: {leftovers}"
    images = sorted(p for p in out.rglob("*") if p.name.endswith((".nii", ".nii.gz")))
    for image in images:
        np.asanyarray(nib.load(str(image)).dataobj)  # raises on a truncated file
        if expected_stems is not None:
            assert any(image.name.startswith(stem) for stem in expected_stems), f"unexpected output {image}"
    return images


def case_argument(case: Case) -> Path:
    """What a command is given for ``case``: a ``mask`` case's scan, else the case's own path."""
    return case.about if case.kind == "mask" else case.path


_SUMMARY = re.compile(r"^(\d+) \w+ done, (?:.*, )?(\d+) skipped$", re.MULTILINE)


def sweep(cmd: Sequence, cases: dict[str, Case], *, corpus: str | os.PathLike, out_dir=None, extra: Sequence = (),
          on_error: str = "skip", timeout: float = 900) -> subprocess.CompletedProcess:
    """Run ``[*cmd, *case paths, *extra, "--on-error", on_error]`` as a real process; check the contract.

    (``fail`` is not passed but left to the default, which it must be.) The command runs with
    :func:`permission_prefix`, so the corpus' unreadable file is unreadable to it even as root.

    Always: no traceback, the corpus unchanged (:func:`digests` before and after) and, with
    ``out_dir``, no half-written file there. ``skip``: one error line per bad case naming its
    file (:func:`check_reported`) and one ``  skipped <arg>:`` line and no other line naming it
    (:func:`check_named_once`), no error line for a good
    case, ``N <what> done, ... M skipped`` counting both, exit code 0 when a good case is
    there (else non-zero) and, with ``out_dir``, a decodable NIfTI output for each good scan
    and none for the others (:func:`check_clean_outputs`). ``fail``: a non-zero exit with a
    single error line, that of the first bad case.

    Args:
        cmd: The command up to its scan arguments, e.g. ``[sys.executable, "-m", "brainmri.segment",
            "predict", RUN]``.
        cases: The cases to give, in order (cases with ``skip`` are left out).
        corpus: The corpus folder (for :func:`digests`).
        out_dir: The command's output folder, if it writes NIfTI files per scan.
        extra: Arguments after the scans (``-o DIR``, ``--device cpu``...).

    Returns:
        The finished process, for the caller's own checks.
    """
    from ..io import scan_stem

    cases = {k: c for k, c in cases.items() if c.skip is None}
    bad = [c for c in cases.values() if not c.good]
    good = [c for c in cases.values() if c.good]
    before = digests(corpus)
    policy = [] if on_error == "fail" else ["--on-error", on_error]  # fail: the default, as users get it
    args = [*map(str, cmd), *(str(case_argument(c)) for c in cases.values()), *map(str, extra), *policy]
    proc = subprocess.run([*(permission_prefix() or ()), *args], capture_output=True, text=True, timeout=timeout)
    err = proc.stderr
    shown = f"exit code {proc.returncode}\n--- stderr\n{err[-6000:]}\n--- stdout\n{proc.stdout[-2000:]}"
    assert "Traceback" not in err + proc.stdout, shown
    assert digests(corpus) == before, "the command modified its inputs"
    if out_dir is not None:
        assert not partial_files(out_dir), f"half-written files: {partial_files(out_dir)}"
    if on_error == "fail":
        assert proc.returncode != 0, shown
        assert len(error_lines(err)) == 1, shown
        check_reported(err, bad[0])
        return proc
    for case in bad:
        check_reported(err, case)
        assert err.count(f"\n  skipped {case_argument(case)}: ") == 1, f"{case_argument(case)} not listed\n{shown}"
        check_named_once(err, case)
    for case in good:
        assert not [line for line in error_lines(err) if str(case.path) in line], shown
    counts = _SUMMARY.findall(err)
    assert counts and tuple(map(int, counts[-1])) == (len(good), len(bad)), shown
    assert (proc.returncode == 0) == bool(good), shown
    if out_dir is not None:
        stems = {scan_stem(c.path) for c in good}
        made = check_clean_outputs(out_dir, stems)
        for stem in stems:
            assert any(p.name.startswith(stem) for p in made), f"no output for {stem}\n{shown}"
    return proc


__all__ = [
    "case_argument",
    "check_clean_outputs",
    "check_named_once",
    "check_reported",
    "digests",
    "error_lines",
    "partial_files",
    "permission_prefix",
    "reading_is_blocked",
    "sweep",
]
