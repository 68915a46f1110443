//! Limits of the HTTP server, each a flag with an environment variable (`main.rs`): how long a
//! connection may take to send a request's head ([`Limits::header_read_timeout`]) and its body
//! ([`Limits::body_read_timeout`]), how many connections are open at once, how many `/mcp`
//! requests are in flight, how large a request body may be (`auth.rs` reads `/mcp` bodies) and
//! how many stateful sessions are kept (`sessions.rs`).
//!
//! - Connections ([`Limited`], the listener `axum::serve` takes): every accepted connection is
//!   registered. A connection is *idle* while no request of it is being answered (from accept,
//!   and from the end of each response): an idle connection that has not completed a request
//!   head within the header read timeout is closed (slow or silent clients, Slowloris). At the
//!   connection cap, or when the process is out of file descriptors, the connection idle the
//!   longest is closed to make room; when every connection is busy the new one is closed. So
//!   idle connections never lock out a client that sends its request.
//! - Requests ([`Outer`], around the router on each connection): marks the connection busy while a
//!   request is answered (until its response body ends), bounds the time the request body may
//!   take to arrive, and refuses a `/mcp` POST beyond the calls-in-flight cap with `503` and
//!   `Retry-After`.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use hyper::body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

/// Defaults of the limits (the flags' defaults in `main.rs`).
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 30;
pub const DEFAULT_BODY_READ_TIMEOUT_SECS: u64 = 30;
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
pub const DEFAULT_MAX_CALLS_IN_FLIGHT: usize = 256;
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
pub const DEFAULT_MAX_SESSIONS: usize = 1000;

/// File descriptors kept free of connections for the upstream's connections, the log and the
/// files the server opens.
const RESERVED_DESCRIPTORS: usize = 64;

/// The connection cap to apply: `requested`, lowered below the process's limit of open files
/// (the soft `RLIMIT_NOFILE`, read from `/proc/self/limits` on Linux) less
/// [`RESERVED_DESCRIPTORS`], so connections never take the descriptors upstream calls need.
/// Returns the cap and, when it was lowered, the limit of open files.
pub fn connection_cap(requested: usize) -> (usize, Option<usize>) {
    let requested = requested.max(1);
    let Some(open_files) = open_files_limit() else {
        return (requested, None);
    };
    let room = open_files.saturating_sub(RESERVED_DESCRIPTORS).max(1);
    if requested > room {
        (room, Some(open_files))
    } else {
        (requested, None)
    }
}

/// The soft limit of open files of this process, when the system says it.
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files(&limits)
}

/// The soft `Max open files` of a `/proc/<pid>/limits` text (`None` when unlimited or absent).
fn parse_open_files(limits: &str) -> Option<usize> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// How long the listener waits after closing an idle connection because the process ran out
/// of file descriptors, before it accepts again (the descriptor is freed by the connection's
/// task).
const FD_WAIT: Duration = Duration::from_millis(5);

/// The state of one connection, shared by its stream ([`Conn`]), the registry and the requests
/// it carries ([`Connection`]).
struct ConnState {
    /// Requests being answered (their response bodies not finished).
    busy: AtomicUsize,
    /// Milliseconds since the registry's epoch at which the connection last became idle.
    idle_since: AtomicU64,
    /// Closed to make room: the stream fails its next read or write.
    evicted: AtomicBool,
    /// Idle longer than the header read timeout (set by the registry's sweep): the stream
    /// fails its next read while no request of it is being answered.
    timed_out: AtomicBool,
    /// The task reading the stream, woken when the connection is evicted or times out.
    waker: Mutex<Option<Waker>>,
}

impl ConnState {
    fn wake(&self) {
        if let Ok(mut waker) = self.waker.lock()
            && let Some(waker) = waker.take()
        {
            waker.wake();
        }
    }
}

/// The open connections.
struct Registry {
    epoch: Instant,
    connections: Mutex<Vec<Weak<ConnState>>>,
}

impl Registry {
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn register(&self) -> Arc<ConnState> {
        let state = Arc::new(ConnState {
            busy: AtomicUsize::new(0),
            idle_since: AtomicU64::new(self.now()),
            evicted: AtomicBool::new(false),
            timed_out: AtomicBool::new(false),
            waker: Mutex::new(None),
        });
        if let Ok(mut connections) = self.connections.lock() {
            connections.push(Arc::downgrade(&state));
        }
        state
    }

