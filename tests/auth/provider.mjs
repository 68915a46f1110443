// A real OAuth 2.1 / OpenID Connect provider for tests/auth: npm `oidc-provider` (it sends the
// RFC 9207 `iss` with every authorization response), configured from a JSON file:
//
//   node provider.mjs CONFIG.json
//   { "jwks": {"keys": [private JWKs]},           // the test holds the private keys
//     "audience": "https://api.example/",         // the API audience (`aud` of access tokens)
//     "resource_scope": "items:read items:write", // scopes the API resource server grants
//     "clients": [{client_id, client_secret?, token_endpoint_auth_method, redirect_uris,
//                  grant_types?, response_types?}],
//     "client_credentials_ttl": {"client-id": seconds},  // default 600
//     "extra_scopes": ["..."],                           // besides openid, offline_access
//     "access_token_format": "opaque",                   // default "jwt": for the API's tokens
//     "reject_resource": true,      // as Entra ID: a `resource` parameter is an error (AADSTS901002)
//     "entra_default_scope": true,  // as Entra ID: scope `<audience>/.default` asks for the API's
//                                   // token with every scope of it
//     "token_exchange": {"client-id": {"audiences": ["https://upstream.example/"],
//                                      "scope": "items:read", "ttl": 600}},
//                                   // RFC 8693 token exchange, per client allowed to exchange
//     "on_behalf_of": {"client-id": {"resources": ["api://upstream"], "scope": "items:read"}},
//                                   // Entra ID's on-behalf-of grant, per client allowed to use it
//     "mount_path": "/realms/test", // the issuer's path: as Keycloak's realms (`/realms/<realm>`)
//                                   // or Okta's custom authorization servers (`/oauth2/<id>`);
//                                   // nothing is served outside it
//     "rfc8414_alias": true,        // as Okta's custom authorization servers: RFC 8414 metadata
//                                   // at `<issuer>/.well-known/oauth-authorization-server` too
//     "fixed_audience": true,       // as Okta: every API token is for the audience, nothing
//                                   // needs to ask for it
//     "reject_audience": true,      // an `audience` parameter on /auth is an error
//     "cookie_keys": ["..."],
//     "port": 8123 }               // the port to listen on (default: a free one)
//
// It listens on a free 127.0.0.1 port (or `port`), prints `listening PORT` on stdout (its issuer is
// http://127.0.0.1:PORT) and logs one line per request on stderr. Access tokens for the API are
// RS256 JWTs (resource indicators, RFC 8707): for `resource` = the audience or any loopback
// `…/mcp` URL, and — as Auth0 does — for an `audience` parameter when no `resource` is sent.
// Logins go through the development interactions (any login and password; the consent form
// grants what was asked), so a headless client can complete them by submitting the forms.
// Clients registered with the `client_credentials` grant get opaque access tokens for it (the
// upstream credentials of the generated servers), which token introspection confirms; every
// issued grant is logged as `grant.success GRANT_TYPE client=ID scope=REQUESTED`, so the suite
// counts fetches and sees what was asked for. With `access_token_format: "opaque"` the API's
// access tokens are opaque too (reference tokens, as Keycloak, Okta or Ory can issue), checked by
// introspection (`/token/introspection`) and revocable (`/token/revocation`).
// With `token_exchange`, the token endpoint also takes RFC 8693 token exchange (oidc-provider has no
// such grant; it is registered here with `registerGrantType`): oidc-provider authenticates the
// client (and refuses one whose `grant_types` lack the grant), the subject token must be an access
// token oidc-provider issued (found by its value: opaque tokens), valid and for the API's
// audience; the client must be listed, the `audience` one of its audiences and the scopes within
// its `scope`. A real, introspectable access token is issued for that audience (opaque,
// `ttl` seconds), for the subject's user; successes are logged as `grant.success` like the others.
// With `on_behalf_of`, the token endpoint takes Entra ID's on-behalf-of request as Microsoft
// documents it (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`, the caller's token as
// `assertion`, `requested_token_use=on_behalf_of`, one `<resource>/.default` scope): the assertion
// must be a JWT access token this provider signed for the API's audience; the client (which may
// authenticate only as registered, e.g. client_secret_post) must be listed with that resource.
import { readFileSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

// The package lives in the npm prefix run.sh installs (AUTH_NPM_PREFIX, default .cache/npm-auth).
const prefix = process.env.AUTH_NPM_PREFIX ?? join(import.meta.dirname, "../../.cache/npm-auth");
const entry = createRequire(join(prefix, "package.json")).resolve("oidc-provider");
const { default: Provider, errors } = await import(pathToFileURL(entry).href);
// jose as oidc-provider resolves it (one of its dependencies).
const jose = await import(pathToFileURL(createRequire(entry).resolve("jose")).href);

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const AUDIENCE = config.audience;

const isOurResource = (indicator) => {
  if (indicator === AUDIENCE) return true;
  const url = URL.parse(indicator);
  return !!url && url.protocol === "http:" && url.hostname === "127.0.0.1" && url.pathname === "/mcp" && !url.search;
};

const server = http.createServer();
server.listen(config.port ?? 0, "127.0.0.1", () => {
  const { port } = server.address();
  const mount = (config.mount_path ?? "").replace(/\/+$/, "");
  const issuer = `http://127.0.0.1:${port}${mount}`;
  const provider = new Provider(issuer, {
    clients: config.clients.map((c) => ({
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      ...c,
    })),
    jwks: config.jwks,
    cookies: { keys: config.cookie_keys },
    extraParams: ["audience"],
    scopes: ["openid", "offline_access", ...(config.extra_scopes ?? [])],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx, _client, oneOf) => {
          if (oneOf) return oneOf;
          if (config.fixed_audience) return AUDIENCE;
          const audience = ctx.oidc.params?.audience;
          return audience && isOurResource(audience) ? audience : undefined;
        },
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, indicator) => {
          // What the client sent (params.resource may be the default resource by now).
          const sent = ctx.method === "GET" ? ctx.query?.resource : ctx.oidc.body?.resource;
          if (config.reject_resource && sent) {
            throw new errors.InvalidTarget("AADSTS901002: The 'resource' request parameter is not supported.");
          }
          if (!isOurResource(indicator)) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
          return {
            scope: config.resource_scope,
            audience: AUDIENCE,
            accessTokenTTL: 600,
            accessTokenFormat: config.access_token_format ?? "jwt",
            ...(config.access_token_format === "opaque" ? {} : { jwt: { sign: { alg: "RS256" } } }),
          };
        },
      },
    },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 120,
      ClientCredentials: (_ctx, _token, client) => config.client_credentials_ttl?.[client.clientId] ?? 600,
      IdToken: 600,
      RefreshToken: 3600,
      Grant: 3600,
      Session: 3600,
      Interaction: 600,
    },
  });
  if (config.entra_default_scope) {
    // `<audience>/.default`: the API's token, with every scope the API has (Entra ID's static
    // consent), asked for by the audience as Auth0 would.
    const defaultScope = `${AUDIENCE.replace(/\/+$/, "")}/.default`;
    provider.use(async (ctx, next) => {
      if (ctx.path === "/auth" && ctx.method === "GET") {
        const scopes = (ctx.query.scope ?? "").split(" ").filter(Boolean);
        if (scopes.includes(defaultScope)) {
          const rest = scopes.filter((s) => s !== defaultScope);
          ctx.query = { ...ctx.query, scope: [...rest, ...config.resource_scope.split(" ")].join(" "), audience: AUDIENCE };
        }
      }
      await next();
    });
  }
  if (config.token_exchange) registerTokenExchange(provider, config.token_exchange);
  if (config.on_behalf_of) registerOnBehalfOf(provider, issuer, config.on_behalf_of);
  if (config.reject_audience) {
    provider.use(async (ctx, next) => {
      if (ctx.path === "/auth" && ctx.query.audience !== undefined) {
        ctx.status = 400;
        ctx.body = { error: "invalid_request", error_description: "the audience parameter is not supported" };
        return;
      }
      await next();
    });
  }
  for (const event of ["authorization.error", "grant.error", "server_error", "registration_create.error", "introspection.error"]) {
    provider.on(event, (_ctx, err) => console.error(`provider ${event}: ${err?.message} ${err?.error_description ?? ""}`));
  }
  provider.on("grant.success", (ctx) =>
    console.error(
      `grant.success ${ctx.oidc.params?.grant_type} client=${ctx.oidc.client?.clientId} scope=${ctx.oidc.params?.scope ?? ""}`,
    ),
  );
  const app = provider.callback();
  server.on("request", (req, res) => {
    const started = Date.now();
    const path = req.url.split("?")[0];
    res.on("finish", () => {
      console.error(`${req.method} ${path} -> ${res.statusCode} (${Date.now() - started} ms)`);
    });
    if (mount) {
      // Mounted under the issuer's path, as oidc-provider's documentation does it.
      if (path !== mount && !path.startsWith(`${mount}/`)) {
        res.statusCode = 404;
        res.end("not found");
        return;
      }
      req.originalUrl = req.url;
      req.url = req.url.slice(mount.length) || "/";
    }
    if (config.rfc8414_alias && req.url.split("?")[0] === "/.well-known/oauth-authorization-server") {
      req.url = "/.well-known/openid-configuration";
      // oidc-provider finds its mount path by where the handled URL starts in the original one.
      req.originalUrl = `${mount}${req.url}`;
    }
    app(req, res);
  });
  console.log(`listening ${port}`);
});


