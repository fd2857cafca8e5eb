"""Fixtures of the explain tests (helpers live in explain_fixtures.py)."""

from __future__ import annotations

import pytest
from explain_fixtures import GRID_SHAPE, GRID_SPACING, GatedNet, blob_scan, gate_box, grid_affine_by_hand

from brainmri.core.volume import Volume


@pytest.fixture(scope="session")
def scan() -> Volume:
    return blob_scan()


@pytest.fixture(scope="session")
def pipeline():
    from brainmri.core.pipeline import Pipeline, PipelineConfig

    return Pipeline(PipelineConfig.preset("default", spacing=GRID_SPACING, shape=GRID_SHAPE), "cpu")


@pytest.fixture(scope="session")
def gated(scan) -> GatedNet:
    lo, hi = gate_box(grid_affine_by_hand(scan))
    return GatedNet(lo, hi).eval()
