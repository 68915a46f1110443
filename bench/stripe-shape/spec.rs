//! A deterministic synthetic OpenAPI 3.0 document with Stripe's shape: 96 resources, each
//! a component schema with its own sub-objects (about 420 components in all), expandable fields
//! (`anyOf: [{type: string}, {$ref: Other}]`, Stripe's `expandable` pattern) and inline list
//! envelopes (`{object: "list", data: [...], has_more, url}`) linking every resource to several
//! others, so that every response reaches most of the graph; nullable fields, a few objects with
//! `additionalProperties: false`, `anyOf` and discriminated `oneOf` polymorphism, long
//! descriptions; about 450 operations (list, create, retrieve, update, delete, search) with
//! form-encoded bodies. Used by `tests/stripe_shape.rs` (the bounds) and `bench/stripe-shape/run.sh`
//! (generation time and memory, before and after), which writes it out through that test.

use serde_json::{Map, Value, json};

/// Resources (each gets a schema, sub-objects and four or five operations).
const RESOURCES: usize = 96;

/// A small deterministic generator (an LCG), so the document is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const NOUNS: &[&str] = &[
    "account",
    "balance",
    "card",
    "charge",
    "coupon",
    "customer",
    "dispute",
    "event",
    "fee",
    "file",
    "invoice",
    "item",
    "mandate",
    "order",
    "payment",
    "payout",
    "plan",
    "price",
    "product",
    "quote",
    "refund",
    "review",
    "session",
    "source",
    "subscription",
    "tax",
    "token",
    "topup",
    "transfer",
    "reader",
    "location",
    "report",
    "schedule",
    "credit",
    "debit",
    "method",
    "intent",
    "link",
    "domain",
    "webhook",
];
const QUALIFIERS: &[&str] = &[
    "",
    "issuing_",
    "terminal_",
    "treasury_",
    "billing_",
    "radar_",
];
const WORDS: &[&str] = &[
    "the",
    "object",
    "that",
    "represents",
    "amount",
    "charged",
    "customer",
    "when",
    "this",
    "is",
    "set",
    "to",
    "of",
    "in",
    "a",
    "which",
    "status",
    "currency",
    "lowercase",
    "ISO",
    "code",
    "three-letter",
    "payment",
    "attached",
    "expanded",
    "unique",
    "identifier",
    "for",
    "time",
    "at",
    "was",
    "created",
    "measured",
    "seconds",
    "since",
    "Unix",
    "epoch",
    "if",
    "present",
    "otherwise",
    "null",
    "value",
    "can",
    "be",
    "used",
    "display",
    "balance",
    "transaction",
    "associated",
    "with",
    "reference",
    "invoice",
    "latest",
    "retrieve",
    "details",
    "more",
    "about",
    "see",
    "documentation",
];

fn sentence(rng: &mut Lcg, min_words: usize) -> String {
    let n = min_words + rng.below(min_words + 1);
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[rng.below(WORDS.len())]);
    }
    let mut c = s.chars();
    match c.next() {
        Some(f) => format!("{}{}.", f.to_uppercase(), c.as_str()),
        None => s,
    }
}

