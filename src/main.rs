//! `nanopod`: run WebAssembly components as typed functions.
//!
//! The host does the metacompute (opening files, parsing arguments,
//! deciding capabilities); the component does the compute.

mod commands;
mod flags;
mod invoke;
mod load;
mod pod;

use clap::Parser;
use nanopod_host::GuestFailure;
use nanopod_typed::UsageError;
use std::process::ExitCode;

/// Exit codes, as documented in the README.
pub mod exit {
    /// The component returned `err`.
    pub const COMPONENT_ERR: u8 = 1;
    /// Bad argument, type mismatch, unreadable input, missing capability.
    pub const USAGE: u8 = 2;
    /// The guest trapped or hit a limit.
    pub const TRAP: u8 = 3;
}

fn main() -> ExitCode {
    quiet_library_backtraces();
    let cli = commands::Cli::parse();
    init_tracing(cli.verbose);
    let verbose = cli.verbose > 0;
    match cli.command.execute() {
        Ok(code) => code,
        Err(err) => report(&err, verbose),
    }
}

/// Prints `err` as one line (its full chain under `-v`) and picks the exit
/// code: 3 for traps and limits, the guest's own code for `exit`, else 2.
fn report(err: &anyhow::Error, verbose: bool) -> ExitCode {
    if is_broken_pipe(err) {
        return ExitCode::SUCCESS;
    }
    if let Some(failure) = GuestFailure::classify(err) {
        eprintln!("error: {failure}");
        if verbose {
            eprintln!("\nCaused by:\n{err:?}");
        }
        return ExitCode::from(exit::TRAP);
    }
    if let Some(usage) = err.chain().find_map(|c| c.downcast_ref::<UsageError>()) {
        // Context added above the usage error says where it happened.
        if err.downcast_ref::<UsageError>().is_some() {
            eprintln!("error: {usage}");
        } else {
            eprintln!("error: {err:#}");
        }
    } else {
        eprintln!("error: {err:#}");
    }
    if verbose {
        eprintln!("\nCaused by:\n{err:?}");
    }
    ExitCode::from(exit::USAGE)
}

/// With `RUST_BACKTRACE=1` in the environment (common on developers'
/// machines), every error wasmtime creates captures a std backtrace: for
/// WASI 0.3 handlers, wasmtime disposes each request's leftover guest tasks
/// with an error, and `perf` showed 4-5% of `serve`'s CPU capturing and
/// unwinding those backtraces.
/// nanopod reports guest failures with wasm backtraces (`-v`), not these,
/// so library backtraces stay off unless `RUST_LIB_BACKTRACE` asks for them;
/// panics still follow `RUST_BACKTRACE`.
fn quiet_library_backtraces() {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: the first thing `main` does, before any other thread
        // exists to read the environment concurrently.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("RUST_LIB_BACKTRACE", "0")
        };
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn,nanopod::access=info",
        1 => "nanopod=debug,nanopod_host=debug,info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .init();
}
