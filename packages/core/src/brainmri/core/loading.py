"""From subjects to batches: CPU workers only read and decode; the pipeline runs per batch.

A :class:`SubjectDataset` yields native-grid :class:`~brainmri.core.pipeline.Sample` objects
from a :class:`~brainmri.core.cache.ScanCache`; :func:`make_loader` batches them as lists
(scans differ in shape), and the training loop hands each list to the fused
:class:`~brainmri.core.pipeline.Pipeline` on the target device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .cache import ScanCache
from .pipeline import Sample

TARGETS = ("sex", "age")


class SubjectDataset(Dataset):
    """Decoded scans (and optionally masks and labels) of a list of subjects.

    Args:
        subjects: :class:`brainmri.core.datasets.Subject` records.
        cache: Where decoded arrays are kept (default: a 1 GiB RAM cache).
        with_mask: Load each subject's brain mask (required then).
        with_labels: Load each subject's label map (required then).
    """

    def __init__(self, subjects: Sequence, cache: ScanCache | None = None, with_mask: bool = False,
                 with_labels: bool = False):
        self.subjects = list(subjects)
        self.cache = cache if cache is not None else ScanCache()
        self.with_mask = with_mask
        self.with_labels = with_labels

    def __len__(self) -> int:
        return len(self.subjects)

    def sample(self, index: int) -> Sample:
        """The subject's native-grid Sample (image, and mask/labels when configured)."""
        from .errors import ScanError

        s = self.subjects[index]
        image = self.cache.load(s.image)
        mask = labels = None
        if self.with_mask:
            if s.mask is None:
                raise ScanError(s.image, "no brain mask found for this scan (see --mask-dir)")
            mask = self.cache.load(s.mask)
            _check_grid(image, mask, s.mask)
        if self.with_labels:
            from .datasets import load_labels

            parts = tuple(s.label_parts) or (s.label,)
            labels = self.cache.get(parts, lambda: load_labels(s))
            _check_grid(image, labels, parts[0])
        return Sample(
            image.data,
            image.affine,
            None if mask is None else mask.data,
            None if labels is None else labels.data,
            {"subject_id": s.subject_id, "path": str(s.image)},
        )

    def __getitem__(self, index: int) -> dict[str, Any]:
        s = self.subjects[index]
        return {
            "subject_id": s.subject_id,
            "sample": self.sample(index),
            "targets": {name: getattr(s, name, None) for name in TARGETS},
        }


def _check_grid(image, other, path) -> None:
    from .errors import ScanError

    if other.shape != image.shape or not np.allclose(other.affine, image.affine, atol=1e-3):
        raise ScanError(path, f"grid {other.shape} does not match its image {image.path} {image.shape}")


def collate_subjects(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Batch dataset items: samples stay a list; targets become tensors (NaN / -1 when unknown)."""
    targets = {}
    for name in TARGETS:
        values = [it["targets"].get(name) for it in items]
        if name == "sex":
            targets[name] = torch.tensor([-1 if v is None else int(v) for v in values], dtype=torch.long)
        else:
            targets[name] = torch.tensor([math.nan if v is None else float(v) for v in values], dtype=torch.float32)
    return {
        "subject_id": [it["subject_id"] for it in items],
        "samples": [it["sample"] for it in items],
        "targets": targets,
    }


def make_loader(
    dataset: Dataset,
    batch_size: int = 4,
    shuffle: bool = False,
    num_workers: int = 0,
    sampler: Sampler | None = None,
    seed: int = 0,
    drop_last: bool = False,
) -> DataLoader:
    """A DataLoader whose workers only decode (the pipeline runs on the batch afterwards)."""
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle if sampler is None else False,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate_subjects,
        generator=generator,
        drop_last=drop_last,
        persistent_workers=num_workers > 0,
    )
