//! The auth config file (`--auth`, DESIGN.md §2): parsed strictly (an unknown key is an error
//! with its JSON pointer, so a typo never silently weakens security), validated, and lowered to
//! [`AuthIr`] for the templates. Its `tools:` section (selection and overrides) is parsed and
//! applied by [`crate::lower::select`].
//!
//! Values: any string may be a whole-value `${ENV_NAME}` reference, which the generated server
//! reads at start-up (refusing to start, naming the variable, when it is missing). Secrets —
//! `client_secret`, bearer `tokens`, upstream keys and passwords — must be such references: a
//! literal secret is a generation error, so no secret value can ever reach the generated files.
//!
//! The `upstream:` section (how the server authenticates to the API) is keyed by the spec's
//! `components.securitySchemes` names, so it can only be checked against the document:
//! [`resolve_upstream`] joins the two once the spec is lowered. Every scheme an operation
//! requires gets credentials — the configured ones, else default environment variable names
//! derived from the scheme name — and each tool's [`crate::ir::CredentialUse`] alternatives.
//! Upstream variables are the one exception to "refuse to start": a server may serve tools that
//! need no credential, or another alternative, so a missing one fails only the calls that need it.

use crate::error::{Error, Result, escape_segment};
use crate::ir::{self, CredentialUse, KeyLocation, SchemeKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A configured string: a literal, or an environment variable read at start-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Setting {
    Literal(String),
    Env(String),
}

impl Setting {
    fn parse(file: &str, pointer: &str, s: &str) -> Result<Self> {
        if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
            let valid = !name.is_empty()
                && name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(Error::invalid(
                    file,
                    pointer,
                    format!(
                        "`{s}`: environment variable names are upper case letters, digits and `_`"
                    ),
                ));
            }
            return Ok(Setting::Env(name.to_string()));
        }
        if s.contains("${") {
            return Err(Error::invalid(
                file,
                pointer,
                format!("`{s}`: a `${{NAME}}` reference must be the whole value"),
            ));
        }
        Ok(Setting::Literal(s.to_string()))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    None,
    Bearer,
    Oauth,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    mode: Mode,
    bearer: Option<RawBearer>,
    oauth: Option<RawOAuth>,
    upstream: Option<Value>,
    tools: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBearer {
    tokens: Option<String>,
    #[serde(default)]
    forward: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOAuth {
    issuer: String,
    oauth_metadata_url: Option<String>,
    authorize_url: Option<String>,
    audience: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    default_scope: Option<String>,
    #[serde(default)]
    setup_proxies: bool,
    #[serde(default)]
    setup_fake_dynamic_registration: bool,
    #[serde(default)]
    forward_token: bool,
    /// Redirect URIs accepted besides loopback ones (exact matches).
    #[serde(default)]
    allowed_redirect_uris: Vec<String>,
}

/// The lowered auth configuration.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuthIr {
    pub mode: Mode,
    pub bearer: Option<BearerIr>,
    pub oauth: Option<OAuthIr>,
    /// Upstream credentials of every security scheme an operation requires, sorted by name
    /// (filled by [`resolve_upstream`]).
    pub upstream: Vec<UpstreamScheme>,
    /// The `upstream:` section as written, until [`resolve_upstream`] checks it.
    #[serde(skip)]
    upstream_config: Option<UpstreamConfig>,
}

#[derive(Debug, Clone)]
struct UpstreamConfig {
    file: String,
    entries: serde_json::Map<String, Value>,
}

/// How the server authenticates to the upstream API for one security scheme.
#[derive(Debug, Clone, Serialize)]
pub struct UpstreamScheme {
    /// The `components.securitySchemes` name.
    pub name: String,
    /// What is sent, in words (`API key in header X-API-Key`).
    pub description: String,
    pub kind: UpstreamKind,
    /// Named in the config's `upstream:` section (else the variable names are the defaults).
    pub configured: bool,
    /// A bearer-token scheme while the caller's token is forwarded (`bearer.forward`,
    /// `oauth.forward_token`): the caller's token is sent for it, and these credentials only
    /// when there is none (stdio).
    pub caller: bool,
}

/// The credential of one scheme.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UpstreamKind {
    ApiKey {
        location: KeyLocation,
        param: String,
        key: Setting,
    },
    Bearer {
        token: Setting,
    },
    Basic {
        username: Setting,
        password: Setting,
    },
    /// OAuth 2 client credentials (`oauth2` clientCredentials flow, or `openIdConnect`).
    ClientCredentials {
        client_id: Setting,
        client_secret: Setting,
        endpoint: TokenEndpoint,
        /// Requested with every token (empty: no `scope` parameter).
        scopes: Vec<String>,
        /// An `audience` parameter for the token request (Auth0).
        audience: Option<Setting>,
        /// `None`: `client_secret_basic`, unless the provider's discovery document offers only
        /// `client_secret_post`.
        auth_method: Option<ClientAuth>,
    },
    /// Nothing the server can send by itself; `bearer`: a forwarded caller token stands in.
    Unsupported {
        reason: String,
        bearer: bool,
    },
}

