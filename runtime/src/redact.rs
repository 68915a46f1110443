//! Secrets never reach tool results, error texts or logs: upstream bodies are searched for every
//! configured secret and recent access token, in every form it is sent in (raw, percent-encoded,
//! form-encoded, JSON-escaped, base64 basic credentials), and each is replaced by [`REDACTED`].
//! Values shorter than [`MIN_REDACTED_LEN`] are too short to tell from ordinary text and are not
//! searched for.

use std::collections::VecDeque;
use std::sync::{Arc, RwLock};

use percent_encoding::utf8_percent_encode;
use serde_json::Value;

use crate::encoding::{COMPONENT, form_encode};

/// Secrets shorter than this are not searched for in upstream responses.
pub const MIN_REDACTED_LEN: usize = 6;
/// What replaces a secret found in an upstream response.
pub const REDACTED: &str = "[REDACTED]";
/// Access tokens remembered (per server) for redaction after they were replaced.
const REMEMBERED_TOKENS: usize = 32;

/// The secrets to search upstream responses for, in every form they are sent in.
#[derive(Default)]
pub(crate) struct Redactor {
    /// Configured secrets and their encodings, longest first.
    fixed: Vec<Vec<u8>>,
    /// Recent access tokens.
    tokens: RwLock<VecDeque<Vec<u8>>>,
    /// Schemes with a secret too short to search for.
    pub(crate) short: Vec<&'static str>,
}

/// A secret as it may appear in a response: as it is, percent-encoded (a query value),
/// form-encoded, and escaped in JSON text.
fn forms(secret: &str) -> Vec<Vec<u8>> {
    let mut out = vec![secret.as_bytes().to_vec()];
    let mut push = |form: String| {
        if !out.iter().any(|o| o == form.as_bytes()) {
            out.push(form.into_bytes());
        }
    };
    push(utf8_percent_encode(secret, COMPONENT).to_string());
    push(form_encode(secret));
    let json = Value::String(secret.to_owned()).to_string();
    let json = json[1..json.len() - 1].to_owned();
    push(json.replace('/', "\\/"));
    push(json);
    out
}

impl Redactor {
    pub(crate) fn add(&mut self, scheme: &'static str, secret: &str) {
        if secret.chars().count() < MIN_REDACTED_LEN {
            if !self.short.contains(&scheme) {
                self.short.push(scheme);
            }
            return;
        }
        for form in forms(secret) {
            if !self.fixed.contains(&form) {
                self.fixed.push(form);
            }
        }
        self.fixed.sort_by_key(|f| std::cmp::Reverse(f.len()));
    }

    pub(crate) fn add_token(&self, token: &str) {
        if token.len() < MIN_REDACTED_LEN {
            return;
        }
        let Ok(mut tokens) = self.tokens.write() else {
            return;
        };
        if tokens.iter().any(|t| t == token.as_bytes()) {
            return;
        }
        if tokens.len() >= REMEMBERED_TOKENS {
            tokens.pop_front();
        }
        tokens.push_back(token.as_bytes().to_vec());
    }

    pub(crate) fn redact(&self, bytes: &mut Vec<u8>, truncated: bool) {
        let tokens = self.tokens.read().map(|t| t.clone()).unwrap_or_default();
        if self.fixed.is_empty() && tokens.is_empty() {
            return;
        }
        for secret in self.fixed.iter().chain(tokens.iter()) {
            replace_all(bytes, secret);
        }
        if truncated {
            // A secret cut at the end: drop its beginning too.
            for secret in self.fixed.iter().chain(tokens.iter()) {
                let longest = (4..secret.len())
                    .rev()
                    .find(|&n| bytes.ends_with(&secret[..n]));
                if let Some(n) = longest {
                    bytes.truncate(bytes.len() - n);
                }
            }
        }
    }

