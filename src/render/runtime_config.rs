//! The runtime's configuration types, defined once: `runtime/src/config.rs` is compiled here as
//! it is in every generated crate, with owned text (`String`, `Vec<String>`) in place of the
//! runtime's `&'static` one. The auth IR is turned into values of those types, and one emitter
//! writes each value as the Rust expression the generated `auth_config.rs` holds. The emitter
//! destructures every struct and matches every variant, so a field or variant added to the
//! runtime's types fails this module's build until it is written out.
//!
//! Every string becomes a Rust string literal token: no configured text can break the
//! generated code.

#[path = "../../runtime/src/config.rs"]
mod config;

use crate::ir::KeyLocation;
use crate::ir::auth::{
    BearerIr, ClientAuth as IrClientAuth, ExchangeGrant as IrExchangeGrant, OAuthIr,
    Profile as IrProfile, Setting as IrSetting, TokenEndpoint,
    TokenValidation as IrTokenValidation, UpstreamKind, UpstreamScheme,
};
use crate::render::text::lit;
use config::{
    BearerConfig, ClientAuth, Endpoint, ExchangeGrant, Kind, Location, OAuthConfig, Profile,
    Scheme, Setting, TokenValidation,
};

/// `crate::auth::BearerConfig { .. }`: the `bearer` section as `auth_config::BEARER`.
pub fn bearer_expr(bearer: &BearerIr) -> String {
    let BearerIr { tokens, forward } = bearer;
    BearerConfig {
        tokens: tokens.as_ref().map(setting),
        forward: *forward,
    }
    .rust()
}

/// `oauth::Config { .. }`: the `oauth` section as `auth_config::OAUTH`.
pub fn oauth_expr(oauth: &OAuthIr) -> String {
    let OAuthIr {
        issuer,
        oauth_metadata_url,
        authorize_url,
        audience,
        client_id,
        client_secret,
        default_scope,
        setup_proxies,
        setup_fake_dynamic_registration,
        forward_token,
        allowed_redirect_uris,
        token_validation,
        introspection_endpoint,
        provider,
        cimd_allow_private_hosts,
    } = oauth;
    let opt = |s: &Option<IrSetting>| s.as_ref().map(setting);
    OAuthConfig {
        issuer: setting(issuer),
        oauth_metadata_url: opt(oauth_metadata_url),
        authorize_url: opt(authorize_url),
        audience: opt(audience),
        client_id: opt(client_id),
        client_secret: opt(client_secret),
        default_scope: opt(default_scope),
        setup_proxies: *setup_proxies,
        setup_fake_dynamic_registration: *setup_fake_dynamic_registration,
        forward_token: *forward_token,
        allowed_redirect_uris: allowed_redirect_uris.clone(),
        token_validation: match token_validation {
            IrTokenValidation::Jwt => TokenValidation::Jwt,
            IrTokenValidation::Introspection => TokenValidation::Introspection,
            IrTokenValidation::Auto => TokenValidation::Auto,
        },
        introspection_endpoint: opt(introspection_endpoint),
        provider: match provider {
            IrProfile::Generic => Profile::Generic,
            IrProfile::Auth0 => Profile::Auth0,
            IrProfile::Okta => Profile::Okta,
            IrProfile::Keycloak => Profile::Keycloak,
            IrProfile::Entra => Profile::Entra,
            IrProfile::Google => Profile::Google,
            IrProfile::Github => Profile::Github,
        },
        cimd_allow_private_hosts: *cimd_allow_private_hosts,
    }
    .rust()
}

