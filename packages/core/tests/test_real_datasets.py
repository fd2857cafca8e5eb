"""The dataset readers and the label lookup on the real data in ../shared/data.

Oracles are independent of the readers: the sheet read cell by cell with xlrd, the data
READMEs' counts, and world coordinates computed from the affine by hand.
"""

from __future__ import annotations

import re
import warnings

import nibabel as nib
import numpy as np
import pytest

from brainmri.core.datasets import read_ixi, read_msd
from brainmri.core.datasets.lookup import LabelLookup
from brainmri.core.errors import DatasetError
from brainmri.core.io import load_volume
from brainmri.core.testing import require_shared


def _sheet_by_id(path):
    import xlrd

    sheet = xlrd.open_workbook(str(path)).sheet_by_index(0)
    header = [str(c.value) for c in sheet.row(0)]
    col = {name: next(i for i, h in enumerate(header) if h.startswith(name)) for name in ("IXI_ID", "SEX_ID", "AGE")}
    rows: dict[int, list[tuple]] = {}
    for r in range(1, sheet.nrows):
        ixi = sheet.cell_value(r, col["IXI_ID"])
        if ixi in ("", None):
            continue
        rows.setdefault(int(ixi), []).append((sheet.cell_value(r, col["SEX_ID"]), sheet.cell_value(r, col["AGE"])))
    return sheet.nrows - 1, rows


def test_real_ixi_sheet_counts_every_scan_used_or_skipped_with_its_reason():
    root = require_shared("data", "ixi-hh")
    n_rows, by_id = _sheet_by_id(root / "IXI.xls")
    scans = {int(re.match(r"IXI(\d+)-", p.name).group(1)): p for p in root.glob("IXI*-T1.nii.gz")}
    assert n_rows == 619 and len(scans) == 135  # the data README
    no_row = {i for i in scans if i not in by_id}
    conflicting = {i for i in scans if i in by_id and len({(s, a) for s, a in by_id[i]}) > 1
                   and len({s for s, _ in by_id[i]}) + len({a for _, a in by_id[i] if a != ""}) > 2}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        index = read_ixi(root, metadata=root / "IXI.xls")
    used = {s.extra["ixi_id"] for s in index.subjects}
    assert used == set(scans) - no_row - conflicting
    assert len(used) == 130  # "130 of the 135 scans have a usable age and sex"
    assert all(s.age is not None and s.sex in (0, 1) for s in index.subjects)
    reasons = dict(index.skipped)
    for i in no_row:
        assert "no row in IXI.xls" in reasons[scans[i].name]
    for i in conflicting:
        assert "conflicting duplicate rows" in reasons[f"IXI_ID {i}"]
    rows_without_image = sum(len(v) for k, v in by_id.items() if k not in scans)
    assert sum(r == "row has no image" for _, r in index.skipped) == rows_without_image
    assert len([w for w in caught if "IXI" in str(w.message)]) == 1  # warned once, not per row
    # Sex follows SEX_ID (1 = male -> 0, 2 = female -> 1) and age the AGE cell, subject by subject.
    for s in index.subjects:
        sex_id, age = by_id[s.extra["ixi_id"]][0]
        assert s.sex == int(sex_id) - 1
        assert s.age == pytest.approx(float(age), abs=1e-4)


def test_real_msd_dataset_json_pairs_and_label_names():
    root = require_shared("data", "Task04_Hippocampus")
    index = read_msd(root)
    assert len(index.subjects) == 200 and not index.skipped  # the data README: 200 labelled cases
    s = index.subjects[0]
    assert s.image.parent.name == "imagesTr" and s.label.parent.name == "labelsTr"
    assert s.image.name == s.label.name
    assert {k: v.lower() for k, v in s.extra["label_names"].items()} == {0: "background", 1: "anterior",
                                                                        2: "posterior"}


def _world_x_of(mask: np.ndarray, affine: np.ndarray) -> float:
    ijk = np.argwhere(mask).mean(axis=0)
    return float(affine[0, :3] @ ijk + affine[0, 3])


@pytest.mark.parametrize("name", ["IXI013-HH-1212-T1", "IXI072-HH-2324-T1"])
def test_dlmuse_lookup_puts_left_at_negative_world_x_on_real_psr_scans(name):
    root = require_shared("data", "ixi-hh")
    path = root / "labels" / f"{name}_dlmuse.nii.gz"
    img = nib.load(str(path))
    assert nib.aff2axcodes(img.affine) == ("P", "S", "R")  # stored PSR: array order says nothing of sides
    raw = np.asarray(img.dataobj)
    head = np.asarray(nib.load(str(root / f"{name}.nii.gz")).dataobj) > 0
    midline = _world_x_of(head, img.affine)
    labels = LabelLookup.parse("dlmuse").apply(load_volume(path, check_values=False))
    assert labels.data.dtype == np.uint8 and set(np.unique(labels.data)) == {0, 1, 2}
    assert np.array_equal(labels.data == 1, raw == 48) and np.array_equal(labels.data == 2, raw == 47)
    left_x, right_x = _world_x_of(labels.data == 1, img.affine), _world_x_of(labels.data == 2, img.affine)
    assert left_x < midline < right_x  # patient's left is world -x (RAS)
    assert right_x - left_x > 40  # two hippocampi, a head's width apart


def test_a_swapped_lookup_is_refused_naming_the_file():
    root = require_shared("data", "ixi-hh")
    path = root / "labels" / "IXI013-HH-1212-T1_dlmuse.nii.gz"
    with pytest.raises(DatasetError, match="IXI013-HH-1212-T1_dlmuse.nii.gz.*sides swapped"):
        LabelLookup.parse("47=left,48=right").apply(load_volume(path, check_values=False))
    with pytest.raises(DatasetError, match="no voxel has label 17"):  # an aseg lookup on a DLMUSE map
        LabelLookup.parse("freesurfer").apply(load_volume(path, check_values=False))


def test_lookup_grammar_and_presets():
    assert LabelLookup.parse("dlmuse") == LabelLookup.parse("48=left, 47=right")
    assert LabelLookup.parse("FreeSurfer").spec == "17=left,53=right"
    one = LabelLookup.parse("17=hippocampus,53=hippocampus")
    assert one.classes == {1: "hippocampus"} and one.lr_pairs == []
    assert LabelLookup.parse("synthseg").lr_pairs == [[1, 2]]
    for bad in ("48", "left=48", "48=left,48=right", "0=left", "banana"):
        with pytest.raises(ValueError):
            LabelLookup.parse(bad)