/// Where client-credentials tokens come from.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "via", content = "url", rename_all = "snake_case")]
pub enum TokenEndpoint {
    /// The token endpoint (relative URLs resolve against the upstream base URL).
    TokenUrl(Setting),
    /// An OpenID Connect discovery document naming the token endpoint.
    Discovery(Setting),
}

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    ClientSecretBasic,
    ClientSecretPost,
}

/// An environment variable the server reads for upstream credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpstreamEnv {
    pub name: String,
    pub scheme: String,
    pub what: String,
}

impl UpstreamScheme {
    /// The environment variables of this scheme's credential, with what each holds.
    pub fn env(&self) -> Vec<(String, &'static str)> {
        let mut out = Vec::new();
        let mut push = |s: Option<&Setting>, what: &'static str| {
            if let Some(Setting::Env(n)) = s {
                out.push((n.clone(), what));
            }
        };
        match &self.kind {
            UpstreamKind::ApiKey { key, .. } => push(Some(key), "API key (secret)"),
            UpstreamKind::Bearer { token } => push(Some(token), "bearer token (secret)"),
            UpstreamKind::Basic { username, password } => {
                push(Some(username), "user name");
                push(Some(password), "password (secret)");
            }
            UpstreamKind::ClientCredentials {
                client_id,
                client_secret,
                endpoint,
                audience,
                ..
            } => {
                push(Some(client_id), "OAuth client ID");
                push(Some(client_secret), "OAuth client secret (secret)");
                match endpoint {
                    TokenEndpoint::TokenUrl(u) => push(Some(u), "OAuth token endpoint URL"),
                    TokenEndpoint::Discovery(u) => push(Some(u), "OpenID Connect discovery URL"),
                }
                push(audience.as_ref(), "OAuth audience of the tokens");
            }
            UpstreamKind::Unsupported { .. } => {}
        }
        out
    }

    pub fn supported(&self) -> bool {
        !matches!(self.kind, UpstreamKind::Unsupported { .. })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BearerIr {
    /// Accepted tokens (comma-separated in the variable); `None`: any token, the upstream judges.
    pub tokens: Option<Setting>,
    pub forward: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct OAuthIr {
    pub issuer: Setting,
    pub oauth_metadata_url: Option<Setting>,
    pub authorize_url: Option<Setting>,
    pub audience: Option<Setting>,
    pub client_id: Option<Setting>,
    pub client_secret: Option<Setting>,
    pub default_scope: Option<Setting>,
    pub setup_proxies: bool,
    pub setup_fake_dynamic_registration: bool,
    pub forward_token: bool,
    pub allowed_redirect_uris: Vec<String>,
}

impl AuthIr {
    /// Whether the caller's `Authorization` header is forwarded to the upstream API.
    pub fn forwarding(&self) -> bool {
        self.bearer.as_ref().is_some_and(|b| b.forward)
            || self.oauth.as_ref().is_some_and(|o| o.forward_token)
    }

    /// Every environment variable of the upstream credentials, in scheme order, each once.
    pub fn upstream_env(&self) -> Vec<UpstreamEnv> {
        let mut out: Vec<UpstreamEnv> = Vec::new();
        for scheme in &self.upstream {
            for (name, what) in scheme.env() {
                if !out.iter().any(|e| e.name == name) {
                    out.push(UpstreamEnv {
                        name,
                        scheme: scheme.name.clone(),
                        what: what.to_string(),
                    });
                }
            }
        }
        out
    }

    /// Every environment variable the generated server reads for auth, sorted.
    pub fn env_vars(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut push = |s: &Option<Setting>| {
            if let Some(Setting::Env(n)) = s {
                out.push(n.clone());
            }
        };
        if let Some(b) = &self.bearer {
            push(&b.tokens);
        }
        if let Some(o) = &self.oauth {
            push(&Some(o.issuer.clone()));
            push(&o.oauth_metadata_url);
            push(&o.authorize_url);
            push(&o.audience);
            push(&o.client_id);
            push(&o.client_secret);
            push(&o.default_scope);
        }
        out.sort();
        out.dedup();
        out
    }
}

/// A secret: only a `${ENV_NAME}` reference is accepted.
fn secret_setting(file: &str, pointer: &str, s: &str) -> Result<Setting> {
    match Setting::parse(file, pointer, s)? {
        Setting::Literal(_) => Err(Error::invalid(
            file,
            pointer,
            "secrets must be `${ENV_NAME}` references, never literal values: the value would end up in the generated crate",
        )),
        env => Ok(env),
    }
}

/// An absolute http(s) URL, or a `${ENV_NAME}` reference.
fn url_setting(file: &str, pointer: &str, s: &str) -> Result<Setting> {
    let v = Setting::parse(file, pointer, s)?;
    if let Setting::Literal(u) = &v
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        return Err(Error::invalid(
            file,
            pointer,
            format!("`{u}` is not an http(s) URL"),
        ));
    }
    Ok(v)
}

/// The whole `--auth` config file: auth, the `tools:` section, and the parsed document (what
/// the inputs hash covers).
#[derive(Debug, Clone)]
pub struct Config {
    pub auth: AuthIr,
    pub tools: Option<crate::lower::select::ToolsConfig>,
    pub document: Value,
}

/// Reads and validates an auth config file.
pub fn load(path: &str) -> Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Read {
        file: path.to_string(),
        message: e.to_string(),
    })?;
    parse_config(path, &text)
}

