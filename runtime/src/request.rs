//! Upstream requests as the generated tools build them: the method and path template, the path,
//! query, header and cookie parameters serialised in their OpenAPI styles, the body, and the
//! operation's security requirement. `hooks.rs` sees (and may change) the result before it is
//! sent.

use percent_encoding::utf8_percent_encode;
use reqwest::header::{HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::Value;

use crate::body::{Body, BodyKind, Object};
use crate::encoding::{COMPONENT, COOKIE_VALUE, scalar_text, to_value};

/// An upstream request being built by generated tool code.
#[derive(Debug)]
pub struct Request {
    pub method: reqwest::Method,
    /// The path with its parameters substituted and encoded.
    pub path: String,
    /// Query pairs, already percent-encoded (delimiters of non-exploded styles stay literal).
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub cookies: Vec<(String, String)>,
    pub body: Body,
    /// The operation's security requirement: alternatives (any one suffices) of security
    /// scheme names (all sent together); empty: no credentials.
    pub security: &'static [&'static [&'static str]],
    /// The first problem met while building; the request is then not sent.
    pub(crate) error: Option<String>,
}

/// OpenAPI parameter serialisation styles.
#[allow(
    dead_code,
    reason = "named by the generated tools.rs: an API uses some"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Simple,
    Label,
    Matrix,
    Form,
    SpaceDelimited,
    PipeDelimited,
    DeepObject,
}

#[allow(
    dead_code,
    reason = "named by the generated tools.rs: an API uses some"
)]
impl Request {
    /// Starts a request for a path template such as `/pets/{petId}`.
    pub fn new(method: reqwest::Method, path_template: &'static str) -> Self {
        Self {
            method,
            path: path_template.to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            cookies: Vec::new(),
            body: Body::None,
            security: &[],
            error: None,
        }
    }

