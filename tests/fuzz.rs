//! Hostile input, on stable Rust (no `cargo fuzz`): a seeded generator drives the whole pipeline —
//! loader (YAML/JSON parsing, external `$ref` bundling), normaliser (including the Swagger 2.0
//! conversion), lowering, rendering and formatting — through `mcpgen::generate_text` with
//!
//! - structured documents: random OpenAPI 3.0/3.1 and Swagger 2.0 documents whose every name and
//!   text is drawn from quotes, `*/`, `"#`, backslashes, newlines, Unicode and Rust keywords, with
//!   random schemas (composition, cycles, missing and odd `$ref`s, wrong types), long `$ref`
//!   chains, deep nesting and huge enums;
//! - mutated fixtures: every fixture document with random nodes replaced, deleted or turned
//!   into references;
//! - raw bytes: random bytes, byte-flipped fixture text, deep bracket/indent nesting and YAML
//!   alias bombs.
//!
//! A case passes when it ends in `Ok` or in an input error (`Error::Render` is a bug: spec text
//! must never break the generated Rust). It fails on a panic (arithmetic overflow included: the
//! test profile checks overflow), a stack overflow (the process aborts; the input is on disk),
//! or a case running longer than `MCPGEN_FUZZ_CASE_SECS` (default 20). The input being run is
//! always written to `target/fuzz/current.*` first, and a failing one is kept there.
//!
//! `fuzz` is ignored by default (tests/run.sh runs it explicitly): `MCPGEN_FUZZ_SECS` bounds the
//! run (default 60), `MCPGEN_FUZZ_SEED` picks the sequence. `bounded_inputs` runs by default: the
//! fixed worst cases — 10,000-deep JSON and YAML, 5,000-link schema and 500-link parameter `$ref`
//! chains, a YAML alias bomb, a deep default value, a chain of 60 deeply nested external files
//! (once a stack overflow) and 30 files referring to each other twice over (once 2^30 copies) —
//! each generating or failing with a located error, within 60 s of wall time (a few seconds on an
//! idle machine; the bound catches blow-ups, which never end, not slowness on a busy one).

mod common;

use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// xorshift64*: small, seedable, good enough to explore.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const PIECES: &[&str] = &[
    "\"",
    "*/",
    "/*",
    "\"#",
    "\"##",
    "#\"",
    "\\",
    "\\\\",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "\u{2028}",
    "\u{0}",
    "\u{7f}",
    "é",
    "ß",
    "🚀",
    "\u{202e}",
    "\u{feff}",
    "\u{fffd}",
    "r#",
    "#[doc]",
    "#![x]",
    "}",
    "{",
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "$",
    "'",
    "`",
    "```",
    "<!--",
    "-->",
    "::",
    "self",
    "Self",
    "type",
    "crate",
    "super",
    "fn",
    "r#type",
    "1",
    "0x",
    "-",
    "_",
    "/",
    "~",
    "~1",
    "%",
    "%2F",
    "{x}",
    "..",
    "  ",
    "",
    "a",
    "b",
    "Pet",
    "id",
    "name",
    "/// doc",
    "//! inner",
    "panic!()",
    "\")]",
    "]]",
    "::std",
    "null",
    "true",
    "<",
    ">",
    "&",
    "|",
    "@",
    "!",
];

fn hostile(rng: &mut Rng) -> String {
    let n = if rng.chance(5) {
        40 + rng.below(60)
    } else {
        rng.below(6)
    };
    let mut s = String::new();
    for _ in 0..n {
        let piece = rng.pick::<&str>(PIECES);
        s.push_str(piece);
    }
    s
}

fn name(rng: &mut Rng) -> String {
    if rng.chance(60) {
        rng.pick(&[
            "id", "name", "Pet", "type", "self", "limit", "a b", "A-B", "a_b", "fooBar", "foo_bar",
            "1st", "Result", "Option", "String", "client",
        ])
        .to_string()
    } else {
        hostile(rng)
    }
}

fn scalar(rng: &mut Rng) -> Value {
    match rng.below(8) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => json!(rng.next() as i64),
        3 => json!(-(rng.below(1000) as i64)),
        4 => json!(f64::from(rng.below(1000) as u32) / 7.0),
        5 => json!(u64::MAX),
        _ => json!(hostile(rng)),
    }
}

struct Gen {
    rng: Rng,
    schema_names: Vec<String>,
    param_names: Vec<String>,
    swagger: bool,
}

impl Gen {
    fn schema_ref(&mut self) -> Value {
        let r = &mut self.rng;
        let base = if self.swagger {
            "#/definitions/"
        } else {
            "#/components/schemas/"
        };
        let target = match r.below(40) {
            0 => format!("{base}{}", hostile(r)),
            1 => r
                .pick(&[
                    "#",
                    "#/",
                    "#/paths",
                    "http://127.0.0.1:9/x.yaml#/a",
                    "ext.yaml#/components/schemas/Node",
                    "ext.yaml#/components/schemas/Leaf",
                    "ext.yaml#/nope",
                    "missing.yaml",
                    "#/components/schemas/",
                    "#/info/title",
                    "#/components/schemas/%ZZ",
                    "#anchor",
                ])
                .to_string(),
            _ if !self.schema_names.is_empty() => {
                let n = self.schema_names[r.below(self.schema_names.len())].clone();
                format!("{base}{}", n.replace('~', "~0").replace('/', "~1"))
            }
            _ => return json!({"type": "string"}),
        };
        json!({ "$ref": target })
    }

