//! Errors are product surface: every variant that comes from user input names the file and, where
//! there is one, the JSON pointer of the offending node (`#/paths/~1pets/get/parameters/0`), so a
//! user can jump straight to the problem. The CLI maps them to exit codes (see
//! [`Error::exit_code`]).

use crate::pointer::Pointer;
use std::fmt;

/// A location inside an input document: the file (or URL) as the user named it, plus a JSON
/// pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    /// The node, e.g. `/paths/~1pets/get`; the root for the document as a whole.
    pub pointer: Pointer,
}

impl Location {
    pub fn new(file: impl Into<String>, pointer: Pointer) -> Self {
        Self {
            file: file.into(),
            pointer,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_root() {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}#{}", self.file, self.pointer)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec could not be read at all (missing file, HTTP error).
    #[error("{file}: cannot read: {message}")]
    Read { file: String, message: String },

    /// Neither YAML nor JSON.
    #[error("{file}: not valid {format}: {message}")]
    Syntax {
        file: String,
        format: &'static str,
        message: String,
    },

    /// Parsed, but not something we can generate from (not OpenAPI, wrong shape, bad `$ref`, ...).
    #[error("{at}: {message}")]
    Invalid { at: Location, message: String },

    /// A command-line argument is unusable.
    #[error("{flag}: {message}")]
    Argument { flag: String, message: String },

    /// Internal: a template did not render or render to valid Rust. Always a bug in mcpgen.
    #[error("internal error rendering {template}: {message} (please report this as a bug)")]
    Render { template: String, message: String },

    /// Writing the output failed.
    #[error("{path}: cannot write: {message}")]
    Write { path: String, message: String },
}

impl Error {
    pub fn invalid(file: &str, at: &Pointer, message: impl Into<String>) -> Self {
        Error::Invalid {
            at: Location::new(file, at.clone()),
            message: message.into(),
        }
    }

    /// The command line's exit code: 2 for bad input; 3 for failures that are not the input's fault
    /// (an unwritable output directory, an internal rendering bug).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Read { .. }
            | Error::Syntax { .. }
            | Error::Invalid { .. }
            | Error::Argument { .. } => 2,
            Error::Render { .. } | Error::Write { .. } => 3,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
