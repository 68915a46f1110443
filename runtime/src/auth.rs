//! Authentication of MCP clients on `/mcp`. The mode and its settings come from the `--auth`
//! file and live in `auth_config.rs`; this module holds what every mode shares: the `/mcp`
//! middleware (authenticate, check the tool's scopes, run the hook in `hooks.rs`, then hand the
//! request to the MCP server), and modes `none` and `bearer`; `oauth.rs` adds mode `oauth`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The paths the generated `auth_config.rs` and files written by earlier mcpgen versions
/// (`hooks.rs`: `crate::auth::{Denial, HookRequest}`) name.
pub use crate::admission::{Caller, Denial, HookRequest};
use crate::catalog::{Callable, Catalog};
pub use crate::config::{BearerConfig, Setting};
use crate::metrics::AuthRejection;
#[allow(
    unused_imports,
    reason = "a path of earlier versions; oauth.rs uses settings.rs"
)]
pub use crate::settings::resolve_opt;

/// Bytes of a `/mcp` request body read at most, unless `--max-body-bytes` says otherwise.
pub const MAX_BODY_BYTES: usize = crate::limits::DEFAULT_MAX_BODY_BYTES;

/// A boxed future, for [`Verify`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a token was not accepted.
#[allow(dead_code, reason = "made by oauth.rs, in mode oauth only")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The token is not valid: 401 `invalid_token` with this description.
    Invalid(String),
    /// The token could not be checked (the authorization server's keys are unreachable): 503.
    Unavailable(String),
}

/// A token verifier (mode `oauth`): checks a bearer token and says what it grants.
pub trait Verify: Send + Sync + 'static {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Caller, Rejection>>;
}

/// How `/mcp` requests are authenticated.
#[derive(Clone)]
enum Gate {
    /// Mode `none`: everyone may call.
    Open,
    /// Mode `bearer`: SHA-256 digests of the accepted tokens (`None`: any token).
    Bearer {
        tokens: Option<Arc<[[u8; 32]]>>,
        forward: bool,
    },
    /// Mode `oauth`: JWTs checked by the verifier; tools may need scopes.
    Verifier(Arc<dyn Verify>),
}

/// The configured authentication: the `/mcp` middleware's state and the extra routes of the
/// mode (OAuth metadata and proxies).
#[derive(Clone)]
pub struct Auth {
    mode: &'static str,
    gate: Gate,
    /// `WWW-Authenticate` parameters added to every challenge (`resource_metadata`, `scope`).
    challenge: Arc<str>,
    /// The `resource_metadata` parameter alone, for 403 challenges.
    resource_metadata: Option<Arc<str>>,
    /// Tool name → the scope alternatives it needs (any one suffices). Mode `oauth` only.
    tool_scopes: Arc<std::collections::HashMap<&'static str, &'static [&'static [&'static str]]>>,
    routes: Router,
    summary: String,
    /// The served tools: scopes are checked for these only (a call of any other tool fails as
    /// unknown), and in tool mode `discover` the tool an `execute_tool` call runs is checked.
    catalog: Option<Arc<Catalog>>,
    /// Bytes of a `/mcp` request body read at most.
    max_body_bytes: usize,
}

impl Auth {
    /// Mode `none`: the server is open.
    #[allow(dead_code, reason = "auth_config.rs builds its mode only")]
    pub fn open() -> Self {
        Self {
            mode: "none",
            gate: Gate::Open,
            challenge: Arc::from(""),
            resource_metadata: None,
            tool_scopes: Arc::default(),
            routes: Router::new(),
            summary: "none: the server is open, every client that reaches it may call every tool"
                .to_owned(),
            catalog: None,
            max_body_bytes: MAX_BODY_BYTES,
        }
    }