    fn schema(&mut self, depth: usize) -> Value {
        if depth > 5 || self.rng.chance(10) {
            return match self.rng.below(6) {
                0 => self.schema_ref(),
                1 => json!(self.rng.chance(50)),
                2 => scalar(&mut self.rng),
                _ => {
                    json!({"type": self.rng.pick(&["string", "integer", "number", "boolean", "null", "file", "object", "array"]).to_string()})
                }
            };
        }
        let mut m = Map::new();
        match self.rng.below(9) {
            0 => return self.schema_ref(),
            1 => {
                m.insert("type".into(), json!("object"));
                let mut props = Map::new();
                for _ in 0..self.rng.below(5) {
                    props.insert(name(&mut self.rng), self.schema(depth + 1));
                }
                if self.rng.chance(50) {
                    let req: Vec<Value> = props
                        .keys()
                        .filter(|_| self.rng.chance(50))
                        .map(|k| json!(k))
                        .collect();
                    m.insert("required".into(), Value::Array(req));
                }
                m.insert("properties".into(), Value::Object(props));
                if self.rng.chance(30) {
                    let ap = if self.rng.chance(50) {
                        json!(self.rng.chance(50))
                    } else {
                        self.schema(depth + 1)
                    };
                    m.insert("additionalProperties".into(), ap);
                }
            }
            2 => {
                m.insert("type".into(), json!("array"));
                let items = if self.rng.chance(10) {
                    json!([self.schema(depth + 1), self.schema(depth + 1)])
                } else {
                    self.schema(depth + 1)
                };
                m.insert("items".into(), items);
            }
            3 => {
                let n = if self.rng.chance(3) {
                    3000
                } else {
                    self.rng.below(6)
                };
                let values: Vec<Value> = (0..n)
                    .map(|_| {
                        if self.rng.chance(80) {
                            json!(hostile(&mut self.rng))
                        } else {
                            scalar(&mut self.rng)
                        }
                    })
                    .collect();
                m.insert("enum".into(), Value::Array(values));
                if self.rng.chance(70) {
                    m.insert("type".into(), json!("string"));
                }
            }
            4 => {
                let k = *self.rng.pick(&["allOf", "anyOf", "oneOf"]);
                let members: Vec<Value> = (0..self.rng.below(4))
                    .map(|_| self.schema(depth + 1))
                    .collect();
                m.insert(k.into(), Value::Array(members));
                if self.rng.chance(30) {
                    m.insert("discriminator".into(), if self.swagger { json!(name(&mut self.rng)) } else { json!({"propertyName": name(&mut self.rng), "mapping": {name(&mut self.rng): "#/components/schemas/X"}}) });
                }
            }
            5 => {
                let types: Vec<Value> = (0..1 + self.rng.below(3))
                    .map(|_| {
                        json!(
                            self.rng
                                .pick(&["string", "integer", "null", "object", "array", "weird"])
                                .to_string()
                        )
                    })
                    .collect();
                m.insert("type".into(), Value::Array(types));
            }
            6 => {
                let mut r = self.schema_ref();
                if let Value::Object(o) = &mut r {
                    o.insert("description".into(), json!(hostile(&mut self.rng)));
                    if self.rng.chance(50) {
                        o.insert("nullable".into(), json!(true));
                    }
                    if self.rng.chance(30) {
                        o.insert("maxLength".into(), json!(3));
                    }
                }
                return r;
            }
            7 => {
                m.insert("not".into(), self.schema(depth + 1));
            }
            _ => {
                m.insert(
                    "type".into(),
                    json!(
                        self.rng
                            .pick(&["string", "integer", "number", "boolean"])
                            .to_string()
                    ),
                );
                m.insert(
                    "format".into(),
                    json!(
                        self.rng
                            .pick(&["binary", "date-time", "int64", "byte", "uuid", "\"*/"])
                            .to_string()
                    ),
                );
            }
        }
        for k in ["title", "description", "default", "example", "pattern"] {
            if self.rng.chance(20) {
                m.insert(
                    k.into(),
                    if k == "default" || k == "example" {
                        scalar(&mut self.rng)
                    } else {
                        json!(hostile(&mut self.rng))
                    },
                );
            }
        }
        for k in [
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "minLength",
            "maxItems",
            "multipleOf",
            "nullable",
            "x-nullable",
            "readOnly",
            "writeOnly",
            "const",
            "examples",
            "deprecated",
        ] {
            if self.rng.chance(5) {
                m.insert(k.into(), scalar(&mut self.rng));
            }
        }
        Value::Object(m)
    }

    fn deep_schema(&mut self, levels: usize) -> Value {
        let mut s = json!({"type": "string"});
        for i in 0..levels {
            s = match i % 3 {
                0 => json!({"type": "object", "properties": {"n": s}}),
                1 => json!({"type": "array", "items": s}),
                _ => json!({"allOf": [s]}),
            };
        }
        s
    }

