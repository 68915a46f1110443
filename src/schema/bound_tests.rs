//! Soundness of the bound, property-style: instances generated at random from the unbounded
//! schema (kept when a real validator, the `jsonschema` crate, accepts them there) must be
//! accepted by every bounded schema — over the Stripe-shaped benchmark document, the recursive
//! and hostile fixtures, and one schema per rule that a naive cut would break.

use super::*;
use crate::schema::shape::Mode;
use serde_json::json;

#[path = "../../bench/stripe-shape/spec.rs"]
mod stripe_shape;

const UNBOUNDED: Bound = Bound {
    bytes: usize::MAX,
    depth: usize::MAX,
};

/// Bounds from "only the root" to the real one.
const BOUNDS: &[Bound] = &[
    Bound { bytes: 0, depth: 0 },
    Bound {
        bytes: 400,
        depth: 1,
    },
    Bound {
        bytes: 600,
        depth: 3,
    },
    Bound {
        bytes: 2_000,
        depth: 12,
    },
    Bound {
        bytes: 5_000,
        depth: 4,
    },
    OUTPUT_BOUND,
];

/// One root converted within `bound`, its `$defs` beside it; and whether anything was cut.
fn bounded(doc: &Value, schema: &Value, at: &Pointer, bound: Bound) -> Option<(Value, bool)> {
    bounded_in(Mode::Output, doc, schema, at, bound)
}

/// [`bounded`] for either side of the call.
fn bounded_in(
    mode: Mode,
    doc: &Value,
    schema: &Value,
    at: &Pointer,
    bound: Bound,
) -> Option<(Value, bool)> {
    let schemas = Schemas::new("t.yaml", doc);
    let mut c = Conversion::new(&schemas, mode);
    let root = Root {
        schema,
        at: at.clone(),
        path: "output".into(),
        extra: 0,
    };
    let b = c.convert_bounded(&[root], bound).ok()?;
    let cut = !b.cut.is_empty() || b.stripped > 0;
    let mut v = roots_of(&b).into_iter().next()?;
    if !b.defs.is_empty() {
        v.as_object_mut()?
            .insert("$defs".into(), Value::Object(defs_of(&b)));
    }
    Some((v, cut))
}

/// The roots of a bounded conversion as values.
fn roots_of(b: &Bounded) -> Vec<Value> {
    b.roots
        .iter()
        .map(|t| serde_json::from_str(t).unwrap())
        .collect()
}

/// The `$defs` of a bounded conversion as a map.
fn defs_of(b: &Bounded) -> Map<String, Value> {
    serde_json::from_str(&b.defs_text()).unwrap()
}

use crate::test_rng::Rng;

