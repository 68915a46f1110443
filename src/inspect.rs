//! `mcpgen inspect`: the lowered model, printed for people (text) or machines (`--json`). It is
//! snapshotted per fixture so IR changes are reviewed apart from template changes.

use crate::ir::budget::{self, Budget, thousands};
use crate::ir::{Api, ArgLocation, Tool};
use serde_json::{Value, json};
use std::fmt::Write as _;

/// Human-readable listing of the tools that would be generated.
pub fn text(api: &Api) -> String {
    let mut s = String::new();
    summary(&mut s, api);
    upstream_credentials(&mut s, api);
    let budget = budget::budget(&api.tools);
    budget_summary(&mut s, api, &budget);
    for t in &api.tools {
        tool(&mut s, t);
    }
    excluded(&mut s, api);
    budget_per_tool(&mut s, &budget);
    s
}

/// What the server's tool listing costs: the warnings `generate` prints too.
pub fn budget_warnings(api: &Api) -> Vec<String> {
    budget::budget(&api.tools).warnings(api.tool_mode.mode)
}

/// Estimated tokens of discover mode's listing: the four discovery tools as the runtime serves
/// them (the custom tools come on top; the generator does not know them).
pub fn discover_tokens() -> usize {
    budget::discover_tokens(crate::runtime_source::DISCOVER_TOOLS)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// The default tool mode, the totals of both modes, the toolsets, the budget's warnings: first,
/// so they stay in view for an API of a thousand tools.
fn budget_summary(s: &mut String, api: &Api, b: &Budget) {
    let _ = writeln!(
        s,
        "tool mode: {} ({})",
        api.tool_mode.mode.as_str(),
        api.tool_mode.reason
    );
    let _ = writeln!(s, "token budget (estimated: JSON bytes / 4, as served):");
    let _ = writeln!(
        s,
        "  all:      {} in tools/list, about {} tokens",
        plural(b.tool_count, "tool", "tools"),
        thousands(b.all_tokens)
    );
    let _ = writeln!(
        s,
        "  discover: 4 discovery tools in tools/list, about {} tokens, plus the custom tools (src/custom_tools.rs: not known to the generator, listed in both modes)",
        thousands(discover_tokens())
    );
    if !b.toolsets.is_empty() {
        let _ = writeln!(s, "toolsets (--toolsets):");
        let width = b.toolsets.iter().map(|t| t.name.len()).max().unwrap_or(0);
        for t in &b.toolsets {
            let _ = writeln!(
                s,
                "  {:width$}  {:>11}  about {:>7} tokens",
                t.name,
                plural(t.tools, "tool", "tools"),
                thousands(t.tokens)
            );
        }
    }
    for w in b.warnings(api.tool_mode.mode) {
        let _ = writeln!(s, "warning: {w}");
    }
}

/// The per-tool table, last: as long as the API.
fn budget_per_tool(s: &mut String, b: &Budget) {
    if b.tools.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "\ntokens per tool (description, input schema, output schema, whole entry):"
    );
    let name = b
        .tools
        .iter()
        .map(|t| t.name.len())
        .max()
        .unwrap_or(0)
        .max(4);
    let set = b
        .tools
        .iter()
        .map(|t| t.toolset.len())
        .max()
        .unwrap_or(0)
        .max(7);
    let _ = writeln!(
        s,
        "  {:name$}  {:set$}  {:>11}  {:>5}  {:>6}  {:>5}",
        "tool", "toolset", "description", "input", "output", "total"
    );
    for t in &b.tools {
        let _ = writeln!(
            s,
            "  {:name$}  {:set$}  {:>11}  {:>5}  {:>6}  {:>5}",
            t.name,
            t.toolset,
            thousands(t.description),
            thousands(t.input_schema),
            thousands(t.output_schema),
            thousands(t.total)
        );
    }
}

/// The first lines: the crate, the API, the default upstream URL, the document's warnings.
fn summary(s: &mut String, api: &Api) {
    let _ = writeln!(
        s,
        "{} — {} {} (OpenAPI {}), {} tool{}{}",
        api.crate_name,
        api.title,
        api.api_version,
        api.dialect,
        api.tools.len(),
        if api.tools.len() == 1 { "" } else { "s" },
        if api.excluded.is_empty() {
            String::new()
        } else {
            let n = api.excluded.len();
            format!(" ({n} operation{} excluded)", if n == 1 { "" } else { "s" })
        }
    );
    let upstream = if api.default_upstream_url.is_empty() {
        "(none: pass --upstream-url)"
    } else {
        &api.default_upstream_url
    };
    let _ = writeln!(s, "upstream: {upstream}");
    for w in &api.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
}

