//! Settings read from the environment when the server starts: a [`Setting`] of the
//! configuration is a literal, or the name of the variable that holds it.

use crate::config::Setting;

impl Setting {
    /// The value; for `Env`, the variable's (trimmed) value. A missing or empty variable is an
    /// error that names it and what it is for.
    pub fn resolve(self, what: &str) -> Result<String, String> {
        match self {
            Setting::Literal(value) => Ok(value.to_owned()),
            Setting::Env(name) => match std::env::var(name) {
                Ok(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
                Ok(_) => Err(format!(
                    "environment variable {name} ({what}) is empty: set it and start again"
                )),
                Err(_) => Err(format!(
                    "environment variable {name} ({what}) is not set: set it and start again"
                )),
            },
        }
    }
}

/// Resolves an optional setting.
#[allow(dead_code, reason = "used by oauth.rs, in mode oauth only")]
pub fn resolve_opt(setting: Option<Setting>, what: &str) -> Result<Option<String>, String> {
    setting.map(|s| s.resolve(what)).transpose()
}

/// Reads a setting; an unset or empty variable is recorded as missing.
pub fn read(setting: Setting, missing: &mut Vec<&'static str>) -> Option<String> {
    match setting {
        Setting::Literal(value) => Some(value.to_owned()),
        Setting::Env(name) => match std::env::var(name) {
            Ok(value) if !value.trim().is_empty() => Some(value.trim().to_owned()),
            _ => {
                missing.push(name);
                None
            }
        },
    }
}
