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

    def ready_run(run_id: str):
        run = registry.get(run_id)
        if not run.ready:
            raise UserError(f"the run {run.id} is broken: {run.error}")
        return run

    @app.get("/api/runs")
    def list_runs() -> dict:
        registry.refresh()
        return {"runs": [run.summary() for run in registry.runs()]}

    @app.post("/api/predict")
    async def predict(request: Request) -> dict:
        body = await request.body()  # at most BodyLimit's bound
        content_type = request.headers.get("content-type", "")
        digit = inference.decode_digit(body, content_type)
        await run_in_threadpool(registry.refresh)
        return await run_in_threadpool(inference.predict_all, registry.ready(), digit)

    @app.post("/api/activations/{run_id}")
    async def layer_activations(run_id: str, request: Request) -> dict:
        run = ready_run(run_id)
        body = await request.body()  # at most BodyLimit's bound
        digit = inference.decode_digit(body, request.headers.get("content-type", ""))
        with answering(run):
            return await run_in_threadpool(activations.inside, run, digit)

    @app.get("/api/confusion/{run_id}")
    def confusion(run_id: str, true: int | None = None, predicted: int | None = None) -> dict:
        run = ready_run(run_id)
        if (true is None) != (predicted is None):
            raise UserError("give both true and predicted (0-9) to open a confusion cell.")
        with answering(run):
            return tests.confusion(run) if true is None else tests.cell(run, true, predicted)

    @app.get("/api/test-image/{index}")
    def test_image(index: int) -> Response:
        return Response(tests.image_png(index), media_type="image/png")

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

    @app.get("/")
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
