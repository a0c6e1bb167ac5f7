//! nanopod for front ends that are not its command line, such as the
//! containerd shim: the runs `nanopod run` and `nanopod serve` make, on a
//! binary the front end loaded, under grants it decided, with the CLI's
//! messages and exit codes.

use crate::error::report_code;
use anyhow::Result;
use nanopod_host::{Grants, Loaded};
use nanopod_serve::Server;
use std::net::SocketAddr;
use std::path::Path;

/// Runs `loaded` as `nanopod run PATH ARGS…` would under `grants` (a
/// command gets `args` as its argv after `argv[0]`, a typed function its
/// arguments converted by their WIT types) and returns the exit code;
/// errors are printed as the CLI prints them.
pub fn run(loaded: &Loaded, path: &Path, args: &[String], mut grants: Grants) -> u8 {
    let args = crate::call::os_words(args);
    crate::commands::run::run_loaded(loaded, path, &args, &mut grants, None)
        .unwrap_or_else(|err| report(&err))
}

/// The server of the pod whose manifest is `manifest`: its `[serve]
/// chain`, each member granted what the manifest grants it (as `nanopod
/// serve pod.toml`).
pub fn pod_server(manifest: &Path) -> Result<Server> {
    crate::commands::serve::pod_server(manifest)
}

/// Serves `server` on `listen` until SIGTERM or SIGINT, then lets
/// requests in flight finish (as `nanopod serve`); `target` names what is
/// served in its messages. Returns the exit code.
pub fn serve(server: Server, listen: SocketAddr, target: &str) -> u8 {
    match crate::commands::serve::serve_until_signal(server, listen, None, target) {
        Ok(()) => 0,
        Err(err) => report(&err),
    }
}

/// Prints `err` as the CLI does and returns its exit code: 3 for a guest
/// that trapped or hit a limit, 2 for everything that stopped a run before
/// or around the guest.
pub fn report(err: &anyhow::Error) -> u8 {
    report_code(err, false)
}

/// Logs to stderr as the CLI does (warnings and nanopod's access lines;
/// `RUST_LOG` overrides). Does nothing when logging is set up already.
pub fn init_logging() {
    crate::init_tracing(0);
}
