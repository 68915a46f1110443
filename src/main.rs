//! The `mcpgen` command line: `generate` and `inspect` (README: Usage). Exit codes: 0 success,
//! 1 `--check` found drift, 2 bad input, 3 an output or internal failure.

use clap::{Parser, Subcommand};
use mcpgen::{CheckReport, Drift, Error, Options, inspect};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mcpgen",
    version,
    about = "Generate a Rust MCP server crate from an OpenAPI (or Swagger 2.0) document"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the server crate.
    Generate {
        /// OpenAPI 3.0/3.1 or Swagger 2.0 document: a path or an http(s):// URL; YAML or JSON.
        spec: String,
        /// Config file (YAML or JSON): how callers authenticate (`mode`, `bearer`, `oauth`), the
        /// API's credentials (`upstream`), which operations become tools (`tools`). Without
        /// it the server is open and every operation is a tool.
        #[arg(long, value_name = "FILE")]
        auth: Option<String>,
        /// Output directory. Default: ./<name>.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Package and binary name. Default: kebab-case of info.title + "-mcp".
        #[arg(long, value_name = "CRATE")]
        name: Option<String>,
        /// Compare with --out instead of writing: exit 0 when identical, 1 when not.
        #[arg(long)]
        check: bool,
    },
    /// Print the tools that would be generated.
    Inspect {
        /// OpenAPI 3.0/3.1 or Swagger 2.0 document, as for `generate`.
        spec: String,
        /// Config file, as for `generate`.
        #[arg(long, value_name = "FILE")]
        auth: Option<String>,
        /// Machine-readable output (the whole lowered model).
        #[arg(long)]
        json: bool,
    },
}

/// The generator allocates and frees many small strings and trees: glibc's allocator was 40% of
/// its samples on GitHub's description (bench/compare.sh), mimalloc a fraction of that. Built
/// without transparent huge pages (`no_thp`: huge pages zeroed 2 MiB at a time for scattered
/// small objects). Freed pages are kept for reuse while the process is small and returned after
/// 2 ms once it is not ([`purge_when_large`]).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` of mimalloc 3's `mimalloc.h` (libmimalloc-sys 0.1.49 names no
/// constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Resident memory from which freed pages go back to the system ([`purge_when_large`]).
const PURGE_FROM_KIB: u64 = 160 * 1024;

/// Sets when mimalloc returns freed pages to the system. Below [`PURGE_FROM_KIB`] of resident
/// memory it never does: a page freed by one stage is taken again by the next without a page
/// fault and its zeroing (GitHub's description: a fifth less system time, 101 -> 123 MiB at
/// the peak). A watcher thread checks resident memory every 25 ms and, once past that, has freed
/// pages returned after 2 ms, which keeps the graph-shaped descriptions of tens of thousands of
/// operations under 1 GB (never returning them took graph-25000 past it). Where resident
/// memory cannot be read (not Linux), or the watcher cannot be started, pages are returned after
/// 2 ms from the start.
fn purge_when_large() {
    let set = |ms: std::ffi::c_long| {
        // SAFETY: sets a number mimalloc reads whenever it purges; any value is valid.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, ms) };
    };
    if mcpgen::profile::resident_kib().is_none() {
        set(2);
        return;
    }
    set(-1);
    let watcher = std::thread::Builder::new()
        .name("mcpgen-memory".into())
        .spawn(move || {
            loop {
                std::thread::sleep(std::time::Duration::from_millis(25));
                if mcpgen::profile::resident_kib().is_none_or(|kib| kib > PURGE_FROM_KIB) {
                    set(2);
                    return;
                }
            }
        });
    if watcher.is_err() {
        set(2);
    }
}

