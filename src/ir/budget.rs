//! The token budget of `tools/list` (DESIGN §5): what listing the tools costs a client, estimated
//! as the JSON bytes as served / 4, per tool (its description, input and output schema), in
//! total, and per toolset; the thresholds `tools: mode: auto` decides by and the warnings past
//! them. Derived from the IR alone, so lowering (which resolves `auto`), `inspect` and `generate`
//! compute the same numbers.

use crate::ir::{Schema, Tool, ToolMode};
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
    tokens(json_len(v))
}

/// Bytes of the JSON value `v` as compact JSON (what `serde_json::to_vec` would make), counted
/// by walking it: no serialiser, nothing written. The bounded schema conversion weighs every
/// node it takes this way, many times per tool.
pub fn json_len(v: &Value) -> usize {
    match v {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => number_len(n),
        Value::String(s) => str_len(s),
        Value::Array(a) => 2 + a.len().saturating_sub(1) + a.iter().map(json_len).sum::<usize>(),
        Value::Object(m) => map_len(m),
    }
}

/// Bytes of the JSON object `m` as compact JSON (see [`json_len`]).
pub fn map_len(m: &serde_json::Map<String, Value>) -> usize {
    2 + m.len().saturating_sub(1)
        + m.iter()
            .map(|(k, v)| str_len(k) + 1 + json_len(v))
            .sum::<usize>()
}

/// Bytes of `s` as a JSON string: quotes and serde_json's escapes (`\"`, `\\`, the short
/// forms of five control characters, `\u00XX` for the other ones below 0x20).
pub fn str_len(s: &str) -> usize {
    2 + s.len()
        + s.bytes()
            .map(|b| match b {
                b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 1,
                0..=0x1f => 5,
                _ => 0,
            })
            .sum::<usize>()
}

/// Bytes of a JSON number as serde_json writes it.
fn number_len(n: &serde_json::Number) -> usize {
    fn digits(mut u: u64) -> usize {
        let mut d = 1;
        while u >= 10 {
            u /= 10;
            d += 1;
        }
        d
    }
    if let Some(u) = n.as_u64() {
        digits(u)
    } else if let Some(i) = n.as_i64() {
        1 + digits(i.unsigned_abs())
    } else {
        compact_len(n)
    }
}

/// Bytes of `v` as compact JSON, counted while serialising: nothing is built or kept.
pub fn compact_len<T: Serialize + ?Sized>(v: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, v) {
        Ok(()) => count.0,
        Err(_) => 0,
    }
}

/// Estimated tokens of discover mode's listing, given the runtime's `discover_tools.json`
/// (`{"tools": [...]}`): the four discovery tools as served. The custom tools come on top.
pub fn discover_tokens(discover_tools_json: &str) -> usize {
    serde_json::from_str::<Value>(discover_tools_json)
        .ok()
        .and_then(|v| v.get("tools").map(value_tokens))
        .unwrap_or(0)
}

/// `12345` → `12,345`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A tool's `tools/list` entry, exactly as the generated server lists it (its `tools.json`
/// entry).
pub fn listing_entry(t: &Tool) -> Value {
    serde_json::to_value(Entry::of(t)).unwrap_or(Value::Null)
}

/// A tool's `tools/list` entry, borrowed from the tool: serialises to exactly the JSON of
/// [`listing_entry`] (keys in the same, sorted, order) without copying a schema.
#[derive(Serialize)]
pub struct Entry<'a> {
    annotations: Annotations,
    description: &'a str,
    #[serde(rename = "inputSchema")]
    input_schema: &'a Schema,
    name: &'a str,
    #[serde(rename = "outputSchema", skip_serializing_if = "Option::is_none")]
    output_schema: Option<&'a Schema>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
}

/// A tool's annotations, keys sorted as a `serde_json::Map` sorts them.
#[derive(Serialize)]
struct Annotations {
    #[serde(rename = "destructiveHint")]
    destructive: bool,
    #[serde(rename = "idempotentHint")]
    idempotent: bool,
    #[serde(rename = "openWorldHint")]
    open_world: bool,
    #[serde(rename = "readOnlyHint")]
    read_only: bool,
}

impl<'a> Entry<'a> {
    pub fn of(t: &'a Tool) -> Self {
        Entry {
            annotations: Annotations {
                destructive: t.destructive,
                idempotent: t.idempotent,
                open_world: t.open_world,
                read_only: t.read_only,
            },
            description: &t.description,
            input_schema: &t.input_schema,
            name: &t.name,
            output_schema: t.output_schema.as_ref(),
            title: t.title.as_deref(),
        }
    }
}

/// Every tool's entry, borrowed: serialises as the `tools` array of `tools/list`.
pub fn entries(tools: &[Tool]) -> Vec<Entry<'_>> {
    tools.iter().map(Entry::of).collect()
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