/// `crate::credentials::Scheme { .. }`: an upstream security scheme as an entry of
/// `auth_config::UPSTREAM`.
pub fn scheme_expr(scheme: &UpstreamScheme) -> String {
    let UpstreamScheme {
        name,
        description,
        kind,
        configured: _,
        caller,
    } = scheme;
    let kind = match kind {
        UpstreamKind::ApiKey {
            location,
            param,
            key,
        } => Kind::ApiKey {
            location: match location {
                KeyLocation::Header => Location::Header,
                KeyLocation::Query => Location::Query,
                KeyLocation::Cookie => Location::Cookie,
            },
            name: param.clone(),
            key: setting(key),
        },
        UpstreamKind::Bearer { token } => Kind::Bearer {
            token: setting(token),
        },
        UpstreamKind::Basic { username, password } => Kind::Basic {
            username: setting(username),
            password: setting(password),
        },
        UpstreamKind::ClientCredentials {
            client_id,
            client_secret,
            endpoint,
            scopes,
            audience,
            auth_method,
        } => Kind::ClientCredentials {
            client_id: setting(client_id),
            client_secret: setting(client_secret),
            endpoint: match endpoint {
                TokenEndpoint::TokenUrl(url) => Endpoint::Token(setting(url)),
                TokenEndpoint::Discovery(url) => Endpoint::Discovery(setting(url)),
            },
            scopes: scopes.clone(),
            audience: audience.as_ref().map(setting),
            auth: auth_method.map(|method| match method {
                IrClientAuth::ClientSecretBasic => ClientAuth::Basic,
                IrClientAuth::ClientSecretPost => ClientAuth::Post,
            }),
        },
        UpstreamKind::TokenExchange {
            token_url,
            client_id,
            client_secret,
            audience,
            scopes,
            grant,
        } => Kind::TokenExchange {
            token_url: setting(token_url),
            client_id: setting(client_id),
            client_secret: setting(client_secret),
            audience: audience.as_ref().map(setting),
            scopes: scopes.clone(),
            grant: match grant {
                IrExchangeGrant::TokenExchange => ExchangeGrant::TokenExchange,
                IrExchangeGrant::EntraOnBehalfOf => ExchangeGrant::EntraOnBehalfOf,
            },
        },
        UpstreamKind::Unsupported { reason, .. } => Kind::Unsupported {
            reason: reason.clone(),
        },
    };
    Scheme {
        name: name.clone(),
        what: description.clone(),
        kind,
        caller: *caller,
    }
    .rust()
}

fn setting(s: &IrSetting) -> Setting<String> {
    match s {
        IrSetting::Literal(value) => Setting::Literal(value.clone()),
        IrSetting::Env(name) => Setting::Env(name.clone()),
    }
}

/// A value as the Rust expression that builds it in the generated crate, by the paths
/// `auth_config.rs` names the runtime's types with.
trait Rust {
    fn rust(&self) -> String;
}

impl Rust for String {
    fn rust(&self) -> String {
        lit(self)
    }
}

impl Rust for bool {
    fn rust(&self) -> String {
        self.to_string()
    }
}

/// A list as a `&'static [&'static str]` expression.
impl Rust for Vec<String> {
    fn rust(&self) -> String {
        let items: Vec<String> = self.iter().map(|s| lit(s)).collect();
        format!("&[{}]", items.join(", "))
    }
}

impl<T: Rust> Rust for Option<T> {
    fn rust(&self) -> String {
        match self {
            Some(value) => format!("::std::option::Option::Some({})", value.rust()),
            None => "::std::option::Option::None".to_owned(),
        }
    }
}

impl Rust for Setting<String> {
    fn rust(&self) -> String {
        match self {
            Setting::Literal(value) => format!("crate::auth::Setting::Literal({})", lit(value)),
            Setting::Env(name) => format!("crate::auth::Setting::Env({})", lit(name)),
        }
    }
}

impl Rust for BearerConfig<String> {
    fn rust(&self) -> String {
        let BearerConfig { tokens, forward } = self;
        format!(
            "crate::auth::BearerConfig {{ tokens: {}, forward: {} }}",
            tokens.rust(),
            forward.rust()
        )
    }
}

