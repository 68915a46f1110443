//! Mode `oauth`: the server is an OAuth 2.1 resource server (MCP 2025-06-18 and later).
//!
//! - `/.well-known/oauth-protected-resource` (and `…/mcp`): RFC 9728 metadata naming the
//!   authorization server, the resource (`<public-url>/mcp`) and the scopes the tools need.
//! - `/mcp` takes access tokens checked as `token_validation` says. `jwt` (the default): JWTs
//!   signed with an asymmetric algorithm by a key of the issuer's JWKS (cached; fetched again for
//!   an unknown `kid`, at most every 30 s), with the configured `iss`, the audience (the
//!   configured one, else `<public-url>/mcp`), and `exp`/`nbf` within 60 s of leeway.
//!   `introspection`: every token is sent to the provider's RFC 7662 endpoint, authenticated as
//!   the configured client; an active answer is judged as a JWT's claims (`iss` when present,
//!   `aud`, `exp`, `nbf`, `scope`) and kept at most 60 s and never past `exp` (10 000 answers at
//!   most); `active: false` is a 401, a provider that cannot answer a 503. `auto`: JWTs as
//!   `jwt`, any other token as `introspection`. A missing or invalid token gets 401 with `WWW-Authenticate: Bearer
//!   resource_metadata="…"`; a tool call the token has no scopes for gets 403
//!   `insufficient_scope`.
//! - With `setup_proxies`, for providers without MCP discovery or dynamic registration, this
//!   server is the authorization server clients see: `/.well-known/oauth-authorization-server`
//!   (the provider's metadata with our issuer and endpoints), `/oauth/authorize` (to the
//!   provider, with the configured client, audience and default scopes), `/oauth/callback` (the
//!   code back to the client's `redirect_uri`, under our issuer: RFC 9207), `/oauth/token` (the
//!   exchange with the provider, adding the client secret, which clients never see) and, with
//!   `setup_fake_dynamic_registration`, `/oauth/register` (RFC 7591, a public client).
//!
//! The proxies keep no table: what one step of a login must know in the next travels sealed
//! (`sealed.rs`, under `MCP_STATE_KEY`), so each step may land on any replica and nothing an
//! unauthenticated caller sends is remembered. The `state` sent to the provider seals the
//! client's `redirect_uri`, `state`, `client_id` and PKCE `code_challenge` (10 minutes); the code
//! handed to the client seals the provider's code with the same bindings (10 minutes), and
//! `/oauth/token` checks them before the provider sees the code: the same `redirect_uri`, the same
//! `client_id` when both requests name one, and the PKCE verifier (which the provider checks too).
//! Single use of a code is the provider's: a sealed code is only ever redeemed by sending the
//! provider's own code, which the provider accepts once (RFC 6749 §4.1.2). A sealed `state` may
//! be presented again within its 10 minutes, but only ever sends a code to the `redirect_uri`
//! sealed in it, where PKCE and the client's own `state` check stop a code the client did not ask
//! for. Every parameter has a length bound; a longer one is a 400 naming it.

#[path = "sealed.rs"]
mod sealed;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use tracing::warn;
use url::Url;

use self::sealed::{KeySource, Purpose, Refused, STATE_KEY_ENV, Sealer, now_secs};
use crate::admission::Caller;
use crate::auth::{Auth, BoxFuture, Rejection, Verify, json_response};
use crate::config::Setting;
use crate::redact::Redactor;
use crate::settings::resolve_opt;

/// The `oauth` section of the `--auth` file, as the generated `auth_config.rs` names it.
pub use crate::config::OAuthConfig as Config;
/// `oauth.token_validation` and `oauth.provider`, as the generated `auth_config.rs` names them.
pub use crate::config::{Profile, TokenValidation};

/// Signature algorithms accepted: asymmetric ones only (never `none` or HMAC, so a token
/// "signed" with the public key as an HMAC secret fails).
const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];
/// Clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 60;
/// How long the provider's metadata and keys are used before they are fetched again.
const CACHE_TTL: Duration = Duration::from_secs(3600);
/// The JWKS is fetched again for an unknown `kid` at most this often.
const JWKS_MIN_REFRESH: Duration = Duration::from_secs(30);
/// After a failed fetch, the next attempt waits this long.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);
/// How long a login may take from `/oauth/authorize` to `/oauth/callback` (its sealed `state`
/// expires then).
const STATE_TTL_SECS: u64 = 600;
/// How long a code handed to a client stays redeemable here (RFC 6749 §4.1.2: at most 10
/// minutes; the provider's own code usually expires sooner, and then that decides).
const CODE_TTL_SECS: u64 = 600;
/// Time limit of every request to the provider.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes of a query string (`/oauth/authorize`, `/oauth/callback`) accepted at most.
const MAX_QUERY_BYTES: usize = 8 * 1024;
/// Bytes of a `/oauth/token` or `/oauth/register` body read at most.
const MAX_BODY_BYTES: usize = 16 * 1024;
/// Bytes of a parameter without a bound of its own.
const MAX_PARAM_BYTES: usize = 2048;
/// Bounds of particular parameters, in bytes (decoded).
const MAX_REDIRECT_URI_BYTES: usize = 2048;
const MAX_CLIENT_STATE_BYTES: usize = 512;
const MAX_CLIENT_ID_BYTES: usize = 512;
/// The provider's authorization code (some providers' codes run to a kilobyte and more).
const MAX_PROVIDER_CODE_BYTES: usize = 4096;
/// A sealed `state` or code: the bounded values above, sealed.
const MAX_SEALED_BYTES: usize = 8 * 1024;
const MAX_REFRESH_TOKEN_BYTES: usize = 8 * 1024;
/// Bytes of a token endpoint answer read at most.
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;
/// Bytes of the provider's metadata or key set read at most.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// Introspection answers (RFC 7662) are kept at most this long, and never past the token's `exp`
/// (DESIGN.md §7); `MCP_INTROSPECTION_CACHE_SECS` may shorten it (0: every request asks).
const INTROSPECTION_CACHE_MAX: Duration = Duration::from_secs(60);
/// The environment variable that shortens [`INTROSPECTION_CACHE_MAX`].
const INTROSPECTION_CACHE_ENV: &str = "MCP_INTROSPECTION_CACHE_SECS";
/// Introspected tokens remembered at most (the soonest to expire make room first).
const INTROSPECTION_CACHE_ENTRIES: usize = 10_000;
/// Bytes of an introspection answer read at most.
const MAX_INTROSPECTION_RESPONSE_BYTES: usize = 64 * 1024;
/// A client ID metadata document is read up to this many bytes (the CIMD draft's 5 KB).
const CIMD_MAX_BYTES: usize = 5 * 1024;
/// Time limit of a client ID metadata document's fetch (resolving, connecting, reading).
const CIMD_TIMEOUT: Duration = Duration::from_secs(5);
/// Client ID metadata documents kept at most, and for how long.
const CIMD_CACHE_ENTRIES: usize = 1000;
const CIMD_CACHE_TTL: Duration = Duration::from_secs(300);
/// Google's token information endpoint (its access tokens are opaque).
const GOOGLE_TOKENINFO: &str = "https://oauth2.googleapis.com/tokeninfo";
/// Scopes of OpenID Connect itself, which Entra ID takes beside `<app>/.default`.
const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];
/// Of a provider's error answer, the `error_description` relayed at most (characters).
const MAX_RELAYED_DESCRIPTION: usize = 512;
/// Query parameters of an authorization request passed on to the provider as they are.
const PASSED_ON: &[&str] = &[
    "code_challenge",
    "code_challenge_method",
    "resource",
    "nonce",
    "prompt",
    "login_hint",
    "max_age",
    "ui_locales",
    "acr_values",
    "display",
];

