//! The intermediate representation between the spec and the templates: a fully decided model.
//! Names, wire names, argument locations, schemas, Rust types, scopes and upstream credentials
//! are all settled by lowering; the renderer only presents them. `mcpgen inspect` prints it. It
//! imports nothing from the stages (only the [`Pointer`] type its locations are).

pub mod auth;
pub mod budget;
mod schema;

pub use schema::{Schema, SchemaTexts};

use crate::pointer::{Pointer, serialize_fragment};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct Api {
    /// Cargo package and binary name (kebab-case).
    pub crate_name: String,
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub api_version: String,
    pub description: Option<String>,
    /// OpenAPI dialect of the input ("3.0" or "3.1").
    pub dialect: String,
    /// The spec's first `servers` URL with variables at their defaults; empty when there is none
    /// (or it is relative and the spec was a local file).
    pub default_upstream_url: String,
    pub tools: Vec<Tool>,
    /// Operations the `tools:` selection of the config file left out, with the reason.
    pub excluded: Vec<Excluded>,
    /// The generated server's default `--tool-mode`, and why.
    pub tool_mode: ToolModeChoice,
    pub types: Vec<TypeDef>,
    /// `components.securitySchemes`, sorted by name, as far as the generated server can send
    /// them; names the operations require but the document does not define are here too, as
    /// [`SchemeKind::Unsupported`].
    pub security_schemes: Vec<SecurityScheme>,
    /// The `--auth` configuration (mode `none` without one), with the upstream credentials of
    /// every scheme the operations require.
    pub auth: auth::AuthIr,
    /// `sha256:` and 16 hex digits: the fingerprint of the inputs (see `spec/inputs.rs`),
    /// written into the generated crate's manifest.
    pub inputs_hash: String,
    /// Document-level warnings (per-tool ones live on the tool).
    pub warnings: Vec<Warning>,
}

/// Something about the inputs the user should know, and where it is: a node of the spec, or of
/// another input file (the `--auth` config). Shown as `#/pointer: message` for the spec (the
/// command line puts the spec's name in front) and `file#/pointer: message` for another file;
/// serialised as that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The input file the pointer is in, when it is not the spec.
    pub file: Option<String>,
    /// The node the warning is about.
    pub at: Option<Pointer>,
    pub message: String,
}

impl Warning {
    /// A warning about a node of the spec.
    pub fn spec(at: Pointer, message: impl Into<String>) -> Self {
        Warning {
            file: None,
            at: Some(at),
            message: message.into(),
        }
    }

    /// A warning about a node of another input file (the config).
    pub fn file(file: &str, at: Pointer, message: impl Into<String>) -> Self {
        Warning {
            file: Some(file.to_string()),
            at: Some(at),
            message: message.into(),
        }
    }

    /// The warning with the spec named as `spec` (the path or URL the user gave), as the command
    /// line prints it.
    pub fn located(&self, spec: &str) -> String {
        match (&self.file, &self.at) {
            (None, Some(_)) => format!("{spec}{self}"),
            _ => self.to_string(),
        }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.file, &self.at) {
            (file, Some(at)) => write!(
                f,
                "{}#{at}: {}",
                file.as_deref().unwrap_or(""),
                self.message
            ),
            (Some(file), None) => write!(f, "{file}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

impl Serialize for Warning {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// How `tools/list` presents the tools: every tool, or the four discovery tools (DESIGN §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolMode {
    All,
    Discover,
}

impl ToolMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ToolMode::All => "all",
            ToolMode::Discover => "discover",
        }
    }
}

