//! What discover mode, toolsets and `search_tools` results need to know of each generated tool
//! beyond its `tools.json` entry. The generated `tools.rs` fills these types: `TOOL_INFO` (one
//! entry per generated tool, in `tools.json` order) and `DEFAULT_TOOL_MODE`. A leaf module: it
//! imports nothing from the crate, so every other module may read it.

/// How `tools/list` presents the served tools (`--tool-mode`, env `MCP_TOOL_MODE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolMode {
    /// Every served tool is listed.
    All,
    /// `search_tools`, `describe_tools`, `execute_tool` and `execute_read_only_tool` are listed
    /// instead of the generated tools (the custom tools stay listed).
    Discover,
}

/// One generated tool as `search_tools` reports it and `--toolsets` selects it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ToolInfo {
    /// The tool name (as in `tools.json`).
    pub name: &'static str,
    /// The title (as in `tools.json`; the name when the tool has none).
    pub title: &'static str,
    /// One line of plain text: what the tool does.
    pub summary: &'static str,
    /// Upper-case HTTP method.
    pub method: &'static str,
    /// The OpenAPI path template.
    pub path: &'static str,
    /// The tool's toolset: its operation's first tag in snake_case, `default` when untagged,
    /// or what `tools: overrides` says.
    pub toolset: &'static str,
    /// The tool's `readOnlyHint`.
    pub read_only: bool,
}
