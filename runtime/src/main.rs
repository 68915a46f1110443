//! An MCP server for an HTTP API: each tool calls one API operation.

mod admission;
mod args;
mod auth;
mod auth_config;
mod body;
mod catalog;
mod client_credentials;
mod config;
mod credentials;
mod custom_tools;
mod direct;
mod discover;
mod encoding;
mod errors;
mod hooks;
mod limits;
mod metrics;
mod origins;
mod readiness;
mod redact;
mod request;
mod response;
mod runtime;
mod search;
mod search_index;
mod search_text;
mod server;
mod sessions;
mod settings;
mod telemetry;
mod token_exchange;
mod tool_info;
mod tools;
mod tools_json;
mod transport;
mod types;
mod upstream;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use clap::Parser;
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpServerConfig;
use rmcp::transport::StreamableHttpService;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use tracing::{error, info, warn};

use crate::server::Server;

/// How MCP clients reach the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Transport {
    /// Streamable HTTP at `/mcp`.
    Http,
    /// JSON-RPC over standard input and output.
    Stdio,
}

/// How `tools/list` presents the tools (`tool_info::ToolMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ToolModeArg {
    /// Every served tool is listed.
    All,
    /// `search_tools`, `describe_tools`, `execute_tool` and `execute_read_only_tool` are listed
    /// instead of the generated tools.
    Discover,
}

impl From<ToolModeArg> for tool_info::ToolMode {
    fn from(mode: ToolModeArg) -> Self {
        match mode {
            ToolModeArg::All => tool_info::ToolMode::All,
            ToolModeArg::Discover => tool_info::ToolMode::Discover,
        }
    }
}

/// Command-line flags; each can also be set through its environment variable.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// How MCP clients connect.
    #[arg(long, env = "MCP_TRANSPORT", value_enum, default_value_t = Transport::Http)]
    transport: Transport,

    /// Address to listen on (HTTP transport).
    #[arg(long, env = "MCP_BIND", default_value = "127.0.0.1:8000")]
    bind: String,

    /// Base URL of the upstream API.
    #[arg(long, env = "UPSTREAM_BASE_URL", default_value = tools::DEFAULT_UPSTREAM_URL)]
    upstream_url: String,

    /// Externally visible base URL of this server [default: http://<bind>].
    #[arg(long, env = "MCP_PUBLIC_URL")]
    public_url: Option<String>,

    /// Host names (optionally host:port) accepted in the Host header, comma-separated; `*`
    /// accepts any. The host of --public-url is always accepted.
    #[arg(
        long,
        env = "MCP_ALLOWED_HOSTS",
        value_delimiter = ',',
        default_value = "localhost,127.0.0.1,::1"
    )]
    allowed_hosts: Vec<String>,

    /// Browser origins (`scheme://host[:port]`, port `*` for any; `null`) accepted in the Origin
    /// header, comma-separated; `*` accepts any. Requests without an Origin header (clients that
    /// are not browsers) are not affected. [default: http and https on any port of each allowed
    /// host; the origin of --public-url is always accepted]
    #[arg(long, env = "MCP_ALLOWED_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,

    /// Seconds an upstream API call may take, connection included.
    #[arg(long, env = "UPSTREAM_TIMEOUT_SECS", default_value_t = 30)]
    upstream_timeout: u64,

    /// Bytes of an upstream response passed on to the client at most; longer responses are
    /// truncated with a note.
    #[arg(long, env = "UPSTREAM_MAX_RESPONSE_BYTES", default_value_t = upstream::DEFAULT_MAX_RESPONSE_BYTES)]
    max_response_bytes: usize,

    /// Keep MCP sessions (Mcp-Session-Id) instead of serving every request statelessly.
    #[arg(long, env = "MCP_STATEFUL", value_parser = clap::builder::BoolishValueParser::new())]
    stateful: bool,

    /// How tools/list presents the tools: `all` lists every served tool; `discover` lists four
    /// tools that search, describe and run them instead (for APIs too large to list). The
    /// served tools stay callable by name in both modes.
    #[arg(
        long,
        env = "MCP_TOOL_MODE",
        value_enum,
        default_value = catalog::mode_name(tools::DEFAULT_TOOL_MODE)
    )]
    tool_mode: ToolModeArg,

    /// Serve only the tools of these toolsets (comma-separated; a tool's toolset is its
    /// operation's first tag in snake_case, `default` when untagged). Empty: every toolset.
    #[arg(long, env = "MCP_TOOLSETS", value_delimiter = ',')]
    toolsets: Vec<String>,

    /// Seconds a connection may take to send a request's head, counted from when it connects
    /// or its last response ends; an idle connection is closed after this long.
    #[arg(long, env = "MCP_HEADER_READ_TIMEOUT_SECS", default_value_t = limits::DEFAULT_HEADER_READ_TIMEOUT_SECS)]
    header_read_timeout: u64,

    /// Seconds a request body may take to arrive.
    #[arg(long, env = "MCP_BODY_READ_TIMEOUT_SECS", default_value_t = limits::DEFAULT_BODY_READ_TIMEOUT_SECS)]
    body_read_timeout: u64,

    /// Connections open at once at most; beyond it (or when the process runs out of file
    /// descriptors) the connection idle the longest is closed.
    #[arg(long, env = "MCP_MAX_CONNECTIONS", default_value_t = limits::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,

    /// `/mcp` requests answered at once at most; more get 503 with Retry-After.
    #[arg(long, env = "MCP_MAX_CALLS_IN_FLIGHT", default_value_t = limits::DEFAULT_MAX_CALLS_IN_FLIGHT)]
    max_calls_in_flight: usize,

    /// Bytes of a `/mcp` request body at most; larger ones get 413.
    #[arg(long, env = "MCP_MAX_BODY_BYTES", default_value_t = limits::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,

    /// Stateful sessions kept at most (--stateful); a new one beyond it closes the session
    /// used least recently.
    #[arg(long, env = "MCP_MAX_SESSIONS", default_value_t = limits::DEFAULT_MAX_SESSIONS)]
    max_sessions: usize,

    /// Seconds the server keeps serving after SIGTERM, with /readyz answering 503 so that load
    /// balancers take it out, before it stops accepting connections and finishes the calls in
    /// flight (for up to the upstream timeout).
    #[arg(long, env = "MCP_DRAIN_SECS", default_value_t = 5)]
    drain_secs: u64,

    /// Serve /metrics (Prometheus) on this address instead of the main one.
    #[arg(long, env = "MCP_METRICS_BIND")]
    metrics_bind: Option<String>,

    /// How log lines are written to standard error.
    #[arg(long, env = "MCP_LOG_FORMAT", value_enum, default_value_t = telemetry::LogFormat::Text)]
    log_format: telemetry::LogFormat,

    /// Check the server listening on --bind instead of starting one: exit status 0 when its
    /// /healthz answers 200 within 2 s, else 1 (for a container's HEALTHCHECK).
    #[arg(long)]
    healthcheck: bool,
}

