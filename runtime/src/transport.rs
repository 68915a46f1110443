//! The upstream transport: the pooled HTTP/1.1 connections tool calls go through.
//!
//! Requests go straight through hyper's pooled client (TLS by rustls, certificates checked by
//! the platform's verifier). That costs a fraction of a general-purpose client per call: no URL
//! re-parsing, no middleware stack. When the environment names a proxy for the upstream
//! (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, read as curl reads them), requests go
//! through reqwest instead, which speaks to proxies. Either way the caller ([`crate::upstream`])
//! sees the same [`Exchange`], follows redirects itself (only within the upstream's origin) and
//! bounds the whole exchange with its timeout.

use std::borrow::Cow;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::uri::{Authority, Scheme};
use axum::http::{Request, Uri};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Body as _;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};

use crate::errors::error_chain;

/// Idle pooled connections are closed after this long.
const POOL_IDLE: Duration = Duration::from_secs(90);
/// Connecting gives up after this long at most (or the call's timeout, when shorter).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a path may not carry literally; everything else was encoded by the request builder
/// already. The same set URLs are normalised with (WHATWG URL), so the upstream sees what a
/// browser would send: `%` stays, so existing escapes are kept.
const PATH_UNSAFE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');
/// What a query may not carry literally.
const QUERY_UNSAFE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'\'');

type Direct = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Redirects followed at most by [`same_origin_redirects`].
const MAX_CREDENTIAL_REDIRECTS: usize = 5;

/// The redirect policy of every client that sends credentials in its requests (token endpoints:
/// a client secret in the body or in `Authorization`; discovery documents): a redirect is
/// followed only to the origin (scheme, host and port) the request was sent to, and the redirect
/// response itself is the answer otherwise. reqwest's default follows a 307 or 308 to any origin
/// and sends the body again there, so a token endpoint (or whoever answers for it) could have a
/// `client_secret_post` secret delivered anywhere.
pub fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if !same_origin {
            tracing::warn!(
                "a token or discovery request was redirected to another origin ({}): not followed, \
                 so no credential goes there",
                attempt.url().origin().ascii_serialization()
            );
            attempt.stop()
        } else if attempt.previous().len() > MAX_CREDENTIAL_REDIRECTS {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    })
}

/// How requests reach the upstream.
enum Route {
    Direct(Direct),
    /// A proxy from the environment applies: reqwest, which speaks to proxies, without
    /// following redirects (the caller does).
    Proxied(reqwest::Client),
}

/// The connections to one upstream origin, and the client for its token endpoints.
pub struct Transport {
    route: Route,
    /// For OAuth token and discovery requests (`credentials.rs`): reqwest, with the call
    /// timeout, following redirects within the origin only ([`same_origin_redirects`]).
    tokens: reqwest::Client,
    scheme: Scheme,
    /// Host and port, without user name and password.
    authority: Authority,
    /// The base URL's path without a trailing `/`; every tool path is appended to it.
    base_path: String,
    /// `Authorization: Basic` from a user name and password in the base URL.
    basic: Option<HeaderValue>,
    user_agent: HeaderValue,
}

/// A request to send: the target is the path and query on the upstream's origin.
pub struct Outgoing {
    pub method: Method,
    /// Starts with `/`; characters a URL cannot carry are percent-encoded on the way out.
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
}

/// A response, its body read up to a cap.
pub struct Exchange {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// More bytes followed than the cap let through (they were not read).
    pub truncated: bool,
    /// The whole body's size, when the upstream said.
    pub total: Option<u64>,
}

/// Why no response came.
pub enum Failure {
    /// No connection could be made (refused, DNS, TLS handshake, connect timeout).
    Connect(String),
    /// The request, or reading the response, failed.
    Other(String),
}

