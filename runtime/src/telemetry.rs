//! Logs, traces and the per-call bookkeeping of metrics.
//!
//! Logs go to standard error, as text or JSON lines (`--log-format`). Traces follow the W3C
//! Trace Context: a `traceparent` (and `tracestate`) arriving in a call's `params._meta` (MCP's
//! SEP-414) or on its HTTP request continues into the upstream request the call makes, with a
//! span id of this server's. When `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, spans are exported over OTLP (HTTP, protobuf):
//! one server span per tool call, named and attributed as the OpenTelemetry semantic
//! conventions for MCP say (`tools/call {tool}`, `mcp.method.name`, `gen_ai.tool.name`,
//! `jsonrpc.request.id`), and one client span per upstream HTTP request, as the HTTP
//! conventions say (`{method}`, `http.request.method`, `server.address`, `url.full`,
//! `http.response.status_code`). The other `OTEL_*` variables of the OTLP exporter and the
//! batch span processor apply (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME`,
//! `OTEL_BSP_SCHEDULE_DELAY`, ...). Without an endpoint no span is recorded: a call costs no
//! more than the trace context's copy.
//!
//! Each tool call runs in a [`CallScope`] (a task-local value): the trace context it continues,
//! and whether it reached the upstream API — what tells a `rejected` call from a `tool_error`
//! one in the metrics.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::{SpanContext, TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{IdGenerator as _, RandomIdGenerator, SdkTracerProvider};
use rmcp::model::CallToolResult;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::metrics::{self, Outcome};

/// The target of the spans; `RUST_LOG=mcp_trace=info` shows them in the logs too.
const TARGET: &str = "mcp_trace";

/// Whether spans are exported (set once, at start-up).
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line (timestamp, level, target, fields, spans).
    Json,
}

/// What [`init`] set up; [`Telemetry::shutdown`] exports the spans still buffered.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports what is buffered and stops the exporter (outside the async runtime: the
    /// exporter's HTTP client blocks).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            tracing::warn!("cannot export the last spans: {e}");
        }
    }
}

/// Sets up logging (standard error; `RUST_LOG` takes `target=level` directives) and, when an
/// OTLP endpoint is configured, the span exporter. Call it before the async runtime starts.
pub fn init(format: LogFormat, service_name: &str) -> Telemetry {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;

    let default = || {
        Targets::new()
            .with_default(tracing::Level::INFO)
            .with_target("rmcp", tracing::Level::WARN)
            .with_target(TARGET, LevelFilter::OFF)
            .with_target("opentelemetry", tracing::Level::WARN)
            .with_target("opentelemetry_sdk", tracing::Level::WARN)
    };
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => spec.parse().unwrap_or_else(|_| default()),
        _ => default(),
    };
    let (provider, problem) = match exporter(service_name) {
        Ok(provider) => (provider, None),
        Err(message) => (None, Some(message)),
    };
    match &provider {
        // The common case: one global filter, whose verdicts tracing caches per call site, so
        // a disabled event or span costs next to nothing on the path of a call.
        None => tracing_subscriber::registry()
            .with(log_layer(format))
            .with(filter)
            .init(),
        Some(provider) => {
            let traces = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("mcpgen"))
                .with_filter(Targets::new().with_target(TARGET, tracing::Level::INFO));
            tracing_subscriber::registry()
                .with(log_layer(format).with_filter(filter))
                .with(traces)
                .init();
        }
    }
    if let Some(message) = problem {
        tracing::warn!("traces are not exported: {message}");
    }
    if provider.is_some() {
        EXPORTING.store(true, Ordering::Relaxed);
        tracing::info!("exporting traces over OTLP (HTTP)");
    }
    Telemetry { provider }
}

/// The layer writing log lines to standard error in `format`.
fn log_layer<S>(format: LogFormat) -> Box<dyn tracing_subscriber::Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use tracing_subscriber::Layer as _;
    match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(crate::redact::LogWriter)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(crate::redact::LogWriter)
            .boxed(),
    }
}

/// The OTLP span exporter, when an endpoint is configured.
fn exporter(service_name: &str) -> Result<Option<SdkTracerProvider>, String> {
    let configured = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    if !configured("OTEL_EXPORTER_OTLP_ENDPOINT")
        && !configured("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    {
        return Ok(None);
    }
    for name in [
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    ] {
        if let Ok(protocol) = std::env::var(name)
            && !protocol.trim().is_empty()
            && protocol.trim() != "http/protobuf"
        {
            return Err(format!(
                "{name}={protocol}: this server exports over http/protobuf only"
            ));
        }
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| format!("cannot build the OTLP exporter: {e}"))?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if !configured("OTEL_SERVICE_NAME") {
        resource = resource.with_service_name(service_name.to_owned());
    }
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build(),
    ))
}