/// The budget of these tools. Each schema is serialised once, into a byte count: an entry's
/// size is the sum of its parts' (the same bytes as serialising the entry whole).
pub fn budget(tools: &[Tool]) -> Budget {
    let mut sets: BTreeMap<&str, ToolsetCost> = BTreeMap::new();
    let costs: Vec<ToolCost> = tools
        .iter()
        .map(|t| {
            let description = compact_len(t.description.as_str());
            let input_schema = t.input_schema.len();
            let output_schema = t.output_schema.as_ref().map_or(0, Schema::len);
            let total = entry_len(t, description, input_schema, output_schema);
            let cost = ToolCost {
                name: t.name.clone(),
                toolset: t.toolset.clone(),
                description: tokens(description),
                input_schema: tokens(input_schema),
                output_schema: tokens(output_schema),
                total,
            };
            let set = sets.entry(&t.toolset).or_insert_with(|| ToolsetCost {
                name: t.toolset.clone(),
                tools: 0,
                tokens: 0,
            });
            set.tools += 1;
            cost
        })
        .collect();
    // `[` entries joined by `,` `]`, in bytes; then per tool and per toolset in tokens.
    let all_bytes =
        2 + costs.iter().map(|c| c.total).sum::<usize>() + costs.len().saturating_sub(1);
    let costs: Vec<ToolCost> = costs
        .into_iter()
        .map(|mut c| {
            c.total = tokens(c.total);
            if let Some(set) = sets.get_mut(c.toolset.as_str()) {
                set.tokens += c.total;
            }
            c
        })
        .collect();
    Budget {
        tool_count: tools.len(),
        all_tokens: tokens(all_bytes),
        toolsets: sets.into_values().collect(),
        tools: costs,
    }
}

/// Bytes of a tool's compact listing entry, given its description's and schemas' (0: none).
fn entry_len(t: &Tool, description: usize, input_schema: usize, output_schema: usize) -> usize {
    let annotations = compact_len(&Entry::of(t).annotations);
    // `"key":` of each member present, the members' values, the commas and the braces.
    let key = |k: &str| k.len() + 3;
    let mut members = vec![
        key("annotations") + annotations,
        key("description") + description,
        key("inputSchema") + input_schema,
        key("name") + compact_len(t.name.as_str()),
    ];
    if t.output_schema.is_some() {
        members.push(key("outputSchema") + output_schema);
    }
    if let Some(title) = &t.title {
        members.push(key("title") + compact_len(title.as_str()));
    }
    2 + members.iter().sum::<usize>() + members.len() - 1
}

