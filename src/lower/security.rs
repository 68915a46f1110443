//! Security, a phase of lowering: the document's `components.securitySchemes` as the server
//! can send them ([`SchemeKind`]), each operation's effective requirements (its own `security`,
//! else the document's; a name no scheme defines is kept as [`SchemeKind::Undefined`], with a
//! warning), the API-key parameters the server sends from its credentials rather than taking as
//! arguments, and the OAuth scopes a caller's token needs. Upstream credentials for the schemes
//! are decided later, with the config ([`super::upstream`]).

use crate::error::Result;
use crate::ir::{self, ArgLocation, KeyLocation, SchemeKind, Warning};
use crate::lower::Lowerer;
use crate::pointer::Pointer;
use openapiv3::Operation;
use serde_json::Value;
use std::collections::BTreeMap;

impl Lowerer<'_> {
    /// Reads `components.securitySchemes` into the scheme table. `mutualTLS` schemes, which
    /// `openapiv3` cannot parse (the structural view drops them with a warning), are read from
    /// the document itself.
    pub(super) fn security_schemes(&mut self) -> Result<()> {
        if let Some(components) = &self.api.components {
            for (name, scheme) in &components.security_schemes {
                let at = Pointer::root()
                    .join("components")
                    .join("securitySchemes")
                    .join(name);
                let (_, scheme) = self.deref(scheme, &at)?;
                self.schemes.insert(
                    name.clone(),
                    ir::SecurityScheme {
                        name: name.clone(),
                        pointer: at.clone(),
                        used: false,
                        kind: scheme_kind(&scheme),
                    },
                );
            }
        }
        if let Some(raw) = self
            .schemas
            .root
            .pointer("/components/securitySchemes")
            .and_then(Value::as_object)
        {
            for (name, scheme) in raw {
                if scheme.get("type").and_then(Value::as_str) == Some("mutualTLS") {
                    self.schemes.insert(
                        name.clone(),
                        ir::SecurityScheme {
                            name: name.clone(),
                            pointer: Pointer::root()
                                .join("components")
                                .join("securitySchemes")
                                .join(name),
                            used: false,
                            kind: SchemeKind::MutualTls,
                        },
                    );
                }
            }
        }
        Ok(())
    }

    /// The operation's effective `security` (its own, else the document's), as it is: nothing
    /// marked or added (what [`Lowerer::prepare`] needs; [`Lowerer::security`] decides the
    /// rest, in operation order).
    pub(super) fn requirements(&self, op: &Operation) -> Vec<BTreeMap<String, Vec<String>>> {
        effective(op, self.api)
            .iter()
            .map(|req| {
                req.iter()
                    .map(|(name, scopes)| (name.clone(), scopes.clone()))
                    .collect()
            })
            .collect()
    }

    /// The operation's effective `security` (its own, else the document's), every scheme it
    /// names marked used; a name the document does not define is added as unsupported, with a
    /// warning.
    pub(super) fn security(
        &mut self,
        op: &Operation,
        op_ptr: &Pointer,
        warnings: &mut Vec<Warning>,
    ) -> Vec<BTreeMap<String, Vec<String>>> {
        let at = match op.security {
            Some(_) => op_ptr.join("security"),
            None => Pointer::root().join("security"),
        };
        for (i, req) in effective(op, self.api).iter().enumerate() {
            for name in req.keys() {
                let scheme = self.schemes.entry(name.clone()).or_insert_with(|| {
                    warnings.push(Warning::spec(
                        at.join(i),
                        format!(
                            "securityScheme `{name}` is not defined in components.securitySchemes; the server cannot send it"
                        ),
                    ));
                    ir::SecurityScheme {
                        name: name.clone(),
                        pointer: at.join(i),
                        used: false,
                        kind: SchemeKind::Undefined,
                    }
                });
                scheme.used = true;
            }
        }
        self.requirements(op)
    }

    /// The `apiKey` scheme of the operation's security that sends a parameter of this name and
    /// location, if any: the server sends it from its credentials, so it is not an argument.
    pub(super) fn api_key_scheme(
        &self,
        security: &[BTreeMap<String, Vec<String>>],
        location: ArgLocation,
        name: &str,
    ) -> Option<String> {
        security
            .iter()
            .flat_map(|alt| alt.keys())
            .find_map(|scheme| {
                let Some(ir::SecurityScheme {
                    kind: SchemeKind::ApiKey { location: l, param },
                    ..
                }) = self.schemes.get(scheme)
                else {
                    return None;
                };
                let same = match (l, location) {
                    (KeyLocation::Header, ArgLocation::Header) => param.eq_ignore_ascii_case(name),
                    (KeyLocation::Query, ArgLocation::Query)
                    | (KeyLocation::Cookie, ArgLocation::Cookie) => param == name,
                    _ => false,
                };
                same.then(|| scheme.clone())
            })
    }

    /// Scopes per `security` alternative, from the schemes that carry scopes (`oauth2`,
    /// `openIdConnect`). When any alternative needs none, no scope is needed at all.
    pub(super) fn scope_alternatives(
        &self,
        security: &[BTreeMap<String, Vec<String>>],
    ) -> Vec<Vec<String>> {
        let scoped = |name: &str| {
            self.schemes
                .get(name)
                .is_some_and(|s| s.kind.has_oauth_scopes())
        };
        let mut out: Vec<Vec<String>> = Vec::new();
        for req in security {
            let mut scopes: Vec<String> = req
                .iter()
                .filter(|(k, _)| scoped(k))
                .flat_map(|(_, v)| v.iter().cloned())
                .collect();
            scopes.sort();
            scopes.dedup();
            if scopes.is_empty() {
                return Vec::new();
            }
            if !out.contains(&scopes) {
                out.push(scopes);
            }
        }
        out
    }
}