/// A W3C trace context to continue: the caller's span (trace id, its span id, flags, state).
#[derive(Clone, Debug)]
pub struct Parent(SpanContext);

impl Parent {
    /// The trace context of a call: `params._meta`'s `traceparent`/`tracestate` (MCP SEP-414),
    /// else the HTTP request's headers. `None` when neither carries a valid `traceparent`.
    pub fn of_call(
        meta: Option<&serde_json::Map<String, serde_json::Value>>,
        headers: Option<&HeaderMap>,
    ) -> Option<Self> {
        let from_meta = meta.filter(|meta| !meta.is_empty()).and_then(|meta| {
            let field = |name: &str| meta.get(name).and_then(serde_json::Value::as_str);
            extract(&Pairs(field("traceparent")?, field("tracestate")))
        });
        // Most calls carry no trace context: no propagator runs for them.
        from_meta.or_else(|| {
            headers
                .filter(|headers| headers.contains_key("traceparent"))
                .and_then(|headers| extract(&Headers(headers)))
        })
    }

    /// The trace id, 32 lower-case hex digits.
    #[cfg(test)]
    fn trace_id(&self) -> String {
        self.0.trace_id().to_string()
    }
}

fn extract(carrier: &dyn Extractor) -> Option<Parent> {
    let context = TraceContextPropagator::new().extract(carrier);
    let span = context.span().span_context().clone();
    span.is_valid().then_some(Parent(span))
}

/// `traceparent` and `tracestate` from `_meta`.
struct Pairs<'a>(&'a str, Option<&'a str>);

impl Extractor for Pairs<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            "traceparent" => Some(self.0),
            "tracestate" => self.1,
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent", "tracestate"]
    }
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// What one tool call carries along (see the module's documentation).
struct CallScope {
    parent: Option<Parent>,
    upstream_asked: Cell<bool>,
}

tokio::task_local! {
    static CALL: CallScope;
}

/// Runs the call of `tool` (`None`: a name this server does not serve) as `call`: counts it
/// in the metrics by its outcome, and records its server span continuing `parent`.
///
/// The call comes boxed: a tool call's future is large (its upstream request's is), and this
/// one, its scope and its caller's would each hold a copy of it, moved at every step.
pub async fn observe_call(
    tool: Option<&str>,
    request_id: &(dyn std::fmt::Display + Sync),
    parent: Option<Parent>,
    call: Pin<Box<dyn Future<Output = Option<CallToolResult>> + Send + '_>>,
) -> Option<CallToolResult> {
    let guard = metrics::get().call_started();
    let span = if EXPORTING.load(Ordering::Relaxed) {
        server_span(
            tool.unwrap_or(metrics::UNKNOWN_TOOL),
            request_id,
            parent.as_ref(),
        )
    } else {
        tracing::Span::none()
    };
    let scope = CallScope {
        parent,
        upstream_asked: Cell::new(false),
    };
    let work = CALL.scope(scope, async {
        let result = call.await;
        let asked = CALL.with(|scope| scope.upstream_asked.get());
        (result, asked)
    });
    // Without a span the call runs as it is: no wrapper to enter and leave at every poll.
    let (result, asked) = if span.is_none() {
        work.await
    } else {
        work.instrument(span.clone()).await
    };
    let outcome = match &result {
        Some(result) if result.is_error != Some(true) => Outcome::Success,
        Some(_) if asked => Outcome::ToolError,
        _ => Outcome::Rejected,
    };
    if !span.is_none() && outcome != Outcome::Success {
        span.record("error.type", outcome.label());
        span.record("otel.status_code", "ERROR");
    }
    guard.finish(tool.unwrap_or(metrics::UNKNOWN_TOOL), outcome);
    result
}