/// Parses and validates auth config text (`file` names it in errors).
pub fn parse(file: &str, text: &str) -> Result<AuthIr> {
    parse_config(file, text).map(|c| c.auth)
}

/// Parses and validates a whole config file's text.
pub fn parse_config(file: &str, text: &str) -> Result<Config> {
    let document = if text.trim().is_empty() {
        Value::Object(serde_json::Map::new())
    } else {
        crate::spec::load::parse_text(file, text).map_err(|e| match e {
            // `{ password: ${X} }`: in a YAML flow mapping the `}` of `${X}` ends the mapping.
            Error::Syntax {
                file,
                format,
                message,
            } if text.contains("${") && text.contains('{') => Error::Syntax {
                file,
                format,
                message: format!(
                    "{message} (inside `{{ }}` a `${{NAME}}` reference must be quoted, \"${{NAME}}\", or the mapping written one key per line)"
                ),
            },
            other => other,
        })?
    };
    let raw: RawFile = serde_path_to_error::deserialize(&document).map_err(|e| {
        let pointer = crate::error::pointer_of(e.path());
        Error::invalid(file, &pointer, e.inner().to_string())
    })?;
    let tools = crate::lower::select::parse(file, raw.tools.as_ref())?;
    let auth = parse_auth(file, raw)?;
    Ok(Config {
        auth,
        tools,
        document,
    })
}

fn parse_auth(file: &str, raw: RawFile) -> Result<AuthIr> {
    let setting = |pointer: &str, s: &str| Setting::parse(file, pointer, s);
    let secret = |pointer: &str, s: &str| secret_setting(file, pointer, s);
    let url = |pointer: &str, s: &str| url_setting(file, pointer, s);
    let mut ir = AuthIr {
        mode: raw.mode,
        ..Default::default()
    };
    ir.upstream_config = match raw.upstream {
        None | Some(Value::Null) => None,
        Some(Value::Object(entries)) => Some(UpstreamConfig {
            file: file.to_string(),
            entries,
        }),
        Some(_) => {
            return Err(Error::invalid(
                file,
                "/upstream",
                "`upstream` maps securityScheme names of the spec to their credentials",
            ));
        }
    };
    match raw.mode {
        Mode::None => {
            for (key, present) in [
                ("bearer", raw.bearer.is_some()),
                ("oauth", raw.oauth.is_some()),
            ] {
                if present {
                    return Err(Error::invalid(
                        file,
                        &format!("/{key}"),
                        format!(
                            "`{key}` is configured but `mode` is `none`: set `mode: {key}` or remove the section"
                        ),
                    ));
                }
            }
        }
        Mode::Bearer => {
            if raw.oauth.is_some() {
                return Err(Error::invalid(
                    file,
                    "/oauth",
                    "`oauth` is configured but `mode` is `bearer`",
                ));
            }
            let b = raw.bearer.unwrap_or(RawBearer {
                tokens: None,
                forward: false,
            });
            ir.bearer = Some(BearerIr {
                tokens: b
                    .tokens
                    .as_deref()
                    .map(|t| secret("/bearer/tokens", t))
                    .transpose()?,
                forward: b.forward,
            });
        }
        Mode::Oauth => {
            if raw.bearer.is_some() {
                return Err(Error::invalid(
                    file,
                    "/bearer",
                    "`bearer` is configured but `mode` is `oauth`",
                ));
            }
            let Some(o) = raw.oauth else {
                return Err(Error::invalid(
                    file,
                    "",
                    "`mode: oauth` needs an `oauth` section with at least `issuer`",
                ));
            };
            if o.setup_proxies && o.client_id.is_none() {
                return Err(Error::invalid(
                    file,
                    "/oauth/setup_proxies",
                    "`setup_proxies` needs `client_id`: the proxies log clients in with the provider's client",
                ));
            }
            if o.setup_fake_dynamic_registration && !o.setup_proxies {
                return Err(Error::invalid(
                    file,
                    "/oauth/setup_fake_dynamic_registration",
                    "`setup_fake_dynamic_registration` needs `setup_proxies: true`",
                ));
            }
            for (i, u) in o.allowed_redirect_uris.iter().enumerate() {
                if let Setting::Env(_) = url(&format!("/oauth/allowed_redirect_uris/{i}"), u)? {
                    return Err(Error::invalid(
                        file,
                        &format!("/oauth/allowed_redirect_uris/{i}"),
                        "redirect URIs are literal values",
                    ));
                }
            }
            ir.oauth = Some(OAuthIr {
                issuer: url("/oauth/issuer", &o.issuer)?,
                oauth_metadata_url: o
                    .oauth_metadata_url
                    .as_deref()
                    .map(|u| url("/oauth/oauth_metadata_url", u))
                    .transpose()?,
                authorize_url: o
                    .authorize_url
                    .as_deref()
                    .map(|u| url("/oauth/authorize_url", u))
                    .transpose()?,
                audience: o
                    .audience
                    .as_deref()
                    .map(|u| setting("/oauth/audience", u))
                    .transpose()?,
                client_id: o
                    .client_id
                    .as_deref()
                    .map(|u| setting("/oauth/client_id", u))
                    .transpose()?,
                client_secret: o
                    .client_secret
                    .as_deref()
                    .map(|u| secret("/oauth/client_secret", u))
                    .transpose()?,
                default_scope: o
                    .default_scope
                    .as_deref()
                    .map(|u| setting("/oauth/default_scope", u))
                    .transpose()?,
                setup_proxies: o.setup_proxies,
                setup_fake_dynamic_registration: o.setup_fake_dynamic_registration,
                forward_token: o.forward_token,
                allowed_redirect_uris: o.allowed_redirect_uris,
            });
        }
    }
    Ok(ir)
}

