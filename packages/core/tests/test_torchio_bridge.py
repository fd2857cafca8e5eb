"""TorchIO interop: exact round trips both ways, and the fused pipeline as a tio.Transform."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import torch

from brainmri.core import load_volume
from brainmri.core.geometry import rotation_matrix
from brainmri.core.orientation import reorient
from brainmri.core.pipeline import AugmentConfig, Pipeline, PipelineConfig, Sample
from brainmri.core.testing import blob_volume, write_nifti
from brainmri.core.volume import Volume

tio = pytest.importorskip("torchio", reason="the TorchIO bridge needs brainmri-core[torchio]")
bridge = pytest.importorskip("brainmri.core.torchio_bridge")


def _oblique(volume: Volume) -> Volume:
    """The same array under an oblique affine with odd spacings and an odd origin."""
    rot = np.eye(4)
    rot[:3, :3] = rotation_matrix((12.0, -8.0, 20.0))
    affine = rot @ np.diag([0.9375, 1.2, 3.1, 1.0])
    affine[:3, 3] = (-91.123456789, 17.000000001, -40.5)
    return Volume(volume.data, affine)


@pytest.fixture(scope="module")
def volumes() -> dict[str, Volume]:
    ras = blob_volume((20, 24, 18), spacing=(1.5, 1.5, 1.5))
    ras = Volume((ras.data * 100).astype(np.int16), ras.affine)
    return {"RAS": ras, "LIA": reorient(ras, "LIA"), "oblique": _oblique(ras)}


def _labels(volume: Volume) -> Volume:
    """A left (1) and a right (2) blob on the volume's grid, 0 elsewhere."""
    ijk = np.indices(volume.shape).reshape(3, -1)
    world = (volume.affine[:3, :3] @ ijk + volume.affine[:3, 3:4]).reshape(3, *volume.shape)
    x = world[0]
    centre = volume.center_world
    near = np.linalg.norm(world - centre.reshape(3, 1, 1, 1), axis=0) < 8.0
    labels = np.where(near & (x < centre[0]), 1, np.where(near & (x >= centre[0]), 2, 0)).astype(np.uint8)
    return volume.with_data(labels)


@pytest.mark.parametrize("orientation", ["RAS", "LIA", "oblique"])
def test_volume_round_trips_through_torchio_images_exactly(volumes, orientation):
    volume = volumes[orientation]
    image = bridge.to_torchio(volume)
    assert isinstance(image, tio.ScalarImage)
    assert np.array_equal(image.affine, volume.affine)  # float64, bit for bit
    back = bridge.from_torchio(image)
    assert back.data.dtype == volume.data.dtype
    assert np.array_equal(back.data, volume.data)
    assert np.array_equal(back.affine, volume.affine)
    assert back.orientation == volume.orientation

    labels = _labels(volume)
    label_map = bridge.to_torchio(labels, label=True)
    assert isinstance(label_map, tio.LabelMap)
    back = bridge.from_torchio(label_map)
    assert np.array_equal(back.data, labels.data) and np.array_equal(back.affine, labels.affine)


@pytest.mark.parametrize("orientation", ["RAS", "LIA", "oblique"])
def test_subject_round_trips_to_the_pipeline_sample(volumes, orientation):
    volume = volumes[orientation]
    mask = volume.with_data((volume.data > np.median(volume.data)).astype(np.uint8))
    labels = _labels(volume)
    subject = bridge.to_subject(volume, mask, labels, subject_id="sub-01", age=63.5)
    assert subject["age"] == 63.5
    sample = bridge.sample_from_subject(subject)
    for got, want in ((sample.data, volume.data), (sample.mask, mask.data), (sample.labels, labels.data)):
        assert np.array_equal(got, want)
    assert np.array_equal(sample.affine, volume.affine)
    assert sample.meta["subject_id"] == "sub-01"


def test_a_file_backed_torchio_image_reads_as_brainmri_reads_the_file(tmp_path, volumes):
    path = write_nifti(tmp_path / "lia.nii.gz", volumes["LIA"].data, volumes["LIA"].affine)
    ours = load_volume(path)
    back = bridge.from_torchio(tio.ScalarImage(path))
    assert np.array_equal(back.data, ours.data)
    assert np.array_equal(back.affine, ours.affine)
    assert np.array_equal(back.affine, nib.load(path).affine)


def _config(augment: bool) -> PipelineConfig:
    aug = (
        AugmentConfig(
            rotation_deg=10.0,
            scale=0.05,
            translation_mm=3.0,
            flip_lr_prob=0.5,
            lr_label_pairs=((1, 2),),
            gamma=0.2,
            noise_std=0.05,
            bias_field=0.2,
        )
        if augment
        else AugmentConfig()
    )
    return PipelineConfig(spacing=(2.0, 2.0, 2.0), shape=(16, 16, 16), augment=aug)


