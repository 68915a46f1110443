//! The `mode` of the `--auth` file and its `bearer` or `oauth` section: how callers authenticate
//! to the generated server. A section that does not match the mode is an error, as is a literal
//! secret or an option that needs another one beside it.

use crate::config::setting::{parse_setting, secret_setting, url_setting};
use crate::error::{Error, Result};
use crate::ir::auth::{AuthIr, BearerIr, Mode, OAuthIr, Setting, TokenValidation};
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
    #[serde(default)]
    token_validation: TokenValidation,
    introspection_endpoint: Option<String>,
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
            if o.token_validation != TokenValidation::Jwt && o.client_id.is_none() {
                return Err(Error::invalid(
                    file,
                    &Pointer::root().join("oauth").join("token_validation"),
                    "token introspection needs `client_id` (and usually `client_secret`): the server authenticates to the provider's introspection endpoint with them",
                ));
            }
            if o.token_validation == TokenValidation::Jwt && o.introspection_endpoint.is_some() {
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
                token_validation: o.token_validation,
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
