"""Checking that a command rejects a bad ``--device`` at parse time, as a user sees it."""

from __future__ import annotations

import subprocess
import sys

#: Device names no command may accept (typos and other frameworks' spellings).
BAD_DEVICES = ("gpu", "cdua", "cuda:x", "mps0")


def assert_device_rejected(module: str, args: list[str], device: str, timeout: float = 120) -> str:
    """Run ``python -m module *args --device device`` and check the usage error.

    Asserts exit code 2, no traceback, and exactly one ``Error:`` line on stderr that names
    ``--device`` and the value (click's usage lines may precede it).

    Args:
        module: Module run with ``python -m`` (``brainmri.core.cli``, ``brainmri.classify``...).
        args: Command and its other arguments.
        device: The value given to ``--device``.
        timeout: Seconds before the command counts as hung.

    Returns:
        The error line.
    """
    proc = subprocess.run(
        [sys.executable, "-m", module, *map(str, args), "--device", device],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, proc.stderr
    assert "--device" in errors[0] and device in errors[0], proc.stderr
    assert proc.stdout == ""
    return errors[0]


def assert_predict_rejects_device(module: str, folder, device: str, *extra) -> str:
    """``python -m module predict RUN SCAN *extra --device device`` with an empty RUN folder and a
    tiny scan written in ``folder``: the device must be refused before the run is read.

    Returns:
        The error line (see :func:`assert_device_rejected`).
    """
    from pathlib import Path

    from . import blob_volume, write_nifti

    folder = Path(folder)
    vol = blob_volume()
    scan = write_nifti(folder / "head.nii.gz", vol.data, vol.affine)
    run = folder / "run"
    run.mkdir(exist_ok=True)
    return assert_device_rejected(module, ["predict", run, scan, *extra], device)
