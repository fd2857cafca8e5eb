"""EADC-ADNI HarP reader and label merging: planted quirks, world-space left/right, bad labels."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from brainmri.core import DatasetError
from brainmri.core.datasets import Subject, load_dataset, load_labels, read_harp
from brainmri.core.testing import synthetic_dataset


@pytest.fixture(scope="module")
def harp(tmp_path_factory):
    root = tmp_path_factory.mktemp("harp")
    return root, synthetic_dataset(root, "adni", subjects=5, seed=3)


def _read(root, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        index = read_harp(root, **kwargs)
    return index, [str(w.message) for w in caught]


def test_reader_matches_the_planted_quirks(harp):
    root, manifest = harp
    index, messages = _read(root, metadata=root / manifest["demographics"])
    assert sorted(s.subject_id for s in index.subjects) == sorted(manifest["subjects"])
    assert len(index.skipped) == manifest["expected"]["skipped"] == 2
    skipped = dict(index.skipped)
    lonely = manifest["quirks"]["label_without_scan"][0]
    assert any(lonely in what and why == "label has no scan" for what, why in index.skipped)
    assert skipped[manifest["quirks"]["second_scan_path"]] == "scan has no label"
    assert len(messages) == 1 and "2 skipped" in messages[0]
    for s in index.subjects:
        truth = manifest["subjects"][s.subject_id]
        # the labelled scan, also for the subject with two visits
        assert s.image == root / truth["image"]
        assert s.extra["split"] == truth["split"] and s.extra["image_id"] == str(truth["image_id"])
        assert [p.name.split("_")[-1].split(".")[0] for p in s.label_parts] == ["L", "R"]
        assert "CSF" not in str(s.label_parts)
        assert (s.sex, s.age) == (truth["sex"], pytest.approx(truth["age"]))
    exts = {
        "".join(Path(s.image).suffixes[-2:]) if s.image.name.endswith(".gz") else ".nii"
        for s in index.subjects
    }
    assert exts == {".nii", ".nii.gz"}


def test_published_split_selects_label_folders(harp):
    root, manifest = harp
    train, _ = _read(root, split="train")
    with pytest.warns(UserWarning, match="1 scan has no label"):
        test = load_dataset("adni", root, split="test")
    assert len(test.skipped) == 1  # the label with no scan is in the train folder
    assert len(train) == manifest["expected"]["train"] and len(test) == manifest["expected"]["test"]
    assert not {s.subject_id for s in train.subjects} & {s.subject_id for s in test.subjects}
    assert all("Labels_35_NIFTI" in str(s.label_parts[0]) for s in test.subjects)
    with pytest.raises(DatasetError, match="splits are 'train' and 'test'"):
        read_harp(root, split="val")


def test_labels_merge_left_right_in_world_space_including_offset_labels(harp):
    root, manifest = harp
    index, _ = _read(root)
    offsets = set(manifest["quirks"]["offset_labels"])
    assert offsets
    for s in index.subjects:
        left_img, right_img = (nib.load(str(p)) for p in s.label_parts)
        raw_left = np.asanyarray(left_img.dataobj)
        if s.subject_id in offsets:
            assert raw_left.min() > 1000  # stored with an offset; background is the minimum
        labels = load_labels(s)
        assert labels.data.dtype == np.uint8 and set(np.unique(labels.data)) == {0, 1, 2}
        # independent expectation: "above the minimum" of each raw file
        np.testing.assert_array_equal(labels.data == 1, raw_left > raw_left.min())
        raw_right = np.asanyarray(right_img.dataobj)
        np.testing.assert_array_equal(labels.data == 2, raw_right > raw_right.min())
        image = nib.load(str(s.image))
        np.testing.assert_allclose(labels.affine, image.affine, atol=1e-5)
        for value, sign in ((1, -1), (2, 1)):
            centre = nib.affines.apply_affine(image.affine, np.argwhere(labels.data == value)).mean(0)
            assert sign * centre[0] > 10  # left hippocampus at world x < 0
    assert len({nib.aff2axcodes(nib.load(str(s.image)).affine) for s in index.subjects}) > 1


def _pair(tmp_path, left, right, affine_right=None, image_shape=(6, 6, 6)):
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    image = tmp_path / "scan.nii.gz"
    nib.save(
        nib.Nifti1Image(np.arange(np.prod(image_shape), dtype=np.int16).reshape(image_shape), affine),
        str(image),
    )
    paths = []
    for side, data, aff in (
        ("L", left, affine),
        ("R", right, affine if affine_right is None else affine_right),
    ):
        paths.append(tmp_path / f"ADNI_002_S_0001_1234_{side}.nii")
        nib.save(nib.Nifti1Image(data, aff), str(paths[-1]))
    return Subject("002_S_0001", image, label_parts=tuple(paths))


def _masks():
    left = np.zeros((6, 6, 6), np.uint8)
    right = np.zeros((6, 6, 6), np.uint8)
    left[0:2, 2:4, 2:4] = 1
    right[4:6, 2:4, 2:4] = 1
    return left, right


def test_overlapping_labels_name_both_files(tmp_path):
    left, right = _masks()
    right[1, 2, 2] = 1
    s = _pair(tmp_path, left, right)
    with pytest.raises(DatasetError) as err:
        load_labels(s)
    assert "_L.nii" in str(err.value) and "_R.nii" in str(err.value) and "overlaps" in str(err.value)
    assert "\n" not in str(err.value)


def test_geometry_mismatch_is_an_error(tmp_path):
    left, right = _masks()
    s = _pair(tmp_path, left, right, affine_right=np.diag([2.0, 2.0, 2.5, 1.0]))
    with pytest.raises(DatasetError, match="does not match the left label") as err:
        load_labels(s)
    assert err.value.path == str(s.label_parts[1])  # the right label is the one off the scan's grid
    s = _pair(tmp_path, left, right, image_shape=(6, 6, 7))
    with pytest.raises(DatasetError, match="does not match its scan"):
        load_labels(s)


def test_unexpected_label_values_and_empty_labels(tmp_path):
    left, right = _masks()
    s = _pair(tmp_path, left * 3 + (np.arange(216).reshape(6, 6, 6) % 2).astype(np.uint8), right)
    with pytest.raises(DatasetError, match="two-valued label, found 4 distinct values"):
        load_labels(s)
    s = _pair(tmp_path, np.zeros_like(left), right)
    with pytest.raises(DatasetError, match="label is empty"):
        load_labels(s)
    # offset labels stored with a float scale: binarised above the minimum
    s = _pair(tmp_path, left.astype(np.float32) + 26896.988, right)
    assert (load_labels(s).data == 1).sum() == left.sum()
    with pytest.raises(DatasetError, match="no label file"):
        load_labels(dataclasses.replace(s, label_parts=()))


def test_two_scans_without_a_matching_image_id_are_skipped(tmp_path):
    affine = np.eye(4)
    data = np.arange(64, dtype=np.int16).reshape(4, 4, 4)
    for visit in ("S1_I111", "S2_I222"):
        folder = tmp_path / "ADNI" / "002_S_0001" / "MPRAGE" / visit
        folder.mkdir(parents=True)
        nib.save(nib.Nifti1Image(data, affine), str(folder / f"ADNI_002_S_0001_{visit}.nii.gz"))
    labels = tmp_path / "Labels_100_NIFTI"
    labels.mkdir()
    for image_id in ("333", "222"):
        for side in "LR":
            nib.save(
                nib.Nifti1Image((data > 30).astype(np.uint8), affine),
                str(labels / f"ADNI_002_S_0001_{image_id}_{side}.nii.gz"),
            )
    nib.save(nib.Nifti1Image(data, affine), str(labels / "ADNI_002_S_0001_333_L_CSF.nii"))
    index, _ = _read(tmp_path)
    assert [s.image.name for s in index.subjects] == ["ADNI_002_S_0001_S2_I222.nii.gz"]
    assert index.skipped == [
        ("ADNI_002_S_0001_333", "2 scans in ADNI/002_S_0001, none with image id 333"),
        ("ADNI/002_S_0001/MPRAGE/S1_I111/ADNI_002_S_0001_S1_I111.nii.gz", "scan has no label"),
    ]