    /// Mode `bearer`, with the settings resolved from the environment.
    #[allow(dead_code, reason = "auth_config.rs builds its mode only")]
    pub fn bearer(config: &BearerConfig) -> Result<Self, String> {
        let tokens = match config.tokens {
            None => None,
            Some(setting) => {
                let list = setting.resolve("accepted bearer tokens, comma-separated")?;
                let digests: Vec<[u8; 32]> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(digest)
                    .collect();
                if digests.is_empty() {
                    return Err(match setting {
                        Setting::Env(name) => {
                            format!("environment variable {name} lists no bearer token")
                        }
                        Setting::Literal(_) => "no bearer token is configured".to_owned(),
                    });
                }
                Some(Arc::<[[u8; 32]]>::from(digests))
            }
        };
        let summary = format!(
            "bearer: `Authorization: Bearer <token>` required on /mcp; {}; {}",
            match &tokens {
                Some(t) => format!("{} accepted token(s), compared in constant time", t.len()),
                None => "any token is accepted (the upstream API judges it)".to_owned(),
            },
            if config.forward {
                "the caller's Authorization header is forwarded to the upstream API"
            } else {
                "nothing is forwarded to the upstream API"
            }
        );
        Ok(Self {
            mode: "bearer",
            gate: Gate::Bearer {
                tokens,
                forward: config.forward,
            },
            challenge: Arc::from(""),
            resource_metadata: None,
            tool_scopes: Arc::default(),
            routes: Router::new(),
            summary,
            catalog: None,
            max_body_bytes: MAX_BODY_BYTES,
        })
    }

    /// A verifier-based mode (`oauth`). `resource_metadata` is the RFC 9728 metadata URL,
    /// `routes` the mode's extra endpoints, `tool_scopes` the scopes of each tool.
    #[allow(dead_code, reason = "auth_config.rs builds its mode only")]
    pub fn verifier(
        mode: &'static str,
        verifier: Arc<dyn Verify>,
        resource_metadata: String,
        scopes_supported: &[&str],
        tool_scopes: &'static [(&'static str, &'static [&'static [&'static str]])],
        routes: Router,
        summary: String,
    ) -> Self {
        let resource_metadata = format!("resource_metadata=\"{}\"", quote(&resource_metadata));
        let mut challenge = resource_metadata.clone();
        if !scopes_supported.is_empty() {
            challenge.push_str(&format!(
                ", scope=\"{}\"",
                quote(&scopes_supported.join(" "))
            ));
        }
        Self {
            mode,
            gate: Gate::Verifier(verifier),
            challenge: Arc::from(challenge),
            resource_metadata: Some(Arc::from(resource_metadata)),
            tool_scopes: Arc::new(tool_scopes.iter().copied().collect()),
            routes,
            summary,
            catalog: None,
            max_body_bytes: MAX_BODY_BYTES,
        }
    }

    /// The same authentication for a server of these served tools (`main.rs` sets it).
    pub fn with_catalog(mut self, catalog: Arc<Catalog>) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// The same authentication reading `/mcp` bodies of at most `bytes` (`main.rs` sets it).
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Whether `execute_tool` calls count as calls of the tool they run.
    fn discover(&self) -> bool {
        self.catalog.as_ref().is_some_and(|c| c.discover())
    }

    /// The mode's name: `none`, `bearer` or `oauth`.
    pub fn mode(&self) -> &'static str {
        self.mode
    }

    /// One line for the start-up log.
    pub fn summary(&self) -> &str {
        &self.summary
    }

    /// The mode's extra routes (none outside mode `oauth`).
    pub fn routes(&self) -> Router {
        self.routes.clone()
    }

    /// `WWW-Authenticate` value of a 401.
    fn challenge(&self, error: Option<&str>) -> String {
        let mut params = Vec::new();
        if let Some(description) = error {
            params.push("error=\"invalid_token\"".to_owned());
            params.push(format!("error_description=\"{}\"", quote(description)));
        }
        if !self.challenge.is_empty() {
            params.push(self.challenge.to_string());
        }
        if params.is_empty() {
            "Bearer".to_owned()
        } else {
            format!("Bearer {}", params.join(", "))
        }
    }

    /// 401 with a challenge; `error`: why the token sent was refused (`None`: no token sent).
    fn unauthorized(&self, error: Option<&str>) -> Response {
        let reason = if error.is_some() {
            AuthRejection::InvalidToken
        } else {
            AuthRejection::MissingToken
        };
        self.challenge_response(error, reason)
    }

    /// The 401 of [`Self::unauthorized`], counted as refused for `reason`.
    fn challenge_response(&self, error: Option<&str>, reason: AuthRejection) -> Response {
        crate::metrics::get().auth_rejection(reason);
        let body = serde_json::json!({
            "error": if error.is_some() { "invalid_token" } else { "unauthorized" },
            "error_description": error.unwrap_or("this server needs an `Authorization: Bearer` token"),
        });
        let mut response = json_response(StatusCode::UNAUTHORIZED, &body);
        if let Ok(value) = HeaderValue::from_str(&self.challenge(error)) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }

