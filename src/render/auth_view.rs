//! The auth part of the view model: the `--auth` configuration and the upstream credentials as
//! the templates present them (`auth_config.rs`, the README, `.env.example`): Rust expressions
//! built with string literals, markdown cells and comment lines made safe for any text.

use crate::ir::Api;
use crate::ir::auth::{
    AuthIr, ExchangeGrant, Mode, OAuthIr, Setting, TokenValidation, UpstreamKind, UpstreamScheme,
};
use crate::render::runtime_config;
use crate::render::text::{comment_line, lit, md_cell};
use serde::Serialize;

/// The auth configuration as the templates show it. Every Rust expression is built here, with
/// string literals from [`lit`], so no configured text can break the generated code.
#[derive(Serialize, Default)]
pub struct AuthView {
    mode: &'static str,
    mode_lit: String,
    /// `auth_config::BEARER` (mode `bearer`), a Rust expression.
    bearer: String,
    bearer_forward: bool,
    /// Bearer tokens are checked against a configured list (else any token passes).
    bearer_checked: bool,
    /// `auth_config::OAUTH` (mode `oauth`), a Rust expression.
    oauth: String,
    has_client_secret: bool,
    setup_proxies: bool,
    setup_fake_dynamic_registration: bool,
    forward_token: bool,
    /// `("tool", &[&["scope", ...], ...])` per tool, in `tools.json` order.
    tool_scopes: Vec<String>,
    scopes_supported: String,
    /// For the README.
    scopes_md: String,
    issuer_md: String,
    audience_md: String,
    /// `jwt`, `introspection` or `auto`.
    token_validation: &'static str,
    /// Where tokens are introspected, for the README.
    introspection_md: String,
    /// `oauth.provider` and what it changes (empty for `generic`).
    provider: &'static str,
    provider_changes: &'static str,
    cimd_allow_private_hosts: bool,
    env: Vec<EnvView>,
    /// `crate::credentials::Scheme` expressions of `auth_config::UPSTREAM`.
    upstream: Vec<String>,
    /// The upstream schemes for the README.
    upstream_rows: Vec<UpstreamRow>,
    /// The upstream credentials' variables (README, `.env.example`).
    upstream_env: Vec<EnvView>,
    /// The caller's token is forwarded upstream.
    forwarding: bool,
    /// Some scheme's tokens come from a client-credentials flow.
    has_client_credentials: bool,
    /// Some scheme exchanges the caller's token (`token_exchange`).
    has_token_exchange: bool,
    /// ... with Entra ID's on-behalf-of grant.
    exchange_on_behalf_of: bool,
}

/// One security scheme in the README's upstream credentials table.
#[derive(Serialize)]
struct UpstreamRow {
    name: String,
    what: String,
    env: String,
    tools: String,
}

/// An environment variable the generated server reads for auth (README, `.env.example`).
#[derive(Serialize)]
struct EnvView {
    name: String,
    what: String,
    /// `what` as one comment line for `.env.example`.
    comment: String,
}

fn env_view(name: String, what: String) -> EnvView {
    EnvView {
        comment: comment_line(&what),
        name,
        what: md_cell(&what),
    }
}

/// A setting for the README: the value, or where it is read from.
fn setting_md(s: &Option<Setting>, default: &str) -> String {
    match s {
        Some(Setting::Literal(v)) => format!("`{}`", md_cell(v).replace('`', "'")),
        Some(Setting::Env(n)) => format!("from `${n}`"),
        None => default.to_string(),
    }
}

/// `TOOL_SCOPES` of `auth_config.rs`, written out here (one line per tool, as the formatter
/// would print it): with thousands of tools the formatter would spend long on one item.
pub fn tool_scopes_table(auth: &AuthView) -> String {
    let mut out = String::from(
        "/// The OAuth scopes each tool needs, in `tools.json` order, from the operations' `security`\n\
         /// requirements: the token must grant every scope of at least one alternative; a tool with no\n\
         /// alternative needs none.",
    );
    if auth.mode != "oauth" {
        out.push_str(" Checked in mode `oauth` only.\n#[allow(dead_code)]");
    }
    out.push_str("\npub const TOOL_SCOPES: &[(&str, &[&[&str]])] = &[\n");
    for row in &auth.tool_scopes {
        out.push_str("    ");
        out.push_str(row);
        out.push_str(",\n");
    }
    out.push_str("];\n");
    out
}

/// The auth view of the API: the mode, the settings' Rust expressions and variables, the OAuth
/// scopes, and the upstream credentials.
pub fn auth_view(api: &Api) -> AuthView {
    let auth = &api.auth;
    let mode = match auth.mode {
        Mode::None => "none",
        Mode::Bearer => "bearer",
        Mode::Oauth => "oauth",
    };
    let mut view = AuthView {
        mode,
        mode_lit: lit(mode),
        env: auth
            .env_vars()
            .into_iter()
            .map(|name| {
                let what = setting_role(auth, &name).to_string();
                env_view(name, what)
            })
            .collect(),
        ..AuthView::default()
    };
    scope_fields(api, &mut view);
    upstream_fields(api, &mut view);
    if let Some(b) = &auth.bearer {
        view.bearer = runtime_config::bearer_expr(b);
        view.bearer_forward = b.forward;
        view.bearer_checked = b.tokens.is_some();
    }
    if let Some(o) = &auth.oauth {
        oauth_fields(o, &mut view);
    }
    view
}