impl Transport {
    /// The transport for `base`, an absolute `http` or `https` URL (checked by the caller).
    pub fn new(base: &Url, timeout: Duration) -> Result<Self, String> {
        let scheme = match base.scheme() {
            "https" => Scheme::HTTPS,
            _ => Scheme::HTTP,
        };
        // An IPv6 address comes in brackets, as an authority needs it.
        let Some(host) = base.host_str().map(str::to_owned) else {
            return Err("the upstream URL has no host".to_owned());
        };
        let authority = match base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        };
        let authority = Authority::try_from(authority.as_str())
            .map_err(|e| format!("the upstream URL's host `{authority}` is not usable: {e}"))?;
        let basic = if base.username().is_empty() && base.password().is_none() {
            None
        } else {
            let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            let pair = format!(
                "{}:{}",
                decode(base.username()),
                decode(base.password().unwrap_or(""))
            );
            let mut value = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(pair)))
                .map_err(|e| format!("the upstream URL's user name or password: {e}"))?;
            value.set_sensitive(true);
            Some(value)
        };
        let user_agent = HeaderValue::from_static(concat!(
            env!("CARGO_PKG_NAME"),
            "/",
            env!("CARGO_PKG_VERSION")
        ));
        let connect_timeout = timeout.min(CONNECT_TIMEOUT);
        // One TLS configuration for every client: the platform's certificates are loaded once.
        let tls = tls_config()?;
        let tokens = reqwest::Client::builder()
            .tls_backend_preconfigured(tls.clone())
            .tcp_nodelay(true)
            .timeout(timeout)
            .connect_timeout(connect_timeout)
            .pool_idle_timeout(POOL_IDLE)
            .user_agent(user_agent.clone())
            .redirect(same_origin_redirects())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {}", error_chain(&e)))?;
        let origin = Uri::builder()
            .scheme(scheme.clone())
            .authority(authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|e| format!("the upstream URL is not usable: {e}"))?;
        let proxied = hyper_util::client::proxy::matcher::Matcher::from_system()
            .intercept(&origin)
            .is_some();
        let route = if proxied {
            tracing::info!("the upstream API is reached through the proxy the environment names");
            Route::Proxied(
                reqwest::Client::builder()
                    .tls_backend_preconfigured(tls)
                    .tcp_nodelay(true)
                    .connect_timeout(connect_timeout)
                    .pool_idle_timeout(POOL_IDLE)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client: {}", error_chain(&e)))?,
            )
        } else {
            Route::Direct(direct(tls, connect_timeout))
        };
        Ok(Self {
            route,
            tokens,
            scheme,
            authority,
            base_path: base.path().trim_end_matches('/').to_owned(),
            basic,
            user_agent,
        })
    }

    /// The client for token endpoints.
    pub fn tokens(&self) -> &reqwest::Client {
        &self.tokens
    }

    /// The base URL's path without a trailing `/` (empty for the origin's root).
    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// The `Authorization` header a user name and password in the base URL stand for.
    pub fn basic_authorization(&self) -> Option<&HeaderValue> {
        self.basic.as_ref()
    }

    /// The `User-Agent` sent.
    pub fn user_agent(&self) -> &HeaderValue {
        &self.user_agent
    }

    /// Sends `outgoing` and reads the response body: at most `success_cap` bytes of a 2xx
    /// body, `other_cap` of any other.
    pub async fn exchange(
        &self,
        outgoing: Outgoing,
        success_cap: usize,
        other_cap: usize,
    ) -> Result<Exchange, Failure> {
        let uri = self.uri(outgoing.path_and_query)?;
        let mut request = Request::new(outgoing.body.unwrap_or_default());
        *request.method_mut() = outgoing.method;
        *request.uri_mut() = uri;
        *request.headers_mut() = outgoing.headers;
        match &self.route {
            Route::Direct(client) => {
                let response = client.request(request.map(Full::new)).await.map_err(|e| {
                    let chain = error_chain(&e);
                    if e.is_connect() {
                        Failure::Connect(chain)
                    } else {
                        Failure::Other(chain)
                    }
                })?;
                let (parts, mut body) = response.into_parts();
                let total = body.size_hint().exact();
                let cap = cap(parts.status, success_cap, other_cap);
                let mut reader = Reader::new(cap);
                while !reader.full() {
                    match body.frame().await {
                        Some(Ok(frame)) => {
                            if let Ok(data) = frame.into_data() {
                                reader.push(&data);
                            }
                        }
                        Some(Err(e)) => return Err(Failure::Other(error_chain(&e))),
                        None => break,
                    }
                }
                Ok(reader.finish(parts.status, parts.headers, total))
            }
            Route::Proxied(client) => {
                let request = reqwest::Request::try_from(request)
                    .map_err(|e| Failure::Other(error_chain(&e.without_url())))?;
                let mut response = client.execute(request).await.map_err(proxied_failure)?;
                let status = response.status();
                let total = response.content_length();
                let mut reader = Reader::new(cap(status, success_cap, other_cap));
                while !reader.full() {
                    match response.chunk().await.map_err(proxied_failure)? {
                        Some(chunk) => reader.push(&chunk),
                        None => break,
                    }
                }
                let headers = std::mem::take(response.headers_mut());
                Ok(reader.finish(status, headers, total))
            }
        }
    }

    /// Where a redirect to `location`, answered to `path_and_query`, goes: its path and query
    /// when it stays on the upstream's origin (scheme, host and port), else the URL it names.
    pub fn redirect_target(&self, path_and_query: &str, location: &str) -> Result<String, String> {
        let here = format!("{}://{}{path_and_query}", self.scheme, self.authority);
        let next = Url::parse(&here)
            .and_then(|here| here.join(location))
            .map_err(|e| format!("the redirect to `{location}` is not a valid URL: {e}"))?;
        let same_origin = next.scheme() == self.scheme.as_str()
            && next.host_str().map(|h| h.to_ascii_lowercase())
                == Some(self.authority.host().to_ascii_lowercase())
            && next.port_or_known_default() == self.port();
        if !same_origin {
            let mut shown = next.clone();
            let _ = shown.set_username("");
            let _ = shown.set_password(None);
            shown.set_query(None);
            shown.set_fragment(None);
            return Err(format!(
                "it redirects to {shown}, another origin: not followed, so no credential goes there"
            ));
        }
        let mut target = next.path().to_owned();
        if let Some(query) = next.query() {
            target.push('?');
            target.push_str(query);
        }
        Ok(target)
    }

    fn port(&self) -> Option<u16> {
        self.authority
            .port_u16()
            .or(if self.scheme == Scheme::HTTPS {
                Some(443)
            } else {
                Some(80)
            })
    }

    fn uri(&self, path_and_query: String) -> Result<Uri, Failure> {
        let clean = matches!(
            escaped(&path_and_query),
            (Cow::Borrowed(_), None | Some(Cow::Borrowed(_)))
        );
        // Already clean (the usual case): used as it is.
        let target = if clean {
            path_and_query
        } else {
            let (path, query) = escaped(&path_and_query);
            let mut target = path.into_owned();
            if let Some(query) = query {
                target.push('?');
                target.push_str(&query);
            }
            target
        };
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(target)
            .build()
            .map_err(|e| Failure::Other(format!("the request URL is not valid: {e}")))
    }
}

