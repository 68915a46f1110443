//! Closed-loop HTTP/1.1 load generator for bench/load.sh: N clients, each on its own kept-alive
//! connection (`TCP_NODELAY`), sending the same request back to back for a bounded time, on one
//! thread (pin it with `taskset`). Cheap on purpose: a hand-written HTTP/1.1 exchange, no client
//! library, so the generator is not what limits the rate.
//!
//! ```text
//! loadgen run --addr HOST:PORT --target mcp|direct --concurrency N --secs S [--warmup W]
//!             [--path P] [--tool NAME] [--arguments JSON] [--rss-pid PID] [--cpu-pids P,P]
//!             [--label L]
//! loadgen firstlist --addr HOST:PORT [--tries N] -- COMMAND ARGS...
//! ```
//!
//! `run` prints one line `RESULT label calls rate p50_ms p99_ms failures gen_cpu_pct core_busy_pct`
//! (core = the busiest core other than the generator's own, i.e. the server's core), a line
//! `RSS kib kib ...` (one sample a second of `--rss-pid`, from the start of the warm-up) when
//! asked, `CPU label pid:us ...` (user + system CPU time each `--cpu-pids` process spent per
//! successful call over the measured window, in µs) when asked, and `FAIL ...` with the first
//! failure seen. A failure is a connection or I/O error, a timeout (10 s), an HTTP status other
//! than 200, and for `mcp` a body that is not a JSON-RPC result or whose result has
//! `isError: true`.
//!
//! `firstlist` starts COMMAND `--tries` times and each time measures the time from spawning it
//! to the first `tools/list` answered (connect retried every 100 µs, at most 5 s), then kills it;
//! prints `FIRSTLIST min median max` in ms.
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PROTOCOL_VERSION: &str = "2025-06-18";
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Mcp,
    Direct,
}

struct Opts {
    addr: String,
    target: Target,
    concurrency: usize,
    secs: u64,
    warmup: u64,
    path: String,
    tool: String,
    arguments: String,
    rss_pid: Option<u32>,
    cpu_pids: Vec<u32>,
    label: String,
    tries: usize,
    command: Vec<String>,
}

fn parse_opts(args: &[String]) -> Opts {
    let mut o = Opts {
        addr: "127.0.0.1:18080".into(),
        target: Target::Mcp,
        concurrency: 32,
        secs: 20,
        warmup: 2,
        path: String::new(),
        tool: "show_pet_by_id".into(),
        arguments: r#"{"petId":"1"}"#.into(),
        rss_pid: None,
        cpu_pids: Vec::new(),
        label: String::new(),
        tries: 5,
        command: Vec::new(),
    };
    let mut i = 0;
    while i < args.len() {
        let value = |i: usize| {
            args.get(i + 1)
                .cloned()
                .unwrap_or_else(|| die("missing value"))
        };
        match args[i].as_str() {
            "--addr" => o.addr = value(i),
            "--target" => {
                o.target = match value(i).as_str() {
                    "mcp" => Target::Mcp,
                    "direct" => Target::Direct,
                    other => die(&format!("unknown target {other}")),
                }
            }
            "--concurrency" => o.concurrency = value(i).parse().unwrap_or_else(|_| die("bad N")),
            "--secs" => o.secs = value(i).parse().unwrap_or_else(|_| die("bad secs")),
            "--warmup" => o.warmup = value(i).parse().unwrap_or_else(|_| die("bad warmup")),
            "--path" => o.path = value(i),
            "--tool" => o.tool = value(i),
            "--arguments" => o.arguments = value(i),
            "--rss-pid" => o.rss_pid = Some(value(i).parse().unwrap_or_else(|_| die("bad pid"))),
            "--cpu-pids" => {
                o.cpu_pids = value(i)
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| p.parse().unwrap_or_else(|_| die("bad pid")))
                    .collect()
            }
            "--label" => o.label = value(i),
            "--tries" => o.tries = value(i).parse().unwrap_or_else(|_| die("bad tries")),
            "--" => {
                o.command = args[i + 1..].to_vec();
                break;
            }
            other => die(&format!("unknown argument {other}")),
        }
        i += 2;
    }
    o.concurrency = o.concurrency.clamp(1, 1024);
    o.secs = o.secs.clamp(1, 300);
    o.warmup = o.warmup.min(60);
    o.tries = o.tries.clamp(1, 50);
    o
}

