"""Empty and degenerate maps are refused in one line instead of written as results (issue #15).

The cause of the all-zero Grad-CAM on real scans: VT1's default layer was ``conv4``, a bare
convolution followed by ``InstanceNorm3d``; the norm removes each channel's mean, so the
Grad-CAM channel weights (mean gradients) vanish and the map is rounding noise.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from explain_fixtures import GRID_SHAPE, GatedNet
from torch.nn import functional as F

from brainmri.core.models import VT1Net
from brainmri.core.plotting import focus_slices
from brainmri.explain.attribution import attribute, prepare_model
from brainmri.explain.peaks import peak_voxel
from brainmri.explain.quality import EmptyMapError, check_attribution


@pytest.fixture(scope="module")
def vt1_and_image(scan, pipeline):
    torch.manual_seed(0)
    return prepare_model(VT1Net(2, dropout=0.0)), pipeline.preprocess(scan).image


def test_captum_confirms_a_conv_before_instance_norm_gives_a_vanishing_map(vt1_and_image):
    from captum.attr import LayerGradCam

    net, image = vt1_and_image
    maps = {}
    for name in ("conv4", "instancenorm4"):
        cam = LayerGradCam(lambda x: net(x)[:, 1], getattr(net, name))
        maps[name] = cam.attribute(image.clone().requires_grad_(True), relu_attributions=False).detach()
    scale = float(maps["instancenorm4"].abs().max())
    assert scale > 1e-4
    assert float(maps["conv4"].abs().max()) < 1e-5 * scale  # the reported 0..2.5e-9 colour bar


def test_the_default_vt1_layer_gives_a_real_map(vt1_and_image):
    net, image = vt1_and_image
    result = attribute(net, image, target=1, preferred_layer="instancenorm4")
    check_attribution(result)  # does not raise
    assert result.layer == "instancenorm4" and float(result.grid_map.max()) > 1e-4


def test_a_degenerate_layer_is_refused_in_one_line(vt1_and_image):
    net, image = vt1_and_image
    result = attribute(net, image, target=1, layer="conv4")
    with pytest.raises(EmptyMapError, match="'conv4' is degenerate") as info:
        check_attribution(result)
    assert "\n" not in str(info.value) and "--layer" in str(info.value)


def test_a_map_without_positive_evidence_is_refused(scan, pipeline):
    # GatedNet's class 0 weights are negative on non-negative features: no voxel speaks for it
    net = prepare_model(GatedNet(np.array([4, 4, 4]), np.array([27, 27, 27])))
    result = attribute(net, pipeline.preprocess(scan).image, target=0, layer="block")
    assert float(result.layer_cam.raw.max()) <= 0
    with pytest.raises(EmptyMapError, match="empty: no voxel has positive evidence for class 0"):
        check_attribution(result)


def test_our_gradcam_equals_captums(scan, pipeline):
    from captum.attr import LayerGradCam

    net = prepare_model(GatedNet(np.array([4, 4, 4]), np.array([27, 27, 27])))
    image = pipeline.preprocess(scan).image
    ours = attribute(net, image, target=1, layer="block").layer_map
    captum = LayerGradCam(lambda x: net(x)[:, 1], net.block).attribute(
        image.clone().requires_grad_(True), relu_attributions=True
    )
    torch.testing.assert_close(ours, captum.detach().float())


def test_montage_slices_and_peak_leave_the_edge_plateau_of_an_upsampled_map():
    layer = torch.zeros(1, 1, 4, 4, 4)
    layer[0, 0, 0, 0, 0] = 1.0  # the strongest coarse voxel is in a corner
    grid = F.interpolate(layer, size=GRID_SHAPE, mode="trilinear", align_corners=False)[0, 0].numpy()
    assert np.unravel_index(np.argmax(grid), grid.shape) == (0, 0, 0)  # argmax: the grid's corner
    # the coarse voxel covers grid voxels 0..7 on each axis: its centre is 3.5
    np.testing.assert_allclose(peak_voxel(grid, layer[0, 0].numpy()), [3.5, 3.5, 3.5])
    assert all(1 <= k <= 6 for k in focus_slices(grid))  # through the block, not its edge plane
    second = np.zeros(GRID_SHAPE, dtype=np.float32)
    second[20, 9, 5] = float(grid.sum())  # more mass than the corner blob
    assert focus_slices(grid + second) == (20, 9, 5)
