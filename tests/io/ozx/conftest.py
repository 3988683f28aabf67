"""An HTTP server on 127.0.0.1 that answers range requests and logs the bytes it sends."""

from __future__ import annotations

import http.server
import re
import threading
from pathlib import Path

import numpy as np
import pytest

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class RangeLog:
    """The GET requests served: (path, first byte, byte count)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, int]] = []
        self.lock = threading.Lock()

    def clear(self) -> None:
        with self.lock:
            self.sent.clear()

    @property
    def total(self) -> int:
        with self.lock:
            return sum(n for _, _, n in self.sent)


@pytest.fixture
def range_server(tmp_path):
    """Serves ``tmp_path / "www"``; yields (folder, base URL, RangeLog)."""
    root = tmp_path / "www"
    root.mkdir()
    log = RangeLog()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _file(self) -> Path | None:
            path = root / self.path.lstrip("/").split("?")[0]
            return path if path.is_file() else None

        def do_HEAD(self):
            path = self._file()
            if path is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(path.stat().st_size))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()

        def do_GET(self):
            path = self._file()
            if path is None:
                self.send_error(404)
                return
            size = path.stat().st_size
            match = _RANGE.match(self.headers.get("Range", "").strip())
            if match:
                first, last = match.groups()
                if first == "":
                    start, end = max(0, size - int(last)), size
                else:
                    start, end = int(first), min(size, int(last) + 1 if last else size)
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
            else:
                start, end = 0, size
                self.send_response(200)
            self.send_header("Content-Length", str(end - start))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            with open(path, "rb") as f:
                f.seek(start)
                data = f.read(end - start)
            with log.lock:
                log.sent.append((self.path, start, len(data)))
            self.wfile.write(data)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}", log
    server.shutdown()
    server.server_close()


OBLIQUE = np.array([[0.8137977, -0.4409696, 0.3785223],
                    [0.4698463, 0.8825641, 0.0180283],
                    [-0.3420201, 0.1631759, 0.9254166]])
OBLIQUE, _ = np.linalg.qr(OBLIQUE)  # exactly orthonormal
DIRECTIONS = {
    "identity": np.eye(3),
    "permuted": np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
    "oblique": OBLIQUE,
    "oblique_det_neg": OBLIQUE @ np.diag([1.0, -1.0, 1.0]),
}


def make_image(shape=(12, 20, 18), direction=None, seed=0, spacing=(2.5, 0.7, 0.9),
               origin=(-12.25, 7.5, 31.0), dtype="int16"):
    """A random 3-D image with a distinctive geometry."""
    import spatial_xr as sx

    rng = np.random.default_rng(seed)
    data = rng.integers(-500, 3000, size=shape).astype(dtype)
    return sx.from_array(data, spacing=spacing, origin=origin, direction=direction)
