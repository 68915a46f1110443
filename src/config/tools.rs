//! Tool selection and per-tool overrides: the `tools:` section of the `--auth` config file (README:
//! Tool selection and overrides). Parsed strictly here (unknown keys are errors with their JSON
//! pointer), with everything checked that needs no spec; applied by lowering (`lower::select`)
//! before any operation is lowered, so an excluded operation produces no tool, no types and no
//! dispatch entry at all: its name is an unknown tool on the server.
//!
//! Semantics, in two stages:
//!
//! 1. FastAPI-MCP's filters, with its names and meaning: `include_operations` /
//!    `exclude_operations` (operationIds) and `include_tags` / `exclude_tags`. Giving both the
//!    include and the exclude list of one kind is an error. Each given filter selects a set — an
//!    include list the operations it names, an exclude list every operation it does not name — and
//!    the result is the **union** of those sets ("greedy": an operation matching either criterion
//!    is included). Without any of the four, every operation is selected.
//! 2. mcpgen's narrowing filters, applied afterwards to what stage 1 selected (as FastAPI-MCP's
//!    `only_get_endpoints` is): `include_methods` / `exclude_methods` (HTTP methods) and
//!    `include_paths` / `exclude_paths` (path globs: `*` matches within one segment, `**` across
//!    segments, `?` one character). Each given one must hold.
//!
//! Tool modes and toolsets (README: Tool modes and toolsets; DESIGN §5): `mode: auto | all |
//! discover` is the generated server's default `--tool-mode` (`auto`, the default: `discover`
//! when the API has more than 40 tools or its whole `tools/list` would cost more than 20,000
//! estimated tokens, JSON bytes / 4, else `all`: [`crate::ir::budget`]); `overrides: <op>:
//! toolset: <name>` puts one tool into another toolset than its operation's first tag
//! (snake_case; `default` when untagged). A toolset name is `[a-z0-9_]+`. The four names of
//! discover mode's tools ([`crate::naming::DISCOVERY_TOOLS`]) are no override's to give.
//!
//! Operations are named by `operationId`, or by `METHOD /path` (for operations without one). Every
//! entry of every list, and every override, must match an operation of the spec, and an override
//! must match a selected one: anything else is an error naming it, so an operation renamed in the
//! spec is noticed when CI regenerates.

use crate::error::{Error, Result};
use crate::pointer::Pointer;
use crate::spec::normalise::METHODS;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The parsed `tools:` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolsConfig {
    /// The config file, as the user named it (for error locations).
    #[serde(skip)]
    pub file: String,
    /// The generated server's default tool mode.
    #[serde(default)]
    pub mode: ModeSetting,
    pub include_operations: Option<Vec<String>>,
    pub exclude_operations: Option<Vec<String>>,
    pub include_tags: Option<Vec<String>>,
    pub exclude_tags: Option<Vec<String>>,
    pub include_methods: Option<Vec<String>>,
    pub exclude_methods: Option<Vec<String>>,
    pub include_paths: Option<Vec<String>>,
    pub exclude_paths: Option<Vec<String>>,
    #[serde(default)]
    pub overrides: IndexMap<String, Override>,
}

/// `tools: mode:`: the generated server's default `--tool-mode`, or `auto` to let the API's
/// size decide.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModeSetting {
    /// `discover` past [`crate::ir::budget::AUTO_MAX_TOOLS`] tools or
    /// [`crate::ir::budget::AUTO_MAX_TOKENS`] tokens, else `all`.
    #[default]
    Auto,
    All,
    Discover,
}

/// Whether `name` is a usable toolset name: `[a-z0-9_]+`, as `--toolsets` spells them.
pub fn is_toolset_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// What an override changes on one tool; absent fields keep the generated value.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// The tool name: 1 to 64 characters of `[A-Za-z0-9_-]`, unique.
    pub name: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub annotations: Option<Annotations>,
    /// The tool's toolset instead of its operation's first tag: `[a-z0-9_]+`.
    pub toolset: Option<String>,
}

/// MCP tool annotations (hints), with the Python SDK's snake_case field names.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Annotations {
    pub read_only_hint: Option<bool>,
    pub destructive_hint: Option<bool>,
    pub idempotent_hint: Option<bool>,
    pub open_world_hint: Option<bool>,
}

/// Parses the `tools:` value (`None` or `null`: no section).
pub fn parse(file: &str, value: Option<&Value>) -> Result<Option<ToolsConfig>> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let mut config: ToolsConfig = serde_path_to_error::deserialize(value).map_err(|e| {
        Error::invalid(
            file,
            &Pointer::root()
                .join("tools")
                .concat(&Pointer::from_path(e.path())),
            e.inner().to_string(),
        )
    })?;
    config.file = file.to_string();
    config.validate_shape()?;
    Ok(Some(config))
}