/// The OAuth scopes: each tool's alternatives (`TOOL_SCOPES`), and every scope any tool needs,
/// as Rust literals and for the README.
fn scope_fields(api: &Api, view: &mut AuthView) {
    let mut scopes: Vec<&str> = api
        .tools
        .iter()
        .flat_map(|t| t.scope_alternatives.iter().flatten().map(String::as_str))
        .collect();
    scopes.sort_unstable();
    scopes.dedup();
    view.tool_scopes = api
        .tools
        .iter()
        .map(|t| {
            let alts: Vec<String> = t
                .scope_alternatives
                .iter()
                .map(|alt| {
                    let s: Vec<String> = alt.iter().map(|s| lit(s)).collect();
                    format!("&[{}]", s.join(", "))
                })
                .collect();
            format!("({}, &[{}])", lit(&t.name), alts.join(", "))
        })
        .collect();
    view.scopes_supported = scopes.iter().map(|s| lit(s)).collect::<Vec<_>>().join(", ");
    view.scopes_md = scopes
        .iter()
        .map(|s| format!("`{}`", md_cell(s).replace('`', "'")))
        .collect::<Vec<_>>()
        .join(", ");
}

/// What the auth setting read from the environment variable `name` is, in words.
fn setting_role(auth: &AuthIr, name: &str) -> &'static str {
    let env = |s: &Option<Setting>| matches!(s, Some(Setting::Env(n)) if n == name);
    if let Some(b) = &auth.bearer
        && env(&b.tokens)
    {
        return "accepted bearer tokens, comma-separated (secret)";
    }
    if let Some(o) = &auth.oauth {
        for (s, what) in [
            (
                &o.client_secret,
                "OAuth client secret (secret; never sent to MCP clients)",
            ),
            (&o.client_id, "OAuth client ID at the provider"),
            (&o.audience, "OAuth audience (`aud` of the access tokens)"),
            (&o.oauth_metadata_url, "OAuth provider metadata URL"),
            (&o.authorize_url, "OAuth provider authorization URL"),
            (
                &o.introspection_endpoint,
                "OAuth token introspection endpoint (RFC 7662)",
            ),
            (
                &o.default_scope,
                "scopes added to every authorization request",
            ),
        ] {
            if env(s) {
                return what;
            }
        }
        if env(&Some(o.issuer.clone())) {
            return "OAuth issuer";
        }
    }
    "auth setting"
}

/// The upstream credentials: `auth_config::UPSTREAM` expressions, their variables, and the
/// README's table.
fn upstream_fields(api: &Api, view: &mut AuthView) {
    let auth = &api.auth;
    view.upstream = auth
        .upstream
        .iter()
        .map(runtime_config::scheme_expr)
        .collect();
    view.upstream_env = auth
        .upstream_env()
        .into_iter()
        .map(|e| env_view(e.name, format!("securityScheme `{}`: {}", e.scheme, e.what)))
        .collect();
    view.forwarding = auth.forwarding();
    view.has_client_credentials = auth
        .upstream
        .iter()
        .any(|s| matches!(s.kind, UpstreamKind::ClientCredentials { .. }));
    for scheme in &auth.upstream {
        if let UpstreamKind::TokenExchange { grant, .. } = &scheme.kind {
            view.has_token_exchange = true;
            view.exchange_on_behalf_of |= *grant == ExchangeGrant::EntraOnBehalfOf;
        }
    }
    view.upstream_rows = auth.upstream.iter().map(|s| upstream_row(api, s)).collect();
}

/// One security scheme in the README's upstream credentials table.
fn upstream_row(api: &Api, s: &UpstreamScheme) -> UpstreamRow {
    let count = api
        .tools
        .iter()
        .filter(|t| t.security.iter().any(|alt| alt.contains_key(&s.name)))
        .count();
    let env: Vec<String> = s.env().into_iter().map(|(n, _)| format!("`{n}`")).collect();
    UpstreamRow {
        name: md_cell(&s.name).replace('`', "'"),
        what: match (&s.kind, s.caller) {
            (UpstreamKind::Unsupported { reason, .. }, false) if *reason == s.description => {
                format!("not sent: {}", md_cell(reason))
            }
            (UpstreamKind::Unsupported { reason, .. }, false) => format!(
                "not sent ({}): {}",
                md_cell(&s.description),
                md_cell(reason)
            ),
            (UpstreamKind::Unsupported { .. }, true) => "the caller's forwarded token".to_string(),
            (_, true) => format!(
                "{}: the caller's forwarded token, these only without one (stdio)",
                md_cell(&s.description)
            ),
            (_, false) => md_cell(&s.description),
        },
        env: if env.is_empty() {
            "none".into()
        } else {
            env.join(", ")
        },
        tools: format!("{count} tool{}", if count == 1 { "" } else { "s" }),
    }
}

/// The `oauth` section: Rust expressions of its settings, and the README's words for them.
fn oauth_fields(o: &OAuthIr, view: &mut AuthView) {
    view.oauth = runtime_config::oauth_expr(o);
    view.has_client_secret = o.client_secret.is_some();
    view.setup_proxies = o.setup_proxies;
    view.setup_fake_dynamic_registration = o.setup_fake_dynamic_registration;
    view.forward_token = o.forward_token;
    view.issuer_md = setting_md(&Some(o.issuer.clone()), "");
    view.audience_md = setting_md(&o.audience, "the server's own `<public-url>/mcp`");
    view.token_validation = match o.token_validation {
        TokenValidation::Jwt => "jwt",
        TokenValidation::Introspection => "introspection",
        TokenValidation::Auto => "auto",
    };
    if o.provider != crate::ir::auth::Profile::Generic {
        view.provider = o.provider.name();
        view.provider_changes = o.provider.changes();
    }
    view.cimd_allow_private_hosts = o.cimd_allow_private_hosts;
    view.introspection_md = setting_md(
        &o.introspection_endpoint,
        "the provider metadata's `introspection_endpoint`",
    );
}