/// The generated server's default tool mode, as the config's `tools.mode` decides it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolModeChoice {
    pub mode: ToolMode,
    /// Whether the config left it to `auto` (the default).
    pub auto: bool,
    /// Why, in words (`auto`: the count or the tokens that decided it).
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    /// MCP tool name: `[a-z0-9_]`, at most 64 characters, unique.
    pub name: String,
    pub title: Option<String>,
    pub description: String,
    /// Upper-case HTTP method.
    pub method: String,
    pub path: String,
    pub operation_id: Option<String>,
    /// JSON pointer of the operation in the spec.
    #[serde(serialize_with = "serialize_fragment")]
    pub pointer: Pointer,
    pub tags: Vec<String>,
    /// The toolset `--toolsets` selects the tool by: its first tag in snake_case, `default`
    /// when untagged, or the override's.
    pub toolset: String,
    /// One line of plain text (at most [`SUMMARY_MAX_CHARS`] characters): what the tool does,
    /// for `search_tools` results and the README.
    pub summary: String,
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    /// MCP `openWorldHint`: true unless an override says otherwise.
    pub open_world: bool,
    /// The key of the config file's `tools.overrides` entry applied to this tool, if any.
    pub overridden_by: Option<String>,
    /// What that override changed (`name`, `title`, `description`, `readOnlyHint`, ...).
    pub overridden: Vec<String>,
    pub args: Vec<Arg>,
    pub body: Option<Body>,
    pub input_schema: Schema,
    pub output_schema: Option<Schema>,
    /// Whether the structured result is wrapped as `{"result": ...}` (non-object output roots).
    pub wrap_output: bool,
    /// What bounding the output schema left out, when it did (the schema stage's bound).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_cut: Option<OutputCut>,
    /// What bounding the input schema left out, when it did: nested parts of arguments not
    /// expanded (every argument stays; the server's typed arguments still check it in full).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_cut: Option<OutputCut>,
    /// The operation's effective security requirements (alternatives of scheme → scopes).
    pub security: Vec<BTreeMap<String, Vec<String>>>,
    /// OAuth scopes the caller's token needs: one list per alternative of `security`, counting
    /// only `oauth2`/`openIdConnect` schemes. Empty: no scope is needed.
    pub scope_alternatives: Vec<Vec<String>>,
    /// The upstream credentials the server sends, one list per alternative of `security` (any
    /// one suffices; everything in one is sent together). Decided by lowering.
    pub credentials: Vec<Vec<CredentialUse>>,
    /// Name of the generated arguments struct.
    pub args_struct: String,
    /// What was changed in the tool's schemas so the strictest clients accept them.
    pub simplifications: Vec<Simplification>,
    pub warnings: Vec<Warning>,
}

/// The description of a part of an input schema that the bound did not expand (the schema
/// stage's `bound`): what a client and a model see there, and how render knows no example value
/// can be built for it.
pub const NOT_EXPANDED: &str = "Not expanded (size bound); the server checks it in full.";

/// The longest a tool's one-line [`Tool::summary`] may be, in characters.
pub const SUMMARY_MAX_CHARS: usize = 160;

/// What the bound on output schemas (8 KiB, 12 levels) cut from a tool's `outputSchema`:
/// subschemas replaced by the permissive `{}` (every response the full schema accepts still
/// validates), nearest parts kept first. The same for the bound on input schemas (32 KiB, 12
/// levels), whose cut parts say they are not expanded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputCut {
    /// Compact JSON bytes of the output schema unbounded (summed, never built) ...
    pub bytes_before: usize,
    /// ... and as generated.
    pub bytes_after: usize,
    /// Subschemas replaced by `{}`.
    pub subschemas: usize,
    /// Subschemas kept without their annotations (`description`, `title`, `examples`, `default`).
    pub annotations_dropped: usize,
    /// Where the first cuts are (`output.data[]`, `$defs.Name.owner`), nearest first. Shared:
    /// tools with the same output (an entity's get, create and navigation tools) share its cut.
    #[serde(serialize_with = "serialize_places")]
    pub at: std::sync::Arc<[String]>,
}

fn serialize_places<S: serde::Serializer>(
    at: &std::sync::Arc<[String]>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(at.iter())
}

/// A change made to a spec schema on its way into a tool schema (the schema stage's client-safe shaping).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Simplification {
    /// Where: the argument and the path inside it (`body.owner`, `pet.oneOf[0]`), a shared
    /// definition (`$defs.Name`), or the result (`output`, `output.items[]`). Shared by the
    /// notes made at one place (a Graph-shaped API has hundreds of thousands of notes).
    pub at: std::sync::Arc<str>,
    /// `allof_merged`, `allof_kept`, `allof_ref_kept`, `discriminator_one_of`,
    /// `read_only_dropped`, `write_only_dropped`.
    pub kind: &'static str,
    /// Shared by every tool that reaches the schema node the note was made at.
    pub detail: std::sync::Arc<str>,
}

