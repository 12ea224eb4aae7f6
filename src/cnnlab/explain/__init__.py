"""Attribution methods: which pixels (or feature-map cells) a class score comes from.

Each method is defined once, as Captum (or its paper) defines it, in the network's input
space (after normalisation), over three questions a network answers: its scores, the input
gradient (optionally guided) and the feature layer's activations and gradient. The NumPy
engine answers them with its own forward and backward (`scratch_net`), PyTorch with autograd
(`torch_net`); in float64 both give the same maps to 1e-10.
"""

from __future__ import annotations

from cnnlab.explain.methods import (
    INPUT_METHODS,
    LAYER_METHODS,
    METHOD_NAMES,
    METHODS,
    available,
    explain_image,
    unavailable_reason,
)

__all__ = [
    "INPUT_METHODS",
    "LAYER_METHODS",
    "METHODS",
    "METHOD_NAMES",
    "available",
    "explain_image",
    "unavailable_reason",
]