    fn parameter(&mut self) -> Value {
        if self.rng.chance(15) && !self.param_names.is_empty() {
            let n = self.param_names[self.rng.below(self.param_names.len())].clone();
            let base = if self.swagger {
                "#/parameters/"
            } else {
                "#/components/parameters/"
            };
            return json!({"$ref": format!("{base}{}", n.replace('~', "~0").replace('/', "~1"))});
        }
        // Mostly valid locations, so most documents get past the structural parse.
        let locations: &[&str] = if self.rng.chance(3) {
            &["cookie", "body", "formData", "x"]
        } else if self.swagger {
            &["path", "query", "header", "body", "formData", "formData"]
        } else {
            &["path", "query", "header", "cookie"]
        };
        let mut p = Map::new();
        p.insert("name".into(), json!(name(&mut self.rng)));
        p.insert("in".into(), json!(self.rng.pick(locations).to_string()));
        p.insert("description".into(), json!(hostile(&mut self.rng)));
        p.insert("required".into(), json!(self.rng.chance(50)));
        if self.swagger {
            if p["in"] == "body" {
                p.insert("schema".into(), self.schema(0));
            } else {
                p.insert(
                    "type".into(),
                    json!(
                        self.rng
                            .pick(&["string", "integer", "array", "file", "boolean", "object"])
                            .to_string()
                    ),
                );
                if self.rng.chance(40) {
                    p.insert(
                        "items".into(),
                        json!({"type": "string", "enum": [hostile(&mut self.rng)]}),
                    );
                    p.insert(
                        "collectionFormat".into(),
                        json!(
                            self.rng
                                .pick(&["csv", "ssv", "tsv", "pipes", "multi", "x"])
                                .to_string()
                        ),
                    );
                }
                if self.rng.chance(20) {
                    p.insert("x-nullable".into(), json!(true));
                }
            }
        } else {
            if self.rng.chance(85) {
                p.insert("schema".into(), self.schema(0));
            } else if self.rng.chance(50) {
                p.insert(
                    "content".into(),
                    json!({ self.media(): {"schema": self.schema(0)} }),
                );
            }
            if self.rng.chance(30) {
                p.insert(
                    "style".into(),
                    json!(
                        self.rng
                            .pick(&[
                                "form",
                                "simple",
                                "label",
                                "matrix",
                                "deepObject",
                                "spaceDelimited",
                                "pipeDelimited",
                                "x"
                            ])
                            .to_string()
                    ),
                );
                p.insert("explode".into(), json!(self.rng.chance(50)));
            }
        }
        Value::Object(p)
    }

    fn media(&mut self) -> String {
        if self.rng.chance(10) {
            return hostile(&mut self.rng);
        }
        self.rng
            .pick(&[
                "application/json",
                "application/json; charset=utf-8",
                "application/x-www-form-urlencoded",
                "multipart/form-data",
                "text/plain",
                "application/octet-stream",
                "application/xml",
                "*/*",
                "image/png",
                "application/vnd.api+json",
            ])
            .to_string()
    }

    fn responses(&mut self) -> Value {
        let mut rs = Map::new();
        for _ in 0..self.rng.below(4) {
            let code = if self.rng.chance(10) {
                hostile(&mut self.rng)
            } else {
                self.rng
                    .pick(&["200", "201", "204", "2XX", "default", "404", "999", "20"])
                    .to_string()
            };
            let mut r = Map::new();
            r.insert("description".into(), json!(hostile(&mut self.rng)));
            if self.rng.chance(70) {
                if self.swagger {
                    r.insert("schema".into(), self.schema(0));
                    if self.rng.chance(20) {
                        r.insert("headers".into(), json!({ name(&mut self.rng): {"type": "integer", "description": hostile(&mut self.rng)} }));
                    }
                } else {
                    let mut content = Map::new();
                    for _ in 0..1 + self.rng.below(2) {
                        content.insert(
                            self.media(),
                            json!({"schema": self.schema(0), "example": scalar(&mut self.rng)}),
                        );
                    }
                    r.insert("content".into(), Value::Object(content));
                }
            }
            rs.insert(code, Value::Object(r));
        }
        Value::Object(rs)
    }

