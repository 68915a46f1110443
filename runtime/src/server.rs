//! The MCP server: lists the generated tools and your own (`src/custom_tools.rs`), a page at a
//! time, and routes calls to them, through the hooks of `src/hooks.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
    GetPromptRequestParams, GetPromptResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse,
    ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};

use crate::admission::Caller;
use crate::tools::{SERVER_NAME, SERVER_TITLE, SERVER_VERSION};
use crate::upstream::Upstream;

/// The tool list exactly as `tools/list` returns it, generated beside this file.
const TOOLS_JSON: &str = include_str!("tools.json");

/// Tools per `tools/list` page: an API with up to this many operations lists on one page.
pub const PAGE_SIZE: usize = 100;

/// How long a client may reuse a `tools/list` page, in milliseconds (the caching hints of
/// protocol 2026-07-28). The list changes only when the server is regenerated and restarted.
/// The scope stays `private`: a shared cache never serves it to other users.
const TOOLS_TTL_MS: u64 = 5 * 60 * 1000;

#[derive(serde::Deserialize)]
struct ToolFile {
    tools: Vec<Tool>,
}

/// One instance per transport or HTTP request; clones share the upstream client and the tools.
#[derive(Clone)]
pub struct Server {
    upstream: Arc<Upstream>,
    /// The generated tools (`tools.json` order), then the custom ones.
    tools: Arc<Vec<Tool>>,
    /// How many of `tools` are generated.
    generated: usize,
    /// Tool name → position in `tools`, which for generated tools is also the dispatch index of
    /// `tools::request`.
    index: Arc<HashMap<String, usize>>,
    /// Identifies this tool list inside cursors, so that a cursor issued by a server with other
    /// tools (another build behind the same load balancer) is refused instead of paging wrongly.
    list_id: u64,
}

impl Server {
    /// Parses the tool list once and adds the custom tools; a custom tool without a name or
    /// with a name already taken is a start-up error.
    pub fn new(upstream: Upstream) -> Result<Self, String> {
        let mut tools = load_tools()?;
        let generated = tools.len();
        let mut index: HashMap<String, usize> = tools
            .iter()
            .enumerate()
            .map(|(i, tool)| (tool.name.to_string(), i))
            .collect();
        // The list's identity covers the custom tools too (see `list_id`).
        let mut identity = TOOLS_JSON.to_owned();
        for tool in crate::custom_tools::tools() {
            let name = tool.name.to_string();
            if name.is_empty() {
                return Err("src/custom_tools.rs: a custom tool has an empty name".to_owned());
            }
            if let Some(&taken) = index.get(&name) {
                let whose = if taken < generated {
                    "a generated tool"
                } else {
                    "another custom tool"
                };
                return Err(format!(
                    "src/custom_tools.rs: the custom tool `{name}` has the name of {whose}; rename it"
                ));
            }
            identity.push('\n');
            identity.push_str(&name);
            index.insert(name, tools.len());
            tools.push(tool);
        }
        Ok(Self {
            upstream: Arc::new(upstream),
            tools: Arc::new(tools),
            generated,
            index: Arc::new(index),
            list_id: fnv1a(identity.as_bytes()),
        })
    }

    pub fn tool_count(&self) -> usize {
        self.tools.len()
    }

    /// The dispatch index of the tool called `name`.
    pub fn tool_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Calls the tool at `index` (from [`Self::tool_index`]), named `name`, for `caller`, whose
    /// credentials go upstream when the auth configuration forwards them: a generated tool
    /// through the request and result hooks, a custom tool as `custom_tools.rs` says. `None`
    /// when no tool answers to the name.
    pub async fn call_index(
        &self,
        index: usize,
        name: &str,
        arguments: Option<rmcp::model::JsonObject>,
        caller: Option<&Caller>,
    ) -> Option<CallToolResult> {
        let forwarded = caller
            .and_then(|caller| caller.forward.clone())
            .map(|authorization| self.upstream.with_authorization(authorization));
        let upstream = forwarded.as_ref().unwrap_or(self.upstream.as_ref());
        let mut result = if index < self.generated {
            match crate::tools::request(index, arguments)? {
                Err(invalid) => invalid,
                Ok((mut upstream_request, output)) => {
                    match crate::hooks::on_tool_request(name, &mut upstream_request).await {
                        Ok(()) => upstream.execute(upstream_request, output).await,
                        Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
                    }
                }
            }
        } else {
            crate::custom_tools::call(name, arguments, upstream).await?
        };
        crate::hooks::on_tool_result(name, &mut result).await;
        Some(result)
    }
}