    /// Open connections not being closed; forgets closed ones.
    fn live(&self) -> usize {
        let Ok(mut connections) = self.connections.lock() else {
            return 0;
        };
        connections.retain(|c| c.strong_count() > 0);
        connections
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|c| !c.evicted.load(Ordering::Acquire))
            .count()
    }

    /// Closes the connection idle the longest; `false` when every connection is busy.
    fn evict_idle(&self) -> bool {
        let Ok(connections) = self.connections.lock() else {
            return false;
        };
        let oldest = connections
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|c| !c.evicted.load(Ordering::Acquire) && c.busy.load(Ordering::Acquire) == 0)
            .min_by_key(|c| c.idle_since.load(Ordering::Acquire));
        let Some(oldest) = oldest else {
            return false;
        };
        oldest.evicted.store(true, Ordering::Release);
        oldest.wake();
        true
    }

    /// Marks the connections idle for `timeout` or longer as timed out, and wakes their
    /// readers; forgets closed connections.
    fn sweep(&self, timeout: Duration) {
        let now = self.now();
        let timeout = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let Ok(mut connections) = self.connections.lock() else {
            return;
        };
        connections.retain(|c| c.strong_count() > 0);
        for state in connections.iter().filter_map(Weak::upgrade) {
            if state.busy.load(Ordering::Acquire) == 0
                && !state.timed_out.load(Ordering::Acquire)
                && now.saturating_sub(state.idle_since.load(Ordering::Acquire)) >= timeout
            {
                state.timed_out.store(true, Ordering::Release);
                state.wake();
            }
        }
    }
}

/// How often the registry looks for connections idle past the header read timeout: a
/// quarter of it, between 10 ms and 1 s. A request pays no timer of its own.
fn sweep_interval(timeout: Duration) -> Duration {
    (timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// The listener of the HTTP server: a TCP listener whose connections are registered, capped
/// and closed when idle too long (see the module documentation).
pub struct Limited {
    listener: TcpListener,
    registry: Arc<Registry>,
    max_connections: usize,
    /// When the last "connection refused: every connection busy" warning was logged.
    warned: Option<Instant>,
}

impl Limited {
    /// Call it inside the async runtime: it starts the task closing idle connections, which
    /// ends with the listener.
    pub fn new(
        listener: TcpListener,
        max_connections: usize,
        header_read_timeout: Duration,
    ) -> Self {
        let registry = Arc::new(Registry {
            epoch: Instant::now(),
            connections: Mutex::new(Vec::new()),
        });
        let weak = Arc::downgrade(&registry);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(sweep_interval(header_read_timeout));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(registry) = weak.upgrade() else {
                    return;
                };
                registry.sweep(header_read_timeout);
            }
        });
        Self {
            listener,
            registry,
            max_connections: max_connections.max(1),
            warned: None,
        }
    }

    /// Logs at most one warning a minute.
    fn warn(&mut self, message: &str) {
        if self
            .warned
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(60))
        {
            self.warned = Some(Instant::now());
            tracing::warn!("{message}");
        }
    }
}

