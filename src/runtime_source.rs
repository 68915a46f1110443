//! The generated server's runtime, as the `runtime/` crate of this repository holds it: its
//! sources, embedded with `include_str!`, and its dependency list. The runtime is a real crate
//! (formatted, linted and unit-tested there, with stand-ins for the spec-dependent modules); what
//! every generated crate carries unchanged is copied out of it here, with its test-only items
//! (`#[cfg(test)]`) stripped, and its `Cargo.toml` is the one place the generated crate's
//! dependency versions are written.

use crate::{Error, Result};

/// `include_str!` of a file of the runtime crate, by its path there.
macro_rules! runtime_file {
    ($path:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/runtime/", $path))
    };
}

/// The runtime's sources that every generated crate carries: (path in the generated crate,
/// source).
pub const STATIC_FILES: &[(&str, &str)] = &[
    ("src/main.rs", runtime_file!("src/main.rs")),
    ("src/admission.rs", runtime_file!("src/admission.rs")),
    ("src/args.rs", runtime_file!("src/args.rs")),
    ("src/auth.rs", runtime_file!("src/auth.rs")),
    ("src/body.rs", runtime_file!("src/body.rs")),
    ("src/catalog.rs", runtime_file!("src/catalog.rs")),
    (
        "src/client_credentials.rs",
        runtime_file!("src/client_credentials.rs"),
    ),
    ("src/config.rs", runtime_file!("src/config.rs")),
    ("src/credentials.rs", runtime_file!("src/credentials.rs")),
    ("src/direct.rs", runtime_file!("src/direct.rs")),
    ("src/discover.rs", runtime_file!("src/discover.rs")),
    ("src/encoding.rs", runtime_file!("src/encoding.rs")),
    ("src/errors.rs", runtime_file!("src/errors.rs")),
    ("src/limits.rs", runtime_file!("src/limits.rs")),
    ("src/metrics.rs", runtime_file!("src/metrics.rs")),
    ("src/origins.rs", runtime_file!("src/origins.rs")),
    ("src/readiness.rs", runtime_file!("src/readiness.rs")),
    ("src/redact.rs", runtime_file!("src/redact.rs")),
    ("src/request.rs", runtime_file!("src/request.rs")),
    ("src/response.rs", runtime_file!("src/response.rs")),
    ("src/runtime.rs", runtime_file!("src/runtime.rs")),
    ("src/search.rs", runtime_file!("src/search.rs")),
    ("src/search_text.rs", runtime_file!("src/search_text.rs")),
    ("src/server.rs", runtime_file!("src/server.rs")),
    ("src/sessions.rs", runtime_file!("src/sessions.rs")),
    ("src/settings.rs", runtime_file!("src/settings.rs")),
    ("src/telemetry.rs", runtime_file!("src/telemetry.rs")),
    (
        "src/token_exchange.rs",
        runtime_file!("src/token_exchange.rs"),
    ),
    ("src/tool_info.rs", runtime_file!("src/tool_info.rs")),
    ("src/tools_json.rs", runtime_file!("src/tools_json.rs")),
    ("src/transport.rs", runtime_file!("src/transport.rs")),
    ("src/upstream.rs", runtime_file!("src/upstream.rs")),
];

/// The runtime's sources for auth mode `oauth` only (the runtime's `oauth` feature).
pub const OAUTH_FILES: &[(&str, &str)] = &[
    ("src/oauth.rs", runtime_file!("src/oauth.rs")),
    ("src/sealed.rs", runtime_file!("src/sealed.rs")),
];

/// The generated crate's own tests (`cargo test`), which the runtime crate runs against its
/// stand-ins; their expectations (`tests/tools_expected.json`) are generated per API.
pub const TEST_FILES: &[(&str, &str)] = &[("tests/tools.rs", runtime_file!("tests/tools.rs"))];

/// The tools `tools/list` shows in discover mode, as the runtime serves them (every generated
/// crate carries the file, `src/discover_tools.json`): what the generator counts as discover
/// mode's cost (`mcpgen inspect`).
pub const DISCOVER_TOOLS: &str = runtime_file!("src/discover_tools.json");

/// The default of the user-owned `src/hooks.rs`.
pub const HOOKS: &str = runtime_file!("src/hooks.rs");

/// The default of the user-owned `src/custom_tools.rs`.
pub const CUSTOM_TOOLS: &str = runtime_file!("src/custom_tools.rs");

/// The runtime crate's manifest: its `[dependencies]` are the generated crate's.
const MANIFEST: &str = runtime_file!("Cargo.toml");