fn resource_name(i: usize) -> String {
    let q = QUALIFIERS[(i / NOUNS.len()) % QUALIFIERS.len()];
    format!("{q}{}", NOUNS[i % NOUNS.len()])
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The document.
pub fn spec() -> Value {
    let mut rng = Lcg(13);
    let names: Vec<String> = (0..RESOURCES).map(resource_name).collect();
    let mut schemas = Map::new();
    let mut paths = Map::new();
    schemas.insert(
        "error".into(),
        json!({"type": "object", "description": "An error from the API.", "properties": {
            "error": {"type": "object", "properties": {
                "code": {"type": "string", "maxLength": 5000},
                "message": {"type": "string", "maxLength": 5000},
                "type": {"type": "string", "enum": ["api_error", "card_error", "idempotency_error", "invalid_request_error"]}
            }, "required": ["type"]}
        }, "required": ["error"]}),
    );
    for (i, name) in names.iter().enumerate() {
        let mut props = Map::new();
        props.insert(
            "id".into(),
            json!({"type": "string", "maxLength": 5000, "description": "Unique identifier for the object."}),
        );
        props.insert(
            "object".into(),
            json!({"type": "string", "enum": [name], "description": "String representing the object's type. Objects of the same type share the same value."}),
        );
        props.insert(
            "created".into(),
            json!({"type": "integer", "format": "unix-time", "description": sentence(&mut rng, 10)}),
        );
        props.insert(
            "livemode".into(),
            json!({"type": "boolean", "description": sentence(&mut rng, 12)}),
        );
        props.insert(
            "metadata".into(),
            json!({"type": "object", "additionalProperties": {"type": "string", "maxLength": 500}, "nullable": true, "description": sentence(&mut rng, 20)}),
        );
        for f in 0..(6 + rng.below(8)) {
            let d = sentence(&mut rng, 12);
            let field = match rng.below(5) {
                0 => json!({"type": "integer", "description": d}),
                1 => {
                    json!({"type": "string", "maxLength": 5000, "nullable": true, "description": d})
                }
                2 => {
                    json!({"type": "string", "enum": ["active", "canceled", "pending", "failed"], "description": d})
                }
                3 => json!({"type": "boolean", "description": d}),
                _ => {
                    json!({"type": "array", "items": {"type": "string", "maxLength": 5000}, "description": d})
                }
            };
            props.insert(format!("field_{f}"), field);
        }
        // Sub-objects: own component schemas, nested, one closed to other properties.
        for k in 0..3 {
            let sub = format!("{name}_details_{k}");
            let mut sp = Map::new();
            for f in 0..(3 + rng.below(5)) {
                sp.insert(
                    format!("value_{f}"),
                    json!({"type": "string", "maxLength": 5000, "nullable": rng.below(2) == 0, "description": sentence(&mut rng, 8)}),
                );
            }
            // Sub-objects reference other resources too (expandable), as Stripe's do.
            let other = &names[rng.below(RESOURCES)];
            sp.insert(
                "related".into(),
                json!({"anyOf": [{"type": "string", "maxLength": 5000}, reference(other)], "nullable": true,
                       "description": sentence(&mut rng, 10), "x-expansionResources": {"oneOf": [reference(other)]}}),
            );
            let mut s = json!({"type": "object", "title": sub, "description": sentence(&mut rng, 10), "properties": sp});
            if k == 0 && i.is_multiple_of(4) {
                s["additionalProperties"] = json!(false);
            }
            schemas.insert(sub.clone(), s);
            props.insert(
                format!("details_{k}"),
                json!({"anyOf": [reference(&sub)], "nullable": true, "description": sentence(&mut rng, 10)}),
            );
        }
        // Expandable fields.
        for e in 0..(3 + rng.below(4)) {
            let other = &names[rng.below(RESOURCES)];
            props.insert(
                format!("{other}_{e}"),
                json!({"anyOf": [{"type": "string", "maxLength": 5000}, reference(other)],
                       "nullable": rng.below(2) == 0, "description": sentence(&mut rng, 14),
                       "x-expansionResources": {"oneOf": [reference(other)]}}),
            );
        }
        // List envelopes of related resources, inline as Stripe writes them.
        for l in 0..(1 + rng.below(2)) {
            let other = &names[rng.below(RESOURCES)];
            props.insert(
                format!("{other}_list_{l}"),
                json!({"type": "object", "title": format!("{name}{other}List"), "description": sentence(&mut rng, 8),
                       "properties": {
                           "data": {"type": "array", "items": reference(other), "description": "Details about each object."},
                           "has_more": {"type": "boolean", "description": "True if this list has another page of items after this one that can be fetched."},
                           "object": {"type": "string", "enum": ["list"], "description": "String representing the object's type. Objects of the same type share the same value. Always has the value `list`."},
                           "url": {"type": "string", "maxLength": 5000, "description": "The URL where this list can be accessed."}
                       }, "required": ["data", "has_more", "object", "url"], "x-expandableFields": ["data"]}),
            );
        }
        // Polymorphism: an `anyOf` of resources, and every tenth a discriminated `oneOf`.
        let (a, b, c) = (
            &names[rng.below(RESOURCES)],
            &names[rng.below(RESOURCES)],
            &names[rng.below(RESOURCES)],
        );
        props.insert(
            "source".into(),
            json!({"anyOf": [reference(a), reference(b)], "nullable": true, "description": sentence(&mut rng, 12)}),
        );
        if i.is_multiple_of(10) && a != b && b != c && a != c {
            props.insert(
                "payment_method_details".into(),
                json!({"oneOf": [reference(a), reference(b), reference(c)],
                       "discriminator": {"propertyName": "object"}, "description": sentence(&mut rng, 12)}),
            );
        }
        schemas.insert(
            name.clone(),
            json!({"type": "object", "title": name, "description": sentence(&mut rng, 30),
                   "properties": props, "required": ["id", "object", "created", "livemode"],
                   "x-expandableFields": ["source"], "x-resourceId": name}),
        );
        if i.is_multiple_of(3) {
            schemas.insert(
                format!("deleted_{name}"),
                json!({"type": "object", "title": format!("Deleted{name}"), "properties": {
                    "deleted": {"type": "boolean", "enum": [true], "description": "Always true for a deleted object"},
                    "id": {"type": "string", "maxLength": 5000, "description": "Unique identifier for the object."},
                    "object": {"type": "string", "enum": [name]}
                }, "required": ["deleted", "id", "object"]}),
            );
        }
        operations(&mut paths, &mut rng, name, i);
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Stripe Shape", "version": "2026-12-01", "description": "A synthetic API with Stripe's shape (mcpgen's bench/stripe-shape)."},
        "servers": [{"url": "https://api.example.com/"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}
        }
    })
}