    /// Sets the operation's security requirement: alternatives of security scheme names.
    pub fn security(self, alternatives: &'static [&'static [&'static str]]) -> Self {
        Self {
            security: alternatives,
            ..self
        }
    }

    fn fail(mut self, message: String) -> Self {
        if self.error.is_none() {
            self.error = Some(message);
        }
        self
    }

    /// Substitutes `{name}` in the path. Values are percent-encoded so they stay inside their
    /// segment; empty, `.` and `..` values are refused (URL parsers resolve them).
    pub fn path_param(
        self,
        name: &str,
        value: &impl Serialize,
        style: Style,
        explode: bool,
    ) -> Self {
        self.path_value(name, to_value(value), style, explode)
    }

    /// [`Request::path_param`] after serialisation: the generic methods only serialise, so each
    /// argument type instantiates that alone.
    fn path_value(
        self,
        name: &str,
        value: Result<Value, String>,
        style: Style,
        explode: bool,
    ) -> Self {
        let value = match value {
            Ok(value) => value,
            Err(e) => return self.fail(format!("Invalid path parameter `{name}`: {e}")),
        };
        let enc = |s: &str| utf8_percent_encode(s, COMPONENT).to_string();
        let text = match (style, &value) {
            // The common case, without the general machinery.
            (Style::Simple, Value::String(text)) => Some(enc(text)),
            (Style::Label, _) => {
                let sep = if explode { "." } else { "," };
                pieces(&value, explode, &enc).map(|p| format!(".{}", p.join(sep)))
            }
            (Style::Matrix, _) => pieces(&value, explode, &enc).map(|p| match (&value, explode) {
                (Value::Array(_), true) => p
                    .iter()
                    .map(|v| format!(";{}={v}", enc(name)))
                    .collect::<String>(),
                (Value::Object(_), true) => p.iter().map(|kv| format!(";{kv}")).collect(),
                _ => format!(";{}={}", enc(name), p.join(",")),
            }),
            _ => pieces(&value, explode, &enc).map(|p| p.join(",")),
        };
        let text = match text {
            Some(text) if !matches!(text.as_str(), "" | "." | "..") => text,
            _ => {
                return self.fail(format!(
                    "Invalid path parameter `{name}`: it must be a non-empty value other than `.` and `..`"
                ));
            }
        };
        let placeholder = format!("{{{name}}}");
        let path = self.path.replace(&placeholder, &text);
        Self { path, ..self }
    }

    /// Adds a query parameter in its style: `None` adds nothing; arrays are repeated (`form`,
    /// exploded) or joined with `,`, `%20` or `|`; objects become `key=value` pairs (exploded
    /// `form`), `name=k,v` (not exploded) or `name[key]=value` (`deepObject`).
    pub fn query(self, name: &str, value: &impl Serialize, style: Style, explode: bool) -> Self {
        self.query_value(name, to_value(value), style, explode)
    }

    fn query_value(
        mut self,
        name: &str,
        value: Result<Value, String>,
        style: Style,
        explode: bool,
    ) -> Self {
        let value = match value {
            Ok(v) => v,
            Err(e) => return self.fail(format!("Invalid query parameter `{name}`: {e}")),
        };
        let enc = |s: &str| utf8_percent_encode(s, COMPONENT).to_string();
        let n = enc(name);
        match (&value, style, explode) {
            (Value::Null, _, _) => {}
            (Value::Object(map), Style::DeepObject, _) => {
                for (key, item) in map {
                    match item {
                        Value::Array(items) => {
                            for element in items.iter().filter_map(scalar_text) {
                                self.query
                                    .push((format!("{n}%5B{}%5D", enc(key)), enc(&element)));
                            }
                        }
                        other => {
                            if let Some(text) = scalar_text(other) {
                                self.query
                                    .push((format!("{n}%5B{}%5D", enc(key)), enc(&text)));
                            }
                        }
                    }
                }
            }
            (Value::Array(items), Style::Form | Style::DeepObject, true) => {
                for text in items.iter().filter_map(scalar_text) {
                    self.query.push((n.clone(), enc(&text)));
                }
            }
            (Value::Object(map), _, true) => {
                for (key, item) in map {
                    if let Some(text) = scalar_text(item) {
                        self.query.push((enc(key), enc(&text)));
                    }
                }
            }
            (Value::Array(_) | Value::Object(_), _, _) => {
                let sep = match style {
                    Style::SpaceDelimited => "%20",
                    Style::PipeDelimited => "%7C",
                    _ => ",",
                };
                if let Some(p) = pieces(&value, false, &enc) {
                    self.query.push((n, p.join(sep)));
                }
            }
            (other, _, _) => {
                if let Some(text) = scalar_text(other) {
                    self.query.push((n, enc(&text)));
                }
            }
        }
        self
    }

    /// Adds a header (simple style: arrays and objects comma-joined). `None` adds nothing.
    pub fn header(self, name: &str, value: &impl Serialize, style: Style, explode: bool) -> Self {
        self.header_value(name, to_value(value), style, explode)
    }

    fn header_value(
        mut self,
        name: &str,
        value: Result<Value, String>,
        _style: Style,
        explode: bool,
    ) -> Self {
        let value = match value {
            Ok(value) => value,
            Err(e) => return self.fail(format!("Invalid header `{name}`: {e}")),
        };
        let Some(text) = pieces(&value, explode, &str::to_owned).map(|p| p.join(",")) else {
            return self;
        };
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            return self.fail(format!("`{name}` is not a valid HTTP header name"));
        }
        if HeaderValue::from_str(&text).is_err() {
            return self.fail(format!(
                "Invalid header `{name}`: it must not contain control characters or line breaks"
            ));
        }
        self.headers.push((name.to_owned(), text));
        self
    }

    /// Adds a cookie (form style; arrays and objects comma-joined). `None` adds nothing.
    pub fn cookie(self, name: &str, value: &impl Serialize, style: Style, explode: bool) -> Self {
        self.cookie_value(name, to_value(value), style, explode)
    }

