//! The MCP server: lists the generated tools and routes calls to them.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, JsonObject, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};

use crate::runtime::Upstream;
use crate::tools::{SERVER_NAME, SERVER_TITLE, SERVER_VERSION, TOOLS, ToolDef};

/// One instance per transport or HTTP request; clones share the upstream client and the tools.
#[derive(Clone)]
pub struct Server {
    upstream: Arc<Upstream>,
    tools: Arc<Vec<Tool>>,
}

impl Server {
    /// Builds the tool list from [`TOOLS`], parsing every schema once.
    pub fn new(upstream: Upstream) -> Result<Self, String> {
        let tools = TOOLS
            .iter()
            .map(build_tool)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            upstream: Arc::new(upstream),
            tools: Arc::new(tools),
        })
    }

    pub fn tool_count(&self) -> usize {
        self.tools.len()
    }
}

fn build_tool(def: &ToolDef) -> Result<Tool, String> {
    let input = parse_schema(def.name, def.input_schema)?;
    let annotations = ToolAnnotations::new()
        .read_only(def.read_only)
        .destructive(def.destructive)
        .idempotent(def.idempotent)
        .open_world(true);
    let description = (!def.description.is_empty()).then_some(def.description.into());
    let mut tool = Tool::new_with_raw(def.name, description, input).with_annotations(annotations);
    if let Some(title) = def.title {
        tool = tool.with_title(title);
    }
    if let Some(schema) = def.output_schema {
        tool = tool.with_raw_output_schema(parse_schema(def.name, schema)?);
    }
    Ok(tool)
}

fn parse_schema(tool: &str, text: &str) -> Result<Arc<JsonObject>, String> {
    serde_json::from_str::<JsonObject>(text)
        .map(Arc::new)
        .map_err(|e| format!("tool `{tool}` has an invalid JSON schema: {e}"))
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
        self.tools.iter().find(|tool| tool.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name;
        let call = crate::tools::call(&self.upstream, &name, request.arguments);
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