fn json_response(schema: Value, description: &str) -> Value {
    json!({
        "200": {"description": description, "content": {"application/json": {"schema": schema}}},
        "default": {"description": "Error response.", "content": {"application/json": {"schema": reference("error")}}}
    })
}

fn form_body(rng: &mut Lcg) -> Value {
    let mut props = Map::new();
    for f in 0..(2 + rng.below(4)) {
        props.insert(
            format!("field_{f}"),
            json!({"type": "string", "maxLength": 5000, "description": sentence(rng, 6)}),
        );
    }
    props.insert(
        "metadata".into(),
        json!({"anyOf": [{"type": "object", "additionalProperties": {"type": "string"}}, {"type": "string", "enum": [""]}]}),
    );
    json!({"required": false, "content": {"application/x-www-form-urlencoded": {"schema":
        {"type": "object", "additionalProperties": false, "properties": props}}}})
}

fn operations(paths: &mut Map<String, Value>, rng: &mut Lcg, name: &str, i: usize) {
    let collection = format!("/v1/{name}s");
    let item = format!("/v1/{name}s/{{id}}");
    let id_param = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "maxLength": 5000}});
    let expand = json!({"name": "expand", "in": "query", "description": "Specifies which fields in the response should be expanded.",
                        "schema": {"type": "array", "items": {"type": "string", "maxLength": 5000}}, "style": "deepObject", "explode": true});
    let list = json!({
        "type": "object", "title": format!("{name}List"),
        "properties": {
            "data": {"type": "array", "items": reference(name)},
            "has_more": {"type": "boolean", "description": "True if this list has another page of items after this one that can be fetched."},
            "object": {"type": "string", "enum": ["list"]},
            "url": {"type": "string", "maxLength": 5000, "pattern": format!("^{collection}")}
        },
        "required": ["data", "has_more", "object", "url"]
    });
    let mut coll = Map::new();
    coll.insert("get".into(), json!({
        "operationId": format!("Get{name}s"), "summary": format!("List all {name}s"),
        "description": sentence(rng, 20), "tags": [name],
        "parameters": [
            {"name": "limit", "in": "query", "schema": {"type": "integer"}, "description": "A limit on the number of objects to be returned, between 1 and 100."},
            {"name": "starting_after", "in": "query", "schema": {"type": "string", "maxLength": 5000}},
            expand.clone()
        ],
        "responses": json_response(list, "Successful response.")
    }));
    coll.insert(
        "post".into(),
        json!({
            "operationId": format!("Post{name}s"), "summary": format!("Create a {name}"),
            "description": sentence(rng, 20), "tags": [name],
            "requestBody": form_body(rng),
            "responses": json_response(reference(name), "Successful response.")
        }),
    );
    paths.insert(collection.clone(), Value::Object(coll));
    let mut one = Map::new();
    one.insert(
        "get".into(),
        json!({
            "operationId": format!("Get{name}sId"), "summary": format!("Retrieve a {name}"),
            "description": sentence(rng, 20), "tags": [name],
            "parameters": [id_param.clone(), expand.clone()],
            "responses": json_response(reference(name), "Successful response.")
        }),
    );
    one.insert(
        "post".into(),
        json!({
            "operationId": format!("Post{name}sId"), "summary": format!("Update a {name}"),
            "description": sentence(rng, 20), "tags": [name],
            "parameters": [id_param.clone()],
            "requestBody": form_body(rng),
            "responses": json_response(reference(name), "Successful response.")
        }),
    );
    if i.is_multiple_of(3) {
        one.insert("delete".into(), json!({
            "operationId": format!("Delete{name}sId"), "summary": format!("Delete a {name}"),
            "description": sentence(rng, 12), "tags": [name],
            "parameters": [id_param],
            "responses": json_response(reference(&format!("deleted_{name}")), "Successful response.")
        }));
    }
    paths.insert(item, Value::Object(one));
    if i % 3 == 1 {
        paths.insert(format!("/v1/{name}s/search"), json!({"get": {
            "operationId": format!("Get{name}sSearch"), "summary": format!("Search {name}s"),
            "description": sentence(rng, 16), "tags": [name],
            "parameters": [{"name": "query", "in": "query", "required": true, "schema": {"type": "string", "maxLength": 5000}}, expand],
            "responses": json_response(json!({
                "type": "object", "title": "SearchResult",
                "properties": {
                    "data": {"type": "array", "items": reference(name)},
                    "has_more": {"type": "boolean"},
                    "next_page": {"type": "string", "maxLength": 5000, "nullable": true},
                    "object": {"type": "string", "enum": ["search_result"]},
                    "total_count": {"type": "integer"},
                    "url": {"type": "string", "maxLength": 5000}
                },
                "required": ["data", "has_more", "object", "url"]
            }), "Successful response.")
        }}));
    }
}