    fn cookie_value(
        mut self,
        name: &str,
        value: Result<Value, String>,
        _style: Style,
        _explode: bool,
    ) -> Self {
        let value = match value {
            Ok(value) => value,
            Err(e) => return self.fail(format!("Invalid cookie `{name}`: {e}")),
        };
        let enc = |s: &str| utf8_percent_encode(s, COOKIE_VALUE).to_string();
        if let Some(p) = pieces(&value, false, &enc) {
            self.cookies.push((name.to_owned(), p.join(",")));
        }
        self
    }

    /// Sets the body from one argument. `None` leaves the request without a body.
    pub fn body(self, value: &impl Serialize, kind: BodyKind, media_type: &str) -> Self {
        self.body_value(to_value(value), kind, media_type)
    }

    fn body_value(self, value: Result<Value, String>, kind: BodyKind, media_type: &str) -> Self {
        let value = match value {
            Ok(Value::Null) => return self,
            Ok(v) => v,
            Err(e) => return self.fail(format!("Invalid request body: {e}")),
        };
        match Body::from_argument(value, kind, media_type) {
            Ok(body) => Self { body, ..self },
            Err(e) => self.fail(e),
        }
    }

    /// Sets an object body assembled from separate arguments. An optional body with no
    /// properties given is left out.
    pub fn body_object(
        self,
        object: Object,
        kind: BodyKind,
        media_type: &str,
        required: bool,
    ) -> Self {
        match object.into_body(kind, media_type, required) {
            Ok(Some(body)) => Self { body, ..self },
            Ok(None) => self,
            Err(e) => self.fail(e),
        }
    }
}