/// A value shaped after `s` (a converted schema; `root` holds its `$defs`). Not always valid:
/// the caller keeps those the validator accepts.
fn instance(s: &Value, root: &Value, rng: &mut Rng, depth: usize) -> Value {
    let Some(m) = s.as_object() else {
        return json!(null);
    };
    if let Some(r) = m.get("$ref").and_then(Value::as_str) {
        let target = r
            .strip_prefix("#")
            .and_then(|p| root.pointer(p))
            .cloned()
            .unwrap_or(json!({}));
        return instance(&target, root, rng, depth + 1);
    }
    if let Some(c) = m.get("const") {
        return c.clone();
    }
    if let Some(Value::Array(e)) = m.get("enum")
        && !e.is_empty()
    {
        return e[rng.below(e.len())].clone();
    }
    for k in ["anyOf", "oneOf"] {
        if let Some(Value::Array(bs)) = m.get(k)
            && !bs.is_empty()
        {
            let mut v = instance(&bs[rng.below(bs.len())], root, rng, depth + 1);
            if m.contains_key("properties")
                && let (Value::Object(o), Value::Object(extra)) =
                    (&mut v, instance(&strip(m, k), root, rng, depth + 1))
            {
                for (k, x) in extra {
                    o.entry(k).or_insert(x);
                }
            }
            return v;
        }
    }
    if let Some(Value::Array(all)) = m.get("allOf") {
        let mut v = instance(&strip(m, "allOf"), root, rng, depth + 1);
        for a in all {
            if let (Value::Object(o), Value::Object(extra)) =
                (&mut v, instance(a, root, rng, depth + 1))
            {
                o.extend(extra);
            }
        }
        return v;
    }
    let ty = match m.get("type").and_then(Value::as_str) {
        Some(t) => t,
        None if m.contains_key("properties") => "object",
        None if m.contains_key("items") || m.contains_key("contains") => "array",
        None => ["string", "integer", "object", "null"][rng.below(4)],
    };
    match ty {
        "string" => match m.get("pattern").and_then(Value::as_str) {
            Some(p) => json!(format!(
                "{}x",
                p.trim_start_matches('^')
                    .replace(['\\', '$', '.', '*', '+'], "")
            )),
            None => json!(["", "a", "abc", "cus_123"][rng.below(4)]),
        },
        "integer" => json!(rng.below(10) as i64 - 3),
        "number" => json!(rng.below(100) as f64 / 8.0),
        "boolean" => json!(rng.chance(50)),
        "null" => json!(null),
        "array" => {
            if depth > 10 {
                return json!([]);
            }
            let item = m.get("items").or_else(|| m.get("contains"));
            let n = rng.below(3);
            Value::Array(
                (0..n)
                    .map(|_| match item {
                        Some(i) => instance(i, root, rng, depth + 1),
                        None => json!(rng.below(5)),
                    })
                    .collect(),
            )
        }
        _ => {
            let mut o = Map::new();
            if depth > 10 {
                return Value::Object(o);
            }
            let required: Vec<&str> = m
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(Value::Object(props)) = m.get("properties") {
                for (k, p) in props {
                    if required.contains(&k.as_str()) || rng.chance(60) {
                        o.insert(k.clone(), instance(p, root, rng, depth + 1));
                    }
                }
            }
            match m.get("additionalProperties") {
                Some(Value::Bool(false)) => {}
                Some(ap @ Value::Object(_)) => {
                    if rng.chance(30) {
                        o.insert("extra".into(), instance(ap, root, rng, depth + 1));
                    }
                }
                _ => {
                    if rng.chance(20) {
                        o.insert("unlisted".into(), json!(rng.below(3)));
                    }
                }
            }
            Value::Object(o)
        }
    }
}

fn strip(m: &Map<String, Value>, k: &str) -> Value {
    let mut m = m.clone();
    m.remove(k);
    Value::Object(m)
}

/// Checks `schema` (at `at` in `doc`): every instance valid unbounded is valid under each
/// bound. Returns (valid instances tried, bounds that cut something).
fn check(doc: &Value, schema: &Value, at: &Pointer, tries: usize) -> (usize, usize) {
    let Some((full, _)) = bounded(doc, schema, at, UNBOUNDED) else {
        return (0, 0);
    };
    let full_v = jsonschema::draft202012::new(&full).expect("the unbounded schema compiles");
    let mut rng = Rng(7);
    let mut valid = Vec::new();
    for _ in 0..tries {
        let i = instance(&full, &full, &mut rng, 0);
        if full_v.is_valid(&i) {
            valid.push(i);
        }
    }
    let mut cutting = 0;
    for bound in BOUNDS {
        let (b, cut) = bounded(doc, schema, at, *bound).expect("converts bounded");
        cutting += usize::from(cut);
        let v = jsonschema::draft202012::new(&b).expect("the bounded schema compiles");
        for i in &valid {
            assert!(
                v.is_valid(i),
                "{at} under {bound:?}: {i} is valid unbounded but not under\n{b:#}"
            );
        }
    }
    (valid.len(), cutting)
}

