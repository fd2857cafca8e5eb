"""Brain-only input is planned on the brain, not on the field of view, and centred on each
brain's bounding box: the grid's voxels go to the brain, and the whole brain fits."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from brainmri.core import load_volume
from brainmri.core.errors import ScanError
from brainmri.core.geometry import mask_box_centre_world
from brainmri.core.pipeline import Pipeline, PipelineConfig, Sample
from brainmri.core.synth.table import write_phantom_table
from brainmri.core.testing import real_scan, write_nifti
from brainmri.core.testing.task import PhantomSexTask
from brainmri.core.training import TrainConfig, train
from brainmri.core.training.planning import brain_fingerprint, fingerprint, plan_grid

# IXI-HH's storage: PSR, 2 mm, 120x120x90 (P-A 240 mm, S-I 240 mm, R-L 180 mm).
PSR_2MM = np.array([[0.0, 0.0, -2.0, 90.0], [-2.0, 0.0, 0.0, 120.0], [0.0, 2.0, 0.0, -110.0], [0, 0, 0, 1]])


def _psr_mask(path, lo, hi):
    """A box mask from voxel ``lo`` to ``hi`` (inclusive) in a 120x120x90 PSR 2 mm volume."""
    data = np.zeros((120, 120, 90), np.uint8)
    data[lo[0] : hi[0] + 1, lo[1] : hi[1] + 1, lo[2] : hi[2] + 1] = 1
    return write_nifti(path, data, PSR_2MM)


def _on_faces(inside: np.ndarray) -> int:
    """Voxels of a 3D mask on the faces of its grid."""
    faces = [inside[0], inside[-1], inside[:, 0], inside[:, -1], inside[:, :, 0], inside[:, :, -1]]
    return sum(int(f.sum()) for f in faces)


def test_the_box_centre_is_the_middle_of_the_extent_not_the_centroid():
    mask = np.zeros((120, 120, 90), np.uint8)
    mask[10:100, 20:87, 12:78] = 1
    mask[10:20, 20:40, 12:20] = 0  # a notch moves the centroid, not the box
    # Box voxels 10..99, 20..86, 12..77: middle (54.5, 53, 44.5). Under PSR_2MM world x = -2 k + 90
    # (k the third index), y = -2 i + 120, z = 2 j - 110.
    np.testing.assert_allclose(mask_box_centre_world(mask, PSR_2MM), [1.0, 11.0, -4.0])
    with pytest.raises(ValueError, match="empty"):
        mask_box_centre_world(np.zeros((4, 4, 4)), PSR_2MM)


def test_brain_masks_plan_a_3_mm_grid_where_the_heads_take_4_mm(tmp_path):
    # Brains of 132 (R) x 180 (A) x 134 (S) mm, IXI-HH's median with HD-BET: in PSR voxels
    # 90 along P, 67 along S, 66 along R.
    masks = [_psr_mask(tmp_path / f"m{i}_mask.nii.gz", (10 + i, 20, 12), (99 + i, 86, 77)) for i in range(3)]
    fp = brain_fingerprint(masks)
    assert fp.extent_mm == (142.0, 190.0, 144.0)  # the box plus 5 mm a side, in R, A, S order
    assert fp.spacing == (2.0, 2.0, 2.0) and fp.shape == (66, 90, 67)
    brain = plan_grid(fp, "cpu")
    # 142 / 3 -> 48, 190 / 3 -> 64, 144 / 3 -> 48: 147,456 voxels within the CPU's 196,608.
    assert brain["spacing"] == (3.0, 3.0, 3.0) and brain["shape"] == (48, 64, 48)
    assert "the median brain mask's bounding box plus 5 mm a side (142x190x144 mm)" in brain["reasons"][0]
    head = plan_grid(fingerprint(masks), "cpu")  # the same files' 180x240x240 mm field of view
    assert head["spacing"] == (4.0, 4.0, 4.0) and head["shape"] == (48, 64, 64)
    with pytest.raises(ScanError, match=r"empty\.nii\.gz: the brain mask is empty"):
        brain_fingerprint([write_nifti(tmp_path / "empty.nii.gz", np.zeros((8, 8, 8), np.uint8), PSR_2MM)])


def test_a_real_brain_fits_whole_in_the_grid_planned_on_it():
    """chris_t1 (RAS, 0.88 mm, with the neck) with its HD-BET mask: the grid planned on the brain
    (4 mm, 48^3 for its 136x181x141 mm) and centred on the mask's box holds every brain voxel;
    centred on the scan or on the mask's centroid, the same grid cuts the brain."""
    scan = load_volume(real_scan("chris_t1.nii.gz"))
    mask_path = real_scan("reference/chris_t1_hdbet_fast_mask.nii.gz")
    mask = np.asarray(nib.load(str(mask_path)).dataobj) > 0
    plan = plan_grid(brain_fingerprint([mask_path]), "cpu")
    brain_cm3 = mask.sum() * np.prod(nib.load(str(mask_path)).header.get_zooms()[:3]) / 1000.0
    kept = {}
    for centre in ("mask_box", "mask", "scan"):
        config = PipelineConfig.preset(
            "default", spacing=plan["spacing"], shape=plan["shape"], centre=centre, apply_mask=True
        )
        grid = Pipeline(config)([Sample(scan.data, scan.affine, mask=mask.astype(np.uint8))])
        inside = grid.mask[0, 0].numpy() > 0
        kept[centre] = (inside.sum() * np.prod(plan["spacing"]) / 1000.0, _on_faces(inside))
    volume, on_faces = kept["mask_box"]
    assert on_faces == 0, "the brain touches the grid's faces"
    assert volume == pytest.approx(brain_cm3, rel=0.03)
    assert kept["mask"][1] > 0 and kept["scan"][1] > 0  # the centroid and the scan's centre are off the box's


