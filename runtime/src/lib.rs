//! The runtime of the MCP servers mcpgen generates, as a library: the same modules the generated
//! `src/main.rs` declares, public, so that this crate's unit tests run here and a generated crate's
//! spec-dependent modules (`tools.rs`, `types.rs`, `auth_config.rs`) can be compiled against it
//! (a crate whose root does `pub use mcpgen_runtime::*;` and declares its own `mod tools;`,
//! `mod types;` and `mod auth_config;`).
//!
//! mcpgen copies these modules into every generated crate, test items stripped; there the
//! crate's root is `src/main.rs`. `tools`, `types` and `auth_config` here are stand-ins generated
//! from `standin/openapi.yaml`: with the `oauth` feature (the default) in mode `oauth`, which
//! brings in `auth_config::oauth` (`src/oauth.rs`), without it in mode `bearer`.

pub mod admission;
pub mod args;
pub mod auth;
#[cfg_attr(not(feature = "oauth"), path = "auth_config_bearer.rs")]
pub mod auth_config;
pub mod body;
pub mod catalog;
pub mod client_credentials;
#[cfg(test)]
mod compat;
pub mod config;
pub mod credentials;
pub mod custom_tools;
pub mod direct;
pub mod discover;
pub mod encoding;
pub mod errors;
pub mod hooks;
pub mod limits;
pub mod metrics;
pub mod origins;
pub mod readiness;
pub mod redact;
pub mod request;
pub mod response;
pub mod runtime;
pub mod search;
pub mod search_index;
pub mod search_text;
pub mod server;
pub mod sessions;
pub mod settings;
pub mod telemetry;
pub mod token_exchange;
pub mod tool_info;
pub mod tools;
pub mod tools_json;
pub mod transport;
pub mod types;
pub mod upstream;

// rustfmt does not enter the stand-in `auth_config.rs` (generated, formatted by mcpgen, not by
// rustfmt), which includes `oauth.rs`: this declaration, never compiled, shows rustfmt the file.
#[cfg(any())]
mod oauth;
