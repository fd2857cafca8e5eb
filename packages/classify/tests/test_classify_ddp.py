"""DistributedDataParallel: ``torchrun --nproc_per_node=2 -m brainmri.classify train`` (gloo, CPU)."""

from __future__ import annotations

import pytest

from brainmri.core.testing import phantoms_train_alike_under_torchrun

pytestmark = pytest.mark.slow


def test_torchrun_two_processes_match_one_process_with_the_same_global_batch(tmp_path):
    phantoms_train_alike_under_torchrun("brainmri.classify", tmp_path)
