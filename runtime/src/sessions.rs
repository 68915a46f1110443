//! Stateful MCP sessions (`--stateful`), bounded: rmcp's in-memory session manager keeps at
//! most `--max-sessions` sessions (env `MCP_MAX_SESSIONS`). [`bound`], a middleware in front of
//! the stateful `/mcp` service, notes when each session was last used (its `Mcp-Session-Id`);
//! a request that opens a session beyond the cap first closes the session used least
//! recently, whose client's next request gets `404` (session not found) and, as the MCP
//! specification asks, starts a new session. Idle sessions end after rmcp's keep-alive
//! (5 minutes) as before.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderName, Method};
use axum::middleware::Next;
use axum::response::Response;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::{SessionId, SessionManager};

const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");

/// The session manager of the stateful service and when each of its sessions was last used.
pub struct Sessions {
    manager: Arc<LocalSessionManager>,
    max: usize,
    /// Session → the tick of its last use.
    used: Mutex<HashMap<SessionId, u64>>,
    tick: AtomicU64,
}

impl Sessions {
    pub fn new(manager: Arc<LocalSessionManager>, max: usize) -> Self {
        Self {
            manager,
            max: max.max(1),
            used: Mutex::new(HashMap::new()),
            tick: AtomicU64::new(0),
        }
    }

    fn next_tick(&self) -> u64 {
        self.tick.fetch_add(1, Ordering::Relaxed)
    }

    /// Notes a use of session `id` (a new one, or one the manager knows).
    fn touch(&self, id: &str, new: bool) {
        let tick = self.next_tick();
        if let Ok(mut used) = self.used.lock() {
            match used.get_mut(id) {
                Some(last) => *last = tick,
                None if new => {
                    used.insert(Arc::from(id), tick);
                }
                None => {}
            }
        }
    }

    /// Closes the least recently used sessions until one more fits under the cap.
    async fn make_room(&self) {
        let live: HashSet<SessionId> = self.manager.sessions.read().await.keys().cloned().collect();
        let victims: Vec<SessionId> = {
            let Ok(mut used) = self.used.lock() else {
                return;
            };
            // Sessions that ended by themselves are forgotten; sessions created before the
            // middleware saw them count as the oldest.
            used.retain(|id, _| live.contains(id));
            for id in &live {
                used.entry(id.clone()).or_insert(0);
            }
            let excess = (used.len() + 1).saturating_sub(self.max);
            let mut by_age: Vec<(&SessionId, &u64)> = used.iter().collect();
            by_age.sort_by_key(|(_, tick)| **tick);
            by_age
                .into_iter()
                .take(excess)
                .map(|(id, _)| id.clone())
                .collect()
        };
        for id in victims {
            tracing::info!(
                "closing the least recently used MCP session: at most {} sessions are kept (MCP_MAX_SESSIONS)",
                self.max
            );
            if let Ok(mut used) = self.used.lock() {
                used.remove(&id);
            }
            if let Err(e) = self.manager.close_session(&id).await {
                tracing::warn!("cannot close an MCP session: {e}");
            }
        }
    }

    /// Sessions noted now.
    #[cfg(test)]
    fn noted(&self) -> usize {
        self.used.lock().map(|u| u.len()).unwrap_or(0)
    }
}

/// The middleware of the stateful `/mcp` service (see the module documentation).
pub async fn bound(
    State(sessions): State<Arc<Sessions>>,
    request: Request,
    next: Next,
) -> Response {
    let id = request
        .headers()
        .get(SESSION_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let opens = id.is_none() && request.method() == Method::POST;
    match &id {
        Some(id) => sessions.touch(id, false),
        None if opens => sessions.make_room().await,
        None => {}
    }
    let response = next.run(request).await;
    if opens
        && let Some(new) = response
            .headers()
            .get(SESSION_ID)
            .and_then(|v| v.to_str().ok())
    {
        sessions.touch(new, true);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sessions_beyond_the_cap_close_the_least_recently_used() {
        let manager = Arc::new(LocalSessionManager::default());
        let sessions = Sessions::new(manager.clone(), 3);
        let mut ids = Vec::new();
        for _ in 0..3 {
            sessions.make_room().await;
            let (id, _transport) = manager.create_session().await.expect("a session");
            sessions.touch(&id, true);
            ids.push(id);
        }
        // The first is used again: the second is now the least recently used.
        sessions.touch(&ids[0], false);
        sessions.make_room().await;
        let (fourth, _transport) = manager.create_session().await.expect("a session");
        sessions.touch(&fourth, true);
        assert_eq!(sessions.noted(), 3);
        assert!(manager.has_session(&ids[0]).await.unwrap());
        assert!(!manager.has_session(&ids[1]).await.unwrap());
        assert!(manager.has_session(&ids[2]).await.unwrap());
        assert!(manager.has_session(&fourth).await.unwrap());
        for _ in 0..100 {
            sessions.make_room().await;
            let (id, _transport) = manager.create_session().await.expect("a session");
            sessions.touch(&id, true);
        }
        assert_eq!(sessions.noted(), 3);
        assert_eq!(manager.sessions.read().await.len(), 3);
        // An unknown id is not noted.
        sessions.touch("not-a-session", false);
        assert_eq!(sessions.noted(), 3);
    }
}