/// Builds mode `oauth`: resolves the settings (a missing environment variable stops the server),
/// and returns the `/mcp` guard with the metadata and proxy routes.
pub fn build(public_url: &str, config: &Config) -> Result<Auth, String> {
    let public_url = public_url.trim_end_matches('/').to_owned();
    let resolve = |s: Option<Setting>, what: &str| resolve_opt(s, what);
    let issuer = config.issuer.resolve("OAuth issuer")?;
    let profile = config.provider;
    let metadata_urls = match resolve(config.oauth_metadata_url, "OAuth metadata URL")? {
        Some(url) => vec![url],
        None => discovery_urls(&issuer, profile),
    };
    let audience = resolve(config.audience, "OAuth audience")?;
    let client_id = resolve(config.client_id, "OAuth client ID")?;
    if config.setup_proxies && client_id.is_none() {
        return Err("`setup_proxies` needs an OAuth client_id".to_owned());
    }
    let resource = format!("{public_url}/mcp");
    let client_secret = resolve(config.client_secret, "OAuth client secret")?;
    // The client secret never reaches a client, not even inside a relayed provider error.
    let mut redactor = Redactor::default();
    if let Some(secret) = &client_secret {
        redactor.add("oauth", secret);
        if let Some(id) = &client_id {
            redactor.add("oauth", &basic_credentials(id, secret));
        }
    }
    let introspection_url = resolve(
        config.introspection_endpoint,
        "OAuth token introspection endpoint",
    )?;
    if config.token_validation != TokenValidation::Jwt && client_id.is_none() {
        return Err(
            "token introspection needs an OAuth client_id (and usually a client_secret)".to_owned(),
        );
    }
    let introspection_ttl = match std::env::var(INTROSPECTION_CACHE_ENV) {
        Ok(v) if !v.trim().is_empty() => {
            let secs: u64 = v.trim().parse().map_err(|_| {
                format!(
                    "{INTROSPECTION_CACHE_ENV} must be a number of seconds (0 to 60), not `{v}`"
                )
            })?;
            Duration::from_secs(secs).min(INTROSPECTION_CACHE_MAX)
        }
        _ => INTROSPECTION_CACHE_MAX,
    };
    let sealer = if config.setup_proxies {
        let (sealer, source) = Sealer::from_env()?;
        if source == KeySource::Random {
            warn!(
                "{STATE_KEY_ENV} is not set (or empty): the OAuth proxies seal logins in progress under a random key \
                 made now, so every step of a login must reach this same instance (run one replica, \
                 or set {STATE_KEY_ENV} to the same `openssl rand -base64 32` on every replica), and \
                 logins in progress fail when it restarts"
            );
        }
        Some(sealer)
    } else {
        None
    };
    let expected_audience = match profile {
        // Their access tokens are the OAuth client's own.
        Profile::Google | Profile::Github => client_id.clone().unwrap_or_default(),
        _ => audience.clone().unwrap_or_else(|| resource.clone()),
    };
    let mut accepted_audiences = vec![expected_audience.clone()];
    if profile == Profile::Entra
        && let Some(id) = expected_audience.strip_prefix("api://")
    {
        // v2.0 access tokens name the API by its application (client) ID.
        accepted_audiences.push(id.trim_end_matches('/').to_owned());
    }
    let provider = Arc::new(Provider {
        issuers: accepted_issuers(&issuer, profile),
        profile,
        accepted_audiences,
        github_metadata: (profile == Profile::Github).then(|| github_metadata(&issuer)),
        expected_audience,
        metadata_urls,
        authorize_url: resolve(config.authorize_url, "OAuth authorize URL")?,
        audience,
        client_id,
        client_secret,
        default_scope: resolve(config.default_scope, "OAuth default scope")?
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
        setup_proxies: config.setup_proxies,
        fake_registration: config.setup_proxies && config.setup_fake_dynamic_registration,
        forward_token: config.forward_token,
        allowed_redirect_uris: config.allowed_redirect_uris,
        authorization_server: if config.setup_proxies {
            public_url.clone()
        } else {
            issuer.clone()
        },
        public_url: public_url.clone(),
        resource,
        // Secrets go in token requests: redirects are followed within the provider's origin
        // only, never with the client secret to another.
        http: reqwest::Client::builder()
            .timeout(PROVIDER_TIMEOUT)
            .redirect(crate::transport::same_origin_redirects())
            .user_agent(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| format!("cannot build the HTTP client for the OAuth provider: {e}"))?,
        metadata: tokio::sync::Mutex::new(Cached::default()),
        jwks: tokio::sync::Mutex::new(Cached::default()),
        validation: config.token_validation,
        introspection_url,
        introspected: std::sync::Mutex::new(HashMap::new()),
        introspection_ttl,
        cimd_allow_private: config.cimd_allow_private_hosts,
        cimd_cache: std::sync::Mutex::new(HashMap::new()),
        sealer,
        redactor,
    });

    let prm_url = format!("{public_url}/.well-known/oauth-protected-resource/mcp");
    let mut routes = Router::new()
        .route(
            "/.well-known/oauth-protected-resource",
            get(protected_resource),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(protected_resource),
        );
    if provider.setup_proxies {
        routes = routes
            .route(
                "/.well-known/oauth-authorization-server",
                get(authorization_server),
            )
            .route("/oauth/authorize", get(authorize))
            .route("/oauth/callback", get(callback))
            .route("/oauth/token", post(token));
        if provider.fake_registration {
            routes = routes.route("/oauth/register", post(register));
        }
        routes = routes.layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    }
    let routes = routes
        .layer(axum::middleware::from_fn(cors))
        .with_state(provider.clone());

    let summary = format!(
        "oauth: access tokens from {} ({}) for audience {} required on /mcp; metadata at {prm_url}; \
         {}; the caller's token is {}forwarded to the upstream API",
        provider.issuers[0],
        match provider.validation {
            TokenValidation::Jwt => "JWTs checked against the issuer's keys".to_owned(),
            TokenValidation::Introspection => format!(
                "every token introspected (RFC 7662), answers kept up to {} s",
                provider.introspection_ttl.as_secs()
            ),
            TokenValidation::Auto => format!(
                "JWTs checked against the issuer's keys, other tokens introspected (RFC 7662), answers kept up to {} s",
                provider.introspection_ttl.as_secs()
            ),
        },
        provider.expected_audience,
        if provider.setup_proxies {
            format!(
                "authorization server proxy at {public_url} (/oauth/authorize, /oauth/callback, /oauth/token{})",
                if provider.fake_registration {
                    ", /oauth/register"
                } else {
                    ""
                }
            )
        } else {
            "clients use the provider directly".to_owned()
        },
        if provider.forward_token { "" } else { "not " }
    );

    // Fetch the provider's metadata and keys now, so that a wrong configuration shows at once;
    // `/readyz` answers 503 until they came (retried every 2 s).
    let warm = provider.clone();
    let startup = crate::readiness::pending();
    tokio::spawn(async move {
        let mut warned = false;
        loop {
            // Introspection needs the provider's endpoints only; JWTs its keys too.
            let ready = if warm.validation == TokenValidation::Introspection {
                warm.metadata().await.map(drop)
            } else {
                warm.jwks(false).await.map(drop)
            };
            match ready {
                Ok(()) => break,
                Err(e) if !warned => {
                    warn!(
                        "OAuth provider not reachable yet (/readyz answers 503 until it is): {e}"
                    );
                    warned = true;
                }
                Err(_) => {}
            }
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        }
        if warned {
            tracing::info!("OAuth provider reached: ready");
        }
        startup.done();
    });

    Ok(Auth::verifier(
        "oauth",
        provider,
        prm_url,
        crate::auth_config::SCOPES_SUPPORTED,
        crate::auth_config::TOOL_SCOPES,
        routes,
        summary,
    ))
}

/// Where the provider's metadata is looked for when `oauth_metadata_url` is not configured:
/// OpenID Connect discovery, then RFC 8414.
fn discovery_urls(issuer: &str, profile: Profile) -> Vec<String> {
    let trimmed = issuer.trim_end_matches('/');
    let mut urls = vec![format!("{trimmed}/.well-known/openid-configuration")];
    if profile == Profile::Okta {
        // Okta's custom authorization servers publish RFC 8414 metadata under the issuer
        // (`/oauth2/<id>/.well-known/oauth-authorization-server`), with their custom scopes.
        urls.insert(
            0,
            format!("{trimmed}/.well-known/oauth-authorization-server"),
        );
    }
    if let Ok(url) = Url::parse(trimmed) {
        let path = url.path().trim_end_matches('/');
        let mut base = url.clone();
        base.set_path("");
        base.set_query(None);
        urls.push(format!(
            "{}/.well-known/oauth-authorization-server{path}",
            base.as_str().trim_end_matches('/')
        ));
    }
    urls
}

/// GitHub's endpoints as a metadata document (GitHub has no OpenID Connect and no RFC 8414
/// metadata): under the issuer's origin (`https://github.com`, or a GitHub Enterprise Server).
fn github_metadata(issuer: &str) -> Arc<Map<String, Value>> {
    let origin = Url::parse(issuer)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| "https://github.com".to_owned());
    let doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{origin}/login/oauth/authorize"),
        "token_endpoint": format!("{origin}/login/oauth/access_token"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
    });
    match doc {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(Map::new()),
    }
}

/// The GitHub REST API of the issuer's origin: `api.github.com` for github.com, else GitHub
/// Enterprise Server's `/api/v3`.
fn github_api(issuer: &str) -> String {
    match Url::parse(issuer) {
        Ok(u) if u.host_str() == Some("github.com") || u.host_str().is_none() => {
            "https://api.github.com".to_owned()
        }
        Ok(u) => format!("{}/api/v3", u.origin().ascii_serialization()),
        Err(_) => "https://api.github.com".to_owned(),
    }
}

impl Profile {
    /// Whether RFC 8707 `resource` is passed on to the provider (Auth0, Okta, Entra ID, Google
    /// and GitHub ignore or reject it; Entra ID with AADSTS901002/AADSTS9010010).
    fn passes_resource(self) -> bool {
        matches!(self, Profile::Generic | Profile::Keycloak)
    }

    /// Whether the configured audience is sent as an `audience` parameter (Auth0's; a generic
    /// provider gets it when one is configured, as before).
    fn sends_audience(self) -> bool {
        matches!(self, Profile::Generic | Profile::Auth0)
    }
}

/// The scopes asked for at the provider: for Entra ID, the OpenID Connect scopes and
/// `<audience>/.default` (every permission of the API consented to) in place of the API's own
/// scope names; for Google, without `offline_access` (it asks with `access_type=offline`).
fn provider_scopes(profile: Profile, scopes: Vec<&str>, audience: Option<&str>) -> Vec<String> {
    match (profile, audience) {
        (Profile::Entra, Some(audience)) => {
            let mut out: Vec<String> = scopes
                .iter()
                .filter(|s| OIDC_SCOPES.contains(s) || s.ends_with("/.default"))
                .map(|s| (*s).to_owned())
                .collect();
            let default = format!("{}/.default", audience.trim_end_matches('/'));
            if !out.contains(&default) {
                out.push(default);
            }
            out
        }
        (Profile::Google, _) => scopes
            .into_iter()
            .filter(|s| *s != "offline_access")
            .map(str::to_owned)
            .collect(),
        _ => scopes.into_iter().map(str::to_owned).collect(),
    }
}

/// The issuers whose tokens are accepted: the configured one (with or without its trailing
/// `/`), and for Entra ID the same tenant's other token version: v1.0 access tokens (an API's
/// default, `accessTokenAcceptedVersion` null or 1) carry `https://sts.windows.net/<tenant>/`,
/// v2.0 ones `https://login.microsoftonline.com/<tenant>/v2.0`. No other tenant's, and only for
/// Entra ID's global cloud (`login.microsoftonline.com`).
fn accepted_issuers(issuer: &str, profile: Profile) -> Vec<String> {
    let mut out = issuer_variants(issuer);
    if profile != Profile::Entra {
        return out;
    }
    let Ok(url) = Url::parse(issuer) else {
        return out;
    };
    let mut segments = url.path().split('/').filter(|s| !s.is_empty());
    let tenant = segments.next();
    let rest: Vec<&str> = segments.collect();
    if url.scheme() != "https"
        || url.host_str() != Some("login.microsoftonline.com")
        || !(rest.is_empty() || rest == ["v2.0"])
    {
        return out;
    }
    let Some(tenant) = tenant.filter(|t| {
        !matches!(*t, "common" | "organizations" | "consumers")
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    }) else {
        return out;
    };
    for other in [
        format!("https://sts.windows.net/{tenant}/"),
        format!("https://login.microsoftonline.com/{tenant}/v2.0"),
    ] {
        if !out.contains(&other) {
            out.push(other);
        }
    }
    out
}

/// The issuer and the same with or without its trailing `/`: providers and configurations
/// disagree on it, and it names the same issuer.
fn issuer_variants(issuer: &str) -> Vec<String> {
    let mut out = vec![issuer.to_owned()];
    let other = match issuer.strip_suffix('/') {
        Some(without) => without.to_owned(),
        None => format!("{issuer}/"),
    };
    out.push(other);
    out
}

/// A value fetched from the provider, with when it was fetched and the last failure.
struct Cached<T> {
    value: Option<Arc<T>>,
    fetched: Option<Instant>,
    failed: Option<(Instant, String)>,
}

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Self {
            value: None,
            fetched: None,
            failed: None,
        }
    }
}

impl<T> Cached<T> {
    fn fresh(&self, ttl: Duration) -> Option<Arc<T>> {
        match (&self.value, self.fetched) {
            (Some(value), Some(at)) if at.elapsed() < ttl => Some(value.clone()),
            _ => None,
        }
    }

    /// Whether a fetch may be tried now (not right after a failure).
    fn may_fetch(&self) -> bool {
        self.failed
            .as_ref()
            .is_none_or(|(at, _)| at.elapsed() >= RETRY_AFTER_FAILURE)
    }

    fn store(&mut self, result: Result<T, String>) -> Result<Arc<T>, String> {
        match result {
            Ok(value) => {
                let value = Arc::new(value);
                self.value = Some(value.clone());
                self.fetched = Some(Instant::now());
                self.failed = None;
                Ok(value)
            }
            Err(e) => {
                self.failed = Some((Instant::now(), e.clone()));
                self.value.clone().ok_or(e)
            }
        }
    }

