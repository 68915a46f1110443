//! The view of the deployment files (`Dockerfile`, `.dockerignore`, `deploy/kubernetes/`):
//! every value a template writes into YAML is decided and quoted here, so no spec text can
//! break a manifest.

use serde::Serialize;

use crate::ir::Api;

/// Seconds the server drains after SIGTERM (the runtime's `--drain-secs` default).
const DRAIN_SECS: u64 = 5;
/// Seconds calls in flight may take to finish after draining (the runtime's default upstream
/// timeout, which bounds them).
const UPSTREAM_TIMEOUT_SECS: u64 = 30;
/// Kubernetes waits this much longer than draining and finishing may take before it kills.
const GRACE_MARGIN_SECS: u64 = 5;
/// The port the container listens on.
const PORT: u16 = 8000;

/// The deployment files' values.
#[derive(Serialize)]
pub struct DeployView {
    /// The name of every Kubernetes object: the crate's name as a DNS-1123 label.
    name: String,
    /// The binary's name (the crate's).
    binary: String,
    port: u16,
    drain_secs: u64,
    /// `terminationGracePeriodSeconds`: above draining plus the upstream timeout.
    grace_secs: u64,
    /// The spec's upstream URL as a YAML string (double-quoted), empty when it has none.
    upstream_url_yaml: String,
    /// `MCP_ALLOWED_HOSTS` in the cluster: the Service's names, and loopback.
    allowed_hosts_yaml: String,
    /// `MCP_PUBLIC_URL` in the cluster: the Service's URL.
    public_url_yaml: String,
    /// Environment variables taken from the Secret, sorted.
    secret_env: Vec<SecretEnv>,
    /// Mode `oauth` with the login proxies: `MCP_STATE_KEY` (the key sealing login state, the
    /// same on every replica) comes from the Secret too (`.env.example` lists it then).
    state_key: bool,
}

/// A variable of the Secret.
#[derive(Serialize)]
struct SecretEnv {
    name: String,
    /// The server starts without it (an upstream credential: only the calls that need it fail).
    optional: bool,
}

/// The deployment view of `api`.
pub fn deploy_view(api: &Api) -> DeployView {
    let name = k8s_name(&api.crate_name);
    let required = api.auth.env_vars();
    let mut secret_env: Vec<SecretEnv> = required
        .iter()
        .map(|name| SecretEnv {
            name: name.clone(),
            optional: false,
        })
        .collect();
    for env in api.auth.upstream_env() {
        if !secret_env.iter().any(|e| e.name == env.name) {
            secret_env.push(SecretEnv {
                name: env.name,
                optional: true,
            });
        }
    }
    secret_env.sort_by(|a, b| a.name.cmp(&b.name));
    DeployView {
        allowed_hosts_yaml: yaml_string(&format!(
            "{name},{name}.default.svc,{name}.default.svc.cluster.local,localhost,127.0.0.1"
        )),
        public_url_yaml: yaml_string(&format!("http://{name}:{PORT}")),
        binary: api.crate_name.clone(),
        port: PORT,
        drain_secs: DRAIN_SECS,
        grace_secs: DRAIN_SECS + UPSTREAM_TIMEOUT_SECS + GRACE_MARGIN_SECS,
        upstream_url_yaml: if api.default_upstream_url.is_empty() {
            String::new()
        } else {
            yaml_string(&api.default_upstream_url)
        },
        secret_env,
        state_key: api.auth.oauth.as_ref().is_some_and(|o| o.setup_proxies),
        name,
    }
}

/// `text` as a YAML double-quoted scalar in plain ASCII: every character outside printable
/// ASCII, and `"` and `\`, escaped (`\uXXXX`, `\UXXXXXXXX`). JSON's escaping is not enough:
/// it leaves DEL, C1 controls and U+FEFF raw, which YAML does not allow in a document.
fn yaml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if u32::from(c) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push_str(&format!("\\U{:08X}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

/// `crate_name` as a DNS-1123 label (what Kubernetes object names must be): lower case, `-`
/// for anything else than letters and digits, no leading or trailing `-`, at most 63
/// characters (less what the Service's DNS names add is not needed: labels stand alone).
fn k8s_name(crate_name: &str) -> String {
    let mut out = String::with_capacity(crate_name.len());
    for c in crate_name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.trim_matches('-').chars().take(63).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() || !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out = format!("mcp-{out}").chars().take(63).collect();
        while out.ends_with('-') {
            out.pop();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_strings_round_trip_whatever_the_text() {
        // What the fuzz target found: a servers URL with DEL, C1 controls, a BOM, line breaks.
        let hostile = "https://a\u{7f}b\u{85}c\u{feff}d\r\n\t\0\"\\'é🚀\u{202e}\u{2028}x";
        let quoted = yaml_string(hostile);
        assert!(quoted.is_ascii(), "{quoted}");
        let back: String = serde_yaml::from_str(&format!("value: {quoted}"))
            .map(|v: std::collections::BTreeMap<String, String>| v["value"].clone())
            .expect("valid YAML");
        assert_eq!(back, hostile);
        assert_eq!(yaml_string("plain"), "\"plain\"");
    }

    #[test]
    fn object_names_are_dns_labels() {
        for (crate_name, name) in [
            ("petstore-mcp", "petstore-mcp"),
            ("Pet_Store__mcp", "pet-store-mcp"),
            ("9lives", "mcp-9lives"),
            ("_", "mcp"),
            ("", "mcp"),
        ] {
            assert_eq!(k8s_name(crate_name), name, "{crate_name}");
        }
        let long = k8s_name(&"a-".repeat(100));
        assert!(long.len() <= 63 && !long.ends_with('-'), "{long}");
    }
}
