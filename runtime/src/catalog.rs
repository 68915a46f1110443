//! The served tools: which tools this server lists and answers to, for the tool mode
//! (`--tool-mode`) and the toolsets (`--toolsets`) it was started with.
//!
//! Served = the generated tools of the chosen toolsets (all of them when none is chosen) and
//! the custom tools of `custom_tools.rs`. `tools/list` shows, in mode `all`, the served tools;
//! in mode `discover`, the four discovery tools of `discover_tools.json` and the custom tools.
//! What is callable by name does not depend on the mode: every served tool, in both modes,
//! and the discovery tools in mode `discover` only. A generated tool outside the chosen
//! toolsets is not listed, not found by `search_tools`, not describable and not callable.
//!
//! Nothing here parses a generated tool before it is needed: names, toolsets and annotations
//! come from `tools::TOOL_INFO`, and a tool's definition is parsed from its own slice of
//! `tools.json` when a page, `describe_tools` or rmcp asks for it.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::sync::OnceLock;

use rmcp::model::Tool;

use crate::tool_info::{ToolInfo, ToolMode};
use crate::tools::TOOL_INFO;

/// The generated tools exactly as `tools/list` shows them, in `TOOL_INFO` order.
pub const TOOLS_JSON: &str = include_str!("tools.json");

/// The discovery tools mode `discover` lists (generated beside this file).
const DISCOVER_TOOLS_JSON: &str = include_str!("discover_tools.json");

/// The discovery tools, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discovery {
    /// `search_tools`: the served tools that match a query.
    Search,
    /// `describe_tools`: the definitions of served tools.
    Describe,
    /// `execute_tool`: calls a served tool.
    Execute,
    /// `execute_read_only_tool`: calls a served read-only tool, refuses the others.
    ExecuteReadOnly,
}

impl Discovery {
    pub const ALL: [Discovery; 4] = [
        Discovery::Search,
        Discovery::Describe,
        Discovery::Execute,
        Discovery::ExecuteReadOnly,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Discovery::Search => "search_tools",
            Discovery::Describe => "describe_tools",
            Discovery::Execute => "execute_tool",
            Discovery::ExecuteReadOnly => "execute_read_only_tool",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// The name of a tool mode, as `--tool-mode` takes it.
pub fn mode_name(mode: ToolMode) -> &'static str {
    match mode {
        ToolMode::All => "all",
        ToolMode::Discover => "discover",
    }
}

/// What a callable name runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Callable {
    /// The generated tool at this position of `TOOL_INFO` (and dispatch index of
    /// `tools::request`).
    Generated(usize),
    /// The custom tool at this position of `custom_tools::tools()`.
    Custom(usize),
    /// A discovery tool (mode `discover`).
    Discovery(Discovery),
}

/// The served tools of one configuration.
pub struct Catalog {
    /// What each generated tool is (`tools::TOOL_INFO`; other tables in unit tests).
    info: &'static [ToolInfo],
    mode: ToolMode,
    /// The chosen toolsets, sorted; empty when every toolset is served.
    toolsets: Vec<&'static str>,
    /// Per generated tool: whether it is served.
    served: Box<[bool]>,
    /// How many generated tools are served.
    served_count: usize,
    custom: Vec<Tool>,
    /// The discovery tools (mode `discover`; empty in mode `all`).
    discovery: Vec<(Discovery, Tool)>,
    /// Every callable name.
    names: HashMap<String, Callable>,
    /// What `tools/list` shows, in order.
    listing: Vec<Callable>,
    /// Each generated tool's range in `TOOLS_JSON`, found when first needed.
    ranges: OnceLock<Result<Vec<Range<usize>>, String>>,
    /// The listing's identity inside cursors, computed when first needed.
    list_id: OnceLock<u64>,
}

impl Catalog {
    /// The catalog of `mode` and `toolsets` (empty: all) with the custom tools `custom`. Fails,
    /// saying what to change, for an unknown toolset, a custom tool without a name or with a
    /// name taken by another tool (a generated one of any toolset, another custom tool, or a
    /// discovery tool in mode `discover`), or discovery tools `discover_tools.json` lacks.
    pub fn new(mode: ToolMode, toolsets: &[String], custom: Vec<Tool>) -> Result<Self, String> {
        Self::with_info(TOOL_INFO, mode, toolsets, custom)
    }