/// The path and the query of a request target with what a URL cannot carry percent-encoded;
/// borrowed where nothing needed it.
fn escaped(target: &str) -> (Cow<'_, str>, Option<Cow<'_, str>>) {
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    (
        utf8_percent_encode(path, PATH_UNSAFE).into(),
        query.map(|query| utf8_percent_encode(query, QUERY_UNSAFE).into()),
    )
}

/// TLS by rustls (aws-lc-rs), certificates checked by the platform's verifier.
fn tls_config() -> Result<rustls::ClientConfig, String> {
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
        .map_err(|e| format!("cannot set up TLS certificate verification: {e}"))?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(verifier))
        .with_no_client_auth())
}

/// The pooled client: HTTP/1.1, TCP_NODELAY.
fn direct(tls: rustls::ClientConfig, connect_timeout: Duration) -> Direct {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        .pool_timer(TokioTimer::new())
        .build(https)
}

fn proxied_failure(error: reqwest::Error) -> Failure {
    let connect = error.is_connect();
    let chain = error_chain(&error.without_url());
    if connect {
        Failure::Connect(chain)
    } else {
        Failure::Other(chain)
    }
}

fn cap(status: StatusCode, success_cap: usize, other_cap: usize) -> usize {
    if status.is_success() {
        success_cap
    } else {
        other_cap
    }
}

/// A body read up to a cap.
struct Reader {
    body: Vec<u8>,
    cap: usize,
    truncated: bool,
}

impl Reader {
    fn new(cap: usize) -> Self {
        Self {
            body: Vec::new(),
            cap,
            truncated: false,
        }
    }

    fn full(&self) -> bool {
        self.truncated
    }

    fn push(&mut self, chunk: &[u8]) {
        let room = self.cap.saturating_sub(self.body.len());
        if chunk.len() > room {
            self.body.extend_from_slice(&chunk[..room]);
            self.truncated = true;
        } else {
            self.body.extend_from_slice(chunk);
        }
    }

    fn finish(self, status: StatusCode, headers: HeaderMap, total: Option<u64>) -> Exchange {
        Exchange {
            status,
            headers,
            body: self.body,
            truncated: self.truncated,
            total,
        }
    }
}