/// Runs the server; exit status 2 on a start-up error. The runtime is not waited for on exit: a
/// blocking read of standard input (stdio transport) cannot be cancelled and would keep the
/// process alive after SIGTERM.
fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.healthcheck {
        return healthcheck(&cli.bind);
    }
    let telemetry = telemetry::init(cli.log_format, tools::SERVER_NAME);
    // On a single core (a container limited to one CPU, or a process pinned to one) one thread
    // serves with less overhead than a work-stealing pool of one worker.
    let one_core = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    let mut builder = if one_core {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            error!("cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(run(cli));
    runtime.shutdown_background();
    telemetry.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            error!("{message}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let upstream_url = cli.upstream_url.trim().to_owned();
    if upstream_url.is_empty() {
        return Err("no upstream API URL: pass --upstream-url or set UPSTREAM_BASE_URL".to_owned());
    }
    let timeout = Duration::from_secs(cli.upstream_timeout.max(1));
    let credentials = credentials::Credentials::load(auth_config::UPSTREAM);
    credentials.log_summary();
    let upstream = upstream::Upstream::new(&upstream_url, timeout)?
        .with_max_response_bytes(cli.max_response_bytes.max(1))
        .with_credentials(Arc::new(credentials));
    // Without a user name and password: they are sent, never logged.
    let shown_url = upstream.shown_url().to_owned();
    let server = Server::new(upstream, cli.tool_mode.into(), &cli.toolsets)?;
    log_tools(&server);

    match cli.transport {
        Transport::Stdio => run_stdio(server, &shown_url).await,
        Transport::Http => run_http(cli, server, &shown_url, timeout).await,
    }
}

async fn run_stdio(server: Server, upstream_url: &str) -> Result<(), String> {
    info!(
        "{} {}: {} tools over stdio, upstream {upstream_url}",
        tools::SERVER_NAME,
        tools::SERVER_VERSION,
        server.catalog().listed_count()
    );
    if auth_config::MODE != "none" {
        info!(
            "authentication (mode {}) applies to HTTP only: a stdio client runs the server itself",
            auth_config::MODE
        );
    }
    let running = tokio::select! {
        running = server.serve(rmcp::transport::stdio()) => {
            running.map_err(|e| format!("stdio transport failed to start: {e}"))?
        }
        _ = shutdown_signal() => return Ok(()),
    };
    let cancel = running.cancellation_token();
    tokio::select! {
        quit = running.waiting() => {
            quit.map_err(|e| format!("stdio transport failed: {e}"))?;
        }
        _ = shutdown_signal() => cancel.cancel(),
    }
    Ok(())
}

/// Serves `/mcp`, `/healthz`, `/readyz` and `/metrics` (or that on `--metrics-bind`). On
/// SIGTERM `/readyz` answers 503 at once and the server keeps serving for `--drain-secs`, so that
/// load balancers take it out; then (at once on Ctrl-C, or on a second signal) it stops
/// accepting connections, lets calls in progress finish for up to `grace` (the upstream
/// timeout), then closes what is still open, such as stateful event streams.
async fn run_http(
    cli: Cli,
    server: Server,
    upstream_url: &str,
    grace: Duration,
) -> Result<(), String> {
    let drain = Duration::from_secs(cli.drain_secs);
    let public_url = match &cli.public_url {
        Some(url) => Some(
            reqwest::Url::parse(url.trim())
                .map_err(|e| format!("invalid --public-url `{url}`: {e}"))?,
        ),
        None => None,
    };
    let mut allowed_hosts = list(&cli.allowed_hosts);
    if let Some(host) = public_url.as_ref().and_then(|url| url.host_str()) {
        allowed_hosts.push(host.to_owned());
    }
    let allowed_origins = origins::allowed_origins(
        &list(&cli.allowed_origins),
        &allowed_hosts,
        public_url.as_ref(),
    )?;

    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(cli.stateful)
        .with_json_response(true)
        .with_max_request_body_bytes(cli.max_body_bytes.max(1))
        .with_allowed_hosts(allowed_hosts.clone());
    if allowed_hosts.iter().any(|host| host == "*") {
        config = config.disable_allowed_hosts();
    }
    config = match &allowed_origins {
        Some(origins) => config
            .with_allowed_origins(origins.clone())
            .enforce_origin_validation(),
        None => config.disable_allowed_origins(),
    };
    let listener = tokio::net::TcpListener::bind(&cli.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cli.bind))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {}: {e}", cli.bind))?;
    let public_url = public_url.map_or_else(
        || format!("http://{local}"),
        |url| url.as_str().trim_end_matches('/').to_owned(),
    );
    let auth = auth_config::build(&public_url)?
        .with_catalog(server.catalog().clone())
        .with_max_body_bytes(cli.max_body_bytes.max(1));

    let cancel = config.cancellation_token.clone();
    let tool_count = server.catalog().listed_count();
    let direct_server = server.clone();
    let factory = move || Ok(server.clone());
    let mcp = if cli.stateful {
        let manager = Arc::new(LocalSessionManager::default());
        let sessions = Arc::new(sessions::Sessions::new(manager.clone(), cli.max_sessions));
        Router::new()
            .nest_service("/mcp", StreamableHttpService::new(factory, manager, config))
            .layer(axum::middleware::from_fn_with_state(
                sessions,
                sessions::bound,
            ))
            .layer(axum::middleware::from_fn_with_state(
                auth.clone(),
                auth::guard,
            ))
    } else {
        let any_host = allowed_hosts.iter().any(|host| host == "*");
        let endpoint = direct::Endpoint {
            auth: auth.clone(),
            hosts: direct::Hosts::new((!any_host).then_some(&allowed_hosts[..])),
            server: direct_server,
            mcp: StreamableHttpService::new(
                factory,
                Arc::new(NeverSessionManager::default()),
                config,
            ),
        };
        Router::new().route(
            "/mcp",
            axum::routing::any(direct::serve).with_state(Arc::new(endpoint)),
        )
    };
    let mut app = mcp
        .merge(auth.routes())
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready));
    match &cli.metrics_bind {
        None => app = app.route("/metrics", get(metrics::handler)),
        Some(bind) => serve_metrics(bind).await?,
    }
    // The request limits wrap the router, per connection: a connection counts as busy until
    // its response body ends.
    let app = limits::Outer::new(
        app,
        limits::RequestLimits::new(
            Duration::from_secs(cli.body_read_timeout.max(1)),
            cli.max_calls_in_flight,
        ),
    );

    let (max_connections, open_files) = limits::connection_cap(cli.max_connections);
    if let Some(open_files) = open_files {
        info!(
            "at most {max_connections} connections instead of {} (MCP_MAX_CONNECTIONS): the process may open {open_files} files (ulimit -n), and upstream calls need some",
            cli.max_connections
        );
    }
    let listener = limits::Limited::new(
        listener,
        max_connections,
        Duration::from_secs(cli.header_read_timeout.max(1)),
    );
    info!(
        "{} {}: {tool_count} tools at http://{local}/mcp ({}; public URL {public_url}/mcp), upstream {upstream_url}",
        tools::SERVER_NAME,
        tools::SERVER_VERSION,
        if cli.stateful {
            "stateful"
        } else {
            "stateless"
        },
    );
    if auth.mode() == "none" && !local.ip().is_loopback() {
        warn!("authentication: {}", auth.summary());
    } else {
        info!("authentication: {}", auth.summary());
    }
    if !local.ip().is_loopback()
        && allowed_hosts
            .iter()
            .all(|host| ["localhost", "127.0.0.1", "::1", "[::1]"].contains(&host.as_str()))
    {
        warn!(
            "listening on {local}, but only loopback names are accepted in the Host header \
             (DNS-rebinding protection): set --allowed-hosts to the names clients use"
        );
    }
    let cancel_late = cancel.clone();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            if shutdown_signal().await == Signal::Terminate && !drain.is_zero() {
                readiness::drain();
                info!(
                    "SIGTERM: draining (/readyz answers 503) for {} s before closing",
                    drain.as_secs()
                );
                tokio::select! {
                    () = tokio::time::sleep(drain) => {}
                    _ = shutdown_signal() => info!("a second signal: closing now"),
                }
            }
            readiness::drain();
            info!(
                "shutting down: no new connections; calls in flight have {} s to finish",
                grace.as_secs()
            );
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                cancel_late.cancel();
            });
        })
        .await;
    cancel.cancel();
    served.map_err(|e| format!("HTTP server failed: {e}"))
}

