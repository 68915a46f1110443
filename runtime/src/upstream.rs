//! The upstream API: sends a tool's request with the credentials its security requirement asks
//! for, follows redirects within the API's origin, bounds the call with its timeout, and maps
//! the outcome to a tool result.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderMap, HeaderName, HeaderValue, USER_AGENT,
};
use rmcp::model::CallToolResult;
use tracing::Instrument as _;

use crate::body::{Body, encode_body};
use crate::credentials::{Applied, Credentials};
use crate::request::Request;
use crate::response::{Output, Reply, status_line, success_result, tool_error, utf8_prefix};
use crate::telemetry::UpstreamRequest;
use crate::transport::{self, Failure, Outgoing, Transport};

/// Bytes of an upstream response body passed on to the client at most, unless configured with
/// [`Upstream::with_max_response_bytes`]; longer bodies are truncated with a note.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Bytes of an upstream error body quoted in a tool error at most.
pub(crate) const MAX_ERROR_EXCERPT_BYTES: usize = 2 * 1024;

/// The upstream API: pooled connections and the base URL every tool path is appended to.
/// Cheap to clone (one call's forwarded credentials make a copy).
#[derive(Clone)]
pub struct Upstream {
    transport: Arc<Transport>,
    base_url: Arc<str>,
    /// `base_url` without user name and password: what results and errors show.
    shown_url: Arc<str>,
    timeout: Duration,
    max_response_bytes: usize,
    /// The caller's credentials, sent as the `Authorization` header when the auth configuration
    /// forwards them (see [`Upstream::with_authorization`]).
    authorization: Option<HeaderValue>,
    /// The caller's validated access token, for schemes that exchange it (`token_exchange.rs`);
    /// never sent upstream itself.
    subject: Option<Arc<str>>,
    /// The server's own credentials for the API (`credentials.rs`).
    credentials: Arc<Credentials>,
}

/// Redirects followed within the upstream's origin at most, per call.
const MAX_REDIRECTS: usize = 10;

