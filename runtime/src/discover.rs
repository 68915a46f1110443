//! The discovery tools of mode `discover` (`--tool-mode discover`): `search_tools`,
//! `describe_tools`, `execute_tool` and `execute_read_only_tool`. They reach the served tools
//! only (`catalog.rs`): a tool outside the chosen toolsets is never found, described, run or
//! suggested. The two execute tools only decide what to run; the server then runs it exactly
//! as a direct call of that tool (same argument checks, hooks, credentials and result).

use rmcp::model::{CallToolResult, JsonObject};
use serde_json::{Value, json};

use crate::args::{MAX_SUGGESTED_NAME_CHARS, fold, parse_args, shown_name};
use crate::catalog::{Callable, Catalog, Discovery};
use crate::response::tool_error;

/// Results of `search_tools` when `limit` is not given, and its bounds.
pub const DEFAULT_LIMIT: i64 = 10;
pub const MAX_LIMIT: i64 = 50;
/// Names `describe_tools` takes at most.
pub const MAX_NAMES: usize = 20;
/// Close names a did-you-mean offers at most.
const SUGGESTIONS: usize = 3;

/// What a discovery tool call comes to.
#[derive(Debug)]
pub enum Outcome {
    /// Its result.
    Done(CallToolResult),
    /// Run the served tool `name` (`target`) with `arguments`, as a direct call would.
    Execute {
        target: Callable,
        name: String,
        arguments: Option<JsonObject>,
    },
}

/// Answers a call of the discovery tool `kind` with `arguments`.
pub fn handle(kind: Discovery, catalog: &Catalog, arguments: Option<JsonObject>) -> Outcome {
    match kind {
        Discovery::Search => Outcome::Done(search(catalog, arguments)),
        Discovery::Describe => Outcome::Done(describe(catalog, arguments)),
        Discovery::Execute => execute(catalog, arguments, false),
        Discovery::ExecuteReadOnly => execute(catalog, arguments, true),
    }
}

#[derive(serde::Deserialize)]
struct SearchArgs {
    query: String,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    toolset: Option<String>,
}

#[derive(serde::Deserialize)]
struct DescribeArgs {
    names: Vec<String>,
}

#[derive(serde::Deserialize)]
struct ExecuteArgs {
    name: String,
    #[serde(default)]
    arguments: Option<Value>,
}

fn search(catalog: &Catalog, arguments: Option<JsonObject>) -> CallToolResult {
    let args = match parse_args::<SearchArgs>(arguments, &["query", "limit", "toolset"]) {
        Ok(args) => args,
        Err(invalid) => return invalid,
    };
    let query = args.query.trim();
    if query.is_empty() {
        return tool_error("`query` is empty: say what you want to do, e.g. \"list open issues\".");
    }
    let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return tool_error(format!(
            "`limit` must be between 1 and {MAX_LIMIT}, not {limit}."
        ));
    }
    let toolset = args.toolset.as_deref().map(str::trim);
    let served_toolsets = catalog.served_toolsets();
    if let Some(toolset) = toolset
        && !served_toolsets.contains(&toolset)
    {
        return tool_error(format!(
            "Unknown toolset `{toolset}`; this server's toolsets: {}.",
            served_toolsets.join(", ")
        ));
    }
    let accept = |index: usize| {
        catalog
            .served_info(index)
            .is_some_and(|info| toolset.is_none_or(|t| info.toolset == t))
    };
    let limit = usize::try_from(limit).unwrap_or(1);
    let results: Vec<Value> = crate::search::search(query, limit, &accept)
        .into_iter()
        .filter_map(|index| catalog.served_info(index))
        .filter(|info| toolset.is_none_or(|t| info.toolset == t))
        .take(limit)
        .map(|info| {
            json!({
                "name": info.name,
                "title": info.title,
                "summary": info.summary,
                "method": info.method,
                "path": info.path,
                "toolset": info.toolset,
            })
        })
        .collect();
    CallToolResult::structured(json!({ "results": results }))
}

