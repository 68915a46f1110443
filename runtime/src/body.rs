//! Request bodies: what the generated tools assemble (an [`Object`] of separate arguments, or
//! one argument as a whole) in the operation's [`BodyKind`], and how a [`Body`] is encoded when
//! it is sent (JSON, form, multipart with files, raw bytes).

use axum::body::Bytes;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use percent_encoding::utf8_percent_encode;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::encoding::{COMPONENT, scalar_text, to_value};

/// Base64 decoding that accepts missing padding.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const BASE64_STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const BASE64_URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// How a request body is encoded, from the operation's media type.
#[allow(
    dead_code,
    reason = "named by the generated tools.rs: an API uses some"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Form,
    Multipart,
    Text,
    /// Bytes given as base64 (or a `data:` URI) in the argument.
    Binary,
}

/// The body of an upstream request.
#[derive(Debug)]
pub enum Body {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
    Multipart(Vec<Part>),
    Raw { bytes: Vec<u8>, media_type: String },
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, PartialEq, Eq)]
pub struct Part {
    name: String,
    /// Set for file parts.
    filename: Option<String>,
    /// `None` for plain text fields (RFC 7578's default, `text/plain`).
    content_type: Option<String>,
    bytes: Vec<u8>,
}

/// An object body assembled from separate arguments; absent optional ones are left out.
#[derive(Debug, Default)]
pub struct Object {
    map: Map<String, Value>,
    /// Properties that hold files (base64 or `data:` URIs), sent as file parts in a multipart
    /// body and as given in any other.
    files: Vec<String>,
    error: Option<String>,
}

#[allow(
    dead_code,
    reason = "named by the generated tools.rs: an API uses some"
)]
impl Object {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds property `name` unless the value is `None`.
    pub fn field(self, name: &str, value: &impl Serialize) -> Self {
        self.field_value(name, to_value(value))
    }

    /// [`Object::field`] after serialisation (not generic: one copy for every argument type).
    fn field_value(mut self, name: &str, value: Result<Value, String>) -> Self {
        match value {
            Ok(Value::Null) => {}
            Ok(v) => {
                self.map.insert(name.to_owned(), v);
            }
            Err(e) => {
                self.error
                    .get_or_insert(format!("Invalid body property `{name}`: {e}"));
            }
        }
        self
    }

    /// Adds property `name` unless the outer value is `None`: an explicit `null` (`Some(None)`,
    /// `Some(Value::Null)`) is sent as `null`.
    pub fn field_opt<T: Serialize>(self, name: &str, value: &Option<T>) -> Self {
        let value = value.as_ref().map(to_value);
        self.field_opt_value(name, value)
    }

    fn field_opt_value(mut self, name: &str, value: Option<Result<Value, String>>) -> Self {
        if let Some(inner) = value {
            match inner {
                Ok(v) => {
                    self.map.insert(name.to_owned(), v);
                }
                Err(e) => {
                    self.error
                        .get_or_insert(format!("Invalid body property `{name}`: {e}"));
                }
            }
        }
        self
    }

    /// Adds property `name`, a file (or an array of files) given as base64 or a `data:` URI,
    /// unless the value is `None`.
    pub fn file(mut self, name: &str, value: &impl Serialize) -> Self {
        self.files.push(name.to_owned());
        self.field(name, value)
    }
}

impl Body {
    /// The body of one argument's value (not `null`) in the operation's `kind`; `Err`: why it
    /// cannot be sent.
    pub(crate) fn from_argument(
        value: Value,
        kind: BodyKind,
        media_type: &str,
    ) -> Result<Self, String> {
        Ok(match (kind, value) {
            (BodyKind::Json, v) => Body::Json(v),
            (BodyKind::Form, Value::Object(map)) => Body::Form(form_pairs(&map)),
            (BodyKind::Multipart, Value::Object(map)) => {
                Body::Multipart(multipart_parts(map, &[])?)
            }
            (BodyKind::Form | BodyKind::Multipart, _) => {
                return Err("Invalid argument `body`: it must be an object".to_owned());
            }
            (BodyKind::Text, v) => Body::Raw {
                bytes: scalar_text(&v).unwrap_or_default().into_bytes(),
                media_type: media_type.to_owned(),
            },
            (BodyKind::Binary, Value::String(s)) => {
                let (bytes, given) =
                    decode_binary(&s).map_err(|e| format!("Invalid argument `body`: {e}"))?;
                Body::Raw {
                    bytes,
                    // A wildcard (`image/*`) is no media type to send: take the data URI's.
                    media_type: if media_type.contains('*') {
                        given.unwrap_or_else(|| "application/octet-stream".to_owned())
                    } else {
                        media_type.to_owned()
                    },
                }
            }
            (BodyKind::Binary, _) => {
                return Err("Invalid argument `body`: expected base64 or a data: URI".to_owned());
            }
        })
    }
}

