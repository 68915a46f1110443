//! The config file given with `--auth` (README: Authentication): how callers authenticate to the
//! generated server (`mode`, `bearer`, `oauth`: [`auth`]), how the server authenticates to the API
//! (`upstream`: [`upstream`]) and which operations become tools (`tools`: [`tools`]). Parsed
//! strictly — an unknown key is an error with its JSON pointer, so a typo never silently weakens
//! security — and validated as far as it can be without the spec; lowering checks the rest.
//!
//! Values: any string may be a whole-value `${ENV_NAME}` reference, which the generated server
//! reads at start-up (refusing to start, naming the variable, when it is missing). Secrets —
//! `client_secret`, bearer `tokens`, upstream keys and passwords — must be such references: a
//! literal secret is a generation error, so no secret value can ever reach the generated files
//! ([`setting`]).

pub mod auth;
pub mod setting;
pub mod tools;
pub mod upstream;

use crate::error::{Error, Result};
use crate::ir::auth::{AuthIr, Mode};
use crate::pointer::Pointer;
use serde::Deserialize;
use serde_json::Value;
use tools::ToolsConfig;
use upstream::UpstreamConfig;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    mode: Mode,
    bearer: Option<auth::RawBearer>,
    oauth: Option<auth::RawOAuth>,
    upstream: Option<Value>,
    tools: Option<Value>,
}

/// The whole `--auth` config file: auth, the `tools:` and `upstream:` sections, and the parsed
/// document (what the inputs hash covers).
#[derive(Debug, Clone)]
pub struct Config {
    pub auth: AuthIr,
    pub tools: Option<ToolsConfig>,
    pub upstream: Option<UpstreamConfig>,
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
#[cfg(test)]
pub fn parse(file: &str, text: &str) -> Result<AuthIr> {
    parse_config(file, text).map(|c| c.auth)
}

/// Parses and validates a whole config file's text.
pub fn parse_config(file: &str, text: &str) -> Result<Config> {
    let document = if text.trim().is_empty() {
        Value::Object(serde_json::Map::new())
    } else {
        crate::spec::load::parse_text(file, text).map_err(|e| match e {
            // `{ password: ${X} }`: in a YAML flow mapping the `}` of `${X}` ends the mapping.
            Error::Syntax {
                file,
                format,
                message,
            } if text.contains("${") && text.contains('{') => Error::Syntax {
                file,
                format,
                message: format!(
                    "{message} (inside `{{ }}` a `${{NAME}}` reference must be quoted, \"${{NAME}}\", or the mapping written one key per line)"
                ),
            },
            other => other,
        })?
    };
    let raw: RawFile = serde_path_to_error::deserialize(&document)
        .map_err(|e| Error::invalid(file, &Pointer::from_path(e.path()), e.inner().to_string()))?;
    let tools = tools::parse(file, raw.tools.as_ref())?;
    let upstream = upstream::section(file, raw.upstream)?;
    let auth = auth::parse(file, raw.mode, raw.bearer, raw.oauth)?;
    Ok(Config {
        auth,
        tools,
        upstream,
        document,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::auth::Setting;

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
    fn upstream_must_be_a_mapping() {
        assert!(err("upstream: 3\n").starts_with("auth.yaml#/upstream: "));
        assert!(parse("a.yaml", "upstream:\n").is_ok());
        let flow = parse(
            "a.yaml",
            "upstream:\n  b: { username: ${U}, password: ${P} }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(flow.contains("must be quoted"), "{flow}");
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