    fn stale(&self) -> Result<Arc<T>, String> {
        match (&self.value, &self.failed) {
            (Some(value), _) => Ok(value.clone()),
            (None, Some((_, e))) => Err(e.clone()),
            (None, None) => Err("not fetched yet".to_owned()),
        }
    }
}

/// What travels sealed from `/oauth/authorize` (as the `state` sent to the provider) to
/// `/oauth/callback`, and from there (as the code handed to the client) to `/oauth/token`.
#[derive(Serialize, Deserialize)]
struct Login {
    /// The client's `redirect_uri`: where the code goes, and what the token request must repeat.
    #[serde(rename = "r")]
    redirect_uri: String,
    /// The client's `state` (in the sealed `state` only; absent when the client sent none).
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    client_state: Option<String>,
    /// The client's PKCE `code_challenge` (S256).
    #[serde(rename = "c")]
    code_challenge: String,
    /// The `client_id` the client sent, if any.
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    /// The provider's code (in the sealed code only).
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
}

/// Kept client ID metadata documents: URL → (used until, its `redirect_uris`).
type CimdCache = HashMap<String, (Instant, Arc<Vec<String>>)>;

/// Kept introspection answers: SHA-256 of the token → (used until, the answer).
type IntrospectionCache = HashMap<[u8; 32], (Instant, Arc<Value>)>;

/// The resolved configuration and the provider's cached metadata and keys.
struct Provider {
    /// The configured issuer, and the same with/without a trailing `/`.
    issuers: Vec<String>,
    /// `oauth.provider`: whose deviations apply.
    profile: Profile,
    /// `aud` values accepted (the expected audience, and for Entra ID its v2.0 form).
    accepted_audiences: Vec<String>,
    /// GitHub has no metadata document: the one its endpoints make.
    github_metadata: Option<Arc<Map<String, Value>>>,
    expected_audience: String,
    metadata_urls: Vec<String>,
    authorize_url: Option<String>,
    /// The `audience` parameter added to authorization requests (Auth0).
    audience: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    default_scope: Vec<String>,
    setup_proxies: bool,
    fake_registration: bool,
    forward_token: bool,
    allowed_redirect_uris: &'static [&'static str],
    /// What the protected-resource metadata names as authorization server.
    authorization_server: String,
    /// This server's public base URL (no trailing `/`): with the proxies, our issuer.
    public_url: String,
    /// `<public-url>/mcp`.
    resource: String,
    http: reqwest::Client,
    metadata: tokio::sync::Mutex<Cached<Map<String, Value>>>,
    jwks: tokio::sync::Mutex<Cached<Vec<Jwk>>>,
    /// How access tokens are checked.
    validation: TokenValidation,
    /// The configured introspection endpoint (else the metadata's).
    introspection_url: Option<String>,
    /// SHA-256 of an introspected active token → until when its answer is used, and the answer.
    introspected: std::sync::Mutex<IntrospectionCache>,
    /// How long an introspection answer is used at most.
    introspection_ttl: Duration,
    /// Client ID metadata documents may come from loopback and private addresses.
    cimd_allow_private: bool,
    /// Client ID metadata documents' URL → until when, and their `redirect_uris`.
    cimd_cache: std::sync::Mutex<CimdCache>,
    /// Seals what travels between the proxies' steps (with `setup_proxies`).
    sealer: Option<Sealer>,
    /// The client secret, in every form it is sent in: never in an answer or a log line.
    redactor: Redactor,
}

