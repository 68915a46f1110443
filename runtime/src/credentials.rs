//! Credentials for the upstream API, as each operation's OpenAPI `security` requirement asks:
//! API keys (header, query, cookie), HTTP bearer and basic, OAuth 2 client credentials (from the
//! spec's `tokenUrl`, a configured one, or OpenID Connect discovery). `auth_config::UPSTREAM`
//! says which environment variable holds what.
//!
//! - Variables are read once, when the server starts. A missing one does not stop the server: a
//!   tool call that needs it is a tool error naming it, and the upstream API is not called.
//! - A requirement lists alternatives (any one suffices) of schemes sent together. The first
//!   alternative whose credentials are all at hand is used. An alternative without schemes
//!   (optional authentication) is used only when no other one is complete, so a credential the
//!   server has is always sent.
//! - Precedence with the caller's forwarded token (`bearer.forward`, `oauth.forward_token`): the
//!   caller's `Authorization` header is sent for bearer-token schemes (HTTP bearer, OAuth 2,
//!   OpenID Connect) instead of the server's own; the server's credentials for them are used only
//!   when there is no caller token (stdio). A scheme that puts something else into
//!   `Authorization` (HTTP basic, an API key named `Authorization`) sends the server's value.
//!   The caller's token goes only to operations whose chosen alternative has such a scheme:
//!   never to one that needs no credentials (`security: []`) or only API keys or basic
//!   credentials. An API that declares no security at all gets it with every call.
//! - OAuth 2 client credentials (`client_credentials.rs`): one token per scheme, shared by all
//!   calls; concurrent calls wait for one fetch; a token is fetched again shortly before it
//!   expires, and when the upstream API answers 401 to it (then the call is retried once) —
//!   but a token fetched because the previous one was refused is kept for 30 s (doubling with
//!   each refusal in a row, up to 10 minutes) when it is refused too, so an API that refuses
//!   the client costs one token request, not one per call.
//! - Token exchange (`token_exchange.rs`, mode `oauth`): the caller's validated access token is
//!   exchanged for the API's, kept per caller token; without a caller token (stdio) the scheme
//!   cannot be sent. A 401 to a kept token forgets it, and the call is retried once with a new
//!   exchange; a 401 to a token exchanged for this call is the API's answer.
//! - Secrets never reach tool results, error texts or logs (`redact.rs`): every upstream body and
//!   every log line is searched for them (as sent: raw, percent-encoded, JSON-escaped, base64
//!   basic credentials) and they are replaced by `[REDACTED]`. Values shorter than [`MIN_REDACTED_LEN`] are too
//!   short to tell from ordinary text and are not searched for (a warning at start-up says so).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::utf8_percent_encode;
use reqwest::header::HeaderValue;
use tracing::{info, warn};

use crate::client_credentials::{Client, Resolved, sensitive};
use crate::encoding::{COMPONENT, COOKIE_VALUE, form_encode};
use crate::redact::Redactor;
use crate::settings::read;
use crate::token_exchange::{Exchanger, Key};

/// The paths the generated `auth_config.rs` names (`crate::credentials::Scheme`, ...).
#[allow(
    unused_imports,
    reason = "which of these auth_config.rs names depends on the API"
)]
pub use crate::config::{ClientAuth, Endpoint, ExchangeGrant, Kind, Location, Scheme};
#[allow(
    unused_imports,
    reason = "paths of earlier versions that custom code may use"
)]
pub use crate::redact::{MIN_REDACTED_LEN, REDACTED};

/// The credentials of every scheme, read from the environment at start-up, with the token
/// caches and the secrets to redact.
pub struct Credentials {
    schemes: Vec<Loaded>,
    redactor: Arc<Redactor>,
}

struct Loaded {
    scheme: &'static Scheme,
    /// Variables the credential needs that are not set.
    missing: Vec<&'static str>,
    material: Material,
}