/// A runtime source as the generated crate gets it: parsed, test-only items removed,
/// pretty-printed. `path` names the file in messages. The runtime crate's own files were
/// stripped when mcpgen was built (`build.rs`: parsing and printing them took 8% of the
/// instructions of generating GitHub's crate); any other source is stripped here.
pub fn copy_out(path: &str, source: &str) -> Result<String> {
    if let Some((_, _, stripped)) = STRIPPED
        .iter()
        .find(|(p, raw, _)| *p == path && *raw == source)
    {
        return Ok((*stripped).to_string());
    }
    crate::runtime_strip::strip(source).map_err(|e| Error::Render {
        template: format!("runtime/{path}"),
        message: format!("{e} at line {}", e.span().start().line),
    })
}

/// (path, source, stripped source) of the runtime crate's files, made by `build.rs`.
const STRIPPED: &[(&str, &str, &str)] = include!(concat!(env!("OUT_DIR"), "/stripped.rs"));

/// The generated crate's `[dependencies]` lines: the runtime crate's, in its order, its optional
/// dependencies (the `oauth` feature) only when `oauth`.
pub fn dependencies(oauth: bool) -> Result<String> {
    let lines = dependency_lines()?;
    Ok(lines
        .into_iter()
        .filter(|(_, optional, _)| oauth || !optional)
        .map(|(_, _, line)| line)
        .collect::<Vec<_>>()
        .join("\n"))
}