impl Rust for OAuthConfig<String, Vec<String>> {
    fn rust(&self) -> String {
        let OAuthConfig {
            issuer,
            oauth_metadata_url,
            authorize_url,
            audience,
            client_id,
            client_secret,
            default_scope,
            setup_proxies,
            setup_fake_dynamic_registration,
            forward_token,
            allowed_redirect_uris,
            token_validation,
            introspection_endpoint,
            provider,
            cimd_allow_private_hosts,
        } = self;
        let fields = [
            ("issuer", issuer.rust()),
            ("oauth_metadata_url", oauth_metadata_url.rust()),
            ("authorize_url", authorize_url.rust()),
            ("audience", audience.rust()),
            ("client_id", client_id.rust()),
            ("client_secret", client_secret.rust()),
            ("default_scope", default_scope.rust()),
            ("setup_proxies", setup_proxies.rust()),
            (
                "setup_fake_dynamic_registration",
                setup_fake_dynamic_registration.rust(),
            ),
            ("forward_token", forward_token.rust()),
            ("allowed_redirect_uris", allowed_redirect_uris.rust()),
            ("token_validation", token_validation.rust()),
            ("introspection_endpoint", introspection_endpoint.rust()),
            ("provider", provider.rust()),
            ("cimd_allow_private_hosts", cimd_allow_private_hosts.rust()),
        ];
        format!("oauth::Config {{ {} }}", struct_fields(&fields))
    }
}

impl Rust for TokenValidation {
    fn rust(&self) -> String {
        let variant = match self {
            TokenValidation::Jwt => "Jwt",
            TokenValidation::Introspection => "Introspection",
            TokenValidation::Auto => "Auto",
        };
        format!("oauth::TokenValidation::{variant}")
    }
}

impl Rust for Profile {
    fn rust(&self) -> String {
        let variant = match self {
            Profile::Generic => "Generic",
            Profile::Auth0 => "Auth0",
            Profile::Okta => "Okta",
            Profile::Keycloak => "Keycloak",
            Profile::Entra => "Entra",
            Profile::Google => "Google",
            Profile::Github => "Github",
        };
        format!("oauth::Profile::{variant}")
    }
}

impl Rust for Location {
    fn rust(&self) -> String {
        let variant = match self {
            Location::Header => "Header",
            Location::Query => "Query",
            Location::Cookie => "Cookie",
        };
        format!("crate::credentials::Location::{variant}")
    }
}

impl Rust for ClientAuth {
    fn rust(&self) -> String {
        let variant = match self {
            ClientAuth::Basic => "Basic",
            ClientAuth::Post => "Post",
        };
        format!("crate::credentials::ClientAuth::{variant}")
    }
}

impl Rust for ExchangeGrant {
    fn rust(&self) -> String {
        let variant = match self {
            ExchangeGrant::TokenExchange => "TokenExchange",
            ExchangeGrant::EntraOnBehalfOf => "EntraOnBehalfOf",
        };
        format!("crate::credentials::ExchangeGrant::{variant}")
    }
}

impl Rust for Endpoint<String> {
    fn rust(&self) -> String {
        match self {
            Endpoint::Token(url) => format!("crate::credentials::Endpoint::Token({})", url.rust()),
            Endpoint::Discovery(url) => {
                format!("crate::credentials::Endpoint::Discovery({})", url.rust())
            }
        }
    }
}