impl Upstream {
    /// Builds the client. `base_url` must be an absolute `http` or `https` URL without query or
    /// fragment; a trailing `/` is ignored. A user name and password in it are sent as basic
    /// authentication, unless a credential sets `Authorization`. Responses are capped at
    /// [`DEFAULT_MAX_RESPONSE_BYTES`].
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, String> {
        // Messages and logs never show a user name and password of the URL.
        let bare = without_userinfo(base_url);
        let parsed = reqwest::Url::parse(base_url)
            .map_err(|e| format!("invalid upstream URL `{bare}`: {e}"))?;
        if let Some(password) = parsed.password() {
            crate::redact::redact_logs_of(password);
            if let Ok(decoded) = percent_encoding::percent_decode_str(password).decode_utf8() {
                crate::redact::redact_logs_of(&decoded);
            }
        }
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "invalid upstream URL `{bare}`: the scheme must be http or https"
            ));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(format!(
                "invalid upstream URL `{bare}`: it must not have a query or fragment"
            ));
        }
        let mut shown = parsed.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        let transport = Transport::new(&parsed, timeout)
            .map_err(|e| format!("invalid upstream URL `{}`: {e}", shown.as_str()))?;
        Ok(Self {
            transport: Arc::new(transport),
            base_url: base_url.trim_end_matches('/').into(),
            shown_url: shown.as_str().trim_end_matches('/').into(),
            timeout,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            authorization: None,
            subject: None,
            credentials: Arc::new(Credentials::none()),
        })
    }

    /// This upstream for one call that sends `authorization` as its `Authorization` header (the
    /// caller's, forwarded), replacing any the request sets. Shares the connection pool.
    pub fn with_authorization(&self, authorization: HeaderValue) -> Self {
        Self {
            authorization: Some(authorization),
            ..self.clone()
        }
    }

    /// This upstream for one call of the caller whose access token is `subject`, when a scheme
    /// exchanges it (else `None`: nothing changes), with `authorization` forwarded as
    /// [`Self::with_authorization`] does.
    pub fn for_caller(
        &self,
        authorization: Option<HeaderValue>,
        subject: Option<&Arc<str>>,
    ) -> Option<Self> {
        let subject = subject.filter(|_| self.credentials.exchanges()).cloned();
        if authorization.is_none() && subject.is_none() {
            return None;
        }
        let mut upstream = match authorization {
            Some(authorization) => self.with_authorization(authorization),
            None => self.clone(),
        };
        upstream.subject = subject;
        Some(upstream)
    }

    /// Sets the server's credentials for the API.
    pub fn with_credentials(mut self, credentials: Arc<Credentials>) -> Self {
        self.credentials = credentials;
        self
    }

    /// Sets how many bytes of a successful response body are passed on at most; the rest is
    /// not read, and the result says so.
    pub fn with_max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// The base URL without user name and password, without a trailing `/`: what logs show.
    pub fn shown_url(&self) -> &str {
        &self.shown_url
    }

    /// The base URL requests go to, without a trailing `/`.
    #[allow(
        dead_code,
        reason = "for custom_tools.rs, whose default does not call it"
    )]
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends `req` with the credentials its security requirement asks for and maps the outcome
    /// to a tool result. Never panics: every failure is a tool error that says what went wrong.
    /// A 401 to a cached OAuth access token gets one retry with a new token (unless that token
    /// was itself fetched after a refusal: see `client_credentials.rs`). Redirects within
    /// the upstream's origin are followed (up to [`MAX_REDIRECTS`]); one to another origin is
    /// not, so no credential leaves it.
    pub async fn execute(&self, mut req: Request, output: Output) -> CallToolResult {
        if let Some(message) = req.error.take() {
            return tool_error(message);
        }
        // `GET /pets/1`: what messages call this request (made only for one).
        let label = |req: &Request| format!("{} {}", req.method, req.path);
        let choice = match self.credentials.choose(
            req.security,
            self.authorization.is_some(),
            self.subject.is_some(),
        ) {
            Ok(choice) => choice,
            Err(message) => return tool_error(format!("Cannot call {}: {message}", label(&req))),
        };
        let mut body = match encode_body(std::mem::replace(&mut req.body, Body::None)) {
            Ok(body) => body,
            Err(message) => return tool_error(message),
        };
        let mut method = req.method.clone();
        // Where a redirect sent the request: a path and query on the upstream's origin.
        let mut redirected: Option<String> = None;
        let mut redirects = 0;
        let mut retried = false;
        let exchange = loop {
            let applied = match self
                .credentials
                .apply(
                    &choice,
                    self.transport.tokens(),
                    &self.base_url,
                    self.subject.as_deref(),
                )
                .await
            {
                Ok(applied) => applied,
                Err(message) => return tool_error(message),
            };
            let mut outgoing = match self.outgoing(
                &req,
                &method,
                redirected.as_deref(),
                &applied,
                body.as_ref(),
            ) {
                Ok(outgoing) => outgoing,
                Err(message) => {
                    return tool_error(format!("Cannot call {}: {message}", label(&req)));
                }
            };
            let traced = UpstreamRequest::start(method.as_str(), || {
                self.span_target(&outgoing.path_and_query)
            });
            traced.inject(&mut outgoing.headers);
            let sent =
                self.transport
                    .exchange(outgoing, self.max_response_bytes, MAX_ERROR_EXCERPT_BYTES);
            let exchange = match tokio::time::timeout(self.timeout, sent)
                .instrument(traced.span().clone())
                .await
            {
                Ok(Ok(exchange)) => {
                    traced.finish(Some(exchange.status.as_u16()));
                    exchange
                }
                Ok(Err(failure)) => {
                    traced.finish(None);
                    return tool_error(self.describe_failure(&label(&req), failure));
                }
                Err(_) => {
                    traced.finish(None);
                    return tool_error(format!(
                        "Upstream API did not answer {} within {} s (UPSTREAM_TIMEOUT_SECS)",
                        label(&req),
                        self.timeout.as_secs_f64()
                    ));
                }
            };
            if exchange.status == StatusCode::UNAUTHORIZED
                && applied.has_tokens()
                && !retried
                && self.credentials.refresh(&applied).await
            {
                tracing::info!(
                    "{}: the upstream API refused the access token (401); fetching a new one and retrying once",
                    label(&req)
                );
                retried = true;
                continue;
            }
            if let (Some((next_method, keep_body)), Some(location)) = (
                transport::redirect_method(exchange.status, &method),
                transport::location(&exchange.headers),
            ) {
                if redirects == MAX_REDIRECTS {
                    return tool_error(format!(
                        "Upstream API redirected {} more than {MAX_REDIRECTS} times",
                        label(&req)
                    ));
                }
                let here = self.target(&req, redirected.as_deref(), &applied);
                match self.transport.redirect_target(&here, location) {
                    Ok(next) => {
                        tracing::debug!("{}: following a redirect to {next}", label(&req));
                        redirects += 1;
                        redirected = Some(next);
                        method = next_method;
                        if !keep_body {
                            body = None;
                        }
                        continue;
                    }
                    Err(why) => {
                        return tool_error(format!(
                            "Upstream API returned HTTP {} for {}, but {why}",
                            status_line(exchange.status),
                            label(&req)
                        ));
                    }
                }
            }
            break exchange;
        };
        let transport::Exchange {
            status,
            headers,
            mut body,
            truncated,
            total,
        } = exchange;
        let essence = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        // The API may echo what it was sent (headers, URLs): no secret goes back to the client.
        self.credentials.redact(&mut body, truncated);

        let reply = Reply {
            status,
            essence,
            body,
            truncated,
            total,
            cap: if status.is_success() {
                self.max_response_bytes
            } else {
                MAX_ERROR_EXCERPT_BYTES
            },
            base_url: self.shown_url.clone(),
            path: std::mem::take(&mut req.path),
        };
        if status.is_success() {
            success_result(reply, output)
        } else {
            let mut message = format!(
                "Upstream API returned HTTP {} for {} {}",
                status_line(status),
                req.method,
                reply.path
            );
            if !reply.body.is_empty() {
                message.push_str(":\n");
                message.push_str(&utf8_prefix(&reply.body));
                if reply.truncated {
                    message.push_str("\n[error body truncated]");
                }
            }
            tool_error(message)
        }
    }

    /// The path and query `req` goes to on the upstream's origin: the base path, the request's
    /// path and its query with the call's API keys; or where a redirect sent it.
    fn target(&self, req: &Request, redirected: Option<&str>, applied: &Applied) -> String {
        if let Some(target) = redirected {
            return target.to_owned();
        }
        let base = self.transport.base_path();
        let mut target = String::with_capacity(base.len() + req.path.len() + 64);
        target.push_str(base);
        target.push_str(&req.path);
        let query = req
            .query
            .iter()
            .filter(|(name, _)| !applied.query.iter().any(|(n, _)| n == name))
            .chain(applied.query.iter());
        for (i, (name, value)) in query.enumerate() {
            target.push(if i == 0 { '?' } else { '&' });
            target.push_str(name);
            target.push('=');
            target.push_str(value);
        }
        target
    }

    /// The HTTP request for `req` with the call's credentials: an API key replaces an argument
    /// of the same name and place; the server's `Authorization` takes precedence over a
    /// forwarded caller's (which is sent only when the call's credentials say so:
    /// `Applied::caller`), and either over a user name and password in the base URL. `redirected` replaces the target.
    fn outgoing(
        &self,
        req: &Request,
        method: &reqwest::Method,
        redirected: Option<&str>,
        applied: &Applied,
        body: Option<&(String, Bytes)>,
    ) -> Result<Outgoing, String> {
        let path_and_query = self.target(req, redirected, applied);

        let mut headers = HeaderMap::with_capacity(8);
        let authorization = applied
            .authorization
            .as_ref()
            .or(self.authorization.as_ref().filter(|_| applied.caller))
            .or(self.transport.basic_authorization());
        for (name, value) in &req.headers {
            if (authorization.is_some() && name.eq_ignore_ascii_case("authorization"))
                || applied
                    .headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                continue;
            }
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("`{name}` is not a valid HTTP header name"))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| format!("the value of header `{name}` cannot be sent in HTTP"))?;
            headers.append(header, value);
        }
        for (name, value) in &applied.headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("`{name}` is not a valid HTTP header name"))?;
            headers.append(header, value.clone());
        }
        if let Some(authorization) = authorization {
            headers.insert(AUTHORIZATION, authorization.clone());
        }
        if !headers.contains_key(ACCEPT) {
            headers.insert(
                ACCEPT,
                HeaderValue::from_static("application/json, */*;q=0.5"),
            );
        }
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, self.transport.user_agent().clone());
        }
        let mut cookies = String::new();
        let pairs = req
            .cookies
            .iter()
            .filter(|(name, _)| !applied.cookies.iter().any(|(n, _)| n == name))
            .chain(applied.cookies.iter());
        for (name, value) in pairs {
            if !cookies.is_empty() {
                cookies.push_str("; ");
            }
            cookies.push_str(name);
            cookies.push('=');
            cookies.push_str(value);
        }
        if !cookies.is_empty() {
            let mut value = HeaderValue::try_from(cookies)
                .map_err(|_| "a cookie value cannot be sent in HTTP".to_owned())?;
            value.set_sensitive(!applied.cookies.is_empty());
            headers.insert(COOKIE, value);
        }
        let body = match body {
            Some((content_type, bytes)) => {
                let value = HeaderValue::from_str(content_type).map_err(|_| {
                    format!("the media type `{content_type}` cannot be sent in HTTP")
                })?;
                headers.insert(CONTENT_TYPE, value);
                Some(bytes.clone())
            }
            None => None,
        };
        Ok(Outgoing {
            method: method.clone(),
            path_and_query,
            headers,
            body,
        })
    }

    /// The server address, port and URL (without query, user name and password) an upstream
    /// request's span names.
    fn span_target(&self, path_and_query: &str) -> (String, Option<u16>, String) {
        let path = path_and_query
            .split_once('?')
            .map_or(path_and_query, |(path, _)| path);
        match reqwest::Url::parse(&self.shown_url) {
            Ok(url) => (
                url.host_str().unwrap_or_default().to_owned(),
                url.port_or_known_default(),
                format!("{}{path}", url.origin().ascii_serialization()),
            ),
            Err(_) => (String::new(), None, path.to_owned()),
        }
    }

    fn describe_failure(&self, label: &str, failure: Failure) -> String {
        match failure {
            Failure::Connect(chain) => format!(
                "Cannot connect to the upstream API at {}: {chain}",
                self.shown_url
            ),
            Failure::Other(chain) => format!("Upstream request {label} failed: {chain}"),
        }
    }
}

