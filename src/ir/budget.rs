//! The token budget of `tools/list` (DESIGN §5): what listing the tools costs a client, estimated
//! as the JSON bytes as served / 4, per tool (its description, input and output schema), in
//! total, and per toolset; the thresholds `tools: mode: auto` decides by and the warnings past
//! them. Derived from the IR alone, so lowering (which resolves `auto`), `inspect` and `generate`
//! compute the same numbers.

use crate::ir::{Tool, ToolMode};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// `auto` picks `discover` when the API has more tools than this: past it clients start to
/// complain (Cursor warns past 80) and a model chooses among them worse.
pub const AUTO_MAX_TOOLS: usize = 40;

/// VS Code refuses more tools than this.
pub const CLIENT_MAX_TOOLS: usize = 128;

/// `auto` picks `discover` when the whole `tools/list` would cost more estimated tokens than
/// this: a tenth of a 200 k context spent before the first question.
pub const AUTO_MAX_TOKENS: usize = 20_000;

/// Estimated tokens of `bytes` bytes of JSON: bytes / 4, rounded up.
pub fn tokens(bytes: usize) -> usize {
    bytes.div_ceil(4)
}

/// Estimated tokens of a JSON value as served (compact).
pub fn value_tokens(v: &Value) -> usize {
    tokens(serde_json::to_string(v).map_or(0, |s| s.len()))
}

/// A tool's `tools/list` entry, exactly as the generated server lists it (its `tools.json`
/// entry).
pub fn listing_entry(t: &Tool) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("name".into(), Value::String(t.name.clone()));
    if let Some(title) = &t.title {
        m.insert("title".into(), Value::String(title.clone()));
    }
    m.insert("description".into(), Value::String(t.description.clone()));
    m.insert("inputSchema".into(), t.input_schema.clone());
    if let Some(o) = &t.output_schema {
        m.insert("outputSchema".into(), o.clone());
    }
    m.insert(
        "annotations".into(),
        serde_json::json!({
            "readOnlyHint": t.read_only,
            "destructiveHint": t.destructive,
            "idempotentHint": t.idempotent,
            "openWorldHint": t.open_world,
        }),
    );
    Value::Object(m)
}

/// What one tool costs in `all` mode's listing, in estimated tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolCost {
    pub name: String,
    pub toolset: String,
    /// The description (as a JSON string).
    pub description: usize,
    pub input_schema: usize,
    /// 0 without an output schema.
    pub output_schema: usize,
    /// The whole entry (name, title and annotations included).
    pub total: usize,
}

/// One toolset: its tools and what listing them costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolsetCost {
    pub name: String,
    pub tools: usize,
    pub tokens: usize,
}

/// The whole budget of `all` mode's listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Budget {
    pub tool_count: usize,
    /// The whole `tools` array of `all` mode's `tools/list` (generated tools only).
    pub all_tokens: usize,
    /// Sorted by name.
    pub toolsets: Vec<ToolsetCost>,
    /// In `tools.json` order.
    pub tools: Vec<ToolCost>,
}

/// The budget of these tools.
pub fn budget(tools: &[Tool]) -> Budget {
    let entries: Vec<Value> = tools.iter().map(listing_entry).collect();
    let mut sets: BTreeMap<&str, ToolsetCost> = BTreeMap::new();
    let costs: Vec<ToolCost> = tools
        .iter()
        .zip(&entries)
        .map(|(t, entry)| {
            let cost = ToolCost {
                name: t.name.clone(),
                toolset: t.toolset.clone(),
                description: value_tokens(&Value::String(t.description.clone())),
                input_schema: value_tokens(&t.input_schema),
                output_schema: t.output_schema.as_ref().map_or(0, value_tokens),
                total: value_tokens(entry),
            };
            let set = sets.entry(&t.toolset).or_insert_with(|| ToolsetCost {
                name: t.toolset.clone(),
                tools: 0,
                tokens: 0,
            });
            set.tools += 1;
            set.tokens += cost.total;
            cost
        })
        .collect();
    Budget {
        tool_count: tools.len(),
        all_tokens: value_tokens(&Value::Array(entries)),
        toolsets: sets.into_values().collect(),
        tools: costs,
    }
}

impl Budget {
    /// What `tools: mode: auto` resolves to for this API, and why.
    pub fn auto_mode(&self) -> (ToolMode, String) {
        let (n, t) = (self.tool_count, self.all_tokens);
        if n > AUTO_MAX_TOOLS {
            (
                ToolMode::Discover,
                format!("auto: {n} tools, more than {AUTO_MAX_TOOLS}"),
            )
        } else if t > AUTO_MAX_TOKENS {
            (
                ToolMode::Discover,
                format!(
                    "auto: listing every tool costs about {t} tokens, more than {AUTO_MAX_TOKENS}"
                ),
            )
        } else {
            (
                ToolMode::All,
                format!(
                    "auto: {n} tool{} (at most {AUTO_MAX_TOOLS}), about {t} tokens (at most {AUTO_MAX_TOKENS})",
                    if n == 1 { "" } else { "s" }
                ),
            )
        }
    }

    /// The warnings about `all` mode's listing: past [`AUTO_MAX_TOOLS`] and
    /// [`CLIENT_MAX_TOOLS`] tools, past [`AUTO_MAX_TOKENS`] tokens; `mode` is the crate's
    /// default, which the advice depends on.
    pub fn warnings(&self, mode: ToolMode) -> Vec<String> {
        let (n, t) = (self.tool_count, self.all_tokens);
        let advice = match mode {
            ToolMode::Discover => {
                "the crate's default is `--tool-mode discover`; in `all` mode serve fewer tools with `--toolsets`"
            }
            ToolMode::All => {
                "consider `--tool-mode discover` (config `tools: mode: discover`) or `--toolsets`"
            }
        };
        let mut out = Vec::new();
        if n > CLIENT_MAX_TOOLS {
            out.push(format!(
                "{n} tools: past {CLIENT_MAX_TOOLS}, VS Code refuses `all` mode's listing ({advice})"
            ));
        } else if n > AUTO_MAX_TOOLS {
            out.push(format!(
                "{n} tools: past {AUTO_MAX_TOOLS}, clients warn and models choose worse in `all` mode ({advice})"
            ));
        }
        if t > AUTO_MAX_TOKENS {
            out.push(format!(
                "`all` mode's tools/list costs about {t} tokens, past {AUTO_MAX_TOKENS} ({advice})"
            ));
        }
        out
    }
}
