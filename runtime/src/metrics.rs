//! The server's Prometheus metrics (`GET /metrics`, or on `--metrics-bind`): tool calls by tool
//! and outcome, their duration, upstream responses by status class, HTTP requests by route and
//! status, authentication refusals by reason, and the calls in flight. One registry for the
//! process; every series is created here, once, so a scrape always lists them all.
//!
//! A call's outcome: `success` for a result without `isError`; `tool_error` for an error result
//! after the upstream API was asked (its error, a timeout, a refused connection); `rejected` for
//! an error before any upstream request (invalid arguments, a refusing hook, a custom tool's
//! error, an unknown tool). Unknown tool names are counted under the tool label `_unknown`, so a
//! client cannot grow the label set.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock, RwLock};
use std::time::Instant;

use prometheus::{
    Encoder as _, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    Opts, Registry, TextEncoder,
};

/// How a tool call ended (the `outcome` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    ToolError,
    Rejected,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::ToolError => "tool_error",
            Outcome::Rejected => "rejected",
        }
    }
}

/// The tool label of calls of a tool this server does not have.
pub const UNKNOWN_TOOL: &str = "_unknown";

/// Why a request was refused before reaching the server (the `reason` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthRejection {
    /// No `Authorization: Bearer` token.
    MissingToken,
    /// A token that is malformed, unknown, expired or not for this server.
    InvalidToken,
    /// A valid token without the scopes of the tool called.
    InsufficientScope,
    /// The token could not be checked (the authorization server's keys are unavailable).
    VerifierUnavailable,
    /// `hooks::check_request` refused the request.
    HookDenied,
}

impl AuthRejection {
    pub fn label(self) -> &'static str {
        match self {
            AuthRejection::MissingToken => "missing_token",
            AuthRejection::InvalidToken => "invalid_token",
            AuthRejection::InsufficientScope => "insufficient_scope",
            AuthRejection::VerifierUnavailable => "verifier_unavailable",
            AuthRejection::HookDenied => "hook_denied",
        }
    }
}