impl ToolsConfig {
    /// An error at `pointer` in the config file.
    pub fn err(&self, pointer: &Pointer, message: impl Into<String>) -> Error {
        Error::invalid(&self.file, pointer, message)
    }

    /// The eight selector lists, by key.
    pub fn lists(&self) -> [(&'static str, &Option<Vec<String>>); 8] {
        let r = self;
        [
            ("include_operations", &r.include_operations),
            ("exclude_operations", &r.exclude_operations),
            ("include_tags", &r.include_tags),
            ("exclude_tags", &r.exclude_tags),
            ("include_methods", &r.include_methods),
            ("exclude_methods", &r.exclude_methods),
            ("include_paths", &r.include_paths),
            ("exclude_paths", &r.exclude_paths),
        ]
    }

    /// Checks what needs no spec: exclusive pairs, empty lists, method names, glob shapes,
    /// override values.
    fn validate_shape(&self) -> Result<()> {
        let r = self;
        for (kind, inc, exc) in [
            ("operations", &r.include_operations, &r.exclude_operations),
            ("tags", &r.include_tags, &r.exclude_tags),
        ] {
            if inc.is_some() && exc.is_some() {
                return Err(self.err(
                    &Pointer::root().join("tools").join(format!("exclude_{kind}")),
                    format!(
                        "`include_{kind}` and `exclude_{kind}` cannot be used together (as in FastAPI-MCP): keep one of them"
                    ),
                ));
            }
        }
        for (key, list) in self.lists() {
            let Some(list) = list else { continue };
            if list.is_empty() {
                let what = if key.starts_with("include") {
                    "selects nothing; remove it to select every operation"
                } else {
                    "excludes nothing; remove it"
                };
                return Err(self.err(
                    &Pointer::root().join("tools").join(key),
                    format!("`{key}` is empty: an empty list {what}"),
                ));
            }
            for (i, entry) in list.iter().enumerate() {
                let at = Pointer::root().join("tools").join(key).join(i);
                if entry.trim().is_empty() {
                    return Err(self.err(&at, "empty entry"));
                }
                if key.ends_with("_methods")
                    && !METHODS.contains(&entry.to_ascii_lowercase().as_str())
                {
                    return Err(self.err(
                        &at,
                        format!(
                            "`{entry}` is not an HTTP method of OpenAPI (one of {})",
                            METHODS.map(str::to_ascii_uppercase).join(", ")
                        ),
                    ));
                }
                if key.ends_with("_paths") && !entry.starts_with('/') {
                    return Err(self.err(
                        &at,
                        format!("`{entry}`: a path glob starts with `/`, like the spec's paths"),
                    ));
                }
            }
        }
        let mut names: IndexMap<&str, &str> = IndexMap::new();
        for (key, o) in &r.overrides {
            let at = Pointer::root().join("tools").join("overrides").join(key);
            if let Some(name) = &o.name {
                let valid = !name.is_empty()
                    && name.len() <= crate::naming::MAX_NAME_LEN
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !valid {
                    return Err(self.err(
                        &at.join("name"),
                        format!(
                            "`{name}` is not a usable tool name: 1 to {} characters of `A-Z a-z 0-9 _ -`",
                            crate::naming::MAX_NAME_LEN
                        ),
                    ));
                }
                if crate::naming::DISCOVERY_TOOLS.contains(&name.as_str()) {
                    return Err(self.err(
                        &at.join("name"),
                        format!(
                            "`{name}` is the name of one of the discovery tools of `--tool-mode discover` ({}): pick another",
                            crate::naming::DISCOVERY_TOOLS.join(", ")
                        ),
                    ));
                }
                if let Some(other) = names.insert(name, key) {
                    return Err(self.err(
                        &at.join("name"),
                        format!("`{name}` is already the name the override of `{other}` gives"),
                    ));
                }
            }
            if let Some(toolset) = &o.toolset
                && !is_toolset_name(toolset)
            {
                return Err(self.err(
                    &at.join("toolset"),
                    format!(
                        "`{toolset}` is not a usable toolset name: 1 or more characters of `a-z 0-9 _` (as `--toolsets` names them)"
                    ),
                ));
            }
            for (field, value) in [("title", &o.title), ("description", &o.description)] {
                if value.as_ref().is_some_and(|v| v.trim().is_empty()) {
                    return Err(self.err(
                        &at.join(field),
                        format!("an empty {field}: remove it to keep the generated one"),
                    ));
                }
            }
        }
        Ok(())
    }
}
