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
from cnnlab.explain.methods import explain_image

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
    insertion areas with bootstrap intervals; the same areas for a random pixel order."""
    stages = [
        (name, type(net).from_state(net.spec, state))
        for name, state in cascade_states(net.spec, net.state())
    ]
    rng = np.random.default_rng(RANDOM_ORDER_SEED)
    scores = {
        m: {"spearman": [[] for _ in stages], "ssim": [[] for _ in stages], "deletion": [],
            "insertion": []}
        for m in methods
    }  # fmt: skip
    random_areas = {"deletion": [], "insertion": []}
    for x in images[:, None]:  # (1, C, H, W) each
        target, _, trained = explain_image(net, x, methods, background)
        for method, result in trained.items():
            ranking = faithfulness.ranking_of(result["map"])
            _add_areas(scores[method], net, x, ranking, target, background)
        ranking = rng.permutation(x.shape[2] * x.shape[3])
        _add_areas(random_areas, net, x, ranking, target, background)
        for stage, (_, randomised) in enumerate(stages):
            _, _, maps = explain_image(randomised, x, methods, background, target)
            for method, result in maps.items():
                a, b = trained[method]["map"][0].sum(axis=0), result["map"][0].sum(axis=0)
                scores[method]["spearman"][stage].append(similarity.rank_correlation(a, b))
                scores[method]["ssim"][stage].append(similarity.ssim(a, b))
    return {
        "images": len(images),
        "stages": [name for name, _ in stages],
        "pass_below": PASS_BELOW,
        "methods": {m: _summary(method_scores) for m, method_scores in scores.items()},
        "random_order": {k: faithfulness.bootstrap(v) for k, v in random_areas.items()},
    }


def _add_areas(scores: dict, net, x, ranking, target: int, background: float) -> None:
    deletion, insertion = faithfulness.curves(net, x, ranking, target, background)
    scores["deletion"].append(faithfulness.area(deletion))
    scores["insertion"].append(faithfulness.area(insertion))


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
