"""BIDS reader: participants.tsv, sessions as visits of one subject, real scans; load_dataset dispatch."""

from __future__ import annotations

import numpy as np
import pytest

from brainmri.core import DatasetError, load_volume
from brainmri.core.datasets import load_dataset, read_bids
from brainmri.core.testing import real_scan_layouts, write_nifti


def test_sessions_participants_and_skips(tmp_path):
    data = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    write_nifti(tmp_path / "sub-01" / "ses-1" / "anat" / "sub-01_ses-1_T1w.nii.gz", data)
    write_nifti(tmp_path / "sub-01" / "ses-2" / "anat" / "sub-01_ses-2_run-2_T1w.nii.gz", data)
    write_nifti(tmp_path / "sub-01" / "ses-2" / "anat" / "sub-01_ses-2_T2w.nii.gz", data)  # not T1w
    write_nifti(tmp_path / "sub-02" / "anat" / "sub-02_T1w.nii", data)
    write_nifti(tmp_path / "sub-03" / "anat" / "sub-03_T1w.nii.gz", data)  # no row
    (tmp_path / "sub-04" / "func").mkdir(parents=True)  # no T1w
    (tmp_path / "participants.tsv").write_text(
        "participant_id\tsex\tage\thandedness\nsub-01\tM\t25\tR\nsub-02\tF\tn/a\tL\nsub-04\tF\t30\tR\n"
        "sub-09\tM\t40\tR\n"
    )
    with pytest.warns(UserWarning, match="2 skipped; 1 subjects not in participants.tsv"):
        index = load_dataset("bids", tmp_path)
    got = [
        (s.subject_id, s.image.name, s.sex, s.age, s.extra.get("session"), s.extra.get("run"))
        for s in index.subjects
    ]
    assert got == [
        ("sub-01", "sub-01_ses-1_T1w.nii.gz", 0, 25.0, "1", None),
        ("sub-01", "sub-01_ses-2_run-2_T1w.nii.gz", 0, 25.0, "2", "2"),
        ("sub-02", "sub-02_T1w.nii", 1, None, None, None),
        ("sub-03", "sub-03_T1w.nii.gz", None, None, None, None),
    ]
    assert index.subjects[0].extra["handedness"] == "R"
    assert sorted(what for what, _ in index.skipped) == ["sub-04", "sub-09"]


def test_real_scans_in_bids(tmp_path):
    root = real_scan_layouts(tmp_path)["bids"]
    index = read_bids(root)
    assert [(s.subject_id, s.sex, s.age) for s in index.subjects] == [
        ("sub-01", 1, 51.0),
        ("sub-02", 0, 52.0),
        ("sub-03", 1, 53.0),
    ]
    t1 = load_volume(index.subjects[0].image)
    assert (
        t1.orientation == "RAS" and np.allclose(t1.spacing, 0.88, atol=0.01) and t1.shape == (188, 256, 190)
    )


def test_unknown_layout_and_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="unknown dataset layout 'oasis'"):
        load_dataset("oasis", tmp_path)
    with pytest.raises(DatasetError, match="BIDS folder not found"):
        read_bids(tmp_path / "nope")
