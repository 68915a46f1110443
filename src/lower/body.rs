//! The request body, a phase of a tool's input. Of the body's media types the tool sends one:
//! JSON first, then URL-encoded forms, multipart, text, anything else as binary (with a warning
//! when there are several). A JSON, form or multipart body that is a plain object once shaped
//! ([`shape`]: `allOf` merged, `readOnly` properties left out) has its properties as separate
//! arguments ("flattened"); any other body is one `body` argument (binary ones as base64).

use crate::error::Result;
use crate::ir::{ArgLocation, Body, BodyKind, Warning};
use crate::lower::Lowerer;
use crate::lower::arguments::Candidate;
use crate::pointer::Pointer;
use crate::schema::keywords::has_properties;
use crate::schema::shape::{Mode, Note, origin, shape};
use openapiv3::Operation;
use serde_json::{Map, Value, json};

/// A body whose properties become arguments: where its (resolved) schema is, the shaped schema,
/// and what shaping changed.
type Flattened = (Pointer, Map<String, Value>, Vec<Note>);

impl Lowerer<'_> {
    /// The operation's request body: its argument candidates are appended to `candidates`;
    /// returns how the body is sent and what shaping a flattened body changed.
    pub(super) fn request_body(
        &self,
        op: &Operation,
        op_ptr: &Pointer,
        candidates: &mut Vec<Candidate>,
        warnings: &mut Vec<Warning>,
    ) -> Result<(Option<Body>, Vec<Note>)> {
        let Some(rb) = &op.request_body else {
            return Ok((None, Vec::new()));
        };
        let (rb_ptr, rb) = self.deref(rb, &op_ptr.join("requestBody"))?;
        let mut media: Vec<(&String, BodyKind)> =
            rb.content.keys().map(|k| (k, body_kind(k))).collect();
        media.sort_by(|a, b| kind_rank(a.1).cmp(&kind_rank(b.1)).then(a.0.cmp(b.0)));
        let Some((mt, kind)) = media.first() else {
            return Ok((None, Vec::new()));
        };
        if media.len() > 1 {
            warnings.push(Warning::spec(
                rb_ptr.join("content"),
                format!("several media types; the tool sends `{mt}`"),
            ));
        }
        let at = rb_ptr.join("content").join(mt).join("schema");
        let raw = self.schemas.find(&at).cloned();
        let notes = match self.flattened(raw.as_ref(), *kind, &at)? {
            Some((rat, resolved, notes)) => {
                candidates.extend(body_fields(&rat, &resolved, rb.required));
                notes
            }
            None => {
                let description = rb.description.clone().filter(|d| !d.trim().is_empty());
                candidates.push(whole_body(raw, *kind, mt, description, rb.required, at));
                Vec::new()
            }
        };
        let body = Body {
            media_type: mt.to_string(),
            kind: *kind,
            required: rb.required,
            flattened: candidates
                .iter()
                .any(|c| c.location == ArgLocation::BodyField),
        };
        Ok((Some(body), notes))
    }

    /// The body as tools see it (allOf merged, readOnly properties left out), when it is a
    /// plain object whose properties can be arguments.
    fn flattened(
        &self,
        raw: Option<&Value>,
        kind: BodyKind,
        at: &Pointer,
    ) -> Result<Option<Flattened>> {
        let (Some(s), BodyKind::Json | BodyKind::Form | BodyKind::Multipart) = (raw, kind) else {
            return Ok(None);
        };
        let (rat, resolved) = self.schemas.resolve(s, at)?;
        let Some(obj) = resolved.as_object() else {
            return Ok(None);
        };
        let shaped = shape(self.schemas, obj, &rat, Mode::Input)?;
        Ok(flattenable(&shaped.schema).then(|| (rat, shaped.schema.into_owned(), shaped.notes)))
    }
}

/// The properties of a flattened body (its schema at `rat`), each an argument; required when
/// the body is and the schema requires it.
fn body_fields(
    rat: &Pointer,
    resolved: &Map<String, Value>,
    body_required: bool,
) -> Vec<Candidate> {
    let required: Vec<&str> = resolved
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = resolved.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(pname, pschema)| Candidate {
            wire: pname.clone(),
            location: ArgLocation::BodyField,
            required: body_required && required.contains(&pname.as_str()),
            description: None,
            deprecated: false,
            style: String::new(),
            explode: false,
            schema: pschema.clone(),
            schema_at: origin(pschema).unwrap_or_else(|| rat.join("properties").join(pname)),
        })
        .collect()
}

/// The whole body as one `body` argument: binary as a base64 string, text as a string.
fn whole_body(
    raw: Option<Value>,
    kind: BodyKind,
    mt: &str,
    description: Option<String>,
    required: bool,
    at: Pointer,
) -> Candidate {
    let schema = match kind {
        BodyKind::Binary => json!({
            "type": "string",
            "contentEncoding": "base64",
            "contentMediaType": mt,
        }),
        BodyKind::Text => {
            let mut s = raw.unwrap_or(json!({}));
            if !s.is_object() || s.get("type").is_none() {
                s = json!({"type": "string"});
            }
            s
        }
        _ => raw.unwrap_or(json!({})),
    };
    let description = description.or_else(|| {
        Some(match kind {
            BodyKind::Binary => format!("Request body ({mt}), base64-encoded."),
            _ => format!("Request body ({mt})."),
        })
    });
    Candidate {
        wire: "body".into(),
        location: ArgLocation::Body,
        required,
        description,
        deprecated: false,
        style: String::new(),
        explode: false,
        schema,
        schema_at: at,
    }
}

/// The media type without parameters, lower case (`Application/JSON; charset=utf-8` →
/// `application/json`).
fn essence(media: &str) -> String {
    media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

pub(super) fn is_json(media: &str) -> bool {
    let essence = essence(media);
    essence == "application/json" || essence.ends_with("+json") || essence == "text/json"
}

fn body_kind(media: &str) -> BodyKind {
    let essence = essence(media);
    if is_json(&essence) {
        BodyKind::Json
    } else if essence == "application/x-www-form-urlencoded" {
        BodyKind::Form
    } else if essence.starts_with("multipart/") {
        BodyKind::Multipart
    } else if essence.starts_with("text/") {
        BodyKind::Text
    } else {
        BodyKind::Binary
    }
}

fn kind_rank(k: BodyKind) -> u8 {
    match k {
        BodyKind::Json => 0,
        BodyKind::Form => 1,
        BodyKind::Multipart => 2,
        BodyKind::Text => 3,
        BodyKind::Binary => 4,
    }
}

/// A body is flattened into separate arguments when it is a plain object with named properties:
/// no composition, not nullable, and no additional properties to carry.
fn flattenable(obj: &Map<String, Value>) -> bool {
    let has_props = has_properties(obj);
    let type_ok = match obj.get("type") {
        None => true,
        Some(t) => t == "object",
    };
    let composed = ["oneOf", "anyOf", "allOf", "not", "if", "enum", "const"]
        .iter()
        .any(|k| obj.contains_key(*k));
    let closed = matches!(
        obj.get("additionalProperties"),
        None | Some(Value::Bool(false))
    );
    has_props && type_ok && !composed && closed && obj.get("nullable") != Some(&Value::Bool(true))
}
