"""OTLP export (DESIGN.md §6): with OTEL_EXPORTER_OTLP_ENDPOINT set, the generated server
exports its spans to a real OTLP receiver — Arize Phoenix (PyPI `arize-phoenix`, in its own venv
`.cache/phoenix-venv`, installed by run.sh from requirements-otlp.txt) — continuing the trace a
client's `traceparent` started: one `tools/call <tool>` server span whose parent is the client's
span, and one client span per upstream request, whose id is the one the upstream received."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from conftest import LOG_DIR, REPO, HttpServer, free_port
from test_operate_server import PARENT_SPAN, TRACE_ID, TRACEPARENT, item, run_calls
from upstream import RecordingUpstream, stop_process

PHOENIX = REPO / ".cache" / "phoenix-venv" / "bin" / "phoenix"


class Phoenix:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self._log = (LOG_DIR / "phoenix.log").open("wb")
        env = {
            **os.environ,
            "PHOENIX_WORKING_DIR": str(workdir),
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(self.port),
            "PHOENIX_GRPC_PORT": str(free_port()),
            "PHOENIX_TELEMETRY_ENABLED": "false",
        }
        self.process = subprocess.Popen(
            [str(PHOENIX), "serve"], stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=env
        )
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"phoenix exited: {(LOG_DIR / 'phoenix.log').read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("phoenix did not start within 120 s")
            time.sleep(0.5)

    def spans(self) -> list[dict]:
        with urllib.request.urlopen(f"{self.url}/v1/projects/default/spans?limit=100", timeout=5) as r:
            return json.load(r)["data"]

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phoenix]:
    if not PHOENIX.exists():
        pytest.fail(f"{PHOENIX} is missing: run the suite with tests/e2e/run.sh", pytrace=False)
    receiver = Phoenix(tmp_path_factory.mktemp("phoenix"))
    yield receiver
    receiver.stop()


def test_spans_reach_an_otlp_receiver_in_the_callers_trace(server_bin: Path, phoenix: Phoenix) -> None:
    shop = RecordingUpstream().start()
    shop.fallback(item)
    server = HttpServer(
        server_bin,
        shop.base_url,
        "operate-otlp",
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": phoenix.url, "OTEL_SERVICE_NAME": "operate-otlp-test"},
    )
    try:
        [result] = run_calls(server.url, [("get_item", {"id": "42"})], meta={"traceparent": TRACEPARENT})
        assert not result.is_error
        sent = shop.only().headers["traceparent"]
        # SIGTERM: the server drains, stops, and exports what it buffered on the way out.
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(20)
        assert server.process.returncode == 0, server.log()
    finally:
        server.stop()
        shop.stop()
    deadline = time.monotonic() + 20
    while True:
        spans = [s for s in phoenix.spans() if s["context"]["trace_id"] == TRACE_ID]
        if len(spans) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    by_name = {s["name"]: s for s in spans}
    assert set(by_name) == {"tools/call get_item", "GET"}, (spans, server.log())
    call = by_name["tools/call get_item"]
    assert call["parent_id"] == PARENT_SPAN, "continues the client's span"
    attributes = call["attributes"]
    assert attributes["mcp.method.name"] == "tools/call"
    assert attributes["gen_ai.tool.name"] == "get_item"
    assert attributes["jsonrpc.request.id"] != ""
    upstream = by_name["GET"]
    assert upstream["parent_id"] == call["context"]["span_id"]
    assert upstream["attributes"]["http.request.method"] == "GET"
    assert str(upstream["attributes"]["http.response.status_code"]) == "200"
    assert upstream["attributes"]["url.full"].endswith("/api/items/42")
    assert sent == f"00-{TRACE_ID}-{upstream['context']['span_id']}-01", "the upstream saw the client span's id"
