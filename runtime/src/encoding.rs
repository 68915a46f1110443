//! How values are written on the wire: the percent-encoding sets of URL components and cookie
//! values, form encoding, and argument values as JSON and as text.

use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde_json::Value;

/// Percent-encodes everything but RFC 3986 unreserved characters: path segments, query names and
/// values, form fields.
pub const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes what RFC 6265 forbids in a cookie value.
pub const COOKIE_VALUE: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b',').add(b';').add(b'\\');

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn form_encode(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT)
        .to_string()
        .replace("%20", "+")
}

pub fn to_value(value: &impl Serialize) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|e| e.to_string())
}

/// A scalar as text: strings as they are, numbers and booleans printed, `null` as nothing, and
/// nested arrays or objects as JSON text.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(_) | Value::Object(_) => Some(value.to_string()),
    }
}