    fn with_info(
        info: &'static [ToolInfo],
        mode: ToolMode,
        toolsets: &[String],
        custom: Vec<Tool>,
    ) -> Result<Self, String> {
        let known: BTreeSet<&'static str> = info.iter().map(|tool| tool.toolset).collect();
        let mut chosen = BTreeSet::new();
        for toolset in toolsets.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            match known.get(toolset) {
                Some(found) => {
                    chosen.insert(*found);
                }
                None => {
                    return Err(format!(
                        "unknown toolset `{toolset}` in --toolsets (MCP_TOOLSETS); this server's toolsets: {}",
                        known.iter().copied().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
        let toolsets: Vec<&'static str> = chosen.into_iter().collect();
        let served: Box<[bool]> = info
            .iter()
            .map(|tool| toolsets.is_empty() || toolsets.contains(&tool.toolset))
            .collect();
        let served_count = served.iter().filter(|s| **s).count();

        let mut names: HashMap<String, Callable> = HashMap::with_capacity(info.len() + 8);
        let mut listing = Vec::new();
        for (i, tool) in info.iter().enumerate() {
            if served[i] {
                names.insert(tool.name.to_owned(), Callable::Generated(i));
                if mode == ToolMode::All {
                    listing.push(Callable::Generated(i));
                }
            }
        }
        let discovery = match mode {
            ToolMode::All => Vec::new(),
            ToolMode::Discover => discovery_tools()?,
        };
        for (kind, _) in &discovery {
            listing.push(Callable::Discovery(*kind));
            names.insert(kind.name().to_owned(), Callable::Discovery(*kind));
        }
        for (j, tool) in custom.iter().enumerate() {
            let name = tool.name.as_ref();
            if name.is_empty() {
                return Err("src/custom_tools.rs: a custom tool has an empty name".to_owned());
            }
            let whose = if info.iter().any(|t| t.name == name) {
                Some("a generated tool")
            } else if custom[..j].iter().any(|t| t.name == name) {
                Some("another custom tool")
            } else if mode == ToolMode::Discover && Discovery::from_name(name).is_some() {
                Some("a discovery tool of --tool-mode discover")
            } else {
                None
            };
            if let Some(whose) = whose {
                return Err(format!(
                    "src/custom_tools.rs: the custom tool `{name}` has the name of {whose}; rename it"
                ));
            }
            names.insert(name.to_owned(), Callable::Custom(j));
            listing.push(Callable::Custom(j));
        }
        Ok(Self {
            info,
            mode,
            toolsets,
            served,
            served_count,
            custom,
            discovery,
            names,
            listing,
            ranges: OnceLock::new(),
            list_id: OnceLock::new(),
        })
    }

    pub fn mode(&self) -> ToolMode {
        self.mode
    }

    /// The chosen toolsets (empty: all).
    pub fn toolsets(&self) -> &[&'static str] {
        &self.toolsets
    }

    /// Every toolset with a served tool, sorted.
    pub fn served_toolsets(&self) -> Vec<&'static str> {
        let set: BTreeSet<&'static str> = self
            .served_generated()
            .map(|i| self.info[i].toolset)
            .collect();
        set.into_iter().collect()
    }

    /// How many generated tools are served.
    pub fn served_generated_count(&self) -> usize {
        self.served_count
    }

    /// The positions of the served generated tools.
    pub fn served_generated(&self) -> impl Iterator<Item = usize> + '_ {
        self.served
            .iter()
            .enumerate()
            .filter_map(|(i, served)| served.then_some(i))
    }

    /// What the generated tool at `index` is, when it is served.
    pub fn served_info(&self, index: usize) -> Option<&'static ToolInfo> {
        self.info
            .get(index)
            .filter(|_| self.serves_generated(index))
    }

    /// Whether the generated tool at `index` is served.
    pub fn serves_generated(&self, index: usize) -> bool {
        self.served.get(index).copied().unwrap_or(false)
    }

    /// How many tools `tools/list` shows.
    pub fn listed_count(&self) -> usize {
        self.listing.len()
    }

    /// What a tool name runs; `None` for a name this configuration does not answer to.
    pub fn resolve(&self, name: &str) -> Option<Callable> {
        self.names.get(name).copied()
    }

    /// Whether the inner tool names of `execute_tool` calls count for admission (scopes and
    /// `HookRequest::tools`): in mode `discover`, where those tools are callable.
    pub fn discover(&self) -> bool {
        self.mode == ToolMode::Discover
    }

    /// The served tools a name-based suggestion may offer: the served generated tools and the
    /// custom tools (never a tool outside the chosen toolsets).
    pub fn served_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.served_generated()
            .map(|i| self.info[i].name)
            .chain(self.custom.iter().map(|t| t.name.as_ref()))
    }

