//! OAuth 2 client credentials (RFC 6749 §4.4) for the upstream API: the token endpoint (given,
//! or from OpenID Connect discovery), one token per scheme shared by all calls, concurrent calls
//! waiting for one fetch, a new token shortly before the old one expires or after the upstream
//! API refused it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde_json::Value;
use tracing::{info, warn};

use crate::config::ClientAuth;
use crate::encoding::form_encode;
use crate::errors::error_chain;
use crate::redact::Redactor;

/// Bytes of a token endpoint or discovery response read at most.
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;
/// A token is fetched again this share of its lifetime before it expires (at most
/// [`MAX_REFRESH_MARGIN`] before).
const REFRESH_MARGIN_DIVISOR: u32 = 10;
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// After the upstream API refused a token, the new token is not replaced because of a refusal
/// for this long, doubled with each refusal in a row (up to [`MAX_REFUSAL_BACKOFF`]): an API
/// that refuses every token of the client gets one new token, not one per call.
const REFUSAL_BACKOFF: Duration = Duration::from_secs(30);
const MAX_REFUSAL_BACKOFF: Duration = Duration::from_secs(600);

pub(crate) fn sensitive(value: &str) -> Option<HeaderValue> {
    let mut header = HeaderValue::from_str(value).ok()?;
    header.set_sensitive(true);
    Some(header)
}

/// A token answer's `expires_in` (a number, or a string some providers send), clamped to
/// ten years; `None` when absent or not a finite number.
pub(crate) fn expires_in(doc: &Value) -> Option<Duration> {
    match doc.get("expires_in") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|s| s.is_finite())
    .map(|s| Duration::from_secs_f64(s.clamp(0.0, 10.0 * 365.0 * 86_400.0)))
}

/// The `Authorization: Basic` value of a client authenticating with `client_secret_basic`
/// (RFC 6749 §2.3.1: ID and secret form-encoded first), marked sensitive; `None` when they
/// cannot be sent in a header.
pub(crate) fn basic_auth(id: &str, secret: &str) -> Option<HeaderValue> {
    let credentials = STANDARD.encode(format!("{}:{}", form_encode(id), form_encode(secret)));
    sensitive(&format!("Basic {credentials}"))
}

/// A client-credentials scheme: its settings and its token cache.
pub(crate) struct Client {
    scheme: &'static str,
    id: String,
    secret: String,
    endpoint: Resolved,
    scopes: &'static [&'static str],
    audience: Option<String>,
    auth: Option<ClientAuth>,
    /// Held while a token is fetched: concurrent calls wait for that one fetch.
    state: tokio::sync::Mutex<TokenState>,
}

pub(crate) enum Resolved {
    Token(String),
    Discovery(String),
}

#[derive(Default)]
struct TokenState {
    /// The token endpoint and how to authenticate there, once known.
    endpoint: Option<(String, ClientAuth)>,
    token: Option<Token>,
    /// The last failed fetch: calls that waited for it get its error instead of fetching again.
    failure: Option<(Instant, String)>,
    /// Tokens refused by the upstream API in a row, each replaced.
    refusals: u32,
    /// Until when a refused token is kept rather than replaced (see [`REFUSAL_BACKOFF`]).
    keep_until: Option<Instant>,
}

struct Token {
    value: Arc<str>,
    header: HeaderValue,
    /// When to fetch a new one (`None`: the token endpoint gave no lifetime).
    refresh_at: Option<Instant>,
    /// When it was fetched.
    fetched: Instant,
}

/// How long a token fetched after `refusals` refusals in a row is kept when refused too.
fn refusal_backoff(refusals: u32) -> Duration {
    REFUSAL_BACKOFF
        .saturating_mul(1 << refusals.saturating_sub(1).min(8))
        .min(MAX_REFUSAL_BACKOFF)
}