/// Environment variables the generated server or its surroundings use already: default names
/// never take them.
const RESERVED_ENV: &[&str] = &[
    "MCP_TRANSPORT",
    "MCP_BIND",
    "UPSTREAM_BASE_URL",
    "MCP_PUBLIC_URL",
    "MCP_ALLOWED_HOSTS",
    "MCP_ALLOWED_ORIGINS",
    "UPSTREAM_TIMEOUT_SECS",
    "UPSTREAM_MAX_RESPONSE_BYTES",
    "MCP_STATEFUL",
    "RUST_LOG",
    "HOME",
    "HOSTNAME",
    "LANG",
    "PATH",
    "PWD",
    "SHELL",
    "TERM",
    "TMPDIR",
    "USER",
];

/// `client_id`, `client_secret`, ... of an `oauth2` or `openIdConnect` scheme.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    client_id: String,
    client_secret: String,
    scopes: Option<Value>,
    token_url: Option<String>,
    discovery_url: Option<String>,
    audience: Option<String>,
    token_endpoint_auth_method: Option<ClientAuth>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBasic {
    username: String,
    password: String,
}

/// What a scheme sends, in words.
fn describe(kind: &SchemeKind) -> String {
    match kind {
        SchemeKind::ApiKey { location, param } => {
            format!("API key in {} `{param}`", location.as_str())
        }
        SchemeKind::HttpBearer => "HTTP bearer token".into(),
        SchemeKind::HttpBasic => "HTTP basic authentication".into(),
        SchemeKind::OAuth2 {
            client_credentials: None,
            flows,
        } => {
            if flows.is_empty() {
                "OAuth 2 without flows".into()
            } else {
                format!(
                    "OAuth 2 {} flow{}",
                    flows.join(", "),
                    if flows.len() > 1 { "s" } else { "" }
                )
            }
        }
        SchemeKind::OAuth2 { .. } => "OAuth 2 client credentials".into(),
        SchemeKind::OpenIdConnect { .. } => "OpenID Connect client credentials".into(),
        SchemeKind::MutualTls => "mutualTLS (a client certificate)".into(),
        SchemeKind::Undefined => "not defined in components.securitySchemes".into(),
        SchemeKind::Unsupported { reason } => reason.clone(),
    }
}