impl Object {
    /// The body these properties make in the operation's `kind`: `None` for an optional body
    /// none of whose properties was given; `Err`: the first invalid property.
    pub(crate) fn into_body(
        self,
        kind: BodyKind,
        media_type: &str,
        required: bool,
    ) -> Result<Option<Body>, String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.map.is_empty() && !required {
            return Ok(None);
        }
        if kind == BodyKind::Multipart {
            return multipart_parts(self.map, &self.files)
                .map(|parts| Some(Body::Multipart(parts)));
        }
        Body::from_argument(Value::Object(self.map), kind, media_type).map(Some)
    }
}

/// The parts of a multipart body: one per property, one per item for arrays; objects are sent
/// as JSON parts. Properties named in `files` hold files given as base64 or `data:` URIs: they
/// are decoded and sent as file parts with the URI's media type (else
/// `application/octet-stream`).
fn multipart_parts(map: Map<String, Value>, files: &[String]) -> Result<Vec<Part>, String> {
    let mut parts = Vec::with_capacity(map.len());
    for (name, value) in map {
        let items = match value {
            Value::Null => continue,
            Value::Array(items) => items,
            other => vec![other],
        };
        let is_file = files.contains(&name);
        for item in items {
            let part = if is_file {
                let Value::String(text) = &item else {
                    return Err(format!(
                        "Invalid argument `{name}`: expected a file as base64 or a data: URI"
                    ));
                };
                let (bytes, media_type) =
                    decode_binary(text).map_err(|e| format!("Invalid argument `{name}`: {e}"))?;
                Part {
                    filename: Some(name.clone()),
                    content_type: Some(
                        media_type.unwrap_or_else(|| "application/octet-stream".to_owned()),
                    ),
                    bytes,
                    name: name.clone(),
                }
            } else {
                match &item {
                    Value::Null => continue,
                    Value::Object(_) | Value::Array(_) => Part {
                        name: name.clone(),
                        filename: None,
                        content_type: Some("application/json".to_owned()),
                        bytes: item.to_string().into_bytes(),
                    },
                    other => Part {
                        name: name.clone(),
                        filename: None,
                        content_type: None,
                        bytes: scalar_text(other).unwrap_or_default().into_bytes(),
                    },
                }
            };
            parts.push(part);
        }
    }
    Ok(parts)
}

/// Decodes a file given as base64 (standard or URL-safe alphabet, padding optional, whitespace
/// ignored) or as a `data:` URI; also returns the URI's media type, when it has one.
fn decode_binary(s: &str) -> Result<(Vec<u8>, Option<String>), String> {
    let Some(rest) = s.trim_start().strip_prefix("data:") else {
        return decode_base64(s).map(|bytes| (bytes, None));
    };
    let Some((meta, data)) = rest.split_once(',') else {
        return Err("a data: URI needs a `,` before its content".to_owned());
    };
    let mut params = meta.split(';');
    let media_type = match params.next().map(str::trim).filter(|m| !m.is_empty()) {
        None => None,
        Some(m) if is_media_type(m) => Some(m.to_ascii_lowercase()),
        Some(_) => {
            return Err(
                "the data: URI's media type is not `type/subtype` of letters, digits and !#$&-^_.+"
                    .to_owned(),
            );
        }
    };
    let bytes = if params.any(|p| p.trim().eq_ignore_ascii_case("base64")) {
        decode_base64(data)?
    } else {
        percent_encoding::percent_decode_str(data).collect()
    };
    Ok((bytes, media_type))
}

/// Whether `s` is a bare media type, `type/subtype` of RFC 6838 restricted-name characters (no
/// parameters, spaces or control characters): safe in a header.
pub(crate) fn is_media_type(s: &str) -> bool {
    let name = |part: &str| {
        !part.is_empty()
            && part.len() <= 127
            && part.bytes().all(|b| {
                b.is_ascii_alphanumeric()
                    || matches!(
                        b,
                        b'!' | b'#' | b'$' | b'&' | b'-' | b'^' | b'_' | b'.' | b'+'
                    )
            })
    };
    s.split_once('/')
        .is_some_and(|(kind, subtype)| name(kind) && name(subtype))
}

fn decode_base64(s: &str) -> Result<Vec<u8>, String> {
    let cleaned: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64_STANDARD
        .decode(&cleaned)
        .or_else(|e| BASE64_URL_SAFE.decode(&cleaned).map_err(|_| e))
        .map_err(|e| format!("expected base64 or a data: URI ({e})"))
}

