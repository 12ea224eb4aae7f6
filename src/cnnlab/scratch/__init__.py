"""The NumPy engine: layers, loss and optimizers with PyTorch's names, arguments and maths.

Arrays are NCHW and follow the dtype of the input and parameters (float32 by default, float64
after `model.to(np.float64)`). Every layer has `forward(x)` and `backward(dy) -> dx`; PyTorch
is the test oracle for all of them. No torch import anywhere in this package.
"""

from cnnlab.scratch.activation import Dropout, LeakyReLU, ReLU, Sigmoid, Tanh
from cnnlab.scratch.avgpool import AdaptiveAvgPool2d, AvgPool2d, GlobalAvgPool2d
from cnnlab.scratch.batchnorm import BatchNorm1d, BatchNorm2d
from cnnlab.scratch.conv import Conv2d
from cnnlab.scratch.init import manual_seed
from cnnlab.scratch.linear import Flatten, Linear
from cnnlab.scratch.loss import CrossEntropyLoss
from cnnlab.scratch.module import Module
from cnnlab.scratch.optim import SGD, Adam, Optimizer
from cnnlab.scratch.parameter import Buffer, Parameter
from cnnlab.scratch.pool import MaxPool2d
from cnnlab.scratch.sequential import Sequential

__all__ = [
    "SGD",
    "Adam",
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Buffer",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "GlobalAvgPool2d",
    "LeakyReLU",
    "Linear",
    "MaxPool2d",
    "Module",
    "Optimizer",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "manual_seed",
]