fn die(message: &str) -> ! {
    eprintln!("loadgen: {message}");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = args.first() else {
        die("usage: loadgen run|firstlist ...")
    };
    let opts = parse_opts(&args[1..]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match mode.as_str() {
        "run" => rt.block_on(run(opts)),
        "firstlist" => rt.block_on(first_list(opts)),
        other => die(&format!("unknown mode {other}")),
    }
}

fn mcp_request(addr: &str, path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json, text/event-stream\r\n\
         Content-Type: application/json\r\nMCP-Protocol-Version: {PROTOCOL_VERSION}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A parsed response: status and decoded body.
struct Reply {
    status: u16,
    body: Vec<u8>,
    close: bool,
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if hay.len() < from + needle.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), String> {
    let start = buf.len();
    buf.resize(start + 16 * 1024, 0);
    match stream.read(&mut buf[start..]).await {
        Ok(0) => {
            buf.truncate(start);
            Err("connection closed by peer".into())
        }
        Ok(n) => {
            buf.truncate(start + n);
            Ok(())
        }
        Err(e) => {
            buf.truncate(start);
            Err(format!("read: {e}"))
        }
    }
}

/// One request/response on a kept-alive connection; `buf` is scratch space.
async fn exchange(stream: &mut TcpStream, req: &[u8], buf: &mut Vec<u8>) -> Result<Reply, String> {
    stream
        .write_all(req)
        .await
        .map_err(|e| format!("write: {e}"))?;
    buf.clear();
    let head_end = loop {
        if let Some(p) = find(buf, b"\r\n\r\n", 0) {
            break p;
        }
        if buf.len() > 64 * 1024 {
            return Err("response head too large".into());
        }
        fill(stream, buf).await?;
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| "non-UTF-8 head".to_string())?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("bad status line")?;
    let (mut length, mut chunked, mut close) = (None, false, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    let mut pos = head_end + 4;
    let body = if chunked {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(p) = find(buf, b"\r\n", pos) {
                    break p;
                }
                fill(stream, buf).await?;
            };
            let size_text = std::str::from_utf8(&buf[pos..line_end]).unwrap_or("");
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| "bad chunk size".to_string())?;
            pos = line_end + 2;
            while buf.len() < pos + size + 2 {
                fill(stream, buf).await?;
            }
            if size == 0 {
                break body;
            }
            body.extend_from_slice(&buf[pos..pos + size]);
            pos += size + 2;
        }
    } else if let Some(length) = length {
        while buf.len() < pos + length {
            fill(stream, buf).await?;
        }
        buf[pos..pos + length].to_vec()
    } else {
        // No length: the body runs to the end of the connection.
        while fill(stream, buf).await.is_ok() {}
        close = true;
        buf[pos..].to_vec()
    };
    Ok(Reply {
        status,
        body,
        close,
    })
}

/// Why a reply does not count as a successful call, if it does not.
fn check(target: Target, reply: &Reply) -> Option<String> {
    let excerpt = || String::from_utf8_lossy(&reply.body[..reply.body.len().min(300)]).into_owned();
    if reply.status != 200 {
        return Some(format!("HTTP {}: {}", reply.status, excerpt()));
    }
    if target == Target::Direct {
        return None;
    }
    let value: serde_json::Value = match serde_json::from_slice(&reply.body) {
        Ok(v) => v,
        Err(e) => return Some(format!("not JSON ({e}): {}", excerpt())),
    };
    if value.get("error").is_some() {
        return Some(format!("JSON-RPC error: {}", excerpt()));
    }
    match value.get("result") {
        None => Some(format!("no result: {}", excerpt())),
        Some(r) if r.get("isError").and_then(|v| v.as_bool()) == Some(true) => {
            Some(format!("tool error (isError): {}", excerpt()))
        }
        Some(_) => None,
    }
}

#[derive(Default)]
struct Stats {
    latencies_ns: Vec<u64>,
    failures: u64,
    first_failure: Option<String>,
}

