"""Mirror downloads against a local HTTP server on 127.0.0.1: checksums, fallback, no partial files."""
import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest

from neuroimc.datasets import DownloadError, _download, _paths, load_mnist, mnist
from neuroimc.datasets._download import fetch

from _idx_files import idx_bytes, tiny_mnist


class _Handler(http.server.BaseHTTPRequestHandler):
    files = {}  # path -> bytes
    truncated = set()  # paths sent with a full Content-Length but only half the body
    requests = []

    def do_GET(self):
        self.requests.append(self.path)
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path in self.truncated:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    handler = type("Handler", (_Handler,), {"files": {}, "truncated": set(), "requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=2)


def _digests(data):
    return hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest()


def test_fetch_verifies_and_writes(server, tmp_path):
    data = bytes(range(256)) * 1000
    server.files["/a/blob.bin"] = data
    md5, sha = _digests(data)
    out = fetch([server.url + "/a/blob.bin"], tmp_path / "blob.bin", md5=md5.upper(), sha256=sha,
                size=len(data), progress=False, timeout=5)
    assert out.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.bin"]


def test_checksum_mismatch_leaves_no_file(server, tmp_path):
    server.files["/blob.bin"] = b"not the file you want" * 100
    want_md5 = "0" * 32
    with pytest.raises(DownloadError, match=f"md5 checksum mismatch: expected {want_md5}, got "):
        fetch(server.url + "/blob.bin", tmp_path / "blob.bin", md5=want_md5, progress=False, timeout=5)
    assert list(tmp_path.iterdir()) == []
    md5, _ = _digests(server.files["/blob.bin"])
    with pytest.raises(DownloadError, match="sha256 checksum mismatch"):
        fetch(server.url + "/blob.bin", tmp_path / "blob.bin", md5=md5, sha256="f" * 64, progress=False, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_transfer_leaves_no_file(server, tmp_path):
    data = b"x" * 200_000
    server.files["/big.bin"] = data
    server.truncated.add("/big.bin")
    with pytest.raises(DownloadError) as err:
        fetch(server.url + "/big.bin", tmp_path / "big.bin", md5=_digests(data)[0], progress=False, timeout=5)
    assert "IncompleteRead" in str(err.value) or "connection closed after" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_interrupt_by_the_user_leaves_no_file(server, tmp_path, monkeypatch):
    server.files["/big.bin"] = b"y" * 300_000

    class Interrupting(_download.tqdm):
        def update(self, n=1):
            raise KeyboardInterrupt

    monkeypatch.setattr(_download, "tqdm", Interrupting)
    with pytest.raises(KeyboardInterrupt):
        fetch(server.url + "/big.bin", tmp_path / "big.bin", progress=False, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_falls_back_to_the_next_mirror(server, tmp_path):
    data = b"payload" * 50
    server.files["/good/f.bin"] = data
    md5, sha = _digests(data)
    fetch([server.url + "/bad/f.bin", server.url + "/good/f.bin"], tmp_path / "f.bin", md5=md5, sha256=sha,
          progress=False, timeout=5)
    assert (tmp_path / "f.bin").read_bytes() == data
    assert server.requests == ["/bad/f.bin", "/good/f.bin"]
    with pytest.raises(DownloadError, match=r"(?s)from any of 2 mirror\(s\).*HTTP Error 404.*HTTP Error 404"):
        fetch([server.url + "/x", server.url + "/y"], tmp_path / "g.bin", progress=False, timeout=5)


def _serve_tiny_mnist(server, monkeypatch, split="test", n=6):
    """Serve a tiny IDX split under LeCun's names and make it the published set."""
    images, labels = tiny_mnist(n, seed=3)
    specs = dict(mnist.MNIST_FILES)
    for stem, arr in zip(mnist.SPLITS[split], (images, labels)):
        body = gzip.compress(idx_bytes(arr))
        server.files[f"/mirror/{stem}.gz"] = body
        specs[stem + ".gz"] = mnist.FileSpec(len(body), *_digests(body))
    monkeypatch.setattr(mnist, "MNIST_FILES", specs)
    return images, labels


def test_load_mnist_downloads_when_asked(server, tmp_path, monkeypatch):
    monkeypatch.setenv(_paths.ENV_VAR, str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NEUROIMC_MNIST_MIRRORS", raising=False)
    images, labels = _serve_tiny_mnist(server, monkeypatch)
    folder = tmp_path / "data" / "mnist"
    with pytest.raises(FileNotFoundError):
        load_mnist(split="test")
    x, y = load_mnist(split="test", download=True, progress=False,
                      mirrors=[server.url + "/nothing-here", server.url + "/mirror"])
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)
    assert sorted(p.name for p in folder.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    served = len(server.requests)
    load_mnist(split="test", download=True, progress=False, mirrors=[server.url + "/mirror"])
    assert len(server.requests) == served  # verified files already there: nothing fetched again


def test_download_mirrors_from_the_environment(server, tmp_path, monkeypatch):
    images, _ = _serve_tiny_mnist(server, monkeypatch, split="train", n=2)
    monkeypatch.setenv("NEUROIMC_MNIST_MIRRORS", server.url + "/mirror")
    folder = mnist.download_mnist(tmp_path / "m", splits="train", progress=False)
    assert folder == tmp_path / "m"
    np.testing.assert_array_equal(load_mnist(folder, split="train")[0], images)
    with pytest.raises(ValueError, match="mirrors must be a non-empty sequence of base URLs"):
        mnist.download_mnist(tmp_path / "m", mirrors=[])
