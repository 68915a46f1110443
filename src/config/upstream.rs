//! The `upstream:` section of the `--auth` file: how the generated server authenticates to the
//! API, keyed by the spec's `components.securitySchemes` names. Its entries can only be checked
//! against the document, so lowering calls [`configured_kind`] for each once the schemes are
//! known (`lower::upstream` gives the schemes the config is silent about their defaults).

use crate::config::setting::{parse_setting, secret_setting, url_setting};
use crate::error::{Error, Result};
use crate::ir::auth::{ClientAuth, Setting, TokenEndpoint, UpstreamKind};
use crate::ir::{self, SchemeKind};
use crate::pointer::Pointer;
use serde::Deserialize;
use serde_json::Value;

/// The `upstream:` section as written: checked against the spec's security schemes when the
/// spec is lowered ([`configured_kind`]), as only the spec says what each name is.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// The config file, as the user named it.
    pub file: String,
    /// securityScheme name → its credentials, as written.
    pub entries: serde_json::Map<String, Value>,
}

/// Reads the `upstream:` value (`None` or `null`: no section).
pub fn section(file: &str, value: Option<Value>) -> Result<Option<UpstreamConfig>> {
    Ok(match value {
        None | Some(Value::Null) => None,
        Some(Value::Object(entries)) => Some(UpstreamConfig {
            file: file.to_string(),
            entries,
        }),
        Some(_) => {
            return Err(Error::invalid(
                file,
                &Pointer::root().join("upstream"),
                "`upstream` maps securityScheme names of the spec to their credentials",
            ));
        }
    })
}

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

/// The configured credentials of one scheme, checked against its kind.
pub fn configured_kind(
    file: &str,
    at: &Pointer,
    scheme: &ir::SecurityScheme,
    value: &Value,
    default_scopes: Vec<String>,
) -> Result<UpstreamKind> {
    let name = &scheme.name;
    let what = scheme.kind.describe();
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
                username: parse_setting(file, &at.join("username"), &raw.username)?,
                password: secret_setting(file, &at.join("password"), &raw.password)?,
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
                .map(|u| url_setting(file, &at.join("token_url"), u))
                .transpose()?;
            let endpoint = match (&scheme.kind, token_url) {
                (_, Some(u)) => TokenEndpoint::TokenUrl(u),
                (SchemeKind::OpenIdConnect { discovery_url }, None) => {
                    TokenEndpoint::Discovery(match raw.discovery_url.as_deref() {
                        Some(u) => url_setting(file, &at.join("discovery_url"), u)?,
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
                    &at.join("discovery_url"),
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
                            Error::invalid(file, &at.join("scopes").join(i), "a scope is a string")
                        })
                    })
                    .collect::<Result<_>>()?,
                Some(_) => {
                    return Err(Error::invalid(
                        file,
                        &at.join("scopes"),
                        "`scopes` is a list of scope names (or one space-separated string)",
                    ));
                }
            };
            Ok(UpstreamKind::ClientCredentials {
                client_id: parse_setting(file, &at.join("client_id"), &raw.client_id)?,
                client_secret: secret_setting(file, &at.join("client_secret"), &raw.client_secret)?,
                endpoint,
                scopes,
                audience: raw
                    .audience
                    .as_deref()
                    .map(|a| parse_setting(file, &at.join("audience"), a))
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

fn deserialize<T: serde::de::DeserializeOwned>(
    file: &str,
    at: &Pointer,
    value: &Value,
) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let pointer = at.concat(&Pointer::from_path(e.path()));
        Error::invalid(file, &pointer, e.inner().to_string())
    })
}