    fn operation(&mut self, id_pool: &mut Vec<String>) -> Value {
        let mut op = Map::new();
        if self.rng.chance(80) {
            let id = if self.rng.chance(20) && !id_pool.is_empty() {
                id_pool[self.rng.below(id_pool.len())].clone()
            } else {
                hostile(&mut self.rng)
            };
            id_pool.push(id.clone());
            op.insert("operationId".into(), json!(id));
        }
        op.insert("summary".into(), json!(hostile(&mut self.rng)));
        op.insert("description".into(), json!(hostile(&mut self.rng)));
        op.insert("tags".into(), json!([hostile(&mut self.rng)]));
        if self.rng.chance(10) {
            op.insert("deprecated".into(), json!(true));
        }
        let params: Vec<Value> = (0..self.rng.below(5)).map(|_| self.parameter()).collect();
        op.insert("parameters".into(), Value::Array(params));
        if self.swagger {
            if self.rng.chance(40) {
                let m: Vec<Value> = (0..self.rng.below(3))
                    .map(|_| json!(self.media()))
                    .collect();
                op.insert("consumes".into(), Value::Array(m));
            }
            if self.rng.chance(40) {
                let m: Vec<Value> = (0..self.rng.below(3))
                    .map(|_| json!(self.media()))
                    .collect();
                op.insert("produces".into(), Value::Array(m));
            }
        } else if self.rng.chance(50) {
            let mut content = Map::new();
            for _ in 0..self.rng.below(3) {
                content.insert(self.media(), json!({"schema": self.schema(0)}));
            }
            op.insert("requestBody".into(), json!({"required": self.rng.chance(50), "description": hostile(&mut self.rng), "content": content}));
        }
        op.insert("responses".into(), self.responses());
        if self.rng.chance(30) {
            op.insert(
                "security".into(),
                json!([{ name(&mut self.rng): [hostile(&mut self.rng)] }, {}]),
            );
        }
        Value::Object(op)
    }

    fn document(&mut self) -> Value {
        self.swagger = self.rng.chance(30);
        self.schema_names = (0..self.rng.below(8))
            .map(|_| name(&mut self.rng))
            .collect();
        self.param_names = (0..self.rng.below(3))
            .map(|_| name(&mut self.rng))
            .collect();
        let mut doc = Map::new();
        if self.swagger {
            doc.insert("swagger".into(), json!("2.0"));
            if self.rng.chance(70) {
                doc.insert(
                    "host".into(),
                    json!(format!("h{}.example.com", hostile(&mut self.rng))),
                );
            }
            doc.insert("basePath".into(), json!(hostile(&mut self.rng)));
            doc.insert(
                "schemes".into(),
                json!(["http", "https", hostile(&mut self.rng)]),
            );
            doc.insert("consumes".into(), json!([self.media()]));
            doc.insert("produces".into(), json!([self.media()]));
        } else {
            doc.insert(
                "openapi".into(),
                json!(
                    self.rng
                        .pick(&["3.0.3", "3.1.0", "3.1.1", "3.0.0", "3.2.0"])
                        .to_string()
                ),
            );
            let url = match self.rng.below(4) {
                0 => format!(
                    "https://{}.example.com/{}",
                    hostile(&mut self.rng),
                    hostile(&mut self.rng)
                ),
                1 => "https://{host}/v1".to_string(),
                2 => hostile(&mut self.rng),
                _ => "/relative".to_string(),
            };
            doc.insert("servers".into(), json!([{"url": url, "description": hostile(&mut self.rng), "variables": {"host": {"default": hostile(&mut self.rng), "enum": [hostile(&mut self.rng)]}}}]));
        }
        doc.insert("info".into(), json!({"title": hostile(&mut self.rng), "version": hostile(&mut self.rng), "description": hostile(&mut self.rng)}));
        doc.insert(
            "tags".into(),
            json!([{"name": hostile(&mut self.rng), "description": hostile(&mut self.rng)}]),
        );
        let mut schemas = Map::new();
        let names = self.schema_names.clone();
        for n in &names {
            let s = self.schema(0);
            schemas.insert(n.clone(), s);
        }
        // The worst cases, now and then: a long `$ref` chain, a cycle, deep nesting, many tools.
        let chain = if self.rng.chance(10) {
            1 + self.rng.below(3000)
        } else {
            0
        };
        let prefix = if self.swagger {
            "#/definitions/"
        } else {
            "#/components/schemas/"
        };
        for i in 0..chain {
            schemas.insert(
                format!("C{i}"),
                json!({"$ref": format!("{prefix}C{}", i + 1)}),
            );
        }
        if chain > 0 {
            let last = if self.rng.chance(50) {
                json!({"$ref": format!("{prefix}C0")})
            } else {
                json!({"type": "string"})
            };
            schemas.insert(format!("C{chain}"), last);
            self.schema_names.push("C0".into());
        }
        if self.rng.chance(5) {
            let levels = 20 + self.rng.below(400);
            schemas.insert("Deep".into(), self.deep_schema(levels));
            self.schema_names.push("Deep".into());
        }
        let mut params = Map::new();
        for n in self.param_names.clone() {
            let p = self.parameter();
            params.insert(n, p);
        }
        let mut security = Map::new();
        for _ in 0..self.rng.below(3) {
            let s = if self.swagger {
                match self.rng.below(4) {
                    0 => json!({"type": "basic", "description": hostile(&mut self.rng)}),
                    1 => {
                        json!({"type": "apiKey", "name": hostile(&mut self.rng), "in": self.rng.pick(&["header", "query", "cookie"]).to_string()})
                    }
                    2 => {
                        json!({"type": "oauth2", "flow": self.rng.pick(&["implicit", "password", "application", "accessCode", "x"]).to_string(), "authorizationUrl": hostile(&mut self.rng), "scopes": { hostile(&mut self.rng): hostile(&mut self.rng) }})
                    }
                    _ => json!({"type": hostile(&mut self.rng)}),
                }
            } else {
                match self.rng.below(5) {
                    0 => {
                        json!({"type": "http", "scheme": self.rng.pick(&["bearer", "basic", "digest", "x"]).to_string(), "description": hostile(&mut self.rng)})
                    }
                    1 => {
                        json!({"type": "apiKey", "name": hostile(&mut self.rng), "in": self.rng.pick(&["header", "query", "cookie"]).to_string()})
                    }
                    2 => {
                        json!({"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": hostile(&mut self.rng), "scopes": { hostile(&mut self.rng): hostile(&mut self.rng) }}}})
                    }
                    3 => json!({"type": "mutualTLS"}),
                    _ => {
                        json!({"type": "openIdConnect", "openIdConnectUrl": hostile(&mut self.rng)})
                    }
                }
            };
            security.insert(name(&mut self.rng), s);
        }
        let mut paths = Map::new();
        let n_paths = if self.rng.chance(3) {
            300
        } else {
            self.rng.below(6)
        };
        let mut ids = Vec::new();
        for i in 0..n_paths {
            let mut path = String::new();
            for _ in 0..1 + self.rng.below(3) {
                path.push('/');
                if self.rng.chance(40) {
                    path.push('{');
                    path.push_str(&name(&mut self.rng));
                    path.push('}');
                } else {
                    path.push_str(&hostile(&mut self.rng));
                }
            }
            if n_paths > 10 {
                path.push_str(&format!("/{i}"));
            }
            let mut item = Map::new();
            for _ in 0..1 + self.rng.below(3) {
                let m = *self.rng.pick(&[
                    "get", "put", "post", "delete", "options", "head", "patch", "trace", "x-ext",
                ]);
                let op = self.operation(&mut ids);
                item.insert(m.into(), op);
            }
            if self.rng.chance(20) {
                let p: Vec<Value> = (0..2).map(|_| self.parameter()).collect();
                item.insert("parameters".into(), Value::Array(p));
            }
            paths.insert(path, Value::Object(item));
        }
        doc.insert("paths".into(), Value::Object(paths));
        if self.swagger {
            doc.insert("definitions".into(), Value::Object(schemas));
            doc.insert("parameters".into(), Value::Object(params));
            doc.insert("securityDefinitions".into(), Value::Object(security));
        } else {
            doc.insert(
                "components".into(),
                json!({"schemas": schemas, "parameters": params, "securitySchemes": security}),
            );
        }
        if self.rng.chance(20) {
            doc.insert("security".into(), json!([{ name(&mut self.rng): [] }]));
        }
        Value::Object(doc)
    }
}

