"""The Keras engine: the Keras 3 twin (torch backend) behind the same verbs as the other engines.

A training step is Keras' own: the model's forward pass, Keras' cross-entropy, and a
`keras.optimizers.SGD` / `Adam` update. Only the gradients come from `torch.autograd`, which is
how a custom Keras training loop reads on the torch backend (the variables are torch tensors).

How the optimizers compare with PyTorch's (the loop's `--optimizer sgd|adam`):
- Weight decay is PyTorch's L2 term, `g + weight_decay * w`, added to the gradient here: Keras'
  own `weight_decay` argument is decoupled (AdamW-style), a different update.
- SGD with momentum: Keras keeps `v = m*v - lr*g; w += v`, PyTorch `b = m*b + g; w -= lr*b`.
  With a constant learning rate `v = -lr*b` and the weights agree step for step; when the
  schedule changes `lr`, Keras' velocity still carries the earlier rates, PyTorch's does not.
- Adam: Keras adds epsilon to the uncorrected `sqrt(v)`, PyTorch to `sqrt(v / (1 - beta2^t))`;
  with the same epsilon (1e-8, PyTorch's default, not Keras' 1e-7) the two differ only while
  `sqrt(v)` is comparable to epsilon.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from cnnlab.errors import UserError
from cnnlab.models.spec import ArchSpec
from cnnlab.training.checkpoint import load_npz, save_npz
from cnnlab.training.engines.base import CHECKPOINT_ERRORS, checkpoint_error, torch_threads
from cnnlab.training.rng_state import STATE_KEY

ADAM_EPSILON = 1e-8  # PyTorch's default; see the module docstring


class KerasEngine:
    """The Keras twin, on Keras' default torch device (a GPU when one is present)."""

    name: ClassVar[str] = "keras"
    label: ClassVar[str] = "Keras"
    checkpoint_name: ClassVar[str] = "checkpoint.keras.npz"
    libraries: ClassVar[tuple[str, ...]] = ("keras", "torch")  # Keras on its torch backend
    threads = staticmethod(torch_threads)  # Keras runs on its PyTorch backend

    @classmethod
    def require(cls) -> None:
        """Raise a `UserError` with an install hint when Keras (or its torch backend) is missing."""
        try:
            from cnnlab.models.keras_builder import import_keras

            import_keras()
        except ImportError as err:
            raise UserError(
                "the keras engine needs keras and torch, which are not installed; "
                "install them with `pip install 'cnnlab[keras]'`."
            ) from err  # the cause tells the test suite which extra is missing

    @classmethod
    def create(cls, spec: ArchSpec | str, *, seed=0, dtype=np.float32, **options) -> KerasEngine:
        from cnnlab.models import build_model

        cls.require()
        options.pop("device", None)  # Keras picks its own device
        return cls(build_model(spec, engine=cls.name, seed=seed), dtype=dtype, **options)

    def __init__(
        self,
        model,
        optimizer: str = "adam",
        lr: float = 1e-3,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        dtype=np.float32,
    ):
        """`model` from `build_model(name, "keras", seed)`; `dtype` must be float32."""
        import torch

        from cnnlab.models import keras_convert
        from cnnlab.models.keras_builder import import_keras

        if np.dtype(dtype) != np.float32:
            # Keras promotes like JAX without x64 on its non-TensorFlow backends: a float64
            # Dense layer multiplies in float32 (`keras.backend.result_type("float64", "float64")`
            # is "float32"), so a float64 Keras model would not be the float64 check it claims.
            raise UserError(
                f"the keras engine computes in float32 only, not {np.dtype(dtype).name}: "
                "Keras multiplies float64 matrices in float32 on its torch backend."
            )
        self.keras, self.torch, self.convert = import_keras(), torch, keras_convert
        self.model = model
        self.variables = model.trainable_variables
        self.device = str(self.variables[0].value.device)  # Keras' own choice
        self.loss = self.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.weight_decay = weight_decay
        if optimizer == "sgd":
            self.optimizer = self.keras.optimizers.SGD(learning_rate=lr, momentum=momentum)
        else:
            self.optimizer = self.keras.optimizers.Adam(learning_rate=lr, epsilon=ADAM_EPSILON)
        self.optimizer.build(self.variables)  # creates its slots now, so `load` can fill them
        self._feature_model = None

    def _tensor(self, a: np.ndarray):
        return self.keras.ops.convert_to_tensor(a)  # on Keras' device; shares memory on a CPU

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        xt, yt = self._tensor(x), self._tensor(y)
        logits = self.model(xt, training=True)  # (B, 10)
        loss = self.loss(yt, logits)
        grads = self.torch.autograd.grad(loss, [v.value for v in self.variables])
        if self.weight_decay:
            grads = [
                g + self.weight_decay * v.value.detach()
                for g, v in zip(grads, self.variables, strict=True)
            ]
        self.optimizer.apply(grads, self.variables)
        return float(loss.item()), int((logits.argmax(dim=1) == yt).sum().item())

    def logits(self, x: np.ndarray) -> np.ndarray:
        with self.torch.no_grad():
            logits = self.model(self._tensor(x), training=False)
        return self.convert.to_numpy(logits)

    def set_lr(self, lr: float) -> None:
        self.optimizer.learning_rate.assign(lr)

    def feature_map_and_grad(self, x: np.ndarray, target: int | None):
        """For one image (1, 1, 28, 28): logits (10,), A (C, H, W), dS_target/dA, target."""
        x = self._tensor(x)
        with self.torch.enable_grad():
            feature_map, logits = self._feature_and_logits_model()(x, training=False)
        target = int(logits[0].argmax()) if target is None else target
        (grad,) = self.torch.autograd.grad(logits[0, target], feature_map)
        to_numpy = self.convert.to_numpy
        return (
            to_numpy(logits[0]).astype(np.float64),
            to_numpy(feature_map[0]),
            to_numpy(grad[0]),
            target,
        )

    def _feature_and_logits_model(self):
        """A functional model on the same layers: image -> (feature map (N, C, H, W), logits)."""
        if self._feature_model is None:
            layer = self.model.spec.feature_layer
            if layer is None:
                raise ValueError(f"{self.model.spec.name} has no conv feature map")
            outputs = [self.model.get_layer(layer).output, self.model.outputs[0]]
            self._feature_model = self.keras.Model(self.model.input, outputs)
        return self._feature_model

    def head_parameters(self) -> tuple[np.ndarray, np.ndarray]:
        head = self.model.spec.layers[-1].name
        state = self.convert.keras_to_numpy(self.model)
        return state[f"{head}.weight"], state[f"{head}.bias"]

    def save(self, path: Path, position: dict[str, Any]) -> None:
        """Weights in the NumPy layout (`model/conv1.weight`), optimizer variables by Keras name."""
        optimizer = {v.name: self.convert.to_numpy(v.value) for v in self.optimizer.variables}
        steps = int(self.convert.to_numpy(self.optimizer.iterations.value))  # BatchNorm's count
        position = position | {STATE_KEY: self._seed_states()}  # Dropout's generator
        save_npz(path, self.convert.keras_to_numpy(self.model, steps), optimizer, position)

    def _seed_generators(self) -> dict[str, Any]:
        """{layer name: its SeedGenerator} of the layers that draw in training (Dropout)."""
        layers = self.model.layers
        found = ((layer.name, getattr(layer, "seed_generator", None)) for layer in layers)
        return {name: generator for name, generator in found if generator is not None}

    def _seed_states(self) -> dict[str, list[int]]:
        states = self._seed_generators().items()
        return {name: self.convert.to_numpy(g.state.value).tolist() for name, g in states}

    def load(self, path: Path) -> dict[str, Any]:
        try:
            model, optimizer, position = load_npz(path)
            for name, generator in self._seed_generators().items():
                if name in position.get(STATE_KEY, {}):
                    generator.state.assign(np.array(position[STATE_KEY][name], dtype="int32"))
            position.pop(STATE_KEY, None)
            self.convert.load_numpy_state(self.model, model)
            if optimizer:
                self._load_optimizer(optimizer)
            return position
        except CHECKPOINT_ERRORS as err:
            raise checkpoint_error(path, err) from None

    def _load_optimizer(self, state: dict[str, np.ndarray]) -> None:
        variables = {v.name: v for v in self.optimizer.variables}
        if set(state) != set(variables):
            odd = sorted(set(state) ^ set(variables))[0]
            raise ValueError(
                f"its optimizer state does not fit this {self.optimizer.name} optimizer "
                f"({odd!r} is in one but not the other); was it saved with another --optimizer?"
            )
        for name, variable in variables.items():
            if state[name].shape != tuple(variable.shape):
                raise ValueError(
                    f"optimizer variable {name} has shape {state[name].shape}, "
                    f"this model needs {tuple(variable.shape)}"
                )
        for name, variable in variables.items():
            variable.assign(state[name])
