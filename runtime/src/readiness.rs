//! What `GET /readyz` answers: ready once the start-up work is done (in mode `oauth`: the
//! provider's metadata and keys fetched once, so that the first logins do not wait for them, nor
//! fail when the provider is unreachable), until SIGTERM starts draining.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Start-up tasks still running.
static PENDING: AtomicUsize = AtomicUsize::new(0);
static DRAINING: AtomicBool = AtomicBool::new(false);

/// A start-up task: the server is not ready until [`Pending::done`] is called.
pub struct Pending(());

/// Registers a start-up task that readiness waits for.
#[allow(dead_code, reason = "used by oauth.rs, in mode oauth only")]
pub fn pending() -> Pending {
    PENDING.fetch_add(1, Ordering::SeqCst);
    Pending(())
}

impl Pending {
    /// The task is done.
    #[allow(dead_code, reason = "used by oauth.rs, in mode oauth only")]
    pub fn done(self) {
        PENDING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The server drains from now on: `/readyz` answers 503 for good.
pub fn drain() {
    DRAINING.store(true, Ordering::SeqCst);
}

/// Why the server is not ready, for the 503's body; `None` when it is.
pub fn not_ready_reason() -> Option<&'static str> {
    if DRAINING.load(Ordering::SeqCst) {
        Some("draining")
    } else if PENDING.load(Ordering::SeqCst) > 0 {
        Some("starting")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_after_start_up_until_draining() {
        assert_eq!(not_ready_reason(), None);
        let first = pending();
        let second = pending();
        assert_eq!(not_ready_reason(), Some("starting"));
        first.done();
        assert_eq!(not_ready_reason(), Some("starting"));
        second.done();
        assert_eq!(not_ready_reason(), None);
        drain();
        assert_eq!(not_ready_reason(), Some("draining"));
        pending().done();
        assert_eq!(not_ready_reason(), Some("draining"), "for good");
    }
}