/// Whether `status` is a redirect this transport's caller follows, and the method and body
/// the next request keeps: 303 and a non-GET/HEAD 301 or 302 become a GET without body
/// (as browsers and curl do); 307 and 308 repeat the request as it was.
pub fn redirect_method(status: StatusCode, method: &Method) -> Option<(Method, bool)> {
    match status.as_u16() {
        301 | 302 if *method == Method::GET || *method == Method::HEAD => {
            Some((method.clone(), true))
        }
        301..=303 => Some((Method::GET, false)),
        307 | 308 => Some((method.clone(), true)),
        _ => None,
    }
}

/// The `Location` of a response, when it has a usable one.
pub fn location(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(base: &str) -> Transport {
        Transport::new(&Url::parse(base).unwrap(), Duration::from_secs(1)).unwrap()
    }

    #[test]
    fn urls_keep_escapes_and_encode_what_a_url_cannot_carry() {
        let t = transport("http://api.test:8080/v1/");
        assert_eq!(t.base_path(), "/v1");
        let uri = t
            .uri("/v1/a%2Fb c/{x}?q=1 2&r=\"s\"#".to_owned())
            .ok()
            .unwrap();
        assert_eq!(
            uri.to_string(),
            "http://api.test:8080/v1/a%2Fb%20c/%7Bx%7D?q=1%202&r=%22s%22%23"
        );
        let uri = t.uri("/caf\u{e9}?n=\u{e9}".to_owned()).ok().unwrap();
        assert_eq!(uri.to_string(), "http://api.test:8080/caf%C3%A9?n=%C3%A9");
        // A clean target is taken as it is, `%` escapes and all.
        let uri = t.uri("/v1/a%20b?x=%2F&y=a,b|c".to_owned()).ok().unwrap();
        assert_eq!(
            uri.to_string(),
            "http://api.test:8080/v1/a%20b?x=%2F&y=a,b|c"
        );
    }

    #[test]
    fn credentials_in_the_base_url_become_basic_authorization() {
        let t = transport("https://us%40er:p%3Ass@api.test/");
        assert_eq!(t.base_path(), "");
        let value = t.basic_authorization().unwrap();
        assert!(value.is_sensitive());
        assert_eq!(
            value.to_str().unwrap(),
            format!("Basic {}", STANDARD.encode("us@er:p:ss"))
        );
        assert!(transport("http://api.test").basic_authorization().is_none());
    }

    #[test]
    fn redirects_are_followed_only_within_the_origin() {
        let t = transport("https://api.test/v1");
        assert_eq!(
            t.redirect_target("/v1/a?x=1", "b?y=2").unwrap(),
            "/v1/b?y=2"
        );
        assert_eq!(
            t.redirect_target("/v1/a", "https://API.test:443/v2/c")
                .unwrap(),
            "/v2/c"
        );
        for away in [
            "http://api.test/v1/a",
            "https://api.test:8443/v1/a",
            "https://evil.test/v1/a",
            "//evil.test/x",
        ] {
            let err = t.redirect_target("/v1/a", away).unwrap_err();
            assert!(err.contains("another origin"), "{away}: {err}");
        }
        let err = t
            .redirect_target("/v1/a", "https://user:pw@evil.test/x?token=1")
            .unwrap_err();
        assert!(!err.contains("pw") && !err.contains("token"), "{err}");
    }

    #[test]
    fn redirect_methods_follow_the_fetch_rules() {
        use StatusCode as S;
        let post = Method::POST;
        assert_eq!(
            redirect_method(S::SEE_OTHER, &post),
            Some((Method::GET, false))
        );
        assert_eq!(redirect_method(S::FOUND, &post), Some((Method::GET, false)));
        assert_eq!(
            redirect_method(S::FOUND, &Method::GET),
            Some((Method::GET, true))
        );
        assert_eq!(
            redirect_method(S::TEMPORARY_REDIRECT, &post),
            Some((post.clone(), true))
        );
        assert_eq!(
            redirect_method(S::PERMANENT_REDIRECT, &post),
            Some((post.clone(), true))
        );
        assert_eq!(redirect_method(S::NOT_MODIFIED, &post), None);
        assert_eq!(redirect_method(S::OK, &post), None);
    }

    #[test]
    fn bodies_are_read_up_to_the_cap() {
        let mut r = Reader::new(5);
        r.push(b"abc");
        assert!(!r.full());
        r.push(b"defg");
        assert!(r.full());
        let x = r.finish(StatusCode::OK, HeaderMap::new(), Some(7));
        assert_eq!(x.body, b"abcde");
        assert!(x.truncated);
        assert_eq!(x.total, Some(7));
    }
}