impl Listener for Limited {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        loop {
            match self.listener.accept().await {
                Ok((tcp, addr)) => {
                    if self.registry.live() >= self.max_connections && !self.registry.evict_idle() {
                        drop(tcp);
                        self.warn(&format!(
                            "{} connections, each answering a request (MCP_MAX_CONNECTIONS): new connections are closed until one finishes",
                            self.max_connections
                        ));
                        continue;
                    }
                    if let Err(e) = tcp.set_nodelay(true) {
                        tracing::debug!("cannot set TCP_NODELAY: {e}");
                    }
                    let state = self.registry.register();
                    return (
                        Conn {
                            tcp,
                            state,
                            registry: self.registry.clone(),
                        },
                        addr,
                    );
                }
                Err(e) if out_of_descriptors(&e) => {
                    if self.registry.evict_idle() {
                        tokio::time::sleep(FD_WAIT).await;
                    } else {
                        self.warn(&format!(
                            "cannot accept a connection ({e}), and every connection is answering a request: raise the limit of open files (ulimit -n) or lower MCP_MAX_CONNECTIONS"
                        ));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                Err(e) if connection_error(&e) => {}
                Err(e) => {
                    tracing::error!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// EMFILE or ENFILE: the process or the system has no file descriptor left.
fn out_of_descriptors(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24))
}

/// An error of one connection, not of the listener (as `axum::serve` tells them apart).
fn connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// An accepted connection: reads fail once it has been idle longer than the header read
/// timeout, or once it was closed to make room.
pub struct Conn {
    tcp: TcpStream,
    state: Arc<ConnState>,
    registry: Arc<Registry>,
}

impl Conn {
    fn evicted(&self) -> bool {
        self.state.evicted.load(Ordering::Acquire)
    }
}

fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "closed to make room for another connection",
    )
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Ok(mut waker) = this.state.waker.lock() {
            match &*waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *waker = Some(cx.waker().clone()),
            }
        }
        if this.evicted() {
            return Poll::Ready(Err(closed()));
        }
        if this.state.timed_out.load(Ordering::Acquire) {
            if this.state.busy.load(Ordering::Acquire) == 0 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no complete request head within the header read timeout",
                )));
            }
            // A request came in as the sweep looked: it is being answered, so the
            // connection was not idle after all.
            this.state.timed_out.store(false, Ordering::Release);
        }
        Pin::new(&mut this.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.evicted() {
            return Poll::Ready(Err(closed()));
        }
        Pin::new(&mut this.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.evicted() {
            return Poll::Ready(Err(closed()));
        }
        Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// The connection a request came on, for [`OuterService`].
#[derive(Clone)]
pub struct Connection {
    state: Arc<ConnState>,
    registry: Arc<Registry>,
}

/// Marks a connection busy while it lives.
struct Busy(Connection);

impl Busy {
    fn new(connection: Connection) -> Self {
        connection.state.busy.fetch_add(1, Ordering::AcqRel);
        Self(connection)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let Connection { state, registry } = &self.0;
        state.idle_since.store(registry.now(), Ordering::Release);
        state.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The request limits [`track`] applies.
#[derive(Clone)]
pub struct RequestLimits {
    pub body_read_timeout: Duration,
    /// Permits for `/mcp` requests in flight.
    pub calls: Arc<Semaphore>,
    pub max_calls: usize,
}

impl RequestLimits {
    pub fn new(body_read_timeout: Duration, max_calls: usize) -> Self {
        let max_calls = max_calls.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            body_read_timeout,
            calls: Arc::new(Semaphore::new(max_calls)),
            max_calls,
        }
    }
}

/// The service `axum::serve` takes ([`Limited`]'s connections): for each connection, the
/// router behind an [`OuterService`].
#[derive(Clone)]
pub struct Outer {
    router: axum::Router,
    limits: RequestLimits,
}

impl Outer {
    pub fn new(router: axum::Router, limits: RequestLimits) -> Self {
        Self { router, limits }
    }
}

impl tower_service::Service<IncomingStream<'_, Limited>> for Outer {
    type Response = OuterService<axum::Router>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: IncomingStream<'_, Limited>) -> Self::Future {
        let conn = stream.io();
        std::future::ready(Ok(OuterService {
            inner: self.router.clone(),
            limits: self.limits.clone(),
            connection: Connection {
                state: conn.state.clone(),
                registry: conn.registry.clone(),
            },
        }))
    }
}

/// The service of one connection, around the router: marks the connection busy while a
/// request is answered (until its response body ends), bounds the time the request body may
/// take to arrive, refuses a `/mcp` POST beyond the calls-in-flight cap with `503` and
/// `Retry-After`, and counts every response in `mcp_http_requests_total`. A service of its own
/// rather than `axum::middleware::from_fn` layers, which box a future and a service per
/// request and layer.
#[derive(Clone)]
pub struct OuterService<S> {
    inner: S,
    limits: RequestLimits,
    connection: Connection,
}

impl<S> tower_service::Service<Request> for OuterService<S>
where
    S: tower_service::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = Infallible;
    type Future = OuterFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let route = crate::metrics::route(request.uri().path());
        let busy = Busy::new(self.connection.clone());
        // Calls are POSTs; a stateful client's GET event stream is no call and is not capped
        // here.
        let permit = if request.method() == Method::POST && request.uri().path() == "/mcp" {
            match self.limits.calls.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    return OuterFuture {
                        inner: Err(Some(too_many_calls(self.limits.max_calls))),
                        route,
                        busy: Some(busy),
                        permit: None,
                    };
                }
            }
        } else {
            None
        };
        let timeout = self.limits.body_read_timeout;
        let request = request.map(|body| {
            Body::new(Deadline {
                inner: body,
                sleep: None,
                timeout,
            })
        });
        OuterFuture {
            inner: Ok(self.inner.call(request)),
            route,
            busy: Some(busy),
            permit,
        }
    }
}

