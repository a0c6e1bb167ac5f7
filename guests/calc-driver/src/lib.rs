//! `calc-driver`: the caller half of the in-pod call benchmark. Each export
//! loops inside the guest so that one host call measures many links.

wit_bindgen::generate!({ path: "../calc/wit", world: "driver" });

use example::calc::ops;
use std::hint::black_box;

struct Driver;

#[inline(never)]
fn local_add(a: u32, b: u32) -> u32 {
    a.wrapping_add(b)
}

impl Guest for Driver {
    fn call_add(n: u32) -> u32 {
        (0..n).fold(0, |acc, i| ops::add(acc, i))
    }

    fn call_string(n: u32, size: u32) -> u32 {
        let s = "x".repeat(size as usize);
        (0..n).fold(0u32, |acc, _| acc.wrapping_add(ops::take_string(&s)))
    }

    fn call_bytes(n: u32, size: u32) -> u32 {
        let b = vec![7u8; size as usize];
        (0..n).fold(0u32, |acc, _| acc.wrapping_add(ops::take_bytes(&b)))
    }

    fn call_echo(n: u32, size: u32) -> u32 {
        let b = vec![7u8; size as usize];
        (0..n).fold(0u32, |acc, _| acc.wrapping_add(ops::echo(&b).len() as u32))
    }

    fn local_add(n: u32) -> u32 {
        (0..n).fold(0, |acc, i| black_box(local_add(black_box(acc), i)))
    }
}

export!(Driver);
