"""`cnnlab lab`: draw a digit in the browser and watch every trained run answer live."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

from cnnlab.commands.checks import whole_number
from cnnlab.commands.options import add_data_dir

NAME = "lab"
HELP = "serve a local web app: draw or drop a picture, see every run's prediction and map"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", default="runs", metavar="DIR", help="folder of run directories")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=whole_number(1), default=8000, help="port to listen on")
    parser.add_argument("--open", action="store_true", help="open the page in a web browser")
    add_data_dir(parser)
    parser.add_argument(
        "--bench", action="store_true", help="measure /api/predict latency instead of serving"
    )
    parser.add_argument(
        "--requests", type=whole_number(1), default=200, help="--bench: how many requests"
    )
    parser.add_argument(
        "--json", default=None, metavar="FILE", help="--bench: also write JSON (default: none)"
    )


def is_loopback(host: str) -> bool:
    """Whether `host` only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    from cnnlab.errors import UserError

    runs_dir = Path(args.runs)
    if not runs_dir.is_dir():
        raise UserError(
            f"{runs_dir} is not a folder; give --runs the folder of your run directories."
        )
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError:
        raise UserError(
            "cnnlab lab needs FastAPI and uvicorn: pip install 'cnnlab[lab]'."
        ) from None
    from cnnlab.lab.app import create_app
    from cnnlab.training.engines.base import blas_threads

    # One thread per request's maths: a single image is too small to share, and the cores
    # are better spent on concurrent requests.
    _limit_torch_threads()
    with blas_threads(1):
        app = create_app(runs_dir, data_dir=args.data_dir)
        if args.bench:
            from cnnlab.lab.bench import run_bench

            return run_bench(app, args.requests, args.json)
        return _serve(app, uvicorn, args)


def _limit_torch_threads() -> None:
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


def _serve(app, uvicorn, args: argparse.Namespace) -> int:
    if not is_loopback(args.host):
        print(
            f"cnnlab: warning: listening on {args.host}: anyone who can reach this machine can "
            "use the lab; use --host 127.0.0.1 to keep it local.",
            file=sys.stderr,
        )
    ready = app.state.registry.ready()
    broken = [run for run in app.state.registry.runs() if not run.ready]
    url = f"http://{args.host}:{args.port}/"
    print(f"cnnlab lab: {len(ready)} run(s) ready, {len(broken)} broken, at {url}", flush=True)
    for run in broken:
        print(f"  broken: {run.id}: {run.error}", file=sys.stderr)
    if args.open:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