/// How the server authenticates to the API, scheme by scheme.
fn upstream_credentials(s: &mut String, api: &Api) {
    if !api.auth.upstream.is_empty() {
        let _ = writeln!(s, "upstream credentials:");
        let width = api
            .auth
            .upstream
            .iter()
            .map(|u| u.name.len())
            .max()
            .unwrap_or(0);
        for u in &api.auth.upstream {
            let env: Vec<String> = u.env().into_iter().map(|(n, _)| n).collect();
            let source = match (u.supported(), env.is_empty()) {
                (false, _) if u.caller => "the caller's forwarded token".to_string(),
                (false, _) => "not sent".to_string(),
                (true, true) => "configured".to_string(),
                (true, false) => format!(
                    "from {}{}{}",
                    env.join(", "),
                    if u.configured { "" } else { " (default names)" },
                    if u.caller {
                        "; the caller's forwarded token first"
                    } else {
                        ""
                    }
                ),
            };
            let _ = writeln!(s, "  {:width$}  {}: {source}", u.name, u.description);
        }
    }
}

/// One tool: what it calls, its arguments, body and output, security, simplifications.
fn tool(s: &mut String, t: &Tool) {
    let _ = writeln!(s);
    let mut hints = Vec::new();
    if t.read_only {
        hints.push("read-only");
    }
    if t.destructive {
        hints.push("destructive");
    }
    if t.idempotent {
        hints.push("idempotent");
    }
    let _ = writeln!(
        s,
        "{}  {} {}  [{}]",
        t.name,
        t.method,
        t.path,
        hints.join(", ")
    );
    if let Some(title) = &t.title {
        let _ = writeln!(s, "  title: {title}");
    }
    let _ = writeln!(s, "  toolset: {}", t.toolset);
    let _ = writeln!(s, "  from: #{}", t.pointer);
    if !t.open_world {
        let _ = writeln!(s, "  closed world (openWorldHint: false)");
    }
    if let Some(key) = &t.overridden_by {
        let _ = writeln!(
            s,
            "  overridden by tools.overrides[{key}]: {}",
            t.overridden.join(", ")
        );
    }
    arguments(s, t);
    if let Some(b) = &t.body {
        let _ = writeln!(
            s,
            "  body: {}{}{}",
            b.media_type,
            if b.required { ", required" } else { "" },
            if b.flattened {
                ", properties as arguments"
            } else {
                ""
            }
        );
    }
    match &t.output_schema {
        Some(_) if t.wrap_output => {
            let _ = writeln!(s, "  output: structured, wrapped as {{\"result\": ...}}");
        }
        Some(_) => {
            let _ = writeln!(s, "  output: structured object");
        }
        None => {
            let _ = writeln!(s, "  output: content only");
        }
    }
    output_cut(s, t);
    security(s, t);
    if !t.simplifications.is_empty() {
        let _ = writeln!(s, "  simplified for clients:");
        for n in &t.simplifications {
            let _ = writeln!(s, "    {}: {}", n.at, n.detail);
        }
    }
    for w in &t.warnings {
        let _ = writeln!(s, "  warning: {w}");
    }
}

/// What the bounds on input and output schemas cut from the tool's (nothing when nothing was).
fn output_cut(s: &mut String, t: &Tool) {
    if let Some(c) = &t.input_cut {
        let _ = writeln!(
            s,
            "  input schema bounded: {} → {} bytes; {} subschema{} not expanded, {} kept without annotations",
            c.bytes_before,
            c.bytes_after,
            c.subschemas,
            if c.subschemas == 1 { "" } else { "s" },
            c.annotations_dropped
        );
        cut_places(s, c);
    }
    let Some(c) = &t.output_cut else {
        return;
    };
    let _ = writeln!(
        s,
        "  output schema bounded: {} → {} bytes; {} subschema{} cut to {{}}, {} kept without annotations",
        c.bytes_before,
        c.bytes_after,
        c.subschemas,
        if c.subschemas == 1 { "" } else { "s" },
        c.annotations_dropped
    );
    cut_places(s, c);
}

