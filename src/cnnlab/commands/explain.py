"""`cnnlab explain RUN [RUN ...] (--index I | --image FILE | --sanity)`: attribution maps of
trained runs, or the figures that say which of them can be trusted."""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnlab.commands.checks import whole_number
from cnnlab.commands.options import add_data_dir

NAME = "explain"
HELP = "attribution maps (saliency, integrated gradients, Grad-CAM, ...) of one image"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN", help="trained run directories")
    image = parser.add_mutually_exclusive_group()
    image.add_argument(
        "--index",
        type=whole_number(0),
        help="test image number; one of --index, --image, --sanity (required)",
    )
    image.add_argument(
        "--image",
        metavar="FILE",
        help="a digit picture, PNG or JPEG, any size; or --index or --sanity (required)",
    )
    image.add_argument(
        "--sanity",
        action="store_true",
        help="randomisation and deletion/insertion figures over the first --images test images",
    )
    parser.add_argument(
        "--images",
        type=whole_number(1),
        default=100,
        metavar="N",
        help="--sanity: how many test images (default: 100)",
    )
    parser.add_argument(
        "--methods",
        default="all",
        help="'all' (every method the network has) or a comma-separated list of: "
        "saliency, input_x_gradient, integrated_gradients, smoothgrad, occlusion, "
        "guided_backprop, cam, gradcam, gradcam_plus_plus, hirescam, xgradcam, layercam, "
        "scorecam, eigencam, guided_gradcam (default: all)",
    )
    parser.add_argument(
        "--target", type=int, default=None, metavar="CLASS",
        help="class to explain (default: each network's predicted class)",
    )  # fmt: skip
    parser.add_argument(
        "--json", default=None, metavar="FILE", help="write the maps (default: none)"
    )
    parser.add_argument(
        "--out", default=None, metavar="DIR", help="folder for one figure per run (default: none)"
    )
    add_data_dir(parser)


def run(args: argparse.Namespace) -> int:
    from cnnlab.explain.runs import parse_methods

    _check_options(args)
    chosen = parse_methods(args.methods)
    _check_targets(args)
    if args.sanity:
        from cnnlab.fileio import write_json

        records = _sanity(args, chosen)
        write_json(args.json, records if len(records) > 1 else records[0])
        print(f"sanity figures: {args.json}")
        return 0
    records = [
        _explain_one(args, number, run_dir, chosen) for number, run_dir in enumerate(args.runs)
    ]
    if args.json is not None:
        from cnnlab.fileio import write_json

        write_json(args.json, [r for r, _ in records] if len(records) > 1 else records[0][0])
        print(f"maps: {args.json}")
    if args.out is not None:
        from cnnlab.outdir import OutputDir
        from cnnlab.viz.plots import png_bytes

        for _, (name, picture) in records:
            print(f"figure: {OutputDir(args.out).write_bytes(name, png_bytes(picture))}")
    return 0


def _check_options(args: argparse.Namespace) -> None:
    from cnnlab.errors import UserError

    if not args.sanity and args.index is None and args.image is None:
        raise UserError("say which image to explain: give --index I or --image FILE (or --sanity).")
    if args.sanity and args.json is None:
        raise UserError("--sanity writes its figures to a file: give --json FILE.")
    if args.sanity and (args.out is not None or args.target is not None):
        raise UserError(
            "--sanity explains each image's predicted class and draws nothing; "
            "leave out --out and --target."
        )


def _sanity(args: argparse.Namespace, chosen) -> list[dict]:
    """The randomisation and faithfulness figures of each run over its first --images test
    images, the runs side by side on the machine's cores."""
    from cnnlab.explain.trust_runs import sanity_figures, sanity_workers
    from cnnlab.processes import map_in_processes

    jobs = [(run_dir, args.data_dir, args.images, chosen) for run_dir in args.runs]
    workers = sanity_workers(len(jobs), args.images)
    records = []
    answers = map_in_processes(sanity_figures, jobs, workers)
    for run_dir, (figures, _) in zip(args.runs, answers, strict=True):
        for method, summary in figures["methods"].items():
            print(
                f"{run_dir} {method}: rank correlation {summary['spearman_randomised']:.2f} "
                f"after randomisation: {summary['verdict']}"
            )
        records.append({"run": str(Path(run_dir)), **figures})
    return records