/// The JSON-RPC error for a call of a tool this server does not have.
pub fn unknown_tool(name: &str) -> McpError {
    McpError::invalid_params(format!("unknown tool `{name}`"), None)
}

fn load_tools() -> Result<Vec<Tool>, String> {
    let file: ToolFile = serde_json::from_str(TOOLS_JSON)
        .map_err(|e| format!("the generated tools.json is invalid: {e}"))?;
    Ok(file.tools)
}

/// 64-bit FNV-1a: a stable fingerprint (the same in every process and build of these tools).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The opaque cursor of the page starting at `offset`.
fn encode_cursor(list_id: u64, offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{list_id:016x}:{offset}"))
}

/// The offset a cursor of this tool list points at; `None` for anything this server did not
/// issue.
fn decode_cursor(cursor: &str, list_id: u64) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let (id, offset) = text.split_once(':')?;
    if u64::from_str_radix(id, 16).ok()? != list_id {
        return None;
    }
    offset.parse().ok()
}

/// The page of `tools` that `cursor` starts (the first page without one, or with an empty
/// one) and the cursor of the next page, if any. Pages follow the generated (deterministic)
/// order, so they concatenate to the whole list on every instance of the same build.
fn page<'a>(
    tools: &'a [Tool],
    list_id: u64,
    cursor: Option<&str>,
    size: usize,
) -> Result<(&'a [Tool], Option<String>), McpError> {
    let start = match cursor.map(str::trim) {
        None | Some("") => 0,
        Some(cursor) => decode_cursor(cursor, list_id)
            .filter(|&offset| offset > 0 && offset < tools.len())
            .ok_or_else(|| {
                McpError::invalid_params(
                    "invalid cursor: pass a nextCursor from this server's tools/list, or none",
                    None,
                )
            })?,
    };
    let end = start.saturating_add(size.max(1)).min(tools.len());
    let next = (end < tools.len()).then(|| encode_cursor(list_id, end));
    Ok((&tools[start..end], next))
}

/// Whether the request speaks protocol 2026-07-28 or later (ISO dates compare as strings).
fn is_2026_07_28_or_later(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str())
}

