//! The `upstream:` section of the `--auth` file: how the generated server authenticates to the
//! API, keyed by the spec's `components.securitySchemes` names. Its entries can only be checked
//! against the document, so lowering calls [`configured_kind`] for each once the schemes are
//! known (`lower::upstream` gives the schemes the config is silent about their defaults).

use crate::config::setting::{parse_setting, secret_setting, url_setting};
use crate::error::{Error, Result};
use crate::ir::auth::{ClientAuth, ExchangeGrant, Profile, Setting, TokenEndpoint, UpstreamKind};
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

/// `token_exchange` of a bearer-token scheme (RFC 8693; DESIGN §7).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExchange {
    token_url: String,
    client_id: String,
    client_secret: String,
    audience: Option<String>,
    scope: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBasic {
    username: String,
    password: String,
}

/// The OAuth provider profile of mode `oauth` (`None` in other modes): a token exchange is only
/// possible there, and Entra ID's is its on-behalf-of grant.
pub type OAuthProfile = Option<Profile>;

/// The configured credentials of one scheme, checked against its kind.
pub fn configured_kind(
    file: &str,
    at: &Pointer,
    scheme: &ir::SecurityScheme,
    value: &Value,
    default_scopes: Vec<String>,
    oauth: OAuthProfile,
) -> Result<UpstreamKind> {
    let name = &scheme.name;
    if let Some(exchange) = value.as_object().and_then(|o| o.get("token_exchange")) {
        return token_exchange(file, at, scheme, value, exchange, default_scopes, oauth);
    }
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
                Some(scopes) => scope_list(file, &at.join("scopes"), scopes)?,
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

/// `upstream.<scheme>: { token_exchange: {...} }`: the caller's access token exchanged for the
/// API's (mode `oauth` only, bearer-token schemes only, nothing else beside it).
fn token_exchange(
    file: &str,
    at: &Pointer,
    scheme: &ir::SecurityScheme,
    value: &Value,
    exchange: &Value,
    default_scopes: Vec<String>,
    oauth: OAuthProfile,
) -> Result<UpstreamKind> {
    let name = &scheme.name;
    let here = at.join("token_exchange");
    if !scheme.kind.is_bearer() {
        return Err(Error::invalid(
            file,
            &here,
            format!(
                "securityScheme `{name}` ({}) does not take a bearer token: only http bearer, oauth2 and openIdConnect schemes can send an exchanged token",
                scheme.kind.describe()
            ),
        ));
    }
    if let Some(other) = value
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "token_exchange"))
    {
        return Err(Error::invalid(
            file,
            &at.join(other),
            format!(
                "securityScheme `{name}`: `token_exchange` is its whole credential; `{other}` cannot stand beside it"
            ),
        ));
    }
    let Some(profile) = oauth else {
        return Err(Error::invalid(
            file,
            &here,
            "`token_exchange` needs `mode: oauth`: the caller's validated OAuth access token is what is exchanged",
        ));
    };
    if !exchange.is_object() {
        return Err(Error::invalid(
            file,
            &here,
            "`token_exchange` is a mapping: `token_url`, `client_id`, `client_secret` (a `${ENV_NAME}`) and optionally `audience`, `scope`",
        ));
    }
    let raw: RawExchange = deserialize(file, &here, exchange)?;
    let audience = raw
        .audience
        .as_deref()
        .map(|a| parse_setting(file, &here.join("audience"), a))
        .transpose()?;
    let grant = if profile == Profile::Entra {
        ExchangeGrant::EntraOnBehalfOf
    } else {
        ExchangeGrant::TokenExchange
    };
    let scopes = match &raw.scope {
        Some(scope) => scope_list(file, &here.join("scope"), scope)?,
        None if grant == ExchangeGrant::EntraOnBehalfOf => match &audience {
            Some(Setting::Literal(a)) => vec![format!("{}/.default", a.trim_end_matches('/'))],
            _ => {
                return Err(Error::invalid(
                    file,
                    &here.join("scope"),
                    "`oauth.provider: entra` exchanges with the on-behalf-of grant, which needs `scope` (e.g. `api://<downstream-app>/.default`); a literal `audience` stands for `<audience>/.default`",
                ));
            }
        },
        None => default_scopes,
    };
    if grant == ExchangeGrant::EntraOnBehalfOf && scopes.is_empty() {
        return Err(Error::invalid(
            file,
            &here.join("scope"),
            "the on-behalf-of grant of `oauth.provider: entra` needs at least one scope",
        ));
    }
    Ok(UpstreamKind::TokenExchange {
        token_url: url_setting(file, &here.join("token_url"), &raw.token_url)?,
        client_id: parse_setting(file, &here.join("client_id"), &raw.client_id)?,
        client_secret: secret_setting(file, &here.join("client_secret"), &raw.client_secret)?,
        audience,
        scopes,
        grant,
    })
}

