//! The `mode` of the `--auth` file and its `bearer` or `oauth` section: how callers authenticate
//! to the generated server. A section that does not match the mode is an error, as is a literal
//! secret or an option that needs another one beside it.

use crate::config::setting::{parse_setting, secret_setting, url_setting};
use crate::error::{Error, Result};
use crate::ir::auth::{AuthIr, BearerIr, Mode, OAuthIr, Profile, Setting, TokenValidation};
use crate::pointer::Pointer;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBearer {
    tokens: Option<String>,
    #[serde(default)]
    forward: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOAuth {
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
    /// `jwt` (default), `introspection` or `auto`.
    token_validation: Option<TokenValidation>,
    introspection_endpoint: Option<String>,
    /// The provider whose known deviations apply (default `generic`).
    #[serde(default)]
    provider: Profile,
    /// Client ID metadata documents may come from loopback and private addresses.
    #[serde(default)]
    cimd_allow_private_hosts: bool,
}

/// The `mode` and its section (`bearer` or `oauth`), validated.
pub fn parse(
    file: &str,
    mode: Mode,
    bearer: Option<RawBearer>,
    oauth: Option<RawOAuth>,
) -> Result<AuthIr> {
    let setting = |pointer: &Pointer, s: &str| parse_setting(file, pointer, s);
    let secret = |pointer: &Pointer, s: &str| secret_setting(file, pointer, s);
    let url = |pointer: &Pointer, s: &str| url_setting(file, pointer, s);
    let mut ir = AuthIr {
        mode,
        ..Default::default()
    };
    match mode {
        Mode::None => {
            for (key, present) in [("bearer", bearer.is_some()), ("oauth", oauth.is_some())] {
                if present {
                    return Err(Error::invalid(
                        file,
                        &Pointer::root().join(key),
                        format!(
                            "`{key}` is configured but `mode` is `none`: set `mode: {key}` or remove the section"
                        ),
                    ));
                }
            }
        }
        Mode::Bearer => {
            if oauth.is_some() {
                return Err(Error::invalid(
                    file,
                    &Pointer::root().join("oauth"),
                    "`oauth` is configured but `mode` is `bearer`",
                ));
            }
            let b = bearer.unwrap_or(RawBearer {
                tokens: None,
                forward: false,
            });
            ir.bearer = Some(BearerIr {
                tokens: b
                    .tokens
                    .as_deref()
                    .map(|t| secret(&Pointer::root().join("bearer").join("tokens"), t))
                    .transpose()?,
                forward: b.forward,
            });
        }
        Mode::Oauth => {
            if bearer.is_some() {
                return Err(Error::invalid(
                    file,
                    &Pointer::root().join("bearer"),
                    "`bearer` is configured but `mode` is `oauth`",
                ));
            }
            let Some(o) = oauth else {
                return Err(Error::invalid(
                    file,
                    &Pointer::root(),
                    "`mode: oauth` needs an `oauth` section with at least `issuer`",
                ));
            };
            if o.setup_proxies && o.client_id.is_none() {
                return Err(Error::invalid(
                    file,
                    &Pointer::root().join("oauth").join("setup_proxies"),
                    "`setup_proxies` needs `client_id`: the proxies log clients in with the provider's client",
                ));
            }
            if o.setup_fake_dynamic_registration && !o.setup_proxies {
                return Err(Error::invalid(
                    file,
                    &Pointer::root()
                        .join("oauth")
                        .join("setup_fake_dynamic_registration"),
                    "`setup_fake_dynamic_registration` needs `setup_proxies: true`",
                ));
            }
            let token_validation = profile_rules(file, &o)?;
            if token_validation != TokenValidation::Jwt && o.client_id.is_none() {
                return Err(Error::invalid(
                    file,
                    &Pointer::root().join("oauth").join("token_validation"),
                    "token introspection needs `client_id` (and usually `client_secret`): the server authenticates to the provider's introspection endpoint with them",
                ));
            }
            if o.cimd_allow_private_hosts && !o.setup_proxies {
                return Err(Error::invalid(
                    file,
                    &Pointer::root()
                        .join("oauth")
                        .join("cimd_allow_private_hosts"),
                    "`cimd_allow_private_hosts` needs `setup_proxies: true`: client ID metadata documents are fetched by the authorize proxy",
                ));
            }
            if token_validation == TokenValidation::Jwt && o.introspection_endpoint.is_some() {
                return Err(Error::invalid(
                    file,
                    &Pointer::root().join("oauth").join("introspection_endpoint"),
                    "`introspection_endpoint` is used with `token_validation: introspection` or `auto` only",
                ));
            }
            for (i, u) in o.allowed_redirect_uris.iter().enumerate() {
                if let Setting::Env(_) = url(
                    &Pointer::root()
                        .join("oauth")
                        .join("allowed_redirect_uris")
                        .join(i),
                    u,
                )? {
                    return Err(Error::invalid(
                        file,
                        &Pointer::root()
                            .join("oauth")
                            .join("allowed_redirect_uris")
                            .join(i),
                        "redirect URIs are literal values",
                    ));
                }
            }
            ir.oauth = Some(OAuthIr {
                issuer: url(&Pointer::root().join("oauth").join("issuer"), &o.issuer)?,
                oauth_metadata_url: o
                    .oauth_metadata_url
                    .as_deref()
                    .map(|u| url(&Pointer::root().join("oauth").join("oauth_metadata_url"), u))
                    .transpose()?,
                authorize_url: o
                    .authorize_url
                    .as_deref()
                    .map(|u| url(&Pointer::root().join("oauth").join("authorize_url"), u))
                    .transpose()?,
                audience: o
                    .audience
                    .as_deref()
                    .map(|u| setting(&Pointer::root().join("oauth").join("audience"), u))
                    .transpose()?,
                client_id: o
                    .client_id
                    .as_deref()
                    .map(|u| setting(&Pointer::root().join("oauth").join("client_id"), u))
                    .transpose()?,
                client_secret: o
                    .client_secret
                    .as_deref()
                    .map(|u| secret(&Pointer::root().join("oauth").join("client_secret"), u))
                    .transpose()?,
                default_scope: o
                    .default_scope
                    .as_deref()
                    .map(|u| setting(&Pointer::root().join("oauth").join("default_scope"), u))
                    .transpose()?,
                setup_proxies: o.setup_proxies,
                setup_fake_dynamic_registration: o.setup_fake_dynamic_registration,
                forward_token: o.forward_token,
                allowed_redirect_uris: o.allowed_redirect_uris,
                token_validation,
                provider: o.provider,
                cimd_allow_private_hosts: o.cimd_allow_private_hosts,
                introspection_endpoint: o
                    .introspection_endpoint
                    .as_deref()
                    .map(|u| {
                        url(
                            &Pointer::root().join("oauth").join("introspection_endpoint"),
                            u,
                        )
                    })
                    .transpose()?,
            });
        }
    }
    Ok(ir)
}

/// The checks of `oauth.provider` (README: Provider profiles), and the token validation it
/// implies: Google's and GitHub's access tokens are opaque and checked at their own endpoints.
fn profile_rules(file: &str, o: &RawOAuth) -> Result<TokenValidation> {
    let at = |key: &str| Pointer::root().join("oauth").join(key);
    let fail = |key: &str, message: String| Err(Error::invalid(file, &at(key), message));
    let name = o.provider.name();
    let literal_issuer = (!o.issuer.starts_with("${")).then_some(o.issuer.as_str());
    match o.provider {
        Profile::Generic | Profile::Okta => {}
        Profile::Auth0 if o.audience.is_none() => {
            return fail(
                "audience",
                "`provider: auth0` needs `audience` (the API identifier): without it Auth0 issues a token for its /userinfo only".into(),
            );
        }
        Profile::Auth0 => {}
        Profile::Keycloak => {
            if let Some(issuer) = literal_issuer
                && !issuer.contains("/realms/")
            {
                return fail(
                    "issuer",
                    format!(
                        "`provider: keycloak`: the issuer is a realm's, `https://<host>/realms/<realm>`, not `{issuer}`"
                    ),
                );
            }
        }
        Profile::Entra => {
            if o.audience.is_none() {
                return fail(
                    "audience",
                    "`provider: entra` needs `audience`: the API's application ID URI (`api://<app>`), asked for as `api://<app>/.default`".into(),
                );
            }
            if let Some(issuer) = literal_issuer
                && ["/common/", "/organizations/", "/consumers/"]
                    .iter()
                    .any(|t| format!("{}/", issuer.trim_end_matches('/')).contains(t))
            {
                return fail(
                    "issuer",
                    format!(
                        "`provider: entra`: tokens name their tenant as issuer, so the issuer must be a tenant's (`https://login.microsoftonline.com/<tenant-id>/v2.0`), not `{issuer}`"
                    ),
                );
            }
        }
        Profile::Google | Profile::Github => {
            if o.audience.is_some() {
                return fail(
                    "audience",
                    format!(
                        "`provider: {name}`: access tokens are for the OAuth client itself; leave `audience` out (the client ID is checked)"
                    ),
                );
            }
            if o.client_id.is_none() {
                return fail(
                    "client_id",
                    format!(
                        "`provider: {name}` needs `client_id`: tokens are checked as the client's"
                    ),
                );
            }
            if o.provider == Profile::Github && o.client_secret.is_none() {
                return fail(
                    "client_secret",
                    "`provider: github` needs `client_secret`: GitHub checks tokens only for the app authenticated with its secret".into(),
                );
            }
            if o.introspection_endpoint.is_some() {
                return fail(
                    "introspection_endpoint",
                    format!("`provider: {name}` checks tokens at the provider's own endpoint"),
                );
            }
            return match o.token_validation {
                None | Some(TokenValidation::Introspection) => Ok(TokenValidation::Introspection),
                Some(_) => fail(
                    "token_validation",
                    format!(
                        "`provider: {name}` issues opaque access tokens: they are checked by asking the provider (`introspection`), never as JWTs"
                    ),
                ),
            };
        }
    }
    Ok(o.token_validation.unwrap_or_default())
}
