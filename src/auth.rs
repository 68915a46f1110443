//! The auth config file (`--auth`, DESIGN.md §2): parsed strictly (an unknown key is an error
//! with its JSON pointer, so a typo never silently weakens security), validated, and lowered to
//! [`AuthIr`] for the templates. Its `tools:` section (selection and overrides) is parsed and
//! applied by [`crate::select`].
//!
//! Values: any string may be a whole-value `${ENV_NAME}` reference, which the generated server
//! reads at start-up (refusing to start, naming the variable, when it is missing). Secrets —
//! `client_secret`, bearer `tokens`, upstream keys and passwords — must be such references: a
//! literal secret is a generation error, so no secret value can ever reach the generated files.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A configured string: a literal, or an environment variable read at start-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Setting {
    Literal(String),
    Env(String),
}

impl Setting {
    fn parse(file: &str, pointer: &str, s: &str) -> Result<Self> {
        if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
            let valid = !name.is_empty()
                && name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(Error::invalid(
                    file,
                    pointer,
                    format!(
                        "`{s}`: environment variable names are upper case letters, digits and `_`"
                    ),
                ));
            }
            return Ok(Setting::Env(name.to_string()));
        }
        if s.contains("${") {
            return Err(Error::invalid(
                file,
                pointer,
                format!("`{s}`: a `${{NAME}}` reference must be the whole value"),
            ));
        }
        Ok(Setting::Literal(s.to_string()))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    None,
    Bearer,
    Oauth,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    mode: Mode,
    bearer: Option<RawBearer>,
    oauth: Option<RawOAuth>,
    upstream: Option<BTreeMap<String, Value>>,
    tools: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBearer {
    tokens: Option<String>,
    #[serde(default)]
    forward: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOAuth {
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
}

/// The lowered auth configuration.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuthIr {
    pub mode: Mode,
    pub bearer: Option<BearerIr>,
    pub oauth: Option<OAuthIr>,
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
}

impl AuthIr {
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
        }
        out.sort();
        out.dedup();
        out
    }
}

/// The whole `--auth` config file: auth, the `tools:` section, and the parsed document (what
/// the inputs hash covers).
#[derive(Debug, Clone)]
pub struct Config {
    pub auth: AuthIr,
    pub tools: Option<crate::select::ToolsConfig>,
    pub document: Value,
}

/// Reads and validates an auth config file.
pub fn load(path: &str) -> Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Read {
        file: path.to_string(),
        message: e.to_string(),
    })?;
    parse_config(path, &text)
}

/// Parses and validates auth config text (`file` names it in errors).
pub fn parse(file: &str, text: &str) -> Result<AuthIr> {
    parse_config(file, text).map(|c| c.auth)
}

/// Parses and validates a whole config file's text.
pub fn parse_config(file: &str, text: &str) -> Result<Config> {
    let document = if text.trim().is_empty() {
        Value::Object(serde_json::Map::new())
    } else {
        crate::load::parse_text(file, text)?
    };
    let raw: RawFile = serde_path_to_error::deserialize(&document).map_err(|e| {
        let pointer = crate::error::pointer_of(e.path());
        Error::invalid(file, &pointer, e.inner().to_string())
    })?;
    let tools = crate::select::parse(file, raw.tools.as_ref())?;
    let auth = parse_auth(file, raw)?;
    Ok(Config {
        auth,
        tools,
        document,
    })
}