/// Form pairs for an object: one per property, one per item for arrays, nested values as JSON.
fn form_pairs(map: &Map<String, Value>) -> Vec<(String, String)> {
    let mut pairs = Vec::with_capacity(map.len());
    for (key, item) in map {
        match item {
            Value::Array(items) => {
                for text in items.iter().filter_map(scalar_text) {
                    pairs.push((key.clone(), text));
                }
            }
            other => {
                if let Some(text) = scalar_text(other) {
                    pairs.push((key.clone(), text));
                }
            }
        }
    }
    pairs
}

/// The encoded body and its content type (`None`: no body). Encoded once, so a retried request
/// sends the same bytes.
pub(crate) fn encode_body(body: Body) -> Result<Option<(String, Bytes)>, String> {
    Ok(Some(match body {
        Body::None => return Ok(None),
        Body::Json(value) => match serde_json::to_vec(&value) {
            Ok(bytes) => ("application/json".to_owned(), Bytes::from(bytes)),
            Err(e) => return Err(format!("Cannot encode the request body: {e}")),
        },
        Body::Form(pairs) => (
            "application/x-www-form-urlencoded".to_owned(),
            Bytes::from(encode_pairs(&pairs)),
        ),
        Body::Multipart(parts) => {
            let (content_type, bytes) = multipart(&parts);
            (content_type, Bytes::from(bytes))
        }
        Body::Raw { bytes, media_type } => (media_type, Bytes::from(bytes)),
    }))
}