/// The pieces of a value for delimited styles, each encoded: scalars as one piece, arrays one
/// per item, objects `k,v` pairs (or `k=v` when exploded). `None` for null and empty values.
fn pieces(value: &Value, explode: bool, encode: &dyn Fn(&str) -> String) -> Option<Vec<String>> {
    let out: Vec<String> = match value {
        Value::Null => return None,
        Value::Array(items) => items
            .iter()
            .filter_map(scalar_text)
            .map(|t| encode(&t))
            .collect(),
        Value::Object(map) => map
            .iter()
            .filter_map(|(k, v)| Some((encode(k), encode(&scalar_text(v)?))))
            .flat_map(|(k, v)| {
                if explode {
                    vec![format!("{k}={v}")]
                } else {
                    vec![k, v]
                }
            })
            .collect(),
        other => vec![encode(&scalar_text(other)?)],
    };
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::encode_pairs;

    const GET: reqwest::Method = reqwest::Method::GET;

    #[test]
    fn path_params_stay_in_their_segment() {
        let req = Request::new(GET, "/pets/{petId}/toys/{toy}")
            .path_param("petId", &"../admin", Style::Simple, false)
            .path_param("toy", &"a/b?c#d e", Style::Simple, false);
        assert_eq!(req.path, "/pets/..%2Fadmin/toys/a%2Fb%3Fc%23d%20e");
        assert!(req.error.is_none());
        for bad in ["", ".", ".."] {
            let req =
                Request::new(GET, "/pets/{petId}").path_param("petId", &bad, Style::Simple, false);
            assert!(req.error.is_some(), "{bad:?} accepted");
        }
        let ids = [1, 2, 3];
        let path = |style, explode| {
            Request::new(GET, "/p/{ids}")
                .path_param("ids", &ids, style, explode)
                .path
        };
        assert_eq!(path(Style::Simple, false), "/p/1,2,3");
        assert_eq!(path(Style::Label, false), "/p/.1,2,3");
        assert_eq!(path(Style::Label, true), "/p/.1.2.3");
        assert_eq!(path(Style::Matrix, false), "/p/;ids=1,2,3");
        assert_eq!(path(Style::Matrix, true), "/p/;ids=1;ids=2;ids=3");
    }

    #[test]
    fn query_params_follow_their_style() {
        let tags = Some(vec!["a b", "c&d"]);
        let none: Option<i64> = None;
        let filter = serde_json::json!({"x": 1, "y": true});
        let req = Request::new(GET, "/pets")
            .query("limit", &Some(10), Style::Form, true)
            .query("skip", &none, Style::Form, true)
            .query("tags", &tags, Style::Form, true)
            .query("ids", &[1, 2], Style::Form, false)
            .query("words", &["a", "b"], Style::SpaceDelimited, false)
            .query("pipes", &["a", "b"], Style::PipeDelimited, false)
            .query("filter", &filter, Style::Form, true)
            .query("deep", &filter, Style::DeepObject, true);
        let pairs: Vec<String> = req.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            pairs,
            [
                "limit=10",
                "tags=a%20b",
                "tags=c%26d",
                "ids=1,2",
                "words=a%20b",
                "pipes=a%7Cb",
                "x=1",
                "y=true",
                "deep%5Bx%5D=1",
                "deep%5By%5D=true"
            ]
        );
    }

    #[test]
    fn headers_cookies_and_bodies() {
        let req = Request::new(reqwest::Method::POST, "/x")
            .header("X-Ids", &[1, 2], Style::Simple, false)
            .header("X-None", &None::<String>, Style::Simple, false)
            .cookie("session", &"a; b", Style::Form, true)
            .body(
                &serde_json::json!({"a": "1 2", "b": [true, false], "c": null}),
                BodyKind::Form,
                "application/x-www-form-urlencoded",
            );
        assert_eq!(req.headers, [("X-Ids".to_owned(), "1,2".to_owned())]);
        assert_eq!(req.cookies, [("session".to_owned(), "a%3B%20b".to_owned())]);
        match &req.body {
            Body::Form(pairs) => assert_eq!(encode_pairs(pairs), "a=1%202&b=true&b=false"),
            other => panic!("unexpected body {other:?}"),
        }
        let bad = Request::new(GET, "/x").header("X-A", &"a\r\nb: c", Style::Simple, false);
        assert!(bad.error.is_some());

        let absent: Option<String> = None;
        let obj = Object::new().field("name", &"rex").field("tag", &absent);
        let req = Request::new(reqwest::Method::POST, "/pets").body_object(
            obj,
            BodyKind::Json,
            "application/json",
            true,
        );
        match &req.body {
            Body::Json(v) => assert_eq!(v, &serde_json::json!({"name": "rex"})),
            other => panic!("unexpected body {other:?}"),
        }
        let req = Request::new(reqwest::Method::POST, "/pets").body_object(
            Object::new(),
            BodyKind::Json,
            "application/json",
            false,
        );
        assert!(matches!(req.body, Body::None));

        let req = Request::new(reqwest::Method::PUT, "/f").body(
            &"aGVsbG8=",
            BodyKind::Binary,
            "application/octet-stream",
        );
        assert!(matches!(&req.body, Body::Raw { bytes, .. } if bytes == b"hello"));
        let req = Request::new(reqwest::Method::PUT, "/f").body(
            &"data:text/plain;base64,aGVsbG8",
            BodyKind::Binary,
            "image/png",
        );
        assert!(
            matches!(&req.body, Body::Raw { bytes, media_type } if bytes == b"hello" && media_type == "image/png")
        );
        let req = Request::new(reqwest::Method::PUT, "/f").body(
            &"data:image/gif;base64,aGVsbG8",
            BodyKind::Binary,
            "image/*",
        );
        assert!(matches!(&req.body, Body::Raw { media_type, .. } if media_type == "image/gif"));
        let req = Request::new(reqwest::Method::PUT, "/f").body(
            &"not base64!",
            BodyKind::Binary,
            "image/png",
        );
        assert!(
            req.error
                .unwrap()
                .starts_with("Invalid argument `body`: expected base64")
        );
    }
}