fn main() -> ExitCode {
    purge_when_large();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Ends the process successfully at once, once what was printed is flushed: without the
/// handlers that run at a normal exit, where the allocator tidies every heap before the
/// operating system takes the memory back anyway (7 ms after a generation from GitHub's
/// description).
fn exit_now() -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` ends the process; nothing of it runs afterwards.
    unsafe { libc::_exit(0) }
}

/// Every warning of the lowered spec, on stderr, the spec named as the user gave it.
fn print_warnings(spec: &str, api: &mcpgen::ir::Api) {
    print_warnings_with(spec, api, inspect::budget_warnings(api));
}

/// [`print_warnings`], with the budget's warnings made already.
fn print_warnings_with(spec: &str, api: &mcpgen::ir::Api, budget: Vec<String>) {
    let stage = mcpgen::profile::Stage::start("warnings");
    let tools = api.tools.iter().flat_map(|t| &t.warnings);
    for w in api.warnings.iter().chain(tools) {
        eprintln!("warning: {}", w.located(spec));
    }
    for w in budget {
        eprintln!("warning: {w}");
    }
    stage.end();
}

/// Lines of diff `--check` prints at most, over all files.
const MAX_DIFF_LINES: usize = 400;

/// Prints what `--check` found: the files on stdout (changed, added, removed), then the diffs
/// of the changed ones, leaving out files whose only difference is the `@generated` header.
fn report_check(out: &std::path::Path, spec: &str, report: &CheckReport) -> ExitCode {
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    if report.drift.is_empty() {
        eprintln!("{}: up to date with {spec}", out.display());
        return ExitCode::SUCCESS;
    }
    println!(
        "{}: differs from what mcpgen generates from {spec} ({} file{}):",
        out.display(),
        report.drift.len(),
        if report.drift.len() == 1 { "" } else { "s" }
    );
    for d in &report.drift {
        match d {
            Drift::Changed {
                path,
                header_only: true,
                ..
            } => println!("  changed: {path} (only the @generated header)"),
            Drift::Changed { path, .. } => println!("  changed: {path}"),
            Drift::Added { path } => println!("  added:   {path}"),
            Drift::Removed { path } => println!("  removed: {path}"),
        }
    }
    let mut printed = 0;
    let mut skipped = 0;
    for d in &report.drift {
        if let Drift::Changed {
            diff,
            header_only: false,
            ..
        } = d
        {
            let lines = diff.lines().count();
            if printed + lines > MAX_DIFF_LINES {
                skipped += 1;
                continue;
            }
            println!();
            print!("{diff}");
            printed += lines;
        }
    }
    if skipped > 0 {
        println!("\n... the diffs of {skipped} more files are left out");
    }
    println!(
        "\nRun `mcpgen generate` with the same arguments (without --check) to update {}.",
        out.display()
    );
    ExitCode::from(1)
}

fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Generate {
            spec,
            auth,
            out,
            name,
            check,
        } => {
            let options = Options { name, auth };
            if check {
                let (api, files) = mcpgen::generate(&spec, &options)?;
                print_warnings(&spec, &api);
                let out = out.unwrap_or_else(|| PathBuf::from(&api.crate_name));
                return Ok(report_check(&out, &spec, &mcpgen::check(&out, &files)));
            }
            // The files every crate has are written into temporary files under `--out` while
            // the spec is read and lowered; joined before anything else, so that a failure
            // drops them (and the directories made for them) before it is reported.
            let pre = out.clone().and_then(|dir| {
                std::thread::Builder::new()
                    .name("mcpgen-prestage".into())
                    .spawn(move || mcpgen::prestage(&dir))
                    .ok()
            });
            let built = mcpgen::build_ir_keeping(&spec, &options);
            let pre = pre.and_then(|p| p.join().ok());
            let (api, parsed) = built?;
            let out = out.unwrap_or_else(|| PathBuf::from(&api.crate_name));
            // `src/tools.json` goes straight into `out` as it is made (removed again on an error).
            // The budget's warnings (every tool's listing weighed) are made beside, where the
            // render's last thread leaves a core free, not after it.
            let (rendered, budget) = std::thread::scope(|scope| {
                let budget = std::thread::Builder::new()
                    .name("mcpgen-budget".into())
                    .spawn_scoped(scope, || inspect::budget_warnings(&api));
                let rendered = mcpgen::render_into(&api, &out);
                let budget = budget.ok().and_then(|b| b.join().ok());
                (rendered, budget)
            });
            let mut rendered = rendered?;
            if let Some(pre) = pre {
                rendered.adopt(pre);
            }
            let budget = budget.unwrap_or_else(|| inspect::budget_warnings(&api));
            print_warnings_with(&spec, &api, budget);
            let stage = mcpgen::profile::Stage::start("write");
            let report = mcpgen::write_rendered(&out, &mut rendered)?;
            stage.end();
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            for path in &report.removed {
                eprintln!("removed {path} (no longer generated)");
            }
            eprintln!(
                "generated {} ({} tools, --tool-mode {} by default) in {}: {} files, {} changed, {} removed",
                api.crate_name,
                api.tools.len(),
                api.tool_mode.mode.as_str(),
                out.display(),
                rendered.len(),
                report.written,
                report.removed.len()
            );
            // The process ends here: freeing the parsed spec, the model and the files node by
            // node would only cost time (the operating system takes the memory back at once).
            // Everything staged is in place by now.
            std::mem::forget(parsed);
            std::mem::forget(api);
            std::mem::forget(rendered);
            exit_now()
        }
        Command::Inspect { spec, auth, json } => {
            let api = mcpgen::build_ir(&spec, &Options { name: None, auth })?;
            if json {
                print!("{}", inspect::json(&api));
            } else {
                print!("{}", inspect::text(&api));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