/// Bucket bounds of the call duration histogram, in seconds: from a cached answer (a few
/// milliseconds) to the default upstream timeout (30 s).
const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The series.
pub struct Metrics {
    registry: Registry,
    tool_calls: IntCounterVec,
    duration: HistogramVec,
    upstream: IntCounterVec,
    http: IntCounterVec,
    auth: IntCounterVec,
    in_flight: IntGauge,
    /// The series of each tool called so far, looked up once per call instead of per label
    /// set and series (tool names are those the catalog serves, and `_unknown`: bounded).
    tools: RwLock<HashMap<Box<str>, ToolSeries>>,
    /// `mcp_upstream_responses_total` by [`status_class`]'s index.
    upstream_classes: [OnceLock<IntCounter>; STATUS_CLASSES.len()],
    /// `mcp_http_requests_total` by route index ([`route`]) and index in [`COMMON_STATUSES`].
    http_common: [[OnceLock<IntCounter>; COMMON_STATUSES.len()]; ROUTES.len() + 1],
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn get() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Self {
        let registry = Registry::new();
        // The options are constants: building and registering them cannot fail unless two
        // series shared a name, which the names below rule out.
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let series = IntCounterVec::new(Opts::new(name, help), labels)
                .unwrap_or_else(|e| unreachable!("metric {name}: {e}"));
            registry
                .register(Box::new(series.clone()))
                .unwrap_or_else(|e| unreachable!("metric {name}: {e}"));
            series
        };
        let tool_calls = counter(
            "mcp_tool_calls_total",
            "Tool calls by tool and outcome (success, tool_error, rejected before any upstream request).",
            &["tool", "outcome"],
        );
        let upstream = counter(
            "mcp_upstream_responses_total",
            "Upstream API responses by status class (1xx..5xx; `failed`: no response, such as a timeout or a refused connection).",
            &["status_class"],
        );
        let http = counter(
            "mcp_http_requests_total",
            "HTTP requests by route (`other` for paths the server does not serve) and status.",
            &["path", "status"],
        );
        let auth = counter(
            "mcp_auth_rejections_total",
            "Requests refused by authentication or authorization, by reason.",
            &["reason"],
        );
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "mcp_tool_call_duration_seconds",
                "Duration of tool calls, from the call's arrival to its result, by tool.",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["tool"],
        )
        .unwrap_or_else(|e| unreachable!("metric mcp_tool_call_duration_seconds: {e}"));
        registry
            .register(Box::new(duration.clone()))
            .unwrap_or_else(|e| unreachable!("metric mcp_tool_call_duration_seconds: {e}"));
        let in_flight = IntGauge::new("mcp_calls_in_flight", "Tool calls being answered now.")
            .unwrap_or_else(|e| unreachable!("metric mcp_calls_in_flight: {e}"));
        registry
            .register(Box::new(in_flight.clone()))
            .unwrap_or_else(|e| unreachable!("metric mcp_calls_in_flight: {e}"));
        // Series without labels of their own are visible from the first scrape on: a
        // dashboard's rate() needs the zero before the first increment.
        for reason in [
            AuthRejection::MissingToken,
            AuthRejection::InvalidToken,
            AuthRejection::InsufficientScope,
            AuthRejection::VerifierUnavailable,
            AuthRejection::HookDenied,
        ] {
            auth.with_label_values(&[reason.label()]);
        }
        for class in ["2xx", "4xx", "5xx", "failed"] {
            upstream.with_label_values(&[class]);
        }
        Self {
            registry,
            tool_calls,
            duration,
            upstream,
            http,
            auth,
            in_flight,
            tools: RwLock::new(HashMap::new()),
            upstream_classes: Default::default(),
            http_common: Default::default(),
        }
    }

    /// Runs `f` on the series of `tool`, made the first time.
    fn with_tool<R>(&self, tool: &str, f: impl FnOnce(&ToolSeries) -> R) -> R {
        if let Ok(tools) = self.tools.read()
            && let Some(series) = tools.get(tool)
        {
            return f(series);
        }
        let series = ToolSeries {
            outcomes: [Outcome::Success, Outcome::ToolError, Outcome::Rejected]
                .map(|outcome| self.tool_calls.with_label_values(&[tool, outcome.label()])),
            duration: self.duration.with_label_values(&[tool]),
        };
        let result = f(&series);
        if let Ok(mut tools) = self.tools.write() {
            tools.entry(tool.into()).or_insert(series);
        }
        result
    }

    /// Counts the start of a tool call; the guard counts its end.
    pub fn call_started(&'static self) -> CallGuard {
        self.in_flight.inc();
        CallGuard {
            metrics: self,
            started: Instant::now(),
        }
    }

    /// Counts a tool call of `tool` that ended with `outcome` after `seconds`.
    pub fn record_call(&self, tool: &str, outcome: Outcome, seconds: f64) {
        self.with_tool(tool, |series| {
            series.outcomes[outcome as usize].inc();
            series.duration.observe(seconds);
        });
    }

    /// Counts an upstream response of `status` (`None`: no response came).
    pub fn upstream_response(&self, status: Option<u16>) {
        let class = status_class(status);
        self.upstream_classes[class]
            .get_or_init(|| self.upstream.with_label_values(&[STATUS_CLASSES[class]]))
            .inc();
    }

    /// Counts an HTTP request of the route of index `route` ([`route`]) answered with
    /// `status`.
    pub fn http_request_route(&self, route: usize, status: u16) {
        let label = route_name(route);
        let counter = |status: u16| {
            let digits = itoa_status(status);
            let status = std::str::from_utf8(&digits).unwrap_or("000");
            self.http.with_label_values(&[label, status])
        };
        match (
            self.http_common.get(route),
            COMMON_STATUSES.iter().position(|s| *s == status),
        ) {
            (Some(row), Some(i)) => row[i].get_or_init(|| counter(status)).inc(),
            _ => counter(status).inc(),
        }
    }

    /// Counts a refused request.
    pub fn auth_rejection(&self, reason: AuthRejection) {
        self.auth.with_label_values(&[reason.label()]).inc();
    }

    /// The metrics in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> Result<(String, Vec<u8>), String> {
        let encoder = TextEncoder::new();
        let mut out = Vec::with_capacity(4096);
        encoder
            .encode(&self.registry.gather(), &mut out)
            .map_err(|e| format!("cannot encode the metrics: {e}"))?;
        Ok((encoder.format_type().to_owned(), out))
    }
}

/// Three ASCII digits of an HTTP status (100..=999 by `http`'s own check).
fn itoa_status(status: u16) -> [u8; 3] {
    let status = status.min(999);
    [
        b'0' + (status / 100) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
    ]
}

/// One tool call being answered: [`CallGuard::finish`] counts it. Dropped unfinished (a call
/// cancelled by its client) it only leaves the in-flight gauge.
pub struct CallGuard {
    metrics: &'static Metrics,
    started: Instant,
}

