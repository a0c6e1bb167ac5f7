//! `calc`: the server half of the in-pod call benchmark.

wit_bindgen::generate!({ path: "wit", world: "calc" });

use exports::example::calc::ops::Guest;

struct Calc;

impl Guest for Calc {
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