/// An operation left out by the `tools:` selection.
#[derive(Debug, Clone, Serialize)]
pub struct Excluded {
    /// The tool name it would have had (without overrides or disambiguation).
    pub name: String,
    pub method: String,
    pub path: String,
    pub operation_id: Option<String>,
    #[serde(serialize_with = "serialize_fragment")]
    pub pointer: Pointer,
    /// Why the selection left it out.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgLocation {
    Path,
    Query,
    Header,
    Cookie,
    /// The whole request body under one argument.
    Body,
    /// One property of an object body, flattened into the arguments.
    BodyField,
}

impl ArgLocation {
    pub fn as_str(self) -> &'static str {
        match self {
            ArgLocation::Path => "path",
            ArgLocation::Query => "query",
            ArgLocation::Header => "header",
            ArgLocation::Cookie => "cookie",
            ArgLocation::Body => "body",
            ArgLocation::BodyField => "body",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Arg {
    /// The argument's name in the tool's `inputSchema`.
    pub name: String,
    /// The name on the wire (parameter name, header name, body property).
    pub wire_name: String,
    pub location: ArgLocation,
    pub required: bool,
    pub description: Option<String>,
    /// Rust field identifier in the arguments struct (may be a raw identifier).
    pub rust_field: String,
    /// Rust type of the field, fully qualified.
    pub rust_type: String,
    /// Optional and nullable: an explicit `null` is kept apart from absence and sent upstream.
    pub keeps_null: bool,
    /// Doc comment for the field (the description, and why a `Value` is used where it is).
    pub rust_doc: Option<String>,
    /// Short type for humans (`inspect`, README).
    pub type_summary: String,
    /// OpenAPI serialisation style (`form`, `simple`, `deepObject`, ...).
    pub style: String,
    pub explode: bool,
    /// A file upload (multipart `format: binary`): sent as a file part, given as base64 or a
    /// `data:` URI.
    pub is_file: bool,
    /// The converted schema as it appears in the `inputSchema` (as text, shared: the same
    /// query parameter in thousands of tools is one string, and a tree per argument was
    /// 55 MB of the IR for 10,000 Graph-shaped operations).
    pub schema: Schema,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    Json,
    Form,
    Multipart,
    Text,
    Binary,
}

#[derive(Debug, Clone, Serialize)]
pub struct Body {
    pub media_type: String,
    pub kind: BodyKind,
    pub required: bool,
    /// True when the body's properties are separate arguments.
    pub flattened: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TypeDef {
    Struct(StructDef),
    Enum(EnumDef),
    Union(UnionDef),
}

/// A discriminated union: an internally tagged enum (`#[serde(tag = ...)]`), one struct per
/// branch holding the branch's properties except the tag.
#[derive(Debug, Clone, Serialize)]
pub struct UnionDef {
    pub name: String,
    pub doc: Option<String>,
    #[serde(serialize_with = "serialize_fragment")]
    pub source: Pointer,
    /// The discriminator property.
    pub tag: String,
    pub variants: Vec<UnionVariant>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnionVariant {
    pub ident: String,
    /// The tag value that selects this branch.
    pub wire_value: String,
    /// The branch's struct, fully qualified.
    pub rust_type: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StructDef {
    pub name: String,
    pub doc: Option<String>,
    /// Where the type comes from in the spec.
    #[serde(serialize_with = "serialize_fragment")]
    pub source: Pointer,
    pub fields: Vec<FieldDef>,
    /// Field that keeps properties the schema does not name (open objects), so nothing a caller
    /// sends is dropped on the way upstream.
    pub extra: Option<FieldDef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldDef {
    pub ident: String,
    pub wire_name: String,
    pub rust_type: String,
    /// Optional: `#[serde(default, skip_serializing_if = "Option::is_none")]`.
    pub optional: bool,
    /// Optional and nullable: an explicit `null` is kept apart from absence.
    pub keeps_null: bool,
    pub doc: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnumDef {
    pub name: String,
    pub doc: Option<String>,
    #[serde(serialize_with = "serialize_fragment")]
    pub source: Pointer,
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    pub ident: String,
    pub wire_value: String,
}

/// A security scheme of the document (`components.securitySchemes`).
#[derive(Debug, Clone, Serialize)]
pub struct SecurityScheme {
    /// The key under `components.securitySchemes`.
    pub name: String,
    /// JSON pointer of the scheme (of the first requirement naming it, when it is undefined).
    #[serde(serialize_with = "serialize_fragment")]
    pub pointer: Pointer,
    /// Whether any operation requires it.
    pub used: bool,
    pub kind: SchemeKind,
}

/// What a security scheme asks the server to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SchemeKind {
    /// `apiKey`: `param` in a header, the query or a cookie.
    ApiKey {
        location: KeyLocation,
        param: String,
    },
    /// `http` with scheme `bearer`.
    HttpBearer,
    /// `http` with scheme `basic`.
    HttpBasic,
    /// `oauth2`: its clientCredentials flow when it declares one; `flows` names every flow.
    #[serde(rename = "oauth2")]
    OAuth2 {
        client_credentials: Option<TokenFlow>,
        flows: Vec<String>,
    },
    /// `openIdConnect`: the discovery document's URL.
    #[serde(rename = "openid_connect")]
    OpenIdConnect { discovery_url: String },
    /// `mutualTLS` (3.1): a client certificate, which the server does not present.
    MutualTls,
    /// A name operations require that `components.securitySchemes` does not define.
    Undefined,
    /// Another scheme the server cannot send (an HTTP scheme other than bearer and basic).
    Unsupported { reason: String },
}

impl SchemeKind {
    /// Whether the credential is a bearer token in the `Authorization` header (so a caller's
    /// forwarded token can stand in for it).
    pub fn is_bearer(&self) -> bool {
        match self {
            SchemeKind::HttpBearer
            | SchemeKind::OAuth2 { .. }
            | SchemeKind::OpenIdConnect { .. } => true,
            SchemeKind::ApiKey { .. }
            | SchemeKind::HttpBasic
            | SchemeKind::MutualTls
            | SchemeKind::Undefined
            | SchemeKind::Unsupported { .. } => false,
        }
    }

    /// What the scheme sends, in words.
    pub fn describe(&self) -> String {
        match self {
            SchemeKind::ApiKey { location, param } => {
                format!("API key in {} `{param}`", location.as_str())
            }
            SchemeKind::HttpBearer => "HTTP bearer token".into(),
            SchemeKind::HttpBasic => "HTTP basic authentication".into(),
            SchemeKind::OAuth2 {
                client_credentials: None,
                flows,
            } => {
                if flows.is_empty() {
                    "OAuth 2 without flows".into()
                } else {
                    format!(
                        "OAuth 2 {} flow{}",
                        flows.join(", "),
                        if flows.len() > 1 { "s" } else { "" }
                    )
                }
            }
            SchemeKind::OAuth2 { .. } => "OAuth 2 client credentials".into(),
            SchemeKind::OpenIdConnect { .. } => "OpenID Connect client credentials".into(),
            SchemeKind::MutualTls => "mutualTLS (a client certificate)".into(),
            SchemeKind::Undefined => "not defined in components.securitySchemes".into(),
            SchemeKind::Unsupported { reason } => reason.clone(),
        }
    }

    /// Whether the scheme's scopes are OAuth scopes (`oauth2`, `openIdConnect`).
    pub fn has_oauth_scopes(&self) -> bool {
        matches!(
            self,
            SchemeKind::OAuth2 { .. } | SchemeKind::OpenIdConnect { .. }
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyLocation {
    Header,
    Query,
    Cookie,
}

impl KeyLocation {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyLocation::Header => "header",
            KeyLocation::Query => "query",
            KeyLocation::Cookie => "cookie",
        }
    }
}

/// An OAuth 2 flow the server can run itself: client credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenFlow {
    /// `tokenUrl` as written (it may be relative to the server URL).
    pub token_url: String,
    /// The scopes the flow declares.
    pub scopes: Vec<String>,
}

/// One scheme of one alternative of a tool's upstream credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialUse {
    pub scheme: String,
    /// Environment variables the server reads the credential from.
    pub env: Vec<String>,
    /// A caller's forwarded `Authorization` token stands in for it (then `env` is used only
    /// without one, over stdio).
    pub caller: bool,
    /// False when the server cannot send this scheme (see the warnings).
    pub supported: bool,
}