fn server_span(
    tool: &str,
    request_id: &(dyn std::fmt::Display + Sync),
    parent: Option<&Parent>,
) -> tracing::Span {
    let span = tracing::info_span!(
        target: TARGET,
        "tools/call",
        otel.name = %format_args!("tools/call {tool}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        mcp.method.name = "tools/call",
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.name = tool,
        jsonrpc.request.id = %request_id,
        network.transport = "tcp",
        error.type = tracing::field::Empty,
    );
    if let Some(parent) = parent {
        let context = Context::new().with_remote_span_context(parent.0.clone());
        if let Err(e) = span.set_parent(context) {
            tracing::debug!("cannot continue the caller's trace: {e}");
        }
    }
    span
}

/// One upstream HTTP request of a call: its client span (when exporting) and the trace
/// context it carries.
pub struct UpstreamRequest {
    span: tracing::Span,
}

impl UpstreamRequest {
    /// Starts an upstream request of `method` for the call in progress: marks the call as
    /// having reached the upstream API.
    /// `target` gives the server's address, port and the URL, asked only when exporting.
    pub fn start(method: &str, target: impl FnOnce() -> (String, Option<u16>, String)) -> Self {
        let _ = CALL.try_with(|scope| scope.upstream_asked.set(true));
        let span = if EXPORTING.load(Ordering::Relaxed) {
            let (server, port, url) = target();
            tracing::info_span!(
                target: TARGET,
                "upstream",
                otel.name = method,
                otel.kind = "client",
                otel.status_code = tracing::field::Empty,
                http.request.method = method,
                server.address = %server,
                server.port = port,
                url.full = %url,
                http.response.status_code = tracing::field::Empty,
                error.type = tracing::field::Empty,
            )
        } else {
            tracing::Span::none()
        };
        Self { span }
    }

    /// Adds `traceparent` (and `tracestate`) to the upstream request's headers: this span's
    /// when exporting, else the caller's trace with a new span id of this server's; nothing
    /// when neither exists.
    pub fn inject(&self, headers: &mut HeaderMap) {
        let propagator = TraceContextPropagator::new();
        if !self.span.is_none() {
            let context = self.span.context();
            if context.span().span_context().is_valid() {
                propagator.inject_context(&context, &mut HeaderInjector(headers));
                return;
            }
        }
        let parent = CALL.try_with(|scope| scope.parent.clone()).ok().flatten();
        if let Some(Parent(parent)) = parent {
            let child = SpanContext::new(
                parent.trace_id(),
                RandomIdGenerator::default().new_span_id(),
                parent.trace_flags(),
                false,
                parent.trace_state().clone(),
            );
            let context = Context::new().with_remote_span_context(child);
            propagator.inject_context(&context, &mut HeaderInjector(headers));
        }
    }

    /// The span to run the exchange in.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Records the response's status (`None`: no response came) in the metrics and the span.
    pub fn finish(&self, status: Option<u16>) {
        metrics::get().upstream_response(status);
        if self.span.is_none() {
            return;
        }
        match status {
            Some(status) => {
                self.span.record("http.response.status_code", status);
                if status >= 400 {
                    self.span.record("error.type", status);
                    self.span.record("otel.status_code", "ERROR");
                }
            }
            None => {
                self.span.record("error.type", "no_response");
                self.span.record("otel.status_code", "ERROR");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> (String, Option<u16>, String) {
        ("api.test".into(), None, "http://api.test/x".into())
    }

    const PARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn the_trace_context_comes_from_meta_first_then_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "traceparent",
            HeaderValue::from_static("00-11111111111111111111111111111111-2222222222222222-01"),
        );
        let mut meta = serde_json::Map::new();
        meta.insert("traceparent".into(), PARENT.into());
        let parent = Parent::of_call(Some(&meta), Some(&headers)).expect("valid");
        assert_eq!(parent.trace_id(), "0af7651916cd43dd8448eb211c80319c");
        let parent = Parent::of_call(None, Some(&headers)).expect("valid");
        assert_eq!(parent.trace_id(), "11111111111111111111111111111111");
        for bad in [
            "",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
        ] {
            let mut meta = serde_json::Map::new();
            meta.insert("traceparent".into(), bad.into());
            assert!(Parent::of_call(Some(&meta), None).is_none(), "{bad}");
        }
    }

    #[tokio::test]
    async fn upstream_requests_continue_the_callers_trace_with_a_new_span_id() {
        let mut meta = serde_json::Map::new();
        meta.insert("traceparent".into(), PARENT.into());
        meta.insert("tracestate".into(), "vendor=value".into());
        let parent = Parent::of_call(Some(&meta), None);
        let headers = observe_call(
            Some("t"),
            &1,
            parent,
            Box::pin(async {
                let request = UpstreamRequest::start("GET", target);
                let mut headers = HeaderMap::new();
                request.inject(&mut headers);
                request.finish(Some(200));
                let mut result = CallToolResult::success(Vec::new());
                result.structured_content =
                    Some(serde_json::json!({"headers": format!("{headers:?}")}));
                Some(result)
            }),
        )
        .await
        .and_then(|r| r.structured_content)
        .expect("a result");
        let text = headers["headers"].as_str().expect("text").to_owned();
        assert!(
            text.contains("00-0af7651916cd43dd8448eb211c80319c-"),
            "{text}"
        );
        assert!(
            !text.contains("b7ad6b7169203331"),
            "a span id of its own: {text}"
        );
        assert!(text.contains("vendor=value"), "{text}");

        let mut headers = HeaderMap::new();
        observe_call(
            Some("t"),
            &2,
            None,
            Box::pin(async {
                UpstreamRequest::start("GET", target).inject(&mut headers);
                None
            }),
        )
        .await;
        assert!(headers.is_empty(), "no trace to continue: {headers:?}");
    }
}