fn describe(catalog: &Catalog, arguments: Option<JsonObject>) -> CallToolResult {
    let args = match parse_args::<DescribeArgs>(arguments, &["names"]) {
        Ok(args) => args,
        Err(invalid) => return invalid,
    };
    if args.names.is_empty() || args.names.len() > MAX_NAMES {
        return tool_error(format!(
            "`names` takes 1 to {MAX_NAMES} tool names, not {}.",
            args.names.len()
        ));
    }
    let mut tools = Vec::new();
    let mut unknown = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for name in &args.names {
        if !seen.insert(name.as_str()) {
            continue;
        }
        match catalog.resolve(name) {
            Some(callable @ (Callable::Generated(_) | Callable::Custom(_))) => {
                match catalog.tool(callable).map(serde_json::to_value) {
                    Ok(Ok(tool)) => tools.push(tool),
                    Ok(Err(e)) => return tool_error(format!("Cannot describe `{name}`: {e}.")),
                    Err(e) => return tool_error(format!("Cannot describe `{name}`: {e}.")),
                }
            }
            Some(Callable::Discovery(_)) => unknown.push(format!(
                "`{name}` is a discovery tool: its definition is in tools/list."
            )),
            None => unknown.push(unknown_tool(catalog, name)),
        }
    }
    if !unknown.is_empty() {
        return tool_error(unknown.join("\n"));
    }
    CallToolResult::structured(json!({ "tools": tools }))
}

fn execute(catalog: &Catalog, arguments: Option<JsonObject>, read_only: bool) -> Outcome {
    let args = match parse_args::<ExecuteArgs>(arguments, &["name", "arguments"]) {
        Ok(args) => args,
        Err(invalid) => return Outcome::Done(invalid),
    };
    let arguments = match args.arguments {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => {
            return Outcome::Done(tool_error(format!(
                "`arguments` must be an object: the arguments of `{}` by name.",
                args.name
            )));
        }
    };
    let name = args.name;
    let target = match catalog.resolve(&name) {
        Some(Callable::Discovery(_)) => {
            return Outcome::Done(tool_error(format!(
                "`{name}` is a discovery tool: call it directly, not through {}.",
                which(read_only)
            )));
        }
        Some(target) => target,
        None => return Outcome::Done(tool_error(unknown_tool(catalog, &name))),
    };
    if read_only && !is_read_only(catalog, target) {
        let what = match target {
            Callable::Generated(i) => catalog
                .served_info(i)
                .map(|info| format!(" ({} {})", info.method, info.path))
                .unwrap_or_default(),
            _ => String::new(),
        };
        return Outcome::Done(tool_error(format!(
            "`{name}`{what} is not read-only: execute_read_only_tool runs read-only tools only. \
             Use execute_tool to run it."
        )));
    }
    Outcome::Execute {
        target,
        name,
        arguments,
    }
}

fn which(read_only: bool) -> &'static str {
    if read_only {
        Discovery::ExecuteReadOnly.name()
    } else {
        Discovery::Execute.name()
    }
}

/// Whether a tool is annotated read-only (`readOnlyHint: true`).
fn is_read_only(catalog: &Catalog, target: Callable) -> bool {
    match target {
        Callable::Generated(i) => catalog.served_info(i).is_some_and(|info| info.read_only),
        Callable::Custom(j) => catalog
            .custom(j)
            .and_then(|tool| tool.annotations.as_ref())
            .and_then(|a| a.read_only_hint)
            .unwrap_or(false),
        Callable::Discovery(_) => false,
    }
}

/// The error text for a name no served tool has: the closest served names by edit distance
/// and the best search match, never a tool outside the served set.
pub fn unknown_tool(catalog: &Catalog, name: &str) -> String {
    let mut offers: Vec<String> = closest(catalog, name)
        .into_iter()
        .map(str::to_owned)
        .collect();
    // A name longer than any tool's is searched for by its beginning only (bounded cost).
    let shown = shown_name(name);
    let query = shown.trim_end_matches('…').replace(['_', '-', '.'], " ");
    let best = crate::search::search(&query, 1, &|i| catalog.serves_generated(i))
        .into_iter()
        .find_map(|i| catalog.served_info(i));
    if let Some(best) = best
        && !offers.iter().any(|o| o == best.name)
    {
        offers.push(best.name.to_owned());
    }
    let mut message = format!("Unknown tool `{shown}`.");
    if !offers.is_empty() {
        let quoted: Vec<String> = offers.iter().map(|o| format!("`{o}`")).collect();
        let list = match quoted.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        };
        message.push_str(&format!(" Did you mean {list}?"));
    }
    message.push_str(" search_tools finds tools by what they do.");
    message
}

