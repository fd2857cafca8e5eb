"""A synthetic Medical Segmentation Decathlon Task04 (hippocampus) folder."""

from __future__ import annotations

import json
import os

import numpy as np

from ..atomic import write_text_atomic
from ..io import save_volume
from ._common import demographics, finish, prepare_root, progress, write_appledouble
from .phantom import ORIENTATIONS, grid_affine, make_phantom, phantom_anatomy

MSD_LABELS = {"0": "background", "1": "Anterior", "2": "Posterior"}


def _crop(sex: int, age: float, seed: int, rng: np.random.Generator):
    """A ~1 mm crop around one hippocampus, its anterior(1)/posterior(2) labels and the side."""
    anatomy = phantom_anatomy(sex, age, seed)
    side = ("left", "right")[int(rng.integers(2))]
    centre, _, rot = anatomy.hippocampi()[side]
    to_world = anatomy.head_to_world
    centre_world = to_world[:3, :3] @ centre + to_world[:3, 3]
    axis_world = to_world[:3, :3] @ rot[:, 1]  # the long (anterior-posterior) axis
    fov = (float(rng.integers(34, 41)), float(rng.integers(46, 55)), float(rng.integers(34, 41)))
    orientation = ORIENTATIONS[int(rng.integers(len(ORIENTATIONS)))]
    shape, affine = grid_affine(orientation, 1.0, fov, centre_world + rng.uniform(-3, 3, 3))
    phantom = make_phantom(sex, age, seed, grid=(shape, affine))
    idx = np.indices(shape).reshape(3, -1)
    world = affine[:3, :3] @ idx + affine[:3, 3:4]
    anterior = ((world - centre_world[:, None]).T @ axis_world > 0).reshape(shape)
    value = 1 if side == "left" else 2
    inside = phantom.hippocampus.data == value
    labels = np.where(inside, np.where(anterior, 1, 2), 0).astype(np.uint8)
    return phantom, phantom.hippocampus.with_data(labels), side


def write_msd(
    root: str | os.PathLike,
    subjects: int = 20,
    seed: int = 0,
    *,
    masks: bool = False,
    quirks: bool = True,
    overwrite: bool = False,
    show_progress: bool = False,
) -> dict:
    """Write a synthetic MSD Task04_Hippocampus folder.

    Writes ``dataset.json``, ``imagesTr/hippocampus_NNN.nii.gz`` and ``labelsTr/...``
    (``subjects`` pairs: ~1 mm crops around one hippocampus, random orientation; labels
    1 anterior / 2 posterior), ``imagesTs/`` (a quarter as many unlabelled crops) and
    ``synth_manifest.json``. ``masks`` is ignored (crops have no brain mask).

    Quirks (``quirks=True``): macOS ``._hippocampus_NNN.nii.gz`` junk files beside the
    scans, as in the published archive (``dataset.json`` does not list them).

    Returns:
        The manifest (``subjects``, ``quirks``, ``expected`` counts).
    """
    root = prepare_root(root, overwrite)
    rng = np.random.default_rng([int(seed), 303])
    n_test = max(1, subjects // 4) if subjects else 0
    people = demographics(subjects + n_test, rng)
    numbers = sorted(int(v) for v in rng.choice(np.arange(1, 400), subjects + n_test, replace=False))
    order = rng.permutation(len(numbers))
    training, test, manifest_subjects, junk = [], [], {}, []
    for n, k in enumerate(progress(order, len(order), "synth msd", show_progress)):
        sex, age, pseed = people[n]
        name = f"hippocampus_{numbers[k]:03d}.nii.gz"
        phantom, labels, side = _crop(sex, age, pseed, rng)
        labelled = n < subjects
        folder = "imagesTr" if labelled else "imagesTs"
        save_volume(phantom.image, root / folder / name)
        if labelled:
            save_volume(labels, root / "labelsTr" / name)
            training.append({"image": f"./imagesTr/{name}", "label": f"./labelsTr/{name}"})
        else:
            test.append(f"./imagesTs/{name}")
        if quirks and n % 3 == 0:
            for sub in (folder, "labelsTr") if labelled else (folder,):
                write_appledouble(root / sub / f"._{name}")
                junk.append(f"{sub}/._{name}")
        manifest_subjects[name[: -len(".nii.gz")]] = {
            "sex": sex,
            "age": age,
            "side": side,
            "split": "train" if labelled else "test",
            "orientation": phantom.params["orientation"],
            "shape": phantom.params["shape"],
        }
    training.sort(key=lambda e: e["image"])
    test.sort()
    spec = {
        "name": "Hippocampus",
        "description": "Synthetic left and right hippocampus crops (brainmri synth)",
        "reference": "brainmri-core synth",
        "licence": "CC-BY-SA 4.0",
        "release": "1.0",
        "tensorImageSize": "3D",
        "modality": {"0": "MRI"},
        "labels": MSD_LABELS,
        "numTraining": len(training),
        "numTest": len(test),
        "training": training,
        "test": test,
    }
    write_text_atomic(root / "dataset.json", json.dumps(spec, indent=4) + "\n")
    return finish(
        root,
        {
            "layout": "msd",
            "seed": int(seed),
            "subjects": manifest_subjects,
            "quirks": {"appledouble": junk},
            "expected": {"subjects": len(training), "test": len(test), "skipped": 0},
        },
    )