impl CallGuard {
    /// Counts the call of `tool` as ended with `outcome`.
    pub fn finish(self, tool: &str, outcome: Outcome) {
        let seconds = self.started.elapsed().as_secs_f64();
        self.metrics.record_call(tool, outcome, seconds);
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        self.metrics.in_flight.dec();
    }
}

/// The `/metrics` handler.
pub async fn handler() -> axum::response::Response {
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::IntoResponse as _;
    match get().render() {
        Ok((content_type, body)) => {
            let mut response = body.into_response();
            if let Ok(value) = HeaderValue::from_str(&content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            response
        }
        Err(message) => {
            tracing::error!("{message}");
            (StatusCode::INTERNAL_SERVER_ERROR, message).into_response()
        }
    }
}

/// The route of a request path: its index in [`ROUTES`], `ROUTES.len()` for any other path.
/// Every HTTP request is counted by its route and status ([`crate::limits::Outer`]); the
/// server's routes are fixed paths and `other` stands for any other, so that a scanner cannot
/// grow the label set.
pub fn route(path: &str) -> usize {
    ROUTES
        .iter()
        .position(|route| *route == path)
        .unwrap_or(ROUTES.len())
}

/// The label of a route index of [`route`].
fn route_name(route: usize) -> &'static str {
    ROUTES.get(route).copied().unwrap_or("other")
}

/// The paths the server serves.
const ROUTES: &[&str] = &[
    "/mcp",
    "/healthz",
    "/readyz",
    "/metrics",
    "/.well-known/oauth-protected-resource",
    "/.well-known/oauth-protected-resource/mcp",
    "/.well-known/oauth-authorization-server",
    "/oauth/authorize",
    "/oauth/callback",
    "/oauth/token",
    "/oauth/register",
];

/// The statuses whose series are kept at hand per route.
const COMMON_STATUSES: [u16; 12] = [200, 202, 204, 302, 400, 401, 403, 404, 405, 406, 415, 503];

/// The `status_class` labels of upstream responses.
const STATUS_CLASSES: [&str; 7] = ["1xx", "2xx", "3xx", "4xx", "5xx", "other", "failed"];

/// The index in [`STATUS_CLASSES`] of an upstream response's status (`None`: no response).
fn status_class(status: Option<u16>) -> usize {
    match status {
        Some(100..=199) => 0,
        Some(200..=299) => 1,
        Some(300..=399) => 2,
        Some(400..=499) => 3,
        Some(500..=599) => 4,
        Some(_) => 5,
        None => 6,
    }
}

/// The series of one tool: its call counts by [`Outcome`] (in the enum's order) and its
/// duration histogram.
struct ToolSeries {
    outcomes: [IntCounter; 3],
    duration: Histogram,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_three_digits() {
        assert_eq!(&itoa_status(200), b"200");
        assert_eq!(&itoa_status(404), b"404");
        assert_eq!(&itoa_status(1200), b"999");
    }

    #[test]
    fn routes_are_a_closed_set() {
        assert_eq!(route_name(route("/mcp")), "/mcp");
        assert_eq!(route_name(route("/readyz")), "/readyz");
        assert_eq!(route_name(route("/wp-admin/../etc")), "other");
        assert_eq!(route_name(route("/mcp/")), "other");
    }

    #[test]
    fn calls_are_counted_by_tool_and_outcome() {
        let metrics = get();
        metrics
            .call_started()
            .finish("unit_test_tool", Outcome::Success);
        metrics
            .call_started()
            .finish("unit_test_tool", Outcome::Rejected);
        metrics
            .call_started()
            .finish("unit_test_tool", Outcome::Rejected);
        metrics.upstream_response(Some(503));
        metrics.upstream_response(None);
        metrics.http_request_route(route("/mcp"), 200);
        metrics.auth_rejection(AuthRejection::InvalidToken);
        let (content_type, body) = metrics.render().expect("encodes");
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        let text = String::from_utf8(body).expect("utf-8");
        for line in [
            "mcp_tool_calls_total{outcome=\"rejected\",tool=\"unit_test_tool\"} 2",
            "mcp_tool_calls_total{outcome=\"success\",tool=\"unit_test_tool\"} 1",
            "mcp_tool_call_duration_seconds_count{tool=\"unit_test_tool\"} 3",
            "mcp_http_requests_total{path=\"/mcp\",status=\"200\"}",
            "mcp_upstream_responses_total{status_class=\"failed\"}",
            "mcp_auth_rejections_total{reason=\"hook_denied\"} 0",
            "# TYPE mcp_calls_in_flight gauge",
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
    }
}
