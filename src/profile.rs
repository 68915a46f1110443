//! Stage timings for performance work: with `MCPGEN_PROFILE=1` in the environment, each stage of
//! a generation prints one line on stderr when it ends — its wall time, the process's peak
//! resident memory so far and its resident memory now (Linux: `/proc/self/status`; elsewhere
//! only the time). Without the variable nothing is measured or printed. A leaf module.

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

/// This process's resident memory now, in KiB, when the platform tells (Linux).
pub fn resident_kib() -> Option<u64> {
    memory().map(|(_, now)| now)
}

/// Times one stage from its creation to [`Stage::end`] (or its drop).
pub struct Stage {
    name: &'static str,
    start: Option<Instant>,
}

impl Stage {
    pub fn start(name: &'static str) -> Self {
        Stage {
            name,
            start: enabled().then(Instant::now),
        }
    }

    pub fn end(self) {}
}

impl Drop for Stage {
    fn drop(&mut self) {
        let Some(start) = self.start else {
            return;
        };
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        match memory() {
            Some((peak, now)) => eprintln!(
                "profile: {:<22} {ms:8.1} ms   peak {:6.1} MiB   now {:6.1} MiB",
                self.name,
                peak as f64 / 1024.0,
                now as f64 / 1024.0
            ),
            None => eprintln!("profile: {:<22} {ms:8.1} ms", self.name),
        }
    }
}