function registerTokenExchange(provider, policies) {
  const handler = async (ctx) => {
    const { client, params } = ctx.oidc;
    const policy = policies[client.clientId];
    if (!policy) throw new errors.UnauthorizedClient("this client may not exchange tokens");
    if (!params.subject_token) throw new errors.InvalidRequest("missing required parameter 'subject_token'");
    if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    if (params.requested_token_type && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest("only access tokens are issued");
    }
    const subject = await provider.AccessToken.find(params.subject_token);
    if (!subject || !subject.isValid) throw new errors.InvalidGrant("subject token is invalid or expired");
    if (![subject.aud].flat().includes(AUDIENCE)) throw new errors.InvalidGrant("subject token is not for this API");
    const audience = params.audience;
    if (!audience || !policy.audiences.includes(audience)) {
      throw new errors.InvalidTarget(`audience ${audience ?? "(none)"} is not allowed for this client`);
    }
    const allowed = new Set(policy.scope.split(" "));
    const requested = (params.scope ?? "").split(" ").filter(Boolean);
    const refused = requested.filter((s) => !allowed.has(s));
    if (refused.length) throw new errors.InvalidScope(`scope ${refused.join(" ")} is not allowed for this audience`);
    const resourceServer = new provider.ResourceServer(audience, {
      audience,
      scope: policy.scope,
      accessTokenFormat: "opaque",
      accessTokenTTL: policy.ttl ?? 600,
    });
    const token = new provider.AccessToken({
      accountId: subject.accountId,
      client,
      scope: requested.join(" ") || undefined,
      gty: "token_exchange",
      resourceServer,
      expiresIn: policy.ttl ?? 600,
    });
    ctx.oidc.entity("AccessToken", token);
    const value = await token.save();
    ctx.body = {
      access_token: value,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: "Bearer",
      expires_in: token.expiration,
      scope: token.scope,
    };
  };
  provider.registerGrantType(TOKEN_EXCHANGE, handler, [
    "subject_token",
    "subject_token_type",
    "requested_token_type",
    "audience",
    "scope",
    "actor_token",
    "actor_token_type",
  ]);
}