/// `url` with anything between `scheme://` and the last `@` of the authority removed (a user
/// name and password), also when it is not a valid URL.
fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_upstream_urls_are_reported_without_credentials() {
        for bad in [
            "ftp://user:s3cret-pw@x",
            "http://user:s3cret-pw@x/?a=1",
            "http://user:s3cret-pw@[bad/",
        ] {
            let Err(error) = Upstream::new(bad, Duration::from_secs(1)) else {
                panic!("{bad} is refused");
            };
            assert!(!error.contains("s3cret-pw"), "{error}");
            assert!(!error.contains("user"), "{error}");
        }
        assert_eq!(without_userinfo("https://a:b@h:1/p@q"), "https://h:1/p@q");
        assert_eq!(without_userinfo("h/p"), "h/p");
    }

    #[test]
    fn upstream_urls_shown_without_credentials() {
        let up = Upstream::new("https://user:secret@api.test/v1/", Duration::from_secs(1)).unwrap();
        assert_eq!(up.base_url(), "https://user:secret@api.test/v1");
        assert_eq!(up.shown_url(), "https://api.test/v1");
        assert_eq!(up.max_response_bytes, DEFAULT_MAX_RESPONSE_BYTES);
        assert_eq!(up.with_max_response_bytes(10).max_response_bytes, 10);
        for bad in ["ftp://x", "http://x/?a=1", "http://x/#f", "not a url"] {
            assert!(Upstream::new(bad, Duration::from_secs(1)).is_err(), "{bad}");
        }
    }
}
