#!/usr/bin/env python3
"""Writes a synthetic OpenAPI 3.0 document with about N operations shaped like Microsoft Graph's
(JSON) to stdout: thousands of interconnected component schemas, `allOf` inheritance chains up
to eight levels deep (every entity derives from `entity`, many from another entity), navigation
properties that reference other entities (single and collections, so the graph is cyclic), and
many `$ref`s per operation (shared query parameters, shared error responses, collection
responses wrapping entity references, request bodies). Per entity set: list, create, get,
update, delete, and a get and a list per navigation property. Deterministic (fixed seed).
Usage: synth_graph.py N
"""
import json
import random
import sys

n = int(sys.argv[1])
rnd = random.Random(17)
OPS_PER_ENTITY = 9  # 5 on the entity, 4 navigation properties
entities = max(8, n // OPS_PER_ENTITY + 1)
names = [f"entity{i}Type" for i in range(entities)]
schemas = {
    "microsoft.graph.entity": {
        "title": "entity",
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "The unique identifier for an entity. Read-only."},
        },
    },
    "microsoft.graph.ODataErrors.ODataError": {
        "required": ["error"],
        "type": "object",
        "properties": {"error": {"$ref": "#/components/schemas/microsoft.graph.ODataErrors.MainError"}},
    },
    "microsoft.graph.ODataErrors.MainError": {
        "required": ["code", "message"],
        "type": "object",
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "target": {"type": "string", "nullable": True},
            "details": {"type": "array", "items": {"$ref": "#/components/schemas/microsoft.graph.ODataErrors.ErrorDetails"}},
        },
    },
    "microsoft.graph.ODataErrors.ErrorDetails": {
        "required": ["code", "message"],
        "type": "object",
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "target": {"type": "string", "nullable": True}},
    },
}
depth = {}
parents = {}
for i, name in enumerate(names):
    # Inheritance: a parent among the earlier entities, chains at most eight deep.
    candidates = [p for p in names[max(0, i - 50):i] if depth[p] < 8]
    parent = rnd.choice(candidates) if candidates and rnd.random() < 0.7 else None
    depth[name] = depth[parent] + 1 if parent else 1
    parents[name] = parent
    props = {}
    for j in range(rnd.randint(6, 14)):
        kind = rnd.random()
        pname = f"{name[:-4]}Prop{j}"
        if kind < 0.35:
            props[pname] = {"type": "string", "nullable": True, "description": f"The {pname} of the {name}."}
        elif kind < 0.5:
            props[pname] = {"type": "integer", "format": "int32", "nullable": True}
        elif kind < 0.6:
            props[pname] = {"type": "string", "format": "date-time", "nullable": True,
                            "pattern": "^[0-9]{4,}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])T.*$"}
        elif kind < 0.7:
            props[pname] = {"type": "boolean", "nullable": True}
        elif kind < 0.8:
            props[pname] = {"type": "array", "items": {"type": "string", "nullable": True}}
        else:
            props[pname] = {"anyOf": [{"$ref": f"#/components/schemas/microsoft.graph.{rnd.choice(names)}"},
                                      {"type": "object", "nullable": True}]}
    nav = rnd.sample(names, 4)
    for k, target in enumerate(nav):
        ref = {"$ref": f"#/components/schemas/microsoft.graph.{target}"}
        props[f"nav{k}"] = {"type": "array", "items": ref} if k % 2 else ref
    props["@odata.type"] = {"type": "string"}
    base = f"#/components/schemas/microsoft.graph.{parent}" if parent else "#/components/schemas/microsoft.graph.entity"
    schemas[f"microsoft.graph.{name}"] = {
        "allOf": [{"$ref": base}, {"title": name, "type": "object", "properties": props}],
    }
    schemas[f"microsoft.graph.{name}CollectionResponse"] = {
        "title": "Collection of " + name,
        "type": "object",
        "allOf": [{"$ref": "#/components/schemas/BaseCollectionPaginationCountResponse"}],
        "properties": {"value": {"type": "array", "items": {"$ref": f"#/components/schemas/microsoft.graph.{name}"}}},
    }
    schemas[f"microsoft.graph.{name}"]["x-nav"] = nav
