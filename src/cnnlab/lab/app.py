"""The lab's web app: a JSON API under /api/ and one page served from the package's static/.

Every error is JSON `{"error": sentence}`. Runs are looked up by the ids GET /api/runs lists;
no endpoint takes a path. The model work of a request runs in a worker thread, off the event
loop. Request bodies pass `bodylimit.BodyLimit` first: an oversized one never reaches a route.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from cnnlab.errors import UserError
from cnnlab.lab import activations, inference, testset
from cnnlab.lab.bodylimit import BodyLimit
from cnnlab.lab.runs import RunRegistry, UnknownRunError

STATIC_DIR = Path(str(resources.files("cnnlab.lab") / "static"))


def _error(status: int, sentence: str) -> JSONResponse:
    return JSONResponse({"error": sentence}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(UserError)
    async def user_error(request: Request, err: UserError) -> JSONResponse:
        return _error(400, str(err))

    @app.exception_handler(UnknownRunError)
    async def unknown_run(request: Request, err: UnknownRunError) -> JSONResponse:
        return _error(404, "no run has that id; GET /api/runs lists the runs.")

    @app.exception_handler(testset.NoSuchImageError)
    async def no_such_image(request: Request, err: testset.NoSuchImageError) -> JSONResponse:
        return _error(404, "the test set has images 0 to 9999 only.")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException) -> JSONResponse:
        sentence = "not found." if err.status_code == 404 else str(err.detail)
        return _error(err.status_code, sentence)


def create_app(runs_dir: str | Path, data_dir: str | Path | None = None) -> FastAPI:
    """The app over the run directories in `runs_dir` (loaded now); MNIST's test set (for the
    confusion grid) is read from `data_dir` / $CNNLAB_DATA / the cache when first needed."""
    registry = RunRegistry(runs_dir)
    tests = testset.TestSet(data_dir)
    app = FastAPI(title="cnnlab lab", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.registry = registry
    _install_error_handlers(app)
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
        return await run_in_threadpool(activations.inside, run, digit)

    @app.get("/api/confusion/{run_id}")
    def confusion(run_id: str, true: int | None = None, predicted: int | None = None) -> dict:
        run = ready_run(run_id)
        if true is None and predicted is None:
            return tests.confusion(run)
        if true is None or predicted is None:
            raise UserError("give both true and predicted (0-9) to open a confusion cell.")
        return tests.cell(run, true, predicted)

    @app.get("/api/test-image/{index}")
    def test_image(index: int) -> Response:
        return Response(tests.image_png(index), media_type="image/png")

    @app.get("/api/curves")
    def curves(runs: str = "") -> dict:
        ids = [run_id for run_id in runs.split(",") if run_id]
        return {"runs": [testset.curves(registry.get(run_id)) for run_id in ids]}

    @app.get("/")
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
