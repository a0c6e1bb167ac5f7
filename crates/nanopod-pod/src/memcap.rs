//! `max-memory` on a component that is not the entry of a call: its own
//! linear memories get that maximum written into their types, so the
//! engine refuses to grow them past it whatever the rest of the pod does.
//! (The store's resource limiter applies one cap to every memory of a
//! composition; it cannot tell whose memory is growing.)

use std::convert::Infallible;
use wasm_encoder::reencode::{Error, Reencode, ReencodeComponent, utils};

/// Why a component's memories cannot be capped.
#[derive(Debug, thiserror::Error)]
pub enum MemCapError {
    /// The binary could not be rewritten.
    #[error("cannot cap its memory")]
    Rewrite(#[source] Error<Infallible>),
    /// A memory starts larger than the cap.
    #[error("`max-memory` ({cap_kib} KiB) is below the {initial_kib} KiB its memory starts with")]
    BelowInitial {
        /// The cap.
        cap_kib: usize,
        /// The memory's initial size.
        initial_kib: u64,
    },
}

/// `component` with every linear memory of its core modules (defined or
/// imported) capped at `max_bytes`.
pub(crate) fn cap_memories(component: &[u8], max_bytes: usize) -> Result<Vec<u8>, MemCapError> {
    let mut cap = Cap {
        max_bytes: max_bytes as u64,
        too_small: None,
    };
    let mut out = wasm_encoder::Component::new();
    cap.parse_component(&mut out, wasmparser::Parser::new(0), component)
        .map_err(MemCapError::Rewrite)?;
    if let Some(initial) = cap.too_small {
        return Err(MemCapError::BelowInitial {
            cap_kib: max_bytes / 1024,
            initial_kib: initial / 1024,
        });
    }
    Ok(out.finish())
}

struct Cap {
    max_bytes: u64,
    /// The initial size of a memory that starts above the cap, in bytes.
    too_small: Option<u64>,
}

impl Reencode for Cap {
    type Error = Infallible;

    fn memory_type(
        &mut self,
        memory: wasmparser::MemoryType,
    ) -> Result<wasm_encoder::MemoryType, Error<Infallible>> {
        let mut ty = utils::memory_type(self, memory);
        let page = 1u64 << ty.page_size_log2.unwrap_or(16);
        let pages = self.max_bytes / page;
        if ty.minimum > pages {
            self.too_small = Some(ty.minimum * page);
        }
        ty.maximum = Some(ty.maximum.map_or(pages, |max| max.min(pages)));
        Ok(ty)
    }
}

impl ReencodeComponent for Cap {}

#[cfg(test)]
mod tests {
    use super::*;

    fn maxima(component: &[u8]) -> Vec<Option<u64>> {
        let mut out = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(component) {
            if let wasmparser::Payload::MemorySection(r) = payload.unwrap() {
                out.extend(r.into_iter().map(|m| m.unwrap().maximum));
            }
        }
        out
    }

    #[test]
    fn caps_every_core_memory_and_refuses_one_that_starts_above_the_cap() {
        let component = wat::parse_str(
            r#"(component
                 (core module $a (memory (export "m") 2))
                 (core module $b (memory 1 100))
                 (core instance (instantiate $a))
                 (core instance (instantiate $b)))"#,
        )
        .unwrap();
        let capped = cap_memories(&component, 4 << 16).unwrap();
        wasmparser::Validator::new().validate_all(&capped).unwrap();
        assert_eq!(maxima(&capped), [Some(4), Some(4)]);
        // A looser cap keeps a tighter maximum.
        assert_eq!(
            maxima(&cap_memories(&component, 200 << 16).unwrap()),
            [Some(200), Some(100)]
        );
        let err = cap_memories(&component, 1 << 16).unwrap_err();
        assert!(err.to_string().contains("below the 128 KiB"), "{err}");
    }
}
