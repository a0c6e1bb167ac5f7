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
    /// The guest's own stack in its linear memory (the "shadow stack"
    /// toolchains keep for what does not fit wasm locals) overflowed: an
    /// out-of-bounds access just below address 0, where Rust and
    /// `--stack-first` toolchains place the stack's end.
    ShadowStackOverflow,
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
                wasmtime::Trap::MemoryOutOfBounds
                    if fault_address(err).is_some_and(is_just_below_zero) =>
                {
                    GuestFailure::ShadowStackOverflow
                }
                other => {
                    let text = other.to_string();
                    GuestFailure::Trap(text.trim_start_matches("wasm trap: ").to_string())
                }
            });
        }
        None
    }
}

/// How far below address 0 (wrapped to the top of a 32-bit memory) an
/// access counts as the shadow stack's: a stack frame's size, at most.
const SHADOW_STACK_SLACK: u64 = 1 << 20;

/// Whether a wasm address is just below 0 of a 32-bit memory, as a stack
/// pointer that ran off the bottom of memory makes it.
fn is_just_below_zero(address: u64) -> bool {
    ((1 << 32) - SHADOW_STACK_SLACK..1 << 32).contains(&address)
}

/// The wasm address of the access an out-of-bounds trap faulted on. wasmtime
/// adds it to the error as a context whose type is not public, so it is read
/// from its text (`memory fault at wasm address 0x… in linear memory of
/// size 0x…`); none when bounds were checked explicitly (no fault) or the
/// text changes.
fn fault_address(err: &anyhow::Error) -> Option<u64> {
    err.chain().find_map(|cause| {
        let text = cause.to_string();
        let hex = text.strip_prefix("memory fault at wasm address 0x")?;
        let hex = hex.split_whitespace().next()?;
        u64::from_str_radix(hex, 16).ok()
    })
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
            GuestFailure::ShadowStackOverflow => write!(
                f,
                "the component overflowed its stack (the one in its linear memory: it accessed memory just below address 0, where that stack ends; a deep recursion?)"
            ),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn out_of_bounds_at(address: u64) -> anyhow::Error {
        anyhow::Error::new(wasmtime::Trap::MemoryOutOfBounds).context(format!(
            "memory fault at wasm address 0x{address:x} in linear memory of size 0x110000"
        ))
    }

    #[test]
    fn an_access_just_below_zero_is_the_shadow_stack() {
        for (address, expected) in [
            (0xffff_fe00, GuestFailure::ShadowStackOverflow),
            (0xfff0_0000, GuestFailure::ShadowStackOverflow),
            (
                0xffef_ffff,
                GuestFailure::Trap("out of bounds memory access".into()),
            ),
            (
                0x0020_0000,
                GuestFailure::Trap("out of bounds memory access".into()),
            ),
            (
                0x1_0000_0000,
                GuestFailure::Trap("out of bounds memory access".into()),
            ),
        ] {
            let failure = GuestFailure::classify(&out_of_bounds_at(address));
            assert_eq!(failure, Some(expected), "{address:#x}");
        }
        let no_fault = anyhow::Error::new(wasmtime::Trap::MemoryOutOfBounds);
        assert_eq!(
            GuestFailure::classify(&no_fault),
            Some(GuestFailure::Trap("out of bounds memory access".into()))
        );
    }
}