/// A credential ready to send.
enum Material {
    /// Incomplete (see `missing`) or unsupported.
    Nothing,
    Header {
        name: &'static str,
        value: HeaderValue,
    },
    Query {
        name: String,
        value: String,
    },
    Cookie {
        name: String,
        value: String,
    },
    Authorization(HeaderValue),
    Client(Box<Client>),
    Exchange(Box<Exchanger>),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.schemes.iter().map(|s| (s.scheme.name, &s.missing)))
            .finish()
    }
}

/// How one scheme of an alternative stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ready,
    /// The caller's forwarded token is sent for it.
    Caller,
    Missing,
    Unsupported,
}

/// The schemes chosen for a call (indices into the loaded schemes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choice {
    schemes: Vec<usize>,
    /// The caller's forwarded token is sent: the chosen alternative has a bearer-token scheme
    /// it stands in for, or the API declares no security at all.
    caller: bool,
}

/// The credentials of one call, placed.
#[derive(Default)]
pub struct Applied {
    /// API keys in headers (values marked sensitive).
    pub headers: Vec<(&'static str, HeaderValue)>,
    /// API keys in the query, percent-encoded.
    pub query: Vec<(String, String)>,
    /// API keys in cookies, encoded.
    pub cookies: Vec<(String, String)>,
    /// The server's `Authorization` header (marked sensitive); it takes precedence over a
    /// forwarded caller's one, which is sent only for schemes it stands in for.
    pub authorization: Option<HeaderValue>,
    /// Client-credentials tokens sent: (scheme index, token).
    tokens: Vec<(usize, Arc<str>)>,
    /// Exchanged tokens sent that were kept from an earlier call: (scheme index, caller token
    /// key, token).
    exchanged: Vec<(usize, Key, Arc<str>)>,
    /// Whether the caller's forwarded `Authorization` header goes with this call (see
    /// [`Credentials::choose`]).
    pub caller: bool,
}

impl Applied {
    /// Whether a cached access token went out (so a 401 may mean it expired early).
    pub fn has_tokens(&self) -> bool {
        !self.tokens.is_empty() || !self.exchanged.is_empty()
    }
}

impl Credentials {
    /// No credentials at all (a server whose operations need none).
    pub fn none() -> Self {
        Self {
            schemes: Vec::new(),
            redactor: Arc::default(),
        }
    }

    /// Reads every scheme's variables. Never fails: what is missing is reported per call.
    pub fn load(schemes: &'static [Scheme]) -> Self {
        let mut redactor = Redactor::default();
        let loaded = schemes
            .iter()
            .map(|scheme| {
                let mut missing = Vec::new();
                let material = Self::material(scheme, &mut missing, &mut redactor);
                Loaded {
                    scheme,
                    missing,
                    material,
                }
            })
            .collect();
        // Log lines are searched for the same secrets (`redact::LogWriter`).
        let redactor = Arc::new(redactor);
        crate::redact::redact_logs_with(redactor.clone());
        Self {
            schemes: loaded,
            redactor,
        }
    }