    /// The custom tool at `index`.
    pub fn custom(&self, index: usize) -> Option<&Tool> {
        self.custom.get(index)
    }

    /// The definition of what `callable` names, as `tools/list` shows it.
    pub fn tool(&self, callable: Callable) -> Result<Tool, String> {
        match callable {
            Callable::Generated(i) => self.generated_tool(i),
            Callable::Custom(j) => self
                .custom
                .get(j)
                .cloned()
                .ok_or_else(|| format!("no custom tool at {j}")),
            Callable::Discovery(kind) => self
                .discovery
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, tool)| tool.clone())
                .ok_or_else(|| format!("`{}` is not served in mode all", kind.name())),
        }
    }

    /// The tools of the listing's `range`.
    pub fn listed(&self, range: Range<usize>) -> Result<Vec<Tool>, String> {
        self.listing
            .get(range)
            .unwrap_or_default()
            .iter()
            .map(|callable| self.tool(*callable))
            .collect()
    }

    /// The generated tool at `index`, parsed from its slice of `tools.json`.
    fn generated_tool(&self, index: usize) -> Result<Tool, String> {
        let ranges = self
            .ranges
            .get_or_init(|| crate::tools_json::tool_ranges(TOOLS_JSON))
            .as_ref()
            .map_err(|e| format!("the generated tools.json is invalid: {e}"))?;
        let (Some(range), Some(info)) = (ranges.get(index), self.info.get(index)) else {
            return Err(format!(
                "the generated tools.json has {} tools, TOOL_INFO {}: regenerate the crate",
                ranges.len(),
                self.info.len()
            ));
        };
        let tool: Tool = serde_json::from_str(&TOOLS_JSON[range.clone()])
            .map_err(|e| format!("the generated tools.json is invalid at tool {index}: {e}"))?;
        if tool.name != info.name {
            return Err(format!(
                "the generated tools.json names tool {index} `{}`, TOOL_INFO `{}`: regenerate the crate",
                tool.name, info.name
            ));
        }
        Ok(tool)
    }

    /// The listing's identity: a fingerprint of what it shows (the tool definitions, the
    /// mode, the toolsets, the custom tools' names), so that a cursor of another build or
    /// configuration behind the same load balancer is refused instead of paging wrongly.
    pub fn list_id(&self) -> u64 {
        *self.list_id.get_or_init(|| {
            let mut identity = format!(
                "mode={}\ntoolsets={}\n",
                mode_name(self.mode),
                self.toolsets.join(",")
            );
            for tool in &self.custom {
                identity.push_str(&tool.name);
                identity.push('\n');
            }
            let listed = match self.mode {
                ToolMode::All => TOOLS_JSON,
                ToolMode::Discover => DISCOVER_TOOLS_JSON,
            };
            fnv1a(identity.as_bytes(), fnv1a(listed.as_bytes(), FNV_OFFSET))
        })
    }
}