impl Provider {
    /// GETs a JSON object.
    async fn get_json(&self, url: &str) -> Result<Map<String, Value>, String> {
        let response = self
            .http
            .get(url)
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {url}: {}", e.without_url()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("GET {url}: HTTP {status}"));
        }
        let bytes = read_capped(response, MAX_DOCUMENT_BYTES)
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(format!("GET {url}: not a JSON object")),
        }
    }

    /// The provider's metadata (OpenID Connect discovery or RFC 8414), cached.
    async fn metadata(&self) -> Result<Arc<Map<String, Value>>, String> {
        if let Some(doc) = &self.github_metadata {
            return Ok(doc.clone());
        }
        let mut cached = self.metadata.lock().await;
        if let Some(value) = cached.fresh(CACHE_TTL) {
            return Ok(value);
        }
        if !cached.may_fetch() {
            return cached.stale();
        }
        let mut errors = Vec::new();
        let mut found = None;
        for url in &self.metadata_urls {
            match self.get_json(url).await {
                Ok(map) => {
                    found = Some(map);
                    break;
                }
                Err(e) => errors.push(e),
            }
        }
        let result = found.ok_or_else(|| {
            format!(
                "cannot fetch the OAuth provider's metadata: {}",
                errors.join("; ")
            )
        });
        cached.store(result)
    }

    /// A URL field of the provider's metadata.
    async fn endpoint(&self, field: &str) -> Result<String, String> {
        let metadata = self.metadata().await?;
        metadata
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("the OAuth provider's metadata has no `{field}`"))
    }

    /// The issuer's signing keys, cached; `refresh`: fetch again now (an unknown `kid`), unless
    /// the keys were fetched less than [`JWKS_MIN_REFRESH`] ago.
    async fn jwks(&self, refresh: bool) -> Result<Arc<Vec<Jwk>>, String> {
        let mut cached = self.jwks.lock().await;
        if let Some(value) = cached.fresh(CACHE_TTL) {
            let recent = cached
                .fetched
                .is_some_and(|at| at.elapsed() < JWKS_MIN_REFRESH);
            if !refresh || recent {
                return Ok(value);
            }
        }
        if !cached.may_fetch() {
            return cached.stale();
        }
        let result = async {
            let uri = self.endpoint("jwks_uri").await?;
            let doc = self.get_json(&uri).await?;
            let keys = doc
                .get("keys")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("GET {uri}: no `keys` array"))?;
            // Keys this verifier cannot use (other types, encryption keys) are skipped.
            Ok(keys
                .iter()
                .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
                .filter(|k| !matches!(k.common.public_key_use, Some(PublicKeyUse::Encryption)))
                .collect())
        }
        .await;
        cached.store(result)
    }

    /// The keys that may have signed a token with this `kid` and algorithm.
    fn candidates(keys: &[Jwk], kid: Option<&str>, alg: Algorithm) -> Vec<DecodingKey> {
        keys.iter()
            .filter(|k| match kid {
                Some(kid) => k.common.key_id.as_deref() == Some(kid),
                None => true,
            })
            .filter(|k| {
                k.common
                    .key_algorithm
                    .is_none_or(|ka| Algorithm::try_from(ka).is_ok_and(|a| a == alg))
            })
            .filter_map(|k| DecodingKey::from_jwk(k).ok())
            .filter(|key| key.family() == alg.family())
            .collect()
    }

    /// Checks an access token as `oauth.token_validation` says.
    async fn check(&self, token: &str) -> Result<Caller, Rejection> {
        match self.validation {
            TokenValidation::Jwt => self.check_jwt(token).await,
            TokenValidation::Introspection => self.introspect(token).await,
            TokenValidation::Auto if jsonwebtoken::decode_header(token).is_ok() => {
                self.check_jwt(token).await
            }
            TokenValidation::Auto => self.introspect(token).await,
        }
    }

    /// Checks a token by RFC 7662 introspection at the provider, authenticated as the
    /// configured client. Active answers are kept (bounded in number, at most until the
    /// token's `exp` and [`Provider::introspection_ttl`]); `active: false` is a 401, a provider
    /// that cannot answer a 503 (never an acceptance).
    async fn introspect(&self, token: &str) -> Result<Caller, Rejection> {
        let key = digest(token);
        let now = Instant::now();
        if let Some(claims) = self.cached_introspection(&key, now) {
            return Ok(self.caller(token, (*claims).clone()));
        }
        let answer = self.ask_introspection(token).await?;
        let claims = self.judge_introspection(answer)?;
        let unix_now = now_secs();
        let mut ttl = self.introspection_ttl;
        if let Some(exp) = claims.get("exp").and_then(Value::as_u64) {
            ttl = ttl.min(Duration::from_secs(exp.saturating_sub(unix_now)));
        }
        let claims = Arc::new(claims);
        if !ttl.is_zero() {
            self.remember_introspection(key, now + ttl, claims.clone());
        }
        Ok(self.caller(token, (*claims).clone()))
    }

    /// A kept introspection answer for the token with this digest, unless it has expired.
    fn cached_introspection(&self, key: &[u8; 32], now: Instant) -> Option<Arc<Value>> {
        let cache = self.introspected.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(key)
            .filter(|(until, _)| *until > now)
            .map(|(_, claims)| claims.clone())
    }

    /// Keeps an introspection answer; when the cache is full, expired answers go first, then
    /// those that expire soonest.
    fn remember_introspection(&self, key: [u8; 32], until: Instant, claims: Arc<Value>) {
        let mut cache = self.introspected.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= INTROSPECTION_CACHE_ENTRIES && !cache.contains_key(&key) {
            let now = Instant::now();
            cache.retain(|_, (t, _)| *t > now);
            while cache.len() >= INTROSPECTION_CACHE_ENTRIES {
                let Some(soonest) = cache.iter().min_by_key(|(_, (t, _))| *t).map(|(k, _)| *k)
                else {
                    break;
                };
                cache.remove(&soonest);
            }
        }
        cache.insert(key, (until, claims));
    }

    /// The provider's introspection answer for `token` (a JSON object), or why there is none.
    async fn ask_introspection(&self, token: &str) -> Result<Map<String, Value>, Rejection> {
        match self.profile {
            Profile::Google => return self.ask_google(token).await,
            Profile::Github => return self.ask_github(token).await,
            _ => {}
        }
        let unavailable = |e: String| Rejection::Unavailable(self.redactor.redact_text(e));
        let metadata = self.metadata().await.map_err(unavailable)?;
        let endpoint = match &self.introspection_url {
            Some(url) => url.clone(),
            None => metadata
                .get("introspection_endpoint")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| {
                    Rejection::Unavailable(
                        "the OAuth provider's metadata has no `introspection_endpoint`: configure oauth.introspection_endpoint"
                            .to_owned(),
                    )
                })?,
        };
        let params = [
            ("token", token.to_owned()),
            ("token_type_hint", "access_token".to_owned()),
        ];
        let attempts = self.client_auth_attempts(&metadata, "introspection_endpoint");
        let mut answer = None;
        for (i, method) in attempts.iter().enumerate() {
            let (status, _, bytes) = send_form(
                self,
                &endpoint,
                &params,
                *method,
                MAX_INTROSPECTION_RESPONSE_BYTES,
            )
            .await
            .map_err(unavailable)?;
            let invalid_client = status == StatusCode::UNAUTHORIZED
                || serde_json::from_slice::<Value>(&bytes)
                    .is_ok_and(|v| v["error"] == "invalid_client");
            if invalid_client && i + 1 < attempts.len() {
                continue;
            }
            answer = Some((status, bytes));
            break;
        }
        let Some((status, bytes)) = answer else {
            return Err(unavailable(format!("POST {endpoint}: no answer")));
        };
        if status != StatusCode::OK {
            return Err(unavailable(format!(
                "the introspection endpoint {endpoint} answered HTTP {} (are oauth.client_id and client_secret right?)",
                status.as_u16()
            )));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(unavailable(format!(
                "the introspection endpoint {endpoint} answered something that is not a JSON object"
            ))),
        }
    }

    /// Google's tokeninfo answer for `token`, as an introspection answer: 200 is active (its
    /// `aud` is the OAuth client the token was issued to), 400 inactive.
    async fn ask_google(&self, token: &str) -> Result<Map<String, Value>, Rejection> {
        let unavailable = |e: String| Rejection::Unavailable(self.redactor.redact_text(e));
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("access_token", token)
            .finish();
        let response = self
            .http
            .post(GOOGLE_TOKENINFO)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| unavailable(format!("POST {GOOGLE_TOKENINFO}: {}", e.without_url())))?;
        let status = response.status();
        let bytes = read_capped(response, MAX_INTROSPECTION_RESPONSE_BYTES)
            .await
            .map_err(|e| unavailable(format!("POST {GOOGLE_TOKENINFO}: {e}")))?;
        if status == reqwest::StatusCode::BAD_REQUEST {
            return Ok(inactive());
        }
        let Ok(Value::Object(info)) = serde_json::from_slice::<Value>(&bytes) else {
            return Err(unavailable(format!(
                "{GOOGLE_TOKENINFO} answered HTTP {status} without a JSON object"
            )));
        };
        if !status.is_success() {
            return Err(unavailable(format!(
                "{GOOGLE_TOKENINFO} answered HTTP {status}"
            )));
        }
        Ok(google_answer(info))
    }

    /// GitHub's answer for `token` at `POST /applications/{client_id}/token` (authenticated as
    /// the app), as an introspection answer: 200 is active, 404 or 422 inactive.
    async fn ask_github(&self, token: &str) -> Result<Map<String, Value>, Rejection> {
        let unavailable = |e: String| Rejection::Unavailable(self.redactor.redact_text(e));
        let client_id = self.client_id.as_deref().unwrap_or_default();
        let secret = self.client_secret.as_deref().unwrap_or_default();
        let id: String = url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
        let endpoint = format!("{}/applications/{id}/token", github_api(&self.issuers[0]));
        let mut auth =
            HeaderValue::from_str(&format!("Basic {}", basic_credentials(client_id, secret)))
                .map_err(|_| unavailable("the client credentials cannot be sent".to_owned()))?;
        auth.set_sensitive(true);
        let response = self
            .http
            .post(&endpoint)
            .header(header::AUTHORIZATION, auth)
            .header(header::ACCEPT, "application/vnd.github+json")
            .header(header::CONTENT_TYPE, "application/json")
            .body(json!({ "access_token": token }).to_string())
            .send()
            .await
            .map_err(|e| unavailable(format!("POST {endpoint}: {}", e.without_url())))?;
        let status = response.status();
        let bytes = read_capped(response, MAX_INTROSPECTION_RESPONSE_BYTES)
            .await
            .map_err(|e| unavailable(format!("POST {endpoint}: {e}")))?;
        if matches!(status.as_u16(), 404 | 422) {
            return Ok(inactive());
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(info)) if status.is_success() => Ok(github_answer(info)),
            _ => Err(unavailable(format!(
                "{endpoint} answered HTTP {status} (are oauth.client_id and client_secret right?)"
            ))),
        }
    }

    /// An introspection answer judged as a JWT's claims would be: active, not expired nor
    /// early, from our issuer, for our audience, and not a refresh token.
    fn judge_introspection(&self, answer: Map<String, Value>) -> Result<Value, Rejection> {
        let invalid = |d: &str| Err(Rejection::Invalid(d.to_owned()));
        if answer.get("active") != Some(&Value::Bool(true)) {
            return invalid("the token is not active (the provider's introspection says so)");
        }
        let now = now_secs();
        if let Some(exp) = answer.get("exp").and_then(Value::as_u64)
            && exp.saturating_add(LEEWAY_SECS) <= now
        {
            return invalid("the token has expired");
        }
        if let Some(nbf) = answer.get("nbf").and_then(Value::as_u64)
            && nbf > now.saturating_add(LEEWAY_SECS)
        {
            return invalid("the token is not valid yet (nbf)");
        }
        if let Some(iss) = answer.get("iss")
            && !iss
                .as_str()
                .is_some_and(|i| self.issuers.iter().any(|x| x == i))
        {
            return invalid("the token's issuer is not accepted");
        }
        let ours = |a: &str| self.accepted_audiences.iter().any(|x| x == a);
        let audience_ok = match answer.get("aud") {
            Some(Value::String(aud)) => ours(aud),
            Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(ours),
            _ => false,
        };
        if !audience_ok {
            return invalid("the token is not for this server (aud)");
        }
        if answer
            .get("token_type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("refresh_token"))
        {
            return invalid("a refresh token is not an access token");
        }
        Ok(Value::Object(answer))
    }

    /// How to authenticate the configured client at an endpoint of the provider: with a secret,
    /// `client_secret_post` and `client_secret_basic` as the metadata's
    /// `<endpoint>_auth_methods_supported` (else the token endpoint's) allow, post first; without
    /// one, as a public client.
    fn client_auth_attempts(
        &self,
        metadata: &Map<String, Value>,
        endpoint: &str,
    ) -> Vec<ClientAuth> {
        let list = |field: &str| {
            metadata
                .get(field)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<&str>>())
        };
        let methods = list(&format!("{endpoint}_auth_methods_supported"))
            .or_else(|| list("token_endpoint_auth_methods_supported"));
        let supports = |m: &str| methods.as_ref().is_none_or(|l| l.contains(&m));
        if self.client_secret.is_none() {
            vec![ClientAuth::Public]
        } else if supports("client_secret_post") && supports("client_secret_basic") {
            vec![ClientAuth::Post, ClientAuth::Basic]
        } else if supports("client_secret_basic") {
            vec![ClientAuth::Basic]
        } else {
            vec![ClientAuth::Post]
        }
    }

    /// Checks a JWT access token against the issuer's keys.
    async fn check_jwt(&self, token: &str) -> Result<Caller, Rejection> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            Rejection::Invalid("malformed token: not a JWT signed with a known algorithm".into())
        })?;
        let alg = header.alg;
        if !ALGORITHMS.contains(&alg) {
            return Err(Rejection::Invalid(format!(
                "the algorithm {alg:?} is not accepted"
            )));
        }
        let kid = header.kid.as_deref();
        let keys = self.jwks(false).await.map_err(Rejection::Unavailable)?;
        let mut candidates = Self::candidates(&keys, kid, alg);
        if candidates.is_empty() {
            // Perhaps the issuer rotated its keys: fetch them again (rate-limited).
            let keys = self.jwks(true).await.map_err(Rejection::Unavailable)?;
            candidates = Self::candidates(&keys, kid, alg);
        }
        if candidates.is_empty() {
            return Err(Rejection::Invalid(match kid {
                Some(kid) => format!("no key `{kid}` for {alg:?} in the issuer's JWKS"),
                None => format!("no {alg:?} key in the issuer's JWKS"),
            }));
        }
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&self.issuers);
        validation.set_audience(&self.accepted_audiences);
        for key in &candidates {
            match jsonwebtoken::decode::<Value>(token, key, &validation) {
                Ok(data) => return Ok(self.caller(token, data.claims)),
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => continue,
                Err(e) => return Err(Rejection::Invalid(describe(e.kind()))),
            }
        }
        Err(Rejection::Invalid("invalid signature".into()))
    }

    fn caller(&self, token: &str, claims: Value) -> Caller {
        let mut scopes: Vec<String> = Vec::new();
        for claim in ["scope", "scp"] {
            match claims.get(claim) {
                Some(Value::String(s)) => scopes.extend(s.split_whitespace().map(str::to_owned)),
                Some(Value::Array(items)) => {
                    scopes.extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
                }
                _ => {}
            }
        }
        scopes.sort();
        scopes.dedup();
        let forward = if self.forward_token {
            HeaderValue::from_str(&format!("Bearer {token}"))
                .ok()
                .map(|mut v| {
                    v.set_sensitive(true);
                    v
                })
        } else {
            None
        };
        Caller {
            token: Some(Arc::from(token)),
            claims: Some(Arc::new(claims)),
            scopes: Arc::from(scopes),
            forward,
        }
    }

    /// Whether a client may be sent back to `uri`: a loopback `http(s)` URL (any port and path),
    /// or exactly one of the configured `allowed_redirect_uris`. Nothing else, so the proxy is
    /// never an open redirect.
    fn redirect_allowed(&self, uri: &str) -> bool {
        if self.allowed_redirect_uris.contains(&uri) {
            return true;
        }
        let Ok(url) = Url::parse(uri) else {
            return false;
        };
        if !matches!(url.scheme(), "http" | "https")
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return false;
        }
        match url.host() {
            Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
    }

    /// The `redirect_uris` of the client ID metadata document at `url` (fetched, or kept from
    /// an earlier fetch): https only, no redirect followed, at most [`CIMD_MAX_BYTES`] within
    /// [`CIMD_TIMEOUT`], from a public address (unless `cimd_allow_private_hosts`; the address
    /// checked is the one connected to, so DNS cannot swap it), and its `client_id` must be
    /// `url` itself.
    async fn cimd_redirect_uris(&self, url: &Url) -> Result<Arc<Vec<String>>, String> {
        let key = url.as_str().to_owned();
        let now = Instant::now();
        {
            let cache = self.cimd_cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((until, uris)) = cache.get(&key)
                && *until > now
            {
                return Ok(uris.clone());
            }
        }
        let fetched = tokio::time::timeout(CIMD_TIMEOUT, self.fetch_cimd(url))
            .await
            .map_err(|_| {
                format!(
                    "the client's metadata document did not arrive within {} s",
                    CIMD_TIMEOUT.as_secs()
                )
            })??;
        let uris = Arc::new(fetched);
        let mut cache = self.cimd_cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CIMD_CACHE_ENTRIES && !cache.contains_key(&key) {
            cache.retain(|_, (until, _)| *until > now);
            while cache.len() >= CIMD_CACHE_ENTRIES {
                let Some(soonest) = cache
                    .iter()
                    .min_by_key(|(_, (t, _))| *t)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                cache.remove(&soonest);
            }
        }
        cache.insert(key, (now + CIMD_CACHE_TTL, uris.clone()));
        Ok(uris)
    }

    /// Fetches a client ID metadata document (see [`Provider::cimd_redirect_uris`]).
    async fn fetch_cimd(&self, url: &Url) -> Result<Vec<String>, String> {
        let port = url.port_or_known_default().unwrap_or(443);
        let addresses: Vec<std::net::SocketAddr> = match url.host() {
            Some(url::Host::Ipv4(ip)) => vec![(ip, port).into()],
            Some(url::Host::Ipv6(ip)) => vec![(ip, port).into()],
            Some(url::Host::Domain(domain)) => tokio::net::lookup_host((domain, port))
                .await
                .map_err(|e| {
                    format!("the client's metadata host `{domain}` cannot be resolved: {e}")
                })?
                .collect(),
            None => return Err("the client_id URL has no host".to_owned()),
        };
        let Some(address) = addresses
            .iter()
            .find(|a| self.cimd_allow_private || is_public(a.ip()))
            .copied()
        else {
            return Err(format!(
                "the client's metadata host `{}` has a loopback or private address: refused (oauth.cimd_allow_private_hosts allows it)",
                url.host_str().unwrap_or_default()
            ));
        };
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(CIMD_TIMEOUT)
            .https_only(true)
            .user_agent(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ));
        if let Some(url::Host::Domain(domain)) = url.host() {
            // Connect to the address checked above, not to whatever a second lookup says.
            builder = builder.resolve(domain, address);
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot build the HTTP client for client metadata: {e}"))?;
        let response = client
            .get(url.as_str())
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| {
                format!(
                    "the client's metadata document cannot be fetched: {}",
                    e.without_url()
                )
            })?;
        let status = response.status();
        if status.is_redirection() {
            return Err(format!(
                "the client's metadata document answered HTTP {status}: redirects are not followed"
            ));
        }
        if status != reqwest::StatusCode::OK {
            return Err(format!(
                "the client's metadata document answered HTTP {status}"
            ));
        }
        let bytes = read_capped(response, CIMD_MAX_BYTES)
            .await
            .map_err(|e| format!("the client's metadata document: {e}"))?;
        let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(&bytes) else {
            return Err("the client's metadata document is not a JSON object".to_owned());
        };
        if doc.get("client_id").and_then(Value::as_str) != Some(url.as_str()) {
            return Err(
                "the client's metadata document names another `client_id` than its own URL"
                    .to_owned(),
            );
        }
        let uris: Vec<String> = doc
            .get("redirect_uris")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if uris.is_empty() {
            return Err("the client's metadata document lists no `redirect_uris`".to_owned());
        }
        Ok(uris)
    }

    fn callback_url(&self) -> String {
        format!("{}/oauth/callback", self.public_url)
    }
}

