#!/usr/bin/env python3
"""Writes a synthetic OpenAPI 3.0 document with N operations (JSON) to stdout.

Each group of four operations shares one resource: list (query parameters, array output),
get (path parameter), create (object body with a nested $ref), delete. Every resource has its own
component schemas, one of them recursive, so cost grows with the spec like a real API's does.
Usage: synth.py N
"""
import json
import sys

n = int(sys.argv[1])
paths, schemas = {}, {}
for i in range((n + 3) // 4):
    r = f"resource{i}"
    R = f"Resource{i}"
    schemas[R] = {
        "type": "object",
        "required": ["id", "name"],
        "properties": {
            "id": {"type": "integer", "format": "int64"},
            "name": {"type": "string", "maxLength": 100},
            "status": {"type": "string", "enum": ["active", "archived", "deleted"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "owner": {"$ref": f"#/components/schemas/{R}Owner"},
            "parent": {"$ref": f"#/components/schemas/{R}"},
            "created": {"type": "string", "format": "date-time", "nullable": True},
        },
    }
    schemas[f"{R}Owner"] = {
        "type": "object",
        "properties": {"email": {"type": "string", "format": "email"}, "name": {"type": "string"}},
    }
    ops = {
        "list": ("get", f"/{r}s", {
            "operationId": f"list{R}s",
            "summary": f"List {r}s",
            "parameters": [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
            ],
            "responses": {"200": {"description": "ok", "content": {"application/json": {
                "schema": {"type": "array", "items": {"$ref": f"#/components/schemas/{R}"}}}}}},
        }),
        "get": ("get", f"/{r}s/{{id}}", {
            "operationId": f"get{R}",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{R}"}}}}},
        }),
        "create": ("post", f"/{r}s", {
            "operationId": f"create{R}",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{R}"}}}},
            "responses": {"201": {"description": "created"}},
        }),
        "delete": ("delete", f"/{r}s/{{id}}", {
            "operationId": f"delete{R}",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"204": {"description": "deleted"}},
        }),
    }
    for k, (method, path, op) in ops.items():
        if 4 * i + list(ops).index(k) >= n:
            break
        paths.setdefault(path, {})[method] = op

json.dump({
    "openapi": "3.0.3",
    "info": {"title": f"Synthetic {n}", "version": "1.0.0"},
    "servers": [{"url": "https://synthetic.example.com"}],
    "paths": paths,
    "components": {"schemas": schemas},
}, sys.stdout)