    fn material(
        scheme: &'static Scheme,
        missing: &mut Vec<&'static str>,
        redactor: &mut Redactor,
    ) -> Material {
        let name = scheme.name;
        let invalid = |what: &str| {
            warn!(
                "upstream credentials of securityScheme `{name}`: the {what} is not a valid HTTP header value (line breaks or control characters); it is not sent"
            );
            Material::Nothing
        };
        match scheme.kind {
            Kind::ApiKey {
                location,
                name: param,
                key,
            } => {
                let Some(key) = read(key, missing) else {
                    return Material::Nothing;
                };
                redactor.add(name, &key);
                match location {
                    Location::Header if param.eq_ignore_ascii_case("authorization") => {
                        match sensitive(&key) {
                            Some(value) => Material::Authorization(value),
                            None => invalid("API key"),
                        }
                    }
                    Location::Header => match sensitive(&key) {
                        Some(value) => Material::Header { name: param, value },
                        None => invalid("API key"),
                    },
                    Location::Query => Material::Query {
                        name: utf8_percent_encode(param, COMPONENT).to_string(),
                        value: utf8_percent_encode(&key, COMPONENT).to_string(),
                    },
                    Location::Cookie => {
                        let value = utf8_percent_encode(&key, COOKIE_VALUE).to_string();
                        redactor.add(name, &value);
                        Material::Cookie {
                            name: param.to_owned(),
                            value,
                        }
                    }
                }
            }
            Kind::Bearer { token } => {
                let Some(token) = read(token, missing) else {
                    return Material::Nothing;
                };
                redactor.add(name, &token);
                match sensitive(&format!("Bearer {token}")) {
                    Some(value) => Material::Authorization(value),
                    None => invalid("bearer token"),
                }
            }
            Kind::Basic { username, password } => {
                let username = read(username, missing);
                let password = read(password, missing);
                let (Some(username), Some(password)) = (username, password) else {
                    return Material::Nothing;
                };
                redactor.add(name, &password);
                let encoded = STANDARD.encode(format!("{username}:{password}"));
                redactor.add(name, &encoded);
                match sensitive(&format!("Basic {encoded}")) {
                    Some(value) => Material::Authorization(value),
                    None => invalid("basic credential"),
                }
            }
            Kind::ClientCredentials {
                client_id,
                client_secret,
                endpoint,
                scopes,
                audience,
                auth,
            } => {
                let id = read(client_id, missing);
                let secret = read(client_secret, missing);
                let endpoint = match endpoint {
                    Endpoint::Token(url) => read(url, missing).map(Resolved::Token),
                    Endpoint::Discovery(url) => read(url, missing).map(Resolved::Discovery),
                };
                let audience = match audience {
                    Some(setting) => match read(setting, missing) {
                        Some(value) => Some(value),
                        None => return Material::Nothing,
                    },
                    None => None,
                };
                let (Some(id), Some(secret), Some(endpoint)) = (id, secret, endpoint) else {
                    return Material::Nothing;
                };
                redactor.add(name, &secret);
                redactor.add(
                    name,
                    &STANDARD.encode(format!("{}:{}", form_encode(&id), form_encode(&secret))),
                );
                Material::Client(Box::new(Client::new(
                    name, id, secret, endpoint, scopes, audience, auth,
                )))
            }
            Kind::TokenExchange {
                token_url,
                client_id,
                client_secret,
                audience,
                scopes,
                grant,
            } => {
                let url = read(token_url, missing);
                let id = read(client_id, missing);
                let secret = read(client_secret, missing);
                let audience = match audience {
                    Some(setting) => match read(setting, missing) {
                        Some(value) => Some(value),
                        None => return Material::Nothing,
                    },
                    None => None,
                };
                let (Some(url), Some(id), Some(secret)) = (url, id, secret) else {
                    return Material::Nothing;
                };
                redactor.add(name, &secret);
                redactor.add(
                    name,
                    &STANDARD.encode(format!("{}:{}", form_encode(&id), form_encode(&secret))),
                );
                Material::Exchange(Box::new(Exchanger::new(
                    name, url, id, secret, audience, scopes, grant,
                )))
            }
            Kind::Unsupported { .. } => Material::Nothing,
        }
    }

    /// Whether some scheme exchanges the caller's token (so calls must carry it).
    pub fn exchanges(&self) -> bool {
        self.schemes
            .iter()
            .any(|s| matches!(s.material, Material::Exchange(_)))
    }

