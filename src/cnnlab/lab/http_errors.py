"""Every error the lab answers, as JSON `{"error": sentence}` with a 4xx status.

Bad input of any kind (a picture that cannot be read, a query value of the wrong type, JSON
nested too deeply, an unknown address or method) and a run that cannot answer are the client's
4xx. Only a bug of the lab itself is a 500, and it too is a sentence, never a traceback or a
plain-text page.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from cnnlab.errors import UserError
from cnnlab.lab.runs import RunFailedError, UnknownRunError
from cnnlab.lab.testset import NoSuchImageError


def error(status: int, sentence: str) -> JSONResponse:
    return JSONResponse({"error": sentence}, status_code=status)


def validation_sentence(err: RequestValidationError) -> str:
    """FastAPI's first validation complaint as one sentence naming the parameter and value."""
    problems = err.errors()
    if not problems:
        return "the request is not valid."
    first = problems[0]
    where = [str(part) for part in first.get("loc", ())]
    place, name = (where[0], where[-1]) if len(where) > 1 else ("request", "value")
    message = str(first.get("msg", "is not valid"))
    sentence = f"the {place} parameter {name!r} is not valid: {message[:1].lower()}{message[1:]}"
    if "input" in first and place in ("query", "path"):
        sentence += f" (got {str(first['input'])[:80]!r})"
    return sentence + "."


def _http_sentence(request: Request, err: HTTPException) -> str:
    if err.status_code == 404:
        return "not found."
    if err.status_code == 405:
        return f"{request.url.path} does not answer {request.method} requests."
    return str(err.detail).rstrip(".") + "."


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into `{"error": sentence}`."""

    @app.exception_handler(UserError)
    async def user_error(request: Request, err: UserError) -> JSONResponse:
        return error(400, str(err))

    @app.exception_handler(RunFailedError)
    async def run_failed(request: Request, err: RunFailedError) -> JSONResponse:
        return error(400, str(err))

    @app.exception_handler(UnknownRunError)
    async def unknown_run(request: Request, err: UnknownRunError) -> JSONResponse:
        return error(404, "no run has that id; GET /api/runs lists the runs.")

    @app.exception_handler(NoSuchImageError)
    async def no_such_image(request: Request, err: NoSuchImageError) -> JSONResponse:
        return error(404, "the test set has images 0 to 9999 only.")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        return error(400, validation_sentence(err))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException) -> JSONResponse:
        return error(err.status_code, _http_sentence(request, err))

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, err: RecursionError) -> JSONResponse:
        return error(400, "the request is nested too deeply to read.")

    @app.exception_handler(Exception)  # Starlette answers with this, then logs the traceback
    async def bug(request: Request, err: Exception) -> JSONResponse:
        return error(500, f"the lab failed on this request ({type(err).__name__}); see its log.")