    pub(crate) fn redact_text(&self, text: String) -> String {
        let mut bytes = text.into_bytes();
        self.redact(&mut bytes, false);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Replaces every occurrence of `needle` in `haystack` with [`REDACTED`].
fn replace_all(haystack: &mut Vec<u8>, needle: &[u8]) {
    if needle.is_empty() || haystack.len() < needle.len() {
        return;
    }
    let first = needle[0];
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i + needle.len() <= haystack.len() {
        if haystack[i] == first && haystack[i..].starts_with(needle) {
            let out = out.get_or_insert_with(|| Vec::with_capacity(haystack.len()));
            out.extend_from_slice(&haystack[copied..i]);
            out.extend_from_slice(REDACTED.as_bytes());
            i += needle.len();
            copied = i;
        } else {
            i += 1;
        }
    }
    if let Some(mut out) = out {
        out.extend_from_slice(&haystack[copied..]);
        *haystack = out;
    }
}

/// The redactors every log line goes through ([`LogWriter`]).
static FOR_LOGS: RwLock<Vec<Arc<Redactor>>> = RwLock::new(Vec::new());

/// Log lines are searched for `redactor`'s secrets (and the tokens it learns later) from now on.
pub(crate) fn redact_logs_with(redactor: Arc<Redactor>) {
    if let Ok(mut all) = FOR_LOGS.write() {
        all.push(redactor);
    }
}

/// Log lines are searched for `secret` from now on (a secret outside the upstream credentials,
/// such as the password of a URL).
pub(crate) fn redact_logs_of(secret: &str) {
    let mut redactor = Redactor::default();
    redactor.add("log", secret);
    redact_logs_with(Arc::new(redactor));
}

/// `line` with every secret the logs are searched for replaced, and every credential after an
/// HTTP authentication scheme name (`Bearer …`, `Basic …`: a caller's token, which the server
/// does not know in advance, as a debug log of an echoed request shows it).
fn redact_log_line(line: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let mut bytes = line.to_vec();
    if let Ok(all) = FOR_LOGS.read() {
        for redactor in all.iter() {
            redactor.redact(&mut bytes, false);
        }
    }
    redact_after_schemes(&mut bytes);
    if bytes == line {
        line.into()
    } else {
        bytes.into()
    }
}

/// Replaces the credential after each `Bearer ` or `Basic ` (any case) with [`REDACTED`]: the
/// characters of RFC 6750's `b64token` that follow, when they look like a credential (at least
/// [`MIN_REDACTED_LEN`] of them, with a digit, a symbol or a capital after the first, or at
/// least 20).
fn redact_after_schemes(bytes: &mut Vec<u8>) {
    const SCHEMES: [&[u8]; 2] = [b"bearer ", b"basic "];
    let token_char = |b: u8| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
    };
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let scheme = SCHEMES.iter().find(|scheme| {
            bytes.len() - i >= scheme.len()
                && bytes[i..i + scheme.len()].eq_ignore_ascii_case(scheme)
        });
        let Some(scheme) = scheme else {
            i += 1;
            continue;
        };
        let start = i + scheme.len();
        let end = bytes[start..]
            .iter()
            .position(|&b| !token_char(b))
            .map_or(bytes.len(), |n| start + n);
        let credential = &bytes[start..end];
        // A credential, not a word of prose (`basic authentication`): a digit or a symbol in
        // it, a capital letter after its first, or longer than words are.
        let looks_like_one = credential.len() >= MIN_REDACTED_LEN
            && (credential.len() >= 20
                || credential.iter().any(|b| !b.is_ascii_alphabetic())
                || credential[1..].iter().any(u8::is_ascii_uppercase));
        if looks_like_one {
            let out = out.get_or_insert_with(|| Vec::with_capacity(bytes.len()));
            out.extend_from_slice(&bytes[copied..start]);
            out.extend_from_slice(REDACTED.as_bytes());
            copied = end;
        }
        i = end.max(i + 1);
    }
    if let Some(mut out) = out {
        out.extend_from_slice(&bytes[copied..]);
        *bytes = out;
    }
}

/// The log writer: standard error, each formatted event searched for secrets first (the
/// formatter writes an event in one piece).
#[derive(Clone, Copy, Default)]
pub struct LogWriter;

/// One event's writer of [`LogWriter`].
pub struct LogLine;

impl std::io::Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::io::stderr().write_all(&redact_log_line(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine
    }
}

#[cfg(test)]
mod log_tests {
    use super::*;

    #[test]
    fn log_lines_lose_every_registered_secret_in_every_form() {
        let mut redactor = Redactor::default();
        redactor.add("q", "query key/with space");
        let redactor = Arc::new(redactor);
        redact_logs_with(redactor.clone());
        redact_logs_of("url-password-123");
        let line = b"GET /a?api_key=query%20key%2Fwith%20space&x=1 url-password-123 ok";
        assert_eq!(
            &*redact_log_line(line),
            b"GET /a?api_key=[REDACTED]&x=1 [REDACTED] ok"
        );
        // Tokens learnt later are redacted too.
        redactor.add_token("token-learnt-later");
        assert_eq!(
            &*redact_log_line(b"bearer token-learnt-later"),
            b"bearer [REDACTED]"
        );
        assert_eq!(&*redact_log_line(b"nothing secret"), b"nothing secret");
    }

    #[test]
    fn credentials_after_a_scheme_name_are_redacted_in_logs() {
        let line =
            br#"{"authorization":"Bearer tok-beta-77d2a0","x":"basic dXNlcjpwYXNz"} bearer abc"#;
        assert_eq!(
            &*redact_log_line(line),
            br#"{"authorization":"Bearer [REDACTED]","x":"basic [REDACTED]"} bearer abc"#
        );
        assert_eq!(
            &*redact_log_line(b"Authorization: BEARER eyJhbGciOi.eyJzdWIi.sig_-x"),
            b"Authorization: BEARER [REDACTED]"
        );
        for prose in [
            "a basic question",
            "(HTTP basic authentication): credentials ready",
            "HTTP bearer token",
        ] {
            assert_eq!(&*redact_log_line(prose.as_bytes()), prose.as_bytes());
        }
        assert_eq!(
            &*redact_log_line(b"Bearer abcdefghijklmnopqrstuvwxyz"),
            b"Bearer [REDACTED]"
        );
    }
}
