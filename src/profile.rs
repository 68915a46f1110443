//! Stage timings for performance work: with `MCPGEN_PROFILE=1` in the environment, each stage of
//! a generation prints one line on stderr when it ends — its wall time, when it started (from
//! the start of the first stage), the CPU time of the thread that ran it (threads it started
//! not counted; Linux: `/proc/thread-self/schedstat`), the process's peak resident memory so
//! far and its resident memory now (Linux: `/proc/self/status`; elsewhere only the wall time).
//! On two busy cores the wall time of a stage also counts the time it waited for a core; its
//! CPU time does not. Without the variable nothing is measured or printed. A leaf module.

use std::time::Instant;

/// Whether `MCPGEN_PROFILE` asks for stage timings (read once).
fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| {
        std::env::var_os("MCPGEN_PROFILE").is_some_and(|v| v != "0" && !v.is_empty())
    })
}

/// `VmHWM` and `VmRSS` of this process in KiB, when the platform tells.
fn memory() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// This process's resident memory now, in KiB, when the platform tells (Linux): from
/// `/proc/self/statm` (one number to format and parse, where `status` has fifty; read at every
/// block of the lowering and by the memory watcher).
pub fn resident_kib() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_kib()?)
}

/// The size of a memory page in KiB.
#[cfg(unix)]
fn page_kib() -> Option<u64> {
    // SAFETY: `sysconf` only reads a configuration value.
    let bytes = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(bytes)
        .ok()
        .map(|b| b / 1024)
        .filter(|&k| k > 0)
}

#[cfg(not(unix))]
fn page_kib() -> Option<u64> {
    None
}

/// When the first stage started: each line says when its stage started, from then.
fn origin() -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Nanoseconds the calling thread has run on a CPU, when the platform tells (Linux).
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// Times one stage from its creation to [`Stage::end`] (or its drop).
pub struct Stage {
    name: &'static str,
    start: Option<(Instant, Option<u64>)>,
}

impl Stage {
    pub fn start(name: &'static str) -> Self {
        Stage {
            name,
            start: enabled().then(|| {
                origin();
                (Instant::now(), thread_cpu_ns())
            }),
        }
    }

    pub fn end(self) {}
}

impl Drop for Stage {
    fn drop(&mut self) {
        let Some((start, cpu_start)) = self.start else {
            return;
        };
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        let at = start.duration_since(origin()).as_secs_f64() * 1000.0;
        let cpu = match (cpu_start, thread_cpu_ns()) {
            (Some(a), Some(b)) => format!("   cpu {:6.1} ms", b.saturating_sub(a) as f64 / 1e6),
            _ => String::new(),
        };
        match memory() {
            Some((peak, now)) => eprintln!(
                "profile: {:<22} {ms:8.1} ms{cpu}   at {at:6.1} ms   peak {:6.1} MiB   now {:6.1} MiB",
                self.name,
                peak as f64 / 1024.0,
                now as f64 / 1024.0
            ),
            None => eprintln!(
                "profile: {:<22} {ms:8.1} ms{cpu}   at {at:6.1} ms",
                self.name
            ),
        }
    }
}
