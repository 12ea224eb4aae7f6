"""The lab's bound on request bodies, kept so that every client receives the refusal.

A body over `MAX_BODY_BYTES` is answered 413 with `{"error": sentence}`. Answering alone is not
enough: a client such as Python's urllib sends its whole body before it reads the answer, and a
server that closes the socket while bytes are still arriving makes the client's TCP stack reset
the connection and drop the answer ("broken pipe", "connection reset by peer"). So the refusal is
written at once (clients that read early answers, such as curl, stop sending), then the rest of
the body is read and thrown away one chunk at a time, up to `MAX_DRAIN_BYTES`, and only then is
the connection closed. Memory held: an accepted body (at most `MAX_BODY_BYTES`), or one chunk of a
refused one.

`Expect: 100-continue` with a declared length over the bound is refused before the server asks
for the body, so a client that waits for the 100 never sends it; any other expectation gets 417.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

MAX_BODY_BYTES = 2 * 2**20  # larger request bodies get 413
MAX_DRAIN_BYTES = 2**30  # of a refused body, read and discarded before the connection closes
DRAIN_IDLE_S = 10.0  # a refused client that sends nothing for this long is hung up on

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def too_large_sentence(limit: int = MAX_BODY_BYTES) -> str:
    return (
        f"the request body is over {limit / 2**20:g} MB; send a smaller picture "
        "(the lab's page scales pictures down before sending them)."
    )


def _header(scope: Message, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value
    return None


def _declared_length(scope: Message) -> int | None:
    value = _header(scope, b"content-length")
    return int(value) if value is not None and value.strip().isdigit() else None


async def drain(receive: Receive, limit: int = MAX_DRAIN_BYTES) -> int:
    """Read and discard the request body until it ends, the client leaves, `limit` bytes have
    passed, or nothing arrives for `DRAIN_IDLE_S`; the bytes read."""
    drained = 0
    while drained <= limit:
        try:
            message = await asyncio.wait_for(receive(), DRAIN_IDLE_S)
        except TimeoutError:
            break
        if message["type"] != "http.request":
            break
        drained += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return drained


async def refuse(
    receive: Receive, send: Send, status: int, sentence: str, body_pending: bool, drain_limit: int
) -> None:
    """Answer `status` with `{"error": sentence}` now, then drain what the client still sends,
    then end the answer; the connection closes after it."""
    payload = json.dumps({"error": sentence}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": True})
    if body_pending:
        await drain(receive, drain_limit)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


class BodyLimit:
    """ASGI middleware: the app receives the whole body of an HTTP request in one message, at
    most `limit` bytes; a larger one is refused with 413 and drained (see the module's text)."""

    def __init__(
        self, app: Any, limit: int = MAX_BODY_BYTES, drain_limit: int = MAX_DRAIN_BYTES
    ) -> None:
        self.app = app
        self.limit = limit
        self.drain_limit = drain_limit

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        expect = _header(scope, b"expect")
        if expect is not None and expect.strip().lower() != b"100-continue":
            sentence = "the lab understands only the expectation 100-continue; send without it."
            await self._refuse(receive, send, 417, sentence, body_pending=True)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(receive, send, 413, too_large_sentence(self.limit), True)
            return
        body = await self._read_body(receive, send)
        if body is not None:
            await self.app(scope, _replay(body, receive), send)

    async def _refuse(
        self, receive: Receive, send: Send, status: int, sentence: str, body_pending: bool
    ) -> None:
        await refuse(receive, send, status, sentence, body_pending, self.drain_limit)

    async def _read_body(self, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None when it was refused or the client left."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None  # the client left
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            if size + len(chunk) > self.limit:
                chunks.clear()  # what was held goes before the drain starts
                await self._refuse(receive, send, 413, too_large_sentence(self.limit), more)
                return None
            chunks.append(chunk)
            size += len(chunk)
            if not more:
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the app the read body once, then passes on to the server's
    (which reports the client's disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed
