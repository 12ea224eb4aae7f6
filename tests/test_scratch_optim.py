"""SGD and Adam against torch.optim over 10 steps with the same gradients, in float64; and
their state dicts (flat ndarrays, `.npz` without pickle)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from cnnlab.scratch import SGD, Adam, Parameter
from torch_oracle import torch

TOL = {"rtol": 1e-10, "atol": 1e-12}
SHAPES = [(3, 4), (5,)]


def make_params(seed: int = 0) -> list[Parameter]:
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal(shape)) for shape in SHAPES]


def gradients(step: int) -> list[np.ndarray]:
    rng = np.random.default_rng(100 + step)
    return [rng.standard_normal(shape) for shape in SHAPES]


def run_scratch(opt, params: list[Parameter], steps: range) -> None:
    for step in steps:
        if step == 5:
            opt.lr *= 0.5  # as a scheduler would, between steps
        opt.zero_grad()
        for param, grad in zip(params, gradients(step), strict=True):
            param.grad += grad
        opt.step()


def run_torch(opt_t: torch.optim.Optimizer, params_t: list[torch.Tensor], steps: range) -> None:
    for step in steps:
        if step == 5:
            opt_t.param_groups[0]["lr"] *= 0.5
        for param, grad in zip(params_t, gradients(step), strict=True):
            param.grad = torch.from_numpy(grad)
        opt_t.step()


def assert_same_trajectory(make_scratch, make_torch) -> None:
    params = make_params()
    params_t = [torch.from_numpy(p.data.copy()).requires_grad_() for p in params]
    run_scratch(make_scratch(params), params, range(10))
    run_torch(make_torch(params_t), params_t, range(10))
    for param, param_t in zip(params, params_t, strict=True):
        np.testing.assert_allclose(param.data, param_t.detach().numpy(), **TOL)


@pytest.mark.parametrize(
    ("momentum", "nesterov", "weight_decay"),
    [(0.0, False, 0.0), (0.0, False, 0.01), (0.9, False, 0.0), (0.9, True, 0.0),
     (0.9, False, 0.01), (0.9, True, 0.01)],
)  # fmt: skip
def test_sgd_matches_torch(momentum, nesterov, weight_decay):
    kwargs = {"lr": 0.1, "momentum": momentum, "weight_decay": weight_decay, "nesterov": nesterov}
    assert_same_trajectory(lambda p: SGD(p, **kwargs), lambda p: torch.optim.SGD(p, **kwargs))


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.8, 0.99)])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_adam_matches_torch(weight_decay, betas):
    kwargs = {"lr": 0.01, "betas": betas, "eps": 1e-8, "weight_decay": weight_decay}
    assert_same_trajectory(lambda p: Adam(p, **kwargs), lambda p: torch.optim.Adam(p, **kwargs))


def npz_round_trip(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as loaded:
        return dict(loaded)


@pytest.mark.parametrize(
    "make_opt",
    [lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True), lambda p: Adam(p, lr=0.01)],
    ids=["sgd", "adam"],
)
def test_state_dict_resumes_exactly(make_opt):
    straight = make_params()
    run_scratch(make_opt(straight), straight, range(10))

    params = make_params()
    opt = make_opt(params)
    run_scratch(opt, params, range(4))
    state = npz_round_trip(opt.state_dict())
    assert all(isinstance(value, np.ndarray) for value in state.values())
    resumed = make_opt(params)
    resumed.load_state_dict(state)
    run_scratch(resumed, params, range(4, 10))
    for a, b in zip(straight, params, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_adam_state_dict_keys():
    opt = Adam(make_params())
    assert sorted(opt.state_dict()) == sorted(
        ["lr", "step", "exp_avg.0", "exp_avg.1", "exp_avg_sq.0", "exp_avg_sq.1"]
    )


def test_load_state_dict_rejects_a_mismatch():
    opt = Adam(make_params())
    state = opt.state_dict()
    with pytest.raises(ValueError, match=r"'exp_avg\.0' has shape \(4, 3\).*\(3, 4\)"):
        opt.load_state_dict(state | {"exp_avg.0": np.zeros((4, 3))})
    with pytest.raises(ValueError, match=r"unexpected key 'exp_avg\.2'"):
        opt.load_state_dict(state | {"exp_avg.2": np.zeros(3)})
    del state["exp_avg_sq.1"]
    with pytest.raises(ValueError, match=r"missing key 'exp_avg_sq\.1'"):
        opt.load_state_dict(state)