/// Every 2xx JSON response schema of a document, with its place.
fn responses(doc: &Value) -> Vec<(Value, Pointer)> {
    let mut out = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            let Some(rs) = op.get("responses").and_then(Value::as_object) else {
                continue;
            };
            for (code, r) in rs {
                if !code.starts_with('2') {
                    continue;
                }
                let r = match r.get("$ref").and_then(Value::as_str) {
                    Some(p) => doc.pointer(p.trim_start_matches('#')).unwrap_or(r),
                    None => r,
                };
                if let Some(Value::Object(content)) = r.get("content") {
                    for (mt, c) in content {
                        if mt.contains("json")
                            && let Some(s) = c.get("schema")
                        {
                            let at = Pointer::root()
                                .join("paths")
                                .join(path)
                                .join(method)
                                .join("responses")
                                .join(code)
                                .join("content")
                                .join(mt)
                                .join("schema");
                            out.push((s.clone(), at));
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn stripe_shape_responses_stay_valid() {
    let doc = stripe_shape::spec();
    let (mut valid, mut cutting) = (0, 0);
    // Every 45th response (list envelopes, single resources, deleted objects, searches): each
    // unbounded schema is most of the document, which the validator takes a while to compile.
    for (s, at) in responses(&doc).iter().step_by(45) {
        let (v, c) = check(&doc, s, at, 40);
        valid += v;
        cutting += c;
    }
    assert!(valid > 30, "only {valid} valid instances");
    assert!(
        cutting > 25,
        "only {cutting} bounded conversions cut anything"
    );
}

#[test]
fn fixtures_stay_valid() {
    for fixture in [
        "recursive",
        "hostile",
        "petstore",
        "client-safe",
        "fastapi31",
    ] {
        let path = format!(
            "{}/fixtures/{fixture}/openapi.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let doc = crate::parse_document(&path, &text).expect("fixture parses");
        let mut roots = responses(&doc);
        if let Some(Value::Object(components)) = doc.pointer("/components/schemas") {
            for name in components.keys() {
                roots.push((
                    json!({"$ref": format!("#/components/schemas/{}", name.replace('~', "~0").replace('/', "~1"))}),
                    Pointer::root().join("x"),
                ));
            }
        }
        let (mut valid, mut cutting) = (0, 0);
        for (s, at) in &roots {
            let (v, c) = check(&doc, s, at, 40);
            valid += v;
            cutting += c;
        }
        assert!(valid > 20, "{fixture}: only {valid} valid instances");
        assert!(cutting > 0, "{fixture}: nothing was cut");
    }
}

/// A schema per rule, each with the instance that a naive cut would reject.
#[test]
fn each_rule_keeps_its_instances() {
    let deep = |leaf: Value| json!({"type": "object", "properties": {"x": {"type": "object", "properties": {"y": leaf}, "required": ["y"]}}, "required": ["x"]});
    let cases = [
        // oneOf: cut branches both match; must become anyOf.
        (
            json!({"oneOf": [deep(json!({"type": "integer"})), deep(json!({"type": "string"}))]}),
            json!({"x": {"y": 1}}),
        ),
        // not: a cut inside makes `not` reject more; must be dropped.
        (
            json!({"type": "object", "not": deep(json!({"type": "string"}))}),
            json!({"x": {"y": 1}}),
        ),
        // if/then/else: a cut inside `if` sends everything to `then`.
        (
            json!({"type": "object", "properties": {"k": {}, "a": {}, "b": {}},
                   "if": deep(json!({"const": "a"})), "then": {"required": ["a"]}, "else": {"required": ["b"]}}),
            json!({"x": {"y": "z"}, "b": 1}),
        ),
        // unevaluatedProperties: a cut branch evaluates nothing.
        (
            json!({"type": "object", "anyOf": [
                {"type": "object", "properties": {"a": {"type": "string"}, "n": {"type": "object", "properties": {"m": {"type": "integer"}}}}, "required": ["a"]},
                {"type": "object", "properties": {"b": {"type": "string"}}, "required": ["b"]}
            ], "unevaluatedProperties": false}),
            json!({"a": "s", "n": {"m": 1}}),
        ),
        // contains + maxContains: a cut `contains` matches more items.
        (
            json!({"type": "array", "contains": deep(json!({"const": 1})), "maxContains": 1}),
            json!([{"x": {"y": 1}}, {"x": {"y": 2}}]),
        ),
        // additionalProperties: false beside cut properties keeps their names.
        (
            json!({"type": "object", "additionalProperties": false, "properties": {"a": deep(json!({"type": "string"})), "b": deep(json!({"type": "integer"}))}}),
            json!({"a": {"x": {"y": "s"}}, "b": {"x": {"y": 2}}}),
        ),
        // const and enum beside cut siblings.
        (
            json!({"type": "object", "properties": {"kind": {"const": "card"}, "card": deep(json!({"enum": ["visa", "amex"]}))}, "required": ["kind"]}),
            json!({"kind": "card", "card": {"x": {"y": "amex"}}}),
        ),
    ];
    for (i, (schema, instance)) in cases.iter().enumerate() {
        let doc = json!({"openapi": "3.1.0", "components": {"schemas": {"S": schema}}});
        let at = Pointer::root().join("components").join("schemas").join("S");
        let (full, _) = bounded(&doc, schema, &at, UNBOUNDED).unwrap();
        assert!(
            jsonschema::draft202012::new(&full)
                .unwrap()
                .is_valid(instance),
            "case {i}: the instance is valid unbounded"
        );
        let mut cut_any = false;
        for bound in BOUNDS {
            let (b, cut) = bounded(&doc, schema, &at, *bound).unwrap();
            cut_any |= cut;
            assert!(
                jsonschema::draft202012::new(&b).unwrap().is_valid(instance),
                "case {i} under {bound:?}: {instance} rejected by\n{b:#}"
            );
        }
        assert!(cut_any, "case {i}: no bound cut anything");
        let (v, c) = check(&doc, schema, &at, 60);
        assert!(
            v > 0 && c > 0,
            "case {i}: {v} valid instances, {c} cutting bounds"
        );
    }
    // The oneOf of case 0 is an anyOf once its branches are cut, a oneOf while they are whole.
    let doc = json!({"openapi": "3.1.0", "components": {"schemas": {"S": cases[0].0}}});
    let at = Pointer::root().join("components").join("schemas").join("S");
    let tight = Bound {
        bytes: 5_000,
        depth: 2,
    };
    let (b, _) = bounded(&doc, &cases[0].0, &at, tight).unwrap();
    assert!(b.get("anyOf").is_some() && b.get("oneOf").is_none(), "{b}");
    let (b, cut) = bounded(&doc, &cases[0].0, &at, OUTPUT_BOUND).unwrap();
    assert!(!cut && b.get("oneOf").is_some(), "{b}");
}

#[test]
fn breadth_first_keeps_near_parts() {
    // A wide first level and a deep chain: the first level stays whole, the chain is cut.
    let mut props = Map::new();
    for i in 0..20 {
        props.insert(
            format!("p{i}"),
            json!({"type": "string", "description": "a field"}),
        );
    }
    let mut chain = json!({"type": "string"});
    for _ in 0..30 {
        chain = json!({"type": "object", "properties": {"next": chain}});
    }
    props.insert("chain".into(), chain);
    let schema = json!({"type": "object", "properties": props});
    let doc = json!({});
    let (b, cut) = bounded(&doc, &schema, &Pointer::root(), OUTPUT_BOUND).unwrap();
    assert!(cut);
    for i in 0..20 {
        assert_eq!(b["properties"][format!("p{i}")]["type"], "string");
    }
    let mut level = &b["properties"]["chain"];
    let mut depth = 1;
    while let Some(next) = level.pointer("/properties/next") {
        level = next;
        depth += 1;
    }
    assert_eq!(
        depth,
        OUTPUT_BOUND.depth + 1,
        "the chain is cut below the bound"
    );
    assert_eq!(level, &json!({}));
}

/// An entity graph like Microsoft Graph's: every entity reaches every other through navigation
/// properties, so an unbounded request body carries all of them.
fn entity_graph(n: usize) -> Value {
    let mut schemas = Map::new();
    for i in 0..n {
        let mut props = Map::new();
        for j in 0..8 {
            props.insert(
                format!("field{j}"),
                json!({"type": "string", "nullable": true, "description": format!("Field {j} of entity {i}.")}),
            );
        }
        props.insert("id".into(), json!({"type": "string", "readOnly": true}));
        for k in 1..4 {
            let target = format!("#/components/schemas/e{}", (i * 7 + k * 13) % n);
            props.insert(format!("nav{k}"), json!({"$ref": target}));
        }
        props.insert(
            "many".into(),
            json!({"type": "array", "items": {"$ref": format!("#/components/schemas/e{}", (i + 1) % n)}}),
        );
        schemas.insert(
            format!("e{i}"),
            json!({"allOf": [{"$ref": "#/components/schemas/base"}, {"type": "object", "properties": props}]}),
        );
    }
    schemas.insert(
        "base".into(),
        json!({"type": "object", "properties": {"kind": {"type": "string"}}}),
    );
    json!({"components": {"schemas": schemas}})
}

#[test]
fn input_bound_keeps_every_argument_and_says_what_it_cut() {
    let doc = entity_graph(240);
    let schemas = Schemas::new("t.yaml", &doc);
    let mut c = Conversion::new(&schemas, Mode::Input);
    let id = json!({"type": "string"});
    let body = json!({"$ref": "#/components/schemas/e0"});
    let roots = [
        Root {
            schema: &id,
            at: Pointer::root().join("id"),
            path: "id".into(),
            extra: 10,
        },
        Root {
            schema: &body,
            at: Pointer::root().join("body"),
            path: "body".into(),
            extra: 10,
        },
    ];
    let b = c.convert_bounded(&roots, INPUT_BOUND).unwrap();
    // Both arguments are there; the body's own fields are expanded.
    let (root_values, defs) = (roots_of(&b), defs_of(&b));
    assert_eq!(root_values[0], json!({"type": "string"}));
    assert_eq!(root_values[1], json!({"$ref": "#/$defs/e0"}));
    assert_eq!(
        defs["e0"]["properties"]["field7"]["anyOf"][0],
        json!({"type": "string"})
    );
    // The graph is not: something was cut, described, and the whole stays within the bound.
    assert!(!b.cut.is_empty());
    let mut whole = Map::new();
    whole.insert("roots".into(), Value::Array(root_values));
    whole.insert("$defs".into(), Value::Object(defs));
    let bytes = serde_json::to_vec(&whole).unwrap().len();
    assert!(bytes <= INPUT_BOUND.bytes, "{bytes} bytes");
    let text = serde_json::to_string(&whole).unwrap();
    assert!(
        text.contains(r#"{"description":"Not expanded (size bound); the server checks it in full.","properties":{},"type":"object"}"#),
        "{text}"
    );
    // Unbounded, the body would carry every entity.
    let unbounded = c.unbounded_bytes(&roots).unwrap();
    assert!(unbounded > 4 * INPUT_BOUND.bytes, "{unbounded}");
}

#[test]
fn input_bound_cuts_soundly() {
    // What a client may send under the full schema it may send under the bounded one (cut
    // parts are permissive), from the root alone to the real bound.
    let doc = entity_graph(12);
    let body = json!({"$ref": "#/components/schemas/e3"});
    let at = Pointer::root().join("body");
    let (full, _) = bounded_in(Mode::Input, &doc, &body, &at, UNBOUNDED).unwrap();
    let full_v = jsonschema::draft202012::new(&full).expect("the unbounded schema compiles");
    let mut rng = Rng(11);
    let valid: Vec<Value> = (0..60)
        .map(|_| instance(&full, &full, &mut rng, 0))
        .filter(|i| full_v.is_valid(i))
        .collect();
    assert!(valid.len() > 10, "only {} valid instances", valid.len());
    let mut cutting = 0;
    for bound in BOUNDS.iter().chain([&INPUT_BOUND]) {
        let (b, cut) = bounded_in(Mode::Input, &doc, &body, &at, *bound).unwrap();
        cutting += usize::from(cut);
        let v = jsonschema::draft202012::new(&b).expect("the bounded schema compiles");
        for i in &valid {
            assert!(v.is_valid(i), "under {bound:?}: {i} not valid under\n{b:#}");
        }
    }
    assert!(cutting >= 4, "only {cutting} bounds cut anything");
    // A root too large even alone stays an argument, said to be not expanded.
    let (b, cut) = bounded_in(Mode::Input, &doc, &body, &at, Bound { bytes: 0, depth: 0 }).unwrap();
    assert!(cut);
    assert_eq!(b, json!({ "description": NOT_EXPANDED }));
}

/// A spec's strings that read like placeholders (a property name, a `const`, an `enum` value,
/// an example) stay what they are: only the placeholders the conversion made are replaced.
#[test]
fn placeholder_lookalikes_stay_data() {
    let fake = format!("{}0", crate::schema::node::SLOT);
    let doc = json!({});
    let schema = json!({
        "type": "object",
        "properties": {
            (fake.clone()): {"const": fake, "type": "string"},
            "b": {"enum": [fake, "x"], "examples": [fake], "type": "string"},
            "c": {"type": "object", "properties": {"d": {"type": "integer"}}},
        },
    });
    for bound in [OUTPUT_BOUND, UNBOUNDED] {
        let (b, _) = bounded(&doc, &schema, &Pointer::root().join("s"), bound).unwrap();
        assert_eq!(b["properties"][&fake]["const"], json!(fake), "{b}");
        assert_eq!(b["properties"]["b"]["enum"][0], json!(fake), "{b}");
        assert_eq!(b["properties"]["b"]["examples"][0], json!(fake), "{b}");
        assert_eq!(
            b["properties"]["c"]["properties"]["d"],
            json!({"type": "integer"})
        );
    }
}

/// The definitions of the depth-cache tests, with `extra` beside them: `S` is small, so inlined
/// wherever it is reached, its properties nodes of their own at the depth it is inlined at;
/// `S.properties.long` inlines a chain of 40 small references (`C0` .. `C40`), so it goes as
/// deep as the depth limit leaves room for, and `S.properties.short` does not.
fn chain_document(extra: Option<(&str, Value)>) -> Value {
    let mut schemas = Map::new();
    if let Some((name, schema)) = extra {
        schemas.insert(name.into(), schema);
    }
    schemas.insert(
        "S".into(),
        json!({"type": "object", "properties": {
            "long": {"$ref": "#/components/schemas/C0", "description": "long"},
            "short": {"type": "integer"}
        }}),
    );
    for i in 0..40 {
        schemas.insert(
            format!("C{i}"),
            json!({"$ref": format!("#/components/schemas/C{}", i + 1), "description": "link"}),
        );
    }
    schemas.insert("C40".into(), json!({"type": "string"}));
    json!({"components": {"schemas": schemas}})
}

/// A reference to `components.schemas.<name>` below `levels` nested properties.
fn nested_ref(name: &str, levels: usize) -> Value {
    let mut s = json!({ "$ref": format!("#/components/schemas/{name}") });
    for _ in 0..levels {
        s = json!({"type": "object", "properties": {"p": s}});
    }
    s
}

/// `root` (at `/x`) converted as an output without a bound: its roots and `$defs`.
fn convert_unbounded(schemas: &Schemas, root: &Value) -> (Vec<Value>, Map<String, Value>) {
    let mut c = Conversion::new(schemas, Mode::Output);
    let b = c
        .convert_bounded(
            &[Root {
                schema: root,
                at: Pointer::root().join("x"),
                path: "output".into(),
                extra: 0,
            }],
            Bound {
                bytes: usize::MAX,
                depth: usize::MAX,
            },
        )
        .expect("converts");
    (roots_of(&b), defs_of(&b))
}

/// Asserts `root` converts with `cached`'s caches as with none (`levels` names the case);
/// returns the schemas it was converted with without them (their warnings).
fn same_as_without_cache<'d>(
    doc: &'d Value,
    cached: &Schemas,
    root: &Value,
    levels: usize,
) -> Schemas<'d> {
    let fresh = Schemas::new("t.yaml", doc);
    assert_eq!(
        convert_unbounded(cached, root),
        convert_unbounded(&fresh, root),
        "{levels} levels"
    );
    fresh
}

/// A node of a definition is converted once for every depth up to `REUSE_DEPTH` when its
/// conversion goes no deeper than the depth limit leaves room for; one whose conversion goes
/// further (here a property that inlines a chain of 40 small references) is cached at its
/// depth only, and reached deeper it is cut where a conversion without the cache cuts it.
#[test]
fn nodes_are_cached_at_any_depth_where_the_depth_decides_nothing() {
    let doc = chain_document(None);
    // `S` reached below `levels` nested properties.
    let nested = |levels: usize| nested_ref("S", levels);
    let cached = Schemas::new("t.yaml", &doc);
    let side = Mode::Output.side();
    let depths_of = |property: &str| -> Vec<usize> {
        let p = Pointer::root()
            .join("components")
            .join("schemas")
            .join("S")
            .join("properties")
            .join(property);
        cached.nodes[side]
            .borrow()
            .get(&p)
            .map(|d| d.keys().copied().collect())
            .unwrap_or_default()
    };
    let mut cut = 0;
    for levels in [0, 3, 12, 27, 28, 29, 30] {
        let fresh = same_as_without_cache(&doc, &cached, &nested(levels), levels);
        let have: Vec<String> = cached
            .warnings
            .borrow()
            .iter()
            .map(|w| format!("{w:?}"))
            .collect();
        for w in fresh.warnings.borrow().iter() {
            assert!(
                have.contains(&format!("{w:?}")),
                "{levels} levels: cut where it is cut without the cache: {w:?}"
            );
            cut += 1;
        }
    }
    assert!(cut > 0, "deep enough to be cut");
    assert_eq!(depths_of("short"), [ANY_DEPTH], "one node for every depth");
    let depths = depths_of("long");
    assert!(
        depths.len() > 1 && !depths.contains(&ANY_DEPTH),
        "{depths:?}"
    );
}

/// What a reused node found below it (its memo) holds only nodes that convert the same at
/// every depth: the node `T.properties.s` (inlining `S`) converts the same wherever it is
/// reached, but its child `long` inlines a chain of 40 references and is cut differently
/// deeper; reached again deeper through the reused `s`, `long` is converted at its new depth,
/// as a conversion without the cache converts it.
#[test]
fn a_reused_node_finds_only_any_depth_nodes_below_it() {
    let doc = chain_document(Some((
        "T",
        json!({"type": "object", "properties": {"s": {"$ref": "#/components/schemas/S"}}}),
    )));
    let nested = |levels: usize| nested_ref("T", levels);
    let cached = Schemas::new("t.yaml", &doc);
    // Shallow first (the memo is filled), then deeper, where `long` is cut.
    for levels in [0, 0, 3, 12, 26, 27, 28, 29, 30, 3] {
        same_as_without_cache(&doc, &cached, &nested(levels), levels);
    }
    let s = Pointer::root()
        .join("components")
        .join("schemas")
        .join("T")
        .join("properties")
        .join("s");
    let depths: Vec<usize> = cached.nodes[Mode::Output.side()]
        .borrow()
        .get(&s)
        .map(|d| d.keys().copied().collect())
        .unwrap_or_default();
    assert!(
        depths.contains(&ANY_DEPTH),
        "`s` is reused at any depth: {depths:?}"
    );
}
