//! The names the generated `tools.rs` calls (`crate::runtime::Request`, `Style`, `Object`,
//! `BodyKind`, `Output`, `Args`, `ToolArgs`, `Parsed`, `build`, `Build`, `present`), and that
//! `custom_tools.rs` and `hooks.rs` written by earlier mcpgen versions import from here
//! (`parse_args` among them). Each lives in the module of its concern:
//! `request.rs` and `body.rs` build upstream requests, `args.rs` parses tool arguments,
//! `response.rs` maps responses to tool results and `upstream.rs` sends requests.

#[allow(
    unused_imports,
    reason = "which of these a crate's tools.rs uses depends on its API"
)]
pub use crate::args::{Args, Build, Parsed, ToolArgs, build, parse_args, present};
#[allow(
    unused_imports,
    reason = "paths of earlier versions that custom code may use"
)]
pub use crate::body::{Body, Part};
#[allow(
    unused_imports,
    reason = "which of these a crate's tools.rs uses depends on its API"
)]
pub use crate::body::{BodyKind, Object};
#[allow(
    unused_imports,
    reason = "paths of earlier versions that custom code may use"
)]
pub use crate::encoding::{COMPONENT, COOKIE_VALUE};
#[allow(
    unused_imports,
    reason = "paths of earlier versions that custom code may use"
)]
pub use crate::errors::error_chain;
#[allow(
    unused_imports,
    reason = "which of these a crate's tools.rs uses depends on its API"
)]
pub use crate::request::{Request, Style};
#[allow(
    unused_imports,
    reason = "which of these a crate's tools.rs uses depends on its API"
)]
pub use crate::response::Output;
#[allow(
    unused_imports,
    reason = "paths of earlier versions that custom code may use"
)]
pub use crate::upstream::{DEFAULT_MAX_RESPONSE_BYTES, Upstream};
