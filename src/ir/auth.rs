//! The auth side of the model: the `--auth` file's mode and its bearer and OAuth settings, and
//! the upstream credentials lowering decided for every security scheme the operations require.
//! Configured strings are [`Setting`]s: a literal, or an environment variable the generated
//! server reads at start-up.

use super::KeyLocation;
use serde::{Deserialize, Serialize};

/// A configured string: a literal, or an environment variable read at start-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Setting {
    Literal(String),
    Env(String),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    None,
    Bearer,
    Oauth,
}

/// The lowered auth configuration.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuthIr {
    pub mode: Mode,
    pub bearer: Option<BearerIr>,
    pub oauth: Option<OAuthIr>,
    /// Upstream credentials of every security scheme an operation requires, sorted by name
    /// (decided by lowering, from the config's `upstream:` section and the spec's schemes).
    pub upstream: Vec<UpstreamScheme>,
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
    /// The caller's access token exchanged for one for the API (`token_exchange`: RFC 8693, or
    /// Entra ID's on-behalf-of grant with `oauth.provider: entra`).
    TokenExchange {
        token_url: Setting,
        client_id: Setting,
        client_secret: Setting,
        /// The RFC 8693 `audience` parameter (with Entra ID: the default scope's resource).
        audience: Option<Setting>,
        /// Requested with every exchange (empty: no `scope` parameter).
        scopes: Vec<String>,
        grant: ExchangeGrant,
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

/// The grant a token exchange asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExchangeGrant {
    /// RFC 8693 `urn:ietf:params:oauth:grant-type:token-exchange`, client_secret_basic.
    TokenExchange,
    /// Entra ID's on-behalf-of grant: `urn:ietf:params:oauth:grant-type:jwt-bearer` with
    /// `assertion` and `requested_token_use=on_behalf_of`, the client secret in the body.
    EntraOnBehalfOf,
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
            UpstreamKind::TokenExchange {
                token_url,
                client_id,
                client_secret,
                audience,
                ..
            } => {
                push(Some(client_id), "OAuth client ID (token exchange)");
                push(
                    Some(client_secret),
                    "OAuth client secret (token exchange; secret)",
                );
                push(Some(token_url), "OAuth token endpoint URL (token exchange)");
                push(audience.as_ref(), "audience of the exchanged tokens");
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
    pub token_validation: TokenValidation,
    pub introspection_endpoint: Option<Setting>,
    pub provider: Profile,
    pub cimd_allow_private_hosts: bool,
}

/// The OAuth provider profile (`oauth.provider`): whose known deviations apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    #[default]
    Generic,
    Auth0,
    Okta,
    Keycloak,
    Entra,
    Google,
    Github,
}

impl Profile {
    /// What the profile changes, in words (the generated README; README: Provider profiles).
    pub fn changes(self) -> &'static str {
        match self {
            Profile::Generic => {
                "none: RFC 8707 `resource` is passed on, `audience` is sent when configured"
            }
            Profile::Auth0 => {
                "`audience` (required) is added to every authorization request and RFC 8707 `resource` is dropped: Auth0 issues an API access token for `audience` only"
            }
            Profile::Okta => {
                "metadata is read from `<issuer>/.well-known/oauth-authorization-server` first (a custom authorization server's, with its scopes); RFC 8707 `resource` and `audience` are not sent (the authorization server's audience is fixed)"
            }
            Profile::Keycloak => {
                "the issuer must be a realm's (`…/realms/<realm>`), whose metadata is read; `audience` is not sent (Keycloak sets `aud` with audience mappers)"
            }
            Profile::Entra => {
                "RFC 8707 `resource` is dropped (Entra ID refuses it: AADSTS901002/AADSTS9010010); the API's scopes are asked for as `<audience>/.default` beside the OpenID Connect ones; `aud` may be `api://<id>` or `<id>` (v2.0 tokens); the issuer must be a tenant's, and its v1.0 (`https://sts.windows.net/<tenant>/`) and v2.0 issuers are both accepted; an upstream `token_exchange` uses Entra ID's on-behalf-of grant"
            }
            Profile::Google => {
                "access tokens are opaque: each is checked at Google's tokeninfo endpoint (`aud` must be the client ID); `resource` and `audience` are not sent; `offline_access` becomes `access_type=offline`"
            }
            Profile::Github => {
                "no OpenID Connect: GitHub's fixed endpoints under the issuer's origin stand in for metadata; tokens are checked with `POST /applications/<client_id>/token` as the app (client secret required; `aud` is the client ID); `resource` and `audience` are not sent"
            }
        }
    }

    /// The name in the config file.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Generic => "generic",
            Profile::Auth0 => "auth0",
            Profile::Okta => "okta",
            Profile::Keycloak => "keycloak",
            Profile::Entra => "entra",
            Profile::Google => "google",
            Profile::Github => "github",
        }
    }
}

/// How the generated server checks access tokens (`oauth.token_validation`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenValidation {
    /// JWTs against the issuer's JWKS.
    #[default]
    Jwt,
    /// RFC 7662 introspection of every token.
    Introspection,
    /// JWTs as such, other tokens introspected.
    Auto,
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
            push(&o.introspection_endpoint);
        }
        out.sort();
        out.dedup();
        out
    }
}
