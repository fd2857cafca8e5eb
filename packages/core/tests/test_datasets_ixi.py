"""IXI reader: the published sheet's quirks (checked against what the synth planted), real scans."""

from __future__ import annotations

import csv
import warnings

import nibabel as nib
import numpy as np
import pytest

from brainmri.core import DatasetError, load_volume
from brainmri.core.datasets import load_dataset, read_ixi
from brainmri.core.testing import real_scan_layouts, synthetic_dataset


@pytest.fixture(scope="module")
def ixi(tmp_path_factory):
    root = tmp_path_factory.mktemp("ixi")
    return root, synthetic_dataset(root, "ixi", subjects=6, seed=2)


def _read(*args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        index = read_ixi(*args, **kwargs)
    return index, [str(w.message) for w in caught]


def test_reader_matches_the_planted_quirks(ixi):
    root, manifest = ixi
    assert manifest["sheet"] == "IXI.xls"  # written as Excel 97 (xlwt is a test dependency)
    index, messages = _read(root)
    quirks = manifest["quirks"]
    assert sorted(s.subject_id for s in index.subjects) == sorted(manifest["subjects"])
    assert len(index.skipped) == manifest["expected"]["skipped"] == 5
    skipped = " | ".join(f"{what}: {why}" for what, why in index.skipped)
    for ixi_id in quirks["rows_without_image"]:
        assert f"IXI_ID {ixi_id})" in skipped
    assert f"(IXI_ID {quirks['images_without_row'][0]})" in skipped
    assert f"IXI_ID {quirks['conflicting_rows'][0]}: conflicting" in skipped
    assert f"(IXI_ID {quirks['duplicate_rows'][0]}): duplicate row ignored" in skipped
    # one warning, one line, with the counts
    assert len(messages) == 1 and "\n" not in messages[0] and "5 skipped" in messages[0]
    assert "2 without a usable age" in messages[0]


def test_sex_age_site_match_the_truth(ixi):
    root, manifest = ixi
    index, _ = _read(root)
    unknown_age = {f"IXI{i:03d}" for i in manifest["quirks"]["empty_age"] + manifest["quirks"]["zero_age"]}
    for s in index.subjects:
        truth = manifest["subjects"][s.subject_id]
        assert s.sex == truth["sex"]  # SEX_ID 1=m,2=f mapped to 0 male / 1 female
        assert s.image == root / truth["image"]
        assert s.site in ("Guys", "HH", "IOP") and s.site in s.image.name
        if s.subject_id in unknown_age:
            assert s.age is None
        else:
            assert s.age == pytest.approx(truth["age"], abs=1e-6)
    assert len(index.require("age")) == len(index) - len(unknown_age)


def test_masks_found_and_missing_mask_skipped(ixi, tmp_path):
    root, manifest = ixi
    index, _ = _read(root, mask_dir=root / "masks")
    assert len(index) == manifest["expected"]["subjects"]
    for s in index.subjects:
        assert s.mask.name == s.image.name.replace(".nii.gz", "_mask.nii.gz")
    # a mask folder missing one subject's mask: that subject is skipped and counted
    partial = tmp_path / "masks"
    partial.mkdir()
    names = sorted(p.name for p in (root / "masks").iterdir())
    for name in names[1:]:
        (partial / name).symlink_to(root / "masks" / name)
    index2, _ = _read(root, mask_dir=partial)
    assert len(index2) == len(index) - 1
    assert sum("no brain mask" in why for _, why in index2.skipped) == 1


def test_csv_sheet_and_other_quirks(tmp_path):
    """A hand-made CSV: blank age, sex outside {1,2}, identical and conflicting duplicates."""
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    for n, name in enumerate(
        [
            "IXI010-HH-1000-T1.nii.gz",
            "IXI011-IOP-1001-T1.nii.gz",
            "IXI012-Guys-1002-T1.nii.gz",
            "IXI013-Guys-1003-T1.nii.gz",
        ]
    ):
        nib.save(
            nib.Nifti1Image(np.arange(24, dtype=np.int16).reshape(2, 3, 4) + n, affine), str(tmp_path / name)
        )
    rows = [
        ["IXI_ID", "SEX_ID (1=m, 2=f)", "DOB", "AGE"],
        ["10", "1", "1950-01-01", "  "],  # blank age
        ["11", "3", "", "44.5"],  # sex outside {1, 2}
        ["12", "2", "", "30"],
        ["12", "2", "x", "30"],  # identical where it matters
        ["13", "1", "", "50"],
        ["13", "1", "", "51"],  # conflicting ages
        ["99", "1", "", "20"],
    ]  # no image
    with open(tmp_path / "IXI.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    index, _ = _read(tmp_path)
    got = {s.subject_id: (s.sex, s.age) for s in index.subjects}
    assert got == {"IXI010": (0, None), "IXI011": (None, 44.5), "IXI012": (1, 30.0)}
    assert len(index.skipped) == 3  # one duplicate row, the conflicting subject, the row without image


def test_missing_column_and_missing_sheet_are_one_line_errors(tmp_path):
    (tmp_path / "IXI.csv").write_text("IXI_ID,AGE\n2,30\n")
    with pytest.raises(DatasetError, match=r"IXI.csv: missing required column 'SEX_ID'"):
        read_ixi(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="no IXI.xls or IXI.csv"):
        load_dataset("ixi", empty)


def test_real_scans_in_ixi_layout(tmp_path):
    layouts = real_scan_layouts(tmp_path)
    index, _ = _read(layouts["ixi"])
    assert len(index) == 3 and not index.skipped
    geometry = {}
    for s in index.subjects:
        vol = load_volume(s.image)
        geometry[s.subject_id] = (vol.orientation, tuple(np.round(vol.spacing, 2)), vol.shape)
    assert geometry == {
        "IXI002": ("RAS", (0.88, 0.88, 0.88), (188, 256, 190)),
        "IXI003": ("LIA", (1.0, 1.0, 1.0), (256, 256, 256)),
        "IXI004": ("RAS", (0.86, 0.86, 2.4), (191, 256, 54)),
    }
