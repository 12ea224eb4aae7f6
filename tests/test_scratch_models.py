"""Whole scratch models against a plain PyTorch restatement of the same layers, in float64:
logits, loss, every parameter gradient, and the CAM feature map with its gradient."""

from __future__ import annotations

import subprocess
import sys
import types
from collections import OrderedDict

import numpy as np
import pytest

from cnnlab.models import ARCHITECTURES, MODEL_NAMES, build_model, get_spec
from cnnlab.models.shapes import feature_shape
from cnnlab.scratch import CrossEntropyLoss
from torch_oracle import nn, torch

TOL = {"rtol": 1e-10, "atol": 1e-12}


def torch_twin(name: str) -> nn.Sequential:
    """The architectures of `cnnlab.models.spec`, written out by hand with torch.nn."""
    layers = {
        "cnn2": [
            ("conv1", nn.Conv2d(1, 16, 3)),
            ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(16, 32, 3)),
            ("relu2", nn.ReLU()),
            ("flatten", nn.Flatten()),
            ("fc", nn.Linear(32 * 11 * 11, 10)),
        ],
        "cnn3": [
            ("conv1", nn.Conv2d(1, 16, 3)),
            ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(16, 32, 3)),
            ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),
            ("conv3", nn.Conv2d(32, 64, 3)),
            ("relu3", nn.ReLU()),
            ("flatten", nn.Flatten()),
            ("fc", nn.Linear(64 * 3 * 3, 10)),
        ],
        "mlp3": [
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(784, 256)),
            ("relu1", nn.ReLU()),
            ("fc2", nn.Linear(256, 256)),
            ("relu2", nn.ReLU()),
            ("fc3", nn.Linear(256, 10)),
        ],
        "lenet5": [
            ("conv1", nn.Conv2d(1, 6, 5, padding=2)),
            ("tanh1", nn.Tanh()),
            ("avgpool1", nn.AvgPool2d(2)),
            ("conv2", nn.Conv2d(6, 16, 5)),
            ("tanh2", nn.Tanh()),
            ("avgpool2", nn.AvgPool2d(2)),
            ("flatten1", nn.Flatten()),
            ("fc1", nn.Linear(16 * 5 * 5, 120)),
            ("tanh3", nn.Tanh()),
            ("fc2", nn.Linear(120, 84)),
            ("tanh4", nn.Tanh()),
            ("fc3", nn.Linear(84, 10)),
        ],
        "cnn3pad": [
            ("conv1", nn.Conv2d(1, 16, 3, padding=1)),
            ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(16, 32, 3, padding=1)),
            ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),
            ("conv3", nn.Conv2d(32, 64, 3, padding=1)),
            ("relu3", nn.ReLU()),
            ("flatten", nn.Flatten()),
            ("fc", nn.Linear(64 * 7 * 7, 10)),
        ],
    }[name]
    return nn.Sequential(OrderedDict(layers)).double()


def batch(seed: int = 0, n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 1, 28, 28)), rng.integers(0, 10, size=n)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_model_matches_torch(name):
    model = build_model(name, "scratch", seed=1).to(np.float64)
    twin = torch_twin(name)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    x, targets = batch()

    captured = {}
    feature_layer = model.spec.feature_layer
    if feature_layer is not None:

        def keep(module, inputs, output):
            output.retain_grad()
            captured["map"] = output

        getattr(twin, feature_layer).register_forward_hook(keep)
    logits_t = twin(torch.from_numpy(x))
    loss_t = nn.functional.cross_entropy(logits_t, torch.from_numpy(targets))
    loss_t.backward()

    loss = CrossEntropyLoss()
    logits = model(x)
    value = loss(logits, targets)
    assert model.backward(loss.backward()) is None  # the first layer skips dL/dimage

    np.testing.assert_allclose(logits, logits_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(value, loss_t.item(), **TOL)
    grads = {name: p.grad for name, p in model.named_parameters()}
    assert list(grads) == [name for name, _ in twin.named_parameters()]
    for key, param_t in twin.named_parameters():
        np.testing.assert_allclose(grads[key], param_t.grad.numpy(), **TOL, err_msg=key)
    if feature_layer is None:
        assert model.feature_map is None
        assert model.feature_grad is None
    else:
        assert model.feature_map.shape == (len(x), *feature_shape(model.spec))
        np.testing.assert_allclose(model.feature_map, captured["map"].detach().numpy(), **TOL)
        np.testing.assert_allclose(model.feature_grad, captured["map"].grad.numpy(), **TOL)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_only_the_leading_layers_skip_the_input_gradient(name):
    model = build_model(name)
    flags = {layer_name: layer.needs_input_grad for layer_name, layer in model.named_children()}
    first_with_params = next(n for n, layer in model.named_children() if any(layer.parameters()))
    names = list(flags)
    leading = names[: names.index(first_with_params) + 1]
    assert flags == {n: n not in leading for n in names}


def test_model_carries_its_spec_and_is_seeded():
    a, b, c = build_model("cnn2", seed=3), build_model("cnn2", seed=3), build_model("cnn2", seed=4)
    assert a.spec is ARCHITECTURES["cnn2"] is get_spec("cnn2")
    assert all(np.array_equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())
    assert not np.array_equal(a.conv1.weight.data, c.conv1.weight.data)


def test_unknown_names_and_engines_are_rejected():
    with pytest.raises(ValueError, match="unknown model 'cnn9'"):
        build_model("cnn9")
    with pytest.raises(ValueError, match="unknown engine 'jax'"):
        build_model("cnn2", engine="jax")


@pytest.mark.parametrize("engine", ["torch", "keras"])
def test_other_engines_dispatch_to_their_builder(engine, monkeypatch):
    calls = []
    fake = types.ModuleType(f"cnnlab.models.{engine}_builder")
    fake.build = lambda spec, seed: calls.append((spec, seed)) or "model"
    monkeypatch.setitem(sys.modules, fake.__name__, fake)
    assert build_model("cnn3", engine=engine, seed=7) == "model"
    assert calls == [(ARCHITECTURES["cnn3"], 7)]


def test_the_scratch_path_never_imports_torch():
    code = (
        "import sys, numpy as np\n"
        "from cnnlab.models import build_model\n"
        "import cnnlab.scratch\n"
        "m = build_model('cnn2')\n"
        "m.backward(m(np.zeros((1, 1, 28, 28), np.float32)))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