fn parse_auth(file: &str, raw: RawFile) -> Result<AuthIr> {
    if raw.upstream.is_some() {
        return Err(Error::invalid(
            file,
            "/upstream",
            "upstream credentials (`upstream:`) are not supported by this mcpgen version yet",
        ));
    }
    let setting = |pointer: &str, s: &str| Setting::parse(file, pointer, s);
    let secret = |pointer: &str, s: &str| -> Result<Setting> {
        match Setting::parse(file, pointer, s)? {
            Setting::Literal(_) => Err(Error::invalid(
                file,
                pointer,
                "secrets must be `${ENV_NAME}` references, never literal values: the value would end up in the generated crate",
            )),
            env => Ok(env),
        }
    };
    let url = |pointer: &str, s: &str| -> Result<Setting> {
        let v = setting(pointer, s)?;
        if let Setting::Literal(u) = &v
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(Error::invalid(
                file,
                pointer,
                format!("`{u}` is not an http(s) URL"),
            ));
        }
        Ok(v)
    };
    let mut ir = AuthIr {
        mode: raw.mode,
        ..Default::default()
    };
    match raw.mode {
        Mode::None => {
            for (key, present) in [
                ("bearer", raw.bearer.is_some()),
                ("oauth", raw.oauth.is_some()),
            ] {
                if present {
                    return Err(Error::invalid(
                        file,
                        &format!("/{key}"),
                        format!(
                            "`{key}` is configured but `mode` is `none`: set `mode: {key}` or remove the section"
                        ),
                    ));
                }
            }
        }
        Mode::Bearer => {
            if raw.oauth.is_some() {
                return Err(Error::invalid(
                    file,
                    "/oauth",
                    "`oauth` is configured but `mode` is `bearer`",
                ));
            }
            let b = raw.bearer.unwrap_or(RawBearer {
                tokens: None,
                forward: false,
            });
            ir.bearer = Some(BearerIr {
                tokens: b
                    .tokens
                    .as_deref()
                    .map(|t| secret("/bearer/tokens", t))
                    .transpose()?,
                forward: b.forward,
            });
        }
        Mode::Oauth => {
            if raw.bearer.is_some() {
                return Err(Error::invalid(
                    file,
                    "/bearer",
                    "`bearer` is configured but `mode` is `oauth`",
                ));
            }
            let Some(o) = raw.oauth else {
                return Err(Error::invalid(
                    file,
                    "",
                    "`mode: oauth` needs an `oauth` section with at least `issuer`",
                ));
            };
            if o.setup_proxies && o.client_id.is_none() {
                return Err(Error::invalid(
                    file,
                    "/oauth/setup_proxies",
                    "`setup_proxies` needs `client_id`: the proxies log clients in with the provider's client",
                ));
            }
            if o.setup_fake_dynamic_registration && !o.setup_proxies {
                return Err(Error::invalid(
                    file,
                    "/oauth/setup_fake_dynamic_registration",
                    "`setup_fake_dynamic_registration` needs `setup_proxies: true`",
                ));
            }
            for (i, u) in o.allowed_redirect_uris.iter().enumerate() {
                if let Setting::Env(_) = url(&format!("/oauth/allowed_redirect_uris/{i}"), u)? {
                    return Err(Error::invalid(
                        file,
                        &format!("/oauth/allowed_redirect_uris/{i}"),
                        "redirect URIs are literal values",
                    ));
                }
            }
            ir.oauth = Some(OAuthIr {
                issuer: url("/oauth/issuer", &o.issuer)?,
                oauth_metadata_url: o
                    .oauth_metadata_url
                    .as_deref()
                    .map(|u| url("/oauth/oauth_metadata_url", u))
                    .transpose()?,
                authorize_url: o
                    .authorize_url
                    .as_deref()
                    .map(|u| url("/oauth/authorize_url", u))
                    .transpose()?,
                audience: o
                    .audience
                    .as_deref()
                    .map(|u| setting("/oauth/audience", u))
                    .transpose()?,
                client_id: o
                    .client_id
                    .as_deref()
                    .map(|u| setting("/oauth/client_id", u))
                    .transpose()?,
                client_secret: o
                    .client_secret
                    .as_deref()
                    .map(|u| secret("/oauth/client_secret", u))
                    .transpose()?,
                default_scope: o
                    .default_scope
                    .as_deref()
                    .map(|u| setting("/oauth/default_scope", u))
                    .transpose()?,
                setup_proxies: o.setup_proxies,
                setup_fake_dynamic_registration: o.setup_fake_dynamic_registration,
                forward_token: o.forward_token,
                allowed_redirect_uris: o.allowed_redirect_uris,
            });
        }
    }
    Ok(ir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse("auth.yaml", text).unwrap_err().to_string()
    }

    #[test]
    fn strict_and_located() {
        assert_eq!(
            err("mode: bearer\nbearer:\n  tokenz: x\n"),
            "auth.yaml#/bearer/tokenz: unknown field `tokenz`, expected `tokens` or `forward`"
        );
        assert_eq!(
            err("mode: bearer\nbearer:\n  tokens: abc\n"),
            "auth.yaml#/bearer/tokens: secrets must be `${ENV_NAME}` references, never literal values: the value would end up in the generated crate"
        );
        assert!(
            err("mode: oauth\noauth:\n  issuer: https://x/\n  setup_proxies: true\n")
                .contains("#/oauth/setup_proxies")
        );
        assert!(err("mode: oauth\noauth:\n  issuer: https://x/\n  client_id: a\n  client_secret: s3cret\n").contains("#/oauth/client_secret"));
        assert!(err("mode: magic\n").starts_with("auth.yaml#/mode: unknown variant `magic`"));
        assert!(err("mode: none\nbearer: {}\n").contains("#/bearer"));
        assert!(err("mode: bearer\nbearer:\n  tokens: ${lower}\n").contains("upper case"));
        assert!(err("mode: bearer\nbearer:\n  tokens: pre${X}\n").contains("whole value"));
    }

    #[test]
    fn settings() {
        let ir = parse(
            "a.yaml",
            "mode: oauth\noauth:\n  issuer: https://tenant.example.com/\n  audience: https://api.example.com/\n  client_id: ${OAUTH_CLIENT_ID}\n  client_secret: ${OAUTH_CLIENT_SECRET}\n  setup_proxies: true\n",
        )
        .unwrap();
        let o = ir.oauth.as_ref().unwrap();
        assert_eq!(
            o.issuer,
            Setting::Literal("https://tenant.example.com/".into())
        );
        assert_eq!(o.client_id, Some(Setting::Env("OAUTH_CLIENT_ID".into())));
        assert_eq!(ir.env_vars(), ["OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET"]);
        assert_eq!(parse("a.yaml", "").unwrap().mode, Mode::None);
    }
}