impl ServerHandler for Server {
    /// Prompts and resources are declared but empty: clients that list them (some do so
    /// whatever the capabilities say) get an empty list, with caching hints, not an error.
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_prompts()
                .enable_resources()
                .enable_tools()
                .build(),
        )
        .with_server_info(Implementation::new(SERVER_NAME, SERVER_VERSION).with_title(SERVER_TITLE))
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let cursor = request.as_ref().and_then(|r| r.cursor.as_deref());
        let (tools, next_cursor) = page(&self.tools, self.list_id, cursor, PAGE_SIZE)?;
        let mut result = ListToolsResult::with_all_items(tools.to_vec());
        result.next_cursor = next_cursor;
        if is_2026_07_28_or_later(&context) {
            result = result
                .with_ttl_ms(TOOLS_TTL_MS)
                .with_cache_scope(CacheScope::Private);
        }
        Ok(result)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.index.get(name).map(|i| self.tools[*i].clone())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name;
        let Some(index) = self.tool_index(&name) else {
            return Err(unknown_tool(&name));
        };
        let caller = context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Caller>());
        let call = self.call_index(index, &name, request.arguments, caller);
        tokio::select! {
            result = call => match result {
                Some(result) => Ok(result.into()),
                None => Err(unknown_tool(&name)),
            },
            () = context.ct.cancelled() => {
                Err(McpError::internal_error(format!("call of `{name}` was cancelled"), None))
            }
        }
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        Err(McpError::invalid_params(
            format!(
                "unknown prompt `{}`: this server has no prompts",
                request.name
            ),
            None,
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        Err(McpError::resource_not_found(
            format!("resource not found: {}", request.uri),
            Some(serde_json::json!({ "uri": request.uri })),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools(count: usize) -> Vec<Tool> {
        (0..count)
            .map(|i| {
                Tool::new(
                    format!("tool_{i:04}"),
                    "a tool",
                    Arc::new(serde_json::Map::new()),
                )
            })
            .collect()
    }

    fn names(tools: &[Tool]) -> Vec<String> {
        tools.iter().map(|tool| tool.name.to_string()).collect()
    }

    /// Follows `nextCursor` from the first page to the last; returns the pages' names.
    fn walk(tools: &[Tool], list_id: u64, size: usize) -> Vec<Vec<String>> {
        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (items, next) = page(tools, list_id, cursor.as_deref(), size).expect("a page");
            pages.push(names(items));
            assert!(pages.len() <= tools.len() + 1, "pagination does not end");
            match next {
                Some(next) => cursor = Some(next),
                None => return pages,
            }
        }
    }

    #[test]
    fn pages_concatenate_to_the_whole_list_in_order() {
        for count in [0, 1, 2, 5, 99, 100, 101, 250] {
            let all = tools(count);
            for size in [1, 2, 3, 7, 100, PAGE_SIZE] {
                let pages = walk(&all, 42, size);
                assert_eq!(
                    pages.concat(),
                    names(&all),
                    "{count} tools, pages of {size}"
                );
                assert_eq!(pages.len(), count.div_ceil(size).max(1));
                for page in &pages[..pages.len() - 1] {
                    assert_eq!(page.len(), size, "only the last page may be short");
                }
                assert_eq!(walk(&all, 42, size), pages, "deterministic");
            }
        }
    }

    #[test]
    fn the_generated_tool_list_pages_completely() {
        let all = load_tools().expect("tools.json parses");
        let id = fnv1a(TOOLS_JSON.as_bytes());
        assert_eq!(walk(&all, id, 1).concat(), names(&all));
        assert_eq!(walk(&all, id, PAGE_SIZE).concat(), names(&all));
    }

    #[test]
    fn small_apis_list_on_one_page() {
        let all = tools(PAGE_SIZE);
        let (items, next) = page(&all, 1, None, PAGE_SIZE).expect("a page");
        assert_eq!(items.len(), PAGE_SIZE);
        assert_eq!(next, None);
        let (_, next) = page(&tools(PAGE_SIZE + 1), 1, None, PAGE_SIZE).expect("a page");
        assert!(next.is_some());
    }

    #[test]
    fn cursors_are_opaque_and_foreign_ones_are_refused() {
        let all = tools(10);
        let (_, next) = page(&all, 7, None, 3).expect("a page");
        let next = next.expect("a second page");
        assert!(!next.contains(':'), "opaque: {next}");
        assert_eq!(decode_cursor(&next, 7), Some(3));
        let (items, _) = page(&all, 7, Some(""), 3).expect("an empty cursor starts over");
        assert_eq!(names(items), names(&all[..3]));
        for bad in [
            "nonsense".to_owned(),
            "%%%".to_owned(),
            encode_cursor(8, 3),
            encode_cursor(7, 0),
            encode_cursor(7, 10),
            encode_cursor(7, usize::MAX),
        ] {
            let error = page(&all, 7, Some(&bad), 3).expect_err(&bad);
            assert_eq!(error.code, rmcp::model::ErrorCode::INVALID_PARAMS, "{bad}");
        }
    }

    #[test]
    fn the_list_fingerprint_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