pub(crate) fn encode_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| {
            format!(
                "{}={}",
                utf8_percent_encode(name, COMPONENT),
                utf8_percent_encode(value, COMPONENT)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Encodes multipart parts under a boundary that occurs in none of them.
fn multipart(parts: &[Part]) -> (String, Vec<u8>) {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let boundary = boundary(parts, seed);
    let quote = |s: &str| s.replace('"', "%22").replace(['\r', '\n'], " ");
    let size: usize = parts.iter().map(|p| p.bytes.len() + 160).sum();
    let mut out = Vec::with_capacity(size + 64);
    for part in parts {
        out.extend_from_slice(
            format!(
                "--{boundary}\r\ncontent-disposition: form-data; name=\"{}\"",
                quote(&part.name)
            )
            .as_bytes(),
        );
        if let Some(filename) = &part.filename {
            out.extend_from_slice(format!("; filename=\"{}\"", quote(filename)).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        // Only a bare media type goes into a part's header: nothing that could end the line.
        if let Some(content_type) = part.content_type.as_deref() {
            let content_type = if is_media_type(content_type) {
                content_type
            } else {
                "application/octet-stream"
            };
            out.extend_from_slice(format!("content-type: {content_type}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&part.bytes);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), out)
}

/// A multipart boundary, derived from `seed`, that occurs in none of the parts.
fn boundary(parts: &[Part], seed: u64) -> String {
    let mut attempt = seed;
    loop {
        let boundary = format!(
            "mcp-boundary-{:016x}",
            attempt.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        );
        let needle = boundary.as_bytes();
        if !parts
            .iter()
            .any(|p| p.bytes.windows(needle.len()).any(|w| w == needle))
        {
            return boundary;
        }
        attempt = attempt.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Request;

    #[test]
    fn files_decode_from_base64_and_data_uris() {
        let decode = |s: &str| decode_binary(s).unwrap();
        assert_eq!(decode("aGVsbG8="), (b"hello".to_vec(), None));
        assert_eq!(decode("aGVsbG8"), (b"hello".to_vec(), None));
        assert_eq!(decode(" aGVs\nbG8= "), (b"hello".to_vec(), None));
        assert_eq!(decode("_-8"), (vec![0xff, 0xef], None));
        assert_eq!(decode("+/8="), (vec![0xfb, 0xff], None));
        assert_eq!(
            decode("data:Image/PNG;name=a.png;base64,aGVsbG8="),
            (b"hello".to_vec(), Some("image/png".to_owned()))
        );
        assert_eq!(decode("data:,a%20b"), (b"a b".to_vec(), None));
        assert!(decode_binary("data:image/png;base64").is_err());
        assert!(decode_binary("a$b").is_err());
    }

    #[test]
    fn a_data_uri_cannot_inject_part_headers() {
        for hostile in [
            "data:image/png\r\nX-Injected: 1;base64,aGVsbG8=",
            "data:image/png\nX-Injected: 1,hello",
            "data:text/plain charset=x,hello",
            "data:image/png\u{0}x,hello",
            "data:/png,hello",
        ] {
            let error = decode_binary(hostile).expect_err(hostile);
            assert!(error.contains("media type"), "{error}");
            let body = Object::default().file("file", &hostile).into_body(
                BodyKind::Multipart,
                "multipart/form-data",
                true,
            );
            assert!(body.is_err(), "{hostile}");
        }
        assert!(is_media_type("application/vnd.api+json"));
        assert!(!is_media_type("text/plain; charset=utf-8"));
        // A part whose media type is not a bare one (set by code, not by a data: URI) is sent
        // as application/octet-stream.
        let (_, bytes) = multipart(&[Part {
            name: "f".to_owned(),
            filename: None,
            content_type: Some("text/plain\r\nX-Injected: 1".to_owned()),
            bytes: b"x".to_vec(),
        }]);
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.contains("X-Injected"), "{text}");
        assert!(
            text.contains("content-type: application/octet-stream\r\n"),
            "{text}"
        );
    }

    #[test]
    fn multipart_bodies_carry_files() {
        let obj = Object::new()
            .field("description", &"a \"quoted\" name")
            .file("file", &"data:image/png;base64,iVBORw0K")
            .file("more", &Some(vec!["aGVsbG8=", "d29ybGQ="]))
            .field("labels", &["x", "y"])
            .field("meta", &serde_json::json!({"k": 1}))
            .file("none", &None::<String>);
        let req = Request::new(reqwest::Method::POST, "/upload").body_object(
            obj,
            BodyKind::Multipart,
            "multipart/form-data",
            true,
        );
        let Body::Multipart(parts) = &req.body else {
            panic!("unexpected body {:?}", req.body);
        };
        type Summary<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);
        let summary: Vec<Summary> = parts
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.filename.as_deref(),
                    p.content_type.as_deref(),
                    p.bytes.as_slice(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("description", None, None, &b"a \"quoted\" name"[..]),
                ("file", Some("file"), Some("image/png"), &b"\x89PNG\r\n"[..]),
                ("labels", None, None, b"x"),
                ("labels", None, None, b"y"),
                ("meta", None, Some("application/json"), br#"{"k":1}"#),
                (
                    "more",
                    Some("more"),
                    Some("application/octet-stream"),
                    b"hello"
                ),
                (
                    "more",
                    Some("more"),
                    Some("application/octet-stream"),
                    b"world"
                ),
            ]
        );
        let (content_type, bytes) = multipart(parts);
        let mark = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with(&format!("--{mark}\r\ncontent-disposition: form-data; name=\"description\"\r\n\r\na \"quoted\" name\r\n")), "{text}");
        assert!(text.contains("content-disposition: form-data; name=\"file\"; filename=\"file\"\r\ncontent-type: image/png\r\n\r\n"));
        assert!(text.ends_with(&format!("\r\n--{mark}--\r\n")));

        // The boundary never occurs in a part.
        let first = boundary(&[], 7);
        let part = Part {
            name: "a".into(),
            filename: None,
            content_type: None,
            bytes: format!("x{first}y").into_bytes(),
        };
        let second = boundary(std::slice::from_ref(&part), 7);
        assert_ne!(first, second);
        assert_eq!(second, boundary(&[], 8));

        let bad = Object::new().file("file", &"%%%");
        let req = Request::new(reqwest::Method::POST, "/upload").body_object(
            bad,
            BodyKind::Multipart,
            "multipart/form-data",
            true,
        );
        assert!(
            req.error
                .unwrap()
                .starts_with("Invalid argument `file`: expected base64 or a data: URI")
        );
        let bad = Object::new().file("file", &7);
        let req = Request::new(reqwest::Method::POST, "/upload").body_object(
            bad,
            BodyKind::Multipart,
            "multipart/form-data",
            true,
        );
        assert!(req.error.unwrap().starts_with("Invalid argument `file`"));
        // Outside multipart a file stays the string it was given.
        let obj = Object::new().file("file", &"aGVsbG8=");
        let req = Request::new(reqwest::Method::POST, "/j").body_object(
            obj,
            BodyKind::Json,
            "application/json",
            true,
        );
        assert!(
            matches!(&req.body, Body::Json(v) if v == &serde_json::json!({"file": "aGVsbG8="}))
        );
    }

    #[derive(serde::Deserialize)]
    struct Nullable {
        #[serde(default, deserialize_with = "crate::args::present")]
        price: Option<Option<f64>>,
        #[serde(default, deserialize_with = "crate::args::present")]
        any: Option<Value>,
    }

    #[test]
    fn explicit_nulls_are_kept_apart_from_absence() {
        let given: Nullable =
            serde_json::from_value(serde_json::json!({"price": null, "any": null})).unwrap();
        let absent: Nullable = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!((given.price, &given.any), (Some(None), &Some(Value::Null)));
        assert_eq!((absent.price, &absent.any), (None, &None));
        let obj = Object::new()
            .field_opt("price", &given.price)
            .field_opt("any", &absent.any);
        assert_eq!(Value::Object(obj.map), serde_json::json!({"price": null}));
    }
}