class _BrainGridTask(PhantomSexTask):
    """The test task planning brain-only input on the brain masks, keeping each training grid."""

    brain_grid = True
    brain_grid_reason = "brain-only input on a grid planned on the brain (test)"

    def __init__(self):
        self.seen = []

    def target_tensor(self, batch, grid, task_config):
        if grid.mask is not None:  # brain-only input
            self.seen.append(grid.mask.clone())
        return super().target_tensor(batch, grid, task_config)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return write_phantom_table(tmp_path_factory.mktemp("data"), n=6, seed=2, spacing=3.0, orientation=None)


def _train_planned(table, out, task, brain_only=True):
    """One unaugmented epoch with the grid left to the planner."""
    return train(
        task,
        out,
        dataset="table",
        root=table,
        mask_dir=table.parent / "masks" if brain_only else None,
        arch="vt1",
        train_config=TrainConfig(epochs=1, batch_size=3, augment=False, patience=0),
        model_options={"dropout": 0.0},
        val=0.34,
        test=0.0,
        device="cpu",
        progress=False,
        evaluate_after=False,
    )


def test_a_task_that_chose_it_trains_brain_only_input_on_the_brain_and_the_others_on_the_head(table, tmp_path):
    """``Task.brain_grid``: phantom heads stored in random orientations at 3 mm, brain only. The
    task that sets it gets a smaller grid centred on each brain's box, with every brain whole inside;
    a task without it, or full-head input, keeps the head's field of view and the scan's centre."""
    task = _BrainGridTask()
    config = json.loads(_train_planned(table, tmp_path / "brain", task).config_path.read_text())
    assert config["pipeline"]["centre"] == "mask_box"
    assert config["plan"]["fingerprint"]["region"].startswith("brain mask's bounding box")
    assert task.brain_grid_reason in config["plan"]["reasons"]
    assert task.seen
    for mask in task.seen:
        for inside in mask[:, 0].numpy() > 0:
            assert inside.any() and _on_faces(inside) == 0, "a brain touches the grid's faces"

    head = json.loads(_train_planned(table, tmp_path / "head", PhantomSexTask()).config_path.read_text())
    assert head["pipeline"]["centre"] == "scan" and head["pipeline"]["apply_mask"]
    assert head["plan"]["fingerprint"]["region"] == "field of view"
    assert np.prod(config["pipeline"]["shape"]) < np.prod(head["pipeline"]["shape"])  # the voxels go to the brain
    full = json.loads(
        _train_planned(table, tmp_path / "full", _BrainGridTask(), brain_only=False).config_path.read_text()
    )
    assert full["pipeline"]["centre"] == "scan" and not full["pipeline"]["apply_mask"]
    assert full["pipeline"]["shape"] == head["pipeline"]["shape"]


def test_an_empty_brain_mask_is_one_error_naming_the_scan(tmp_path):
    """An empty mask among brain-only input: the planner's fingerprint and the grid's centring
    each stop with a ScanError naming the file (one line from the CLI), never a traceback."""
    table = write_phantom_table(tmp_path / "data", n=4, seed=3, spacing=6.0)
    mask = sorted((tmp_path / "data" / "masks").glob("*"))[0]
    img = nib.load(str(mask))
    nib.save(nib.Nifti1Image(np.zeros(img.shape, np.uint8), img.affine), str(mask))
    with pytest.raises(ScanError, match=rf"{mask.name}: the brain mask is empty"):
        _train_planned(table, tmp_path / "planned", _BrainGridTask())
    scan = tmp_path / "scan.nii.gz"
    with pytest.raises(ScanError, match=r"scan\.nii\.gz: its brain mask is empty"):
        config = PipelineConfig.preset("default", spacing=6.0, shape=16, centre="mask_box", apply_mask=True)
        Pipeline(config)([Sample(np.ones((8, 8, 8)), np.eye(4), mask=np.zeros((8, 8, 8)), meta={"path": scan})])