    /// 403 `insufficient_scope` asking for `scopes`.
    fn insufficient_scope(&self, tool: &str, scopes: &[&str]) -> Response {
        crate::metrics::get().auth_rejection(AuthRejection::InsufficientScope);
        let scope = scopes.join(" ");
        let description = format!("the tool `{tool}` needs the scope(s) {scope}");
        let mut challenge = format!(
            "Bearer error=\"insufficient_scope\", scope=\"{}\", error_description=\"{}\"",
            quote(&scope),
            quote(&description)
        );
        if let Some(rm) = &self.resource_metadata {
            challenge.push_str(", ");
            challenge.push_str(rm);
        }
        let body = serde_json::json!({
            "error": "insufficient_scope",
            "error_description": description,
            "scope": scope,
        });
        let mut response = json_response(StatusCode::FORBIDDEN, &body);
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }

    /// Establishes the caller from the request headers, or answers with the error response.
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, Response> {
        let (tokens, forward) = match &self.gate {
            Gate::Open => return Ok(Caller::default()),
            Gate::Bearer { tokens, forward } => (tokens, *forward),
            Gate::Verifier(verifier) => {
                let token = bearer_token(headers).map_err(|e| self.unauthorized(e))?;
                return match verifier.verify(token).await {
                    Ok(caller) => Ok(caller),
                    Err(Rejection::Invalid(reason)) => Err(self.unauthorized(Some(&reason))),
                    Err(Rejection::Unavailable(reason)) => {
                        tracing::error!("cannot check an access token: {reason}");
                        crate::metrics::get().auth_rejection(AuthRejection::VerifierUnavailable);
                        Err(json_response(
                            StatusCode::SERVICE_UNAVAILABLE,
                            &serde_json::json!({
                                "error": "temporarily_unavailable",
                                "error_description": "the token cannot be checked now: the authorization server (its keys or its introspection endpoint) cannot be reached; try again later",
                            }),
                        ))
                    }
                };
            }
        };
        let token = bearer_token(headers).map_err(|e| self.unauthorized(e))?;
        if let Some(accepted) = tokens
            && !token_matches(accepted, token)
        {
            return Err(self.unauthorized(Some("the token is not accepted")));
        }
        let forward = if forward {
            headers.get(header::AUTHORIZATION).cloned().map(|mut v| {
                v.set_sensitive(true);
                v
            })
        } else {
            None
        };
        Ok(Caller {
            token: Some(Arc::from(token)),
            forward,
            ..Caller::default()
        })
    }

    /// The 403 for a `tools/call` whose token grants none of the tool's scope alternatives.
    fn check_scopes(&self, request: &HookRequest<'_>) -> Option<Response> {
        if !matches!(self.gate, Gate::Verifier(_)) {
            return None;
        }
        let caller = request.caller();
        for tool in request.tools() {
            // A tool this configuration does not serve is refused later as unknown; a 403
            // would only ask the client for scopes of a tool it cannot call.
            if let Some(catalog) = &self.catalog
                && !matches!(catalog.resolve(tool), Some(Callable::Generated(_)))
            {
                continue;
            }
            let Some(alternatives) = self.tool_scopes.get(tool.as_str()) else {
                continue;
            };
            if alternatives.is_empty() {
                continue;
            }
            let granted = |scope: &&str| caller.scopes.iter().any(|s| s == scope);
            if alternatives.iter().any(|alt| alt.iter().all(granted)) {
                continue;
            }
            // Ask for the alternative that misses the fewest scopes (the first among equals).
            let best = alternatives
                .iter()
                .min_by_key(|alt| alt.iter().filter(|s| !granted(s)).count())
                .copied()
                .unwrap_or_default();
            return Some(self.insufficient_scope(tool, best));
        }
        None
    }
}