impl Client {
    /// A scheme's client, with no token yet.
    pub(crate) fn new(
        scheme: &'static str,
        id: String,
        secret: String,
        endpoint: Resolved,
        scopes: &'static [&'static str],
        audience: Option<String>,
        auth: Option<ClientAuth>,
    ) -> Self {
        Self {
            scheme,
            id,
            secret,
            endpoint,
            scopes,
            audience,
            auth,
            state: tokio::sync::Mutex::new(TokenState::default()),
        }
    }

    /// The cached token, or a new one.
    pub(crate) async fn token(
        &self,
        http: &reqwest::Client,
        base_url: &str,
        redactor: &Redactor,
    ) -> Result<(Arc<str>, HeaderValue), String> {
        let asked = Instant::now();
        let mut state = self.state.lock().await;
        if let Some(token) = &state.token
            && token.refresh_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok((token.value.clone(), token.header.clone()));
        }
        if let Some((at, error)) = &state.failure
            && *at >= asked
        {
            return Err(error.clone());
        }
        match self.fetch(&mut state, http, base_url, redactor).await {
            Ok(token) => {
                let out = (token.value.clone(), token.header.clone());
                state.token = Some(token);
                state.failure = None;
                Ok(out)
            }
            Err(error) => {
                let error = redactor.redact_text(error);
                warn!("{error}");
                state.token = None;
                state.failure = Some((Instant::now(), error.clone()));
                Err(error)
            }
        }
    }

    /// After the upstream API refused `used` (401): forgets it so that the next call fetches a
    /// new one, unless another call replaced it already. A token fetched because its
    /// predecessor was refused is kept for a while when it is refused too (see
    /// [`REFUSAL_BACKOFF`]). Returns whether a retry would send another token.
    pub(crate) async fn forget(&self, used: &Arc<str>) -> bool {
        let mut state = self.state.lock().await;
        let Some(token) = &state.token else {
            return true;
        };
        if token.value != *used {
            return true;
        }
        let now = Instant::now();
        if state.keep_until.is_some_and(|until| now < until) {
            tracing::debug!(
                "securityScheme `{}`: the upstream API refused the new access token too; no new one is fetched before the back-off ends",
                self.scheme
            );
            return false;
        }
        // A token that served longer than the longest back-off starts a new series.
        if token.fetched.elapsed() >= MAX_REFUSAL_BACKOFF {
            state.refusals = 0;
        }
        state.refusals = state.refusals.saturating_add(1);
        state.keep_until = Some(now + refusal_backoff(state.refusals));
        state.token = None;
        true
    }

    /// The token endpoint: configured, or from the discovery document (fetched once).
    async fn endpoint(
        &self,
        http: &reqwest::Client,
        base_url: &str,
    ) -> Result<(String, ClientAuth), String> {
        match &self.endpoint {
            Resolved::Token(url) => Ok((
                absolute(url, base_url)?,
                self.auth.unwrap_or(ClientAuth::Basic),
            )),
            Resolved::Discovery(url) => {
                let url = absolute(url, base_url)?;
                let fail = |why: String| {
                    format!(
                        "Cannot get an access token for securityScheme `{}`: OpenID Connect discovery at {url} failed: {why}",
                        self.scheme
                    )
                };
                let response = http
                    .get(&url)
                    .header(ACCEPT, "application/json")
                    .send()
                    .await
                    .map_err(|e| fail(error_chain(&e.without_url())))?;
                let status = response.status();
                let bytes = read_capped(response).await.map_err(fail)?;
                if !status.is_success() {
                    return Err(fail(format!("HTTP {status}")));
                }
                let doc: Value =
                    serde_json::from_slice(&bytes).map_err(|e| fail(format!("not JSON ({e})")))?;
                let token_endpoint = doc
                    .get("token_endpoint")
                    .and_then(Value::as_str)
                    .ok_or_else(|| fail("the document has no `token_endpoint`".to_owned()))?;
                let offered: Vec<&str> = doc
                    .get("token_endpoint_auth_methods_supported")
                    .and_then(Value::as_array)
                    .map(|methods| methods.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                // OpenID Connect Discovery: when the list is absent, client_secret_basic.
                let auth = self.auth.unwrap_or(
                    if !offered.is_empty()
                        && !offered.contains(&"client_secret_basic")
                        && offered.contains(&"client_secret_post")
                    {
                        ClientAuth::Post
                    } else {
                        ClientAuth::Basic
                    },
                );
                Ok((absolute(token_endpoint, &url)?, auth))
            }
        }
    }

    /// Asks the token endpoint for a token (RFC 6749 §4.4).
    async fn fetch(
        &self,
        state: &mut TokenState,
        http: &reqwest::Client,
        base_url: &str,
        redactor: &Redactor,
    ) -> Result<Token, String> {
        let (url, auth) = match &state.endpoint {
            Some(known) => known.clone(),
            None => {
                let found = self.endpoint(http, base_url).await?;
                state.endpoint = Some(found.clone());
                found
            }
        };
        let fail = |why: String| {
            format!(
                "Cannot get an access token for securityScheme `{}` from {url}: {why}",
                self.scheme
            )
        };
        let mut form = vec![("grant_type", "client_credentials".to_owned())];
        if !self.scopes.is_empty() {
            form.push(("scope", self.scopes.join(" ")));
        }
        if let Some(audience) = &self.audience {
            form.push(("audience", audience.clone()));
        }
        let mut request = http
            .post(&url)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        match auth {
            ClientAuth::Basic => {
                let header = basic_auth(&self.id, &self.secret).ok_or_else(|| {
                    fail("the client ID or secret cannot be sent in a header".to_owned())
                })?;
                request = request.header(AUTHORIZATION, header);
            }
            ClientAuth::Post => {
                form.push(("client_id", self.id.clone()));
                form.push(("client_secret", self.secret.clone()));
            }
        }
        let body = form
            .iter()
            .map(|(name, value)| format!("{name}={}", form_encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let sent = Instant::now();
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| fail(error_chain(&e.without_url())))?;
        let status = response.status();
        let bytes = read_capped(response).await.map_err(fail)?;
        if !status.is_success() {
            let mut excerpt = bytes;
            excerpt.truncate(2048);
            redactor.redact(&mut excerpt, false);
            return Err(fail(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&excerpt).trim()
            )));
        }
        let doc: Value =
            serde_json::from_slice(&bytes).map_err(|e| fail(format!("not JSON ({e})")))?;
        let Some(access_token) = doc.get("access_token").and_then(Value::as_str) else {
            return Err(fail("the response has no `access_token`".to_owned()));
        };
        redactor.add_token(access_token);
        if let Some(kind) = doc.get("token_type").and_then(Value::as_str)
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(fail(format!(
                "token type `{kind}` is not supported (only Bearer)"
            )));
        }
        let header = sensitive(&format!("Bearer {access_token}"))
            .ok_or_else(|| fail("the access token cannot be sent in a header".to_owned()))?;
        let lifetime = expires_in(&doc);
        let refresh_at = lifetime.map(|lifetime| sent + usable_for(lifetime));
        match lifetime {
            Some(lifetime) => info!(
                "securityScheme `{}`: new access token from {url}, valid for {} s",
                self.scheme,
                lifetime.as_secs()
            ),
            None => info!(
                "securityScheme `{}`: new access token from {url} (no lifetime given: kept until the upstream API refuses it)",
                self.scheme
            ),
        }
        Ok(Token {
            value: Arc::from(access_token),
            header,
            refresh_at,
            fetched: sent,
        })
    }
}

