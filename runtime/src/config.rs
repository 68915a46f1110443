//! The configuration the generated `auth_config.rs` holds, from the `--auth` file and the
//! OpenAPI document's security schemes: the types only. What the server does with them is in
//! `settings.rs` (reading settings), `auth.rs`, `oauth.rs` and `credentials.rs`.

/// A configured value: written in the `--auth` file, or read from an environment variable when
/// the server starts.
#[allow(
    dead_code,
    reason = "built by the generated auth_config.rs as the configuration says"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Literal(&'static str),
    Env(&'static str),
}

/// Mode `bearer`: clients send `Authorization: Bearer <token>`.
#[allow(
    dead_code,
    reason = "built by the generated auth_config.rs as the configuration says"
)]
#[derive(Debug, Clone, Copy)]
pub struct BearerConfig {
    /// Accepted tokens, comma-separated. `None`: any token is let through (the upstream API
    /// judges it when it is forwarded).
    pub tokens: Option<Setting>,
    /// Send the caller's `Authorization` header on to the upstream API.
    pub forward: bool,
}

/// The `oauth` section of the `--auth` file.
#[allow(
    dead_code,
    reason = "built by the generated auth_config.rs as the configuration says"
)]
#[derive(Debug, Clone, Copy)]
pub struct OAuthConfig {
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
    /// Redirect URIs accepted besides loopback ones (exact matches).
    pub allowed_redirect_uris: &'static [&'static str],
}

/// Where an API key goes.
#[allow(
    dead_code,
    reason = "built by the generated auth_config.rs as the configuration says"
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
    reason = "built by the generated auth_config.rs as the configuration says"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic` with the form-encoded client ID and secret.
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Post,
}

/// Where client-credentials tokens come from.
#[allow(
    dead_code,
    reason = "built by the generated auth_config.rs as the configuration says"
)]
#[derive(Debug, Clone, Copy)]
pub enum Endpoint {
    /// The token endpoint; a relative URL resolves against the upstream base URL.
    Token(Setting),
    /// An OpenID Connect discovery document naming the token endpoint.
    Discovery(Setting),
}

/// The credential of one security scheme.
#[allow(
    dead_code,
    reason = "built by the generated auth_config.rs as the configuration says"
)]
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
#[allow(
    dead_code,
    reason = "built by the generated auth_config.rs as the configuration says"
)]
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
