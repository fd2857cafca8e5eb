"""``--on-error skip``: a bad file is named once as it fails and once in the end summary, never twice.

The contract sweep (:func:`brainmri.core.testing.contract.sweep`) checks it on every command;
here it is checked against real processes that keep or break the rule, and on ``preprocess``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from brainmri.core.testing import blob_volume, write_nifti
from brainmri.core.testing.contract import check_named_once, sweep
from brainmri.core.testing.corpus import Case

#: A batch command in miniature: ``good`` names work, others fail; ``--twice`` adds the duplicate
#: failure line the rule forbids (a progress line that repeats the error).
FAKE = r"""
import sys
args = [a for a in sys.argv[1:] if not a.startswith("--") and a != "skip"]
twice = "--twice" in sys.argv
done, skipped = 0, []
for a in args:
    if "good" in a:
        done += 1
        continue
    print(f"error: {a}: not a readable image", file=sys.stderr)
    if twice:
        print(f"process {a}: failed (not a readable image)", file=sys.stderr)
    skipped.append(a)
print(f"{done} scan done, {len(skipped)} skipped", file=sys.stderr)
for a in skipped:
    print(f"  skipped {a}: not a readable image", file=sys.stderr)
"""


@pytest.fixture
def cases(tmp_path):
    good, bad = tmp_path / "good.nii.gz", tmp_path / "bad.nii.gz"
    good.write_bytes(b"fine")
    bad.write_bytes(b"garbage")
    return {"good": Case(good, None), "bad": Case(bad, "not a readable image")}


def test_the_sweep_accepts_one_failure_line_plus_the_summary(cases, tmp_path):
    sweep([sys.executable, "-c", FAKE], cases, corpus=tmp_path)


def test_the_sweep_rejects_a_second_failure_line(cases, tmp_path):
    with pytest.raises(AssertionError, match="one failure line"):
        sweep([sys.executable, "-c", FAKE], cases, corpus=tmp_path, extra=["--twice"])


def test_preprocess_names_a_bad_file_once_as_it_fails_and_once_in_the_summary(tmp_path):
    volume = blob_volume()
    good = write_nifti(tmp_path / "good.nii.gz", volume.data, volume.affine)
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"not a scan")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "brainmri.core",
            "preprocess",
            str(good),
            str(bad),
            "-o",
            str(tmp_path / "out"),
            "--shape",
            "16",
            "--spacing",
            "8",
            "--on-error",
            "skip",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    check_named_once(proc.stderr, Case(bad, "not a readable image"))
    assert [line for line in proc.stderr.splitlines() if str(bad) in line] == [
        f"error: {bad}: not a readable image (ImageFileError: File {bad} is not a gzip file)",
        f"  skipped {bad}: not a readable image (ImageFileError: File {bad} is not a gzip file)",
    ]
