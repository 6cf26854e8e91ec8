//! `imsbridge`: import IMS registers, map them through the ISO Harmonized Structure, and
//! answer "which clauses of which standards do our records cover".
//!
//! The binary is thin: argument parsing, configuration, output formats, progress and exit
//! codes. The work happens in the library crates.

mod args;
mod commands;
mod config;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;

// An import's three stages allocate a record per row on one thread and free it on another;
// mimalloc handles that pattern far better than the system allocator (about a quarter faster
// on the import benchmark).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes, documented in `--help` and the README.
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const REJECTED_ROWS: u8 = 3;
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version on stdout with success, usage errors on stderr.
            let code = if err.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    // A service's log is where its runs are seen: `serve` logs at info level by default.
    let serving = matches!(cli.command, args::Command::Serve(_));
    init_logging(cli.global.verbose.max(u8::from(serving)), cli.global.quiet);
    quiet_contained_panics();
    match commands::run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) if is_broken_pipe(&err) => ExitCode::from(exit::OK),
        Err(err) => {
            // `{:#}` prints the whole context chain on one line: "importing x.xlsx: ...".
            eprintln!("error: {err:#}");
            let code = if err.downcast_ref::<args::UsageError>().is_some() {
                exit::USAGE
            } else {
                exit::ERROR
            };
            ExitCode::from(code)
        }
    }
}

/// `imsbridge records | head` closes stdout early; that is the reader's choice, not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The spreadsheet parser's panics on malformed files are caught and reported as "damaged
/// file" errors; the default hook would still print a Rust backtrace note first, which reads
/// like a crash. Those go to the debug log; every other panic is printed as usual.
fn quiet_contained_panics() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if imsbridge_import::inside_guarded_read() {
            tracing::debug!("contained a panic in the spreadsheet parser: {info}");
        } else {
            default_hook(info);
        }
    }));
}

fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    // RUST_LOG wins over -v so that one module can be traced without drowning in the rest.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only where a terminal shows them: journald and log files get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(verbose >= 2)
        .try_init();
}
