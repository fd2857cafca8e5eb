"""MSD reader: dataset.json pairs, AppleDouble junk ignored, own labels kept, bad input errors."""

from __future__ import annotations

import json
import shutil
import warnings

import nibabel as nib
import numpy as np
import pytest

from brainmri.core import DatasetError
from brainmri.core.datasets import load_dataset, load_labels, read_msd
from brainmri.core.testing import synthetic_dataset


@pytest.fixture(scope="module")
def msd(tmp_path_factory):
    root = tmp_path_factory.mktemp("msd")
    return root, synthetic_dataset(root, "msd", subjects=4, seed=5)


def test_reader_lists_training_pairs_and_ignores_appledouble_files(msd):
    root, manifest = msd
    assert manifest["quirks"]["appledouble"]
    assert all((root / junk).is_file() for junk in manifest["quirks"]["appledouble"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing skipped, so no warning
        index = load_dataset("msd", root)
    expected = sorted(k for k, v in manifest["subjects"].items() if v["split"] == "train")
    assert sorted(s.subject_id for s in index.subjects) == expected
    assert not index.skipped
    for s in index.subjects:
        assert not s.image.name.startswith("._")
        assert s.label == root / "labelsTr" / s.image.name
    test = read_msd(root, split="test")
    assert len(test) == manifest["expected"]["test"] and all(s.label is None for s in test.subjects)


def test_labels_keep_msd_values_on_the_image_grid(msd):
    root, _ = msd
    index = read_msd(root)
    for s in index.subjects:
        labels = load_labels(s)
        raw = np.asanyarray(nib.load(str(s.label)).dataobj)
        np.testing.assert_array_equal(labels.data, raw)  # 1 anterior, 2 posterior kept as is
        assert set(np.unique(labels.data)) == {0, 1, 2}
        np.testing.assert_allclose(labels.affine, nib.load(str(s.image)).affine, atol=1e-6)


def test_missing_files_are_skipped_and_undeclared_labels_rejected(msd, tmp_path):
    root, _ = msd
    copy = tmp_path / "msd"
    shutil.copytree(root, copy)
    spec = json.loads((copy / "dataset.json").read_text())
    gone = copy / spec["training"][0]["label"]
    gone.unlink()
    with pytest.warns(UserWarning, match="1 skipped"):
        index = read_msd(copy)
    assert len(index) == len(spec["training"]) - 1
    assert index.skipped == [("dataset.json training[0]", f"label {spec['training'][0]['label']} not found")]
    # a label value the json does not declare
    s = index.subjects[0]
    img = nib.load(str(s.label))
    data = np.asanyarray(img.dataobj).copy()
    data[data == 2] = 7
    nib.save(nib.Nifti1Image(data, img.affine), str(s.label))
    with pytest.raises(DatasetError, match=r"unexpected label values \[7\]"):
        load_labels(s)


def test_bad_dataset_json(tmp_path):
    with pytest.raises(DatasetError, match="dataset.json not found"):
        read_msd(tmp_path)
    (tmp_path / "dataset.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not readable JSON"):
        read_msd(tmp_path)
    (tmp_path / "dataset.json").write_text(json.dumps({"name": "x"}))
    with pytest.raises(DatasetError, match="no 'training' list"):
        read_msd(tmp_path)