    /// One log line per scheme: ready, or which variables are missing (names only).
    pub fn log_summary(&self) {
        for loaded in &self.schemes {
            let Scheme {
                name, what, caller, ..
            } = loaded.scheme;
            let note = if *caller {
                "; the caller's forwarded token is sent instead when there is one"
            } else {
                ""
            };
            match (&loaded.material, loaded.scheme.kind) {
                (_, Kind::Unsupported { reason }) => {
                    if *caller {
                        info!(
                            "upstream securityScheme `{name}`: the caller's forwarded token is sent for it"
                        );
                    } else {
                        warn!(
                            "upstream securityScheme `{name}` ({reason}) is not sent by this server"
                        );
                    }
                }
                (Material::Nothing, _) if !loaded.missing.is_empty() => warn!(
                    "upstream securityScheme `{name}` ({what}): {} not set; tool calls that need it fail until the server is started with it{note}",
                    loaded.missing.join(", ")
                ),
                (Material::Nothing, _) => {}
                _ => info!("upstream securityScheme `{name}` ({what}): credentials ready{note}"),
            }
        }
        for name in &self.redactor.short {
            warn!(
                "upstream credentials of securityScheme `{name}`: a secret shorter than {MIN_REDACTED_LEN} characters cannot be told from ordinary text, so upstream responses are not searched for it"
            );
        }
    }

    fn status(&self, name: &str, caller_token: bool, subject: bool) -> (Option<usize>, Status) {
        let Some(index) = self.schemes.iter().position(|s| s.scheme.name == name) else {
            return (None, Status::Unsupported);
        };
        let loaded = &self.schemes[index];
        if loaded.scheme.caller && caller_token {
            return (Some(index), Status::Caller);
        }
        let status = match (&loaded.material, loaded.scheme.kind) {
            (_, Kind::Unsupported { .. }) => Status::Unsupported,
            (Material::Nothing, _) if loaded.missing.is_empty() => Status::Unsupported,
            (Material::Nothing, _) => Status::Missing,
            (Material::Exchange(_), _) if !subject => Status::Missing,
            _ => Status::Ready,
        };
        (Some(index), status)
    }

    /// Chooses the credentials of a call from the operation's alternatives (see the module
    /// documentation); `caller_token`: a caller's token is forwarded. `Err`: what is missing.
    /// The caller's token goes with the call only when the chosen alternative has a
    /// bearer-token scheme it stands in for — never to an operation that needs no credentials
    /// (`security: []`) or only API keys or basic credentials — unless the API declares no
    /// security at all (then every call carries it, as configured). `subject`: the call carries
    /// the caller's validated access token, which token exchanges need.
    pub fn choose(
        &self,
        alternatives: &[&[&str]],
        caller_token: bool,
        subject: bool,
    ) -> Result<Choice, String> {
        if alternatives.is_empty() {
            return Ok(Choice {
                schemes: Vec::new(),
                caller: caller_token && self.schemes.is_empty(),
            });
        }
        let rated: Vec<Vec<(Option<usize>, Status, &str)>> = alternatives
            .iter()
            .map(|alt| {
                alt.iter()
                    .map(|name| {
                        let (index, status) = self.status(name, caller_token, subject);
                        (index, status, *name)
                    })
                    .collect()
            })
            .collect();
        let send = |alt: &[(Option<usize>, Status, &str)]| Choice {
            schemes: alt
                .iter()
                .filter(|(_, status, _)| *status == Status::Ready)
                .filter_map(|(index, _, _)| *index)
                .collect(),
            caller: alt.iter().any(|(_, status, _)| *status == Status::Caller),
        };
        let complete = |alt: &&Vec<(Option<usize>, Status, &str)>| {
            alt.iter()
                .all(|(_, s, _)| matches!(s, Status::Ready | Status::Caller))
        };
        if let Some(alt) = rated.iter().filter(|a| !a.is_empty()).find(complete) {
            return Ok(send(alt));
        }
        if rated.iter().any(Vec::is_empty) {
            return Ok(Choice::default());
        }
        let servable = |alt: &&Vec<(Option<usize>, Status, &str)>| {
            alt.iter().all(|(_, s, _)| *s != Status::Unsupported)
        };
        // Every alternative needs something the server cannot send: send what it can of the
        // first one it has everything else for, and let the API decide.
        if !rated.iter().any(|a| servable(&a))
            && let Some(alt) = rated
                .iter()
                .find(|a| a.iter().all(|(_, s, _)| *s != Status::Missing))
        {
            return Ok(send(alt));
        }
        let mut needs: Vec<String> = Vec::new();
        for alt in rated
            .iter()
            .filter(|a| servable(a) || !rated.iter().any(|b| servable(&b)))
        {
            let mut vars: Vec<&str> = Vec::new();
            for (index, status, _) in alt {
                if *status == Status::Missing
                    && let Some(index) = index
                {
                    vars.extend(self.schemes[*index].missing.iter().copied());
                }
            }
            vars.dedup();
            let exchange = alt.iter().find_map(|(index, status, name)| {
                let loaded = &self.schemes[(*index)?];
                (*status == Status::Missing && matches!(loaded.material, Material::Exchange(_)))
                    .then_some(*name)
            });
            let text = match (vars.as_slice(), exchange) {
                ([], Some(scheme)) => {
                    format!(
                        "a caller's OAuth access token (securityScheme `{scheme}` exchanges it for the API's; this call has none)"
                    )
                }
                ([], None) => continue,
                ([one], _) => (*one).to_owned(),
                ([init @ .., last], _) => format!("{} and {last}", init.join(", ")),
            };
            if !needs.contains(&text) {
                needs.push(text);
            }
        }
        if needs
            .iter()
            .all(|n| n.starts_with("a caller's OAuth access token"))
        {
            return Err(format!("the upstream API needs {}", needs.join(", or ")));
        }
        Err(format!(
            "the upstream API needs credentials that this MCP server does not have: set {} in the server's environment (read when it starts; see .env.example)",
            needs.join(", or ")
        ))
    }

