"""Table (CSV/TSV) reader: columns, sex coding, relative paths, skipped rows, real scans."""

from __future__ import annotations

import numpy as np
import pytest

from brainmri.core import DatasetError, load_volume
from brainmri.core.datasets import load_dataset, load_labels, read_table
from brainmri.core.testing import real_scan_layouts, write_nifti


@pytest.fixture()
def scans(tmp_path):
    data = np.arange(60, dtype=np.int16).reshape(3, 4, 5)
    for name in ("a", "b", "c", "d"):
        write_nifti(tmp_path / "img" / f"{name}.nii.gz", data)
    write_nifti(tmp_path / "lab" / "a.nii.gz", (data % 3).astype(np.uint8))
    write_nifti(tmp_path / "masks" / "b_mask.nii.gz", (data > 10).astype(np.uint8))
    return tmp_path


@pytest.mark.parametrize("sep,suffix", [(",", ".csv"), ("\t", ".tsv"), (";", ".csv")])
def test_columns_and_sex_coding(scans, sep, suffix):
    rows = [
        ["image", "sex", "age", "label", "subject_id", "site", "group"],
        ["img/a.nii.gz", "M", "31", "lab/a.nii.gz", "", "s1", "x"],
        ["img/b.nii.gz", "female", "n/a", "", "subj-b", "", ""],
        ["img/c.nii.gz", "1", "0", "", "subj-b", "", ""],  # 1 = female; age 0 unknown; visit 2
        ["img/d.nii.gz", "0", "77.5", "", "", "", ""],
    ]
    table = scans / f"t{suffix}"
    table.write_text("\n".join(sep.join(r) for r in rows) + "\n")
    with pytest.warns(UserWarning, match="2 unusable ages"):
        index = read_table(table)
    got = [(s.subject_id, s.image.name, s.sex, s.age, s.site) for s in index.subjects]
    assert got == [
        ("a", "a.nii.gz", 0, 31.0, "s1"),
        ("subj-b", "b.nii.gz", 1, None, None),
        ("subj-b", "c.nii.gz", 1, None, None),
        ("d", "d.nii.gz", 0, 77.5, None),
    ]
    assert index.subjects[0].label == scans / "lab" / "a.nii.gz"
    assert index.subjects[0].extra == {"group": "x"}
    assert index.subject_ids == ["a", "subj-b", "d"]
    labels = load_labels(index.subjects[0])
    np.testing.assert_array_equal(labels.data, np.arange(60).reshape(3, 4, 5) % 3)


def test_missing_files_and_duplicates_are_skipped(scans):
    (scans / "t.csv").write_text(
        "image,mask\nimg/a.nii.gz,\nimg/a.nii.gz,\nimg/zzz.nii.gz,\n"
        "img/b.nii.gz,masks/none.nii.gz\n,\nimg/c.nii.gz,\n"
    )
    with pytest.warns(UserWarning, match="3 skipped"):
        index = load_dataset("table", scans / "t.csv")
    assert [s.image.name for s in index.subjects] == ["a.nii.gz", "c.nii.gz"]
    assert [why.split(" ")[0] for _, why in index.skipped] == ["image", "image", "mask"]
    # with a mask folder only b has a mask; explicit mask column wins
    (scans / "u.csv").write_text("image\nimg/a.nii.gz\nimg/b.nii.gz\n")
    with pytest.warns(UserWarning, match="1 skipped"):
        index = read_table(scans / "u.csv", mask_dir=scans / "masks")
    assert [(s.image.name, s.mask.name) for s in index.subjects] == [("b.nii.gz", "b_mask.nii.gz")]


def test_table_errors(scans):
    (scans / "t.csv").write_text("path,sex\nimg/a.nii.gz,M\n")
    with pytest.raises(DatasetError, match="t.csv: missing required column 'image'"):
        read_table(scans / "t.csv")
    with pytest.raises(DatasetError, match="expected one .csv/.tsv table"):
        (scans / "v.csv").write_text("image\n")
        read_table(scans)
    with pytest.raises(DatasetError, match="no published split"):
        read_table(scans / "t.csv", split="train")


def test_real_scans_in_a_table(tmp_path):
    table = real_scan_layouts(tmp_path)["table"]
    index = read_table(table)
    assert [(s.subject_id, s.sex, s.age) for s in index.subjects] == [
        ("chris_t1", 0, 40.0),
        ("t1_lia", 1, 41.0),
        ("chris_pd", 0, 42.0),
    ]
    lia = load_volume(index.subjects[1].image)
    assert lia.orientation == "LIA" and np.allclose(lia.spacing, 1.0)
    pd = load_volume(index.subjects[2].image)
    assert np.allclose(pd.spacing, (0.86, 0.86, 2.4), atol=0.01)
