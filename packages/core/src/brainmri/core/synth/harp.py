"""A synthetic EADC-ADNI HarP folder: nested ADNI scans, left/right labels, and their quirks."""

from __future__ import annotations

import csv
import io
import os

import numpy as np

from ..atomic import write_text_atomic
from ..io import save_volume
from ..volume import Volume
from ._common import demographics, finish, prepare_root, progress, write_scan
from .phantom import make_phantom

#: Offsets of the offset-valued labels planted (background value; foreground is +1).
LABEL_OFFSETS = (26896.988, 1024.5)
TEST_FRACTION = 35 / 135


def _scan_path(subject: str, image_id: int, series: int, day: int, ext: str) -> str:
    date = f"2006-{1 + day // 28 % 12:02d}-{1 + day % 28:02d}"
    folder = f"ADNI/{subject}/MPRAGE/{date}_10_{day % 60:02d}_31.0/S{series}"
    return f"{folder}/ADNI_{subject}_MR_MPRAGE_br_raw_2007{day:04d}1136_S{series}_I{image_id}{ext}"


def _label(volume: Volume, mask: np.ndarray, offset: float | None) -> Volume:
    if offset is None:
        return volume.with_data(mask.astype(np.uint8))
    return volume.with_data((mask.astype(np.float32) + np.float32(offset)).astype(np.float32))


def write_harp(
    root: str | os.PathLike,
    subjects: int = 20,
    seed: int = 0,
    *,
    masks: bool = True,
    quirks: bool = True,
    overwrite: bool = False,
    show_progress: bool = False,
) -> dict:
    """Write a synthetic EADC-ADNI HarP folder.

    Writes ``ADNI/<site>_S_<subj>/MPRAGE/<date>/S<series>/ADNI_..._I<imageid>.nii(.gz)``
    (``.nii`` and ``.nii.gz`` mixed; random orientation and voxel size), labels
    ``Labels_100_NIFTI/`` (train) and ``Labels_35_NIFTI/`` (test, ~35/135 of the subjects)
    named ``ADNI_<site>_S_<subj>_<imageid>_L.nii(.gz)`` / ``_R`` on each scan's grid,
    ``HarP_demographics.csv`` (subject_id, sex M/F, age), ``masks/<stem>_mask.nii.gz`` and
    ``synth_manifest.json``.

    Quirks (``quirks=True``): offset-valued labels (background 26896.988 / 1024.5) for two
    subjects, CSF label files beside every other label pair, one subject with a second,
    unlabelled scan from another visit, one label pair with no scan, an XML file in
    ``ADNI/``.

    Returns:
        The manifest (``subjects``, ``quirks``, ``expected`` counts per split).
    """
    root = prepare_root(root, overwrite)
    rng = np.random.default_rng([int(seed), 202])
    people = demographics(subjects, rng)
    sites = rng.choice([2, 5, 7, 11, 13, 16, 22, 23, 27, 31, 33, 67, 99, 126, 128, 130], subjects)
    numbers = rng.choice(np.arange(10, 1400), subjects + 1, replace=False)
    image_ids = rng.choice(np.arange(10000, 999999), subjects + 3, replace=False)
    ids = [f"{int(s):03d}_S_{int(n):04d}" for s, n in zip(sites, numbers[:subjects])]
    n_test = 0 if subjects < 2 else max(1, int(round(subjects * TEST_FRACTION)))
    test_ids = set(rng.permutation(ids)[:n_test].tolist())
    quirk = {
        "offset_labels": [],
        "csf_distractors": 0,
        "second_scan": [],
        "label_without_scan": [],
        "extensions": {".nii": 0, ".nii.gz": 0},
    }
    if quirks:
        quirk["offset_labels"] = ids[: min(2, subjects)]
        quirk["second_scan"] = ids[2:3]
    manifest_subjects = {}
    demo_rows = []
    for n, sid in enumerate(progress(ids, subjects, "synth adni", show_progress)):
        sex, age, pseed = people[n]
        image_id, series, day = int(image_ids[n]), int(rng.integers(10000, 99999)), int(rng.integers(0, 900))
        ext = ".nii" if n % 3 == 1 else ".nii.gz"
        quirk["extensions"][ext] += 1
        rel = _scan_path(sid, image_id, series, day, ext)
        phantom = make_phantom(sex, age, pseed)
        grid = write_scan(phantom, root / rel, root / "masks" if masks else None)
        split = "test" if sid in test_ids else "train"
        folder = root / ("Labels_35_NIFTI" if split == "test" else "Labels_100_NIFTI")
        offset = LABEL_OFFSETS[quirk["offset_labels"].index(sid)] if sid in quirk["offset_labels"] else None
        lab_ext = ".nii" if n % 2 else ".nii.gz"
        hip = phantom.hippocampus
        for side, value in (("L", 1), ("R", 2)):
            save_volume(
                _label(hip, hip.data == value, offset), folder / f"ADNI_{sid}_{image_id}_{side}{lab_ext}"
            )
        if quirks and n % 2 == 0:
            save_volume(phantom.brain_mask, folder / f"ADNI_{sid}_{image_id}_CSF.nii")
            quirk["csf_distractors"] += 1
        if sid in quirk["second_scan"]:
            other = make_phantom(sex, age + 1.0, pseed + 1)
            other_rel = _scan_path(sid, int(image_ids[subjects]), series + 1, day + 365, ".nii.gz")
            write_scan(other, root / other_rel, root / "masks" if masks else None)
            quirk["second_scan_path"] = other_rel
        manifest_subjects[sid] = {
            "sex": sex,
            "age": age,
            "image": rel,
            "image_id": image_id,
            "split": split,
            "label_offset": offset,
            **grid,
        }
        demo_rows.append((sid, "MF"[sex], age))
    if quirks:
        lonely = f"{int(sites[0]):03d}_S_{int(numbers[subjects]):04d}"
        image_id = int(image_ids[subjects + 1])
        tiny = Volume(np.zeros((8, 8, 8), np.uint8), np.eye(4))
        tiny.data[2:4, 2:4, 2:4] = 1
        for side in ("L", "R"):
            save_volume(tiny, root / "Labels_100_NIFTI" / f"ADNI_{lonely}_{image_id}_{side}.nii.gz")
        quirk["label_without_scan"] = [lonely]
        write_text_atomic(
            root / "ADNI" / f"ADNI_{ids[0]}_MPRAGE_I{int(image_ids[0])}.xml",
            "<?xml version='1.0'?><idaxs><project>ADNI</project></idaxs>\n",
        )
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["subject_id", "sex", "age"])
    writer.writerows(demo_rows)
    write_text_atomic(root / "HarP_demographics.csv", buf.getvalue())
    return finish(
        root,
        {
            "layout": "adni",
            "seed": int(seed),
            "masks": "masks" if masks else None,
            "demographics": "HarP_demographics.csv",
            "subjects": manifest_subjects,
            "quirks": quirk,
            "expected": {
                "subjects": subjects,
                "train": subjects - n_test,
                "test": n_test,
                "skipped": len(quirk["label_without_scan"]) + len(quirk["second_scan"]),
            },
        },
    )