/// Random node surgery on a parsed fixture.
fn mutate(g: &mut Gen, v: &mut Value, rounds: usize) {
    for _ in 0..rounds {
        // Pick a node by walking down from the root, then operate on it.
        let mut pointer = String::new();
        let mut cur: &Value = v;
        for _ in 0..1 + g.rng.below(12) {
            let step = match cur {
                Value::Object(m) if !m.is_empty() => m
                    .iter()
                    .nth(g.rng.below(m.len()))
                    .map(|(k, c)| (k.replace('~', "~0").replace('/', "~1"), c)),
                Value::Array(a) if !a.is_empty() => {
                    let i = g.rng.below(a.len());
                    Some((i.to_string(), &a[i]))
                }
                _ => None,
            };
            match step {
                Some((seg, c)) if c.is_object() || c.is_array() => {
                    pointer.push('/');
                    pointer.push_str(&seg);
                    cur = c;
                }
                _ => break,
            }
        }
        let op = g.rng.below(6);
        let replacement = match op {
            0 => Some(scalar(&mut g.rng)),
            1 => Some(g.schema(0)),
            5 => {
                let levels = g.rng.below(300);
                Some(g.deep_schema(levels))
            }
            _ => None,
        };
        let extra_key = hostile(&mut g.rng);
        let extra_value = scalar(&mut g.rng);
        let reference = g.schema_ref()["$ref"].clone();
        let pick = g.rng.next() as usize;
        let Some(node) = v.pointer_mut(&pointer) else {
            continue;
        };
        match (replacement, node) {
            (Some(r), node) => *node = r,
            (None, Value::Object(m)) => match op {
                2 => {
                    if !m.is_empty() {
                        let k = m.keys().nth(pick % m.len()).cloned().unwrap_or_default();
                        m.remove(&k);
                    }
                }
                3 => {
                    m.insert("$ref".into(), reference);
                }
                _ => {
                    m.insert(extra_key, extra_value);
                }
            },
            (None, Value::Array(a)) if !a.is_empty() => {
                a.remove(pick % a.len());
            }
            _ => {}
        }
    }
}

