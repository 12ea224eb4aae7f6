"""Receptive-field centres of a feature map's cells, and the CAM upsampling that uses them."""

import numpy as np
import pytest
import torch

from cnnlab.analysis.receptive_field import (
    receptive_field,
    stretched_centres,
    upsample_to_input,
)
from cnnlab.models import get_spec
from cnnlab.models.spec import ArchSpec, LayerSpec


def test_cnn3_cells_look_at_the_middle_of_the_image():
    field = receptive_field(get_spec("cnn3"))
    assert field.rows.tolist() == [8.5, 12.5, 16.5]
    assert field.cols.tolist() == [8.5, 12.5, 16.5]
    assert field.size == (18, 18)
    assert field.jump == (4, 4)


def test_cnn2_cells_are_two_pixels_apart_from_3_5_to_23_5():
    field = receptive_field(get_spec("cnn2"))
    assert field.rows.tolist() == [3.5 + 2 * i for i in range(11)]
    assert field.size == (8, 8)


CUSTOM = ArchSpec(
    name="custom",
    description="strided and padded",
    layers=(
        LayerSpec(
            "conv1", "Conv2d", {"out_channels": 1, "kernel_size": 5, "stride": 2, "padding": 2}
        ),
        LayerSpec("act1", "ReLU"),
        LayerSpec("pool1", "MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1}),
        LayerSpec("conv2", "Conv2d", {"out_channels": 1, "kernel_size": 3}),
        LayerSpec("act2", "ReLU"),
    ),
    feature_layer="act2",
)


def _torch_twin() -> torch.nn.Sequential:
    """CUSTOM's geometry with an average pool: its gradient reaches every pixel in the window
    (a max pool's reaches only the maximum), and linear layers keep every path nonzero."""
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 1, 5, stride=2, padding=2),
        torch.nn.AvgPool2d(3, stride=2, padding=1),
        torch.nn.Conv2d(1, 1, 3),
    )
    for layer in net:
        if isinstance(layer, torch.nn.Conv2d):
            torch.nn.init.constant_(layer.weight, 1.0)
    return net.double()


@pytest.mark.parametrize("cell", [(0, 0), (1, 2), (2, 1)])
def test_centres_and_size_match_the_input_pixels_a_cell_depends_on(cell):
    # 64x64 so that the chosen cells' fields stay inside the image (padding clips at the border)
    field = receptive_field(CUSTOM, input_shape=(1, 64, 64))
    x = torch.zeros(1, 1, 64, 64, dtype=torch.float64, requires_grad=True)
    out = _torch_twin()(x)
    assert out.shape[-2:] == (len(field.rows), len(field.cols))
    out[0, 0, 2 + cell[0], 2 + cell[1]].backward()
    rows, cols = np.nonzero(x.grad[0, 0].numpy())
    assert field.rows[2 + cell[0]] == (rows.min() + rows.max()) / 2
    assert field.cols[2 + cell[1]] == (cols.min() + cols.max()) / 2
    assert field.size == (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)


def test_upsampling_puts_each_cell_value_at_its_centre_and_the_edge_value_outside():
    field = receptive_field(get_spec("cnn3"))
    m = np.zeros((3, 3))
    m[0, 2] = 1.0  # top-right cell
    up = upsample_to_input(m, field)
    assert up.shape == (28, 28)
    assert up.argmax() == np.ravel_multi_index((0, 17), up.shape)  # flat out to the top edge
    assert up[8, 14] == 0.375  # cols 12.5 (0) and 16.5 (1): linear in between
    assert up[10, 16] == 0.625 * 0.875  # separable: the product of both axes' weights
    assert up[:8, 17:].min() == 1.0  # the edge value beyond the last centres
    assert up[20:, :].max() == 0.0
    constant = upsample_to_input(np.full((3, 3), 2.0), field)
    assert np.allclose(constant, 2.0)


def test_a_plain_resize_spreads_the_centres_over_the_whole_image():
    assert stretched_centres(3).tolist() == pytest.approx([4.1667, 13.5, 22.8333], abs=1e-4)


def test_a_layer_that_mixes_all_positions_has_no_receptive_field():
    layers = (LayerSpec("gap", "AdaptiveAvgPool2d", {"output_size": 1}),)
    spec = ArchSpec("gap", "", layers, feature_layer="gap")
    with pytest.raises(ValueError, match="AdaptiveAvgPool2d"):
        receptive_field(spec)
