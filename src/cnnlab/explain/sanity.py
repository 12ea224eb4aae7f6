"""Can a map be trusted? Two measurements over N test images.

- Cascading model randomisation (Adebayo et al. 2018): the layers with parameters are
  re-initialised from the top down, one more at each stage, with the training initialiser
  (`build_model` with `RANDOM_SEED`: the weights a run with that seed starts from); at each
  stage every method's map (of the trained network's predicted class) is compared with the
  trained network's map: Spearman rank correlation and SSIM of the absolute maps. A method
  passes when the mean rank correlation after every layer is randomised is below
  `PASS_BELOW`; otherwise its picture does not depend on what the network learned.
- Faithfulness: deletion and insertion areas (`faithfulness`) per method, beside a random order.
"""

from __future__ import annotations

import numpy as np

from cnnlab.explain import faithfulness, similarity
from cnnlab.explain.methods import explain_images

# The figures are rank correlations, SSIMs and areas shown to two digits. float32 moved them by
# 3e-4 at most from float64 over the six default runs of MNIST (no verdict changed; the test
# holds a small network to 1e-3) and takes half the time in the NumPy engine, a third in
# PyTorch (whose float64 convolutions have no oneDNN kernels).
PRECISION = np.float32
RANDOM_SEED = 12345
PASS_BELOW = 0.5
RANDOM_ORDER_SEED = 0


def cascade_states(spec, trained: dict[str, np.ndarray]) -> list[tuple[str, dict]]:
    """[(layer name, state with it and every layer above re-initialised)], top layer first."""
    from cnnlab.models import build_model

    fresh = build_model(spec, "scratch", seed=RANDOM_SEED).state_dict()
    layers = [layer.name for layer in spec.layers if f"{layer.name}.weight" in trained]
    stages, state = [], dict(trained)
    for name in reversed(layers):
        state = state | {k: v for k, v in fresh.items() if k.startswith(f"{name}.")}
        stages.append((name, state))
    return stages


def sanity_checks(net, images: np.ndarray, methods, background: float) -> dict:
    """The figures of one network on normalised images (N, C, H, W): per method, the rank
    correlation and SSIM at each randomisation stage, its verdict, and the deletion and
    insertion areas with bootstrap intervals; the same areas for a random pixel order.
    Every step takes all N images as one batch."""
    stages = [
        (name, net.randomised(state)) for name, state in cascade_states(net.spec, net.state())
    ]
    targets, _, trained = explain_images(net, images, methods, background)
    scores = {
        method: _areas(net, images, faithfulness.ranking_of(result["map"]), targets, background)
        | {"spearman": [], "ssim": []}
        for method, result in trained.items()
    }
    rng = np.random.default_rng(RANDOM_ORDER_SEED)
    pixels = images.shape[2] * images.shape[3]
    random_order = np.stack([rng.permutation(pixels) for _ in images])  # (N, H*W)
    random_areas = _areas(net, images, random_order, targets, background)
    for _, randomised in stages:
        _, _, maps = explain_images(randomised, images, methods, background, targets)
        for method, result in maps.items():
            a, b = trained[method]["map"].sum(axis=1), result["map"].sum(axis=1)  # (N, H, W)
            scores[method]["spearman"].append(similarity.rank_correlations(a, b))
            scores[method]["ssim"].append(similarity.ssims(a, b))
    return {
        "images": len(images),
        "stages": [name for name, _ in stages],
        "pass_below": PASS_BELOW,
        "methods": {m: _summary(method_scores) for m, method_scores in scores.items()},
        "random_order": {k: faithfulness.bootstrap(v) for k, v in random_areas.items()},
    }


def _areas(net, images, rankings, targets, background: float) -> dict:
    """{"deletion": (N,), "insertion": (N,)}: the areas under each image's two curves."""
    deletion, insertion = faithfulness.batch_curves(net, images, rankings, targets, background)
    return {"deletion": faithfulness.area(deletion), "insertion": faithfulness.area(insertion)}


def _summary(scores: dict) -> dict:
    spearman = [float(np.mean(stage)) for stage in scores["spearman"]]
    passes = spearman[-1] < PASS_BELOW
    return {
        "spearman": spearman,
        "ssim": [float(np.mean(stage)) for stage in scores["ssim"]],
        "spearman_randomised": spearman[-1],
        "passes": passes,
        "verdict": "changes when the weights are randomised"
        if passes
        else "this picture does not depend on what the network learned",
        "deletion_auc": faithfulness.bootstrap(scores["deletion"]),
        "insertion_auc": faithfulness.bootstrap(scores["insertion"]),
    }
