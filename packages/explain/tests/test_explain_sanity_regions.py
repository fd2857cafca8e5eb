"""The randomisation sanity check, the inside/outside-brain fractions and the montage."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from explain_fixtures import GRID_SHAPE, GatedNet
from scipy.ndimage import sobel
from scipy.stats import spearmanr

from brainmri.explain.attribution import attribute, prepare_model
from brainmri.explain.montage import save_montage
from brainmri.explain.regions import region_fractions
from brainmri.explain.sanity import cascading_randomization, randomization_groups, sanity_check_volume


def _edge_detector(net, image):
    """A "saliency map" that ignores the network: Sobel gradient magnitude of the input."""
    x = image[0, 0].detach().cpu().numpy().astype(np.float64)
    return torch.from_numpy(np.sqrt(sum(sobel(x, axis=a) ** 2 for a in range(3))))


@pytest.fixture(scope="module")
def net_and_image(scan, pipeline):
    net = prepare_model(GatedNet(np.array([4, 4, 4]), np.array([27, 27, 27])))
    return net, pipeline.preprocess(scan).image


def test_groups_run_from_the_head_down_with_norms_joined_to_their_layer(net_and_image):
    net, image = net_and_image
    groups = randomization_groups(net, image)
    assert groups == [["fc"], ["head"], ["block.0"], ["conv"]]
    bn = torch.nn.Sequential(torch.nn.Conv3d(1, 2, 3), torch.nn.BatchNorm3d(2), torch.nn.Conv3d(2, 2, 1),
                             torch.nn.AdaptiveAvgPool3d(1), torch.nn.Flatten(), torch.nn.Linear(2, 1)).eval()
    assert randomization_groups(bn, torch.zeros(1, 1, 6, 6, 6)) == [["5"], ["2"], ["0", "1"]]


def test_an_edge_detector_is_flagged(net_and_image):
    net, image = net_and_image
    report = cascading_randomization(net, image, _edge_detector, threshold=0.9)
    assert len(report.steps) == 4
    assert all(s.spearman == pytest.approx(1.0) for s in report.steps)
    assert report.flagged and report.to_dict()["flagged"] is True


def test_gradcam_follows_the_weights_and_passes(net_and_image):
    net, image = net_and_image
    before = {k: v.clone() for k, v in net.state_dict().items()}
    maps = {}

    def explain(model, x):
        m = attribute(model, x, target=1, method="gradcam", layer="block").grid_map
        maps[len(maps)] = m
        return m

    report = cascading_randomization(net, image, explain, threshold=0.9, seed=0)
    assert not report.flagged and abs(report.final_spearman) < 0.9
    # The reported correlations are scipy's on the maps actually produced.
    for n, step in enumerate(report.steps, start=1):
        if step.note:
            continue
        rho = spearmanr(maps[0].numpy().ravel(), maps[n].numpy().ravel()).statistic
        assert step.spearman == pytest.approx(rho, abs=1e-9)
    # The trained network is left untouched.
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k])


def test_sanity_check_volume_pins_layer_and_class(scan, pipeline, net_and_image):
    net, _ = net_and_image
    report = sanity_check_volume(net, pipeline, scan, method="guided-gradcam", target=1)
    assert len(report.steps) == 4 and not report.flagged


def test_region_fractions_on_a_hand_made_map():
    mask = np.zeros((4, 4, 4), dtype=np.uint8)
    mask[:2] = 1  # half the voxels are "brain"
    amap = np.zeros((4, 4, 4), dtype=np.float32)
    amap[0, 0, 0] = 3.0  # inside
    amap[3, 3, 3] = 1.0  # outside
    amap[3, 0, 0] = -5.0  # negative evidence is not counted
    f = region_fractions(amap, mask)
    assert f == {"positive_total": 4.0, "inside_fraction": 0.75, "outside_fraction": 0.25,
                 "brain_voxel_fraction": 0.5}
    covered = np.zeros_like(mask, dtype=bool)
    covered[1:3] = True
    assert region_fractions(amap, mask, covered)["brain_voxel_fraction"] == 0.5
    assert np.isnan(region_fractions(np.zeros((4, 4, 4)), mask)["inside_fraction"])


def test_montage_is_a_png_cut_through_the_peak(tmp_path):
    import matplotlib.image as mpimg

    from brainmri.core.volume import Volume

    image = np.random.default_rng(0).normal(size=GRID_SHAPE).astype(np.float32)
    amap = np.zeros(GRID_SHAPE, dtype=np.float32)
    amap[20, 8, 5] = 1.0
    path = save_montage(Volume(image, np.diag([3.0, 3.0, 3.0, 1.0])), amap, tmp_path / "m.png", title="test")
    png = mpimg.imread(str(path))
    assert png.ndim == 3 and png.shape[0] > 200 and png.shape[1] > 600
    assert not list(tmp_path.glob(".*part*"))
