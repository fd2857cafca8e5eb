"""Splits: disjoint subject-level parts, seeded, stratified, reloadable; k folds; the split CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from brainmri.core import DatasetError
from brainmri.core.cli import main
from brainmri.core.datasets import Subject
from brainmri.core.splits import PARTS, Split, kfold, make_split, save_folds
from brainmri.core.testing import synthetic_dataset


def _cohort(n=200, seed=0, visits=3):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        sex = int(rng.random() < 0.3)  # unbalanced on purpose: 30 % female
        age = float(rng.uniform(20, 90))
        for v in range(1 + (i % visits == 0)):  # a third of the subjects have two visits
            out.append(Subject(f"s{i:03d}", Path(f"/d/s{i:03d}_v{v}.nii.gz"), sex=sex, age=age + v))
    return out


def test_parts_are_disjoint_cover_everyone_and_have_requested_sizes():
    subjects = _cohort()
    split = make_split(subjects, val=0.15, test=0.2, seed=3)
    ids = {s.subject_id for s in subjects}
    parts = [set(getattr(split, p)) for p in PARTS]
    assert sum(len(p) for p in parts) == len(ids) and set().union(*parts) == ids
    assert len(split.test) == 40 and len(split.val) == 30
    # every visit of a subject lands in the subject's part
    for part in PARTS:
        for s in split.select(subjects, part):
            assert split.part_of(s.subject_id) == part
    assert sum(len(split.select(subjects, p)) for p in PARTS) == len(subjects)


def test_deterministic_per_seed():
    subjects = _cohort()
    assert make_split(subjects, seed=1) == make_split(list(reversed(subjects)), seed=1)
    assert make_split(subjects, seed=1).test != make_split(subjects, seed=2).test


def test_stratification_keeps_sex_ratio_and_age_spread():
    subjects = _cohort(n=300, seed=1)
    profile = {s.subject_id: (s.sex, s.age) for s in subjects}
    overall = np.mean([v[0] for v in profile.values()])
    for seed in range(3):
        split = make_split(subjects, val=0.15, test=0.15, seed=seed)
        for part in PARTS:
            sexes = [profile[i][0] for i in getattr(split, part)]
            assert abs(np.mean(sexes) - overall) < 0.04
            ages = [profile[i][1] for i in getattr(split, part)]
            assert abs(np.median(ages) - np.median([v[1] for v in profile.values()])) < 8


def test_save_load_roundtrip_and_bad_files(tmp_path):
    split = make_split(_cohort(50), val=0.2, test=0.1, seed=9)
    path = split.save(tmp_path / "split.json")
    saved = json.loads(path.read_text())
    assert saved["seed"] == 9 and saved["fractions"] == {"val": 0.2, "test": 0.1}
    assert saved["counts"] == {p: len(getattr(split, p)) for p in PARTS}
    assert Split.load(path) == split
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(DatasetError, match="bad.json: not a split file"):
        Split.load(tmp_path / "bad.json")
    (tmp_path / "both.json").write_text(json.dumps({"train": ["a"], "val": ["a"], "test": []}))
    with pytest.raises(DatasetError, match="subject a is in both train and val"):
        Split.load(tmp_path / "both.json")


def test_from_fixed_keeps_published_test_and_carves_val():
    subjects = _cohort(60)
    train_ids = sorted({s.subject_id for s in subjects})[:45]
    test_ids = sorted({s.subject_id for s in subjects})[45:]
    train_records = [s for s in subjects if s.subject_id in train_ids]
    split = Split.from_fixed(train_records, test_ids, val=0.2, seed=0)
    assert split.test == test_ids
    assert len(split.val) == 9 and set(split.val) | set(split.train) == set(train_ids)
    assert Split.from_fixed(train_ids, test_ids, val=0.2, seed=0).test == test_ids


def test_kfold_partitions_subjects(tmp_path):
    subjects = _cohort(50)
    folds = kfold(subjects, k=5, seed=0)
    vals = [set(f.val) for f in folds]
    assert all(len(v) == 10 for v in vals)
    assert set().union(*vals) == {s.subject_id for s in subjects}
    assert all(not (a & b) for i, a in enumerate(vals) for b in vals[i + 1 :])
    path = save_folds(folds, tmp_path / "folds.json")
    assert Split.load(path, fold=3) == folds[3]
    with pytest.raises(DatasetError, match="holds 5 folds"):
        Split.load(path)


def test_split_cli_on_synthetic_ixi_and_adni(tmp_path_factory):
    ixi = tmp_path_factory.mktemp("ixi_split")
    manifest = synthetic_dataset(ixi, "ixi", subjects=6, seed=8, masks=False)
    out = ixi / "split.json"
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "split",
            "--dataset",
            "ixi",
            "--root",
            str(ixi),
            "--val",
            "0.2",
            "--test",
            "0.2",
            "--seed",
            "4",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    split = Split.load(out)
    assert sorted(split.train + split.val + split.test) == sorted(manifest["subjects"])
    assert len(split.val) == 1 and len(split.test) == 1
    assert "train" in result.output and "male" in result.output
    adni = tmp_path_factory.mktemp("adni_split")
    manifest = synthetic_dataset(adni, "adni", subjects=4, seed=1, masks=False)
    result = runner.invoke(
        main, ["split", "--dataset", "adni", "--root", str(adni), "-o", str(adni / "s.json")]
    )
    assert result.exit_code == 0, result.output
    split = Split.load(adni / "s.json")
    assert split.test == sorted(k for k, v in manifest["subjects"].items() if v["split"] == "test")
    result = runner.invoke(
        main, ["split", "--dataset", "ixi", "--root", str(tmp_path_factory.mktemp("e")), "-o", str(out)]
    )
    assert result.exit_code == 1 and "error:" in result.output and "Traceback" not in result.output


def test_training_default_split_keeps_harp_published_test_set(tmp_path):
    import warnings

    from brainmri.core.datasets import load_dataset
    from brainmri.core.splits import default_split
    from brainmri.core.testing import synthetic_dataset

    synthetic_dataset(tmp_path / "adni", "adni", subjects=10, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        subjects = load_dataset("adni", tmp_path / "adni").subjects
    published_test = {s.subject_id for s in subjects if s.extra["split"] == "test"}
    assert published_test, "the synthetic HarP layout has a Labels_35 test part"
    split = default_split(subjects, val=0.2, test=0.5, seed=0)
    assert set(split.test) == published_test  # --test is not applied to HarP
    assert not set(split.train) & published_test and not set(split.val) & published_test
