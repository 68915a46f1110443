"""End to end: the crate generated from fixtures/e2e/openapi.yaml, driven by the official Python
MCP SDK over Streamable HTTP (negotiated and legacy handshake) and stdio, in front of a recording
upstream. Every request assertion is against what the upstream received, byte for byte."""

from __future__ import annotations

import base64
import json
import struct
import time
import urllib.parse
import zlib
from typing import Any, Awaitable, Callable

import anyio
import jsonschema
import pytest
from mcp import Client, MCPError, types

from conftest import UPSTREAM_TIMEOUT, Connect
from upstream import Canned, Recorded, RecordingUpstream


def png(width: int = 2, height: int = 1) -> bytes:
    """A valid RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


PNG = png()
BLOB = bytes(range(256)) * 4
BIG = 5 * 1024 * 1024
CAP = 1024 * 1024
ITEMS = [
    {"id": "1", "name": "Widget", "price": 9.5, "tags": ["a"]},
    {"id": "2", "name": "Gadget", "price": None},
]


def as_json(value: Any, status: int = 200) -> Canned:
    return Canned(status, json.dumps(value).encode(), "application/json")


def item_or_nothing(req: Recorded) -> Canned:
    if req.method == "GET" and req.path.startswith("/api/items/"):
        # `price: null` exercises the `nullable` the output schema must keep.
        return as_json({"id": req.path.rsplit("/", 1)[1], "name": "Widget", "price": None, "tags": []})
    if req.method == "DELETE":
        return Canned(204)
    return Canned(404, b"no canned response", "text/plain")


@pytest.fixture(scope="session", autouse=True)
def canned(upstream: RecordingUpstream) -> None:
    upstream.fallback(item_or_nothing)
    upstream.route("GET", "/api/items/missing", Canned(404, b'{"detail":"no such item"}', "application/json"))
    upstream.route("GET", "/api/items/boom", Canned(500, b"database on fire", "text/plain"))
    upstream.route("GET", "/api/items/slow", Canned(delay=UPSTREAM_TIMEOUT + 4.0, body=b"{}", content_type="application/json"))
    upstream.route("GET", "/api/items/html", Canned(200, b"<h1>maintenance</h1>", "text/html; charset=utf-8"))
    upstream.route("GET", "/api/search", as_json(ITEMS))
    upstream.route("POST", "/api/items", as_json({"id": "9", "name": "Widget", "price": 9.5}, status=201))
    upstream.route("POST", "/api/items/batch", as_json(2))
    upstream.route("POST", "/api/pets", lambda req: as_json({**json.loads(req.body), "id": 7}, status=201))
    upstream.route("POST", "/api/dogs", lambda req: as_json({**json.loads(req.body), "id": 8}, status=201))
    upstream.route("POST", "/api/login", Canned(200, b"token-123", "text/plain; charset=utf-8"))
    upstream.route("POST", "/api/upload", lambda req: as_json({"size": len(req.body)}))
    upstream.route("GET", "/api/files/notes.txt", Canned(200, "héllo\nworld".encode(), "text/plain; charset=utf-8"))
    upstream.route("GET", "/api/files/logo.png", Canned(200, PNG, "image/png"))
    upstream.route("GET", "/api/files/blob.bin", Canned(200, BLOB, "application/octet-stream"))
    upstream.route("GET", "/api/files/big.txt", Canned(200, b"0123456789abcde\n" * (BIG // 16), "text/plain"))


@pytest.fixture(autouse=True)
def fresh(upstream: RecordingUpstream) -> None:
    upstream.clear()


def run(connect: Connect, body: Callable[[Client], Awaitable[None]], **kw: Any) -> None:
    async def main() -> None:
        async with connect(**kw) as client:
            await body(client)

    anyio.run(main)


def text_of(result: types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def ok(client: Client, name: str, args: dict[str, Any]) -> types.CallToolResult:
    result = await client.call_tool(name, args)
    assert not result.is_error, text_of(result)
    return result


async def fails(client: Client, name: str, args: dict[str, Any]) -> str:
    result = await client.call_tool(name, args)
    assert result.is_error, result
    assert result.structured_content is None
    return text_of(result)


def multipart(content_type: str, body: bytes) -> list[tuple[dict[str, str], bytes]]:
    """Splits a multipart/form-data body strictly: (lower-cased headers, exact bytes) per part."""
    assert content_type.startswith("multipart/form-data; boundary="), content_type
    delimiter = b"--" + content_type.split("boundary=", 1)[1].encode()
    assert body.startswith(delimiter + b"\r\n") and body.endswith(b"\r\n" + delimiter + b"--\r\n")
    parts = []
    for chunk in body.split(b"\r\n" + delimiter)[:-1]:
        chunk = chunk.removeprefix(delimiter).removeprefix(b"\r\n")
        head, data = chunk.split(b"\r\n\r\n", 1)
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        parts.append(({k.lower(): v for k, v in headers.items()}, data))
    return parts


# --- tools/list --------------------------------------------------------------------------------


def test_tools_are_listed_with_schemas(connect: Connect) -> None:
    async def body(client: Client) -> None:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert sorted(tools) == [
            "create_dog", "create_item", "create_items", "create_pet", "delete_item", "get_file", "get_item", "login",
            "search", "upload",
        ]
        get_item = tools["get_item"]
        assert get_item.annotations.read_only_hint is True
        assert get_item.input_schema["required"] == ["id"]
        assert get_item.output_schema["required"] == ["id", "name"]
        assert tools["search"].output_schema["required"] == ["result"]
        assert tools["get_file"].output_schema is None
        assert tools["delete_item"].annotations.destructive_hint is True
        for tool in tools.values():
            jsonschema.Draft202012Validator.check_schema(tool.input_schema)

    run(connect, body)


# --- requests as the upstream receives them -----------------------------------------------------


def test_hostile_path_values_stay_in_their_segment(connect: Connect, upstream: RecordingUpstream) -> None:
    async def body(client: Client) -> None:
        for value, raw in [
            ("../admin", "..%2Fadmin"),
            ("a/b?c#d", "a%2Fb%3Fc%23d"),
            ("100% é ;x", "100%25%20%C3%A9%20%3Bx"),
        ]:
            upstream.clear()
            result = await ok(client, "get_item", {"id": value})
            req = upstream.only()
            assert (req.method, req.target) == ("GET", f"/api/items/{raw}")
            assert result.structured_content["id"] == raw
        for value in ["..", ".", ""]:
            upstream.clear()
            message = await fails(client, "get_item", {"id": value})
            assert "`id`" in message
            assert upstream.requests == []

    run(connect, body)


def test_query_styles_headers_and_cookies(connect: Connect, upstream: RecordingUpstream) -> None:
    async def body(client: Client) -> None:
        result = await ok(
            client,
            "search",
            {
                "q": "a b&c=d/é+",
                "tags": ["x", "y z"],
                "ids": [1, 2, 3],
                "filter": {"color": "red", "size": 2},
                "words": ["a", "b c"],
                "pipes": ["p", "q"],
                "X-Request-Id": "req-1",
                "X-Flags": ["f1", "f2"],
                "session": "s 1;2",
                "theme": "dark",
            },
        )
        req = upstream.only()
        assert (req.method, req.path, req.body) == ("GET", "/api/search", b"")
        assert req.query == (
            "q=a%20b%26c%3Dd%2F%C3%A9%2B"
            "&tags=x&tags=y%20z"  # form, exploded
            "&ids=1,2,3"  # form, not exploded
            "&filter%5Bcolor%5D=red&filter%5Bsize%5D=2"  # deepObject
            "&words=a%20b%20c"  # spaceDelimited
            "&pipes=p%7Cq"  # pipeDelimited
        )
        assert urllib.parse.parse_qsl(req.query)[0] == ("q", "a b&c=d/é+")
        assert req.headers["x-request-id"] == "req-1"
        assert req.headers["x-flags"] == "f1,f2"
        assert req.cookie == "session=s%201%3B2; theme=dark"
        assert "content-type" not in req.headers
        # A JSON array answer is wrapped, as the output schema says.
        assert result.structured_content == {"result": ITEMS}

        upstream.clear()
        await ok(client, "search", {"X-Request-Id": "only"})
        req = upstream.only()
        assert (req.target, req.headers["x-request-id"]) == ("/api/search", "only")
        assert "cookie" not in req.headers and "x-flags" not in req.headers

        upstream.clear()
        await ok(client, "get_item", {"id": "7", "X-Trace": "t-1", "session": "abc"})
        req = upstream.only()
        assert (req.headers["x-trace"], req.cookie) == ("t-1", "session=abc")

    run(connect, body)


def test_json_bodies(connect: Connect, upstream: RecordingUpstream) -> None:
    async def body(client: Client) -> None:
        meta = {"k": [1, {"x": None}], "note": "ü"}
        result = await ok(client, "create_item", {"name": "Widget", "price": 9.5, "tags": ["a", "b"], "meta": meta})
        req = upstream.only()
        assert (req.method, req.target) == ("POST", "/api/items")
        assert req.headers["content-type"] == "application/json"
        assert json.loads(req.body) == {"name": "Widget", "price": 9.5, "tags": ["a", "b"], "meta": meta}
        assert result.structured_content == {"id": "9", "name": "Widget", "price": 9.5}

        upstream.clear()
        await ok(client, "create_item", {"name": "Bare"})
        assert json.loads(upstream.only().body) == {"name": "Bare"}

        upstream.clear()
        items = [{"id": "1", "name": "a"}, {"id": "2", "name": "b", "tags": ["t"], "price": 1.5}]
        result = await ok(client, "create_items", {"body": items})
        req = upstream.only()
        assert (req.method, req.target, req.headers["content-type"]) == ("POST", "/api/items/batch", "application/json")
        assert json.loads(req.body) == items
        assert result.structured_content == {"result": 2}

    run(connect, body)


def test_discriminated_union_and_merged_all_of_bodies(connect: Connect, upstream: RecordingUpstream) -> None:
    async def body(client: Client) -> None:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        pet = tools["create_pet"].input_schema
        assert pet["type"] == "object" and not {"oneOf", "anyOf", "allOf"} & set(pet)
        branches = pet["properties"]["body"]["oneOf"]
        assert [b["properties"]["petType"]["const"] for b in branches] == ["cat", "dog"]
        for b in branches:
            assert b["type"] == "object" and "petType" in b["required"]
            assert "id" not in b["properties"] and "allOf" not in b
        dog = tools["create_dog"]
        assert sorted(dog.input_schema["properties"]) == ["barkVolume", "name", "petType", "secret"]
        assert dog.input_schema["required"] == ["barkVolume", "name", "petType"]
        assert "id" in dog.output_schema["properties"] and "secret" not in dog.output_schema["properties"]

        # The union deserialises into the server's tagged enum and reaches the upstream unchanged,
        # unknown properties included; the answer (with its read-only id) matches the outputSchema.
        cat = {"petType": "cat", "name": "Tom", "indoor": True, "colour": "grey", "secret": "psst"}
        result = await ok(client, "create_pet", {"body": cat})
        req = upstream.only()
        assert (req.method, req.target) == ("POST", "/api/pets")
        assert json.loads(req.body) == cat
        assert result.structured_content == {"result": {**cat, "id": 7}}
        jsonschema.validate(result.structured_content, tools["create_pet"].output_schema)

        upstream.clear()
        rex = {"petType": "dog", "name": "Rex", "barkVolume": 3}
        await ok(client, "create_pet", {"body": rex})
        assert json.loads(upstream.only().body) == rex

        upstream.clear()
        message = await fails(client, "create_pet", {"body": {"petType": "cow", "name": "Daisy"}})
        assert message == "Invalid argument `body.petType`: unknown variant `cow`, expected `cat` or `dog`."
        message = await fails(client, "create_pet", {"body": {"petType": "dog", "name": "Rex"}})
        assert "`body`" in message and "barkVolume" in message
        message = await fails(client, "create_pet", {"body": {"name": "Tom"}})
        assert "petType" in message
        assert upstream.requests == []

        # The merged allOf body: flattened arguments, no read-only id among them.
        result = await ok(client, "create_dog", {"petType": "dog", "name": "Rex", "barkVolume": 3, "secret": "s"})
        assert json.loads(upstream.only().body) == {"petType": "dog", "name": "Rex", "barkVolume": 3, "secret": "s"}
        assert result.structured_content == {"petType": "dog", "name": "Rex", "barkVolume": 3, "secret": "s", "id": 8}
        upstream.clear()
        message = await fails(client, "create_dog", {"id": 1, "petType": "dog", "name": "Rex", "barkVolume": 3})
        assert "Unknown argument `id`" in message
        assert upstream.requests == []

    run(connect, body)


def test_form_body(connect: Connect, upstream: RecordingUpstream) -> None:
    async def body(client: Client) -> None:
        result = await ok(
            client, "login", {"username": "alice", "password": "p@ss word&=", "remember": True, "scopes": ["read", "write"]}
        )
        req = upstream.only()
        assert (req.method, req.target) == ("POST", "/api/login")
        assert req.headers["content-type"] == "application/x-www-form-urlencoded"
        assert req.body == b"password=p%40ss%20word%26%3D&remember=true&scopes=read&scopes=write&username=alice"
        assert urllib.parse.parse_qs(req.body.decode()) == {
            "password": ["p@ss word&="], "remember": ["true"], "scopes": ["read", "write"], "username": ["alice"],
        }
        assert text_of(result) == "token-123"
        assert result.structured_content is None

    run(connect, body)


def test_multipart_body_with_files(connect: Connect, upstream: RecordingUpstream) -> None:
    async def body(client: Client) -> None:
        for given, content_type in [
            (base64.b64encode(PNG).decode(), "application/octet-stream"),
            (base64.b64encode(PNG).decode().rstrip("="), "application/octet-stream"),
            ("data:image/png;base64," + base64.b64encode(PNG).decode(), "image/png"),
        ]:
            upstream.clear()
            result = await ok(client, "upload", {"description": "a \"red\" pixel", "file": given, "labels": ["x", "y"]})
            req = upstream.only()
            assert (req.method, req.target) == ("POST", "/api/upload")
            parts = multipart(req.headers["content-type"], req.body)
            assert parts == [
                ({"content-disposition": 'form-data; name="description"'}, b'a "red" pixel'),
                ({"content-disposition": 'form-data; name="file"; filename="file"', "content-type": content_type}, PNG),
                ({"content-disposition": 'form-data; name="labels"'}, b"x"),
                ({"content-disposition": 'form-data; name="labels"'}, b"y"),
            ]
            assert result.structured_content == {"size": len(req.body)}

        upstream.clear()
        message = await fails(client, "upload", {"file": "this is not base64!"})
        assert "`file`" in message and "base64" in message
        assert upstream.requests == []

    run(connect, body)


# --- responses -------------------------------------------------------------------------------


def test_json_object_result_matches_the_output_schema(connect: Connect, upstream: RecordingUpstream) -> None:
    async def body(client: Client) -> None:
        # call_tool validates structured_content against the tool's outputSchema: it raises on a
        # mismatch, so passing through it is the SDK's verdict.
        result = await ok(client, "get_item", {"id": "42"})
        expected = {"id": "42", "name": "Widget", "price": None, "tags": []}
        assert result.structured_content == expected
        assert json.loads(text_of(result)) == expected
        schema = next(t for t in (await client.list_tools()).tools if t.name == "get_item").output_schema
        jsonschema.validate(result.structured_content, schema)
        assert upstream.only().headers["accept"].startswith("application/json")

    run(connect, body)


def test_text_image_and_binary_responses(connect: Connect) -> None:
    async def body(client: Client) -> None:
        result = await ok(client, "get_file", {"name": "notes.txt"})
        assert [c.type for c in result.content] == ["text"]
        assert text_of(result) == "héllo\nworld"

        result = await ok(client, "get_file", {"name": "logo.png"})
        [image] = result.content
        assert isinstance(image, types.ImageContent)
        assert image.mime_type == "image/png"
        assert base64.b64decode(image.data) == PNG

        result = await ok(client, "get_file", {"name": "blob.bin"})
        resources = [c for c in result.content if isinstance(c, types.EmbeddedResource)]
        assert len(resources) == 1
        blob = resources[0].resource
        assert isinstance(blob, types.BlobResourceContents)
        assert blob.mime_type == "application/octet-stream"
        assert base64.b64decode(blob.blob) == BLOB
        assert str(blob.uri).endswith("/api/files/blob.bin")
        assert "1024 bytes of application/octet-stream" in text_of(result)

        result = await ok(client, "delete_item", {"id": "3"})
        assert text_of(result) == "The upstream API answered HTTP 204 No Content with no content."

    run(connect, body)


def test_large_response_is_truncated_with_a_note(connect: Connect) -> None:
    async def body(client: Client) -> None:
        started = time.monotonic()
        result = await ok(client, "get_file", {"name": "big.txt"})
        text = text_of(result)
        assert text.startswith("0123456789abcde\n")
        shown, _, note = text.partition("\n\n[Truncated")
        assert len(shown.encode()) == CAP
        assert str(BIG) in note and str(CAP) in note
        assert time.monotonic() - started < 10

    run(connect, body)


def test_response_the_output_schema_cannot_describe(connect: Connect) -> None:
    async def body(client: Client) -> None:
        # HTML where the spec promises JSON: a tool error that shows it, never a client failure.
        message = await fails(client, "get_item", {"id": "html"})
        assert "text/html" in message and "<h1>maintenance</h1>" in message
        await ok(client, "get_item", {"id": "after"})

    run(connect, body)


# --- bad calls --------------------------------------------------------------------------------


def test_argument_errors_name_the_argument(connect: Connect, upstream: RecordingUpstream) -> None:
    async def body(client: Client) -> None:
        message = await fails(client, "get_item", {})
        assert "missing field `id`" in message
        message = await fails(client, "create_item", {"price": 1})
        assert "missing field `name`" in message
        message = await fails(client, "create_item", {"name": "x", "price": "cheap"})
        assert message.startswith("Invalid argument `price`: invalid type: string \"cheap\"")
        message = await fails(client, "search", {"X-Request-Id": "r", "ids": ["one"]})
        assert "`ids" in message and "invalid type" in message
        message = await fails(client, "get_item", {"id": "1", "idd": "2"})
        assert "Unknown argument `idd` (did you mean `id`?)" in message
        message = await fails(client, "get_item", {"id": "1", "colour": "red"})
        assert "Unknown argument `colour`" in message and "expected: id, X-Trace, session" in message
        assert upstream.requests == []

    run(connect, body)


def test_unknown_tool_is_a_jsonrpc_error(connect: Connect) -> None:
    async def body(client: Client) -> None:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("no_such_tool", {})
        assert raised.value.code == -32602
        assert "no_such_tool" in raised.value.message
        await ok(client, "get_item", {"id": "still-here"})

    run(connect, body)


# --- upstream failures ------------------------------------------------------------------------


def test_upstream_errors_are_tool_errors(connect: Connect, upstream: RecordingUpstream) -> None:
    async def body(client: Client) -> None:
        message = await fails(client, "get_item", {"id": "missing"})
        assert message.startswith("Upstream API returned HTTP 404 Not Found for GET /items/missing")
        assert '{"detail":"no such item"}' in message
        await ok(client, "get_item", {"id": "after-404"})

        message = await fails(client, "get_item", {"id": "boom"})
        assert message.startswith("Upstream API returned HTTP 500 Internal Server Error for GET /items/boom")
        assert "database on fire" in message
        await ok(client, "get_item", {"id": "after-500"})

        started = time.monotonic()
        message = await fails(client, "get_item", {"id": "slow"})
        elapsed = time.monotonic() - started
        assert message == f"Upstream API did not answer GET /items/slow within {UPSTREAM_TIMEOUT} s (UPSTREAM_TIMEOUT_SECS)"
        assert UPSTREAM_TIMEOUT - 0.2 < elapsed < UPSTREAM_TIMEOUT + 2
        result = await ok(client, "get_item", {"id": "after-hang"})
        assert result.structured_content["id"] == "after-hang"

    run(connect, body)


def test_closed_upstream_port(connect: Connect, transport: str, request: pytest.FixtureRequest) -> None:
    async def body(client: Client) -> None:
        for _ in range(2):
            message = await fails(client, "get_item", {"id": "1"})
            assert message.startswith("Cannot connect to the upstream API at http://127.0.0.1:")
            assert "refused" in message.lower()
        assert len((await client.list_tools()).tools) == 10

    run(connect, body, dead=True)
    if transport != "stdio":
        assert request.getfixturevalue("dead_http_server").alive()


def test_server_survived(http_server) -> None:  # noqa: ANN001
    """Runs last in this file: nothing above crashed the long-running HTTP server."""
    assert http_server.alive(), http_server.log()
    assert "panicked" not in http_server.log()