impl Budget {
    /// What `tools: mode: auto` resolves to for this API, and why.
    pub fn auto_mode(&self) -> (ToolMode, String) {
        let (n, t) = (self.tool_count, self.all_tokens);
        let (max_n, max_t) = (AUTO_MAX_TOOLS, thousands(AUTO_MAX_TOKENS));
        if n > AUTO_MAX_TOOLS {
            (
                ToolMode::Discover,
                format!("auto: {n} tools, more than {max_n}"),
            )
        } else if t > AUTO_MAX_TOKENS {
            (
                ToolMode::Discover,
                format!(
                    "auto: listing every tool costs about {} tokens, more than {max_t}",
                    thousands(t)
                ),
            )
        } else {
            (
                ToolMode::All,
                format!(
                    "auto: {n} tool{} and about {} tokens, within {max_n} tools and {max_t} tokens",
                    if n == 1 { "" } else { "s" },
                    thousands(t)
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
                "`all` mode's tools/list costs about {} tokens, past {} ({advice})",
                thousands(t),
                thousands(AUTO_MAX_TOKENS)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pointer::Pointer;

    /// `json_len` is exactly the length serde_json writes, escapes and numbers included.
    #[test]
    fn json_len_is_serde_jsons_length() {
        let all_controls: String = (0u8..0x20).map(char::from).collect();
        let values = [
            serde_json::json!(null),
            serde_json::json!(true),
            serde_json::json!(false),
            serde_json::json!(0),
            serde_json::json!(-7),
            serde_json::json!(u64::MAX),
            serde_json::json!(i64::MIN),
            serde_json::json!(0.1),
            serde_json::json!(-0.0),
            serde_json::json!(1e20),
            serde_json::json!(1.5e-7),
            serde_json::json!(f64::MAX),
            serde_json::json!(""),
            serde_json::json!("quote \" backslash \\ tab \t del \u{7f} é 日本 🦀"),
            serde_json::json!(all_controls),
            serde_json::json!([]),
            serde_json::json!({}),
            serde_json::json!([1, "a", [null], {"k\n": {"x": [true, false]}}]),
            serde_json::json!({"a": 1, "b": {"c": [], "d": {}}, "\u{0}mcpgen-slot:12": "x"}),
        ];
        for v in &values {
            let expected = serde_json::to_vec(v).expect("serialises").len();
            assert_eq!(json_len(v), expected, "{v}");
            if let Value::Object(m) = v {
                assert_eq!(map_len(m), expected, "{v}");
            }
            if let Value::String(s) = v {
                assert_eq!(str_len(s), expected, "{v}");
            }
        }
    }

    fn tool(name: &str, toolset: &str, description: &str) -> Tool {
        Tool {
            name: name.into(),
            title: None,
            description: description.into(),
            method: "GET".into(),
            path: "/x".into(),
            operation_id: None,
            pointer: Pointer::root(),
            tags: Vec::new(),
            toolset: toolset.into(),
            summary: String::new(),
            read_only: true,
            destructive: false,
            idempotent: true,
            open_world: true,
            overridden_by: None,
            overridden: Vec::new(),
            args: Vec::new(),
            body: None,
            input_schema: Schema::new(&serde_json::json!({"type": "object"})),
            output_schema: None,
            wrap_output: false,
            output_cut: None,
            input_cut: None,
            security: Vec::new(),
            scope_alternatives: Vec::new(),
            credentials: Vec::new(),
            args_struct: "XArgs".into(),
            simplifications: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn tools(n: usize) -> Vec<Tool> {
        (0..n)
            .map(|i| tool(&format!("t{i}"), "default", "d"))
            .collect()
    }

    /// One tool whose listing is exactly `bytes` bytes of compact JSON.
    fn one_tool_of(bytes: usize) -> Vec<Tool> {
        let empty = serde_json::to_string(&Value::Array(vec![listing_entry(&tool("t", "s", ""))]))
            .expect("serialises")
            .len();
        vec![tool("t", "s", &"x".repeat(bytes - empty))]
    }

    #[test]
    fn auto_is_discover_past_forty_tools() {
        assert_eq!(budget(&tools(40)).auto_mode().0, ToolMode::All);
        let (mode, reason) = budget(&tools(41)).auto_mode();
        assert_eq!(mode, ToolMode::Discover);
        assert_eq!(reason, "auto: 41 tools, more than 40");
        assert_eq!(budget(&[]).auto_mode().0, ToolMode::All);
    }

    #[test]
    fn auto_is_discover_past_twenty_thousand_tokens() {
        let at = budget(&one_tool_of(80_000));
        assert_eq!(at.all_tokens, 20_000);
        assert_eq!(at.auto_mode().0, ToolMode::All);
        let past = budget(&one_tool_of(80_001));
        assert_eq!(past.all_tokens, 20_001);
        let (mode, reason) = past.auto_mode();
        assert_eq!(mode, ToolMode::Discover);
        assert_eq!(
            reason,
            "auto: listing every tool costs about 20,001 tokens, more than 20,000"
        );
    }

    #[test]
    fn warnings_past_forty_and_128_tools_and_20000_tokens() {
        assert!(budget(&tools(40)).warnings(ToolMode::All).is_empty());
        let w = budget(&tools(41)).warnings(ToolMode::Discover);
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("41 tools: past 40"), "{w:?}");
        let w = budget(&tools(129)).warnings(ToolMode::All);
        assert!(
            w[0].starts_with("129 tools: past 128, VS Code refuses"),
            "{w:?}"
        );
        let w = budget(&one_tool_of(80_001)).warnings(ToolMode::All);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("about 20,001 tokens, past 20,000"), "{w:?}");
    }

    #[test]
    fn counted_sizes_are_the_serialised_sizes() {
        let mut with_all = tool("t\u{e9}\"x", "s", "line\nbreak \u{1F600}");
        with_all.title = Some("A \"title\"".into());
        with_all.output_schema = Some(Schema::new(
            &serde_json::json!({"type": "object", "properties": {"a": {"enum": [1, "\u{7f}"]}}}),
        ));
        with_all.destructive = true;
        let ts = [with_all, tool("plain", "s", "")];
        let b = budget(&ts);
        for (t, cost) in ts.iter().zip(&b.tools) {
            let entry = serde_json::to_string(&listing_entry(t)).expect("serialises");
            assert_eq!(cost.total, tokens(entry.len()), "{entry}");
            assert_eq!(
                serde_json::to_string(&Entry::of(t)).expect("serialises"),
                entry
            );
        }
        let all = serde_json::to_string(&Value::Array(ts.iter().map(listing_entry).collect()))
            .expect("serialises");
        assert_eq!(b.all_tokens, tokens(all.len()));
    }

    #[test]
    fn toolsets_add_up() {
        let ts = [
            tool("a", "pets", "x"),
            tool("b", "default", "y"),
            tool("c", "pets", "z"),
        ];
        let b = budget(&ts);
        let names: Vec<(&str, usize)> = b
            .toolsets
            .iter()
            .map(|t| (t.name.as_str(), t.tools))
            .collect();
        assert_eq!(names, [("default", 1), ("pets", 2)]);
        let sum: usize = b.toolsets.iter().map(|t| t.tokens).sum();
        assert_eq!(sum, b.tools.iter().map(|t| t.total).sum::<usize>());
        assert_eq!(b.tools[0].description, 1, "\"x\" is 3 bytes");
        assert_eq!(b.tools[0].output_schema, 0);
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }
}
