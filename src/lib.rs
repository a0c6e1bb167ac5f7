//! `nanopod`: run WebAssembly components as typed functions.
//!
//! The host does the metacompute (opening files, parsing arguments,
//! deciding capabilities); the component does the compute. This library is
//! the `nanopod` command line ([`main`]) and, in [`embed`], the same runs
//! for front ends that are not a command line (the containerd shim).

/// `eprintln!` that cannot panic: a message nanopod owes the user is
/// dropped, not turned into a panic (exit 101), when stderr is closed or
/// full (`2>/dev/full`, `2>&-`, a pipe to `head -c 10`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod call;
mod commands;
pub mod embed;
mod error;
mod flags;

use clap::Parser;
use std::process::ExitCode;

/// The `nanopod` command line: parses the process's arguments, runs the
/// subcommand, and returns the exit code the README documents.
pub fn main() -> ExitCode {
    quiet_library_backtraces();
    let cli = match commands::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.kind() == clap::error::ErrorKind::InvalidUtf8 => {
            say!("error: {}", non_utf8_argument());
            return ExitCode::from(error::USAGE);
        }
        Err(e) => e.exit(),
    };
    init_tracing(cli.verbose);
    let verbose = cli.verbose > 0;
    if cli.offline {
        nanopod_oci::set_offline();
    }
    match cli.command.execute() {
        Ok(code) => code,
        Err(err) => error::report(&err, verbose),
    }
}

/// Names the first command-line word that is not UTF-8, once clap has
/// refused one: a typed function's path arguments (after COMPONENT) may be
/// any bytes, so the word refused is one of nanopod's own (a flag's value,
/// `up`'s words), which are UTF-8.
fn non_utf8_argument() -> String {
    let (index, word) = std::env::args_os()
        .enumerate()
        .skip(1)
        .find(|(_, word)| word.to_str().is_none())
        .unwrap_or_default();
    format!(
        "argument {index} (`{}`) is not UTF-8, as nanopod's flags and `up`'s arguments must be (only `run`'s arguments after the component, its paths, may be other bytes); give the path through a link with a UTF-8 name",
        word.to_string_lossy()
    )
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

/// Logs to stderr: warnings and nanopod's access lines, more with
/// `verbose`; `RUST_LOG` overrides. Does nothing when logging is already set
/// up.
fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        // rustls' verifier logs each refused certificate as an ERROR; the
        // refusal reaches the user once, as nanopod's own one-line error.
        0 => "warn,nanopod::access=info,nanopod::filter=info,rustls_platform_verifier=off",
        1 => "nanopod=debug,nanopod_host=debug,info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .try_init()
        .ok();
}
