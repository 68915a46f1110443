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

pub(crate) fn sensitive(value: &str) -> Option<HeaderValue> {
    let mut header = HeaderValue::from_str(value).ok()?;
    header.set_sensitive(true);
    Some(header)
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
}

struct Token {
    value: Arc<str>,
    header: HeaderValue,
    /// When to fetch a new one (`None`: the token endpoint gave no lifetime).
    refresh_at: Option<Instant>,
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

    pub(crate) async fn forget(&self, used: &Arc<str>) {
        let mut state = self.state.lock().await;
        if state.token.as_ref().is_some_and(|t| t.value == *used) {
            state.token = None;
        }
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
                let credentials = STANDARD.encode(format!(
                    "{}:{}",
                    form_encode(&self.id),
                    form_encode(&self.secret)
                ));
                let header = sensitive(&format!("Basic {credentials}")).ok_or_else(|| {
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
        let lifetime = match doc.get("expires_in") {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|s| s.is_finite())
        .map(|s| Duration::from_secs_f64(s.clamp(0.0, 10.0 * 365.0 * 86_400.0)));
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
        })
    }
}

/// How long a token of this lifetime is used: until a tenth of its lifetime (at most
/// [`MAX_REFRESH_MARGIN`]) before it expires, measured from when it was asked for.
fn usable_for(lifetime: Duration) -> Duration {
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
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
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
