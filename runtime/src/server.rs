//! The MCP server: lists the served tools (`catalog.rs`: the generated tools of the chosen
//! toolsets and your own, `src/custom_tools.rs`; in mode `discover` the discovery tools instead
//! of the generated ones), a page at a time, and routes calls to them, through the hooks of
//! `src/hooks.rs`.

use std::ops::Range;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
    GetPromptRequestParams, GetPromptResponse, Implementation, JsonObject, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse,
    ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};

use crate::admission::Caller;
use crate::catalog::{Callable, Catalog};
use crate::discover::Outcome;
use crate::tool_info::ToolMode;
use crate::tools::{SERVER_NAME, SERVER_TITLE, SERVER_VERSION};
use crate::upstream::Upstream;

/// Tools per `tools/list` page: an API with up to this many operations lists on one page.
pub const PAGE_SIZE: usize = 100;

/// How long a client may reuse a `tools/list` page, in milliseconds (the caching hints of
/// protocol 2026-07-28). The list changes only when the server is regenerated or restarted
/// with other flags. The scope stays `private`: a shared cache never serves it to other users.
const TOOLS_TTL_MS: u64 = 5 * 60 * 1000;

/// One instance per transport or HTTP request; clones share the upstream client and the
/// catalog.
#[derive(Clone)]
pub struct Server {
    upstream: Arc<Upstream>,
    catalog: Arc<Catalog>,
}

impl Server {
    /// The server of `mode` and `toolsets` (empty: all) with the custom tools; an unknown
    /// toolset or a custom tool whose name is empty or taken is a start-up error.
    pub fn new(upstream: Upstream, mode: ToolMode, toolsets: &[String]) -> Result<Self, String> {
        let catalog = Catalog::new(mode, toolsets, crate::custom_tools::tools())?;
        Ok(Self {
            upstream: Arc::new(upstream),
            catalog: Arc::new(catalog),
        })
    }

    /// The served tools.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// What the tool called `name` runs; `None` when this server does not answer to it.
    pub fn resolve(&self, name: &str) -> Option<Callable> {
        self.catalog.resolve(name)
    }

    /// Calls `target` (from [`Self::resolve`]), named `name`, for `caller`, whose credentials
    /// go upstream when the auth configuration forwards them: a generated tool through the
    /// request and result hooks, a custom tool as `custom_tools.rs` says, a discovery tool as
    /// `discover.rs` says (`execute_tool` runs its tool exactly as this does for a direct
    /// call, the hooks seeing that tool's name). `None` when no tool answers to the name.
    pub async fn call(
        &self,
        target: Callable,
        name: &str,
        arguments: Option<JsonObject>,
        caller: Option<&Caller>,
    ) -> Option<CallToolResult> {
        match target {
            Callable::Discovery(kind) => {
                match crate::discover::handle(kind, &self.catalog, arguments) {
                    Outcome::Done(mut result) => {
                        crate::hooks::on_tool_result(name, &mut result).await;
                        Some(result)
                    }
                    Outcome::Execute {
                        target,
                        name,
                        arguments,
                    } => {
                        let result = self.run(target, &name, arguments, caller).await;
                        Some(result.unwrap_or_else(|| {
                            crate::response::tool_error(format!(
                                "The custom tool `{name}` did not answer its call."
                            ))
                        }))
                    }
                }
            }
            target => self.run(target, name, arguments, caller).await,
        }
    }

    /// Runs a generated or custom tool.
    async fn run(
        &self,
        target: Callable,
        name: &str,
        arguments: Option<JsonObject>,
        caller: Option<&Caller>,
    ) -> Option<CallToolResult> {
        let forwarded = caller.and_then(|caller| {
            self.upstream
                .for_caller(caller.forward.clone(), caller.token.as_ref())
        });
        let upstream = forwarded.as_ref().unwrap_or(self.upstream.as_ref());
        let mut result = match target {
            Callable::Generated(index) => match crate::tools::request(index, arguments)? {
                Err(invalid) => invalid,
                Ok((mut upstream_request, output)) => {
                    match crate::hooks::on_tool_request(name, &mut upstream_request).await {
                        Ok(()) => upstream.execute(upstream_request, output).await,
                        Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
                    }
                }
            },
            Callable::Custom(_) => crate::custom_tools::call(name, arguments, upstream).await?,
            Callable::Discovery(_) => return None,
        };
        crate::hooks::on_tool_result(name, &mut result).await;
        Some(result)
    }
}

