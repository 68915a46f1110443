//! Token exchange for the upstream API (`upstream.<scheme>.token_exchange`, mode `oauth`): the
//! caller's validated access token is exchanged at the provider's token endpoint for a token for
//! the API, which is sent upstream instead — the caller's own token never is (MCP forbids token
//! passthrough).
//!
//! - RFC 8693: `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`, the caller's token as
//!   `subject_token` (type `…:token-type:access_token`), an access token asked for, `audience` and
//!   `scope` when configured; the server authenticates as its client with `client_secret_basic`.
//! - Entra ID (`oauth.provider: entra`): its on-behalf-of grant, as Microsoft documents it —
//!   `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`, the caller's token as `assertion`,
//!   `requested_token_use=on_behalf_of`, `scope`, and `client_id`/`client_secret` in the body.
//! - Issued tokens are kept per caller token (keyed by its SHA-256, never the token itself) until
//!   a tenth of their lifetime (at most 60 s) before `expires_in` (60 s when the answer has none),
//!   [`MAX_CACHED`] at most (expired ones go first, then the least recently used). Concurrent calls
//!   with the same caller token wait for one exchange; those that waited for a failed one get its
//!   error.
//! - A failed exchange is the call's error, naming the cause — the HTTP status, the OAuth `error`
//!   and a bounded `error_description`, a timeout, a malformed answer — and never a token or
//!   secret: the endpoint's text is searched for the caller's token and the client secret.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::client_credentials::{basic_auth, expires_in, read_capped, sensitive, usable_for};
use crate::config::ExchangeGrant;
use crate::encoding::form_encode;
use crate::errors::error_chain;
use crate::redact::Redactor;

/// Issued tokens kept at most (one per caller token).
pub(crate) const MAX_CACHED: usize = 10_000;
/// How long an issued token without `expires_in` is kept.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);
/// Characters of the provider's `error_description` quoted at most.
const MAX_DESCRIPTION_CHARS: usize = 300;
/// Characters of the provider's `error` code quoted at most.
const MAX_ERROR_CODE_CHARS: usize = 64;

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The cache key of a caller token: its SHA-256.
pub(crate) type Key = [u8; 32];

fn key_of(token: &str) -> Key {
    Sha256::digest(token.as_bytes()).into()
}

/// One scheme's exchange: its client, where it exchanges, and the tokens it was issued.
pub(crate) struct Exchanger {
    scheme: &'static str,
    url: String,
    id: String,
    secret: String,
    audience: Option<String>,
    scopes: &'static [&'static str],
    grant: ExchangeGrant,
    cache: Mutex<HashMap<Key, Entry>>,
    max: usize,
}

struct Entry {
    issued: Option<Issued>,
    /// Held while this caller token is exchanged: concurrent calls wait for that one exchange.
    gate: Arc<tokio::sync::Mutex<()>>,
    used: Instant,
    /// The last failed exchange: calls that waited for it get its error.
    failure: Option<(Instant, String)>,
}

#[derive(Clone)]
struct Issued {
    value: Arc<str>,
    header: HeaderValue,
    at: Instant,
    until: Instant,
}

impl Entry {
    fn fresh(&self, now: Instant) -> Option<&Issued> {
        self.issued.as_ref().filter(|i| now < i.until)
    }
}

/// A token for the API, issued for one caller token.
pub(crate) struct Exchanged {
    pub(crate) value: Arc<str>,
    pub(crate) header: HeaderValue,
    pub(crate) key: Key,
    /// It was issued before this call asked (so a refusal may mean it went stale).
    pub(crate) cached: bool,
}