impl Verify for Provider {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Caller, Rejection>> {
        Box::pin(self.check(token))
    }
}

/// A `client_id` that is a client ID metadata document's URL: `None` when it is not one (not
/// an https URL), else the URL, or why it is not an acceptable one (the CIMD draft: https, a
/// path, no fragment, no credentials, no dot segments).
fn cimd_url(client_id: &str) -> Option<Result<Url, String>> {
    if !client_id.starts_with("https://") {
        return client_id.starts_with("http://").then(|| {
            Err("a client_id URL (client ID metadata document) must be https".to_owned())
        });
    }
    let invalid = |why: &str| {
        Some(Err(format!(
            "the client_id URL {}: {why}",
            excerpt(client_id)
        )))
    };
    let Ok(url) = Url::parse(client_id) else {
        return invalid("is not a URL");
    };
    if url.as_str() != client_id {
        return invalid("is not in its normal form");
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return invalid("must have no fragment and no credentials");
    }
    if url.path() == "/" || url.path().split('/').any(|s| s == "." || s == "..") {
        return invalid("must have a path, without dot segments");
    }
    Some(Ok(url))
}

/// Whether `ip` is a public address: not loopback, private, link-local, shared, unspecified,
/// broadcast, multicast or documentation space.
fn is_public(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        std::net::IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(v4.into());
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// A token validation error for the client (no secrets in it).
fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".into(),
        ErrorKind::InvalidIssuer => "the token's issuer is not accepted".into(),
        ErrorKind::InvalidAudience => "the token is not for this server (aud)".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the token has no `{claim}` claim"),
        ErrorKind::InvalidAlgorithm => "the token's algorithm does not match the key".into(),
        ErrorKind::InvalidSignature => "invalid signature".into(),
        _ => "invalid token".into(),
    }
}

/// Adds `Access-Control-Allow-Origin: *` to the metadata and proxy endpoints and answers CORS
/// preflights, for MCP clients that run in a browser. (They carry no cookies: nothing here
/// relies on the caller's origin.)
async fn cors(request: Request, next: Next) -> Response {
    let mut response = if request.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type, mcp-protocol-version"),
    );
    response
}

/// An OAuth error response (`{"error": …, "error_description": …}`).
fn oauth_error(status: StatusCode, error: &str, description: impl Into<String>) -> Response {
    json_response(
        status,
        &json!({ "error": error, "error_description": description.into() }),
    )
}

/// This server failed (no randomness): 500, logged.
fn server_error(e: &str) -> Response {
    warn!("OAuth proxy: {e}");
    oauth_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "the authorization cannot continue",
    )
}

/// The provider failed or is unreachable: 502, logged.
fn bad_gateway(e: &str) -> Response {
    warn!("OAuth provider: {e}");
    oauth_error(
        StatusCode::BAD_GATEWAY,
        "temporarily_unavailable",
        "the OAuth provider cannot be reached",
    )
}

/// A redirect that no cache keeps.
fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "cannot build the redirect",
        ),
    }
}

/// The pairs of a query string or form body, each at most `max(name)` bytes (decoded); a
/// parameter given twice is an error (RFC 6749 §3.1). Errors name the parameter and its bound.
fn params(text: &str, max: impl Fn(&str) -> usize) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(text.as_bytes()) {
        let bound = max(&name);
        if value.len() > bound {
            return Err(format!(
                "the parameter `{}` is longer than {bound} bytes",
                excerpt(&name)
            ));
        }
        if out.insert(name.to_string(), value.into_owned()).is_some() {
            return Err(format!(
                "the parameter `{}` is given more than once",
                excerpt(&name)
            ));
        }
    }
    Ok(out)
}

/// The query of a proxy request, bounded as a whole and per parameter.
fn query(uri: &Uri, max: impl Fn(&str) -> usize) -> Result<HashMap<String, String>, String> {
    let text = uri.query().unwrap_or("");
    if text.len() > MAX_QUERY_BYTES {
        return Err(format!(
            "the query string is longer than {MAX_QUERY_BYTES} bytes"
        ));
    }
    params(text, max)
}

/// At most 64 characters of a caller's text, for an error message.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// An introspection answer for an inactive token.
fn inactive() -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("active".into(), Value::Bool(false));
    map
}

/// Google's tokeninfo (`aud`, `scope`, `exp` as a string, `sub`, `email`) as an introspection
/// answer.
fn google_answer(mut info: Map<String, Value>) -> Map<String, Value> {
    let exp = match info.get("exp") {
        Some(Value::String(s)) => s.parse::<u64>().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    };
    info.remove("exp");
    if let Some(exp) = exp {
        info.insert("exp".into(), json!(exp));
    }
    info.insert("active".into(), Value::Bool(true));
    info
}

/// GitHub's check-a-token answer (`scopes`, `app.client_id`, `user.login`) as an introspection
/// answer: `aud` is the app's client ID, `scope` the granted scopes, `sub` the user.
fn github_answer(info: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("active".into(), Value::Bool(true));
    if let Some(id) = info.get("app").and_then(|a| a.get("client_id")) {
        out.insert("aud".into(), id.clone());
    }
    let scopes: Vec<&str> = info
        .get("scopes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    out.insert("scope".into(), json!(scopes.join(" ")));
    if let Some(login) = info.get("user").and_then(|u| u.get("login")) {
        out.insert("sub".into(), login.clone());
    }
    out
}

/// SHA-256 of a token: the key it is cached under (the token itself is not kept).
fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// `Authorization: Basic` credentials (RFC 6749 §2.3.1: both parts form-encoded first).
fn basic_credentials(client_id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(client_id), enc(secret)))
}