def _check_targets(args: argparse.Namespace) -> None:
    """Every file this command may write, refused before the first run is loaded."""
    from cnnlab.fileio import refuse_not_a_file, refuse_symlink
    from cnnlab.outdir import OutputDir
    from cnnlab.rundir import RunDir

    for run_dir in args.runs:
        RunDir(run_dir).require_run()
    if args.json is not None:
        refuse_symlink(args.json)
        refuse_not_a_file(args.json)
    if args.out is not None:
        OutputDir(args.out).check([_figure_name(args, n, r) for n, r in enumerate(args.runs)])


def _figure_name(args: argparse.Namespace, number: int, run_dir: str) -> str:
    """explain_test7_01_cnn2-seed0.png: the image, the run's place on the command line (two
    runs of the same name in different folders stay apart) and its folder's name."""
    image = f"test{args.index}" if args.image is None else Path(args.image).stem
    return f"explain_{image}_{number + 1:02d}_{Path(run_dir).resolve().name}.png"


def _explain_one(args: argparse.Namespace, number: int, run_dir: str, chosen):
    """(JSON record, (figure name, RGB figure or None)) of one run."""
    import numpy as np

    from cnnlab.data import normalize
    from cnnlab.data.source import run_normalization
    from cnnlab.errors import UserError
    from cnnlab.explain.pictures import render_explanations
    from cnnlab.explain.runs import explain_run, methods_for, network_of, run_record
    from cnnlab.rundir import RunDir

    engine, config = RunDir(run_dir).load_trained("cpu")
    net = network_of(engine)
    image = _image(args, config)  # uint8 (H, W) or (C, H, W)
    stats = run_normalization(config)
    x = normalize(image[None], *stats).astype(np.float64)  # (1, C, H, W)
    if x.shape[1:] != tuple(net.spec.input_shape):
        shape = "x".join(map(str, net.spec.input_shape))
        raise UserError(
            f"{run_dir} takes {shape} images and --image reads a picture as a 28x28 grey "
            "digit; explain this run's own test images with --index."
        )
    background = float(normalize(np.zeros((1, 1, 1), np.uint8), *stats)[0, 0, 0, 0])
    methods = methods_for(net.spec, chosen, run_dir)
    # One image's batches are small: on one thread they run several times faster than on two
    # that wait for each other (measured on two shared cores)
    with engine.threads(1):
        target, predicted, probabilities, results = explain_run(
            net, x, methods, background, args.target
        )
    image_name = None if args.image is None else str(args.image)
    record = run_record(
        Path(run_dir), args.index, image_name, target, predicted, probabilities, results
    )
    total = sum(r["seconds"] for r in results.values())
    print(
        f"{run_dir}: class {target} (predicted {predicted}), "
        f"{len(results)} methods in {total:.2f} s"
    )
    picture = None
    if args.out is not None:
        title = f"{config['model']} · {config['engine']}: class {target}, predicted {predicted}"
        picture = render_explanations(image, results, title)
    return record, (_figure_name(args, number, run_dir), picture)


def _image(args: argparse.Namespace, config: dict):
    from cnnlab.errors import UserError

    if args.image is not None:
        from cnnlab.data.imageprep import load_digit

        return load_digit(args.image)
    from cnnlab.data.source import load_run_data

    images = load_run_data(config, args.data_dir).test_images
    if args.index >= len(images):
        raise UserError(
            f"--index {args.index} is out of range: the test set has 0..{len(images) - 1}."
        )
    return images[args.index]