schemas["BaseCollectionPaginationCountResponse"] = {
    "title": "Base collection pagination and count responses",
    "type": "object",
    "properties": {"@odata.count": {"type": "integer", "format": "int64", "nullable": True},
                   "@odata.nextLink": {"type": "string", "nullable": True}},
}
parameters = {
    "top": {"name": "$top", "in": "query", "description": "Show only the first n items", "style": "form",
            "explode": False, "schema": {"minimum": 0, "type": "integer"}},
    "skip": {"name": "$skip", "in": "query", "description": "Skip the first n items",
             "schema": {"minimum": 0, "type": "integer"}},
    "search": {"name": "$search", "in": "query", "description": "Search items by search phrases",
               "schema": {"type": "string"}},
    "filter": {"name": "$filter", "in": "query", "description": "Filter items by property values",
               "schema": {"type": "string"}},
    "count": {"name": "$count", "in": "query", "description": "Include count of items",
              "schema": {"type": "boolean"}},
}
responses = {
    "error": {"description": "error", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/microsoft.graph.ODataErrors.ODataError"}}}},
}
list_params = [{"$ref": f"#/components/parameters/{p}"} for p in parameters] + [
    {"name": "$select", "in": "query", "style": "form", "explode": False,
     "schema": {"uniqueItems": True, "type": "array", "items": {"type": "string"}}},
    {"name": "$expand", "in": "query", "style": "form", "explode": False,
     "schema": {"uniqueItems": True, "type": "array", "items": {"type": "string", "enum": ["*", "nav0", "nav1", "nav2", "nav3"]}}},
]
paths = {}
count = 0


def add(path, method, op):
    global count
    if count >= n:
        return
    paths.setdefault(path, {})[method] = op
    count += 1


def ok(schema_ref, code="200"):
    return {code: {"description": "Retrieved", "content": {"application/json": {"schema": {"$ref": schema_ref}}}},
            "4XX": {"$ref": "#/components/responses/error"}, "5XX": {"$ref": "#/components/responses/error"}}


for name in names:
    tag = name[:-4]
    ent = f"#/components/schemas/microsoft.graph.{name}"
    coll = f"#/components/schemas/microsoft.graph.{name}CollectionResponse"
    base = f"/{tag}s"
    key = {"name": f"{tag}-id", "in": "path", "required": True, "description": f"The unique identifier of {tag}",
           "schema": {"type": "string"}, "x-ms-docs-key-type": tag}
    add(base, "get", {"tags": [f"{tag}s.{name}"], "summary": f"List {tag}s", "operationId": f"{tag}s.List{name}",
                      "parameters": list_params, "responses": ok(coll)})
    add(base, "post", {"tags": [f"{tag}s.{name}"], "summary": f"Create {tag}", "operationId": f"{tag}s.Create{name}",
                       "requestBody": {"description": "New entity", "required": True,
                                       "content": {"application/json": {"schema": {"$ref": ent}}}},
                       "responses": ok(ent, "201")})
    item = f"{base}/{{{tag}-id}}"
    add(item, "get", {"tags": [f"{tag}s.{name}"], "summary": f"Get {tag}", "operationId": f"{tag}s.Get{name}",
                      "parameters": [key] + list_params[5:], "responses": ok(ent)})
    add(item, "patch", {"tags": [f"{tag}s.{name}"], "summary": f"Update {tag}", "operationId": f"{tag}s.Update{name}",
                        "parameters": [key],
                        "requestBody": {"description": "New property values", "required": True,
                                        "content": {"application/json": {"schema": {"$ref": ent}}}},
                        "responses": {"204": {"description": "Success"},
                                      "4XX": {"$ref": "#/components/responses/error"}}})
    add(item, "delete", {"tags": [f"{tag}s.{name}"], "summary": f"Delete {tag}", "operationId": f"{tag}s.Delete{name}",
                         "parameters": [key, {"name": "If-Match", "in": "header", "schema": {"type": "string"}}],
                         "responses": {"204": {"description": "Success"},
                                       "4XX": {"$ref": "#/components/responses/error"}}})
    for k, target in enumerate(schemas[f"microsoft.graph.{name}"].pop("x-nav")):
        tref = f"#/components/schemas/microsoft.graph.{target}"
        if k % 2:
            add(f"{item}/nav{k}", "get", {"tags": [f"{tag}s.{target}"], "summary": f"List nav{k} of {tag}",
                                          "operationId": f"{tag}s.ListNav{k}", "parameters": [key] + list_params,
                                          "responses": ok(f"{tref}CollectionResponse")})
        else:
            add(f"{item}/nav{k}", "get", {"tags": [f"{tag}s.{target}"], "summary": f"Get nav{k} of {tag}",
                                          "operationId": f"{tag}s.GetNav{k}", "parameters": [key] + list_params[5:],
                                          "responses": ok(tref)})

json.dump({
    "openapi": "3.0.4",
    "info": {"title": f"Graph-shaped synthetic {n}", "version": "v1.0"},
    "servers": [{"url": "https://graph.example.com/v1.0"}],
    "paths": paths,
    "components": {"schemas": schemas, "parameters": parameters, "responses": responses},
}, sys.stdout)
