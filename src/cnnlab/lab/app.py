"""The lab's web app: a JSON API under /api/ and one page served from the package's static/.

Every error is JSON `{"error": sentence}`. Runs are looked up by the ids GET /api/runs lists;
no endpoint takes a path. The model work of a request runs in a worker thread, off the event
loop. Request bodies pass `bodylimit.BodyLimit` first: an oversized one never reaches a route.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from cnnlab.errors import UserError
from cnnlab.lab import activations, http_errors, inference, testset
from cnnlab.lab.attribution import DEFAULT, check_method
from cnnlab.lab.bodylimit import BodyLimit
from cnnlab.lab.runs import RunRegistry, answering

MAX_CURVE_RUNS = 20  # runs one GET /api/curves answers for

STATIC_DIR = Path(str(resources.files("cnnlab.lab") / "static"))


def create_app(runs_dir: str | Path, data_dir: str | Path | None = None) -> FastAPI:
    """The app over the run directories in `runs_dir` (loaded now); MNIST's test set (for the
    confusion grid) is read from `data_dir` / $CNNLAB_DATA / the cache when first needed."""
    registry = RunRegistry(runs_dir, on_load=inference.warm_up)
    tests = testset.TestSet(data_dir)
    app = FastAPI(title="cnnlab lab", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.registry = registry
    http_errors.install(app)
    app.add_middleware(BodyLimit)

    @app.get("/api/runs")
    def list_runs() -> dict:
        registry.refresh()
        return {"runs": [run.summary() for run in registry.runs()]}

    _add_picture_routes(app, registry)
    _add_test_set_routes(app, registry, tests)

    @app.get("/")
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _ready_run(registry: RunRegistry, run_id: str):
    """The run `run_id`, loaded; 404 for an unknown id, a sentence for a broken run."""
    run = registry.get(run_id)
    if not run.ready:
        raise UserError(f"the run {run.id} is broken: {run.error}")
    return run


def _add_picture_routes(app: FastAPI, registry: RunRegistry) -> None:
    """The routes that answer for a picture the user sends: every run's prediction, and one
    run's layer activations."""

    @app.post("/api/predict")
    async def predict(request: Request, method: str = DEFAULT, data: str | None = None) -> dict:
        method = check_method(method)
        body = await request.body()  # at most BodyLimit's bound
        await run_in_threadpool(registry.refresh)
        runs = registry.ready()
        group = pick_group(runs, data)
        chosen = [run for run in runs if run.data.key == group.key]
        image = inference.decode_picture(body, request.headers.get("content-type", ""), group)
        return await run_in_threadpool(inference.predict_all, chosen, image, method)

    @app.post("/api/activations/{run_id}")
    async def layer_activations(run_id: str, request: Request, method: str = DEFAULT) -> dict:
        method = check_method(method)
        run = _ready_run(registry, run_id)
        body = await request.body()  # at most BodyLimit's bound
        image = inference.decode_picture(body, request.headers.get("content-type", ""), run.data)
        with answering(run):
            return await run_in_threadpool(activations.inside, run, image, method)


def _add_test_set_routes(app: FastAPI, registry: RunRegistry, tests: testset.TestSet) -> None:
    """The routes over what a run was tested and trained on: its confusion grid and a cell's
    images, a test image, and the learning curves of several runs."""

    @app.get("/api/confusion/{run_id}")
    def confusion(run_id: str, true: int | None = None, predicted: int | None = None) -> dict:
        run = _ready_run(registry, run_id)
        if (true is None) != (predicted is None):
            raise UserError("give both true and predicted (class numbers) to open a cell.")
        with answering(run):
            return tests.confusion(run) if true is None else tests.cell(run, true, predicted)

    @app.get("/api/test-image/{index}")
    def test_image(index: int, run: str | None = None) -> Response:
        """Test image `index` of the data set of `run` (default: the first run listed)."""
        chosen = registry.get(run) if run is not None else next(iter(registry.ready()), None)
        if chosen is None or not chosen.ready:
            raise UserError("no ready run names a data set to show test images of.")
        return Response(tests.image_png(chosen, index), media_type="image/png")

    @app.get("/api/curves")
    def curves(runs: str = "") -> dict:
        ids = list(dict.fromkeys(run_id for run_id in runs.split(",") if run_id))  # no repeats
        note = None
        if len(ids) > MAX_CURVE_RUNS:
            note = (
                f"showing the first {MAX_CURVE_RUNS} of the {len(ids)} runs asked for; "
                f"ask for at most {MAX_CURVE_RUNS} at a time."
            )
            ids = ids[:MAX_CURVE_RUNS]
        chosen = [registry.get(run_id) for run_id in ids]  # an unknown id: 404
        return {"runs": [testset.curves(run) for run in chosen], "note": note}


def pick_group(runs, key: str | None):
    """The data set (`rundata.RunData`) of the runs a picture goes to: the one `key` names, or
    that of the first run listed (MNIST when none is ready). UserError for an unknown key."""
    from cnnlab.lab.rundata import run_data

    if key is None:
        return runs[0].data if runs else run_data({})
    for run in runs:
        if run.data.key == key:
            return run.data
    raise UserError(f"no ready run was trained on the data set {key!r}; see GET /api/runs.")