/// A response body, at most `cap` bytes.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())?
    {
        if body.len() + chunk.len() > cap {
            return Err(format!("the answer is longer than {cap} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether `value` is a PKCE S256 `code_challenge`: base64url of 32 bytes, 43 characters.
fn is_s256_challenge(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `value` is a PKCE `code_verifier` (RFC 7636 §4.1): 43 to 128 unreserved characters.
fn is_code_verifier(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `verifier` is the one `challenge` was made from (S256), compared in constant time.
fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let made = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    made.as_bytes().ct_eq(challenge.as_bytes()).into()
}

/// `GET /.well-known/oauth-protected-resource[/mcp]` (RFC 9728).
async fn protected_resource(State(p): State<Arc<Provider>>) -> Response {
    let mut doc = json!({
        "resource": p.resource,
        "authorization_servers": [p.authorization_server],
        "bearer_methods_supported": ["header"],
        "resource_name": crate::tools::SERVER_TITLE,
    });
    if !crate::auth_config::SCOPES_SUPPORTED.is_empty() {
        doc["scopes_supported"] = json!(crate::auth_config::SCOPES_SUPPORTED);
    }
    json_response(StatusCode::OK, &doc)
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414): the provider's metadata, every
/// field kept, with this server as issuer and its proxies as endpoints.
async fn authorization_server(State(p): State<Arc<Provider>>) -> Response {
    let metadata = match p.metadata().await {
        Ok(m) => m,
        Err(e) => return bad_gateway(&e),
    };
    let mut doc = (*metadata).clone();
    let base = &p.public_url;
    doc.insert("issuer".into(), json!(base));
    doc.insert(
        "authorization_endpoint".into(),
        json!(format!("{base}/oauth/authorize")),
    );
    doc.insert(
        "token_endpoint".into(),
        json!(format!("{base}/oauth/token")),
    );
    if p.fake_registration {
        doc.insert(
            "registration_endpoint".into(),
            json!(format!("{base}/oauth/register")),
        );
    } else {
        // Clients registered at the provider would not match the proxies' client.
        doc.remove("registration_endpoint");
    }
    // Pushed authorization requests would go around the authorize proxy.
    doc.remove("pushed_authorization_request_endpoint");
    doc.remove("require_pushed_authorization_requests");
    doc.insert("code_challenge_methods_supported".into(), json!(["S256"]));
    // Client ID metadata documents (MCP 2025-11-25): an https client_id names its redirect URIs.
    doc.insert("client_id_metadata_document_supported".into(), json!(true));
    doc.insert(
        "authorization_response_iss_parameter_supported".into(),
        json!(true),
    );
    json_response(StatusCode::OK, &Value::Object(doc))
}

/// `GET /oauth/authorize`: checks the client's request, seals what the callback and the token
/// request must know into the `state` sent to the provider, and redirects to the provider with
/// the configured client, audience and default scopes.
async fn authorize(State(p): State<Arc<Provider>>, uri: Uri) -> Response {
    let bad = |d: String| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", d);
    let q = match query(&uri, |name| match name {
        "redirect_uri" => MAX_REDIRECT_URI_BYTES,
        "state" => MAX_CLIENT_STATE_BYTES,
        "client_id" => MAX_CLIENT_ID_BYTES,
        _ => MAX_PARAM_BYTES,
    }) {
        Ok(q) => q,
        Err(e) => return bad(e),
    };
    let Some(redirect_uri) = q.get("redirect_uri") else {
        return bad("`redirect_uri` is required".into());
    };
    match q.get("client_id").and_then(|id| cimd_url(id)) {
        // A client ID metadata document: the redirect URI must be one it lists.
        Some(Ok(url)) => match p.cimd_redirect_uris(&url).await {
            Ok(uris) if uris.iter().any(|u| u == redirect_uri) => {}
            Ok(_) => {
                return bad(format!(
                    "`redirect_uri` {} is not one of the client's metadata document's redirect_uris",
                    excerpt(redirect_uri)
                ));
            }
            Err(e) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", e),
        },
        Some(Err(e)) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", e),
        None if !p.redirect_allowed(redirect_uri) => {
            return bad(format!(
                "`redirect_uri` {} is not allowed: use a loopback URL or one of the server's allowed_redirect_uris",
                excerpt(redirect_uri)
            ));
        }
        None => {}
    }
    if q.get("response_type").map(String::as_str) != Some("code") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            "`response_type` must be `code`",
        );
    }
    let challenge = match q.get("code_challenge") {
        Some(c)
            if is_s256_challenge(c)
                && q.get("code_challenge_method").map(String::as_str) == Some("S256") =>
        {
            c.clone()
        }
        _ => {
            return bad(
                "PKCE is required: `code_challenge` (43 characters of base64url) with `code_challenge_method=S256`"
                    .into(),
            );
        }
    };
    let Some(sealer) = &p.sealer else {
        return server_error("the authorization proxies are not set up");
    };
    let endpoint = match &p.authorize_url {
        Some(url) => url.clone(),
        None => match p.endpoint("authorization_endpoint").await {
            Ok(url) => url,
            Err(e) => return bad_gateway(&e),
        },
    };
    let Ok(mut target) = Url::parse(&endpoint) else {
        return bad_gateway(&format!("invalid authorization endpoint `{endpoint}`"));
    };
    let login = Login {
        redirect_uri: redirect_uri.clone(),
        client_state: q.get("state").filter(|s| !s.is_empty()).cloned(),
        code_challenge: challenge,
        client_id: q.get("client_id").filter(|s| !s.is_empty()).cloned(),
        code: None,
    };
    let state = match seal(sealer, Purpose::AuthorizeState, STATE_TTL_SECS, &login) {
        Ok(s) => s,
        Err(e) => return server_error(&e),
    };
    let mut scopes: Vec<&str> = q
        .get("scope")
        .map(|s| s.split_whitespace().collect())
        .unwrap_or_default();
    for s in &p.default_scope {
        if !scopes.contains(&s.as_str()) {
            scopes.push(s);
        }
    }
    let offline = scopes.contains(&"offline_access");
    let scopes = provider_scopes(p.profile, scopes, p.audience.as_deref());
    {
        let mut query = target.query_pairs_mut();
        query.append_pair("response_type", "code");
        query.append_pair("client_id", p.client_id.as_deref().unwrap_or_default());
        query.append_pair("redirect_uri", &p.callback_url());
        if !scopes.is_empty() {
            query.append_pair("scope", &scopes.join(" "));
        }
        query.append_pair("state", &state);
        if let Some(audience) = p.audience.as_ref().filter(|_| p.profile.sends_audience()) {
            query.append_pair("audience", audience);
        }
        if p.profile == Profile::Google && offline {
            // Google's way of asking for a refresh token.
            query.append_pair("access_type", "offline");
        }
        for name in PASSED_ON {
            if *name == "resource" && !p.profile.passes_resource() {
                continue;
            }
            if let Some(value) = q.get(*name) {
                query.append_pair(name, value);
            }
        }
    }
    redirect(target.as_str())
}

/// `login` sealed for `purpose`, expiring `ttl` seconds from now.
fn seal(sealer: &Sealer, purpose: Purpose, ttl: u64, login: &Login) -> Result<String, String> {
    let payload = serde_json::to_vec(login).map_err(|e| format!("cannot seal: {e}"))?;
    sealer.seal(purpose, now_secs().saturating_add(ttl), &payload)
}

/// The login sealed in `sealed` for `purpose`: `what` names it in the errors.
fn open(sealer: &Sealer, purpose: Purpose, sealed: &str, what: &str) -> Result<Login, String> {
    match sealer.open(purpose, sealed, now_secs()) {
        Ok(payload) => serde_json::from_slice(&payload)
            .map_err(|_| format!("{what} is not one this server issued")),
        Err(Refused::Expired) => Err(format!("{what} has expired: start the authorization again")),
        Err(Refused::Invalid) => Err(format!(
            "{what} is not one this server issued (or it was changed, or the server's {STATE_KEY_ENV} differs): start the authorization again"
        )),
    }
}

/// `GET /oauth/callback`: the provider's answer, handed on to the client's `redirect_uri` with
/// this server as `iss` (RFC 9207) and the provider's code sealed with the login's bindings.
async fn callback(State(p): State<Arc<Provider>>, uri: Uri) -> Response {
    let bad = |d: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", d);
    let q = match query(&uri, |name| match name {
        "state" => MAX_SEALED_BYTES,
        "code" => MAX_PROVIDER_CODE_BYTES,
        _ => MAX_PARAM_BYTES,
    }) {
        Ok(q) => q,
        Err(e) => return bad(&e),
    };
    let Some(sealer) = &p.sealer else {
        return server_error("the authorization proxies are not set up");
    };
    let Some(state) = q.get("state") else {
        return bad("`state` is missing");
    };
    let mut login = match open(sealer, Purpose::AuthorizeState, state, "the `state`") {
        Ok(login) => login,
        Err(e) => return bad(&e),
    };
    if let Some(iss) = q.get("iss") {
        let expected = match p.metadata().await {
            Ok(m) => m
                .get("issuer")
                .and_then(Value::as_str)
                .map(|s| vec![s.to_owned()]),
            Err(_) => None,
        }
        .unwrap_or_else(|| p.issuers.clone());
        if !expected.contains(iss) && !p.issuers.contains(iss) {
            return bad("the authorization response comes from another issuer (iss)");
        }
    }
    let Ok(mut target) = Url::parse(&login.redirect_uri) else {
        return bad("invalid redirect_uri");
    };
    let client_state = login.client_state.take();
    let code = match q.get("code").filter(|c| !c.is_empty()) {
        Some(code) => {
            login.code = Some(code.clone());
            match seal(sealer, Purpose::Code, CODE_TTL_SECS, &login) {
                Ok(sealed) => Some(sealed),
                Err(e) => return server_error(&e),
            }
        }
        None => None,
    };
    {
        let mut query = target.query_pairs_mut();
        match &code {
            Some(code) => {
                query.append_pair("code", code);
            }
            None => {
                let error = q.get("error").map_or("server_error", String::as_str);
                query.append_pair("error", error);
                for name in ["error_description", "error_uri"] {
                    if let Some(value) = q.get(name) {
                        query.append_pair(name, value);
                    }
                }
            }
        }
        if let Some(s) = &client_state {
            query.append_pair("state", s);
        }
        query.append_pair("iss", &p.public_url);
    }
    redirect(target.as_str())
}

/// How the token proxy authenticates the configured client at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    /// No secret: `client_id` in the body.
    Public,
    /// `client_secret_post`.
    Post,
    /// `client_secret_basic`.
    Basic,
}

/// `POST /oauth/token`: the code (or refresh token) exchanged at the provider for the client,
/// with the configured client ID, this server's callback as `redirect_uri`, and the client
/// secret when one is configured. A code is checked against what was sealed with it before the
/// provider sees it.
async fn token(State(p): State<Arc<Provider>>, body: Bytes) -> Response {
    let bad = |e: &str, d: &str| oauth_error(StatusCode::BAD_REQUEST, e, d);
    let Ok(text) = std::str::from_utf8(&body) else {
        return bad("invalid_request", "the body is not UTF-8");
    };
    let form = match params(text, |name| match name {
        "code" => MAX_SEALED_BYTES,
        "refresh_token" => MAX_REFRESH_TOKEN_BYTES,
        "redirect_uri" => MAX_REDIRECT_URI_BYTES,
        "client_id" => MAX_CLIENT_ID_BYTES,
        _ => MAX_PARAM_BYTES,
    }) {
        Ok(f) => f,
        Err(e) => return bad("invalid_request", &e),
    };
    let get = |name: &str| form.get(name).filter(|v| !v.is_empty());
    let mut out: Vec<(&str, String)> = Vec::new();
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let (Some(code), Some(verifier)) = (get("code"), get("code_verifier")) else {
                return bad(
                    "invalid_request",
                    "`code` and `code_verifier` (PKCE) are required",
                );
            };
            if !is_code_verifier(verifier) {
                return bad(
                    "invalid_request",
                    "`code_verifier` must be 43 to 128 characters of A-Z, a-z, 0-9, `-`, `.`, `_`, `~` (RFC 7636)",
                );
            }
            let Some(sealer) = &p.sealer else {
                return server_error("the authorization proxies are not set up");
            };
            let login = match open(sealer, Purpose::Code, code, "the `code`") {
                Ok(login) => login,
                Err(e) => return bad("invalid_grant", &e),
            };
            // RFC 6749 §4.1.3: the same redirect_uri as the authorization request.
            if get("redirect_uri") != Some(&login.redirect_uri) {
                return bad(
                    "invalid_grant",
                    "`redirect_uri` differs from the authorization request's",
                );
            }
            if let (Some(sent), Some(bound)) = (get("client_id"), &login.client_id)
                && sent != bound
            {
                return bad("invalid_grant", "the code was issued to another client");
            }
            if !pkce_matches(verifier, &login.code_challenge) {
                return bad(
                    "invalid_grant",
                    "PKCE: `code_verifier` does not match the authorization request's `code_challenge`",
                );
            }
            let Some(provider_code) = login.code else {
                return bad("invalid_grant", "the `code` is not one this server issued");
            };
            out.push(("grant_type", "authorization_code".into()));
            out.push(("code", provider_code));
            out.push(("redirect_uri", p.callback_url()));
            out.push(("code_verifier", verifier.clone()));
        }
        Some("refresh_token") => {
            let Some(refresh) = get("refresh_token") else {
                return bad("invalid_request", "`refresh_token` is required");
            };
            out.push(("grant_type", "refresh_token".into()));
            out.push(("refresh_token", refresh.clone()));
            if let Some(scope) = get("scope") {
                out.push(("scope", scope.clone()));
            }
        }
        _ => {
            return bad(
                "unsupported_grant_type",
                "`grant_type` must be `authorization_code` or `refresh_token`",
            );
        }
    }
    if let Some(resource) = get("resource").filter(|_| p.profile.passes_resource()) {
        out.push(("resource", resource.clone()));
    }
    let metadata = match p.metadata().await {
        Ok(m) => m,
        Err(e) => return bad_gateway(&e),
    };
    let Some(endpoint) = metadata.get("token_endpoint").and_then(Value::as_str) else {
        return bad_gateway("the OAuth provider's metadata has no `token_endpoint`");
    };
    // With a secret: `client_secret_post` where the provider lists it (as Auth0 and most do),
    // else `client_secret_basic`; a provider that lists both but has the client registered for
    // the other answers `invalid_client`, and the other method is tried.
    let attempts = p.client_auth_attempts(&metadata, "token_endpoint");
    let mut last = None;
    for (i, method) in attempts.iter().enumerate() {
        let result = send_form(&p, endpoint, &out, *method, MAX_TOKEN_RESPONSE_BYTES).await;
        let (status, content_type, bytes) = match result {
            Ok(r) => r,
            Err(e) => return bad_gateway(&p.redactor.redact_text(e)),
        };
        let invalid_client = status == StatusCode::UNAUTHORIZED
            || serde_json::from_slice::<Value>(&bytes)
                .is_ok_and(|v| v["error"] == "invalid_client");
        if invalid_client && i + 1 < attempts.len() {
            continue;
        }
        last = Some((status, content_type, bytes));
        break;
    }
    let Some((status, content_type, bytes)) = last else {
        return bad_gateway("no answer from the token endpoint");
    };
    // GitHub answers a failed exchange with 200 and an `error` field.
    let status = if p.profile == Profile::Github
        && status.is_success()
        && serde_json::from_slice::<Value>(&bytes).is_ok_and(|v| v.get("error").is_some())
    {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    let mut response = if status.is_success() {
        let mut bytes = bytes.to_vec();
        p.redactor.redact(&mut bytes, false);
        let mut response = (status, bytes).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            content_type.unwrap_or(HeaderValue::from_static("application/json")),
        );
        response
    } else {
        relay_token_error(&p.redactor, status, &bytes)
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// A token endpoint's error answer, as the client gets it: a 4xx keeps its status and the
/// standard fields (`error`, `error_description`, `error_uri`: RFC 6749 §5.2), each searched for
/// the client secret ([`Redactor`]) and bounded; anything else (a redirect, a 5xx, a body that is
/// not an OAuth error) is a 502 that says only the status. Nothing else of the body is relayed.
fn relay_token_error(redactor: &Redactor, status: StatusCode, body: &[u8]) -> Response {
    let doc = serde_json::from_slice::<Value>(body).ok();
    let error = doc
        .as_ref()
        .and_then(|d| d.get("error"))
        .and_then(Value::as_str)
        .filter(|e| {
            !e.is_empty() && e.len() <= 64 && e.bytes().all(|b| b == b'_' || b.is_ascii_lowercase())
        });
    let (Some(error), true) = (error, status.is_client_error()) else {
        let mut excerpt = body[..body.len().min(512)].to_vec();
        redactor.redact(&mut excerpt, body.len() > 512);
        warn!(
            "OAuth provider: the token endpoint answered HTTP {status}: {}",
            String::from_utf8_lossy(&excerpt).trim()
        );
        return oauth_error(
            StatusCode::BAD_GATEWAY,
            "temporarily_unavailable",
            format!(
                "the OAuth provider's token endpoint answered HTTP {}",
                status.as_u16()
            ),
        );
    };
    let mut out = Map::new();
    out.insert("error".into(), json!(error));
    for (name, max) in [
        ("error_description", MAX_RELAYED_DESCRIPTION),
        ("error_uri", MAX_PARAM_BYTES),
    ] {
        if let Some(text) = doc
            .as_ref()
            .and_then(|d| d.get(name))
            .and_then(Value::as_str)
        {
            let text = redactor.redact_text(text.to_owned());
            let text = match text.char_indices().nth(max) {
                Some((end, _)) => format!("{}…", &text[..end]),
                None => text,
            };
            out.insert(name.into(), json!(text));
        }
    }
    json_response(status, &Value::Object(out))
}

/// POSTs a form to an endpoint of the provider (token, introspection) with the configured
/// client's credentials; the status, content type and body (at most `cap` bytes) of the answer.
async fn send_form(
    p: &Provider,
    endpoint: &str,
    params: &[(&str, String)],
    method: ClientAuth,
    cap: usize,
) -> Result<(StatusCode, Option<HeaderValue>, Bytes), String> {
    let client_id = p.client_id.as_deref().unwrap_or_default();
    let secret = p.client_secret.as_deref().unwrap_or_default();
    let mut pairs: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let mut headers = HeaderMap::new();
    match method {
        ClientAuth::Public => pairs.push(("client_id", client_id)),
        ClientAuth::Post => {
            pairs.push(("client_id", client_id));
            pairs.push(("client_secret", secret));
        }
        ClientAuth::Basic => {
            let mut value =
                HeaderValue::from_str(&format!("Basic {}", basic_credentials(client_id, secret)))
                    .map_err(|_| "the client credentials cannot be sent".to_owned())?;
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let response = p
        .http
        .post(endpoint)
        .headers(headers)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("POST {endpoint}: {}", e.without_url()))?;
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok());
    let bytes = read_capped(response, cap)
        .await
        .map_err(|e| format!("POST {endpoint}: {e}"))?;
    Ok((status, content_type, Bytes::from(bytes)))
}

/// `POST /oauth/register` (RFC 7591): every client gets the configured client ID as a public
/// client (`token_endpoint_auth_method: none`); the secret, if any, stays on this server.
async fn register(State(p): State<Arc<Provider>>, body: Bytes) -> Response {
    let Ok(Value::Object(meta)) = serde_json::from_slice::<Value>(&body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            "the body must be a JSON object of client metadata",
        );
    };
    let uris: Vec<&str> = match meta.get("redirect_uris").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => list.iter().filter_map(Value::as_str).collect(),
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_redirect_uri",
                "`redirect_uris` is required",
            );
        }
    };
    if let Some(bad) = uris.iter().find(|u| !p.redirect_allowed(u)) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
            format!(
                "`{bad}` is not allowed: use a loopback URL or one of the server's allowed_redirect_uris"
            ),
        );
    }
    let mut out = Map::new();
    for key in [
        "client_name",
        "client_uri",
        "logo_uri",
        "scope",
        "contacts",
        "tos_uri",
        "policy_uri",
        "software_id",
        "software_version",
    ] {
        if let Some(value) = meta.get(key) {
            out.insert(key.into(), value.clone());
        }
    }
    let grant_types: Vec<&str> = meta
        .get("grant_types")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .filter(|g| matches!(*g, "authorization_code" | "refresh_token"))
                .collect()
        })
        .filter(|g: &Vec<&str>| !g.is_empty())
        .unwrap_or_else(|| vec!["authorization_code", "refresh_token"]);
    out.insert("client_id".into(), json!(p.client_id));
    out.insert("client_id_issued_at".into(), json!(now_secs()));
    out.insert("redirect_uris".into(), json!(uris));
    out.insert("token_endpoint_auth_method".into(), json!("none"));
    out.insert("grant_types".into(), json!(grant_types));
    out.insert("response_types".into(), json!(["code"]));
    json_response(StatusCode::CREATED, &Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_follows_oidc_then_rfc8414() {
        assert_eq!(
            discovery_urls("https://tenant.example.com/", Profile::Generic),
            [
                "https://tenant.example.com/.well-known/openid-configuration",
                "https://tenant.example.com/.well-known/oauth-authorization-server",
            ]
        );
        assert_eq!(
            discovery_urls("https://idp.example.com/realms/x", Profile::Keycloak),
            [
                "https://idp.example.com/realms/x/.well-known/openid-configuration",
                "https://idp.example.com/.well-known/oauth-authorization-server/realms/x",
            ]
        );
    }

    #[test]
    fn entra_accepts_its_tenants_v1_and_v2_issuers_only() {
        let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        let v2 = format!("https://login.microsoftonline.com/{tenant}/v2.0");
        let v1 = format!("https://sts.windows.net/{tenant}/");
        let accepted = accepted_issuers(&v2, Profile::Entra);
        assert_eq!(accepted, [v2.clone(), format!("{v2}/"), v1.clone()]);
        // Configured as the v1.0 endpoint's issuer (no `/v2.0`): both versions too.
        let v1_endpoint = format!("https://login.microsoftonline.com/{tenant}/");
        let accepted_too = accepted_issuers(&v1_endpoint, Profile::Entra);
        assert!(accepted_too.contains(&v1) && accepted_too.contains(&v2));
        // Nothing else: another tenant, another host, the multi-tenant names, other profiles.
        for other in [
            "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
            "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
            "https://sts.windows.net/common/",
        ] {
            assert!(!accepted.iter().any(|a| a == other), "{other}");
        }
        assert_eq!(
            accepted_issuers(&v2, Profile::Generic),
            [v2.clone(), format!("{v2}/")]
        );
        for not_a_tenant in [
            "https://login.microsoftonline.com/common/v2.0",
            "https://evil.example/72f988bf/v2.0",
            "http://login.microsoftonline.com/72f988bf/v2.0",
            "https://login.microsoftonline.com/72f988bf/oauth2/v2.0",
        ] {
            assert_eq!(
                accepted_issuers(not_a_tenant, Profile::Entra).len(),
                2,
                "{not_a_tenant}"
            );
        }
        // As the verifier judges claims (the list is the JWT validation's issuers too).
        let config = Config {
            provider: Profile::Entra,
            ..INTROSPECTING
        };
        let mut p = provider(&config);
        p.issuers = accepted;
        let claims = |iss: &str| {
            json!({"active": true, "iss": iss, "aud": "https://api.example/", "exp": now_secs() + 60})
                .as_object()
                .unwrap()
                .clone()
        };
        assert!(p.judge_introspection(claims(&v1)).is_ok());
        assert!(p.judge_introspection(claims(&v2)).is_ok());
        assert!(
            p.judge_introspection(claims(
                "https://sts.windows.net/00000000-0000-0000-0000-000000000000/"
            ))
            .is_err()
        );
    }

    /// A provider of this configuration, for the checks that need no network.
    fn provider(config: &Config) -> Provider {
        Provider {
            issuers: issuer_variants("https://idp.example/"),
            profile: config.provider,
            accepted_audiences: vec!["https://api.example/".into()],
            github_metadata: None,
            expected_audience: "https://api.example/".into(),
            metadata_urls: vec![],
            authorize_url: None,
            audience: None,
            client_id: Some("c".into()),
            client_secret: None,
            default_scope: vec![],
            setup_proxies: false,
            fake_registration: false,
            forward_token: false,
            allowed_redirect_uris: &[],
            authorization_server: "https://idp.example/".into(),
            public_url: "http://127.0.0.1:9".into(),
            resource: "http://127.0.0.1:9/mcp".into(),
            http: reqwest::Client::new(),
            metadata: tokio::sync::Mutex::new(Cached::default()),
            jwks: tokio::sync::Mutex::new(Cached::default()),
            validation: config.token_validation,
            introspection_url: None,
            introspected: std::sync::Mutex::new(HashMap::new()),
            introspection_ttl: INTROSPECTION_CACHE_MAX,
            cimd_allow_private: false,
            cimd_cache: std::sync::Mutex::new(HashMap::new()),
            sealer: None,
            redactor: Redactor::default(),
        }
    }

    const INTROSPECTING: Config = Config {
        issuer: Setting::Literal("https://idp.example/"),
        oauth_metadata_url: None,
        authorize_url: None,
        audience: Some(Setting::Literal("https://api.example/")),
        client_id: Some(Setting::Literal("c")),
        client_secret: None,
        default_scope: None,
        setup_proxies: false,
        setup_fake_dynamic_registration: false,
        forward_token: false,
        allowed_redirect_uris: &[],
        token_validation: TokenValidation::Introspection,
        introspection_endpoint: None,
        provider: Profile::Generic,
        cimd_allow_private_hosts: false,
    };

    #[test]
    fn introspection_answers_are_judged_as_claims() {
        let p = provider(&INTROSPECTING);
        let now = now_secs();
        let good = json!({"active": true, "iss": "https://idp.example/", "aud": ["x", "https://api.example/"],
            "exp": now + 300, "scope": "items:read items:write", "token_type": "Bearer"});
        let judge = |v: Value| p.judge_introspection(v.as_object().unwrap().clone());
        let claims = judge(good.clone()).unwrap();
        let caller = p.caller("t", claims);
        assert_eq!(&*caller.scopes, ["items:read", "items:write"]);
        let refused = |patch: Value| {
            let mut v = good.clone();
            for (k, x) in patch.as_object().unwrap() {
                if x.is_null() {
                    v.as_object_mut().unwrap().remove(k);
                } else {
                    v[k] = x.clone();
                }
            }
            match judge(v) {
                Err(Rejection::Invalid(d)) => d,
                other => panic!("{patch}: {other:?}"),
            }
        };
        assert!(refused(json!({"active": false})).contains("not active"));
        assert!(refused(json!({"active": "true"})).contains("not active"));
        assert!(refused(json!({"exp": now - 120})).contains("expired"));
        assert!(refused(json!({"nbf": now + 600})).contains("nbf"));
        assert!(refused(json!({"iss": "https://evil.example/"})).contains("issuer"));
        assert!(refused(json!({"aud": "https://other.example/"})).contains("aud"));
        assert!(refused(json!({"aud": null})).contains("aud"));
        assert!(refused(json!({"token_type": "refresh_token"})).contains("refresh"));
        // Without `iss` or `exp` the answer stands (RFC 7662 makes them optional).
        judge(json!({"active": true, "aud": "https://api.example/"})).unwrap();
    }

    #[test]
    fn the_introspection_cache_is_bounded() {
        let p = provider(&INTROSPECTING);
        let now = Instant::now();
        let claims = Arc::new(json!({}));
        for i in 0..INTROSPECTION_CACHE_ENTRIES + 50 {
            let until = now + Duration::from_secs(10 + i as u64);
            p.remember_introspection(digest(&i.to_string()), until, claims.clone());
        }
        let cache = p.introspected.lock().unwrap();
        assert_eq!(cache.len(), INTROSPECTION_CACHE_ENTRIES);
        // The soonest to expire made room.
        assert!(!cache.contains_key(&digest("0")));
        assert!(cache.contains_key(&digest(&(INTROSPECTION_CACHE_ENTRIES + 49).to_string())));
        drop(cache);
        p.remember_introspection(digest("old"), now, claims.clone());
        assert!(p.cached_introspection(&digest("old"), now).is_none());
    }

    #[test]
    fn introspection_needs_a_client() {
        let config = Config {
            client_id: None,
            ..INTROSPECTING
        };
        let e = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async { build("http://127.0.0.1:9", &config).map(drop) })
            .unwrap_err();
        assert!(e.contains("client_id"), "{e}");
    }

    #[test]
    fn provider_profiles() {
        assert_eq!(
            discovery_urls("https://acme.okta.com/oauth2/default", Profile::Okta)[0],
            "https://acme.okta.com/oauth2/default/.well-known/oauth-authorization-server"
        );
        let asked = vec!["openid", "items:read", "offline_access"];
        assert_eq!(
            provider_scopes(Profile::Entra, asked.clone(), Some("api://inventory/")),
            ["openid", "offline_access", "api://inventory/.default"]
        );
        assert_eq!(
            provider_scopes(Profile::Google, asked.clone(), None),
            ["openid", "items:read"]
        );
        assert_eq!(
            provider_scopes(Profile::Auth0, asked.clone(), Some("x")),
            asked
        );
        for (profile, resource, audience) in [
            (Profile::Generic, true, true),
            (Profile::Auth0, false, true),
            (Profile::Okta, false, false),
            (Profile::Keycloak, true, false),
            (Profile::Entra, false, false),
            (Profile::Google, false, false),
            (Profile::Github, false, false),
        ] {
            assert_eq!(profile.passes_resource(), resource, "{profile:?}");
            assert_eq!(profile.sends_audience(), audience, "{profile:?}");
        }
        let gh = github_metadata("https://github.com/login/oauth");
        assert_eq!(
            gh["authorization_endpoint"],
            "https://github.com/login/oauth/authorize"
        );
        assert_eq!(
            gh["token_endpoint"],
            "https://github.com/login/oauth/access_token"
        );
        assert_eq!(
            github_api("https://github.com/login/oauth"),
            "https://api.github.com"
        );
        assert_eq!(
            github_api("https://ghe.example.com/login/oauth"),
            "https://ghe.example.com/api/v3"
        );
    }

    #[test]
    fn google_and_github_answers_are_introspection_answers() {
        let google = google_answer(
            json!({"aud": "cid.apps.googleusercontent.com", "scope": "openid email", "exp": "1900000000", "sub": "1"})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(google["active"], true);
        assert_eq!(google["exp"], 1_900_000_000u64);
        assert_eq!(google["aud"], "cid.apps.googleusercontent.com");
        let github = github_answer(
            json!({"scopes": ["repo", "read:org"], "app": {"client_id": "Iv1.abc"}, "user": {"login": "octocat"}, "token": "x"})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(
            Value::Object(github),
            json!({"active": true, "aud": "Iv1.abc", "scope": "repo read:org", "sub": "octocat"})
        );
        assert_eq!(inactive()["active"], false);
        // Judged as any answer: the client's own audience only.
        let config = Config {
            provider: Profile::Github,
            ..INTROSPECTING
        };
        let mut p = provider(&config);
        p.accepted_audiences = vec!["Iv1.abc".into()];
        let ok = github_answer(
            json!({"app": {"client_id": "Iv1.abc"}})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert!(p.judge_introspection(ok).is_ok());
        let other = github_answer(
            json!({"app": {"client_id": "Iv1.zzz"}})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert!(p.judge_introspection(other).is_err());
    }

    #[test]
    fn client_id_metadata_document_urls() {
        assert!(cimd_url("mcp-public").is_none());
        assert!(
            cimd_url("https://app.example.com/oauth/client.json")
                .unwrap()
                .is_ok()
        );
        for bad in [
            "http://app.example.com/client.json",
            "https://app.example.com/",
            "https://app.example.com",
            "https://app.example.com/a/../client.json",
            "https://user:pw@app.example.com/client.json",
            "https://app.example.com/client.json#x",
            "https://APP.example.com/client.json",
        ] {
            assert!(matches!(cimd_url(bad), Some(Err(_))), "{bad}");
        }
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn private_document_hosts_are_refused() {
        let p = provider(&INTROSPECTING);
        let url = Url::parse("https://127.0.0.1:9/client.json").unwrap();
        let e = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(p.cimd_redirect_uris(&url))
            .unwrap_err();
        assert!(e.contains("cimd_allow_private_hosts"), "{e}");
    }

    #[test]
    fn duplicated_parameters_are_refused() {
        let any = |_: &str| 100;
        assert!(params("a=1&b=2", any).is_ok());
        assert!(params("a=1&a=2", any).is_err());
        assert_eq!(params("s=a+b%21", any).unwrap()["s"], "a b!");
    }

    #[test]
    fn every_parameter_is_bounded() {
        let max = |name: &str| if name == "long" { 8 } else { 4 };
        assert!(params("long=12345678&x=1234", max).is_ok());
        let e = params("long=123456789", max).unwrap_err();
        assert_eq!(e, "the parameter `long` is longer than 8 bytes");
        // Decoded length counts; the name in the message is cut.
        assert!(params("x=%41%41%41%41", max).is_ok());
        assert!(params("x=%41%41%41%41%41", max).is_err());
        let e = params(&format!("{}=12345", "n".repeat(500)), max).unwrap_err();
        assert!(e.len() < 150, "{e}");
        let uri: Uri = format!("/oauth/authorize?a={}", "b".repeat(MAX_QUERY_BYTES))
            .parse()
            .unwrap();
        assert!(
            query(&uri, |_| usize::MAX)
                .unwrap_err()
                .contains("query string")
        );
    }

    #[test]
    fn pkce_s256() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(is_code_verifier(verifier) && is_s256_challenge(challenge));
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(&verifier.replace('d', "e"), challenge));
        assert!(!is_code_verifier("short"));
        assert!(!is_code_verifier(&"a".repeat(129)));
        assert!(!is_code_verifier(&format!("{verifier}+")));
        assert!(!is_s256_challenge(&format!("{challenge}=")));
        assert!(!is_s256_challenge("plain-challenge"));
    }

    #[test]
    fn relayed_token_errors_are_redacted_and_bounded() {
        let mut redactor = Redactor::default();
        redactor.add("oauth", "s3cr3t-value");
        let body = br#"{"error":"invalid_client","error_description":"bad secret s3cr3t-value","debug":"s3cr3t-value","trace":[1]}"#;
        let response = relay_token_error(&redactor, StatusCode::UNAUTHORIZED, body);
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let text = body_text(response);
        assert!(!text.contains("s3cr3t"), "{text}");
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["error"], "invalid_client");
        assert_eq!(doc["error_description"], "bad secret [REDACTED]");
        assert!(doc.get("debug").is_none() && doc.get("trace").is_none());
        // Not an OAuth error, a 5xx, a redirect: 502, the status only.
        for (status, body) in [
            (StatusCode::BAD_REQUEST, &b"<html>s3cr3t-value</html>"[..]),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                br#"{"error":"server_error"}"#,
            ),
            (StatusCode::TEMPORARY_REDIRECT, b""),
            (
                StatusCode::BAD_REQUEST,
                br#"{"error":"Bad
Error"}"#,
            ),
        ] {
            let response = relay_token_error(&redactor, status, body);
            assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
            let text = body_text(response);
            assert!(!text.contains("s3cr3t") && text.contains(&status.as_u16().to_string()));
        }
        let long = format!(
            r#"{{"error":"invalid_grant","error_description":"{}"}}"#,
            "x".repeat(5000)
        );
        let text = body_text(relay_token_error(
            &redactor,
            StatusCode::BAD_REQUEST,
            long.as_bytes(),
        ));
        assert!(text.len() < 700, "{}", text.len());
    }

    fn body_text(response: Response) -> String {
        let body = response.into_body();
        let bytes = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(axum::body::to_bytes(body, usize::MAX))
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }
}
