//! The configuration the generated `auth_config.rs` holds, from the `--auth` file and the
//! OpenAPI document's security schemes: the types only. What the server does with them is in
//! `settings.rs` (reading settings), `auth.rs`, `oauth.rs` and `credentials.rs`.
//!
//! mcpgen compiles this same file (`src/runtime_config.rs` there) to write `auth_config.rs`:
//! the types are generic over their text (`S`) and lists (`L`), `&'static` ones here, owned ones
//! in the generator, so a field or variant added here fails mcpgen's build until it is written
//! out.

/// A configured value: written in the `--auth` file, or read from an environment variable when
/// the server starts.
#[allow(dead_code, reason = "auth_config.rs builds what its configuration has")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting<S = &'static str> {
    Literal(S),
    Env(S),
}

/// Mode `bearer`: clients send `Authorization: Bearer <token>`.
#[allow(dead_code, reason = "auth_config.rs builds what its configuration has")]
#[derive(Debug, Clone, Copy)]
pub struct BearerConfig<S = &'static str> {
    /// Accepted tokens, comma-separated. `None`: any token is let through (the upstream API
    /// judges it when it is forwarded).
    pub tokens: Option<Setting<S>>,
    /// Send the caller's `Authorization` header on to the upstream API.
    pub forward: bool,
}

/// The `oauth` section of the `--auth` file.
#[allow(dead_code, reason = "auth_config.rs builds what its configuration has")]
#[derive(Debug, Clone, Copy)]
pub struct OAuthConfig<S = &'static str, L = &'static [&'static str]> {
    pub issuer: Setting<S>,
    pub oauth_metadata_url: Option<Setting<S>>,
    pub authorize_url: Option<Setting<S>>,
    pub audience: Option<Setting<S>>,
    pub client_id: Option<Setting<S>>,
    pub client_secret: Option<Setting<S>>,
    pub default_scope: Option<Setting<S>>,
    pub setup_proxies: bool,
    pub setup_fake_dynamic_registration: bool,
    pub forward_token: bool,
    /// Redirect URIs accepted besides loopback ones (exact matches).
    pub allowed_redirect_uris: L,
    /// How access tokens on `/mcp` are checked.
    pub token_validation: TokenValidation,
    /// The RFC 7662 introspection endpoint; `None`: the provider metadata's
    /// `introspection_endpoint`.
    pub introspection_endpoint: Option<Setting<S>>,
    /// The provider whose known deviations apply (`oauth.provider`).
    pub provider: Profile,
    /// Client ID metadata documents may be fetched from loopback and private addresses.
    pub cimd_allow_private_hosts: bool,
}

/// The OAuth provider profile (`oauth.provider`): the known deviations of a provider from the
/// standards the proxies and the verifier follow (README: Provider profiles).
#[allow(dead_code, reason = "auth_config.rs builds what its configuration has")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Standards only: RFC 8707 `resource` passed on, `audience` sent when configured.
    Generic,
    /// `audience` on authorize, no `resource`.
    Auth0,
    /// RFC 8414 metadata under the issuer first, no `resource`, no `audience` parameter.
    Okta,
    /// The realm's metadata; `audience` not sent.
    Keycloak,
    /// No `resource`; the API's scopes asked as `<audience>/.default`; `api://<id>` audiences
    /// also accepted as `<id>` (v2 tokens); the tenant's v1.0 and v2.0 issuers both accepted.
    Entra,
    /// Opaque tokens checked at Google's tokeninfo endpoint; no `resource`.
    Google,
    /// No OIDC: fixed endpoints under the issuer's origin; tokens checked at GitHub's
    /// `POST /applications/{client_id}/token`.
    Github,
}

/// How access tokens are checked (`oauth.token_validation`).
#[allow(dead_code, reason = "auth_config.rs builds what its configuration has")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenValidation {
    /// JWTs only, against the issuer's JWKS.
    Jwt,
    /// Every token is introspected at the provider (RFC 7662).
    Introspection,
    /// A JWT is checked as one, any other token introspected.
    Auto,
}

/// Where an API key goes.
#[allow(
    dead_code,
    reason = "auth_config.rs builds what its API's schemes need"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Header,
    Query,
    Cookie,
}

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
#[allow(
    dead_code,
    reason = "auth_config.rs builds what its API's schemes need"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic` with the form-encoded client ID and secret.
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Post,
}

/// The grant a token exchange asks for.
#[allow(
    dead_code,
    reason = "auth_config.rs builds what its API's schemes need"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeGrant {
    /// RFC 8693 token exchange, the client authenticated with `client_secret_basic`.
    TokenExchange,
    /// Entra ID's on-behalf-of grant (`jwt-bearer` with `requested_token_use=on_behalf_of`),
    /// the client ID and secret in the form body, as Microsoft documents it.
    EntraOnBehalfOf,
}

/// Where client-credentials tokens come from.
#[allow(
    dead_code,
    reason = "auth_config.rs builds what its API's schemes need"
)]
#[derive(Debug, Clone, Copy)]
pub enum Endpoint<S = &'static str> {
    /// The token endpoint; a relative URL resolves against the upstream base URL.
    Token(Setting<S>),
    /// An OpenID Connect discovery document naming the token endpoint.
    Discovery(Setting<S>),
}

/// The credential of one security scheme.
#[allow(
    dead_code,
    reason = "auth_config.rs builds what its API's schemes need"
)]
#[derive(Debug, Clone, Copy)]
pub enum Kind<S = &'static str, L = &'static [&'static str]> {
    ApiKey {
        location: Location,
        name: S,
        key: Setting<S>,
    },
    Bearer {
        token: Setting<S>,
    },
    Basic {
        username: Setting<S>,
        password: Setting<S>,
    },
    ClientCredentials {
        client_id: Setting<S>,
        client_secret: Setting<S>,
        endpoint: Endpoint<S>,
        scopes: L,
        audience: Option<Setting<S>>,
        /// `None`: basic, unless the discovery document offers only `client_secret_post`.
        auth: Option<ClientAuth>,
    },
    /// The caller's access token exchanged at `token_url` for one for the API
    /// (`token_exchange.rs`).
    TokenExchange {
        token_url: Setting<S>,
        client_id: Setting<S>,
        client_secret: Setting<S>,
        audience: Option<Setting<S>>,
        scopes: L,
        grant: ExchangeGrant,
    },
    /// Nothing the server can send by itself.
    Unsupported {
        reason: S,
    },
}

/// A security scheme of the OpenAPI document and its credential.
#[allow(
    dead_code,
    reason = "auth_config.rs builds what its API's schemes need"
)]
#[derive(Debug, Clone, Copy)]
pub struct Scheme<S = &'static str, L = &'static [&'static str]> {
    /// The `components.securitySchemes` name.
    pub name: S,
    /// What is sent, in words.
    pub what: S,
    pub kind: Kind<S, L>,
    /// The caller's forwarded bearer token is sent for this scheme when there is one.
    pub caller: bool,
}