async fn worker(
    addr: Arc<str>,
    target: Target,
    req: Arc<[u8]>,
    record_from: Instant,
    end: Instant,
) -> Stats {
    let mut stats = Stats::default();
    stats.latencies_ns.reserve(1 << 16);
    let mut conn: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(32 * 1024);
    let fail = |stats: &mut Stats, recording: bool, why: String| {
        if recording {
            stats.failures += 1;
            stats.first_failure.get_or_insert(why);
        }
    };
    // Bounded in time (end) and, as a safeguard, in count.
    for _ in 0..50_000_000u64 {
        let t0 = Instant::now();
        if t0 >= end {
            break;
        }
        let recording = t0 >= record_from;
        if conn.is_none() {
            match tokio::time::timeout(EXCHANGE_TIMEOUT, TcpStream::connect(&*addr)).await {
                Ok(Ok(s)) => {
                    let _ = s.set_nodelay(true);
                    conn = Some(s);
                }
                Ok(Err(e)) => {
                    fail(&mut stats, recording, format!("connect: {e}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                Err(_) => {
                    fail(&mut stats, recording, "connect timed out".into());
                    continue;
                }
            }
        }
        let stream = conn.as_mut().expect("connected above");
        let t0 = Instant::now();
        let result = tokio::time::timeout(EXCHANGE_TIMEOUT, exchange(stream, &req, &mut buf)).await;
        let elapsed = t0.elapsed();
        match result {
            Ok(Ok(reply)) => {
                if reply.close {
                    conn = None;
                }
                if let Some(why) = check(target, &reply) {
                    fail(&mut stats, recording, why);
                } else if recording {
                    stats.latencies_ns.push(elapsed.as_nanos() as u64);
                }
            }
            Ok(Err(e)) => {
                conn = None;
                fail(&mut stats, recording, e);
            }
            Err(_) => {
                conn = None;
                fail(&mut stats, recording, "timed out after 10 s".into());
            }
        }
    }
    stats
}

fn read_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Busy and total jiffies per core, from /proc/stat.
fn core_times() -> Vec<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    stat.lines()
        .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        .map(|l| {
            let v: Vec<u64> = l
                .split_whitespace()
                .skip(1)
                .filter_map(|x| x.parse().ok())
                .collect();
            let total: u64 = v.iter().take(8).sum();
            let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
            (total - idle, total)
        })
        .collect()
}

/// utime + stime of this process, in clock ticks.
fn self_cpu_ticks() -> u64 {
    cpu_ticks("self")
}

/// utime + stime of process `pid` (or `self`), all threads, in clock ticks.
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `after` starts at field 3.
    let get = |i: usize| {
        f.get(i - 3)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(14) + get(15)
}

fn my_core() -> Option<usize> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    // Field 39 (processor).
    after.split_whitespace().nth(39 - 3)?.parse().ok()
}

