"""Batch normalization over the channel axis: `BatchNorm2d` for (N, C, H, W), `BatchNorm1d` for
(N, C), with PyTorch's arguments, buffers and maths."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cnnlab.scratch.module import Module
from cnnlab.scratch.parameter import Buffer, Parameter


class _BatchNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, per channel (axis 1).

    Training mode (or `track_running_stats=False`): mean and the *biased* variance of the batch,
    over every axis but the channel one; the running statistics move towards the batch's by
    `momentum` (None: a cumulative average, 1 / num_batches_tracked), running_var towards the
    *unbiased* variance, as in PyTorch. Eval mode: the running statistics, so the layer is a fixed
    per-channel affine map. weight (ones) and bias (zeros): Parameters of shape (C,) when
    `affine`; running_mean (zeros), running_var (ones), num_batches_tracked (0, int64): Buffers
    when `track_running_stats`, otherwise None.

    Elementwise passes keep x's dtype and memory order (a conv's channel-major output stays so),
    and reductions run over axes, never a loop over examples or pixels.
    """

    _ndim = 0  # the input's number of axes, set by each subclass

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        dtype: npt.DTypeLike = np.float32,
    ) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(np.ones(num_features, dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype)) if affine else None
        self.running_mean = self.running_var = self.num_batches_tracked = None
        if track_running_stats:
            self.running_mean = Buffer(np.zeros(num_features, dtype))
            self.running_var = Buffer(np.ones(num_features, dtype))
            self.num_batches_tracked = Buffer(np.array(0, dtype=np.int64))
        self._x_hat: np.ndarray | None = None  # (x - mean) / std, x's shape
        self._inv_std: np.ndarray | None = None  # (C,)
        self._batch_stats = True  # whether the last forward normalized with the batch's

    def _check(self, x: np.ndarray) -> None:
        if x.ndim != self._ndim or x.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}({self.num_features}) expects input of shape "
                f"{self._expected_shape()}, got {x.shape}"
            )

    def _expected_shape(self) -> str:
        raise NotImplementedError

    def _axes(self) -> tuple[int, ...]:
        """The axes statistics are taken over: all but the channel axis."""
        return (0, *range(2, self._ndim))

    def _per_channel(self, v: np.ndarray) -> np.ndarray:
        """(C,) -> (1, C, 1, ...): broadcasts against the input."""
        return v.reshape(1, -1, *([1] * (self._ndim - 2)))

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check(x)
        self._batch_stats = self.training or not self.track_running_stats
        if self._batch_stats:
            if x.size // self.num_features < 2:  # no variance to take, as PyTorch says too
                raise ValueError(
                    f"expected more than 1 value per channel when training, got input of shape "
                    f"{x.shape}"
                )
            mean = x.mean(axis=self._axes())  # (C,)
            x_centered = x - self._per_channel(mean)  # x's memory order
            var = np.mean(np.square(x_centered), axis=self._axes())  # biased, (C,)
            if self.training and self.track_running_stats:
                self._update_running_stats(mean, var, count=x.size // self.num_features)
        else:
            mean, var = self.running_mean.data, self.running_var.data
            x_centered = x - self._per_channel(mean.astype(x.dtype, copy=False))
        self._inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype, copy=False)
        self._x_hat = x_centered
        self._x_hat *= self._per_channel(self._inv_std)
        if not self.affine:
            return self._x_hat.copy(order="K")
        return self._x_hat * self._per_channel(self.weight.data) + self._per_channel(self.bias.data)

    def _update_running_stats(self, mean: np.ndarray, var: np.ndarray, count: int) -> None:
        self.num_batches_tracked.data += 1
        if self.momentum is None:  # the cumulative average of every batch so far
            factor = 1.0 / float(self.num_batches_tracked.data)
        else:
            factor = self.momentum
        unbiased_var = var * (count / (count - 1))
        for buffer, batch_value in ((self.running_mean, mean), (self.running_var, unbiased_var)):
            buffer.data *= 1.0 - factor
            buffer.data += factor * batch_value

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        axes, x_hat = self._axes(), self._x_hat
        dy_sum = dy.sum(axis=axes)  # (C,)
        dy_x_hat_sum = np.sum(dy * x_hat, axis=axes)  # (C,)
        if self.affine:
            self.weight.grad += dy_x_hat_sum
            self.bias.grad += dy_sum
        if not self.needs_input_grad:
            return None
        scale = self._inv_std if not self.affine else self._inv_std * self.weight.data  # (C,)
        if not self._batch_stats:  # a fixed affine map: x -> (x - mean) * scale + bias
            return dy * self._per_channel(scale)
        # The batch mean and variance depend on x too; their terms, with m values per channel:
        # dx = scale * (dy - sum(dy) / m - x_hat * sum(dy * x_hat) / m)
        count = x_hat.size // self.num_features
        dx = x_hat * self._per_channel(dy_x_hat_sum / -count)
        dx += dy
        dx -= self._per_channel(dy_sum / count)
        dx *= self._per_channel(scale)
        return dx

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm2d(_BatchNorm):
    """`torch.nn.BatchNorm2d(num_features, eps, momentum, affine, track_running_stats)`:
    (N, C, H, W) -> (N, C, H, W), statistics over N, H and W for each channel."""

    _ndim = 4

    def _expected_shape(self) -> str:
        return f"(N, {self.num_features}, H, W)"


class BatchNorm1d(_BatchNorm):
    """`torch.nn.BatchNorm1d(num_features, eps, momentum, affine, track_running_stats)`:
    (N, C) -> (N, C), statistics over N for each feature. PyTorch's (N, C, L) input is not
    supported here: only (N, C), as after `Flatten` or `Linear`."""

    _ndim = 2

    def _expected_shape(self) -> str:
        return f"(N, {self.num_features})"