/// (name, optional, the line of the generated `Cargo.toml`) per dependency of the runtime crate.
fn dependency_lines() -> Result<Vec<(String, bool, String)>> {
    let bad = |message: String| Error::Render {
        template: "runtime/Cargo.toml".into(),
        message,
    };
    let manifest: toml::Table = toml::from_str(MANIFEST).map_err(|e| bad(e.to_string()))?;
    let Some(toml::Value::Table(deps)) = manifest.get("dependencies") else {
        return Err(bad("no [dependencies] table".into()));
    };
    let oauth_feature: Vec<&str> = manifest
        .get("features")
        .and_then(|f| f.get("oauth"))
        .and_then(toml::Value::as_array)
        .map(|a| a.iter().filter_map(toml::Value::as_str).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (name, spec) in deps {
        let quoted = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let (optional, line) = match spec {
            toml::Value::String(version) => (false, format!("{name} = {}", quoted(version))),
            toml::Value::Table(t) => {
                let mut version = None;
                let mut default_features = None;
                let mut features = None;
                let mut optional = false;
                for (key, value) in t {
                    match (key.as_str(), value) {
                        ("version", toml::Value::String(v)) => version = Some(v.as_str()),
                        ("default-features", toml::Value::Boolean(b)) => {
                            default_features = Some(*b)
                        }
                        ("features", toml::Value::Array(a)) => {
                            let names: Option<Vec<String>> =
                                a.iter().map(|f| f.as_str().map(quoted)).collect();
                            features = Some(names.ok_or_else(|| {
                                bad(format!("dependency `{name}`: a feature is not a string"))
                            })?);
                        }
                        ("optional", toml::Value::Boolean(b)) => optional = *b,
                        _ => {
                            return Err(bad(format!(
                                "dependency `{name}`: `{key}` is not written into generated crates"
                            )));
                        }
                    }
                }
                let version =
                    version.ok_or_else(|| bad(format!("dependency `{name}` has no version")))?;
                let mut parts = vec![format!("version = {}", quoted(version))];
                if let Some(b) = default_features {
                    parts.push(format!("default-features = {b}"));
                }
                if let Some(f) = features {
                    parts.push(format!("features = [{}]", f.join(", ")));
                }
                let line = if parts.len() == 1 {
                    format!("{name} = {}", quoted(version))
                } else {
                    format!("{name} = {{ {} }}", parts.join(", "))
                };
                (optional, line)
            }
            _ => {
                return Err(bad(format!(
                    "dependency `{name}`: not a version or a table"
                )));
            }
        };
        // Optional means: only in mode `oauth`, which is what the feature says.
        if optional != oauth_feature.contains(&format!("dep:{name}").as_str()) {
            return Err(bad(format!(
                "dependency `{name}`: optional exactly when the `oauth` feature enables it"
            )));
        }
        out.push((name.clone(), optional, line));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime_strip::is_cfg_test;

    #[test]
    fn every_runtime_source_parses() {
        let all = STATIC_FILES
            .iter()
            .chain(OAUTH_FILES)
            .chain(TEST_FILES)
            .chain(&[
                ("src/hooks.rs", HOOKS),
                ("src/custom_tools.rs", CUSTOM_TOOLS),
            ]);
        for (path, source) in all {
            let out = copy_out(path, source).expect(path);
            assert!(!out.contains("#[cfg(test)]"), "{path}");
        }
    }

    #[test]
    fn the_sources_stripped_at_build_time_are_what_stripping_gives() {
        assert!(
            STRIPPED.len() > STATIC_FILES.len(),
            "build.rs stripped the runtime"
        );
        for (path, raw, stripped) in STRIPPED {
            assert_eq!(
                crate::runtime_strip::strip(raw).expect(path),
                *stripped,
                "{path}"
            );
        }
    }

    #[test]
    fn test_items_are_stripped_and_the_rest_kept() {
        let source = "//! Docs.\n\
            #[cfg(test)]\nuse std::fmt;\n\
            pub fn kept() {}\n\
            #[cfg(any(test, feature = \"x\"))]\nfn also_kept() {}\n\
            struct S;\nimpl S {\n#[cfg(test)]\nfn helper() {}\nfn method() {}\n}\n\
            mod inner {\n#[cfg(test)]\nfn gone() {}\nfn here() {}\n}\n\
            #[cfg(test)]\nmod tests {\n#[test]\nfn t() {}\n}\n";
        let out = copy_out("x.rs", source).expect("parses");
        for kept in [
            "//! Docs.",
            "pub fn kept",
            "fn also_kept",
            "fn method",
            "fn here",
        ] {
            assert!(out.contains(kept), "{kept} missing in:\n{out}");
        }
        for gone in [
            "use std::fmt",
            "fn helper",
            "fn gone",
            "mod tests",
            "fn t()",
        ] {
            assert!(!out.contains(gone), "{gone} left in:\n{out}");
        }
    }

    /// The modules of `mod` declarations in `source`.
    fn modules(source: &str) -> Vec<String> {
        let file = syn::parse_file(source).expect("parses");
        let mut names: Vec<String> = file
            .items
            .iter()
            .filter_map(|item| match item {
                syn::Item::Mod(m)
                    if m.content.is_none()
                        && !m.attrs.iter().any(|a| is_cfg_any(a) || is_cfg_test(a)) =>
                {
                    Some(m.ident.to_string())
                }
                _ => None,
            })
            .collect();
        names.sort();
        names
    }

    fn is_cfg_any(attr: &syn::Attribute) -> bool {
        attr.path().is_ident("cfg")
            && attr
                .meta
                .require_list()
                .is_ok_and(|list| list.tokens.to_string() == "any ()")
    }

    /// Every module the generated `main.rs` declares is copied out, user-owned or generated, and
    /// the runtime's library declares the same ones (so its tests cover them all).
    #[test]
    fn every_module_of_main_is_accounted_for() {
        let main = STATIC_FILES
            .iter()
            .find(|(path, _)| *path == "src/main.rs")
            .expect("main.rs")
            .1;
        let mut have: Vec<String> = STATIC_FILES
            .iter()
            .map(|(path, _)| path)
            .chain(["src/hooks.rs", "src/custom_tools.rs"].iter())
            .chain(
                [
                    "src/tools.rs",
                    "src/types.rs",
                    "src/auth_config.rs",
                    "src/search_index.rs",
                ]
                .iter(),
            )
            .filter(|path| **path != "src/main.rs")
            .map(|path| {
                path.trim_start_matches("src/")
                    .trim_end_matches(".rs")
                    .to_owned()
            })
            .collect();
        have.sort();
        assert_eq!(modules(main), have);
        assert_eq!(modules(runtime_file!("src/lib.rs")), have);
    }

    #[test]
    fn dependencies_are_the_runtime_crates() {
        let lines = dependency_lines().expect("the runtime's manifest");
        let optional: Vec<&str> = lines
            .iter()
            .filter(|(_, optional, _)| *optional)
            .map(|(name, _, _)| name.as_str())
            .collect();
        assert_eq!(optional, ["aws-lc-rs", "jsonwebtoken", "url"]);
        let without = dependencies(false).expect("deps");
        let with = dependencies(true).expect("deps");
        assert!(!without.contains("jsonwebtoken") && with.contains("jsonwebtoken"));
        // Every line is what the runtime's manifest says, but for `optional`.
        let parsed: toml::Table = toml::from_str(&with).expect("TOML");
        let manifest: toml::Table = toml::from_str(MANIFEST).expect("TOML");
        let mut runtime = manifest["dependencies"].as_table().expect("deps").clone();
        for (_, spec) in runtime.iter_mut() {
            if let toml::Value::Table(t) = spec {
                t.remove("optional");
                if t.len() == 1
                    && let Some(v) = t.get("version").cloned()
                {
                    *spec = v;
                }
            }
        }
        assert_eq!(parsed, runtime);
        // Exact versions: a generated crate builds with what the runtime was tested with.
        for (name, _, line) in &lines {
            assert!(line.contains("\"="), "{name} is not pinned: {line}");
        }
    }
}