    /// The credentials of `choice`, placed; fetches client-credentials tokens and exchanges
    /// `subject` (the caller's access token) as needed.
    pub async fn apply(
        &self,
        choice: &Choice,
        http: &reqwest::Client,
        base_url: &str,
        subject: Option<&str>,
    ) -> Result<Applied, String> {
        let mut applied = Applied {
            caller: choice.caller,
            ..Applied::default()
        };
        for &index in &choice.schemes {
            match &self.schemes[index].material {
                Material::Nothing => {}
                Material::Header { name, value } => applied.headers.push((name, value.clone())),
                Material::Query { name, value } => {
                    applied.query.push((name.clone(), value.clone()));
                }
                Material::Cookie { name, value } => {
                    applied.cookies.push((name.clone(), value.clone()));
                }
                Material::Authorization(value) => applied.authorization = Some(value.clone()),
                Material::Client(client) => {
                    let (token, header) = client.token(http, base_url, &self.redactor).await?;
                    applied.authorization = Some(header);
                    applied.tokens.push((index, token));
                }
                Material::Exchange(exchanger) => {
                    let Some(subject) = subject else {
                        return Err(
                            "the upstream API needs the caller's OAuth access token, and this call has none"
                                .to_owned(),
                        );
                    };
                    let token = exchanger.token(http, subject, &self.redactor).await?;
                    applied.authorization = Some(token.header);
                    if token.cached {
                        applied.exchanged.push((index, token.key, token.value));
                    }
                }
            }
        }
        Ok(applied)
    }

    /// After a 401: forgets the tokens `applied` sent, unless another call replaced them already
    /// or a token fetched after a refusal is refused too (`client_credentials.rs` backs off).
    /// Returns whether a retry would send a new token.
    pub async fn refresh(&self, applied: &Applied) -> bool {
        let mut renewed = false;
        for (index, token) in &applied.tokens {
            if let Material::Client(client) = &self.schemes[*index].material {
                renewed |= client.forget(token).await;
            }
        }
        for (index, key, token) in &applied.exchanged {
            if let Material::Exchange(exchanger) = &self.schemes[*index].material {
                // A kept token: the retry sends the one exchanged now (or another call's).
                exchanger.forget(key, token);
                renewed = true;
            }
        }
        renewed
    }