/// What a security scheme of the document asks for.
fn scheme_kind(scheme: &openapiv3::SecurityScheme) -> SchemeKind {
    use openapiv3::{APIKeyLocation, SecurityScheme as S};
    match scheme {
        S::APIKey { location, name, .. } => {
            let location = match location {
                APIKeyLocation::Header => KeyLocation::Header,
                APIKeyLocation::Query => KeyLocation::Query,
                APIKeyLocation::Cookie => KeyLocation::Cookie,
            };
            // A header or cookie name must be an HTTP token (RFC 9110 §5.6.2); no request can
            // carry any other.
            if location != KeyLocation::Query && !crate::naming::is_http_token(name) {
                return SchemeKind::Unsupported {
                    reason: format!(
                        "an API key in a {} named `{}`, which is not a valid HTTP {} name",
                        location.as_str(),
                        name.escape_debug(),
                        location.as_str()
                    ),
                };
            }
            SchemeKind::ApiKey {
                location,
                param: name.clone(),
            }
        }
        S::HTTP { scheme, .. } => match scheme.trim().to_ascii_lowercase().as_str() {
            "bearer" => SchemeKind::HttpBearer,
            "basic" => SchemeKind::HttpBasic,
            other => SchemeKind::Unsupported {
                reason: format!("HTTP `{other}` authentication"),
            },
        },
        S::OAuth2 { flows, .. } => {
            let mut names = Vec::new();
            for (name, present) in [
                ("implicit", flows.implicit.is_some()),
                ("password", flows.password.is_some()),
                ("clientCredentials", flows.client_credentials.is_some()),
                ("authorizationCode", flows.authorization_code.is_some()),
            ] {
                if present {
                    names.push(name.to_string());
                }
            }
            SchemeKind::OAuth2 {
                client_credentials: flows.client_credentials.as_ref().map(|f| {
                    let mut scopes: Vec<String> = f.scopes.keys().cloned().collect();
                    scopes.sort();
                    ir::TokenFlow {
                        token_url: f.token_url.clone(),
                        scopes,
                    }
                }),
                flows: names,
            }
        }
        S::OpenIDConnect {
            open_id_connect_url,
            ..
        } => SchemeKind::OpenIdConnect {
            discovery_url: open_id_connect_url.clone(),
        },
    }
}

/// The operation's own `security`, else the document's (none when neither says).
fn effective<'o>(
    op: &'o Operation,
    api: &'o openapiv3::OpenAPI,
) -> &'o [openapiv3::SecurityRequirement] {
    op.security
        .as_deref()
        .or(api.security.as_deref())
        .unwrap_or_default()
}
