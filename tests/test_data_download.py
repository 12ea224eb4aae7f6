"""The downloader against a real HTTP server on loopback; nothing leaves 127.0.0.1."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.server
import socket
import threading

import pytest

from cnnlab.cli import main
from cnnlab.data import FILES, SHA256, download_mnist, load_mnist, verify_mnist
from cnnlab.data import download as download_module
from cnnlab.data.download import MIRRORS, BodyTooLargeError, fetch, mirror_list
from cnnlab.errors import UserError

LABELS = "t10k-labels-idx1-ubyte"


class Mirror(http.server.BaseHTTPRequestHandler):
    """Serves `routes` (URL path -> body); 404 otherwise. Paths in `short` lie about length,
    paths in `lengths` announce that Content-Length, paths in `unannounced` announce none."""

    routes: dict[str, bytes]
    short: set[str]
    lengths: dict[str, int]
    unannounced: set[str]
    requests: list[str]

    def do_GET(self):
        self.requests.append(self.path)
        body = self.routes.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        extra = 1000 if self.path in self.short else 0
        if self.path not in self.unannounced:
            length = self.lengths.get(self.path, len(body) + extra)
            self.send_header("Content-Length", str(length))
        self.end_headers()
        with contextlib.suppress(ConnectionError):  # the client may hang up on a long body
            self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format, *args):  # keep the test output clean
        pass


@pytest.fixture
def server():
    handler = type(
        "Handler",
        (Mirror,),
        {"routes": {}, "short": set(), "lengths": {}, "unannounced": set(), "requests": []},
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    handler.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield handler
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(scope="session")
def gz_files(mnist_dir):
    return {f"{name}.gz": (mnist_dir / f"{name}.gz").read_bytes() for name in FILES.values()}


@pytest.fixture
def good(server, gz_files):
    """The base URL of a mirror serving the real files."""
    for name, body in gz_files.items():
        server.routes[f"/good/{name}"] = body
    return f"{server.base}/good/"


@pytest.fixture
def corrupt_labels(gz_files):
    """(gz body, sha256 of its raw bytes): the test labels with one label changed."""
    raw = bytearray(gzip.decompress(gz_files[f"{LABELS}.gz"]))
    raw[8 + 100] ^= 1
    return gzip.compress(bytes(raw)), hashlib.sha256(raw).hexdigest()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty user cache under tmp_path, with no data directory or mirror configured."""
    monkeypatch.delenv("CNNLAB_DATA", raising=False)
    monkeypatch.delenv("CNNLAB_MNIST_MIRROR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "cnnlab" / "mnist"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_mirror_order(monkeypatch):
    monkeypatch.delenv("CNNLAB_MNIST_MIRROR", raising=False)
    assert mirror_list() == list(MIRRORS)
    assert MIRRORS[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"
    monkeypatch.setenv("CNNLAB_MNIST_MIRROR", "http://127.0.0.1:1/m")
    assert mirror_list() == ["http://127.0.0.1:1/m/"]
    assert mirror_list(["http://a/", "http://b"]) == ["http://a/", "http://b/"]


def test_download_into_the_cache_past_a_404_mirror(server, good, cache, capsys):
    mnist = load_mnist(mirrors=[f"{server.base}/missing/", good])

    assert mnist.directory == cache
    assert mnist.train_images.shape == (60000, 28, 28)
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{n}.gz" for n in FILES.values())
    assert all(report.ok for report in verify_mnist(cache))
    # The 404 mirror is asked once; after the good one answers, it is asked first.
    assert server.requests[0] == "/missing/train-images-idx3-ubyte.gz"
    assert [r.split("/")[1] for r in server.requests] == ["missing"] + ["good"] * 4
    assert capsys.readouterr().err == ""  # no progress bar when stderr is not a tty


def test_environment_mirror(server, good, cache, monkeypatch):
    monkeypatch.setenv("CNNLAB_MNIST_MIRROR", good)
    (path,) = download_mnist(cache, [LABELS])
    assert path == cache / f"{LABELS}.gz"
    assert server.requests == [f"/good/{LABELS}.gz"]


def test_corrupt_download_is_named_and_not_kept(server, cache, corrupt_labels):
    body, actual = corrupt_labels
    server.routes[f"/bad/{LABELS}.gz"] = body
    with pytest.raises(UserError) as err:
        download_mnist(cache, [LABELS], mirrors=[f"{server.base}/bad/"], progress=False)
    message = str(err.value)
    assert f"{LABELS}.gz" in message
    assert f"is {actual}, expected {SHA256[LABELS]}" in message
    assert not cache.exists() or list(cache.iterdir()) == []


def test_a_good_mirror_after_a_corrupt_one(server, good, cache, corrupt_labels):
    server.routes[f"/bad/{LABELS}.gz"] = corrupt_labels[0]
    download_mnist(cache, [LABELS], mirrors=[f"{server.base}/bad/", good], progress=False)
    assert [r.name for r in verify_mnist(cache) if r.ok] == [LABELS]


def test_a_short_body_is_a_failed_download(server, good, cache):
    server.short.add(f"/good/{LABELS}.gz")
    with pytest.raises(UserError, match=r"connection closed after \d+ of \d+ bytes"):
        download_mnist(cache, [LABELS], mirrors=[good], progress=False)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_an_announced_huge_body_is_refused_before_it_is_read(server, good, cache):
    server.lengths[f"/good/{LABELS}.gz"] = 10**10
    with pytest.raises(UserError) as err:
        download_mnist(cache, [LABELS], mirrors=[good], progress=False)
    message = str(err.value)
    assert f"{LABELS}.gz from" not in message  # it never got as far as inflating
    cap = download_module.MAX_BODY
    assert f"the server announces 10000000000 bytes, more than the {cap}" in message
    assert not cache.exists() or list(cache.iterdir()) == []


def test_an_unannounced_body_stops_at_the_cap(server, cache, monkeypatch):
    server.routes["/flood/x"] = bytes(300_000)
    server.unannounced.add("/flood/x")
    with pytest.raises(BodyTooLargeError, match=r"^the server sent more than 100000 bytes"):
        fetch(f"{server.base}/flood/x", max_bytes=100_000, progress=False)
    assert fetch(f"{server.base}/flood/x", max_bytes=300_000, progress=False) == bytes(300_000)

    # The cap applies to downloads, and a mirror that floods is passed over for the next one.
    monkeypatch.setattr(download_module, "MAX_BODY", 1000)
    server.routes[f"/flood/{LABELS}.gz"] = bytes(5000)
    server.unannounced.add(f"/flood/{LABELS}.gz")
    with pytest.raises(UserError, match=r"flood/t10k-labels-idx1-ubyte\.gz: the server sent more"):
        download_mnist(cache, [LABELS], mirrors=[f"{server.base}/flood/"], progress=False)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_a_gzip_bomb_from_a_mirror_is_refused(server, cache):
    header = (2049).to_bytes(4, "big") + (10**9).to_bytes(4, "big")
    server.routes[f"/bomb/{LABELS}.gz"] = gzip.compress(header + bytes(1 << 20))
    with pytest.raises(UserError, match=r"header declares 1000000008 bytes, more than the 10008"):
        download_mnist(cache, [LABELS], mirrors=[f"{server.base}/bomb/"], progress=False)
    assert not cache.exists() or list(cache.iterdir()) == []


def _fill_cache(cache, mnist_dir, corrupt_body):
    """The real files in the cache, except the test labels: a corrupt raw (uncompressed) file."""
    cache.mkdir(parents=True)
    for name in FILES.values():
        if name != LABELS:
            (cache / f"{name}.gz").write_bytes((mnist_dir / f"{name}.gz").read_bytes())
    (cache / LABELS).write_bytes(gzip.decompress(corrupt_body))


def test_corrupt_cached_file_is_downloaded_again_once(
    server, good, cache, mnist_dir, corrupt_labels
):
    _fill_cache(cache, mnist_dir, corrupt_labels[0])
    mnist = load_mnist(mirrors=[good], progress=False)
    assert mnist.digests[LABELS] == SHA256[LABELS]
    assert server.requests == [f"/good/{LABELS}.gz"]
    assert not (cache / LABELS).exists()  # the corrupt raw file no longer shadows the .gz


def test_corrupt_cached_file_without_downloads_is_an_error(
    server, cache, mnist_dir, corrupt_labels
):
    _fill_cache(cache, mnist_dir, corrupt_labels[0])
    with pytest.raises(UserError) as err:
        load_mnist(download=False, mirrors=[f"{server.base}/good/"])
    message = str(err.value)
    assert f"{cache / LABELS} fails its checksum" in message
    assert corrupt_labels[1] in message
    assert SHA256[LABELS] in message
    assert server.requests == []


def test_corrupt_cache_and_corrupt_mirror_is_an_error(server, cache, mnist_dir, corrupt_labels):
    _fill_cache(cache, mnist_dir, corrupt_labels[0])
    server.routes[f"/bad/{LABELS}.gz"] = corrupt_labels[0]
    with pytest.raises(UserError, match="could not download"):
        load_mnist(mirrors=[f"{server.base}/bad/"], progress=False)
    assert server.requests == [f"/bad/{LABELS}.gz"]  # once, no retry loop


def test_no_network_names_the_directory_and_the_fix(cache, monkeypatch, capsys):
    monkeypatch.setenv("CNNLAB_MNIST_MIRROR", f"http://127.0.0.1:{closed_port()}/")
    with pytest.raises(UserError) as err:
        load_mnist(progress=False)
    message = str(err.value)
    assert f"could not download train-images-idx3-ubyte.gz into {cache}" in message
    assert "CNNLAB_DATA" in message
    assert "--data-dir" in message
    assert "connect to the network" in message

    assert main(["data", "download"]) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("cnnlab: error: could not download train-images-idx3-ubyte.gz")
    assert str(cache) in stderr
    assert "Traceback" not in stderr


def test_cli_download_into_a_named_directory(server, good, tmp_path, capsys):
    target = tmp_path / "mnist"
    argv = ["data", "download", "--data-dir", str(target)]
    assert main([*argv, "--mirror", f"{server.base}/missing", "--mirror", good]) == 0
    assert "all 4 files verified" in capsys.readouterr().out
    assert all(report.ok for report in verify_mnist(target))
    requests = len(server.requests)
    assert main(argv) == 0  # already there: nothing is fetched, no mirror is needed
    assert "nothing to download" in capsys.readouterr().out
    assert len(server.requests) == requests
