//! `calc`: the server half of the in-pod call benchmark.

wit_bindgen::generate!({ path: "wit", world: "calc" });

use std::sync::atomic::{AtomicU32, Ordering};

struct Calc;

/// Calls of `calls-before` this instance took.
static CALLS: AtomicU32 = AtomicU32::new(0);

impl Guest for Calc {
    fn calls_before(trap: bool) -> u32 {
        let before = CALLS.fetch_add(1, Ordering::Relaxed);
        assert!(!trap, "asked to trap");
        before
    }
}

impl exports::example::calc::ops::Guest for Calc {
    fn add(a: u32, b: u32) -> u32 {
        a.wrapping_add(b)
    }

    fn take_string(s: String) -> u32 {
        s.len() as u32
    }

    fn take_bytes(b: Vec<u8>) -> u32 {
        b.len() as u32
    }

    fn echo(b: Vec<u8>) -> Vec<u8> {
        b
    }
}

export!(Calc);