/// The first places a bound cut, nearest first.
fn cut_places(s: &mut String, c: &crate::ir::OutputCut) {
    if !c.at.is_empty() {
        let more = c.subschemas.saturating_sub(c.at.len());
        let _ = writeln!(
            s,
            "    cut: {}{}",
            c.at.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
    }
}

/// A tool's arguments: type, whether required, where each goes (and how, for a style that is
/// not the default).
fn arguments(s: &mut String, t: &Tool) {
    if t.args.is_empty() {
        let _ = writeln!(s, "  args: none");
    } else {
        let _ = writeln!(s, "  args:");
        let width = t.args.iter().map(|a| a.name.len()).max().unwrap_or(0);
        for a in &t.args {
            let place = match a.location {
                ArgLocation::BodyField => format!("body .{}", a.wire_name),
                ArgLocation::Body => "body".to_string(),
                l if a.wire_name != a.name => format!("{} {}", l.as_str(), a.wire_name),
                l => l.as_str().to_string(),
            };
            let default_style =
                (a.style == "form" && a.explode) || (a.style == "simple" && !a.explode);
            let style =
                if matches!(a.location, ArgLocation::Query | ArgLocation::Path) && !default_style {
                    format!(
                        " style={}{}",
                        a.style,
                        if a.explode { " explode" } else { "" }
                    )
                } else {
                    String::new()
                };
            let _ = writeln!(
                s,
                "    {:width$}  {}{}  {}{}",
                a.name,
                a.type_summary,
                if a.required { " (required)" } else { "" },
                place,
                style,
            );
        }
    }
}

/// A tool's security requirements, the credentials the server sends for them, the scopes a
/// caller's token needs.
fn security(s: &mut String, t: &Tool) {
    if !t.security.is_empty() {
        let alts: Vec<String> = t
            .security
            .iter()
            .map(|req| {
                if req.is_empty() {
                    return "none".to_string();
                }
                req.iter()
                    .map(|(k, v)| {
                        if v.is_empty() {
                            k.clone()
                        } else {
                            format!("{k}({})", v.join(" "))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" + ")
            })
            .collect();
        let _ = writeln!(s, "  security: {}", alts.join(" | "));
    }
    if !t.credentials.is_empty() {
        let alts: Vec<String> = t
            .credentials
            .iter()
            .map(|alt| {
                if alt.is_empty() {
                    return "none".to_string();
                }
                alt.iter()
                    .map(|c| {
                        let env = c.env.join(", ");
                        match (c.supported, c.caller) {
                            (false, _) => format!("{} (not sent)", c.scheme),
                            (true, true) if env.is_empty() => {
                                format!("{} (caller's token)", c.scheme)
                            }
                            (true, true) => {
                                format!("{} (caller's token, else {env})", c.scheme)
                            }
                            (true, false) => format!("{} ({env})", c.scheme),
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" + ")
            })
            .collect();
        let _ = writeln!(s, "  credentials: {}", alts.join(" | "));
    }
    if !t.scope_alternatives.is_empty() {
        let alts: Vec<String> = t.scope_alternatives.iter().map(|a| a.join(" ")).collect();
        let _ = writeln!(s, "  scopes: {}", alts.join(" | "));
    }
}

/// The operations the `tools:` selection left out, and why.
fn excluded(s: &mut String, api: &Api) {
    if !api.excluded.is_empty() {
        let _ = writeln!(
            s,
            "\nexcluded by the tools: selection ({} operation{}, not callable):",
            api.excluded.len(),
            if api.excluded.len() == 1 { "" } else { "s" }
        );
        for e in &api.excluded {
            let _ = writeln!(
                s,
                "  {} {}  ({}): {}",
                e.method,
                e.path,
                e.operation_id.as_deref().unwrap_or("no operationId"),
                e.reason
            );
        }
    }
}

/// The whole IR as pretty JSON, with the token budget under `budget`.
pub fn json(api: &Api) -> String {
    let mut doc = match serde_json::to_value(api) {
        Ok(doc) => doc,
        Err(e) => return format!("{{\"error\": {}}}\n", Value::String(e.to_string())),
    };
    let b = budget::budget(&api.tools);
    if let Value::Object(m) = &mut doc {
        m.insert(
            "budget".into(),
            json!({
                "estimate": "JSON bytes / 4, as served",
                "mode": api.tool_mode.mode,
                "auto": api.tool_mode.auto,
                "reason": api.tool_mode.reason,
                "all": {"tools": b.tool_count, "tokens": b.all_tokens},
                "discover": {
                    "tools": crate::naming::DISCOVERY_TOOLS,
                    "tokens": discover_tokens(),
                    "custom_tools": "not known to the generator: listed in both modes, on top",
                },
                "toolsets": b.toolsets,
                "tools": b.tools,
                "warnings": b.warnings(api.tool_mode.mode),
            }),
        );
    }
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}