impl Exchanger {
    pub(crate) fn new(
        scheme: &'static str,
        url: String,
        id: String,
        secret: String,
        audience: Option<String>,
        scopes: &'static [&'static str],
        grant: ExchangeGrant,
    ) -> Self {
        Self {
            scheme,
            url,
            id,
            secret,
            audience,
            scopes,
            grant,
            cache: Mutex::new(HashMap::new()),
            max: MAX_CACHED,
        }
    }

    /// The token for the API that stands for `subject` (the caller's access token): kept, or
    /// exchanged now.
    pub(crate) async fn token(
        &self,
        http: &reqwest::Client,
        subject: &str,
        redactor: &Redactor,
    ) -> Result<Exchanged, String> {
        let key = key_of(subject);
        let asked = Instant::now();
        let gate = {
            let mut cache = self.lock();
            match cache.get_mut(&key) {
                Some(entry) => {
                    entry.used = asked;
                    if let Some(issued) = entry.fresh(asked) {
                        return Ok(exchanged(issued, key, true));
                    }
                    entry.gate.clone()
                }
                None => {
                    make_room(&mut cache, self.max, asked);
                    let gate = Arc::new(tokio::sync::Mutex::new(()));
                    cache.insert(
                        key,
                        Entry {
                            issued: None,
                            gate: gate.clone(),
                            used: asked,
                            failure: None,
                        },
                    );
                    gate
                }
            }
        };
        let _exchanging = gate.lock().await;
        if let Some(entry) = self.lock().get(&key) {
            if let Some(issued) = entry.fresh(Instant::now()) {
                return Ok(exchanged(issued, key, issued.at < asked));
            }
            if let Some((at, error)) = &entry.failure
                && *at >= asked
            {
                return Err(error.clone());
            }
        }
        let outcome = self.exchange(http, subject, redactor).await;
        let now = Instant::now();
        let mut cache = self.lock();
        if !cache.contains_key(&key) {
            make_room(&mut cache, self.max, now);
        }
        let entry = cache.entry(key).or_insert_with(|| Entry {
            issued: None,
            gate: gate.clone(),
            used: now,
            failure: None,
        });
        match outcome {
            Ok(issued) => {
                let out = exchanged(&issued, key, false);
                entry.issued = Some(issued);
                entry.failure = None;
                Ok(out)
            }
            Err(error) => {
                tracing::warn!("{error}");
                entry.issued = None;
                entry.failure = Some((now, error.clone()));
                Err(error)
            }
        }
    }

    /// After the upstream API refused `used` (401): forgets it, unless another call replaced it
    /// already, so that the next call (the retry) exchanges again.
    pub(crate) fn forget(&self, key: &Key, used: &Arc<str>) {
        let mut cache = self.lock();
        if let Some(entry) = cache.get_mut(key)
            && entry.issued.as_ref().is_some_and(|i| i.value == *used)
        {
            entry.issued = None;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The form of the exchange request (the client's credentials included only where the
    /// grant sends them in the body).
    fn form(&self, subject: &str) -> Vec<(&'static str, String)> {
        let mut form = Vec::with_capacity(8);
        match self.grant {
            ExchangeGrant::TokenExchange => {
                form.push(("grant_type", TOKEN_EXCHANGE.to_owned()));
                form.push(("subject_token", subject.to_owned()));
                form.push(("subject_token_type", ACCESS_TOKEN_TYPE.to_owned()));
                form.push(("requested_token_type", ACCESS_TOKEN_TYPE.to_owned()));
                if let Some(audience) = &self.audience {
                    form.push(("audience", audience.clone()));
                }
                if !self.scopes.is_empty() {
                    form.push(("scope", self.scopes.join(" ")));
                }
            }
            ExchangeGrant::EntraOnBehalfOf => {
                form.push(("grant_type", JWT_BEARER.to_owned()));
                form.push(("client_id", self.id.clone()));
                form.push(("client_secret", self.secret.clone()));
                form.push(("assertion", subject.to_owned()));
                form.push(("scope", self.scopes.join(" ")));
                form.push(("requested_token_use", "on_behalf_of".to_owned()));
            }
        }
        form
    }

    /// Asks the token endpoint for a token that stands for `subject`.
    async fn exchange(
        &self,
        http: &reqwest::Client,
        subject: &str,
        redactor: &Redactor,
    ) -> Result<Issued, String> {
        let url = &self.url;
        let fail = |why: String| {
            redactor.redact_text(format!(
                "Cannot exchange the caller's access token for securityScheme `{}` at {url}: {why}",
                self.scheme
            ))
        };
        let body = self
            .form(subject)
            .iter()
            .map(|(name, value)| format!("{name}={}", form_encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let mut request = http
            .post(url)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        if self.grant == ExchangeGrant::TokenExchange {
            let header = basic_auth(&self.id, &self.secret).ok_or_else(|| {
                fail("the client ID or secret cannot be sent in a header".to_owned())
            })?;
            request = request.header(AUTHORIZATION, header);
        }
        let sent = Instant::now();
        let response = request.body(body).send().await.map_err(|e| {
            fail(if e.is_timeout() {
                "the token endpoint did not answer in time".to_owned()
            } else {
                format!(
                    "the token endpoint cannot be reached: {}",
                    error_chain(&e.without_url())
                )
            })
        })?;
        let status = response.status();
        let bytes = read_capped(response).await.map_err(fail)?;
        let doc = serde_json::from_slice::<Value>(&bytes).ok();
        let scrub = |text: &str| self.scrub(text, subject);
        // An OAuth error answer; also with 200 and no token, as some providers send it.
        if let Some(refusal) = doc
            .as_ref()
            .filter(|d| !status.is_success() || d.get("access_token").is_none())
            .and_then(|d| refusal(d, &scrub))
        {
            return Err(fail(format!(
                "HTTP {}, the provider refused it: {refusal}",
                status_text(status)
            )));
        }
        if !status.is_success() {
            return Err(fail(format!(
                "HTTP {} (no OAuth error in the answer)",
                status_text(status)
            )));
        }
        let Some(doc) = doc else {
            return Err(fail("the answer is not JSON".to_owned()));
        };
        let Some(access_token) = doc.get("access_token").and_then(Value::as_str) else {
            return Err(fail("the answer has no `access_token`".to_owned()));
        };
        if access_token.is_empty() || access_token == subject {
            return Err(fail(
                "the answer's `access_token` is the caller's own token or empty".to_owned(),
            ));
        }
        redactor.add_token(access_token);
        match doc.get("token_type").and_then(Value::as_str) {
            Some(kind) if kind.eq_ignore_ascii_case("bearer") => {}
            Some(kind) => {
                return Err(fail(format!(
                    "token type `{}` cannot be sent (only Bearer)",
                    scrub(kind)
                )));
            }
            None => return Err(fail("the answer has no `token_type`".to_owned())),
        }
        let header = sensitive(&format!("Bearer {access_token}"))
            .ok_or_else(|| fail("the issued token cannot be sent in a header".to_owned()))?;
        let lifetime = expires_in(&doc);
        let kept = lifetime.map_or(DEFAULT_LIFETIME, usable_for);
        tracing::info!(
            "securityScheme `{}`: exchanged a caller's access token at {url} ({})",
            self.scheme,
            match lifetime {
                Some(lifetime) => format!("valid for {} s", lifetime.as_secs()),
                None => format!("no lifetime given: kept {} s", DEFAULT_LIFETIME.as_secs()),
            }
        );
        Ok(Issued {
            value: Arc::from(access_token),
            header,
            at: sent,
            until: sent + kept,
        })
    }

    /// Provider text made quotable: the caller's token and the client secret replaced, control
    /// characters dropped.
    fn scrub(&self, text: &str, subject: &str) -> String {
        let mut out = text.to_owned();
        for secret in [subject, self.secret.as_str()] {
            if secret.len() >= 4 {
                out = out.replace(secret, crate::redact::REDACTED);
            }
        }
        out.chars().filter(|c| !c.is_control()).collect()
    }
}

/// The `error` (and bounded `error_description`) of an OAuth error answer.
fn refusal(doc: &Value, scrub: &dyn Fn(&str) -> String) -> Option<String> {
    let code = doc.get("error")?.as_str()?;
    // RFC 6749 §5.2: the code's characters are printable ASCII without `"` and `\`.
    let code: String = code
        .chars()
        .filter(|c| matches!(c, ' '..='~') && *c != '"' && *c != '\\')
        .take(MAX_ERROR_CODE_CHARS)
        .collect();
    let code = scrub(&code);
    let mut text = format!("`{code}`");
    if let Some(description) = doc.get("error_description").and_then(Value::as_str) {
        let description = scrub(description);
        let mut shown: String = description.chars().take(MAX_DESCRIPTION_CHARS).collect();
        if shown.len() < description.len() {
            shown.push('…');
        }
        if !shown.trim().is_empty() {
            text.push_str(": ");
            text.push_str(shown.trim());
        }
    }
    Some(text)
}

fn status_text(status: reqwest::StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

fn exchanged(issued: &Issued, key: Key, cached: bool) -> Exchanged {
    Exchanged {
        value: issued.value.clone(),
        header: issued.header.clone(),
        key,
        cached,
    }
}

/// Makes room for one more entry: when full, drops the entries without a usable token that no
/// call is exchanging, then, if still full, the least recently used one (one being exchanged
/// only when every entry is).
fn make_room(cache: &mut HashMap<Key, Entry>, max: usize, now: Instant) {
    if cache.len() < max {
        return;
    }
    cache.retain(|_, e| e.fresh(now).is_some() || Arc::strong_count(&e.gate) > 1);
    while cache.len() >= max {
        // Entries being exchanged go last (their call puts the token back when it has it).
        let Some(oldest) = cache
            .iter()
            .min_by_key(|(_, e)| (Arc::strong_count(&e.gate) > 1, e.used))
            .map(|(k, _)| *k)
        else {
            return;
        };
        cache.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchanger(grant: ExchangeGrant) -> Exchanger {
        Exchanger::new(
            "downstream",
            "http://127.0.0.1:9/token".to_owned(),
            "mcp-server".to_owned(),
            "s3cret-value".to_owned(),
            Some("https://downstream.example/".to_owned()),
            &["reports:read", "reports:write"],
            grant,
        )
    }

    #[test]
    fn rfc8693_form() {
        let form = exchanger(ExchangeGrant::TokenExchange).form("caller-token");
        assert_eq!(
            form,
            [
                ("grant_type", TOKEN_EXCHANGE.to_owned()),
                ("subject_token", "caller-token".to_owned()),
                ("subject_token_type", ACCESS_TOKEN_TYPE.to_owned()),
                ("requested_token_type", ACCESS_TOKEN_TYPE.to_owned()),
                ("audience", "https://downstream.example/".to_owned()),
                ("scope", "reports:read reports:write".to_owned()),
            ]
        );
        // The client authenticates with client_secret_basic: no secret in the body.
        assert!(!form.iter().any(|(name, _)| name.starts_with("client_")));
    }

    #[test]
    fn entra_on_behalf_of_form() {
        // learn.microsoft.com/entra/identity-platform/v2-oauth2-on-behalf-of-flow, first case
        // (a shared secret): every parameter in the body, no `audience`, no `resource`.
        let mut e = exchanger(ExchangeGrant::EntraOnBehalfOf);
        e.scopes = &["api://downstream/.default"];
        assert_eq!(
            e.form("caller-jwt"),
            [
                ("grant_type", JWT_BEARER.to_owned()),
                ("client_id", "mcp-server".to_owned()),
                ("client_secret", "s3cret-value".to_owned()),
                ("assertion", "caller-jwt".to_owned()),
                ("scope", "api://downstream/.default".to_owned()),
                ("requested_token_use", "on_behalf_of".to_owned()),
            ]
        );
    }

    #[test]
    fn refusals_are_quoted_bounded_and_without_secrets() {
        let e = exchanger(ExchangeGrant::TokenExchange);
        let scrub = |t: &str| e.scrub(t, "caller-token-123");
        let doc = serde_json::json!({
            "error": "invalid_target\"\n",
            "error_description": format!("audience refused for caller-token-123 by s3cret-value\n{}", "x".repeat(1000)),
        });
        let text = refusal(&doc, &scrub).unwrap();
        assert!(
            text.starts_with("`invalid_target`: audience refused for [REDACTED] by [REDACTED]"),
            "{text}"
        );
        assert!(!text.contains("caller-token-123") && !text.contains("s3cret-value"));
        assert!(text.chars().count() < MAX_DESCRIPTION_CHARS + 20, "{text}");
        assert!(text.ends_with('…'));
        assert_eq!(
            refusal(&serde_json::json!({"access_token": "x"}), &scrub),
            None
        );
    }

    fn entry(value: &str, until: Instant, used: Instant) -> Entry {
        Entry {
            issued: Some(Issued {
                value: Arc::from(value),
                header: HeaderValue::from_static("Bearer x"),
                at: used,
                until,
            }),
            gate: Arc::new(tokio::sync::Mutex::new(())),
            used,
            failure: None,
        }
    }

    #[test]
    fn the_cache_is_bounded() {
        let now = Instant::now();
        let later = now + Duration::from_secs(600);
        let mut cache = HashMap::new();
        for i in 0..4u8 {
            cache.insert(
                [i; 32],
                entry("t", later, now + Duration::from_secs(u64::from(i))),
            );
        }
        // Not full: nothing goes.
        make_room(&mut cache, 5, now);
        assert_eq!(cache.len(), 4);
        // Full: an expired entry goes first, however recently used.
        cache.insert([9; 32], entry("t", now, now + Duration::from_secs(99)));
        make_room(&mut cache, 5, now + Duration::from_secs(1));
        assert_eq!(cache.len(), 4);
        assert!(!cache.contains_key(&[9; 32]));
        // Full of usable tokens: the least recently used goes.
        make_room(&mut cache, 4, now);
        assert_eq!(cache.len(), 3);
        assert!(!cache.contains_key(&[0; 32]));
        // One being exchanged (its gate held by a call) stays.
        let mut busy = entry("t", now, now);
        busy.issued = None;
        let held = busy.gate.clone();
        cache.insert([7; 32], busy);
        make_room(&mut cache, 4, now + Duration::from_secs(1));
        assert!(cache.contains_key(&[7; 32]));
        drop(held);
    }

    #[tokio::test]
    async fn kept_tokens_are_reused_and_forgotten_after_a_refusal() {
        let e = exchanger(ExchangeGrant::TokenExchange);
        let key = key_of("caller");
        let now = Instant::now();
        e.lock()
            .insert(key, entry("issued-1", now + Duration::from_secs(60), now));
        let redactor = Redactor::default();
        let http = reqwest::Client::new();
        let got = e.token(&http, "caller", &redactor).await.unwrap();
        assert_eq!(&*got.value, "issued-1");
        assert!(got.cached);
        // Another caller's token is not this one's: it is exchanged (and fails here: nothing
        // listens on port 9), the message naming the cause without the token.
        let error = e
            .token(&http, "another-caller-token", &redactor)
            .await
            .err()
            .unwrap();
        assert!(error.contains("cannot be reached"), "{error}");
        assert!(!error.contains("another-caller-token") && !error.contains("s3cret"));
        e.forget(&key, &Arc::from("issued-1"));
        assert!(
            e.lock()
                .get(&key)
                .is_some_and(|entry| entry.issued.is_none())
        );
        // The key is a digest: no caller token is kept.
        assert_ne!(key.to_vec(), b"caller".to_vec());
    }

    /// A token endpoint on 127.0.0.1 that answers each request with the next canned
    /// `(status, body)` and records what it was sent (head and body).
    async fn endpoint(answers: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            for (status, body) in answers {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).to_string();
                    if let Some((head, rest)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if rest.len() >= length {
                            break;
                        }
                    }
                }
                record
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&request).to_string());
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            }
        });
        (url, seen)
    }

    #[tokio::test]
    async fn answers_are_judged_and_tokens_kept_until_they_expire() {
        let (url, seen) = endpoint(vec![
            (200, "not json"),
            (200, r#"{"token_type": "Bearer"}"#),
            (200, r#"{"access_token": "issued-abcdef", "token_type": "N_A"}"#),
            (400, r#"{"error": "invalid_grant", "error_description": "subject subject-token-xyz expired"}"#),
            (500, "<html>oops</html>"),
            (200, r#"{"error": "access_denied"}"#),
            (200, r#"{"access_token": "issued-123456", "token_type": "bearer", "expires_in": 120}"#),
        ])
        .await;
        let mut e = exchanger(ExchangeGrant::TokenExchange);
        e.url = url;
        let redactor = Redactor::default();
        let http = reqwest::Client::new();
        let mut errors = Vec::new();
        for _ in 0..6 {
            let error = e
                .token(&http, "subject-token-xyz", &redactor)
                .await
                .err()
                .unwrap();
            assert!(!error.contains("subject-token-xyz") && !error.contains("s3cret-value"));
            errors.push(error);
        }
        let expected = [
            "the answer is not JSON",
            "the answer has no `access_token`",
            "token type `N_A` cannot be sent (only Bearer)",
            "HTTP 400 Bad Request, the provider refused it: `invalid_grant`: subject [REDACTED] expired",
            "HTTP 500 Internal Server Error (no OAuth error in the answer)",
            "HTTP 200 OK, the provider refused it: `access_denied`",
        ];
        for (error, ending) in errors.iter().zip(expected) {
            assert!(error.ends_with(ending), "{error}");
        }
        assert_eq!(errors.len(), expected.len());
        let got = e
            .token(&http, "subject-token-xyz", &redactor)
            .await
            .unwrap();
        assert_eq!(&*got.value, "issued-123456");
        assert!(!got.cached);
        // Kept: the next call asks nobody (the endpoint has no answer left).
        let again = e
            .token(&http, "subject-token-xyz", &redactor)
            .await
            .unwrap();
        assert!(again.cached && again.value == got.value);
        let until = e.lock()[&key_of("subject-token-xyz")]
            .issued
            .as_ref()
            .unwrap()
            .until;
        let left = until.saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_secs(100) && left <= Duration::from_secs(108),
            "{left:?}"
        );
        // What the endpoint was sent: RFC 8693 with client_secret_basic.
        let requests = seen.lock().unwrap().clone();
        assert_eq!(requests.len(), 7);
        let last = &requests[6];
        assert!(last.starts_with("POST /token HTTP/1.1"), "{last}");
        let basic = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode("mcp-server:s3cret-value")
        };
        assert!(
            last.to_ascii_lowercase().contains(&format!(
                "authorization: basic {}",
                basic.to_ascii_lowercase()
            )),
            "{last}"
        );
        assert!(last.ends_with("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=subject-token-xyz&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&audience=https%3A%2F%2Fdownstream.example%2F&scope=reports%3Aread+reports%3Awrite"), "{last}");
    }

    #[tokio::test]
    async fn entra_sends_the_client_secret_in_the_body_only() {
        let (url, seen) = endpoint(vec![(
            200,
            r#"{"token_type": "Bearer", "scope": "api://downstream/.default", "expires_in": 3599, "access_token": "issued-entra-1"}"#,
        )])
        .await;
        let mut e = exchanger(ExchangeGrant::EntraOnBehalfOf);
        e.url = url;
        e.scopes = &["api://downstream/.default"];
        let got = e
            .token(&reqwest::Client::new(), "caller-jwt", &Redactor::default())
            .await
            .unwrap();
        assert_eq!(&*got.value, "issued-entra-1");
        let request = seen.lock().unwrap()[0].clone();
        assert!(
            !request.to_ascii_lowercase().contains("authorization:"),
            "{request}"
        );
        assert!(request.ends_with("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&client_id=mcp-server&client_secret=s3cret-value&assertion=caller-jwt&scope=api%3A%2F%2Fdownstream%2F.default&requested_token_use=on_behalf_of"), "{request}");
    }
}
