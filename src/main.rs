//! The `mcpgen` command line: `generate` and `inspect` (DESIGN.md §1). Exit codes: 0 success,
//! 1 `--check` found drift, 2 bad input, 3 an output or internal failure.

use clap::{Parser, Subcommand};
use mcpgen::{Error, Options, inspect, output};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mcpgen",
    version,
    about = "Generate a Rust MCP server crate from an OpenAPI document"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the server crate.
    Generate {
        /// OpenAPI 3.0/3.1 document: a path or an http(s):// URL; YAML or JSON.
        spec: String,
        /// Auth config file (YAML, DESIGN.md §2). Without it the server is open.
        #[arg(long)]
        auth: Option<String>,
        /// Output directory. Default: ./<name>.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Package and binary name. Default: kebab-case of info.title + "-mcp".
        #[arg(long)]
        name: Option<String>,
        /// Compare with --out instead of writing: exit 0 when identical, 1 when not.
        #[arg(long)]
        check: bool,
    },
    /// Print the tools that would be generated.
    Inspect {
        spec: String,
        /// Auth config file, as for `generate`.
        #[arg(long)]
        auth: Option<String>,
        /// Machine-readable output (the whole lowered model).
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn print_warnings(file: &str, api: &mcpgen::ir::Api) {
    let prefix = |w: &str| {
        if w.starts_with('#') {
            format!("{file}{w}")
        } else {
            w.to_string()
        }
    };
    for w in &api.warnings {
        eprintln!("warning: {}", prefix(w));
    }
    for t in &api.tools {
        for w in &t.warnings {
            eprintln!("warning: {}", prefix(w));
        }
    }
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
            let (api, files) = mcpgen::generate(&spec, &Options { name, auth })?;
            print_warnings(&spec, &api);
            let out = out.unwrap_or_else(|| PathBuf::from(&api.crate_name));
            if check {
                let drift = output::check(&out, &files);
                if drift.is_empty() {
                    eprintln!("{}: up to date ({} files)", out.display(), files.len());
                    return Ok(ExitCode::SUCCESS);
                }
                println!("{}: generated code differs from {spec}:", out.display());
                for d in &drift {
                    match d {
                        output::Drift::Added { path } => println!("  added:   {path}"),
                        output::Drift::Changed { path, .. } => println!("  changed: {path}"),
                    }
                }
                for d in &drift {
                    if let output::Drift::Changed { diff, .. } = d {
                        print!("{diff}");
                    }
                }
                return Ok(ExitCode::from(1));
            }
            let written = output::write(&out, &files)?;
            eprintln!(
                "generated {} ({} tools) in {}: {} files, {} changed",
                api.crate_name,
                api.tools.len(),
                out.display(),
                files.len(),
                written
            );
            Ok(ExitCode::SUCCESS)
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