/// The SHOUTY_SNAKE base of a scheme's default variable names: `petstore_api_key` →
/// `PETSTORE_API_KEY`, `bearerAuth` → `BEARER_AUTH`.
fn env_base(scheme: &str) -> String {
    use heck::ToShoutySnakeCase;
    let shouty: String = scheme
        .to_shouty_snake_case()
        .chars()
        .map(|c| {
            if c.is_ascii_uppercase() || c.is_ascii_digit() {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut base = String::new();
    for part in shouty.split('_').filter(|p| !p.is_empty()) {
        if !base.is_empty() {
            base.push('_');
        }
        base.push_str(part);
    }
    if base.is_empty() {
        "UPSTREAM".into()
    } else if base.starts_with(|c: char| c.is_ascii_digit()) {
        format!("SCHEME_{base}")
    } else {
        base
    }
}

/// Claims default variable names `base` + each suffix, all free: `base`, else `base_2`, ...
fn claim_env(
    taken: &mut BTreeSet<String>,
    base: &str,
    suffixes: &[&str],
    warnings: &mut Vec<String>,
    pointer: &str,
) -> Vec<String> {
    let mut n = 1;
    loop {
        let stem = if n == 1 {
            base.to_string()
        } else {
            format!("{base}_{n}")
        };
        let names: Vec<String> = suffixes.iter().map(|s| format!("{stem}{s}")).collect();
        if names.iter().all(|name| !taken.contains(name)) {
            if n > 1 {
                warnings.push(format!(
                    "{pointer}: the default environment variable name{} `{base}{}` {} taken; this scheme uses `{}`",
                    if names.len() > 1 { "s" } else { "" },
                    suffixes.first().copied().unwrap_or(""),
                    if names.len() > 1 { "are" } else { "is" },
                    names.join("`, `")
                ));
            }
            taken.extend(names.iter().cloned());
            return names;
        }
        n += 1;
    }
}

/// The scopes a scheme's tokens are requested with by default: every scope the operations
/// require of it, sorted.
fn required_scopes(api: &ir::Api, scheme: &str) -> Vec<String> {
    let mut scopes: Vec<String> = api
        .tools
        .iter()
        .flat_map(|t| t.security.iter())
        .filter_map(|alt| alt.get(scheme))
        .flatten()
        .cloned()
        .collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

/// Credentials of a scheme the config does not mention: default variable names.
fn default_kind(
    scheme: &ir::SecurityScheme,
    scopes: Vec<String>,
    taken: &mut BTreeSet<String>,
    warnings: &mut Vec<String>,
) -> UpstreamKind {
    let base = env_base(&scheme.name);
    let mut claim = |suffixes: &[&str]| {
        claim_env(taken, &base, suffixes, warnings, &scheme.pointer)
            .into_iter()
            .map(Setting::Env)
            .collect::<Vec<_>>()
    };
    let client = |names: Vec<Setting>, endpoint: TokenEndpoint| {
        let mut names = names.into_iter();
        UpstreamKind::ClientCredentials {
            client_id: names.next().unwrap_or(Setting::Env(String::new())),
            client_secret: names.next().unwrap_or(Setting::Env(String::new())),
            endpoint,
            scopes,
            audience: None,
            auth_method: None,
        }
    };
    match &scheme.kind {
        SchemeKind::ApiKey { location, param } => UpstreamKind::ApiKey {
            location: *location,
            param: param.clone(),
            key: claim(&[""]).remove(0),
        },
        SchemeKind::HttpBearer => UpstreamKind::Bearer {
            token: claim(&[""]).remove(0),
        },
        SchemeKind::HttpBasic => {
            let mut names = claim(&["_USERNAME", "_PASSWORD"]).into_iter();
            UpstreamKind::Basic {
                username: names.next().unwrap_or(Setting::Env(String::new())),
                password: names.next().unwrap_or(Setting::Env(String::new())),
            }
        }
        SchemeKind::OAuth2 {
            client_credentials: Some(flow),
            ..
        } => client(
            claim(&["_CLIENT_ID", "_CLIENT_SECRET"]),
            TokenEndpoint::TokenUrl(Setting::Literal(flow.token_url.clone())),
        ),
        SchemeKind::OAuth2 {
            client_credentials: None,
            ..
        } => UpstreamKind::Unsupported {
            reason: "the server gets OAuth tokens by itself with client credentials only".into(),
            bearer: true,
        },
        SchemeKind::OpenIdConnect { discovery_url } => client(
            claim(&["_CLIENT_ID", "_CLIENT_SECRET"]),
            TokenEndpoint::Discovery(Setting::Literal(discovery_url.clone())),
        ),
        SchemeKind::MutualTls => UpstreamKind::Unsupported {
            reason: "the server presents no client certificate".into(),
            bearer: false,
        },
        SchemeKind::Undefined => UpstreamKind::Unsupported {
            reason: "not defined in components.securitySchemes".into(),
            bearer: false,
        },
        SchemeKind::Unsupported { reason } => UpstreamKind::Unsupported {
            reason: reason.clone(),
            bearer: false,
        },
    }
}

/// The configured credentials of one scheme, checked against its kind.
fn configured_kind(
    file: &str,
    at: &str,
    scheme: &ir::SecurityScheme,
    value: &Value,
    default_scopes: Vec<String>,
) -> Result<UpstreamKind> {
    let name = &scheme.name;
    let what = describe(&scheme.kind);
    let shape = |expected: &str| {
        Error::invalid(
            file,
            at,
            format!("securityScheme `{name}` ({what}): its credentials are {expected}"),
        )
    };
    let string = |expected: &str| -> Result<&str> { value.as_str().ok_or_else(|| shape(expected)) };
    match &scheme.kind {
        SchemeKind::ApiKey { location, param } => Ok(UpstreamKind::ApiKey {
            location: *location,
            param: param.clone(),
            key: secret_setting(file, at, string("one `${ENV_NAME}` string")?)?,
        }),
        SchemeKind::HttpBearer => Ok(UpstreamKind::Bearer {
            token: secret_setting(file, at, string("one `${ENV_NAME}` string (the token)")?)?,
        }),
        SchemeKind::HttpBasic => {
            if !value.is_object() {
                return Err(shape(
                    "a mapping: `username` and `password` (a `${ENV_NAME}`)",
                ));
            }
            let raw: RawBasic = deserialize(file, at, value)?;
            Ok(UpstreamKind::Basic {
                username: Setting::parse(file, &format!("{at}/username"), &raw.username)?,
                password: secret_setting(file, &format!("{at}/password"), &raw.password)?,
            })
        }
        SchemeKind::OAuth2 { .. } | SchemeKind::OpenIdConnect { .. } => {
            if !value.is_object() {
                return Err(shape(
                    "a mapping: `client_id`, `client_secret` (a `${ENV_NAME}`) and optionally `scopes`, `token_url`, `audience`",
                ));
            }
            let raw: RawClient = deserialize(file, at, value)?;
            let token_url = raw
                .token_url
                .as_deref()
                .map(|u| url_setting(file, &format!("{at}/token_url"), u))
                .transpose()?;
            let endpoint = match (&scheme.kind, token_url) {
                (_, Some(u)) => TokenEndpoint::TokenUrl(u),
                (SchemeKind::OpenIdConnect { discovery_url }, None) => {
                    TokenEndpoint::Discovery(match raw.discovery_url.as_deref() {
                        Some(u) => url_setting(file, &format!("{at}/discovery_url"), u)?,
                        None => Setting::Literal(discovery_url.clone()),
                    })
                }
                (
                    SchemeKind::OAuth2 {
                        client_credentials: Some(flow),
                        ..
                    },
                    None,
                ) => TokenEndpoint::TokenUrl(Setting::Literal(flow.token_url.clone())),
                (SchemeKind::OAuth2 { flows, .. }, None) => {
                    return Err(Error::invalid(
                        file,
                        at,
                        format!(
                            "securityScheme `{name}` declares no clientCredentials flow ({}): add `token_url` to get tokens with client credentials from that endpoint anyway",
                            if flows.is_empty() {
                                "no flow at all".to_string()
                            } else {
                                format!("only {}", flows.join(", "))
                            }
                        ),
                    ));
                }
                _ => return Err(shape("client credentials")),
            };
            if raw.discovery_url.is_some()
                && !matches!(scheme.kind, SchemeKind::OpenIdConnect { .. })
            {
                return Err(Error::invalid(
                    file,
                    &format!("{at}/discovery_url"),
                    format!(
                        "securityScheme `{name}` is oauth2, not openIdConnect: give its token endpoint as `token_url`"
                    ),
                ));
            }
            let scopes = match &raw.scopes {
                None => default_scopes,
                Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
                Some(Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        v.as_str().map(str::to_string).ok_or_else(|| {
                            Error::invalid(file, &format!("{at}/scopes/{i}"), "a scope is a string")
                        })
                    })
                    .collect::<Result<_>>()?,
                Some(_) => {
                    return Err(Error::invalid(
                        file,
                        &format!("{at}/scopes"),
                        "`scopes` is a list of scope names (or one space-separated string)",
                    ));
                }
            };
            Ok(UpstreamKind::ClientCredentials {
                client_id: Setting::parse(file, &format!("{at}/client_id"), &raw.client_id)?,
                client_secret: secret_setting(
                    file,
                    &format!("{at}/client_secret"),
                    &raw.client_secret,
                )?,
                endpoint,
                scopes,
                audience: raw
                    .audience
                    .as_deref()
                    .map(|a| Setting::parse(file, &format!("{at}/audience"), a))
                    .transpose()?,
                auth_method: raw.token_endpoint_auth_method,
            })
        }
        SchemeKind::MutualTls | SchemeKind::Undefined | SchemeKind::Unsupported { .. } => {
            Err(Error::invalid(
                file,
                at,
                format!(
                    "securityScheme `{name}` ({what}) cannot be sent by the generated server: remove it from `upstream`"
                ),
            ))
        }
    }
}

fn deserialize<T: serde::de::DeserializeOwned>(file: &str, at: &str, value: &Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let pointer = format!("{at}{}", crate::error::pointer_of(e.path()));
        Error::invalid(file, &pointer, e.inner().to_string())
    })
}

/// Whether a credential goes into the `Authorization` header.
fn uses_authorization(kind: &UpstreamKind) -> bool {
    match kind {
        UpstreamKind::ApiKey {
            location: KeyLocation::Header,
            param,
            ..
        } => param.eq_ignore_ascii_case("authorization"),
        UpstreamKind::ApiKey { .. } => false,
        UpstreamKind::Bearer { .. }
        | UpstreamKind::Basic { .. }
        | UpstreamKind::ClientCredentials { .. } => true,
        UpstreamKind::Unsupported { bearer, .. } => *bearer,
    }
}

/// Joins the `upstream:` section with the spec's security schemes: checks every configured
/// entry against the scheme it names (a located error otherwise), gives every scheme an
/// operation requires its credentials (default variable names where the config is silent),
/// and decides each tool's credential alternatives. Warns about schemes the server cannot
/// send and about configurations that cannot take effect.
pub fn resolve_upstream(api: &mut ir::Api) -> Result<()> {
    let forwarding = api.auth.forwarding();
    let (file, entries) = match api.auth.upstream_config.take() {
        Some(c) => (c.file, c.entries),
        None => (String::new(), serde_json::Map::new()),
    };
    let schemes: BTreeMap<&str, &ir::SecurityScheme> = api
        .security_schemes
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    let mut warnings = Vec::new();
    let mut configured: BTreeMap<String, UpstreamKind> = BTreeMap::new();
    for (key, value) in &entries {
        let at = format!("/upstream/{}", escape_segment(key));
        let scheme = schemes
            .get(key.as_str())
            .filter(|s| s.kind != SchemeKind::Undefined);
        let Some(scheme) = scheme else {
            let defined: Vec<String> = api
                .security_schemes
                .iter()
                .filter(|s| s.kind != SchemeKind::Undefined)
                .map(|s| format!("`{}`", s.name))
                .collect();
            return Err(Error::invalid(
                &file,
                &at,
                if defined.is_empty() {
                    format!(
                        "no securityScheme `{key}` in the spec: it defines none (components.securitySchemes)"
                    )
                } else {
                    format!(
                        "no securityScheme `{key}` in the spec: its components.securitySchemes are {}",
                        defined.join(", ")
                    )
                },
            ));
        };
        let kind = configured_kind(&file, &at, scheme, value, required_scopes(api, key))?;
        if !scheme.used {
            warnings.push(format!(
                "{file}#{at}: no operation requires securityScheme `{key}`; these credentials are never sent"
            ));
        }
        if forwarding && scheme.kind.is_bearer() {
            warnings.push(format!(
                "{file}#{at}: the caller's forwarded token is sent for securityScheme `{key}` (`bearer.forward` / `oauth.forward_token`); these credentials are used only without one (stdio)"
            ));
        }
        configured.insert(key.clone(), kind);
    }

    let mut taken: BTreeSet<String> = RESERVED_ENV.iter().map(|s| s.to_string()).collect();
    taken.extend(api.auth.env_vars());
    for kind in configured.values() {
        let probe = UpstreamScheme {
            name: String::new(),
            description: String::new(),
            kind: kind.clone(),
            configured: true,
            caller: false,
        };
        taken.extend(probe.env().into_iter().map(|(n, _)| n));
    }
    let mut upstream = Vec::new();
    for scheme in api.security_schemes.iter().filter(|s| s.used) {
        let (kind, is_configured) = match configured.remove(&scheme.name) {
            Some(kind) => (kind, true),
            None => (
                default_kind(
                    scheme,
                    required_scopes(api, &scheme.name),
                    &mut taken,
                    &mut warnings,
                ),
                false,
            ),
        };
        let caller = forwarding && scheme.kind.is_bearer();
        // Undefined names and mutualTLS were warned about already (lowering, normalising).
        if let UpstreamKind::Unsupported { reason, .. } = &kind
            && !caller
            && !matches!(scheme.kind, SchemeKind::Undefined | SchemeKind::MutualTls)
        {
            let what = describe(&scheme.kind);
            warnings.push(format!(
                "{}: securityScheme `{}` ({what}) cannot be sent by the server{}; calls with no other alternative go out without it and the API decides{}",
                scheme.pointer,
                scheme.name,
                if *reason == what {
                    String::new()
                } else {
                    format!(": {reason}")
                },
                if scheme.kind.is_bearer() {
                    "; forward the caller's token (`bearer.forward`, `oauth.forward_token`) or give `upstream` client credentials with a `token_url`"
                } else {
                    ""
                }
            ));
        }
        upstream.push(UpstreamScheme {
            name: scheme.name.clone(),
            description: match &kind {
                UpstreamKind::ClientCredentials {
                    endpoint: TokenEndpoint::Discovery(_),
                    ..
                } => "OAuth 2 client credentials (token endpoint from OpenID Connect discovery)"
                    .into(),
                // Also an oauth2 scheme without the flow, configured with a `token_url`.
                UpstreamKind::ClientCredentials { .. } => "OAuth 2 client credentials".into(),
                _ => describe(&scheme.kind),
            },
            kind,
            configured: is_configured,
            caller,
        });
    }

    let by_name: BTreeMap<&str, &UpstreamScheme> =
        upstream.iter().map(|s| (s.name.as_str(), s)).collect();
    for tool in &mut api.tools {
        let mut conflict = false;
        let mut alternatives: Vec<Vec<CredentialUse>> = tool
            .security
            .iter()
            .map(|alt| {
                let in_authorization = alt
                    .keys()
                    .filter_map(|k| by_name.get(k.as_str()))
                    .filter(|s| uses_authorization(&s.kind))
                    .count();
                conflict |= in_authorization > 1;
                alt.keys()
                    .map(|k| {
                        let s = by_name.get(k.as_str());
                        CredentialUse {
                            scheme: k.clone(),
                            env: s
                                .map(|s| s.env().into_iter().map(|(n, _)| n).collect())
                                .unwrap_or_default(),
                            caller: s.is_some_and(|s| s.caller),
                            supported: s.is_some_and(|s| s.supported() || s.caller),
                        }
                    })
                    .collect()
            })
            .collect();
        // Alternatives that differ in scopes only send the same credentials.
        let mut seen = Vec::new();
        alternatives.retain(|alt| {
            let fresh = !seen.contains(alt);
            if fresh {
                seen.push(alt.clone());
            }
            fresh
        });
        tool.credentials = alternatives;
        if conflict {
            tool.warnings.push(format!(
                "{}/security: one requirement combines two schemes that both use the Authorization header; only one can be sent",
                tool.pointer
            ));
        }
    }
    api.auth.upstream = upstream;
    api.warnings.extend(warnings);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse("auth.yaml", text).unwrap_err().to_string()
    }

    #[test]
    fn strict_and_located() {
        assert_eq!(
            err("mode: bearer\nbearer:\n  tokenz: x\n"),
            "auth.yaml#/bearer/tokenz: unknown field `tokenz`, expected `tokens` or `forward`"
        );
        assert_eq!(
            err("mode: bearer\nbearer:\n  tokens: abc\n"),
            "auth.yaml#/bearer/tokens: secrets must be `${ENV_NAME}` references, never literal values: the value would end up in the generated crate"
        );
        assert!(
            err("mode: oauth\noauth:\n  issuer: https://x/\n  setup_proxies: true\n")
                .contains("#/oauth/setup_proxies")
        );
        assert!(err("mode: oauth\noauth:\n  issuer: https://x/\n  client_id: a\n  client_secret: s3cret\n").contains("#/oauth/client_secret"));
        assert!(err("mode: magic\n").starts_with("auth.yaml#/mode: unknown variant `magic`"));
        assert!(err("mode: none\nbearer: {}\n").contains("#/bearer"));
        assert!(err("mode: bearer\nbearer:\n  tokens: ${lower}\n").contains("upper case"));
        assert!(err("mode: bearer\nbearer:\n  tokens: pre${X}\n").contains("whole value"));
    }

    #[test]
    fn default_env_names() {
        assert_eq!(env_base("petstore_api_key"), "PETSTORE_API_KEY");
        assert_eq!(env_base("bearerAuth"), "BEARER_AUTH");
        assert_eq!(env_base("OAuth2 (prod)"), "O_AUTH2_PROD");
        assert_eq!(env_base("2fa"), "SCHEME_2FA");
        assert_eq!(env_base("--"), "UPSTREAM");
        let mut taken: BTreeSet<String> = ["API_KEY".to_string(), "BASIC_PASSWORD".to_string()]
            .into_iter()
            .collect();
        let mut warnings = Vec::new();
        assert_eq!(
            claim_env(&mut taken, "API_KEY", &[""], &mut warnings, "#/x"),
            ["API_KEY_2"]
        );
        assert_eq!(
            claim_env(
                &mut taken,
                "BASIC",
                &["_USERNAME", "_PASSWORD"],
                &mut warnings,
                "#/y"
            ),
            ["BASIC_2_USERNAME", "BASIC_2_PASSWORD"]
        );
        assert_eq!(
            claim_env(&mut taken, "API_KEY", &[""], &mut warnings, "#/z"),
            ["API_KEY_3"]
        );
        assert_eq!(warnings.len(), 3);
        assert!(warnings[1].contains("`BASIC_2_USERNAME`, `BASIC_2_PASSWORD`"));
    }

    #[test]
    fn upstream_must_be_a_mapping() {
        assert!(err("upstream: 3\n").starts_with("auth.yaml#/upstream: "));
        assert!(parse("a.yaml", "upstream:\n").is_ok());
        let flow = parse(
            "a.yaml",
            "upstream:\n  b: { username: ${U}, password: ${P} }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(flow.contains("must be quoted"), "{flow}");
    }

    #[test]
    fn settings() {
        let ir = parse(
            "a.yaml",
            "mode: oauth\noauth:\n  issuer: https://tenant.example.com/\n  audience: https://api.example.com/\n  client_id: ${OAUTH_CLIENT_ID}\n  client_secret: ${OAUTH_CLIENT_SECRET}\n  setup_proxies: true\n",
        )
        .unwrap();
        let o = ir.oauth.as_ref().unwrap();
        assert_eq!(
            o.issuer,
            Setting::Literal("https://tenant.example.com/".into())
        );
        assert_eq!(o.client_id, Some(Setting::Env("OAUTH_CLIENT_ID".into())));
        assert_eq!(ir.env_vars(), ["OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET"]);
        assert_eq!(parse("a.yaml", "").unwrap().mode, Mode::None);
    }
}
