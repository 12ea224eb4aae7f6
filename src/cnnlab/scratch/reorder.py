"""Pool before ReLU: an exact rewrite the NumPy engine makes in the order it runs its layers.

Max-pooling and ReLU commute, `relu(maxpool(x)) == maxpool(relu(x))` for every x, because ReLU
is non-decreasing: the largest of a window stays the largest after it. So in a
`Conv2d ReLU MaxPool2d` block the engine runs the pool first and the ReLU on the pooled map,
kh*kw times smaller (4 times for `MaxPool2d(2)`): the ReLU's forward and backward passes read
and write a quarter of the memory. Nothing else changes: the layers are the same objects with
the same meaning, `model.named_children()` still lists them in the order they were written,
and a caller who runs them one by one (the lab's activation view) sees what PyTorch would.

The gradients are the same too, bit for bit. PyTorch's order sends a window's gradient to the
first maximum of relu(x) and then through ReLU's mask; the swapped order sends it through the
mask of relu(max x) and then to the first maximum of x. Where the window's maximum is positive,
ReLU leaves the values that tie for it alone, so both pick the same element and both masks pass;
where it is not, both masks are zero, so the whole window gets zero either way. Tested against
the written order in float64, with ties (`tests/test_scratch_reorder.py`).

Only `ReLU` is moved: `Tanh`, `Sigmoid` or `LeakyReLU` commute with the maximum too, but in
floats they can round different inputs to one value (tanh(10) == tanh(11) == 1.0 in float32), which
would move a tie and so the gradient. A pair whose output someone reads by name (the CAM
feature layer) keeps the written order.
"""

from __future__ import annotations

from collections.abc import Container, Sequence

from cnnlab.scratch.activation import ReLU
from cnnlab.scratch.module import Module
from cnnlab.scratch.pool import MaxPool2d


def pool_before_relu(
    layers: Sequence[tuple[str, Module]], keep: Container[str] = ()
) -> list[tuple[str, Module]]:
    """`layers` in the order to run them: each `ReLU` directly followed by a `MaxPool2d` swapped
    with it, unless one of the two is named in `keep`. (A moved ReLU must not rectify in place:
    its input is now the pool's output, which the pool keeps for its backward pass;
    `cnnlab.scratch.speed.rectify_in_place` sees to it.)"""
    order = list(layers)
    i = 0
    while i < len(order) - 1:
        (first_name, first), (second_name, second) = order[i], order[i + 1]
        if (
            type(first) is ReLU
            and type(second) is MaxPool2d
            and first_name not in keep
            and second_name not in keep
        ):
            order[i], order[i + 1] = order[i + 1], order[i]
            i += 2
        else:
            i += 1
    return order
