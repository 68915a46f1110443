//! Credentials for the upstream API, as each operation's OpenAPI `security` requirement asks:
//! API keys (header, query, cookie), HTTP bearer and basic, OAuth 2 client credentials (from the
//! spec's `tokenUrl`, a configured one, or OpenID Connect discovery). `auth_config::UPSTREAM`
//! says which environment variable holds what.
//!
//! - Variables are read once, when the server starts. A missing one does not stop the server: a
//!   tool call that needs it is a tool error naming it, and the upstream API is not called.
//! - A requirement lists alternatives (any one suffices) of schemes sent together. The first
//!   alternative whose credentials are all at hand is used. An alternative without schemes
//!   (optional authentication) is used only when no other one is complete, so a credential the
//!   server has is always sent.
//! - Precedence with the caller's forwarded token (`bearer.forward`, `oauth.forward_token`): the
//!   caller's `Authorization` header is sent for bearer-token schemes (HTTP bearer, OAuth 2,
//!   OpenID Connect) instead of the server's own; the server's credentials for them are used only
//!   when there is no caller token (stdio). A scheme that puts something else into
//!   `Authorization` (HTTP basic, an API key named `Authorization`) sends the server's value.
//! - OAuth 2 client credentials: one token per scheme, shared by all calls; concurrent calls wait
//!   for one fetch; a token is fetched again shortly before it expires, and when the upstream
//!   API answers 401 to it (then the call is retried once).
//! - Secrets never reach tool results, error texts or logs: every upstream body is searched for
//!   them (as sent: raw, percent-encoded, JSON-escaped, base64 basic credentials) and they are
//!   replaced by `[REDACTED]`. Values shorter than [`MIN_REDACTED_LEN`] are too short to tell
//!   from ordinary text and are not searched for (a warning at start-up says so).
// Which kinds of credentials a crate sends depends on its API: the code of the others goes unused.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::utf8_percent_encode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde_json::Value;
use tracing::{info, warn};

use crate::auth::Setting;
use crate::runtime::{COMPONENT, COOKIE_VALUE, error_chain};

/// Secrets shorter than this are not searched for in upstream responses.
pub const MIN_REDACTED_LEN: usize = 6;
/// What replaces a secret found in an upstream response.
pub const REDACTED: &str = "[REDACTED]";
/// Bytes of a token endpoint or discovery response read at most.
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;
/// A token is fetched again this share of its lifetime before it expires (at most
/// [`MAX_REFRESH_MARGIN`] before).
const REFRESH_MARGIN_DIVISOR: u32 = 10;
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Access tokens remembered (per server) for redaction after they were replaced.
const REMEMBERED_TOKENS: usize = 32;