/// SHA-256 of a token: fixed-length values to compare in constant time.
fn digest(token: &str) -> [u8; 32] {
    let hash = Sha256::digest(token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(&hash);
    out
}

/// Whether `token` is one of the accepted ones. Every accepted token is compared, each in
/// constant time, so timing tells nothing about the tokens.
fn token_matches(accepted: &[[u8; 32]], token: &str) -> bool {
    let token = digest(token);
    let mut found = subtle::Choice::from(0u8);
    for candidate in accepted {
        found |= candidate.ct_eq(&token);
    }
    found.into()
}

/// The token of the request's `Authorization: Bearer` header; `Err(None)` when there is none,
/// `Err(Some(reason))` when the header is malformed.
fn bearer_token(headers: &HeaderMap) -> Result<&str, Option<&'static str>> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(None);
    };
    if values.next().is_some() {
        return Err(Some("more than one Authorization header"));
    }
    let value = value
        .to_str()
        .map_err(|_| Some("the Authorization header is not ASCII"))?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(Some("the Authorization header is not `Bearer <token>`"))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return Err(Some("the Authorization header is not `Bearer <token>`"));
    }
    Ok(token)
}

/// Escapes a value for a quoted `WWW-Authenticate` parameter.
fn quote(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '"' || c == '\\' { '\'' } else { c })
        .collect()
}

/// A JSON response.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The `/mcp` middleware: [`admit`], then the MCP server.
pub async fn guard(State(auth): State<Auth>, request: Request, next: Next) -> Response {
    match admit(&auth, request).await {
        Ok(request) => next.run(request).await,
        Err(refusal) => refusal,
    }
}

/// Authenticates the caller of a `/mcp` request, checks the scopes of called tools, runs
/// [`crate::hooks::check_request`], and returns the request (its body read into memory) with
/// its [`Caller`] in the extensions — or the response that refuses it.
pub async fn admit(auth: &Auth, request: Request) -> Result<Request, Response> {
    let (parts, body) = admit_parts(auth, request).await?;
    Ok(Request::from_parts(parts, Body::from(body)))
}

/// [`admit`], with the request's head and its body (read into memory) apart.
pub async fn admit_parts(auth: &Auth, request: Request) -> Result<(Parts, Bytes), Response> {
    let (mut parts, body) = request.into_parts();
    let caller = auth.authenticate(&parts.headers).await?;
    let body = if parts.method == Method::POST {
        let limit = auth.max_body_bytes;
        match axum::body::to_bytes(body, limit).await {
            Ok(bytes) => bytes,
            Err(e) if crate::limits::is_body_timeout(&e) => {
                return Err(json_response(
                    StatusCode::REQUEST_TIMEOUT,
                    &serde_json::json!({
                        "error": "request_timeout",
                        "error_description": e.to_string(),
                    }),
                ));
            }
            Err(_) => {
                return Err(json_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &serde_json::json!({
                        "error": "request_too_large",
                        "error_description": format!("the request body could not be read or is larger than {limit} bytes (MCP_MAX_BODY_BYTES)"),
                    }),
                ));
            }
        }
    } else {
        Bytes::new()
    };
    let hook = HookRequest::new(&parts, &caller, &body, auth.mode, auth.discover());
    if let Some(response) = auth.check_scopes(&hook) {
        return Err(response);
    }
    if let Err(denial) = crate::hooks::check_request(&hook).await {
        return Err(refusal(&denial, auth));
    }
    drop(hook);
    parts.extensions.insert(caller);
    Ok((parts, body))
}

/// The response to a refusal of `hooks::check_request`: a 401 carries the mode's challenge.
fn refusal(denial: &Denial, auth: &Auth) -> Response {
    if denial.status() == StatusCode::UNAUTHORIZED {
        // Counted as the hook's refusal, not as an invalid token.
        return auth.challenge_response(Some(denial.message()), AuthRejection::HookDenied);
    }
    crate::metrics::get().auth_rejection(AuthRejection::HookDenied);
    json_response(
        denial.status(),
        &serde_json::json!({ "error": "access_denied", "error_description": denial.message() }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_by_value_only() {
        let accepted = [digest("alpha"), digest("beta")];
        assert!(token_matches(&accepted, "alpha"));
        assert!(token_matches(&accepted, "beta"));
        assert!(!token_matches(&accepted, "alph"));
        assert!(!token_matches(&accepted, "alphaa"));
        assert!(!token_matches(&accepted, ""));
    }

    #[test]
    fn bearer_headers_are_parsed_strictly() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), Err(None));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer_token(&headers), Ok("abc"));
        for bad in ["Basic abc", "Bearer", "Bearer ", "Bearer a b", "abc"] {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(bad));
            assert!(matches!(bearer_token(&headers), Err(Some(_))), "{bad}");
        }
    }

    #[test]
    fn challenge_values_stay_quoted() {
        assert_eq!(quote("a\"b\\c\nd"), "a'b'cd");
    }
}
