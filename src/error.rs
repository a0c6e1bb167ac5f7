//! The one error printer and the one map from errors to exit codes.
//!
//! Libraries return their own error types (with `#[source]` chains); the
//! CLI adds context and its own [`UsageError`]s. An error prints as one
//! line, its whole chain joined by `: ` (with `-v`, the chain again with
//! wasm backtraces). Exit codes, as the README documents them: 3 for a
//! guest that trapped or hit a limit, the guest's own code for a WASI
//! `exit`, 2 for everything else that stops a run before or around the
//! guest (bad arguments, unreadable inputs, malformed components, missing
//! capabilities, manifests that do not make a pod). 1 (the component
//! returned `err`) is not an error here: the call layer returns it.

use nanopod_host::GuestFailure;
use std::process::ExitCode;

/// The component returned `err`.
pub(crate) const COMPONENT_ERR: u8 = 1;
/// Bad argument, type mismatch, unreadable input, missing capability.
pub(crate) const USAGE: u8 = 2;
/// The guest trapped or hit a limit.
pub(crate) const TRAP: u8 = 3;

/// A command-line mistake the CLI itself finds (flags that do not go
/// together, a file of the wrong kind for the command).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub String);

impl UsageError {
    /// A usage error with this message.
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        UsageError(msg.into())
    }
}

/// Prints `err` and picks the exit code (see [`report_code`]).
pub(crate) fn report(err: &anyhow::Error, verbose: bool) -> ExitCode {
    ExitCode::from(report_code(err, verbose))
}

/// Prints `err` and returns the exit code it maps to.
pub(crate) fn report_code(err: &anyhow::Error, verbose: bool) -> u8 {
    if is_broken_pipe(err) {
        return 0;
    }
    let code = match GuestFailure::classify(err) {
        Some(failure) => {
            say!("error: {failure}");
            // An exit with a status out of range is still a failure the
            // guest chose, not a trap.
            if matches!(failure, GuestFailure::Exit(_)) {
                COMPONENT_ERR
            } else {
                TRAP
            }
        }
        None => {
            say!("error: {err:#}");
            USAGE
        }
    };
    if verbose {
        say!("\nCaused by:\n{err:?}");
    }
    code
}

/// A guest's `exit(N)` ends the run normally with exit code N; any other
/// error stays an error.
pub(crate) fn exit_as_code(err: anyhow::Error) -> anyhow::Result<u8> {
    match GuestFailure::classify(&err) {
        Some(GuestFailure::Exit(code)) if (0..=255).contains(&code) => Ok(code as u8),
        _ => Err(err),
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
