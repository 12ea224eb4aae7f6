"""`cnnlab lab --bench`: p50/p95 latency of POST /api/predict, measured through a real server.

The server runs in a thread on a free loopback port; requests go one after another, each a
drawn digit (a PNG as the page sends it), so the figure is what one student waits per stroke.
"""

from __future__ import annotations

import http.client
import io
import socket
import threading
import time

import numpy as np

from cnnlab.fileio import write_json

WARM_UP = 5  # requests before timing: first calls load libraries and fill caches


def drawn_digit_png(size: int = 280) -> bytes:
    """A "7" drawn as the page draws it: a thick black stroke on white, as PNG bytes."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size, size), "white")
    pen = ImageDraw.Draw(img)
    s = size / 280
    points = [(80 * s, 70 * s), (200 * s, 70 * s), (120 * s, 220 * s)]
    pen.line(points, fill="black", width=round(22 * s), joint="curve")
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(app, port: int):
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread


def _post(port: int, body: bytes) -> float:
    """Seconds one POST /api/predict takes, answer read."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    connection.request("POST", "/api/predict", body=body, headers={"Content-Type": "image/png"})
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"/api/predict answered {response.status}")
    return elapsed


def run_bench(app, requests: int = 200, json_path: str | None = None) -> int:
    """Time `requests` predictions of every ready run; print the table, optionally write JSON."""
    runs = app.state.registry.ready()
    port = free_port()
    server, thread = _start_server(app, port)
    body = drawn_digit_png()
    try:
        for _ in range(WARM_UP):
            _post(port, body)
        ms = np.array([1000 * _post(port, body) for _ in range(requests)])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    result = {
        "requests": requests,
        "runs": [run.id for run in runs],
        "cams": sum(run.has_conv for run in runs),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "mean_ms": round(float(ms.mean()), 1),
        "max_ms": round(float(ms.max()), 1),
    }
    print(f"POST /api/predict, {requests} requests, {len(runs)} runs ({result['cams']} with CAM)")
    print("| p50 ms | p95 ms | mean ms | max ms |")
    print("|---:|---:|---:|---:|")
    print(f"| {result['p50_ms']} | {result['p95_ms']} | {result['mean_ms']} | {result['max_ms']} |")
    if json_path:
        write_json(json_path, result)
    return 0
