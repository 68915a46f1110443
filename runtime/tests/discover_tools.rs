//! `src/discover_tools.json`: the tools `tools/list` shows in discover mode (DESIGN §5). It is
//! served as it is, so it must parse as rmcp tools, name exactly the four discovery tools, and
//! stay small: it is all a client reads before its first search.

use rmcp::model::Tool;
use serde::Deserialize;

const DISCOVER_TOOLS: &str = include_str!("../src/discover_tools.json");

#[derive(Deserialize)]
struct File {
    tools: Vec<Tool>,
}

fn tools() -> Vec<Tool> {
    serde_json::from_str::<File>(DISCOVER_TOOLS)
        .expect("discover_tools.json parses as rmcp tools")
        .tools
}

#[test]
fn the_four_discovery_tools_parse_as_rmcp_tools() {
    let tools = tools();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            "search_tools",
            "describe_tools",
            "execute_tool",
            "execute_read_only_tool"
        ]
    );
    for t in &tools {
        assert!(t.title.is_some(), "{} has a title", t.name);
        assert!(t.description.as_ref().is_some_and(|d| !d.is_empty()));
        assert_eq!(
            t.input_schema.get("additionalProperties"),
            Some(&false.into())
        );
    }
}

#[test]
fn read_only_hints_say_what_each_tool_may_do() {
    let read_only: Vec<(String, bool)> = tools()
        .iter()
        .map(|t| {
            let hint = t.annotations.as_ref().and_then(|a| a.read_only_hint);
            (t.name.to_string(), hint.expect("readOnlyHint is set"))
        })
        .collect();
    assert_eq!(
        read_only,
        [
            ("search_tools".to_owned(), true),
            ("describe_tools".to_owned(), true),
            ("execute_tool".to_owned(), false),
            ("execute_read_only_tool".to_owned(), true),
        ]
    );
}

#[test]
fn the_arguments_are_the_designed_ones() {
    let tools = tools();
    let required = |i: usize| tools[i].input_schema.get("required").cloned();
    assert_eq!(required(0), Some(serde_json::json!(["query"])));
    let limit = &tools[0].input_schema["properties"]["limit"];
    assert_eq!(
        (&limit["minimum"], &limit["maximum"], &limit["default"]),
        (&1.into(), &50.into(), &10.into())
    );
    let names = &tools[1].input_schema["properties"]["names"];
    assert_eq!(
        (&names["minItems"], &names["maxItems"]),
        (&1.into(), &20.into())
    );
    for i in [2, 3] {
        assert_eq!(required(i), Some(serde_json::json!(["name", "arguments"])));
    }
    let result = &tools[0].output_schema.as_ref().expect("an output schema")["properties"]["results"]
        ["items"]["required"];
    assert_eq!(
        result,
        &serde_json::json!(["name", "title", "summary", "method", "path", "toolset"])
    );
}

#[test]
fn discover_modes_list_costs_under_a_thousand_tokens() {
    let compact = serde_json::to_string(&tools()).expect("serialises");
    assert!(
        compact.len() / 4 < 1_000,
        "{} bytes of compact JSON",
        compact.len()
    );
}