/// `--healthcheck`: `GET /healthz` of the server on `bind` (an unspecified address such as
/// `0.0.0.0` is reached on loopback), with plain blocking I/O: no runtime for one request.
fn healthcheck(bind: &str) -> ExitCode {
    use std::io::{Read as _, Write as _};
    use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};

    let timeout = Duration::from_secs(2);
    let probe = || -> Result<bool, String> {
        let mut addr: SocketAddr = bind
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {bind}: {e}"))?
            .next()
            .ok_or_else(|| format!("{bind} names no address"))?;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        let mut stream = TcpStream::connect_timeout(&addr, timeout)
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            .and_then(|()| {
                stream.write_all(
                    b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                )
            })
            .map_err(|e| format!("cannot ask {addr}: {e}"))?;
        let mut head = [0u8; 12];
        stream
            .read_exact(&mut head)
            .map_err(|e| format!("no answer from {addr}: {e}"))?;
        Ok(head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200"))
    };
    match probe() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("unhealthy: /healthz did not answer 200");
            ExitCode::FAILURE
        }
        Err(message) => {
            eprintln!("unhealthy: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `GET /readyz`: 200 while the server takes calls; 503 while it starts (mode `oauth`: until
/// the provider's keys were fetched once) and once it drains.
async fn ready() -> (axum::http::StatusCode, &'static str) {
    match readiness::not_ready_reason() {
        None => (axum::http::StatusCode::OK, "ready"),
        Some(why) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, why),
    }
}

/// Serves `/metrics` alone on `bind` (until the process exits).
async fn serve_metrics(bind: &str) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind} (--metrics-bind): {e}"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {bind} (--metrics-bind): {e}"))?;
    info!("metrics at http://{local}/metrics");
    let app = Router::new().route("/metrics", get(metrics::handler));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            error!("the metrics server failed: {e}");
        }
    });
    Ok(())
}

/// Logs the tool mode and the served toolsets.
fn log_tools(server: &Server) {
    let catalog = server.catalog();
    let toolsets = if catalog.toolsets().is_empty() {
        "all toolsets".to_owned()
    } else {
        format!("toolsets {}", catalog.toolsets().join(", "))
    };
    info!(
        "tool mode {}: {} tools listed; {} of {} generated tools served ({toolsets})",
        catalog::mode_name(catalog.mode()),
        catalog.listed_count(),
        catalog.served_generated_count(),
        tools::TOOL_INFO.len(),
    );
}

/// The non-empty, trimmed entries of a comma-separated flag.
fn list(values: &[String]) -> Vec<String> {
    values
        .iter()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
        .collect()
}

/// A signal that stops the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Signal {
    /// Ctrl-C (SIGINT): stop without draining.
    Interrupt,
    /// SIGTERM (what Kubernetes, systemd and container engines send): drain, then stop.
    Terminate,
}

/// Completes on Ctrl-C or SIGTERM, saying which.
async fn shutdown_signal() -> Signal {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            warn!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => Signal::Interrupt,
        () = terminate => Signal::Terminate,
    }
}
