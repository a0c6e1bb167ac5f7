//! The virtual filesystem of `nanopod virtualize`: a component composed in
//! front of another one, serving `wasi:filesystem` read-only from an image
//! of files held in its own linear memory (see `image.rs`), and
//! `wasi:cli/environment` with embedded variables (or the host's, passed
//! through). The filesystem's streams must be the same `wasi:io` streams
//! the component uses for stdio, so this component also re-exports
//! `wasi:io`, stdio and the monotonic clock, passing them to the host.

mod fs;
mod image;
mod io;

wit_bindgen::generate!({
    path: "wit",
    world: "adapter",
    generate_all,
});

/// The component: every export is implemented on it.
struct Adapter;

export!(Adapter);

impl exports::wasi::cli::environment::Guest for Adapter {
    fn get_environment() -> Vec<(String, String)> {
        match &image::tree().env {
            Some(embedded) => embedded.clone(),
            None => wasi::cli::environment::get_environment(),
        }
    }

    fn get_arguments() -> Vec<String> {
        wasi::cli::environment::get_arguments()
    }

    fn initial_cwd() -> Option<String> {
        wasi::cli::environment::initial_cwd()
    }
}

impl exports::wasi::clocks::wall_clock::Guest for Adapter {
    fn now() -> exports::wasi::clocks::wall_clock::Datetime {
        let t = wasi::clocks::wall_clock::now();
        exports::wasi::clocks::wall_clock::Datetime {
            seconds: t.seconds,
            nanoseconds: t.nanoseconds,
        }
    }

    fn resolution() -> exports::wasi::clocks::wall_clock::Datetime {
        let t = wasi::clocks::wall_clock::resolution();
        exports::wasi::clocks::wall_clock::Datetime {
            seconds: t.seconds,
            nanoseconds: t.nanoseconds,
        }
    }
}