@pytest.mark.parametrize("orientation", ["LIA", "oblique"])
def test_the_torchio_transform_gives_the_pipelines_own_output(volumes, orientation):
    volume = volumes[orientation]
    mask = volume.with_data((volume.data > np.median(volume.data)).astype(np.uint8))
    labels = _labels(volume)
    config = _config(augment=True)
    for seed in range(4):  # some seeds flip left-right: the labels swap in both
        subject = bridge.to_subject(volume, mask, labels)
        out = tio.Compose([bridge.FusedPipeline(config, augment=True, seed=seed)])(subject)
        own = Pipeline(config)([Sample.from_volume(volume, mask, labels)], augment=True, rng=seed)
        assert torch.equal(out["image"].data, own.image[0])
        assert torch.equal(out["labels"].data.long(), own.labels[0])
        assert torch.equal(out["mask"].data.float(), own.mask[0])
        for key in ("image", "labels", "mask"):
            assert np.array_equal(out[key].affine, own.affine[0])
        assert np.array_equal(subject["image"].data[0].numpy(), volume.data)  # the input is untouched


def test_the_transform_is_reproducible_under_torch_seed(volumes):
    volume = volumes["RAS"]
    transform = tio.Compose([bridge.FusedPipeline(_config(augment=True), augment=True)])
    outs = []
    for seed in (7, 7, 8):
        torch.manual_seed(seed)
        outs.append(transform(bridge.to_subject(volume))["image"].data)
    assert torch.equal(outs[0], outs[1])
    assert not torch.equal(outs[0], outs[2])


def test_apply_inverse_transform_brings_labels_back_onto_the_native_grid(volumes):
    native = volumes["LIA"]
    labels = _labels(native)
    ras = reorient(native, "RAS")
    # The grid is the scan's own voxels in RAS order: forward and inverse are exact permutations.
    config = PipelineConfig(spacing=tuple(ras.spacing), shape=ras.shape)
    subject = bridge.to_subject(native, labels=labels)
    out = bridge.FusedPipeline(config)(subject)
    assert out["image"].orientation == ("R", "A", "S")
    assert np.array_equal(out["labels"].data[0].numpy(), reorient(labels, "RAS").data)
    back = out.apply_inverse_transform(warn=False)
    assert np.array_equal(back["labels"].affine, native.affine)
    assert np.array_equal(back["labels"].data[0].numpy(), labels.data)
    assert np.array_equal(back["image"].affine, native.affine)
    assert back["image"].spatial_shape == native.shape


def test_training_on_a_torchio_subjects_dataset(tmp_path):
    import json

    from brainmri.core.synth.phantom import make_phantom
    from brainmri.core.testing.task import register_test_task
    from brainmri.core.training import TrainConfig, evaluate
    from brainmri.core.training.torchio_subjects import train_on_subjects

    task = register_test_task()
    subjects = []
    for i in range(10):
        phantom = make_phantom(i % 2, 30.0 + 4 * i, seed=i, spacing=6.0, orientation=("RAS", "LIA")[i % 2])
        if i < 5:  # in memory
            image = bridge.to_torchio(phantom.image)
        else:  # a file TorchIO reads lazily
            image = tio.ScalarImage(write_nifti(tmp_path / f"s{i}.nii.gz", phantom.image.data, phantom.image.affine))
        subjects.append(tio.Subject(image=image, subject_id=f"p{i}", sex=i % 2, age=30.0 + 4 * i))
    dataset = tio.SubjectsDataset(subjects[:6])
    config = TrainConfig(epochs=1, batch_size=3, augment=False, patience=0)
    run = train_on_subjects(
        task,
        tmp_path / "run",
        dataset,
        subjects[6:8],
        subjects[8:],
        arch="vt1",
        train_config=config,
        device="cpu",
        progress=False,
        spacing=6.0,
        shape=24,
    )
    split = json.loads(run.split_path.read_text())
    assert (split["train"], split["val"], split["test"]) == ([f"p{i}" for i in range(6)], ["p6", "p7"], ["p8", "p9"])
    written = load_volume(run.path / "torchio-subjects" / "p1_image.nii.gz")  # an in-memory image, now a file
    # NIfTI stores the affine in float32: equal to that precision (the run reads this file from now on).
    np.testing.assert_array_equal(written.affine, subjects[1]["image"].affine.astype(np.float32))
    assert np.array_equal(written.data, subjects[1]["image"].data[0].numpy())
    assert json.loads((run.path / "metrics.json").read_text())["test"]["n"] == 2
    assert evaluate(run.path, splits=("val",), n_boot=20, progress=False)["val"]["n"] == 2  # reads them again