/// The JSON-RPC error for a call of a tool this server does not have.
pub fn unknown_tool(name: &str) -> McpError {
    McpError::invalid_params(
        format!("unknown tool `{}`", crate::args::shown_name(name)),
        None,
    )
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

/// The positions of the page of a `len`-tool list that `cursor` starts (the first page without
/// one, or with an empty one) and the cursor of the next page, if any. Pages follow the
/// generated (deterministic) order, so they concatenate to the whole list on every instance of
/// the same build and configuration.
fn page(
    len: usize,
    list_id: u64,
    cursor: Option<&str>,
    size: usize,
) -> Result<(Range<usize>, Option<String>), McpError> {
    let start = match cursor.map(str::trim) {
        None | Some("") => 0,
        Some(cursor) => decode_cursor(cursor, list_id)
            .filter(|&offset| offset > 0 && offset < len)
            .ok_or_else(|| {
                McpError::invalid_params(
                    "invalid cursor: pass a nextCursor from this server's tools/list, or none",
                    None,
                )
            })?,
    };
    let end = start.saturating_add(size.max(1)).min(len);
    let next = (end < len).then(|| encode_cursor(list_id, end));
    Ok((start..end, next))
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
        let catalog = &self.catalog;
        let (range, next_cursor) =
            page(catalog.listed_count(), catalog.list_id(), cursor, PAGE_SIZE)?;
        let tools = catalog
            .listed(range)
            .map_err(|e| McpError::internal_error(e, None))?;
        let mut result = ListToolsResult::with_all_items(tools);
        result.next_cursor = next_cursor;
        if is_2026_07_28_or_later(&context) {
            result = result
                .with_ttl_ms(TOOLS_TTL_MS)
                .with_cache_scope(CacheScope::Private);
        }
        Ok(result)
    }

    /// What rmcp reads the input schema of (to check `Mcp-Param-*` headers of protocol
    /// 2026-07-28 calls): every callable tool, parsed from `tools.json` on demand.
    fn get_tool(&self, name: &str) -> Option<Tool> {
        let target = self.catalog.resolve(name)?;
        self.catalog.tool(target).ok()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name;
        let parts = context.extensions.get::<axum::http::request::Parts>();
        // SEP-414's trace context: in the call's `_meta`, which rmcp may have moved to the
        // request context's.
        let meta = request
            .meta
            .as_ref()
            .map(|meta| &meta.0.0)
            .filter(|meta| meta.contains_key("traceparent"))
            .unwrap_or(&context.meta.0.0);
        let parent = crate::telemetry::Parent::of_call(Some(meta), parts.map(|p| &p.headers));
        let Some(target) = self.resolve(&name) else {
            crate::telemetry::observe_call(None, &context.id, parent, Box::pin(async { None }))
                .await;
            return Err(unknown_tool(&name));
        };
        let caller = parts.and_then(|parts| parts.extensions.get::<Caller>());
        let call = crate::telemetry::observe_call(
            Some(&name),
            &context.id,
            parent,
            Box::pin(self.call(target, &name, request.arguments, caller)),
        );
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

    /// Follows `nextCursor` from the first page to the last; returns the pages.
    fn walk(len: usize, list_id: u64, size: usize) -> Vec<Range<usize>> {
        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (range, next) = page(len, list_id, cursor.as_deref(), size).expect("a page");
            pages.push(range);
            assert!(pages.len() <= len + 1, "pagination does not end");
            match next {
                Some(next) => cursor = Some(next),
                None => return pages,
            }
        }
    }

    fn concat(pages: &[Range<usize>]) -> Vec<usize> {
        pages.iter().cloned().flatten().collect()
    }

    #[test]
    fn pages_concatenate_to_the_whole_list_in_order() {
        for count in [0, 1, 2, 5, 99, 100, 101, 250] {
            for size in [1, 2, 3, 7, 100, PAGE_SIZE] {
                let pages = walk(count, 42, size);
                assert_eq!(
                    concat(&pages),
                    (0..count).collect::<Vec<_>>(),
                    "{count} tools, pages of {size}"
                );
                assert_eq!(pages.len(), count.div_ceil(size).max(1));
                for page in &pages[..pages.len() - 1] {
                    assert_eq!(page.len(), size, "only the last page may be short");
                }
                assert_eq!(walk(count, 42, size), pages, "deterministic");
            }
        }
    }

    #[test]
    fn the_served_tool_list_pages_completely_in_both_modes() {
        let toolsets: [&[String]; 2] = [&[], &["notes".to_owned()]];
        for mode in [ToolMode::All, ToolMode::Discover] {
            for toolsets in toolsets {
                let catalog = Catalog::new(mode, toolsets, Vec::new()).expect("valid");
                let id = catalog.list_id();
                let whole = catalog.listed(0..catalog.listed_count()).expect("tools");
                for size in [1, PAGE_SIZE] {
                    let mut paged: Vec<Tool> = Vec::new();
                    for range in walk(catalog.listed_count(), id, size) {
                        paged.extend(catalog.listed(range).expect("tools"));
                    }
                    assert_eq!(paged, whole);
                }
            }
        }
    }

    #[test]
    fn small_apis_list_on_one_page() {
        let (range, next) = page(PAGE_SIZE, 1, None, PAGE_SIZE).expect("a page");
        assert_eq!(range, 0..PAGE_SIZE);
        assert_eq!(next, None);
        let (_, next) = page(PAGE_SIZE + 1, 1, None, PAGE_SIZE).expect("a page");
        assert!(next.is_some());
    }

    #[test]
    fn cursors_are_opaque_and_foreign_ones_are_refused() {
        let (_, next) = page(10, 7, None, 3).expect("a page");
        let next = next.expect("a second page");
        assert!(!next.contains(':'), "opaque: {next}");
        assert_eq!(decode_cursor(&next, 7), Some(3));
        let (range, _) = page(10, 7, Some(""), 3).expect("an empty cursor starts over");
        assert_eq!(range, 0..3);
        for bad in [
            "nonsense".to_owned(),
            "%%%".to_owned(),
            encode_cursor(8, 3),
            encode_cursor(7, 0),
            encode_cursor(7, 10),
            encode_cursor(7, usize::MAX),
        ] {
            let error = page(10, 7, Some(&bad), 3).expect_err(&bad);
            assert_eq!(error.code, rmcp::model::ErrorCode::INVALID_PARAMS, "{bad}");
        }
    }

    #[test]
    fn a_cursor_of_another_configuration_is_refused() {
        let all = Catalog::new(ToolMode::All, &[], Vec::new()).expect("valid");
        let notes = Catalog::new(ToolMode::All, &["notes".to_owned()], Vec::new()).expect("valid");
        let (_, next) = page(all.listed_count(), all.list_id(), None, 1).expect("a page");
        let next = next.expect("more than one tool");
        assert!(page(notes.listed_count(), notes.list_id(), Some(&next), 1).is_err());
        assert!(page(all.listed_count(), all.list_id(), Some(&next), 1).is_ok());
    }
}
