"""The registry of layer kinds (`cnnlab.models.layers`): the only place a kind is defined, and
every kind it holds builds, infers shapes, prints, round-trips and computes what PyTorch does,
in every engine."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import cnnlab
from cnnlab.models import build_model, spec_from_string
from cnnlab.models.arch_parse import parse_architecture
from cnnlab.models.arch_text import canonical_string
from cnnlab.models.layers import KINDS, ShapeError
from cnnlab.models.shapes import infer_shapes, parameter_count, summary_table

SOURCE = Path(cnnlab.__file__).parent
LAYER_FILES = SOURCE / "models" / "layers"


def _string_constants(path: Path):
    """(line, text) of every string literal in `path` that is not an `__all__` entry."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    exported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            exported |= {id(n) for n in ast.walk(node.value)}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in exported
        ):
            yield node.lineno, node.value


def test_no_kind_is_named_by_a_string_outside_its_own_record_file():
    """A table keyed by "Conv2d" anywhere else would be a second definition of the kind."""
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        for line, text in _string_constants(path):
            if text in KINDS and path.parent != LAYER_FILES:
                found.append(f"{path.relative_to(SOURCE)}:{line}: {text!r}")
    assert found == []


def test_each_kind_is_named_only_in_one_file_of_the_registry():
    owners: dict[str, list[str]] = {name: [] for name in KINDS}
    for path in LAYER_FILES.glob("*.py"):
        for _, text in _string_constants(path):
            if text in owners:
                owners[text].append(path.name)
    assert all(len(files) == 1 for files in owners.values()), owners


def _network(kind_name: str) -> str:
    """A small network around the kind's example: on a feature map if it takes one, else on
    the flat features."""
    example = KINDS[kind_name].example
    try:
        KINDS[kind_name].shape((4, 13, 13), parse_architecture(example)[0].kwargs)
    except ShapeError:
        return f"Conv2d(4, 3) MaxPool2d(2) Flatten {example} Linear(10)"
    return f"Conv2d(4, 3) MaxPool2d(2) {example} Flatten Linear(10)"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_infers_shapes_prints_and_round_trips(kind):
    text = _network(kind)
    spec = spec_from_string(text, "net")
    assert [layer.kind for layer in spec.layers].count(kind) >= 1
    assert infer_shapes(spec)[-1].out_shape == (10,)
    assert f"({kind})" in summary_table(spec)
    calls = parse_architecture(text)
    assert parse_architecture(canonical_string(calls)) == calls
    assert spec_from_string(spec.source, "net").layers == spec.layers
    model = build_model(spec, engine="scratch")
    assert sum(p.data.size for p in model.parameters()) == parameter_count(spec)
    assert model(np.zeros((3, 1, 28, 28), np.float32)).shape == (3, 10)  # runs in NumPy alone


def _torch_twins(spec):
    torch = pytest.importorskip("torch", reason="the PyTorch twin needs the torch extra")
    scratch = build_model(spec, engine="scratch", seed=3).to(np.float64)
    twin = build_model(spec, engine="torch", seed=3).to(torch.float64)
    return torch, scratch, twin


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_computes_what_pytorch_computes_in_float64(kind):
    spec = spec_from_string(_network(kind), "net")
    torch, scratch, twin = _torch_twins(spec)
    x = np.random.default_rng(0).normal(size=(4, 1, 28, 28))
    scratch.eval(), twin.eval()
    np.testing.assert_allclose(scratch(x), twin(torch.from_numpy(x)).detach().numpy(), rtol=1e-10)
    if KINDS[kind].identity_in_eval:
        return  # random in training: its masks are tested against PyTorch's rule on their own
    scratch.train(), twin.train()
    for layer in scratch:
        layer.needs_input_grad = True
    dy = np.random.default_rng(1).normal(size=(4, 10))
    logits = scratch(x)
    scratch.backward(dy)
    xt = torch.from_numpy(x).requires_grad_(True)
    expected = twin(xt)
    expected.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(logits, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    grads = dict(twin.named_parameters())
    for name, param in scratch.named_parameters():
        np.testing.assert_allclose(
            param.grad, grads[name].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name
        )


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_builds_in_keras_and_computes_what_pytorch_computes(kind):
    torch = pytest.importorskip("torch", reason="the Keras twin runs on the torch backend")
    from cnnlab.models.keras_builder import import_keras

    try:
        import_keras()
    except ImportError:
        pytest.skip("the keras extra (keras, torch) is not installed")
    spec = spec_from_string(_network(kind), "net")
    model = build_model(spec, engine="keras", seed=3)
    twin = build_model(spec, engine="torch", seed=3).eval()
    x = np.random.default_rng(0).normal(size=(4, 1, 28, 28)).astype(np.float32)
    got = np.asarray(model(x, training=False).detach().cpu())
    expected = twin(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_every_record_file_is_in_the_registry_and_holds_one_kind():
    from cnnlab.models.layers import RECORD_FILES

    holding = {p.stem for p in LAYER_FILES.glob("*.py") if "\nKIND = LayerKind(" in p.read_text()}
    assert holding == set(RECORD_FILES)
    assert len(KINDS) == len(RECORD_FILES)