fn raw_bytes(g: &mut Gen, fixtures: &[String]) -> Vec<u8> {
    let r = &mut g.rng;
    match r.below(6) {
        0 => (0..r.below(2000)).map(|_| r.next() as u8).collect(),
        1 => {
            let mut b = fixtures[r.below(fixtures.len())].clone().into_bytes();
            for _ in 0..1 + r.below(20) {
                if b.is_empty() {
                    break;
                }
                let i = r.below(b.len());
                match r.below(4) {
                    0 => b[i] = r.next() as u8,
                    1 => {
                        b.remove(i);
                    }
                    2 => b.splice(i..i, (*r.pick(PIECES)).bytes()).for_each(drop),
                    _ => b.truncate(i),
                }
            }
            b
        }
        2 => {
            let n = r.below(100_000);
            let open = *r.pick(&["[", "{\"a\":", "- ", "a: ", "{a: ", "[{"]);
            open.repeat(n).into_bytes()
        }
        3 => {
            // Indentation nesting in block YAML.
            let mut s = String::from(
                "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n    S:\n",
            );
            let levels = if r.chance(10) {
                r.below(3000)
            } else {
                r.below(200)
            };
            for i in 0..levels {
                s.push_str(&" ".repeat(6 + 2 * i));
                s.push_str("x:\n");
            }
            s.into_bytes()
        }
        4 => {
            // Alias bomb: each level doubles or decuples the one before.
            let mut s = String::from(
                "a0: &a0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n",
            );
            for i in 1..1 + r.below(12) {
                let p = i - 1;
                s.push_str(&format!(
                    "a{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n"
                ));
            }
            s.push_str("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n");
            s.into_bytes()
        }
        _ => {
            let mut b = fixtures[r.below(fixtures.len())].clone().into_bytes();
            let i = r.below(b.len().max(1));
            b.insert(i.min(b.len()), 0xff);
            b
        }
    }
}

/// Where cases run from: relative `$ref`s resolve here, against two small external files.
fn workdir() -> PathBuf {
    let dir = common::repo().join("target").join("fuzz");
    std::fs::create_dir_all(&dir).expect("fuzz dir");
    std::fs::write(
        dir.join("ext.yaml"),
        "components:\n  schemas:\n    Node:\n      type: object\n      properties:\n        next: {$ref: '#/components/schemas/Node'}\n        leaf: {$ref: 'ext.yaml#/components/schemas/Leaf'}\n        back: {$ref: 'spec.yaml#/components/schemas/Pet'}\n    Leaf: {type: string, description: \"*/ \\\" \\\\\"}\n",
    )
    .expect("ext.yaml");
    dir
}

enum Outcome {
    Ok,
    /// Rejected as bad input; the message's gist (location stripped), for the statistics.
    InputError(String),
    Bug(String),
}

fn run_case(spec: &str, text: &str) -> Outcome {
    match mcpgen::generate_text(spec, text, &mcpgen::Options::default()) {
        Ok((api, files)) => {
            // `inspect` presents the same model: it must not trip over it either.
            let _ = (mcpgen::inspect::text(&api), mcpgen::inspect::json(&api));
            for (path, contents) in &files {
                if path.ends_with(".json") && serde_json::from_str::<Value>(contents).is_err() {
                    return Outcome::Bug(format!("{path} is not JSON"));
                }
            }
            Outcome::Ok
        }
        Err(e @ mcpgen::Error::Render { .. }) => Outcome::Bug(e.to_string()),
        Err(e) => {
            let msg = e.to_string();
            let gist = msg
                .rsplit(": ")
                .next()
                .unwrap_or("")
                .chars()
                .take(48)
                .collect();
            Outcome::InputError(gist)
        }
    }
}