function registerOnBehalfOf(provider, issuer, policies) {
  const publicKeys = jose.createLocalJWKSet({
    keys: config.jwks.keys.map(({ d, p, q, dp, dq, qi, ...pub }) => pub),
  });
  const handler = async (ctx) => {
    const { client, params } = ctx.oidc;
    const policy = policies[client.clientId];
    if (!policy) throw new errors.UnauthorizedClient("this client may not use the on-behalf-of flow");
    if (params.requested_token_use !== "on_behalf_of") {
      throw new errors.InvalidRequest("requested_token_use must be on_behalf_of");
    }
    if (!params.assertion) throw new errors.InvalidRequest("missing required parameter 'assertion'");
    let claims;
    try {
      ({ payload: claims } = await jose.jwtVerify(params.assertion, publicKeys, { issuer, audience: AUDIENCE }));
    } catch (e) {
      throw new errors.InvalidGrant(`AADSTS50013: the assertion is not a valid token for this API (${e.code ?? e.message})`);
    }
    const scopes = (params.scope ?? "").split(" ").filter(Boolean);
    const resource = scopes.length === 1 && scopes[0].endsWith("/.default") ? scopes[0].slice(0, -"/.default".length) : undefined;
    if (!resource || !policy.resources.includes(resource)) {
      throw new errors.InvalidScope(`AADSTS65001: scope ${params.scope ?? "(none)"} is not consented for this client`);
    }
    const token = new provider.AccessToken({
      accountId: claims.sub,
      client,
      scope: policy.scope,
      gty: "on_behalf_of",
      resourceServer: new provider.ResourceServer(resource, {
        audience: resource,
        scope: policy.scope,
        accessTokenFormat: "opaque",
        accessTokenTTL: 600,
      }),
      expiresIn: 600,
    });
    ctx.oidc.entity("AccessToken", token);
    const value = await token.save();
    ctx.body = { token_type: "Bearer", scope: policy.scope, expires_in: token.expiration, access_token: value };
  };
  provider.registerGrantType(JWT_BEARER, handler, ["assertion", "scope", "requested_token_use"]);
}

const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
