"""A recording upstream HTTP API for the end-to-end tests.

It records every request exactly as it arrived (method, raw target, headers, body bytes) and
answers with canned responses chosen by method and raw path; a canned response can also wait
(hang) before answering. Standard library only, one thread per connection, HTTP/1.1 keep-alive
(the generated server pools its upstream connections).
"""

from __future__ import annotations

import http.server
import ssl
import threading
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Recorded:
    method: str
    target: str
    """The request target exactly as sent: percent-encoding untouched."""
    path: str
    query: str
    """The raw query string (after `?`), or '' when there is none."""
    headers: dict[str, str]
    """Lower-cased names; repeated headers joined with ', '."""
    body: bytes

    @property
    def cookie(self) -> str:
        """The raw Cookie header, or ''."""
        return self.headers.get("cookie", "")


@dataclass
class Canned:
    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    delay: float = 0.0
    """Seconds to wait before answering (cut short when the server stops)."""
    headers: dict[str, str] = field(default_factory=dict)


Responder = Callable[[Recorded], Canned]


class RecordingUpstream:
    """Serves on 127.0.0.1 at a free port; `base_url` ends in `/api`. With `tls`, it speaks
    HTTPS with that server context."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[Recorded] = []
        self._routes: dict[tuple[str, str], Canned | Responder] = {}
        self._fallback: Responder | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def _read_body(self) -> bytes:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _handle(self) -> None:
                body = self._read_body()
                path, _, query = self.path.partition("?")
                headers: dict[str, str] = {}
                for name, value in self.headers.items():
                    key = name.lower()
                    headers[key] = f"{headers[key]}, {value}" if key in headers else value
                recorded = Recorded(self.command, self.path, path, query, headers, body)
                with upstream._lock:
                    upstream.requests.append(recorded)
                canned = upstream._respond(recorded)
                if canned.delay:
                    upstream._stopping.wait(canned.delay)
                try:
                    self.send_response(canned.status)
                    if canned.content_type is not None:
                        self.send_header("Content-Type", canned.content_type)
                    for name, value in canned.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(canned.body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(canned.body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    # The client stopped reading (a capped or timed-out response).
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        scheme = "https" if tls is not None else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self.port}/api"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> RecordingUpstream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def route(self, method: str, path: str, response: Canned | Responder) -> None:
        """Answers `method` on the raw `path` (as sent, under `/api`) with `response`."""
        self._routes[(method, path)] = response

    def fallback(self, responder: Responder) -> None:
        self._fallback = responder

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def only(self) -> Recorded:
        """The one request received since the last `clear`."""
        with self._lock:
            assert len(self.requests) == 1, f"expected one upstream request, got {self.requests}"
            return self.requests[0]

    def _respond(self, recorded: Recorded) -> Canned:
        found = self._routes.get((recorded.method, recorded.path))
        if found is None and self._fallback is not None:
            found = self._fallback
        if found is None:
            return Canned(404, b"no canned response", "text/plain")
        return found(recorded) if callable(found) else found


def wait_until_healthy(process, url: str, timeout: float, describe, stop) -> None:
    """Polls `url` (a server's /healthz) until it answers 200. Raises with `describe()` (the
    server's log) when the process exits or `timeout` seconds pass; `stop()` ends it then."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {describe()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop()
            raise RuntimeError(f"server did not answer {url} within {timeout:.0f} s: {describe()}")
        time.sleep(0.05)


def stop_process(process) -> None:
    """Stops a server process: SIGINT (Ctrl-C: a generated server stops without the drain that
    SIGTERM starts), then SIGKILL after 10 s."""
    import signal
    import subprocess

    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