fn fixture_texts() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (_, spec) in common::fixtures() {
        let text = std::fs::read_to_string(common::repo().join(&spec)).expect("fixture");
        out.push((spec, text));
    }
    for e in std::fs::read_dir(common::repo().join("fixtures/errors")).expect("errors dir") {
        let p = e.expect("entry").path();
        if let Ok(text) = std::fs::read_to_string(&p) {
            out.push((p.display().to_string(), text));
        }
    }
    out
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
#[ignore = "time-bounded fuzz run: tests/run.sh runs it with MCPGEN_FUZZ_SECS"]
fn fuzz() {
    let secs = env_u64("MCPGEN_FUZZ_SECS", 60);
    let case_limit = Duration::from_secs(env_u64("MCPGEN_FUZZ_CASE_SECS", 20));
    let seed = env_u64("MCPGEN_FUZZ_SEED", 0x6d63_7067_656e);
    let dir = workdir();
    let spec_path = dir.join("spec.yaml").display().to_string();
    let fixtures = fixture_texts();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    // Progress the watchdog reads: the number of the case being run.
    let progress = Arc::new(AtomicU64::new(0));
    let counts = Arc::new(Mutex::new([0u64; 9]));
    let reasons = Arc::new(Mutex::new(std::collections::BTreeMap::<String, u64>::new()));
    let worker = {
        let progress = progress.clone();
        let counts = counts.clone();
        let reasons = reasons.clone();
        let dir = dir.clone();
        // The CLI's main thread has 8 MiB of stack; cases get the same.
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(move || -> Result<(), String> {
                let mut g = Gen {
                    rng: Rng(seed | 1),
                    schema_names: Vec::new(),
                    param_names: Vec::new(),
                    swagger: false,
                };
                let texts: Vec<String> = fixtures.iter().map(|(_, t)| t.clone()).collect();
                let mut case = 0u64;
                while Instant::now() < deadline {
                    case += 1;
                    let mode = (case % 3) as usize;
                    let (bytes, as_yaml) = match mode {
                        0 => {
                            let doc = g.document();
                            let yaml = g.rng.chance(50);
                            let text = if yaml {
                                serde_yaml::to_string(&doc).unwrap_or_default()
                            } else {
                                serde_json::to_string(&doc).unwrap_or_default()
                            };
                            (text.into_bytes(), yaml)
                        }
                        1 => {
                            let (_, text) = &fixtures[g.rng.below(fixtures.len())];
                            let mut v =
                                mcpgen::parse_document("fixture", text).unwrap_or(Value::Null);
                            let rounds = 1 + g.rng.below(5);
                            mutate(&mut g, &mut v, rounds);
                            let yaml = g.rng.chance(50);
                            let text = if yaml {
                                serde_yaml::to_string(&v).unwrap_or_default()
                            } else {
                                serde_json::to_string(&v).unwrap_or_default()
                            };
                            (text.into_bytes(), yaml)
                        }
                        _ => (raw_bytes(&mut g, &texts), true),
                    };
                    let current = dir.join(if as_yaml {
                        "current.yaml"
                    } else {
                        "current.json"
                    });
                    std::fs::write(&current, &bytes).map_err(|e| e.to_string())?;
                    progress.store(case, Ordering::SeqCst);
                    let text = String::from_utf8_lossy(&bytes);
                    let result = std::panic::catch_unwind(|| run_case(&spec_path, &text));
                    let slot = match result {
                        Ok(Outcome::Ok) => 1,
                        Ok(Outcome::InputError(gist)) => {
                            let kind = ["structured", "mutated", "raw"][mode];
                            *reasons
                                .lock()
                                .map_err(|e| e.to_string())?
                                .entry(format!("{kind}: {gist}"))
                                .or_default() += 1;
                            2
                        }
                        Ok(Outcome::Bug(msg)) => {
                            return Err(format!(
                                "case {case} (mode {mode}): {msg}; input: {}",
                                current.display()
                            ));
                        }
                        Err(_) => {
                            return Err(format!(
                                "case {case} (mode {mode}) panicked; input: {}",
                                current.display()
                            ));
                        }
                    };
                    let mut c = counts.lock().map_err(|e| e.to_string())?;
                    c[0] += 1;
                    c[slot] += 1;
                    c[3 + mode] += 1;
                    if slot == 1 {
                        c[6 + mode] += 1;
                    }
                }
                Ok(())
            })
            .expect("spawn fuzz worker")
    };
    // Watchdog: a case that runs too long is a hang.
    let mut last_case = 0;
    let mut since = Instant::now();
    while !worker.is_finished() {
        std::thread::sleep(Duration::from_millis(100));
        let case = progress.load(Ordering::SeqCst);
        if case != last_case {
            last_case = case;
            since = Instant::now();
        } else if since.elapsed() > case_limit {
            panic!(
                "case {case} has run for more than {case_limit:?} (a hang); input: {}/current.*",
                dir.display()
            );
        }
    }
    let result = worker.join().expect("fuzz worker");
    let c = *counts.lock().expect("counts");
    println!(
        "fuzz: {} cases in {:.1} s (seed {seed:#x}): {} generated a crate, {} rejected as bad input; \
         structured documents {} ({} generated), mutated fixtures {} ({} generated), raw bytes {} ({} generated)",
        c[0],
        started.elapsed().as_secs_f64(),
        c[1],
        c[2],
        c[3],
        c[6],
        c[4],
        c[7],
        c[5],
        c[8]
    );
    let mut top: Vec<(String, u64)> = reasons
        .lock()
        .expect("reasons")
        .clone()
        .into_iter()
        .collect();
    top.sort_by_key(|t| std::cmp::Reverse(t.1));
    for (gist, n) in top.iter().take(12) {
        println!("  rejected {n:>5}: {gist}");
    }
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(c[0] > 0, "no case ran");
}

