//! Configured strings: any value may be a whole-value `${ENV_NAME}` reference, which the generated
//! server reads at start-up; secrets must be one, so no secret value can reach the generated files.

use crate::error::{Error, Result};
use crate::ir::auth::Setting;
use crate::pointer::Pointer;

/// A configured string: a whole-value `${ENV_NAME}` reference, else a literal.
pub fn parse_setting(file: &str, pointer: &Pointer, s: &str) -> Result<Setting> {
    if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        let valid = !name.is_empty()
            && name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(Error::invalid(
                file,
                pointer,
                format!("`{s}`: environment variable names are upper case letters, digits and `_`"),
            ));
        }
        return Ok(Setting::Env(name.to_string()));
    }
    if s.contains("${") {
        return Err(Error::invalid(
            file,
            pointer,
            format!("`{s}`: a `${{NAME}}` reference must be the whole value"),
        ));
    }
    Ok(Setting::Literal(s.to_string()))
}

/// A secret: only a `${ENV_NAME}` reference is accepted.
pub fn secret_setting(file: &str, pointer: &Pointer, s: &str) -> Result<Setting> {
    match parse_setting(file, pointer, s)? {
        Setting::Literal(_) => Err(Error::invalid(
            file,
            pointer,
            "secrets must be `${ENV_NAME}` references, never literal values: the value would end up in the generated crate",
        )),
        env => Ok(env),
    }
}

/// An absolute http(s) URL, or a `${ENV_NAME}` reference.
pub fn url_setting(file: &str, pointer: &Pointer, s: &str) -> Result<Setting> {
    let v = parse_setting(file, pointer, s)?;
    if let Setting::Literal(u) = &v
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        return Err(Error::invalid(
            file,
            pointer,
            format!("`{u}` is not an http(s) URL"),
        ));
    }
    Ok(v)
}
