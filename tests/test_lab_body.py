"""Oversized request bodies: every client receives the lab's 413 sentence, never a reset
connection. Against a real `cnnlab lab` process (Python's urllib sends its whole body before it
reads, so a server that answers and closes early makes it lose the answer), and the middleware
alone for its memory and drain bounds."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import tracemalloc
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest

pytest.importorskip("fastapi", reason="the lab needs the [lab] extra")

from browser import lab_server
from cnnlab.lab.bench import drawn_digit_png
from cnnlab.lab.bodylimit import MAX_BODY_BYTES, BodyLimit

MB = 2**20
TRIES = 20


@pytest.fixture(scope="module")
def url(tmp_path_factory, mnist_dir):
    """A lab over an empty runs folder: the body bound does not depend on the runs."""
    with lab_server(tmp_path_factory.mktemp("lab-body-runs"), mnist_dir) as base:
        yield base


def urllib_post(url: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    """(status, JSON answer) of one POST /api/predict through plain urllib."""
    request = urllib.request.Request(
        url + "api/predict", data=body, headers={"Content-Type": "image/jpeg", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.parametrize("megabytes", [3, 10, 50])
def test_urllib_receives_the_413_sentence_for_every_oversized_post(url, megabytes):
    body = b"\xff" * (megabytes * MB)
    answers = [urllib_post(url, body) for _ in range(TRIES)]  # a reset raises URLError
    assert [status for status, _ in answers] == [413] * TRIES
    assert all("over 2 MB" in answer["error"] for _, answer in answers)


def test_urllib_with_expect_100_continue_still_receives_the_413(url):
    # urllib does not wait for the 100: it sends the body at once, so the server must drain it.
    status, answer = urllib_post(url, b"\0" * (10 * MB), {"Expect": "100-continue"})
    assert status == 413
    assert "over 2 MB" in answer["error"]


def test_a_chunked_body_without_a_length_gets_the_413(url):
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    chunks = (b"\0" * MB for _ in range(10))
    connection.request("POST", "/api/predict", body=chunks, encode_chunked=True)
    answer = connection.getresponse()
    assert answer.status == 413
    assert "over 2 MB" in json.loads(answer.read())["error"]
    connection.close()


def raw_exchange(url: str, head: bytes) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    sock.sendall(head)
    return sock


def read_answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    return data


def test_expect_100_continue_over_the_bound_is_refused_before_the_body_is_sent(url):
    head = (
        b"POST /api/predict HTTP/1.1\r\nHost: lab\r\nContent-Type: image/jpeg\r\n"
        b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % (50 * MB)
    )
    with raw_exchange(url, head) as sock:
        answer = read_answer(sock)  # no body sent: a 100 would leave us waiting here
        assert answer.startswith(b"HTTP/1.1 413 ")
        assert b"connection: close" in answer.lower()


def test_expect_100_continue_under_the_bound_gets_its_100_then_the_answer(url):
    picture = drawn_digit_png()
    head = (
        b"POST /api/predict HTTP/1.1\r\nHost: lab\r\nContent-Type: image/png\r\n"
        b"Content-Length: %d\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n" % len(picture)
    )
    with raw_exchange(url, head) as sock:
        assert read_answer(sock).startswith(b"HTTP/1.1 100 ")
        sock.sendall(picture)
        answer = read_answer(sock)
        assert answer.startswith(b"HTTP/1.1 200 ")


def test_another_expectation_gets_417_with_a_sentence(url):
    status, answer = urllib_post(url, drawn_digit_png(), {"Expect": "teapot"})
    assert status == 417
    assert "100-continue" in answer["error"]


# -- the middleware alone ------------------------------------------------------------------


async def call(app, chunks: int, chunk: bytes, headers=()):
    """Run `app` on a request whose body is `chunks` times `chunk`; (answer messages, chunks
    the app pulled)."""
    pulled, sent = [0], []

    async def receive():
        pulled[0] += 1
        more = pulled[0] < chunks
        return {
            "type": "http.request",
            "body": chunk if pulled[0] <= chunks else b"",
            "more_body": more,
        }

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": list(headers)}
    await app(scope, receive, send)
    return sent, pulled[0]


async def never_called(scope, receive, send):
    raise AssertionError("an oversized body reached the app")


def test_a_refused_body_is_drained_without_being_held():
    chunk = b"\0" * MB  # the same object each time: only what the middleware keeps adds up
    tracemalloc.start()
    sent, pulled = asyncio.run(call(BodyLimit(never_called), 200, chunk))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert sent[0]["status"] == 413
    assert pulled == 200  # all 200 MB read
    assert peak < MAX_BODY_BYTES


def test_draining_stops_at_its_bound():
    app = BodyLimit(never_called, drain_limit=10 * MB)
    sent, pulled = asyncio.run(call(app, 1000, b"\0" * MB))
    assert sent[0]["status"] == 413
    assert pulled < 20
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


def test_a_body_within_the_bound_reaches_the_app_whole():
    seen = []

    async def app(scope, receive, send):
        seen.append(await receive())

    asyncio.run(call(BodyLimit(app), 4, b"x" * 1000))
    assert seen == [{"type": "http.request", "body": b"x" * 4000, "more_body": False}]