/// The discovery tools of `discover_tools.json`, each by its kind; the file must define the
/// four of them.
fn discovery_tools() -> Result<Vec<(Discovery, Tool)>, String> {
    #[derive(serde::Deserialize)]
    struct File {
        tools: Vec<Tool>,
    }
    let file: File = serde_json::from_str(DISCOVER_TOOLS_JSON)
        .map_err(|e| format!("the generated discover_tools.json is invalid: {e}"))?;
    let mut tools = Vec::new();
    for tool in file.tools {
        let kind = Discovery::from_name(&tool.name).ok_or_else(|| {
            format!(
                "the generated discover_tools.json defines `{}`, which is no discovery tool",
                tool.name
            )
        })?;
        tools.push((kind, tool));
    }
    for kind in Discovery::ALL {
        if !tools.iter().any(|(k, _)| *k == kind) {
            return Err(format!(
                "the generated discover_tools.json lacks `{}`: regenerate the crate",
                kind.name()
            ));
        }
    }
    Ok(tools)
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// 64-bit FNV-1a from `hash`: a stable fingerprint (the same in every process and build).
pub fn fnv1a(bytes: &[u8], hash: u64) -> u64 {
    bytes.iter().fold(hash, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const INFO: &[ToolInfo] = &[
        info("list_pets", "pets", true),
        info("create_pet", "pets", false),
        info("list_stores", "stores", true),
        info("ping", "default", true),
    ];

    const fn info(name: &'static str, toolset: &'static str, read_only: bool) -> ToolInfo {
        ToolInfo {
            name,
            title: name,
            summary: name,
            method: if read_only { "GET" } else { "POST" },
            path: "/x",
            toolset,
            read_only,
        }
    }

    fn custom(name: &str) -> Tool {
        Tool::new(name.to_owned(), "mine", Arc::new(serde_json::Map::new()))
    }

    fn catalog(mode: ToolMode, toolsets: &[&str], custom: Vec<Tool>) -> Result<Catalog, String> {
        let toolsets: Vec<String> = toolsets.iter().map(|t| (*t).to_owned()).collect();
        Catalog::with_info(INFO, mode, &toolsets, custom)
    }

    #[test]
    fn toolsets_choose_the_served_tools() {
        let all = catalog(ToolMode::All, &[], vec![custom("mine")]).expect("valid");
        assert_eq!(all.served_generated().collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert_eq!(
            all.listing,
            [
                Callable::Generated(0),
                Callable::Generated(1),
                Callable::Generated(2),
                Callable::Generated(3),
                Callable::Custom(0)
            ]
        );
        let pets = catalog(
            ToolMode::All,
            &["pets", " default ", ""],
            vec![custom("mine")],
        )
        .expect("valid");
        assert_eq!(pets.toolsets(), ["default", "pets"]);
        assert_eq!(pets.served_generated().collect::<Vec<_>>(), [0, 1, 3]);
        assert_eq!(pets.resolve("list_stores"), None, "not callable");
        assert_eq!(pets.resolve("create_pet"), Some(Callable::Generated(1)));
        assert_eq!(pets.resolve("mine"), Some(Callable::Custom(0)));
        assert_eq!(
            pets.served_names().collect::<Vec<_>>(),
            ["list_pets", "create_pet", "ping", "mine"]
        );
        assert_eq!(pets.served_toolsets(), ["default", "pets"]);
        assert!(!pets.serves_generated(2));
        assert!(!pets.serves_generated(99));
    }

    #[test]
    fn an_unknown_toolset_names_the_known_ones() {
        let error = catalog(ToolMode::All, &["pets", "users"], Vec::new())
            .err()
            .expect("an error");
        assert!(error.contains("`users`"), "{error}");
        assert!(error.ends_with("default, pets, stores"), "{error}");
    }

    #[test]
    fn discover_mode_lists_the_discovery_tools_and_the_custom_ones() {
        let c = catalog(ToolMode::Discover, &["stores"], vec![custom("mine")]).expect("valid");
        let listed: Vec<String> = c
            .listed(0..c.listed_count())
            .expect("tools")
            .iter()
            .map(|t| t.name.to_string())
            .collect();
        assert_eq!(
            listed,
            [
                "search_tools",
                "describe_tools",
                "execute_tool",
                "execute_read_only_tool",
                "mine"
            ]
        );
        // Listing changes, calling does not: served generated tools stay callable by name.
        assert_eq!(c.resolve("list_stores"), Some(Callable::Generated(2)));
        assert_eq!(c.resolve("list_pets"), None);
        assert_eq!(
            c.resolve("execute_tool"),
            Some(Callable::Discovery(Discovery::Execute))
        );
        // The discovery tools are not callable in mode all.
        let all = catalog(ToolMode::All, &[], Vec::new()).expect("valid");
        assert_eq!(all.resolve("execute_tool"), None);
        assert_eq!(all.resolve("search_tools"), None);
    }

    #[test]
    fn custom_tool_names_must_be_free() {
        for (mode, tools, taken) in [
            (ToolMode::All, vec![custom("")], "empty name"),
            (ToolMode::All, vec![custom("ping")], "a generated tool"),
            (
                ToolMode::All,
                vec![custom("a"), custom("a")],
                "another custom tool",
            ),
            (
                ToolMode::Discover,
                vec![custom("execute_tool")],
                "a discovery tool",
            ),
        ] {
            let error = catalog(mode, &[], tools).err().expect("an error");
            assert!(error.contains(taken), "{error}");
        }
        // Outside mode discover the discovery names are free for custom tools.
        let c = catalog(ToolMode::All, &[], vec![custom("search_tools")]).expect("valid");
        assert_eq!(c.resolve("search_tools"), Some(Callable::Custom(0)));
        // A generated tool outside the chosen toolsets keeps its name.
        assert!(catalog(ToolMode::All, &["pets"], vec![custom("list_stores")]).is_err());
    }

    #[test]
    fn list_ids_cover_mode_toolsets_and_custom_tools() {
        let ids: Vec<u64> = [
            catalog(ToolMode::All, &[], Vec::new()),
            catalog(ToolMode::All, &["pets"], Vec::new()),
            catalog(ToolMode::All, &["pets", "stores"], Vec::new()),
            catalog(ToolMode::Discover, &[], Vec::new()),
            catalog(ToolMode::Discover, &["pets"], Vec::new()),
            catalog(ToolMode::All, &[], vec![custom("mine")]),
        ]
        .into_iter()
        .map(|c| c.expect("valid").list_id())
        .collect();
        let distinct: BTreeSet<u64> = ids.iter().copied().collect();
        assert_eq!(distinct.len(), ids.len(), "{ids:?}");
        let again = catalog(ToolMode::All, &["pets"], Vec::new()).expect("valid");
        assert_eq!(again.list_id(), ids[1], "stable");
    }

    #[test]
    fn every_generated_tool_parses_from_its_slice() {
        let c = Catalog::new(ToolMode::All, &[], Vec::new()).expect("the stand-ins are valid");
        let all: serde_json::Value = serde_json::from_str(TOOLS_JSON).expect("valid JSON");
        let expected: Vec<Tool> =
            serde_json::from_value(all["tools"].clone()).expect("tools parse");
        assert_eq!(TOOL_INFO.len(), expected.len());
        assert_eq!(c.listed(0..c.listed_count()).expect("tools"), expected);
        for (info, tool) in TOOL_INFO.iter().zip(&expected) {
            assert_eq!(info.name, tool.name);
            let read_only = tool
                .annotations
                .as_ref()
                .and_then(|a| a.read_only_hint)
                .unwrap_or(false);
            assert_eq!(info.read_only, read_only, "{}", info.name);
        }
    }

    #[test]
    fn the_discovery_tools_are_defined() {
        let tools = discovery_tools().expect("discover_tools.json is valid");
        let names: Vec<&str> = tools.iter().map(|(k, _)| k.name()).collect();
        assert_eq!(
            names,
            [
                "search_tools",
                "describe_tools",
                "execute_tool",
                "execute_read_only_tool"
            ]
        );
        for (kind, tool) in &tools {
            let read_only = tool.annotations.as_ref().and_then(|a| a.read_only_hint);
            let expected = !matches!(kind, Discovery::Execute);
            assert_eq!(read_only.unwrap_or(false), expected, "{}", kind.name());
        }
    }

    #[test]
    fn the_fingerprint_is_stable() {
        assert_eq!(fnv1a(b"", FNV_OFFSET), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a", FNV_OFFSET), 0xaf63_dc4c_8601_ec8c);
    }
}