impl Rust for Kind<String, Vec<String>> {
    fn rust(&self) -> String {
        let (variant, fields) = match self {
            Kind::ApiKey {
                location,
                name,
                key,
            } => (
                "ApiKey",
                vec![
                    ("location", location.rust()),
                    ("name", name.rust()),
                    ("key", key.rust()),
                ],
            ),
            Kind::Bearer { token } => ("Bearer", vec![("token", token.rust())]),
            Kind::Basic { username, password } => (
                "Basic",
                vec![("username", username.rust()), ("password", password.rust())],
            ),
            Kind::ClientCredentials {
                client_id,
                client_secret,
                endpoint,
                scopes,
                audience,
                auth,
            } => (
                "ClientCredentials",
                vec![
                    ("client_id", client_id.rust()),
                    ("client_secret", client_secret.rust()),
                    ("endpoint", endpoint.rust()),
                    ("scopes", scopes.rust()),
                    ("audience", audience.rust()),
                    ("auth", auth.rust()),
                ],
            ),
            Kind::TokenExchange {
                token_url,
                client_id,
                client_secret,
                audience,
                scopes,
                grant,
            } => (
                "TokenExchange",
                vec![
                    ("token_url", token_url.rust()),
                    ("client_id", client_id.rust()),
                    ("client_secret", client_secret.rust()),
                    ("audience", audience.rust()),
                    ("scopes", scopes.rust()),
                    ("grant", grant.rust()),
                ],
            ),
            Kind::Unsupported { reason } => ("Unsupported", vec![("reason", reason.rust())]),
        };
        format!(
            "crate::credentials::Kind::{variant} {{ {} }}",
            struct_fields(&fields)
        )
    }
}

impl Rust for Scheme<String, Vec<String>> {
    fn rust(&self) -> String {
        let Scheme {
            name,
            what,
            kind,
            caller,
        } = self;
        let fields = [
            ("name", name.rust()),
            ("what", what.rust()),
            ("kind", kind.rust()),
            ("caller", caller.rust()),
        ];
        format!(
            "crate::credentials::Scheme {{ {} }}",
            struct_fields(&fields)
        )
    }
}

/// `a: x, b: y`: the fields of a struct expression.
fn struct_fields(fields: &[(&str, String)]) -> String {
    fields
        .iter()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parses(expr: &str) -> syn::Expr {
        syn::parse_str(expr).unwrap_or_else(|e| panic!("{e}: {expr}"))
    }

    #[test]
    fn every_kind_is_one_rust_expression() {
        let env = |n: &str| IrSetting::Env(n.to_owned());
        let hostile = "a\"b\\c */ #\"\n";
        let kinds = [
            UpstreamKind::ApiKey {
                location: KeyLocation::Cookie,
                param: hostile.to_owned(),
                key: env("KEY"),
            },
            UpstreamKind::Bearer {
                token: IrSetting::Literal(hostile.to_owned()),
            },
            UpstreamKind::Basic {
                username: env("U"),
                password: env("P"),
            },
            UpstreamKind::ClientCredentials {
                client_id: env("ID"),
                client_secret: env("SECRET"),
                endpoint: TokenEndpoint::Discovery(env("URL")),
                scopes: vec!["a".to_owned(), hostile.to_owned()],
                audience: Some(env("AUD")),
                auth_method: Some(IrClientAuth::ClientSecretPost),
            },
            UpstreamKind::TokenExchange {
                token_url: IrSetting::Literal(hostile.to_owned()),
                client_id: env("ID"),
                client_secret: env("SECRET"),
                audience: None,
                scopes: vec![hostile.to_owned()],
                grant: IrExchangeGrant::EntraOnBehalfOf,
            },
        ];
        for kind in kinds {
            let scheme = UpstreamScheme {
                name: hostile.to_owned(),
                description: "d".to_owned(),
                kind,
                configured: true,
                caller: false,
            };
            let expr = scheme_expr(&scheme);
            parses(&expr);
            assert!(
                expr.starts_with("crate::credentials::Scheme { name: "),
                "{expr}"
            );
        }
        let bearer = bearer_expr(&BearerIr {
            tokens: None,
            forward: true,
        });
        assert_eq!(
            bearer,
            "crate::auth::BearerConfig { tokens: ::std::option::Option::None, forward: true }"
        );
        parses(&bearer);
    }

    #[test]
    fn text_stays_a_literal() {
        let text = "x\"); panic!(\"";
        let expr: syn::ExprCall =
            syn::parse_str(&Setting::Literal(text.to_owned()).rust()).expect("a call");
        let Some(syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(literal),
            ..
        })) = expr.args.first()
        else {
            panic!("the argument is not a string literal");
        };
        assert_eq!(literal.value(), text);
    }
}