/// Where an API key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Header,
    Query,
    Cookie,
}

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic` with the form-encoded client ID and secret.
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Post,
}

/// Where client-credentials tokens come from.
#[derive(Debug, Clone, Copy)]
pub enum Endpoint {
    /// The token endpoint; a relative URL resolves against the upstream base URL.
    Token(Setting),
    /// An OpenID Connect discovery document naming the token endpoint.
    Discovery(Setting),
}

/// The credential of one security scheme.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    ApiKey {
        location: Location,
        name: &'static str,
        key: Setting,
    },
    Bearer {
        token: Setting,
    },
    Basic {
        username: Setting,
        password: Setting,
    },
    ClientCredentials {
        client_id: Setting,
        client_secret: Setting,
        endpoint: Endpoint,
        scopes: &'static [&'static str],
        audience: Option<Setting>,
        /// `None`: basic, unless the discovery document offers only `client_secret_post`.
        auth: Option<ClientAuth>,
    },
    /// Nothing the server can send by itself.
    Unsupported {
        reason: &'static str,
    },
}

/// A security scheme of the OpenAPI document and its credential.
#[derive(Debug, Clone, Copy)]
pub struct Scheme {
    /// The `components.securitySchemes` name.
    pub name: &'static str,
    /// What is sent, in words.
    pub what: &'static str,
    pub kind: Kind,
    /// The caller's forwarded bearer token is sent for this scheme when there is one.
    pub caller: bool,
}

/// The credentials of every scheme, read from the environment at start-up, with the token
/// caches and the secrets to redact.
pub struct Credentials {
    schemes: Vec<Loaded>,
    redactor: Redactor,
}

struct Loaded {
    scheme: &'static Scheme,
    /// Variables the credential needs that are not set.
    missing: Vec<&'static str>,
    material: Material,
}

/// A credential ready to send.
enum Material {
    /// Incomplete (see `missing`) or unsupported.
    Nothing,
    Header {
        name: &'static str,
        value: HeaderValue,
    },
    Query {
        name: String,
        value: String,
    },
    Cookie {
        name: String,
        value: String,
    },
    Authorization(HeaderValue),
    Client(Box<Client>),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.schemes.iter().map(|s| (s.scheme.name, &s.missing)))
            .finish()
    }
}

/// How one scheme of an alternative stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ready,
    /// The caller's forwarded token is sent for it.
    Caller,
    Missing,
    Unsupported,
}

/// The schemes chosen for a call (indices into the loaded schemes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choice {
    schemes: Vec<usize>,
}

/// The credentials of one call, placed.
#[derive(Default)]
pub struct Applied {
    /// API keys in headers (values marked sensitive).
    pub headers: Vec<(&'static str, HeaderValue)>,
    /// API keys in the query, percent-encoded.
    pub query: Vec<(String, String)>,
    /// API keys in cookies, encoded.
    pub cookies: Vec<(String, String)>,
    /// The server's `Authorization` header (marked sensitive); it takes precedence over a
    /// forwarded caller's one, which is sent only for schemes it stands in for.
    pub authorization: Option<HeaderValue>,
    /// Client-credentials tokens sent: (scheme index, token).
    tokens: Vec<(usize, Arc<str>)>,
}

impl Applied {
    /// Whether a cached access token went out (so a 401 may mean it expired early).
    pub fn has_tokens(&self) -> bool {
        !self.tokens.is_empty()
    }
}

/// Reads a setting; an unset or empty variable is recorded as missing.
fn read(setting: Setting, missing: &mut Vec<&'static str>) -> Option<String> {
    match setting {
        Setting::Literal(value) => Some(value.to_owned()),
        Setting::Env(name) => match std::env::var(name) {
            Ok(value) if !value.trim().is_empty() => Some(value.trim().to_owned()),
            _ => {
                missing.push(name);
                None
            }
        },
    }
}

fn sensitive(value: &str) -> Option<HeaderValue> {
    let mut header = HeaderValue::from_str(value).ok()?;
    header.set_sensitive(true);
    Some(header)
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT)
        .to_string()
        .replace("%20", "+")
}

impl Credentials {
    /// No credentials at all (a server whose operations need none).
    pub fn none() -> Self {
        Self {
            schemes: Vec::new(),
            redactor: Redactor::default(),
        }
    }

    /// Reads every scheme's variables. Never fails: what is missing is reported per call.
    pub fn load(schemes: &'static [Scheme]) -> Self {
        let mut redactor = Redactor::default();
        let loaded = schemes
            .iter()
            .map(|scheme| {
                let mut missing = Vec::new();
                let material = Self::material(scheme, &mut missing, &mut redactor);
                Loaded {
                    scheme,
                    missing,
                    material,
                }
            })
            .collect();
        Self {
            schemes: loaded,
            redactor,
        }
    }

    fn material(
        scheme: &'static Scheme,
        missing: &mut Vec<&'static str>,
        redactor: &mut Redactor,
    ) -> Material {
        let name = scheme.name;
        let invalid = |what: &str| {
            warn!(
                "upstream credentials of securityScheme `{name}`: the {what} is not a valid HTTP header value (line breaks or control characters); it is not sent"
            );
            Material::Nothing
        };
        match scheme.kind {
            Kind::ApiKey {
                location,
                name: param,
                key,
            } => {
                let Some(key) = read(key, missing) else {
                    return Material::Nothing;
                };
                redactor.add(name, &key);
                match location {
                    Location::Header if param.eq_ignore_ascii_case("authorization") => {
                        match sensitive(&key) {
                            Some(value) => Material::Authorization(value),
                            None => invalid("API key"),
                        }
                    }
                    Location::Header => match sensitive(&key) {
                        Some(value) => Material::Header { name: param, value },
                        None => invalid("API key"),
                    },
                    Location::Query => Material::Query {
                        name: utf8_percent_encode(param, COMPONENT).to_string(),
                        value: utf8_percent_encode(&key, COMPONENT).to_string(),
                    },
                    Location::Cookie => {
                        let value = utf8_percent_encode(&key, COOKIE_VALUE).to_string();
                        redactor.add(name, &value);
                        Material::Cookie {
                            name: param.to_owned(),
                            value,
                        }
                    }
                }
            }
            Kind::Bearer { token } => {
                let Some(token) = read(token, missing) else {
                    return Material::Nothing;
                };
                redactor.add(name, &token);
                match sensitive(&format!("Bearer {token}")) {
                    Some(value) => Material::Authorization(value),
                    None => invalid("bearer token"),
                }
            }
            Kind::Basic { username, password } => {
                let username = read(username, missing);
                let password = read(password, missing);
                let (Some(username), Some(password)) = (username, password) else {
                    return Material::Nothing;
                };
                redactor.add(name, &password);
                let encoded = STANDARD.encode(format!("{username}:{password}"));
                redactor.add(name, &encoded);
                match sensitive(&format!("Basic {encoded}")) {
                    Some(value) => Material::Authorization(value),
                    None => invalid("basic credential"),
                }
            }
            Kind::ClientCredentials {
                client_id,
                client_secret,
                endpoint,
                scopes,
                audience,
                auth,
            } => {
                let id = read(client_id, missing);
                let secret = read(client_secret, missing);
                let endpoint = match endpoint {
                    Endpoint::Token(url) => read(url, missing).map(Resolved::Token),
                    Endpoint::Discovery(url) => read(url, missing).map(Resolved::Discovery),
                };
                let audience = match audience {
                    Some(setting) => match read(setting, missing) {
                        Some(value) => Some(value),
                        None => return Material::Nothing,
                    },
                    None => None,
                };
                let (Some(id), Some(secret), Some(endpoint)) = (id, secret, endpoint) else {
                    return Material::Nothing;
                };
                redactor.add(name, &secret);
                redactor.add(
                    name,
                    &STANDARD.encode(format!("{}:{}", form_encode(&id), form_encode(&secret))),
                );
                Material::Client(Box::new(Client {
                    scheme: name,
                    id,
                    secret,
                    endpoint,
                    scopes,
                    audience,
                    auth,
                    state: tokio::sync::Mutex::new(TokenState::default()),
                }))
            }
            Kind::Unsupported { .. } => Material::Nothing,
        }
    }

    /// One log line per scheme: ready, or which variables are missing (names only).
    pub fn log_summary(&self) {
        for loaded in &self.schemes {
            let Scheme {
                name, what, caller, ..
            } = loaded.scheme;
            let note = if *caller {
                "; the caller's forwarded token is sent instead when there is one"
            } else {
                ""
            };
            match (&loaded.material, loaded.scheme.kind) {
                (_, Kind::Unsupported { reason }) => {
                    if *caller {
                        info!(
                            "upstream securityScheme `{name}`: the caller's forwarded token is sent for it"
                        );
                    } else {
                        warn!(
                            "upstream securityScheme `{name}` ({reason}) is not sent by this server"
                        );
                    }
                }
                (Material::Nothing, _) if !loaded.missing.is_empty() => warn!(
                    "upstream securityScheme `{name}` ({what}): {} not set; tool calls that need it fail until the server is started with it{note}",
                    loaded.missing.join(", ")
                ),
                (Material::Nothing, _) => {}
                _ => info!("upstream securityScheme `{name}` ({what}): credentials ready{note}"),
            }
        }
        for name in &self.redactor.short {
            warn!(
                "upstream credentials of securityScheme `{name}`: a secret shorter than {MIN_REDACTED_LEN} characters cannot be told from ordinary text, so upstream responses are not searched for it"
            );
        }
    }

    fn status(&self, name: &str, caller_token: bool) -> (Option<usize>, Status) {
        let Some(index) = self.schemes.iter().position(|s| s.scheme.name == name) else {
            return (None, Status::Unsupported);
        };
        let loaded = &self.schemes[index];
        if loaded.scheme.caller && caller_token {
            return (Some(index), Status::Caller);
        }
        let status = match (&loaded.material, loaded.scheme.kind) {
            (_, Kind::Unsupported { .. }) => Status::Unsupported,
            (Material::Nothing, _) if loaded.missing.is_empty() => Status::Unsupported,
            (Material::Nothing, _) => Status::Missing,
            _ => Status::Ready,
        };
        (Some(index), status)
    }

    /// Chooses the credentials of a call from the operation's alternatives (see the module
    /// documentation); `caller_token`: a caller's token is forwarded. `Err`: what is missing.
    pub fn choose(&self, alternatives: &[&[&str]], caller_token: bool) -> Result<Choice, String> {
        if alternatives.is_empty() {
            return Ok(Choice::default());
        }
        let rated: Vec<Vec<(Option<usize>, Status, &str)>> = alternatives
            .iter()
            .map(|alt| {
                alt.iter()
                    .map(|name| {
                        let (index, status) = self.status(name, caller_token);
                        (index, status, *name)
                    })
                    .collect()
            })
            .collect();
        let send = |alt: &[(Option<usize>, Status, &str)]| Choice {
            schemes: alt
                .iter()
                .filter(|(_, status, _)| *status == Status::Ready)
                .filter_map(|(index, _, _)| *index)
                .collect(),
        };
        let complete = |alt: &&Vec<(Option<usize>, Status, &str)>| {
            alt.iter()
                .all(|(_, s, _)| matches!(s, Status::Ready | Status::Caller))
        };
        if let Some(alt) = rated.iter().filter(|a| !a.is_empty()).find(complete) {
            return Ok(send(alt));
        }
        if rated.iter().any(Vec::is_empty) {
            return Ok(Choice::default());
        }
        let servable = |alt: &&Vec<(Option<usize>, Status, &str)>| {
            alt.iter().all(|(_, s, _)| *s != Status::Unsupported)
        };
        // Every alternative needs something the server cannot send: send what it can of the
        // first one it has everything else for, and let the API decide.
        if !rated.iter().any(|a| servable(&a))
            && let Some(alt) = rated
                .iter()
                .find(|a| a.iter().all(|(_, s, _)| *s != Status::Missing))
        {
            return Ok(send(alt));
        }
        let mut needs: Vec<String> = Vec::new();
        for alt in rated
            .iter()
            .filter(|a| servable(a) || !rated.iter().any(|b| servable(&b)))
        {
            let mut vars: Vec<&str> = Vec::new();
            for (index, status, _) in alt {
                if *status == Status::Missing
                    && let Some(index) = index
                {
                    vars.extend(self.schemes[*index].missing.iter().copied());
                }
            }
            vars.dedup();
            let text = match vars.as_slice() {
                [] => continue,
                [one] => (*one).to_owned(),
                [init @ .., last] => format!("{} and {last}", init.join(", ")),
            };
            if !needs.contains(&text) {
                needs.push(text);
            }
        }
        Err(format!(
            "the upstream API needs credentials that this MCP server does not have: set {} in the server's environment (read when it starts; see .env.example)",
            needs.join(", or ")
        ))
    }

    /// The credentials of `choice`, placed; fetches client-credentials tokens as needed.
    pub async fn apply(
        &self,
        choice: &Choice,
        http: &reqwest::Client,
        base_url: &str,
    ) -> Result<Applied, String> {
        let mut applied = Applied::default();
        for &index in &choice.schemes {
            match &self.schemes[index].material {
                Material::Nothing => {}
                Material::Header { name, value } => applied.headers.push((name, value.clone())),
                Material::Query { name, value } => {
                    applied.query.push((name.clone(), value.clone()));
                }
                Material::Cookie { name, value } => {
                    applied.cookies.push((name.clone(), value.clone()));
                }
                Material::Authorization(value) => applied.authorization = Some(value.clone()),
                Material::Client(client) => {
                    let (token, header) = client.token(http, base_url, &self.redactor).await?;
                    applied.authorization = Some(header);
                    applied.tokens.push((index, token));
                }
            }
        }
        Ok(applied)
    }

    /// After a 401: forgets the tokens `applied` sent, unless another call replaced them already.
    pub async fn refresh(&self, applied: &Applied) {
        for (index, token) in &applied.tokens {
            if let Material::Client(client) = &self.schemes[*index].material {
                client.forget(token).await;
            }
        }
    }

    /// Replaces every secret in an upstream body; `truncated`: the body was cut, so a secret's
    /// beginning at its end is dropped too.
    pub fn redact(&self, bytes: &mut Vec<u8>, truncated: bool) {
        self.redactor.redact(bytes, truncated);
    }

    /// [`Credentials::redact`] for text.
    pub fn redact_text(&self, text: String) -> String {
        self.redactor.redact_text(text)
    }
}

/// A client-credentials scheme: its settings and its token cache.
struct Client {
    scheme: &'static str,
    id: String,
    secret: String,
    endpoint: Resolved,
    scopes: &'static [&'static str],
    audience: Option<String>,
    auth: Option<ClientAuth>,
    /// Held while a token is fetched: concurrent calls wait for that one fetch.
    state: tokio::sync::Mutex<TokenState>,
}

enum Resolved {
    Token(String),
    Discovery(String),
}

#[derive(Default)]
struct TokenState {
    /// The token endpoint and how to authenticate there, once known.
    endpoint: Option<(String, ClientAuth)>,
    token: Option<Token>,
    /// The last failed fetch: calls that waited for it get its error instead of fetching again.
    failure: Option<(Instant, String)>,
}

struct Token {
    value: Arc<str>,
    header: HeaderValue,
    /// When to fetch a new one (`None`: the token endpoint gave no lifetime).
    refresh_at: Option<Instant>,
}

impl Client {
    /// The cached token, or a new one.
    async fn token(
        &self,
        http: &reqwest::Client,
        base_url: &str,
        redactor: &Redactor,
    ) -> Result<(Arc<str>, HeaderValue), String> {
        let asked = Instant::now();
        let mut state = self.state.lock().await;
        if let Some(token) = &state.token
            && token.refresh_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok((token.value.clone(), token.header.clone()));
        }
        if let Some((at, error)) = &state.failure
            && *at >= asked
        {
            return Err(error.clone());
        }
        match self.fetch(&mut state, http, base_url, redactor).await {
            Ok(token) => {
                let out = (token.value.clone(), token.header.clone());
                state.token = Some(token);
                state.failure = None;
                Ok(out)
            }
            Err(error) => {
                let error = redactor.redact_text(error);
                warn!("{error}");
                state.token = None;
                state.failure = Some((Instant::now(), error.clone()));
                Err(error)
            }
        }
    }

    async fn forget(&self, used: &Arc<str>) {
        let mut state = self.state.lock().await;
        if state.token.as_ref().is_some_and(|t| t.value == *used) {
            state.token = None;
        }
    }

    /// The token endpoint: configured, or from the discovery document (fetched once).
    async fn endpoint(
        &self,
        http: &reqwest::Client,
        base_url: &str,
    ) -> Result<(String, ClientAuth), String> {
        match &self.endpoint {
            Resolved::Token(url) => Ok((
                absolute(url, base_url)?,
                self.auth.unwrap_or(ClientAuth::Basic),
            )),
            Resolved::Discovery(url) => {
                let url = absolute(url, base_url)?;
                let fail = |why: String| {
                    format!(
                        "Cannot get an access token for securityScheme `{}`: OpenID Connect discovery at {url} failed: {why}",
                        self.scheme
                    )
                };
                let response = http
                    .get(&url)
                    .header(ACCEPT, "application/json")
                    .send()
                    .await
                    .map_err(|e| fail(error_chain(&e.without_url())))?;
                let status = response.status();
                let bytes = read_capped(response).await.map_err(fail)?;
                if !status.is_success() {
                    return Err(fail(format!("HTTP {status}")));
                }
                let doc: Value =
                    serde_json::from_slice(&bytes).map_err(|e| fail(format!("not JSON ({e})")))?;
                let token_endpoint = doc
                    .get("token_endpoint")
                    .and_then(Value::as_str)
                    .ok_or_else(|| fail("the document has no `token_endpoint`".to_owned()))?;
                let offered: Vec<&str> = doc
                    .get("token_endpoint_auth_methods_supported")
                    .and_then(Value::as_array)
                    .map(|methods| methods.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                // OpenID Connect Discovery: when the list is absent, client_secret_basic.
                let auth = self.auth.unwrap_or(
                    if !offered.is_empty()
                        && !offered.contains(&"client_secret_basic")
                        && offered.contains(&"client_secret_post")
                    {
                        ClientAuth::Post
                    } else {
                        ClientAuth::Basic
                    },
                );
                Ok((absolute(token_endpoint, &url)?, auth))
            }
        }
    }

    /// Asks the token endpoint for a token (RFC 6749 §4.4).
    async fn fetch(
        &self,
        state: &mut TokenState,
        http: &reqwest::Client,
        base_url: &str,
        redactor: &Redactor,
    ) -> Result<Token, String> {
        let (url, auth) = match &state.endpoint {
            Some(known) => known.clone(),
            None => {
                let found = self.endpoint(http, base_url).await?;
                state.endpoint = Some(found.clone());
                found
            }
        };
        let fail = |why: String| {
            format!(
                "Cannot get an access token for securityScheme `{}` from {url}: {why}",
                self.scheme
            )
        };
        let mut form = vec![("grant_type", "client_credentials".to_owned())];
        if !self.scopes.is_empty() {
            form.push(("scope", self.scopes.join(" ")));
        }
        if let Some(audience) = &self.audience {
            form.push(("audience", audience.clone()));
        }
        let mut request = http
            .post(&url)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        match auth {
            ClientAuth::Basic => {
                let credentials = STANDARD.encode(format!(
                    "{}:{}",
                    form_encode(&self.id),
                    form_encode(&self.secret)
                ));
                let header = sensitive(&format!("Basic {credentials}")).ok_or_else(|| {
                    fail("the client ID or secret cannot be sent in a header".to_owned())
                })?;
                request = request.header(AUTHORIZATION, header);
            }
            ClientAuth::Post => {
                form.push(("client_id", self.id.clone()));
                form.push(("client_secret", self.secret.clone()));
            }
        }
        let body = form
            .iter()
            .map(|(name, value)| format!("{name}={}", form_encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let sent = Instant::now();
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| fail(error_chain(&e.without_url())))?;
        let status = response.status();
        let bytes = read_capped(response).await.map_err(fail)?;
        if !status.is_success() {
            let mut excerpt = bytes;
            excerpt.truncate(2048);
            redactor.redact(&mut excerpt, false);
            return Err(fail(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&excerpt).trim()
            )));
        }
        let doc: Value =
            serde_json::from_slice(&bytes).map_err(|e| fail(format!("not JSON ({e})")))?;
        let Some(access_token) = doc.get("access_token").and_then(Value::as_str) else {
            return Err(fail("the response has no `access_token`".to_owned()));
        };
        redactor.add_token(access_token);
        if let Some(kind) = doc.get("token_type").and_then(Value::as_str)
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(fail(format!(
                "token type `{kind}` is not supported (only Bearer)"
            )));
        }
        let header = sensitive(&format!("Bearer {access_token}"))
            .ok_or_else(|| fail("the access token cannot be sent in a header".to_owned()))?;
        let lifetime = match doc.get("expires_in") {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|s| s.is_finite())
        .map(|s| Duration::from_secs_f64(s.clamp(0.0, 10.0 * 365.0 * 86_400.0)));
        let refresh_at = lifetime.map(|lifetime| sent + usable_for(lifetime));
        match lifetime {
            Some(lifetime) => info!(
                "securityScheme `{}`: new access token from {url}, valid for {} s",
                self.scheme,
                lifetime.as_secs()
            ),
            None => info!(
                "securityScheme `{}`: new access token from {url} (no lifetime given: kept until the upstream API refuses it)",
                self.scheme
            ),
        }
        Ok(Token {
            value: Arc::from(access_token),
            header,
            refresh_at,
        })
    }
}

/// How long a token of this lifetime is used: until a tenth of its lifetime (at most
/// [`MAX_REFRESH_MARGIN`]) before it expires, measured from when it was asked for.
fn usable_for(lifetime: Duration) -> Duration {
    lifetime.saturating_sub((lifetime / REFRESH_MARGIN_DIVISOR).min(MAX_REFRESH_MARGIN))
}

/// `url` as an absolute URL: relative ones resolve against `base`.
fn absolute(url: &str, base: &str) -> Result<String, String> {
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(url.to_owned());
    }
    reqwest::Url::parse(base)
        .and_then(|base| base.join(url))
        .map(|u| u.to_string())
        .map_err(|e| format!("`{url}` is not a usable URL: {e}"))
}

/// A response body, at most [`MAX_TOKEN_RESPONSE_BYTES`].
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| error_chain(&e.without_url()))?
    {
        if body.len() + chunk.len() > MAX_TOKEN_RESPONSE_BYTES {
            return Err(format!(
                "the response is larger than {MAX_TOKEN_RESPONSE_BYTES} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The secrets to search upstream responses for, in every form they are sent in.
#[derive(Default)]
struct Redactor {
    /// Configured secrets and their encodings, longest first.
    fixed: Vec<Vec<u8>>,
    /// Recent access tokens.
    tokens: RwLock<VecDeque<Vec<u8>>>,
    /// Schemes with a secret too short to search for.
    short: Vec<&'static str>,
}

/// A secret as it may appear in a response: as it is, percent-encoded (a query value),
/// form-encoded, and escaped in JSON text.
fn forms(secret: &str) -> Vec<Vec<u8>> {
    let mut out = vec![secret.as_bytes().to_vec()];
    let mut push = |form: String| {
        if !out.iter().any(|o| o == form.as_bytes()) {
            out.push(form.into_bytes());
        }
    };
    push(utf8_percent_encode(secret, COMPONENT).to_string());
    push(form_encode(secret));
    let json = Value::String(secret.to_owned()).to_string();
    let json = json[1..json.len() - 1].to_owned();
    push(json.replace('/', "\\/"));
    push(json);
    out
}

impl Redactor {
    fn add(&mut self, scheme: &'static str, secret: &str) {
        if secret.chars().count() < MIN_REDACTED_LEN {
            if !self.short.contains(&scheme) {
                self.short.push(scheme);
            }
            return;
        }
        for form in forms(secret) {
            if !self.fixed.contains(&form) {
                self.fixed.push(form);
            }
        }
        self.fixed.sort_by_key(|f| std::cmp::Reverse(f.len()));
    }

    fn add_token(&self, token: &str) {
        if token.len() < MIN_REDACTED_LEN {
            return;
        }
        let Ok(mut tokens) = self.tokens.write() else {
            return;
        };
        if tokens.iter().any(|t| t == token.as_bytes()) {
            return;
        }
        if tokens.len() >= REMEMBERED_TOKENS {
            tokens.pop_front();
        }
        tokens.push_back(token.as_bytes().to_vec());
    }

    fn redact(&self, bytes: &mut Vec<u8>, truncated: bool) {
        let tokens = self.tokens.read().map(|t| t.clone()).unwrap_or_default();
        if self.fixed.is_empty() && tokens.is_empty() {
            return;
        }
        for secret in self.fixed.iter().chain(tokens.iter()) {
            replace_all(bytes, secret);
        }
        if truncated {
            // A secret cut at the end: drop its beginning too.
            for secret in self.fixed.iter().chain(tokens.iter()) {
                let longest = (4..secret.len())
                    .rev()
                    .find(|&n| bytes.ends_with(&secret[..n]));
                if let Some(n) = longest {
                    bytes.truncate(bytes.len() - n);
                }
            }
        }
    }

    fn redact_text(&self, text: String) -> String {
        let mut bytes = text.into_bytes();
        self.redact(&mut bytes, false);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Replaces every occurrence of `needle` in `haystack` with [`REDACTED`].
fn replace_all(haystack: &mut Vec<u8>, needle: &[u8]) {
    if needle.is_empty() || haystack.len() < needle.len() {
        return;
    }
    let first = needle[0];
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i + needle.len() <= haystack.len() {
        if haystack[i] == first && haystack[i..].starts_with(needle) {
            let out = out.get_or_insert_with(|| Vec::with_capacity(haystack.len()));
            out.extend_from_slice(&haystack[copied..i]);
            out.extend_from_slice(REDACTED.as_bytes());
            i += needle.len();
            copied = i;
        } else {
            i += 1;
        }
    }
    if let Some(mut out) = out {
        out.extend_from_slice(&haystack[copied..]);
        *haystack = out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SCHEMES: &[Scheme] = &[
        Scheme {
            name: "key",
            what: "API key in header `X-Key`",
            kind: Kind::ApiKey {
                location: Location::Header,
                name: "X-Key",
                key: Setting::Literal("key-0123456789"),
            },
            caller: false,
        },
        Scheme {
            name: "missing",
            what: "HTTP bearer token",
            kind: Kind::Bearer {
                token: Setting::Env("MCPGEN_TEST_SURELY_UNSET_TOKEN"),
            },
            caller: true,
        },
        Scheme {
            name: "basic",
            what: "HTTP basic authentication",
            kind: Kind::Basic {
                username: Setting::Literal("ann"),
                password: Setting::Env("MCPGEN_TEST_SURELY_UNSET_PASSWORD"),
            },
            caller: false,
        },
        Scheme {
            name: "digest",
            what: "HTTP `digest` authentication",
            kind: Kind::Unsupported {
                reason: "HTTP `digest` authentication",
            },
            caller: false,
        },
        Scheme {
            name: "query",
            what: "API key in query `api key`",
            kind: Kind::ApiKey {
                location: Location::Query,
                name: "api key",
                key: Setting::Literal("q/s 3cr\"t"),
            },
            caller: false,
        },
    ];

    fn names(credentials: &Credentials, choice: &Choice) -> Vec<&'static str> {
        choice
            .schemes
            .iter()
            .map(|&i| credentials.schemes[i].scheme.name)
            .collect()
    }

    #[test]
    fn the_first_complete_alternative_is_chosen() {
        let c = Credentials::load(SCHEMES);
        let pick = |alts: &[&[&str]], caller| c.choose(alts, caller).map(|ch| names(&c, &ch));
        assert_eq!(pick(&[], false), Ok(vec![]));
        assert_eq!(pick(&[&["basic"], &["key"]], false), Ok(vec!["key"]));
        assert_eq!(pick(&[&["key", "query"]], false), Ok(vec!["key", "query"]));
        // Optional authentication still sends what the server has.
        assert_eq!(pick(&[&[], &["key"]], false), Ok(vec!["key"]));
        assert_eq!(pick(&[&[], &["basic"]], false), Ok(vec![]));
        // A caller's token stands in for the bearer scheme, which is then not sent by us.
        assert_eq!(pick(&[&["missing", "key"]], true), Ok(vec!["key"]));
        // Missing variables are named, per alternative.
        let error = pick(&[&["missing"], &["basic", "key"]], false).unwrap_err();
        assert!(
            error.contains(
                "set MCPGEN_TEST_SURELY_UNSET_TOKEN, or MCPGEN_TEST_SURELY_UNSET_PASSWORD in"
            ),
            "{error}"
        );
        // Only unsupported alternatives: sent without them, the API decides.
        assert_eq!(pick(&[&["digest", "key"]], false), Ok(vec!["key"]));
        assert_eq!(pick(&[&["unknown"]], false), Ok(vec![]));
        // A servable alternative with missing variables is reported over an unsupported one.
        assert!(pick(&[&["digest"], &["basic"]], false).is_err());
    }

    #[tokio::test]
    async fn credentials_are_placed_as_the_scheme_says() {
        let c = Credentials::load(SCHEMES);
        let choice = c.choose(&[&["key", "query"]], false).unwrap();
        let http = reqwest::Client::new();
        let applied = c.apply(&choice, &http, "http://127.0.0.1:9").await.unwrap();
        assert_eq!(applied.headers.len(), 1);
        assert_eq!(applied.headers[0].0, "X-Key");
        assert!(applied.headers[0].1.is_sensitive());
        assert_eq!(
            applied.query,
            [("api%20key".to_owned(), "q%2Fs%203cr%22t".to_owned())]
        );
        assert!(applied.authorization.is_none() && !applied.has_tokens());
    }

    #[test]
    fn secrets_are_redacted_in_every_form() {
        let c = Credentials::load(SCHEMES);
        let mut body = br#"{"h":"key-0123456789","q":"api%20key=q%2Fs%203cr%22t","j":"q\/s 3cr\"t","f":"q%2Fs+3cr%22t"}"#.to_vec();
        c.redact(&mut body, false);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"h":"[REDACTED]","q":"api%20key=[REDACTED]","j":"[REDACTED]","f":"[REDACTED]"}"#
        );
        let mut cut = b"abc key-01234".to_vec();
        c.redact(&mut cut, true);
        assert_eq!(cut, b"abc ");
        c.redactor.add_token("tok-abcdefgh");
        assert_eq!(
            c.redact_text("a tok-abcdefgh b".to_owned()),
            "a [REDACTED] b"
        );
        let mut plain = b"nothing to see".to_vec();
        c.redact(&mut plain, true);
        assert_eq!(plain, b"nothing to see");
    }

    #[test]
    fn tokens_are_replaced_shortly_before_they_expire() {
        assert_eq!(
            usable_for(Duration::from_secs(3600)),
            Duration::from_secs(3540)
        );
        assert_eq!(
            usable_for(Duration::from_secs(300)),
            Duration::from_secs(270)
        );
        assert_eq!(
            usable_for(Duration::from_secs(5)),
            Duration::from_millis(4500)
        );
        assert_eq!(usable_for(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn relative_token_urls_resolve_against_the_upstream() {
        assert_eq!(
            absolute("/oauth/token", "http://127.0.0.1:9/api").unwrap(),
            "http://127.0.0.1:9/oauth/token"
        );
        assert_eq!(
            absolute("https://a.example/t", "http://b").unwrap(),
            "https://a.example/t"
        );
    }
}
