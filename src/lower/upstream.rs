//! Upstream credentials: joins the config's `upstream:` section with the spec's security schemes.
//! Every configured entry is checked against the scheme it names; every scheme an operation
//! requires gets credentials — the configured ones, else default environment variable names
//! derived from the scheme name — and each tool its [`CredentialUse`] alternatives.
//! Upstream variables are the one exception to "refuse to start": a server may serve tools that
//! need no credential, or another alternative, so a missing one fails only the calls that need it.

use crate::config::upstream::{UpstreamConfig, configured_kind};
use crate::error::{Error, Result};
use crate::ir::auth::{ExchangeGrant, Setting, TokenEndpoint, UpstreamKind, UpstreamScheme};
use crate::ir::{self, CredentialUse, KeyLocation, SchemeKind, Warning};
use crate::pointer::Pointer;
use std::collections::{BTreeMap, BTreeSet};

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
    "MCP_TOOL_MODE",
    "MCP_TOOLSETS",
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
    warnings: &mut Vec<Warning>,
    pointer: &Pointer,
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
                warnings.push(Warning::spec(
                    pointer.clone(),
                    format!(
                        "the default environment variable name{} `{base}{}` {} taken; this scheme uses `{}`",
                        if names.len() > 1 { "s" } else { "" },
                        suffixes.first().copied().unwrap_or(""),
                        if names.len() > 1 { "are" } else { "is" },
                        names.join("`, `")
                    ),
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
    warnings: &mut Vec<Warning>,
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
        | UpstreamKind::ClientCredentials { .. }
        | UpstreamKind::TokenExchange { .. } => true,
        UpstreamKind::Unsupported { bearer, .. } => *bearer,
    }
}

/// Joins the `upstream:` section with the spec's security schemes: checks every configured
/// entry against the scheme it names (a located error otherwise), gives every scheme an
/// operation requires its credentials (default variable names where the config is silent),
/// and decides each tool's credential alternatives. Warns about schemes the server cannot
/// send and about configurations that cannot take effect.
pub fn resolve(api: &mut ir::Api, config: Option<&UpstreamConfig>) -> Result<()> {
    let mut warnings = Vec::new();
    let mut configured = configured_credentials(api, config, &mut warnings)?;
    let mut taken = taken_env(api, &configured);
    let upstream = scheme_credentials(api, &mut configured, &mut taken, &mut warnings);
    let by_name: BTreeMap<&str, &UpstreamScheme> =
        upstream.iter().map(|s| (s.name.as_str(), s)).collect();
    for tool in &mut api.tools {
        tool_credentials(tool, &by_name);
    }
    api.auth.upstream = upstream;
    api.warnings.extend(warnings);
    Ok(())
}

/// The configured credentials by scheme name, each checked against the scheme it names;
/// warnings for credentials that are never sent or only without a forwarded token.
fn configured_credentials(
    api: &ir::Api,
    config: Option<&UpstreamConfig>,
    warnings: &mut Vec<Warning>,
) -> Result<BTreeMap<String, UpstreamKind>> {
    let mut configured = BTreeMap::new();
    let Some(config) = config else {
        return Ok(configured);
    };
    let file = config.file.as_str();
    let forwarding = api.auth.forwarding();
    let schemes: BTreeMap<&str, &ir::SecurityScheme> = api
        .security_schemes
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    for (key, value) in &config.entries {
        let at = Pointer::root().join("upstream").join(key);
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
                file,
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
        let oauth = api.auth.oauth.as_ref().map(|o| o.provider);
        let kind = configured_kind(file, &at, scheme, value, required_scopes(api, key), oauth)?;
        let exchanges = matches!(kind, UpstreamKind::TokenExchange { .. });
        if !scheme.used {
            warnings.push(Warning::file(
                file,
                at.clone(),
                format!(
                    "no operation requires securityScheme `{key}`; these credentials are never sent"
                ),
            ));
        }
        if forwarding && scheme.kind.is_bearer() && !exchanges {
            warnings.push(Warning::file(
                file,
                at.clone(),
                format!(
                    "the caller's forwarded token is sent for securityScheme `{key}` (`bearer.forward` / `oauth.forward_token`); these credentials are used only without one (stdio)"
                ),
            ));
        }
        configured.insert(key.clone(), kind);
    }
    Ok(configured)
}