/// The `503` of a `/mcp` POST beyond the calls-in-flight cap.
fn too_many_calls(max_calls: usize) -> Response {
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({
            "error": "too_many_requests_in_flight",
            "error_description": format!(
                "this server answers at most {max_calls} MCP requests at once (MCP_MAX_CALLS_IN_FLIGHT); try again shortly"
            ),
        })
        .to_string(),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// The response future of [`OuterService`]: the route's (or the refusal), whose response body
/// then keeps the connection busy and the call permit until it ends.
pub struct OuterFuture<F> {
    /// The route's future, or the refusal not yet returned.
    inner: Result<F, Option<Response>>,
    /// The route's index, for the request counter.
    route: usize,
    busy: Option<Busy>,
    permit: Option<OwnedSemaphorePermit>,
}

impl<F> Future for OuterFuture<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let response = match &mut this.inner {
            Ok(future) => match Pin::new(future).poll(cx) {
                Poll::Ready(Ok(response)) => response,
                Poll::Ready(Err(never)) => match never {},
                Poll::Pending => return Poll::Pending,
            },
            Err(refusal) => match refusal.take() {
                Some(response) => response,
                // Polled again after its end: never ready again, as a fused future.
                None => return Poll::Pending,
            },
        };
        crate::metrics::get().http_request_route(this.route, response.status().as_u16());
        let (busy, permit) = (this.busy.take(), this.permit.take());
        Poll::Ready(Ok(
            response.map(|body| Body::new(Guarded::new(body, busy, permit)))
        ))
    }
}

/// A request body that fails when it has not arrived within the body read timeout.
struct Deadline {
    inner: Body,
    /// The timer, started the first time the body is not ready: most bodies have arrived
    /// whole with their request's head and never wait, nor read the clock.
    sleep: Option<Pin<Box<Sleep>>>,
    timeout: Duration,
}

/// The error of a request body that did not arrive in time.
#[derive(Debug)]
pub struct BodyTimeout(pub Duration);

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body did not arrive within {} s (MCP_BODY_READ_TIMEOUT_SECS)",
            self.0.as_secs_f64()
        )
    }
}

impl std::error::Error for BodyTimeout {}

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        let timeout = this.timeout;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimeout(this.timeout)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether reading a request body failed because of the body read timeout.
pub fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.is::<BodyTimeout>() {
            return true;
        }
        current = e.source();
    }
    false
}

/// A response body that keeps its connection busy and its call permit until it ends.
struct Guarded {
    inner: Body,
    _busy: Option<Busy>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Guarded {
    fn new(inner: Body, busy: Option<Busy>, permit: Option<OwnedSemaphorePermit>) -> Self {
        Self {
            inner,
            _busy: busy,
            _permit: permit,
        }
    }
}

impl HttpBody for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        Registry {
            epoch: Instant::now(),
            connections: Mutex::new(Vec::new()),
        }
    }

    #[test]
    fn the_connection_idle_longest_is_closed_first_and_busy_ones_never() {
        let registry = registry();
        let a = registry.register();
        std::thread::sleep(Duration::from_millis(3));
        let b = registry.register();
        let c = registry.register();
        c.busy.store(1, Ordering::Release);
        assert_eq!(registry.live(), 3);
        assert!(registry.evict_idle());
        assert!(a.evicted.load(Ordering::Acquire));
        assert_eq!(registry.live(), 2);
        assert!(registry.evict_idle());
        assert!(b.evicted.load(Ordering::Acquire));
        assert!(!registry.evict_idle(), "the busy one stays");
        assert!(!c.evicted.load(Ordering::Acquire));
        drop((a, b));
        assert_eq!(registry.live(), 1);
        drop(c);
        assert_eq!(registry.live(), 0);
        assert!(registry.connections.lock().unwrap().is_empty());
    }

    #[test]
    fn the_open_files_limit_is_read_from_proc_limits() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max cpu time              unlimited            unlimited            seconds   \n\
                    Max open files            256                  4096                 files     \n";
        assert_eq!(parse_open_files(text), Some(256));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_open_files(unlimited), None);
        assert_eq!(parse_open_files(""), None);
        // On this machine: some limit is read, and a cap above it is lowered under it.
        if let Some(open_files) = open_files_limit() {
            let (cap, lowered) = connection_cap(usize::MAX);
            assert_eq!(lowered, Some(open_files));
            assert!(cap < open_files);
            assert_eq!(connection_cap(1), (1, None));
        }
    }

    #[test]
    fn body_timeouts_are_recognised_through_wrappers() {
        let error = axum::Error::new(BodyTimeout(Duration::from_secs(1)));
        assert!(is_body_timeout(&error));
        let other = io::Error::other("x");
        assert!(!is_body_timeout(&other));
    }
}