    /// Replaces every secret in an upstream body; `truncated`: the body was cut, so a secret's
    /// beginning at its end is dropped too.
    pub fn redact(&self, bytes: &mut Vec<u8>, truncated: bool) {
        self.redactor.redact(bytes, truncated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Setting;

    static SCHEMES: &[Scheme] = &[
        Scheme {
            name: "key",
            what: "API key in header `X-Key`",
            kind: Kind::ApiKey {
                location: Location::Header,
                name: "X-Key",
                key: Setting::Literal("key-0123456789"),
            },
            caller: false,
        },
        Scheme {
            name: "missing",
            what: "HTTP bearer token",
            kind: Kind::Bearer {
                token: Setting::Env("MCPGEN_TEST_SURELY_UNSET_TOKEN"),
            },
            caller: true,
        },
        Scheme {
            name: "basic",
            what: "HTTP basic authentication",
            kind: Kind::Basic {
                username: Setting::Literal("ann"),
                password: Setting::Env("MCPGEN_TEST_SURELY_UNSET_PASSWORD"),
            },
            caller: false,
        },
        Scheme {
            name: "digest",
            what: "HTTP `digest` authentication",
            kind: Kind::Unsupported {
                reason: "HTTP `digest` authentication",
            },
            caller: false,
        },
        Scheme {
            name: "query",
            what: "API key in query `api key`",
            kind: Kind::ApiKey {
                location: Location::Query,
                name: "api key",
                key: Setting::Literal("q/s 3cr\"t"),
            },
            caller: false,
        },
    ];

    fn names(credentials: &Credentials, choice: &Choice) -> Vec<&'static str> {
        choice
            .schemes
            .iter()
            .map(|&i| credentials.schemes[i].scheme.name)
            .collect()
    }

    #[test]
    fn the_first_complete_alternative_is_chosen() {
        let c = Credentials::load(SCHEMES);
        let pick =
            |alts: &[&[&str]], caller| c.choose(alts, caller, false).map(|ch| names(&c, &ch));
        assert_eq!(pick(&[], false), Ok(vec![]));
        assert_eq!(pick(&[&["basic"], &["key"]], false), Ok(vec!["key"]));
        assert_eq!(pick(&[&["key", "query"]], false), Ok(vec!["key", "query"]));
        // Optional authentication still sends what the server has.
        assert_eq!(pick(&[&[], &["key"]], false), Ok(vec!["key"]));
        assert_eq!(pick(&[&[], &["basic"]], false), Ok(vec![]));
        // A caller's token stands in for the bearer scheme, which is then not sent by us.
        assert_eq!(pick(&[&["missing", "key"]], true), Ok(vec!["key"]));
        let forwards = |alts: &[&[&str]]| c.choose(alts, true, false).map(|ch| ch.caller);
        assert_eq!(forwards(&[&["missing", "key"]]), Ok(true));
        assert_eq!(forwards(&[&["missing"], &["key"]]), Ok(true));
        // Not to an operation without credentials, nor to one of API keys or basic only.
        assert_eq!(forwards(&[]), Ok(false));
        assert_eq!(forwards(&[&[]]), Ok(false));
        assert_eq!(forwards(&[&["key"]]), Ok(false));
        assert_eq!(forwards(&[&["key"], &["missing"]]), Ok(false));
        assert_eq!(forwards(&[&["digest"]]), Ok(false));
        // An API that declares no security: every call carries it.
        assert_eq!(
            Credentials::none()
                .choose(&[], true, false)
                .map(|ch| ch.caller),
            Ok(true)
        );
        assert_eq!(
            Credentials::none()
                .choose(&[], false, false)
                .map(|ch| ch.caller),
            Ok(false)
        );
        // Missing variables are named, per alternative.
        let error = pick(&[&["missing"], &["basic", "key"]], false).unwrap_err();
        assert!(
            error.contains(
                "set MCPGEN_TEST_SURELY_UNSET_TOKEN, or MCPGEN_TEST_SURELY_UNSET_PASSWORD in"
            ),
            "{error}"
        );
        // Only unsupported alternatives: sent without them, the API decides.
        assert_eq!(pick(&[&["digest", "key"]], false), Ok(vec!["key"]));
        assert_eq!(pick(&[&["unknown"]], false), Ok(vec![]));
        // A servable alternative with missing variables is reported over an unsupported one.
        assert!(pick(&[&["digest"], &["basic"]], false).is_err());
    }

    static EXCHANGE: &[Scheme] = &[Scheme {
        name: "downstream",
        what: "the caller's access token exchanged (OAuth 2 token exchange, RFC 8693)",
        kind: Kind::TokenExchange {
            token_url: Setting::Literal("http://127.0.0.1:9/token"),
            client_id: Setting::Literal("mcp-server"),
            client_secret: Setting::Literal("exchange-secret-1"),
            audience: None,
            scopes: &[],
            grant: ExchangeGrant::TokenExchange,
        },
        caller: false,
    }];

    #[tokio::test]
    async fn an_exchange_needs_the_callers_token() {
        let c = Credentials::load(EXCHANGE);
        assert!(c.exchanges());
        // Without a caller token (stdio) the scheme cannot be sent: a tool error, no call.
        let error = c.choose(&[&["downstream"]], false, false).unwrap_err();
        assert_eq!(
            error,
            "the upstream API needs a caller's OAuth access token (securityScheme `downstream` exchanges it for the API's; this call has none)"
        );
        let choice = c.choose(&[&["downstream"]], false, true).unwrap();
        assert!(!choice.caller);
        // The exchange fails here (nothing listens on port 9): the call's error, without the
        // caller's token or the secret.
        let http = reqwest::Client::new();
        let Err(error) = c
            .apply(
                &choice,
                &http,
                "http://127.0.0.1:9",
                Some("caller-token-abc"),
            )
            .await
        else {
            panic!("nothing answers at the token endpoint");
        };
        assert!(error.contains("securityScheme `downstream`"), "{error}");
        assert!(!error.contains("caller-token-abc") && !error.contains("exchange-secret-1"));
    }

    #[tokio::test]
    async fn credentials_are_placed_as_the_scheme_says() {
        let c = Credentials::load(SCHEMES);
        let choice = c.choose(&[&["key", "query"]], false, false).unwrap();
        let http = reqwest::Client::new();
        let applied = c
            .apply(&choice, &http, "http://127.0.0.1:9", None)
            .await
            .unwrap();
        assert_eq!(applied.headers.len(), 1);
        assert_eq!(applied.headers[0].0, "X-Key");
        assert!(applied.headers[0].1.is_sensitive());
        assert_eq!(
            applied.query,
            [("api%20key".to_owned(), "q%2Fs%203cr%22t".to_owned())]
        );
        assert!(applied.authorization.is_none() && !applied.has_tokens());
    }

    #[test]
    fn secrets_are_redacted_in_every_form() {
        let c = Credentials::load(SCHEMES);
        let mut body = br#"{"h":"key-0123456789","q":"api%20key=q%2Fs%203cr%22t","j":"q\/s 3cr\"t","f":"q%2Fs+3cr%22t"}"#.to_vec();
        c.redact(&mut body, false);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"h":"[REDACTED]","q":"api%20key=[REDACTED]","j":"[REDACTED]","f":"[REDACTED]"}"#
        );
        let mut cut = b"abc key-01234".to_vec();
        c.redact(&mut cut, true);
        assert_eq!(cut, b"abc ");
        c.redactor.add_token("tok-abcdefgh");
        assert_eq!(
            c.redactor.redact_text("a tok-abcdefgh b".to_owned()),
            "a [REDACTED] b"
        );
        let mut plain = b"nothing to see".to_vec();
        c.redact(&mut plain, true);
        assert_eq!(plain, b"nothing to see");
    }
}
