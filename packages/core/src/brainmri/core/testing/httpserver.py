"""A real HTTP server on 127.0.0.1 for download tests (never the internet).

:class:`LocalServer` serves in-memory files from a thread, honours ``Range: bytes=N-``
(206 Partial Content, 416 past the end), records each request's path and Range header, and
can cut the connection after a given number of bytes of one file (once), as a dropped
transfer does.
"""

from __future__ import annotations

import http.server
import threading


class LocalServer:
    """Serve ``files`` (name -> bytes) at ``self.url`` (``http://127.0.0.1:<port>/``).

    Attributes:
        files: What is served (may be changed while running, e.g. to corrupt a file).
        cut_after: ``{name: n}``: the next transfer of ``name`` stops after ``n`` bytes.
        requests: ``(name, Range header or None)`` per request, in order.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, files: dict[str, bytes]):
        self.files = dict(files)
        self.cut_after: dict[str, int] = {}
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.lstrip("/")
                server.requests.append((name, self.headers.get("Range")))
                data = server.files.get(name)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                spec = self.headers.get("Range")
                if spec and spec.startswith("bytes=") and spec.endswith("-"):
                    start = int(spec[6:-1])
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                cut = server.cut_after.pop(name, None)
                if cut is not None:
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)  # the peer sees the transfer end early
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def refused_url() -> str:
    """``http://127.0.0.1:<port>/`` where nothing listens: connecting is refused (as offline)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
