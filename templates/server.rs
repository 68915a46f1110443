//! The MCP server: lists the generated tools and routes calls to them.

use std::collections::HashMap;
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};

use crate::runtime::Upstream;
use crate::tools::{SERVER_NAME, SERVER_TITLE, SERVER_VERSION};

/// The tool list exactly as `tools/list` returns it, generated beside this file.
const TOOLS_JSON: &str = include_str!("tools.json");

#[derive(serde::Deserialize)]
struct ToolFile {
    tools: Vec<Tool>,
}

/// One instance per transport or HTTP request; clones share the upstream client and the tools.
#[derive(Clone)]
pub struct Server {
    upstream: Arc<Upstream>,
    tools: Arc<Vec<Tool>>,
    /// Tool name → position in `tools`, which is also the dispatch index of `tools::call`.
    index: Arc<HashMap<String, usize>>,
}

impl Server {
    /// Parses the tool list once.
    pub fn new(upstream: Upstream) -> Result<Self, String> {
        let file: ToolFile = serde_json::from_str(TOOLS_JSON)
            .map_err(|e| format!("the generated tools.json is invalid: {e}"))?;
        let index = file
            .tools
            .iter()
            .enumerate()
            .map(|(i, tool)| (tool.name.to_string(), i))
            .collect();
        Ok(Self {
            upstream: Arc::new(upstream),
            tools: Arc::new(file.tools),
            index: Arc::new(index),
        })
    }

    pub fn tool_count(&self) -> usize {
        self.tools.len()
    }
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(
            Implementation::new(SERVER_NAME, SERVER_VERSION).with_title(SERVER_TITLE),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools.as_ref().clone()))
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
        let Some(&index) = self.index.get(name.as_ref()) else {
            return Err(McpError::invalid_params(format!("unknown tool `{name}`"), None));
        };
        let call = crate::tools::call(&self.upstream, index, request.arguments);
        tokio::select! {
            result = call => match result {
                Some(result) => Ok(result.into()),
                None => Err(McpError::invalid_params(format!("unknown tool `{name}`"), None)),
            },
            () = context.ct.cancelled() => {
                Err(McpError::internal_error(format!("call of `{name}` was cancelled"), None))
            }
        }
    }
}