async fn run(o: Opts) {
    let path = if o.path.is_empty() {
        match o.target {
            Target::Mcp => "/mcp".to_owned(),
            Target::Direct => "/pets/1".to_owned(),
        }
    } else {
        o.path.clone()
    };
    let req: Arc<[u8]> = match o.target {
        Target::Mcp => {
            let body = format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{}","arguments":{}}}}}"#,
                o.tool, o.arguments
            );
            mcp_request(&o.addr, &path, &body).into()
        }
        Target::Direct => format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json, */*;q=0.5\r\n\r\n",
            o.addr
        )
        .into_bytes()
        .into(),
    };
    let start = Instant::now();
    let record_from = start + Duration::from_secs(o.warmup);
    let end = record_from + Duration::from_secs(o.secs);

    // Once a second from the start: the server's RSS. Also CPU use over the measured window.
    let samples = o.warmup + o.secs;
    let rss_pid = o.rss_pid;
    let cpu_pids = o.cpu_pids.clone();
    let pid_ticks =
        move || -> Vec<u64> { cpu_pids.iter().map(|p| cpu_ticks(&p.to_string())).collect() };
    let monitor = std::thread::spawn(move || {
        let mut rss = Vec::new();
        let mut window = None;
        for i in 0..=samples {
            let at = start + Duration::from_secs(i);
            if let Some(wait) = at.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if i == o.warmup {
                window = Some((core_times(), self_cpu_ticks(), pid_ticks(), Instant::now()));
            }
            if let Some(pid) = rss_pid {
                rss.push(read_rss_kib(pid).unwrap_or(0));
            }
        }
        (rss, window, core_times(), self_cpu_ticks(), pid_ticks())
    });

    let addr: Arc<str> = o.addr.clone().into();
    let mut handles = Vec::with_capacity(o.concurrency);
    for _ in 0..o.concurrency {
        handles.push(tokio::spawn(worker(
            addr.clone(),
            o.target,
            req.clone(),
            record_from,
            end,
        )));
    }
    let mut all = Stats::default();
    for h in handles {
        let s = h.await.expect("worker");
        all.latencies_ns.extend_from_slice(&s.latencies_ns);
        all.failures += s.failures;
        if all.first_failure.is_none() {
            all.first_failure = s.first_failure;
        }
    }
    let (rss, window, cores_end, self_end, pids_end) = monitor.join().expect("monitor");
    let calls = all.latencies_ns.len() as u64;
    let mut pid_cpu = Vec::new();
    let (gen_cpu, core_busy) = match window {
        Some((cores_start, self_start, pids_start, t)) => {
            for ((pid, a), b) in o.cpu_pids.iter().zip(&pids_start).zip(&pids_end) {
                let us = (b - a) as f64 / 100.0 * 1e6 / calls.max(1) as f64;
                pid_cpu.push(format!("{pid}:{us:.1}"));
            }
            let wall = t.elapsed().as_secs_f64();
            let ticks = 100.0; // USER_HZ
            let gen_cpu = (self_end - self_start) as f64 / ticks / wall * 100.0;
            let mine = my_core();
            let busiest = cores_start
                .iter()
                .zip(&cores_end)
                .enumerate()
                .filter(|(i, _)| Some(*i) != mine)
                .map(|(_, (a, b))| {
                    let total = (b.1 - a.1).max(1) as f64;
                    (b.0 - a.0) as f64 / total * 100.0
                })
                .fold(0.0f64, f64::max);
            (gen_cpu, busiest)
        }
        None => (0.0, 0.0),
    };

    let mut lat = all.latencies_ns;
    lat.sort_unstable();
    let pct = |p: usize| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        lat[(lat.len() * p / 100).min(lat.len() - 1)] as f64 / 1e6
    };
    let rate = calls as f64 / o.secs as f64;
    let label = if o.label.is_empty() {
        "run".to_owned()
    } else {
        o.label.clone()
    };
    println!(
        "RESULT {label} {calls} {rate:.0} {:.3} {:.3} {} {gen_cpu:.0} {core_busy:.0}",
        pct(50),
        pct(99),
        all.failures
    );
    if rss_pid.is_some() {
        let list: Vec<String> = rss.iter().map(|k| k.to_string()).collect();
        println!("RSS {}", list.join(" "));
    }
    if !pid_cpu.is_empty() {
        // CPU time (user + system) each process spent per successful call, in µs.
        println!("CPU {label} {}", pid_cpu.join(" "));
    }
    if let Some(why) = all.first_failure {
        println!("FAIL {label} {}", why.replace('\n', " "));
    }
    let _ = std::io::stdout().flush();
}

async fn first_list(o: Opts) {
    if o.command.is_empty() {
        die("firstlist needs -- COMMAND");
    }
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let req = mcp_request(&o.addr, "/mcp", body);
    let mut times = Vec::new();
    for _ in 0..o.tries {
        let mut child = Command::new(&o.command[0])
            .args(&o.command[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| die(&format!("cannot start {}: {e}", o.command[0])));
        let t0 = Instant::now();
        let deadline = t0 + Duration::from_secs(5);
        let mut answered = None;
        while Instant::now() < deadline {
            let Ok(mut stream) = TcpStream::connect(&o.addr).await else {
                std::thread::sleep(Duration::from_micros(100));
                continue;
            };
            let _ = stream.set_nodelay(true);
            let mut buf = Vec::new();
            match tokio::time::timeout(
                Duration::from_secs(5),
                exchange(&mut stream, &req, &mut buf),
            )
            .await
            {
                Ok(Ok(reply)) if reply.status == 200 && check(Target::Mcp, &reply).is_none() => {
                    answered = Some(t0.elapsed());
                    break;
                }
                Ok(Ok(reply)) => die(&format!(
                    "tools/list failed: HTTP {} {}",
                    reply.status,
                    String::from_utf8_lossy(&reply.body)
                )),
                _ => std::thread::sleep(Duration::from_micros(100)),
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        match answered {
            Some(t) => times.push(t.as_secs_f64() * 1e3),
            None => die("no tools/list answer within 5 s"),
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "FIRSTLIST {:.1} {:.1} {:.1}",
        times[0],
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