/// Up to [`SUGGESTIONS`] served names within a typo's distance of `name`, closest first.
fn closest<'a>(catalog: &'a Catalog, name: &str) -> Vec<&'a str> {
    if name.len() > 4 * MAX_SUGGESTED_NAME_CHARS {
        return Vec::new();
    }
    let folded = fold(name);
    let length = folded.chars().count();
    let bound = (length / 3).max(2);
    let mut near: Vec<(usize, &str)> = catalog
        .served_names()
        .filter_map(|candidate| {
            let distance = crate::args::near(&folded, &fold(candidate), bound)?;
            Some((distance, candidate))
        })
        .collect();
    near.sort();
    near.into_iter()
        .take(SUGGESTIONS)
        .map(|(_, name)| name)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rmcp::model::{Tool, ToolAnnotations};

    use super::*;
    use crate::tool_info::ToolMode;
    use crate::tools::TOOL_INFO;

    fn catalog(toolsets: &[&str]) -> Catalog {
        let toolsets: Vec<String> = toolsets.iter().map(|t| (*t).to_owned()).collect();
        let custom = vec![
            Tool::new("my_status", "mine", Arc::new(JsonObject::new()))
                .with_annotations(ToolAnnotations::new().read_only(true)),
            Tool::new("my_reset", "mine", Arc::new(JsonObject::new())),
        ];
        Catalog::new(ToolMode::Discover, &toolsets, custom).expect("valid")
    }

    fn args(value: Value) -> Option<JsonObject> {
        value.as_object().cloned()
    }

    fn text(result: &CallToolResult) -> String {
        result
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect()
    }

    fn done(outcome: Outcome) -> CallToolResult {
        match outcome {
            Outcome::Done(result) => result,
            Outcome::Execute { name, .. } => {
                panic!("expected a result, got an execution of {name}")
            }
        }
    }

    fn error(outcome: Outcome) -> String {
        let result = done(outcome);
        assert_eq!(result.is_error, Some(true), "{result:?}");
        text(&result)
    }

    /// A generated read-only tool and one that is not, with their toolsets.
    fn pick(read_only: bool) -> &'static crate::tool_info::ToolInfo {
        TOOL_INFO
            .iter()
            .find(|t| t.read_only == read_only)
            .expect("the stand-in has both kinds")
    }

    #[test]
    fn search_arguments_are_checked() {
        let c = catalog(&[]);
        for (bad, expected) in [
            (json!({}), "missing field `query`"),
            (json!({"query": "  "}), "`query` is empty"),
            (json!({"query": "x", "limit": 0}), "between 1 and 50, not 0"),
            (
                json!({"query": "x", "limit": 51}),
                "between 1 and 50, not 51",
            ),
            (
                json!({"query": "x", "limit": "5"}),
                "Invalid argument `limit`",
            ),
            (
                json!({"query": "x", "toolset": "nope"}),
                "Unknown toolset `nope`",
            ),
            (json!({"query": "x", "limt": 5}), "did you mean `limit`"),
        ] {
            let message = error(handle(Discovery::Search, &c, args(bad.clone())));
            assert!(message.contains(expected), "{bad}: {message}");
        }
    }

    #[test]
    fn search_finds_served_tools_only() {
        let tool = pick(false);
        let all = catalog(&[]);
        let result = done(handle(
            Discovery::Search,
            &all,
            args(json!({"query": tool.name, "limit": 50})),
        ));
        assert_ne!(result.is_error, Some(true), "{result:?}");
        let results = result.structured_content.expect("structured")["results"].clone();
        let first = &results[0];
        assert_eq!(first["name"], tool.name, "{results}");
        assert_eq!(first["method"], tool.method);
        assert_eq!(first["path"], tool.path);
        assert_eq!(first["toolset"], tool.toolset);
        assert_eq!(first["title"], tool.title);
        assert_eq!(first["summary"], tool.summary);
        assert_eq!(
            first.as_object().expect("object").len(),
            6,
            "exactly the six fields"
        );

        // Another toolset only: the tool is not found.
        let other = TOOL_INFO
            .iter()
            .map(|t| t.toolset)
            .find(|t| *t != tool.toolset);
        let other = other.expect("the stand-in has several toolsets");
        let narrow = catalog(&[other]);
        let result = done(handle(
            Discovery::Search,
            &narrow,
            args(json!({"query": tool.name, "limit": 50})),
        ));
        let results = result.structured_content.expect("structured")["results"].clone();
        for found in results.as_array().expect("array") {
            assert_eq!(found["toolset"], other, "{found}");
        }
        let message = error(handle(
            Discovery::Search,
            &narrow,
            args(json!({"query": "x", "toolset": tool.toolset})),
        ));
        assert!(message.contains("Unknown toolset"), "{message}");
    }

    #[test]
    fn describe_gives_what_mode_all_lists() {
        let c = catalog(&[]);
        let tool = pick(true);
        let result = done(handle(
            Discovery::Describe,
            &c,
            args(json!({"names": [tool.name, "my_status", tool.name]})),
        ));
        let tools = result.structured_content.expect("structured")["tools"].clone();
        let all = Catalog::new(ToolMode::All, &[], Vec::new()).expect("valid");
        let index = TOOL_INFO
            .iter()
            .position(|t| t.name == tool.name)
            .expect("a tool");
        let listed = all.listed(index..index + 1).expect("a tool");
        assert_eq!(tools[0], serde_json::to_value(&listed[0]).expect("json"));
        assert_eq!(tools[1]["name"], "my_status");
        assert_eq!(tools.as_array().expect("array").len(), 2, "duplicates once");

        for (bad, expected) in [
            (json!({"names": []}), "1 to 20 tool names, not 0"),
            (json!({"names": vec!["x"; 21]}), "not 21"),
            (json!({"names": "x"}), "Invalid argument `names`"),
            (json!({"names": ["search_tools"]}), "is a discovery tool"),
            (
                json!({"names": ["no_such_tool_at_all"]}),
                "Unknown tool `no_such_tool_at_all`",
            ),
        ] {
            let message = error(handle(Discovery::Describe, &c, args(bad.clone())));
            assert!(message.contains(expected), "{bad}: {message}");
        }
    }

    #[test]
    fn execute_resolves_served_tools() {
        let c = catalog(&[]);
        let tool = pick(false);
        match handle(
            Discovery::Execute,
            &c,
            args(json!({"name": tool.name, "arguments": {"a": 1}})),
        ) {
            Outcome::Execute {
                target,
                name,
                arguments,
            } => {
                assert_eq!(name, tool.name);
                assert_eq!(target, c.resolve(tool.name).expect("served"));
                assert_eq!(arguments, args(json!({"a": 1})));
            }
            Outcome::Done(result) => panic!("{result:?}"),
        }
        match handle(Discovery::Execute, &c, args(json!({"name": "my_reset"}))) {
            Outcome::Execute {
                target, arguments, ..
            } => {
                assert_eq!(target, Callable::Custom(1));
                assert_eq!(arguments, None);
            }
            Outcome::Done(result) => panic!("{result:?}"),
        }
        for (bad, expected) in [
            (
                json!({"name": tool.name, "arguments": [1]}),
                "must be an object",
            ),
            (json!({"arguments": {}}), "missing field `name`"),
            (json!({"name": "execute_tool"}), "is a discovery tool"),
            (
                json!({"name": tool.name, "argumnts": {}}),
                "did you mean `arguments`",
            ),
        ] {
            let message = error(handle(Discovery::Execute, &c, args(bad.clone())));
            assert!(message.contains(expected), "{bad}: {message}");
        }
    }

    #[test]
    fn execute_read_only_refuses_every_other_tool() {
        let c = catalog(&[]);
        let writer = pick(false);
        let message = error(handle(
            Discovery::ExecuteReadOnly,
            &c,
            args(json!({"name": writer.name, "arguments": {}})),
        ));
        assert!(message.contains("is not read-only"), "{message}");
        assert!(message.contains(writer.method), "{message}");
        let message = error(handle(
            Discovery::ExecuteReadOnly,
            &c,
            args(json!({"name": "my_reset"})),
        ));
        assert!(message.contains("is not read-only"), "{message}");
        for name in [pick(true).name, "my_status"] {
            assert!(
                matches!(
                    handle(Discovery::ExecuteReadOnly, &c, args(json!({"name": name}))),
                    Outcome::Execute { .. }
                ),
                "{name}"
            );
        }
    }

    #[test]
    fn unknown_names_get_a_did_you_mean_of_served_tools_only() {
        let c = catalog(&[]);
        let tool = pick(false);
        let typo = format!("{}x", tool.name);
        let message = error(handle(Discovery::Execute, &c, args(json!({"name": typo}))));
        assert!(
            message.starts_with(&format!("Unknown tool `{typo}`.")),
            "{message}"
        );
        assert!(message.contains(&format!("`{}`", tool.name)), "{message}");
        assert!(message.contains("search_tools"), "{message}");
        let message = unknown_tool(&c, "my_statsu");
        assert!(message.contains("`my_status`"), "{message}");

        // A tool outside the chosen toolsets is never offered.
        let other = TOOL_INFO
            .iter()
            .map(|t| t.toolset)
            .find(|t| *t != tool.toolset)
            .expect("the stand-in has several toolsets");
        let narrow = catalog(&[other]);
        let message = unknown_tool(&narrow, &typo);
        for hidden in TOOL_INFO.iter().filter(|t| t.toolset != other) {
            assert!(
                !message.contains(&format!("`{}`", hidden.name)),
                "{message}"
            );
        }
        let message = error(handle(
            Discovery::Execute,
            &narrow,
            args(json!({"name": tool.name})),
        ));
        assert!(message.starts_with("Unknown tool"), "{message}");
    }
}