/// How long a token of this lifetime is used: until a tenth of its lifetime (at most
/// [`MAX_REFRESH_MARGIN`]) before it expires, measured from when it was asked for.
pub(crate) fn usable_for(lifetime: Duration) -> Duration {
    lifetime.saturating_sub((lifetime / REFRESH_MARGIN_DIVISOR).min(MAX_REFRESH_MARGIN))
}

/// `url` as an absolute URL: relative ones resolve against `base`.
fn absolute(url: &str, base: &str) -> Result<String, String> {
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(url.to_owned());
    }
    reqwest::Url::parse(base)
        .and_then(|base| base.join(url))
        .map(|u| u.to_string())
        .map_err(|e| format!("`{url}` is not a usable URL: {e}"))
}

/// A response body, at most [`MAX_TOKEN_RESPONSE_BYTES`].
pub(crate) async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| error_chain(&e.without_url()))?
    {
        if body.len() + chunk.len() > MAX_TOKEN_RESPONSE_BYTES {
            return Err(format!(
                "the response is larger than {MAX_TOKEN_RESPONSE_BYTES} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_replaced_shortly_before_they_expire() {
        assert_eq!(
            usable_for(Duration::from_secs(3600)),
            Duration::from_secs(3540)
        );
        assert_eq!(
            usable_for(Duration::from_secs(300)),
            Duration::from_secs(270)
        );
        assert_eq!(
            usable_for(Duration::from_secs(5)),
            Duration::from_millis(4500)
        );
        assert_eq!(usable_for(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn refused_tokens_are_replaced_with_a_growing_back_off() {
        assert_eq!(refusal_backoff(1), REFUSAL_BACKOFF);
        assert_eq!(refusal_backoff(2), REFUSAL_BACKOFF * 2);
        assert_eq!(refusal_backoff(3), REFUSAL_BACKOFF * 4);
        assert_eq!(refusal_backoff(50), MAX_REFUSAL_BACKOFF);
        assert_eq!(refusal_backoff(u32::MAX), MAX_REFUSAL_BACKOFF);
    }

    #[tokio::test]
    async fn a_token_refused_after_a_refusal_is_kept_until_the_back_off_ends() {
        let client = Client::new(
            "cc",
            "id".to_owned(),
            "secret".to_owned(),
            Resolved::Token("http://127.0.0.1:9/token".to_owned()),
            &[],
            None,
            None,
        );
        let token = |value: &str| Token {
            value: Arc::from(value),
            header: HeaderValue::from_static("Bearer x"),
            refresh_at: None,
            fetched: Instant::now(),
        };
        client.state.lock().await.token = Some(token("first"));
        // The first refusal: forgotten, a new token is fetched and the call retried.
        assert!(client.forget(&Arc::from("first")).await);
        assert!(client.state.lock().await.token.is_none());
        client.state.lock().await.token = Some(token("second"));
        // The new token refused too: kept, no retry, however often.
        for _ in 0..20 {
            assert!(!client.forget(&Arc::from("second")).await);
        }
        assert!(client.state.lock().await.token.is_some());
        // A refusal of a token another call replaced already: retry with the current one.
        assert!(client.forget(&Arc::from("older")).await);
        // Once the back-off ends, the next refusal replaces it and the back-off doubles.
        client.state.lock().await.keep_until = Some(Instant::now());
        assert!(client.forget(&Arc::from("second")).await);
        let state = client.state.lock().await;
        assert_eq!(state.refusals, 2);
        assert!(
            state
                .keep_until
                .is_some_and(|until| until > Instant::now() + REFUSAL_BACKOFF)
        );
    }

    #[test]
    fn relative_token_urls_resolve_against_the_upstream() {
        assert_eq!(
            absolute("/oauth/token", "http://127.0.0.1:9/api").unwrap(),
            "http://127.0.0.1:9/oauth/token"
        );
        assert_eq!(
            absolute("https://a.example/t", "http://b").unwrap(),
            "https://a.example/t"
        );
    }
}
