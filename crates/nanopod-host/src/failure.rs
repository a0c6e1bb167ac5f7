//! How a guest run failed, in words a user understands.

use std::fmt;

/// A failure caused by the guest or its limits (exit code 3), or a WASI
/// `exit` (which `nanopod run` turns into that exit code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestFailure {
    /// The guest called `wasi:cli/exit` (or `proc_exit`) with this code.
    Exit(i32),
    /// `--timeout` expired.
    Timeout,
    /// The guest tried to grow its memory past `--max-memory`.
    MemoryLimit,
    /// The guest tried to grow its memory past what a memory can be (4 GiB
    /// for a 32-bit memory, or its declared maximum), with no
    /// `--max-memory` in the way.
    OutOfMemory,
    /// The guest used more than the wasm stack nanopod allows.
    StackOverflow,
    /// The guest held more resources at once than an instance may
    /// ([`crate::store::MAX_HANDLES`]).
    TooManyHandles,
    /// Any other trap, with wasmtime's description.
    Trap(String),
    /// An import the host serves (a remote link) failed, and the function
    /// had no way to return the failure.
    Link(String),
}

/// The error a host-served import traps with when it cannot answer: the
/// message names the link and says why.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LinkFailure(pub String);

impl GuestFailure {
    /// Recognises a guest failure in an error returned by wasmtime.
    pub fn classify(err: &anyhow::Error) -> Option<GuestFailure> {
        if let Some(exit) = err
            .chain()
            .find_map(|c| c.downcast_ref::<wasmtime_wasi::I32Exit>())
        {
            return Some(GuestFailure::Exit(exit.0));
        }
        if let Some(link) = err.chain().find_map(|c| c.downcast_ref::<LinkFailure>()) {
            return Some(GuestFailure::Link(link.0.clone()));
        }
        if let Some(refused) = err
            .chain()
            .find_map(|c| c.downcast_ref::<crate::store::GrowthRefused>())
        {
            return Some(match refused {
                crate::store::GrowthRefused::MaxMemory { .. } => GuestFailure::MemoryLimit,
                crate::store::GrowthRefused::Maximum { .. } => GuestFailure::OutOfMemory,
            });
        }
        if err.chain().any(|c| {
            matches!(
                c.downcast_ref::<wasmtime::component::ResourceTableError>(),
                Some(wasmtime::component::ResourceTableError::Full)
            )
        }) {
            return Some(GuestFailure::TooManyHandles);
        }
        let trap = err
            .downcast_ref::<wasmtime::Trap>()
            .or_else(|| err.chain().find_map(|c| c.downcast_ref::<wasmtime::Trap>()));
        if let Some(trap) = trap {
            return Some(match trap {
                wasmtime::Trap::Interrupt => GuestFailure::Timeout,
                wasmtime::Trap::StackOverflow => GuestFailure::StackOverflow,
                other => {
                    let text = other.to_string();
                    GuestFailure::Trap(text.trim_start_matches("wasm trap: ").to_string())
                }
            });
        }
        None
    }
}

impl fmt::Display for GuestFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestFailure::Exit(code) if (0..=255).contains(code) => {
                write!(f, "the component exited with code {code}")
            }
            GuestFailure::Exit(code) => write!(
                f,
                "the component exited with status {code}, which is no exit code (0 to 255)"
            ),
            GuestFailure::Timeout => write!(f, "the component ran past its --timeout"),
            GuestFailure::MemoryLimit => {
                write!(
                    f,
                    "the component needed more memory than --max-memory allows"
                )
            }
            GuestFailure::OutOfMemory => write!(
                f,
                "the component needed more memory than a wasm memory can hold (4 GiB for 32-bit memories, or the maximum the component declares)"
            ),
            GuestFailure::StackOverflow => write!(f, "the component overflowed its stack"),
            GuestFailure::TooManyHandles => write!(
                f,
                "the component held more than {} resources (open files, directory streams, sockets, streams) at once",
                crate::store::MAX_HANDLES
            ),
            GuestFailure::Trap(what) => write!(f, "the component trapped: {what}"),
            GuestFailure::Link(why) => write!(f, "{why}"),
        }
    }
}
