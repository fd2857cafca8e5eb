"""--mri-artifacts: TorchIO's artifacts on the resampled training image, seeded, labels untouched."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from brainmri.core.pipeline import AugmentConfig, Pipeline, PipelineConfig, Sample
from brainmri.core.synth.table import write_phantom_table
from brainmri.core.testing import blob_volume
from brainmri.core.testing.task import PhantomSexTask
from brainmri.core.training import TrainConfig, train
from brainmri.core.training.artifacts import DEFAULT_PROBABILITIES, apply_mri_artifacts, parse_artifacts

pytest.importorskip("torchio", reason="--mri-artifacts needs brainmri-core[torchio]")

ALWAYS = {name: 1.0 for name in DEFAULT_PROBABILITIES}


@pytest.fixture(scope="module")
def batch():
    volume = blob_volume((24, 24, 24), spacing=(2.0, 2.0, 2.0))
    labels = volume.with_data((volume.data > np.median(volume.data)).astype(np.uint8))
    config = PipelineConfig(spacing=(3.0, 3.0, 3.0), shape=(16, 16, 16))
    return Pipeline(config)([Sample.from_volume(volume, labels=labels)] * 2)


def test_artifacts_are_reproducible_under_the_seed_and_change_the_image(batch):
    first = apply_mri_artifacts(batch.image, batch.affine, ALWAYS, np.random.default_rng(5))
    again = apply_mri_artifacts(batch.image, batch.affine, ALWAYS, np.random.default_rng(5))
    other = apply_mri_artifacts(batch.image, batch.affine, ALWAYS, np.random.default_rng(6))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert first.shape == batch.image.shape and first.dtype == batch.image.dtype
    assert (first - batch.image).abs().mean() > 1e-3
    assert not torch.equal(first[0], first[1])  # each item draws its own artifacts
    none = apply_mri_artifacts(batch.image, batch.affine, {name: 0.0 for name in ALWAYS}, np.random.default_rng(5))
    assert torch.allclose(none, batch.image, atol=1e-5)  # shift and shift back only


def test_probabilities_are_checked_and_stored_as_given():
    assert parse_artifacts(True) == DEFAULT_PROBABILITIES
    assert parse_artifacts(False) is None and parse_artifacts(None) is None
    assert TrainConfig(mri_artifacts={"motion": 0.5}).to_dict()["mri_artifacts"] == {"motion": 0.5}
    with pytest.raises(ValueError, match="unknown MRI artifacts"):
        parse_artifacts({"zipper": 0.5})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        parse_artifacts({"motion": 1.5})


class _Recording(PhantomSexTask):
    """The test task, keeping every training batch's inputs and grid."""

    def __init__(self):
        self.seen = []

    def target_tensor(self, batch, grid, task_config):
        self.seen.append((batch["samples"], grid.image.detach().clone(), grid.mask.clone(), grid.affine.copy()))
        return super().target_tensor(batch, grid, task_config)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return write_phantom_table(tmp_path_factory.mktemp("data"), n=8, seed=4, spacing=6.0, orientation=None)


def _train(table, out, task, artifacts, augment=True):
    config = TrainConfig(epochs=1, batch_size=4, augment=augment, patience=0, mri_artifacts=artifacts)
    grid = {"spacing": 6.0, "shape": 24, "val": 0.25, "test": 0.0}
    return train(
        task,
        out,
        dataset="table",
        root=table,
        mask_dir=table.parent / "masks",
        arch="vt1",
        train_config=config,
        model_options={"dropout": 0.0},
        device="cpu",
        progress=False,
        evaluate_after=False,
        **grid,
    )


def test_training_applies_them_to_the_image_only_and_reproducibly(table, tmp_path):
    task = _Recording()
    run = _train(table, tmp_path / "a", task, ALWAYS)
    config = json.loads(run.config_path.read_text())
    assert config["train"]["mri_artifacts"] == ALWAYS
    pipeline = Pipeline(PipelineConfig.from_dict(config["pipeline"]))
    assert task.seen
    for step, (samples, image, mask, affine) in enumerate(task.seen):
        # The trainer's own batch without artifacts: the same resample, the same mask.
        plain = pipeline(samples, augment=True, rng=np.random.default_rng([0, 1, step, 0]))
        assert np.array_equal(affine, plain.affine)
        assert torch.equal(mask, plain.mask)  # what travels beside the image is untouched
        assert not torch.allclose(image, plain.image, atol=1e-3)  # the image got its artifacts
        expected = apply_mri_artifacts(plain.image, plain.affine, ALWAYS, _rng_after_pipeline(pipeline, samples, step))
        assert torch.equal(image, expected)

    again = _Recording()
    _train(table, tmp_path / "b", again, ALWAYS)
    assert all(torch.equal(a[1], b[1]) for a, b in zip(task.seen, again.seen, strict=True))
    a = torch.load(run.last_checkpoint, weights_only=True)["model"]
    b = torch.load(tmp_path / "b" / "checkpoints" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def _rng_after_pipeline(pipeline, samples, step):
    """The step's generator in the state the trainer hands to the artifacts (after the pipeline's draws)."""
    rng = np.random.default_rng([0, 1, step, 0])
    pipeline(samples, augment=True, rng=rng)
    return rng


def test_no_artifacts_without_augmentation(table, tmp_path):
    task = _Recording()
    _train(table, tmp_path / "run", task, ALWAYS, augment=False)
    pipeline = Pipeline(PipelineConfig(spacing=6.0, shape=24, apply_mask=True, augment=AugmentConfig()))
    samples, image, _, _ = task.seen[0]
    assert torch.equal(image, pipeline(samples).image)