/// A list of scope names, or one space-separated string.
fn scope_list(file: &str, at: &Pointer, value: &Value) -> Result<Vec<String>> {
    match value {
        Value::String(s) => Ok(s.split_whitespace().map(str::to_string).collect()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| Error::invalid(file, &at.join(i), "a scope is a string"))
            })
            .collect(),
        _ => Err(Error::invalid(
            file,
            at,
            "a list of scope names (or one space-separated string)",
        )),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer() -> ir::SecurityScheme {
        ir::SecurityScheme {
            name: "downstream".into(),
            pointer: Pointer::root(),
            used: true,
            kind: SchemeKind::HttpBearer,
        }
    }

    fn exchange(config: Value, oauth: OAuthProfile) -> Result<UpstreamKind> {
        configured_kind(
            "a.yaml",
            &Pointer::root().join("upstream").join("downstream"),
            &bearer(),
            &serde_json::json!({ "token_exchange": config }),
            vec!["reports:read".into()],
            oauth,
        )
    }

    #[test]
    fn token_exchange_grants_and_scopes() {
        let config = serde_json::json!({
            "token_url": "https://login.microsoftonline.com/t/oauth2/v2.0/token",
            "audience": "api://downstream/",
            "client_id": "${ID}",
            "client_secret": "${SECRET}",
        });
        // Entra ID: the on-behalf-of grant, the literal audience as `<audience>/.default`.
        let Ok(UpstreamKind::TokenExchange { grant, scopes, .. }) =
            exchange(config.clone(), Some(Profile::Entra))
        else {
            panic!("an exchange");
        };
        assert_eq!(grant, ExchangeGrant::EntraOnBehalfOf);
        assert_eq!(scopes, ["api://downstream/.default"]);
        // Any other provider: RFC 8693, by default the scopes the operations require.
        let Ok(UpstreamKind::TokenExchange { grant, scopes, .. }) =
            exchange(config.clone(), Some(Profile::Okta))
        else {
            panic!("an exchange");
        };
        assert_eq!(grant, ExchangeGrant::TokenExchange);
        assert_eq!(scopes, ["reports:read"]);
        let mut listed = config.clone();
        listed["scope"] = serde_json::json!(["a", "b"]);
        let Ok(UpstreamKind::TokenExchange { scopes, .. }) =
            exchange(listed, Some(Profile::Generic))
        else {
            panic!("an exchange");
        };
        assert_eq!(scopes, ["a", "b"]);
        // Not in mode oauth; a scope that is no string.
        let error = exchange(config.clone(), None).unwrap_err().to_string();
        assert!(
            error.starts_with("a.yaml#/upstream/downstream/token_exchange: "),
            "{error}"
        );
        let mut bad = config;
        bad["scope"] = serde_json::json!([1]);
        let error = exchange(bad, Some(Profile::Generic))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("a.yaml#/upstream/downstream/token_exchange/scope/0: "),
            "{error}"
        );
    }
}