/// Environment variable names default names must not take: the server's own, the auth
/// settings', and those the configured credentials name.
fn taken_env(api: &ir::Api, configured: &BTreeMap<String, UpstreamKind>) -> BTreeSet<String> {
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
    taken
}

/// The credentials of every scheme an operation requires, sorted by name: the configured ones
/// (taken out of `configured`), else default variable names; a warning for each the server
/// cannot send.
fn scheme_credentials(
    api: &ir::Api,
    configured: &mut BTreeMap<String, UpstreamKind>,
    taken: &mut BTreeSet<String>,
    warnings: &mut Vec<Warning>,
) -> Vec<UpstreamScheme> {
    let forwarding = api.auth.forwarding();
    let mut upstream = Vec::new();
    for scheme in api.security_schemes.iter().filter(|s| s.used) {
        let (kind, is_configured) = match configured.remove(&scheme.name) {
            Some(kind) => (kind, true),
            None => (
                default_kind(scheme, required_scopes(api, &scheme.name), taken, warnings),
                false,
            ),
        };
        // An exchanged token stands in for the caller's: the caller's own never goes upstream.
        let caller = forwarding
            && scheme.kind.is_bearer()
            && !matches!(kind, UpstreamKind::TokenExchange { .. });
        // Undefined names and mutualTLS were warned about already (lowering, normalising).
        if let UpstreamKind::Unsupported { reason, .. } = &kind
            && !caller
            && !matches!(scheme.kind, SchemeKind::Undefined | SchemeKind::MutualTls)
        {
            warnings.push(unsendable(scheme, reason));
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
                UpstreamKind::TokenExchange {
                    grant: ExchangeGrant::EntraOnBehalfOf,
                    ..
                } => {
                    "the caller's access token exchanged with Entra ID's on-behalf-of grant".into()
                }
                UpstreamKind::TokenExchange { .. } => {
                    "the caller's access token exchanged (OAuth 2 token exchange, RFC 8693)".into()
                }
                _ => scheme.kind.describe(),
            },
            kind,
            configured: is_configured,
            caller,
        });
    }
    upstream
}

/// The warning for a scheme the server cannot send, and what to do about it.
fn unsendable(scheme: &ir::SecurityScheme, reason: &str) -> Warning {
    let what = scheme.kind.describe();
    Warning::spec(
        scheme.pointer.clone(),
        format!(
            "securityScheme `{}` ({what}) cannot be sent by the server{}; calls with no other alternative go out without it and the API decides{}",
            scheme.name,
            if reason == what {
                String::new()
            } else {
                format!(": {reason}")
            },
            if scheme.kind.is_bearer() {
                "; forward the caller's token (`bearer.forward`, `oauth.forward_token`) or give `upstream` client credentials with a `token_url`"
            } else {
                ""
            }
        ),
    )
}

/// A tool's credential alternatives, one per alternative of its `security` (those that differ
/// in scopes only are one); a warning when one needs two credentials in the `Authorization`
/// header.
fn tool_credentials(tool: &mut ir::Tool, by_name: &BTreeMap<&str, &UpstreamScheme>) {
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
        tool.warnings.push(Warning::spec(
            tool.pointer.join("security"),
            "one requirement combines two schemes that both use the Authorization header; only one can be sent",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pointer::Pointer;

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
            claim_env(
                &mut taken,
                "API_KEY",
                &[""],
                &mut warnings,
                &Pointer::root().join("x")
            ),
            ["API_KEY_2"]
        );
        assert_eq!(
            claim_env(
                &mut taken,
                "BASIC",
                &["_USERNAME", "_PASSWORD"],
                &mut warnings,
                &Pointer::root().join("y")
            ),
            ["BASIC_2_USERNAME", "BASIC_2_PASSWORD"]
        );
        assert_eq!(
            claim_env(
                &mut taken,
                "API_KEY",
                &[""],
                &mut warnings,
                &Pointer::root().join("z")
            ),
            ["API_KEY_3"]
        );
        assert_eq!(warnings.len(), 3);
        assert!(
            warnings[1]
                .message
                .contains("`BASIC_2_USERNAME`, `BASIC_2_PASSWORD`")
        );
    }
}