/// The fixed worst cases: each is an input error naming the file and a pointer (or a line and
/// column), never a panic, overflow or hang.
#[test]
fn bounded_inputs() {
    let dir = workdir();
    let spec = dir.join("bounded.yaml").display().to_string();
    let head = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n";
    let op = |schema_ref: &str| {
        format!(
            "paths:\n  /x:\n    get:\n      parameters:\n        - {{name: q, in: query, schema: {{$ref: '{schema_ref}'}}}}\n      responses: {{'200': {{description: ok}}}}\n"
        )
    };
    // A `$ref` chain 5,000 links long.
    let mut chain = format!(
        "{head}{}components:\n  schemas:\n",
        op("#/components/schemas/C0")
    );
    for i in 0..5000 {
        chain.push_str(&format!(
            "    C{i}: {{$ref: '#/components/schemas/C{}'}}\n",
            i + 1
        ));
    }
    chain.push_str("    C5000: {type: string}\n");
    // A parameter `$ref` chain.
    let mut params = format!(
        "{head}paths:\n  /x:\n    get:\n      parameters: [{{$ref: '#/components/parameters/P0'}}]\n      responses: {{'200': {{description: ok}}}}\ncomponents:\n  parameters:\n"
    );
    for i in 0..500 {
        params.push_str(&format!(
            "    P{i}: {{$ref: '#/components/parameters/P{}'}}\n",
            i + 1
        ));
    }
    params.push_str("    P500: {name: q, in: query, schema: {type: string}}\n");
    // A schema nested 10,000 levels deep, in JSON (flow) and YAML (block) form.
    let deep_json = format!(
        "{{\"openapi\": \"3.0.3\", \"info\": {{\"title\": \"t\", \"version\": \"1\"}}, \"paths\": {{}}, \"x\": {}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let mut deep_yaml = format!("{head}paths: {{}}\ncomponents:\n  schemas:\n    S:\n");
    for i in 0..3000 {
        deep_yaml.push_str(&format!("{}p:\n", " ".repeat(6 + 2 * i)));
    }
    // A billion-laughs alias bomb.
    let mut bomb = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n"
        ));
    }
    bomb.push_str(&format!("{head}paths: {{}}\n"));
    // A default value nested 120 levels, in a component used 20 levels into a tool's schema.
    let mut nested = String::from("{type: string, default: ");
    nested.push_str(&"[".repeat(120));
    nested.push_str(&"]".repeat(120));
    nested.push('}');
    let mut deep_default = format!(
        "{head}{}components:\n  schemas:\n    D: {nested}\n    Q:\n",
        op("#/components/schemas/Q")
    );
    let mut indent = 6;
    for _ in 0..20 {
        deep_default.push_str(&format!(
            "{}type: object\n{}properties:\n{}n:\n",
            " ".repeat(indent),
            " ".repeat(indent),
            " ".repeat(indent + 2)
        ));
        indent += 4;
    }
    deep_default.push_str(&format!(
        "{}$ref: '#/components/schemas/D'\n",
        " ".repeat(indent)
    ));
    // 60 files, each 120 levels deep, each referring to the next from its innermost level:
    // bundled, 7,200 levels (this overflowed the stack before the loader bounded it).
    let chain_dir = dir.join("chain");
    std::fs::create_dir_all(&chain_dir).expect("chain dir");
    for i in 0..60 {
        let mut s = if i + 1 < 60 {
            format!("{{$ref: 'f{}.yaml#/x'}}", i + 1)
        } else {
            "{type: string}".to_string()
        };
        for _ in 0..60 {
            s = format!("{{type: object, properties: {{a: {s}}}}}");
        }
        std::fs::write(chain_dir.join(format!("f{i}.yaml")), format!("x: {s}\n"))
            .expect("chain file");
    }
    let file_chain = format!("{}{}", head, op("chain/f0.yaml#/x"));
    // 30 files, each referring to the next twice: 2^30 copies when inlined (this ran out of
    // memory before the loader bounded what inlining may add).
    let dag_dir = dir.join("dag");
    std::fs::create_dir_all(&dag_dir).expect("dag dir");
    for i in 0..30 {
        let s = if i + 1 < 30 {
            format!(
                "{{allOf: [{{$ref: 'g{0}.yaml#/x'}}, {{$ref: 'g{0}.yaml#/x'}}]}}",
                i + 1
            )
        } else {
            "{type: string}".to_string()
        };
        std::fs::write(dag_dir.join(format!("g{i}.yaml")), format!("x: {s}\n")).expect("dag file");
    }
    let file_dag = format!("{}{}", head, op("dag/g0.yaml#/x"));
    let cases = [
        ("external file chain", file_chain, "#/"),
        ("external reference bomb", file_dag, "#/"),
        ("deep default", deep_default, "#/"),
        ("ref chain", chain, "#/"),
        ("parameter ref chain", params, "#/"),
        ("deep JSON", deep_json, "line"),
        ("deep YAML", deep_yaml, ""),
        ("alias bomb", bomb, ""),
    ];
    for (what, text, located) in cases {
        let start = Instant::now();
        let result = std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn({
                let spec = spec.clone();
                move || {
                    mcpgen::generate_text(&spec, &text, &mcpgen::Options::default())
                        .map(|(_, files)| files)
                }
            })
            .expect("spawn")
            .join()
            .unwrap_or_else(|_| panic!("{what}: panicked"));
        println!(
            "{what}: {:?} {:?}",
            start.elapsed(),
            result.as_ref().map(|_| ()).map_err(|e| e.to_string())
        );
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what}: took {:?}",
            start.elapsed()
        );
        match result {
            Ok(files) => {
                // What the generated server parses at start-up, with serde_json's limits.
                for (path, contents) in files.iter().filter(|(p, _)| p.ends_with(".json")) {
                    serde_json::from_str::<Value>(contents)
                        .unwrap_or_else(|e| panic!("{what}: {path}: {e}"));
                }
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(!matches!(e, mcpgen::Error::Render { .. }), "{what}: {msg}");
                assert!(
                    msg.starts_with(&spec),
                    "{what}: the error does not name the file: {msg}"
                );
                assert!(msg.contains(located), "{what}: not located: {msg}");
            }
        }
    }
}
